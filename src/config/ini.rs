//! A reader for `ansible.cfg`, following Python's `configparser` as ansible-core uses it:
//! `key = value` or `key: value`, keys lower-cased, `#` and `;` comment lines, indented
//! continuation lines, and no interpolation (ansible-core reads values raw).

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::ConfigError;

#[derive(Debug, Default)]
pub struct IniFile {
    sections: IndexMap<String, IndexMap<String, String>>,
}

impl IniFile {
    pub fn read(path: &Path) -> Result<IniFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        IniFile::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<IniFile, ConfigError> {
        let mut ini = IniFile::default();
        let mut section: Option<String> = None;
        let mut last_key: Option<String> = None;
        for (index, raw) in text.lines().enumerate() {
            let error = |message: String| ConfigError::Parse {
                path: PathBuf::from(path),
                message: format!("line {}: {message}", index + 1),
            };
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            let continuation = raw.starts_with([' ', '\t']) && last_key.is_some();
            if continuation {
                if let (Some(section), Some(key)) = (&section, &last_key) {
                    let value = ini.sections[section].get(key).cloned().unwrap_or_default();
                    let joined = if value.is_empty() {
                        trimmed.to_string()
                    } else {
                        format!("{value}\n{trimmed}")
                    };
                    ini.sections[section].insert(key.clone(), joined);
                }
                continue;
            }
            if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                ini.sections.entry(name.to_string()).or_default();
                section = Some(name.to_string());
                last_key = None;
                continue;
            }
            let Some(current) = &section else {
                return Err(error("a setting before the first [section] header".into()));
            };
            let split = trimmed
                .find(['=', ':'])
                .ok_or_else(|| error(format!("expected `key = value`, found {trimmed:?}")))?;
            let key = trimmed[..split].trim().to_ascii_lowercase();
            let value = trimmed[split + 1..].trim().to_string();
            ini.sections[current].insert(key.clone(), value);
            last_key = Some(key);
        }
        Ok(ini)
    }

    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.sections.get(section)?.get(key).map(String::as_str)
    }

    /// Every `(section, key)` in the file.
    pub fn keys(&self) -> impl Iterator<Item = (&str, &str)> {
        self.sections.iter().flat_map(|(section, keys)| {
            keys.keys().map(move |key| (section.as_str(), key.as_str()))
        })
    }
}
