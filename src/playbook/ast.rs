//! The typed playbook tree.
//!
//! Static imports (`import_playbook`, `import_tasks`, `import_role`, `roles:` and role
//! dependencies) are expanded by the loader; dynamic includes stay as tasks. Task lists are
//! shared (`Arc`): a role's tasks are parsed once however often the role is used, and the
//! context a task runs in (role, inherited `when`, `tags`, `vars`...) comes from the chain
//! of [`Block`]s the executor walks down to reach it.

use std::path::PathBuf;
use std::sync::Arc;

use crate::source::Span;
use crate::{Map, Value};

/// A keyword value as written, untemplated, with its position.
#[derive(Clone, Debug)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// Every play of a playbook file, with `import_playbook` expanded in place.
#[derive(Debug)]
pub struct Playbook {
    /// The playbook's absolute path.
    pub path: PathBuf,
    /// The path as given on the command line, which `-vv` output shows.
    pub given_path: PathBuf,
    pub plays: Vec<Arc<Play>>,
}

/// Keywords that a play, a block, a role or a task can set and their children inherit.
/// `None` means "not set here".
#[derive(Clone, Debug, Default)]
pub struct Inherited {
    /// Conditions, all of which must hold; a parent's come before a child's.
    pub when: Vec<Spanned<Value>>,
    /// Tags as written (a tag may be a template); a child adds to its parents' tags.
    pub tags: Vec<Spanned<Value>>,
    pub vars: Option<Spanned<Map>>,
    pub environment: Vec<Spanned<Value>>,
    /// Other inheritable keywords (`become`, `ignore_errors`, `delegate_to`, `run_once`,
    /// `check_mode`, `no_log`, `any_errors_fatal`...), by name.
    pub keywords: Vec<(&'static str, Spanned<Value>)>,
}

impl Inherited {
    pub fn keyword(&self, name: &str) -> Option<&Spanned<Value>> {
        self.keywords
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }
}

#[derive(Debug)]
pub struct Play {
    pub span: Span,
    pub name: Option<String>,
    /// The `hosts` value as written: a pattern string or a list of patterns.
    pub hosts: Spanned<Value>,
    pub gather_facts: Option<Spanned<Value>>,
    pub vars_files: Vec<Spanned<Value>>,
    pub pre_tasks: Vec<Item>,
    pub roles: Vec<Item>,
    pub tasks: Vec<Item>,
    pub post_tasks: Vec<Item>,
    pub handlers: Vec<Item>,
    /// Play keywords that its tasks inherit, including `tags` and `when` from an
    /// enclosing `import_playbook`.
    pub inherited: Inherited,
    /// Play-only keywords (`serial`, `strategy`, `max_fail_percentage`, `order`, ...).
    pub keywords: Vec<(&'static str, Spanned<Value>)>,
    /// The directory of the playbook file the play came from.
    pub base_dir: PathBuf,
}

impl Play {
    /// The play's name as ansible-core shows it: its `name`, or else its host patterns.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => self.hosts_text(),
        }
    }

    /// The host patterns joined with commas, as Ansible prints them in `play #N (...)`.
    pub fn hosts_text(&self) -> String {
        match &self.hosts.value {
            Value::List(items) => items.iter().map(value_text).collect::<Vec<_>>().join(","),
            other => value_text(other),
        }
    }

    pub fn keyword(&self, name: &str) -> Option<&Spanned<Value>> {
        self.keywords
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
            .or_else(|| self.inherited.keyword(name))
    }
}

/// Text of a scalar as Python's `str()` prints it.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format!("{f:?}"),
        Value::Str(s) | Value::Unsafe(s) => s.to_string(),
        other => format!("{other:?}"),
    }
}

/// An entry of a task list.
#[derive(Clone, Debug)]
pub enum Item {
    Task(Arc<Task>),
    Block(Arc<Block>),
}

/// What made a block.
#[derive(Clone, Debug)]
pub enum BlockKind {
    /// A `block:` written in a task list.
    Explicit,
    /// A task list that is not a block itself: a file's tasks or a play section.
    Implicit,
    /// The tasks of `import_tasks: FILE`, inheriting the import's keywords.
    ImportTasks {
        path: PathBuf,
        /// The file as the task wrote it, which ansible-core joins into the paths it
        /// tries for an `include_tasks` inside the imported file.
        written: String,
    },
    /// A role's tasks (from `roles:`, `import_role` or a dependency).
    Role(Arc<RoleInstance>),
}

#[derive(Debug)]
pub struct Block {
    pub span: Span,
    pub kind: BlockKind,
    pub name: Option<String>,
    pub block: Vec<Item>,
    pub rescue: Vec<Item>,
    pub always: Vec<Item>,
    pub inherited: Inherited,
}

/// A task or handler. `action` is the module or action name as written (`command`,
/// `ansible.builtin.command`, `include_tasks`...).
#[derive(Debug)]
pub struct Task {
    pub span: Span,
    pub name: Option<String>,
    pub action: String,
    /// Arguments as written, after `k=v` shorthand and `args:` are merged in.
    pub args: Map,
    pub inherited: Inherited,
    /// Task-only keywords (`register`, `loop`, `until`, `notify`, `listen`...).
    pub keywords: Vec<(&'static str, Spanned<Value>)>,
    /// The loop lookup of a `with_<lookup>` keyword, with its value in `keywords` as
    /// `loop`.
    pub loop_lookup: Option<String>,
    /// Set for implicit tasks the engine adds (`meta: flush_handlers` between sections).
    pub implicit: bool,
}

impl Task {
    pub fn keyword(&self, name: &str) -> Option<&Spanned<Value>> {
        self.keywords
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
            .or_else(|| self.inherited.keyword(name))
    }

    /// The action without the `ansible.builtin.` or `ansible.legacy.` prefix.
    pub fn short_action(&self) -> &str {
        short_action(&self.action)
    }
}

pub fn short_action(action: &str) -> &str {
    action
        .strip_prefix("ansible.builtin.")
        .or_else(|| action.strip_prefix("ansible.legacy."))
        .unwrap_or(action)
}

/// A role directory, loaded once per playbook run however often it is used.
#[derive(Debug)]
pub struct RoleDefinition {
    pub path: PathBuf,
    pub defaults: Arc<Map>,
    pub vars: Arc<Map>,
    /// The handlers of `handlers/main.yml`, when the role has that file.
    pub handlers: Option<Arc<Vec<Item>>>,
    pub allow_duplicates: bool,
}

/// One use of a role: from `roles:`, `import_role`, `include_role` or `meta/main.yml`.
#[derive(Debug)]
pub struct RoleInstance {
    /// The name as it was referenced (`kubernetes/preinstall`), which Ansible prints in
    /// `TASK [role : name]`. A role found in a collection is named by its
    /// `namespace.collection.role` reference.
    pub name: String,
    /// The collection the role was found in (`namespace.collection`).
    pub collection: Option<String>,
    pub definition: Arc<RoleDefinition>,
    /// Role parameters: the keys of the role entry that are not keywords.
    pub params: Map,
    /// The role's dependencies, in `meta/main.yml` order.
    pub dependencies: Vec<Arc<RoleInstance>>,
    /// Keywords of the entry that referenced the role (`when`, `tags`, `become`...).
    pub entry: Inherited,
    pub span: Span,
    /// The tasks file the use runs: `main`, or the file `tasks_from` names.
    pub tasks_from: String,
    /// The handlers file of the use: `main`, or the file `handlers_from` names.
    pub handlers_from: String,
    /// The handlers of `handlers_from`, when that file exists and lists any.
    pub handlers: Option<Arc<Vec<Item>>>,
    /// The vars file or directory of the use: `main`, or the one `vars_from` names.
    pub vars_from: String,
    /// The defaults file or directory of the use: `main`, or the one `defaults_from` names.
    pub defaults_from: String,
    /// The role's vars as this use loads them (the definition's for `main`).
    pub vars: Arc<Map>,
    /// The role's defaults as this use loads them (the definition's for `main`).
    pub defaults: Arc<Map>,
    /// Set for `import_role` and `include_role` uses.
    pub from_include: bool,
}

impl RoleInstance {
    /// Returns the role's name without its collection, as ansible-core's
    /// `get_name(include_role_fqcn=False)` does.
    pub fn short_name(&self) -> &str {
        match &self.collection {
            Some(collection) => self
                .name
                .strip_prefix(collection.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .unwrap_or(&self.name),
            None => &self.name,
        }
    }

    /// Returns a key that two uses of a role share exactly when ansible-core takes them
    /// for the same role, which it runs once per host unless `allow_duplicates` is set.
    /// The key covers the path, parameters, `vars`, `when`, `tags`, the tasks,
    /// handlers, vars and defaults files and whether an include loaded the role.
    pub fn identity(&self) -> String {
        let values = |items: &[Spanned<Value>]| -> Vec<Value> {
            items.iter().map(|item| item.value.clone()).collect()
        };
        format!(
            "{}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
            self.definition.path.display(),
            self.params,
            self.entry.vars.as_ref().map(|vars| &vars.value),
            values(&self.entry.when),
            values(&self.entry.tags),
            self.tasks_from,
            self.handlers_from,
            self.vars_from,
            self.defaults_from,
            self.from_include,
        )
    }
}
