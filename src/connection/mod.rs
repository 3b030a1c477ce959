//! Connections to targets. rplay keeps one SSH connection and one agent per target for
//! the whole run; modules run in the agent, one round trip per task.

pub mod agent;
pub mod escalation;
pub mod local;
pub mod openssh;
pub mod options;
pub mod ssh;
pub mod stream;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use rplay_modules::dispatch::ModuleOptions;

use crate::Map;
use agent::{AgentBinary, AgentChannel};
pub use escalation::{Become, PasswordPrompt};
use local::LocalSession;
use openssh::OpenSshSession;
pub use ssh::ExecOutput;
use ssh::SshSession;
use stream::CommandStream;

/// The terminal type of `raw`'s pseudo-terminal. OpenSSH sends the controller's `TERM`;
/// rplay sends a fixed type so that runs do not depend on the terminal they start from.
const RAW_TERMINAL: &str = "xterm";

/// The address, credentials and options of one target's connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnectionSpec {
    /// The inventory name, for messages.
    pub host: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    /// Private keys to offer, in order.
    pub private_keys: Vec<PathBuf>,
    /// The ssh-agent socket whose keys are offered after the private keys.
    pub agent_socket: Option<PathBuf>,
    pub timeout: Duration,
    pub connection_attempts: u32,
    pub host_key_checking: bool,
    /// `UserKnownHostsFile`; `None` for `~/.ssh/known_hosts`.
    pub known_hosts: Option<PathBuf>,
    /// Set when the connection needs the OpenSSH client.
    pub openssh: Option<OpenSshWords>,
    /// The target is the controller itself (`ansible_connection=local`): commands run
    /// as child processes, without SSH.
    pub local: bool,
}

/// The option words of an OpenSSH command line that come from the settings, split where
/// ansible-core puts its own options (port, keys, user, timeout) between them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpenSshWords {
    /// `ssh_args` and the host key setting.
    pub leading: Vec<String>,
    /// The common and extra arguments.
    pub trailing: Vec<String>,
}

/// An open connection to a target, by either transport.
pub enum Session {
    Russh(SshSession),
    OpenSsh(OpenSshSession),
    Local(LocalSession),
}

impl Session {
    /// Runs `command` and collects its output; see [`SshSession::exec`].
    pub async fn exec(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
        terminal: Option<&str>,
    ) -> Result<ExecOutput, ConnectionError> {
        match self {
            Session::Russh(session) => session.exec(command, stdin, terminal).await,
            Session::OpenSsh(session) => session.exec(command, stdin, terminal.is_some()).await,
            Session::Local(session) => session.exec(command, stdin).await,
        }
    }

    /// Tells whether the session has ended since it was opened. An OpenSSH session makes
    /// a new client process for each command, so it never counts as ended.
    pub fn is_closed(&self) -> bool {
        match self {
            Session::Russh(session) => session.is_closed(),
            Session::OpenSsh(_) | Session::Local(_) => false,
        }
    }

    /// Starts `command` and returns it as a stream.
    pub async fn open_command(&self, command: &str) -> Result<CommandStream, ConnectionError> {
        match self {
            Session::Russh(session) => session.open_command(command).await,
            Session::OpenSsh(session) => session.open_command(command),
            Session::Local(session) => session.open_command(command),
        }
    }
}

/// One module run: its name, arguments and options.
#[derive(Clone, Copy)]
pub struct ModuleCall<'a> {
    pub module: &'a str,
    pub args: &'a Map,
    pub options: &'a ModuleOptions,
}

/// A failure to reach a target, to talk to its agent, or to become another user.
/// ansible-core reports the first two as the host being unreachable and the last as a
/// failed task.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectionError {
    /// The text follows OpenSSH's messages, which ansible-core prefixes with
    /// "Failed to connect to the host via ssh: ".
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Agent(String),
    /// Privilege escalation failed, in ansible-core's words ("Missing sudo password").
    #[error("{0}")]
    Become(String),
    /// A connection that was found broken before the task's request went out: the agent
    /// could not start, or the request could not be sent.
    #[error("the request could not be sent: {0}")]
    NotSent(String),
    /// A connection that broke while a task's request was sent or running. The text is
    /// the host's address.
    #[error("connection to {0} lost during the task")]
    Lost(String),
    /// A connection that broke during a task, followed by a failed new connection. Without
    /// pipelining, ansible-core connects again to remove its temporary directory and
    /// reports that failure as a failed task. The text is that attempt's `msg`.
    #[error("{0}")]
    LostAndCleanupFailed(String),
    /// The become command ended with `rc` before the agent started (sudo not installed,
    /// say). ansible-core reports a module that printed no result as a failed task.
    #[error("MODULE FAILURE: {stderr}")]
    ModuleFailure { rc: u32, stderr: String },
}

impl ConnectionError {
    /// Returns the `msg` of the unreachable result, in ansible-core's words.
    pub fn message(&self) -> String {
        match self {
            ConnectionError::Unreachable(detail) => {
                format!("Failed to connect to the host via ssh: {detail}")
            }
            ConnectionError::Agent(detail)
            | ConnectionError::Become(detail)
            | ConnectionError::LostAndCleanupFailed(detail) => detail.clone(),
            ConnectionError::ModuleFailure { .. } => {
                "MODULE FAILURE: No start of json char found\nSee stdout/stderr for the exact error"
                    .into()
            }
            ConnectionError::NotSent(detail) => {
                format!("Failed to connect to the host via ssh: {detail}")
            }
            // ansible-core's words when a pipelined module's connection breaks. They end
            // with the OpenSSH client's standard error, which is empty when the host is gone.
            ConnectionError::Lost(address) => format!(
                "Data could not be sent to remote host \"{address}\". Make sure this host can be reached over ssh: "
            ),
        }
    }

    /// Returns whether another connection attempt may succeed.
    fn is_retryable(&self) -> bool {
        match self {
            ConnectionError::Unreachable(detail) => {
                !detail.contains("Permission denied") && !detail.contains("Host key verification")
            }
            ConnectionError::Agent(_)
            | ConnectionError::Become(_)
            | ConnectionError::Lost(_)
            | ConnectionError::NotSent(_)
            | ConnectionError::LostAndCleanupFailed(_)
            | ConnectionError::ModuleFailure { .. } => false,
        }
    }
}

struct HostConnection {
    session: Session,
    /// One agent per become identity; `None` is the login user.
    agents: HashMap<Option<Become>, AgentChannel>,
}

/// The identity of a connection: every setting of its spec except the inventory name.
/// Inventory hosts that reach the same place the same way share one connection.
///
/// NOTE: ansible-core names its OpenSSH control socket after the address, port and user
/// only. A host can therefore reuse a master that another host opened in an earlier run
/// (while ControlPersist lasts), even with other keys or proxies. rplay never shares a
/// connection between different settings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ConnectionKey(ConnectionSpec);

impl ConnectionKey {
    fn of(spec: &ConnectionSpec) -> ConnectionKey {
        ConnectionKey(ConnectionSpec {
            host: String::new(),
            ..spec.clone()
        })
    }
}

/// Every open connection of a run. The async runtime starts with the first remote task,
/// so runs that stay on the controller never pay for it.
///
/// Tasks of different hosts run at the same time (up to `forks`), so every method takes
/// `&self`. The map of connections is locked only to find or insert a host's slot. Each
/// slot is locked while a task uses its connection.
pub struct Connections {
    runtime: OnceLock<Result<tokio::runtime::Runtime, String>>,
    hosts: Mutex<HashMap<ConnectionKey, Arc<Mutex<Option<HostConnection>>>>>,
    agent_setting: Option<PathBuf>,
    agent_binary: OnceLock<Result<AgentBinary, String>>,
    /// The directory of the OpenSSH control sockets, made with the first OpenSSH
    /// connection and removed at the end of the run.
    control_dir: Mutex<Option<PathBuf>>,
    /// Numbers the OpenSSH control sockets.
    masters: AtomicUsize,
}

impl Connections {
    /// `agent_setting` is the `RPLAY_AGENT_BINARY` setting.
    pub fn new(agent_setting: Option<PathBuf>) -> Connections {
        Connections {
            runtime: OnceLock::new(),
            hosts: Mutex::new(HashMap::new()),
            agent_setting,
            agent_binary: OnceLock::new(),
            control_dir: Mutex::new(None),
            masters: AtomicUsize::new(0),
        }
    }

    /// Runs `module` on the target in its agent, connecting and starting the agent
    /// first when needed, and calls `on_start` with the command of each agent it starts.
    /// A lost connection is dropped, so the next task reconnects.
    pub fn run_module(
        &self,
        spec: &ConnectionSpec,
        escalation: Option<&Become>,
        call: ModuleCall<'_>,
        on_start: &mut dyn FnMut(&str),
    ) -> Result<Map, ConnectionError> {
        let slot = self.slot(spec);
        let mut connection = lock(&slot);
        let mut start = |connection: &mut Option<HostConnection>| {
            self.call_agent(connection, spec, escalation, call, on_start)
        };
        match start(&mut connection) {
            // The target closed the connection before the request went out, and rplay
            // had not noticed yet: connect again, as ansible-core's next ssh command does.
            Err(ConnectionError::NotSent(detail)) => {
                tracing::debug!(host = %spec.host, %detail, "connection found broken; connecting again");
                self.disconnect(&mut connection);
                start(&mut connection)
            }
            result => result,
        }
    }

    /// Returns the slot of the connection `spec` names, empty on first use.
    fn slot(&self, spec: &ConnectionSpec) -> Arc<Mutex<Option<HostConnection>>> {
        lock(&self.hosts)
            .entry(ConnectionKey::of(spec))
            .or_default()
            .clone()
    }

    fn call_agent(
        &self,
        slot: &mut Option<HostConnection>,
        spec: &ConnectionSpec,
        escalation: Option<&Become>,
        call: ModuleCall<'_>,
        on_start: &mut dyn FnMut(&str),
    ) -> Result<Map, ConnectionError> {
        let ModuleCall {
            module,
            args,
            options,
        } = call;
        let runtime = self.ensure_connected(slot, spec)?;
        // On the controller the running rplay is the agent, so it needs no static build.
        let binary = if spec.local {
            None
        } else {
            match self
                .agent_binary
                .get_or_init(|| AgentBinary::locate(self.agent_setting.as_deref()))
            {
                Ok(binary) => Some(binary),
                Err(message) => return Err(ConnectionError::Agent(message.clone())),
            }
        };
        let connection = slot.as_mut().expect("connected above");
        let identity = escalation.cloned();
        // ansible-core starts a process per module. An agent for an unprivileged become
        // user is stopped after its module too, so that no process of that user lives on
        // between tasks (`userdel` refuses to remove a user with running processes).
        let keep = !escalation.is_some_and(|escalation| escalation.is_unprivileged(&spec.user));
        let options = &ModuleOptions {
            system_tmp: !keep,
            ..options.clone()
        };
        let result = runtime.block_on(async {
            if !connection.agents.contains_key(&identity) {
                let session = &connection.session;
                let agent = AgentChannel::start(session, binary, escalation, &spec.user, on_start)
                    .await
                    .map_err(|err| match err {
                        ConnectionError::Unreachable(detail) => ConnectionError::NotSent(detail),
                        other => other,
                    })?;
                connection.agents.insert(identity.clone(), agent);
            }
            let agent = connection.agents.get_mut(&identity).expect("started above");
            let result = agent.call(module, args, options).await;
            if !keep {
                if let Some(agent) = connection.agents.remove(&identity) {
                    agent.stop().await;
                }
            }
            result
        });
        match result {
            Err(ConnectionError::Unreachable(detail)) => {
                tracing::debug!(host = %spec.host, %detail, "connection lost during a task");
                self.disconnect(slot);
                if !options.pipelining {
                    if let Err(err) = self.ensure_connected(slot, spec) {
                        return Err(ConnectionError::LostAndCleanupFailed(err.message()));
                    }
                }
                Err(ConnectionError::Lost(spec.address.clone()))
            }
            result => result,
        }
    }

    /// Runs a command through the remote user's shell on a pseudo-terminal, without the
    /// agent, as `raw` does.
    // NOTE: ansible-core's result also carries the OpenSSH client's own messages in
    // `stderr` (debug lines and "Shared connection to ... closed."); rplay's is empty.
    pub fn exec(
        &self,
        spec: &ConnectionSpec,
        command: &str,
    ) -> Result<ExecOutput, ConnectionError> {
        self.exec_input(spec, command, None, true)
    }

    /// Runs a command through the remote user's shell without the agent, feeding it
    /// `stdin`, on a pseudo-terminal when `terminal` is set.
    pub fn exec_input(
        &self,
        spec: &ConnectionSpec,
        command: &str,
        stdin: Option<&[u8]>,
        terminal: bool,
    ) -> Result<ExecOutput, ConnectionError> {
        let slot = self.slot(spec);
        let mut connection = lock(&slot);
        let runtime = self.ensure_connected(&mut connection, spec)?;
        let session = &connection.as_ref().expect("connected above").session;
        let terminal = terminal.then_some(RAW_TERMINAL);
        let result = runtime.block_on(session.exec(command, stdin, terminal));
        if result.is_err() {
            self.disconnect(&mut connection);
        }
        result
    }

    /// Drops a connection. Its channels close from tasks on the runtime, so they must be
    /// dropped inside it.
    fn disconnect(&self, slot: &mut Option<HostConnection>) {
        if let Some(Ok(runtime)) = self.runtime.get() {
            let _context = runtime.enter();
            slot.take();
        }
    }

    /// Returns the async runtime, starting it on first use.
    fn runtime(&self) -> Result<&tokio::runtime::Runtime, ConnectionError> {
        let runtime = self.runtime.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("rplay-ssh")
                .enable_all()
                .build()
                .map_err(|err| format!("cannot start the SSH runtime: {err}"))
        });
        runtime
            .as_ref()
            .map_err(|message| ConnectionError::Agent(message.clone()))
    }

    /// Connects to the target unless a live connection exists, and returns the runtime
    /// the connection lives on. A connection the target closed since the last task (a
    /// reboot, a crash) is replaced by a new one, as the OpenSSH client of ansible-core
    /// connects again when its control master is gone.
    fn ensure_connected(
        &self,
        slot: &mut Option<HostConnection>,
        spec: &ConnectionSpec,
    ) -> Result<&tokio::runtime::Runtime, ConnectionError> {
        let runtime = self.runtime()?;
        match slot {
            Some(connection) if connection.session.is_closed() => self.disconnect(slot),
            Some(_) => return Ok(runtime),
            None => {}
        }
        let session = match &spec.openssh {
            _ if spec.local => Session::Local(LocalSession),
            Some(words) => {
                let dir = self.control_dir()?;
                let name = format!("master-{}", self.masters.fetch_add(1, Ordering::Relaxed));
                Session::OpenSsh(OpenSshSession::new(spec, words, &dir, &name))
            }
            None => Session::Russh(runtime.block_on(SshSession::connect(spec))?),
        };
        *slot = Some(HostConnection {
            session,
            agents: HashMap::new(),
        });
        Ok(runtime)
    }

    /// Returns the directory of the OpenSSH control sockets, creating it on first use.
    fn control_dir(&self) -> Result<PathBuf, ConnectionError> {
        let mut control_dir = lock(&self.control_dir);
        if let Some(dir) = control_dir.as_ref() {
            return Ok(dir.clone());
        }
        let dir = std::env::temp_dir().join(format!("rplay-ssh-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|err| {
            ConnectionError::Unreachable(format!(
                "cannot create the ssh control directory {}: {err}",
                dir.display()
            ))
        })?;
        *control_dir = Some(dir.clone());
        Ok(dir)
    }
}

/// Locks `mutex`, also after a thread panicked while holding it: a connection slot stays
/// usable, and the panic itself is reported where it happened.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for Connections {
    fn drop(&mut self) {
        let hosts = std::mem::take(self.hosts.get_mut().unwrap_or_else(PoisonError::into_inner));
        for slot in hosts.values() {
            if let Some(HostConnection {
                session: Session::OpenSsh(session),
                ..
            }) = lock(slot).as_ref()
            {
                session.close_master();
            }
        }
        if let Some(dir) = lock(&self.control_dir).take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(Ok(runtime)) = self.runtime.take() {
            {
                let _context = runtime.enter();
                drop(hosts);
            }
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}
