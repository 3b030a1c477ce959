//! `rplay inventory --list | --graph | --host`, printed as ansible-inventory 2.18
//! prints them: JSON with sorted keys and four-space indents, and the `@group:` tree.

use std::collections::BTreeSet;
use std::sync::Arc;

use rplay_modules::json::{dumps, DumpOptions};
use rplay_modules::pyrepr;

use crate::inventory::{GroupId, HostId, Inventory, InventoryError, VarsDir, RESERVED_NAMES};
use crate::{Map, Value};

/// Variables ansible-inventory leaves out of its output (Ansible's
/// `INTERNAL_STATIC_VARS`): magic and per-run variables.
const INTERNAL_VARS: &[&str] = &[
    "ansible_async_path",
    "ansible_collection_name",
    "ansible_config_file",
    "ansible_dependent_role_names",
    "ansible_diff_mode",
    "ansible_facts",
    "ansible_forks",
    "ansible_inventory_sources",
    "ansible_limit",
    "ansible_play_batch",
    "ansible_play_hosts",
    "ansible_play_hosts_all",
    "ansible_play_role_names",
    "ansible_playbook_python",
    "ansible_role_name",
    "ansible_role_names",
    "ansible_run_tags",
    "ansible_skip_tags",
    "ansible_verbosity",
    "ansible_version",
    "inventory_dir",
    "inventory_file",
    "inventory_hostname",
    "inventory_hostname_short",
    "groups",
    "group_names",
    "omit",
    "hostvars",
    "playbook_dir",
    "play_hosts",
    "role_name",
    "role_names",
    "role_path",
    "role_uuid",
];

/// The variable sources ansible-inventory shows, set by its options.
#[derive(Clone, Debug, Default)]
pub struct InventoryView {
    /// `--export`: each host's and group's own variables instead of each host's
    /// merged ones, and group variables in `--list`.
    pub export: bool,
    /// The directory whose `group_vars/`/`host_vars/` the merged host variables
    /// include: `--playbook-dir`, or else the current directory (Ansible's loader
    /// base directory).
    pub play_dir: Option<Arc<VarsDir>>,
    /// Whether `play_dir` came from `--playbook-dir`; only then does it also apply to
    /// group variables and to `--export`.
    pub play_dir_explicit: bool,
}

/// Text to print and warnings to show, in ansible-inventory's order.
#[derive(Debug, Default)]
pub struct Rendered {
    pub text: String,
    pub warnings: Vec<String>,
}

impl InventoryView {
    fn explicit_dirs(&self) -> Vec<Arc<VarsDir>> {
        match (&self.play_dir, self.play_dir_explicit) {
            (Some(dir), true) => vec![dir.clone()],
            _ => Vec::new(),
        }
    }

    /// Collects a host's variables as ansible-inventory shows them, without internal ones.
    pub fn host_vars(
        &self,
        inventory: &Inventory,
        host: HostId,
        warnings: &mut BTreeSet<String>,
    ) -> Result<Map, InventoryError> {
        let mut vars = if self.export {
            inventory.host_own_vars(host, &self.explicit_dirs())?
        } else {
            let dirs: Vec<Arc<VarsDir>> = self.play_dir.iter().cloned().collect();
            let vars = inventory.host_vars(host, &dirs)?;
            for name in vars.keys().filter_map(Value::as_str) {
                if RESERVED_NAMES.contains(&name) {
                    warnings.insert(format!("Found variable using reserved name: {name}"));
                }
            }
            vars
        };
        vars.retain(|key, _| !key.as_str().is_some_and(|k| INTERNAL_VARS.contains(&k)));
        Ok(vars)
    }

    fn group_vars(&self, inventory: &Inventory, group: GroupId) -> Result<Map, InventoryError> {
        let mut vars = inventory.group_vars(group, &self.explicit_dirs())?;
        vars.retain(|key, _| !key.as_str().is_some_and(|k| INTERNAL_VARS.contains(&k)));
        Ok(vars)
    }
}

fn json(value: &Value) -> String {
    dumps(
        value,
        DumpOptions {
            indent: Some(4),
            sort_keys: true,
            ensure_ascii: false,
        },
    )
}

/// `--list`: every group under `all` with its hosts (those in `available`) and
/// children, and `_meta.hostvars` for each available host with variables.
pub fn render_list(
    inventory: &Inventory,
    available: &[HostId],
    view: &InventoryView,
) -> Result<Rendered, InventoryError> {
    let available_names: BTreeSet<&str> = available
        .iter()
        .map(|h| &*inventory.host(*h).name)
        .collect();
    let mut groups = Map::new();
    let mut seen = BTreeSet::new();
    format_group(
        inventory,
        inventory.all_group(),
        &available_names,
        view,
        &mut seen,
        &mut groups,
    )?;

    let mut warnings = BTreeSet::new();
    let mut hostvars = Map::new();
    for host in available {
        let vars = view.host_vars(inventory, *host, &mut warnings)?;
        if !vars.is_empty() {
            hostvars.insert(
                Value::str(inventory.host(*host).name.clone()),
                Value::map(vars),
            );
        }
    }
    let mut meta = Map::new();
    meta.insert(Value::str("hostvars"), Value::map(hostvars));
    groups.insert(Value::str("_meta"), Value::map(meta));
    Ok(Rendered {
        text: json(&Value::map(groups)),
        warnings: warnings.into_iter().collect(),
    })
}

fn format_group(
    inventory: &Inventory,
    id: GroupId,
    available: &BTreeSet<&str>,
    view: &InventoryView,
    seen: &mut BTreeSet<GroupId>,
    out: &mut Map,
) -> Result<(), InventoryError> {
    let group = inventory.group(id);
    let mut entry = Map::new();
    if id != inventory.all_group() {
        let hosts: Vec<Value> = group
            .hosts
            .iter()
            .map(|h| &inventory.host(*h).name)
            .filter(|name| available.contains(&***name))
            .map(|name| Value::str(name.clone()))
            .collect();
        entry.insert(Value::str("hosts"), Value::list(hosts));
    }
    let mut children = Vec::new();
    for child in &group.children {
        children.push(Value::str(inventory.group(*child).name.clone()));
        if !seen.contains(child) {
            format_group(inventory, *child, available, view, seen, out)?;
            seen.insert(*child);
        }
    }
    entry.insert(Value::str("children"), Value::list(children));
    if view.export {
        entry.insert(
            Value::str("vars"),
            Value::map(view.group_vars(inventory, id)?),
        );
    }
    entry.retain(|_, value| value.is_truthy());
    if !entry.is_empty() {
        out.insert(Value::str(group.name.clone()), Value::map(entry));
    }
    Ok(())
}

/// `--host HOST`: the host's variables as JSON.
pub fn render_host(
    inventory: &Inventory,
    host: HostId,
    view: &InventoryView,
) -> Result<Rendered, InventoryError> {
    let mut warnings = BTreeSet::new();
    let vars = view.host_vars(inventory, host, &mut warnings)?;
    Ok(Rendered {
        text: json(&Value::map(vars)),
        warnings: warnings.into_iter().collect(),
    })
}

/// `--graph [GROUP]`: the tree of groups under `group`, with hosts and, with
/// `show_vars`, each host's and group's variables as `{name = value}` lines.
pub fn render_graph(
    inventory: &Inventory,
    group: GroupId,
    show_vars: bool,
    view: &InventoryView,
) -> Result<Rendered, InventoryError> {
    let mut lines = Vec::new();
    let mut warnings = BTreeSet::new();
    let mut graph = Graph {
        inventory,
        view,
        show_vars,
        lines: &mut lines,
        warnings: &mut warnings,
    };
    graph.group(group, 0)?;
    Ok(Rendered {
        text: lines.join("\n"),
        warnings: warnings.into_iter().collect(),
    })
}

struct Graph<'a> {
    inventory: &'a Inventory,
    view: &'a InventoryView,
    show_vars: bool,
    lines: &'a mut Vec<String>,
    warnings: &'a mut BTreeSet<String>,
}

impl Graph<'_> {
    fn line(&mut self, name: &str, depth: usize) {
        if depth == 0 {
            self.lines.push(name.to_string());
        } else {
            self.lines.push(format!("{}--{name}", "  |".repeat(depth)));
        }
    }

    fn vars(&mut self, vars: &Map, depth: usize) {
        let mut entries: Vec<(String, &Value)> =
            vars.iter().map(|(k, v)| (pyrepr::str(k), v)).collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, value) in entries {
            self.line(&format!("{{{name} = {}}}", pyrepr::str(value)), depth);
        }
    }

    fn group(&mut self, id: GroupId, depth: usize) -> Result<(), InventoryError> {
        let inventory = self.inventory;
        let group = inventory.group(id);
        self.line(&format!("@{}:", group.name), depth);
        for child in &group.children {
            self.group(*child, depth + 1)?;
        }
        if id != inventory.all_group() {
            for host in &group.hosts {
                self.line(&inventory.host(*host).name, depth + 1);
                if self.show_vars {
                    let vars = self.view.host_vars(inventory, *host, self.warnings)?;
                    self.vars(&vars, depth + 2);
                }
            }
        }
        if self.show_vars {
            let vars = self.view.group_vars(inventory, id)?;
            self.vars(&vars, depth + 1);
        }
        Ok(())
    }
}
