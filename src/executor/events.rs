//! Events the executor emits, named after ansible-core's callback methods. Printers in
//! `output/` turn them into text; the engine itself never prints.

use std::sync::Arc;

use crate::{Map, Value};

/// What the printers need to know about a task.
#[derive(Debug)]
pub struct TaskInfo {
    /// Unique per task occurrence in the run, as Ansible's task `_uuid`.
    pub id: u64,
    /// The display name: `role : name`, the name, or the action.
    pub name: String,
    /// The name `FAILED - RETRYING` lines show: the task's own name without its role,
    /// as ansible-core's `TaskResult.task_name`, else the display name.
    pub retry_name: String,
    /// The action as written (`debug`, `ansible.builtin.debug`...).
    pub action: String,
    pub kind: TaskKind,
    /// `k=v, ...` of the arguments, for `display_args_to_stdout`.
    pub args_text: Option<String>,
    pub check_mode: bool,
    /// Whether results show their `diff`: `--diff`, or the task's `diff` keyword (true
    /// for the first host), as ansible-core's strategy decides before `v2_on_file_diff`.
    pub diff: bool,
    /// Set for `include_tasks`/`include_role`, whose results print only `included:`.
    pub is_include: bool,
    pub has_loop: bool,
    /// The variable named by `register`, if any.
    pub register: Option<String>,
    /// `path:line` of the task, which `-vv` prints as `task path:`.
    pub path: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskKind {
    Task,
    Handler,
}

/// How a task ended on a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    Skipped,
    Failed,
    Unreachable,
}

/// One result of a task (or of one loop item) on one host.
#[derive(Debug)]
pub struct HostResult {
    pub host: String,
    pub task: Arc<TaskInfo>,
    pub status: Status,
    /// The result the callbacks see, as ansible-core's `TaskResult.clean_copy()`: without
    /// `failed`, `skipped` and most `_ansible_*` keys, and censored under `no_log`.
    pub result: Map,
    /// The result before that cleaning, as `TaskResult._result`. `register` stores it
    /// without its `_ansible_*` keys.
    pub full_result: Map,
    /// Set when `ignore_errors` (or `ignore_unreachable`) turns a failure into `...ignoring`.
    pub ignored: bool,
    /// `host -> delegate` label part, when the task was delegated elsewhere.
    pub delegated_to: Option<String>,
}

impl HostResult {
    pub fn changed(&self) -> bool {
        self.result.get("changed").is_some_and(Value::is_truthy)
    }
}

/// Per-host counters for the recap, as ansible-core's `AggregateStats`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostStats {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failures: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

#[derive(Debug)]
pub enum Event {
    PlaybookStart {
        path: String,
        /// The number of plays, imported ones included.
        plays: usize,
    },
    PlayStart {
        name: String,
        check_mode: bool,
        /// The strategy name; `free` and `host_pinned` change how task banners print.
        strategy: String,
    },
    NoHostsMatched,
    NoHostsRemaining,
    TaskStart(Arc<TaskInfo>),
    /// A task-level result. For a loop, items were reported first with `ItemResult`.
    TaskResult(HostResult),
    ItemResult(HostResult),
    /// `until` is retrying: `retries` and `attempts` as in the result.
    Retry(HostResult),
    /// A status check of an async job that has not finished: `started` and `finished`
    /// as the check returned them, in Python's `%s` text.
    AsyncPoll {
        host: String,
        jid: String,
        started: String,
        finished: String,
    },
    /// A polled async job finished and did not fail.
    AsyncOk {
        host: String,
        jid: String,
    },
    /// A polled async job failed or did not finish in time.
    AsyncFailed {
        host: String,
        jid: String,
    },
    Included {
        file: String,
        hosts: Vec<String>,
        item_label: Option<Value>,
    },
    /// A notification kept until the next handler flush (shown at `-vv`).
    NotificationSaved(String),
    /// A handler notified for a host when the handlers are flushed, or while they run
    /// (shown at `-vv`): the handler's display name.
    HandlerNotified {
        handler: String,
        host: String,
    },
    /// The recap, hosts sorted by name.
    Stats(Vec<(String, HostStats)>),
    Warning(String),
    /// A message printed as it is, as ansible-core's `display.display` prints `pause`'s
    /// notice.
    Display(String),
    /// A message shown from verbosity `level` on (`-vv` is 2), as `display.vv` shows it.
    Verbose {
        level: u8,
        text: String,
    },
    /// An error shown as `ERROR!` that does not stop the run, as ansible-core's
    /// `display.error` for an include that failed.
    Error(String),
    /// A deprecation: the message and the version that removes the feature.
    Deprecation {
        message: String,
        version: Option<String>,
    },
}

/// Receives every event of a run.
pub trait Callback {
    fn on_event(&mut self, event: &Event);
}
