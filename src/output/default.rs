//! The default stdout callback of ansible-core 2.18, byte for byte, without colour.
//!
//! NOTE: colours (which ansible-core adds on a terminal) are not printed yet.

use std::collections::HashMap;
use std::io::Write;

use rplay_modules::json::{dumps, DumpOptions};
use rplay_modules::pyrepr;

use super::display::{warning_text, DEFAULT_COLUMNS};
use super::profile_tasks::ProfileTasks;
use crate::executor::events::{Callback, Event, HostResult, HostStats, Status, TaskInfo, TaskKind};
use crate::{Map, Value};

/// Options of the default callback, from `ansible.cfg` and the command line.
#[derive(Clone, Debug)]
pub struct DefaultOptions {
    pub verbosity: u8,
    pub display_skipped_hosts: bool,
    pub display_ok_hosts: bool,
    pub display_failed_stderr: bool,
    pub display_args_to_stdout: bool,
    pub check_mode_markers: bool,
    pub show_per_host_start: bool,
    pub columns: usize,
}

impl Default for DefaultOptions {
    fn default() -> DefaultOptions {
        DefaultOptions {
            verbosity: 0,
            display_skipped_hosts: true,
            display_ok_hosts: true,
            display_failed_stderr: false,
            display_args_to_stdout: false,
            check_mode_markers: false,
            show_per_host_start: false,
            columns: DEFAULT_COLUMNS,
        }
    }
}

/// Prints events as ansible-core's `default` callback does, followed by the
/// `profile_tasks` lines when that callback is enabled.
pub struct DefaultPrinter {
    options: DefaultOptions,
    stdout: Box<dyn Write>,
    stderr: Box<dyn Write>,
    last_task_banner: Option<u64>,
    /// The name of the task whose banner is pending; `None` under the `free` strategies.
    last_task_name: Option<String>,
    task_kinds: HashMap<u64, TaskKind>,
    free_strategy: bool,
    warnings_shown: std::collections::HashSet<String>,
    profile: Option<ProfileTasks>,
}

impl DefaultPrinter {
    pub fn new(
        options: DefaultOptions,
        stdout: Box<dyn Write>,
        stderr: Box<dyn Write>,
    ) -> DefaultPrinter {
        DefaultPrinter {
            options,
            stdout,
            stderr,
            last_task_banner: None,
            last_task_name: None,
            task_kinds: HashMap::new(),
            free_strategy: false,
            warnings_shown: Default::default(),
            profile: None,
        }
    }

    /// Enables the `profile_tasks` timing lines.
    pub fn with_profile_tasks(mut self, profile: ProfileTasks) -> DefaultPrinter {
        self.profile = Some(profile);
        self
    }

    fn display(&mut self, text: &str) {
        let _ = writeln!(self.stdout, "{text}");
    }

    fn display_error(&mut self, text: &str) {
        if self.options.display_failed_stderr {
            let _ = self.stdout.flush();
            let _ = writeln!(self.stderr, "{text}");
        } else {
            self.display(text);
        }
    }

    /// Prints a warning once per distinct text, as `Display.warning` does.
    fn warning(&mut self, message: &str) {
        let text = warning_text(message, self.options.columns);
        if self.warnings_shown.insert(text.clone()) {
            let _ = self.stdout.flush();
            let _ = write!(self.stderr, "{text}");
            let _ = self.stderr.flush();
        }
    }

    fn banner(&mut self, message: &str) {
        let message = message.trim();
        let width = message.chars().count();
        let stars = self.options.columns.saturating_sub(width).max(3);
        let line = format!("\n{message} {}", "*".repeat(stars));
        self.display(&line);
    }

    fn print_task_banner(&mut self, task: &TaskInfo) {
        let args = match (&task.args_text, self.options.display_args_to_stdout) {
            (Some(args), true) => format!(" {args}"),
            _ => String::new(),
        };
        let prefix = match self.task_kinds.get(&task.id).copied().unwrap_or(task.kind) {
            TaskKind::Task => "TASK",
            TaskKind::Handler => "RUNNING HANDLER",
        };
        let name = self
            .last_task_name
            .clone()
            .unwrap_or_else(|| task.name.trim().to_string());
        let check = if task.check_mode && self.options.check_mode_markers {
            " [CHECK MODE]"
        } else {
            ""
        };
        self.banner(&format!("{prefix} [{name}{args}]{check}"));
        if self.options.verbosity >= 2 {
            self.display(&format!("task path: {}", task.path));
        }
        self.last_task_banner = Some(task.id);
    }

    fn ensure_banner(&mut self, task: &TaskInfo) {
        if self.last_task_banner != Some(task.id) {
            self.print_task_banner(task);
        }
    }

    fn task_start(&mut self, task: &TaskInfo) {
        self.task_kinds.insert(task.id, task.kind);
        if self.free_strategy {
            self.last_task_name = None;
        } else {
            self.last_task_name = Some(task.name.trim().to_string());
            if self.options.display_skipped_hosts && self.options.display_ok_hosts {
                self.print_task_banner(task);
            }
        }
    }

    fn is_verbose(&self, result: &Map) -> bool {
        let verbose_always = result.get("_ansible_verbose_always") == Some(&Value::Bool(true));
        let override_ = result.get("_ansible_verbose_override") == Some(&Value::Bool(true));
        (self.options.verbosity > 0 || verbose_always) && !override_
    }

    fn dump(&self, result: &Map) -> String {
        let indent = result.get("_ansible_verbose_always") == Some(&Value::Bool(true))
            || self.options.verbosity > 2;
        let mut clean = strip_internal_keys(result);
        if self.options.verbosity < 3 {
            clean.shift_remove("invocation");
            clean.shift_remove("diff");
        }
        clean.shift_remove("exception");
        dumps(
            &Value::map(clean),
            DumpOptions {
                indent: indent.then_some(4),
                sort_keys: true,
                ensure_ascii: false,
            },
        )
    }

    fn handle_warnings(&mut self, result: &mut Map) {
        for key in ["warnings", "deprecations"] {
            let Some(Value::List(items)) = result.get(key).cloned() else {
                continue;
            };
            if items.is_empty() {
                continue;
            }
            for item in items.iter() {
                match key {
                    "warnings" => self.warning(&pyrepr::str(item)),
                    _ => self.deprecation(item),
                }
            }
            result.shift_remove(key);
        }
    }

    fn deprecation(&mut self, item: &Value) {
        let message = item.get("msg").map(pyrepr::str).unwrap_or_default();
        let _ = self.stdout.flush();
        let _ = writeln!(self.stderr, "[DEPRECATION WARNING]: {message}");
    }

    fn handle_exception(&mut self, result: &mut Map) {
        let Some(exception) = result.get("exception").map(pyrepr::str) else {
            return;
        };
        let text = if self.options.verbosity < 3 {
            let last = exception
                .trim()
                .lines()
                .last()
                .unwrap_or_default()
                .to_string();
            format!("An exception occurred during task execution. To see the full traceback, use -vvv. The error was: {last}")
        } else {
            result.shift_remove("exception");
            format!("The full traceback is:\n{exception}")
        };
        self.display_error(&text);
    }

    fn host_label(result: &HostResult) -> String {
        match &result.delegated_to {
            Some(delegate) if *delegate != result.host => format!("{} -> {delegate}", result.host),
            _ => result.host.clone(),
        }
    }

    fn on_task_result(&mut self, result: &HostResult) {
        let mut data = result.result.clone();
        match result.status {
            Status::Ok => self.on_ok(result, &mut data),
            Status::Failed => self.on_failed(result, &mut data),
            Status::Skipped => self.on_skipped(result, &mut data),
            Status::Unreachable => {
                self.ensure_banner(&result.task);
                let text = format!(
                    "fatal: [{}]: UNREACHABLE! => {}",
                    Self::host_label(result),
                    self.dump(&data)
                );
                self.display_error(&text);
                if result.ignored {
                    self.display("...ignoring");
                }
            }
        }
    }

    fn on_ok(&mut self, result: &HostResult, data: &mut Map) {
        let task = &result.task;
        if task.is_include {
            self.ensure_banner(task);
            return;
        }
        let label = if result.changed() {
            "changed"
        } else {
            if !self.options.display_ok_hosts {
                return;
            }
            "ok"
        };
        self.ensure_banner(task);
        self.handle_warnings(data);
        if task.has_loop && data.contains_key("results") {
            return;
        }
        clean_results(data, &task.action);
        let mut line = format!("{label}: [{}]", Self::host_label(result));
        if self.is_verbose(data) {
            line.push_str(&format!(" => {}", self.dump(data)));
        }
        self.display(&line);
    }

    fn on_failed(&mut self, result: &HostResult, data: &mut Map) {
        clean_results(data, &result.task.action);
        self.ensure_banner(&result.task);
        self.handle_exception(data);
        self.handle_warnings(data);
        let has_items = result.task.has_loop && data.contains_key("results");
        if !has_items {
            let line = format!(
                "fatal: [{}]: FAILED! => {}",
                Self::host_label(result),
                self.dump(data)
            );
            self.display_error(&line);
        }
        if result.ignored {
            self.display("...ignoring");
        }
    }

    fn on_skipped(&mut self, result: &HostResult, data: &mut Map) {
        if !self.options.display_skipped_hosts {
            return;
        }
        clean_results(data, &result.task.action);
        self.ensure_banner(&result.task);
        let mut line = format!("skipping: [{}]", result.host);
        if self.is_verbose(data) {
            line.push_str(&format!(" => {}", self.dump(data)));
        }
        self.display(&line);
    }

    fn on_item_result(&mut self, result: &HostResult) {
        let mut data = result.result.clone();
        let label = item_label(&data);
        match result.status {
            Status::Ok => {
                if result.task.is_include {
                    return;
                }
                let status = if result.changed() {
                    "changed"
                } else {
                    if !self.options.display_ok_hosts {
                        return;
                    }
                    "ok"
                };
                self.ensure_banner(&result.task);
                clean_results(&mut data, &result.task.action);
                let mut line =
                    format!("{status}: [{}] => (item={label})", Self::host_label(result));
                if self.is_verbose(&data) {
                    line.push_str(&format!(" => {}", self.dump(&data)));
                }
                self.display(&line);
            }
            Status::Failed | Status::Unreachable => {
                self.ensure_banner(&result.task);
                clean_results(&mut data, &result.task.action);
                self.handle_exception(&mut data);
                self.handle_warnings(&mut data);
                let line = format!(
                    "failed: [{}] (item={label}) => {}",
                    Self::host_label(result),
                    self.dump(&data)
                );
                self.display_error(&line);
            }
            Status::Skipped => {
                if !self.options.display_skipped_hosts {
                    return;
                }
                self.ensure_banner(&result.task);
                clean_results(&mut data, &result.task.action);
                let mut line = format!("skipping: [{}] => (item={label}) ", result.host);
                if self.is_verbose(&data) {
                    line.push_str(&format!(" => {}", self.dump(&data)));
                }
                self.display(&line);
            }
        }
    }

    fn on_retry(&mut self, result: &HostResult) {
        let number = |key: &str| result.result.get(key).and_then(Value::as_i64).unwrap_or(0);
        let mut line = format!(
            "FAILED - RETRYING: [{}]: {} ({} retries left).",
            Self::host_label(result),
            result.task.name,
            number("retries") - number("attempts")
        );
        if self.options.verbosity > 2
            || result.result.get("_ansible_verbose_always") == Some(&Value::Bool(true))
        {
            line.push_str(&format!("Result was: {}", self.dump(&result.result)));
        }
        self.display(&line);
    }

    fn on_stats(&mut self, stats: &[(String, HostStats)]) {
        self.banner("PLAY RECAP");
        for (host, counts) in stats {
            let field = |name: &str, count: u32| format!("{name}={:<4}", count);
            let line = format!(
                "{:<26} : {} {} {} {} {} {} {}",
                host,
                field("ok", counts.ok),
                field("changed", counts.changed),
                field("unreachable", counts.unreachable),
                field("failed", counts.failures),
                field("skipped", counts.skipped),
                field("rescued", counts.rescued),
                field("ignored", counts.ignored),
            );
            self.display(&line);
        }
        self.display("");
    }
}

impl Callback for DefaultPrinter {
    fn on_event(&mut self, event: &Event) {
        match event {
            Event::PlaybookStart { path, plays } => {
                if self.options.verbosity > 1 {
                    let name = std::path::Path::new(path)
                        .file_name()
                        .map(|n| n.to_string_lossy().to_string())
                        .unwrap_or_default();
                    self.banner(&format!("PLAYBOOK: {name}"));
                    // ansible-playbook's executor prints this line, not the callback.
                    self.display(&format!("{plays} plays in {path}"));
                }
            }
            Event::PlayStart {
                name,
                check_mode,
                strategy,
            } => {
                self.free_strategy = matches!(
                    strategy.as_str(),
                    "free" | "host_pinned" | "ansible.builtin.free" | "ansible.builtin.host_pinned"
                );
                let check = if *check_mode && self.options.check_mode_markers {
                    " [CHECK MODE]"
                } else {
                    ""
                };
                let name = name.trim();
                let text = if name.is_empty() {
                    format!("PLAY{check}")
                } else {
                    format!("PLAY [{name}]{check}")
                };
                self.banner(&text);
            }
            Event::NoHostsMatched => self.display("skipping: no hosts matched"),
            Event::NoHostsRemaining => self.banner("NO MORE HOSTS LEFT"),
            Event::TaskStart(task) => {
                self.task_start(task);
                if let Some(profile) = &mut self.profile {
                    let line = profile.task_start(task);
                    self.display(&line);
                }
            }
            Event::TaskResult(result) => self.on_task_result(result),
            Event::ItemResult(result) => self.on_item_result(result),
            Event::Retry(result) => self.on_retry(result),
            Event::Included {
                file,
                hosts,
                item_label,
            } => {
                let mut line = format!("included: {file} for {}", hosts.join(", "));
                if let Some(label) = item_label {
                    line.push_str(&format!(" => (item={})", pyrepr::str(label)));
                }
                self.display(&line);
            }
            Event::Stats(stats) => {
                self.on_stats(stats);
                if let Some(profile) = &mut self.profile {
                    let text = profile.summary();
                    self.display(&text);
                }
            }
            Event::Warning(message) => self.warning(message),
            Event::Error(message) => {
                let _ = self.stdout.flush();
                let _ = writeln!(self.stderr, "ERROR! {message}");
            }
            Event::Deprecation(message) => {
                let _ = self.stdout.flush();
                let _ = writeln!(self.stderr, "[DEPRECATION WARNING]: {message}");
            }
        }
        let _ = self.stdout.flush();
    }
}

/// The label of a loop item: `_ansible_item_label`, else `item`, as Python's `str()`.
fn item_label(result: &Map) -> String {
    if result.get("_ansible_no_log").is_some_and(Value::is_truthy) {
        return "(censored due to no_log)".into();
    }
    result
        .get("_ansible_item_label")
        .or_else(|| result.get("item"))
        .map(pyrepr::str)
        .unwrap_or_else(|| "None".into())
}

/// Removes what `debug` results should not show, as the callback's `_clean_results`.
fn clean_results(result: &mut Map, action: &str) {
    if !matches!(
        action,
        "debug" | "ansible.builtin.debug" | "ansible.legacy.debug"
    ) {
        return;
    }
    if result.contains_key("msg") {
        result.retain(|key, _| {
            let key = key.as_str().unwrap_or_default();
            matches!(key, "msg" | "exception" | "warnings" | "deprecations") || key.starts_with('_')
        });
    } else {
        for key in ["changed", "failed", "skipped", "invocation", "skip_reason"] {
            result.shift_remove(key);
        }
    }
}

/// Removes `_ansible_*` keys at every depth.
fn strip_internal_keys(result: &Map) -> Map {
    result
        .iter()
        .filter(|(key, _)| !key.as_str().is_some_and(|k| k.starts_with("_ansible_")))
        .map(|(key, value)| (key.clone(), strip_value(value)))
        .collect()
}

fn strip_value(value: &Value) -> Value {
    match value {
        Value::Map(map) => Value::map(strip_internal_keys(map)),
        Value::List(items) => Value::list(items.iter().map(strip_value).collect()),
        other => other.clone(),
    }
}
