//! The `ansible.posix.synchronize` action (ansible.posix 1.6.2): decides which machine
//! runs rsync and turns the host's connection settings into the module's arguments.
//!
//! rsync runs on the controller, unless the task is delegated to a remote host, which
//! then runs it. One end of the transfer is the machine rsync runs on, the other is the
//! task's host (`ansible_host`), reached with `user@host:path` through `ssh`. `mode: pull`
//! swaps the two ends. When the task is delegated to its own host, both ends are on that
//! host and rsync copies locally there.

use std::path::{Path, PathBuf};

use super::actions::{failed_result, ActionOutcome, Target};
use super::context::TaskContext;
use super::include_path::{dwim_relative, IncludeSite};
use super::Executor;
use crate::playbook::value_text;
use crate::template::Variables;
use crate::vars::HostVars;
use crate::{Map, Value};

/// ansible-core's `C.LOCALHOST`: the names that mean the machine itself.
const LOCALHOST: &[&str] = &["127.0.0.1", "localhost", "::1"];

/// The module the action runs; its messages name it so however the task wrote the action.
const MODULE: &str = "ansible.posix.synchronize";

/// Transports whose containers rsync enters with the container tool instead of `ssh`.
const CONTAINER_TRANSPORTS: &[&str] = &[
    "docker",
    "community.general.docker",
    "community.docker.docker",
    "podman",
    "ansible.builtin.podman",
    "containers.podman.podman",
    "buildah",
    "containers.podman.buildah",
];

/// The two ends of the transfer and the machine that runs rsync.
struct Ends {
    /// The connection of the host the task runs on (the delegate when delegated) is
    /// not `local`.
    remote_transport: bool,
    /// rsync runs on the host that also has the files of the other end, so neither
    /// path needs a `host:` part.
    dest_is_local: bool,
    /// rsync runs on the delegate; else on the controller.
    use_delegate: bool,
    /// The task's host as rsync reaches it: `ansible_host`, or `127.0.0.1` when rsync
    /// runs on that host itself.
    dest_host: String,
    /// The SSH port of the task's host (`ansible_port`, else the `remote_port` setting).
    inventory_port: Option<String>,
    /// The task's host port is one of the localhost entries' ports.
    port_matches_localhost: bool,
}

/// Runs `synchronize` for one host.
pub(super) fn synchronize(
    executor: &Executor<'_>,
    context: &TaskContext,
    host: &str,
    args: &Map,
    vars: &HostVars,
) -> Result<ActionOutcome, String> {
    let target = executor.target(context, host, vars)?;
    let transport = transport_name(&target);
    let delegate_to = executor
        .delegations
        .get(host)
        .map(|delegation| delegation.name.clone());
    if let Some(failure) = unsupported_transport(&transport, delegate_to.is_some())? {
        return Ok(outcome(failure));
    }

    let mut module_args = args.clone();
    add_connection_args(executor, &target, vars, &transport, &mut module_args);
    let ends = find_ends(executor, host, vars, delegate_to, transport != "local");
    if module_args.get("dest_port").is_none_or(Value::is_null) {
        if let Some(port) = &ends.inventory_port {
            module_args.insert(Value::from("dest_port"), Value::from(port.as_str()));
        }
    }
    let (Some(src), Some(dest)) = (
        arg_text(&module_args, "src"),
        arg_text(&module_args, "dest"),
    ) else {
        return Ok(outcome(failed_result(
            "synchronize requires both src and dest parameters are set".to_string(),
        )));
    };
    let paths = PathRewrite {
        executor,
        context,
        transport: if !ends.use_delegate && ends.remote_transport {
            // The action swapped its connection for a local one here.
            "local".to_string()
        } else {
            transport.clone()
        },
    };
    let password = if ends.dest_is_local {
        module_args.insert(Value::from("src"), Value::from(paths.absolute(&src)));
        module_args.insert(Value::from("dest"), Value::from(paths.absolute(&dest)));
        // Read from the task's variables untemplated, as the action does.
        ["ansible_ssh_pass", "ansible_password"]
            .iter()
            .find_map(|name| vars.get(name).filter(Value::is_truthy))
    } else {
        let user = remote_user(executor, &target, vars, &ends, &module_args);
        if !module_args.contains_key("private_key") {
            let key = executor
                .configured_private_key(&target, vars)
                .map_or(Value::Null, Value::from);
            module_args.insert(Value::from("private_key"), key);
        }
        let (src, dest) = paths.remote_ends(&mut module_args, &ends, &src, &dest, user.as_deref());
        module_args.insert(Value::from("src"), Value::from(src));
        module_args.insert(Value::from("dest"), Value::from(dest));
        inventory_password(executor, host, vars)?
    };
    module_args.insert(
        Value::from("_local_rsync_password"),
        password.unwrap_or(Value::Null),
    );
    let rsync_path = escalated_rsync_path(&target, &ends, &module_args);
    module_args.insert(Value::from("rsync_path"), rsync_path);

    let mut options = executor.module_options(context, vars)?;
    options.module_name = Some(MODULE.to_string());
    let runner = if ends.use_delegate || !ends.remote_transport {
        target
    } else {
        controller_target()
    };
    let result = executor.run_module_on(&runner, MODULE, &module_args, &options, vars);
    Ok(outcome(result))
}

/// Returns the action's failed result for a transport rsync cannot use without a
/// delegate, and an error for the container transports rplay lacks.
fn unsupported_transport(transport: &str, delegated: bool) -> Result<Option<Map>, String> {
    if CONTAINER_TRANSPORTS.contains(&transport) {
        // NOTE: the action runs rsync with `--rsh='docker exec ...'` (or podman,
        // buildah) for these; rplay has no container connections.
        return Err(format!(
            "rplay cannot run synchronize over the '{transport}' connection"
        ));
    }
    if delegated || matches!(transport, "ssh" | "paramiko" | "local") {
        return Ok(None);
    }
    Ok(Some(failed_result(format!(
        "synchronize uses rsync to function. rsync needs to connect to the remote host via ssh, docker client or a direct filesystem copy. This remote host is being accessed via {transport} instead so it cannot work."
    ))))
}

/// Adds `_ssh_args` (the connection's `ssh_args`, `ssh_common_args` and
/// `ssh_extra_args` when the task sets `use_ssh_args`) and `_local_rsync_path`
/// (`ansible_rsync_path`) to the module's arguments.
fn add_connection_args(
    executor: &Executor<'_>,
    target: &Target,
    vars: &HostVars,
    transport: &str,
    module_args: &mut Map,
) {
    // The action tests the value as Python does, so the string "no" counts as set.
    let use_ssh_args = module_args
        .shift_remove("use_ssh_args")
        .is_some_and(|value| value.is_truthy());
    if use_ssh_args && transport == "ssh" {
        let texts = executor.ssh_arg_texts(target, vars);
        let joined: Vec<&str> = texts
            .iter()
            .map(String::as_str)
            .filter(|text| !text.is_empty())
            .collect();
        module_args.insert(Value::from("_ssh_args"), Value::from(joined.join(" ")));
    }
    let rsync_path = template_var(executor, vars, "ansible_rsync_path")
        .filter(Value::is_truthy)
        .map_or_else(|| "rsync".to_string(), |value| value_text(&value));
    module_args.insert(Value::from("_local_rsync_path"), Value::from(rsync_path));
}

/// Returns `rsync_path`: the task's, else `sudo -u USER rsync` when the task becomes
/// with sudo and the host's end is remote. Other become methods get none.
fn escalated_rsync_path(target: &Target, ends: &Ends, module_args: &Map) -> Value {
    let given = module_args
        .get("rsync_path")
        .cloned()
        .unwrap_or(Value::Null);
    if ends.dest_is_local || given.is_truthy() {
        return given;
    }
    match target.escalation.as_ref().filter(|e| e.method == "sudo") {
        Some(escalation) if escalation.user.is_empty() => Value::from("sudo rsync"),
        Some(escalation) => Value::from(format!("sudo -u {} rsync", escalation.user)),
        None => given,
    }
}

fn outcome(result: Map) -> ActionOutcome {
    ActionOutcome {
        result,
        effects: Vec::new(),
    }
}

/// Returns the connection's transport name as ansible-core's plugins report it.
fn transport_name(target: &Target) -> String {
    if target.is_local() {
        return "local".to_string();
    }
    let name = target.connection.as_str();
    match name {
        "smart" | "ssh" | "ansible.builtin.ssh" | "ansible.legacy.ssh" => "ssh",
        "paramiko" | "paramiko_ssh" | "ansible.builtin.paramiko_ssh" => "paramiko",
        other => other,
    }
    .to_string()
}

/// Returns the machine rplay runs on, as the local connection the action switches to.
fn controller_target() -> Target {
    Target {
        name: "localhost".to_string(),
        connection: "local".to_string(),
        delegate_vars: None,
        remote_user: None,
        escalation: None,
    }
}

fn template_var(executor: &Executor<'_>, vars: &dyn Variables, name: &str) -> Option<Value> {
    let raw = vars.get(name)?;
    executor.templar.template(&raw, vars).ok()
}

fn arg_text(args: &Map, name: &str) -> Option<String> {
    args.get(name)
        .filter(|value| !value.is_null())
        .map(value_text)
}

fn is_pull(args: &Map) -> bool {
    args.get("mode")
        .is_some_and(|mode| mode.as_str() == Some("pull"))
}

/// Works out where rsync runs and how it reaches the task's host.
fn find_ends(
    executor: &Executor<'_>,
    host: &str,
    vars: &HostVars,
    delegate_to: Option<String>,
    remote_transport: bool,
) -> Ends {
    let host_vars = vars.host(host);
    let host_vars: &dyn Variables = match &host_vars {
        Some(host_vars) => host_vars.as_ref(),
        None => vars,
    };
    let address = template_var(executor, host_vars, "ansible_host")
        .filter(|value| !value.is_null())
        .map(|value| value_text(&value));
    let host_ids: Vec<&str> = std::iter::once(host).chain(address.as_deref()).collect();

    let default_port = executor
        .options
        .connection
        .remote_port
        .map(|port| port.to_string());
    let inventory_port = template_var(executor, vars, "ansible_port")
        .filter(Value::is_truthy)
        .map(|value| value_text(&value))
        .or_else(|| default_port.clone());
    let localhost_ports = localhost_ports(executor, vars, default_port.as_deref());

    let delegate_is_host = delegate_to
        .as_deref()
        .is_some_and(|delegate| host_ids.contains(&delegate));
    let dest_is_local = (delegate_to.is_none() && !remote_transport) || delegate_is_host;
    let use_delegate = delegate_is_host || (delegate_to.is_some() && remote_transport);
    let dest_host = if delegate_is_host {
        "127.0.0.1".to_string()
    } else {
        address.unwrap_or_else(|| host.to_string())
    };
    Ends {
        port_matches_localhost: localhost_ports.contains(&inventory_port),
        remote_transport,
        dest_is_local,
        use_delegate,
        dest_host,
        inventory_port,
    }
}

/// Returns the SSH port of each localhost name in the inventory, or the `remote_port`
/// setting for a name without one.
fn localhost_ports(
    executor: &Executor<'_>,
    vars: &HostVars,
    default_port: Option<&str>,
) -> Vec<Option<String>> {
    let port_of = |local_vars: &dyn Variables| {
        ["ansible_ssh_port", "ansible_port"]
            .iter()
            .find_map(|name| {
                template_var(executor, local_vars, name)
                    .filter(Value::is_truthy)
                    .map(|value| value_text(&value))
            })
    };
    LOCALHOST
        .iter()
        .map(|name| {
            vars.host(name)
                .and_then(|local_vars| port_of(local_vars.as_ref()))
                .or_else(|| default_port.map(str::to_string))
        })
        .collect()
}

/// Returns the user in `user@host:path`, unless `set_remote_user` is off:
/// `ansible_user`, then the connection's login user, and for a delegate the
/// `remote_user` setting.
fn remote_user(
    executor: &Executor<'_>,
    target: &Target,
    vars: &HostVars,
    ends: &Ends,
    args: &Map,
) -> Option<String> {
    let set_remote_user = args
        .get("set_remote_user")
        .is_none_or(|value| rplay_modules::spec::to_bool(value).unwrap_or(false));
    if !set_remote_user {
        return None;
    }
    let user = match template_var(executor, vars, "ansible_user").filter(Value::is_truthy) {
        Some(user) => Some(value_text(&user)),
        None => executor.configured_login_user(target, vars),
    };
    match user {
        None if ends.use_delegate => executor.options.connection.configured_remote_user.clone(),
        user => user,
    }
}

/// Returns the SSH password of the task's host from its inventory variables, which the
/// module passes to `ssh` through sshpass.
fn inventory_password(
    executor: &Executor<'_>,
    host: &str,
    vars: &HostVars,
) -> Result<Option<Value>, String> {
    let Some(host_vars) = vars.host(host) else {
        return Ok(None);
    };
    for name in ["ansible_ssh_pass", "ansible_password"] {
        let Some(raw) = host_vars.get(name).filter(Value::is_truthy) else {
            continue;
        };
        return executor
            .templar
            .template(&raw, host_vars.as_ref())
            .map(Some)
            .map_err(|err| err.message.clone());
    }
    Ok(None)
}

/// Rewrites the task's `src` and `dest` for rsync's command line.
struct PathRewrite<'e, 'a> {
    executor: &'e Executor<'a>,
    context: &'e TaskContext,
    /// The transport of the action's connection when it formats the remote end: `local`
    /// when it runs rsync on the controller.
    transport: String,
}

impl PathRewrite<'_, '_> {
    /// Returns `src` and `dest` for a transfer between the machine rsync runs on and the
    /// task's host: the local end first for `push`, the host's end first for `pull`.
    fn remote_ends(
        &self,
        args: &mut Map,
        ends: &Ends,
        src: &str,
        dest: &str,
        user: Option<&str>,
    ) -> (String, String) {
        if is_pull(args) {
            let src = self.remote(args, &ends.dest_host, src, user, ends);
            (src, self.origin("127.0.0.1", dest, user))
        } else {
            let src = self.origin("127.0.0.1", src, user);
            (src, self.remote(args, &ends.dest_host, dest, user, ends))
        }
    }

    /// Returns the end on the machine rsync runs on: a local path, or `user@host:path`
    /// when that machine is not the controller's localhost.
    fn origin(&self, host: &str, path: &str, user: Option<&str>) -> String {
        if LOCALHOST.contains(&host) {
            self.absolute(path)
        } else {
            rsh_target(host, path, user)
        }
    }

    /// Returns the task host's end: `user@host:path`, unless rsync runs locally on that
    /// host.
    fn remote(
        &self,
        args: &mut Map,
        host: &str,
        path: &str,
        user: Option<&str>,
        ends: &Ends,
    ) -> String {
        let is_localhost = LOCALHOST.contains(&host);
        if !is_localhost || self.transport != "local" || !ends.port_matches_localhost {
            if ends.port_matches_localhost && is_localhost {
                // The module puts the controller's address in place of `localhost`.
                args.insert(Value::from("_substitute_controller"), Value::Bool(true));
            }
            return rsh_target(host, path, user);
        }
        self.absolute(path)
    }

    /// Finds a relative local path as the action's `_get_absolute_path` does: in the
    /// role's or the playbook's `files/`, then the other places the loader's
    /// `path_dwim_relative` tries. Remote (`host:path`) and absolute paths stay as they are.
    fn absolute(&self, path: &str) -> String {
        if path.contains(':') || path.starts_with('/') {
            return path.to_string();
        }
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let site = IncludeSite {
            role_path: None,
            play_dir: &self.executor.playbook_dir,
            enclosing: &[],
            handler: false,
            cwd: &cwd,
        };
        let base: &Path = match &self.context.role {
            Some(role) => &role.definition.path,
            None => &self.executor.playbook_dir,
        };
        let mut found = dwim_relative(&site, base, "files", path, false)
            .display()
            .to_string();
        if path.ends_with('/') && !found.ends_with('/') {
            found.push('/');
        }
        found
    }
}

/// Formats a remote rsync end: `user@host:path`, `[user@host]:path` for an IPv6
/// address. A path that already names a host (`host:path`, `user@host:path`) or an
/// rsync daemon (`rsync://`) keeps it.
fn rsh_target(host: &str, path: &str, user: Option<&str>) -> String {
    if path.starts_with("rsync://") {
        return path.to_string();
    }
    let prefix = user
        .filter(|user| !user.is_empty())
        .map(|user| format!("{user}@"))
        .unwrap_or_default();
    if host.contains(':') {
        return format!("[{prefix}{host}]:{path}");
    }
    if !path.contains(':') {
        format!("{prefix}{host}:{path}")
    } else if !path.contains('@') {
        format!("{prefix}{path}")
    } else {
        path.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::rsh_target;

    #[test]
    fn rsh_target_forms() {
        assert_eq!(rsh_target("h", "/p", Some("u")), "u@h:/p");
        assert_eq!(rsh_target("h", "/p", None), "h:/p");
        assert_eq!(rsh_target("fe80::1", "/p", Some("u")), "[u@fe80::1]:/p");
        assert_eq!(rsh_target("h", "other:/p", Some("u")), "u@other:/p");
        assert_eq!(rsh_target("h", "v@other:/p", Some("u")), "v@other:/p");
        assert_eq!(rsh_target("h", "rsync://m/p", Some("u")), "rsync://m/p");
    }
}
