//! `ansible.utils.fact_diff`: a unified diff of two values, as version 5.1.2 of the
//! `ansible.utils` collection (in the ansible 11.13.0 package) computes it.
//!
//! Lists become one line per item (Python's `str` of each), mappings indented JSON
//! with sorted keys, strings stay as they are. Unlike `--diff`, the context is the
//! whole input, and the result is the text of a Python list of the diff's lines, which
//! the 2.18 result typing turns back into a list.
//!
//! NOTE: the collection's 2.12.0 (in ansible 9.13.0, ansible-core 2.16) uses three
//! lines of context instead and has no `common` option; rplay always follows 5.1.2.

use std::sync::LazyLock;

use fancy_regex::Regex;
use minijinja::value::{Value as JValue, ValueKind};
use minijinja::{Environment, Error, State};
use rplay_modules::difflib::{split_lines, split_lines_keep_ends, unified_diff};

use super::serialize::nice_json;
use super::{add, filter_error, Args, Undefined};
use crate::template::convert::from_jinja;
use crate::template::pyrepr::{py_repr, py_str};

pub fn register(env: &mut Environment<'static>) {
    add(
        env,
        vec!["ansible.utils.fact_diff".to_owned()],
        Undefined::Reject,
        fact_diff,
    );
}

/// The only diff plugin the collection ships.
const NATIVE_PLUGIN: &str = "ansible.utils.native";

fn fact_diff(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let after = args
        .get(0, "after")
        .ok_or_else(|| argument_errors("missing required arguments: after"))?;
    let (plugin, skip_lines) = plugin_options(args.get(1, "plugin"))?;
    if plugin != NATIVE_PLUGIN {
        return Err(filter_error(format!(
            "Error when using filter plugin 'fact_diff': unknown diff plugin '{plugin}', only '{NATIVE_PLUGIN}' exists"
        )));
    }
    let common = match args.get(2, "common") {
        Some(value) => common_option(value)?,
        None => false,
    };
    let before = side_text(&args.value, &skip_lines)?;
    let after = side_text(after, &skip_lines)?;
    let lines = diff_lines(&before, &after, common);
    let list = JValue::from(lines.into_iter().map(JValue::from).collect::<Vec<_>>());
    let text = py_repr(&list).map_err(|_| filter_error("undefined value in fact_diff"))?;
    Ok(JValue::from(text))
}

/// Builds an error as the collection's argument validation reports it: a list of messages.
fn argument_errors(message: &str) -> Error {
    let list = JValue::from(vec![JValue::from(message)]);
    filter_error(py_repr(&list).unwrap_or_else(|_| message.to_owned()))
}

/// Reads the `plugin` option: the plugin's name and its compiled `vars.skip_lines`.
fn plugin_options(plugin: Option<&JValue>) -> Result<(String, Vec<Regex>), Error> {
    let Some(plugin) = plugin.filter(|value| !value.is_none()) else {
        return Ok((NATIVE_PLUGIN.to_owned(), Vec::new()));
    };
    if plugin.kind() != ValueKind::Map {
        return Err(argument_errors(
            "value of 'plugin' must be of type dict or list of dicts",
        ));
    }
    let name = match plugin.get_attr("name") {
        Ok(name) if !name.is_undefined() && !name.is_none() => text(&name)?,
        _ => NATIVE_PLUGIN.to_owned(),
    };
    let skip_lines = match plugin
        .get_attr("vars")
        .and_then(|vars| vars.get_attr("skip_lines"))
    {
        Ok(lines) if !lines.is_undefined() && !lines.is_none() => compile_skip_lines(&lines)?,
        _ => Vec::new(),
    };
    Ok((name, skip_lines))
}

fn compile_skip_lines(lines: &JValue) -> Result<Vec<Regex>, Error> {
    let patterns: Vec<String> = match lines.kind() {
        ValueKind::Seq => lines
            .try_iter()?
            .map(|line| text(&line))
            .collect::<Result<_, _>>()?,
        _ => vec![text(lines)?],
    };
    patterns
        .iter()
        .map(|pattern| {
            rplay_modules::pyregex::compile(pattern, false).map_err(|error| {
                filter_error(format!(
                    "Error when using filter plugin 'fact_diff': The regex '{pattern}', is not valid. The error was {error}."
                ))
            })
        })
        .collect()
}

fn common_option(value: &JValue) -> Result<bool, Error> {
    let data = from_jinja(value).map_err(|_| argument_errors("argument 'common' is not data"))?;
    rplay_modules::spec::to_bool(&data).map_err(|error| {
        argument_errors(&format!(
            "argument 'common' is of type {} and we were unable to convert to bool: {error}",
            python_class(value)
        ))
    })
}

/// Formats a value's Python type as `<class 'NAME'>`.
fn python_class(value: &JValue) -> String {
    format!("<class '{}'>", python_type(value))
}

/// Names the Python type of a value.
fn python_type(value: &JValue) -> &'static str {
    match value.kind() {
        ValueKind::String => "str",
        ValueKind::Bool => "bool",
        ValueKind::Number if value.as_i64().is_some() => "int",
        ValueKind::Number => "float",
        ValueKind::Seq => "list",
        ValueKind::Map => "dict",
        _ => "NoneType",
    }
}

/// Converts a value to text as Python's `str` does. Undefined values inside are an error.
fn text(value: &JValue) -> Result<String, Error> {
    py_str(value).map_err(|_| filter_error("undefined value in fact_diff"))
}

/// Formats one side of the diff as text. Skipped lines are dropped, a list becomes one
/// line per item, a mapping sorted and indented JSON, and None an empty text.
fn side_text(value: &JValue, skip_lines: &[Regex]) -> Result<String, Error> {
    let value = if skip_lines.is_empty() {
        value.clone()
    } else {
        without_skipped(value, skip_lines)?
    };
    match value.kind() {
        ValueKind::Seq => {
            // Python's "\n".join(items) + "\n": an empty list is one empty line.
            let items: Vec<String> = value
                .try_iter()?
                .map(|item| text(&item))
                .collect::<Result<_, _>>()?;
            Ok(format!("{}\n", items.join("\n")))
        }
        ValueKind::Map => Ok(format!("{}\n", nice_json(&value)?)),
        ValueKind::None => Ok(String::new()),
        ValueKind::String => Ok(value.as_str().unwrap_or_default().to_owned()),
        _ => Err(filter_error(format!(
            "'{}' object has no attribute 'splitlines'",
            python_type(&value)
        ))),
    }
}

/// Keeps the lines (a string's lines, a list's items, a mapping's keys) that no pattern
/// of `skip_lines` matches at their start.
fn without_skipped(value: &JValue, skip_lines: &[Regex]) -> Result<JValue, Error> {
    let items: Vec<JValue> = match value.kind() {
        ValueKind::String => split_lines(value.as_str().unwrap_or_default())
            .into_iter()
            .map(JValue::from)
            .collect(),
        ValueKind::Seq | ValueKind::Map => value.try_iter()?.collect(),
        _ => {
            return Err(filter_error(format!(
                "'{}' object is not iterable",
                python_type(value)
            )))
        }
    };
    let mut kept = Vec::with_capacity(items.len());
    for item in items {
        let line = text(&item)?;
        let skipped = skip_lines
            .iter()
            .any(|regex| matches!(regex.find(&line), Ok(Some(found)) if found.start() == 0));
        if !skipped {
            kept.push(item);
        }
    }
    Ok(JValue::from(kept))
}

/// Computes the diff's lines with the whole input as context. With `common`, only the
/// lines both sides share and the hunk headers remain.
fn diff_lines(before: &str, after: &str, common: bool) -> Vec<String> {
    let before = marked_lines(before);
    let after = marked_lines(after);
    let context = before.len().max(after.len());
    let mut text = String::new();
    let lines = unified_diff(&before, &after, "before", "after", context);
    for line in &lines {
        if !(common && (line.starts_with('+') || line.starts_with('-'))) {
            text.push_str(line);
        }
    }
    if !lines.is_empty() {
        text.push('\n');
    }
    split_lines(&strip_ansi(&text))
}

/// Splits text into lines with their breaks, and marks a last line without one as
/// Python's callback does (`\ No newline at end of file`).
fn marked_lines(text: &str) -> Vec<String> {
    let mut lines = split_lines_keep_ends(text);
    if let Some(last) = lines.last_mut() {
        if !last.ends_with('\n') {
            last.push_str("\n\\ No newline at end of file\n");
        }
    }
    lines
}

/// Removes ANSI escape sequences, as the collection does.
fn strip_ansi(text: &str) -> String {
    static ANSI_ESCAPE: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\x1B[@-_][0-?]*[ -/]*[@-~]").expect("valid regex"));
    ANSI_ESCAPE.replace_all(text, "").into_owned()
}
