//! The `pause` action: waits on the controller for `seconds` or `minutes`.
//!
//! ansible-core's action runs once per task however many hosts the play has
//! (`BYPASS_HOST_LOOP`); the strategy in `play.rs` does that.

use std::time::{Duration, Instant};

use super::actions::{action_fail_result, ActionOutcome};
use super::events::Event;
use super::Executor;
use crate::{Map, Value};

const OPTIONS: &[&str] = &["echo", "minutes", "prompt", "seconds"];

/// The validated arguments of one `pause` task.
#[derive(Debug, PartialEq)]
struct PauseArgs {
    echo: bool,
    /// The wait, and whether the task gave it in minutes.
    wait: Option<(i64, Unit)>,
    prompt: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    Seconds,
    Minutes,
}

pub(super) fn pause(executor: &Executor<'_>, args: &Map) -> ActionOutcome {
    let parsed = match parse_args(args) {
        Ok(parsed) => parsed,
        Err(message) => {
            return ActionOutcome {
                result: action_fail_result(message),
                effects: Vec::new(),
            }
        }
    };
    let started = Instant::now();
    let start = rplay_modules::time::now_text();
    let unit = wait(executor, &parsed);

    let elapsed = started.elapsed().as_secs_f64();
    let (amount, unit_name) = match unit {
        Unit::Seconds => (elapsed, "seconds"),
        Unit::Minutes => (elapsed / 60.0, "minutes"),
    };
    let mut result = Map::new();
    result.insert(Value::from("changed"), Value::Bool(false));
    result.insert(Value::from("rc"), Value::Int(0));
    result.insert(Value::from("stderr"), Value::from(""));
    result.insert(
        Value::from("stdout"),
        Value::from(format!("Paused for {} {unit_name}", rounded_text(amount))),
    );
    result.insert(Value::from("start"), Value::from(start));
    result.insert(
        Value::from("stop"),
        Value::from(rplay_modules::time::now_text()),
    );
    result.insert(Value::from("delta"), Value::Int(elapsed as i64));
    result.insert(Value::from("echo"), Value::Bool(parsed.echo));
    result.insert(Value::from("user_input"), Value::from(""));
    ActionOutcome {
        result,
        effects: Vec::new(),
    }
}

/// Prints the notices and waits, returning the unit the result reports the wait in.
fn wait(executor: &Executor<'_>, parsed: &PauseArgs) -> Unit {
    let Some((seconds, unit)) = parsed.wait else {
        // NOTE: rplay never reads the terminal, so a pause without a duration
        // returns at once, as ansible-core does when stdin is not interactive.
        executor.emit(Event::Warning(
            "Not waiting for response to prompt as stdin is not interactive".into(),
        ));
        return Unit::Minutes;
    };
    let hidden = if parsed.echo {
        ""
    } else {
        " (output is hidden)"
    };
    let seconds = seconds.max(1);
    executor.emit(Event::Display(format!(
        "Pausing for {seconds} seconds{hidden}"
    )));
    if parsed.prompt.is_some() {
        executor.emit(Event::Display(
            "(ctrl+C then 'C' = continue early, ctrl+C then 'A' = abort)\r".into(),
        ));
    }
    std::thread::sleep(Duration::from_secs(seconds.unsigned_abs()));
    unit
}

/// Python's `str(round(value, 2))` for a non-negative float.
fn rounded_text(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    let text = format!("{rounded}");
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

fn parse_args(args: &Map) -> Result<PauseArgs, String> {
    let mut unknown: Vec<&str> = args
        .keys()
        .filter_map(Value::as_str)
        .filter(|key| !OPTIONS.contains(key) && !key.starts_with('_'))
        .collect();
    unknown.sort_unstable();
    if !unknown.is_empty() {
        return Err(format!(
            "Unsupported parameters for (pause) module: {}. Supported parameters include: {}.",
            unknown.join(", "),
            OPTIONS.join(", ")
        ));
    }
    let present = |name: &str| args.get(name).filter(|value| !value.is_null());
    if present("minutes").is_some() && present("seconds").is_some() {
        return Err("parameters are mutually exclusive: minutes|seconds".into());
    }
    let echo = match present("echo") {
        Some(value) => bool_arg("echo", value)?,
        None => true,
    };
    let wait = match (present("minutes"), present("seconds")) {
        (Some(minutes), _) => Some((int_arg("minutes", minutes)? * 60, Unit::Minutes)),
        (None, Some(seconds)) => Some((int_arg("seconds", seconds)?, Unit::Seconds)),
        (None, None) => None,
    };
    let prompt = present("prompt")
        .map(crate::playbook::value_text)
        .filter(|prompt| !prompt.is_empty());
    Ok(PauseArgs { echo, wait, prompt })
}

/// Python's `int(value)`, which the action uses as the type of `minutes` and `seconds`:
/// floats are truncated, and text must be a whole number.
fn int_arg(name: &str, value: &Value) -> Result<i64, String> {
    match value {
        Value::Int(number) => Ok(*number),
        Value::Float(number) if number.is_finite() => Ok(number.trunc() as i64),
        Value::Bool(flag) => Ok(i64::from(*flag)),
        Value::Str(text) | Value::Unsafe(text) => {
            let digits = text.trim().replace('_', "");
            digits.parse::<i64>().map_err(|_| {
                // NOTE: ansible-core names the class of the text; rplay always names
                // the one of text read from YAML.
                format!(
                    "argument '{name}' is of type <class 'ansible.parsing.yaml.objects.AnsibleUnicode'> and we were unable to convert to int: invalid literal for int() with base 10: '{text}'"
                )
            })
        }
        other => Err(format!(
            "argument '{name}' is of type {} and we were unable to convert to int",
            other.type_name()
        )),
    }
}

/// Ansible's `bool` argument type.
fn bool_arg(name: &str, value: &Value) -> Result<bool, String> {
    let text = match value {
        Value::Bool(flag) => return Ok(*flag),
        Value::Int(number) => number.to_string(),
        Value::Float(number) => number.to_string(),
        Value::Str(text) | Value::Unsafe(text) => text.to_lowercase(),
        _ => String::new(),
    };
    match text.as_str() {
        "y" | "yes" | "on" | "1" | "true" | "t" | "1.0" => Ok(true),
        "n" | "no" | "off" | "0" | "false" | "f" | "0.0" => Ok(false),
        _ => Err(format!(
            "argument '{name}' is of type {} and we were unable to convert to bool: The value '{}' is not a valid boolean.  Valid booleans include: 'no', 'yes', 'off', 'on', 'n', 'y', 'f', 't', 'true', 'false', '0', '1'",
            value.type_name(),
            crate::playbook::value_text(value)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, Value)]) -> Map {
        pairs
            .iter()
            .map(|(key, value)| (Value::from(*key), value.clone()))
            .collect()
    }

    #[test]
    fn parse_seconds_and_minutes() {
        let seconds = parse_args(&args(&[("seconds", Value::from("3"))])).unwrap();
        assert_eq!(seconds.wait, Some((3, Unit::Seconds)));
        let minutes = parse_args(&args(&[("minutes", Value::Float(1.5))])).unwrap();
        assert_eq!(minutes.wait, Some((60, Unit::Minutes)));
        let none = parse_args(&Map::new()).unwrap();
        assert_eq!(none.wait, None);
        assert!(none.echo);
    }

    #[test]
    fn parse_rejects_like_ansible() {
        let both = args(&[("seconds", Value::Int(1)), ("minutes", Value::Int(1))]);
        assert_eq!(
            parse_args(&both).unwrap_err(),
            "parameters are mutually exclusive: minutes|seconds"
        );
        assert_eq!(
            parse_args(&args(&[("bogus", Value::Int(1))])).unwrap_err(),
            "Unsupported parameters for (pause) module: bogus. Supported parameters include: echo, minutes, prompt, seconds."
        );
        let error = parse_args(&args(&[("seconds", Value::from("0.5"))])).unwrap_err();
        assert!(error.ends_with("invalid literal for int() with base 10: '0.5'"));
    }

    #[test]
    fn rounded_like_python() {
        assert_eq!(rounded_text(1.0004), "1.0");
        assert_eq!(rounded_text(1.0061), "1.01");
        assert_eq!(rounded_text(0.0), "0.0");
    }
}
