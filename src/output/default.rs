//! The default stdout callback of ansible-core 2.18, byte for byte, with its colours
//! when they are on.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use rplay_modules::json::{dumps, DumpOptions};
use rplay_modules::pyrepr;

use super::display::{deprecation_text, warning_text, DEFAULT_COLUMNS};
use super::profile_tasks::ProfileTasks;
use crate::executor::events::{Callback, Event, HostResult, HostStats, Status, TaskInfo, TaskKind};
use crate::yaml::loaded_text;
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
    /// Colour the output, as ansible-core does on a terminal or with
    /// `ANSIBLE_FORCE_COLOR`.
    pub color: bool,
    /// `deprecation_warnings`: print deprecations.
    pub deprecation_warnings: bool,
    /// `--diff`: print the `diff` of changed results.
    pub diff: bool,
}

/// ansible-core's default colours (`COLOR_*` settings), as ANSI SGR codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Ok,
    Changed,
    Error,
    Skip,
    Unreachable,
    Warn,
    Debug,
    Verbose,
    Included,
    Deprecate,
    DiffAdd,
    DiffRemove,
    DiffLines,
}

impl Color {
    fn code(self) -> &'static str {
        match self {
            Color::Ok => "0;32",
            Color::Changed => "0;33",
            Color::Error => "0;31",
            Color::Skip | Color::Included => "0;36",
            Color::Unreachable => "1;31",
            Color::Warn => "1;35",
            Color::Debug => "1;30",
            Color::Verbose => "0;34",
            Color::Deprecate => "0;35",
            Color::DiffAdd => "0;32",
            Color::DiffRemove => "0;31",
            Color::DiffLines => "0;36",
        }
    }
}

/// Wraps each line of `text` in the colour's escape codes, as ansible-core's `stringc`.
pub fn stringc(text: &str, color: Color) -> String {
    text.split('\n')
        .map(|line| format!("\x1b[{}m{line}\x1b[0m", color.code()))
        .collect::<Vec<_>>()
        .join("\n")
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
            color: false,
            deprecation_warnings: true,
            diff: false,
        }
    }
}

/// Prints events as ansible-core's `default` callback does, followed by the
/// `profile_tasks` lines when that callback is enabled.
pub struct DefaultPrinter {
    options: DefaultOptions,
    stdout: Box<dyn Write + Send>,
    stderr: Box<dyn Write + Send>,
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
        stdout: Box<dyn Write + Send>,
        stderr: Box<dyn Write + Send>,
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

    /// Prints a line in `color` when colours are on.
    fn display_in(&mut self, text: &str, color: Color) {
        if self.options.color {
            let colored = stringc(text, color);
            self.display(&colored);
        } else {
            self.display(text);
        }
    }

    fn display_error(&mut self, text: &str, color: Color) {
        let text = if self.options.color {
            stringc(text, color)
        } else {
            text.to_string()
        };
        if self.options.display_failed_stderr {
            let _ = self.stdout.flush();
            let _ = writeln!(self.stderr, "{text}");
        } else {
            self.display(&text);
        }
    }

    /// Prints a warning once per distinct text, as `Display.warning` does.
    fn warning(&mut self, message: &str) {
        let text = warning_text(message, self.options.columns);
        if self.warnings_shown.insert(text.clone()) {
            let text = if self.options.color {
                format!("{}\n", stringc(text.trim_end_matches('\n'), Color::Warn))
            } else {
                text
            };
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
            self.display_in(&format!("task path: {}", task.path), Color::Debug);
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
            &show_vault_values(Value::map(clean)),
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
        let version = item.get("version").map(pyrepr::str);
        self.show_deprecation(&message, version.as_deref());
    }

    /// Prints a deprecation once per distinct text, unless `deprecation_warnings` is off.
    fn show_deprecation(&mut self, message: &str, version: Option<&str>) {
        if !self.options.deprecation_warnings {
            return;
        }
        let text = deprecation_text(message, version, self.options.columns);
        if !self.warnings_shown.insert(text.clone()) {
            return;
        }
        let text = if self.options.color {
            stringc(&text, Color::Deprecate)
        } else {
            text
        };
        let _ = self.stdout.flush();
        let _ = writeln!(self.stderr, "{text}");
        let _ = self.stderr.flush();
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
        self.display_error(&text, Color::Error);
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
                self.display_error(&text, Color::Unreachable);
                if result.ignored {
                    self.display_in("...ignoring", Color::Skip);
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
        if task.has_loop && data.contains_key("results") {
            self.handle_warnings(data);
            return;
        }
        // ansible-core's strategy sends `v2_on_file_diff` before `v2_runner_on_ok`,
        // which prints the result's warnings.
        self.print_file_diff(task, data);
        self.handle_warnings(data);
        clean_results(data, &task.action);
        let mut line = format!("{label}: [{}]", Self::host_label(result));
        if self.is_verbose(data) {
            line.push_str(&format!(" => {}", self.dump(data)));
        }
        self.display_in(&line, status_color(label));
    }

    /// Prints a changed result's `diff` in `--diff` mode, as `v2_on_file_diff` does
    /// before the result's line.
    fn print_file_diff(&mut self, task: &TaskInfo, data: &Map) {
        if !(self.options.diff || task.diff) || data.get("changed") != Some(&Value::Bool(true)) {
            return;
        }
        let Some(diff) = data.get("diff").filter(|diff| diff.is_truthy()) else {
            return;
        };
        let text = super::file_diff::render(diff, self.options.color);
        if text.is_empty() {
            return;
        }
        self.ensure_banner(task);
        self.display(text.strip_suffix('\n').unwrap_or(&text));
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
            self.display_error(&line, Color::Error);
        }
        if result.ignored {
            self.display_in("...ignoring", Color::Skip);
        }
    }

    fn on_skipped(&mut self, result: &HostResult, data: &mut Map) {
        if !self.options.display_skipped_hosts {
            return;
        }
        clean_results(data, &result.task.action);
        self.ensure_banner(&result.task);
        // The items were reported one by one, so the loop's `results` list is dropped.
        if result.task.has_loop {
            data.shift_remove("results");
        }
        let mut line = format!("skipping: [{}]", result.host);
        if self.is_verbose(data) {
            line.push_str(&format!(" => {}", self.dump(data)));
        }
        self.display_in(&line, Color::Skip);
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
                self.print_file_diff(&result.task, &data);
                clean_results(&mut data, &result.task.action);
                let mut line =
                    format!("{status}: [{}] => (item={label})", Self::host_label(result));
                if self.is_verbose(&data) {
                    line.push_str(&format!(" => {}", self.dump(&data)));
                }
                self.display_in(&line, status_color(status));
            }
            Status::Failed | Status::Unreachable => {
                self.ensure_banner(&result.task);
                clean_results(&mut data, &result.task.action);
                // As ansible-core, the label of a failed or skipped item is read after
                // the cleaning, which can remove `item` from a debug result.
                let label = item_label(&data);
                self.handle_exception(&mut data);
                self.handle_warnings(&mut data);
                let line = format!(
                    "failed: [{}] (item={label}) => {}",
                    Self::host_label(result),
                    self.dump(&data)
                );
                self.display_error(&line, Color::Error);
            }
            Status::Skipped => {
                if !self.options.display_skipped_hosts {
                    return;
                }
                self.ensure_banner(&result.task);
                clean_results(&mut data, &result.task.action);
                let label = item_label(&data);
                let mut line = format!("skipping: [{}] => (item={label}) ", result.host);
                if self.is_verbose(&data) {
                    line.push_str(&format!(" => {}", self.dump(&data)));
                }
                self.display_in(&line, Color::Skip);
            }
        }
    }

    fn on_retry(&mut self, result: &HostResult) {
        let number = |key: &str| result.result.get(key).and_then(Value::as_i64).unwrap_or(0);
        let mut line = format!(
            "FAILED - RETRYING: [{}]: {} ({} retries left).",
            Self::host_label(result),
            result.task.retry_name,
            number("retries") - number("attempts")
        );
        if self.options.verbosity > 2
            || result.result.get("_ansible_verbose_always") == Some(&Value::Bool(true))
        {
            line.push_str(&format!("Result was: {}", self.dump(&result.result)));
        }
        self.display_in(&line, Color::Debug);
    }

    fn on_stats(&mut self, stats: &[(String, HostStats)]) {
        self.banner("PLAY RECAP");
        let color = self.options.color;
        for (host, counts) in stats {
            // As ansible-core's `colorize`: a non-zero counter is coloured.
            let field = |name: &str, count: u32, tint: Color| {
                let text = format!("{name}={:<4}", count);
                if color && count != 0 {
                    stringc(&text, tint)
                } else {
                    text
                }
            };
            let host_text = if color {
                let tint = if counts.failures != 0 || counts.unreachable != 0 {
                    Color::Error
                } else if counts.changed != 0 {
                    Color::Changed
                } else {
                    Color::Ok
                };
                format!("{:<37}", stringc(host, tint))
            } else {
                format!("{host:<26}")
            };
            let line = format!(
                "{host_text} : {} {} {} {} {} {} {}",
                field("ok", counts.ok, Color::Ok),
                field("changed", counts.changed, Color::Changed),
                field("unreachable", counts.unreachable, Color::Unreachable),
                field("failed", counts.failures, Color::Error),
                field("skipped", counts.skipped, Color::Skip),
                field("rescued", counts.rescued, Color::Ok),
                field("ignored", counts.ignored, Color::Warn),
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
            Event::NoHostsMatched => self.display_in("skipping: no hosts matched", Color::Skip),
            Event::NoHostsRemaining => self.banner("NO MORE HOSTS LEFT"),
            Event::TaskStart(task) => {
                self.task_start(task);
                if let Some(profile) = &mut self.profile {
                    let line = profile.task_start(task);
                    self.display_in(&line, Color::Included);
                }
            }
            Event::TaskResult(result) => self.on_task_result(result),
            Event::ItemResult(result) => self.on_item_result(result),
            Event::Retry(result) => self.on_retry(result),
            Event::AsyncPoll {
                host,
                jid,
                started,
                finished,
            } => self.display_in(
                &format!("ASYNC POLL on {host}: jid={jid} started={started} finished={finished}"),
                Color::Debug,
            ),
            Event::AsyncOk { host, jid } => {
                self.display_in(&format!("ASYNC OK on {host}: jid={jid}"), Color::Debug)
            }
            Event::AsyncFailed { host, jid } => {
                self.display_in(&format!("ASYNC FAILED on {host}: jid={jid}"), Color::Debug)
            }
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
            Event::NotificationSaved(name) => {
                if self.options.verbosity > 1 {
                    self.display_in(
                        &format!("Notification for handler {name} has been saved."),
                        Color::Verbose,
                    );
                }
            }
            Event::Verbose { level, text } => {
                if self.options.verbosity >= *level {
                    self.display_in(text, Color::Verbose);
                }
            }
            Event::HandlerNotified { handler, host } => {
                if self.options.verbosity > 1 {
                    self.display_in(
                        &format!("NOTIFIED HANDLER {handler} for {host}"),
                        Color::Verbose,
                    );
                }
            }
            Event::Stats(stats) => {
                self.on_stats(stats);
                if let Some(profile) = &mut self.profile {
                    let text = profile.summary();
                    self.display(&text);
                }
            }
            Event::Warning(message) => self.warning(message),
            Event::Display(message) => {
                let _ = writeln!(self.stdout, "{message}");
            }
            Event::Error(message) => {
                let _ = self.stdout.flush();
                // ansible-core's display adds a newline only to a message without one.
                let newline = if message.ends_with('\n') { "" } else { "\n" };
                let _ = write!(self.stderr, "ERROR! {message}{newline}");
            }
            Event::Deprecation { message, version } => {
                self.show_deprecation(message, version.as_deref());
            }
        }
        let _ = self.stdout.flush();
    }
}

/// The colour of an `ok`/`changed` result line.
fn status_color(status: &str) -> Color {
    if status == "changed" {
        Color::Changed
    } else {
        Color::Ok
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
/// Shows each `!vault` value as ansible-core's JSON encoder does:
/// `{"__ansible_vault": "<vault text>"}`.
fn show_vault_values(value: Value) -> Value {
    if !loaded_text::any_vault() {
        return value;
    }
    match value {
        Value::Unsafe(text) if loaded_text::is_vault(&text) => {
            let mut wrapper = Map::new();
            wrapper.insert(Value::from("__ansible_vault"), Value::Unsafe(text));
            Value::map(wrapper)
        }
        Value::List(items) => Value::list(
            Arc::unwrap_or_clone(items)
                .into_iter()
                .map(show_vault_values)
                .collect(),
        ),
        Value::Map(map) => Value::map(
            Arc::unwrap_or_clone(map)
                .into_iter()
                .map(|(key, item)| (key, show_vault_values(item)))
                .collect(),
        ),
        other => other,
    }
}

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
