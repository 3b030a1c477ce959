//! One play: its variables, hosts and the linear strategy over its tasks.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::actions::{Effect, IncludeRequest};
use super::context::{all_dependencies, TaskContext};
use super::events::{Event, HostResult, Status, TaskInfo, TaskKind};
use super::iterator::{HostState, IncludeScope, PlayProgram, Scope, ScopeKind, SlotId};
use super::task::{callback_copy, truthy_keyword, TaskOutcome};
use super::Executor;
use crate::inventory::{HostQuery, InventoryError};
use crate::playbook::walk::task_display_name;
use crate::playbook::{
    value_text, Block, BlockKind, Inherited, Item, LoadError, LoadErrorKind, Play, RoleFiles,
    RoleInstance, Task,
};
use crate::template::Variables;
use crate::vars::{Layers, PlayLayers};
use crate::yaml::FileError;
use crate::{Map, Value};

/// An included file's path (or role name), its tasks, and the role for `include_role`.
pub(super) type LoadedInclude = (String, Vec<Item>, Option<Arc<RoleInstance>>);

/// An include one host asked for, with the include task's result on that host.
pub(super) struct PendingInclude {
    host: String,
    request: IncludeRequest,
    result: Map,
}

/// Includes grouped by request: hosts that included the same target with the same
/// arguments share one copy. Each host comes with its include result.
pub(super) type IncludeGroups = Vec<(IncludeRequest, Vec<(String, Map)>)>;

/// Groups `includes` by request, in the order of their first host.
pub(super) fn group_includes(includes: Vec<PendingInclude>) -> IncludeGroups {
    let mut groups: IncludeGroups = Vec::new();
    for PendingInclude {
        host,
        request,
        result,
    } in includes
    {
        match groups.iter_mut().find(|(r, _)| {
            r.target == request.target
                && r.args == request.args
                && r.role == request.role
                && r.item_vars == request.item_vars
        }) {
            Some((_, hosts)) => hosts.push((host, result)),
            None => groups.push((request, vec![(host, result)])),
        }
    }
    groups
}

/// The reason an included file or role could not be loaded.
pub(super) enum IncludeFailure {
    /// A missing file or role, or one that cannot be decrypted: the including hosts
    /// fail with this reason.
    Hosts(String),
    /// A malformed file: the run stops, as for ansible-core's parser errors.
    Run(super::RunError),
}

impl From<LoadError> for IncludeFailure {
    fn from(err: LoadError) -> IncludeFailure {
        if !matches!(err.kind, LoadErrorKind::NotFound | LoadErrorKind::Vault) {
            return IncludeFailure::Run(super::RunError::Load(err));
        }
        // ansible-core appends the position when its error has one.
        match &err.span {
            Some(span) => IncludeFailure::Hosts(format!(
                "{}\n\n{}",
                err.message,
                crate::source::ansible_position_details(span)
            )),
            None => IncludeFailure::Hosts(err.message),
        }
    }
}

/// Counts the `include_tasks` and `include_role` scopes that enclose `scope`.
fn include_depth(scope: Option<&Arc<Scope>>) -> usize {
    let mut depth = 0;
    let mut current = scope;
    while let Some(scope) = current {
        if matches!(scope.kind, ScopeKind::Include(_)) {
            depth += 1;
        }
        current = scope.parent.as_ref();
    }
    depth
}

/// Whether the playbook goes on after a play.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlayEnd {
    Continue,
    /// Every host of the batch failed: ansible-playbook stops the playbook.
    StopPlaybook,
}

/// State of one play's run.
pub(super) struct PlayRun {
    pub(super) play: Arc<Play>,
    pub(super) layers: PlayLayers,
    program: PlayProgram,
    contexts: HashMap<SlotId, Arc<TaskContext>>,
    /// The play's hosts, in every batch.
    all_hosts: Vec<String>,
    /// The hosts of the batch being run.
    pub(super) hosts: Vec<String>,
    pub(super) states: HashMap<String, HostState>,
    /// Per host, the role uses it ran: role key to the block it ran in.
    roles_run: HashMap<String, HashMap<String, *const Block>>,
    pub(super) handlers: super::handlers::Handlers,
    /// Hosts that failed or ended in this play, as ansible-core's `Play._removed_hosts`;
    /// `ansible_play_hosts` and `ansible_play_batch` leave them out.
    removed: Vec<String>,
    /// Set by `meta: end_play`, which also ends the batches still to come.
    pub(super) ended_play: bool,
    /// Set when `max_fail_percentage` is exceeded, which ends the playbook.
    broke_play: bool,
    /// Hosts whose included file or role could not be loaded, in the task being run.
    failed_includes: Vec<String>,
}

impl PlayRun {
    /// Sets `ansible_play_hosts` to the play's hosts, and `ansible_play_batch` and
    /// `play_hosts` to the batch's hosts, that were not removed.
    fn update_play_hosts(&mut self) {
        let remaining = |hosts: &[String]| -> Value {
            Value::list(
                hosts
                    .iter()
                    .filter(|host| !self.removed.contains(host))
                    .map(|host| Value::from(host.as_str()))
                    .collect(),
            )
        };
        let play_hosts = remaining(&self.all_hosts);
        let batch = remaining(&self.hosts);
        let magic = &mut self.layers.magic;
        magic.insert(Value::from("ansible_play_hosts"), play_hosts);
        magic.insert(Value::from("ansible_play_batch"), batch.clone());
        magic.insert(Value::from("play_hosts"), batch);
    }

    pub(super) fn remove_host(&mut self, host: &str) {
        if !self.removed.iter().any(|h| h == host) {
            self.removed.push(host.to_string());
            self.update_play_hosts();
        }
    }
}

impl Executor<'_> {
    pub(super) fn run_play(&mut self, play: &Arc<Play>) -> PlayEnd {
        let mut layers = self.play_layers(play);
        if self.abort.is_some() {
            return PlayEnd::StopPlaybook;
        }
        let play_vars = match self.vars.play_vars(&layers) {
            Ok(vars) => vars,
            Err(err) => {
                self.emit(Event::Warning(err.to_string()));
                return PlayEnd::StopPlaybook;
            }
        };
        self.warn_reserved_names(&layers);
        let name = self.render_text(&Value::from(play.display_name()), &play_vars);
        let patterns = self.host_patterns(play, &play_vars);
        // ansible-core resolves the untemplated patterns while computing the play's
        // variables, before the PLAY banner, and warns then.
        self.play_vars_hosts(play);
        let strategy = play
            .keyword("strategy")
            .map(|s| value_text(&s.value))
            .unwrap_or_else(|| "linear".to_string());
        let play_start = Event::PlayStart {
            name: name.clone(),
            check_mode: self.options.check,
            strategy: strategy.clone(),
        };
        let hosts = self.select_hosts(&patterns);
        if hosts.is_empty() {
            self.emit(play_start);
            self.emit(Event::NoHostsMatched);
            return PlayEnd::Continue;
        }
        let host_values: Vec<Value> = hosts.iter().map(|h| Value::from(h.as_str())).collect();
        layers.magic.insert(
            Value::from("ansible_play_hosts_all"),
            Value::list(host_values),
        );
        self.host_vars_files(play, &mut layers, &hosts);
        let mut removed = Vec::new();
        for batch in self.serial_batches(play, &play_vars, &hosts) {
            // Each batch is a run of its own, with its own PLAY banner.
            self.emit(Event::PlayStart {
                name: name.clone(),
                check_mode: self.options.check,
                strategy: strategy.clone(),
            });
            let run = self.run_batch(play, &layers, &play_vars, &hosts, &batch, removed);
            removed = run.removed;
            if run.broke_play {
                return PlayEnd::StopPlaybook;
            }
            if run.ended_play {
                break;
            }
            let failed = batch
                .iter()
                .filter(|h| self.failed_hosts.contains(*h) || self.unreachable_hosts.contains(*h))
                .count();
            if failed == batch.len() {
                return PlayEnd::StopPlaybook;
            }
        }
        PlayEnd::Continue
    }

    /// Splits the play's hosts into `serial` batches, as ansible-core's
    /// `_get_serialized_batches`: each entry a count or a percentage, the last one
    /// repeated until every host is in a batch.
    fn serial_batches(
        &self,
        play: &Play,
        vars: &dyn Variables,
        hosts: &[String],
    ) -> Vec<Vec<String>> {
        let sizes: Vec<Value> = match play.keyword("serial") {
            Some(serial) => match self.templar.template(&serial.value, vars) {
                Ok(Value::List(items)) => items.to_vec(),
                Ok(Value::Null) | Err(_) => Vec::new(),
                Ok(other) => vec![other],
            },
            None => Vec::new(),
        };
        if sizes.is_empty() {
            return vec![hosts.to_vec()];
        }
        let total = hosts.len();
        let mut remaining: std::collections::VecDeque<String> = hosts.iter().cloned().collect();
        let mut batches = Vec::new();
        let mut index = 0;
        while !remaining.is_empty() {
            let size = batch_size(&sizes[index], total);
            if size <= 0 {
                batches.push(remaining.drain(..).collect());
                break;
            }
            let take = (size as usize).min(remaining.len());
            batches.push(remaining.drain(..take).collect());
            index = (index + 1).min(sizes.len() - 1);
        }
        batches
    }

    /// Runs the play on one batch of its hosts (all of them without `serial`).
    fn run_batch(
        &mut self,
        play: &Arc<Play>,
        layers: &PlayLayers,
        play_vars: &crate::vars::HostVars,
        all_hosts: &[String],
        batch: &[String],
        removed: Vec<String>,
    ) -> PlayRun {
        let selected = self.filter_sections(play, play_vars);
        let flush = flush_task(play);
        let sections: Vec<&[Item]> = selected.iter().map(Vec::as_slice).collect();
        let setup = self.setup_task(play, play_vars);
        let force_handlers = match play.keyword("force_handlers") {
            Some(value) => self
                .templar
                .template(&value.value, play_vars)
                .is_ok_and(|value| truthy_keyword(&value)),
            None => self.options.force_handlers,
        };
        let program = PlayProgram::compile(&sections, &flush, setup.as_ref(), force_handlers);
        let mut states = HashMap::new();
        for host in batch {
            let mut state = HostState::new(&program);
            if self.failed_hosts.contains(host) {
                state.failed = true;
            }
            self.vars.load_cached_facts(host);
            if setup.is_some() && self.skips_smart_gathering(host) {
                // The setup task is the first slot: the host moves past it unseen.
                state.advance();
            }
            states.insert(host.clone(), state);
        }
        if let Some(pattern) = self
            .options
            .start_at_task
            .clone()
            .filter(|_| !self.start_at_done)
        {
            self.start_at_done |= skip_to_task(&program, &mut states, &pattern);
        }
        let handlers = super::handlers::Handlers::new(play, self.options.core_release);
        let mut run = PlayRun {
            play: play.clone(),
            layers: layers.clone(),
            program,
            contexts: HashMap::new(),
            all_hosts: all_hosts.to_vec(),
            hosts: batch.to_vec(),
            states,
            roles_run: HashMap::new(),
            handlers,
            removed,
            ended_play: false,
            broke_play: false,
            failed_includes: Vec::new(),
        };
        run.update_play_hosts();
        self.linear(&mut run);
        run
    }

    /// The linear strategy: hosts run each task together, in the play's order.
    fn linear(&mut self, run: &mut PlayRun) {
        loop {
            // Variables read for the previous task may have loaded cached facts.
            self.emit_fact_cache_warnings();
            if self.abort.is_some() {
                break;
            }
            self.record_block_failures(run);
            let active: Vec<String> = run
                .hosts
                .iter()
                .filter(|h| !self.unreachable_hosts.contains(*h))
                .filter(|h| !run.states[*h].failed)
                .cloned()
                .collect();
            let wanted: Vec<(String, SlotId)> = active
                .iter()
                .filter_map(|h| run.states[h].peek().map(|slot| (h.clone(), slot)))
                .collect();
            let slots: Vec<SlotId> = wanted.iter().map(|(_, slot)| *slot).collect();
            let Some(slot) = run.program.next_lockstep(&slots) else {
                break;
            };
            let task_hosts: Vec<String> = wanted
                .iter()
                .filter(|(_, s)| *s == slot)
                .map(|(h, _)| h.clone())
                .collect();
            for host in &task_hosts {
                if let Some(state) = run.states.get_mut(host) {
                    state.advance();
                }
            }
            self.run_slot(run, slot, &task_hosts);
        }
    }

    fn context(&self, run: &mut PlayRun, slot: SlotId) -> Arc<TaskContext> {
        run.contexts
            .entry(slot)
            .or_insert_with(|| Arc::new(TaskContext::new(&run.play, run.program.slot(slot))))
            .clone()
    }

    /// Runs one task slot on the hosts that reached it.
    fn run_slot(&mut self, run: &mut PlayRun, slot: SlotId, hosts: &[String]) {
        let task_slot = run.program.slot(slot).clone();
        if task_slot.implicit_flush {
            self.flush_handlers(run, hosts);
            return;
        }
        let context = self.context(run, slot);
        let hosts: Vec<String> = hosts
            .iter()
            .filter(|host| !self.role_already_ran(run, &context, host, slot))
            .cloned()
            .collect();
        if hosts.is_empty() {
            return;
        }
        if context.task.short_action() == "meta" {
            self.run_meta(run, &context, &hosts, TaskKind::Task);
            return;
        }
        self.run_task_for_hosts(run, slot, &context, &hosts, TaskKind::Task, false);
    }

    /// Runs a task (or handler) on `hosts` and processes the results.
    pub(super) fn run_task_for_hosts(
        &mut self,
        run: &mut PlayRun,
        slot: SlotId,
        context: &Arc<TaskContext>,
        hosts: &[String],
        kind: TaskKind,
        handler: bool,
    ) {
        let Some(first_vars) = self.host_task_vars(run, context, &hosts[0]) else {
            return;
        };
        let info = self.task_info(context, &first_vars, kind);
        self.current_task = Some(info.clone());
        self.emit(Event::TaskStart(info.clone()));
        let run_once = context
            .keyword("run_once")
            .and_then(|v| self.templar.template(&v.value, &first_vars).ok())
            .is_some_and(|v| truthy_keyword(&v));
        let mut includes: Vec<PendingInclude> = Vec::new();
        let mut any_failed = false;
        let mut failed_now: Vec<String> = Vec::new();
        // The action plugins of `pause` and `add_host` bypass the host loop: they run
        // for the first host only, and their failure is fatal as a `run_once` task's.
        let bypasses_host_loop = matches!(context.task.short_action(), "pause" | "add_host");
        let first_only = run_once || bypasses_host_loop;
        let results = self.run_on_hosts(run, context, &info, hosts, first_only);
        // ansible-core gives the facts and the registered result of a `run_once` task to
        // every host of the play that is not unreachable, also to hosts that did not reach
        // the task. Includes, notifications and inventory changes stay with the host that ran.
        let shared_hosts: Vec<String> = if run_once {
            run.all_hosts
                .iter()
                .filter(|h| !self.unreachable_hosts.contains(*h))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        if let Some((first, outcome)) = results.first().filter(|_| run_once) {
            if let Some(register) = context.task.keyword("register") {
                let mut registered = Map::new();
                registered.insert(
                    Value::from(value_text(&register.value)),
                    super::task::registered_value(
                        context,
                        super::task::strip_internal(&outcome.result),
                    ),
                );
                for host in shared_hosts.iter().filter(|h| *h != first) {
                    self.vars.set_nonpersistent(host, &registered);
                }
            }
        }
        for (host, mut outcome) in results {
            // A handler's slot belongs to the handlers' program, which de-duplication ignores.
            let ran = !matches!(outcome.status, Some(Status::Skipped | Status::Unreachable));
            if ran && !handler {
                Self::mark_role_ran(run, context, &host, slot);
            }
            let mut changes = Vec::new();
            for effect in &outcome.effects {
                // `delegate_facts` sends facts to the delegate instead of the host.
                let targets = match (effect, &outcome.facts_host) {
                    (
                        Effect::SetFact { .. } | Effect::Facts(_) | Effect::IncludeVars(_),
                        Some(delegate),
                    ) => vec![delegate.clone()],
                    (Effect::SetFact { .. } | Effect::Facts(_) | Effect::IncludeVars(_), None)
                        if run_once =>
                    {
                        shared_hosts.clone()
                    }
                    _ => vec![host.clone()],
                };
                for target in &targets {
                    if let Effect::Include(request) = effect {
                        includes.push(PendingInclude {
                            host: target.clone(),
                            request: request.clone(),
                            result: outcome.result.clone(),
                        });
                    } else {
                        changes.push(self.apply_effect(target, effect));
                    }
                }
            }
            if super::task::is_inventory_action(context.task.short_action()) {
                let vars = self.host_task_vars(run, context, &host);
                self.report_inventory_changes(
                    context,
                    &info,
                    (&host, vars.as_ref()),
                    &mut outcome,
                    &changes,
                );
            }
            // ansible-core registers the final result, with the `changed` that adding a
            // host or group gave it.
            self.register(context, &host, &outcome);
            if let Some(name) = self.missing_handler(run, context, &host, &outcome) {
                // ansible-core stops the whole run here, before reporting the result.
                self.abort = Some(super::RunError::MissingHandler {
                    name,
                    span: context.task.span.clone(),
                });
                return;
            }
            // ansible-core records notifications before the callback shows the result.
            if !outcome.failed() && outcome.status != Some(Status::Skipped) {
                self.notify(run, context, &host, &outcome);
            }
            self.report(run, &info, &host, &outcome);
            if outcome.status == Some(Status::Unreachable) && !outcome.ignored {
                // ansible-core drops an unreachable host from the rest of the play; it
                // is neither failed nor rescued.
                self.unreachable_hosts.insert(host.clone());
                run.remove_host(&host);
            }
            if outcome.failed() {
                any_failed = true;
                failed_now.push(host.clone());
                if run
                    .states
                    .get(&host)
                    .is_some_and(HostState::any_block_rescuing)
                {
                    self.set_failed_task_vars(context, &info, &host, &outcome);
                }
                self.host_failed(run, &host);
            }
        }
        if !includes.is_empty() {
            run.failed_includes.clear();
            if handler {
                self.run_handler_includes(run, slot, context, includes);
            } else {
                self.process_includes(run, slot, context, includes);
            }
            // A file or role that could not be loaded fails its hosts like a task does,
            // for `any_errors_fatal` too, also where the host goes on in an `always`.
            any_failed |= !run.failed_includes.is_empty();
            failed_now.append(&mut run.failed_includes);
        }
        // ansible-core warns about a reserved `register` name when it next gathers the
        // variables, which is after this task's results are shown.
        if let Some(register) = context.task.keyword("register") {
            let name = crate::playbook::value_text(&register.value);
            self.emit_reserved_warnings([name.as_str()]);
        }
        // A failed `run_once` task ends the play for every host, as `any_errors_fatal`
        // does (ansible-core's linear strategy treats them alike).
        let fatal = first_only
            || context
                .keyword("any_errors_fatal")
                .and_then(|v| self.templar.template(&v.value, &first_vars).ok())
                .is_some_and(|v| truthy_keyword(&v));
        if any_failed && fatal {
            if !self.options.core_release.fails_batch_on_fatal_error()
                && self.break_play_on_fatal_error(run)
            {
                return;
            }
            // Like ansible-core, fail every host that this task did not fail. A host that
            // it failed stays where the failure took it (a `rescue` or `always`).
            for host in run.hosts.clone() {
                if !failed_now.contains(&host) && !self.failed_hosts.contains(&host) {
                    self.host_failed(run, &host);
                }
            }
        }
        self.check_max_fail_percentage(run, &first_vars);
    }

    /// Runs the task on each host, or on the first only, and returns the outcomes in the
    /// order of `hosts`. A task that can reach targets runs on up to `forks` hosts at
    /// once. A task that stays on the controller runs host after host, because starting
    /// threads would cost more than it saves.
    fn run_on_hosts(
        &mut self,
        run: &PlayRun,
        context: &TaskContext,
        info: &Arc<TaskInfo>,
        hosts: &[String],
        first_only: bool,
    ) -> Vec<(String, TaskOutcome)> {
        let mut jobs: Vec<(String, crate::vars::HostVars)> = Vec::new();
        self.delegations.clear();
        for host in hosts {
            let Some(vars) = self.host_task_vars(run, context, host) else {
                continue;
            };
            if let Some(delegation) = self.delegation(context, host, &vars) {
                self.delegations.insert(host.clone(), delegation);
            }
            jobs.push((host.clone(), vars));
            if first_only {
                break;
            }
        }
        let run_job = |(host, vars): &(String, crate::vars::HostVars)| {
            let mut outcome = self.run_task_on_host(context, info, host, vars);
            let delegation = self.delegations.get(host);
            // An unreachable result lacks the delegate's connection variables, so
            // ansible-core labels it with the delegate's name alone.
            let unreachable = outcome.status == Some(Status::Unreachable);
            outcome.delegated_to = delegation.and_then(|delegation| {
                let label = delegation.label.as_ref()?;
                Some(if unreachable {
                    delegation.name.clone()
                } else {
                    label.clone()
                })
            });
            outcome.facts_host = delegation
                .filter(|_| self.delegate_facts(context, vars))
                .map(|delegation| delegation.name.clone());
            (host.clone(), outcome)
        };
        let forks = self.task_forks(context, &jobs);
        if jobs.len() < 2 || forks < 2 || super::actions::stays_on_controller(context) {
            return jobs.iter().map(run_job).collect();
        }
        let mut results = Vec::with_capacity(jobs.len());
        for (result, events) in super::forks::run_all(&jobs, forks, run_job) {
            for event in events {
                self.emit(event);
            }
            results.push(result);
        }
        results
    }

    /// Returns how many hosts the task runs on at once: `forks`, or the task's `throttle` when
    /// that is lower and not 0, templated with the first host's variables.
    fn task_forks(&self, context: &TaskContext, jobs: &[(String, crate::vars::HostVars)]) -> usize {
        let throttle = context
            .keyword("throttle")
            .zip(jobs.first())
            .and_then(|(value, (_, vars))| self.templar.template(&value.value, vars).ok())
            .and_then(|value| match value {
                Value::Int(n) => usize::try_from(n).ok(),
                other => value_text(&other).trim().parse().ok(),
            })
            .unwrap_or(0);
        match throttle {
            0 => self.options.forks,
            throttle => throttle.min(self.options.forks),
        }
    }

    /// Registers the task's result for `host` under the name its `register` keyword
    /// gives. ansible-core's strategy drops the task-level `invocation`; loop items keep
    /// theirs.
    fn register(&mut self, context: &TaskContext, host: &str, outcome: &TaskOutcome) {
        let Some(register) = context.task.keyword("register") else {
            return;
        };
        let mut value = super::task::strip_internal(&outcome.result);
        value.shift_remove("invocation");
        let mut registered = Map::new();
        registered.insert(
            Value::from(value_text(&register.value)),
            super::task::registered_value(context, value),
        );
        self.vars.set_nonpersistent(host, &registered);
    }

    /// Ends the play and the playbook after a fatal error (`any_errors_fatal` or a failed
    /// `run_once` task), as ansible-core 2.16's linear strategy does when no host of the
    /// batch goes on in a `rescue` or `always` section. It prints `NO MORE HOSTS LEFT`
    /// and fails no host that did not fail. Returns whether it ended the play.
    ///
    /// NOTE: when a host goes on in a `rescue` or `always` section, ansible-core 2.16
    /// lets the other hosts run on and stops the playbook after the play. rplay fails
    /// them as 2.17 and later do. With `max_fail_percentage` set, 2.16 also prints that
    /// check's banner, which rplay leaves out here.
    fn break_play_on_fatal_error(&mut self, run: &mut PlayRun) -> bool {
        let goes_on = run
            .hosts
            .iter()
            .filter(|host| !self.unreachable_hosts.contains(*host))
            .filter_map(|host| run.states.get(host))
            .any(HostState::continues_in_rescue_or_always);
        if goes_on {
            return false;
        }
        self.emit(Event::NoHostsRemaining);
        run.broke_play = true;
        for state in run.states.values_mut() {
            state.end();
        }
        true
    }

    /// Ends the play when more than `max_fail_percentage` of the batch failed, as
    /// ansible-core's linear strategy: every remaining host is marked failed and
    /// `NO MORE HOSTS LEFT` is printed twice (once for the percentage, once because no
    /// host is left).
    fn check_max_fail_percentage(&mut self, run: &mut PlayRun, vars: &crate::vars::HostVars) {
        let Some(limit) = run
            .play
            .keyword("max_fail_percentage")
            .and_then(|value| self.templar.template(&value.value, vars).ok())
            .and_then(|value| match value {
                Value::Int(i) => Some(i as f64),
                Value::Float(f) => Some(f),
                other => other.as_str().and_then(|s| s.trim().parse().ok()),
            })
        else {
            return;
        };
        let batch_size = run.hosts.len().max(1) as f64;
        // ansible-core counts every host that failed in the run so far.
        if (self.failed_hosts.len() as f64) / batch_size <= limit / 100.0 {
            return;
        }
        let left: Vec<String> = run
            .hosts
            .iter()
            .filter(|h| !self.unreachable_hosts.contains(*h))
            .cloned()
            .collect();
        for host in &left {
            if !self.failed_hosts.contains(host) {
                self.host_failed(run, host);
                self.failed_hosts.insert(host.clone());
            }
        }
        self.emit(Event::NoHostsRemaining);
        self.emit(Event::NoHostsRemaining);
        run.broke_play = true;
        for state in run.states.values_mut() {
            state.end();
        }
    }

    /// Completes the results of `group_by` and `add_host` with whether they changed the
    /// inventory, reporting each successful loop item as ansible-core's strategy does.
    /// As there, `changed_when` and `failed_when` are evaluated again on each result,
    /// so they have the last word over the inventory change.
    fn report_inventory_changes(
        &mut self,
        context: &TaskContext,
        info: &Arc<TaskInfo>,
        (host, vars): (&str, Option<&crate::vars::HostVars>),
        outcome: &mut TaskOutcome,
        changes: &[bool],
    ) {
        if outcome.status != Some(Status::Ok) {
            return;
        }
        if !info.has_loop {
            let changed = changes.iter().any(|c| *c);
            outcome
                .result
                .insert(Value::from("changed"), Value::Bool(changed));
            if let Some(vars) = vars {
                self.reapply_changed_failed_when(context, vars, &mut outcome.result);
            }
            return;
        }
        let mut changes = changes.iter();
        let mut any_changed = false;
        let Some(Value::List(items)) = outcome.result.get("results").cloned() else {
            return;
        };
        let mut items = std::sync::Arc::unwrap_or_clone(items);
        for item in items.iter_mut() {
            let Some(map) = item.as_map_mut() else {
                continue;
            };
            if super::task::status_of(map) != Status::Ok {
                continue;
            }
            let changed = changes.next().copied().unwrap_or(false);
            map.insert(Value::from("changed"), Value::Bool(changed));
            if let Some(vars) = vars {
                self.reapply_changed_failed_when(context, vars, map);
            }
            let changed = map.get("changed").is_some_and(Value::is_truthy);
            any_changed |= changed;
            self.emit(Event::ItemResult(HostResult {
                host: host.to_string(),
                task: info.clone(),
                status: Status::Ok,
                result: callback_copy(map),
                full_result: map.clone(),
                ignored: false,
                delegated_to: None,
            }));
        }
        outcome
            .result
            .insert(Value::from("results"), Value::list(items));
        if any_changed {
            outcome
                .result
                .insert(Value::from("changed"), Value::Bool(true));
        }
    }

    /// Evaluates `changed_when` and `failed_when` on an inventory action's `result`, with
    /// the result registered and, for a loop item, the item's loop variables, as
    /// ansible-core's strategy does after changing the inventory.
    fn reapply_changed_failed_when(
        &self,
        context: &TaskContext,
        vars: &crate::vars::HostVars,
        result: &mut Map,
    ) {
        if context.task.keyword("changed_when").is_none()
            && context.task.keyword("failed_when").is_none()
        {
            return;
        }
        let mut overlay = Map::new();
        for name_key in ["ansible_loop_var", "ansible_index_var"] {
            if let Some(name) = result.get(name_key).and_then(Value::as_str) {
                if let Some(value) = result.get(name) {
                    overlay.insert(Value::from(name), value.clone());
                }
            }
        }
        if let Some(register) = context.task.keyword("register") {
            overlay.insert(
                Value::from(value_text(&register.value)),
                super::task::registered_value(context, super::task::strip_internal(result)),
            );
        }
        let vars = vars.with_overlay(overlay);
        self.apply_changed_failed_when(context, &vars, result);
    }

    /// Returns the variables of `host` for the task, or returns `None` when its
    /// inventory variables cannot be read: a variables file that does not parse or
    /// decrypt stops the run, another error only warns.
    pub(super) fn host_task_vars(
        &mut self,
        run: &PlayRun,
        context: &TaskContext,
        host: &str,
    ) -> Option<crate::vars::HostVars> {
        match self
            .vars
            .task_vars(host, Some(&run.layers), Some(&context.layers))
        {
            Ok(vars) => Some(vars),
            Err(err @ (InventoryError::DataFile { .. } | InventoryError::Vault(_))) => {
                // ansible-core stops the run on a variables file it cannot read.
                self.abort.get_or_insert(super::RunError::HostVars(err));
                None
            }
            Err(err) => {
                self.emit(Event::Warning(err.to_string()));
                None
            }
        }
    }

    /// Returns where the task runs for `host` when it is delegated: the delegate's name,
    /// the label results show, and the delegate's inventory variables.
    fn delegation(
        &mut self,
        context: &TaskContext,
        host: &str,
        vars: &crate::vars::HostVars,
    ) -> Option<super::Delegation> {
        let name = context
            .keyword("delegate_to")
            .and_then(|value| self.templar.template(&value.value, vars).ok())
            .filter(|value| !value.is_null())
            .map(|value| value_text(&value))?;
        let inventory_vars = self.vars.inventory_vars(&name).unwrap_or_default();
        let label = (name != host).then(|| {
            let address = inventory_vars
                .get("ansible_host")
                .map(value_text)
                .unwrap_or_else(|| name.clone());
            if address == name {
                name.clone()
            } else {
                format!("{name}({address})")
            }
        });
        Some(super::Delegation {
            name,
            label,
            inventory_vars,
        })
    }

    fn delegate_facts(&self, context: &TaskContext, vars: &crate::vars::HostVars) -> bool {
        context
            .keyword("delegate_facts")
            .and_then(|value| self.templar.template(&value.value, vars).ok())
            .is_some_and(|value| truthy_keyword(&value))
    }

    /// Emits the task-level result and counts it in the recap.
    fn report(
        &mut self,
        run: &mut PlayRun,
        info: &Arc<TaskInfo>,
        host: &str,
        outcome: &TaskOutcome,
    ) {
        let status = outcome.status.unwrap_or(Status::Ok);
        let changed = outcome.result.get("changed").is_some_and(Value::is_truthy);
        // The include is counted when its file is processed. Until then the host is not
        // in the recap: ansible-core 2.16 leaves it out for an `include_role` whose role
        // cannot be loaded.
        if !(info.is_include && status == Status::Ok) {
            let rescued = run
                .states
                .get(host)
                .is_some_and(HostState::any_block_rescuing);
            count_in_recap(
                self.stats_for(host),
                status,
                changed,
                outcome.ignored,
                rescued,
            );
        }
        self.emit(Event::TaskResult(HostResult {
            host: host.to_string(),
            task: info.clone(),
            status,
            result: callback_copy(&outcome.result),
            full_result: outcome.result.clone(),
            ignored: outcome.ignored,
            delegated_to: outcome.delegated_to.clone(),
        }));
    }

    fn host_failed(&mut self, run: &mut PlayRun, host: &str) {
        let Some(state) = run.states.get_mut(host) else {
            return;
        };
        let rescuing = state.any_block_rescuing();
        state.mark_failed();
        if state.failed {
            self.failed_hosts.insert(host.to_string());
        }
        if !rescuing {
            run.remove_host(host);
        }
    }

    /// Records hosts whose failure was re-raised when leaving a block: an `always`
    /// section that ran after a failed `rescue` ends with the host failed.
    fn record_block_failures(&mut self, run: &mut PlayRun) {
        // A host with no task left has its real state moved past the end of its
        // blocks, which is where a pending failure is re-raised.
        for state in run.states.values_mut() {
            if state.peek().is_none() {
                state.advance();
            }
        }
        let failed: Vec<String> = run
            .hosts
            .iter()
            .filter(|host| run.states[*host].failed && !self.failed_hosts.contains(*host))
            .cloned()
            .collect();
        for host in failed {
            self.failed_hosts.insert(host.clone());
            run.remove_host(&host);
        }
    }

    /// Sets `ansible_failed_task` and `ansible_failed_result` for a rescue section, as
    /// ansible-core does when a failure sends the host there.
    ///
    /// NOTE: ansible-core stores the whole serialised task; rplay keeps its `name`,
    /// `action` and `args`, the fields playbooks read.
    fn set_failed_task_vars(
        &mut self,
        context: &TaskContext,
        info: &TaskInfo,
        host: &str,
        outcome: &TaskOutcome,
    ) {
        let task = &context.task;
        let mut failed_task = Map::new();
        // The display name is the templated name, after `role : ` inside a role.
        let name = match (&task.name, &context.role) {
            (None, _) => "",
            (Some(_), Some(role)) => info
                .name
                .strip_prefix(&format!("{} : ", role.name))
                .unwrap_or(&info.name),
            (Some(_), None) => &info.name,
        };
        failed_task.insert(Value::from("name"), Value::from(name));
        failed_task.insert(Value::from("action"), Value::from(task.action.as_str()));
        failed_task.insert(Value::from("args"), Value::map(task.args.clone()));
        let mut facts = Map::new();
        facts.insert(
            Value::from("ansible_failed_task"),
            Value::map(failed_task).into_unsafe(),
        );
        facts.insert(
            Value::from("ansible_failed_result"),
            Value::map(super::task::strip_internal(&outcome.result)).into_unsafe(),
        );
        self.vars.set_nonpersistent(host, &facts);
    }

    /// Applies an action's side effect; returns whether it changed the inventory.
    fn apply_effect(&mut self, host: &str, effect: &Effect) -> bool {
        match effect {
            Effect::SetFact { facts, cacheable } => {
                self.emit_reserved_warnings(facts.keys().filter_map(Value::as_str));
                if *cacheable {
                    self.vars.set_host_facts(host, facts);
                    self.emit_fact_cache_warnings();
                }
                self.vars.set_nonpersistent(host, facts);
                false
            }
            Effect::IncludeVars(vars) => {
                self.emit_reserved_warnings(vars.keys().filter_map(Value::as_str));
                self.vars.set_include_vars(host, vars);
                false
            }
            Effect::Facts(facts) => {
                self.vars.set_host_facts(host, facts);
                self.emit_fact_cache_warnings();
                false
            }
            Effect::GroupBy { group, parents } => {
                let changed = self.group_by(host, group, parents).unwrap_or_else(|err| {
                    self.emit(Event::Warning(err.to_string()));
                    false
                });
                self.vars.inventory_changed();
                changed
            }
            Effect::AddHost { name, groups, vars } => {
                let changed = self
                    .add_dynamic_host(name, groups, vars)
                    .unwrap_or_else(|err| {
                        self.emit(Event::Warning(err.to_string()));
                        false
                    });
                self.vars.inventory_changed();
                changed
            }
            Effect::Include(_) => false,
        }
    }

    /// Warns about play-level and extra variables with reserved names, as ansible-core
    /// does when it computes the play's variables before the play banner.
    ///
    /// NOTE: ansible-core also warns about inventory variables once a task reads them;
    /// rplay checks only the play's own variables, extra vars, facts and included vars.
    fn warn_reserved_names(&mut self, layers: &PlayLayers) {
        let mut names = Vec::new();
        for layer in [
            &layers.role_defaults,
            &layers.vars,
            &layers.vars_files,
            &layers.role_vars,
        ] {
            names.extend(layer.names());
        }
        names.extend(
            self.vars
                .extra_vars()
                .keys()
                .filter_map(|k| k.as_str().map(str::to_string)),
        );
        self.emit_reserved_warnings(names.iter().map(String::as_str));
    }

    fn emit_reserved_warnings<'n>(&mut self, names: impl IntoIterator<Item = &'n str>) {
        for warning in crate::vars::reserved::reserved_name_warnings(names) {
            self.emit(Event::Warning(warning));
        }
    }

    /// Adds `host` to `group` (created under `parents`), as the strategy's `_add_group`.
    fn group_by(
        &mut self,
        host: &str,
        group: &str,
        parents: &[String],
    ) -> Result<bool, crate::inventory::InventoryError> {
        let inventory = &mut self.vars.inventory;
        let host_id = inventory.dynamic_group_host(host)?;
        let changed = inventory.add_dynamic_group(host_id, group, parents)?;
        self.dynamic_changes.push(super::DynamicChange::Group {
            host: host.to_string(),
            group: group.to_string(),
            parents: parents.to_vec(),
        });
        Ok(changed)
    }

    /// Adds or updates a host, as the inventory's `add_dynamic_host`.
    fn add_dynamic_host(
        &mut self,
        name: &str,
        groups: &[String],
        vars: &Map,
    ) -> Result<bool, crate::inventory::InventoryError> {
        let changed = self.vars.inventory.add_dynamic_host(name, groups, vars)?;
        self.dynamic_changes.push(super::DynamicChange::Host {
            name: name.to_string(),
            groups: groups.to_vec(),
            vars: vars.clone(),
        });
        Ok(changed)
    }

    /// Loads included files and inserts their tasks for the hosts that included them.
    fn process_includes(
        &mut self,
        run: &mut PlayRun,
        slot: SlotId,
        context: &Arc<TaskContext>,
        includes: Vec<PendingInclude>,
    ) {
        let groups = group_includes(includes);
        let depth = include_depth(run.program.slot(slot).scope.as_ref()) + 1;
        // Each host runs its included files in the order they were included.
        let mut per_host: HashMap<String, Vec<super::iterator::Node>> = HashMap::new();
        for (request, hosts) in groups {
            let task_scope = run.program.slot(slot).scope.clone();
            let origin = IncludeOrigin {
                scope: task_scope.as_ref(),
                handler: false,
            };
            let loaded = match self.load_include(run, context, &request, &origin) {
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
            let (path, items, role) = loaded;
            let hosts: Vec<String> = hosts.into_iter().map(|(host, _)| host).collect();
            let scope = Arc::new(Scope {
                kind: ScopeKind::Include(Arc::new(IncludeScope {
                    task: context.task.clone(),
                    task_scope: run.program.slot(slot).scope.clone(),
                    vars: request.item_vars.clone(),
                    role: role.clone(),
                    target: request.target.clone(),
                })),
                parent: run.program.slot(slot).scope.clone(),
            });
            // Handlers come from the whole file or role, whatever the tags select.
            run.handlers.add_included(&items, &scope, role.as_ref());
            let items = self.filter_included(run, slot, context, &items);
            let nodes = run.program.compile_included(&items, &scope, slot);
            for host in &hosts {
                per_host
                    .entry(host.clone())
                    .or_default()
                    .extend(nodes.iter().cloned());
            }
            self.report_included(&request, path, hosts);
        }
        for (host, nodes) in per_host {
            if let Some(state) = run.states.get_mut(&host) {
                state.insert(nodes);
            }
        }
        // ansible-core reports the included files of the deepest level, then fails
        // before the first of their tasks starts.
        if depth >= super::MAX_INCLUDE_DEPTH && self.abort.is_none() {
            self.abort = Some(super::RunError::IncludeDepth {
                span: context.task.span.clone(),
            });
        }
    }

    /// Counts a loaded include as ok for its hosts and emits its `included:` line, unless
    /// it is an `include_role` and the release followed reported none.
    pub(super) fn report_included(
        &mut self,
        request: &IncludeRequest,
        file: String,
        hosts: Vec<String>,
    ) {
        if request.role && !self.options.core_release.reports_role_includes() {
            return;
        }
        for host in &hosts {
            self.stats_for(host).ok += 1;
        }
        self.emit(Event::Included {
            file,
            hosts,
            item_label: request.item_label.clone(),
        });
    }

    /// Drops included tasks the tag selection excludes, as ansible-core filters included
    /// blocks. They inherit the tags of the play and of the blocks around the include,
    /// and those of its `apply:`, but not the include task's own.
    fn filter_included(
        &mut self,
        run: &mut PlayRun,
        slot: SlotId,
        context: &TaskContext,
        items: &[Item],
    ) -> Vec<Item> {
        let mut tags = run.play.inherited.tags.clone();
        if let Some(scope) = &run.program.slot(slot).scope {
            for enclosing in scope.chain() {
                match &enclosing.kind {
                    ScopeKind::Block(block) => tags.extend(block.inherited.tags.iter().cloned()),
                    ScopeKind::Include(include) => {
                        tags.extend(super::context::apply_keywords(&include.task).tags)
                    }
                }
            }
        }
        tags.extend(super::context::apply_keywords(&context.task).tags);
        let vars = match self.vars.play_vars(&run.layers) {
            Ok(vars) => vars,
            Err(_) => return items.to_vec(),
        };
        self.filter_items(items, &tags, &vars)
    }

    /// Fails the hosts of an include whose file or role could not be found, as
    /// ansible-core's linear strategy does: the error is shown once, then each host's
    /// include result is reported as failed with the error as `reason`.
    pub(super) fn fail_include(
        &mut self,
        run: &mut PlayRun,
        request: &IncludeRequest,
        hosts: Vec<(String, Map)>,
        reason: &str,
    ) {
        run.failed_includes
            .extend(hosts.iter().map(|(host, _)| host.clone()));
        let reports_roles = self.options.core_release.reports_role_includes();
        if request.role && !reports_roles {
            // ansible-core 2.16 shows only the error and fails the hosts without a result.
            self.emit(Event::Error(reason.to_string()));
            for (host, _) in hosts {
                self.host_failed(run, &host);
            }
            return;
        }
        if reports_roles {
            self.emit(Event::Error(reason.to_string()));
        }
        let Some(info) = self.current_task.clone() else {
            return;
        };
        for (host, mut result) in hosts {
            if reports_roles {
                // ansible-core takes `include_args` out of the result while processing it.
                result.shift_remove("include_args");
            } else {
                // ansible-core 2.16 reports a new result that holds only these two keys.
                result = Map::new();
            }
            result.insert(Value::from("failed"), Value::Bool(true));
            result.insert(Value::from("reason"), Value::from(reason));
            self.stats_for(&host).failures += 1;
            self.emit(Event::TaskResult(HostResult {
                host: host.clone(),
                task: info.clone(),
                status: Status::Failed,
                result: callback_copy(&result),
                full_result: result.clone(),
                ignored: false,
                delegated_to: None,
            }));
            self.host_failed(run, &host);
        }
    }

    pub(super) fn load_include(
        &mut self,
        run: &PlayRun,
        context: &TaskContext,
        request: &IncludeRequest,
        origin: &IncludeOrigin,
    ) -> Result<LoadedInclude, IncludeFailure> {
        if request.role {
            let file = |key: &str| {
                request
                    .args
                    .get(key)
                    .map_or_else(|| "main".to_string(), value_text)
            };
            let files = RoleFiles {
                tasks: file("tasks_from"),
                handlers: file("handlers_from"),
                vars: file("vars_from"),
                defaults: file("defaults_from"),
            };
            let (instance, items) = self
                .loader
                .load_include_role(
                    &request.target,
                    &files,
                    &run.play.base_dir,
                    context.role.as_ref().map(|r| r.definition.path.as_path()),
                    &context.task.span,
                )
                .map_err(IncludeFailure::from)?;
            return Ok((request.target.clone(), items, Some(instance)));
        }
        let base = context
            .role
            .as_ref()
            .map(|r| r.definition.path.clone())
            .unwrap_or_else(|| run.play.base_dir.clone());
        let (path, items) = self
            .loader
            .load_include_tasks(
                &request.target,
                context.task.span.path(),
                &base,
                context.role.is_some(),
                &run.play.base_dir,
                origin.handler,
            )
            .map_err(IncludeFailure::from)?;
        let shown = shown_include_path(run, context, request, origin, &path);
        Ok((shown.display().to_string(), items, None))
    }

    /// Skips a task of a role that already ran for the host in another place of the
    /// play, unless the role allows duplicates.
    fn role_already_ran(
        &self,
        run: &mut PlayRun,
        context: &TaskContext,
        host: &str,
        slot: SlotId,
    ) -> bool {
        let Some((key, block)) = dedup_role_block(run, context, slot) else {
            return false;
        };
        run.roles_run
            .get(host)
            .and_then(|ran| ran.get(&key))
            .is_some_and(|previous| *previous != block)
    }

    /// Records that a task of the slot's role ran for `host`. As ansible-core marks a
    /// role as run only once one of its tasks was ok, changed or failed, a place of the
    /// role where the host skipped every task does not keep a later place from running.
    fn mark_role_ran(run: &mut PlayRun, context: &TaskContext, host: &str, slot: SlotId) {
        let Some((key, block)) = dedup_role_block(run, context, slot) else {
            return;
        };
        run.roles_run
            .entry(host.to_string())
            .or_default()
            .entry(key)
            .or_insert(block);
    }

    pub(super) fn task_info(
        &mut self,
        context: &TaskContext,
        vars: &crate::vars::HostVars,
        kind: TaskKind,
    ) -> Arc<TaskInfo> {
        let task = &context.task;
        let name = task
            .name
            .as_ref()
            .map(|name| self.render_text(&Value::from(name.as_str()), vars));
        let own_name = name.clone().filter(|name| !name.is_empty());
        let display = task_display_name(
            &Task {
                span: task.span.clone(),
                name: name.clone(),
                action: task.action.clone(),
                args: task.args.clone(),
                inherited: Inherited::default(),
                keywords: Vec::new(),
                loop_lookup: None,
                implicit: false,
            },
            context.role.as_deref(),
        );
        let args_text = task
            .args
            .iter()
            .map(|(k, v)| format!("{}={}", value_text(k), rplay_modules::pyrepr::str(v)))
            .collect::<Vec<_>>()
            .join(", ");
        Arc::new(TaskInfo {
            id: self.new_task_id(),
            retry_name: own_name.unwrap_or_else(|| display.clone()),
            name: display,
            action: task.action.clone(),
            kind,
            args_text: Some(args_text),
            check_mode: self.options.check,
            diff: self.options.diff || self.diff_mode(context, vars),
            is_include: matches!(task.short_action(), "include_tasks" | "include_role"),
            has_loop: task.keyword("loop").is_some(),
            register: task.keyword("register").map(|r| value_text(&r.value)),
            path: format!(
                "{}:{}",
                absolute_path(task.span.path()).display(),
                task.span.line
            ),
        })
    }

    /// Templates text for display, keeping it as written when templating fails.
    fn render_text(&self, text: &Value, vars: &dyn Variables) -> String {
        match self.templar.template(text, vars) {
            Ok(value) => rplay_modules::pyrepr::str(&value),
            Err(_) => value_text(text),
        }
    }

    /// The play's name and host patterns after templating, for listings.
    pub fn play_header(&mut self, play: &Play) -> (String, Vec<String>) {
        let layers = self.play_layers(play);
        match self.vars.play_vars(&layers) {
            Ok(vars) => (
                self.render_text(&Value::from(play.display_name()), &vars),
                self.host_patterns(play, &vars),
            ),
            Err(_) => (play.display_name(), Vec::new()),
        }
    }

    /// Resolves patterns to hosts as a play does, emitting pattern warnings.
    pub fn play_hosts(&mut self, patterns: &[String]) -> Vec<String> {
        self.select_hosts(patterns)
    }

    /// The play's variables without a host, for listings.
    pub fn play_context_vars(&mut self, play: &Play) -> crate::vars::HostVars {
        let layers = self.play_layers(play);
        self.vars
            .play_vars(&layers)
            .unwrap_or_else(|_| crate::vars::HostVars::empty())
    }

    /// Resolves the play's hosts as ansible-core does while computing the play's
    /// variables (`ansible_play_hosts_all`), for the warnings that prints: a templated
    /// pattern counts as `all` there.
    pub fn play_vars_hosts(&mut self, play: &Play) {
        let patterns: Vec<String> = match &play.hosts.value {
            Value::List(items) => items.iter().map(value_text).collect(),
            other => vec![value_text(other)],
        };
        if patterns.iter().any(|p| self.templar.is_template(p)) {
            return;
        }
        let query = HostQuery::default();
        let mut warnings = Vec::new();
        // Ansible shows these warnings as they arise, also when an error follows.
        let _ = self
            .vars
            .inventory
            .get_hosts_from_patterns(&patterns, &query, &mut warnings);
        for warning in warnings {
            self.emit(Event::Warning(warning));
        }
    }

    fn host_patterns(&self, play: &Play, vars: &dyn Variables) -> Vec<String> {
        let templated = self
            .templar
            .template(&play.hosts.value, vars)
            .unwrap_or_else(|_| play.hosts.value.clone());
        match templated {
            Value::List(items) => items.iter().map(value_text).collect(),
            Value::Null => Vec::new(),
            other => vec![value_text(&other)],
        }
    }

    fn select_hosts(&mut self, patterns: &[String]) -> Vec<String> {
        let query = HostQuery {
            limit: self.options.limit.as_ref(),
            ..HostQuery::default()
        };
        let mut warnings = Vec::new();
        let matched = self
            .vars
            .inventory
            .get_hosts_from_patterns(patterns, &query, &mut warnings);
        for warning in warnings {
            self.emit(Event::Warning(warning));
        }
        match matched {
            Ok(hosts) => hosts
                .iter()
                .map(|id| self.vars.inventory.host(*id).name.to_string())
                .filter(|name| !self.unreachable_hosts.contains(name))
                .collect(),
            Err(err) => {
                self.emit(Event::Warning(err.to_string()));
                Vec::new()
            }
        }
    }

    /// The play's variable layers: role defaults and vars of its roles, `vars`,
    /// `vars_files`, and the play's magic variables.
    fn play_layers(&mut self, play: &Play) -> PlayLayers {
        let mut layers = PlayLayers::default();
        let roles = play_roles(play);
        for role in &roles {
            for dependency in all_dependencies(role) {
                layers.role_defaults.push(&dependency.defaults);
            }
            layers.role_defaults.push(&role.defaults);
        }
        if let Some(vars) = &play.inherited.vars {
            layers.vars.push_map(vars.value.clone());
        }
        layers.vars_files = self.vars_files(play, &layers);
        for role in &roles {
            for dependency in all_dependencies(role) {
                layers.role_vars.push(&dependency.vars);
            }
            layers.role_vars.push(&role.vars);
        }
        let dependency_roles: Vec<Arc<RoleInstance>> =
            roles.iter().flat_map(all_dependencies).collect();
        // A role that only runs as another role's meta dependency is not a play role
        // (ansible-core's `play.roles` contains `roles:`, `import_role` and `include_role`).
        // `roles:` entries come first, then the imported roles in load order.
        let entries = section_roles(&play.roles);
        let imported = roles.iter().filter(|role| {
            !dependency_roles.iter().any(|d| Arc::ptr_eq(d, role))
                && !entries.iter().any(|e| Arc::ptr_eq(e, role))
        });
        let names: Vec<Value> = entries
            .iter()
            .chain(imported)
            .map(|r| Value::from(r.name.as_str()))
            .collect();
        let dependencies: Vec<Value> = dependency_roles
            .iter()
            .map(|r| Value::from(r.name.as_str()))
            .collect();
        let mut all_names: Vec<Value> = Vec::new();
        for name in names.iter().chain(dependencies.iter()) {
            if !all_names.contains(name) {
                all_names.push(name.clone());
            }
        }
        let magic = &mut layers.magic;
        magic.insert(
            Value::from("ansible_play_name"),
            Value::from(play.display_name()),
        );
        magic.insert(
            Value::from("ansible_play_role_names"),
            Value::list(names.clone()),
        );
        magic.insert(Value::from("role_names"), Value::list(names));
        magic.insert(
            Value::from("ansible_dependent_role_names"),
            Value::list(dependencies),
        );
        magic.insert(Value::from("ansible_role_names"), Value::list(all_names));
        layers
    }

    fn vars_files(&mut self, play: &Play, layers: &PlayLayers) -> Layers {
        if play.vars_files.is_empty() {
            return Layers::new();
        }
        match self.vars.play_vars(layers) {
            Ok(vars) => self.load_vars_files(play, &vars),
            Err(_) => Layers::new(),
        }
    }

    /// Loads `vars_files` again with each host's variables when a file name is a
    /// template, as ansible-core templates the names with the host's variables.
    ///
    /// NOTE: ansible-core does this for every task, so names that use facts gathered
    /// during the play can change. rplay loads them once, when the play starts.
    fn host_vars_files(&mut self, play: &Play, layers: &mut PlayLayers, hosts: &[String]) {
        let templated = play.vars_files.iter().any(|entry| {
            let names = match &entry.value {
                Value::List(items) => items.to_vec(),
                other => vec![other.clone()],
            };
            names.iter().any(|name| {
                name.as_str()
                    .is_some_and(|name| self.templar.is_template(name))
            })
        });
        if !templated {
            return;
        }
        let mut without = layers.clone();
        without.vars_files = Layers::new();
        for host in hosts {
            let Ok(vars) = self.vars.task_vars(host, Some(&without), None) else {
                continue;
            };
            let loaded = self.load_vars_files(play, &vars);
            layers.host_vars_files.insert(host.clone(), loaded);
        }
    }

    fn load_vars_files(&mut self, play: &Play, vars: &crate::vars::HostVars) -> Layers {
        let mut out = Layers::new();
        for entry in &play.vars_files {
            let candidates = match &entry.value {
                Value::List(items) => items.to_vec(),
                other => vec![other.clone()],
            };
            for candidate in candidates {
                let name = match self.templar.template(&candidate, vars) {
                    Ok(value) => value_text(&value),
                    Err(_) => continue,
                };
                let path = play.base_dir.join(&name);
                let loaded = match crate::yaml::load_data_file(&path, self.templar.vault_secrets())
                {
                    Ok(loaded) => loaded,
                    // A file that cannot be read counts as missing: ansible-core tries
                    // the next candidate, or goes on without the entry.
                    Err(FileError::Read { .. }) => continue,
                    Err(FileError::Vault(err)) => {
                        let message = format!("Invalid vars_file '{}'.. {err}", path.display());
                        let err = LoadError::new(message, None).with_kind(LoadErrorKind::Vault);
                        self.abort = Some(super::RunError::Load(err));
                        return out;
                    }
                    Err(err) => {
                        // ansible-core stops the run before the play's banner.
                        self.abort = Some(super::RunError::Load(err.into()));
                        return out;
                    }
                };
                for document in &loaded.documents {
                    if let Value::Map(map) = document.to_value() {
                        out.push(&map);
                    }
                }
                break;
            }
        }
        out
    }

    /// Whether `gathering = smart` skips the implicit `Gathering Facts` task on `host`
    /// because its facts, cached or from an earlier play, were gathered already.
    /// ansible-core's play iterator decides this per host when the host starts the play.
    fn skips_smart_gathering(&mut self, host: &str) -> bool {
        let skips = self.options.gathering == "smart" && self.vars.facts_gathered(host);
        self.emit_fact_cache_warnings();
        skips
    }

    /// Emits the fact cache's warnings, and stops the run after a corrupt cache file.
    fn emit_fact_cache_warnings(&mut self) {
        for warning in self.vars.take_fact_cache_warnings() {
            self.emit(Event::Warning(warning));
        }
        if let Some(path) = self.vars.take_corrupt_fact_cache() {
            self.abort
                .get_or_insert(super::RunError::CorruptFactCache(path));
        }
    }

    /// The implicit `Gathering Facts` task, when the `gathering` setting and the play's
    /// `gather_facts` ask for one and the tag selection keeps it.
    fn setup_task(&self, play: &Play, vars: &dyn Variables) -> Option<Arc<Task>> {
        let gather_facts = play.gather_facts.as_ref().map(|g| {
            self.templar
                .template(&g.value, vars)
                .unwrap_or_else(|_| g.value.clone())
        });
        let implied = gather_implied(gather_facts.as_ref());
        let wanted = match self.options.gathering.as_str() {
            "explicit" => gather_facts.as_ref().is_some_and(truthy_keyword),
            _ => implied,
        };
        if !wanted {
            return None;
        }
        let mut args = Map::new();
        for option in ["gather_subset", "gather_timeout", "fact_path"] {
            if let Some(value) = play.keyword(option) {
                args.insert(Value::from(option), value.value.clone());
            }
        }
        let mut inherited = Inherited::default();
        let mut tags = play.inherited.tags.clone();
        if play.inherited.tags.is_empty() {
            let always = crate::playbook::Spanned {
                value: Value::from("always"),
                span: play.span.clone(),
            };
            inherited.tags.push(always.clone());
            tags.push(always);
        }
        if !self.options.tags.should_run(&self.tag_set(&tags, vars)) {
            return None;
        }
        inherited.keywords.push((
            "run_once",
            crate::playbook::Spanned {
                value: Value::Bool(false),
                span: play.span.clone(),
            },
        ));
        Some(Arc::new(Task {
            span: play.span.clone(),
            name: Some("Gathering Facts".to_string()),
            action: "gather_facts".to_string(),
            args,
            inherited,
            keywords: Vec::new(),
            loop_lookup: None,
            implicit: false,
        }))
    }

    /// Drops tasks the tag selection excludes, and blocks left empty.
    fn filter_sections(&self, play: &Play, vars: &dyn Variables) -> Vec<Vec<Item>> {
        let sections = crate::playbook::walk::sections(play);
        sections
            .iter()
            .map(|items| self.filter_items(items, &play.inherited.tags, vars))
            .collect()
    }

    fn filter_items(
        &self,
        items: &[Item],
        inherited: &[crate::playbook::Spanned<Value>],
        vars: &dyn Variables,
    ) -> Vec<Item> {
        let mut kept = Vec::new();
        for item in items {
            match item {
                Item::Task(task) => {
                    let mut tags = inherited.to_vec();
                    tags.extend(task.inherited.tags.iter().cloned());
                    if self.options.tags.should_run(&self.tag_set(&tags, vars)) {
                        kept.push(item.clone());
                    }
                }
                Item::Block(block) => {
                    let mut tags = inherited.to_vec();
                    tags.extend(block.inherited.tags.iter().cloned());
                    let filtered = Block {
                        span: block.span.clone(),
                        kind: block.kind.clone(),
                        name: block.name.clone(),
                        block: self.filter_items(&block.block, &tags, vars),
                        rescue: self.filter_items(&block.rescue, &tags, vars),
                        always: self.filter_items(&block.always, &tags, vars),
                        inherited: block.inherited.clone(),
                    };
                    if !(filtered.block.is_empty()
                        && filtered.rescue.is_empty()
                        && filtered.always.is_empty())
                    {
                        kept.push(Item::Block(Arc::new(filtered)));
                    }
                }
            }
        }
        kept
    }

    /// Templates tags into a set, flattening lists and splitting strings at commas.
    pub fn tag_set(
        &self,
        tags: &[crate::playbook::Spanned<Value>],
        vars: &dyn Variables,
    ) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        for tag in tags {
            let value = self
                .templar
                .template(&tag.value, vars)
                .unwrap_or_else(|_| tag.value.clone());
            match value {
                Value::List(items) => out.extend(items.iter().map(value_text)),
                other => out.extend(
                    value_text(&other)
                        .split(',')
                        .map(|t| t.trim().to_string())
                        .filter(|t| !t.is_empty()),
                ),
            }
        }
        out
    }
}

/// Counts a task-level result in the host's recap line as ansible-core's strategy does.
fn count_in_recap(
    stats: &mut super::events::HostStats,
    status: Status,
    changed: bool,
    ignored: bool,
    rescued: bool,
) {
    match status {
        Status::Ok => {
            stats.ok += 1;
            if changed {
                stats.changed += 1;
            }
        }
        Status::Skipped => stats.skipped += 1,
        Status::Failed if ignored => {
            stats.ok += 1;
            stats.ignored += 1;
            // ansible-core counts a change also when the failure is ignored.
            if changed {
                stats.changed += 1;
            }
        }
        Status::Failed if rescued => stats.rescued += 1,
        Status::Failed => stats.failures += 1,
        // `ignore_unreachable` counts the host as ok and ignored.
        Status::Unreachable if ignored => {
            stats.ok += 1;
            stats.ignored += 1;
        }
        Status::Unreachable => stats.unreachable += 1,
    }
}

/// The block of `role` that encloses a task, identified by address.
/// Returns the identity of the slot's role and the block of its place in the play, for a
/// role that runs once per host.
fn dedup_role_block(
    run: &PlayRun,
    context: &TaskContext,
    slot: SlotId,
) -> Option<(String, *const Block)> {
    let role = context.role.as_ref()?;
    // ansible-core 2.18 runs every import_role and include_role, even of a role
    // that already ran (observed, although its role cache compares them).
    if role.definition.allow_duplicates || role.from_include {
        return None;
    }
    let block = role_block(run.program.slot(slot).scope.as_ref(), role)?;
    Some((role.identity(), block))
}

fn role_block(scope: Option<&Arc<Scope>>, role: &Arc<RoleInstance>) -> Option<*const Block> {
    let mut current = scope.cloned();
    while let Some(scope) = current {
        if let ScopeKind::Block(block) = &scope.kind {
            if let BlockKind::Role(instance) = &block.kind {
                if Arc::ptr_eq(instance, role) {
                    return Some(Arc::as_ptr(block));
                }
            }
        }
        current = scope.parent.clone();
    }
    None
}

/// The roles of a play: its `roles:` entries and imported roles, in order.
/// Returns the roles of a section's own role blocks: the entries of `roles:`.
fn section_roles(items: &[Item]) -> Vec<Arc<RoleInstance>> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Block(block) => match &block.kind {
                BlockKind::Role(role) => Some(role.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

pub(super) fn play_roles(play: &Play) -> Vec<Arc<RoleInstance>> {
    fn collect(
        items: &[Item],
        out: &mut Vec<Arc<RoleInstance>>,
        seen: &mut HashSet<*const RoleInstance>,
    ) {
        for item in items {
            if let Item::Block(block) = item {
                if let BlockKind::Role(role) = &block.kind {
                    // A role's block holds those of its meta dependencies, whose
                    // handlers come first, as ansible-core's get_handler_blocks orders them.
                    collect(&block.block, out, seen);
                    if seen.insert(Arc::as_ptr(role)) {
                        out.push(role.clone());
                    }
                    continue;
                }
                collect(&block.block, out, seen);
                collect(&block.rescue, out, seen);
                collect(&block.always, out, seen);
            }
        }
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for section in crate::playbook::walk::sections(play) {
        collect(section, &mut out, &mut seen);
    }
    out
}

/// Moves every host to the first task matching `--start-at-task` (by name or
/// `role : name`, exactly or as a shell pattern); returns whether a task matched.
/// Hosts with no match end the play, as in ansible-core.
fn skip_to_task(
    program: &PlayProgram,
    states: &mut HashMap<String, HostState>,
    pattern: &str,
) -> bool {
    let glob = glob::Pattern::new(pattern).ok();
    let matches = |text: &str| text == pattern || glob.as_ref().is_some_and(|g| g.matches(text));
    let mut matched = false;
    for state in states.values_mut() {
        while let Some(slot) = state.peek() {
            let task_slot = program.slot(slot);
            let role = task_slot.scope.as_ref().and_then(|scope| {
                scope.chain().iter().rev().find_map(|s| match &s.kind {
                    ScopeKind::Block(block) => match &block.kind {
                        BlockKind::Role(role) => Some(role.clone()),
                        _ => None,
                    },
                    ScopeKind::Include(include) => include.role.clone(),
                })
            });
            let display = task_display_name(&task_slot.task, role.as_deref());
            let own = task_slot.task.name.as_deref().is_some_and(matches);
            if own || matches(&display) {
                matched = true;
                break;
            }
            state.advance();
        }
    }
    matched
}

/// The size of a `serial` entry for `total` hosts, as ansible-core's `pct_to_int`: a
/// percentage rounds down but is at least 1.
fn batch_size(entry: &Value, total: usize) -> i64 {
    let text = rplay_modules::pyrepr::str(entry);
    match text.trim().strip_suffix('%') {
        Some(percent) => {
            let size = (percent.trim().parse::<f64>().unwrap_or(0.0) / 100.0 * total as f64) as i64;
            if size == 0 {
                1
            } else {
                size
            }
        }
        None => text.trim().parse::<f64>().map(|n| n as i64).unwrap_or(0),
    }
}

/// Tells whether a `gather_facts` value requests facts: unset, or true.
fn gather_implied(value: Option<&Value>) -> bool {
    value.is_none_or(truthy_keyword)
}

/// The `meta: flush_handlers` task the engine adds after each section.
fn flush_task(play: &Play) -> Arc<Task> {
    let mut args = Map::new();
    args.insert(Value::from("_raw_params"), Value::from("flush_handlers"));
    Arc::new(Task {
        span: play.span.clone(),
        name: None,
        action: "meta".to_string(),
        args,
        inherited: Inherited::default(),
        keywords: Vec::new(),
        loop_lookup: None,
        implicit: true,
    })
}

/// `path` made absolute against the working directory, as ansible-core reports task
/// paths.
fn absolute_path(path: &std::path::Path) -> std::path::PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The place of an include task: the scope of its slot and whether it is a handler's.
pub(super) struct IncludeOrigin<'a> {
    pub scope: Option<&'a Arc<Scope>>,
    pub handler: bool,
}

/// Returns the path the `included:` line prints for the tasks file rplay loaded from
/// `path`: ansible-core's spelling of it when that names the same file, else `path` made
/// absolute.
fn shown_include_path(
    run: &PlayRun,
    context: &TaskContext,
    request: &IncludeRequest,
    origin: &IncludeOrigin,
    path: &std::path::Path,
) -> std::path::PathBuf {
    use super::include_path::{included_file_path, IncludeSite};
    let cwd = std::env::current_dir().unwrap_or_default();
    let loaded = crate::config::normalize(&cwd.join(path));
    let enclosing = enclosing_includes(origin.scope);
    let site = IncludeSite {
        role_path: context.role.as_ref().map(|r| r.definition.path.as_path()),
        play_dir: &run.play.base_dir,
        enclosing: &enclosing,
        handler: origin.handler,
        cwd: &cwd,
    };
    let shown = included_file_path(&request.target, &site);
    if crate::config::normalize(&cwd.join(&shown)) == loaded {
        shown
    } else {
        loaded
    }
}

/// Lists the includes and imports around a task, innermost first, as ansible-core walks
/// the task's parents.
fn enclosing_includes(scope: Option<&Arc<Scope>>) -> Vec<super::include_path::EnclosingInclude> {
    use super::include_path::EnclosingInclude;
    let Some(scope) = scope else {
        return Vec::new();
    };
    let mut enclosing = Vec::new();
    for scope in scope.chain().iter().rev() {
        match &scope.kind {
            ScopeKind::Include(include) => match &include.role {
                Some(role) => enclosing.push(EnclosingInclude::Role(role.definition.path.clone())),
                None => enclosing.push(EnclosingInclude::File(include.target.clone())),
            },
            ScopeKind::Block(block) => match &block.kind {
                BlockKind::ImportTasks { written, .. } => {
                    enclosing.push(EnclosingInclude::File(written.clone()))
                }
                BlockKind::Role(role) if role.from_include => {
                    enclosing.push(EnclosingInclude::Role(role.definition.path.clone()))
                }
                _ => {}
            },
        }
    }
    enclosing
}
