//! The `pipe` and `lines` lookups: shell commands run on the controller.
//!
//! Each term runs through `/bin/sh -c` in the templar's base directory (the playbook's
//! directory), with an empty standard input and standard error passed through, as
//! ansible-core's `subprocess.Popen(term, shell=True, cwd=basedir)` runs it.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::Arc;

use minijinja::value::{Value as JValue, ValueKind};

use super::{Raised, Request};
use crate::template::methods::python_type_name;
use crate::template::pyrepr::py_str;
use crate::template::vars::Context;
use crate::Value;

/// `pipe`: the output of each command, without trailing whitespace.
pub fn pipe(context: &Arc<Context>, request: &Request) -> Result<Vec<Value>, Raised> {
    let mut values = Vec::new();
    for term in &request.terms {
        // ansible-core's pipe runs `str(term)`, whatever the term's type.
        let command = py_str(term).unwrap_or_default();
        let stdout = run(context, "pipe", &command)?;
        values.push(Value::from(
            String::from_utf8_lossy(&stdout).trim_end().to_owned(),
        ));
    }
    Ok(values)
}

/// `lines`: the lines of each command's output, one item per line.
pub fn lines(context: &Arc<Context>, request: &Request) -> Result<Vec<Value>, Raised> {
    let mut values = Vec::new();
    for term in &request.terms {
        let command = command_text(term)?;
        let stdout = run(context, "lines", &command)?;
        let text = String::from_utf8_lossy(&stdout);
        values.extend(split_lines(&text).into_iter().map(Value::from));
    }
    Ok(values)
}

/// Reads a `lines` term: `Popen` takes a string, and other values fail as Python fails
/// on them.
fn command_text(term: &JValue) -> Result<String, Raised> {
    match term.kind() {
        ValueKind::String => Ok(term.as_str().unwrap_or_default().to_owned()),
        ValueKind::Number | ValueKind::Bool => Err(Raised::Unhandled {
            class: "TypeError",
            message: format!("'{}' object is not iterable", python_type_name(term)),
        }),
        // NOTE: Python runs a list term as the program and its arguments, where rplay
        // runs the `str()` of any other term as a command.
        _ => Ok(py_str(term).unwrap_or_default()),
    }
}

/// Runs one command and returns its standard output, or the plugin's error for a
/// non-zero exit status (negative for a signal, as Python's `returncode`).
fn run(context: &Context, plugin: &str, command: &str) -> Result<Vec<u8>, Raised> {
    let mut shell = Command::new("/bin/sh");
    shell.arg("-c").arg(command);
    // An empty base directory is the current one, as ansible-core's default `.`.
    let base_dir = context.templar().base_dir();
    if !base_dir.as_os_str().is_empty() {
        shell.current_dir(base_dir);
    }
    let output = shell
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|err| {
            Raised::ansible(format!("lookup_plugin.{plugin}({command}) failed: {err}"))
        })?;
    if output.status.success() {
        return Ok(output.stdout);
    }
    let code = output
        .status
        .code()
        .or_else(|| output.status.signal().map(|signal| -signal))
        .unwrap_or(-1);
    Err(Raised::ansible(format!(
        "lookup_plugin.{plugin}({command}) returned {code}"
    )))
}

/// Splits text into lines as Python's `bytes.splitlines` does: at `\n`, `\r` and `\r\n`,
/// without a last empty line.
fn split_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut current));
            }
            other => current.push(other),
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::split_lines;

    #[test]
    fn split_lines_line_ends() {
        assert_eq!(split_lines("x\r\ny\rz\n\nw"), ["x", "y", "z", "", "w"]);
        assert_eq!(split_lines("a\n"), ["a"]);
        assert!(split_lines("").is_empty());
    }
}
