//! rplay's own SSH client on russh: connect, authenticate, run commands and open the
//! channels the agent talks on.

use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::{self, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::ChannelMsg;

use super::stream::CommandStream;

use super::{ConnectionError, ConnectionSpec};

/// One authenticated SSH connection to a target.
pub struct SshSession {
    handle: Handle<HostKeyPolicy>,
    /// Becomes true, or loses its sender, when the session ends. A channel's receiver
    /// is not woken when the connection drops, so every wait on a channel also watches
    /// this.
    ended: tokio::sync::watch::Receiver<bool>,
}

/// A command's exit status and output.
#[derive(Debug, Default)]
pub struct ExecOutput {
    /// `None` when the remote side closed the channel without an exit status.
    pub status: Option<u32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Accepts or rejects the server's host key as OpenSSH does with
/// `StrictHostKeyChecking` and `UserKnownHostsFile`.
struct HostKeyPolicy {
    check: bool,
    address: String,
    port: u16,
    known_hosts: Option<PathBuf>,
    /// The session's end signal: set to true when the session ends, and dropped with it.
    ended: tokio::sync::watch::Sender<bool>,
}

impl client::Handler for HostKeyPolicy {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        if !self.check {
            return Ok(true);
        }
        let PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            return Ok(false);
        };
        let known = match &self.known_hosts {
            Some(path) => keys::check_known_hosts_path(&self.address, self.port, key, path),
            None => keys::check_known_hosts(&self.address, self.port, key),
        };
        Ok(known.unwrap_or(false))
    }

    async fn disconnected(
        &mut self,
        reason: client::DisconnectReason<Self::Error>,
    ) -> Result<(), Self::Error> {
        tracing::debug!(address = %self.address, ?reason, "SSH session ended");
        self.ended.send_replace(true);
        match reason {
            client::DisconnectReason::ReceivedDisconnect(_) => Ok(()),
            client::DisconnectReason::Error(err) => Err(err),
        }
    }
}

impl SshSession {
    /// Connects and authenticates, trying each attempt `spec` allows.
    pub async fn connect(spec: &ConnectionSpec) -> Result<SshSession, ConnectionError> {
        let mut attempt = 1;
        loop {
            match Self::connect_once(spec).await {
                Ok(session) => return Ok(session),
                Err(err) if attempt < spec.connection_attempts && err.is_retryable() => {
                    tracing::debug!(host = %spec.host, attempt, error = %err, "retrying the SSH connection");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(err) => return Err(err),
            }
        }
    }

    async fn connect_once(spec: &ConnectionSpec) -> Result<SshSession, ConnectionError> {
        let unreachable = |detail: String| ConnectionError::Unreachable(detail);
        let address = (spec.address.as_str(), spec.port)
            .to_socket_addrs()
            .map_err(|_| {
                unreachable(format!(
                    "ssh: Could not resolve hostname {}: Name or service not known",
                    spec.address
                ))
            })?
            .next()
            .ok_or_else(|| {
                unreachable(format!(
                    "ssh: Could not resolve hostname {}: Name or service not known",
                    spec.address
                ))
            })?;
        let connect_error = |reason: &str| {
            unreachable(format!(
                "ssh: connect to host {} port {}: {reason}",
                spec.address, spec.port
            ))
        };
        let socket = tokio::time::timeout(spec.timeout, tokio::net::TcpStream::connect(address))
            .await
            .map_err(|_| connect_error("Connection timed out"))?
            .map_err(|err| connect_error(&os_error_text(&err)))?;
        socket.set_nodelay(true).ok();

        let config = Arc::new(client::Config {
            inactivity_timeout: None,
            keepalive_interval: Some(Duration::from_secs(30)),
            ..client::Config::default()
        });
        let (ended_sender, ended) = tokio::sync::watch::channel(false);
        let policy = HostKeyPolicy {
            check: spec.host_key_checking,
            address: spec.address.clone(),
            port: spec.port,
            known_hosts: spec.known_hosts.clone(),
            ended: ended_sender,
        };
        let mut handle =
            tokio::time::timeout(spec.timeout, client::connect_stream(config, socket, policy))
                .await
                .map_err(|_| {
                    unreachable("Connection timed out during banner exchange".to_string())
                })?
                .map_err(|err| match err {
                    russh::Error::UnknownKey => {
                        unreachable("Host key verification failed.".to_string())
                    }
                    other => unreachable(format!("kex_exchange_identification: {other}")),
                })?;
        authenticate(&mut handle, spec).await?;
        Ok(SshSession { handle, ended })
    }

    /// Tells whether the server or the network has ended the session.
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Runs `command` through the remote user's shell, feeding it `stdin`, and collects
    /// its output. With `terminal`, the command runs on a pseudo-terminal as ansible-core's
    /// `ssh -tt` runs it: output lines end in CRLF and standard error joins standard
    /// output.
    pub async fn exec(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
        terminal: Option<&str>,
    ) -> Result<ExecOutput, ConnectionError> {
        // Sending waits for the server's window and receiving for its messages. Neither
        // wakes up when the connection drops, so the whole exchange races the session's end.
        let mut ended = self.ended.clone();
        tokio::select! {
            output = self.exec_on_channel(command, stdin, terminal) => output,
            _ = ended.wait_for(|ended| *ended) => {
                Err(ConnectionError::Unreachable("Connection lost".to_string()))
            }
        }
    }

    async fn exec_on_channel(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
        terminal: Option<&str>,
    ) -> Result<ExecOutput, ConnectionError> {
        let mut channel = self
            .handle
            .channel_open_session()
            .await
            .map_err(lost_connection)?;
        if let Some(term) = terminal {
            channel
                .request_pty(true, term, 80, 24, 0, 0, &[])
                .await
                .map_err(lost_connection)?;
        }
        channel.exec(true, command).await.map_err(lost_connection)?;
        if let Some(data) = stdin {
            channel.data(data).await.map_err(lost_connection)?;
        }
        channel.eof().await.map_err(lost_connection)?;
        let mut output = ExecOutput::default();
        while let Some(message) = channel.wait().await {
            match message {
                ChannelMsg::Data { data } => output.stdout.extend_from_slice(&data),
                ChannelMsg::ExtendedData { data, .. } => output.stderr.extend_from_slice(&data),
                ChannelMsg::ExitStatus { exit_status } => output.status = Some(exit_status),
                _ => {}
            }
        }
        Ok(output)
    }

    /// Starts `command` and returns its channel, for the caller to exchange data on.
    pub async fn open_command(&self, command: &str) -> Result<CommandStream, ConnectionError> {
        let channel = self
            .handle
            .channel_open_session()
            .await
            .map_err(lost_connection)?;
        channel.exec(true, command).await.map_err(lost_connection)?;
        Ok(CommandStream::Channel(channel, self.ended.clone()))
    }
}

/// Tries the configured private key, then the keys of a running ssh-agent, then the
/// user's default keys, as OpenSSH does.
async fn authenticate(
    handle: &mut Handle<HostKeyPolicy>,
    spec: &ConnectionSpec,
) -> Result<(), ConnectionError> {
    let hash = handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten();
    let mut methods = String::from("publickey");
    for path in &spec.private_keys {
        let Ok(key) = keys::load_secret_key(path, None) else {
            tracing::debug!(path = %path.display(), "skipping a private key that cannot be read");
            continue;
        };
        let result = handle
            .authenticate_publickey(&spec.user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
            .await
            .map_err(lost_connection)?;
        match result {
            client::AuthResult::Success => return Ok(()),
            client::AuthResult::Failure {
                remaining_methods, ..
            } => {
                methods = method_names(&remaining_methods);
            }
        }
    }
    if let Some(result) = authenticate_with_agent(handle, spec, hash).await? {
        match result {
            client::AuthResult::Success => return Ok(()),
            client::AuthResult::Failure {
                remaining_methods, ..
            } => {
                methods = method_names(&remaining_methods);
            }
        }
    }
    Err(ConnectionError::Unreachable(format!(
        "{}@{}: Permission denied ({methods}).",
        spec.user, spec.address
    )))
}

/// Offers each identity of the ssh-agent at `SSH_AUTH_SOCK`; `None` without an agent.
async fn authenticate_with_agent(
    handle: &mut Handle<HostKeyPolicy>,
    spec: &ConnectionSpec,
    hash: Option<keys::HashAlg>,
) -> Result<Option<client::AuthResult>, ConnectionError> {
    let Some(socket) = spec.agent_socket.as_ref() else {
        return Ok(None);
    };
    let Ok(stream) = tokio::net::UnixStream::connect(socket).await else {
        return Ok(None);
    };
    let mut agent = keys::agent::client::AgentClient::connect(stream);
    let Ok(identities) = agent.request_identities().await else {
        return Ok(None);
    };
    let mut last = None;
    for identity in identities {
        let key = identity.public_key().into_owned();
        let result = handle
            .authenticate_publickey_with(&spec.user, key, hash, &mut agent)
            .await
            .map_err(|err| ConnectionError::Unreachable(format!("ssh-agent: {err}")))?;
        if result.success() {
            return Ok(Some(result));
        }
        last = Some(result);
    }
    Ok(last)
}

fn method_names(methods: &russh::MethodSet) -> String {
    let names: Vec<&str> = methods.iter().map(<&str>::from).collect();
    if names.is_empty() {
        "publickey".to_string()
    } else {
        names.join(",")
    }
}

/// An SSH failure after the connection was up.
fn lost_connection(err: russh::Error) -> ConnectionError {
    ConnectionError::Unreachable(format!("Connection lost: {err}"))
}

/// The C library's text for an OS error, as OpenSSH prints it ("Connection refused").
fn os_error_text(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}
