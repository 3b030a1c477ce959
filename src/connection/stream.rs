//! A running remote command as the agent client sees it, whichever transport carries it:
//! bytes to its standard input, and its output and end as events.

use russh::client;
use russh::{Channel, ChannelMsg};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout};

/// An event of a running command: output on one of its streams, or its end.
pub enum StreamEvent {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    /// The command ended or its channel closed, with its exit status when known.
    Closed(Option<u32>),
}

/// A command on the target: an SSH channel of rplay's own client, or an OpenSSH client
/// process.
pub enum CommandStream {
    /// The receiver is the SSH session's end signal (see `SshSession`).
    Channel(Channel<client::Msg>, tokio::sync::watch::Receiver<bool>),
    Process(Box<ProcessStream>),
}

/// An `ssh` child process with its pipes.
pub struct ProcessStream {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
}

impl ProcessStream {
    pub fn new(mut child: Child) -> ProcessStream {
        ProcessStream {
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
            child,
        }
    }
}

impl CommandStream {
    /// Writes `data` to the command's standard input.
    pub async fn send(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            CommandStream::Channel(channel, ended) => tokio::select! {
                sent = channel.data(data) => sent.map_err(std::io::Error::other),
                _ = ended.wait_for(|ended| *ended) => Err(std::io::ErrorKind::BrokenPipe.into()),
            },
            CommandStream::Process(process) => match process.stdin.as_mut() {
                Some(stdin) => {
                    stdin.write_all(data).await?;
                    stdin.flush().await
                }
                None => Err(std::io::ErrorKind::BrokenPipe.into()),
            },
        }
    }

    /// Waits for the next output of the command.
    pub async fn next_event(&mut self) -> StreamEvent {
        match self {
            CommandStream::Channel(channel, ended) => loop {
                let message = tokio::select! {
                    message = channel.wait() => message,
                    _ = ended.wait_for(|ended| *ended) => return StreamEvent::Closed(None),
                };
                match message {
                    Some(ChannelMsg::Data { data }) => return StreamEvent::Stdout(data.to_vec()),
                    Some(ChannelMsg::ExtendedData { data, .. }) => {
                        return StreamEvent::Stderr(data.to_vec())
                    }
                    Some(ChannelMsg::ExitStatus { exit_status }) => {
                        return StreamEvent::Closed(Some(exit_status))
                    }
                    // The exit status may follow the end of the output.
                    Some(ChannelMsg::Eof) => {}
                    Some(ChannelMsg::Close) | None => return StreamEvent::Closed(None),
                    Some(other) => tracing::debug!(message = ?other, "channel message"),
                }
            },
            CommandStream::Process(process) => process.next_event().await,
        }
    }

    /// Ends the command's input and waits until the command ends, at most `limit`; then
    /// closes it as [`close`](CommandStream::close) does.
    pub async fn finish(&mut self, limit: std::time::Duration) {
        match self {
            CommandStream::Channel(channel, _) => {
                let _ = channel.eof().await;
            }
            CommandStream::Process(process) => process.stdin = None,
        }
        let drain = async { while !matches!(self.next_event().await, StreamEvent::Closed(_)) {} };
        let _ = tokio::time::timeout(limit, drain).await;
        self.close().await;
    }

    /// Ends the command's input and lets it go: the channel is closed, the process
    /// killed.
    pub async fn close(&mut self) {
        match self {
            CommandStream::Channel(channel, _) => {
                let _ = channel.eof().await;
                let _ = channel.close().await;
            }
            CommandStream::Process(process) => {
                process.stdin = None;
                let _ = process.child.start_kill();
            }
        }
    }
}

impl ProcessStream {
    async fn next_event(&mut self) -> StreamEvent {
        let mut out = [0u8; 64 * 1024];
        let mut err = [0u8; 8 * 1024];
        loop {
            if self.stdout.is_none() && self.stderr.is_none() {
                let status = self
                    .child
                    .wait()
                    .await
                    .ok()
                    .and_then(|status| status.code());
                return StreamEvent::Closed(status.and_then(|code| u32::try_from(code).ok()));
            }
            tokio::select! {
                read = read_some(self.stdout.as_mut(), &mut out) => match read {
                    Some(n) if n > 0 => return StreamEvent::Stdout(out[..n].to_vec()),
                    _ => self.stdout = None,
                },
                read = read_some(self.stderr.as_mut(), &mut err) => match read {
                    Some(n) if n > 0 => return StreamEvent::Stderr(err[..n].to_vec()),
                    _ => self.stderr = None,
                },
            }
        }
    }
}

/// Reads from `pipe`, or waits forever when it is gone, so that `select!` picks the other.
async fn read_some<R: AsyncReadExt + Unpin>(
    pipe: Option<&mut R>,
    buffer: &mut [u8],
) -> Option<usize> {
    match pipe {
        Some(pipe) => pipe.read(buffer).await.ok(),
        None => std::future::pending().await,
    }
}
