//! The JSON half of Ansible's `from_yaml` (`ansible.parsing.utils.yaml`), which reads a
//! file with `json.loads` and Ansible's JSON decoder before trying YAML.
//!
//! JSON and YAML 1.1 disagree on some text that is valid JSON: `1e3` is a float in
//! JSON and a string in YAML, and JSON never warns about duplicate keys. Ansible's
//! decoder also turns `{"__ansible_vault": TEXT}` into a vault value and
//! `{"__ansible_unsafe": VALUE}` into an unsafe one.

use std::sync::Arc;

use serde_json::Value as Json;

use super::{Node, NodeKind};
use crate::source::{SourceFile, Span};
use crate::Value;

/// Parses `file` as JSON, or returns `None` when it is not JSON.
///
/// Python's `json` module keeps no positions, so every node points at line 1, column 1.
///
/// NOTE: serde_json rejects `NaN`, `Infinity` and numbers beyond `f64`, which Python's
/// `json` reads, so such files are read as YAML instead. It also reads `-0` as the
/// float `-0.0` where Python has the int `0`.
pub(super) fn load(file: &Arc<SourceFile>) -> Option<Node> {
    let json: Json = serde_json::from_str(file.text()).ok()?;
    let span = Span::new(file.clone(), 1, 1);
    Some(to_node(json, &span))
}

fn to_node(json: Json, span: &Span) -> Node {
    let kind = match json {
        Json::Null => NodeKind::Scalar(Value::Null),
        Json::Bool(value) => NodeKind::Scalar(Value::Bool(value)),
        Json::Number(number) => NodeKind::Scalar(number_value(&number)),
        Json::String(text) => NodeKind::Scalar(Value::from(text)),
        Json::Array(items) => {
            NodeKind::Seq(items.into_iter().map(|item| to_node(item, span)).collect())
        }
        Json::Object(entries) => return object_to_node(entries, span),
    };
    Node {
        kind,
        span: span.clone(),
    }
}

/// Converts a JSON number as Python reads it: an `int` when it has no fraction or
/// exponent.
fn number_value(number: &serde_json::Number) -> Value {
    if let Some(int) = number.as_i64() {
        return Value::Int(int);
    }
    if number.is_u64() {
        // NOTE: Value has no arbitrary-precision integer; as in YAML, an int outside
        // i64 is kept as its decimal text.
        return Value::str(number.to_string());
    }
    Value::Float(number.as_f64().unwrap_or(f64::NAN))
}

/// Applies `AnsibleJSONDecoder.object_hook`: the first `__ansible_vault` or
/// `__ansible_unsafe` key replaces the whole object.
fn object_to_node(entries: serde_json::Map<String, Json>, span: &Span) -> Node {
    let special = entries
        .iter()
        .position(|(key, _)| key == "__ansible_vault" || key == "__ansible_unsafe");
    if let Some(index) = special {
        let (key, value) = entries.into_iter().nth(index).unwrap_or_default();
        let node = to_node(value, span);
        return if key == "__ansible_vault" {
            vault_node(node)
        } else {
            unsafe_node(node)
        };
    }
    let entries = entries
        .into_iter()
        .map(|(key, value)| (to_node(Json::String(key), span), to_node(value, span)))
        .collect();
    Node {
        kind: NodeKind::Map(entries),
        span: span.clone(),
    }
}

fn vault_node(node: Node) -> Node {
    match node.kind {
        NodeKind::Scalar(Value::Str(text)) => Node {
            kind: NodeKind::Vault(text),
            span: node.span,
        },
        // NOTE: Ansible wraps any value as vault text; only strings decrypt.
        _ => node,
    }
}

/// Ansible's `wrap_var`: every string inside becomes unsafe.
fn unsafe_node(node: Node) -> Node {
    let kind = match node.kind {
        NodeKind::Scalar(value) => NodeKind::Scalar(value.into_unsafe()),
        NodeKind::Seq(items) => NodeKind::Seq(items.into_iter().map(unsafe_node).collect()),
        NodeKind::Map(entries) => NodeKind::Map(
            entries
                .into_iter()
                .map(|(key, value)| (unsafe_node(key), unsafe_node(value)))
                .collect(),
        ),
        vault @ NodeKind::Vault(_) => vault,
    };
    Node {
        kind,
        span: node.span,
    }
}
