//! `rplay compare` on the recorded logs of `fixtures/compare/` (made by
//! `compat-tests/compare/record`).
//!
//! Two ansible-playbook runs of each case must compare equal. rplay's run and the
//! hand-made `edited-*.log` variants of the first Ansible run are compared with that run.
//! Their human reports are `insta` snapshots, and each edited variant must differ.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rplay::output::compare::{
    compare_logs, render_text, Comparison, Difference, Normalizer, Subject,
};
use serde_json::{json, Value};

/// Every case directory of `fixtures/compare/`.
const CASES: [&str; 10] = [
    "failing",
    "include",
    "include-order",
    "loop",
    "profile",
    "run-once-host",
    "syntax-error",
    "verbose",
    "vvvv",
    "warnings",
];

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/compare")
}

fn read(case: &str, file: &str) -> String {
    let path = cases_dir().join(case).join(file);
    fs::read_to_string(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

fn comparison(case: &str, a: &str, b: &str) -> Comparison {
    compare_logs(&read(case, a), &read(case, b), &Normalizer::new(&[]))
}

fn differences(case: &str, a: &str, b: &str) -> Vec<Difference> {
    comparison(case, a, b).differences
}

/// Renders the human report, with paths relative to `fixtures/compare/`.
fn report(case: &str, a: &str, b: &str) -> String {
    render_text(
        &comparison(case, a, b),
        &format!("{case}/{a}"),
        &format!("{case}/{b}"),
    )
}

/// Renders the report of an edited variant against the first Ansible run, after
/// checking that they differ.
fn edited_report(case: &str, file: &str) -> String {
    let found = differences(case, "ansible-1.log", file);
    assert!(!found.is_empty(), "{case}/{file} compares equal");
    report(case, "ansible-1.log", file)
}

fn rplay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rplay"))
        .args(args)
        .current_dir(cases_dir())
        .output()
        .expect("rplay runs")
}

#[test]
fn cases_list_is_complete() {
    let mut found: Vec<String> = fs::read_dir(cases_dir())
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().join("playbook.yml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().to_string())
        .collect();
    found.sort();
    assert_eq!(found, CASES);
}

#[test]
fn ansible_runs_compare_equal() {
    for case in CASES {
        let found = differences(case, "ansible-1.log", "ansible-2.log");
        assert!(
            found.is_empty(),
            "{}",
            report(case, "ansible-1.log", "ansible-2.log")
        );
    }
}

#[test]
fn ansible_runs_really_differ_in_text() {
    // The equality above must come from normalisation, not from identical files: every
    // case with results has varying host order, times or temporary names.
    for case in [
        "failing",
        "include",
        "include-order",
        "loop",
        "profile",
        "run-once-host",
        "verbose",
        "vvvv",
    ] {
        assert_ne!(
            read(case, "ansible-1.log"),
            read(case, "ansible-2.log"),
            "{case}: the two recorded runs are byte-identical"
        );
    }
}

#[test]
fn rplay_failing() {
    insta::assert_snapshot!(report("failing", "ansible-1.log", "rplay.log"));
}

#[test]
fn rplay_include() {
    insta::assert_snapshot!(report("include", "ansible-1.log", "rplay.log"));
}

#[test]
fn rplay_include_order() {
    insta::assert_snapshot!(report("include-order", "ansible-1.log", "rplay.log"));
}

#[test]
fn include_order_reordered() {
    // The second run slowed the other host down, so the included files ran in another
    // order: one reordered stretch, no differences.
    let found = comparison("include-order", "ansible-1.log", "ansible-2.log");
    assert!(found.differences.is_empty(), "{:#?}", found.differences);
    assert_eq!(found.reordered.len(), 1, "{:#?}", found.reordered);
    assert_eq!(found.reordered[0].tasks_a, (2, 9));
    assert_eq!(found.reordered[0].tasks_b, (2, 9));
    insta::assert_snapshot!(report("include-order", "ansible-1.log", "ansible-2.log"));
}

#[test]
fn edited_reordered_msg() {
    // A changed result inside a reordered stretch is found with its partner line.
    let found = differences("include-order", "ansible-1.log", "edited-color.log");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].location.host.as_deref(), Some("beta"));
    assert_eq!(found[0].subject, Subject::Field { path: "msg".into() });
    insta::assert_snapshot!(edited_report("include-order", "edited-color.log"));
}

#[test]
fn rplay_run_once_host() {
    insta::assert_snapshot!(report("run-once-host", "ansible-1.log", "rplay.log"));
}

#[test]
fn run_once_host_moved() {
    // The second run filled the group in the other order, so both run_once tasks ran on
    // the other host: two moved tasks, and the recap rows compared by their sums.
    let found = comparison("run-once-host", "ansible-1.log", "ansible-2.log");
    assert!(found.differences.is_empty(), "{:#?}", found.differences);
    let hosts: Vec<(&str, &str)> = found
        .moved
        .iter()
        .map(|moved| (moved.host_a.as_str(), moved.host_b.as_str()))
        .collect();
    assert_eq!(hosts, [("alpha", "beta"), ("alpha", "beta")]);
    insta::assert_snapshot!(report("run-once-host", "ansible-1.log", "ansible-2.log"));
}

#[test]
fn edited_moved_msg() {
    // A moved task whose result differs is reported as two hosts' differences.
    let found = differences("run-once-host", "ansible-1.log", "edited-once.log");
    let hosts: Vec<Option<&str>> = found
        .iter()
        .map(|difference| difference.location.host.as_deref())
        .collect();
    assert_eq!(hosts, [Some("alpha"), Some("beta")], "{found:#?}");
    insta::assert_snapshot!(edited_report("run-once-host", "edited-once.log"));
}

#[test]
fn rplay_loop() {
    insta::assert_snapshot!(report("loop", "ansible-1.log", "rplay.log"));
}

#[test]
fn rplay_profile() {
    insta::assert_snapshot!(report("profile", "ansible-1.log", "rplay.log"));
}

#[test]
fn rplay_syntax_error() {
    insta::assert_snapshot!(report("syntax-error", "ansible-1.log", "rplay.log"));
}

#[test]
fn rplay_verbose() {
    insta::assert_snapshot!(report("verbose", "ansible-1.log", "rplay.log"));
}

#[test]
fn rplay_vvvv() {
    insta::assert_snapshot!(report("vvvv", "ansible-1.log", "rplay.log"));
}

#[test]
fn rplay_warnings() {
    insta::assert_snapshot!(report("warnings", "ansible-1.log", "rplay.log"));
}

#[test]
fn stderr_not_merged() {
    // Same playbook, standard error discarded: only the warnings go missing.
    let found = differences("warnings", "ansible-1.log", "ansible-stdout.log");
    assert_eq!(found.len(), 2, "{found:#?}");
    for difference in &found {
        assert!(matches!(difference.subject, Subject::Message { .. }));
        assert!(difference.b.is_none());
    }
    insta::assert_snapshot!(report("warnings", "ansible-1.log", "ansible-stdout.log"));
}

#[test]
fn edited_status() {
    let found = differences("loop", "ansible-1.log", "edited-status.log");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].subject, Subject::Status);
    assert_eq!(found[0].location.host.as_deref(), Some("alpha"));
    assert_eq!(found[0].location.item.as_deref(), Some("red"));
    insta::assert_snapshot!(edited_report("loop", "edited-status.log"));
}

#[test]
fn edited_missing_task() {
    let found = differences("failing", "ansible-1.log", "edited-missing-task.log");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].subject, Subject::Task);
    assert!(found[0].b.is_none());
    insta::assert_snapshot!(edited_report("failing", "edited-missing-task.log"));
}

#[test]
fn edited_missing_play() {
    let found = differences("failing", "ansible-1.log", "edited-missing-play.log");
    assert!(found
        .iter()
        .any(|difference| difference.subject == Subject::Play));
    insta::assert_snapshot!(edited_report("failing", "edited-missing-play.log"));
}

#[test]
fn edited_msg() {
    let found = differences("verbose", "ansible-1.log", "edited-msg.log");
    let paths: Vec<&Subject> = found.iter().map(|difference| &difference.subject).collect();
    assert_eq!(
        paths,
        [
            &Subject::Field {
                path: "stdout".into()
            },
            &Subject::Field {
                path: "stdout_lines[0]".into()
            },
        ]
    );
    insta::assert_snapshot!(edited_report("verbose", "edited-msg.log"));
}

#[test]
fn edited_recap() {
    let found = differences("include", "ansible-1.log", "edited-recap.log");
    let counters: Vec<&Subject> = found.iter().map(|difference| &difference.subject).collect();
    assert_eq!(
        counters,
        [
            &Subject::RecapCount { counter: "ok" },
            &Subject::RecapCount { counter: "changed" },
        ]
    );
    insta::assert_snapshot!(edited_report("include", "edited-recap.log"));
}

#[test]
fn edited_profile_rows() {
    let found = differences("profile", "ansible-1.log", "edited-rows.log");
    assert!(found
        .iter()
        .any(|difference| difference.subject == Subject::ProfileRows));
    insta::assert_snapshot!(edited_report("profile", "edited-rows.log"));
}

#[test]
fn edited_warning() {
    insta::assert_snapshot!(edited_report("warnings", "edited-warning.log"));
}

#[test]
fn edited_vvvv_dump() {
    let found = differences("vvvv", "ansible-1.log", "edited-rc.log");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].subject, Subject::Field { path: "rc".into() });
    insta::assert_snapshot!(edited_report("vvvv", "edited-rc.log"));
}

#[test]
fn edited_error() {
    insta::assert_snapshot!(edited_report("syntax-error", "edited-error.log"));
}

#[test]
fn cli_exit_codes() {
    let equal = rplay(&["compare", "loop/ansible-1.log", "loop/ansible-2.log"]);
    assert_eq!(equal.status.code(), Some(0));
    let different = rplay(&["compare", "loop/ansible-1.log", "loop/edited-status.log"]);
    assert_eq!(different.status.code(), Some(1));
    let missing = rplay(&["compare", "loop/ansible-1.log", "loop/no-such.log"]);
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("cannot read loop/no-such.log"), "{stderr}");
    let usage = rplay(&["compare", "loop/ansible-1.log"]);
    assert_eq!(usage.status.code(), Some(2));
    let unknown = rplay(&["compare", "--bogus", "a", "b"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn cli_human_report() {
    let output = rplay(&["compare", "loop/ansible-1.log", "loop/edited-status.log"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        report("loop", "ansible-1.log", "edited-status.log")
    );
}

#[test]
fn cli_json_report() {
    let output = rplay(&[
        "compare",
        "--json",
        "loop/ansible-1.log",
        "loop/edited-status.log",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    assert_eq!(report["equal"], json!(false));
    assert_eq!(report["a"], json!("loop/ansible-1.log"));
    let differences = report["differences"].as_array().expect("a list");
    assert_eq!(differences.len(), 1);
    let difference = &differences[0];
    assert_eq!(difference["subject"], json!("status"));
    assert_eq!(difference["host"], json!("alpha"));
    assert_eq!(difference["item"], json!("red"));
    assert_eq!(difference["a"], json!("ok"));
    assert_eq!(difference["b"], json!("changed"));
    assert_eq!(difference["play"]["name"], json!("Loops"));
    assert_eq!(difference["task"]["index_a"], json!(1));
    assert_eq!(difference["a_line"], json!(5));
    assert!(difference["message"]
        .as_str()
        .unwrap()
        .ends_with("ok in A, changed in B (A:5, B:5)"));

    let equal = rplay(&[
        "compare",
        "--json",
        "loop/ansible-1.log",
        "loop/ansible-2.log",
    ]);
    let report: Value = serde_json::from_slice(&equal.stdout).expect("JSON report");
    assert_eq!(report["equal"], json!(true));
    assert_eq!(report["differences"], json!([]));
}

#[test]
fn cli_help_lists_normalisations() {
    let output = rplay(&["compare", "--help"]);
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "host order inside a task",
        "...ignoring",
        "profile_tasks",
        "`start`, `end`",
        "`delta`",
        "ansible-tmp-",
        "tmp.XXXXXXXXXX",
        "async job ids",
        "ansible-playbook [core X]",
        "line wrapping of warnings",
        "--strip-prefix",
    ] {
        assert!(
            help.contains(expected),
            "--help lacks {expected:?}:\n{help}"
        );
    }
}

#[test]
fn cli_strip_prefix() {
    let original = read("include", "ansible-1.log");
    // The directory the logs were recorded in, which may not be this checkout.
    let recorded_dir = read("include", "record.txt")
        .lines()
        .find_map(|line| line.strip_prefix("cwd: "))
        .expect("record.txt has a cwd line")
        .to_string();
    assert!(original.contains(&recorded_dir));
    let moved = original.replace(&recorded_dir, "/elsewhere/include");
    let dir = tempfile::tempdir().unwrap();
    let moved_path = dir.path().join("moved.log");
    fs::write(&moved_path, moved).unwrap();
    let original_path = cases_dir().join("include/ansible-1.log");
    let (a, b) = (
        original_path.to_str().unwrap(),
        moved_path.to_str().unwrap(),
    );

    let without = rplay(&["compare", a, b]);
    assert_eq!(without.status.code(), Some(1));
    let with = rplay(&[
        "compare",
        "--strip-prefix",
        &recorded_dir,
        "--strip-prefix",
        "/elsewhere/include",
        a,
        b,
    ]);
    assert_eq!(
        with.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&with.stdout)
    );
}
