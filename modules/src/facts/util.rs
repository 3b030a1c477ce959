//! File and command helpers shared by the fact collectors, with the semantics of
//! ansible-core's `get_file_content` and `run_command` as the collectors use them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Map, Value};

/// Reads a file and strips surrounding whitespace; `None` when it is missing,
/// unreadable or empty after stripping, as ansible-core's `get_file_content`.
pub fn file_content(path: impl AsRef<Path>) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// The lines of a file, or none when it cannot be read.
pub fn file_lines(path: impl AsRef<Path>) -> Vec<String> {
    std::fs::read(path)
        .map(|bytes| {
            String::from_utf8_lossy(&bytes)
                .lines()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Finds an executable in `PATH` and the sbin directories, as `get_bin_path` does.
pub fn bin_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    for extra in ["/sbin", "/usr/sbin", "/usr/local/sbin"] {
        if !dirs.iter().any(|dir| dir == Path::new(extra)) {
            dirs.push(PathBuf::from(extra));
        }
    }
    dirs.into_iter()
        .map(|dir| dir.join(name))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(candidate)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// Output of a finished command.
pub struct CommandOutput {
    pub rc: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a command found with [`bin_path`] in the C locale; `None` when it cannot start.
pub fn run(name: &str, args: &[&str]) -> Option<CommandOutput> {
    let program = bin_path(name)?;
    run_path(&program, args)
}

/// Runs a program by path, as [`run`] does.
pub fn run_path(program: &Path, args: &[&str]) -> Option<CommandOutput> {
    let output = Command::new(program)
        .args(args)
        .env("LANG", "C")
        .env("LC_ALL", "C")
        .env("LC_MESSAGES", "C")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    Some(CommandOutput {
        rc: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Builds a map from string keys.
pub fn map<const N: usize>(entries: [(&str, Value); N]) -> Map {
    entries
        .into_iter()
        .map(|(key, value)| (Value::from(key), value))
        .collect()
}

/// Inserts `value` under `key`.
pub fn set(facts: &mut Map, key: &str, value: impl Into<Value>) {
    facts.insert(Value::from(key), value.into());
}

/// A list of strings.
pub fn strings<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Value {
    Value::list(
        items
            .into_iter()
            .map(|item| Value::from(item.as_ref()))
            .collect(),
    )
}
