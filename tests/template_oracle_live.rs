//! Re-runs the oracle (ansible-core's own Templar) on every recorded case and checks
//! the recordings are still what Ansible returns. Skipped when the oracle's
//! virtualenv (`/tmp/ansible-venv`, or `RPLAY_ORACLE_PYTHON`) is absent.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

fn oracle_python() -> Option<PathBuf> {
    let python = std::env::var_os("RPLAY_ORACLE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/ansible-venv/bin/python"));
    python.exists().then_some(python)
}

#[test]
fn recorded_results_match_live_ansible() {
    let Some(python) = oracle_python() else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("fixtures/template/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("case directory exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let output = Command::new(&python)
        .arg(root.join("compat-tests/template/oracle.py"))
        .args(&files)
        .env_remove("RPLAY_TEST_SURELY_UNSET")
        .output()
        .expect("oracle runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let live: Vec<Json> = serde_json::from_slice(&output.stdout).expect("oracle prints JSON");
    let mut recorded = Vec::new();
    for file in &files {
        let cases: Vec<Json> =
            serde_json::from_str(&std::fs::read_to_string(file).expect("readable")).expect("JSON");
        recorded.extend(cases);
    }
    assert_eq!(live.len(), recorded.len());
    let mut stale = Vec::new();
    for (live, case) in live.iter().zip(&recorded) {
        let mut live = live.clone();
        if let Some(object) = live.as_object_mut() {
            object.remove("name");
        }
        // Ansible's recursion error nests one wrapper per Python frame; only its
        // presence is compared.
        if case.get("match").and_then(Json::as_str) == Some("error_contains") {
            continue;
        }
        if live != case["expected"] {
            stale.push(format!("{}: live {live}", case["name"]));
        }
    }
    assert!(
        stale.is_empty(),
        "recordings differ from live Ansible:\n{}",
        stale.join("\n")
    );
}
