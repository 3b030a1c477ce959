//! Compares rplay's templating with results recorded from ansible-core 2.18.
//!
//! Each file in `fixtures/template/cases/` holds cases and the `expected` result that
//! `compat-tests/template/oracle.py --record` wrote by running Ansible's own Templar.
//! The test needs no Python. A case may carry `"known_gap": "reason"`: a mismatch is
//! then listed but does not fail the test, and a match reports the gap as closed.

mod template_support;

use std::path::{Path, PathBuf};

use rplay::template::{Templar, TemplarOptions};
use serde_json::Value as Json;

use template_support::{build_vars, run_case_with};

/// Runs one case through rplay in its own context.
fn run_case(templar: &Templar, case: &Json) -> Json {
    run_case_with(templar, build_vars(case).as_ref(), case)
}

/// Compares rplay's result with the recorded one; `None` when they agree.
fn compare(case: &Json, actual: &Json) -> Option<String> {
    let expected = &case["expected"];
    let mode = case.get("match").and_then(Json::as_str).unwrap_or("exact");
    if let Some(message) = expected.get("error").and_then(Json::as_str) {
        let Some(actual_message) = actual.get("error").and_then(Json::as_str) else {
            return Some(format!("expected error {message:?}, got {actual}"));
        };
        let agrees = match mode {
            "error_prefix" => {
                // Parser messages differ between Jinja2 and minijinja; the text up to
                // the parser's own message must agree.
                error_head(message) == error_head(actual_message)
            }
            "error_contains" => {
                let needle = case
                    .get("needle")
                    .and_then(Json::as_str)
                    .unwrap_or_default();
                message.contains(needle) && actual_message.contains(needle)
            }
            "error_any" => true,
            _ => message == actual_message,
        };
        return (!agrees).then(|| format!("error {actual_message:?}, expected {message:?}"));
    }
    if actual.get("error").is_some() {
        return Some(format!(
            "failed with {}, expected {}",
            actual["error"], expected["value"]
        ));
    }
    if actual["value"] != expected["value"] {
        return Some(format!(
            "value {}, expected {}",
            actual["value"], expected["value"]
        ));
    }
    // Ansible's `NativeJinjaText` (output of `string`, `to_json`, ...) is a `str`.
    let expected_type = match expected["type"].as_str() {
        Some("NativeJinjaText") => Json::from("str"),
        _ => expected["type"].clone(),
    };
    if actual["type"] != expected_type {
        return Some(format!(
            "type {}, expected {}",
            actual["type"], expected["type"]
        ));
    }
    if case["kind"] == "cond" && actual["warnings"] != expected["warnings"] {
        return Some(format!(
            "warnings {}, expected {}",
            actual["warnings"], expected["warnings"]
        ));
    }
    None
}

/// An error message up to its last `: ` before the quoted template text.
fn error_head(message: &str) -> String {
    let before_text = message.split(" String: ").next().unwrap_or_default();
    before_text
        .rsplit_once(": ")
        .map_or(before_text, |(head, _)| head)
        .to_owned()
}

fn case_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/template/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|path| path.extension().is_some_and(|ext| ext == "json"));
    files.sort();
    files
}

#[test]
fn templating_matches_recorded_ansible_results() {
    let templar = Templar::new(TemplarOptions::default());
    let mut total = 0;
    let mut failures = Vec::new();
    let mut gaps = Vec::new();
    let mut closed = Vec::new();
    for file in case_files() {
        let text = std::fs::read_to_string(&file).expect("case file is readable");
        let cases: Vec<Json> = serde_json::from_str(&text).expect("case file is JSON");
        let stem = file
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        for case in &cases {
            if case.get("expected").is_none() {
                continue;
            }
            total += 1;
            let name = format!("{stem}/{}", case["name"].as_str().unwrap_or("?"));
            let actual = run_case(&templar, case);
            let mismatch = compare(case, &actual);
            match (mismatch, case.get("known_gap")) {
                (Some(problem), Some(gap)) => gaps.push(format!("{name}: {problem} ({gap})")),
                (Some(problem), None) => failures.push(format!("{name}: {problem}")),
                (None, Some(_)) => closed.push(name),
                (None, None) => {}
            }
        }
    }
    let report = format!(
        "{} cases, {} match, {} known gaps, {} failures\nknown gaps:\n  {}\nclosed gaps:\n  {}\nfailures:\n  {}",
        total,
        total - failures.len() - gaps.len(),
        gaps.len(),
        failures.len(),
        gaps.join("\n  "),
        closed.join("\n  "),
        failures.join("\n  ")
    );
    if let Ok(path) = std::env::var("RPLAY_TEMPLATE_REPORT") {
        let _ = std::fs::write(path, &report);
    }
    assert!(total > 0, "no recorded cases found");
    assert!(failures.is_empty(), "{report}");
}
