//! Reading `-i` sources into an [`Inventory`], as ansible-core's
//! `InventoryManager.parse_sources` does.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::dir::IgnoreRules;
use super::model::{GroupNameTransform, Inventory};
use super::vars_files::{python_extension, VarsDir, DEFAULT_VARS_EXTENSIONS};
use super::{host_list, ini, script, yaml, InventoryError};
use crate::config::Config;
use crate::vault::VaultSecrets;

/// Settings that change how sources are read, from ansible.cfg and the environment.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// `inventory_ignore_extensions`: names ending so are skipped in directories.
    pub ignore_extensions: Vec<String>,
    /// `[inventory] ignore_patterns`: regexes searched in names inside directories.
    pub ignore_patterns: Vec<String>,
    /// The extensions the YAML plugin accepts besides none (`[inventory_plugin_yaml]
    /// yaml_extensions`).
    pub yaml_extensions: Vec<String>,
    /// `yaml_valid_extensions`, for `group_vars/` and `host_vars/` files.
    pub vars_extensions: Vec<String>,
    /// `force_valid_group_names`.
    pub group_name_transform: GroupNameTransform,
    /// `[inventory] unparsed_is_failed`: no source at all parsed is an error.
    pub unparsed_is_failed: bool,
    /// `[inventory] any_unparsed_is_failed`: any source not parsed is an error.
    pub any_unparsed_is_failed: bool,
    /// `[inventory] inventory_unparsed_warning`.
    pub unparsed_warning: bool,
    /// The directory relative sources are resolved against.
    pub cwd: PathBuf,
    /// Decrypt the sources and variable files that are vault-encrypted.
    pub vault_secrets: VaultSecrets,
    /// The message of the extra variables (`-e`) that cannot be read. ansible-core's
    /// inventory plugins read the extra variables before their source, so every plugin
    /// but `auto` fails with it.
    pub extra_vars_error: Option<String>,
}

/// Ansible's default `inventory_ignore_extensions`.
pub const DEFAULT_IGNORE_EXTENSIONS: [&str; 13] = [
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".ini", ".cfg",
    ".retry",
];

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            ignore_extensions: DEFAULT_IGNORE_EXTENSIONS
                .iter()
                .map(|e| e.to_string())
                .collect(),
            ignore_patterns: Vec::new(),
            yaml_extensions: [".yaml", ".yml", ".json"]
                .iter()
                .map(|e| e.to_string())
                .collect(),
            vars_extensions: DEFAULT_VARS_EXTENSIONS
                .iter()
                .map(|e| e.to_string())
                .collect(),
            group_name_transform: GroupNameTransform::default(),
            unparsed_is_failed: false,
            any_unparsed_is_failed: false,
            unparsed_warning: true,
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
            vault_secrets: VaultSecrets::default(),
            extra_vars_error: None,
        }
    }
}

impl LoadOptions {
    /// Takes the inventory settings from the resolved configuration; relative
    /// sources are resolved against `cwd`.
    pub fn from_config(config: &Config, cwd: PathBuf) -> LoadOptions {
        let group_name_transform = match config.str("TRANSFORM_INVALID_GROUP_CHARS") {
            Some("ignore") => GroupNameTransform::Ignore,
            Some("always") => GroupNameTransform::Always,
            Some("silently") => GroupNameTransform::Silently,
            _ => GroupNameTransform::Never,
        };
        LoadOptions {
            ignore_extensions: config.list("INVENTORY_IGNORE_EXTS").to_vec(),
            ignore_patterns: config.list("INVENTORY_IGNORE_PATTERNS").to_vec(),
            vars_extensions: config.list("YAML_FILENAME_EXTENSIONS").to_vec(),
            group_name_transform,
            unparsed_is_failed: config.bool("INVENTORY_UNPARSED_IS_FAILED"),
            any_unparsed_is_failed: config.bool("INVENTORY_ANY_UNPARSED_IS_FAILED"),
            unparsed_warning: config.bool("INVENTORY_UNPARSED_WARNING"),
            cwd,
            ..LoadOptions::default()
        }
    }
}

/// The inventory plugins Ansible enables by default, in the order it tries them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plugin {
    HostList,
    Script,
    Auto,
    Yaml,
    Ini,
    Toml,
}

impl Plugin {
    const ENABLED: [Plugin; 6] = [
        Plugin::HostList,
        Plugin::Script,
        Plugin::Auto,
        Plugin::Yaml,
        Plugin::Ini,
        Plugin::Toml,
    ];

    fn name(self) -> &'static str {
        match self {
            Plugin::HostList => "host_list",
            Plugin::Script => "script",
            Plugin::Auto => "auto",
            Plugin::Yaml => "yaml",
            Plugin::Ini => "ini",
            Plugin::Toml => "toml",
        }
    }
}

/// Loads the sources in order into one inventory and reconciles it. Without any
/// source, reads `/etc/ansible/hosts` as Ansible does.
pub fn load(sources: &[String], options: &LoadOptions) -> Result<Inventory, InventoryError> {
    let default_sources = ["/etc/ansible/hosts".to_string()];
    let sources = if sources.is_empty() {
        &default_sources[..]
    } else {
        sources
    };
    let ignore = IgnoreRules::new(&options.ignore_extensions, &options.ignore_patterns)?;
    let mut loader = SourceLoader {
        inventory: Inventory::new(options.group_name_transform),
        options,
        ignore,
    };
    let mut parsed = false;
    for source in sources.iter().filter(|s| !s.is_empty()) {
        let source = if source.contains(',') {
            source.clone()
        } else {
            absolute_path(source, &options.cwd)
                .to_string_lossy()
                .into_owned()
        };
        parsed |= loader.parse_source(&source)?;
    }
    let mut inventory = loader.inventory;
    if parsed {
        inventory.reconcile()?;
    } else if options.unparsed_is_failed {
        return Err(InventoryError::NothingParsed);
    } else if options.unparsed_warning {
        inventory.warn("No inventory was parsed, only implicit localhost is available");
    }
    inventory.vars_dirs = vars_dirs(sources, options);
    Ok(inventory)
}

/// Lists the directories whose `group_vars/` and `host_vars/` belong to the inventory: each
/// source's own directory, or the source when it is a directory. Host lists have none.
fn vars_dirs(sources: &[String], options: &LoadOptions) -> Vec<Arc<VarsDir>> {
    sources
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|source| {
            let path = options.cwd.join(source);
            if source.contains(',') && !path.exists() {
                return None;
            }
            let dir = if path.is_dir() {
                path
            } else {
                path.parent().map(Path::to_path_buf).unwrap_or_default()
            };
            Some(Arc::new(VarsDir::with_extensions(
                &dir,
                &options.vars_extensions,
                options.vault_secrets.clone(),
            )))
        })
        .collect()
}

struct SourceLoader<'a> {
    inventory: Inventory,
    options: &'a LoadOptions,
    ignore: IgnoreRules,
}

impl SourceLoader<'_> {
    /// Parses one source; returns whether any plugin parsed it (or, for a
    /// directory, any file in it).
    fn parse_source(&mut self, source: &str) -> Result<bool, InventoryError> {
        let path = Path::new(source);
        if path.is_dir() {
            let mut parsed = false;
            for entry in super::dir::entries(path, &self.ignore) {
                let entry = entry.to_string_lossy().into_owned();
                parsed |= self.parse_source(&entry)?;
            }
            if !parsed {
                self.report_unparsed(source, Vec::new())?;
            }
            return Ok(parsed);
        }
        self.inventory.current_source = Some(source.to_string());
        let mut failures = Vec::new();
        let mut parsed = false;
        for plugin in Plugin::ENABLED {
            if !self.plugin_accepts(plugin, source) {
                self.inventory.plugin_log.push(format!(
                    "{} declined parsing {source} as it did not pass its verify_file() method",
                    plugin.name()
                ));
                continue;
            }
            match self.run_plugin(plugin, source) {
                Ok(()) => {
                    self.inventory.plugin_log.push(format!(
                        "Parsed {source} inventory source with {} plugin",
                        plugin.name()
                    ));
                    parsed = true;
                    break;
                }
                Err(err) => failures.push((plugin, err)),
            }
        }
        self.inventory.current_source = None;
        if !parsed {
            self.report_unparsed(source, failures)?;
        }
        Ok(parsed)
    }

    /// Checks whether `plugin` takes `source`, as each plugin's `verify_file` does.
    fn plugin_accepts(&self, plugin: Plugin, source: &str) -> bool {
        let path = Path::new(source);
        let readable = path.exists() && std::fs::File::open(path).is_ok();
        let extension = python_extension(source);
        match plugin {
            Plugin::HostList => !path.exists() && source.contains(','),
            Plugin::Script => readable && script::is_script(path),
            Plugin::Auto => readable && (source.ends_with(".yml") || source.ends_with(".yaml")),
            Plugin::Yaml => {
                readable
                    && (extension.is_empty()
                        || self.options.yaml_extensions.iter().any(|e| e == extension))
            }
            Plugin::Ini => readable,
            Plugin::Toml => readable && extension == ".toml",
        }
    }

    fn run_plugin(&mut self, plugin: Plugin, source: &str) -> Result<(), InventoryError> {
        let path = Path::new(source);
        let unsupported = |what: String| InventoryError::Parse {
            path: path.to_path_buf(),
            line: None,
            message: what,
        };
        if let Some(message) = &self.options.extra_vars_error {
            if plugin != Plugin::Auto {
                return Err(unsupported(message.clone()));
            }
        }
        let secrets = &self.options.vault_secrets;
        match plugin {
            Plugin::HostList => host_list::parse(&mut self.inventory, source),
            Plugin::Script => script::parse(&mut self.inventory, path),
            Plugin::Auto => match yaml::plugin_name(path, secrets)? {
                Some(name) => Err(unsupported(format!(
                    "inventory plugin '{name}' is not supported by rplay"
                ))),
                None => Err(unsupported(format!(
                    "no root 'plugin' key found, '{source}' is not a valid YAML inventory plugin config file"
                ))),
            },
            Plugin::Yaml => yaml::parse(&mut self.inventory, path, secrets),
            Plugin::Ini => ini::parse(&mut self.inventory, path, secrets),
            Plugin::Toml => Err(unsupported(
                "TOML inventories are not supported by rplay".into(),
            )),
        }
    }

    fn report_unparsed(
        &mut self,
        source: &str,
        failures: Vec<(Plugin, InventoryError)>,
    ) -> Result<(), InventoryError> {
        // Ansible keeps quiet about the default source when it does not exist.
        if source == "/etc/ansible/hosts" && !Path::new(source).exists() {
            return Ok(());
        }
        for (plugin, err) in failures {
            self.inventory.warn(format!(
                "\n* Failed to parse {source} with {} plugin: {err}",
                plugin.name()
            ));
        }
        if self.options.any_unparsed_is_failed {
            return Err(InventoryError::Unparsed {
                name: source.to_string(),
            });
        }
        self.inventory
            .warn(format!("Unable to parse {source} as an inventory source"));
        Ok(())
    }
}

/// Ansible's `unfrackpath(path, follow=False)`: `~` and `$VAR` expanded, made
/// absolute against `cwd` and normalised without resolving symlinks.
pub(crate) fn absolute_path(path: &str, cwd: &Path) -> PathBuf {
    let expanded = expand_vars(&expand_user(path));
    let joined = cwd.join(expanded);
    let mut normal = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    normal
}

fn expand_user(path: &str) -> String {
    let home = std::env::var("HOME").unwrap_or_default();
    match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{home}{rest}"),
        _ => path.to_string(),
    }
}

/// Python's `os.path.expandvars`: `$NAME` and `${NAME}` of set variables are
/// replaced; unset ones stay as written.
fn expand_vars(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let (name, consumed) = match after.strip_prefix('{') {
            Some(braced) => match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            },
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        match std::env::var(name) {
            Ok(value) if !name.is_empty() => out.push_str(&value),
            _ => out.push_str(&rest[dollar..dollar + 1 + consumed]),
        }
        rest = &rest[dollar + 1 + consumed..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_without_inventory_warns() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hosts.ini"), "[web]\nweb1\n").unwrap();
        std::fs::write(dir.path().join("README.md"), "not an inventory\n").unwrap();
        let source = dir.path().display().to_string();
        let mut inventory = load(std::slice::from_ref(&source), &LoadOptions::default()).unwrap();
        assert_eq!(inventory.hosts().len(), 0);
        assert_eq!(
            inventory.take_warnings(),
            [
                format!("Unable to parse {source} as an inventory source"),
                "No inventory was parsed, only implicit localhost is available".to_string(),
            ]
        );
    }

    #[test]
    fn relative_sources_resolved_against_cwd() {
        let cwd = Path::new("/srv/deploy");
        assert_eq!(
            absolute_path("inv/../hosts", cwd),
            Path::new("/srv/deploy/hosts")
        );
        assert_eq!(
            absolute_path("/etc/hosts.ini", cwd),
            Path::new("/etc/hosts.ini")
        );
        assert_eq!(absolute_path("./a/./b", cwd), Path::new("/srv/deploy/a/b"));
    }
}
