//! Serialisation filters: `to_json` and `to_nice_json` with Python's `json.dumps`
//! spacing, `from_json`, and `to_yaml`/`to_nice_yaml` in PyYAML's style.

use std::fmt::Write;

use minijinja::value::{Value as JValue, ValueKind};
use minijinja::{Environment, Error, State};

use super::yaml_emitter::{self, DumpOptions, FlowStyle, Node, Scalar};
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
    add(env, ansible("from_yaml"), Undefined::Reject, from_yaml);
    add(
        env,
        ansible("from_yaml_all"),
        Undefined::Reject,
        from_yaml_all,
    );
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

/// `to_nice_json` with its defaults (indent 4, sorted keys, ASCII only), which is also
/// how ansible-core serialises a mapping for a diff.
pub(super) fn nice_json(value: &JValue) -> Result<String, Error> {
    let style = JsonStyle {
        indent: Some(" ".repeat(4)),
        sort_keys: true,
        ensure_ascii: true,
        item_separator: ",".into(),
        key_separator: ": ".into(),
    };
    let mut out = String::new();
    write_json(&mut out, value, &style, 0)?;
    Ok(out)
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
        ValueKind::String => rplay_modules::json::write_string(
            out,
            value.as_str().unwrap_or_default(),
            style.ensure_ascii,
        ),
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
                rplay_modules::json::write_string(out, &key_text, style.ensure_ascii);
                out.push_str(&style.key_separator);
                let item = value.get_item(key).unwrap_or_default();
                write_json(out, &item, style, depth + 1)
            })?;
        }
        _ => rplay_modules::json::write_string(out, &value.to_string(), style.ensure_ascii),
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

fn from_json(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = py_str(&args.value).map_err(|_| undefined_error())?;
    let parsed: serde_json::Value = serde_json::from_str(&text)
        .map_err(|err| filter_error(format!("Expecting value: {err}")))?;
    Ok(to_jinja(&Value::from(parsed)))
}

/// `from_yaml`: one YAML document parsed with YAML 1.1 rules; other values pass through.
///
/// NOTE: parse errors use rplay's YAML loader's wording, not PyYAML's.
fn from_yaml(_: &mut State, args: &Args) -> Result<JValue, Error> {
    if args.value.as_str().is_none() {
        return Ok(args.value.clone());
    }
    let documents = yaml_documents(args)?;
    if documents.len() > 1 {
        return Err(filter_error(
            "expected a single document in the stream, but found another document".to_string(),
        ));
    }
    Ok(documents
        .into_iter()
        .next()
        .map(|value| to_jinja(&value))
        .unwrap_or_else(|| JValue::from(())))
}

/// `from_yaml_all`: every YAML document of a string, as a list.
fn from_yaml_all(_: &mut State, args: &Args) -> Result<JValue, Error> {
    if args.value.as_str().is_none() {
        return Ok(args.value.clone());
    }
    let documents = yaml_documents(args)?;
    Ok(JValue::from(
        documents.iter().map(to_jinja).collect::<Vec<_>>(),
    ))
}

fn yaml_documents(args: &Args) -> Result<Vec<Value>, Error> {
    let text = py_str(&args.value).map_err(|_| undefined_error())?;
    let file = crate::source::SourceFile::new("<from_yaml>", text);
    let loaded = crate::yaml::load(file).map_err(|err| filter_error(err.message))?;
    Ok(loaded
        .documents
        .iter()
        .map(crate::yaml::Node::to_value)
        .collect())
}

fn to_yaml(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let flow_style = match args.keyword("default_flow_style") {
        Some(value) if value.is_none() => FlowStyle::Leaves,
        Some(value) if value.is_true() => FlowStyle::Always,
        Some(_) => FlowStyle::Never,
        None => FlowStyle::Leaves,
    };
    let indent = args.keyword("indent");
    dump_yaml(args, indent, 2, flow_style)
}

fn to_nice_yaml(_: &mut State, args: &Args) -> Result<JValue, Error> {
    dump_yaml(args, args.get(0, "indent"), 4, FlowStyle::Never)
}

fn dump_yaml(
    args: &Args,
    indent: Option<&JValue>,
    default_indent: usize,
    flow_style: FlowStyle,
) -> Result<JValue, Error> {
    let options = DumpOptions {
        indent: indent.and_then(JValue::as_usize).unwrap_or(default_indent),
        width: args
            .keyword("width")
            .filter(|value| !value.is_none())
            .and_then(|value| i64::try_from(value.clone()).ok()),
        flow_style,
    };
    let sort_keys = match args.keyword("sort_keys") {
        Some(value) => value.is_true(),
        None => true,
    };
    let root = yaml_node(&args.value, sort_keys)?;
    Ok(JValue::from_safe_string(yaml_emitter::dump(
        &root, &options,
    )))
}

/// Represents a template value as PyYAML's `SafeRepresenter` does.
fn yaml_node(value: &JValue, sort_keys: bool) -> Result<Node, Error> {
    match value.kind() {
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<JValue> = value.try_iter().map(Iterator::collect).unwrap_or_default();
            let nodes: Result<Vec<Node>, Error> = items
                .iter()
                .map(|item| yaml_node(item, sort_keys))
                .collect();
            Ok(Node::Sequence(nodes?))
        }
        ValueKind::Map => {
            let mut keys: Vec<JValue> = value.try_iter().map(Iterator::collect).unwrap_or_default();
            if sort_keys && keys_are_orderable(&keys) {
                keys.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            }
            let pairs: Result<Vec<(Node, Node)>, Error> = keys
                .iter()
                .map(|key| {
                    let item = value.get_item(key).unwrap_or_default();
                    Ok((yaml_node(key, sort_keys)?, yaml_node(&item, sort_keys)?))
                })
                .collect();
            Ok(Node::Mapping(pairs?))
        }
        _ => yaml_scalar(value).map(Node::Scalar),
    }
}

/// Whether Python's `sorted` accepts the keys. PyYAML keeps the insertion order when
/// sorting raises `TypeError`, as it does for `None` beside another key or for
/// strings mixed with numbers.
fn keys_are_orderable(keys: &[JValue]) -> bool {
    let class = |key: &JValue| match key.kind() {
        ValueKind::Bool | ValueKind::Number => Some(0),
        ValueKind::String => Some(1),
        _ => None,
    };
    match keys {
        [] | [_] => true,
        [first, rest @ ..] => {
            let first = class(first);
            first.is_some() && rest.iter().all(|key| class(key) == first)
        }
    }
}

fn yaml_scalar(value: &JValue) -> Result<Scalar, Error> {
    let text = match value.kind() {
        ValueKind::Undefined => return Err(undefined_error()),
        ValueKind::None => "null".into(),
        ValueKind::Bool => if value.is_true() { "true" } else { "false" }.into(),
        ValueKind::Number if value.is_integer() => value.to_string(),
        ValueKind::Number => yaml_float(f64::try_from(value.clone()).unwrap_or(f64::NAN)),
        _ => {
            return Ok(Scalar {
                text: py_str(value).map_err(|_| undefined_error())?,
                is_str: true,
            })
        }
    };
    Ok(Scalar {
        text,
        is_str: false,
    })
}

/// A float as `SafeRepresenter.represent_float` writes it: Python's `repr` in lower
/// case, with `.0` added to a mantissa that has no dot (`1e+20` becomes `1.0e+20`).
fn yaml_float(value: f64) -> String {
    if value.is_nan() {
        return ".nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let text = float_repr(value).to_lowercase();
    if !text.contains('.') && text.contains('e') {
        return text.replacen('e', ".0e", 1);
    }
    text
}
