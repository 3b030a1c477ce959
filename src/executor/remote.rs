//! Running modules on targets: the connection settings of a host, resolved from its
//! variables and the run's defaults, and the dispatch to the local machine or the agent.

use std::path::PathBuf;
use std::time::Duration;

use rplay_modules::dispatch::{run_module, ModuleOptions};

use super::actions::Target;
use super::context::TaskContext;
use super::events::Event;
use super::task::truthy_keyword;
use super::Executor;
use crate::connection::options::{expand_home, parse_ssh_words, SshOptions, SshWordsError};
use crate::connection::{
    Become, ConnectionError, ConnectionSpec, ExecOutput, ModuleCall, OpenSshWords,
};
use crate::playbook::value_text;
use crate::template::vault_values::decrypt_arguments;
use crate::template::Variables;
use crate::vars::HostVars;
use crate::{Map, Value};

/// Connection settings from the command line and `ansible.cfg`, before host variables.
#[derive(Clone, Debug, Default)]
pub struct ConnectionDefaults {
    /// `-c`, or `transport` from the settings.
    pub transport: String,
    /// `-u`, `remote_user`, or the controller user's name.
    pub remote_user: String,
    /// `-u` or `remote_user`; `None` when neither is set.
    pub configured_remote_user: Option<String>,
    pub remote_port: Option<u16>,
    pub private_key: Option<PathBuf>,
    /// `-T` or `timeout`, in seconds.
    pub timeout: u64,
    pub host_key_checking: bool,
    pub ssh_args: String,
    pub ssh_common_args: String,
    pub ssh_extra_args: String,
    /// `retries` of the ssh connection plugin: extra connection attempts.
    pub retries: u32,
    /// The controller user's home directory, for `~/` in key paths and default keys.
    pub home: Option<PathBuf>,
    /// `SSH_AUTH_SOCK`: the ssh-agent to ask for keys.
    pub agent_socket: Option<PathBuf>,
    /// `-b` or `become` from the settings.
    pub become_enabled: bool,
    pub become_method: String,
    pub become_user: String,
    /// `become_allow_same_user`: become even when the become user is the login user.
    pub become_allow_same_user: bool,
    pub become_exe: Option<String>,
    /// `become_flags` from the settings; empty for the method's own default.
    pub become_flags: String,
    /// The password `--become-password-file` gave.
    pub become_password: Option<String>,
}

/// sudo's flags when `become_flags` is not set, as ansible-core's sudo plugin has them.
const SUDO_DEFAULT_FLAGS: &str = "-H -S -n";

/// OpenSSH's default identity files, in the order it tries them.
const DEFAULT_KEY_FILES: &[&str] = &[
    "id_rsa",
    "id_ecdsa",
    "id_ecdsa_sk",
    "id_ed25519",
    "id_ed25519_sk",
];

impl Executor<'_> {
    /// Runs a module on `target`: in this process for a local connection, else in the
    /// target's agent. Connection failures become unreachable results.
    pub(super) fn run_module_on(
        &self,
        target: &Target,
        module: &str,
        args: &Map,
        options: &ModuleOptions,
        vars: &HostVars,
    ) -> Map {
        let decrypted = match decrypt_arguments(args, self.templar.vault_secrets()) {
            Ok(decrypted) => decrypted,
            Err(error) => return failed(error.message),
        };
        let args = decrypted.as_ref().unwrap_or(args);
        let spec = if target.is_local() {
            // Without escalation a local module runs in this process.
            let spec = self.local_spec(target);
            if self.applied_escalation(target, &spec).is_none() {
                return run_module(module, args, options);
            }
            spec
        } else {
            match self.connection_spec(target, vars) {
                Ok(spec) => spec,
                Err(message) => return failed(message),
            }
        };
        let escalation = self.applied_escalation(target, &spec);
        let call = ModuleCall {
            module,
            args,
            options,
        };
        // ansible-core shows each command it runs at -vvv; rplay runs one per agent.
        let mut on_start = |command: &str| {
            self.emit(Event::Verbose {
                level: 3,
                text: format!("<{}> EXEC {command}", spec.address),
            });
        };
        match self
            .connections
            .run_module(&spec, escalation, call, &mut on_start)
        {
            Ok(result) => result,
            // ansible-core runs a module under become on a pseudo-terminal over SSH unless
            // it pipelines, so what the become program printed arrives on standard output.
            Err(ConnectionError::ModuleFailure { rc, stderr })
                if !target.is_local() && !options.pipelining =>
            {
                module_failure(rc, "", &stderr.replace('\n', "\r\n"))
            }
            Err(err) => connection_failure(&err),
        }
    }

    /// Resolves the task's privilege escalation: the `ansible_become*` variables over the
    /// `become*` keywords over the command line and settings. `None` without `become`.
    pub(super) fn escalation(
        &self,
        context: &TaskContext,
        vars: &HostVars,
    ) -> Result<Option<Become>, String> {
        let template = |value: &Value| -> Result<Value, String> {
            self.templar
                .template(value, vars)
                .map_err(|err| err.message.clone())
        };
        let setting = |variables: &[&str], keyword: &str| -> Result<Option<Value>, String> {
            for name in variables {
                if let Some(raw) = vars.get(name) {
                    return template(&raw).map(Some);
                }
            }
            self.keyword_value(context, keyword, vars)
                .map_err(|err| err.message.clone())
        };
        let defaults = &self.options.connection;
        let enabled = match setting(&["ansible_become"], "become")? {
            Some(value) => truthy_keyword(&value),
            None => defaults.become_enabled,
        };
        if !enabled {
            return Ok(None);
        }
        let text = |value: Option<Value>| value.filter(|v| !v.is_null()).map(|v| value_text(&v));
        let method = text(setting(&["ansible_become_method"], "become_method")?)
            .unwrap_or_else(|| defaults.become_method.clone());
        let user = text(setting(&["ansible_become_user"], "become_user")?)
            .unwrap_or_else(|| defaults.become_user.clone());
        let exe = text(setting(&["ansible_become_exe"], "become_exe")?)
            .or_else(|| defaults.become_exe.clone());
        let flags = text(setting(&["ansible_become_flags"], "become_flags")?)
            .unwrap_or_else(|| defaults.become_flags.clone());
        let flags = if flags.trim().is_empty() && method == "sudo" {
            SUDO_DEFAULT_FLAGS.to_string()
        } else {
            flags
        };
        let password = text(setting(
            &[
                "ansible_become_password",
                "ansible_become_pass",
                "ansible_sudo_pass",
            ],
            "",
        )?)
        .or_else(|| defaults.become_password.clone());
        Ok(Some(Become {
            method,
            user,
            exe,
            flags,
            password,
        }))
    }

    /// Returns the task's escalation unless it would become the login user itself, which
    /// ansible-core skips unless `become_allow_same_user` is set.
    fn applied_escalation<'t>(
        &self,
        target: &'t Target,
        spec: &ConnectionSpec,
    ) -> Option<&'t Become> {
        target.escalation.as_ref().filter(|escalation| {
            self.options.connection.become_allow_same_user
                || escalation.user != spec.user
                || (escalation.user.is_empty() && spec.user.is_empty())
        })
    }

    /// Runs `raw`: the command through the target's login shell, without the agent.
    pub(super) fn run_raw(&self, target: &Target, command: &str, vars: &HostVars) -> Map {
        let spec = if target.is_local() {
            let spec = self.local_spec(target);
            if self.applied_escalation(target, &spec).is_none() {
                let mut args = Map::new();
                args.insert(Value::from("_raw_params"), Value::from(command));
                let mut result = run_module("shell", &args, &ModuleOptions::default());
                return raw_result(&mut result);
            }
            spec
        } else {
            match self.connection_spec(target, vars) {
                Ok(spec) => spec,
                Err(message) => return failed(message),
            }
        };
        let command = match self.applied_escalation(target, &spec) {
            Some(escalation) => match raw_become_command(escalation, command) {
                Ok(command) => command,
                Err(err) => return connection_failure(&err),
            },
            None => command.to_string(),
        };
        match self.connections.exec(&spec, &command) {
            Ok(output) => {
                let mut result = Map::new();
                let rc = output.status.map_or(-1, i64::from);
                let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
                let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
                result.insert(Value::from("rc"), Value::from(rc));
                result.insert(Value::from("stdout"), Value::from(stdout));
                result.insert(Value::from("stderr"), Value::from(stderr));
                raw_result(&mut result)
            }
            Err(err) => connection_failure(&err),
        }
    }

    /// Runs a shell command on `target` without the agent, as ansible-core's
    /// `_low_level_execute_command` does: through the become method when the task has
    /// one, feeding it `stdin`, on a pseudo-terminal when `terminal` is set (remote
    /// targets only). A connection failure returns the task's result as `Err`.
    pub(super) fn run_shell(
        &self,
        target: &Target,
        command: &str,
        stdin: Option<&[u8]>,
        terminal: bool,
        vars: &HostVars,
    ) -> Result<ExecOutput, Map> {
        let spec = if target.is_local() {
            let spec = self.local_spec(target);
            if self.applied_escalation(target, &spec).is_none() {
                return run_local_shell(command, stdin).map_err(|err| {
                    failed(format!("failed to run /bin/sh on the controller: {err}"))
                });
            }
            spec
        } else {
            self.connection_spec(target, vars).map_err(failed)?
        };
        let command = match self.applied_escalation(target, &spec) {
            Some(escalation) => {
                raw_become_command(escalation, command).map_err(|err| connection_failure(&err))?
            }
            None => command.to_string(),
        };
        self.connections
            .exec_input(&spec, &command, stdin, terminal)
            .map_err(|err| connection_failure(&err))
    }

    /// Resolves the connection settings for `target`: its variables first, then the command
    /// line and settings, then OpenSSH's option words in the order ansible-core passes them
    /// (the first value of an option wins, as in OpenSSH).
    fn connection_spec(&self, target: &Target, vars: &HostVars) -> Result<ConnectionSpec, String> {
        if !matches!(
            target.connection.as_str(),
            "ssh" | "smart" | "paramiko" | "ansible.builtin.ssh"
        ) {
            return Err(format!(
                "the connection plugin '{}' is not supported by rplay; use ssh or local",
                target.connection
            ));
        }
        let var = |names: &[&str]| self.connection_var(target, vars, names);
        let defaults = &self.options.connection;
        let home = defaults
            .home
            .as_ref()
            .map(|home| home.display().to_string());
        let expand = |path: &str| PathBuf::from(expand_home(path, home.as_deref()));

        let address =
            var(&["ansible_host", "ansible_ssh_host"]).unwrap_or_else(|| target.name.clone());
        let port = var(&["ansible_port", "ansible_ssh_port"])
            .map(|text| {
                text.parse::<u16>()
                    .map_err(|_| format!("invalid ansible_port '{text}' for {}", target.name))
            })
            .transpose()?;
        let user = var(&["ansible_user", "ansible_ssh_user"]);
        let key = var(&["ansible_ssh_private_key_file", "ansible_private_key_file"])
            .map(|path| expand(&path));
        let timeout = var(&["ansible_ssh_timeout", "ansible_timeout"])
            .and_then(|text| text.parse::<u64>().ok())
            .unwrap_or(defaults.timeout);
        let host_key_checking =
            var(&["ansible_ssh_host_key_checking", "ansible_host_key_checking"])
                .map(|text| crate::config::parse_bool(&text))
                .unwrap_or(defaults.host_key_checking);
        let [ssh_args, common_args, extra_args] = self.ssh_arg_texts(target, vars);
        let retries = var(&["ansible_ssh_retries"])
            .and_then(|text| text.parse::<u32>().ok())
            .unwrap_or(defaults.retries);

        let mut leading = split_words(&ssh_args)?;
        if !host_key_checking {
            leading.extend(["-o".to_string(), "StrictHostKeyChecking=no".to_string()]);
        }
        let mut trailing = split_words(&common_args)?;
        trailing.extend(split_words(&extra_args)?);
        let words: Vec<String> = leading.iter().chain(&trailing).cloned().collect();
        let (options, openssh) = match parse_ssh_words(&words) {
            Ok(options) => (options, None),
            // Options only OpenSSH honours (ProxyCommand, ProxyJump...) hand the
            // connection to the OpenSSH client.
            Err(SshWordsError::Unsupported(reason)) => {
                tracing::debug!(host = %target.name, %reason, "using the OpenSSH client");
                (
                    SshOptions::default(),
                    Some(OpenSshWords { leading, trailing }),
                )
            }
            Err(SshWordsError::Invalid(message)) => {
                return Err(format!("{message} (host {})", target.name))
            }
        };
        let SshOptions {
            strict_host_key_checking,
            user_known_hosts_file,
            connect_timeout,
            connection_attempts,
            port: option_port,
            user: option_user,
            identity_files,
        } = options;

        let mut private_keys: Vec<PathBuf> = key
            .or_else(|| defaults.private_key.clone())
            .into_iter()
            .collect();
        private_keys.extend(
            identity_files
                .iter()
                .map(|path| expand(&path.display().to_string())),
        );
        if private_keys.is_empty() {
            if let Some(home) = &defaults.home {
                private_keys.extend(
                    DEFAULT_KEY_FILES
                        .iter()
                        .map(|name| home.join(".ssh").join(name))
                        .filter(|path| path.is_file()),
                );
            }
        }
        Ok(ConnectionSpec {
            host: target.name.clone(),
            address,
            port: port.or(option_port).or(defaults.remote_port).unwrap_or(22),
            user: user
                .or_else(|| target.remote_user.clone())
                .or(option_user)
                .unwrap_or_else(|| defaults.remote_user.clone()),
            private_keys,
            agent_socket: defaults.agent_socket.clone(),
            timeout: connect_timeout.unwrap_or(Duration::from_secs(timeout.max(1))),
            connection_attempts: connection_attempts.unwrap_or(1) + retries,
            host_key_checking: strict_host_key_checking.unwrap_or(true),
            known_hosts: user_known_hosts_file,
            openssh,
            local: false,
        })
    }

    /// Returns the connection settings of a local target, for the commands that privilege
    /// escalation makes rplay run as child processes.
    fn local_spec(&self, target: &Target) -> ConnectionSpec {
        ConnectionSpec {
            host: target.name.clone(),
            address: "127.0.0.1".into(),
            port: 0,
            user: crate::connection::local::login_user(),
            private_keys: Vec::new(),
            agent_socket: None,
            timeout: Duration::from_secs(self.options.connection.timeout.max(1)),
            connection_attempts: 1,
            host_key_checking: false,
            known_hosts: None,
            openssh: None,
            local: true,
        }
    }

    /// Returns the first of the connection variables `names` that `target` defines,
    /// templated, as text; `None` when none is defined or all are null.
    fn connection_var(&self, target: &Target, vars: &HostVars, names: &[&str]) -> Option<String> {
        let host_vars = self.target_vars(target, vars);
        names.iter().find_map(|name| {
            let raw = host_vars.get(name)?;
            let value = self.templar.template(&raw, vars).ok()?;
            (!value.is_null()).then(|| value_text(&value))
        })
    }

    /// Returns the `ssh_args`, `ssh_common_args` and `ssh_extra_args` of `target`'s
    /// connection: its variables over the command line and settings.
    pub(super) fn ssh_arg_texts(&self, target: &Target, vars: &HostVars) -> [String; 3] {
        let defaults = &self.options.connection;
        [
            ("ansible_ssh_args", &defaults.ssh_args),
            ("ansible_ssh_common_args", &defaults.ssh_common_args),
            ("ansible_ssh_extra_args", &defaults.ssh_extra_args),
        ]
        .map(|(name, default)| {
            self.connection_var(target, vars, &[name])
                .unwrap_or_else(|| default.clone())
        })
    }

    /// Returns the login user ansible-core's connection plugin has for `target` before
    /// the SSH client picks one: the user variables, the `remote_user` keyword, then `-u`
    /// or the `remote_user` setting. `None` when nothing sets it.
    pub(super) fn configured_login_user(&self, target: &Target, vars: &HostVars) -> Option<String> {
        self.connection_var(target, vars, &["ansible_user", "ansible_ssh_user"])
            .or_else(|| target.remote_user.clone())
            .or_else(|| self.options.connection.configured_remote_user.clone())
    }

    /// Returns the private key file of `target`'s connection as its variables, `--private-key`
    /// or the `private_key_file` setting give it, without expanding `~`.
    pub(super) fn configured_private_key(
        &self,
        target: &Target,
        vars: &HostVars,
    ) -> Option<String> {
        self.connection_var(
            target,
            vars,
            &["ansible_ssh_private_key_file", "ansible_private_key_file"],
        )
        .or_else(|| {
            self.options
                .connection
                .private_key
                .as_ref()
                .map(|path| path.display().to_string())
        })
    }

    /// Returns the variables of the host a task's module runs on: the task host's own, or
    /// the delegate's inventory variables.
    fn target_vars(&self, target: &Target, vars: &HostVars) -> Box<dyn Variables> {
        match &target.delegate_vars {
            Some(delegate_vars) => Box::new(MapVariables(delegate_vars.clone())),
            None => Box::new(vars.clone()),
        }
    }
}

/// A host's inventory variables as [`Variables`], for a delegate's connection settings.
struct MapVariables(std::sync::Arc<Map>);

impl Variables for MapVariables {
    fn get(&self, name: &str) -> Option<Value> {
        self.0.get(name).cloned()
    }
    fn names(&self) -> Vec<String> {
        self.0.keys().map(value_text).collect()
    }
    fn host(&self, _name: &str) -> Option<std::sync::Arc<dyn Variables>> {
        None
    }
    fn hosts(&self) -> Vec<String> {
        Vec::new()
    }
}

fn split_words(text: &str) -> Result<Vec<String>, String> {
    rplay_modules::command::split_command(text)
        .map_err(|message| format!("invalid ssh arguments '{text}': {message}"))
}

/// ansible-core's result for a host it cannot reach or talk to, or a failed task for a
/// failed privilege escalation.
fn connection_failure(err: &ConnectionError) -> Map {
    if let ConnectionError::ModuleFailure { rc, stderr } = err {
        return module_failure(*rc, stderr, "");
    }
    if let ConnectionError::Become(message) | ConnectionError::LostAndCleanupFailed(message) = err {
        let mut result = failed(message.clone());
        result.insert(Value::from(super::actions::RAISED), Value::Bool(true));
        return result;
    }
    let mut result = Map::new();
    result.insert(Value::from("unreachable"), Value::Bool(true));
    result.insert(Value::from("msg"), Value::from(err.message()));
    result.insert(Value::from("changed"), Value::Bool(false));
    result
}

/// Builds ansible-core's result for a module that printed no result: its output and
/// exit status.
fn module_failure(rc: u32, stderr: &str, stdout: &str) -> Map {
    let mut result = Map::new();
    result.insert(Value::from("changed"), Value::Bool(false));
    result.insert(Value::from("module_stderr"), Value::from(stderr));
    result.insert(Value::from("module_stdout"), Value::from(stdout));
    result.insert(
        Value::from("msg"),
        Value::from(
            "MODULE FAILURE: No start of json char found\nSee stdout/stderr for the exact error",
        ),
    );
    result.insert(Value::from("rc"), Value::from(i64::from(rc)));
    result.insert(Value::from("failed"), Value::Bool(true));
    result
}

/// Runs `command` with `/bin/sh -c` on the controller, for a local connection.
fn run_local_shell(command: &str, stdin: Option<&[u8]>) -> std::io::Result<ExecOutput> {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.unwrap_or_default())?;
    }
    let output = child.wait_with_output()?;
    Ok(ExecOutput {
        status: output
            .status
            .code()
            .and_then(|code| u32::try_from(code).ok()),
        stdout: output.stdout,
        stderr: output.stderr,
    })
}

/// `raw`'s command under become: run by `/bin/sh` as the become user, as ansible-core's
/// `_low_level_execute_command` builds it.
///
/// NOTE: raw output is collected without a conversation, so a password prompt is not
/// answered: sudo keeps `-n` and fails at once, and su's prompt gets no answer.
fn raw_become_command(escalation: &Become, command: &str) -> Result<String, ConnectionError> {
    let shell_command = format!(
        "/bin/sh -c {}",
        rplay_modules::command::shell_quote(command)
    );
    let without_password = Become {
        password: None,
        ..escalation.clone()
    };
    let (wrapped, _) = without_password.wrap(&shell_command)?;
    Ok(wrapped)
}

fn failed(message: String) -> Map {
    let mut result = Map::new();
    result.insert(Value::from("failed"), Value::Bool(true));
    result.insert(Value::from("msg"), Value::from(message));
    result
}

/// Completes a `raw` result as ansible-core's raw action does: output lines, `changed`
/// always true, and a failure for a non-zero status.
fn raw_result(result: &mut Map) -> Map {
    let mut out = Map::new();
    let rc = result.get("rc").cloned().unwrap_or(Value::Int(-1));
    let stdout = result.get("stdout").map(value_text).unwrap_or_default();
    let stderr = result.get("stderr").map(value_text).unwrap_or_default();
    let lines = |text: &str| Value::list(text.lines().map(Value::from).collect());
    out.insert(Value::from("rc"), rc.clone());
    out.insert(Value::from("stdout"), Value::from(stdout.clone()));
    out.insert(Value::from("stdout_lines"), lines(&stdout));
    out.insert(Value::from("stderr"), Value::from(stderr.clone()));
    out.insert(Value::from("stderr_lines"), lines(&stderr));
    out.insert(Value::from("changed"), Value::Bool(true));
    if rc != Value::Int(0) {
        out.insert(Value::from("failed"), Value::Bool(true));
        out.insert(Value::from("msg"), Value::from("non-zero return code"));
    }
    out
}
