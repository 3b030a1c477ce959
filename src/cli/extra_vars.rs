//! `-e`/`--extra-vars`: `key=value` pairs, inline YAML or JSON, or `@FILE`.

use std::path::Path;

use crate::{Map, Value};

/// Parses every `-e` value in order; later values override earlier ones.
pub fn parse(values: &[String], cwd: &Path) -> Result<Map, String> {
    let mut vars = Map::new();
    for text in values {
        let data = parse_one(text, cwd)?;
        for (key, value) in data {
            vars.insert(key, value);
        }
    }
    Ok(vars)
}

fn parse_one(text: &str, cwd: &Path) -> Result<Map, String> {
    if let Some(file) = text.strip_prefix('@') {
        let path = cwd.join(file);
        let loaded = crate::yaml::load_data_file(&path)
            .map_err(|err| format!("{}: {err}", path.display()))?;
        return documents_to_map(loaded.documents, text);
    }
    if text.starts_with(['{', '[']) {
        let file = crate::source::SourceFile::new("<extra vars>", text);
        let loaded = crate::yaml::load(file).map_err(|err| err.to_string())?;
        return documents_to_map(loaded.documents, text);
    }
    let words = crate::playbook::split_args(text).ok_or_else(|| {
        format!(
            "failed at splitting arguments, either an unbalanced jinja2 block or quotes: {text}"
        )
    })?;
    let mut vars = Map::new();
    for word in words {
        if let Some((key, value)) = word.split_once('=') {
            let value = value.trim();
            let value = unquote(value);
            vars.insert(Value::from(key.trim()), Value::from(value));
        }
    }
    Ok(vars)
}

fn documents_to_map(documents: Vec<crate::yaml::Node>, text: &str) -> Result<Map, String> {
    let mut vars = Map::new();
    for document in documents {
        match document.to_value() {
            Value::Map(map) => vars.extend(map.iter().map(|(k, v)| (k.clone(), v.clone()))),
            Value::Null => {}
            _ => {
                return Err(format!(
                "Invalid extra vars data supplied. '{text}' could not be made into a dictionary"
            ))
            }
        }
    }
    Ok(vars)
}

fn unquote(text: &str) -> &str {
    for quote in ['"', '\''] {
        if text.len() >= 2 && text.starts_with(quote) && text.ends_with(quote) {
            return &text[1..text.len() - 1];
        }
    }
    text
}
