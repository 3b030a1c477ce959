//! `local`: the `*.fact` files of `fact_path`, read as JSON or INI, or run when
//! executable.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::util::set;
use crate::{Map, Value};

/// Reads the local facts; returns the warnings ansible-core would emit.
pub fn collect(facts: &mut Map, fact_path: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut local = Map::new();
    let dir = Path::new(fact_path);
    if fact_path.is_empty() || !dir.exists() {
        set(facts, "local", Value::map(local));
        return warnings;
    }
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "fact"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    for file in files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().replace(".fact", ""))
            .unwrap_or_default();
        let display = file.to_string_lossy().into_owned();
        let fact = match read_fact(&file, &display) {
            Ok(fact) => fact,
            Err(message) => {
                warnings.push(message.clone());
                Value::from(message)
            }
        };
        local.insert(Value::from(name), fact);
    }
    set(facts, "local", Value::map(local));
    warnings
}

fn read_fact(file: &Path, display: &str) -> Result<Value, String> {
    let meta = std::fs::metadata(file).map_err(|err| {
        format!(
            "Could not stat fact ({display}): {}",
            crate::files::os_error_with_path(&err, file)
        )
    })?;
    let bytes = if meta.permissions().mode() & 0o100 != 0 {
        let output = std::process::Command::new(file)
            .output()
            .map_err(|err| format!("Could not execute fact script ({display}): {err}"))?;
        if !output.status.success() {
            return Err(format!(
                "Failure executing fact script ({display}), rc: {}, err: {}",
                output.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        output.stdout
    } else {
        std::fs::read(file).unwrap_or_default()
    };
    let text = String::from_utf8(bytes).map_err(|_| {
        format!("error loading fact - output of running \"{display}\" was not utf-8")
    })?;
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) {
        return Ok(Value::from(json));
    }
    let sections = parse_ini(&text).ok_or_else(|| {
        format!("error loading facts as JSON or ini - please check content: {display}")
    })?;
    interpolate(&sections).map_err(|error| {
        format!("error loading facts as ini - please check content: {display} ({error})")
    })
}

/// Expands the `%(name)s` references and `%%` escapes of every value, as configparser's
/// `BasicInterpolation` does when the values are read.
fn interpolate(sections: &Value) -> Result<Value, String> {
    let mut out = Map::new();
    for (section, options) in sections.as_map().into_iter().flat_map(|map| map.iter()) {
        let Some(options) = options.as_map() else {
            continue;
        };
        let mut expanded = Map::new();
        for (option, value) in options.iter() {
            let raw = value.as_str().unwrap_or_default();
            expanded.insert(option.clone(), Value::from(expand(raw, options, 1)?));
        }
        out.insert(section.clone(), Value::map(expanded));
    }
    Ok(Value::map(out))
}

fn expand(raw: &str, options: &Map, depth: usize) -> Result<String, String> {
    if depth > 10 {
        return Err(format!(
            "Recursion limit exceeded in value substitution: {raw}"
        ));
    }
    let mut out = String::new();
    let mut rest = raw;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("%%") {
            out.push('%');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("%(") {
            let (name, tail) = after
                .split_once(")s")
                .ok_or_else(|| format!("bad interpolation variable reference {}", py_repr(rest)))?;
            let value = options
                .get(&Value::from(name.to_lowercase()))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    format!("Bad value substitution: option references a missing key '{name}'")
                })?;
            out.push_str(&expand(value, options, depth + 1)?);
            rest = tail;
        } else {
            return Err(format!(
                "'%' must be followed by '%' or '(', found: {}",
                py_repr(rest)
            ));
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn py_repr(text: &str) -> String {
    crate::pyrepr::repr(&Value::from(text))
}

/// Python's `configparser` on simple files: `[section]` headers and `key = value` or
/// `key: value` lines, keys lowercased; `None` for a line outside any section.
fn parse_ini(text: &str) -> Option<Value> {
    let mut sections = Map::new();
    let mut current: Option<Value> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            let key = Value::from(name);
            sections.entry(key.clone()).or_insert_with(Value::empty_map);
            current = Some(key);
            continue;
        }
        let section = current.as_ref()?;
        let split = trimmed.find(['=', ':']);
        let (key, value) = match split {
            Some(at) => (trimmed[..at].trim(), trimmed[at + 1..].trim()),
            None => (trimmed, ""),
        };
        if let Some(options) = sections.get_mut(section).and_then(Value::as_map_mut) {
            options.insert(Value::from(key.to_lowercase()), Value::from(value));
        }
    }
    Some(Value::map(sections))
}
