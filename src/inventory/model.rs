//! Hosts, groups and their relationships, kept as ansible-core's `InventoryData` keeps
//! them.
//!
//! Hosts and groups are stored in the order they were first added, which is the order
//! Ansible iterates them. Every inventory has the groups `all` and `ungrouped`;
//! [`Inventory::reconcile`] makes every group without a parent a child of `all` and
//! puts a host in `ungrouped` exactly when it belongs to no group other than `all`.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use indexmap::IndexMap;

use super::address::looks_like_ip_address;
use super::vars_files::VarsDir;
use super::InventoryError;
use crate::{Map, Value};

/// The names Ansible treats as the controller itself (`C.LOCALHOST`).
pub const LOCALHOST_NAMES: [&str; 3] = ["127.0.0.1", "localhost", "::1"];

/// A host's position in [`Inventory::hosts`]. The implicit localhost, which is not in
/// that list, has its own id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(pub(crate) usize);

impl HostId {
    pub(crate) const IMPLICIT_LOCALHOST: HostId = HostId(usize::MAX);

    pub fn is_implicit_localhost(self) -> bool {
        self == HostId::IMPLICIT_LOCALHOST
    }
}

/// A group's position in [`Inventory::groups`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub(crate) usize);

/// The treatment ansible.cfg's `force_valid_group_names` sets for group names with
/// characters that are invalid in a variable name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupNameTransform {
    /// Keep the name and warn (Ansible's default).
    #[default]
    Never,
    /// Keep the name silently.
    Ignore,
    /// Replace each invalid character with `_` and warn.
    Always,
    /// Replace each invalid character with `_` silently.
    Silently,
}

#[derive(Clone, Debug)]
pub struct Host {
    pub name: Arc<str>,
    /// Variables set on the host by inventory sources and `add_host`, including
    /// `ansible_port` from `host:port`, `inventory_file` and `inventory_dir`.
    pub vars: Map,
    /// The groups the host is in, directly or through a child group, in the order
    /// Ansible records them; `all` included.
    pub groups: Vec<GroupId>,
    /// The localhost Ansible creates when a pattern names `localhost` (or
    /// `127.0.0.1`, `::1`) and the inventory has no such host. It is in no group.
    pub implicit: bool,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub name: Arc<str>,
    /// Length of the longest path from `all`; `all` itself is 0.
    pub depth: usize,
    /// `ansible_group_priority`, 1 unless set.
    pub priority: i64,
    /// Variables set on the group by inventory sources (not `group_vars/` files).
    pub vars: Map,
    /// Hosts added to this group directly, in order.
    pub hosts: Vec<HostId>,
    pub children: Vec<GroupId>,
    pub parents: Vec<GroupId>,
}

/// The loaded inventory.
#[derive(Debug)]
pub struct Inventory {
    pub(crate) hosts: IndexMap<Arc<str>, Host>,
    pub(crate) groups: IndexMap<Arc<str>, Group>,
    /// The first host whose name is one of [`LOCALHOST_NAMES`].
    pub(crate) localhost: Option<HostId>,
    pub(crate) implicit_localhost: OnceLock<Host>,
    /// The inventory source being parsed; new hosts record it as `inventory_file`.
    pub(crate) current_source: Option<String>,
    /// `group_vars/` and `host_vars/` beside each inventory source, in source order.
    pub(crate) vars_dirs: Vec<Arc<VarsDir>>,
    pub(crate) group_name_transform: GroupNameTransform,
    pub(crate) warnings: Vec<String>,
    /// What each inventory plugin did with each source, which `-vvv` prints.
    pub(crate) plugin_log: Vec<String>,
}

impl Default for Inventory {
    fn default() -> Self {
        Inventory::new(GroupNameTransform::default())
    }
}

impl Inventory {
    /// Creates an inventory holding only the groups `all` and `ungrouped`.
    pub fn new(group_name_transform: GroupNameTransform) -> Inventory {
        let mut inventory = Inventory {
            hosts: IndexMap::new(),
            groups: IndexMap::new(),
            localhost: None,
            implicit_localhost: OnceLock::new(),
            current_source: None,
            vars_dirs: Vec::new(),
            group_name_transform,
            warnings: Vec::new(),
            plugin_log: Vec::new(),
        };
        let all = inventory.insert_group("all");
        let ungrouped = inventory.insert_group("ungrouped");
        // Both groups are new and distinct, so this edge cannot form a loop.
        let _ = inventory.add_child_group(all, ungrouped);
        inventory
    }

    pub fn hosts(&self) -> impl ExactSizeIterator<Item = (HostId, &Host)> {
        self.hosts
            .values()
            .enumerate()
            .map(|(i, host)| (HostId(i), host))
    }

    pub fn groups(&self) -> impl ExactSizeIterator<Item = (GroupId, &Group)> {
        self.groups
            .values()
            .enumerate()
            .map(|(i, group)| (GroupId(i), group))
    }

    pub fn host(&self, id: HostId) -> &Host {
        if id.is_implicit_localhost() {
            return self.implicit_localhost.get().unwrap_or_else(|| {
                unreachable!("the implicit localhost id is handed out only after it exists")
            });
        }
        &self.hosts[id.0]
    }

    pub fn group(&self, id: GroupId) -> &Group {
        &self.groups[id.0]
    }

    pub fn host_id(&self, name: &str) -> Option<HostId> {
        self.hosts.get_index_of(name).map(HostId)
    }

    pub fn group_id(&self, name: &str) -> Option<GroupId> {
        self.groups.get_index_of(name).map(GroupId)
    }

    pub fn all_group(&self) -> GroupId {
        GroupId(0)
    }

    pub fn ungrouped_group(&self) -> GroupId {
        GroupId(1)
    }

    /// Looks up a host by name, creating the implicit localhost when `name` is one of
    /// [`LOCALHOST_NAMES`] and the inventory has no such host.
    pub fn get_host(&self, name: &str) -> Option<HostId> {
        if let Some(id) = self.host_id(name) {
            return Some(id);
        }
        if !LOCALHOST_NAMES.contains(&name) {
            return None;
        }
        if let Some(id) = self.localhost {
            return Some(id);
        }
        self.implicit_localhost
            .get_or_init(|| implicit_localhost(name));
        Some(HostId::IMPLICIT_LOCALHOST)
    }

    /// Returns the implicit localhost once a lookup of one of [`LOCALHOST_NAMES`] has
    /// created it (`delegate_to: localhost`, a `localhost` pattern, ...), else `None`.
    pub fn created_implicit_localhost(&self) -> Option<&Host> {
        self.implicit_localhost.get()
    }

    /// Warnings gathered while loading and changing the inventory, in `[WARNING]:`
    /// text without the prefix. Draining them leaves the list empty.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// Takes the lines `-vvv` prints about parsing the sources: which plugins declined
    /// each source and which one parsed it.
    pub fn take_plugin_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.plugin_log)
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Returns the directories whose `group_vars/` and `host_vars/` belong to the
    /// inventory.
    pub fn vars_dirs(&self) -> &[Arc<VarsDir>] {
        &self.vars_dirs
    }

    /// Adds a group unless it exists and returns its id. The name is first made safe
    /// as `force_valid_group_names` requests.
    pub fn add_group(&mut self, name: &str) -> Result<GroupId, InventoryError> {
        if name.is_empty() {
            return Err(InventoryError::EmptyGroupName);
        }
        if let Some(id) = self.group_id(name) {
            return Ok(id);
        }
        let name = self.safe_group_name(name);
        Ok(self.insert_group(&name))
    }

    fn insert_group(&mut self, name: &str) -> GroupId {
        if let Some(id) = self.group_id(name) {
            return id;
        }
        let name: Arc<str> = name.into();
        let group = Group {
            name: name.clone(),
            depth: 0,
            priority: 1,
            vars: Map::new(),
            hosts: Vec::new(),
            children: Vec::new(),
            parents: Vec::new(),
        };
        let (index, _) = self.groups.insert_full(name, group);
        GroupId(index)
    }

    fn safe_group_name(&mut self, name: &str) -> String {
        let invalid = |c: char| !(c.is_alphanumeric() || c == '_');
        let starts_badly = name
            .chars()
            .next()
            .is_some_and(|c| c.is_numeric() || invalid(c));
        if !starts_badly && !name.chars().any(invalid) {
            return name.to_string();
        }
        let warning = match self.group_name_transform {
            GroupNameTransform::Ignore => return name.to_string(),
            GroupNameTransform::Never => {
                "Invalid characters were found in group names but not replaced, use -vvvv to see details"
            }
            GroupNameTransform::Always | GroupNameTransform::Silently => {
                let replaced = replace_invalid_group_chars(name);
                if self.group_name_transform == GroupNameTransform::Always {
                    self.warn(
                        "Invalid characters were found in group names and automatically replaced, use -vvvv to see details",
                    );
                }
                return replaced;
            }
        };
        self.warn(warning);
        name.to_string()
    }

    pub(crate) fn warn(&mut self, message: impl Into<String>) {
        let message = message.into();
        if !self.warnings.contains(&message) {
            self.warnings.push(message);
        }
    }

    /// Adds a host unless it exists, and puts it in `group` when given. A new host
    /// gets `ansible_port` from `port` and records the source being parsed as
    /// `inventory_file` and its directory as `inventory_dir`. For an existing host
    /// `port` is ignored, as in Ansible.
    pub fn add_host(
        &mut self,
        name: &str,
        group: Option<GroupId>,
        port: Option<i64>,
    ) -> Result<HostId, InventoryError> {
        if name.is_empty() {
            return Err(InventoryError::EmptyHostName);
        }
        let id = match self.host_id(name) {
            Some(id) => id,
            None => self.insert_host(name, port),
        };
        if let Some(group) = group {
            self.add_host_to_group(group, id);
        }
        Ok(id)
    }

    fn insert_host(&mut self, name: &str, port: Option<i64>) -> HostId {
        let name: Arc<str> = name.into();
        let mut vars = Map::new();
        if let Some(port) = port {
            vars.insert(Value::str("ansible_port"), Value::Int(port));
        }
        let (file, dir) = match &self.current_source {
            Some(source) => (Value::str(source.as_str()), Value::from(source_dir(source))),
            None => (Value::Null, Value::Null),
        };
        vars.insert(Value::str("inventory_file"), file);
        vars.insert(Value::str("inventory_dir"), dir);
        let host = Host {
            name: name.clone(),
            vars,
            groups: Vec::new(),
            implicit: false,
        };
        let (index, _) = self.hosts.insert_full(name.clone(), host);
        let id = HostId(index);
        if LOCALHOST_NAMES.contains(&&*name) {
            match self.localhost {
                None => self.localhost = Some(id),
                Some(first) => {
                    let first = self.host(first).name.clone();
                    self.warn(format!(
                        "A duplicate localhost-like entry was found ({name}). First found localhost was {first}"
                    ));
                }
            }
        }
        id
    }

    /// Sets a variable on a group as Ansible's `set_variable` does:
    /// `ansible_group_priority` sets the group's priority instead of a variable.
    pub fn set_group_var(
        &mut self,
        group: GroupId,
        key: impl Into<Value>,
        value: Value,
    ) -> Result<(), InventoryError> {
        let key = key.into();
        let target = &mut self.groups[group.0];
        if key.as_str() == Some("ansible_group_priority") {
            target.priority = python_int_value(&value).map_err(InventoryError::GroupPriority)?;
            return Ok(());
        }
        target.vars.insert(key, value);
        Ok(())
    }

    /// Sets a variable on a host (the implicit localhost included).
    pub fn set_host_var(&mut self, host: HostId, key: impl Into<Value>, value: Value) {
        self.host_mut(host).vars.insert(key.into(), value);
    }

    /// Ansible's `add_child(group, child)`: makes the group `child` a child group of
    /// `group`, or, when `child` names a host, adds the host. Returns whether
    /// anything changed.
    pub fn add_child(&mut self, group: GroupId, child: &str) -> Result<bool, InventoryError> {
        if let Some(child) = self.group_id(child) {
            return self.add_child_group(group, child);
        }
        if let Some(host) = self.host_id(child) {
            return Ok(self.add_host_to_group(group, host));
        }
        Err(InventoryError::UnknownMember {
            name: child.to_string(),
        })
    }

    pub(crate) fn host_mut(&mut self, id: HostId) -> &mut Host {
        if id.is_implicit_localhost() {
            return self.implicit_localhost.get_mut().unwrap_or_else(|| {
                unreachable!("the implicit localhost id is handed out only after it exists")
            });
        }
        &mut self.hosts[id.0]
    }

    /// Makes `child` a child group of `parent`. Returns whether the edge is new.
    pub fn add_child_group(
        &mut self,
        parent: GroupId,
        child: GroupId,
    ) -> Result<bool, InventoryError> {
        if parent == child {
            return Err(InventoryError::GroupLoop {
                group: self.group(child).name.to_string(),
                parent: self.group(parent).name.to_string(),
            });
        }
        if self.group(parent).children.contains(&child) {
            return Ok(false);
        }
        let parent_ancestors = self.ancestors(parent);
        if parent_ancestors.contains(&child) {
            return Err(InventoryError::GroupLoop {
                group: self.group(child).name.to_string(),
                parent: self.group(parent).name.to_string(),
            });
        }
        let child_ancestors = self.ancestors(child);
        let mut new_ancestors: Vec<GroupId> = parent_ancestors;
        new_ancestors.push(parent);
        new_ancestors.retain(|g| !child_ancestors.contains(g));

        self.groups[parent.0].children.push(child);
        let depth = self.group(parent).depth + 1;
        let child_group = &mut self.groups[child.0];
        child_group.depth = child_group.depth.max(depth);
        self.update_descendant_depths(child)?;

        if !self.group(child).parents.contains(&parent) {
            self.groups[child.0].parents.push(parent);
            for host in self.group_hosts(child) {
                let groups = &mut self.host_mut(host).groups;
                for group in &new_ancestors {
                    if !groups.contains(group) {
                        groups.push(*group);
                    }
                }
            }
        }
        Ok(true)
    }

    /// Pushes depths down after an edge was added above `group`.
    fn update_descendant_depths(&mut self, group: GroupId) -> Result<(), InventoryError> {
        let mut level = self.group(group).children.clone();
        let mut depth = self.group(group).depth;
        let mut seen: HashSet<GroupId> = HashSet::new();
        while !level.is_empty() {
            seen.extend(level.iter().copied());
            depth += 1;
            let mut next = Vec::new();
            for id in level {
                if self.group(id).depth < depth {
                    self.groups[id.0].depth = depth;
                    next.extend(self.group(id).children.iter().copied());
                }
            }
            if depth - self.group(group).depth > seen.len() {
                return Err(InventoryError::GroupLoop {
                    group: self.group(group).name.to_string(),
                    parent: self.group(group).name.to_string(),
                });
            }
            level = next;
        }
        Ok(())
    }

    /// Adds `host` to `group` directly. Returns whether it was not there yet.
    pub fn add_host_to_group(&mut self, group: GroupId, host: HostId) -> bool {
        if self.group(group).hosts.contains(&host) {
            return false;
        }
        self.groups[group.0].hosts.push(host);
        let mut additions = self.ancestors(group);
        additions.push(group);
        let groups = &mut self.host_mut(host).groups;
        for id in additions {
            if !groups.contains(&id) {
                groups.push(id);
            }
        }
        true
    }

    /// Removes `host` from `group`'s direct members, and from the ancestors it no
    /// longer reaches through another group (`all` excepted).
    pub fn remove_host_from_group(&mut self, group: GroupId, host: HostId) -> bool {
        let Some(position) = self.group(group).hosts.iter().position(|h| *h == host) else {
            return false;
        };
        self.groups[group.0].hosts.remove(position);
        self.remove_group_from_host(host, group);
        true
    }

    fn remove_group_from_host(&mut self, host: HostId, group: GroupId) {
        let Some(position) = self.host(host).groups.iter().position(|g| *g == group) else {
            return;
        };
        self.host_mut(host).groups.remove(position);
        for ancestor in self.ancestors(group) {
            if self.group(ancestor).name.as_ref() == "all" {
                continue;
            }
            let still_reached = self
                .host(host)
                .groups
                .iter()
                .any(|g| self.ancestors(*g).contains(&ancestor));
            if !still_reached {
                self.remove_group_from_host(host, ancestor);
            }
        }
    }

    /// Returns every group above `group`, nearest first.
    pub fn ancestors(&self, group: GroupId) -> Vec<GroupId> {
        self.walk(group, |g| &g.parents)
    }

    /// Every group below `group`, level by level, each at its shallowest level.
    ///
    /// NOTE: Ansible walks each level as a Python set, so the order within a level
    /// below the direct children varies between runs. rplay keeps the order in which
    /// the parents and their child lists name them.
    pub fn descendants(&self, group: GroupId) -> Vec<GroupId> {
        self.walk(group, |g| &g.children)
    }

    fn walk(&self, start: GroupId, next: impl Fn(&Group) -> &Vec<GroupId>) -> Vec<GroupId> {
        let mut seen: HashSet<GroupId> = HashSet::new();
        let mut ordered = Vec::new();
        let mut level = vec![start];
        while !level.is_empty() {
            let mut following = Vec::new();
            for id in level {
                for related in next(self.group(id)) {
                    if *related != start && seen.insert(*related) {
                        ordered.push(*related);
                        following.push(*related);
                    }
                }
            }
            level = following;
        }
        ordered
    }

    /// Returns the hosts of `group` and of all its descendants, without duplicates, in
    /// Ansible's order: the group's own hosts first, then each descendant's. The
    /// implicit localhost is never part of `all`.
    pub fn group_hosts(&self, group: GroupId) -> Vec<HostId> {
        let mut seen: HashSet<HostId> = HashSet::new();
        let mut hosts = Vec::new();
        let is_all = group == self.all_group();
        for id in std::iter::once(group).chain(self.descendants(group)) {
            for host in &self.group(id).hosts {
                if seen.insert(*host) && !(is_all && self.host(*host).implicit) {
                    hosts.push(*host);
                }
            }
        }
        hosts
    }

    /// Restores Ansible's rules after a change. Every group but `all` without a
    /// parent becomes a child of `all`. A host in `ungrouped` and another group
    /// leaves `ungrouped`, and a host in no group but `all` joins it. The implicit
    /// localhost takes `all`'s variables under its own.
    pub fn reconcile(&mut self) -> Result<(), InventoryError> {
        self.current_source = None;
        let all = self.all_group();
        let ungrouped = self.ungrouped_group();
        for index in 0..self.groups.len() {
            let id = GroupId(index);
            if id != all && self.group(id).parents.is_empty() {
                self.add_child_group(all, id)?;
            }
        }
        for index in 0..self.hosts.len() {
            let id = HostId(index);
            let groups = &self.host(id).groups;
            if groups.contains(&ungrouped) {
                if groups.iter().any(|g| *g != all && *g != ungrouped) {
                    self.remove_host_from_group(ungrouped, id);
                }
            } else if !self.host(id).implicit && groups.iter().all(|g| *g == all) {
                self.add_host_to_group(ungrouped, id);
            }
        }
        let all_vars = self.group(all).vars.clone();
        if let Some(localhost) = self.implicit_localhost.get_mut() {
            let mut vars = all_vars;
            vars.extend(std::mem::take(&mut localhost.vars));
            localhost.vars = vars;
        }
        let mut conflicts: Vec<String> = self
            .hosts
            .keys()
            .filter(|name| self.groups.contains_key(&***name))
            .map(|name| name.to_string())
            .collect();
        conflicts.sort();
        for name in conflicts {
            self.warn(format!("Found both group and host with same name: {name}"));
        }
        Ok(())
    }

    /// Returns the magic variables a host carries itself: `inventory_hostname`,
    /// `inventory_hostname_short` and `group_names` (sorted, without `all`).
    pub fn host_magic_vars(&self, host: HostId) -> Map {
        let host = self.host(host);
        let short = if looks_like_ip_address(&host.name) {
            host.name.to_string()
        } else {
            host.name.split('.').next().unwrap_or_default().to_string()
        };
        let mut group_names: Vec<&str> = host
            .groups
            .iter()
            .map(|g| &*self.group(*g).name)
            .filter(|name| *name != "all")
            .collect();
        group_names.sort_unstable();
        let mut vars = Map::new();
        vars.insert(
            Value::str("inventory_hostname"),
            Value::str(host.name.clone()),
        );
        vars.insert(Value::str("inventory_hostname_short"), Value::from(short));
        vars.insert(
            Value::str("group_names"),
            Value::list(group_names.into_iter().map(Value::from).collect()),
        );
        vars
    }

    /// Builds the `groups` magic variable: every group with its hosts' names.
    pub fn groups_dict(&self) -> Map {
        self.groups()
            .map(|(id, group)| {
                let hosts = self
                    .group_hosts(id)
                    .into_iter()
                    .map(|h| Value::str(self.host(h).name.clone()))
                    .collect();
                (Value::str(group.name.clone()), Value::list(hosts))
            })
            .collect()
    }
}

fn implicit_localhost(name: &str) -> Host {
    let mut vars = Map::new();
    vars.insert(Value::str("ansible_connection"), Value::str("local"));
    // Ansible sets the controller's own Python (`sys.executable`) here. rplay has none of
    // its own, so it names the `python3` that `PATH` finds, and leaves the variable unset
    // when there is none.
    if let Some(python) = controller_python() {
        vars.insert(Value::str("ansible_python_interpreter"), Value::str(python));
    }
    Host {
        name: name.into(),
        vars,
        groups: Vec::new(),
        implicit: true,
    }
}

/// Finds the first `python3` on the controller's `PATH` and resolves its directory.
///
/// A virtualenv's `bin/python3` is a symlink to the base interpreter, and Python's
/// `sys.executable` keeps the virtualenv's name for it, so only the directory is resolved.
/// NOTE: `sys.executable` is the path in `ansible-playbook`'s shebang line, which this
/// matches when the virtualenv was created at its real path and is first on `PATH`.
fn controller_python() -> Option<String> {
    let path = std::env::var_os("PATH")?;
    let python = std::env::split_paths(&path)
        .map(|dir| dir.join("python3"))
        .find(|candidate| candidate.is_file())?;
    let dir = python.parent()?.canonicalize().ok()?;
    Some(dir.join("python3").to_string_lossy().into_owned())
}

/// Ansible's `basedir(source)` for `inventory_dir`: the source's directory, or the
/// text `None` for a source that is not a path, such as a host list.
fn source_dir(source: &str) -> String {
    let path = std::path::Path::new(source);
    if path.is_dir() {
        return source.to_string();
    }
    if path.is_file() {
        return path
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    "None".to_string()
}

fn replace_invalid_group_chars(name: &str) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| {
            let valid = c.is_alphanumeric() || c == '_';
            if !valid || (i == 0 && c.is_numeric()) {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Python's `int(value)` for the values a priority can come from, with Python's
/// error messages.
fn python_int_value(value: &Value) -> Result<i64, String> {
    match value {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Float(f) if f.is_finite() => Ok(f.trunc() as i64),
        Value::Float(_) => Err("cannot convert float infinity or NaN to integer".into()),
        Value::Str(s) | Value::Unsafe(s) => {
            let digits = s.trim().replace('_', "");
            digits.parse().map_err(|_| {
                format!(
                    "invalid literal for int() with base 10: {}",
                    rplay_modules::pyrepr::str_repr(s)
                )
            })
        }
        other => Err(format!(
            "int() argument must be a string, a bytes-like object or a real number, not '{}'",
            other.type_name()
        )),
    }
}
