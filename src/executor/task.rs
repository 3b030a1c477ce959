//! Running one task on one host, as ansible-core's `TaskExecutor`: loops, `when`,
//! argument templating, the action, `until`/`retries`, `changed_when`, `failed_when`.

use std::sync::Arc;

use super::actions::{self, ActionOutcome};
use super::context::TaskContext;
use super::events::{Event, HostResult, Status, TaskInfo};
use super::Executor;
use crate::playbook::{value_text, Spanned};
use crate::source::{ansible_position_details, Span};
use crate::template::{TemplateError, TemplateErrorKind};
use crate::vars::HostVars;
use crate::{Map, Value};

/// Result keys the callbacks never see: the status is in the event kind.
const CALLBACK_HIDDEN: &[&str] = &["failed", "skipped"];

/// The result of a task on one host, and the work it leaves to the strategy.
#[derive(Debug, Default)]
pub struct TaskOutcome {
    pub result: Map,
    pub status: Option<Status>,
    /// `ignore_errors` turned a failure into `...ignoring`.
    pub ignored: bool,
    /// Follow-up work the strategy does after the task (includes, inventory changes).
    pub effects: Vec<actions::Effect>,
    /// The failure came from an exception the action raised, whose result ansible-core
    /// reports without a `changed` key.
    pub raised: bool,
    /// The delegation label results show (`delegate` or `delegate(address)`).
    pub delegated_to: Option<String>,
    /// The host that receives the task's facts under `delegate_facts`.
    pub facts_host: Option<String>,
}

impl TaskOutcome {
    pub fn failed(&self) -> bool {
        self.status == Some(Status::Failed) && !self.ignored
    }
}

impl Executor<'_> {
    /// Runs `context`'s task on `host` with the host's variables `vars`, emitting item
    /// results as they complete. The task-level result is returned, not emitted.
    pub(super) fn run_task_on_host(
        &self,
        context: &TaskContext,
        info: &Arc<TaskInfo>,
        host: &str,
        vars: &HostVars,
    ) -> TaskOutcome {
        let task = &context.task;
        let mut outcome = match task.keyword("loop") {
            Some(loop_value) => self.run_loop(context, info, host, vars, loop_value),
            None => self.run_once(context, host, vars),
        };
        if self.no_log(context, vars) {
            outcome
                .result
                .insert(Value::from("_ansible_no_log"), Value::Bool(true));
        }
        if !outcome.raised && !outcome.result.contains_key("changed") {
            outcome
                .result
                .insert(Value::from("changed"), Value::Bool(false));
        }
        outcome.status = Some(status_of(&outcome.result));
        outcome.ignored = match outcome.status {
            Some(Status::Failed) => self.ignore_errors(context, vars),
            Some(Status::Unreachable) => {
                self.truthy_task_keyword(context, vars, "ignore_unreachable")
            }
            _ => false,
        };
        outcome
    }

    /// Returns whether the task runs in check mode: its inherited `check_mode` keyword
    /// when set, else `--check`.
    pub(super) fn check_mode(&self, context: &TaskContext, vars: &HostVars) -> bool {
        match self.keyword_value(context, "check_mode", vars) {
            Ok(Some(value)) => truthy_keyword(&value),
            Ok(None) | Err(_) => self.options.check,
        }
    }

    fn ignore_errors(&self, context: &TaskContext, vars: &HostVars) -> bool {
        self.truthy_task_keyword(context, vars, "ignore_errors")
    }

    /// Templates a boolean keyword such as `ignore_errors`; false when unset or invalid.
    fn truthy_task_keyword(&self, context: &TaskContext, vars: &HostVars, keyword: &str) -> bool {
        self.keyword_value(context, keyword, vars)
            .ok()
            .flatten()
            .is_some_and(|value| truthy_keyword(&value))
    }

    /// Templates an inherited keyword. A level whose value templates to `omit` counts
    /// as not set, so the next enclosing level's value applies, as ansible-core resets
    /// an omitted keyword to its inherited value. `None` when no level sets it.
    ///
    /// NOTE: only `become` and its settings, `check_mode` and the boolean keywords read
    /// through [`Executor::truthy_task_keyword`] see through `omit` yet.
    pub(super) fn keyword_value(
        &self,
        context: &TaskContext,
        keyword: &str,
        vars: &HostVars,
    ) -> Result<Option<Value>, TemplateError> {
        for level in context.keyword_chain(keyword) {
            let value = self.templar.template(&level.value, vars)?;
            if !crate::template::is_omitted(&value) {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    fn run_loop(
        &self,
        context: &TaskContext,
        info: &Arc<TaskInfo>,
        host: &str,
        vars: &HostVars,
        loop_value: &Spanned<Value>,
    ) -> TaskOutcome {
        let items = self.loop_items(context, vars, loop_value);
        self.emit_lookup_warnings();
        let items = match items {
            Ok(items) => items,
            Err(error) => {
                // ansible-core evaluates `when` before it reports an undefined variable in
                // the loop, so a false condition skips the task.
                if error.undefined {
                    if let Ok(Some(false_condition)) = self.evaluate_when(context, vars) {
                        return skipped_by(false_condition);
                    }
                }
                return raised_failure(error.message);
            }
        };
        if items.is_empty() {
            let mut result = Map::new();
            result.insert(Value::from("changed"), Value::Bool(false));
            result.insert(Value::from("skipped"), Value::Bool(true));
            result.insert(
                Value::from("skipped_reason"),
                Value::from("No items in the list"),
            );
            result.insert(Value::from("results"), Value::list(Vec::new()));
            return TaskOutcome {
                result,
                ..TaskOutcome::default()
            };
        }
        let control = LoopControl::read(context, &self.templar, vars);
        if crate::template::Variables::get(vars, &control.loop_var).is_some() {
            let name =
                crate::playbook::walk::task_display_name(&context.task, context.role.as_deref());
            self.emit(Event::Warning(format!(
                "TASK: {name}: The loop variable '{}' is already in use. You should set the `loop_var` value in the `loop_control` option for the task to something else to avoid variable collisions and unexpected behavior.",
                control.loop_var
            )));
        }
        let mut results = Vec::with_capacity(items.len());
        let mut effects = Vec::new();
        // Facts and the registered result of earlier items, which later items see.
        let mut carried = Map::new();
        for (index, item) in items.iter().enumerate() {
            if index > 0 && control.pause > 0.0 {
                std::thread::sleep(std::time::Duration::from_secs_f64(control.pause));
            }
            let loop_vars = control.overlay(item, index, &items);
            let mut overlay = carried.clone();
            overlay.extend(loop_vars.clone());
            let item_vars = vars.with_overlay(overlay);
            let mut outcome = self.run_once(context, host, &item_vars);
            if outcome.raised {
                // An exception ends the loop: ansible-core reports it as the task's
                // result, after the results of the items before.
                return outcome;
            }
            carry_item_result(context, &outcome.result, &mut carried);
            let result = &mut outcome.result;
            result.insert(Value::from(control.loop_var.clone()), item.clone());
            result.insert(
                Value::from("ansible_loop_var"),
                Value::from(control.loop_var.clone()),
            );
            if let Some(index_var) = &control.index_var {
                result.insert(Value::from(index_var.clone()), Value::Int(index as i64));
                result.insert(
                    Value::from("ansible_index_var"),
                    Value::from(index_var.clone()),
                );
            }
            if let Some(info) = loop_vars.get("ansible_loop") {
                result.insert(Value::from("ansible_loop"), info.clone());
            }
            // Without `label`, ansible-core labels the item with `{{ <loop_var> }}`,
            // which is the item templated once more (a no-op for unsafe items). A label
            // is templated with this item's result registered.
            let mut overlay = carried.clone();
            overlay.extend(loop_vars.clone());
            let label_vars = vars.with_overlay(overlay);
            let label = match &control.label {
                Some(label) => self.templar.template(label, &label_vars),
                None => self.templar.template(item, &label_vars),
            };
            match label {
                Ok(label) => {
                    result.insert(Value::from("_ansible_item_label"), label);
                }
                Err(error) if error.is_undefined() => {
                    result.insert(Value::from("failed"), Value::Bool(true));
                    result.insert(
                        Value::from("msg"),
                        Value::from(format!(
                            "Failed to template loop_control.label: {}",
                            error.message
                        )),
                    );
                }
                Err(_) => {}
            }
            if !result.contains_key("changed") && status_of(result) != Status::Skipped {
                result.insert(Value::from("changed"), Value::Bool(false));
            }
            let status = status_of(result);
            if status == Status::Failed {
                let ignored = self.ignore_errors(context, &item_vars);
                result.insert(Value::from("_ansible_ignore_errors"), Value::Bool(ignored));
            }
            // The strategy reports an inventory action's successful items itself, after it
            // has changed the inventory and can tell whether anything changed.
            let deferred = status == Status::Ok && is_inventory_action(context.task.short_action());
            if !deferred {
                self.emit(Event::ItemResult(HostResult {
                    host: host.to_string(),
                    task: info.clone(),
                    status,
                    result: callback_copy(result),
                    full_result: result.clone(),
                    ignored: false,
                    delegated_to: self
                        .delegations
                        .get(host)
                        .and_then(|delegation| delegation.label.clone()),
                }));
            }
            for effect in &mut outcome.effects {
                if let actions::Effect::Include(request) = effect {
                    request.item_vars = loop_vars.clone();
                    request.item_label = Some(
                        result
                            .get("_ansible_item_label")
                            .cloned()
                            .unwrap_or_else(|| item.clone()),
                    );
                }
            }
            effects.append(&mut outcome.effects);
            results.push(outcome.result);
            if let Some(condition) = &control.break_when {
                // The condition is evaluated with this item's loop variables and registered result.
                match self.templar.evaluate_conditional(condition, &label_vars) {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(error) => {
                        let message = match context.task.keyword("loop_control") {
                            Some(control) => located_message(
                                &error.message,
                                &value_span(&control.span, "break_when"),
                            ),
                            None => error.message,
                        };
                        return raised_failure(message);
                    }
                }
            }
        }
        TaskOutcome {
            result: aggregate_loop(results),
            effects,
            ..TaskOutcome::default()
        }
    }

    fn loop_items(
        &self,
        context: &TaskContext,
        vars: &HostVars,
        loop_value: &Spanned<Value>,
    ) -> Result<Vec<Value>, LoopError> {
        // ansible-core templates `with_first_found` terms without failing on undefined
        // variables and drops the terms that are still templates afterwards.
        let lenient = context.task.loop_lookup.as_deref() == Some("first_found");
        let templated = if lenient {
            self.templar.template_lenient(&loop_value.value, vars)
        } else {
            self.templar.template(&loop_value.value, vars)
        };
        let mut templated = templated.map_err(|err| LoopError {
            undefined: err.is_undefined(),
            message: err.to_string(),
        })?;
        if lenient {
            if let Value::List(terms) = &templated {
                let kept = terms
                    .iter()
                    .filter(|term| {
                        !term
                            .as_str()
                            .is_some_and(|text| self.templar.is_template(text))
                    })
                    .cloned()
                    .collect();
                templated = Value::list(kept);
            }
        }
        let items = match context.task.loop_lookup.as_deref() {
            None => flatten_loop(&templated, false),
            Some("list") => with_list(templated),
            Some("items") => flatten_loop(&templated, true),
            Some(lookup @ ("dict" | "indexed_items" | "nested" | "together")) => {
                loop_lookup(lookup, &templated)
            }
            Some(lookup) => self.query_lookup(context, lookup, &templated, vars),
        };
        let items = items.map_err(|message| LoopError {
            message,
            undefined: false,
        })?;
        // ansible-core marks what a `with_<lookup>` loop returns as unsafe, so items
        // are never templated again; `loop:` items stay as they are.
        Ok(match context.task.loop_lookup {
            Some(_) => items.into_iter().map(Value::into_unsafe).collect(),
            None => items,
        })
    }

    /// Runs a `with_<lookup>` loop through the templating layer's lookup plugins. A
    /// value that is not a list is the one term, as `listify_lookup_plugin_terms` makes it.
    fn query_lookup(
        &self,
        context: &TaskContext,
        lookup: &str,
        terms: &Value,
        vars: &HostVars,
    ) -> Result<Vec<Value>, String> {
        let terms = match terms {
            Value::List(items) => items.to_vec(),
            other => vec![other.clone()],
        };
        self.templar
            .run_loop_lookup(lookup, &terms, vars, loop_subdir(&context.task.action))
            .map_err(|err| err.to_string())
    }

    /// One execution for a host (or one loop item): `when`, arguments, the action,
    /// retries, `changed_when` and `failed_when`.
    fn run_once(&self, context: &TaskContext, host: &str, vars: &HostVars) -> TaskOutcome {
        let mut outcome = self.execute_once(context, host, vars);
        self.emit_lookup_warnings();
        if self.no_log(context, vars) {
            outcome
                .result
                .insert(Value::from("_ansible_no_log"), Value::Bool(true));
        }
        outcome
    }

    /// Tells whether the task's `no_log` keyword is true for this host.
    pub(super) fn no_log(&self, context: &TaskContext, vars: &HostVars) -> bool {
        context
            .keyword("no_log")
            .and_then(|value| self.templar.template(&value.value, vars).ok())
            .is_some_and(|value| truthy_keyword(&value))
    }

    fn execute_once(&self, context: &TaskContext, host: &str, vars: &HostVars) -> TaskOutcome {
        use super::connection_vars::ConnectionVarsStage;
        let action_vars =
            self.with_connection_vars(context, host, vars, ConnectionVarsStage::Action);
        let vars = &self.with_connection_vars(context, host, vars, ConnectionVarsStage::Arguments);
        match self.evaluate_when(context, vars) {
            Ok(None) => {}
            Ok(Some(false_condition)) => return skipped_by(false_condition),
            Err(message) => return raised_failure(message),
        }
        let args = match self.template_args(context, vars) {
            Ok(args) => args,
            Err(failure) => return *failure,
        };
        let retries = self.retries(context, vars);
        let polled_job = match self.async_settings(context, vars) {
            Ok(settings) => settings.filter(|settings| settings.poll > 0),
            Err(message) => return raised_failure(message),
        };
        let vars = &action_vars;
        let mut attempt = 1;
        loop {
            let ActionOutcome {
                mut result,
                mut effects,
            } = actions::run(self, context, host, &args, vars);
            if let Some(settings) = &polled_job {
                let launched = !result.get("failed").is_some_and(Value::is_truthy)
                    && !result.get("skipped").is_some_and(Value::is_truthy)
                    && !result.contains_key(actions::RAISED);
                if launched {
                    result = self.poll_async_job(context, host, vars, &result, settings);
                    self.emit_async_outcome(host, &result);
                }
            }
            if result.shift_remove(actions::RAISED).is_some() {
                return TaskOutcome {
                    result,
                    raised: true,
                    ..TaskOutcome::default()
                };
            }
            let own_facts = matches!(
                context.task.short_action(),
                "set_fact" | "include_vars" | "debug"
            );
            if let (false, Some(Value::Map(facts))) = (own_facts, result.get("ansible_facts")) {
                effects.push(actions::Effect::Facts(facts.as_ref().clone()));
            }
            let unreachable = result.get("unreachable") == Some(&Value::Bool(true));
            if !result.contains_key("failed") && !unreachable {
                let rc_failed = result
                    .get("rc")
                    .is_some_and(|rc| rc != &Value::Int(0) && rc != &Value::from("0"));
                result.insert(Value::from("failed"), Value::Bool(rc_failed));
            }
            if retries > 1 {
                result.insert(Value::from("attempts"), Value::Int(attempt));
            }
            if !result.contains_key("changed") {
                result.insert(Value::from("changed"), Value::Bool(false));
            }
            let checked_vars = self.with_registered(context, vars, &result);
            self.apply_changed_failed_when(context, &checked_vars, &mut result);
            // ansible-core registers the result object itself, so `until` is evaluated on
            // what `changed_when` and `failed_when` made of it.
            if retries <= 1
                || self.until_holds(
                    context,
                    &self.with_registered(context, vars, &result),
                    &result,
                )
            {
                return TaskOutcome {
                    result,
                    effects,
                    ..TaskOutcome::default()
                };
            }
            if attempt >= retries {
                // ansible-core reports one attempt fewer than it made when they run out.
                result.insert(Value::from("attempts"), Value::Int(retries - 1));
                result.insert(Value::from("failed"), Value::Bool(true));
                return TaskOutcome {
                    result,
                    effects,
                    ..TaskOutcome::default()
                };
            }
            result.insert(Value::from("_ansible_retry"), Value::Bool(true));
            result.insert(Value::from("retries"), Value::Int(retries));
            self.emit_retry(context, host, &result);
            let delay = self.delay(context, vars);
            if delay > 0.0 {
                std::thread::sleep(std::time::Duration::from_secs_f64(delay));
            }
            attempt += 1;
        }
    }

    fn emit_retry(&self, _context: &TaskContext, host: &str, result: &Map) {
        let Some(info) = self.current_task.clone() else {
            return;
        };
        self.emit(Event::Retry(HostResult {
            host: host.to_string(),
            task: info,
            status: Status::Failed,
            result: callback_copy(result),
            full_result: result.clone(),
            ignored: false,
            delegated_to: None,
        }));
    }

    /// Emits the warnings that lookups showed while the task was templated.
    fn emit_lookup_warnings(&self) {
        for warning in crate::template::take_lookup_warnings() {
            self.emit(Event::Warning(warning));
        }
    }

    /// Emits the warnings and deprecations that evaluating a conditional produced.
    pub(super) fn emit_conditional_warnings(&self, warnings: &[crate::template::Warning]) {
        for warning in warnings {
            let event = if warning.deprecation {
                // ansible-core 2.18 removes non-boolean conditionals in 2.19.
                Event::Deprecation {
                    message: warning.message.clone(),
                    version: Some("2.19".to_string()),
                }
            } else {
                Event::Warning(warning.message.clone())
            };
            self.emit(event);
        }
    }

    /// Returns `None` when every condition holds, else the first false condition as
    /// written (Ansible's `false_condition`).
    pub(super) fn evaluate_when(
        &self,
        context: &TaskContext,
        vars: &HostVars,
    ) -> Result<Option<Value>, String> {
        for condition in &context.when {
            let location = condition_location(condition, &context.task.span);
            let checked = self
                .templar
                .check_conditional(&condition.value, vars, Some(&location));
            let checked = match checked {
                Ok(outcome) => {
                    self.emit_conditional_warnings(&outcome.warnings);
                    Ok(outcome.result)
                }
                Err(failure) => {
                    self.emit_conditional_warnings(&failure.warnings);
                    Err(failure.error)
                }
            };
            match checked {
                Ok(true) => {}
                Ok(false) => return Ok(Some(condition.value.clone())),
                // The templating layer words the failure; ansible-core locates it at
                // the condition.
                Err(err) => return Err(located_condition_error(&err, condition)),
            }
        }
        Ok(None)
    }

    fn template_args(
        &self,
        context: &TaskContext,
        vars: &HostVars,
    ) -> Result<Map, Box<TaskOutcome>> {
        let raw = Value::map(context.task.args.clone());
        let templated = self.templar.template(&raw, vars).map_err(|err| {
            if err.kind == TemplateErrorKind::RuntimeSyntax {
                let text = err.exception_text();
                return Box::new(raised_exception(
                    "jinja2.exceptions.TemplateSyntaxError",
                    &text,
                ));
            }
            if err.kind == TemplateErrorKind::ZeroDivision {
                return Box::new(caught_exception("ZeroDivisionError", &err.message));
            }
            Box::new(raised_failure(args_error(&err, context)))
        })?;
        let mut args = templated.as_map().cloned().unwrap_or_default();
        if let Some(variable) = args.shift_remove(crate::playbook::VARIABLE_PARAMS) {
            let Value::Map(variable) = variable else {
                return Err(Box::new(raised_failure(format!(
                    "invalid or malformed argument: '{}'",
                    rplay_modules::pyrepr::str(&variable)
                ))));
            };
            self.emit(Event::Warning(
                "Using a variable for a task's 'args' is unsafe in some situations (see https://docs.ansible.com/ansible/devel/reference_appendices/faq.html#argsplat-unsafe)".to_string(),
            ));
            let mut merged = std::sync::Arc::unwrap_or_clone(variable);
            merged.extend(args);
            args = merged;
        }
        args.retain(|_, value| value.as_str() != Some(crate::template::OMIT));
        Ok(args)
    }

    /// Returns the number of attempts: the first run plus `retries`, which defaults to 3
    /// with `until`. `retries` without `until` retries until the task does not fail.
    fn retries(&self, context: &TaskContext, vars: &HostVars) -> i64 {
        let retries = context
            .task
            .keyword("retries")
            .and_then(|r| self.templar.template(&r.value, vars).ok())
            .and_then(|v| int_keyword(&v));
        match retries {
            Some(retries) => 1 + retries.max(0),
            None if context.task.keyword("until").is_some() => 4,
            None => 1,
        }
    }

    /// Returns whether the `until` condition is true, or without `until`, whether the
    /// result did not fail.
    fn until_holds(&self, context: &TaskContext, vars: &HostVars, result: &Map) -> bool {
        match context.task.keyword("until") {
            // A condition whose result is not a boolean warns, as in `when`.
            Some(until) => {
                let location = condition_location(until, &context.task.span);
                match self
                    .templar
                    .check_conditional(&until.value, vars, Some(&location))
                {
                    Ok(outcome) => {
                        self.emit_conditional_warnings(&outcome.warnings);
                        outcome.result
                    }
                    Err(failure) => {
                        self.emit_conditional_warnings(&failure.warnings);
                        false
                    }
                }
            }
            None => !result.get("failed").is_some_and(Value::is_truthy),
        }
    }

    fn delay(&self, context: &TaskContext, vars: &HostVars) -> f64 {
        context
            .task
            .keyword("delay")
            .and_then(|d| self.templar.template(&d.value, vars).ok())
            .and_then(|v| seconds(&v))
            .unwrap_or(5.0)
    }

    /// The variables with the result registered, for `changed_when`, `failed_when` and
    /// `until`.
    fn with_registered(&self, context: &TaskContext, vars: &HostVars, result: &Map) -> HostVars {
        match context.task.keyword("register") {
            Some(register) => {
                let mut overlay = Map::new();
                overlay.insert(
                    Value::from(value_text(&register.value)),
                    registered_value(context, strip_internal(result)),
                );
                vars.with_overlay(overlay)
            }
            None => vars.clone(),
        }
    }

    /// Applies `changed_when`, then `failed_when`. As in ansible-core, an error in either
    /// fails the result and is stored as its `changed_when_result` or
    /// `failed_when_result`. After a `changed_when` error, `failed_when` is not evaluated.
    pub(super) fn apply_changed_failed_when(
        &self,
        context: &TaskContext,
        vars: &HostVars,
        result: &mut Map,
    ) {
        if result.get("skipped").is_some_and(Value::is_truthy) {
            return;
        }
        for (keyword, key) in [("changed_when", "changed"), ("failed_when", "failed")] {
            let Some(conditions) = context.task.keyword(keyword) else {
                continue;
            };
            match self.all_conditions(context, conditions, vars) {
                Ok(holds) => {
                    result.insert(Value::from(key), Value::Bool(holds));
                    if key == "failed" {
                        result.insert(Value::from("failed_when_result"), Value::Bool(holds));
                    }
                }
                Err(message) => {
                    result.insert(Value::from("failed"), Value::Bool(true));
                    result.insert(
                        Value::from(format!("{key}_when_result")),
                        Value::from(message),
                    );
                    return;
                }
            }
        }
    }

    /// Evaluates a condition or a list of conditions that must all hold, emitting the
    /// warnings they produce.
    fn all_conditions(
        &self,
        context: &TaskContext,
        conditions: &Spanned<Value>,
        vars: &HostVars,
    ) -> Result<bool, String> {
        let list = match &conditions.value {
            Value::List(items) => items.to_vec(),
            other => vec![other.clone()],
        };
        for condition in list {
            // NOTE: list items have no span of their own here, so an error in one is
            // located at the keyword's value, where ansible-core points at the item.
            let item = Spanned {
                value: condition,
                span: conditions.span.clone(),
            };
            let location = condition_location(&item, &context.task.span);
            let checked = match self
                .templar
                .check_conditional(&item.value, vars, Some(&location))
            {
                Ok(checked) => checked,
                Err(failure) => {
                    self.emit_conditional_warnings(&failure.warnings);
                    return Err(located_condition_error(&failure.error, &item));
                }
            };
            self.emit_conditional_warnings(&checked.warnings);
            if !checked.result {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Formats a task failure as ansible-core words an error with a position: the message,
/// a blank line, and where the error is with the offending lines.
/// Finds where the value of `key` starts in the mapping that begins at `span`, for an
/// error about a value nested in a keyword (`loop_control.break_when`). Falls back to
/// `span` when the key is not found on the mapping's lines.
fn value_span(span: &Span, key: &str) -> Span {
    let text = span.file.text();
    let mut lines = text
        .lines()
        .enumerate()
        .skip(span.line.saturating_sub(1) as usize);
    while let Some((index, line)) = lines.next() {
        let indent = line.len() - line.trim_start().len();
        let Some(rest) = line
            .trim_start()
            .strip_prefix(key)
            .and_then(|r| r.strip_prefix(':'))
        else {
            continue;
        };
        let value_start = rest.len() - rest.trim_start().len();
        if !rest.trim().is_empty() {
            let column = indent + key.len() + 1 + value_start + 1;
            return Span::new(span.file.clone(), index as u32 + 1, column as u32);
        }
        // The value is a block on the following lines.
        for (next_index, next) in lines.by_ref() {
            if !next.trim().is_empty() {
                let column = next.len() - next.trim_start().len() + 1;
                return Span::new(span.file.clone(), next_index as u32 + 1, column as u32);
            }
        }
        break;
    }
    span.clone()
}

fn located_message(message: &str, span: &Span) -> String {
    format!("{message}\n\n{}", ansible_position_details(span))
}

/// Returns where ansible-core's deprecation of a non-boolean result places `condition`:
/// at its own position when YAML read it as text, else at the task's, as approximate.
fn condition_location(condition: &Spanned<Value>, task_span: &Span) -> String {
    let (label, span) = match condition.value.as_str() {
        Some(_) => ("location", &condition.span),
        None => ("approximate location", task_span),
    };
    format!(
        "{label} {} {}:{}",
        span.path().display(),
        span.line,
        span.column
    )
}

/// Locates the error of `condition` at its span. A non-boolean result that
/// `ALLOW_BROKEN_CONDITIONALS` rejects is located twice, as ansible-core words it, and
/// not at all for a condition that YAML did not read as text.
fn located_condition_error(error: &TemplateError, condition: &Spanned<Value>) -> String {
    if error.kind != TemplateErrorKind::BrokenConditional {
        return located_message(&error.message, &condition.span);
    }
    match condition.value.as_str() {
        Some(_) => located_message(
            &located_message(&error.message, &condition.span),
            &condition.span,
        ),
        None => error.message.clone(),
    }
}

/// Builds the failure message for task arguments that could not be templated. ansible-core
/// prefixes undefined-variable errors and Python `ValueError`s and locates them at the
/// task; other templating errors keep their own message.
fn args_error(err: &TemplateError, context: &TaskContext) -> String {
    let task_span = &context.task.span;
    if err.kind == TemplateErrorKind::Value {
        // `FieldAttributeBase.post_validate` quotes the arguments as they were written.
        let written = rplay_modules::pyrepr::repr(&Value::map(context.task.args.clone()));
        let message = format!(
            "the field 'args' has an invalid value ({written}), and could not be converted to dict.. {}",
            err.message
        );
        return located_message(&message, task_span);
    }
    if err.is_undefined() {
        let message = format!(
            "The task includes an option with an undefined variable.. {}",
            err.message
        );
        return located_message(&message, task_span);
    }
    err.message.clone()
}

/// Builds the result of a task skipped because the condition `false_condition` is false.
fn skipped_by(false_condition: Value) -> TaskOutcome {
    let mut result = Map::new();
    result.insert(Value::from("changed"), Value::Bool(false));
    result.insert(Value::from("false_condition"), false_condition);
    result.insert(
        Value::from("skip_reason"),
        Value::from("Conditional result was False"),
    );
    result.insert(Value::from("skipped"), Value::Bool(true));
    TaskOutcome {
        result,
        ..TaskOutcome::default()
    }
}

/// A failure to compute a task's loop items.
struct LoopError {
    message: String,
    /// Whether templating the loop met an undefined variable.
    undefined: bool,
}

/// Reads a number of seconds given as an integer, a float or their text.
fn seconds(value: &Value) -> Option<f64> {
    match value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        other => other.as_str().and_then(|s| s.trim().parse().ok()),
    }
}

/// `loop_control` settings, templated.
struct LoopControl {
    loop_var: String,
    index_var: Option<String>,
    label: Option<Value>,
    extended: bool,
    /// `extended_allitems`: whether `ansible_loop.allitems` is set (default true).
    extended_allitems: bool,
    /// `pause`: seconds to wait between two items.
    pause: f64,
    /// `break_when`: conditions, evaluated after each item, that end the loop.
    break_when: Option<Value>,
}

impl LoopControl {
    fn read(
        context: &TaskContext,
        templar: &crate::template::Templar,
        vars: &HostVars,
    ) -> LoopControl {
        // Each setting is templated on its own: `label` refers to the loop variable,
        // which is undefined here, and is templated per item below.
        let raw = context
            .task
            .keyword("loop_control")
            .and_then(|c| match c.value.as_map() {
                Some(map) => Some(map.clone()),
                None => templar.template(&c.value, vars).ok()?.as_map().cloned(),
            })
            .unwrap_or_default();
        let control: Map = raw
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), Some("label" | "break_when")))
            .filter_map(|(key, value)| {
                let value = templar.template(value, vars).ok()?;
                Some((key.clone(), value))
            })
            .collect();
        let text = |key: &str| control.get(key).map(value_text);
        LoopControl {
            loop_var: text("loop_var").unwrap_or_else(|| "item".to_string()),
            index_var: text("index_var"),
            label: context
                .task
                .keyword("loop_control")
                .and_then(|c| c.value.get("label").cloned()),
            extended: control.get("extended").is_some_and(Value::is_truthy),
            extended_allitems: control
                .get("extended_allitems")
                .is_none_or(Value::is_truthy),
            pause: control.get("pause").and_then(seconds).unwrap_or(0.0),
            break_when: raw
                .get("break_when")
                .filter(|value| !value.is_null())
                .cloned(),
        }
    }

    fn overlay(&self, item: &Value, index: usize, items: &[Value]) -> Map {
        let length = items.len();
        let mut overlay = Map::new();
        overlay.insert(Value::from(self.loop_var.clone()), item.clone());
        overlay.insert(
            Value::from("ansible_loop_var"),
            Value::from(self.loop_var.clone()),
        );
        if let Some(index_var) = &self.index_var {
            overlay.insert(Value::from(index_var.clone()), Value::Int(index as i64));
            overlay.insert(
                Value::from("ansible_index_var"),
                Value::from(index_var.clone()),
            );
        }
        if self.extended {
            let mut info = Map::new();
            if self.extended_allitems {
                info.insert(Value::from("allitems"), Value::list(items.to_vec()));
            }
            if let Some(next) = items.get(index + 1) {
                info.insert(Value::from("nextitem"), next.clone());
            }
            if index > 0 {
                info.insert(Value::from("previtem"), items[index - 1].clone());
            }
            let (index, length) = (index as i64, length as i64);
            info.insert(Value::from("index"), Value::Int(index + 1));
            info.insert(Value::from("index0"), Value::Int(index));
            info.insert(Value::from("revindex"), Value::Int(length - index));
            info.insert(Value::from("revindex0"), Value::Int(length - index - 1));
            info.insert(Value::from("first"), Value::Bool(index == 0));
            info.insert(Value::from("last"), Value::Bool(index == length - 1));
            info.insert(Value::from("length"), Value::Int(length));
            overlay.insert(Value::from("ansible_loop"), Value::map(info));
        }
        overlay
    }
}

/// Returns a task's result as `register` stores it: marked unsafe, except for `set_fact` and
/// `include_vars`, whose results ansible-core leaves as they are (its
/// `_ACTION_WITH_CLEAN_FACTS`). The message of a failure is unsafe for them too, because
/// ansible-core's task executor wraps the message of an error it catches (a template
/// error in the arguments, say).
pub(super) fn registered_value(context: &TaskContext, mut result: Map) -> Value {
    match context.task.short_action() {
        "set_fact" | "include_vars" => {
            if result.get("failed") == Some(&Value::Bool(true)) {
                if let Some(message) = result.get_mut("msg") {
                    *message = std::mem::take(message).into_unsafe();
                }
            }
            Value::map(result)
        }
        _ => Value::map(result).into_unsafe(),
    }
}

/// Adds what one loop item leaves for the next ones to `carried`, as ansible-core
/// updates the loop's variables after each item. These are the registered result and
/// the facts the action returned: directly for `set_fact` and `include_vars`, and also
/// under `ansible_facts` for modules.
fn carry_item_result(context: &TaskContext, result: &Map, carried: &mut Map) {
    if let Some(register) = context.task.keyword("register") {
        carried.insert(
            Value::from(value_text(&register.value)),
            registered_value(context, strip_internal(result)),
        );
    }
    let action = context.task.short_action();
    let Some(Value::Map(facts)) = result.get("ansible_facts") else {
        return;
    };
    if action == "debug" {
        return;
    }
    if !matches!(action, "set_fact" | "include_vars") {
        // NOTE: ansible-core also drops the `ansible_` prefix of names inside
        // `ansible_facts`; rplay keeps the names as returned.
        let mut namespaced = carried
            .get("ansible_facts")
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default();
        namespaced.extend(facts.iter().map(|(k, v)| (k.clone(), v.clone())));
        carried.insert(Value::from("ansible_facts"), Value::map(namespaced));
    }
    carried.extend(facts.iter().map(|(k, v)| (k.clone(), v.clone())));
}

/// Turns a templated `loop`/`with_list`/`with_items` value into items; `with_items`
/// flattens one level.
fn flatten_loop(value: &Value, flatten_once: bool) -> Result<Vec<Value>, String> {
    match value {
        Value::List(items) if flatten_once => Ok(items
            .iter()
            .flat_map(|item| match item {
                Value::List(inner) => inner.to_vec(),
                other => vec![other.clone()],
            })
            .collect()),
        Value::List(items) => Ok(items.to_vec()),
        Value::Null if flatten_once => Ok(Vec::new()),
        other if flatten_once => Ok(vec![other.clone()]),
        other => Err(format!(
            "Invalid data passed to 'loop', it requires a list, got this instead: {}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup.",
            rplay_modules::pyrepr::str(other)
        )),
    }
}

/// `with_list`: a list as it is; any other value but a mapping is one item.
fn with_list(terms: Value) -> Result<Vec<Value>, String> {
    match terms {
        Value::List(items) => Ok(items.to_vec()),
        Value::Map(_) => Err("with_list expects a list".to_owned()),
        other => Ok(vec![other]),
    }
}

/// Combines item results as ansible-core does for a looped task.
fn aggregate_loop(mut items: Vec<Map>) -> Map {
    let mut result = Map::new();
    let mut changed = false;
    let mut skipped = true;
    let mut failed = false;
    let mut warnings: Vec<Value> = Vec::new();
    for item in &mut items {
        changed |= item.get("changed").is_some_and(Value::is_truthy);
        if !item.get("skipped").is_some_and(Value::is_truthy) {
            skipped = false;
        }
        if item.get("failed").is_some_and(Value::is_truthy) {
            failed = true;
        }
        item.shift_remove("_ansible_ignore_errors");
        if let Some(Value::List(list)) = item.shift_remove("warnings") {
            warnings.extend(list.iter().cloned());
        }
    }
    if changed {
        result.insert(Value::from("changed"), Value::Bool(true));
    }
    if failed {
        result.insert(Value::from("failed"), Value::Bool(true));
        result.insert(Value::from("msg"), Value::from("One or more items failed"));
    } else {
        result.insert(Value::from("msg"), Value::from("All items completed"));
    }
    if skipped {
        result.insert(Value::from("msg"), Value::from("All items skipped"));
    }
    result.insert(
        Value::from("results"),
        Value::list(items.into_iter().map(Value::map).collect()),
    );
    result.insert(Value::from("skipped"), Value::Bool(skipped));
    if !warnings.is_empty() {
        result.insert(Value::from("warnings"), Value::list(warnings));
    }
    result
}

/// Actions whose results the strategy completes by changing the inventory.
pub fn is_inventory_action(action: &str) -> bool {
    matches!(action, "group_by" | "add_host")
}

/// Returns the status a result reports.
pub fn status_of(result: &Map) -> Status {
    if result.get("unreachable").is_some_and(Value::is_truthy) {
        Status::Unreachable
    } else if is_failed(result) {
        Status::Failed
    } else if result.get("skipped").is_some_and(Value::is_truthy) {
        Status::Skipped
    } else {
        Status::Ok
    }
}

/// Tells whether a result failed, as ansible-core's `TaskResult.is_failed`: once
/// `failed_when` has been evaluated, its result decides, also over a `failed` that
/// `until` set when the retries ran out. In a loop result, an item with a
/// `failed_when_result` makes the items' `failed_when_result` values decide.
fn is_failed(result: &Map) -> bool {
    let items = || {
        result
            .get("results")
            .and_then(Value::as_list)
            .into_iter()
            .flatten()
            .filter_map(Value::as_map)
    };
    let any_item = |key: &str| items().any(|item| item.get(key).is_some_and(Value::is_truthy));
    let key = if result.contains_key("failed_when_result")
        || items().any(|item| item.contains_key("failed_when_result"))
    {
        "failed_when_result"
    } else {
        "failed"
    };
    match result.get(key) {
        Some(value) => value.is_truthy(),
        None => any_item(key),
    }
}

/// Builds a failure that ansible-core raises as an exception (a templating error in the
/// arguments, the condition or the loop). Its result has no `changed`, and it ends a loop.
fn raised_failure(message: String) -> TaskOutcome {
    TaskOutcome {
        raised: true,
        ..failure(message)
    }
}

/// Builds the result of a Python exception that ansible-core's task executor caught
/// without wording it: no message, and the exception as the traceback.
fn raised_exception(class: &str, message: &str) -> TaskOutcome {
    let mut result = Map::new();
    result.insert(Value::from("failed"), Value::Bool(true));
    result.insert(
        Value::from("exception"),
        Value::from(format!(
            "Traceback (most recent call last):\n{class}: {message}\n"
        )),
    );
    TaskOutcome {
        result,
        raised: true,
        ..TaskOutcome::default()
    }
}

/// Builds the result that ansible-core's `TaskExecutor._execute` returns for an
/// exception other than an `AnsibleError` while it templates the task's arguments: the
/// exception as the traceback and no message. Unlike a raised failure, a loop goes on
/// with its next item.
fn caught_exception(class: &str, message: &str) -> TaskOutcome {
    let mut outcome = raised_exception(class, message);
    outcome.raised = false;
    outcome
        .result
        .insert_before(0, Value::from("changed"), Value::Bool(false));
    outcome
}

/// Builds a failed result with a message.
fn failure(message: String) -> TaskOutcome {
    let mut result = Map::new();
    result.insert(Value::from("failed"), Value::Bool(true));
    result.insert(Value::from("msg"), Value::from(message));
    TaskOutcome {
        result,
        ..TaskOutcome::default()
    }
}

/// The copy of a result the callbacks receive, as `TaskResult.clean_copy`: without
/// `failed` and `skipped`, and without internal keys other than those the default
/// callback reads.
pub fn callback_copy(result: &Map) -> Map {
    if result.get("_ansible_no_log").is_some_and(Value::is_truthy) {
        return censored(result);
    }
    const KEPT: &[&str] = &[
        "_ansible_verbose_always",
        "_ansible_item_label",
        "_ansible_no_log",
        "_ansible_verbose_override",
    ];
    result
        .iter()
        .filter(|(key, _)| {
            let key = key.as_str().unwrap_or_default();
            !CALLBACK_HIDDEN.contains(&key)
                && (!key.starts_with("_ansible_") || KEPT.contains(&key))
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// What the callbacks see of a `no_log` result: the `censored` notice, and only
/// `attempts`, `changed` and `retries` of the result.
fn censored(result: &Map) -> Map {
    let mut out = Map::new();
    out.insert(
        Value::from("censored"),
        Value::from("the output has been hidden due to the fact that 'no_log: true' was specified for this result"),
    );
    for key in ["attempts", "changed", "retries"] {
        if let Some(value) = result.get(key) {
            out.insert(Value::from(key), value.clone());
        }
    }
    out
}

/// Returns the result without `_ansible_*` keys at any depth, as ansible-core's
/// `strip_internal_keys` leaves it for `register`.
pub fn strip_internal(result: &Map) -> Map {
    result
        .iter()
        .filter(|(key, _)| !key.as_str().is_some_and(|k| k.starts_with("_ansible_")))
        .map(|(key, value)| (key.clone(), strip_internal_value(value)))
        .collect()
}

fn strip_internal_value(value: &Value) -> Value {
    match value {
        Value::Map(map) => Value::map(strip_internal(map)),
        Value::List(items) => Value::list(items.iter().map(strip_internal_value).collect()),
        other => other.clone(),
    }
}

/// Ansible's boolean conversion for keywords such as `ignore_errors` and `run_once`.
pub fn truthy_keyword(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Int(i) => *i == 1,
        Value::Float(f) => *f == 1.0,
        Value::Str(s) | Value::Unsafe(s) => crate::config::parse_bool(s.trim()),
        _ => false,
    }
}

fn int_keyword(value: &Value) -> Option<i64> {
    match value {
        Value::Int(i) => Some(*i),
        Value::Float(f) => Some(*f as i64),
        other => other.as_str().and_then(|s| s.trim().parse().ok()),
    }
}

/// Expands the `with_<lookup>` loops rplay implements natively: `dict`, `nested`,
/// `together` and `indexed_items`.
/// Returns the directory a `with_` loop's lookup searches first, as ansible-core's task
/// executor picks it: `templates`, `vars` or `files` when the action's name contains
/// `template`, `var` or `file` (tried in that order), else `files`.
fn loop_subdir(action: &str) -> &'static str {
    [
        ("template", "templates"),
        ("var", "vars"),
        ("file", "files"),
    ]
    .into_iter()
    .find(|(word, _)| action.contains(word))
    .map_or("files", |(_, subdir)| subdir)
}

fn loop_lookup(lookup: &str, terms: &Value) -> Result<Vec<Value>, String> {
    let lists = |value: &Value| -> Vec<Vec<Value>> {
        value
            .as_list()
            .map(|items| {
                items
                    .iter()
                    .map(|item| {
                        item.as_list()
                            .map(<[Value]>::to_vec)
                            .unwrap_or_else(|| vec![item.clone()])
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    match lookup {
        "dict" => {
            let map = terms
                .as_map()
                .ok_or_else(|| "with_dict expects a dict".to_owned())?;
            Ok(map
                .iter()
                .map(|(key, value)| {
                    let mut pair = Map::new();
                    pair.insert(Value::from("key"), key.clone());
                    pair.insert(Value::from("value"), value.clone());
                    Value::map(pair)
                })
                .collect())
        }
        "indexed_items" if terms.as_list().is_none() => {
            Err("with_indexed_items expects a list".to_owned())
        }
        "indexed_items" => Ok(flatten_loop(terms, true)?
            .into_iter()
            .enumerate()
            .map(|(index, item)| Value::list(vec![Value::Int(index as i64), item]))
            .collect()),
        "nested" => {
            let mut product: Vec<Vec<Value>> = vec![Vec::new()];
            for list in lists(terms) {
                product = product
                    .iter()
                    .flat_map(|prefix| {
                        list.iter().map(move |item| {
                            let mut combined = prefix.clone();
                            combined.push(item.clone());
                            combined
                        })
                    })
                    .collect();
            }
            Ok(product.into_iter().map(Value::list).collect())
        }
        "together" => {
            let lists = lists(terms);
            if lists.is_empty() {
                return Err("with_together requires at least one element in each list".to_owned());
            }
            let length = lists.iter().map(Vec::len).max().unwrap_or(0);
            Ok((0..length)
                .map(|index| {
                    Value::list(
                        lists
                            .iter()
                            .map(|list| list.get(index).cloned().unwrap_or(Value::Null))
                            .collect(),
                    )
                })
                .collect())
        }
        other => Err(format!(
            "rplay does not support the loop lookup with_{other} yet"
        )),
    }
}
