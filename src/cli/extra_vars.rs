//! `-e`/`--extra-vars`: `key=value` pairs, inline YAML or JSON, or `@FILE`.

use std::path::{Path, PathBuf};

use crate::playbook::error::REMOTE_SRC_NOTE;
use crate::playbook::LoadError;
use crate::vault::{VaultError, VaultSecrets};
use crate::yaml::FileError;
use crate::{Map, Value};

/// A `-e` value that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ExtraVarsError {
    /// `@FILE` names a file that does not exist (ansible-playbook exits 1).
    #[error("Unable to retrieve file contents\nCould not find or access '{}' on the Ansible Controller.\n{REMOTE_SRC_NOTE}", .path.display())]
    FileNotFound { path: PathBuf },
    /// The file cannot be read, or it or the inline text is neither YAML nor JSON
    /// (exit code 4).
    #[error("{0}")]
    Parse(LoadError),
    /// A file name given without `@` (exit code 5, as ansible-core's
    /// `AnsibleOptionsError`).
    #[error("Please prepend extra_vars filename '{text}' with '@'")]
    MissingAt { text: String },
    /// The data is not a mapping (exit code 5, as ansible-core's `AnsibleOptionsError`).
    #[error("Invalid extra vars data supplied. '{text}' could not be made into a dictionary")]
    NotAMapping { text: String },
    /// `key=value` text with unbalanced quotes or Jinja2 blocks (exit code 4).
    #[error("failed at splitting arguments, either an unbalanced jinja2 block or quotes: {text}")]
    Split { text: String },
    /// A vault-encrypted `@FILE` that the run's vault secrets cannot decrypt (exit
    /// code 1).
    #[error("{0}")]
    Vault(#[from] VaultError),
}

/// Parses every `-e` value in order; later values override earlier ones. Files that
/// are vault-encrypted are decrypted with `secrets`.
pub fn parse(values: &[String], cwd: &Path, secrets: &VaultSecrets) -> Result<Map, ExtraVarsError> {
    let mut vars = Map::new();
    for text in values {
        let data = parse_one(text, cwd, secrets)?;
        for (key, value) in data {
            vars.insert(key, value);
        }
    }
    Ok(vars)
}

fn parse_one(text: &str, cwd: &Path, secrets: &VaultSecrets) -> Result<Map, ExtraVarsError> {
    if text.is_empty() {
        return Ok(Map::new());
    }
    if let Some(file) = text.strip_prefix('@') {
        return parse_file(&crate::config::normalize(&cwd.join(file)), secrets);
    }
    if text.starts_with(['/', '.']) {
        return Err(ExtraVarsError::MissingAt {
            text: text.to_string(),
        });
    }
    if text.starts_with(['{', '[']) {
        let file = crate::source::SourceFile::new("<extra vars>", text);
        let loaded =
            crate::yaml::load(file).map_err(|err| ExtraVarsError::Parse(LoadError::from(err)))?;
        return documents_to_map(loaded.documents, text);
    }
    let words = crate::playbook::split_args(text).ok_or_else(|| ExtraVarsError::Split {
        text: text.to_string(),
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

/// Reads `-e @FILE`: one YAML or JSON document that must be a mapping. An empty file
/// is rejected as ansible-core rejects its `None`. Messages name the file as
/// `@ABSOLUTE_PATH`, as ansible-playbook rewrites the option.
fn parse_file(path: &Path, secrets: &VaultSecrets) -> Result<Map, ExtraVarsError> {
    if !path.exists() {
        return Err(ExtraVarsError::FileNotFound {
            path: path.to_path_buf(),
        });
    }
    let loaded = crate::yaml::load_file(path, secrets).map_err(|err| match err {
        FileError::Vault(err) => ExtraVarsError::Vault(err),
        err => ExtraVarsError::Parse(LoadError::from(err)),
    })?;
    let document = loaded
        .into_single()
        .map_err(|err| ExtraVarsError::Parse(LoadError::from(err)))?;
    match document.map(|node| node.to_value()) {
        Some(Value::Map(map)) => Ok(std::sync::Arc::unwrap_or_clone(map)),
        _ => Err(ExtraVarsError::NotAMapping {
            text: format!("@{}", path.display()),
        }),
    }
}

fn documents_to_map(documents: Vec<crate::yaml::Node>, text: &str) -> Result<Map, ExtraVarsError> {
    let mut vars = Map::new();
    for document in documents {
        match document.to_value() {
            Value::Map(map) => vars.extend(map.iter().map(|(k, v)| (k.clone(), v.clone()))),
            Value::Null => {}
            _ => {
                return Err(ExtraVarsError::NotAMapping {
                    text: text.to_string(),
                })
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
