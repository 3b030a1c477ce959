//! INI inventories, as ansible-core's `ini` inventory plugin reads them.
//!
//! Lines before the first section belong to `ungrouped`. `[group]` lists hosts,
//! `[group:vars]` sets variables and `[group:children]` names child groups, which may
//! be declared further down. `#` and `;` start comment lines. Host lines are split
//! like a shell line (quotes grouping words, `#` ending the line) into a host pattern
//! and `key=value` variables. Every value, on host lines and in `:vars` sections,
//! is read as a Python literal when it is one (`1`, `1.5`, `True`, `[1, 2]`,
//! `{'a': 1}`, `'quoted'`) and kept as text otherwise (`yes`, `0644`, `a b`). Since
//! host lines lose their quotes to the splitting, `x="2"` there is the int 2, while
//! in a `:vars` section it is the string "2".

use std::path::Path;
use std::sync::LazyLock;

use indexmap::IndexMap;
use regex::Regex;

use super::address::expand_host_pattern;
use super::literal::literal_eval;
use super::model::{GroupId, Inventory};
use super::{shlex, InventoryError};
use crate::vault::VaultSecrets;
use crate::Value;

static SECTION: LazyLock<Regex> =
    LazyLock::new(|| compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$"));
static GROUP_NAME: LazyLock<Regex> = LazyLock::new(|| compile(r"^([^:\]\s]+)\s*(?:#.*)?$"));

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|err| unreachable!("invalid built-in regex: {err}"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SectionKind {
    Hosts,
    Children,
    Vars,
}

/// A group named before it was declared: by a `:vars` section, or as a child.
struct Pending {
    line: usize,
    kind: SectionKind,
    parents: Vec<String>,
}

struct IniParser<'a> {
    inventory: &'a mut Inventory,
    path: &'a Path,
    line: usize,
    pending: IndexMap<String, Pending>,
}

/// Parses the INI file at `path` into `inventory`, decrypted with `secrets` first when
/// it is vault-encrypted, as ansible-core's loader does.
pub(crate) fn parse(
    inventory: &mut Inventory,
    path: &Path,
    secrets: &VaultSecrets,
) -> Result<(), InventoryError> {
    let bytes = std::fs::read(path).map_err(|err| InventoryError::Parse {
        path: path.to_path_buf(),
        line: None,
        message: format!("could not read the file: {err}"),
    })?;
    let bytes = secrets.decrypt_data(bytes, path)?;
    let lines = decode_lines(&bytes).map_err(|line| InventoryError::Parse {
        path: path.to_path_buf(),
        line: Some(line),
        message: "the line is not valid UTF-8".into(),
    })?;
    let mut parser = IniParser {
        inventory,
        path,
        line: 0,
        pending: IndexMap::new(),
    };
    parser.parse_lines(&lines)
}

/// Splits the text into lines as Python's `str.splitlines` does. A file that is not
/// UTF-8 is accepted when only its comment lines are invalid; those become empty.
fn decode_lines(bytes: &[u8]) -> Result<Vec<String>, usize> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(split_lines(text));
    }
    let mut lines = Vec::new();
    for (index, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        match std::str::from_utf8(raw) {
            Ok(text) => lines.push(text.to_string()),
            Err(_) if matches!(raw.first(), Some(b'#' | b';')) => lines.push(String::new()),
            Err(_) => return Err(index + 1),
        }
    }
    Ok(lines)
}

fn split_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut current));
            }
            '\n' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}'
            | '\u{2029}' => {
                lines.push(std::mem::take(&mut current));
            }
            other => current.push(other),
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

impl IniParser<'_> {
    fn error(&self, message: impl Into<String>) -> InventoryError {
        InventoryError::Parse {
            path: self.path.to_path_buf(),
            line: Some(self.line),
            message: message.into(),
        }
    }

    /// Builds an error that Ansible reports without the file and line.
    fn unlocated(&self, message: String) -> InventoryError {
        InventoryError::Parse {
            path: self.path.to_path_buf(),
            line: None,
            message,
        }
    }

    fn parse_lines(&mut self, lines: &[String]) -> Result<(), InventoryError> {
        let mut group = self.inventory.add_group("ungrouped")?;
        let mut kind = SectionKind::Hosts;
        for (index, line) in lines.iter().enumerate() {
            self.line = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with(['#', ';']) {
                continue;
            }
            if let Some(captures) = SECTION.captures(line) {
                let name = captures.get(1).map_or("", |m| m.as_str());
                let tag = captures.get(2).map(|m| m.as_str());
                (group, kind) = self.enter_section(name, tag)?;
                continue;
            }
            if line.starts_with('[') && line.ends_with(']') {
                return Err(self.error(format!(
                    "Invalid section entry: '{line}'. Please make sure that there are no spaces in the section entry, and that there are no other invalid characters"
                )));
            }
            match kind {
                SectionKind::Hosts => self.parse_host_line(line, group)?,
                SectionKind::Vars => self.parse_var_line(line, group)?,
                SectionKind::Children => self.parse_child_line(line, group)?,
            }
        }
        self.check_pending()
    }

    fn enter_section(
        &mut self,
        name: &str,
        tag: Option<&str>,
    ) -> Result<(GroupId, SectionKind), InventoryError> {
        let kind = match tag {
            None | Some("hosts") => SectionKind::Hosts,
            Some("children") => SectionKind::Children,
            Some("vars") => SectionKind::Vars,
            Some(other) => {
                return Err(self.error(format!(
                    "Section [{name}:{other}] has unknown type: {other}"
                )));
            }
        };
        if self.inventory.group_id(name).is_none()
            && kind == SectionKind::Vars
            && !self.pending.contains_key(name)
        {
            // A `:vars` section may come before the group's declaration; the group
            // must still be declared somewhere in the file.
            self.pending.insert(
                name.to_string(),
                Pending {
                    line: self.line,
                    kind,
                    parents: Vec::new(),
                },
            );
        }
        let group = self.inventory.add_group(name)?;
        let name = self.inventory.group(group).name.to_string();
        if kind != SectionKind::Vars {
            match self.pending.get(&name).map(|p| p.kind) {
                Some(SectionKind::Children) => self.add_pending_children(&name)?,
                Some(SectionKind::Vars) => {
                    self.pending.shift_remove(&name);
                }
                _ => {}
            }
        }
        Ok((group, kind))
    }

    fn add_pending_children(&mut self, name: &str) -> Result<(), InventoryError> {
        let parents = self
            .pending
            .get(name)
            .map(|p| p.parents.clone())
            .unwrap_or_default();
        for parent in parents {
            let parent_id = self.inventory.add_group(&parent)?;
            self.inventory.add_child(parent_id, name)?;
            if self
                .pending
                .get(&parent)
                .is_some_and(|p| p.kind == SectionKind::Children)
            {
                self.add_pending_children(&parent)?;
            }
        }
        self.pending.shift_remove(name);
        Ok(())
    }

    fn check_pending(&self) -> Result<(), InventoryError> {
        let Some((name, pending)) = self.pending.first() else {
            return Ok(());
        };
        let message = match pending.kind {
            SectionKind::Vars => {
                format!("Section [{name}:vars] not valid for undefined group: {name}")
            }
            _ => {
                let parent = pending
                    .parents
                    .last()
                    .map(String::as_str)
                    .unwrap_or_default();
                format!("Section [{parent}:children] includes undefined group: {name}")
            }
        };
        Err(InventoryError::Parse {
            path: self.path.to_path_buf(),
            line: Some(pending.line),
            message,
        })
    }

    fn parse_host_line(&mut self, line: &str, group: GroupId) -> Result<(), InventoryError> {
        let tokens = shlex::split(line)
            .map_err(|err| self.error(format!("Error parsing host definition '{line}': {err}")))?;
        let Some((pattern, assignments)) = tokens.split_first() else {
            return Ok(());
        };
        let (hosts, port) = expand_host_pattern(pattern)?;
        if pattern.trim().ends_with(':') && port.is_none() {
            return Err(self.unlocated(format!(
                "Invalid host pattern '{pattern}' supplied, ending in ':' is not allowed, this character is reserved to provide a port."
            )));
        }
        if hosts.iter().any(|h| h.trim() == "---") {
            return Err(self.unlocated(format!(
                "Invalid host pattern '{pattern}' supplied, '---' is normally a sign this is a YAML file."
            )));
        }
        let mut variables: IndexMap<String, Value> = IndexMap::new();
        for token in assignments {
            let Some((key, value)) = token.split_once('=') else {
                return Err(self.error(format!(
                    "Expected key=value host variable assignment, got: {token}"
                )));
            };
            variables.insert(key.to_string(), parse_value(value));
        }
        for host in hosts {
            let id = self.inventory.add_host(&host, Some(group), port)?;
            for (key, value) in &variables {
                self.inventory.set_host_var(id, key.as_str(), value.clone());
            }
        }
        Ok(())
    }

    fn parse_var_line(&mut self, line: &str, group: GroupId) -> Result<(), InventoryError> {
        let Some((key, value)) = line.split_once('=') else {
            return Err(self.error(format!("Expected key=value, got: {line}")));
        };
        let value = parse_value(value.trim());
        self.inventory.set_group_var(group, key.trim(), value)
    }

    fn parse_child_line(&mut self, line: &str, group: GroupId) -> Result<(), InventoryError> {
        let Some(child) = GROUP_NAME.captures(line).and_then(|c| c.get(1)) else {
            return Err(self.error(format!("Expected group name, got: {line}")));
        };
        let child = child.as_str();
        if self.inventory.group_id(child).is_some() {
            self.inventory.add_child(group, child)?;
            return Ok(());
        }
        let parent = self.inventory.group(group).name.to_string();
        let line = self.line;
        self.pending
            .entry(child.to_string())
            .or_insert_with(|| Pending {
                line,
                kind: SectionKind::Children,
                parents: Vec::new(),
            })
            .parents
            .push(parent);
        Ok(())
    }
}

/// Reads an INI value: a Python literal when it is one, otherwise the text itself.
fn parse_value(text: &str) -> Value {
    literal_eval(text).unwrap_or_else(|| Value::str(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_typed_as_python_literals() {
        assert_eq!(parse_value("1"), Value::Int(1));
        assert_eq!(parse_value("\"2\""), Value::str("2"));
        assert_eq!(parse_value("yes"), Value::str("yes"));
        assert_eq!(parse_value("0644"), Value::str("0644"));
        assert_eq!(parse_value("True"), Value::Bool(true));
        assert_eq!(parse_value(""), Value::str(""));
    }

    #[test]
    fn python_line_splitting() {
        assert_eq!(split_lines("a\r\nb\rc\x0cd\n"), ["a", "b", "c", "d"]);
        assert_eq!(split_lines("a\n\nb"), ["a", "", "b"]);
    }
}
