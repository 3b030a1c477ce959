//! `python`: the target's Python 3, when it has one.
//!
//! ansible-core describes the interpreter that runs its module. rplay runs no Python,
//! so it describes `python3` from `PATH` as ansible-core would when running with it,
//! and reports no Python facts on a host without one (where ansible-core cannot run).

use super::util::{map, run_path, set};
use crate::{Map, Value};

/// A Python interpreter found on the target.
pub struct Interpreter {
    pub executable: String,
    /// `major.minor.micro`.
    pub version: String,
    pub major: i64,
    pub minor: i64,
    pub micro: i64,
}

/// Finds `python3` and reads its version from `python3 --version`.
pub fn interpreter() -> Option<Interpreter> {
    let path = super::util::bin_path("python3")?;
    let output = run_path(&path, &["--version"])?;
    let text = format!("{}{}", output.stdout, output.stderr);
    let version = text.trim().strip_prefix("Python ")?.to_string();
    let mut parts = version.split('.').map(|part| {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<i64>().unwrap_or(0)
    });
    let (major, minor, micro) = (parts.next()?, parts.next()?, parts.next().unwrap_or(0));
    // ansible-core reports `sys.executable`, which is the interpreter path it was
    // started with: `/usr/bin/python3` on Debian.
    let executable = path.to_string_lossy().into_owned();
    Some(Interpreter {
        executable,
        version: format!("{major}.{minor}.{micro}"),
        major,
        minor,
        micro,
    })
}

pub fn collect(facts: &mut Map) {
    let Some(python) = interpreter() else {
        return;
    };
    let version = map([
        ("major", Value::Int(python.major)),
        ("minor", Value::Int(python.minor)),
        ("micro", Value::Int(python.micro)),
        ("releaselevel", Value::from("final")),
        ("serial", Value::Int(0)),
    ]);
    let version_info = Value::list(vec![
        Value::Int(python.major),
        Value::Int(python.minor),
        Value::Int(python.micro),
        Value::from("final"),
        Value::Int(0),
    ]);
    let python = map([
        ("version", Value::map(version)),
        ("version_info", version_info),
        ("executable", Value::from(python.executable.as_str())),
        ("has_sslcontext", Value::Bool(true)),
        ("type", Value::from("cpython")),
    ]);
    set(facts, "python", Value::map(python));
}
