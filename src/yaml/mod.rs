//! YAML loading with the results of Ansible's loader, and source positions.
//!
//! Ansible (ansible-core 2.18) reads playbooks, inventories and variable files with
//! PyYAML's C loader (libyaml) and its own constructor, so YAML 1.1 rules apply. Plain
//! `yes`/`no`/`on`/`off` are booleans, `0644` is octal, `1:30` is 90 and `<<` merges.
//! A duplicate key warns and keeps its first position with the last value. The loader
//! builds [`Node`]s that keep a [`Span`] each, at the line and column Ansible reports;
//! callers that only need data call [`Node::to_value`]. This module knows nothing about
//! playbooks.
//!
//! Loading runs in steps, one module each:
//! - `repair` rewrites text that saphyr-parser (YAML 1.2) rejects but libyaml accepts,
//!   and `compose` and `tabs` reject what libyaml rejects but saphyr accepts, so the
//!   parser's events are libyaml's;
//! - `compose` turns the events into a node graph per document, with tags resolved by
//!   `resolve` (PyYAML's implicit resolver);
//! - `construct` builds Python's objects in PyYAML's order, with `scalar` for ints,
//!   floats, timestamps and binary data, and `object` for Python's dict-key rules;
//! - `convert` turns the objects into nodes;
//! - `json` reads JSON first, for [`load_data`], as Ansible's `from_yaml` does.
//!
//! `Value` has fewer types than Python, so a `datetime.date` or `datetime` (`!!timestamp`
//! or a plain `2001-12-14`) becomes the string Python's `str()` prints, `!!binary` bytes
//! become text, an int outside `i64` becomes its decimal digits, `!!set` a mapping to
//! nulls and `!!omap`/`!!pairs` tuples two-item sequences.

mod compose;
mod construct;
mod convert;
mod json;
pub mod loaded_text;
mod object;
mod repair;
mod resolve;
mod scalar;
mod tabs;
mod text;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::source::{SourceFile, Span};
use crate::vault::{ReadError, VaultError, VaultSecrets};
use crate::Value;
use repair::ParseInput;

/// Deepest nesting of collections a document may have, counting collections reached
/// through aliases. Python's default recursion limit is of the same order.
const MAX_DEPTH: usize = 1000;

/// A YAML node with its position.
#[derive(Clone, Debug)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum NodeKind {
    /// A resolved scalar: `None`, a bool, an int, a float or a string (`!unsafe` strings
    /// are `Value::Unsafe`).
    Scalar(Value),
    /// An Ansible Vault payload (`!vault`), kept encrypted.
    Vault(Arc<str>),
    Seq(Vec<Node>),
    /// Mapping entries in document order, after `<<` merge keys are applied and
    /// duplicate keys are reduced to their last value.
    Map(Vec<(Node, Node)>),
}

/// What loading one file produced.
#[derive(Debug)]
pub struct Loaded {
    /// The documents in stream order; each root's span is where its content starts.
    pub documents: Vec<Node>,
    /// Messages Ansible prints as `[WARNING]:`, such as duplicate mapping keys, in the
    /// order Ansible prints them and unwrapped. They name the file by the
    /// `SourceFile`'s path as given, where Ansible prints the absolute path.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub message: String,
    pub span: Option<Span>,
}

/// Parses every document of `file`, as iterating `yaml.load_all` with Ansible's
/// loader class does.
///
/// An empty file, or one with only comments, has no documents. Ansible's file loading
/// (`from_yaml`) accepts at most one document: see [`Loaded::into_single`].
pub fn load(file: Arc<SourceFile>) -> Result<Loaded, YamlError> {
    let located = |problem: Problem| problem.located(&file);
    text::check_characters(file.text()).map_err(located)?;
    let mut input = ParseInput::new(file.text());
    let mut batch_allowed = true;
    for _ in 0..MAX_REWRITES {
        let problem = match load_input(&input, &file) {
            Ok(loaded) => return Ok(loaded),
            Err(problem) => problem,
        };
        if problem.message == REWRITTEN_CONTENT {
            // A tab rewritten in one go was text, not white space: redo one at a time.
            input = ParseInput::new(file.text());
            batch_allowed = false;
            continue;
        }
        let rewritten = (batch_allowed && input.rewrite_all_colon_tabs(&problem))
            || input.rewrite_for(&problem);
        if !rewritten {
            return Err(located(problem));
        }
    }
    load_input(&input, &file).map_err(located)
}

/// Parses `file` as Ansible's `DataLoader` does (`from_yaml` in
/// `ansible.parsing.utils.yaml`), which is how playbooks, inventories, role files and
/// variable files are read: as JSON when the whole text is JSON, otherwise as YAML with
/// at most one document. An empty file has no document; Ansible skips such a
/// variables file. A document that is only a null counts as none, as `from_yaml`
/// returns `None` for both.
pub fn load_data(file: Arc<SourceFile>) -> Result<Loaded, YamlError> {
    let mut loaded = match json::load(&file) {
        Some(root) => Loaded {
            documents: vec![root],
            warnings: Vec::new(),
        },
        None => load(file)?,
    };
    if let Some(second) = loaded.documents.get(1) {
        return Err(another_document(second));
    }
    loaded.documents.retain(|document| !document.is_null());
    Ok(loaded)
}

/// Most rewrites of text saphyr rejects and libyaml accepts (see the `repair` module)
/// for one file; each costs one more parse.
const MAX_REWRITES: usize = 1000;

/// The problem reported when a scalar contains white space rewritten before parsing.
const REWRITTEN_CONTENT: &str = "a rewritten tab is part of a scalar";

fn load_input(input: &ParseInput<'_>, file: &Arc<SourceFile>) -> Result<Loaded, Problem> {
    let mut composer = compose::Composer::new(&input.text, &input.substitutions, &input.rewritten);
    let mut loaded = Loaded {
        documents: Vec::new(),
        warnings: Vec::new(),
    };
    while let Some(document) = composer.next_document()? {
        let root = construct::construct_document(document, file, &mut loaded.warnings)?;
        loaded.documents.push(root);
    }
    Ok(loaded)
}

/// A failure to load a file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read, or its text is not UTF-8.
    #[error("could not read {}: {error}", .path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The file is vault-encrypted, and the run's vault secrets cannot decrypt it.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The text is not valid YAML.
    #[error(transparent)]
    Yaml(#[from] YamlError),
}

/// Reads the file at `path`, decrypted with `secrets` when it is vault-encrypted, as
/// ansible-core's `DataLoader` reads every file it parses.
pub fn read_source(path: &Path, secrets: &VaultSecrets) -> Result<Arc<SourceFile>, FileError> {
    let file = crate::vault::read_data_file(path, secrets).map_err(|err| match err {
        ReadError::Io(error) => FileError::Read {
            path: path.to_path_buf(),
            error,
        },
        ReadError::Vault(error) => FileError::Vault(error),
    })?;
    Ok(match file.vault_text {
        Some(vault_text) => SourceFile::decrypted(path, file.text, vault_text),
        None => SourceFile::new(path, file.text),
    })
}

/// Reads and parses the file at `path`, decrypting it when it is vault-encrypted.
pub fn load_file(path: &Path, secrets: &VaultSecrets) -> Result<Loaded, FileError> {
    Ok(load(read_source(path, secrets)?)?)
}

/// Reads and parses the file at `path` as Ansible's `DataLoader` does ([`load_data`]):
/// decrypted when it is vault-encrypted, then JSON when the whole file is JSON,
/// otherwise at most one YAML document.
pub fn load_data_file(path: &Path, secrets: &VaultSecrets) -> Result<Loaded, FileError> {
    Ok(load_data(read_source(path, secrets)?)?)
}

impl Loaded {
    /// Returns the only document, or `None` for a stream without documents.
    ///
    /// # Errors
    ///
    /// Fails as PyYAML's `get_single_data` does when there is more than one document.
    pub fn into_single(self) -> Result<Option<Node>, YamlError> {
        let mut documents = self.documents.into_iter();
        let first = documents.next();
        match documents.next() {
            None => Ok(first),
            Some(second) => Err(another_document(&second)),
        }
    }
}

fn another_document(second: &Node) -> YamlError {
    YamlError {
        message: "expected a single document in the stream, but found another document".into(),
        span: Some(second.span.clone()),
    }
}

/// A position inside the text being loaded, before it is tied to its file. Marks
/// order by line, then column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Mark {
    /// 1-based line.
    line: u32,
    /// 1-based column, in characters.
    column: u32,
}

impl Mark {
    /// Converts saphyr's position (1-based line, 0-based column).
    fn from_marker(marker: saphyr_parser::Marker) -> Mark {
        Mark {
            line: u32::try_from(marker.line()).unwrap_or(u32::MAX),
            column: u32::try_from(marker.col() + 1).unwrap_or(u32::MAX),
        }
    }
}

/// An error found while loading, with the position it points at.
#[derive(Debug)]
struct Problem {
    message: String,
    mark: Mark,
    /// Whether the parser was inside a flow collection.
    in_flow: bool,
}

impl Problem {
    fn new(message: impl Into<String>, mark: Mark) -> Problem {
        Problem {
            message: message.into(),
            mark,
            in_flow: false,
        }
    }

    fn with_flow(mut self, in_flow: bool) -> Problem {
        self.in_flow = in_flow;
        self
    }

    fn located(self, file: &Arc<SourceFile>) -> YamlError {
        let span =
            (self.mark.line > 0).then(|| Span::new(file.clone(), self.mark.line, self.mark.column));
        YamlError {
            message: self.message,
            span,
        }
    }
}

impl Node {
    /// Converts the node to plain data, dropping positions.
    pub fn to_value(&self) -> Value {
        match &self.kind {
            NodeKind::Scalar(value) => value.clone(),
            NodeKind::Vault(text) => {
                loaded_text::record_vault(text);
                Value::Unsafe(text.clone())
            }
            NodeKind::Seq(items) => Value::list(items.iter().map(Node::to_value).collect()),
            NodeKind::Map(entries) => entries
                .iter()
                .map(|(key, value)| (key.to_value(), value.to_value()))
                .collect(),
        }
    }

    /// Returns the text of a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(value) => value.as_str(),
            _ => None,
        }
    }

    /// Returns the entries of a mapping node.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// Returns the items of a sequence node.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// Returns the value of a scalar node.
    pub fn as_scalar(&self) -> Option<&Value> {
        match &self.kind {
            NodeKind::Scalar(value) => Some(value),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Scalar(Value::Null))
    }

    /// Looks up a string key in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
