//! Handlers: notification by name or `listen` topic, and running them at flush points.

use std::sync::Arc;

use super::context::TaskContext;
use super::events::TaskKind;
use super::iterator::{IncludeScope, Node, PlayProgram, Scope, ScopeKind, SlotId};
use super::play::{group_includes, IncludeFailure, PendingInclude, PlayEnd, PlayRun};
use super::task::TaskOutcome;
use super::Executor;
use crate::playbook::{value_text, Block, BlockKind, Inherited, Item, Play, RoleInstance};
use crate::Value;

/// A play's handlers and which hosts notified each.
pub struct Handlers {
    program: PlayProgram,
    entries: Vec<HandlerEntry>,
    /// Identities of the roles whose handlers `include_role` added.
    included_roles: Vec<String>,
}

struct HandlerEntry {
    slot: super::iterator::SlotId,
    /// Names a `notify` may use: the handler's name and `role : name`.
    names: Vec<String>,
    listen: Vec<String>,
    notified: Vec<String>,
}

impl Handlers {
    /// Collects the play's handlers and those of its roles, in ansible-core's order:
    /// role handlers first, then the play's.
    pub fn new(play: &Play) -> Handlers {
        let mut items: Vec<Item> = super::play::play_roles(play)
            .iter()
            .filter_map(role_handlers)
            .collect();
        items.extend(play.handlers.iter().cloned());
        let mut program = PlayProgram::default();
        let nodes = program.compile_items(&items, None);
        let mut entries = Vec::new();
        collect_entries(&program, &nodes, &mut entries);
        Handlers {
            program,
            entries,
            included_roles: Vec::new(),
        }
    }

    /// Adds the handlers of a role that `include_role` loaded, after the play's, with
    /// those of its dependencies first, as ansible-core extends the play's handlers.
    ///
    /// NOTE: ansible-core adds them again at each inclusion; rplay adds a role's
    /// handlers once, so a notified handler runs once.
    pub fn add_included_role(&mut self, role: &Arc<RoleInstance>) {
        let identity = role.identity();
        if self.included_roles.contains(&identity) {
            return;
        }
        self.included_roles.push(identity);
        let mut roles = super::context::all_dependencies(role);
        roles.push(role.clone());
        let items: Vec<Item> = roles.iter().filter_map(role_handlers).collect();
        let nodes = self.program.compile_items(&items, None);
        collect_entries(&self.program, &nodes, &mut self.entries);
    }

    /// Tells whether a handler answers to `name`, by name or `listen` topic.
    pub fn exists(&self, name: &str) -> bool {
        self.entries.iter().any(|entry| {
            entry.names.iter().any(|n| n == name) || entry.listen.iter().any(|l| l == name)
        })
    }

    /// Records that `host` notified `name`; returns false when no handler matches.
    pub fn notify(&mut self, name: &str, host: &str) -> bool {
        let mut found = false;
        for entry in &mut self.entries {
            if entry.names.iter().any(|n| n == name) || entry.listen.iter().any(|l| l == name) {
                found = true;
                if !entry.notified.iter().any(|h| h == host) {
                    entry.notified.push(host.to_string());
                }
            }
        }
        found
    }
}

/// Returns the handlers of `role` as a block of that role, when it has any.
fn role_handlers(role: &Arc<RoleInstance>) -> Option<Item> {
    let handlers = role.definition.handlers.as_ref()?;
    Some(Item::Block(Arc::new(Block {
        span: role.span.clone(),
        kind: BlockKind::Role(role.clone()),
        name: None,
        block: handlers.as_ref().clone(),
        rescue: Vec::new(),
        always: Vec::new(),
        inherited: Inherited::default(),
    })))
}

fn collect_entries(program: &PlayProgram, nodes: &[Node], entries: &mut Vec<HandlerEntry>) {
    for node in nodes {
        match node {
            Node::Task(slot) => {
                let task_slot = program.slot(*slot);
                let task = &task_slot.task;
                let mut names = Vec::new();
                if let Some(name) = &task.name {
                    names.push(name.clone());
                    if let Some(role) = role_of(task_slot) {
                        names.push(format!("{role} : {name}"));
                    }
                }
                let listen = task
                    .keyword("listen")
                    .map(|l| match &l.value {
                        Value::List(items) => items.iter().map(value_text).collect(),
                        other => vec![value_text(other)],
                    })
                    .unwrap_or_default();
                entries.push(HandlerEntry {
                    slot: *slot,
                    names,
                    listen,
                    notified: Vec::new(),
                });
            }
            Node::Block(block) => {
                collect_entries(program, &block.body, entries);
                collect_entries(program, &block.rescue, entries);
                collect_entries(program, &block.always, entries);
            }
        }
    }
}

fn role_of(slot: &super::iterator::TaskSlot) -> Option<String> {
    let scope = slot.scope.as_ref()?;
    scope
        .chain()
        .iter()
        .rev()
        .find_map(|scope| match &scope.kind {
            super::iterator::ScopeKind::Block(block) => match &block.kind {
                BlockKind::Role(role) => Some(role.name.clone()),
                _ => None,
            },
            _ => None,
        })
}

impl Executor<'_> {
    /// Records the notifications of a changed result.
    pub(super) fn notify(
        &mut self,
        run: &mut super::play::PlayRun,
        context: &TaskContext,
        host: &str,
        outcome: &TaskOutcome,
    ) {
        if !outcome.result.get("changed").is_some_and(Value::is_truthy) {
            return;
        }
        let Some(notify) = context.task.keyword("notify") else {
            return;
        };
        let names: Vec<String> = match &notify.value {
            Value::List(items) => items.iter().map(value_text).collect(),
            other => vec![value_text(other)],
        };
        // NOTE: notify names are used as written; templated names are not rendered yet.
        for name in names {
            if !run.handlers.notify(&name, host) {
                self.emit(super::events::Event::Warning(format!(
                    "The requested handler '{name}' was not found in either the main handlers list nor in the listening handlers list"
                )));
            }
        }
    }

    /// Finds the first handler a changed result notifies that does not exist, which
    /// ansible-core treats as an error (`error_on_missing_handler`, on by default).
    pub(super) fn missing_handler(
        &self,
        run: &super::play::PlayRun,
        context: &TaskContext,
        outcome: &TaskOutcome,
    ) -> Option<String> {
        if !self.options.error_on_missing_handler
            || !outcome.result.get("changed").is_some_and(Value::is_truthy)
            || outcome.failed()
        {
            return None;
        }
        let notify = context.task.keyword("notify")?;
        let names: Vec<String> = match &notify.value {
            Value::List(items) => items.iter().map(value_text).collect(),
            other => vec![value_text(other)],
        };
        names.into_iter().find(|name| !run.handlers.exists(name))
    }

    /// Runs notified handlers for `hosts`, in handler order.
    pub(super) fn flush_handlers(
        &mut self,
        run: &mut super::play::PlayRun,
        hosts: &[String],
    ) -> PlayEnd {
        let count = run.handlers.entries.len();
        for index in 0..count {
            let (slot, notified) = {
                let entry = &mut run.handlers.entries[index];
                let notified: Vec<String> = entry
                    .notified
                    .iter()
                    .filter(|h| hosts.contains(h))
                    .cloned()
                    .collect();
                entry.notified.retain(|h| !hosts.contains(h));
                (entry.slot, notified)
            };
            let notified: Vec<String> = notified
                .into_iter()
                .filter(|h| !run.states.get(h).is_some_and(|s| s.failed))
                .collect();
            if notified.is_empty() {
                continue;
            }
            let task_slot = run.handlers.program.slot(slot).clone();
            let context = Arc::new(TaskContext::new(&run.play, &task_slot));
            self.run_task_for_hosts(run, slot, &context, &notified, TaskKind::Handler, true);
        }
        PlayEnd::Continue
    }
}

impl Executor<'_> {
    /// Runs the tasks that `include_tasks` or `include_role` handlers included, right
    /// after the include, each as a handler of the hosts that included it.
    ///
    /// NOTE: blocks in an included handler file run their `block` and `always` tasks;
    /// a failure there does not run `rescue`, and tags do not filter the tasks.
    pub(super) fn run_handler_includes(
        &mut self,
        run: &mut PlayRun,
        slot: SlotId,
        context: &Arc<TaskContext>,
        includes: Vec<PendingInclude>,
    ) {
        for (request, hosts) in group_includes(includes) {
            let (path, items, role) = match self.load_include(run, context, &request) {
                Ok(loaded) => loaded,
                Err(IncludeFailure::Run(error)) => {
                    self.abort = Some(error);
                    return;
                }
                Err(IncludeFailure::Hosts(reason)) => {
                    self.fail_include(run, hosts, &reason);
                    continue;
                }
            };
            if let Some(role) = &role {
                run.handlers.add_included_role(role);
            }
            let hosts: Vec<String> = hosts.into_iter().map(|(host, _)| host).collect();
            let task_scope = run.handlers.program.slot(slot).scope.clone();
            let scope = Arc::new(Scope {
                kind: ScopeKind::Include(Arc::new(IncludeScope {
                    task: context.task.clone(),
                    task_scope: task_scope.clone(),
                    vars: request.item_vars.clone(),
                    role,
                })),
                parent: task_scope,
            });
            let nodes = run.handlers.program.compile_included(&items, &scope, slot);
            for host in &hosts {
                self.stats_for(host).ok += 1;
            }
            self.emit(super::events::Event::Included {
                file: path,
                hosts: hosts.clone(),
                item_label: request.item_label.clone(),
            });
            let mut slots = Vec::new();
            handler_slots(&nodes, &mut slots);
            for included in slots {
                if self.abort.is_some() {
                    return;
                }
                let hosts: Vec<String> = hosts
                    .iter()
                    .filter(|h| !run.states.get(*h).is_some_and(|s| s.failed))
                    .cloned()
                    .collect();
                if hosts.is_empty() {
                    return;
                }
                let task_slot = run.handlers.program.slot(included).clone();
                let context = Arc::new(TaskContext::new(&run.play, &task_slot));
                self.run_task_for_hosts(run, included, &context, &hosts, TaskKind::Handler, true);
            }
        }
    }
}

/// The task slots of an included handler file in run order: each block's `block`,
/// then its `always` tasks.
fn handler_slots(nodes: &[Node], slots: &mut Vec<SlotId>) {
    for node in nodes {
        match node {
            Node::Task(slot) => slots.push(*slot),
            Node::Block(block) => {
                handler_slots(&block.body, slots);
                handler_slots(&block.always, slots);
            }
        }
    }
}
