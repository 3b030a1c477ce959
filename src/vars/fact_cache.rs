//! The fact cache, as ansible-core 2.18's `FactCache` uses its `memory` and `jsonfile`
//! cache plugins.
//!
//! Facts of a host (gathered, returned by a module, or set by `set_fact` with
//! `cacheable`) live in memory for the run. With `jsonfile`, each update also rewrites
//! the host's file `PREFIX + HOSTNAME` in the connection directory, and a later run reads
//! that file the first time it needs the host's facts, unless the file is older than the
//! timeout.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::{Map, Value};

/// The `fact_caching`, `fact_caching_connection`, `fact_caching_prefix` and
/// `fact_caching_timeout` settings.
#[derive(Clone, Debug, Default)]
pub struct CacheSettings {
    pub plugin: String,
    pub connection: Option<PathBuf>,
    pub prefix: Option<String>,
    /// Seconds after its last write that a cache file expires; 0 means never.
    pub timeout: i64,
}

/// A cache plugin that cannot be used. ansible-core warns with these messages and keeps
/// facts in memory instead.
#[derive(Debug, thiserror::Error)]
pub enum CacheSetupError {
    #[error("Unable to load the facts cache plugin ({0}).")]
    UnknownPlugin(String),
    #[error(
        "No setting was provided for required configuration plugin_type: cache plugin: jsonfile setting: _uri"
    )]
    MissingConnection,
    #[error("error in 'jsonfile' cache plugin while trying to create cache dir {} : {}", .dir.display(), python_os_error(.source, .dir))]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("error in 'jsonfile' cache, configured path ({}) does not have necessary permissions (rwx), disabling plugin", .0.display())]
    Permissions(PathBuf),
}

/// A cache file that cannot be read or written, reported as a warning.
#[derive(Debug, thiserror::Error)]
pub enum CacheFileError {
    #[error("error in 'jsonfile' cache plugin while trying to read {} : {}", .path.display(), python_os_error(.source, .path))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("error in 'jsonfile' cache plugin while trying to read {} : b'{message}'. Most likely a corrupt file, so erasing and failing.", .path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("error in 'jsonfile' cache plugin while trying to write to '{}' : {}", .path.display(), python_os_error(.source, .path))]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Formats an OS error as Python's `bytes(OSError)` shows it in ansible-core's warnings.
/// Python names the path component that failed, rplay the whole path.
fn python_os_error(error: &std::io::Error, path: &Path) -> String {
    let text = error.to_string();
    let description = text.split(" (os error").next().unwrap_or(&text);
    match error.raw_os_error() {
        Some(code) => format!("b\"[Errno {code}] {description}: '{}'\"", path.display()),
        None => format!("b'{description}'"),
    }
}

/// Per-host facts of the run, backed by a `jsonfile` directory when one is configured.
#[derive(Debug, Default)]
pub struct FactCache {
    files: Option<JsonFileCache>,
    hosts: HashMap<String, Arc<Map>>,
    /// Hosts whose cache file was read already (or found missing or expired).
    loaded: HashSet<String>,
    warnings: Vec<String>,
    /// A cache file found corrupt and removed, which ends the run in ansible-core.
    corrupt: Option<PathBuf>,
}

impl FactCache {
    /// A cache that keeps facts in memory for the run, as the `memory` plugin does.
    pub fn memory() -> FactCache {
        FactCache::default()
    }

    /// Opens the configured cache plugin. A plugin that cannot be used yields a memory
    /// cache and the warning ansible-core prints for it.
    pub fn open(settings: &CacheSettings) -> (FactCache, Option<CacheSetupError>) {
        let name = settings
            .plugin
            .strip_prefix("ansible.builtin.")
            .or_else(|| settings.plugin.strip_prefix("ansible.legacy."))
            .unwrap_or(&settings.plugin);
        // NOTE: cache plugins from collections (community.general's yaml, redis...) are
        // not implemented; rplay warns as for an unknown plugin and keeps facts in memory.
        let opened = match name {
            "memory" => return (FactCache::memory(), None),
            "jsonfile" => JsonFileCache::open(settings),
            _ => Err(CacheSetupError::UnknownPlugin(settings.plugin.clone())),
        };
        match opened {
            Ok(files) => (
                FactCache {
                    files: Some(files),
                    ..FactCache::default()
                },
                None,
            ),
            Err(err) => (FactCache::memory(), Some(err)),
        }
    }

    /// The host's facts, read from its cache file on first use.
    pub fn get(&mut self, host: &str) -> Option<Arc<Map>> {
        self.load(host);
        self.hosts.get(host).cloned()
    }

    /// The host's facts if they are in memory, without reading its cache file.
    pub fn peek(&self, host: &str) -> Option<Arc<Map>> {
        self.hosts.get(host).cloned()
    }

    /// Reads the host's cache file unless that was done before. Returns whether facts
    /// were read.
    pub fn load(&mut self, host: &str) -> bool {
        let Some(files) = &self.files else {
            return false;
        };
        if !self.loaded.insert(host.to_string()) || self.hosts.contains_key(host) {
            return false;
        }
        if files.has_expired(host, SystemTime::now()) {
            return false;
        }
        match files.load(host) {
            Ok(Some(facts)) => {
                self.hosts.insert(host.to_string(), Arc::new(facts));
                return true;
            }
            Ok(None) => {}
            Err(err) => {
                if let CacheFileError::Corrupt { path, .. } = &err {
                    files.delete(host);
                    self.corrupt.get_or_insert_with(|| path.clone());
                }
                self.warnings.push(err.to_string());
            }
        }
        false
    }

    /// Merges `facts` into the host's facts and writes them to its cache file.
    pub fn update(&mut self, host: &str, facts: &Map) {
        self.load(host);
        let entry = self.hosts.entry(host.to_string()).or_default();
        let merged = Arc::make_mut(entry);
        for (key, value) in facts {
            merged.insert(key.clone(), value.clone());
        }
        if let Some(files) = &self.files {
            if let Err(err) = files.store(host, merged) {
                self.warnings.push(err.to_string());
            }
        }
    }

    /// Forgets the host's facts and removes its cache file, as `meta: clear_facts` and
    /// `--flush-cache` do. An expired file stays, as in ansible-core.
    pub fn remove(&mut self, host: &str) {
        let present = self.get(host).is_some();
        self.hosts.remove(host);
        if let (true, Some(files)) = (present, &self.files) {
            files.delete(host);
        }
    }

    /// Warnings about cache files since the last call.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// The corrupt cache file found since the last call. The host's facts are read as
    /// empty, but ansible-core ends the run at this point.
    pub fn take_corrupt(&mut self) -> Option<PathBuf> {
        self.corrupt.take()
    }
}

/// The `jsonfile` cache plugin: one JSON file per host.
#[derive(Debug)]
pub struct JsonFileCache {
    dir: PathBuf,
    prefix: String,
    timeout: i64,
}

impl JsonFileCache {
    /// Checks the connection directory, creating it when it is missing.
    pub fn open(settings: &CacheSettings) -> Result<JsonFileCache, CacheSetupError> {
        let dir = settings
            .connection
            .clone()
            .filter(|dir| !dir.as_os_str().is_empty())
            .ok_or(CacheSetupError::MissingConnection)?;
        if dir.exists() {
            if !accessible(&dir) {
                return Err(CacheSetupError::Permissions(dir));
            }
        } else if let Err(source) = std::fs::create_dir_all(&dir) {
            return Err(CacheSetupError::CreateDir { dir, source });
        }
        Ok(JsonFileCache {
            dir,
            prefix: settings.prefix.clone().unwrap_or_default(),
            timeout: settings.timeout,
        })
    }

    /// The host's cache file: the prefix and the host name, in the connection directory.
    pub fn path(&self, host: &str) -> PathBuf {
        self.dir.join(format!("{}{host}", self.prefix))
    }

    /// Whether the host's file was last written more than `timeout` seconds before
    /// `now`. A missing file has not expired.
    pub fn has_expired(&self, host: &str, now: SystemTime) -> bool {
        if self.timeout == 0 {
            return false;
        }
        let Ok(modified) = std::fs::metadata(self.path(host)).and_then(|m| m.modified()) else {
            return false;
        };
        let age = match now.duration_since(modified) {
            Ok(age) => age.as_secs_f64(),
            Err(ahead) => -ahead.duration().as_secs_f64(),
        };
        age > self.timeout as f64
    }

    /// Reads the host's facts; `None` when it has no file.
    pub fn load(&self, host: &str) -> Result<Option<Map>, CacheFileError> {
        let path = self.path(host);
        let text = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(CacheFileError::Read { path, source }),
        };
        let corrupt = |message: String| CacheFileError::Corrupt {
            path: path.clone(),
            message,
        };
        let json: serde_json::Value =
            serde_json::from_slice(&text).map_err(|err| corrupt(err.to_string()))?;
        // NOTE: ansible-core accepts any JSON value here, but rplay treats a file that is
        // not a mapping as corrupt.
        match Value::from(json) {
            Value::Map(map) => Ok(Some(map.as_ref().clone())),
            other => Err(corrupt(format!(
                "the cache holds a {}, not a mapping",
                other.type_name()
            ))),
        }
    }

    /// Writes the host's facts as the `jsonfile` plugin does: `json.dumps` with sorted
    /// keys, an indent of 4 and non-ASCII text escaped, through a temporary file in the
    /// same directory that is renamed over the old one and made mode 0644.
    pub fn store(&self, host: &str, facts: &Map) -> Result<(), CacheFileError> {
        let path = self.path(host);
        let text = encode(facts);
        let temporary = self
            .dir
            .join(format!(".{}{host}.{}.tmp", self.prefix, std::process::id()));
        let written = write_new(&temporary, text.as_bytes())
            .and_then(|()| std::fs::rename(&temporary, &path))
            .and_then(|()| set_mode(&path, 0o644));
        if let Err(source) = written {
            let _ = std::fs::remove_file(&temporary);
            return Err(CacheFileError::Write { path, source });
        }
        Ok(())
    }

    /// Removes the host's file, if it has one.
    pub fn delete(&self, host: &str) {
        let _ = std::fs::remove_file(self.path(host));
    }
}

/// The text of a cache file.
pub fn encode(facts: &Map) -> String {
    rplay_modules::json::dumps(
        &Value::map(facts.clone()),
        rplay_modules::json::DumpOptions {
            indent: Some(4),
            sort_keys: true,
            ensure_ascii: true,
        },
    )
}

fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
}

/// Whether the process may read, write and enter `dir`, as `os.access` checks it.
#[cfg(unix)]
fn accessible(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(path.as_ptr(), libc::R_OK | libc::W_OK | libc::X_OK) == 0 }
}

#[cfg(not(unix))]
fn accessible(_: &Path) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings(dir: &Path, prefix: Option<&str>, timeout: i64) -> CacheSettings {
        CacheSettings {
            plugin: "jsonfile".to_string(),
            connection: Some(dir.to_path_buf()),
            prefix: prefix.map(str::to_string),
            timeout,
        }
    }

    fn facts(pairs: &[(&str, Value)]) -> Map {
        pairs
            .iter()
            .map(|(key, value)| (Value::from(*key), value.clone()))
            .collect()
    }

    fn set_mtime(path: &Path, age: Duration) {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
    }

    #[test]
    fn jsonfile_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cache = JsonFileCache::open(&settings(dir.path(), None, 86400)).unwrap();
        let written = facts(&[
            ("zz_note", Value::from("café ✓ 😀")),
            ("ansible_count", Value::Int(3)),
            ("ratio", Value::Float(1.5)),
            ("_ansible_facts_gathered", Value::Bool(true)),
            (
                "nested",
                Value::map(facts(&[("b", Value::Null), ("a", Value::list(vec![]))])),
            ),
        ]);
        cache.store("test-1", &written).unwrap();
        let read = cache.load("test-1").unwrap().unwrap();
        assert_eq!(Value::map(read), Value::map(written));
    }

    #[test]
    fn jsonfile_text_as_python_writes_it() {
        let dir = tempfile::tempdir().unwrap();
        let cache = JsonFileCache::open(&settings(dir.path(), None, 86400)).unwrap();
        let written = facts(&[
            ("zz_note", Value::from("café ✓ 😀")),
            (
                "ansible_list",
                Value::list(vec![Value::Int(1), Value::Float(2.0)]),
            ),
            ("empty", Value::empty_map()),
        ]);
        cache.store("test-1", &written).unwrap();
        let text = std::fs::read_to_string(dir.path().join("test-1")).unwrap();
        let expected = "{\n    \"ansible_list\": [\n        1,\n        2.0\n    ],\n    \"empty\": {},\n    \"zz_note\": \"caf\\u00e9 \\u2713 \\ud83d\\ude00\"\n}";
        assert_eq!(text, expected);
    }

    #[cfg(unix)]
    #[test]
    fn jsonfile_mode_0644() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let cache = JsonFileCache::open(&settings(dir.path(), None, 0)).unwrap();
        cache.store("h", &facts(&[("a", Value::Int(1))])).unwrap();
        let mode = std::fs::metadata(dir.path().join("h"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn jsonfile_prefix_names_file() {
        let dir = tempfile::tempdir().unwrap();
        let cache = JsonFileCache::open(&settings(dir.path(), Some("pfx_"), 86400)).unwrap();
        cache
            .store("test-1", &facts(&[("a", Value::Int(1))]))
            .unwrap();
        assert!(dir.path().join("pfx_test-1").is_file());
        assert!(!dir.path().join("test-1").exists());
        let unprefixed = JsonFileCache::open(&settings(dir.path(), None, 86400)).unwrap();
        assert!(unprefixed.load("test-1").unwrap().is_none());
        assert!(cache.load("test-1").unwrap().is_some());
    }

    #[test]
    fn jsonfile_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let cache = JsonFileCache::open(&settings(dir.path(), None, 100)).unwrap();
        cache.store("old", &facts(&[("a", Value::Int(1))])).unwrap();
        cache.store("new", &facts(&[("a", Value::Int(2))])).unwrap();
        set_mtime(&dir.path().join("old"), Duration::from_secs(101));
        set_mtime(&dir.path().join("new"), Duration::from_secs(99));
        let now = SystemTime::now();
        assert!(cache.has_expired("old", now));
        assert!(!cache.has_expired("new", now));
        assert!(!cache.has_expired("missing", now));

        let (mut facts_cache, error) = FactCache::open(&settings(dir.path(), None, 100));
        assert!(error.is_none());
        assert!(facts_cache.get("old").is_none());
        assert!(facts_cache.get("new").is_some());
    }

    #[test]
    fn jsonfile_timeout_zero_never_expires() {
        let dir = tempfile::tempdir().unwrap();
        let cache = JsonFileCache::open(&settings(dir.path(), None, 0)).unwrap();
        cache.store("old", &facts(&[("a", Value::Int(1))])).unwrap();
        set_mtime(
            &dir.path().join("old"),
            Duration::from_secs(10 * 365 * 86400),
        );
        assert!(!cache.has_expired("old", SystemTime::now()));
    }

    #[test]
    fn fact_cache_update_merges_and_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (mut cache, _) = FactCache::open(&settings(dir.path(), None, 86400));
        cache.update("h", &facts(&[("a", Value::Int(1))]));
        cache.update("h", &facts(&[("b", Value::Int(2))]));
        let (mut later, _) = FactCache::open(&settings(dir.path(), None, 86400));
        let read = later.get("h").unwrap();
        assert_eq!(read.get("a"), Some(&Value::Int(1)));
        assert_eq!(read.get("b"), Some(&Value::Int(2)));
    }

    #[test]
    fn fact_cache_update_merges_with_file() {
        let dir = tempfile::tempdir().unwrap();
        let (mut first, _) = FactCache::open(&settings(dir.path(), None, 86400));
        first.update("h", &facts(&[("a", Value::Int(1))]));
        let (mut second, _) = FactCache::open(&settings(dir.path(), None, 86400));
        second.update("h", &facts(&[("b", Value::Int(2))]));
        let (mut third, _) = FactCache::open(&settings(dir.path(), None, 86400));
        assert_eq!(third.get("h").unwrap().len(), 2);
    }

    #[test]
    fn fact_cache_remove_deletes_file() {
        let dir = tempfile::tempdir().unwrap();
        let (mut cache, _) = FactCache::open(&settings(dir.path(), None, 86400));
        cache.update("h", &facts(&[("a", Value::Int(1))]));
        cache.remove("h");
        assert!(cache.get("h").is_none());
        assert!(!dir.path().join("h").exists());
    }

    #[test]
    fn fact_cache_corrupt_file_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("h"), "{bad").unwrap();
        let (mut cache, _) = FactCache::open(&settings(dir.path(), None, 86400));
        assert!(cache.get("h").is_none());
        assert_eq!(cache.take_corrupt(), Some(dir.path().join("h")));
        assert_eq!(cache.take_warnings().len(), 1);
        assert!(!dir.path().join("h").exists());
    }

    #[test]
    fn open_creates_directory() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        let (_, error) = FactCache::open(&settings(&nested, None, 86400));
        assert!(error.is_none());
        assert!(nested.is_dir());
    }

    #[test]
    fn open_unknown_plugin_warns() {
        let mut unknown = settings(Path::new("/nonexistent"), None, 0);
        unknown.plugin = "nosuch".to_string();
        let (_, error) = FactCache::open(&unknown);
        let message = error.unwrap().to_string();
        assert_eq!(message, "Unable to load the facts cache plugin (nosuch).");
    }

    #[test]
    fn open_jsonfile_without_connection_warns() {
        let mut missing = settings(Path::new("/"), None, 0);
        missing.connection = None;
        let (_, error) = FactCache::open(&missing);
        assert!(matches!(error, Some(CacheSetupError::MissingConnection)));
    }

    #[test]
    fn open_memory_and_fqcn() {
        let mut memory = settings(Path::new("/nonexistent"), None, 0);
        memory.plugin = "ansible.builtin.memory".to_string();
        assert!(FactCache::open(&memory).1.is_none());
        let dir = tempfile::tempdir().unwrap();
        let mut jsonfile = settings(dir.path(), None, 0);
        jsonfile.plugin = "ansible.builtin.jsonfile".to_string();
        let (mut cache, error) = FactCache::open(&jsonfile);
        assert!(error.is_none());
        cache.update("h", &facts(&[("a", Value::Int(1))]));
        assert!(dir.path().join("h").is_file());
    }
}
