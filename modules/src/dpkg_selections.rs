//! The `dpkg_selections` module: reads a package's selection with
//! `dpkg --get-selections` and sets it with `dpkg --set-selections`, as ansible-core
//! 2.18's module does.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::dispatch::ModuleOptions;
use crate::files::Failure;
use crate::spec::{Kind, ModuleSpec, OptionSpec, Params};
use crate::system::{self, Output};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "dpkg_selections",
    &[
        OptionSpec::new("name", Kind::Str).required(),
        OptionSpec::new("selection", Kind::Str)
            .required()
            .choices(&["install", "hold", "deinstall", "purge"]),
    ],
);

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    match run_checked(params, options) {
        Ok(result) => result,
        Err(failure) => failure.into_result(),
    }
}

fn run_checked(params: &Params, options: &ModuleOptions) -> Result<Map, Failure> {
    let dpkg = system::bin_path("dpkg")?;
    let name = params.string("name").unwrap_or_default();
    let selection = params.string("selection").unwrap_or_default();
    let locale = system::best_parsable_locale(options);
    let environment: Vec<(&str, &str)> = ["LANG", "LC_ALL", "LC_MESSAGES", "LC_CTYPE", "LANGUAGE"]
        .iter()
        .map(|key| (*key, locale.as_str()))
        .collect();

    let argv = vec![dpkg.clone(), "--get-selections".to_string(), name.clone()];
    let output = system::run_with(&argv, options, &environment);
    check_rc(&argv, &output)?;
    let current = if output.stderr.contains("no packages found matching") {
        return Err(Failure::new(format!(
            "Failed to find package '{name}' to perform selection '{selection}'."
        )));
    } else if output.stdout.is_empty() {
        "not present".to_string()
    } else {
        output
            .stdout
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string()
    };
    let changed = current != selection;
    if changed && !options.check_mode {
        set_selection(&dpkg, &format!("{name} {selection}"), &environment)?;
    }
    let mut result = Map::new();
    result.insert(Value::from("changed"), Value::Bool(changed));
    result.insert(Value::from("before"), Value::from(current));
    result.insert(Value::from("after"), Value::from(selection));
    Ok(result)
}

/// `run_command(..., check_rc=True)`: a non-zero exit fails with the command's output.
fn check_rc(argv: &[String], output: &Output) -> Result<(), Failure> {
    if output.rc == 0 {
        return Ok(());
    }
    let msg = if output.stderr.trim().is_empty() {
        "non-zero return code".to_string()
    } else {
        output.stderr.trim_end().to_string()
    };
    let cmd = Value::list(argv.iter().map(|arg| Value::from(arg.as_str())).collect());
    Err(Failure::new(msg)
        .with("cmd", cmd)
        .with("rc", Value::Int(output.rc))
        .with("stdout", output.stdout.as_str())
        .with("stderr", output.stderr.as_str()))
}

/// Feeds `line` to `dpkg --set-selections` on its standard input.
fn set_selection(dpkg: &str, line: &str, environment: &[(&str, &str)]) -> Result<(), Failure> {
    let argv = vec![dpkg.to_string(), "--set-selections".to_string()];
    let spawned = Command::new(dpkg)
        .arg("--set-selections")
        .envs(environment.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let output = spawned.and_then(|mut child| {
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(line.as_bytes())?;
        }
        child.wait_with_output()
    });
    let output = match output {
        Ok(output) => Output {
            rc: i64::from(output.status.code().unwrap_or(-1)),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        },
        Err(err) => return Err(Failure::new(format!("failed to run {dpkg}: {err}"))),
    };
    check_rc(&argv, &output)
}
