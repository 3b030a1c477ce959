//! `meta` tasks, as ansible-core's linear strategy runs them.

use std::sync::Arc;

use super::context::TaskContext;
use super::events::{Event, HostResult, Status, TaskKind};
use super::play::PlayRun;
use super::Executor;
use crate::playbook::value_text;
use crate::{Map, Value};

/// Meta actions that run for every host of the task; the others run once, for the
/// first host, and act on the whole play.
const PER_HOST: &[&str] = &[
    "noop",
    "reset_connection",
    "end_host",
    "role_complete",
    "flush_handlers",
    "end_role",
];

impl Executor<'_> {
    /// Runs a `meta` task. As in ansible-core, the task banner is printed once per
    /// host it runs for, a false `when` prints a skipped result that the recap does not
    /// count, and a meta task that ran prints no result. `kind` selects the
    /// handler's banner or the task's.
    pub(super) fn run_meta(
        &mut self,
        run: &mut PlayRun,
        context: &Arc<TaskContext>,
        hosts: &[String],
        kind: TaskKind,
    ) {
        let action = context
            .task
            .args
            .get("_raw_params")
            .map(value_text)
            .unwrap_or_default();
        let targets = if PER_HOST.contains(&action.as_str()) {
            hosts
        } else {
            &hosts[..1]
        };
        let mut flush = Vec::new();
        for host in targets {
            let Some(vars) = self.host_task_vars(run, context, host) else {
                continue;
            };
            let info = self.task_info(context, &vars, kind);
            self.emit(Event::TaskStart(info.clone()));
            let implicit = context.task.implicit;
            if !matches!(self.evaluate_when(context, &vars), Ok(None)) {
                if !implicit {
                    self.emit(Event::Verbose {
                        level: 2,
                        text: format!("META: {}", skip_reason(&action, host)),
                    });
                }
                let message = match action.as_str() {
                    "end_host" => format!(
                        "end_host conditional evaluated to false, continuing execution for {host}"
                    ),
                    other => other.to_string(),
                };
                let mut result = Map::new();
                result.insert(Value::from("msg"), Value::from(message));
                result.insert(
                    Value::from("skip_reason"),
                    Value::from(skip_reason(&action, host)),
                );
                self.emit(Event::TaskResult(HostResult {
                    host: host.clone(),
                    task: info,
                    status: Status::Skipped,
                    full_result: result.clone(),
                    result,
                    ignored: false,
                    delegated_to: None,
                }));
                continue;
            }
            if action == "flush_handlers" {
                self.notify_saved(run, host);
            }
            if !implicit {
                self.emit(Event::Verbose {
                    level: 2,
                    text: format!("META: {}", done_message(&action, host, context)),
                });
            }
            match action.as_str() {
                "flush_handlers" => flush.push(host.clone()),
                "end_host" => end_hosts(run, std::slice::from_ref(host)),
                "end_play" | "end_batch" => {
                    let all: Vec<String> = run
                        .hosts
                        .iter()
                        .filter(|h| !self.unreachable_hosts.contains(*h))
                        .cloned()
                        .collect();
                    end_hosts(run, &all);
                    run.ended_play |= action == "end_play";
                }
                "clear_host_errors" => {
                    for host in run.hosts.clone() {
                        self.failed_hosts.remove(&host);
                        self.unreachable_hosts.remove(&host);
                        if let Some(state) = run.states.get_mut(&host) {
                            state.clear_errors();
                        }
                    }
                }
                "clear_facts" => {
                    for host in run.hosts.clone() {
                        self.vars.clear_facts(&host);
                    }
                }
                "refresh_inventory" => self.refresh_inventory(),
                _ => {}
            }
        }
        if !flush.is_empty() {
            self.flush_handlers(run, &flush);
        }
    }
}

impl Executor<'_> {
    /// Reads the inventory sources anew and makes the `add_host` and `group_by`
    /// changes of the run again, as ansible-core's `refresh_inventory`.
    ///
    /// NOTE: ansible-core also updates the play's host lists (`ansible_play_hosts`);
    /// rplay's play keeps its hosts until it ends, and later plays see the new ones.
    fn refresh_inventory(&mut self) {
        let source = &self.options.inventory_source;
        let mut inventory = match crate::inventory::load(&source.sources, &source.options) {
            Ok(inventory) => inventory,
            Err(err) => {
                self.emit(Event::Warning(format!(
                    "could not refresh the inventory: {err}"
                )));
                return;
            }
        };
        for warning in inventory.take_warnings() {
            self.emit(Event::Warning(warning));
        }
        for change in &self.dynamic_changes {
            // A change that no longer applies is dropped, as ansible-core drops it.
            let _ = match change {
                super::DynamicChange::Host { name, groups, vars } => {
                    inventory.add_dynamic_host(name, groups, vars)
                }
                super::DynamicChange::Group {
                    host,
                    group,
                    parents,
                } => inventory
                    .dynamic_group_host(host)
                    .and_then(|id| inventory.add_dynamic_group(id, group, parents)),
            };
        }
        self.vars.inventory = inventory;
        self.vars.inventory_changed();
    }
}

fn end_hosts(run: &mut PlayRun, hosts: &[String]) {
    for host in hosts {
        if let Some(state) = run.states.get_mut(host) {
            state.end();
        }
        run.remove_host(host);
    }
}

/// Returns the message of a meta task that ran, as ansible-core words it.
fn done_message(action: &str, host: &str, context: &TaskContext) -> String {
    match action {
        "clear_host_errors" => "cleared host errors".to_string(),
        "end_batch" => "ending batch".to_string(),
        "end_play" => "ending play".to_string(),
        "end_host" => format!("ending play for {host}"),
        "end_role" => {
            let role = context.role.as_ref().map(|role| role.name.as_str());
            format!("ending role {} for {host}", role.unwrap_or_default())
        }
        "flush_handlers" => format!("triggered running handlers for {host}"),
        "clear_facts" => "facts cleared".to_string(),
        "refresh_inventory" => "inventory successfully refreshed".to_string(),
        "reset_connection" => "reset connection".to_string(),
        other => other.to_string(),
    }
}

/// Returns the `skip_reason` of a meta task whose `when` is false, as ansible-core words it.
fn skip_reason(action: &str, host: &str) -> String {
    let base = format!("{action} conditional evaluated to False");
    match action {
        "flush_handlers" => format!("{base}, not running handlers for {host}"),
        "clear_facts" => format!("{base}, not clearing facts and fact cache for {host}"),
        "clear_host_errors" => format!("{base}, not clearing host error state for {host}"),
        "end_batch" => format!("{base}, continuing current batch"),
        "end_play" => format!("{base}, continuing play"),
        "end_host" => format!("{base}, continuing execution for {host}"),
        _ => base,
    }
}
