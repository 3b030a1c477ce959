//! Settings resolved once from the command line, `ANSIBLE_*` environment variables,
//! `ansible.cfg` and defaults, in that order of precedence.
//!
//! This is the only place that reads the process environment for settings.

mod ini;
mod table;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use ini::IniFile;
pub use table::{Kind, Setting, SETTINGS};

/// A resolved setting.
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigValue {
    Unset,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<String>),
    Path(PathBuf),
    PathList(Vec<PathBuf>),
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("error reading config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("error reading config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid type for configuration option {name} (from {origin}): {message}")]
    Invalid {
        name: &'static str,
        origin: String,
        message: String,
    },
}

/// Resolved settings. Accessors take ansible-core's setting names (see `table.rs`).
#[derive(Debug)]
pub struct Config {
    file: Option<PathBuf>,
    values: HashMap<&'static str, ConfigValue>,
}

impl Config {
    /// Finds `ansible.cfg` as ansible-core does and resolves every setting from it and
    /// from the process environment.
    pub fn load() -> Result<Config, ConfigError> {
        let environment: HashMap<String, String> = std::env::vars().collect();
        let file = find_config_file(&environment);
        let ini = match &file {
            Some(path) => Some(IniFile::read(path)?),
            None => None,
        };
        Config::resolve(file, ini.as_ref(), &environment)
    }

    /// Resolves every setting from an already parsed config file and an environment.
    pub fn resolve(
        file: Option<PathBuf>,
        ini: Option<&IniFile>,
        environment: &HashMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let base = file
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf);
        let mut values = HashMap::new();
        for setting in SETTINGS {
            let value = resolve_setting(setting, ini, environment, base.as_deref())?;
            values.insert(setting.name, value);
        }
        if let Some(ini) = ini {
            for (section, key) in ini.keys() {
                let known = SETTINGS
                    .iter()
                    .any(|s| s.ini.iter().any(|&(sec, k)| sec == section && k == key));
                if !known {
                    // ansible-core accepts keys it does not know (plugins define their own),
                    // so rplay does too.
                    tracing::debug!(section, key, "ansible.cfg key not used by rplay");
                }
            }
        }
        Ok(Config { file, values })
    }

    /// The `ansible.cfg` in use, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    fn value(&self, name: &str) -> &ConfigValue {
        self.values.get(name).unwrap_or(&ConfigValue::Unset)
    }

    pub fn bool(&self, name: &str) -> bool {
        matches!(self.value(name), ConfigValue::Bool(true))
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        match self.value(name) {
            ConfigValue::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        match self.value(name) {
            ConfigValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn list(&self, name: &str) -> &[String] {
        match self.value(name) {
            ConfigValue::List(items) => items,
            _ => &[],
        }
    }

    pub fn path(&self, name: &str) -> Option<&Path> {
        match self.value(name) {
            ConfigValue::Path(path) => Some(path),
            _ => None,
        }
    }

    pub fn paths(&self, name: &str) -> &[PathBuf] {
        match self.value(name) {
            ConfigValue::PathList(paths) => paths,
            _ => &[],
        }
    }

    /// Overrides a setting, as command-line options do.
    pub fn set(&mut self, name: &'static str, value: ConfigValue) {
        self.values.insert(name, value);
    }
}

/// Returns the first of `$ANSIBLE_CONFIG`, `./ansible.cfg` (unless the directory is
/// world-writable), `~/.ansible.cfg` and `/etc/ansible/ansible.cfg` that exists.
fn find_config_file(environment: &HashMap<String, String>) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(path) = environment.get("ANSIBLE_CONFIG") {
        let path = expand_path(path, None, environment);
        if path.is_dir() {
            candidates.push(path.join("ansible.cfg"));
        } else {
            candidates.push(path);
        }
    }
    if let Ok(cwd) = std::env::current_dir() {
        if !is_world_writable(&cwd) {
            candidates.push(cwd.join("ansible.cfg"));
        }
    }
    candidates.push(expand_path("~/.ansible.cfg", None, environment));
    candidates.push(PathBuf::from("/etc/ansible/ansible.cfg"));
    candidates.into_iter().find(|path| path.is_file())
}

fn is_world_writable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|meta| meta.permissions().mode() & 0o002 != 0)
        .unwrap_or(false)
}

fn resolve_setting(
    setting: &'static Setting,
    ini: Option<&IniFile>,
    environment: &HashMap<String, String>,
    base: Option<&Path>,
) -> Result<ConfigValue, ConfigError> {
    let from_env = setting.env.iter().rev().find_map(|name| {
        environment
            .get(*name)
            .map(|v| (v.clone(), format!("env: {name}")))
    });
    let from_ini = || {
        setting.ini.iter().rev().find_map(|(section, key)| {
            ini?.get(section, key)
                .map(|v| (v.to_string(), format!("ini: [{section}] {key}")))
        })
    };
    // Relative paths from ansible.cfg are relative to its directory; others to the
    // current directory.
    let (text, origin, path_base) = match from_env {
        Some((text, origin)) => (text, origin, None),
        None => match from_ini() {
            Some((text, origin)) => (text, origin, base),
            None => match setting.default {
                Some(text) => (text.to_string(), "default".to_string(), None),
                None => return Ok(ConfigValue::Unset),
            },
        },
    };
    convert(setting, &text, path_base, environment).map_err(|message| ConfigError::Invalid {
        name: setting.name,
        origin,
        message,
    })
}

fn convert(
    setting: &Setting,
    text: &str,
    base: Option<&Path>,
    environment: &HashMap<String, String>,
) -> Result<ConfigValue, String> {
    let text = text.trim();
    Ok(match setting.kind {
        Kind::Bool => ConfigValue::Bool(parse_bool(text)),
        Kind::Int => ConfigValue::Int(
            text.parse()
                .map_err(|_| format!("{text:?} is not a valid integer"))?,
        ),
        Kind::Float => ConfigValue::Float(
            text.parse()
                .map_err(|_| format!("{text:?} is not a valid float"))?,
        ),
        Kind::Str => ConfigValue::Str(unquote(text).to_string()),
        Kind::List => ConfigValue::List(
            text.split(',')
                .map(|item| unquote(item.trim()).to_string())
                .filter(|item| !item.is_empty())
                .collect(),
        ),
        Kind::Path => ConfigValue::Path(expand_path(unquote(text), base, environment)),
        Kind::PathList => ConfigValue::PathList(
            unquote(text)
                .split(':')
                .filter(|item| !item.is_empty())
                .map(|item| expand_path(item, base, environment))
                .collect(),
        ),
    })
}

/// Ansible's `boolean()` for settings: `y`, `yes`, `on`, `1`, `true` and `t` in any case
/// are true, anything else false.
pub fn parse_bool(text: &str) -> bool {
    matches!(
        text.to_ascii_lowercase().as_str(),
        "y" | "yes" | "on" | "1" | "1.0" | "true" | "t"
    )
}

/// Removes one pair of matching outer quotes, as ansible-core does for ini values.
fn unquote(text: &str) -> &str {
    for quote in ['"', '\''] {
        if text.len() >= 2 && text.starts_with(quote) && text.ends_with(quote) {
            return &text[1..text.len() - 1];
        }
    }
    text
}

/// Expands `~` and `$VAR`/`${VAR}` (unset variables stay as written, as Python's
/// `os.path.expandvars` leaves them), joins a relative path to `base`, and normalises
/// `.` and `..` without touching the filesystem.
pub fn expand_path(
    text: &str,
    base: Option<&Path>,
    environment: &HashMap<String, String>,
) -> PathBuf {
    let mut expanded = expand_vars(text, environment);
    if expanded == "~" || expanded.starts_with("~/") {
        if let Some(home) = environment.get("HOME") {
            expanded = format!("{home}{}", &expanded[1..]);
        }
    }
    let path = PathBuf::from(expanded);
    let path = match base {
        Some(base) if path.is_relative() => base.join(path),
        _ if path.is_relative() => std::env::current_dir().unwrap_or_default().join(path),
        _ => path,
    };
    normalize(&path)
}

fn expand_vars(text: &str, environment: &HashMap<String, String>) -> String {
    let pattern = regex::Regex::new(r"\$(\w+|\{[^}]*\})").expect("valid regex");
    pattern
        .replace_all(text, |caps: &regex::Captures<'_>| {
            let name = caps[1].trim_start_matches('{').trim_end_matches('}');
            environment
                .get(name)
                .cloned()
                .unwrap_or_else(|| caps[0].to_string())
        })
        .into_owned()
}

/// Removes `.` components and resolves `..` lexically, as Python's `os.path.normpath`.
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn ini_beats_default_and_env_beats_ini() {
        let ini = IniFile::parse(
            Path::new("/ks/ansible.cfg"),
            "[defaults]\ndisplay_skipped_hosts = no\nforks = 20\n",
        )
        .unwrap();
        let env = environment(&[("ANSIBLE_FORKS", "7")]);
        let config = Config::resolve(Some("/ks/ansible.cfg".into()), Some(&ini), &env).unwrap();
        assert!(!config.bool("DISPLAY_SKIPPED_HOSTS"));
        assert_eq!(config.int("DEFAULT_FORKS"), Some(7));
        assert!(config.bool("HOST_KEY_CHECKING"));
    }

    #[test]
    fn roles_path_relative_to_config_file() {
        let ini = IniFile::parse(
            Path::new("/ks/ansible.cfg"),
            "[defaults]\nroles_path = roles:$VIRTUAL_ENV/share/roles:/usr/share/kubespray/roles\n",
        )
        .unwrap();
        let config = Config::resolve(
            Some("/ks/ansible.cfg".into()),
            Some(&ini),
            &environment(&[]),
        )
        .unwrap();
        assert_eq!(
            config.paths("DEFAULT_ROLES_PATH"),
            [
                PathBuf::from("/ks/roles"),
                PathBuf::from("/ks/$VIRTUAL_ENV/share/roles"),
                PathBuf::from("/usr/share/kubespray/roles"),
            ]
        );
    }

    #[test]
    fn list_items_trimmed() {
        let ini = IniFile::parse(
            Path::new("/a.cfg"),
            "[defaults]\ncallbacks_enabled = profile_tasks, timer\n",
        )
        .unwrap();
        let config = Config::resolve(None, Some(&ini), &environment(&[])).unwrap();
        assert_eq!(config.list("CALLBACKS_ENABLED"), ["profile_tasks", "timer"]);
    }
}
