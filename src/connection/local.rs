//! The controller as a target of its own: a local connection that needs privilege
//! escalation runs the agent, and `raw`'s commands, as child processes of
//! `/bin/sh -c`, as ansible-core's local connection plugin does.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::ssh::ExecOutput;
use super::stream::{CommandStream, ProcessStream};
use super::ConnectionError;

/// Commands on the controller.
pub struct LocalSession;

impl LocalSession {
    /// Runs `command` through `/bin/sh -c`, feeding it `stdin`, and collects its output.
    pub async fn exec(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput, ConnectionError> {
        let mut child = shell(command)
            .spawn()
            .map_err(|err| ConnectionError::Agent(format!("cannot start /bin/sh: {err}")))?;
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
            output.map_err(|err| ConnectionError::Agent(format!("/bin/sh failed: {err}")))?;
        Ok(ExecOutput {
            status: output
                .status
                .code()
                .and_then(|code| u32::try_from(code).ok()),
            stdout: output.stdout,
            stderr: output.stderr,
        })
    }

    /// Starts `command` through `/bin/sh -c` and returns it as a stream.
    pub fn open_command(&self, command: &str) -> Result<CommandStream, ConnectionError> {
        let child = shell(command)
            .spawn()
            .map_err(|err| ConnectionError::Agent(format!("cannot start /bin/sh: {err}")))?;
        Ok(CommandStream::Process(Box::new(ProcessStream::new(child))))
    }
}

fn shell(command: &str) -> Command {
    let mut shell = Command::new("/bin/sh");
    shell
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    shell
}

/// Returns the name of the user rplay runs as, from the password database, or its uid
/// when the database has no entry.
pub fn login_user() -> String {
    // SAFETY: geteuid takes no arguments and cannot fail (POSIX).
    let uid = unsafe { libc::geteuid() };
    rplay_modules::facts::user_name(uid).unwrap_or_else(|| uid.to_string())
}
