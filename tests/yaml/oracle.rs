use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

use crate::compare::{compare_file, Mode};
use crate::golden::{fixture_files_in, golden_path, is_known_difference, is_yaml, FIXTURE_DIRS};

const VENV: &str = "/tmp/ansible-venv";

/// Runs the oracle on `files` and returns its result for each, in order.
fn run_oracle(python: &Path, mode: Mode, files: &[PathBuf]) -> Vec<(PathBuf, Json)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("compat-tests/yaml/oracle.py");
    let mode_flag: &[&str] = match mode {
        Mode::Stream => &[],
        Mode::Data => &["--from-yaml"],
    };
    let output = Command::new(python)
        .arg(script)
        .args(mode_flag)
        .args(files)
        .output()
        .expect("the oracle starts");
    assert!(
        output.status.success(),
        "the oracle failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("the oracle prints UTF-8");
    stdout
        .lines()
        .map(|line| {
            let (path, json) = line
                .split_once('\t')
                .expect("oracle lines are PATH<TAB>JSON");
            (
                PathBuf::from(path),
                serde_json::from_str(json).expect("oracle output is JSON"),
            )
        })
        .collect()
}

fn oracle_python() -> Option<PathBuf> {
    let python = Path::new(VENV).join("bin/python");
    python.exists().then_some(python)
}

/// Compares rplay with Ansible on every fixture, and checks that the recorded golden
/// files are still what the oracle prints.
#[test]
fn fixtures_match_live_ansible() {
    let Some(python) = oracle_python() else {
        return; // No oracle virtualenv: the golden test covers the fixtures.
    };
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("package root exists");
    let mut failures = Vec::new();
    for &(dir, mode) in FIXTURE_DIRS {
        for (fixture, expected) in run_oracle(&python, mode, &fixture_files_in(dir)) {
            if let Err(difference) = compare_file(&fixture, mode, &expected) {
                if !is_known_difference(&fixture) {
                    failures.push(format!("{}: {difference}", fixture.display()));
                }
            }
            let recorded: Option<Json> = std::fs::read_to_string(golden_path(&fixture))
                .ok()
                .and_then(|text| serde_json::from_str(&text).ok());
            if recorded.as_ref() != Some(&expected) {
                failures.push(format!(
                    "{}: golden file is stale (run compat-tests/yaml/record-golden)",
                    fixture.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn yaml_files_under(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && entry.file_name() != ".git" {
            yaml_files_under(&path, files);
        } else if !kind.is_dir() && path.is_file() && is_yaml(&path) {
            // Symbolic links to files count: Ansible reads through them.
            files.push(path);
        }
    }
}

/// Loads every `.yml` and `.yaml` file of the Kubespray checkout named by
/// `KUBESPRAY_DIR` with rplay and with Ansible, as a stream of documents and as
/// Ansible's DataLoader reads files, and requires the same results.
#[test]
fn kubespray_files_match_live_ansible() {
    let (Some(dir), Some(python)) = (std::env::var_os("KUBESPRAY_DIR"), oracle_python()) else {
        return; // Needs both a Kubespray checkout and the oracle virtualenv.
    };
    let mut files = Vec::new();
    yaml_files_under(Path::new(&dir), &mut files);
    files.sort();
    assert!(!files.is_empty(), "no YAML files under {dir:?}");
    let mut failures = Vec::new();
    for mode in [Mode::Stream, Mode::Data] {
        let results = run_oracle(&python, mode, &files);
        assert_eq!(results.len(), files.len(), "the oracle skipped files");
        let mut differences = 0;
        let mut ansible_errors = 0;
        for (file, expected) in &results {
            if expected.get("error").is_some() {
                ansible_errors += 1;
            }
            if let Err(difference) = compare_file(file, mode, expected) {
                differences += 1;
                failures.push(format!("{} ({mode:?}): {difference}", file.display()));
            }
        }
        report_kubespray(mode, files.len(), ansible_errors, differences);
    }
    assert!(
        failures.is_empty(),
        "{} comparisons differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[allow(clippy::print_stderr)] // The counts are the point of this test; cargo shows them with --nocapture.
fn report_kubespray(mode: Mode, files: usize, ansible_errors: usize, differences: usize) {
    eprintln!(
        "kubespray YAML ({mode:?}): {files} files, {ansible_errors} rejected by Ansible, {differences} differ"
    );
}
