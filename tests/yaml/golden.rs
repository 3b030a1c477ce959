use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::compare::compare_file;

/// Directories of YAML fixtures with their recorded Ansible output.
const FIXTURE_DIRS: &[&str] = &["fixtures/yaml", "fixtures/yaml/edge"];

/// Fixtures where rplay knowingly differs from Ansible, with the reason. The golden test
/// requires them to differ, so this list stays true.
pub const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "fixtures/yaml/edge/recursive_map.yml",
        "a mapping that contains itself through an alias: Value cannot hold a cycle",
    ),
    (
        "fixtures/yaml/edge/recursive_seq.yml",
        "a sequence that contains itself through an alias: Value cannot hold a cycle",
    ),
    (
        "fixtures/yaml/edge/alias_key_nospace.yml",
        "`*alias:` as a key: saphyr reads the `:` as part of the alias name",
    ),
];

/// The fixture files, relative to the package root, in name order.
pub fn fixture_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in FIXTURE_DIRS {
        let entries = std::fs::read_dir(root.join(dir)).expect("fixture directory exists");
        files.extend(
            entries
                .map(|entry| entry.expect("readable directory entry").path())
                .filter(|path| is_yaml(path))
                .map(|path| {
                    path.strip_prefix(root)
                        .expect("under the root")
                        .to_path_buf()
                }),
        );
    }
    files.sort();
    files
}

pub fn is_known_difference(fixture: &Path) -> bool {
    KNOWN_DIFFERENCES
        .iter()
        .any(|(path, _)| Path::new(path) == fixture)
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
        let outcome = compare_file(fixture, &expected);
        match (outcome, is_known_difference(fixture)) {
            (Ok(()), false) | (Err(_), true) => {}
            (Ok(()), true) => failures.push(format!(
                "{}: listed in KNOWN_DIFFERENCES but matches Ansible now",
                fixture.display()
            )),
            (Err(difference), false) => {
                failures.push(format!("{}: {difference}", fixture.display()))
            }
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
