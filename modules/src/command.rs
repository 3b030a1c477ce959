//! The `command` and `shell` modules, with ansible-core 2.18's result keys.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::spec::{Default, Elements, Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

/// `command` and `shell` in ansible-core 2.18's spec order; `shell` is `command` with
/// `_uses_shell` set by its action.
pub const SPEC: ModuleSpec = ModuleSpec::new(
    "command",
    &[
        OptionSpec::new("_raw_params", Kind::Str),
        OptionSpec::new("_uses_shell", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("argv", Kind::List(Elements::Str)),
        OptionSpec::new("chdir", Kind::Path),
        OptionSpec::new("executable", Kind::Str),
        OptionSpec::new("expand_argument_vars", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("creates", Kind::Path),
        OptionSpec::new("removes", Kind::Path),
        OptionSpec::new("stdin", Kind::Str),
        OptionSpec::new("stdin_add_newline", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("strip_empty_ends", Kind::Bool).default(Default::Bool(true)),
    ],
);

/// A validated `command`/`shell` invocation.
#[derive(Debug, Clone)]
pub struct CommandRequest {
    /// The command as the result's `cmd` shows it: argv for `command`, text for `shell`.
    pub display: Value,
    pub argv: Vec<String>,
    pub chdir: Option<String>,
    pub creates: Option<String>,
    pub removes: Option<String>,
    pub stdin: Option<String>,
    pub stdin_add_newline: bool,
    pub strip_empty_ends: bool,
    /// Variables added to the process environment (the task's `environment`).
    pub environment: Vec<(String, String)>,
    /// Warnings for the result's `warnings`, such as an `executable` that `command`
    /// ignores.
    pub warnings: Vec<String>,
    /// Whether `~` and `$VAR` in each argument are expanded before the command runs
    /// (`expand_argument_vars`; never for `shell`, whose shell expands them).
    pub expand_arguments: bool,
}

impl CommandRequest {
    /// Builds the request from validated parameters; with `_uses_shell` the text runs
    /// through `/bin/sh -c` (or `executable`). Errors are the module's failure messages.
    pub fn from_params(params: &Params) -> Result<CommandRequest, String> {
        let shell = params.flag("_uses_shell");
        let raw = params
            .string("_raw_params")
            .filter(|raw| !raw.trim().is_empty());
        let argv_arg = params.get("argv").map(|_| params.strings("argv"));
        let mut warnings = Vec::new();
        if let Some(executable) = params.string("executable").filter(|_| !shell) {
            warnings.push(format!(
                "As of Ansible 2.4, the parameter 'executable' is no longer supported with the 'command' module. Not using '{executable}'."
            ));
        }
        let (display, argv) = match (raw, argv_arg) {
            (None, None) => return Err("no command given".into()),
            (None, Some(argv)) if argv.is_empty() => return Err("no command given".into()),
            (Some(_), Some(_)) => return Err("only command or argv can be given, not both".into()),
            (Some(raw), None) if shell => {
                let executable = params
                    .string("executable")
                    .unwrap_or_else(|| "/bin/sh".to_string());
                (
                    Value::from(raw.clone()),
                    vec![executable, "-c".to_string(), raw],
                )
            }
            (Some(raw), None) => {
                let argv = split_command(&raw)?;
                let display = Value::list(argv.iter().map(|a| Value::from(a.as_str())).collect());
                (display, argv)
            }
            (None, Some(argv)) => {
                let display = Value::list(argv.iter().map(|a| Value::from(a.as_str())).collect());
                (display, argv)
            }
        };
        if argv.is_empty() || argv[0].trim().is_empty() {
            return Err("no command given".into());
        }
        Ok(CommandRequest {
            display,
            argv,
            chdir: params.string("chdir"),
            creates: params.string("creates"),
            removes: params.string("removes"),
            stdin: params.string("stdin"),
            stdin_add_newline: params.flag("stdin_add_newline"),
            strip_empty_ends: params.flag("strip_empty_ends"),
            environment: Vec::new(),
            warnings,
            expand_arguments: !shell && params.flag("expand_argument_vars"),
        })
    }
}

impl CommandRequest {
    /// The arguments the process gets: with `expand_arguments`, each one passes through
    /// `expandvars` and then `expanduser`, as ansible-core's `run_command` does, with
    /// the variables the process will see.
    fn expanded_argv(&self) -> Vec<String> {
        if !self.expand_arguments {
            return self.argv.clone();
        }
        let lookup = |name: &str| {
            self.environment
                .iter()
                .rev()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
                .or_else(|| std::env::var(name).ok())
        };
        let home = lookup("HOME");
        self.argv
            .iter()
            .map(|arg| {
                let expanded = crate::ospath::expand_vars(arg, lookup);
                crate::ospath::expand_user(&expanded, home.as_deref(), crate::ospath::home_of)
            })
            .collect()
    }
}

/// Splits a command line as Python's `shlex.split` (POSIX mode, no comments): inside
/// double quotes a backslash escapes only `"` and `\\`.
pub fn split_command(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => current.push(c),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => current.push(c),
                            Some(c) => {
                                current.push('\\');
                                current.push(c);
                            }
                            None => return Err("No closing quotation".into()),
                        },
                        Some(c) => current.push(c),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => current.push(c),
                    None => return Err("No escaped character".into()),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                current.push(c);
            }
        }
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

/// Quotes `text` for a POSIX shell as Python's `shlex.quote` does: unchanged when it
/// holds only safe characters, else in single quotes.
pub fn shell_quote(text: &str) -> String {
    if text.is_empty() {
        return "''".to_string();
    }
    let safe = |c: char| c.is_ascii_alphanumeric() || c == '_' || "@%+=:,./-".contains(c);
    if text.chars().all(safe) {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', "'\"'\"'"))
}

/// Renders a command line for results as `AnsibleModule._clean_args` does: the value
/// after a password option, or after its `=`, is masked, and each word is quoted.
pub fn clean_args(argv: &[String]) -> String {
    let mut words = Vec::with_capacity(argv.len());
    let mut mask_next = false;
    for arg in argv {
        if mask_next {
            mask_next = false;
            words.push("********".to_string());
            continue;
        }
        if is_password_option(arg) {
            match arg.find('=') {
                Some(equals) => {
                    words.push(format!("{}=********", &arg[..equals]));
                    continue;
                }
                None => mask_next = true,
            }
        }
        words.push(arg.clone());
    }
    words
        .iter()
        .map(|word| shell_quote(word))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Tells whether a word starts as ansible-core's `PASSWD_ARG_RE` matches:
/// `^-{0,2}pass-?(word|wd)?`.
fn is_password_option(arg: &str) -> bool {
    let rest = arg
        .strip_prefix("--")
        .or_else(|| arg.strip_prefix('-'))
        .unwrap_or(arg);
    rest.starts_with("pass")
}

/// The keys ansible-core's command module starts its result with, in that order; keys
/// added later follow them. Item labels print results as Python dicts, in this order.
const RESULT_ORDER: &[&str] = &[
    "changed", "stdout", "stderr", "rc", "cmd", "start", "end", "delta", "msg",
];

/// Runs the command on this machine and returns the module result, its keys in
/// ansible-core's order.
pub fn run(request: &CommandRequest, check_mode: bool) -> Map {
    let result = run_unordered(request, check_mode);
    let mut ordered = Map::new();
    for key in RESULT_ORDER {
        if let Some(value) = result.get(*key) {
            ordered.insert(Value::from(*key), value.clone());
        }
    }
    // The line lists come from ansible-core's action layer, after `invocation`; the
    // dispatch adds them there.
    for (key, value) in result.iter() {
        let lines = matches!(key.as_str(), Some("stdout_lines" | "stderr_lines"));
        if !ordered.contains_key(key) && !lines {
            ordered.insert(key.clone(), value.clone());
        }
    }
    ordered
}

fn run_unordered(request: &CommandRequest, check_mode: bool) -> Map {
    let mut result = Map::new();
    if !request.warnings.is_empty() {
        let warnings = request.warnings.iter().map(|w| Value::from(w.as_str()));
        result.insert(Value::from("warnings"), Value::list(warnings.collect()));
    }
    result.insert(Value::from("cmd"), request.display.clone());
    if let Some(dir) = &request.chdir {
        if let Err(err) = std::fs::metadata(dir).and_then(|meta| {
            if meta.is_dir() {
                Ok(())
            } else {
                Err(std::io::Error::from_raw_os_error(20))
            }
        }) {
            let code = err.raw_os_error().unwrap_or(2);
            let mut result = skipped(
                result,
                &format!(
                    "Unable to change directory before execution: [Errno {code}] {}: b'{dir}'",
                    os_error_text(&err)
                ),
                "",
            );
            result.insert(Value::from("rc"), Value::Null);
            result.insert(Value::from("failed"), Value::Bool(true));
            return result;
        }
    }
    if let Some(skip) = skip_reason(request, check_mode) {
        return skipped(result, &skip.0, &skip.1);
    }
    if check_mode {
        // Without `creates` or `removes` the check cannot tell whether the command
        // would change anything, so the task is skipped; with them it would run.
        let guarded = request.creates.is_some() || request.removes.is_some();
        let mut result = skipped(result, "Command would have run if not in check mode", "");
        result.insert(Value::from("changed"), Value::Bool(guarded));
        if !guarded {
            result.insert(Value::from("skipped"), Value::Bool(true));
        }
        return result;
    }
    let argv = request.expanded_argv();
    let started = Instant::now();
    let start_text = crate::time::now_text();
    let mut process = Command::new(&argv[0]);
    process
        .args(&argv[1..])
        .stdin(if request.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = &request.chdir {
        process.current_dir(dir);
    }
    process.envs(request.environment.iter().map(|(k, v)| (k, v)));
    let output = process.spawn().and_then(|mut child| {
        if let (Some(text), Some(mut stdin)) = (&request.stdin, child.stdin.take()) {
            let mut data = text.clone();
            if request.stdin_add_newline {
                data.push('\n');
            }
            let _ = stdin.write_all(data.as_bytes());
        }
        collect_output(child)
    });
    let output = match output {
        Ok(output) => output,
        Err(err) => {
            let code = err.raw_os_error().unwrap_or(2);
            result.insert(Value::from("cmd"), Value::from(clean_args(&argv)));
            result.insert(Value::from("changed"), Value::Bool(false));
            result.insert(Value::from("failed"), Value::Bool(true));
            result.insert(
                Value::from("msg"),
                Value::from(format!(
                    "[Errno {code}] {}: b'{}'",
                    os_error_text(&err),
                    argv[0]
                )),
            );
            result.insert(Value::from("rc"), Value::Int(i64::from(code)));
            insert_output(&mut result, "", "", request.strip_empty_ends);
            return result;
        }
    };
    let rc = output.status.code().map(i64::from).unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        -i64::from(output.status.signal().unwrap_or(0))
    });
    result.insert(Value::from("changed"), Value::Bool(true));
    result.insert(
        Value::from("delta"),
        Value::from(duration_text(started.elapsed().as_secs_f64())),
    );
    result.insert(Value::from("end"), Value::from(crate::time::now_text()));
    result.insert(
        Value::from("msg"),
        Value::from(if rc == 0 { "" } else { "non-zero return code" }),
    );
    result.insert(Value::from("rc"), Value::Int(rc));
    result.insert(Value::from("start"), Value::from(start_text));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    insert_output(&mut result, &stdout, &stderr, request.strip_empty_ends);
    if rc != 0 {
        result.insert(Value::from("failed"), Value::Bool(true));
    }
    result
}

/// How long the output pipes may stay silent after the process exited before the
/// result is returned without their end, as ansible-core's `run_command` waits.
const SILENCE_AFTER_EXIT: Duration = Duration::from_secs(1);

/// Waits for `child` and reads its output. A background process that inherited the
/// pipes can keep them open after the command exited: as ansible-core does, the output
/// is complete once the process exited and the pipes stayed silent for a second.
fn collect_output(mut child: Child) -> std::io::Result<Output> {
    let (sender, receiver) = mpsc::channel::<(usize, Option<Vec<u8>>)>();
    let pipes: [Option<Box<dyn Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
    ];
    let mut open = 0;
    for (index, pipe) in pipes.into_iter().enumerate() {
        let Some(mut pipe) = pipe else { continue };
        open += 1;
        let sender = sender.clone();
        // A reader blocked on a pipe that a background process holds ends when that
        // process closes it; nothing waits for it.
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            loop {
                match pipe.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(read) => {
                        if sender.send((index, Some(buffer[..read].to_vec()))).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = sender.send((index, None));
        });
    }
    drop(sender);
    let mut outputs = [Vec::new(), Vec::new()];
    let mut status = None;
    while open > 0 {
        match receiver.recv_timeout(SILENCE_AFTER_EXIT) {
            Ok((index, Some(chunk))) => outputs[index].extend_from_slice(&chunk),
            Ok((_, None)) => open -= 1,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                status = child.try_wait()?;
                if status.is_some() {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let status = match status {
        Some(status) => status,
        None => child.wait()?,
    };
    let [stdout, stderr] = outputs;
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

fn skip_reason(request: &CommandRequest, check_mode: bool) -> Option<(String, String)> {
    let verb = if check_mode { "Would" } else { "Did" };
    let chdir = request.chdir.as_deref().map(Path::new);
    if let Some(creates) = &request.creates {
        if glob_exists(creates, chdir) {
            return Some((
                format!("{verb} not run command since '{creates}' exists"),
                format!("skipped, since {creates} exists"),
            ));
        }
    }
    if let Some(removes) = &request.removes {
        if !glob_exists(removes, chdir) {
            return Some((
                format!("{verb} not run command since '{removes}' does not exist"),
                format!("skipped, since {removes} does not exist"),
            ));
        }
    }
    None
}

fn skipped(mut result: Map, message: &str, stdout: &str) -> Map {
    result.insert(Value::from("changed"), Value::Bool(false));
    result.insert(Value::from("delta"), Value::Null);
    result.insert(Value::from("end"), Value::Null);
    result.insert(Value::from("msg"), Value::from(message));
    result.insert(Value::from("rc"), Value::Int(0));
    result.insert(Value::from("start"), Value::Null);
    insert_output(&mut result, stdout, "", true);
    result
}

/// Reports whether Python's `glob.glob(pattern)` finds anything, with relative paths taken
/// from `base` (the module's working directory after `chdir`).
fn glob_exists(pattern: &str, base: Option<&Path>) -> bool {
    !glob(pattern, base).is_empty()
}

/// Python's `glob.glob` without `recursive`: `*`, `?` and `[...]` match within one path
/// component, and a wildcard does not match a leading `.` unless the pattern has one.
fn glob(pattern: &str, base: Option<&Path>) -> Vec<String> {
    let resolve = |path: &str| match base {
        Some(base) if !path.starts_with('/') => base.join(if path.is_empty() { "." } else { path }),
        _ => Path::new(if path.is_empty() { "." } else { path }).to_path_buf(),
    };
    if !has_magic(pattern) {
        let exists = if pattern.ends_with('/') {
            resolve(pattern).is_dir()
        } else {
            std::fs::symlink_metadata(resolve(pattern)).is_ok()
        };
        return if exists {
            vec![pattern.to_string()]
        } else {
            Vec::new()
        };
    }
    let (dir, name) = split_path(pattern);
    let dirs = if dir.is_empty() {
        vec![String::new()]
    } else if dir != pattern && has_magic(&dir) {
        glob(&dir, base)
    } else {
        vec![dir]
    };
    let mut found = Vec::new();
    for dir in dirs {
        let join = |entry: &str| match dir.as_str() {
            "" => entry.to_string(),
            d if d.ends_with('/') => format!("{d}{entry}"),
            d => format!("{d}/{entry}"),
        };
        if !has_magic(name) {
            let path = join(name);
            let exists = if name.is_empty() {
                resolve(&dir).is_dir()
            } else {
                std::fs::symlink_metadata(resolve(&path)).is_ok()
            };
            if exists {
                found.push(path);
            }
            continue;
        }
        let Ok(entries) = std::fs::read_dir(resolve(&dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let entry = entry.file_name().to_string_lossy().into_owned();
            let hidden = entry.starts_with('.') && !name.starts_with('.');
            if !hidden && crate::find::fnmatch(name, &entry) {
                found.push(join(&entry));
            }
        }
    }
    found
}

fn has_magic(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// Python's `os.path.split`: the directory (trailing slashes removed unless it is all
/// slashes) and the last component.
fn split_path(path: &str) -> (String, &str) {
    let index = path.rfind('/').map_or(0, |i| i + 1);
    let (head, tail) = path.split_at(index);
    let trimmed = head.trim_end_matches('/');
    let head = if trimmed.is_empty() { head } else { trimmed };
    (head.to_string(), tail)
}

fn insert_output(result: &mut Map, stdout: &str, stderr: &str, strip: bool) {
    for (key, text) in [("stderr", stderr), ("stdout", stdout)] {
        let text = if strip {
            text.trim_end_matches(['\r', '\n'])
        } else {
            text
        };
        let lines: Vec<Value> = text.lines().map(Value::from).collect();
        result.insert(Value::from(key), Value::from(text));
        result.insert(Value::from(format!("{key}_lines")), Value::list(lines));
    }
}

fn os_error_text(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ if err.raw_os_error() == Some(20) => "Not a directory".into(),
        _ => err.to_string(),
    }
}

/// `H:MM:SS.ffffff`, as Python prints a `timedelta`.
fn duration_text(seconds: f64) -> String {
    let micros = (seconds * 1_000_000.0) as u64;
    format!(
        "{}:{:02}:{:02}.{:06}",
        micros / 3_600_000_000,
        micros / 60_000_000 % 60,
        micros / 1_000_000 % 60,
        micros % 1_000_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shlex_split_like_python() {
        assert_eq!(
            split_command(r#"echo "hi there" 'a b' c\ d"#).unwrap(),
            ["echo", "hi there", "a b", "c d"]
        );
        assert!(split_command("echo 'open").is_err());
        assert_eq!(
            split_command("a \"\\$X\" \"\\\"\" \"a\\\nb\" c\\\nd # e").unwrap(),
            ["a", "\\$X", "\"", "a\\\nb", "c\nd", "#", "e"]
        );
    }

    #[test]
    fn command_runs_and_reports() {
        let mut args = Map::new();
        args.insert(Value::from("_raw_params"), Value::from("echo 'hi there'"));
        let request = CommandRequest::from_params(&SPEC.validate(&args).unwrap()).unwrap();
        let result = run(&request, false);
        assert_eq!(result.get("rc"), Some(&Value::Int(0)));
        assert_eq!(result.get("stdout"), Some(&Value::from("hi there")));
        assert_eq!(result.get("changed"), Some(&Value::Bool(true)));
    }

    #[test]
    fn command_warns_about_executable() {
        let mut args = Map::new();
        args.insert(Value::from("_raw_params"), Value::from("true"));
        args.insert(Value::from("executable"), Value::from("/bogus"));
        let request = CommandRequest::from_params(&SPEC.validate(&args).unwrap()).unwrap();
        let result = run(&request, false);
        assert_eq!(result.get("rc"), Some(&Value::Int(0)));
        assert_eq!(
            result.get("warnings"),
            Some(&Value::list(vec![Value::from(
                "As of Ansible 2.4, the parameter 'executable' is no longer supported with the 'command' module. Not using '/bogus'."
            )]))
        );
    }

    #[test]
    fn command_expands_argument_vars() {
        let mut args = Map::new();
        let command = r#"printf %s "\$RPLAY_TEST_X" ~root"#;
        args.insert(Value::from("_raw_params"), Value::from(command));
        let mut request = CommandRequest::from_params(&SPEC.validate(&args).unwrap()).unwrap();
        request.environment = vec![("RPLAY_TEST_X".to_string(), "z".to_string())];
        let result = run(&request, false);
        assert_eq!(result.get("stdout"), Some(&Value::from("\\z/root")));
        args.insert(Value::from("expand_argument_vars"), Value::Bool(false));
        let mut request = CommandRequest::from_params(&SPEC.validate(&args).unwrap()).unwrap();
        request.environment = vec![("RPLAY_TEST_X".to_string(), "z".to_string())];
        let result = run(&request, false);
        assert_eq!(
            result.get("stdout"),
            Some(&Value::from("\\$RPLAY_TEST_X~root"))
        );
    }

    #[test]
    fn background_process_does_not_hold_the_result() {
        let mut args = Map::new();
        args.insert(
            Value::from("_raw_params"),
            Value::from("echo hi; sleep 5 &"),
        );
        args.insert(Value::from("_uses_shell"), Value::Bool(true));
        let request = CommandRequest::from_params(&SPEC.validate(&args).unwrap()).unwrap();
        let started = Instant::now();
        let result = run(&request, false);
        assert!(started.elapsed() < Duration::from_secs(4));
        assert_eq!(result.get("stdout"), Some(&Value::from("hi")));
    }

    #[test]
    fn glob_like_python() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/afile.txt"), "").unwrap();
        std::fs::write(dir.path().join("sub/.hidden"), "").unwrap();
        let base = Some(dir.path());
        assert_eq!(glob("sub/afile.*", base), ["sub/afile.txt"]);
        assert_eq!(glob("s?b/*.txt", base), ["sub/afile.txt"]);
        assert_eq!(glob("sub/[ab]file.txt", base), ["sub/afile.txt"]);
        assert!(glob("sub/*hidden", base).is_empty());
        assert_eq!(glob("sub/.h*", base), ["sub/.hidden"]);
        assert_eq!(glob("sub/", base), ["sub/"]);
        assert!(glob("sub/afile.txt/", base).is_empty());
        assert!(glob("nope/*", base).is_empty());
        let absolute = format!("{}/sub/*.txt", dir.path().display());
        assert_eq!(glob(&absolute, None).len(), 1);
    }

    #[test]
    fn check_mode_runs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("marker");
        let mut args = Map::new();
        let command = format!("touch {}", marker.display());
        args.insert(Value::from("_raw_params"), Value::from(command));
        let unguarded = CommandRequest::from_params(&SPEC.validate(&args).unwrap()).unwrap();
        let result = run(&unguarded, true);
        assert_eq!(result.get("skipped"), Some(&Value::Bool(true)));
        assert_eq!(result.get("changed"), Some(&Value::Bool(false)));
        args.insert(Value::from("creates"), Value::from("/nonexistent/*"));
        let guarded = CommandRequest::from_params(&SPEC.validate(&args).unwrap()).unwrap();
        let result = run(&guarded, true);
        assert_eq!(result.get("skipped"), None);
        assert_eq!(result.get("changed"), Some(&Value::Bool(true)));
        assert!(!marker.exists());
    }

    #[test]
    fn missing_binary_fails_like_ansible() {
        let mut args = Map::new();
        args.insert(
            Value::from("_raw_params"),
            Value::from("/nonexistent/bin --version --password secret 'a b'"),
        );
        let request = CommandRequest::from_params(&SPEC.validate(&args).unwrap()).unwrap();
        let result = run(&request, false);
        assert_eq!(result.get("rc"), Some(&Value::Int(2)));
        assert_eq!(
            result.get("cmd"),
            Some(&Value::from(
                "/nonexistent/bin --version --password '********' 'a b'"
            ))
        );
        assert_eq!(
            result.get("msg"),
            Some(&Value::from(
                "[Errno 2] No such file or directory: b'/nonexistent/bin'"
            ))
        );
    }
}
