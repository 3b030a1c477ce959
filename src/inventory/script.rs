//! Executable inventory scripts: `SCRIPT --list` prints JSON with groups and, under
//! `_meta.hostvars`, each host's variables.

use std::path::Path;
use std::process::Command;

use super::model::{GroupId, Inventory};
use super::InventoryError;
use crate::{Map, Value};

/// Returns whether Ansible's `script` plugin takes the file: it is executable or
/// starts with `#!`.
pub(crate) fn is_script(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let executable = std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0);
    executable || std::fs::read(path).is_ok_and(|bytes| bytes.starts_with(b"#!"))
}

/// Runs the script with `--list` and adds what it prints.
///
/// NOTE: a script whose output has no `_meta.hostvars` is asked for each host's
/// variables with `--host HOST`, as in Ansible.
pub(crate) fn parse(inventory: &mut Inventory, path: &Path) -> Result<(), InventoryError> {
    let error = |message: String| InventoryError::Parse {
        path: path.to_path_buf(),
        line: None,
        message,
    };
    let data = run(path, &["--list"]).map_err(error)?;
    let Value::Map(data) = data else {
        return Err(error(
            "failed to parse executable inventory script results: needs to be a json dict".into(),
        ));
    };
    let mut hosts: Vec<String> = Vec::new();
    let mut meta_hostvars = None;
    for (name, group_data) in data.iter() {
        let name = name.as_str().unwrap_or_default();
        if name == "_meta" {
            meta_hostvars = group_data.get("hostvars").cloned();
            continue;
        }
        parse_group(inventory, name, group_data, &mut hosts).map_err(&error)?;
    }
    for host in hosts {
        let vars = match &meta_hostvars {
            Some(hostvars) => hostvars
                .get(&host)
                .cloned()
                .unwrap_or_else(Value::empty_map),
            None => run(path, &["--host", &host]).map_err(error)?,
        };
        let Value::Map(vars) = vars else {
            return Err(error(format!(
                "Improperly formatted host information for {host}"
            )));
        };
        let id = inventory.add_host(&host, None, None)?;
        for (key, value) in vars.iter() {
            inventory
                .host_mut(id)
                .vars
                .insert(key.clone(), value.clone());
        }
    }
    Ok(())
}

fn parse_group(
    inventory: &mut Inventory,
    name: &str,
    data: &Value,
    hosts: &mut Vec<String>,
) -> Result<(), String> {
    let group = inventory.add_group(name).map_err(|err| err.to_string())?;
    let data: Map = match data {
        Value::Map(map)
            if ["hosts", "vars", "children"]
                .iter()
                .any(|k| map.contains_key(*k)) =>
        {
            (**map).clone()
        }
        // A mapping without those keys is the short form: the group's own variables,
        // with a host of the group's name.
        Value::Map(map) => [
            (Value::str("hosts"), Value::list(vec![Value::str(name)])),
            (Value::str("vars"), Value::Map(map.clone())),
        ]
        .into_iter()
        .collect(),
        other => [(Value::str("hosts"), other.clone())].into_iter().collect(),
    };
    if let Some(list) = data.get("hosts") {
        let Some(list) = list.as_list() else {
            return Err(format!(
                "You defined a group '{name}' with bad data for the host list:\n {data:?}"
            ));
        };
        for host in list {
            let host = host
                .as_str()
                .ok_or_else(|| format!("host names in group '{name}' must be strings"))?;
            if !hosts.iter().any(|h| h == host) {
                hosts.push(host.to_string());
            }
            inventory
                .add_host(host, Some(group), None)
                .map_err(|err| err.to_string())?;
        }
    }
    if let Some(vars) = data.get("vars") {
        let Some(vars) = vars.as_map() else {
            return Err(format!(
                "You defined a group '{name}' with bad data for variables:\n {data:?}"
            ));
        };
        for (key, value) in vars {
            set_group_var(inventory, group, key, value)?;
        }
    }
    if let Some(children) = data.get("children").and_then(Value::as_list) {
        for child in children {
            let child = child
                .as_str()
                .ok_or_else(|| format!("child names in group '{name}' must be strings"))?;
            let child = inventory.add_group(child).map_err(|err| err.to_string())?;
            inventory
                .add_child_group(group, child)
                .map_err(|err| err.to_string())?;
        }
    }
    Ok(())
}

fn set_group_var(
    inventory: &mut Inventory,
    group: GroupId,
    key: &Value,
    value: &Value,
) -> Result<(), String> {
    inventory
        .set_group_var(group, key.clone(), value.clone())
        .map_err(|err| err.to_string())
}

fn run(path: &Path, args: &[&str]) -> Result<Value, String> {
    let output = Command::new(path).args(args).output().map_err(|err| {
        format!(
            "problem running {} {} ({err})",
            path.display(),
            args.join(" ")
        )
    })?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!(
            "Inventory script ({}) had an execution error: {stderr}",
            path.display()
        ));
    }
    let stdout = String::from_utf8(output.stdout).map_err(|err| {
        format!(
            "Inventory {} contained characters that cannot be interpreted as UTF-8: {err}",
            path.display()
        )
    })?;
    if stdout.trim().is_empty() && args.first() == Some(&"--host") {
        return Ok(Value::empty_map());
    }
    serde_json::from_str::<serde_json::Value>(&stdout)
        .map(Value::from)
        .map_err(|err| {
            format!(
                "failed to parse executable inventory script results from {}: {err}\n{stderr}",
                path.display()
            )
        })
}
