//! Serialisation filters: `to_json` and `to_nice_json` with Python's `json.dumps`
//! spacing, `from_json`, and `to_yaml`/`to_nice_yaml` in PyYAML's style.

use std::fmt::Write;

use minijinja::value::{Value as JValue, ValueKind};
use minijinja::{Environment, Error, State};

use super::{add, ansible, filter_error, Args, Undefined};
use crate::template::convert::to_jinja;
use crate::template::pyrepr::{float_repr, py_str};
use crate::template::render::undefined_error;
use crate::Value;

pub fn register(env: &mut Environment<'static>) {
    add(env, ansible("to_json"), Undefined::Reject, to_json);
    add(
        env,
        ansible("to_nice_json"),
        Undefined::Reject,
        to_nice_json,
    );
    add(env, ansible("from_json"), Undefined::Reject, from_json);
    add(env, ansible("to_yaml"), Undefined::Reject, to_yaml);
    add(
        env,
        ansible("to_nice_yaml"),
        Undefined::Reject,
        to_nice_yaml,
    );
}

/// Options of Python's `json.dumps`.
struct JsonStyle {
    indent: Option<String>,
    sort_keys: bool,
    ensure_ascii: bool,
    item_separator: String,
    key_separator: String,
}

fn to_json(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let indent = args
        .keyword("indent")
        .filter(|v| !v.is_none())
        .map(indent_text);
    let style = JsonStyle {
        item_separator: if indent.is_some() {
            ",".into()
        } else {
            ", ".into()
        },
        indent,
        sort_keys: args.keyword("sort_keys").is_some_and(JValue::is_true),
        ensure_ascii: args.keyword("ensure_ascii").is_none_or(JValue::is_true),
        key_separator: ": ".into(),
    };
    dump_json(&args.value, &style)
}

fn to_nice_json(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let indent = args
        .get(0, "indent")
        .map_or_else(|| " ".repeat(4), indent_text);
    let style = JsonStyle {
        indent: Some(indent),
        sort_keys: args.get(1, "sort_keys").is_none_or(JValue::is_true),
        ensure_ascii: args.keyword("ensure_ascii").is_none_or(JValue::is_true),
        item_separator: ",".into(),
        key_separator: ": ".into(),
    };
    dump_json(&args.value, &style)
}

fn indent_text(value: &JValue) -> String {
    match value.as_str() {
        Some(text) => text.to_owned(),
        None => " ".repeat(value.as_usize().unwrap_or(0)),
    }
}

fn dump_json(value: &JValue, style: &JsonStyle) -> Result<JValue, Error> {
    let mut out = String::new();
    write_json(&mut out, value, style, 0)?;
    Ok(JValue::from_safe_string(out))
}

fn write_json(
    out: &mut String,
    value: &JValue,
    style: &JsonStyle,
    depth: usize,
) -> Result<(), Error> {
    match value.kind() {
        ValueKind::Undefined => return Err(undefined_error()),
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number if value.is_integer() => {
            let _ = write!(out, "{value}");
        }
        ValueKind::Number => {
            let f = f64::try_from(value.clone()).unwrap_or(f64::NAN);
            out.push_str(&match f {
                f if f.is_nan() => "NaN".to_owned(),
                f if f.is_infinite() && f > 0.0 => "Infinity".to_owned(),
                f if f.is_infinite() => "-Infinity".to_owned(),
                f => float_repr(f),
            });
        }
        ValueKind::String => {
            write_json_string(out, value.as_str().unwrap_or_default(), style.ensure_ascii)
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<JValue> = value.try_iter().map(Iterator::collect).unwrap_or_default();
            write_container(out, '[', ']', items.len(), style, depth, |out, i| {
                write_json(out, &items[i], style, depth + 1)
            })?;
        }
        ValueKind::Map => {
            let mut keys: Vec<JValue> = value.try_iter().map(Iterator::collect).unwrap_or_default();
            if style.sort_keys {
                keys.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            }
            write_container(out, '{', '}', keys.len(), style, depth, |out, i| {
                let key = &keys[i];
                let key_text = match key.kind() {
                    ValueKind::String => key.as_str().unwrap_or_default().to_owned(),
                    ValueKind::None => "null".to_owned(),
                    ValueKind::Bool => if key.is_true() { "true" } else { "false" }.to_owned(),
                    ValueKind::Number => py_str(key).unwrap_or_default(),
                    _ => {
                        return Err(filter_error(format!(
                            "keys must be str, int, float, bool or None, not {}",
                            crate::template::methods::python_type_name(key)
                        )))
                    }
                };
                write_json_string(out, &key_text, style.ensure_ascii);
                out.push_str(&style.key_separator);
                let item = value.get_item(key).unwrap_or_default();
                write_json(out, &item, style, depth + 1)
            })?;
        }
        _ => write_json_string(out, &value.to_string(), style.ensure_ascii),
    }
    Ok(())
}

fn write_container(
    out: &mut String,
    open: char,
    close: char,
    len: usize,
    style: &JsonStyle,
    depth: usize,
    mut item: impl FnMut(&mut String, usize) -> Result<(), Error>,
) -> Result<(), Error> {
    out.push(open);
    if len == 0 {
        out.push(close);
        return Ok(());
    }
    for i in 0..len {
        if i > 0 {
            out.push_str(&style.item_separator);
        }
        if let Some(indent) = &style.indent {
            out.push('\n');
            out.push_str(&indent.repeat(depth + 1));
        }
        item(out, i)?;
    }
    if let Some(indent) = &style.indent {
        out.push('\n');
        out.push_str(&indent.repeat(depth));
    }
    out.push(close);
    Ok(())
}

fn write_json_string(out: &mut String, text: &str, ensure_ascii: bool) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && (c as u32) > 0x7e) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn from_json(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = py_str(&args.value).map_err(|_| undefined_error())?;
    let parsed: serde_json::Value = serde_json::from_str(&text)
        .map_err(|err| filter_error(format!("Expecting value: {err}")))?;
    Ok(to_jinja(&Value::from(parsed)))
}

/// Options of PyYAML's `yaml.dump` as Ansible calls it.
struct YamlStyle {
    indent: usize,
    /// `default_flow_style=None`: collections of scalars only are written inline.
    flow_leaves: bool,
}

fn to_yaml(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let indent = args
        .keyword("indent")
        .and_then(JValue::as_usize)
        .unwrap_or(2);
    let flow_leaves = !args
        .keyword("default_flow_style")
        .is_some_and(|v| !v.is_none() && !v.is_true());
    dump_yaml(
        &args.value,
        &YamlStyle {
            indent,
            flow_leaves,
        },
    )
}

fn to_nice_yaml(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let indent = args
        .get(0, "indent")
        .and_then(JValue::as_usize)
        .unwrap_or(4);
    dump_yaml(
        &args.value,
        &YamlStyle {
            indent,
            flow_leaves: false,
        },
    )
}

fn dump_yaml(value: &JValue, style: &YamlStyle) -> Result<JValue, Error> {
    let mut out = String::new();
    if is_collection(value) && !is_empty(value) && !(style.flow_leaves && is_leaf(value)) {
        write_block(&mut out, value, style, 0)?;
    } else {
        out.push_str(&flow(value)?);
        out.push('\n');
    }
    Ok(JValue::from_safe_string(out))
}

fn is_collection(value: &JValue) -> bool {
    matches!(
        value.kind(),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable
    )
}

fn is_empty(value: &JValue) -> bool {
    value.len() == Some(0)
}

fn is_leaf(value: &JValue) -> bool {
    entries(value).iter().all(|(_, item)| !is_collection(item))
}

fn entries(value: &JValue) -> Vec<(Option<JValue>, JValue)> {
    match value.kind() {
        ValueKind::Map => {
            let mut keys: Vec<JValue> = value.try_iter().map(Iterator::collect).unwrap_or_default();
            keys.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            keys.into_iter()
                .map(|key| {
                    let item = value.get_item(&key).unwrap_or_default();
                    (Some(key), item)
                })
                .collect()
        }
        _ => value
            .try_iter()
            .map(|items| items.map(|item| (None, item)).collect())
            .unwrap_or_default(),
    }
}

// NOTE: PyYAML folds plain and quoted scalars longer than 80 columns and picks
// literal or double-quoted styles for some strings; this writer keeps each scalar on
// one line, so long or multi-line strings differ from Ansible's output.
fn write_block(
    out: &mut String,
    value: &JValue,
    style: &YamlStyle,
    depth: usize,
) -> Result<(), Error> {
    let pad = " ".repeat(depth);
    let is_map = value.kind() == ValueKind::Map;
    for (key, item) in entries(value) {
        out.push_str(&pad);
        match &key {
            Some(key) => {
                out.push_str(&scalar(key)?);
                out.push(':');
            }
            None => out.push('-'),
        }
        let nested =
            is_collection(&item) && !is_empty(&item) && !(style.flow_leaves && is_leaf(&item));
        if nested {
            if is_map || item.kind() == ValueKind::Map {
                let child = if is_map && item.kind() != ValueKind::Map {
                    depth
                } else {
                    depth + style.indent
                };
                if !is_map && item.kind() == ValueKind::Map {
                    // A mapping inside a sequence starts on the dash line, its first key
                    // at the indentation of the others.
                    let mut inner = String::new();
                    write_block(&mut inner, &item, style, depth + style.indent)?;
                    out.push_str(&" ".repeat(style.indent.saturating_sub(1).max(1)));
                    out.push_str(inner.trim_start());
                    continue;
                }
                out.push('\n');
                write_block(out, &item, style, child)?;
            } else {
                let mut inner = String::new();
                write_block(&mut inner, &item, style, depth + style.indent)?;
                out.push(' ');
                out.push_str(inner.trim_start());
            }
        } else {
            out.push(' ');
            out.push_str(&flow(&item)?);
            out.push('\n');
        }
    }
    Ok(())
}

fn flow(value: &JValue) -> Result<String, Error> {
    match value.kind() {
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Result<Vec<String>, Error> =
                entries(value).iter().map(|(_, item)| flow(item)).collect();
            Ok(format!("[{}]", items?.join(", ")))
        }
        ValueKind::Map => {
            let items: Result<Vec<String>, Error> = entries(value)
                .iter()
                .map(|(key, item)| {
                    Ok(format!(
                        "{}: {}",
                        scalar(key.as_ref().unwrap_or(&JValue::from(())))?,
                        flow(item)?
                    ))
                })
                .collect();
            Ok(format!("{{{}}}", items?.join(", ")))
        }
        _ => scalar(value),
    }
}

fn scalar(value: &JValue) -> Result<String, Error> {
    Ok(match value.kind() {
        ValueKind::Undefined => return Err(undefined_error()),
        ValueKind::None => "null".into(),
        ValueKind::Bool => if value.is_true() { "true" } else { "false" }.into(),
        ValueKind::Number if value.is_integer() => value.to_string(),
        ValueKind::Number => {
            let f = f64::try_from(value.clone()).unwrap_or(f64::NAN);
            match f {
                f if f.is_nan() => ".nan".into(),
                f if f.is_infinite() && f > 0.0 => ".inf".into(),
                f if f.is_infinite() => "-.inf".into(),
                f => float_repr(f),
            }
        }
        _ => yaml_string(&py_str(value).map_err(|_| undefined_error())?),
    })
}

/// A string as PyYAML writes it: plain when it reads back as the same string,
/// single-quoted otherwise, double-quoted when it holds control characters.
fn yaml_string(text: &str) -> String {
    if text.chars().any(|c| c.is_control() && c != '\n') || text.contains('\n') {
        let mut out = String::from("\"");
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => {
                    let _ = write!(out, "\\x{:02X}", c as u32);
                }
                c => out.push(c),
            }
        }
        out.push('"');
        return out;
    }
    if plain_allowed(text) {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', "''"))
}

fn plain_allowed(text: &str) -> bool {
    if text.is_empty() || text != text.trim() {
        return false;
    }
    let first = text.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        let next = text.chars().nth(1);
        let indicator_ok = matches!(first, '-' | '?' | ':') && next.is_some_and(|c| c != ' ');
        if !indicator_ok {
            return false;
        }
    }
    if text.contains(": ") || text.contains(" #") || text.ends_with(':') {
        return false;
    }
    if text.chars().any(|c| ",[]{}".contains(c)) && text.contains(['[', ']', '{', '}']) {
        return false;
    }
    !resolves_to_non_string(text)
}

/// Whether a plain scalar would read back as something other than a string under
/// YAML 1.1's implicit resolvers.
fn resolves_to_non_string(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "yes"
            | "no"
            | "true"
            | "false"
            | "on"
            | "off"
            | "null"
            | "~"
            | ".inf"
            | "-.inf"
            | "+.inf"
            | ".nan"
    ) {
        return true;
    }
    let digits = text.trim_start_matches(['-', '+']);
    if !digits.is_empty()
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || c == '_' || c == '.' || c == ':')
        && digits.chars().any(|c| c.is_ascii_digit())
    {
        return true;
    }
    if digits.starts_with("0x") || digits.starts_with("0b") || digits.starts_with("0o") {
        return true;
    }
    let float_like = regex::Regex::new(r"^[-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?$")
        .map(|re| re.is_match(text))
        .unwrap_or(false);
    let date_like = regex::Regex::new(r"^\d{4}-\d{1,2}-\d{1,2}")
        .map(|re| re.is_match(text))
        .unwrap_or(false);
    float_like || date_like || text == "=" || text.starts_with("<<")
}
