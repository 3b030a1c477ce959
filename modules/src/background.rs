//! Running a module in a process of its own: in the background for the `async` task
//! keyword (ansible-core's `async_wrapper`), and under a time limit for `timeout`.
//!
//! Both start the binary that runs this code again as `rplay agent --run-module`: the
//! agent on a target, rplay itself for a local connection (`/proc/self/exe`). The runner
//! gets a new process group, so the module and every process it starts can be killed
//! at once.
//! An async job adds a watcher between the agent and that runner: `rplay agent
//! --async-job`, in a new session, which writes the job file that `async_status` reads
//! and outlives the agent and its SSH session.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::dispatch::{run_module, ModuleOptions};
use crate::{Map, Value};

/// `rplay agent` argument that runs one module call read from standard input.
pub const RUN_MODULE_ARG: &str = "--run-module";
/// `rplay agent` argument that watches one async job read from standard input.
pub const ASYNC_JOB_ARG: &str = "--async-job";

/// The settings of a module run in the background (`async: N`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncJob {
    /// Seconds after which the watcher kills the module (`async`).
    pub time_limit: u64,
    /// The directory of job files (`async_dir`, `~/.ansible_async` by default), before
    /// `~` is expanded on the target.
    pub async_dir: String,
}

/// One module run, as the runner process reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleCall {
    pub module: String,
    pub args: serde_json::Value,
    pub options: ModuleOptions,
}

/// The instructions the agent passes to the watcher of an async job.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct JobTicket {
    jid: String,
    job_path: PathBuf,
    time_limit: u64,
    call: ModuleCall,
}

/// The way a module process ended.
enum Ending {
    /// The runner printed a result.
    Finished { stdout: String, stderr: String },
    /// The time limit passed and the process group was killed; the runner's pid.
    Killed { pid: u32 },
    /// The runner could not be started.
    NotStarted(String),
}

impl ModuleCall {
    pub fn new(module: &str, args: &Map, options: &ModuleOptions) -> ModuleCall {
        ModuleCall {
            module: module.to_string(),
            args: serde_json::to_value(Value::map(args.clone())).unwrap_or_default(),
            options: options.clone(),
        }
    }
}

/// Runs `call` in a runner process and kills its process group after `limit`. Returns
/// the module's result, or `None` when the limit passed.
pub fn run_with_time_limit(call: &ModuleCall, limit: Duration) -> Option<Map> {
    match run_in_child(call, Some(limit), Duration::ZERO) {
        Ending::Finished { stdout, stderr } => Some(runner_result(call, &stdout, &stderr)),
        Ending::Killed { .. } => None,
        Ending::NotStarted(message) => Some(crate::dispatch::failed(message)),
    }
}

/// Starts `call` as an async job and returns ansible-core's launch result:
/// `started: 1`, `finished: 0`, `ansible_job_id` and `results_file`. The job file contains
/// `{"started": 1, "finished": 0, "ansible_job_id": JID}` before this returns.
pub fn start_job(call: &ModuleCall, job: &AsyncJob) -> Map {
    let job_dir = PathBuf::from(crate::spec::expand_path(&job.async_dir));
    if let Err(err) = std::fs::create_dir_all(&job_dir) {
        let mut result = crate::dispatch::failed(format!(
            "could not create directory: {} - {}",
            job_dir.display(),
            crate::files::os_error(&err)
        ));
        result.insert(Value::from("failed"), Value::Int(1));
        return result;
    }
    let mut watcher = match spawn_self(ASYNC_JOB_ARG, Group::NewSession) {
        Ok(child) => child,
        Err(err) => {
            return crate::dispatch::failed(format!("could not start the async job: {err}"))
        }
    };
    // ansible-core's job id: `j` and a random number, then the watcher's pid.
    let jid = format!("j{}.{}", random_number(), watcher.id());
    let job_path = job_dir.join(&jid);
    let started = job_state(&[
        ("started", Value::Int(1)),
        ("finished", Value::Int(0)),
        ("ansible_job_id", Value::from(jid.clone())),
    ]);
    let written = write_job_file(&job_path, &started);
    let ticket = JobTicket {
        jid: jid.clone(),
        job_path: job_path.clone(),
        time_limit: job.time_limit,
        call: call.clone(),
    };
    if let Some(mut stdin) = watcher.stdin.take() {
        // The watcher starts the module only once it has read the whole ticket, so the
        // job file above is never written after the module's result.
        let sent = serde_json::to_vec(&ticket).map_err(std::io::Error::other);
        let _ = sent.and_then(|bytes| stdin.write_all(&bytes));
    }
    // Reaps the watcher when it exits, so that a long-lived agent keeps no zombie.
    std::thread::spawn(move || watcher.wait());
    if let Err(err) = written {
        return crate::dispatch::failed(format!(
            "could not write the job file {}: {}",
            job_path.display(),
            crate::files::os_error(&err)
        ));
    }
    let mut result = Map::new();
    result.insert(Value::from("failed"), Value::Int(0));
    result.insert(Value::from("started"), Value::Int(1));
    result.insert(Value::from("finished"), Value::Int(0));
    result.insert(Value::from("ansible_job_id"), Value::from(jid));
    result.insert(
        Value::from("results_file"),
        Value::from(job_path.display().to_string()),
    );
    result
}

/// `rplay agent --run-module`: reads a [`ModuleCall`] from standard input, runs it and
/// prints its result as JSON.
pub fn runner_main() -> i32 {
    let mut input = Vec::new();
    if std::io::stdin().read_to_end(&mut input).is_err() {
        return 1;
    }
    let call: ModuleCall = match serde_json::from_slice(&input) {
        Ok(call) => call,
        Err(_) => return 1,
    };
    let args = match Value::from(call.args) {
        Value::Map(args) => (*args).clone(),
        _ => Map::new(),
    };
    let result = run_module(&call.module, &args, &call.options);
    let json = serde_json::to_vec(&Value::map(result)).unwrap_or_default();
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&json);
    let _ = stdout.flush();
    0
}

/// `rplay agent --async-job`: reads a job ticket from standard input, runs its module
/// with the time limit and writes the result to the job file, as `async_wrapper` does.
pub fn job_main() -> i32 {
    let mut input = Vec::new();
    if std::io::stdin().read_to_end(&mut input).is_err() {
        return 1;
    }
    let Ok(ticket) = serde_json::from_slice::<JobTicket>(&input) else {
        return 1;
    };
    let limit = (ticket.time_limit > 0).then(|| watch_period(ticket.time_limit));
    // async_wrapper waits a second after the kill before it writes the job file.
    let result = match run_in_child(&ticket.call, limit, Duration::from_secs(1)) {
        Ending::Finished { stdout, stderr } => runner_result(&ticket.call, &stdout, &stderr),
        Ending::Killed { pid } => job_state(&[
            ("msg", Value::from("Timeout exceeded")),
            ("failed", Value::Bool(true)),
            ("child_pid", Value::Int(i64::from(pid))),
        ]),
        Ending::NotStarted(message) => job_state(&[
            ("failed", Value::Int(1)),
            ("msg", Value::from(message)),
            ("ansible_job_id", Value::from(ticket.jid)),
        ]),
    };
    match write_job_file(&ticket.job_path, &result) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// Returns the interval of the watcher's checks. async_wrapper checks every 5 seconds
/// (every half limit for limits up to 5 seconds) and kills the job at the first check
/// after the limit, so a 7-second job dies after 10 seconds.
fn watch_period(time_limit: u64) -> Duration {
    let limit = time_limit as f64;
    let step = if limit <= 5.0 { limit / 2.0 } else { 5.0 };
    let checks = (limit / step).ceil();
    Duration::from_secs_f64(checks * step)
}

fn job_state(entries: &[(&str, Value)]) -> Map {
    entries
        .iter()
        .map(|(key, value)| (Value::from(*key), value.clone()))
        .collect()
}

/// Writes the job file as async_wrapper does: Python's `json.dumps` text, written to
/// `PATH.tmp` and renamed over `PATH`, so a reader never sees half a file.
fn write_job_file(path: &Path, state: &Map) -> std::io::Result<()> {
    let text = crate::json::dumps(
        &Value::map(state.clone()),
        crate::json::DumpOptions {
            indent: None,
            sort_keys: false,
            ensure_ascii: true,
        },
    );
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}

/// Returns the module's result from the runner's output, or async_wrapper's failure
/// when the runner printed no JSON object. A runner's standard error becomes `stderr`.
fn runner_result(call: &ModuleCall, stdout: &str, stderr: &str) -> Map {
    let parsed = serde_json::from_str::<serde_json::Value>(stdout.trim()).map(Value::from);
    let mut result = match parsed {
        Ok(Value::Map(map)) => (*map).clone(),
        _ => {
            return job_state(&[
                ("failed", Value::Int(1)),
                ("cmd", Value::from(call.module.clone())),
                ("data", Value::from(stdout)),
                ("stderr", Value::from(stderr)),
                ("msg", Value::from("the module runner printed no result")),
            ])
        }
    };
    if !stderr.is_empty() {
        result.insert(Value::from("stderr"), Value::from(stderr));
    }
    result
}

/// The process group and session the runner and watcher processes start in.
#[derive(Clone, Copy)]
enum Group {
    /// A new process group, which a timeout kills as a whole.
    New,
    /// A new session without a terminal, which outlives the agent and its SSH channel.
    NewSession,
}

/// Starts this binary again as `rplay agent ARG`, with standard input piped and the
/// other streams piped for the runner or discarded for the watcher.
fn spawn_self(arg: &str, group: Group) -> std::io::Result<Child> {
    use std::os::unix::process::CommandExt;

    let mut command = Command::new(self_exe());
    command.arg("agent").arg(arg).stdin(Stdio::piped());
    match group {
        Group::New => {
            command
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .process_group(0);
        }
        Group::NewSession => {
            command.stdout(Stdio::null()).stderr(Stdio::null());
            // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
            unsafe {
                command.pre_exec(|| {
                    if libc::setsid() < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
    }
    command.spawn()
}

/// Returns the binary to start again. `/proc/self/exe` still names it after an unprivileged
/// become user's agent copy has been removed from disk.
fn self_exe() -> PathBuf {
    let proc_exe = PathBuf::from("/proc/self/exe");
    if proc_exe.exists() {
        return proc_exe;
    }
    std::env::current_exe().unwrap_or(proc_exe)
}

/// Runs `call` in a runner process. After `limit` the runner's process group gets
/// SIGKILL, and `after_kill` passes before this returns.
fn run_in_child(call: &ModuleCall, limit: Option<Duration>, after_kill: Duration) -> Ending {
    let mut child = match spawn_self(RUN_MODULE_ARG, Group::New) {
        Ok(child) => child,
        Err(err) => return Ending::NotStarted(format!("could not start the module runner: {err}")),
    };
    let pid = child.id();
    if let Some(mut stdin) = child.stdin.take() {
        let sent = serde_json::to_vec(call).map_err(std::io::Error::other);
        let _ = sent.and_then(|bytes| stdin.write_all(&bytes));
    }
    let stdout = read_in_thread(child.stdout.take());
    let stderr = read_in_thread(child.stderr.take());
    let deadline = limit.map(|limit| Instant::now() + limit);
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => break,
            Ok(None) => {}
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            // SAFETY: kill only sends a signal; the group is the runner's own.
            unsafe {
                libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
            }
            let _ = child.wait();
            std::thread::sleep(after_kill);
            return Ending::Killed { pid };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ending::Finished {
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

fn read_in_thread(stream: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut stream) = stream {
            let _ = stream.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Returns a number below 999999999999, as ansible-core's `secrets.randbelow(999999999999)`,
/// from the clock and the process id: job ids need to be unique, not secret.
fn random_number() -> u64 {
    use std::hash::{BuildHasher, Hasher};

    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    hasher.finish() % 999_999_999_999
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_period_follows_async_wrapper_steps() {
        assert_eq!(watch_period(2), Duration::from_secs(2));
        assert_eq!(watch_period(5), Duration::from_secs(5));
        assert_eq!(watch_period(7), Duration::from_secs(10));
        assert_eq!(watch_period(10), Duration::from_secs(10));
        assert_eq!(watch_period(11), Duration::from_secs(15));
    }

    #[test]
    fn job_file_is_python_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j1.2");
        let state = job_state(&[
            ("started", Value::Int(1)),
            ("finished", Value::Int(0)),
            ("ansible_job_id", Value::from("j1.2")),
        ]);
        write_job_file(&path, &state).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            r#"{"started": 1, "finished": 0, "ansible_job_id": "j1.2"}"#
        );
        assert!(!dir.path().join("j1.2.tmp").exists());
    }

    #[test]
    fn runner_output_without_json_is_a_failure() {
        let call = ModuleCall::new("ping", &Map::new(), &ModuleOptions::default());
        let result = runner_result(&call, "panicked", "trace");
        assert_eq!(result.get("failed"), Some(&Value::Int(1)));
        assert_eq!(result.get("data"), Some(&Value::from("panicked")));
        assert_eq!(result.get("stderr"), Some(&Value::from("trace")));
    }

    #[test]
    fn runner_stderr_replaces_the_module_stderr() {
        let call = ModuleCall::new("ping", &Map::new(), &ModuleOptions::default());
        let result = runner_result(&call, r#"{"ping": "pong"}"#, "printed\n");
        assert_eq!(result.get("ping"), Some(&Value::from("pong")));
        assert_eq!(result.get("stderr"), Some(&Value::from("printed\n")));
        let quiet = runner_result(&call, r#"{"ping": "pong"}"#, "");
        assert!(!quiet.contains_key("stderr"));
    }

    #[test]
    fn random_number_is_below_ansible_bound() {
        for _ in 0..100 {
            assert!(random_number() < 999_999_999_999);
        }
    }
}
