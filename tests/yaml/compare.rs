//! Compares what rplay's loader built with what `compat-tests/yaml/oracle.py` printed
//! for Ansible's loader on the same file.
//!
//! The oracle tags every value with its Python type. rplay's `Value` has fewer types,
//! so by design of the loader some pairs match across types. `timestamp` and `binary`
//! are strings with the same text and `set` is a mapping to nulls. A `tuple` is a
//! sequence, and an `int` outside `i64` is a string of its digits.

use std::path::Path;

use rplay::source::SourceFile;
use rplay::yaml::{self, Loaded, Node, NodeKind, YamlError};
use rplay::Value;
use serde_json::Value as Json;

/// Which rplay function a fixture goes through, and which oracle mode matches it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// `yaml::load`, against the oracle's `AnsibleLoader` documents.
    Stream,
    /// `yaml::load_data`, against the oracle's `--from-yaml`.
    Data,
}

/// Loads `path` with rplay and compares the result with the oracle's `expected`.
pub fn compare_file(path: &Path, mode: Mode, expected: &Json) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("cannot read: {err}"))?;
    let file = SourceFile::new(path, text);
    let loaded = match mode {
        Mode::Stream => yaml::load(file),
        Mode::Data => yaml::load_data(file),
    };
    compare_loaded(expected, &loaded)
}

pub fn compare_loaded(expected: &Json, loaded: &Result<Loaded, YamlError>) -> Result<(), String> {
    match (expected.get("error"), loaded) {
        (Some(_), Err(_)) => Ok(()),
        (Some(error), Ok(_)) => Err(format!(
            "Ansible failed but rplay loaded the file; Ansible: {error}"
        )),
        (None, Err(err)) => Err(format!(
            "rplay failed but Ansible loaded the file; rplay: {err} at {:?}",
            err.span
        )),
        (None, Ok(loaded)) => compare_documents(expected, loaded),
    }
}

fn compare_documents(expected: &Json, loaded: &Loaded) -> Result<(), String> {
    let documents = expected["documents"]
        .as_array()
        .ok_or("no documents array")?;
    if documents.len() != loaded.documents.len() {
        return Err(format!(
            "Ansible read {} documents, rplay {}",
            documents.len(),
            loaded.documents.len()
        ));
    }
    for (index, (want, node)) in documents.iter().zip(&loaded.documents).enumerate() {
        compare_node(want, node, &format!("document {index}"))?;
    }
    let warnings: Vec<&str> = expected["warnings"]
        .as_array()
        .ok_or("no warnings array")?
        .iter()
        .filter_map(Json::as_str)
        .collect();
    if warnings != loaded.warnings {
        return Err(format!(
            "warnings differ\n  Ansible: {warnings:?}\n  rplay:   {:?}",
            loaded.warnings
        ));
    }
    Ok(())
}

/// Compares one oracle value with one node; `path` names the place in errors.
pub fn compare_node(want: &Json, node: &Node, path: &str) -> Result<(), String> {
    let fail = |what: &str| {
        Err(format!(
            "{path}: {what}; Ansible {want}, rplay {}",
            describe(node)
        ))
    };
    let tag = want[0].as_str().unwrap_or("");
    let scalar = match &node.kind {
        NodeKind::Scalar(value) => Some(value),
        _ => None,
    };
    let text = want[1].as_str();
    let matched = match (tag, scalar) {
        ("null", Some(Value::Null)) => true,
        ("bool", Some(Value::Bool(b))) => want[1].as_bool() == Some(*b),
        ("int", Some(Value::Int(i))) => text == Some(i.to_string().as_str()),
        ("int", Some(Value::Str(s))) => {
            text == Some(s) && text.and_then(|t| t.parse::<i64>().ok()).is_none()
        }
        ("float", Some(Value::Float(f))) => text
            .and_then(|t| t.parse::<f64>().ok())
            .is_some_and(|w| same_float(w, *f)),
        ("str", Some(Value::Str(s))) => text == Some(s),
        ("unsafe", Some(Value::Unsafe(s))) => text == Some(s),
        ("timestamp" | "binary", Some(Value::Str(s))) => text == Some(s),
        ("vault", None) => matches!(&node.kind, NodeKind::Vault(s) if text == Some(s)),
        ("seq" | "tuple", None) => return compare_seq(want, node, path),
        ("map", None) => return compare_map(want, node, path),
        ("set", None) => return compare_set(want, node, path),
        _ => false,
    };
    if !matched {
        return fail("values differ");
    }
    compare_position(want, node, path)
}

fn same_float(want: f64, got: f64) -> bool {
    (want.is_nan() && got.is_nan()) || want.to_bits() == got.to_bits()
}

/// Checks the line and column Ansible recorded (`ansible_pos`), when it has them.
fn compare_position(want: &Json, node: &Node, path: &str) -> Result<(), String> {
    let tag = want[0].as_str().unwrap_or("");
    let index = match tag {
        "str" | "vault" | "seq" | "map" => 2,
        _ => return Ok(()),
    };
    let (Some(line), Some(column)) = (want[index].as_u64(), want[index + 1].as_u64()) else {
        return Ok(());
    };
    let got = (u64::from(node.span.line), u64::from(node.span.column));
    if got != (line, column) {
        return Err(format!(
            "{path}: position differs; Ansible {line}:{column}, rplay {}:{} for {want}",
            got.0, got.1
        ));
    }
    Ok(())
}

fn compare_seq(want: &Json, node: &Node, path: &str) -> Result<(), String> {
    let items = want[1]
        .as_array()
        .ok_or(format!("{path}: bad oracle sequence"))?;
    let NodeKind::Seq(nodes) = &node.kind else {
        return Err(format!(
            "{path}: Ansible has a sequence, rplay {}",
            describe(node)
        ));
    };
    if items.len() != nodes.len() {
        return Err(format!(
            "{path}: Ansible has {} items, rplay {}: rplay {}",
            items.len(),
            nodes.len(),
            describe(node)
        ));
    }
    for (index, (item, child)) in items.iter().zip(nodes).enumerate() {
        compare_node(item, child, &format!("{path}[{index}]"))?;
    }
    compare_position(want, node, path)
}

fn compare_map(want: &Json, node: &Node, path: &str) -> Result<(), String> {
    let entries = want[1]
        .as_array()
        .ok_or(format!("{path}: bad oracle mapping"))?;
    let NodeKind::Map(nodes) = &node.kind else {
        return Err(format!(
            "{path}: Ansible has a mapping, rplay {}",
            describe(node)
        ));
    };
    if entries.len() != nodes.len() {
        return Err(format!(
            "{path}: Ansible has {} entries, rplay {}: rplay {}",
            entries.len(),
            nodes.len(),
            describe(node)
        ));
    }
    for (index, (entry, (key, value))) in entries.iter().zip(nodes).enumerate() {
        let label = format!("{path}{{key {index}}}");
        compare_node(&entry[0], key, &label)?;
        let label = format!("{path}[{}]", describe(key));
        compare_node(&entry[1], value, &label)?;
    }
    compare_position(want, node, path)
}

fn compare_set(want: &Json, node: &Node, path: &str) -> Result<(), String> {
    let items = want[1]
        .as_array()
        .ok_or(format!("{path}: bad oracle set"))?;
    let NodeKind::Map(nodes) = &node.kind else {
        return Err(format!(
            "{path}: Ansible has a set, rplay {}",
            describe(node)
        ));
    };
    let all_found = items.len() == nodes.len()
        && items.iter().all(|item| {
            nodes
                .iter()
                .any(|(key, value)| value.is_null() && compare_node(item, key, path).is_ok())
        });
    if all_found {
        Ok(())
    } else {
        Err(format!(
            "{path}: sets differ; Ansible {want}, rplay {}",
            describe(node)
        ))
    }
}

fn describe(node: &Node) -> String {
    let text = format!("{:?}", node.to_value());
    let short: String = text.chars().take(200).collect();
    format!("{short} at {}:{}", node.span.line, node.span.column)
}
