//! Handlers: notification by name or `listen` topic, and running them at flush points.

use std::collections::HashMap;
use std::sync::Arc;

use super::context::TaskContext;
use super::events::{Event, TaskKind};
use super::iterator::{IncludeScope, Node, PlayProgram, Scope, ScopeKind, SlotId};
use super::play::{group_includes, IncludeFailure, PendingInclude, PlayEnd, PlayRun};
use super::task::TaskOutcome;
use super::{CoreRelease, Executor};
use crate::playbook::{value_text, BlockKind, Item, Play, RoleInstance};
use crate::Value;

/// A play's handlers and which hosts notified each.
pub struct Handlers {
    program: PlayProgram,
    entries: Vec<HandlerEntry>,
    /// The release whose matching of `listen` topics applies.
    release: CoreRelease,
    /// Per host, the notifications made since the last flush, in order and without
    /// repeats, as ansible-core keeps them until the handlers are flushed.
    saved: HashMap<String, Vec<String>>,
    /// Set while handlers run: a handler's notification then applies at once.
    running: bool,
    /// The number of handler blocks loaded so far.
    groups: usize,
}

/// A list of handlers and the scope they run in. A role's handlers run in the scope of
/// the role's block, or of the `include_role` that loaded the role. So they inherit the
/// `when`, `vars` and other keywords of that place and of every enclosing block and
/// role, as ansible-core's handler blocks inherit from their parent and dependency chain.
struct HandlerSource {
    items: Arc<Vec<Item>>,
    scope: Option<Arc<Scope>>,
}

struct HandlerEntry {
    slot: super::iterator::SlotId,
    /// Names a `notify` may use: the handler's name and `role : name`.
    names: Vec<String>,
    /// The name ansible-core shows for the handler, as for a task.
    display_name: String,
    /// The role names that prefix the handler's name: the short and the full name of
    /// a collection's role, else the role's name.
    prefixes: Vec<String>,
    /// The handler's name while it is a template not rendered yet.
    name_template: Option<String>,
    /// The handler block it belongs to, numbered in load order: a role's handlers,
    /// a `block`, or a run of plain handlers of the play.
    group: usize,
    listen: Vec<String>,
    notified: Vec<String>,
}

impl Handlers {
    /// Collects the play's handlers in the order of ansible-core's task queue manager
    /// (checked with ansible-core 2.16 and 2.18):
    ///
    /// 1. the handlers of the `roles:` entries, each role's after those of its meta
    ///    dependencies;
    /// 2. the play's `handlers:` section;
    /// 3. the handlers of each `import_role`, in the order the play loads them: those in
    ///    `roles:` (inside the roles' tasks), then in `pre_tasks`, `post_tasks` and
    ///    `tasks`. An imported role's handlers follow those of the imports in its own
    ///    tasks and dependencies, because ansible-core adds them once the role is loaded.
    ///
    /// A notification finds the last loaded handler of a name, so an imported role's
    /// copy of a handler wins over the copy of the same role in `roles:`, and runs only
    /// where the import's conditions hold.
    pub fn new(play: &Play, release: CoreRelease) -> Handlers {
        let mut roles = Vec::new();
        let mut imported = ImportedHandlers::default();
        // Only `roles:` entries and their dependencies add to `roles`. The other
        // sections contain imported roles alone.
        for section in [&play.roles, &play.pre_tasks, &play.post_tasks, &play.tasks] {
            imported.collect(section, None, &mut roles);
        }
        let mut handlers = Handlers {
            program: PlayProgram::default(),
            entries: Vec::new(),
            release,
            saved: HashMap::new(),
            running: false,
            groups: 0,
        };
        handlers.add_sources(&roles);
        handlers.add_sources(&[HandlerSource {
            items: Arc::new(play.handlers.clone()),
            scope: None,
        }]);
        handlers.add_sources(&imported.sources);
        handlers
    }

    /// Adds the handlers that an include brings at run time, after all others, as
    /// ansible-core extends the play's handlers each time it loads an included file or
    /// role: those of the roles that `import_role` imports in the included tasks, then,
    /// for `include_role`, those of the role's dependencies and of the role itself.
    /// They run in `scope`, the include's scope.
    ///
    /// Each inclusion adds its own copy, which the next notification of a handler of
    /// that name then finds.
    pub fn add_included(
        &mut self,
        items: &[Item],
        scope: &Arc<Scope>,
        role: Option<&Arc<RoleInstance>>,
    ) {
        let mut imported = ImportedHandlers::default();
        let mut own = Vec::new();
        imported.collect(items, Some(scope), &mut own);
        if let Some(handlers) = role.and_then(|role| role.handlers.clone()) {
            own.push(HandlerSource {
                items: handlers,
                scope: Some(scope.clone()),
            });
        }
        self.add_sources(&imported.sources);
        self.add_sources(&own);
    }

    /// Compiles each source's handlers and adds them, each source's as blocks of their
    /// own.
    fn add_sources(&mut self, sources: &[HandlerSource]) {
        for source in sources {
            let nodes = self
                .program
                .compile_items(&source.items, source.scope.as_ref());
            self.add_entries(&nodes);
        }
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
                self.release,
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

    /// Tells whether a handler's name is a template that no notification rendered yet.
    fn has_name_templates(&self) -> bool {
        self.entries
            .iter()
            .any(|entry| entry.name_template.is_some())
    }

    /// Renders the handler names that are templates, as ansible-core does when a
    /// notification first searches the handlers, and keeps each rendered name. A name
    /// that fails to render stays unusable until a later search renders it; the
    /// warning for a handler without `listen` topics is returned.
    fn render_names(&mut self, render: impl Fn(&str) -> Result<String, String>) -> Vec<String> {
        let mut warnings = Vec::new();
        for entry in &mut self.entries {
            let Some(template) = &entry.name_template else {
                continue;
            };
            match render(template) {
                Ok(name) => {
                    entry.display_name = match entry.prefixes.last() {
                        Some(role) => format!("{role} : {name}"),
                        None => name.clone(),
                    };
                    entry.names = std::iter::once(name.clone())
                        .chain(entry.prefixes.iter().map(|role| format!("{role} : {name}")))
                        .collect();
                    entry.name_template = None;
                }
                Err(error) => {
                    entry.names.clear();
                    if entry.listen.is_empty() {
                        warnings.push(format!(
                            "Handler '{template}' is unusable because it has no listen topics and the name could not be templated (host-specific variables are not supported in handler names). The error: {error}"
                        ));
                    }
                }
            }
        }
        warnings
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

/// The handler sources that `import_role` adds while a task tree loads, in
/// ansible-core's load order.
#[derive(Default)]
struct ImportedHandlers {
    sources: Vec<HandlerSource>,
}

impl ImportedHandlers {
    /// Walks `items` under `scope`. The handlers of `roles:` entries and meta
    /// dependencies go to `owner`, the list of the role tree they belong to. Those of an
    /// imported role go to `self.sources` after those of the imports inside it.
    fn collect(
        &mut self,
        items: &[Item],
        scope: Option<&Arc<Scope>>,
        owner: &mut Vec<HandlerSource>,
    ) {
        for item in items {
            let Item::Block(block) = item else {
                continue;
            };
            let inner = Arc::new(Scope {
                kind: ScopeKind::Block(block.clone()),
                parent: scope.cloned(),
            });
            let BlockKind::Role(role) = &block.kind else {
                for list in [&block.block, &block.rescue, &block.always] {
                    self.collect(list, Some(&inner), owner);
                }
                continue;
            };
            if role.from_include {
                let mut own = Vec::new();
                self.collect(&block.block, Some(&inner), &mut own);
                own.extend(role_source(role, &inner));
                self.sources.extend(own);
            } else {
                self.collect(&block.block, Some(&inner), owner);
                owner.extend(role_source(role, &inner));
            }
        }
    }
}

/// Returns the handlers of `role` to run in `scope`, the scope of the role's block.
fn role_source(role: &RoleInstance, scope: &Arc<Scope>) -> Option<HandlerSource> {
    Some(HandlerSource {
        items: role.handlers.clone()?,
        scope: Some(scope.clone()),
    })
}

fn collect_entries(
    program: &PlayProgram,
    nodes: &[Node],
    group: usize,
    release: CoreRelease,
    entries: &mut Vec<HandlerEntry>,
) {
    for node in nodes {
        match node {
            Node::Task(slot) => {
                let task_slot = program.slot(*slot);
                let task = &task_slot.task;
                let mut names = Vec::new();
                let role = role_of(task_slot);
                // A collection's role is notified by its short name and by its full name.
                let prefixes: Vec<&str> = match &role {
                    Some(role) if role.collection.is_some() => {
                        vec![role.short_name(), role.name.as_str()]
                    }
                    Some(role) => vec![role.name.as_str()],
                    None => Vec::new(),
                };
                if let Some(name) = &task.name {
                    names.push(name.clone());
                    names.extend(prefixes.iter().map(|role| format!("{role} : {name}")));
                }
                let shown = task.name.clone().unwrap_or_else(|| task.action.clone());
                let display_name = match &role {
                    Some(role) => format!("{} : {shown}", role.name),
                    None => shown,
                };
                let name_template = task
                    .name
                    .clone()
                    .filter(|name| crate::playbook::is_template(name));
                let mut listen: Vec<String> = task
                    .keyword("listen")
                    .map(|l| match &l.value {
                        Value::List(items) => items.iter().map(value_text).collect(),
                        other => vec![value_text(other)],
                    })
                    .unwrap_or_default();
                if release.listens_as_role_topic() {
                    let prefixed: Vec<String> = listen
                        .iter()
                        .flat_map(|topic| {
                            prefixes.iter().map(move |role| format!("{role} : {topic}"))
                        })
                        .collect();
                    listen.extend(prefixed);
                }
                entries.push(HandlerEntry {
                    slot: *slot,
                    names,
                    display_name,
                    prefixes: prefixes.iter().map(|prefix| prefix.to_string()).collect(),
                    name_template,
                    group,
                    listen,
                    notified: Vec::new(),
                });
            }
            Node::Block(block) => {
                collect_entries(program, &block.body, group, release, entries);
                collect_entries(program, &block.rescue, group, release, entries);
                collect_entries(program, &block.always, group, release, entries);
            }
        }
    }
}

/// Returns the innermost role of the handler's scope: a role's block or an
/// `include_role`.
fn role_of(slot: &super::iterator::TaskSlot) -> Option<Arc<RoleInstance>> {
    let scope = slot.scope.as_ref()?;
    scope
        .chain()
        .iter()
        .rev()
        .find_map(|scope| match &scope.kind {
            ScopeKind::Block(block) => match &block.kind {
                BlockKind::Role(role) => Some(role.clone()),
                _ => None,
            },
            ScopeKind::Include(include) => include.role.clone(),
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
        let names = self.notify_names(run, context, host);
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
        &mut self,
        run: &mut super::play::PlayRun,
        context: &TaskContext,
        host: &str,
        outcome: &TaskOutcome,
    ) -> Option<String> {
        if !self.options.error_on_missing_handler
            || !outcome.result.get("changed").is_some_and(Value::is_truthy)
            || outcome.failed()
        {
            return None;
        }
        let names = self.notify_names(run, context, host);
        names.into_iter().find(|name| !run.handlers.exists(name))
    }

    /// Returns the handler names or topics the task's `notify` keyword gives for
    /// `host`, templated with the host's variables as ansible-core templates the
    /// keyword before the task runs. It first renders handler names that are templates,
    /// as a notification would search them.
    ///
    /// NOTE: ansible-core templates `notify` for each loop item; rplay templates it once
    /// per host, without the loop variables.
    fn notify_names(
        &mut self,
        run: &mut super::play::PlayRun,
        context: &TaskContext,
        host: &str,
    ) -> Vec<String> {
        let Some(notify) = context.keyword("notify") else {
            return Vec::new();
        };
        self.render_handler_names(run);
        let templated = match self.host_task_vars(run, context, host) {
            Some(vars) => self
                .templar
                .template(&notify.value, &vars)
                .unwrap_or_else(|_| notify.value.clone()),
            None => notify.value.clone(),
        };
        match &templated {
            Value::List(items) => items.iter().map(value_text).collect(),
            other => vec![value_text(other)],
        }
    }

    /// Renders the handler names that are templates with the play's variables.
    ///
    /// NOTE: ansible-core also gives a role's handler its role's variables here.
    fn render_handler_names(&mut self, run: &mut super::play::PlayRun) {
        if !run.handlers.has_name_templates() {
            return;
        }
        let Ok(vars) = self.vars.play_vars(&run.layers) else {
            return;
        };
        let templar = &self.templar;
        let warnings = run.handlers.render_names(|name| {
            templar
                .template(&Value::from(name), &vars)
                .map(|value| value_text(&value))
                .map_err(|error| error.message)
        });
        for warning in warnings {
            self.emit(Event::Warning(warning));
        }
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
            if is_flush_handlers(&context) {
                // ansible-core shows the handler's banner, then stops the run.
                if let Some(vars) = self.host_task_vars(run, &context, &notified[0]) {
                    let info = self.task_info(&context, &vars, TaskKind::Handler);
                    self.emit(Event::TaskStart(info));
                }
                self.abort = Some(super::RunError::FlushHandlersAsHandler);
                return;
            }
            if context.task.short_action() == "meta" {
                self.run_meta(run, &context, &notified, TaskKind::Handler);
                continue;
            }
            self.run_task_for_hosts(run, slot, &context, &notified, TaskKind::Handler, true);
        }
    }
}

/// Tells whether a task is `meta: flush_handlers`.
fn is_flush_handlers(context: &TaskContext) -> bool {
    context.task.short_action() == "meta"
        && context
            .task
            .args
            .get("_raw_params")
            .is_some_and(|action| value_text(action) == "flush_handlers")
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
            let hosts: Vec<String> = hosts.into_iter().map(|(host, _)| host).collect();
            let scope = Arc::new(Scope {
                kind: ScopeKind::Include(Arc::new(IncludeScope {
                    task: context.task.clone(),
                    task_scope: task_scope.clone(),
                    vars: request.item_vars.clone(),
                    role: role.clone(),
                    target: request.target.clone(),
                })),
                parent: task_scope,
            });
            // ansible-core rejects `import_role` in a handler's included tasks file, so
            // only an included role brings handlers here.
            if let Some(role) = &role {
                run.handlers.add_included(&items, &scope, Some(role));
            }
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
