use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::compare::{compare_file, Mode};

/// Directories of YAML fixtures with their recorded Ansible output, and how each is
/// loaded.
pub const FIXTURE_DIRS: &[(&str, Mode)] = &[
    ("fixtures/yaml", Mode::Stream),
    ("fixtures/yaml/edge", Mode::Stream),
    ("fixtures/yaml/data", Mode::Data),
];

/// Fixtures where rplay knowingly differs from Ansible, with the reason. The golden test
/// requires them to differ, so this list stays true.
pub const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "fixtures/yaml/edge/flow_at_block_indent.yml",
        "flow lines at block indentation load, but the spaces rplay inserts move their columns",
    ),
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
    (
        "fixtures/yaml/edge/anchor_colon.yml",
        "`&anchor:1`: saphyr reads the `:` as part of the anchor name",
    ),
    (
        "fixtures/yaml/edge/flow_question_without_space.yml",
        "`?c` in a flow collection: libyaml reads `?` as a key indicator, saphyr as text",
    ),
    (
        "fixtures/yaml/edge/directive_after_implicit_end.yml",
        "a directive after a document without `...`: saphyr rejects it, libyaml ends the document",
    ),
    (
        "fixtures/yaml/edge/line_separator_folding.yml",
        "a LINE SEPARATOR in a folded plain scalar: libyaml keeps it, rplay folds it as a line break",
    ),
    (
        "fixtures/yaml/data/json_nan.json",
        "serde_json rejects NaN, which Python's json reads, so the file is read as YAML",
    ),
];

/// The fixture files of one directory, relative to the package root, in name order.
pub fn fixture_files_in(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let entries = std::fs::read_dir(root.join(dir)).expect("fixture directory exists");
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| {
            is_yaml(path) || path.extension().is_some_and(|e| e == "json") && !is_golden(path)
        })
        .map(|path| {
            path.strip_prefix(root)
                .expect("under the root")
                .to_path_buf()
        })
        .collect();
    files.sort();
    files
}

/// Every fixture with the mode it is loaded in.
pub fn fixture_files() -> Vec<(PathBuf, Mode)> {
    FIXTURE_DIRS
        .iter()
        .flat_map(|&(dir, mode)| {
            fixture_files_in(dir)
                .into_iter()
                .map(move |file| (file, mode))
        })
        .collect()
}

fn is_golden(path: &Path) -> bool {
    path.to_str().is_some_and(|p| p.ends_with(".expected.json"))
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
        fixtures.len() >= 200,
        "expected the YAML fixtures, found {fixtures:?}"
    );
    let mut failures = Vec::new();
    for (fixture, mode) in &fixtures {
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
        let outcome = compare_file(fixture, *mode, &expected);
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
