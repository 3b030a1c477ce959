//! The OpenSSH client as a transport, for connections that need what only it offers:
//! ProxyCommand, ProxyJump and the other options rplay's own client rejects (Kubespray's
//! bastion support sets ProxyCommand in `ansible_ssh_common_args`).
//!
//! Every command is one `ssh` process. A control master per target, in a directory of
//! the run's own, keeps one TCP connection for all of them.

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::ssh::ExecOutput;
use super::stream::{CommandStream, ProcessStream};
use super::{ConnectionError, ConnectionSpec, OpenSshWords};

/// The options of one target's `ssh` command line, before the destination.
pub struct OpenSshSession {
    options: Vec<String>,
    destination: String,
    control_path: PathBuf,
}

impl OpenSshSession {
    /// Builds the `ssh` options in the order ansible-core's ssh plugin passes them, so
    /// that the first value of an option wins where it would for ansible-core. The order
    /// is ssh_args and the host key setting, then the port, keys, user and timeout, then
    /// the common and extra arguments. rplay's control master comes last: socket `name`
    /// in `control_dir`, one per connection.
    pub fn new(
        spec: &ConnectionSpec,
        words: &OpenSshWords,
        control_dir: &Path,
        name: &str,
    ) -> OpenSshSession {
        let mut options = Vec::new();
        let mut option = |text: String| {
            options.push("-o".to_string());
            options.push(text);
        };
        option(format!("Port={}", spec.port));
        for key in &spec.private_keys {
            option(format!("IdentityFile=\"{}\"", key.display()));
        }
        option("KbdInteractiveAuthentication=no".into());
        option("PreferredAuthentications=gssapi-with-mic,gssapi-keyex,hostbased,publickey".into());
        option("PasswordAuthentication=no".into());
        option(format!("User=\"{}\"", spec.user));
        option(format!("ConnectTimeout={}", spec.timeout.as_secs().max(1)));
        let mut all = words.leading.clone();
        all.extend(options);
        all.extend(words.trailing.iter().cloned());
        let control_path = control_dir.join(name);
        for text in [
            "ControlMaster=auto".to_string(),
            "ControlPersist=60s".to_string(),
            format!("ControlPath=\"{}\"", control_path.display()),
        ] {
            all.push("-o".to_string());
            all.push(text);
        }
        OpenSshSession {
            options: all,
            destination: spec.address.clone(),
            control_path,
        }
    }

    fn command(&self, terminal: bool, remote: &str) -> Command {
        let mut command = Command::new("ssh");
        if terminal {
            command.arg("-tt");
        }
        command
            .args(&self.options)
            .arg(&self.destination)
            .arg(remote)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Runs `command` with a pseudo-terminal as the `ssh` process's standard input, as
    /// ansible-core's ssh plugin runs commands that send no data. Only then does a
    /// multiplexed session get a remote terminal whose output ends lines in CRLF.
    async fn exec_on_terminal(&self, remote: &str) -> Result<ExecOutput, ConnectionError> {
        let (controller, terminal) = open_pty().map_err(|err| {
            ConnectionError::Unreachable(format!("cannot open a pseudo-terminal: {err}"))
        })?;
        let mut command = self.command(true, remote);
        command.stdin(Stdio::from(terminal));
        let child = command
            .spawn()
            .map_err(|err| ConnectionError::Unreachable(format!("cannot start ssh: {err}")))?;
        let output = child.wait_with_output().await;
        drop(controller);
        let output =
            output.map_err(|err| ConnectionError::Unreachable(format!("ssh failed: {err}")))?;
        finish(output)
    }

    /// Runs `command` on the target, feeding it `stdin`.
    pub async fn exec(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
        terminal: bool,
    ) -> Result<ExecOutput, ConnectionError> {
        if terminal && stdin.is_none() {
            return self.exec_on_terminal(command).await;
        }
        let mut child = self
            .command(terminal, command)
            .spawn()
            .map_err(|err| ConnectionError::Unreachable(format!("cannot start ssh: {err}")))?;
        let mut input = child.stdin.take();
        let data = stdin.map(<[u8]>::to_vec);
        let feed = async move {
            if let (Some(pipe), Some(data)) = (input.as_mut(), data) {
                let _ = pipe.write_all(&data).await;
            }
            drop(input);
        };
        let (_, output) = tokio::join!(feed, child.wait_with_output());
        let output =
            output.map_err(|err| ConnectionError::Unreachable(format!("ssh failed: {err}")))?;
        finish(output)
    }

    /// Starts `command` and returns its process as a stream.
    pub fn open_command(&self, command: &str) -> Result<CommandStream, ConnectionError> {
        let child = self
            .command(false, command)
            .spawn()
            .map_err(|err| ConnectionError::Unreachable(format!("cannot start ssh: {err}")))?;
        Ok(CommandStream::Process(Box::new(ProcessStream::new(child))))
    }

    /// Stops the control master, so that no connection outlives the run.
    pub fn close_master(&self) {
        if !self.control_path.exists() {
            return;
        }
        let _ = std::process::Command::new("ssh")
            .arg("-O")
            .arg("exit")
            .arg("-o")
            .arg(format!("ControlPath=\"{}\"", self.control_path.display()))
            .arg(&self.destination)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Turns an `ssh` process's output into a result: exit status 255 is OpenSSH's own
/// failure, reported as the host being unreachable with OpenSSH's message.
fn finish(output: std::process::Output) -> Result<ExecOutput, ConnectionError> {
    let status = output.status.code();
    if status == Some(255) {
        return Err(ConnectionError::Unreachable(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ));
    }
    Ok(ExecOutput {
        status: status.and_then(|code| u32::try_from(code).ok()),
        stdout: output.stdout,
        stderr: output.stderr,
    })
}

/// Opens a pseudo-terminal pair: the controlling side and the terminal side.
fn open_pty() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut controller: libc::c_int = -1;
    let mut terminal: libc::c_int = -1;
    // SAFETY: openpty writes two new descriptors into the pointers on success; the name,
    // termios and window size arguments may be null.
    let result = unsafe {
        libc::openpty(
            &mut controller,
            &mut terminal,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if result != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: openpty has just opened both descriptors, and no other owner exists.
    Ok(unsafe {
        (
            OwnedFd::from_raw_fd(controller),
            OwnedFd::from_raw_fd(terminal),
        )
    })
}
