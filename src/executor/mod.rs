//! Running plays: tag selection, the play iterator, the linear strategy and the task
//! runner. The executor emits [`events::Event`]s and never prints.

mod actions;
mod assemble_action;
mod async_action;
mod connection_vars;
pub mod context;
mod copy_action;
pub mod events;
mod fetch_action;
mod forks;
mod handlers;
mod include_path;
mod include_vars_action;
pub mod iterator;
mod meta;
mod pause_action;
mod play;
mod remote;
mod script_action;
mod synchronize_action;
pub mod tags;
mod task;
mod template_action;

pub use remote::ConnectionDefaults;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use events::{Callback, Event, HostStats, TaskInfo};
use tags::TagSelection;

use crate::inventory::Limit;
use crate::playbook::{LoadError, Loader, Playbook};
use crate::template::Templar;
use crate::vars::VariableManager;
use crate::Value;

/// Run-wide options from the command line and settings.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub check: bool,
    pub diff: bool,
    pub verbosity: u8,
    pub forks: usize,
    pub tags: TagSelection,
    pub limit: Option<Limit>,
    pub start_at_task: Option<String>,
    pub force_handlers: bool,
    /// `gathering` from ansible.cfg: `implicit`, `explicit` or `smart`.
    pub gathering: String,
    /// `error_on_missing_handler`: notifying an unknown handler stops the run.
    pub error_on_missing_handler: bool,
    pub connection: ConnectionDefaults,
    /// `RPLAY_AGENT_BINARY`: the rplay binary to run on targets.
    pub agent_binary: Option<PathBuf>,
    /// `remote_tmp`, with `~` left for the target to expand.
    pub remote_tmp: String,
    /// The `pipelining` setting.
    pub pipelining: bool,
    /// `async_dir` of the shell plugin, with `~` left for the target to expand.
    pub async_dir: String,
    /// `poll_interval`: the `poll` of an async task that sets none, in seconds.
    pub poll_interval: u64,
    /// The ansible-core release whose log rplay reproduces where releases differ.
    pub core_release: CoreRelease,
    /// The inventory sources of the run, which `meta: refresh_inventory` reads again.
    pub inventory_source: InventorySource,
    /// `facts_modules`: the modules `gather_facts` runs.
    pub facts_modules: Vec<String>,
}

/// The inventory sources of the run and how they are read.
#[derive(Clone, Debug)]
pub struct InventorySource {
    pub sources: Vec<String>,
    pub options: crate::inventory::LoadOptions,
}

/// A change `add_host` or `group_by` made to the inventory, kept to be made again after
/// `meta: refresh_inventory` reads the sources anew, as ansible-core keeps them.
#[derive(Clone, Debug)]
pub(crate) enum DynamicChange {
    Host {
        name: String,
        groups: Vec<String>,
        vars: crate::Map,
    },
    Group {
        host: String,
        group: String,
        parents: Vec<String>,
    },
}

/// An ansible-core release as `major.minor`, from the `RPLAY_ANSIBLE_VERSION` setting
/// (2.18 by default). Kubespray's older commits need 2.16, whose log differs from 2.18's
/// in how includes are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CoreRelease {
    pub major: u32,
    pub minor: u32,
}

impl CoreRelease {
    /// Parses `2.16.14` or `2.16`; a part that is not a number reads as 0.
    pub fn parse(version: &str) -> CoreRelease {
        let mut parts = version.split('.').map(|part| part.parse().unwrap_or(0));
        CoreRelease {
            major: parts.next().unwrap_or(0),
            minor: parts.next().unwrap_or(0),
        }
    }

    /// Returns whether `include_role` prints `included: ROLE for HOSTS`, counts as ok, and
    /// reports a role that cannot be loaded as a failed result of each host. Before
    /// ansible-core 2.17, which moved this reporting from the strategy base class into
    /// the linear strategy, it did none of these: a role that could not be loaded
    /// printed only the error and failed its hosts silently.
    pub fn reports_role_includes(self) -> bool {
        self >= CoreRelease {
            major: 2,
            minor: 17,
        }
    }

    /// Returns whether a fatal error (`any_errors_fatal` or a failed `run_once` task)
    /// fails the other hosts of the batch, as ansible-core 2.17 and later do. 2.16
    /// instead ends the play and the playbook with `NO MORE HOSTS LEFT`, unless a host
    /// goes on in a `rescue` or `always` section.
    pub fn fails_batch_on_fatal_error(self) -> bool {
        self >= CoreRelease {
            major: 2,
            minor: 17,
        }
    }

    /// Returns whether the `first_found` lookup returns its path with `..` resolved, as
    /// ansible-core 2.18 does. 2.16 returns the path as it joined it.
    ///
    /// NOTE: no 2.17 release was run; rplay counts it with 2.16 here.
    pub fn normalizes_found_paths(self) -> bool {
        self >= CoreRelease {
            major: 2,
            minor: 18,
        }
    }

    /// Returns whether a role's handler also listens to `ROLE : TOPIC` for each of its
    /// `listen` topics. ansible-core 2.18 accepts such a notification and 2.16 rejects
    /// it as a missing handler.
    ///
    /// NOTE: no 2.17 release was run. The change was merged in March 2024, before
    /// 2.17.0 was released, so rplay counts 2.17 in.
    pub fn listens_as_role_topic(self) -> bool {
        self >= CoreRelease {
            major: 2,
            minor: 17,
        }
    }
}

/// ansible-playbook's exit codes for a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunResult {
    Ok,
    FailedHosts,
    UnreachableHosts,
}

impl RunResult {
    pub fn exit_code(self) -> i32 {
        match self {
            RunResult::Ok => 0,
            RunResult::FailedHosts => 2,
            RunResult::UnreachableHosts => 4,
        }
    }
}

/// Deepest nesting of `include_tasks` and `include_role` in a run: the run stops once
/// includes at this depth are loaded. ansible-core 2.18 has no such setting, but
/// Python's recursion limit stops it after loading the 247th level of a file that
/// includes only itself. Larger files stop it earlier. rplay stops where the smallest
/// case does.
pub const MAX_INCLUDE_DEPTH: usize = 247;

/// The host a task is delegated to for one of its hosts.
#[derive(Clone, Debug)]
pub(crate) struct Delegation {
    pub name: String,
    /// The label results show for the delegation: `delegate`, or `delegate(address)`
    /// when the delegate's `ansible_host` differs from its name. `None` when a host delegates to
    /// itself.
    pub label: Option<String>,
    /// The delegate's inventory variables, for its connection settings.
    pub inventory_vars: Arc<crate::Map>,
}

/// An error that ends the whole run, as an exception escaping ansible-core's strategy
/// does: no recap is printed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A file loaded at run time is malformed or imports itself. ansible-core stops on
    /// parser errors, while a file or role that is missing only fails the hosts.
    #[error("{0}")]
    Load(#[from] LoadError),
    /// `include_tasks` or `include_role` nested [`MAX_INCLUDE_DEPTH`] levels deep.
    #[error("Exceeded maximum object depth. This may have been caused by excessive role recursion. maximum recursion depth exceeded")]
    IncludeDepth { span: crate::source::Span },
    /// A host's inventory variables cannot be read: a `group_vars/` or `host_vars/`
    /// file that does not parse or cannot be decrypted.
    #[error("{0}")]
    HostVars(crate::inventory::InventoryError),
    /// A `jsonfile` fact cache file that is not valid JSON; rplay removed it.
    #[error("The cache file {} was corrupt, or did not otherwise contain valid data. It has been removed, so you can re-run your command now.", .0.display())]
    CorruptFactCache(PathBuf),
    /// A handler is `meta: flush_handlers`, which ansible-core rejects when it runs.
    #[error("flush_handlers cannot be used as a handler")]
    FlushHandlersAsHandler,
    /// A changed task notified a name that no handler has as its name or `listen` topic.
    #[error("The requested handler '{name}' was not found in either the main handlers list nor in the listening handlers list")]
    MissingHandler {
        name: String,
        span: crate::source::Span,
    },
}

impl RunError {
    /// Renders the error as `ERROR! MESSAGE` with the located source line and a hint.
    pub fn render(&self) -> String {
        match self {
            RunError::Load(err) => err.render(),
            RunError::CorruptFactCache(_)
            | RunError::HostVars(_)
            | RunError::FlushHandlersAsHandler => format!("ERROR! {self}\n"),
            RunError::MissingHandler { span, .. } => LoadError::new(self.to_string(), Some(span))
                .with_hint("check the handler's name or `listen` topic, or set `error_on_missing_handler = False`")
                .render(),
            RunError::IncludeDepth { span } => LoadError::new(self.to_string(), Some(span))
                .with_hint(format!(
                    "includes nest {MAX_INCLUDE_DEPTH} levels deep here, the most rplay runs; check the condition that should end the recursion"
                ))
                .render(),
        }
    }
}

/// Runs playbooks, keeping what lasts across plays: variables, failed hosts, stats.
pub struct Executor<'a> {
    pub vars: VariableManager,
    pub templar: Templar,
    pub options: RunOptions,
    /// Behind a lock because tasks of several hosts run at once; see [`forks`].
    callback: Mutex<&'a mut (dyn Callback + Send)>,
    loader: Loader,
    stats: BTreeMap<String, HostStats>,
    failed_hosts: HashSet<String>,
    unreachable_hosts: HashSet<String>,
    next_task_id: u64,
    /// The directory of the playbook being run.
    pub playbook_dir: PathBuf,
    /// The task whose results are being emitted, for retry events.
    current_task: Option<Arc<TaskInfo>>,
    /// The delegation of the current task, for each host whose run is delegated.
    delegations: HashMap<String, Delegation>,
    /// `--start-at-task` found its task; later plays run from their start.
    start_at_done: bool,
    /// Set when the run must stop at once; the strategy loop checks it after each task.
    abort: Option<RunError>,
    /// Open connections to targets, one per host for the whole run.
    connections: crate::connection::Connections,
    /// The inventory changes of `add_host` and `group_by` so far, in order.
    dynamic_changes: Vec<DynamicChange>,
}

impl<'a> Executor<'a> {
    pub fn new(
        vars: VariableManager,
        templar: Templar,
        options: RunOptions,
        loader: Loader,
        callback: &'a mut (dyn Callback + Send),
    ) -> Executor<'a> {
        let connections = crate::connection::Connections::new(options.agent_binary.clone());
        Executor {
            connections,
            vars,
            templar,
            options,
            callback: Mutex::new(callback),
            loader,
            stats: BTreeMap::new(),
            failed_hosts: HashSet::new(),
            unreachable_hosts: HashSet::new(),
            next_task_id: 0,
            playbook_dir: PathBuf::new(),
            current_task: None,
            delegations: HashMap::new(),
            start_at_done: false,
            abort: None,
            dynamic_changes: Vec::new(),
        }
    }

    /// Emits `event`, or buffers it while the task runs for several hosts at once.
    pub(crate) fn emit(&self, event: Event) {
        if let Some(event) = forks::buffer(event) {
            self.callback
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .on_event(&event);
        }
    }

    fn new_task_id(&mut self) -> u64 {
        self.next_task_id += 1;
        self.next_task_id
    }

    fn stats_for(&mut self, host: &str) -> &mut HostStats {
        self.stats.entry(host.to_string()).or_default()
    }

    /// Sets the playbook directory and its variables before a playbook runs or is listed.
    pub fn prepare_playbook(&mut self, playbook: &Playbook) {
        let dir = playbook
            .path
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default();
        self.playbook_dir = dir.clone();
        self.vars.set_playbook_dir(&dir);
        self.vars
            .set_global_magic("playbook_dir", Value::from(dir.display().to_string()));
    }

    /// Runs the plays of each playbook in turn, emitting the recap after each
    /// playbook, as ansible-core does, with the counts of the whole run so far. Once a
    /// host has failed or was unreachable, no further playbook starts: ansible-core
    /// marks such hosts failed in every later play, so each play's result reports a
    /// failure.
    /// An error that ends the run early is returned without a recap.
    pub fn run(&mut self, playbooks: &[Playbook]) -> Result<RunResult, RunError> {
        for playbook in playbooks {
            self.prepare_playbook(playbook);
            self.emit(Event::PlaybookStart {
                path: playbook.given_path.display().to_string(),
                plays: playbook.plays.len(),
            });
            for play in &playbook.plays {
                let end = self.run_play(play);
                if let Some(error) = self.abort.take() {
                    return Err(error);
                }
                if end == play::PlayEnd::StopPlaybook {
                    break;
                }
            }
            self.emit_stats();
            if !self.failed_hosts.is_empty() || !self.unreachable_hosts.is_empty() {
                break;
            }
        }
        Ok(if !self.unreachable_hosts.is_empty() {
            RunResult::UnreachableHosts
        } else if !self.failed_hosts.is_empty() {
            RunResult::FailedHosts
        } else {
            RunResult::Ok
        })
    }
}

impl Executor<'_> {
    /// Emits the recap: each host's counts over the whole run so far.
    fn emit_stats(&mut self) {
        let stats: Vec<(String, HostStats)> = self
            .stats
            .iter()
            .map(|(host, stats)| (host.clone(), stats.clone()))
            .collect();
        self.emit(Event::Stats(stats));
    }
}

/// Whether `host` names this machine: `localhost` or a loopback address.
pub(crate) fn is_local_host(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}
