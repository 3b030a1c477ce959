//! Directory sources: every entry, in byte order, except the ignored ones.
//!
//! Ansible skips names starting with `.`, the names `host_vars`, `group_vars` and
//! `vars_plugins`, names in which an `ignore_patterns` regex is found, and names
//! ending with an `inventory_ignore_extensions` entry (`.ini` among the defaults, so
//! INI files are read inside a directory only under another extension or none).
//! Subdirectories are read the same way.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::InventoryError;

/// The compiled ignore rules for directory entries.
#[derive(Debug)]
pub(crate) struct IgnoreRules {
    patterns: Vec<fancy_regex::Regex>,
    extensions: Vec<String>,
}

impl IgnoreRules {
    pub(crate) fn new(
        extensions: &[String],
        patterns: &[String],
    ) -> Result<IgnoreRules, InventoryError> {
        let patterns = patterns
            .iter()
            .map(|pattern| {
                fancy_regex::Regex::new(pattern).map_err(|err| InventoryError::IgnorePattern {
                    pattern: pattern.clone(),
                    message: err.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(IgnoreRules {
            patterns,
            extensions: extensions.to_vec(),
        })
    }

    pub(crate) fn is_ignored(&self, name: &str) -> bool {
        name.starts_with('.')
            || matches!(name, "host_vars" | "group_vars" | "vars_plugins")
            || self
                .extensions
                .iter()
                .any(|extension| name.ends_with(extension.as_str()))
            || self
                .patterns
                .iter()
                .any(|regex| regex.is_match(name).unwrap_or(false))
    }
}

/// The paths of the entries of `dir` that are not ignored, sorted by name bytes.
pub(crate) fn entries(dir: &Path, ignore: &IgnoreRules) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<OsString> = read
        .filter_map(Result::ok)
        .map(|entry| entry.file_name())
        .collect();
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    names
        .into_iter()
        .filter(|name| !ignore.is_ignored(&name.to_string_lossy()))
        .map(|name| dir.join(name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubespray_rules() {
        let extensions: Vec<String> = [
            "~", ".orig", ".bak", ".ini", ".cfg", ".retry", ".pyc", ".pyo", ".creds", ".gpg",
        ]
        .map(String::from)
        .to_vec();
        let patterns: Vec<String> = ["artifacts", "credentials"].map(String::from).to_vec();
        let rules = IgnoreRules::new(&extensions, &patterns).unwrap();
        for name in [
            "inventory.ini",
            ".hidden",
            "group_vars",
            "hosts~",
            "my-artifacts",
            "credentials",
        ] {
            assert!(rules.is_ignored(name), "{name}");
        }
        for name in ["hosts", "hosts.yml", "inventory.ini.yml", "host_vars2"] {
            assert!(!rules.is_ignored(name), "{name}");
        }
    }
}
