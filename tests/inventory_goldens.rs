//! Compares `rplay inventory` and rplay's host patterns with output recorded from
//! ansible-core 2.18 (`compat-tests/inventory/record-goldens`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use rplay::inventory::{self, HostQuery, Limit, LoadOptions};
use rplay::output::display::{warning_text, DEFAULT_COLUMNS};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/inventory")
}

/// Returns whether the YAML loader works yet. Cases that read YAML are skipped until it does.
fn yaml_available() -> bool {
    let file = rplay::source::SourceFile::new("probe.yml", "a: 1\n");
    rplay::yaml::load(file).is_ok()
}

fn needs_yaml(dir: &str, args: &str) -> bool {
    matches!(dir, "yaml" | "dir") || args.contains(".yml")
}

/// Ansible prints the reserved-name warnings in Python set order, which varies from
/// run to run, so standard error is compared as a sorted list of lines.
fn sorted_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines
}

#[test]
fn ansible_inventory_goldens() {
    let cases = std::fs::read_to_string(fixtures().join("cases.txt")).unwrap();
    let home = tempfile::tempdir().unwrap();
    let yaml = yaml_available();
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in cases
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let mut words = line.split_whitespace();
        let (dir, name) = (words.next().unwrap(), words.next().unwrap());
        let args: Vec<&str> = words.collect();
        if !yaml && needs_yaml(dir, line) {
            continue;
        }
        let cwd = fixtures().join(dir);
        let output = Command::new(env!("CARGO_BIN_EXE_rplay"))
            .arg("inventory")
            .args(&args)
            .current_dir(&cwd)
            .env_remove("ANSIBLE_CONFIG")
            .env("HOME", home.path())
            .output()
            .unwrap();
        let golden =
            |ext: &str| std::fs::read_to_string(cwd.join(format!("golden/{name}.{ext}"))).unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let status = output.status.code().unwrap_or(-1).to_string();
        // Ansible prints its usage text on standard output for option errors (exit
        // status 5); rplay prints only the error.
        let usage_error = golden("status").trim() == "5";
        if !usage_error && stdout != golden("stdout") {
            failures.push(format!("{dir}/{name}: stdout differs:\n{stdout}"));
        }
        if sorted_lines(&stderr) != sorted_lines(&golden("stderr")) {
            failures.push(format!("{dir}/{name}: stderr differs:\n{stderr}"));
        }
        if status != golden("status").trim() {
            failures.push(format!("{dir}/{name}: exit status {status}"));
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} cases ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One recorded `ansible PATTERN --list-hosts [-l LIMIT]` run.
struct PatternCase {
    pattern: String,
    limit: Option<String>,
    stdout: String,
    stderr: String,
}

fn pattern_cases() -> Vec<PatternCase> {
    let text = std::fs::read_to_string(fixtures().join("patterns/patterns.golden")).unwrap();
    let mut cases = Vec::new();
    for block in text.split("=== ").skip(1) {
        let (header, rest) = block.split_once('\n').unwrap();
        let (stdout, stderr) = rest.split_once("--- stderr\n").unwrap();
        let mut words = header.splitn(2, ' ');
        cases.push(PatternCase {
            pattern: words.next().unwrap().to_string(),
            limit: words.next().map(str::to_string),
            stdout: stdout.to_string(),
            stderr: stderr.to_string(),
        });
    }
    cases
}

/// Renders what `ansible PATTERN --list-hosts` prints. The adhoc command turns a
/// pattern error into "No hosts matched" unless a limit was given.
fn list_hosts_like_adhoc(dir: &Path, case: &PatternCase) -> (String, String) {
    let options = LoadOptions {
        cwd: dir.to_path_buf(),
        ..LoadOptions::default()
    };
    let mut inventory = inventory::load(&["hosts.ini".to_string()], &options).unwrap();
    let mut warnings = inventory.take_warnings();
    let limit = case
        .limit
        .as_ref()
        .map(|spec| Limit::parse(spec, dir).unwrap());
    let query = HostQuery {
        limit: limit.as_ref(),
        ..HostQuery::default()
    };
    let mut stderr = String::new();
    let hosts = match inventory.get_host_list(&case.pattern, &query, &mut warnings) {
        Ok(hosts) => hosts,
        Err(_) if limit.is_none() => {
            warnings.push("No hosts matched, nothing to do".into());
            Vec::new()
        }
        Err(err) => {
            let mut shown = HashSet::new();
            for warning in warnings.iter().filter(|w| shown.insert(w.as_str())) {
                stderr.push_str(&warning_text(warning, DEFAULT_COLUMNS));
            }
            stderr.push_str(&format!("ERROR! {err}\n"));
            return (String::new(), stderr);
        }
    };
    let mut shown = HashSet::new();
    for warning in warnings.iter().filter(|w| shown.insert(w.as_str())) {
        stderr.push_str(&warning_text(warning, DEFAULT_COLUMNS));
    }
    let mut stdout = format!("  hosts ({}):\n", hosts.len());
    for host in hosts {
        stdout.push_str(&format!("    {host}\n"));
    }
    (stdout, stderr)
}

#[test]
fn host_patterns_match_ansible() {
    let dir = fixtures().join("patterns");
    let cases = pattern_cases();
    assert!(cases.len() >= 40, "only {} pattern cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let (stdout, stderr) = list_hosts_like_adhoc(&dir, case);
        if stdout != case.stdout || stderr != case.stderr {
            failures.push(format!(
                "pattern {:?} limit {:?}:\nexpected:\n{}{}\nactual:\n{}{}",
                case.pattern, case.limit, case.stdout, case.stderr, stdout, stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
