//! Variable precedence, as ansible-core 2.18's `VariableManager.get_vars` layers it.
//!
//! Lowest first: the play's role defaults, the task's role defaults, inventory
//! variables (with `group_vars/` and `host_vars/` beside the inventory and the playbook),
//! facts, play `vars`, `vars_files`, the play's role vars, the task's role vars, block and
//! task `vars`, `include_vars`, `set_fact` and registered results, role parameters,
//! include parameters, extra vars and the magic variables. Values stay untemplated here;
//! the templating layer renders them when they are read.

pub mod fact_cache;
mod layers;
pub mod reserved;

use std::collections::HashMap;
use std::sync::Arc;

pub use fact_cache::FactCache;
pub use layers::Layers;

use crate::inventory::{HostId, Inventory, InventoryError, VarsDir};
use crate::template::Variables;
use crate::vault::VaultSecrets;
use crate::{Map, Value};

/// Per-host state the run accumulates, and the variables every context shares.
pub struct VariableManager {
    pub inventory: Inventory,
    extra_vars: Arc<Map>,
    /// Magic variables that do not depend on the host, play or task (`playbook_dir`,
    /// `ansible_version`, `ansible_check_mode`, `omit`...).
    global_magic: Arc<Map>,
    /// `group_vars/` and `host_vars/` beside the playbook.
    play_dirs: Vec<Arc<VarsDir>>,
    /// Decrypt the vault-encrypted files of `play_dirs`.
    vault_secrets: VaultSecrets,
    facts: FactCache,
    include_vars: HashMap<String, Arc<Map>>,
    set_facts: HashMap<String, Arc<Map>>,
    /// Each host's inventory variables, merged; cleared when the inventory changes.
    inventory_vars: HashMap<String, Arc<Map>>,
    /// The host-level view of every host, for `hostvars`; rebuilt after changes.
    hostvars: Option<Arc<HostVarsTable>>,
    /// `groups`, rebuilt after the inventory changes.
    groups: Option<Arc<Map>>,
}

/// The variable layers a task adds: its role, blocks, includes and own `vars`.
#[derive(Clone, Debug, Default)]
pub struct TaskLayers {
    /// Role defaults of the task's role and its dependency chain.
    pub role_defaults: Layers,
    /// Role vars of the task's role and its dependency chain, and the role entry's
    /// `vars:`.
    pub role_vars: Layers,
    /// Variables of enclosing blocks, imports and includes, then the task's own.
    pub task_vars: Layers,
    pub role_params: Layers,
    pub include_params: Layers,
    /// `role_name`, `role_path` and the other per-task magic variables.
    pub magic: Map,
}

/// The variable layers a play adds.
#[derive(Clone, Debug, Default)]
pub struct PlayLayers {
    /// Defaults of every role of the play, dependencies first.
    pub role_defaults: Layers,
    pub vars: Layers,
    pub vars_files: Layers,
    /// `vars_files` loaded with a host's variables, for hosts whose file names differ
    /// from the play-wide ones; other hosts use `vars_files`.
    pub host_vars_files: HashMap<String, Layers>,
    /// `vars/` of every role of the play.
    pub role_vars: Layers,
    /// `ansible_play_hosts`, `ansible_play_batch`, `ansible_play_name`, role names...
    pub magic: Map,
}

impl VariableManager {
    pub fn new(
        inventory: Inventory,
        extra_vars: Map,
        global_magic: Map,
        vault_secrets: VaultSecrets,
    ) -> VariableManager {
        VariableManager {
            inventory,
            extra_vars: Arc::new(extra_vars),
            global_magic: Arc::new(global_magic),
            play_dirs: Vec::new(),
            vault_secrets,
            facts: FactCache::memory(),
            include_vars: HashMap::new(),
            set_facts: HashMap::new(),
            inventory_vars: HashMap::new(),
            hostvars: None,
            groups: None,
        }
    }

    /// Keeps facts in `cache` from now on, as the `fact_caching` setting chooses it.
    pub fn set_fact_cache(&mut self, cache: FactCache) {
        self.facts = cache;
        self.hostvars = None;
    }

    /// Warnings about fact cache files since the last call.
    pub fn take_fact_cache_warnings(&mut self) -> Vec<String> {
        self.facts.take_warnings()
    }

    /// The corrupt fact cache file found since the last call, which ends the run.
    pub fn take_corrupt_fact_cache(&mut self) -> Option<std::path::PathBuf> {
        self.facts.take_corrupt()
    }

    /// Reads the host's cached facts, if the fact cache has a file for it that was not
    /// read yet. A play reads them for its hosts when it starts, as ansible-core reads
    /// them when it first computes a host's variables.
    pub fn load_cached_facts(&mut self, host: &str) {
        if self.facts.load(host) {
            self.hostvars = None;
        }
    }

    /// Reads `group_vars/` and `host_vars/` beside the playbook in `dir` from now on.
    pub fn set_playbook_dir(&mut self, dir: &std::path::Path) {
        let vars_dir = Arc::new(VarsDir::new(dir, self.vault_secrets.clone()));
        if !self.play_dirs.iter().any(|d| d.base() == vars_dir.base()) {
            self.play_dirs.push(vars_dir);
        }
        self.inventory_changed();
    }

    pub fn extra_vars(&self) -> &Arc<Map> {
        &self.extra_vars
    }

    /// Forgets cached inventory variables, after `add_host` or `group_by`.
    pub fn inventory_changed(&mut self) {
        self.inventory_vars.clear();
        self.hostvars = None;
        self.groups = None;
    }

    /// The `groups` magic variable as a layer.
    fn groups_layer(&mut self) -> Arc<Map> {
        if let Some(groups) = &self.groups {
            return groups.clone();
        }
        let mut layer = Map::new();
        layer.insert(
            Value::from("groups"),
            Value::map(self.inventory.groups_dict()),
        );
        let layer = Arc::new(layer);
        self.groups = Some(layer.clone());
        layer
    }

    /// Replaces a run-wide magic variable, such as `playbook_dir` for each playbook.
    pub fn set_global_magic(&mut self, name: &str, value: Value) {
        Arc::make_mut(&mut self.global_magic).insert(Value::from(name), value);
        self.hostvars = None;
    }

    fn host_id(&self, host: &str) -> Option<HostId> {
        self.inventory.get_host(host)
    }

    /// The host's inventory variables, from the cache or merged now.
    pub fn inventory_vars(&mut self, host: &str) -> Result<Arc<Map>, InventoryError> {
        if let Some(vars) = self.inventory_vars.get(host) {
            return Ok(vars.clone());
        }
        let vars = match self.host_id(host) {
            Some(id) => Arc::new(self.inventory.host_vars(id, &self.play_dirs)?),
            None => Arc::default(),
        };
        self.inventory_vars.insert(host.to_string(), vars.clone());
        Ok(vars)
    }

    /// Sets facts, as `set_fact` with `cacheable` or a module's `ansible_facts` do.
    pub fn set_host_facts(&mut self, host: &str, facts: &Map) {
        self.facts.update(host, facts);
        self.hostvars = None;
    }

    /// Forgets a host's facts and removes them from the fact cache, as `meta:
    /// clear_facts` and `--flush-cache` do.
    pub fn clear_facts(&mut self, host: &str) {
        self.facts.remove(host);
        self.hostvars = None;
    }

    /// Whether the `gather_facts` action ran for the host, in this run or in the run that
    /// wrote its cached facts, as `gathering = smart` asks: the facts hold a true
    /// `_ansible_facts_gathered`.
    pub fn facts_gathered(&mut self, host: &str) -> bool {
        self.facts.get(host).is_some_and(|facts| {
            facts
                .get("_ansible_facts_gathered")
                .is_some_and(Value::is_truthy)
        })
    }

    /// Sets variables that last for the run, as `set_fact` and `register` do.
    pub fn set_nonpersistent(&mut self, host: &str, vars: &Map) {
        let entry = self.set_facts.entry(host.to_string()).or_default();
        let merged = Arc::make_mut(entry);
        for (key, value) in vars {
            merged.insert(key.clone(), value.clone());
        }
        self.hostvars = None;
    }

    /// Sets variables read by `include_vars`.
    pub fn set_include_vars(&mut self, host: &str, vars: &Map) {
        let entry = self.include_vars.entry(host.to_string()).or_default();
        let merged = Arc::make_mut(entry);
        for (key, value) in vars {
            merged.insert(key.clone(), value.clone());
        }
        self.hostvars = None;
    }

    /// The host-level layers: inventory, facts, `include_vars`, `set_fact`, extra vars.
    /// The facts are those in memory: a host's cache file is read by
    /// [`VariableManager::load_cached_facts`] or when its own task variables are built.
    /// NOTE: ansible-core also reads the cache file of a host outside the current play
    /// when `hostvars` names it; rplay shows only facts it read earlier in the run.
    fn host_layers(&mut self, host: &str) -> Result<HostLayers, InventoryError> {
        Ok(HostLayers {
            inventory: self.inventory_vars(host)?,
            facts: self.facts.peek(host).unwrap_or_default(),
            include_vars: self.include_vars.get(host).cloned().unwrap_or_default(),
            set_facts: self.set_facts.get(host).cloned().unwrap_or_default(),
        })
    }

    /// The `hostvars` table: every inventory host's variables without play or task,
    /// and the implicit localhost's once it exists, as ansible-core lists it.
    /// NOTE: ansible-core also creates the implicit localhost when a template looks up
    /// `hostvars['localhost']`. In rplay that lookup is undefined until something else
    /// (`delegate_to: localhost`, a `localhost` pattern) has created it.
    ///
    /// A host whose inventory variables cannot be read (a `group_vars/` file that does
    /// not parse or decrypt) is left out. ansible-core reads a host's variables only
    /// when they are used, so such a file stops the run only when a task runs on a host
    /// of its group, where [`VariableManager::task_vars`] fails.
    ///
    /// NOTE: in ansible-core, reading such a host's `hostvars` fails with the file's
    /// error; in rplay the host is missing from `hostvars`.
    pub fn hostvars(&mut self) -> Result<Arc<HostVarsTable>, InventoryError> {
        let implicit_localhost = self
            .inventory
            .created_implicit_localhost()
            .map(|host| host.name.to_string());
        if let Some(table) = &self.hostvars {
            if table.has_implicit_localhost == implicit_localhost.is_some() {
                return Ok(table.clone());
            }
        }
        let has_implicit_localhost = implicit_localhost.is_some();
        let names: Vec<String> = self
            .inventory
            .hosts()
            .map(|(_, host)| host.name.to_string())
            .chain(implicit_localhost)
            .collect();
        let mut hosts = indexmap::IndexMap::new();
        for name in names {
            let Ok(host) = self.host_layers(&name) else {
                continue;
            };
            let mut layers = Layers::new();
            host.push_lower(&mut layers);
            host.push_upper(&mut layers);
            layers.push(&self.extra_vars);
            layers.push(&self.global_magic);
            let groups = self.groups_layer();
            layers.push(&groups);
            hosts.insert(name, layers);
        }
        let table = Arc::new(HostVarsTable {
            hosts,
            has_implicit_localhost,
        });
        self.hostvars = Some(table.clone());
        Ok(table)
    }

    /// The variables of `host` for a task (or, with no task, for the play).
    pub fn task_vars(
        &mut self,
        host: &str,
        play: Option<&PlayLayers>,
        task: Option<&TaskLayers>,
    ) -> Result<HostVars, InventoryError> {
        self.load_cached_facts(host);
        let host_layers = self.host_layers(host)?;
        let mut layers = Layers::new();
        if let Some(play) = play {
            layers.extend(&play.role_defaults);
        }
        if let Some(task) = task {
            layers.extend(&task.role_defaults);
        }
        host_layers.push_lower(&mut layers);
        if let Some(play) = play {
            layers.extend(&play.vars);
            layers.extend(play.host_vars_files.get(host).unwrap_or(&play.vars_files));
            layers.extend(&play.role_vars);
        }
        if let Some(task) = task {
            layers.extend(&task.role_vars);
            layers.extend(&task.task_vars);
        }
        host_layers.push_upper(&mut layers);
        if let Some(task) = task {
            layers.extend(&task.role_params);
            layers.extend(&task.include_params);
        }
        layers.push(&self.extra_vars);
        layers.push(&self.global_magic);
        let groups = self.groups_layer();
        layers.push(&groups);
        if let Some(play) = play {
            layers.push_map(play.magic.clone());
        }
        if let Some(task) = task {
            layers.push_map(task.magic.clone());
        }
        Ok(HostVars {
            layers,
            hostvars: self.hostvars()?,
        })
    }

    /// Variables without a host, as ansible-core uses for play keywords before hosts
    /// are known (`hosts`, `name`, `vars_files` names): play, extra and magic variables.
    pub fn play_vars(&mut self, play: &PlayLayers) -> Result<HostVars, InventoryError> {
        let hostvars = self.hostvars()?;
        Ok(HostVars {
            layers: self.play_layers(play),
            hostvars,
        })
    }

    fn play_layers(&mut self, play: &PlayLayers) -> Layers {
        let mut layers = Layers::new();
        layers.extend(&play.role_defaults);
        layers.extend(&play.vars);
        layers.extend(&play.vars_files);
        layers.extend(&play.role_vars);
        layers.push(&self.extra_vars);
        layers.push(&self.global_magic);
        let groups = self.groups_layer();
        layers.push(&groups);
        layers.push_map(play.magic.clone());
        layers
    }
}

struct HostLayers {
    inventory: Arc<Map>,
    facts: Arc<Map>,
    include_vars: Arc<Map>,
    set_facts: Arc<Map>,
}

impl HostLayers {
    /// Inventory variables, then facts (as `ansible_facts` and injected `ansible_*`).
    fn push_lower(&self, layers: &mut Layers) {
        layers.push(&self.inventory);
        // `ansible_facts` is defined for every host, as an empty mapping before facts
        // are gathered.
        if self.facts.is_empty() {
            let mut facts = Map::new();
            facts.insert(Value::from("ansible_facts"), Value::map(Map::new()));
            layers.push_map(facts);
        } else {
            let mut facts = Map::new();
            // Facts are stored as modules return them (`ansible_os_family`); the
            // `ansible_facts` namespace drops the prefix (but keeps `ansible_local`),
            // the injected variables keep it.
            let namespaced: Map = self
                .facts
                .iter()
                .map(|(key, value)| {
                    let name = key.as_str().unwrap_or_default();
                    let short = match name {
                        "ansible_local" => name,
                        _ => name.strip_prefix("ansible_").unwrap_or(name),
                    };
                    (Value::from(short), value.clone())
                })
                .collect();
            facts.insert(Value::from("ansible_facts"), Value::map(namespaced));
            // Internal keys such as `_ansible_facts_gathered` stay inside `ansible_facts`.
            // NOTE: ansible-core also drops `_ansible_*` keys nested deeper in a fact.
            for (key, value) in self.facts.iter() {
                let internal = key.as_str().is_some_and(|k| k.starts_with("_ansible_"));
                if !internal {
                    facts.insert(key.clone(), value.clone());
                }
            }
            layers.push_map(facts);
        }
    }

    /// `include_vars`, then `set_fact` and registered results.
    fn push_upper(&self, layers: &mut Layers) {
        layers.push(&self.include_vars);
        layers.push(&self.set_facts);
    }
}

/// Every inventory host's variables without play or task, for `hostvars`.
#[derive(Debug)]
pub struct HostVarsTable {
    hosts: indexmap::IndexMap<String, Layers>,
    /// Whether `hosts` ends with the implicit localhost.
    has_implicit_localhost: bool,
}

/// One host's variables in one context, as the templating layer reads them.
#[derive(Clone, Debug)]
pub struct HostVars {
    layers: Layers,
    hostvars: Arc<HostVarsTable>,
}

impl HostVars {
    /// No variables at all.
    pub fn empty() -> HostVars {
        HostVars {
            layers: Layers::new(),
            hostvars: Arc::new(HostVarsTable {
                hosts: indexmap::IndexMap::new(),
                has_implicit_localhost: false,
            }),
        }
    }

    pub fn layers(&self) -> &Layers {
        &self.layers
    }

    /// Adds variables above all others, as loop variables and `ansible_loop` are.
    pub fn with_overlay(&self, overlay: Map) -> HostVars {
        let mut layers = self.layers.clone();
        layers.push_map(overlay);
        HostVars {
            layers,
            hostvars: self.hostvars.clone(),
        }
    }
}

impl HostVars {
    /// Adds variables below all others: each applies only where no layer defines it.
    pub fn with_defaults(&self, defaults: Map) -> HostVars {
        let mut layers = self.layers.clone();
        layers.push_bottom(defaults);
        HostVars {
            layers,
            hostvars: self.hostvars.clone(),
        }
    }
}

impl Variables for HostVars {
    fn get(&self, name: &str) -> Option<Value> {
        self.layers.get(name).cloned()
    }

    fn names(&self) -> Vec<String> {
        self.layers.names()
    }

    fn host(&self, name: &str) -> Option<Arc<dyn Variables>> {
        let layers = self.hostvars.hosts.get(name)?.clone();
        Some(Arc::new(HostVars {
            layers,
            hostvars: self.hostvars.clone(),
        }))
    }

    fn hosts(&self) -> Vec<String> {
        self.hostvars.hosts.keys().cloned().collect()
    }
}
