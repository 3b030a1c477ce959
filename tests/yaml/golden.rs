use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::compare::compare_file;

/// The fixture files, relative to the package root, in name order.
pub fn fixture_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("fixtures/yaml"))
        .expect("fixtures/yaml exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| is_yaml(path))
        .map(|path| {
            path.strip_prefix(root)
                .expect("under the root")
                .to_path_buf()
        })
        .collect();
    files.sort();
    files
}

pub fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yml" | "yaml")
    )
}

pub fn golden_path(fixture: &Path) -> PathBuf {
    let stem = fixture.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    fixture.with_file_name(format!("{stem}.expected.json"))
}

/// Runs from the package root, where the oracle was run, so the file names inside
/// duplicate-key warnings match.
#[test]
fn fixtures_match_recorded_ansible_output() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("package root exists");
    let fixtures = fixture_files();
    assert!(
        fixtures.len() >= 20,
        "expected the YAML fixtures, found {fixtures:?}"
    );
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let golden = golden_path(fixture);
        let Ok(text) = std::fs::read_to_string(&golden) else {
            failures.push(format!(
                "{}: no {} (run compat-tests/yaml/record-golden)",
                fixture.display(),
                golden.display()
            ));
            continue;
        };
        let expected: Json = serde_json::from_str(&text).expect("golden files are JSON");
        if let Err(difference) = compare_file(fixture, &expected) {
            failures.push(format!("{}: {difference}", fixture.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ:\n{}",
        failures.len(),
        fixtures.len(),
        failures.join("\n")
    );
}
