//! Handlers: notification by name or `listen` topic, and running them at flush points.

use std::collections::HashMap;
use std::sync::Arc;

use super::context::TaskContext;
use super::events::{Event, TaskKind};
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
    /// Per host, the notifications made since the last flush, in order and without
    /// repeats, as ansible-core keeps them until the handlers are flushed.
    saved: HashMap<String, Vec<String>>,
    /// Set while handlers run: a handler's notification then applies at once.
    running: bool,
    /// The number of handler blocks loaded so far.
    groups: usize,
}

struct HandlerEntry {
    slot: super::iterator::SlotId,
    /// Names a `notify` may use: the handler's name and `role : name`.
    names: Vec<String>,
    /// The name ansible-core shows for the handler, as for a task.
    display_name: String,
    /// The handler block it belongs to, numbered in load order: a role's handlers,
    /// a `block`, or a run of plain handlers of the play.
    group: usize,
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
        let mut handlers = Handlers {
            program,
            entries: Vec::new(),
            included_roles: Vec::new(),
            saved: HashMap::new(),
            running: false,
            groups: 0,
        };
        handlers.add_entries(&nodes);
        handlers
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
        self.add_entries(&nodes);
    }

    /// Adds the handlers of `nodes`, each top-level node a block of its own except
    /// that consecutive plain handlers share one, as ansible-core groups them.
    fn add_entries(&mut self, nodes: &[Node]) {
        let mut previous_task = false;
        for node in nodes {
            let is_task = matches!(node, Node::Task(_));
            if !(is_task && previous_task) {
                self.groups += 1;
            }
            previous_task = is_task;
            collect_entries(
                &self.program,
                std::slice::from_ref(node),
                self.groups,
                &mut self.entries,
            );
        }
    }

    /// Entry indices in ansible-core's search order: the last loaded block first,
    /// and the handlers of one block in order.
    fn search_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.entries.len()).collect();
        order.sort_by_key(|&index| (std::cmp::Reverse(self.entries[index].group), index));
        order
    }

    /// Tells whether a handler answers to `name`, by name or `listen` topic.
    pub fn exists(&self, name: &str) -> bool {
        self.entries.iter().any(|entry| {
            entry.names.iter().any(|n| n == name) || entry.listen.iter().any(|l| l == name)
        })
    }

    /// Notifies for `host` the handlers that match `name`. Returns the display names of
    /// those that were not notified for it yet.
    ///
    /// As ansible-core's `search_handlers_by_notification`, the handlers are searched
    /// in [`Handlers::search_order`]: by name only the first match counts, and of the
    /// handlers listening to `name` only the first found of each name.
    fn notify(&mut self, name: &str, host: &str) -> Vec<String> {
        let order = self.search_order();
        let mut answering = Vec::new();
        if let Some(&index) = order
            .iter()
            .find(|&&index| self.entries[index].names.iter().any(|n| n == name))
        {
            answering.push(index);
        }
        let mut seen: Vec<&str> = Vec::new();
        for &index in &order {
            let entry = &self.entries[index];
            if !entry.listen.iter().any(|l| l == name) {
                continue;
            }
            if let Some(handler_name) = entry.names.first() {
                if seen.contains(&handler_name.as_str()) {
                    continue;
                }
                seen.push(handler_name);
            }
            answering.push(index);
        }
        let mut notified = Vec::new();
        for index in answering {
            let entry = &mut self.entries[index];
            if !entry.notified.iter().any(|h| h == host) {
                entry.notified.push(host.to_string());
                notified.push(entry.display_name.clone());
            }
        }
        notified
    }

    /// Keeps `name` for `host` until the next flush.
    fn save(&mut self, name: &str, host: &str) {
        let saved = self.saved.entry(host.to_string()).or_default();
        if !saved.iter().any(|n| n == name) {
            saved.push(name.to_string());
        }
    }

    /// Notifies the handlers of `host`'s saved notifications, in the order they were
    /// made; returns the display names of the handlers newly notified.
    fn apply_saved(&mut self, host: &str) -> Vec<String> {
        let saved = self.saved.remove(host).unwrap_or_default();
        saved
            .iter()
            .flat_map(|name| self.notify(name, host))
            .collect()
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

fn collect_entries(
    program: &PlayProgram,
    nodes: &[Node],
    group: usize,
    entries: &mut Vec<HandlerEntry>,
) {
    for node in nodes {
        match node {
            Node::Task(slot) => {
                let task_slot = program.slot(*slot);
                let task = &task_slot.task;
                let mut names = Vec::new();
                let role = role_of(task_slot);
                if let Some(name) = &task.name {
                    names.push(name.clone());
                    if let Some(role) = &role {
                        names.push(format!("{role} : {name}"));
                    }
                }
                let shown = task.name.clone().unwrap_or_else(|| task.action.clone());
                let display_name = match &role {
                    Some(role) => format!("{role} : {shown}"),
                    None => shown,
                };
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
                    display_name,
                    group,
                    listen,
                    notified: Vec::new(),
                });
            }
            Node::Block(block) => {
                collect_entries(program, &block.body, group, entries);
                collect_entries(program, &block.rescue, group, entries);
                collect_entries(program, &block.always, group, entries);
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
        let Some(notify) = context.keyword("notify") else {
            return;
        };
        let names: Vec<String> = match &notify.value {
            Value::List(items) => items.iter().map(value_text).collect(),
            other => vec![value_text(other)],
        };
        // NOTE: notify names are used as written; templated names are not rendered yet.
        for name in names {
            if !run.handlers.exists(&name) {
                self.emit(Event::Warning(format!(
                    "The requested handler '{name}' was not found in either the main handlers list nor in the listening handlers list"
                )));
            } else if run.handlers.running {
                for handler in run.handlers.notify(&name, host) {
                    self.emit(Event::HandlerNotified {
                        handler,
                        host: host.to_string(),
                    });
                }
            } else {
                run.handlers.save(&name, host);
                self.emit(Event::NotificationSaved(name));
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
        let notify = context.keyword("notify")?;
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
        for host in hosts {
            self.notify_saved(run, host);
        }
        run.handlers.running = true;
        self.run_notified_handlers(run, hosts);
        run.handlers.running = false;
        PlayEnd::Continue
    }

    /// Turns the host's saved notifications into notified handlers, as a flush does
    /// first for each host, with the `-vv` line for each.
    pub(super) fn notify_saved(&mut self, run: &mut super::play::PlayRun, host: &str) {
        if run.states.get(host).is_some_and(|s| s.failed) {
            return;
        }
        for handler in run.handlers.apply_saved(host) {
            self.emit(Event::HandlerNotified {
                handler,
                host: host.to_string(),
            });
        }
    }

    /// Runs the handlers notified for `hosts`, each once, in handler order.
    fn run_notified_handlers(&mut self, run: &mut PlayRun, hosts: &[String]) {
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
    }
}

impl Executor<'_> {
    /// Runs the tasks that `include_tasks` or `include_role` handlers included, right
    /// after the include, each as a handler of the hosts that included it.
    ///
    /// NOTE: blocks in an included handler file run their `block` and `always` tasks.
    /// A failure there does not run `rescue`, and tags do not filter the tasks.
    pub(super) fn run_handler_includes(
        &mut self,
        run: &mut PlayRun,
        slot: SlotId,
        context: &Arc<TaskContext>,
        includes: Vec<PendingInclude>,
    ) {
        for (request, hosts) in group_includes(includes) {
            let task_scope = run.handlers.program.slot(slot).scope.clone();
            let origin = super::play::IncludeOrigin {
                scope: task_scope.as_ref(),
                handler: true,
            };
            let (path, items, role) = match self.load_include(run, context, &request, &origin) {
                Ok(loaded) => loaded,
                Err(IncludeFailure::Run(error)) => {
                    self.abort = Some(error);
                    return;
                }
                Err(IncludeFailure::Hosts(reason)) => {
                    self.fail_include(run, &request, hosts, &reason);
                    continue;
                }
            };
            if let Some(role) = &role {
                run.handlers.add_included_role(role);
            }
            let hosts: Vec<String> = hosts.into_iter().map(|(host, _)| host).collect();
            let scope = Arc::new(Scope {
                kind: ScopeKind::Include(Arc::new(IncludeScope {
                    task: context.task.clone(),
                    task_scope: task_scope.clone(),
                    vars: request.item_vars.clone(),
                    role,
                    target: request.target.clone(),
                })),
                parent: task_scope,
            });
            let nodes = run.handlers.program.compile_included(&items, &scope, slot);
            self.report_included(&request, path, hosts.clone());
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
