//! Runs rplay on the bad-input fixtures under `fixtures/errors/` and checks each run
//! against what ansible-playbook did with the same input. `expected.txt`, recorded by
//! `compat-tests/errors/record-expected`, gives the exit code and the first line of
//! the message that rplay must match. A snapshot keeps rplay's whole output.
//!
//! A second test runs rplay on truncated and garbled copies of the fixtures and checks
//! that no input makes it panic or die from a signal.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/errors")
}

/// Lists the case directories under `fixtures/errors/`, sorted.
fn case_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// What ansible-playbook did with a case, as `expected.txt` records it.
struct Expected {
    exit: i32,
    first_line: String,
}

fn read_expected(case: &str) -> Expected {
    let path = fixtures().join(case).join("expected.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap_or_else(|| panic!("{} has no `{name}` line", path.display()))
            .trim_start()
            .to_string()
    };
    Expected {
        exit: field("exit:").parse().expect("numeric exit code"),
        first_line: field("first_line:"),
    }
}

/// Arguments of a case, one command line split at white space.
fn read_args(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("args"))
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

struct RunOutput {
    /// `None` when the process was killed by a signal or timed out.
    code: Option<i32>,
    stdout: String,
    stderr: String,
    timed_out: bool,
}

/// Runs rplay in `dir` with a clean Ansible environment and `home` as `$HOME`.
fn run_rplay(dir: &Path, args: &[String], home: &Path, timeout: Duration) -> RunOutput {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rplay"));
    command
        .args(args)
        .current_dir(dir)
        .env("HOME", home)
        .env("ANSIBLE_NOCOLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ANSIBLE_") && name != "ANSIBLE_NOCOLOR" {
            command.env_remove(name);
        }
    }
    let mut child = command.spawn().expect("rplay starts");
    // Drain the pipes on their own threads so a chatty run cannot block on a full pipe.
    let mut stdout_pipe = child.stdout.take().unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stdout_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout_pipe, &mut text);
        text
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr_pipe, &mut text);
        text
    });
    let started = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > timeout {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    RunOutput {
        code: status.code(),
        stdout: stdout_reader.join().unwrap(),
        stderr: stderr_reader.join().unwrap(),
        timed_out,
    }
}

/// Replaces the run's directories with `$DIR` and `$HOME`, as `record-expected` does,
/// and the scratch directory that contains the shared inventory with `$SCRATCH`.
fn normalize(text: &str, dir: &Path, home: &Path) -> String {
    let scratch = dir.parent().unwrap_or(dir).display().to_string();
    text.replace(&dir.display().to_string(), "$DIR")
        .replace(&home.display().to_string(), "$HOME")
        .replace(&scratch, "$SCRATCH")
}

/// Picks the first line of the message as `record-expected` picks Ansible's, joining a
/// wrapped warning back into one line.
fn first_message_line(stdout: &str, stderr: &str) -> String {
    let err: Vec<&str> = stderr.lines().collect();
    let out: Vec<&str> = stdout.lines().collect();
    if let Some(line) = err.iter().find(|line| line.starts_with("ERROR!")) {
        return line.to_string();
    }
    if let Some(line) = err
        .iter()
        .find(|line| line.contains(": error: ") && !line.starts_with(' '))
    {
        return line.to_string();
    }
    if let Some(line) = out.iter().find(|line| line.starts_with("fatal:")) {
        return line.to_string();
    }
    for lines in [&err, &out] {
        let Some(start) = lines.iter().position(|l| l.starts_with("[WARNING]:")) else {
            continue;
        };
        let mut text = lines[start].to_string();
        for line in &lines[start + 1..] {
            if line.is_empty() || line.starts_with('[') || line.starts_with(' ') {
                break;
            }
            if !text.ends_with('-') {
                text.push(' ');
            }
            text.push_str(line);
        }
        return text;
    }
    String::new()
}

/// Cuts a line as `record-expected` does: after 400 characters, marked with ` [...]`.
fn cut_like_record(line: &str) -> String {
    match line.char_indices().nth(400) {
        Some((end, _)) => format!("{} [...]", &line[..end]),
        None => line.to_string(),
    }
}

/// Cases whose first line cannot equal Ansible's, with the part both share. The
/// differences are listed under "Errors" in `compat-tests/COMPATIBILITY.md`.
const FIRST_LINE_PREFIXES: &[(&str, &str)] = &[
    // Ansible nests one "unhandled exception" per level until Python's recursion limit.
    (
        "recursive_var",
        "fatal: [localhost]: FAILED! => {\"msg\": \"An unhandled exception occurred while templating '{{ b }}'. Error was a <class 'ansible.errors.AnsibleError'>, original message: ",
    ),
    // minijinja's parser words syntax errors differently from Jinja2's.
    (
        "jinja_syntax_error",
        "fatal: [localhost]: FAILED! => {\"msg\": \"template error while templating string: ",
    ),
    // argparse names the program; rplay's usage names rplay.
    ("unknown_flag", "error: unrecognized arguments: --no-such-flag"),
    // ansible-core overflows Python's stack on a static import cycle and reports an
    // unexpected exception; rplay names the cycle.
    ("import_tasks_cycle", "ERROR! "),
    ("import_playbook_cycle", "ERROR! "),
];

fn check_first_line(case: &str, expected: &str, actual: &str) {
    match FIRST_LINE_PREFIXES.iter().find(|(name, _)| *name == case) {
        Some((_, prefix)) => {
            assert!(
                expected.contains(prefix),
                "{case}: the shared part is not in Ansible's line\n  shared: {prefix}\n  ansible: {expected}"
            );
            assert!(
                actual.contains(prefix),
                "{case}: rplay's first line lacks the part shared with Ansible\n  shared: {prefix}\n  rplay: {actual}"
            );
        }
        None => assert_eq!(
            actual, expected,
            "{case}: rplay's first line differs from ansible-playbook's"
        ),
    }
}

/// Creates a scratch directory for runs, `/tmp/rplayerrorsXXXXXXXX`. Its path has one fixed
/// length and no hyphen or space, so warnings that quote it wrap at the same places in
/// every checkout (Ansible's display wraps at 79 columns, also inside hyphenated words).
fn scratch_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("rplayerrors")
        .rand_bytes(8)
        .tempdir_in("/tmp")
        .unwrap()
}

/// Copies `source` into `target` recursively.
fn copy_tree(source: &Path, target: &Path) {
    std::fs::create_dir_all(target).unwrap();
    for entry in std::fs::read_dir(source).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &target.join(entry.file_name()));
        } else {
            std::fs::copy(&path, target.join(entry.file_name())).unwrap();
        }
    }
}

/// Copies a case and the shared inventory into `scratch`; returns the case's copy.
fn copy_case(case: &str, scratch: &Path) -> PathBuf {
    std::fs::copy(
        fixtures().join("inventory.ini"),
        scratch.join("inventory.ini"),
    )
    .unwrap();
    let dir = scratch.join(case);
    copy_tree(&fixtures().join(case), &dir);
    dir
}

fn check_case(case: &str) {
    let expected = read_expected(case);
    let scratch = scratch_dir();
    let dir = copy_case(case, scratch.path());
    let home = scratch.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let output = run_rplay(&dir, &read_args(&dir), &home, Duration::from_secs(60));
    let stdout = normalize(&output.stdout, &dir, &home);
    let stderr = normalize(&output.stderr, &dir, &home);
    assert!(!output.timed_out, "{case}: rplay did not finish");
    assert!(
        !stderr.contains("panicked"),
        "{case}: rplay panicked:\n{stderr}"
    );
    assert_eq!(
        output.code,
        Some(expected.exit),
        "{case}: exit code differs from ansible-playbook's\n--- stdout\n{stdout}--- stderr\n{stderr}"
    );
    let first_line = first_message_line(&output.stdout, &output.stderr);
    check_first_line(
        case,
        &expected.first_line,
        &cut_like_record(&normalize(&first_line, &dir, &home)),
    );
    let code = output.code.unwrap_or(-1);
    insta::assert_snapshot!(
        case,
        format!("exit code: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}")
    );
}

macro_rules! error_cases {
    ($($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                check_case(stringify!($case));
            }
        )*

        #[test]
        fn every_fixture_has_a_test() {
            let tested = [$(stringify!($case)),*];
            for case in case_names() {
                assert!(tested.contains(&case.as_str()), "fixtures/errors/{case} has no test");
            }
        }
    };
}

error_cases!(
    args_bare_variable,
    args_not_a_mapping,
    empty_playbook,
    extra_vars_bad_yaml,
    extra_vars_missing,
    extra_vars_not_a_mapping,
    handler_include_nested_block,
    handler_include_role_rejected,
    handler_nested_block_rejected,
    host_pattern_no_match,
    import_playbook_cycle,
    import_playbook_missing,
    import_tasks_cycle,
    include_tasks_bad_yaml,
    include_tasks_recursion,
    jinja_syntax_error,
    limit_no_match,
    missing_hosts,
    missing_import_tasks,
    missing_include_role,
    missing_include_tasks,
    missing_playbook,
    missing_role,
    missing_vars_file,
    play_not_mapping,
    recursive_var,
    register_invalid_name,
    register_python_keyword,
    role_dependency_cycle,
    two_modules,
    undefined_var_arg,
    undefined_var_when,
    unknown_flag,
    unknown_module,
    unknown_module_option,
    unknown_play_keyword,
    unknown_task_keyword,
    vars_files_bad_yaml,
    yaml_bad_indent,
    yaml_duplicate_key,
    yaml_tab_indent,
    yaml_unclosed_bracket,
);

/// Characters that change the structure of YAML or Jinja2 text when put in place of
/// another character.
const GARBLE: &[char] = &[
    '[', ']', '{', '}', ':', '-', '"', '\'', '\t', '|', '>', '%', '*', '&', '!', '#', '\n',
];

/// Copies of `text`: prefixes at `points` cut points, and `points` copies with one
/// character replaced by a [`GARBLE`] character.
fn mutations(text: &str, points: usize) -> Vec<String> {
    let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    if boundaries.is_empty() {
        return Vec::new();
    }
    let step = (boundaries.len() / points).max(1);
    let mut copies = Vec::new();
    for (n, &start) in boundaries.iter().step_by(step).enumerate() {
        copies.push(text[..start].to_string());
        let end = text[start..]
            .chars()
            .next()
            .map_or(start, |c| start + c.len_utf8());
        let replacement = GARBLE[n % GARBLE.len()];
        copies.push(format!("{}{replacement}{}", &text[..start], &text[end..]));
    }
    copies
}

/// Runs every mutation of every YAML file of the fixtures and returns the failures.
fn garbled_failures(cases: &[String]) -> Vec<String> {
    let mut failures = Vec::new();
    for case in cases {
        let case_dir = fixtures().join(case);
        let args = read_args(&case_dir);
        let work = scratch_dir();
        let case_copy = copy_case(case, work.path());
        for entry in std::fs::read_dir(&case_dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("yml") {
                continue;
            }
            let name = path.file_name().unwrap().to_owned();
            let original = std::fs::read_to_string(&path).unwrap();
            for text in mutations(&original, 24) {
                std::fs::write(case_copy.join(&name), &text).unwrap();
                let output = run_rplay(&case_copy, &args, work.path(), Duration::from_secs(20));
                let crashed = output.timed_out
                    || output.code.is_none()
                    || output.code == Some(101)
                    || output.stderr.contains("panicked");
                if crashed {
                    failures.push(format!(
                        "{case}/{}: code {:?}, timed out {}, input {text:?}\n{}",
                        name.to_string_lossy(),
                        output.code,
                        output.timed_out,
                        output.stderr
                    ));
                }
            }
            std::fs::write(case_copy.join(&name), &original).unwrap();
        }
    }
    failures
}

#[test]
fn garbled_fixtures_never_panic() {
    let cases = case_names();
    // Two halves on two threads: each run is a short process, so this halves the time.
    let (first, second) = cases.split_at(cases.len() / 2);
    let second = second.to_vec();
    let other = std::thread::spawn(move || garbled_failures(&second));
    let mut failures = garbled_failures(first);
    failures.extend(other.join().unwrap());
    assert!(
        failures.is_empty(),
        "{} garbled inputs crashed rplay:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Playbooks that once crashed rplay: formatting that allocated without bound or
/// overflowed Rust's formatting limits. Each must end with a task failure.
const HOSTILE_TEMPLATES: &[&str] = &[
    "'%99999999999d' % 1",
    "'%.99999999999f' % 1.5",
    "'%.99999999999e' % 1.5",
    "'{:099999999999}'.format(1)",
    "'{:.99999999999f}'.format(1.5)",
    "'x' | center(99999999999)",
    "'x' | indent(99999999999)",
    "'x'.zfill(99999999999)",
    "'a' * 99999999999",
];

#[test]
fn hostile_templates_fail_the_task() {
    let scratch = scratch_dir();
    std::fs::write(
        scratch.path().join("inventory.ini"),
        "localhost ansible_connection=local\n",
    )
    .unwrap();
    for (index, expression) in HOSTILE_TEMPLATES.iter().enumerate() {
        let playbook = format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{{{ {expression} }}}}\"\n"
        );
        let name = format!("hostile{index}.yml");
        std::fs::write(scratch.path().join(&name), playbook).unwrap();
        let args = vec!["-i".to_string(), "inventory.ini".to_string(), name];
        let output = run_rplay(
            scratch.path(),
            &args,
            scratch.path(),
            Duration::from_secs(60),
        );
        assert_eq!(
            output.code,
            Some(2),
            "{expression}: expected a failed task\n{}{}",
            output.stdout,
            output.stderr
        );
        assert!(
            output.stdout.contains("fatal: [localhost]: FAILED!"),
            "{expression}: no failed task in\n{}",
            output.stdout
        );
    }
}
