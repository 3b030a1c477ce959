//! Runs rplay on every case of `fixtures/runs/` and compares its log and exit status
//! with the goldens that `compat-tests/runs/record` recorded from ansible-playbook.
//!
//! A case that rplay does not pass yet has an `expected-to-fail` file whose first line
//! gives the reason. Such a case is reported, not failed; a case that passes while it is
//! marked fails the test, so the list of gaps stays true.
//!
//! `RPLAY_RUNS_CASE=NAME` runs one case and prints its whole difference.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use regex::Regex;

fn runs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/runs")
}

/// One case directory and what was recorded for it.
struct Case {
    name: String,
    dir: PathBuf,
    /// The case directory at recording time, from `expected.cmd`.
    recorded_dir: String,
    expected_log: String,
    expected_rc: i32,
    expected_to_fail: Option<String>,
}

impl Case {
    fn load(dir: &Path) -> Case {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let read = |file: &str| {
            fs::read_to_string(dir.join(file))
                .unwrap_or_else(|err| panic!("{name}: cannot read {file}: {err}"))
        };
        let command = read("expected.cmd");
        let recorded_dir = command
            .lines()
            .find_map(|line| line.strip_prefix("cwd: "))
            .unwrap_or_else(|| panic!("{name}: expected.cmd has no cwd line"))
            .to_string();
        let expected_rc = read("expected.rc")
            .trim()
            .parse()
            .unwrap_or_else(|err| panic!("{name}: expected.rc is not a number: {err}"));
        let expected_to_fail = fs::read_to_string(dir.join("expected-to-fail"))
            .ok()
            .map(|text| text.lines().next().unwrap_or_default().trim().to_string());
        Case {
            expected_log: read("expected.log"),
            name,
            dir: dir.to_path_buf(),
            recorded_dir,
            expected_rc,
            expected_to_fail,
        }
    }

    /// Returns the command-line words after the program name, as the recorder builds them.
    fn arguments(&self) -> Vec<String> {
        let mut argv = Vec::new();
        if self.dir.join("inventory.ini").is_file() {
            argv.extend(["-i".to_string(), "inventory.ini".to_string()]);
        }
        if let Ok(args) = fs::read_to_string(self.dir.join("args")) {
            let first = args.lines().next().unwrap_or_default();
            argv.extend(first.split_whitespace().map(str::to_string));
        }
        argv.push("playbook.yml".to_string());
        argv
    }

    /// Runs rplay in the case directory; returns its merged output and exit status.
    fn run_rplay(&self, home: &Path) -> (String, i32) {
        let log = tempfile::NamedTempFile::new().unwrap();
        // One open file for both streams, so that their writes interleave as printed.
        let stdout = log.reopen().unwrap();
        let stderr = stdout.try_clone().unwrap();
        let status = Command::new(env!("CARGO_BIN_EXE_rplay"))
            .args(self.arguments())
            .current_dir(&self.dir)
            .env_remove("ANSIBLE_CONFIG")
            .env("ANSIBLE_NOCOLOR", "1")
            .env("HOME", home)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .status()
            .unwrap();
        let text = fs::read_to_string(log.path()).unwrap();
        (text, status.code().unwrap_or(-1))
    }
}

/// Patterns of what legitimately varies between two runs; a port of
/// `compat-tests/normalize_log.py`.
struct Normalizer {
    timestamp: Regex,
    summary_row: Regex,
    result_start: Regex,
    times: Regex,
    included: Regex,
}

impl Normalizer {
    fn new() -> Normalizer {
        Normalizer {
            timestamp: Regex::new(
                r"^\w+day \d\d \w+ \d{4}  \d\d:\d\d:\d\d [+-]\d{4} \(\d+:\d\d:\d\d\.\d{3}\)\s+\d+:\d\d:\d\d\.\d{3} \*+ $",
            )
            .unwrap(),
            summary_row: Regex::new(r"^(.*?) -+ \d+\.\d\ds$").unwrap(),
            result_start: Regex::new(
                r"^(ok|changed|skipping|fatal|failed|included|\.\.\.ignoring|FAILED - RETRYING)[:\s]",
            )
            .unwrap(),
            times: Regex::new(r#""(delta|start|end)": "[^"]*""#).unwrap(),
            included: Regex::new(r"^(included: .* for )([^=]*?)( => \(item=.*\))?$").unwrap(),
        }
    }

    /// Rewrites a log so that two runs that differ only in what legitimately varies
    /// compare equal: the case directory, the version banner of `-vv`, result times,
    /// profile_tasks timings, the order of hosts within a task and within an
    /// `included:` line.
    fn normalize(&self, log: &str, case_dir: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut block: Vec<Vec<String>> = Vec::new();
        let mut summary_rows = 0;
        let mut in_summary = false;
        let mut in_banner = false;

        fn flush(block: &mut Vec<Vec<String>>, out: &mut Vec<String>) {
            block.sort_by(|a, b| a[0].cmp(&b[0]));
            out.extend(block.drain(..).flatten());
        }

        for raw in unwrap_warnings(log) {
            let replaced = raw.replace(case_dir, "<case>");
            let line = self.times.replace_all(&replaced, "\"$1\": \"<time>\"");
            let line = self.sort_included_hosts(&line);
            if line.starts_with("ansible-playbook [core ") {
                flush(&mut block, &mut out);
                out.push("<version banner>".to_string());
                in_banner = true;
                continue;
            }
            if in_banner && line.starts_with("  ") {
                continue;
            }
            in_banner = false;
            if self.timestamp.is_match(&line) {
                flush(&mut block, &mut out);
                out.push("<profile_tasks timestamp>".to_string());
                continue;
            }
            if line.starts_with(&"=".repeat(79)) {
                flush(&mut block, &mut out);
                out.push(line);
                in_summary = true;
                continue;
            }
            if in_summary {
                if self.summary_row.is_match(&line) {
                    summary_rows += 1;
                    continue;
                }
                in_summary = false;
                out.push(format!("<profile_tasks summary: {summary_rows} rows>"));
                summary_rows = 0;
            }
            if self.result_start.is_match(&line) && !line.starts_with("...ignoring") {
                block.push(vec![line]);
                continue;
            }
            let continues = line.starts_with([' ', '}']) || line.starts_with("...ignoring");
            if !block.is_empty() && (continues || line == "{") {
                block.last_mut().unwrap().push(line);
                continue;
            }
            flush(&mut block, &mut out);
            out.push(line);
        }
        flush(&mut block, &mut out);
        if in_summary {
            out.push(format!("<profile_tasks summary: {summary_rows} rows>"));
        }
        out
    }

    /// Sorts the host list of an `included: FILE for h1, h2` line: Ansible lists the
    /// hosts in the order their results arrived.
    fn sort_included_hosts(&self, line: &str) -> String {
        let Some(captures) = self.included.captures(line) else {
            return line.to_string();
        };
        let mut hosts: Vec<&str> = captures[2].split(", ").collect();
        hosts.sort_unstable();
        format!(
            "{}{}{}",
            &captures[1],
            hosts.join(", "),
            captures.get(3).map_or("", |m| m.as_str())
        )
    }
}

/// Renders a line diff of two normalised logs (longest common subsequence), `-` for the
/// golden and `+` for rplay, with up to `limit` changed lines.
/// Joins each wrapped `[WARNING]` message into one line without spaces. A warning is
/// wrapped at 79 columns, so where it breaks depends on the length of the paths in it,
/// which differ between the recording and the test's checkout.
fn unwrap_warnings(log: &str) -> Vec<String> {
    const RECORD_STARTS: &[&str] = &[
        "[",
        "TASK [",
        "PLAY",
        "ok:",
        "changed:",
        "fatal:",
        "failed:",
        "skipping:",
        "included:",
        "...ignoring",
        "RUNNING HANDLER",
        "META:",
        "statically imported",
        "Skipping callback",
        "Notification for",
        "NOTIFIED HANDLER",
        "task path:",
        "FAILED - RETRYING",
        "ERROR!",
        "{",
        "}",
        // Indented result lines. A continuation line of a deprecation can start with
        // one space, because ansible-core wraps it keeping whitespace.
        "  ",
        "Using ",
        "No config file",
        "ansible-playbook",
        "An exception",
        "ASYNC",
    ];
    let plays_line = Regex::new(r"^\d+ plays in ").unwrap();
    let mut lines = Vec::new();
    let mut iter = log.split('\n').peekable();
    while let Some(line) = iter.next() {
        if !line.starts_with("[WARNING]: ") && !line.starts_with("[DEPRECATION WARNING]: ") {
            lines.push(line.to_string());
            continue;
        }
        let mut joined = line.to_string();
        while let Some(next) = iter.peek() {
            let ends = next.is_empty()
                || RECORD_STARTS.iter().any(|start| next.starts_with(start))
                || plays_line.is_match(next);
            if ends {
                break;
            }
            joined.push_str(next);
            iter.next();
        }
        lines.push(joined.replace(' ', ""));
    }
    lines
}

fn diff(expected: &[String], actual: &[String], limit: usize) -> String {
    let (n, m) = (expected.len(), actual.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == actual[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while (i < n || j < m) && out.len() < limit {
        if i < n && j < m && expected[i] == actual[j] {
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("{:>4} + {}", j + 1, actual[j]));
            j += 1;
        } else {
            out.push(format!("{:>4} - {}", i + 1, expected[i]));
            i += 1;
        }
    }
    out.join("\n")
}

/// How one case went.
enum Outcome {
    Passed,
    Failed(String),
}

fn check_case(case: &Case, normalizer: &Normalizer, home: &Path, limit: usize) -> Outcome {
    let (log, rc) = case.run_rplay(home);
    let expected = normalizer.normalize(&case.expected_log, &case.recorded_dir);
    let actual = normalizer.normalize(&log, &case.dir.display().to_string());
    let mut problems = Vec::new();
    if rc != case.expected_rc {
        problems.push(format!("exit status {rc}, expected {}", case.expected_rc));
    }
    if expected != actual {
        problems.push(format!(
            "log differs (line numbers of the normalised logs):\n{}",
            diff(&expected, &actual, limit)
        ));
    }
    if problems.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed(problems.join("\n"))
    }
}

fn all_cases() -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(runs_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("playbook.yml").is_file())
        .collect();
    dirs.sort();
    dirs.iter().map(|dir| Case::load(dir)).collect()
}

#[test]
#[allow(clippy::print_stderr)] // The summary and the list of known gaps are the report.
fn runs_match_ansible_goldens() {
    let only = std::env::var("RPLAY_RUNS_CASE").ok();
    let normalizer = Normalizer::new();
    let home = tempfile::tempdir().unwrap();
    let cases: Vec<Case> = all_cases()
        .into_iter()
        .filter(|case| only.as_deref().is_none_or(|name| name == case.name))
        .collect();
    assert!(
        !cases.is_empty(),
        "no case found in {}",
        runs_dir().display()
    );
    let limit = if only.is_some() { usize::MAX } else { 40 };

    let (mut passed, mut known, mut failures) = (0, Vec::new(), Vec::new());
    for case in &cases {
        match (
            check_case(case, &normalizer, home.path(), limit),
            &case.expected_to_fail,
        ) {
            (Outcome::Passed, None) => passed += 1,
            (Outcome::Passed, Some(_)) => failures.push(format!(
                "{}: passes now; delete fixtures/runs/{}/expected-to-fail",
                case.name, case.name
            )),
            (Outcome::Failed(details), None) => {
                failures.push(format!("{}: {details}", case.name));
            }
            (Outcome::Failed(details), Some(reason)) => {
                if only.is_some() {
                    eprintln!("{}: {details}", case.name);
                }
                known.push(format!("{}: {reason}", case.name));
            }
        }
    }

    eprintln!(
        "runs: {passed} passed, {} expected to fail, {} failed",
        known.len(),
        failures.len()
    );
    for line in &known {
        eprintln!("  expected to fail: {line}");
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn normalizer_sorts_hosts_within_task() {
    let normalizer = Normalizer::new();
    let log = "TASK [t] ***\nok: [b] => {\n    \"msg\": 1\n}\nok: [a]\n\nPLAY RECAP ***\n";
    let normalized = normalizer.normalize(log, "/nowhere");
    assert_eq!(
        normalized,
        [
            "TASK [t] ***",
            "ok: [a]",
            "ok: [b] => {",
            "    \"msg\": 1",
            "}",
            "",
            "PLAY RECAP ***",
            ""
        ]
    );
}

#[test]
fn normalizer_rewrites_varying_parts() {
    let normalizer = Normalizer::new();
    let log = "ansible-playbook [core 2.18.19]\n  config file = None\nNo config file found; using defaults\n\
included: /cases/x/t.yml for b, a => (item=1)\n\
changed: [a] => {\"delta\": \"0:00:00.01\", \"start\": \"2026\"}\n";
    let normalized = normalizer.normalize(log, "/cases/x");
    assert_eq!(
        normalized,
        [
            "<version banner>",
            "No config file found; using defaults",
            "changed: [a] => {\"delta\": \"<time>\", \"start\": \"<time>\"}",
            "included: <case>/t.yml for a, b => (item=1)",
            ""
        ]
    );
}

#[test]
fn diff_marks_changed_lines() {
    let expected: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let actual: Vec<String> = ["a", "x", "c"].map(String::from).to_vec();
    assert_eq!(diff(&expected, &actual, 10), "   2 + x\n   2 - b");
}

#[test]
fn bundled_example_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(env!("CARGO_BIN_EXE_rplay"))
        .args([
            "-i",
            "fixtures/example/inventory.ini",
            "fixtures/example/site.yml",
        ])
        .current_dir(root)
        .env_remove("ANSIBLE_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("localhost                  : ok=9    changed=1    unreachable=0    failed=0    skipped=1    rescued=1    ignored=0"),
        "{stdout}"
    );
}
