//! The controller's side of the agent: finding a binary that can run on targets,
//! installing it once per target, and exchanging frames with it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rplay_modules::agent::{self as protocol, Hello, Request, Response};
use rplay_modules::command::shell_quote;
use rplay_modules::dispatch::ModuleOptions;
use sha2::{Digest, Sha256};

use super::stream::{CommandStream, StreamEvent};
use super::{Become, ConnectionError, PasswordPrompt, Session};
use crate::{Map, Value};

/// The rplay executable copied to targets, with its digest and CPU architecture.
pub struct AgentBinary {
    pub path: PathBuf,
    pub sha256: String,
    /// The architecture as `uname -m` names it.
    pub architecture: &'static str,
    bytes: Arc<Vec<u8>>,
}

impl AgentBinary {
    /// Finds the binary: `configured` if set, else this executable when it is statically
    /// linked, else the static build next to it (`target/x86_64-unknown-linux-musl/PROFILE/`).
    pub fn locate(configured: Option<&Path>) -> Result<AgentBinary, String> {
        if let Some(path) = configured {
            return AgentBinary::load(path);
        }
        let exe = std::env::current_exe()
            .map_err(|err| format!("cannot find the rplay executable: {err}"))?;
        let bytes =
            std::fs::read(&exe).map_err(|err| format!("cannot read {}: {err}", exe.display()))?;
        if is_static_elf(&bytes) {
            return AgentBinary::from_bytes(exe, bytes);
        }
        if let Some(path) = musl_sibling(&exe).filter(|path| path.is_file()) {
            return AgentBinary::load(&path);
        }
        Err(format!(
            "no statically linked rplay to run on targets: {} is dynamically linked. Build one with `cargo build --target x86_64-unknown-linux-musl` (add --release for a release build) or set RPLAY_AGENT_BINARY",
            exe.display()
        ))
    }

    fn load(path: &Path) -> Result<AgentBinary, String> {
        let bytes = std::fs::read(path)
            .map_err(|err| format!("cannot read the agent binary {}: {err}", path.display()))?;
        if !is_static_elf(&bytes) {
            return Err(format!(
                "the agent binary {} is not a statically linked ELF executable",
                path.display()
            ));
        }
        AgentBinary::from_bytes(path.to_path_buf(), bytes)
    }

    fn from_bytes(path: PathBuf, bytes: Vec<u8>) -> Result<AgentBinary, String> {
        let architecture = elf_architecture(&bytes).ok_or_else(|| {
            format!(
                "the agent binary {} is built for an unknown architecture",
                path.display()
            )
        })?;
        let sha256 = format!("{:x}", Sha256::digest(&bytes));
        Ok(AgentBinary {
            path,
            sha256,
            architecture,
            bytes: Arc::new(bytes),
        })
    }

    /// Returns the agent's directory on targets, relative to the login user's home
    /// directory.
    fn remote_dir(&self) -> String {
        format!(".rplay/agents/{}", self.sha256)
    }
}

/// `target/PROFILE/rplay` → `target/x86_64-unknown-linux-musl/PROFILE/rplay`.
fn musl_sibling(exe: &Path) -> Option<PathBuf> {
    let profile_dir = exe.parent()?;
    let target_dir = profile_dir.parent()?;
    let profile = profile_dir.file_name()?;
    Some(
        target_dir
            .join("x86_64-unknown-linux-musl")
            .join(profile)
            .join(exe.file_name()?),
    )
}

/// True for a 64-bit little-endian ELF executable without a `PT_INTERP` program header,
/// that is one that needs no dynamic loader.
fn is_static_elf(bytes: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" || bytes[4] != 2 || bytes[5] != 1 {
        return false;
    }
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
    let phoff = u64::from_le_bytes(bytes[32..40].try_into().unwrap_or_default()) as usize;
    let phentsize = u16_at(54);
    let phnum = u16_at(56);
    (0..phnum).all(|index| {
        let at = phoff + index * phentsize;
        match bytes.get(at..at + 4) {
            Some(kind) => u32::from_le_bytes(kind.try_into().unwrap_or_default()) != PT_INTERP,
            None => false,
        }
    })
}

/// Returns the ELF machine as `uname -m` names it.
fn elf_architecture(bytes: &[u8]) -> Option<&'static str> {
    let machine = u16::from_le_bytes([*bytes.get(18)?, *bytes.get(19)?]);
    match machine {
        62 => Some("x86_64"),
        183 => Some("aarch64"),
        243 => Some("riscv64"),
        21 => Some("ppc64le"),
        22 => Some("s390x"),
        _ => None,
    }
}

/// A running agent on one SSH channel.
pub struct AgentChannel {
    channel: CommandStream,
    /// Bytes of standard output not yet taken as frames.
    buffer: Vec<u8>,
    next_id: u64,
}

impl AgentChannel {
    /// Installs the agent on the target unless the same binary is there already (`None`:
    /// the target is the controller, and the running executable is the agent), then
    /// starts it, through `escalation` when given, and reads its hello. `on_start` is
    /// called with the start command before it runs.
    ///
    /// An unprivileged become user cannot read the login user's private copy, so it
    /// gets a copy of its own in a temporary directory (see [`share_with`]). The copy is
    /// removed as soon as the agent has started, because the running process keeps its
    /// file.
    pub async fn start(
        session: &Session,
        binary: Option<&AgentBinary>,
        escalation: Option<&Become>,
        login_user: &str,
        on_start: &mut dyn FnMut(&str),
    ) -> Result<AgentChannel, ConnectionError> {
        let installed = match binary {
            Some(binary) => install(session, binary).await?,
            None => std::env::current_exe()
                .map_err(|err| {
                    ConnectionError::Agent(format!("cannot find the rplay executable: {err}"))
                })?
                .display()
                .to_string(),
        };
        let shared = match escalation {
            Some(escalation) if escalation.is_unprivileged(login_user) => {
                Some(share_with(session, &installed, &escalation.user).await?)
            }
            _ => None,
        };
        let result = match &shared {
            Some(directory) => {
                let path = format!("{directory}/rplay");
                AgentChannel::launch(session, &path, escalation, on_start).await
            }
            None => AgentChannel::launch(session, &installed, escalation, on_start).await,
        };
        if let Some(directory) = shared {
            let removal = format!("rm -rf {}", shell_quote(&directory));
            if let Err(err) = session.exec(&removal, None, None).await {
                tracing::warn!(%directory, %err, "cannot remove the become user's agent copy");
            }
        }
        result
    }

    /// Starts the agent at `path` and reads its hello.
    async fn launch(
        session: &Session,
        path: &str,
        escalation: Option<&Become>,
        on_start: &mut dyn FnMut(&str),
    ) -> Result<AgentChannel, ConnectionError> {
        let agent = format!("{} agent", shell_quote(path));
        let (command, prompt) = match escalation {
            // ansible-core runs its become commands as `/bin/sh -c '...'`, whatever the
            // login shell, so a missing become program is reported as that shell reports
            // it ("/bin/sh: 1: sudo: not found").
            Some(escalation) => {
                let (command, prompt) = escalation.wrap(&agent)?;
                (format!("/bin/sh -c {}", shell_quote(&command)), prompt)
            }
            None => (format!("exec {agent}"), None),
        };
        on_start(&command);
        let channel = session.open_command(&command).await?;
        let mut agent = AgentChannel {
            channel,
            buffer: Vec::new(),
            next_id: 0,
        };
        let hello: Hello = match agent.read_hello(prompt.as_ref(), escalation).await {
            Ok(hello) => hello,
            Err(err) => {
                // A sudo still waiting at its prompt holds the user's timestamp lock,
                // so later sudo calls would wait for it: end its input and the channel.
                agent.channel.close().await;
                return Err(err);
            }
        };
        if hello.protocol != protocol::PROTOCOL {
            return Err(ConnectionError::Agent(format!(
                "the agent on the target speaks protocol {}, this rplay speaks {}",
                hello.protocol,
                protocol::PROTOCOL
            )));
        }
        Ok(agent)
    }

    /// Stops the agent: it exits when its input ends. Waits for that, at most five
    /// seconds, so that no process of the become user outlives the task.
    pub async fn stop(mut self) {
        self.channel.finish(Duration::from_secs(5)).await;
    }

    /// Runs one module on the target and returns its result.
    pub async fn call(
        &mut self,
        module: &str,
        args: &Map,
        options: &ModuleOptions,
    ) -> Result<Map, ConnectionError> {
        self.next_id += 1;
        let request = Request {
            id: self.next_id,
            module: module.to_string(),
            args: serde_json::to_value(Value::map(args.clone()))
                .map_err(|err| ConnectionError::Agent(err.to_string()))?,
            options: options.clone(),
        };
        let frame = protocol::encode_frame(&request)
            .map_err(|err| ConnectionError::Agent(err.to_string()))?;
        self.channel
            .send(&frame)
            .await
            .map_err(|err| ConnectionError::NotSent(err.to_string()))?;
        let response: Response = self.read_message(&mut String::new()).await?;
        if response.id != request.id {
            return Err(ConnectionError::Agent(format!(
                "the agent returned the response to request {} instead of {}",
                response.id, request.id
            )));
        }
        match Value::from(response.result) {
            Value::Map(map) => Ok((*map).clone()),
            other => Err(ConnectionError::Agent(format!(
                "the agent returned a {} instead of a result mapping",
                other.type_name()
            ))),
        }
    }

    /// Reads the agent's hello. Before it, standard error may carry `prompt`, the
    /// privilege escalation's password prompt: the password is sent once, and a second
    /// prompt means it was wrong.
    async fn read_hello(
        &mut self,
        prompt: Option<&PasswordPrompt>,
        escalation: Option<&Become>,
    ) -> Result<Hello, ConnectionError> {
        let mut stderr = String::new();
        let mut answered = false;
        loop {
            if let Some(hello) = self.take_frame()? {
                return Ok(hello);
            }
            match self.channel.next_event().await {
                StreamEvent::Stdout(data) => self.buffer.extend_from_slice(&data),
                StreamEvent::Stderr(data) => {
                    stderr.push_str(&String::from_utf8_lossy(&data));
                    tracing::debug!(stderr = %stderr, "agent start: standard error");
                    let (Some(prompt), Some(escalation)) = (prompt, escalation) else {
                        continue;
                    };
                    let prompts = prompt.count(&stderr);
                    if prompts > 1 || (prompts == 1 && answered && prompt.is_waiting(&stderr)) {
                        return Err(escalation.incorrect_password());
                    }
                    if prompts == 1 && !answered && prompt.is_waiting(&stderr) {
                        let Some(password) = &escalation.password else {
                            return Err(escalation.missing_password());
                        };
                        let line = format!("{password}\n");
                        self.channel
                            .send(line.as_bytes())
                            .await
                            .map_err(|err| agent_lost(&err.to_string(), &stderr))?;
                        answered = true;
                    }
                }
                StreamEvent::Closed(status) => {
                    return Err(start_failure(&stderr, status, escalation))
                }
            }
        }
    }

    async fn read_message<T: serde::de::DeserializeOwned>(
        &mut self,
        stderr: &mut String,
    ) -> Result<T, ConnectionError> {
        loop {
            if let Some(message) = self.take_frame()? {
                return Ok(message);
            }
            match self.channel.next_event().await {
                StreamEvent::Stdout(data) => self.buffer.extend_from_slice(&data),
                StreamEvent::Stderr(data) => stderr.push_str(&String::from_utf8_lossy(&data)),
                StreamEvent::Closed(_) => return Err(agent_lost("the agent exited", stderr)),
            }
        }
    }

    /// Takes one whole frame from the buffer, if it holds one.
    fn take_frame<T: serde::de::DeserializeOwned>(&mut self) -> Result<Option<T>, ConnectionError> {
        let Some(header) = self.buffer.get(..4) else {
            return Ok(None);
        };
        let length = u32::from_be_bytes(header.try_into().unwrap_or_default()) as usize;
        if length > protocol::MAX_FRAME {
            return Err(ConnectionError::Agent(format!(
                "the agent sent a frame of {length} bytes, more than the maximum of {}",
                protocol::MAX_FRAME
            )));
        }
        if self.buffer.len() < 4 + length {
            return Ok(None);
        }
        let message = protocol::decode_payload(&self.buffer[4..4 + length])
            .map_err(|err| ConnectionError::Agent(err.to_string()))?;
        self.buffer.drain(..4 + length);
        Ok(Some(message))
    }
}

/// Builds the error for an agent that ended before its hello, from what it printed: sudo's and
/// su's refusals in ansible-core's words. A become command that failed otherwise (sudo
/// not installed, say) is a module failure, because ansible-core reports the module it
/// could not start that way. Anything else is the text itself.
fn start_failure(
    stderr: &str,
    status: Option<u32>,
    escalation: Option<&Become>,
) -> ConnectionError {
    if let Some(escalation) = escalation {
        if stderr.contains("a password is required") {
            return escalation.missing_password();
        }
        if stderr.contains("incorrect password attempt")
            || stderr.contains("Sorry, try again")
            || stderr.contains("Authentication failure")
        {
            return escalation.incorrect_password();
        }
        if let Some(status) = status.filter(|&status| status != 0) {
            return ConnectionError::ModuleFailure {
                rc: status,
                stderr: stderr.to_owned(),
            };
        }
    }
    ConnectionError::Agent(format!(
        "the rplay agent did not start: {}",
        if stderr.trim().is_empty() {
            "it exited without output"
        } else {
            stderr.trim()
        }
    ))
}

fn agent_lost(detail: &str, stderr: &str) -> ConnectionError {
    let stderr = stderr.trim();
    ConnectionError::Unreachable(if stderr.is_empty() {
        format!("the connection to the rplay agent was lost: {detail}")
    } else {
        format!("the connection to the rplay agent was lost: {detail}: {stderr}")
    })
}

/// Checks the target's architecture and copies the agent there unless the same binary
/// is present, and returns its absolute path. The copy is written to a temporary name,
/// verified with `sha256sum` and renamed, so a broken transfer never leaves a binary
/// under the final name.
async fn install(session: &Session, binary: &AgentBinary) -> Result<String, ConnectionError> {
    let probe = format!(
        "uname -m; if [ -x \"$HOME/{dir}/rplay\" ]; then echo present; else echo missing; fi; printf '%s\\n' \"$HOME\"",
        dir = binary.remote_dir()
    );
    let output = session.exec(&probe, None, None).await?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let architecture = lines.next().unwrap_or("").trim().to_string();
    let state = lines.next();
    let home = lines.next().unwrap_or_default().trim_end_matches('/');
    let path = format!("{home}/{}/rplay", binary.remote_dir());
    if architecture != binary.architecture {
        return Err(ConnectionError::Agent(format!(
            "no rplay agent for the target's architecture '{architecture}': the agent binary {} is built for {}",
            binary.path.display(),
            binary.architecture
        )));
    }
    if state == Some("present") {
        return Ok(path);
    }
    let directory = format!("$HOME/{}", binary.remote_dir());
    let upload = format!(
        "set -e; umask 077; mkdir -p \"{directory}\"; chmod 700 \"$HOME/.rplay\" \"$HOME/.rplay/agents\" \"{directory}\"; \
         t=\"{directory}/.rplay.$$\"; trap 'rm -f \"$t\"' EXIT; cat >\"$t\"; \
         echo \"{sha}  $t\" | sha256sum -c --status; chmod 700 \"$t\"; mv -f \"$t\" \"{directory}/rplay\"; trap - EXIT",
        sha = binary.sha256
    );
    let output = session.exec(&upload, Some(&binary.bytes), None).await?;
    if output.status != Some(0) {
        return Err(ConnectionError::Agent(format!(
            "installing the rplay agent failed (exit status {}): {}",
            output
                .status
                .map_or_else(|| "none".to_string(), |status| status.to_string()),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(path)
}

/// Copies the agent at `installed` into a new temporary directory that `user` can
/// read, and returns the directory. As ansible-core's `_fixup_perms2` shares its
/// temporary files with an unprivileged become user, it adds a POSIX ACL entry for the
/// user, else makes the user the owner (which works when the login user is root).
///
/// NOTE: ansible-core falls back further to macOS and Solaris ACLs, to
/// `ansible_common_remote_group` and to world-readable files when
/// `allow_world_readable_tmpfiles` is set. rplay stops after chown.
async fn share_with(
    session: &Session,
    installed: &str,
    user: &str,
) -> Result<String, ConnectionError> {
    let script = format!(
        "umask 077; d=$(mktemp -d /var/tmp/rplay-agent-XXXXXXXXXX 2>/dev/null || mktemp -d /tmp/rplay-agent-XXXXXXXXXX) || exit 1; \
         if cp {installed} \"$d/rplay\" && {{ setfacl -m u:{user}:r-x \"$d\" \"$d/rplay\" 2>/dev/null || chown {user} \"$d\" \"$d/rplay\"; }}; \
         then printf '%s\\n' \"$d\"; else rm -rf \"$d\"; exit 1; fi",
        installed = shell_quote(installed),
        user = shell_quote(user),
    );
    let output = session.exec(&script, None, None).await?;
    let directory = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if output.status != Some(0) || directory.is_empty() {
        return Err(ConnectionError::Become(format!(
            "Failed to give the unprivileged become user '{user}' access to the rplay agent: neither setfacl nor chown succeeded: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(directory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_test_binary_is_dynamic_or_static_consistently() {
        let bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(elf_architecture(&bytes), Some(std::env::consts::ARCH));
        let static_build = cfg!(target_env = "musl");
        assert_eq!(is_static_elf(&bytes), static_build);
    }

    #[test]
    fn non_elf_is_not_static() {
        assert!(!is_static_elf(b"#!/bin/sh\necho hi\n"));
    }

    #[test]
    fn musl_sibling_of_a_debug_build() {
        assert_eq!(
            musl_sibling(Path::new("/w/target/debug/rplay")),
            Some(PathBuf::from(
                "/w/target/x86_64-unknown-linux-musl/debug/rplay"
            ))
        );
    }
}
