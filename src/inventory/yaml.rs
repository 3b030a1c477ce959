//! YAML and JSON inventories, as ansible-core's `yaml` inventory plugin reads them.
//!
//! The top-level keys are groups. A group maps `hosts`, `vars` and `children` to
//! mappings (or to a single name as a string). Hosts map to their variables, and
//! children are groups in the same form. Host keys may carry ports and ranges
//! (`web[01:03]:2222`). JSON files use the same shape, since Ansible loads them
//! through the same plugin.

use std::path::Path;

use super::address::expand_host_pattern;
use super::model::{GroupId, Inventory};
use super::vars_files::load_data_file;
use super::InventoryError;
use crate::vault::VaultSecrets;
use crate::{Map, Value};

/// Returns the `plugin` key of a YAML file, present when the file configures an
/// inventory plugin rather than listing an inventory. Only a vault-encrypted file that
/// cannot be decrypted is an error; a file that does not parse has no plugin key.
pub(crate) fn plugin_name(
    path: &Path,
    secrets: &VaultSecrets,
) -> Result<Option<String>, InventoryError> {
    let data = match load_data_file(path, secrets) {
        Ok((data, _)) => data,
        Err(err @ InventoryError::Vault(_)) => return Err(err),
        Err(_) => return Ok(None),
    };
    Ok(data.get("plugin").map(|name| {
        name.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{name:?}"))
    }))
}

/// Parses the YAML or JSON inventory at `path` into `inventory`.
pub(crate) fn parse(
    inventory: &mut Inventory,
    path: &Path,
    secrets: &VaultSecrets,
) -> Result<(), InventoryError> {
    let error = |message: String| InventoryError::Parse {
        path: path.to_path_buf(),
        line: None,
        message,
    };
    let (data, warnings) = load_data_file(path, secrets)?;
    for warning in warnings {
        inventory.warn(warning);
    }
    if !data.is_truthy() {
        return Err(error("Parsed empty YAML file".into()));
    }
    let Value::Map(data) = data else {
        return Err(error(format!(
            "YAML inventory has invalid structure, it should be a dictionary, got: {}",
            python_class(&data)
        )));
    };
    if data.get("plugin").is_some_and(Value::is_truthy) {
        return Err(error(
            "Plugin configuration YAML file, not YAML inventory".into(),
        ));
    }
    let mut parser = YamlParser { inventory, path };
    for (name, group_data) in data.iter() {
        parser.parse_group(name, group_data)?;
    }
    Ok(())
}

struct YamlParser<'a> {
    inventory: &'a mut Inventory,
    path: &'a Path,
}

impl YamlParser<'_> {
    fn error(&self, message: String) -> InventoryError {
        InventoryError::Parse {
            path: self.path.to_path_buf(),
            line: None,
            message,
        }
    }

    /// Adds the group `name` with its hosts, variables and children. Returns the
    /// group's name, which the parent group adds as a child even when the group's
    /// data was skipped, as Ansible does.
    fn parse_group(&mut self, name: &Value, data: &Value) -> Result<String, InventoryError> {
        let display_name = python_str(name);
        if !matches!(data, Value::Map(_) | Value::Null) {
            self.inventory.warn(format!(
                "Skipping '{display_name}' as this is not a valid group definition"
            ));
            return Ok(display_name);
        }
        let Some(text) = name.as_str() else {
            return Err(self.error(format!(
                "Unable to add group {display_name}: Invalid group name supplied, expected a string but got {} for {display_name}",
                python_class(name)
            )));
        };
        let group = self
            .inventory
            .add_group(text)
            .map_err(|err| self.error(format!("Unable to add group {display_name}: {err}")))?;
        let group_name = self.inventory.group(group).name.to_string();
        let Value::Map(data) = data else {
            return Ok(group_name);
        };
        let data = normalize_sections(data, &group_name).map_err(|message| self.error(message))?;
        for (key, value) in data.iter() {
            let key_name = python_str(key);
            match value {
                Value::Null => continue,
                Value::Map(_) => {}
                other => {
                    self.inventory.warn(format!(
                        "Skipping key ({key_name}) in group ({group_name}) as it is not a mapping, it is a {}",
                        python_class(other)
                    ));
                    continue;
                }
            }
            let entries = value.as_map().map(|m| m.iter()).into_iter().flatten();
            match key.as_str() {
                Some("vars") => {
                    for (var, var_value) in entries {
                        self.inventory
                            .set_group_var(group, var.clone(), var_value.clone())
                            .map_err(|err| self.error(err.to_string()))?;
                    }
                }
                Some("children") => {
                    for (child, child_data) in entries {
                        let child = self.parse_group(child, child_data)?;
                        self.inventory.add_child(group, &child)?;
                    }
                }
                Some("hosts") => {
                    for (pattern, host_vars) in entries {
                        self.parse_host(group, pattern, host_vars)?;
                    }
                }
                _ => self.inventory.warn(format!(
                    "Skipping unexpected key ({key_name}) in group ({group_name}), only \"vars\", \"children\" and \"hosts\" are valid"
                )),
            }
        }
        Ok(group_name)
    }

    fn parse_host(
        &mut self,
        group: GroupId,
        pattern: &Value,
        vars: &Value,
    ) -> Result<(), InventoryError> {
        let Some(pattern) = pattern.as_str() else {
            return Err(self.error(format!(
                "Host pattern {} must be a string. Enclose integers/floats in quotation marks.",
                python_str(pattern)
            )));
        };
        let (hosts, port) = expand_host_pattern(pattern)?;
        let vars = if vars.is_truthy() {
            vars.clone()
        } else {
            Value::empty_map()
        };
        let Value::Map(vars) = vars else {
            return Err(self.error(format!(
                "Invalid data from file, expected dictionary and got:\n\n{}",
                python_str(&vars)
            )));
        };
        for host in hosts {
            let id = self.inventory.add_host(&host, Some(group), port)?;
            for (key, value) in vars.iter() {
                self.inventory.set_host_var(id, key.clone(), value.clone());
            }
        }
        Ok(())
    }
}

/// Turns a string under `vars`, `children` or `hosts` into a one-key mapping and
/// rejects other non-mappings there.
fn normalize_sections(data: &Map, group: &str) -> Result<Map, String> {
    let mut data = data.clone();
    for section in ["vars", "children", "hosts"] {
        let Some(value) = data.get_mut(section) else {
            continue;
        };
        if let Some(name) = value.as_str() {
            let mut single = Map::new();
            single.insert(Value::str(name), Value::Null);
            *value = Value::map(single);
        }
        if !matches!(value, Value::Map(_) | Value::Null) {
            return Err(format!(
                "Invalid \"{section}\" entry for \"{group}\" group, requires a dictionary, found \"{}\" instead.",
                python_class(value)
            ));
        }
    }
    Ok(data)
}

/// Python's `str(value)` for messages: text as is, other values as their repr.
fn python_str(value: &Value) -> String {
    match value.as_str() {
        Some(text) => text.to_string(),
        None => format!("{value:?}"),
    }
}

/// Python's `type(value)` as `%s` prints it.
fn python_class(value: &Value) -> String {
    let name = match value {
        Value::Str(_) | Value::Unsafe(_) => "str",
        other => other.type_name(),
    };
    format!("<class '{name}'>")
}
