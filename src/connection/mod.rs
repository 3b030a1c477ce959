//! Connections to targets. rplay keeps one SSH connection and one agent per target for
//! the whole run; modules run in the agent, one round trip per task.

pub mod agent;
pub mod options;
pub mod ssh;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use rplay_modules::dispatch::ModuleOptions;

use crate::Map;
use agent::{AgentBinary, AgentChannel};
use ssh::{ExecOutput, SshSession};

/// The terminal type of `raw`'s pseudo-terminal. OpenSSH sends the controller's `TERM`;
/// rplay sends a fixed type so that runs do not depend on the terminal they start from.
const RAW_TERMINAL: &str = "xterm";

/// Where and how to reach one target.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// A failure to reach a target or to talk to its agent. ansible-core reports both as
/// the host being unreachable.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectionError {
    /// The text follows OpenSSH's messages, which ansible-core prefixes with
    /// "Failed to connect to the host via ssh: ".
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Agent(String),
}

impl ConnectionError {
    /// The `msg` of the unreachable result, as ansible-core words it.
    pub fn message(&self) -> String {
        match self {
            ConnectionError::Unreachable(detail) => {
                format!("Failed to connect to the host via ssh: {detail}")
            }
            ConnectionError::Agent(detail) => detail.clone(),
        }
    }

    /// Whether another connection attempt may succeed.
    fn is_retryable(&self) -> bool {
        match self {
            ConnectionError::Unreachable(detail) => {
                !detail.contains("Permission denied") && !detail.contains("Host key verification")
            }
            ConnectionError::Agent(_) => false,
        }
    }
}

struct HostConnection {
    session: SshSession,
    agent: Option<AgentChannel>,
}

/// The identity of a connection: as with the OpenSSH control socket ansible-core's
/// default `ControlPath` names (`%C`), hosts with the same address, port and user share
/// one connection, whatever their keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ConnectionKey {
    address: String,
    port: u16,
    user: String,
}

impl ConnectionKey {
    fn of(spec: &ConnectionSpec) -> ConnectionKey {
        ConnectionKey {
            address: spec.address.clone(),
            port: spec.port,
            user: spec.user.clone(),
        }
    }
}

/// Every open connection of a run. The async runtime starts with the first remote task,
/// so runs that stay on the controller never pay for it.
pub struct Connections {
    runtime: Option<tokio::runtime::Runtime>,
    hosts: HashMap<ConnectionKey, HostConnection>,
    agent_setting: Option<PathBuf>,
    agent_binary: Option<Result<AgentBinary, String>>,
}

impl Connections {
    /// `agent_setting` is the `RPLAY_AGENT_BINARY` setting.
    pub fn new(agent_setting: Option<PathBuf>) -> Connections {
        Connections {
            runtime: None,
            hosts: HashMap::new(),
            agent_setting,
            agent_binary: None,
        }
    }

    /// Runs `module` on the target in its agent, connecting and starting the agent
    /// first when needed. A lost connection is dropped, so the next task reconnects.
    pub fn run_module(
        &mut self,
        spec: &ConnectionSpec,
        module: &str,
        args: &Map,
        options: &ModuleOptions,
    ) -> Result<Map, ConnectionError> {
        self.ensure_connected(spec)?;
        if self.agent_binary.is_none() {
            self.agent_binary = Some(AgentBinary::locate(self.agent_setting.as_deref()));
        }
        let binary = match self.agent_binary.as_ref() {
            Some(Ok(binary)) => binary,
            Some(Err(message)) => return Err(ConnectionError::Agent(message.clone())),
            None => unreachable!("located above"),
        };
        let runtime = self.runtime.as_ref().expect("started by ensure_connected");
        let connection = self
            .hosts
            .get_mut(&ConnectionKey::of(spec))
            .expect("connected above");
        let result = runtime.block_on(async {
            if connection.agent.is_none() {
                connection.agent = Some(AgentChannel::start(&connection.session, binary).await?);
            }
            let agent = connection.agent.as_mut().expect("started above");
            agent.call(module, args, options).await
        });
        if matches!(result, Err(ConnectionError::Unreachable(_))) {
            self.disconnect(spec);
        }
        result
    }

    /// Runs a command through the remote user's shell on a pseudo-terminal, without the
    /// agent, as `raw` does.
    // NOTE: ansible-core's result also carries the OpenSSH client's own messages in
    // `stderr` (debug lines and "Shared connection to ... closed."); rplay's is empty.
    pub fn exec(
        &mut self,
        spec: &ConnectionSpec,
        command: &str,
    ) -> Result<ExecOutput, ConnectionError> {
        self.ensure_connected(spec)?;
        let runtime = self.runtime.as_ref().expect("started by ensure_connected");
        let connection = &self.hosts[&ConnectionKey::of(spec)];
        let result = runtime.block_on(connection.session.exec(command, None, Some(RAW_TERMINAL)));
        if result.is_err() {
            self.disconnect(spec);
        }
        result
    }

    /// Drops a connection. Its channels close from tasks on the runtime, so they must be
    /// dropped inside it.
    fn disconnect(&mut self, spec: &ConnectionSpec) {
        if let Some(runtime) = &self.runtime {
            let _context = runtime.enter();
            self.hosts.remove(&ConnectionKey::of(spec));
        }
    }

    fn ensure_connected(&mut self, spec: &ConnectionSpec) -> Result<(), ConnectionError> {
        if self.hosts.contains_key(&ConnectionKey::of(spec)) {
            return Ok(());
        }
        if self.runtime.is_none() {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("rplay-ssh")
                .enable_all()
                .build()
                .map_err(|err| {
                    ConnectionError::Agent(format!("cannot start the SSH runtime: {err}"))
                })?;
            self.runtime = Some(runtime);
        }
        let runtime = self.runtime.as_ref().expect("started above");
        let session = runtime.block_on(SshSession::connect(spec))?;
        self.hosts.insert(
            ConnectionKey::of(spec),
            HostConnection {
                session,
                agent: None,
            },
        );
        Ok(())
    }
}

impl Drop for Connections {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            {
                let _context = runtime.enter();
                self.hosts.clear();
            }
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}
