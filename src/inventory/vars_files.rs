//! `group_vars/` and `host_vars/` directories, as ansible-core's `host_group_vars`
//! vars plugin reads them, and data files (JSON or YAML) in general.
//!
//! For an entity `NAME` the plugin takes the first of `NAME`, `NAME.yml`,
//! `NAME.yaml`, `NAME.json` that exists. A directory is read recursively in sorted
//! order, skipping names that start with `.` or end with `~`, descending only into
//! subdirectories without an extension, and taking only files without an extension
//! or with one of the valid extensions. Files are merged in that order, later keys
//! replacing earlier ones; empty files are skipped.
//!
//! The same [`VarsDir`] serves the directories beside inventory sources and the
//! playbook's directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::vars::combine_vars;
use super::InventoryError;
use crate::vault::VaultSecrets;
use crate::yaml::FileError;
use crate::{Map, Value};

/// The extensions Ansible accepts for variable files (`yaml_valid_extensions`).
pub const DEFAULT_VARS_EXTENSIONS: [&str; 3] = [".yml", ".yaml", ".json"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum EntityKind {
    Group,
    Host,
}

impl EntityKind {
    fn subdir(self) -> &'static str {
        match self {
            EntityKind::Group => "group_vars",
            EntityKind::Host => "host_vars",
        }
    }
}

/// The `group_vars/` and `host_vars/` of one base directory, with the files found and
/// parsed for each entity cached for the life of the value (Ansible caches both too).
#[derive(Debug)]
pub struct VarsDir {
    base: PathBuf,
    group_vars: Option<PathBuf>,
    host_vars: Option<PathBuf>,
    extensions: Vec<String>,
    cache: Mutex<HashMap<(EntityKind, String), Arc<Map>>>,
    warnings: Mutex<Vec<String>>,
    /// Decrypt the files that are vault-encrypted.
    vault_secrets: VaultSecrets,
}

impl VarsDir {
    /// Prepares the directories under `base` (resolved through symlinks, as Ansible
    /// does) with the default extensions. Files that are vault-encrypted are decrypted
    /// with `vault_secrets`.
    pub fn new(base: &Path, vault_secrets: VaultSecrets) -> VarsDir {
        let extensions: Vec<String> = DEFAULT_VARS_EXTENSIONS
            .iter()
            .map(|e| e.to_string())
            .collect();
        VarsDir::with_extensions(base, &extensions, vault_secrets)
    }

    /// Like [`VarsDir::new`], with the extensions from `yaml_valid_extensions`.
    pub fn with_extensions(
        base: &Path,
        extensions: &[String],
        vault_secrets: VaultSecrets,
    ) -> VarsDir {
        let base = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
        let mut warnings = Vec::new();
        let mut find = |kind: EntityKind| {
            let path = base.join(kind.subdir());
            if path.is_dir() {
                Some(path)
            } else {
                if path.exists() {
                    warnings.push(format!(
                        "Found {} that is not a directory, skipping: {}",
                        kind.subdir(),
                        path.display()
                    ));
                }
                None
            }
        };
        let group_vars = find(EntityKind::Group);
        let host_vars = find(EntityKind::Host);
        VarsDir {
            base,
            group_vars,
            host_vars,
            extensions: extensions.to_vec(),
            cache: Mutex::new(HashMap::new()),
            warnings: Mutex::new(warnings),
            vault_secrets,
        }
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Reads the variables from `group_vars/` for the group `name`.
    pub fn group_vars(&self, name: &str) -> Result<Arc<Map>, InventoryError> {
        self.entity_vars(EntityKind::Group, name)
    }

    /// Reads the variables from `host_vars/` for the host `name`.
    pub fn host_vars(&self, name: &str) -> Result<Arc<Map>, InventoryError> {
        self.entity_vars(EntityKind::Host, name)
    }

    /// Lists the files that hold a group's variables, in merge order.
    pub fn group_vars_files(&self, name: &str) -> Vec<PathBuf> {
        self.entity_files(EntityKind::Group, name)
    }

    /// Lists the files that hold a host's variables, in merge order.
    pub fn host_vars_files(&self, name: &str) -> Vec<PathBuf> {
        self.entity_files(EntityKind::Host, name)
    }

    /// Drains the warnings from reading the files so far, such as duplicate YAML keys.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.warnings))
    }

    fn entity_files(&self, kind: EntityKind, name: &str) -> Vec<PathBuf> {
        // Names that are absolute paths (chroot-style hosts) never read files.
        if name.starts_with('/') {
            return Vec::new();
        }
        let dir = match kind {
            EntityKind::Group => &self.group_vars,
            EntityKind::Host => &self.host_vars,
        };
        match dir {
            Some(dir) => find_vars_files(dir, name, &self.extensions),
            None => Vec::new(),
        }
    }

    fn entity_vars(&self, kind: EntityKind, name: &str) -> Result<Arc<Map>, InventoryError> {
        let key = (kind, name.to_string());
        if let Some(vars) = lock(&self.cache).get(&key) {
            return Ok(vars.clone());
        }
        let mut vars = Map::new();
        for path in self.entity_files(kind, name) {
            let (data, warnings) = load_data_file(&path, &self.vault_secrets)?;
            lock(&self.warnings).extend(warnings);
            if !data.is_truthy() {
                continue;
            }
            let Value::Map(data) = data else {
                return Err(InventoryError::DataFile {
                    path,
                    message: format!(
                        "Could not process the file: expected a dictionary of variables but got a {}",
                        data.type_name()
                    ),
                });
            };
            vars = combine_vars(vars, &data);
        }
        let vars = Arc::new(vars);
        lock(&self.cache).insert(key, vars.clone());
        Ok(vars)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind, still usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Finds the variable files for `name` in `dir`: the first of `name` and `name` plus
/// each extension that exists, expanded recursively when it is a directory.
pub fn find_vars_files(dir: &Path, name: &str, extensions: &[String]) -> Vec<PathBuf> {
    let candidates = std::iter::once(String::new()).chain(extensions.iter().cloned());
    for extension in candidates {
        let path = dir.join(format!("{name}{extension}"));
        if path.is_dir() {
            let mut found = Vec::new();
            collect_dir_files(&path, extensions, &mut found);
            return found;
        }
        if path.exists() {
            return vec![path];
        }
    }
    Vec::new()
}

fn collect_dir_files(dir: &Path, extensions: &[String], found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        if name.starts_with('.') || name.ends_with('~') {
            continue;
        }
        let extension = python_extension(&name);
        let path = dir.join(&name);
        if path.is_dir() && extension.is_empty() {
            collect_dir_files(&path, extensions, found);
        } else if path.is_file()
            && (extension.is_empty() || extensions.iter().any(|e| e == extension))
        {
            found.push(path);
        }
    }
}

/// Python's `os.path.splitext(name)[1]`: the last `.` and what follows, unless the
/// dots all lead the name (`.bashrc` has no extension).
pub(crate) fn python_extension(name: &str) -> &str {
    let stem_start = name.len() - name.trim_start_matches('.').len();
    match name[stem_start..].rfind('.') {
        Some(dot) => &name[stem_start + dot..],
        None => "",
    }
}

/// Reads a data file as Ansible's loader does: decrypted when it is vault-encrypted,
/// then as JSON first, then as a single YAML document. An empty file is `None`.
/// Returns the data and the YAML warnings.
pub fn load_data_file(
    path: &Path,
    vault_secrets: &VaultSecrets,
) -> Result<(Value, Vec<String>), InventoryError> {
    let error = |message: String| InventoryError::DataFile {
        path: path.to_path_buf(),
        message,
    };
    let file = crate::yaml::read_source(path, vault_secrets).map_err(|err| match err {
        FileError::Vault(err) => InventoryError::Vault(err),
        FileError::Read { error: err, .. } => error(format!("could not read the file: {err}")),
        FileError::Yaml(err) => error(err.message),
    })?;
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(file.text()) {
        return Ok((Value::from(json), Vec::new()));
    }
    let loaded = crate::yaml::load(file).map_err(|err| {
        let location = err
            .span
            .map(|span| format!(" ({span})"))
            .unwrap_or_default();
        error(format!("{}{location}", err.message))
    })?;
    let mut documents = loaded.documents.into_iter();
    let data = documents
        .next()
        .map(|node| node.to_value())
        .unwrap_or(Value::Null);
    if documents.next().is_some() {
        return Err(error(
            "expected a single document in the stream, but found another document".into(),
        ));
    }
    Ok((data, loaded.warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_as_python_splits_them() {
        assert_eq!(python_extension("all.yml"), ".yml");
        assert_eq!(python_extension("a.tar.gz"), ".gz");
        assert_eq!(python_extension(".bashrc"), "");
        assert_eq!(python_extension("all"), "");
        assert_eq!(python_extension("..a.b"), ".b");
    }

    #[test]
    fn first_candidate_wins() {
        let dir = tempfile::tempdir().unwrap();
        let group_vars = dir.path().join("group_vars");
        std::fs::create_dir_all(group_vars.join("all/sub")).unwrap();
        std::fs::write(group_vars.join("all.yml"), "a: 1\n").unwrap();
        std::fs::write(group_vars.join("all/b.json"), "{}").unwrap();
        std::fs::write(group_vars.join("all/a"), "{}").unwrap();
        std::fs::write(group_vars.join("all/sub/c.yaml"), "{}").unwrap();
        std::fs::write(group_vars.join("all/x.txt"), "{}").unwrap();
        std::fs::write(group_vars.join("all/y.yml~"), "{}").unwrap();
        std::fs::write(group_vars.join("all/.z.yml"), "{}").unwrap();
        std::fs::create_dir_all(group_vars.join("all/d.d")).unwrap();
        std::fs::write(group_vars.join("all/d.d/e.yml"), "{}").unwrap();
        let extensions: Vec<String> = DEFAULT_VARS_EXTENSIONS
            .iter()
            .map(|e| e.to_string())
            .collect();
        let found = find_vars_files(&group_vars, "all", &extensions);
        let names: Vec<String> = found
            .iter()
            .map(|p| p.strip_prefix(&group_vars).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["all/a", "all/b.json", "all/sub/c.yaml"]);
    }

    #[test]
    fn json_files_merge_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let group_vars = dir.path().join("group_vars/web");
        std::fs::create_dir_all(&group_vars).unwrap();
        std::fs::write(group_vars.join("1.json"), r#"{"a": 1, "b": {"x": 1}}"#).unwrap();
        std::fs::write(group_vars.join("2.json"), r#"{"b": {"y": 2}}"#).unwrap();
        std::fs::write(group_vars.join("3.json"), "[]").unwrap();
        let vars = VarsDir::new(dir.path(), VaultSecrets::default())
            .group_vars("web")
            .unwrap();
        assert_eq!(vars.get("a"), Some(&Value::Int(1)));
        assert_eq!(vars.get("b").and_then(|b| b.get("y")), Some(&Value::Int(2)));
        assert_eq!(vars.get("b").and_then(|b| b.get("x")), None);
    }
}
