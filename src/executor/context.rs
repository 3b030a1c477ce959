//! What a task inherits from its play, blocks, roles and includes: conditions, tags,
//! keywords and the variable layers of its scope.

use std::sync::Arc;

use super::iterator::{Scope, ScopeKind, TaskSlot};
use crate::playbook::{Inherited, Play, RoleInstance, Spanned, Task};
use crate::vars::{Layers, TaskLayers};
use crate::{Map, Value};

/// A task in its scope, resolved once per slot.
#[derive(Debug)]
pub struct TaskContext {
    pub task: Arc<Task>,
    /// Every condition that must hold, outermost first, the task's own last.
    pub when: Vec<Spanned<Value>>,
    /// Tags as written, from the play down to the task.
    pub tags: Vec<Spanned<Value>>,
    /// Keyword sets from the task outwards: task, innermost scope, ..., play.
    keyword_sources: Vec<Inherited>,
    pub role: Option<Arc<RoleInstance>>,
    /// Roles that depend on the task's role, outermost first.
    pub dep_chain: Vec<Arc<RoleInstance>>,
    pub layers: TaskLayers,
    /// `environment` entries from the play down to the task.
    pub environment: Vec<Spanned<Value>>,
}

impl TaskContext {
    pub fn new(play: &Play, slot: &TaskSlot) -> TaskContext {
        let chain = slot.scope.as_ref().map(Scope::chain).unwrap_or_default();
        let mut inherited: Vec<Inherited> = vec![play.inherited.clone()];
        let mut roles: Vec<Arc<RoleInstance>> = Vec::new();
        let mut task_vars = Layers::new();
        let mut include_params = Layers::new();
        for scope in &chain {
            match &scope.kind {
                ScopeKind::Block(block) => {
                    if let crate::playbook::BlockKind::Role(role) = &block.kind {
                        roles.push(role.clone());
                    }
                    if let Some(vars) = &block.inherited.vars {
                        task_vars.push_map(vars.value.clone());
                    }
                    inherited.push(block.inherited.clone());
                }
                ScopeKind::Include(include) => {
                    if let Some(role) = &include.role {
                        roles.push(role.clone());
                    }
                    if let Some(vars) = &include.task.inherited.vars {
                        task_vars.push_map(vars.value.clone());
                    }
                    include_params.push_map(include.vars.clone());
                    // A dynamic include's own keywords (`when`, `tags`, `become`...) apply
                    // to the include alone; its `apply:` keywords reach the included tasks.
                    inherited.push(apply_keywords(&include.task));
                }
            }
        }
        if let Some(vars) = &slot.task.inherited.vars {
            task_vars.push_map(vars.value.clone());
        }
        inherited.push(slot.task.inherited.clone());

        let when = inherited
            .iter()
            .flat_map(|i| i.when.iter().cloned())
            .collect();
        let tags = inherited
            .iter()
            .flat_map(|i| i.tags.iter().cloned())
            .collect();
        let environment = inherited
            .iter()
            .flat_map(|i| i.environment.iter().cloned())
            .collect();
        let role = roles.last().cloned();
        let dep_chain = roles
            .iter()
            .take(roles.len().saturating_sub(1))
            .cloned()
            .collect();
        let mut context = TaskContext {
            task: slot.task.clone(),
            when,
            tags,
            keyword_sources: inherited.into_iter().rev().collect(),
            role,
            dep_chain,
            layers: TaskLayers::default(),
            environment,
        };
        context.layers = context.build_layers(task_vars, include_params);
        let search_path = context.search_path(play);
        context
            .layers
            .magic
            .insert(Value::from("ansible_search_path"), Value::list(search_path));
        context
    }

    /// `ansible_search_path`, as ansible-core builds it for a task: the role's path and
    /// those of the roles that pulled it in (innermost first), the task file's
    /// directory, then the playbook's directory. Lookups search these in order.
    fn search_path(&self, play: &Play) -> Vec<Value> {
        let mut paths: Vec<String> = Vec::new();
        if let Some(role) = &self.role {
            paths.push(role.definition.path.display().to_string());
            for parent in self.dep_chain.iter().rev() {
                paths.push(parent.definition.path.display().to_string());
            }
        }
        let directories = [self.task.span.path().parent(), play.span.path().parent()];
        for directory in directories.into_iter().flatten() {
            let directory = directory.display().to_string();
            if !paths.contains(&directory) {
                paths.push(directory);
            }
        }
        paths.into_iter().map(Value::from).collect()
    }

    fn build_layers(&self, task_vars: Layers, include_params: Layers) -> TaskLayers {
        let mut layers = TaskLayers {
            task_vars,
            include_params,
            ..TaskLayers::default()
        };
        let Some(role) = &self.role else {
            return layers;
        };
        for dependency in all_dependencies(role) {
            layers.role_defaults.push(&dependency.defaults);
        }
        for parent in &self.dep_chain {
            layers.role_defaults.push(&parent.defaults);
        }
        layers.role_defaults.push(&role.defaults);

        for parent in &self.dep_chain {
            layers.role_vars.push(&parent.vars);
            if let Some(vars) = &parent.entry.vars {
                layers.role_vars.push_map(vars.value.clone());
            }
            layers.role_params.push_map(parent.params.clone());
        }
        for dependency in all_dependencies(role) {
            layers.role_vars.push(&dependency.vars);
        }
        layers.role_vars.push(&role.vars);
        if let Some(vars) = &role.entry.vars {
            layers.role_vars.push_map(vars.value.clone());
        }
        layers.role_params.push_map(role.params.clone());
        layers.magic = role_magic(role, &self.dep_chain);
        layers
    }

    /// The value of an inherited keyword: the task's own, else the nearest enclosing
    /// block, role, include or play that sets it.
    pub fn keyword(&self, name: &str) -> Option<&Spanned<Value>> {
        if let Some(value) = self.task.keywords.iter().find(|(k, _)| *k == name) {
            return Some(&value.1);
        }
        self.keyword_sources
            .iter()
            .find_map(|source| source.keyword(name))
    }

    /// Returns every value of an inherited keyword, the task's own first, then those of the
    /// enclosing blocks, roles, includes and play from the nearest out.
    pub fn keyword_chain<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Spanned<Value>> {
        let own = self
            .task
            .keywords
            .iter()
            .filter(move |(k, _)| *k == name)
            .map(|(_, value)| value)
            .take(1);
        own.chain(
            self.keyword_sources
                .iter()
                .filter_map(move |source| source.keyword(name)),
        )
    }
}

/// The keywords of an include's `apply:` argument, as inherited keywords.
pub fn apply_keywords(task: &Task) -> Inherited {
    let mut keywords = Inherited::default();
    let Some(Value::Map(apply)) = task.args.get("apply") else {
        return keywords;
    };
    for (key, value) in apply.iter() {
        let Some(name) = key.as_str() else {
            continue;
        };
        let spanned = Spanned {
            value: value.clone(),
            span: task.span.clone(),
        };
        match name {
            "when" => match value {
                Value::List(items) => keywords.when.extend(items.iter().map(|item| Spanned {
                    value: item.clone(),
                    span: task.span.clone(),
                })),
                _ => keywords.when.push(spanned),
            },
            "tags" => match value {
                Value::List(items) => keywords.tags.extend(items.iter().map(|item| Spanned {
                    value: item.clone(),
                    span: task.span.clone(),
                })),
                Value::Str(text) => keywords.tags.extend(text.split(',').map(|tag| Spanned {
                    value: Value::from(tag.trim()),
                    span: task.span.clone(),
                })),
                _ => keywords.tags.push(spanned),
            },
            "environment" => keywords.environment.push(spanned),
            "vars" => {
                if let Value::Map(vars) = value {
                    keywords.vars = Some(Spanned {
                        value: (**vars).clone(),
                        span: task.span.clone(),
                    });
                }
            }
            other => {
                if let Some(keyword) = crate::playbook::keywords::find(
                    other,
                    &[
                        crate::playbook::keywords::INHERITED,
                        &["delegate_to", "delegate_facts"],
                    ],
                ) {
                    keywords.keywords.push((keyword, spanned));
                }
            }
        }
    }
    keywords
}

/// The role's dependencies, recursively, deepest first, without repeats.
pub fn all_dependencies(role: &Arc<RoleInstance>) -> Vec<Arc<RoleInstance>> {
    let mut out: Vec<Arc<RoleInstance>> = Vec::new();
    for dependency in &role.dependencies {
        for nested in all_dependencies(dependency) {
            if !out.iter().any(|r| Arc::ptr_eq(r, &nested)) {
                out.push(nested);
            }
        }
        if !out.iter().any(|r| Arc::ptr_eq(r, dependency)) {
            out.push(dependency.clone());
        }
    }
    out
}

fn role_magic(role: &RoleInstance, dep_chain: &[Arc<RoleInstance>]) -> Map {
    let mut magic = Map::new();
    let path = Value::from(role.definition.path.display().to_string());
    magic.insert(Value::from("role_name"), Value::from(role.short_name()));
    magic.insert(
        Value::from("ansible_role_name"),
        Value::from(role.name.clone()),
    );
    magic.insert(Value::from("role_path"), path);
    let parents = including_roles(role, dep_chain);
    // ansible-core sets these as include parameters of `import_role` and `include_role`
    // inside another role only, so they stay undefined elsewhere.
    if !parents.is_empty() {
        let names = parents.iter().map(|r| Value::from(r.name.clone()));
        let paths = parents
            .iter()
            .map(|r| Value::from(r.definition.path.display().to_string()));
        magic.insert(
            Value::from("ansible_parent_role_names"),
            Value::list(names.collect()),
        );
        magic.insert(
            Value::from("ansible_parent_role_paths"),
            Value::list(paths.collect()),
        );
    }
    magic
}

/// Returns the roles whose tasks imported or included `role`, innermost first. A role
/// that encloses its child only as a meta dependency is skipped.
fn including_roles<'a>(
    role: &'a RoleInstance,
    dep_chain: &'a [Arc<RoleInstance>],
) -> Vec<&'a RoleInstance> {
    let mut parents = Vec::new();
    let mut child = role;
    for parent in dep_chain.iter().rev() {
        let is_dependency = parent
            .dependencies
            .iter()
            .any(|dependency| std::ptr::eq(dependency.as_ref(), child));
        if !is_dependency {
            parents.push(parent.as_ref());
        }
        child = parent;
    }
    parents
}
