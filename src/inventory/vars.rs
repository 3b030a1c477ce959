//! A host's inventory variables, layered as ansible-core 2.18's `VariableManager`
//! layers them.
//!
//! With the default `precedence` setting the group layers are, lowest first:
//! `all`'s inventory vars, the host's other groups' inventory vars, `group_vars/all`
//! beside the inventory, `group_vars/all` beside the playbook, `group_vars/GROUP`
//! beside the inventory, `group_vars/GROUP` beside the playbook. Then come the host's
//! inventory vars (with its magic vars), `host_vars/HOST` beside the inventory and
//! `host_vars/HOST` beside the playbook. Groups are ordered by depth, then
//! `ansible_group_priority`, then name, so deeper groups win over their parents.
//! Each layer replaces whole top-level keys (`hash_behaviour = replace`).

use std::sync::Arc;

use super::model::{GroupId, HostId, Inventory};
use super::vars_files::VarsDir;
use super::InventoryError;
use crate::Map;

/// Variable names Ansible warns about ("Found variable using reserved name: NAME"):
/// the keywords of plays, roles, blocks and tasks, and a few template globals
/// (`ansible.vars.reserved.get_reserved_names()` in ansible-core 2.18, without `vars`,
/// which Ansible skips).
pub const RESERVED_NAMES: &[&str] = &[
    "action",
    "always",
    "any_errors_fatal",
    "args",
    "async",
    "async_val",
    "become",
    "become_exe",
    "become_flags",
    "become_method",
    "become_user",
    "block",
    "changed_when",
    "check_mode",
    "collections",
    "connection",
    "cycler",
    "debugger",
    "delay",
    "delegate_facts",
    "delegate_to",
    "dict",
    "diff",
    "environment",
    "fact_path",
    "failed_when",
    "force_handlers",
    "gather_facts",
    "gather_timeout",
    "handlers",
    "hosts",
    "ignore_errors",
    "ignore_unreachable",
    "joiner",
    "lipsum",
    "local_action",
    "lookup",
    "loop",
    "loop_control",
    "loop_with",
    "max_fail_percentage",
    "module_defaults",
    "name",
    "namespace",
    "no_log",
    "notify",
    "now",
    "order",
    "poll",
    "port",
    "post_tasks",
    "pre_tasks",
    "q",
    "query",
    "range",
    "register",
    "remote_user",
    "rescue",
    "retries",
    "roles",
    "run_once",
    "serial",
    "strategy",
    "tags",
    "tasks",
    "throttle",
    "timeout",
    "undef",
    "until",
    "vars_files",
    "vars_prompt",
    "when",
    "with_",
];

/// Merges `new` over `base` as Ansible's `combine_vars` does with the default
/// `hash_behaviour = replace`: a key of `new` replaces the whole value of `base`, and
/// keeps the position it had in `base`.
///
/// NOTE: `hash_behaviour = merge` (deprecated in Ansible) is not supported.
pub fn combine_vars(mut base: Map, new: &Map) -> Map {
    for (key, value) in new {
        base.insert(key.clone(), value.clone());
    }
    base
}

/// The inventory's contribution to a host's variables, one field per layer, lowest
/// precedence first. The variable manager inserts the playbook-directory layers
/// at the places the field docs name.
#[derive(Clone, Debug, Default)]
pub struct InventoryVarLayers {
    /// `all_inventory`: the `all` group's variables from inventory sources.
    pub all_inventory: Map,
    /// `groups_inventory`: the host's other groups' variables from inventory
    /// sources, merged in [`Inventory::sorted_host_groups`] order.
    pub groups_inventory: Map,
    /// `all_plugins_inventory`: `group_vars/all` beside each inventory source.
    /// `all_plugins_play` (`group_vars/all` beside the playbook) comes next.
    pub all_plugins_inventory: Map,
    /// `groups_plugins_inventory`: `group_vars/GROUP` beside each inventory source,
    /// for each source in order, and within it for each group in sorted order.
    /// `groups_plugins_play` comes next.
    pub groups_plugins_inventory: Map,
    /// The host's variables from inventory sources, with `inventory_hostname`,
    /// `inventory_hostname_short` and `group_names` over them (`host.get_vars()`).
    pub host_inventory: Map,
    /// `host_vars/HOST` beside each inventory source. `host_vars/HOST` beside the
    /// playbook comes next.
    pub host_plugins_inventory: Map,
}

impl InventoryVarLayers {
    /// Merges the layers, with the given playbook-directory layers in their places.
    pub fn combine(&self, play: &PlayDirVars) -> Map {
        let layers = [
            &self.all_inventory,
            &self.groups_inventory,
            &self.all_plugins_inventory,
            &play.all,
            &self.groups_plugins_inventory,
            &play.groups,
            &self.host_inventory,
            &self.host_plugins_inventory,
            &play.host,
        ];
        layers.into_iter().fold(Map::new(), combine_vars)
    }
}

/// The `group_vars/` and `host_vars/` layers that come from beside the playbook
/// (Ansible's `*_plugins_play`), empty when there is no such directory.
#[derive(Clone, Debug, Default)]
pub struct PlayDirVars {
    /// `all_plugins_play`.
    pub all: Map,
    /// `groups_plugins_play`.
    pub groups: Map,
    /// `host_vars/HOST` beside the playbook.
    pub host: Map,
}

impl Inventory {
    /// Returns the host's groups other than `all`, ordered by depth, then priority,
    /// then name: the order in which their variables are merged.
    pub fn sorted_host_groups(&self, host: HostId) -> Vec<GroupId> {
        let all = self.all_group();
        let mut groups: Vec<GroupId> = self
            .host(host)
            .groups
            .iter()
            .copied()
            .filter(|g| *g != all)
            .collect();
        groups.sort_by(|a, b| {
            let (a, b) = (self.group(*a), self.group(*b));
            (a.depth, a.priority, &a.name).cmp(&(b.depth, b.priority, &b.name))
        });
        groups
    }

    /// Computes the inventory layers of `host`'s variables, reading `group_vars/` and
    /// `host_vars/` beside the inventory sources on first use.
    pub fn host_var_layers(&self, host: HostId) -> Result<InventoryVarLayers, InventoryError> {
        let groups = self.sorted_host_groups(host);
        let all = self.all_group();
        let groups_inventory = groups.iter().fold(Map::new(), |vars, g| {
            combine_vars(vars, &self.group(*g).vars)
        });
        let host_inventory =
            combine_vars(self.host(host).vars.clone(), &self.host_magic_vars(host));
        Ok(InventoryVarLayers {
            all_inventory: self.group(all).vars.clone(),
            groups_inventory,
            all_plugins_inventory: self.dirs_group_vars(&self.vars_dirs, &[all])?,
            groups_plugins_inventory: self.dirs_group_vars(&self.vars_dirs, &groups)?,
            host_inventory,
            host_plugins_inventory: dirs_host_vars(&self.vars_dirs, &self.host(host).name)?,
        })
    }

    /// Computes the playbook-directory layers for `host` from `dirs` (Ansible's
    /// play basedirs, in order).
    pub fn play_dir_vars(
        &self,
        host: HostId,
        dirs: &[Arc<VarsDir>],
    ) -> Result<PlayDirVars, InventoryError> {
        let groups = self.sorted_host_groups(host);
        Ok(PlayDirVars {
            all: self.dirs_group_vars(dirs, &[self.all_group()])?,
            groups: self.dirs_group_vars(dirs, &groups)?,
            host: dirs_host_vars(dirs, &self.host(host).name)?,
        })
    }

    /// Merges the host's variables from the inventory and, when given, from the playbook
    /// directories' `group_vars/` and `host_vars/`, merged in Ansible's order.
    pub fn host_vars(
        &self,
        host: HostId,
        play_dirs: &[Arc<VarsDir>],
    ) -> Result<Map, InventoryError> {
        let layers = self.host_var_layers(host)?;
        let play = self.play_dir_vars(host, play_dirs)?;
        Ok(layers.combine(&play))
    }

    /// Collects the variables of `group` as `ansible-inventory` shows them: its
    /// inventory variables, then `group_vars/` beside the inventory sources and in
    /// `play_dirs`, then `ansible_group_priority` when it is not 1.
    pub fn group_vars(
        &self,
        group: GroupId,
        play_dirs: &[Arc<VarsDir>],
    ) -> Result<Map, InventoryError> {
        let mut vars = self.group(group).vars.clone();
        vars = combine_vars(vars, &self.dirs_group_vars(&self.vars_dirs, &[group])?);
        vars = combine_vars(vars, &self.dirs_group_vars(play_dirs, &[group])?);
        let priority = self.group(group).priority;
        if priority != 1 {
            vars.insert("ansible_group_priority".into(), priority.into());
        }
        Ok(vars)
    }

    /// The host's own variables and its `host_vars/` files, without group variables
    /// (what `ansible-inventory --export` shows for a host).
    pub fn host_own_vars(
        &self,
        host: HostId,
        play_dirs: &[Arc<VarsDir>],
    ) -> Result<Map, InventoryError> {
        let mut vars = combine_vars(self.host(host).vars.clone(), &self.host_magic_vars(host));
        vars = combine_vars(
            vars,
            &dirs_host_vars(&self.vars_dirs, &self.host(host).name)?,
        );
        vars = combine_vars(vars, &dirs_host_vars(play_dirs, &self.host(host).name)?);
        Ok(vars)
    }

    fn dirs_group_vars(
        &self,
        dirs: &[Arc<VarsDir>],
        groups: &[GroupId],
    ) -> Result<Map, InventoryError> {
        // Each directory's groups are merged first, then the directories, as Ansible
        // merges per inventory source; a directory listed twice then changes nothing.
        let mut vars = Map::new();
        for dir in dirs {
            let mut dir_vars = Map::new();
            for group in groups {
                dir_vars = combine_vars(dir_vars, &*dir.group_vars(&self.group(*group).name)?);
            }
            vars = combine_vars(vars, &dir_vars);
        }
        Ok(vars)
    }
}

fn dirs_host_vars(dirs: &[Arc<VarsDir>], host: &str) -> Result<Map, InventoryError> {
    let mut vars = Map::new();
    for dir in dirs {
        vars = combine_vars(vars, &*dir.host_vars(host)?);
    }
    Ok(vars)
}
