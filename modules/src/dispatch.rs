//! Runs a module by name: the one entry point for the agent on a target and for
//! in-process runs on the controller.

use crate::spec::{Default, Elements, Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

/// Run-wide switches and the task's environment, as a module receives them.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ModuleOptions {
    #[serde(default)]
    pub check_mode: bool,
    #[serde(default)]
    pub diff: bool,
    /// Variables added to the environment of the processes the module starts (the
    /// task's `environment` keyword), in order; a later entry wins.
    #[serde(default)]
    pub environment: Vec<(String, String)>,
    /// The action as the task wrote it (`stat`, `ansible.builtin.stat`), which
    /// ansible-core's validation messages name.
    #[serde(default)]
    pub module_name: Option<String>,
    /// The remote temporary directory (`remote_tmp`, `~/.ansible/tmp` by default), as
    /// ansible-core's modules and actions create it on the target; `None` leaves it alone.
    #[serde(default)]
    pub remote_tmp: Option<String>,
    /// `pipelining`: ansible-core then sends modules without a temporary directory of the
    /// action's, so a module that needs one creates `remote_tmp` itself, with a warning.
    #[serde(default)]
    pub pipelining: bool,
    /// The action's temporary directory is in the system's (`/var/tmp`), as ansible-core
    /// makes it for an unprivileged become user, instead of in `remote_tmp`.
    #[serde(default)]
    pub system_tmp: bool,
    /// Set for a task with `async`: the module starts in the background and the call
    /// returns the job's launch result at once.
    #[serde(default)]
    pub async_job: Option<crate::background::AsyncJob>,
    /// The task's `timeout` keyword in seconds: the module runs in a process of its own
    /// and is killed when the time has passed.
    #[serde(default)]
    pub timeout: Option<u64>,
}

/// Modules rplay has whose ansible-core action plugin transfers files (`TRANSFERS_FILES`),
/// and so creates `remote_tmp` before the module runs.
const TRANSFER_MODULES: &[&str] = &["copy", "assemble"];

/// Modules whose ansible-core version writes through `AnsibleModule.tmpdir` when it
/// changes a file (lineinfile, blockinfile, replace, ini_file).
const TMPDIR_MODULES: &[&str] = &[
    "lineinfile",
    "blockinfile",
    "replace",
    "ini_file",
    "community.general.ini_file",
];

/// A module of this crate: its argument spec and the function that runs it.
pub struct ModuleEntry {
    pub name: &'static str,
    pub spec: &'static ModuleSpec,
    pub run: fn(&Params, &ModuleOptions) -> Map,
    /// The name in validation messages when it does not depend on how the task wrote
    /// the action: ansible-core runs these through an action plugin that calls
    /// `ansible.legacy.NAME`.
    pub fixed_name: Option<&'static str>,
    /// Changes the validated parameters before the module runs, for modules that
    /// normalise their own parameters (so `invocation.module_args` shows the result).
    pub adjust: Option<fn(&mut Params)>,
}

const fn entry(
    name: &'static str,
    spec: &'static ModuleSpec,
    run: fn(&Params, &ModuleOptions) -> Map,
) -> ModuleEntry {
    ModuleEntry {
        name,
        spec,
        run,
        fixed_name: None,
        adjust: None,
    }
}

const fn adjusted(mut module: ModuleEntry, adjust: fn(&mut Params)) -> ModuleEntry {
    module.adjust = Some(adjust);
    module
}

const fn through_action(mut module: ModuleEntry, fixed_name: &'static str) -> ModuleEntry {
    module.fixed_name = Some(fixed_name);
    module
}

const ENTRIES: &[ModuleEntry] = &[
    through_action(
        entry("command", &crate::command::SPEC, run_command),
        "ansible.legacy.command",
    ),
    through_action(
        entry("shell", &crate::command::SPEC, run_command),
        "ansible.legacy.command",
    ),
    entry("ping", &PING_SPEC, ping),
    entry(
        "async_status",
        &crate::async_status::SPEC,
        crate::async_status::run,
    ),
    entry("stat", &crate::stat::SPEC, crate::stat::run),
    entry("file", &crate::file::SPEC, crate::file::run),
    through_action(
        entry("copy", &crate::copy::SPEC, crate::copy::run),
        "ansible.legacy.copy",
    ),
    entry(
        "lineinfile",
        &crate::lineinfile::SPEC,
        crate::lineinfile::run,
    ),
    entry(
        "blockinfile",
        &crate::blockinfile::SPEC,
        crate::blockinfile::run,
    ),
    entry("replace", &crate::replace::SPEC, crate::replace::run),
    entry("slurp", &crate::slurp::SPEC, crate::slurp::run),
    through_action(
        entry("assemble", &crate::assemble::SPEC, crate::assemble::run),
        "ansible.legacy.assemble",
    ),
    entry("find", &crate::find::SPEC, crate::find::run),
    entry("setup", &SETUP_SPEC, setup),
    entry("tempfile", &crate::tempfile::SPEC, crate::tempfile::run),
    entry("group", &crate::group::SPEC, crate::group::run),
    entry("user", &crate::user::SPEC, crate::user::run),
    adjusted(
        entry(
            "ansible.posix.sysctl",
            &crate::sysctl::SPEC,
            crate::sysctl::run,
        ),
        crate::sysctl::normalise,
    ),
    adjusted(
        entry("sysctl", &crate::sysctl::SPEC, crate::sysctl::run),
        crate::sysctl::normalise,
    ),
    entry(
        "systemd_service",
        &crate::systemd::SPEC,
        crate::systemd::run,
    ),
    entry("systemd", &crate::systemd::SPEC, crate::systemd::run),
    through_action(
        entry("service", &crate::systemd::SPEC, crate::systemd::run),
        "ansible.legacy.systemd",
    ),
    entry(
        "service_facts",
        &crate::service_facts::SPEC,
        crate::service_facts::run,
    ),
    entry("hostname", &crate::hostname::SPEC, crate::hostname::run),
    entry("apt", &crate::apt::SPEC, crate::apt::run),
    entry(
        "package_facts",
        &crate::package_facts::SPEC,
        crate::package_facts::run,
    ),
    entry(
        "apt_repository",
        &crate::apt_repository::SPEC,
        crate::apt_repository::run,
    ),
    through_action(
        entry("package", &crate::apt::SPEC, crate::apt::run),
        "ansible.legacy.apt",
    ),
    entry(
        "community.general.modprobe",
        &crate::modprobe::SPEC,
        crate::modprobe::run,
    ),
    entry("modprobe", &crate::modprobe::SPEC, crate::modprobe::run),
    entry(
        "community.general.ini_file",
        &crate::ini_file::SPEC,
        crate::ini_file::run,
    ),
    entry("ini_file", &crate::ini_file::SPEC, crate::ini_file::run),
    entry(
        "ansible.posix.selinux",
        &crate::selinux::SPEC,
        crate::selinux::run,
    ),
    entry("selinux", &crate::selinux::SPEC, crate::selinux::run),
    entry(
        "ansible.posix.mount",
        &crate::mount::SPEC,
        crate::mount::run,
    ),
    entry("mount", &crate::mount::SPEC, crate::mount::run),
    entry("getent", &crate::getent::SPEC, crate::getent::run),
    entry(
        "dpkg_selections",
        &crate::dpkg_selections::SPEC,
        crate::dpkg_selections::run,
    ),
    through_action(
        entry("unarchive", &crate::unarchive::SPEC, crate::unarchive::run),
        "ansible.legacy.unarchive",
    ),
    entry("get_url", &crate::get_url::SPEC, crate::get_url::run),
    entry("uri", &crate::uri::SPEC, crate::uri::run),
    entry("wait_for", &crate::wait_for::SPEC, crate::wait_for::run),
    through_action(
        entry(
            "ansible.posix.synchronize",
            &crate::synchronize::SPEC,
            crate::synchronize::run,
        ),
        "ansible.posix.synchronize",
    ),
    through_action(
        entry(
            "synchronize",
            &crate::synchronize::SPEC,
            crate::synchronize::run,
        ),
        "ansible.posix.synchronize",
    ),
];

/// `setup` in ansible-core 2.18's spec order.
const SETUP_SPEC: ModuleSpec = ModuleSpec::new(
    "setup",
    &[
        OptionSpec::new("gather_subset", Kind::List(Elements::Str))
            .default(Default::StrList(&["all"])),
        OptionSpec::new("gather_timeout", Kind::Int).default(Default::Int(10)),
        OptionSpec::new("filter", Kind::List(Elements::Str)).default(Default::EmptyList),
        OptionSpec::new("fact_path", Kind::Path)
            .default(Default::Str(crate::facts::DEFAULT_FACT_PATH)),
    ],
);

/// `setup`: gathers facts with the validated parameters.
fn setup(params: &Params, options: &ModuleOptions) -> Map {
    crate::facts::run(&params.values, &options.environment)
}

/// Modules this crate implements, by their short names.
pub const MODULES: &[&str] = &[
    "command",
    "shell",
    "ping",
    "stat",
    "file",
    "copy",
    "lineinfile",
    "blockinfile",
    "replace",
    "slurp",
    "assemble",
    "find",
    "setup",
    "tempfile",
    "group",
    "user",
    "ansible.posix.sysctl",
    "sysctl",
    "systemd_service",
    "systemd",
    "service",
    "service_facts",
    "hostname",
    "apt",
    "package_facts",
    "apt_repository",
    "getent",
    "package",
    "community.general.modprobe",
    "modprobe",
    "community.general.ini_file",
    "ini_file",
    "ansible.posix.selinux",
    "selinux",
    "ansible.posix.mount",
    "mount",
    "unarchive",
    "dpkg_selections",
    "get_url",
    "uri",
    "wait_for",
    "async_status",
    "ansible.posix.synchronize",
    "synchronize",
];

/// Returns the module `name` implements, if this crate has it.
pub fn module_entry(name: &str) -> Option<&'static ModuleEntry> {
    ENTRIES.iter().find(|module| module.name == name)
}

/// Runs `module` with `args` and returns its result as ansible-core's module would:
/// validation errors and other failures are results with `failed: true`, not errors.
/// The result carries `invocation.module_args`, and `no_log` values are hidden in it.
pub fn run_module(module: &str, args: &Map, options: &ModuleOptions) -> Map {
    if let Some(result) = run_elsewhere(module, args, options) {
        return result;
    }
    let Some(entry) = module_entry(module) else {
        return failed(format!(
            "The module {module} was not found in configured module paths"
        ));
    };
    let mut args = prepare_args(module, args);
    let mut action_warnings = Vec::new();
    if module == "service" {
        if !std::path::Path::new("/run/systemd/system").is_dir() {
            // NOTE: ansible-core's `service` action runs the init system's own module;
            // rplay has only the systemd one.
            return failed(
                "rplay runs the service action only on targets that systemd manages".into(),
            );
        }
        action_warnings = crate::systemd::service_args(&mut args);
    }
    if module == "package" {
        if let Err(message) = crate::apt::package_args(&mut args) {
            return failed(message);
        }
    }
    let spec = entry.spec;
    let name = entry
        .fixed_name
        .or(options.module_name.as_deref())
        .unwrap_or(entry.name);
    let mut params = match spec.validate_as(name, &args) {
        Ok(params) => params,
        Err(message) => return failed(message),
    };
    if let Some(adjust) = entry.adjust {
        adjust(&mut params);
    }
    let (workdir, workdir_warning) = crate::workdir::ModuleWorkdir::enter(options);
    let mut result = (entry.run)(&params, options);
    drop(workdir);
    if let Some(warning) = workdir_warning.and_then(|w| shown_workdir_warning(module, &params, w)) {
        // ansible-core warns while the module starts, before its own warnings.
        let mut warnings = vec![Value::from(warning)];
        if let Some(Value::List(more)) = result.get("warnings") {
            warnings.extend(more.iter().cloned());
        }
        result.insert(Value::from("warnings"), Value::list(warnings));
    }
    if !action_warnings.is_empty() {
        let mut warnings: Vec<Value> = action_warnings.into_iter().map(Value::from).collect();
        if let Some(Value::List(more)) = result.get("warnings") {
            warnings.extend(more.iter().cloned());
        }
        result.insert(Value::from("warnings"), Value::list(warnings));
    }
    add_path_info(&mut result);
    // A module that reports its own invocation stands for an action plugin whose
    // module never received the `no_log` values (copy's action drops `content`), so
    // its result is left as it is.
    let mut result = if result.contains_key("invocation") {
        result
    } else {
        let mut invocation = Map::new();
        invocation.insert(
            Value::from("module_args"),
            Value::map(params.module_args(spec)),
        );
        result.insert(Value::from("invocation"), Value::map(invocation));
        match params.hide_no_log_values(Value::map(result)) {
            Value::Map(map) => std::sync::Arc::unwrap_or_clone(map),
            _ => Map::new(),
        }
    };
    // ansible-core's action layer adds the line lists after the module returned, so
    // they follow `invocation` in the result's key order.
    add_output_lines(&mut result);
    prepare_remote_tmp(module, &mut result, options);
    result
}

/// Runs the module in a process of its own when the task sets `async` or `timeout`,
/// else returns `None`. That process gets the options without either setting.
fn run_elsewhere(module: &str, args: &Map, options: &ModuleOptions) -> Option<Map> {
    use crate::background::{run_with_time_limit, start_job, ModuleCall};

    let plain = ModuleOptions {
        async_job: None,
        timeout: None,
        ..options.clone()
    };
    let call = ModuleCall::new(module, args, &plain);
    if let Some(job) = &options.async_job {
        return Some(start_job(&call, job));
    }
    let seconds = options.timeout.filter(|seconds| *seconds > 0)?;
    let limit = std::time::Duration::from_secs(seconds);
    Some(run_with_time_limit(&call, limit).unwrap_or_else(|| timed_out(options, seconds)))
}

/// ansible-core's result for a task its `timeout` keyword interrupted. `timedout.frame`
/// names a Python stack frame there; rplay has none to name.
fn timed_out(options: &ModuleOptions, seconds: u64) -> Map {
    let action = options.module_name.as_deref().unwrap_or("module");
    let mut result = failed(format!(
        "The {action} action failed to execute in the expected time frame ({seconds}) and was terminated"
    ));
    let mut timedout = Map::new();
    timedout.insert(
        Value::from("frame"),
        Value::from("Interrupted while the module ran on the target"),
    );
    timedout.insert(Value::from("period"), Value::Int(seconds as i64));
    result.insert(Value::from("timedout"), Value::map(timedout));
    result
}

/// Returns the text of a module's `remote_tmp` warning if ansible-core shows it.
/// ansible-core's copy action (except with `remote_src`) runs `stat` on the destination
/// before the copy module and drops that result's warnings. `stat` creates a missing
/// `remote_tmp` first, so the copy module finds it and only a failure to create it
/// is reported, by the copy module's second attempt.
fn shown_workdir_warning(
    module: &str,
    params: &Params,
    warning: crate::workdir::RemoteTmpWarning,
) -> Option<String> {
    let stat_first = TRANSFER_MODULES.contains(&module) && !params.flag("remote_src");
    match warning {
        crate::workdir::RemoteTmpWarning::Created(_) if stat_first => None,
        warning => Some(warning.into_text()),
    }
}

/// Creates `remote_tmp` when ansible-core would have: before every module without
/// pipelining and for the file-transferring `copy` (the action makes its temporary
/// directory inside it), and with pipelining when a module that writes through its
/// tmpdir changed a file, which warns when the directory was missing.
fn prepare_remote_tmp(module: &str, result: &mut Map, options: &ModuleOptions) {
    let Some(remote_tmp) = &options.remote_tmp else {
        return;
    };
    let wrote = TMPDIR_MODULES.contains(&module)
        && !options.check_mode
        && result.get("changed").is_some_and(Value::is_truthy);
    // The actions that transfer files (copy, and template through it) make their
    // temporary directory before anything else, also with pipelining, so the
    // directory is created without a warning.
    let transfers = TRANSFER_MODULES.contains(&module);
    if options.pipelining && !wrote && !transfers {
        return;
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let path = match remote_tmp.strip_prefix("~/") {
        Some(rest) => format!("{}/{rest}", home.trim_end_matches('/')),
        None => remote_tmp.clone(),
    };
    if std::path::Path::new(&path).exists() {
        return;
    }
    // The action's shell command (`umask 77 && mkdir -p`), which runs without pipelining
    // and for actions that transfer files, makes every new directory 0700; a module's
    // `os.makedirs` only the last one.
    let made_by_action = !options.pipelining || transfers;
    if made_by_action {
        use std::os::unix::fs::DirBuilderExt;
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&path);
        return;
    }
    let warning = match crate::workdir::make_dirs(std::path::Path::new(&path), 0o700) {
        Ok(()) => format!(
            "Module remote_tmp {path} did not exist and was created with a mode of 0700, this may cause issues when running as another user. To avoid this, create the remote_tmp dir with the correct permissions manually"
        ),
        Err(err) => format!(
            "Unable to use {path} as temporary directory, failing back to system: {err}"
        ),
    };
    let mut warnings = match result.get("warnings") {
        Some(Value::List(items)) => items.to_vec(),
        _ => Vec::new(),
    };
    warnings.push(Value::from(warning));
    result.insert(Value::from("warnings"), Value::list(warnings));
}

/// Splits `stdout` and `stderr` into `stdout_lines` and `stderr_lines` where the module
/// did not, as ansible-core's action layer does with every module result.
fn add_output_lines(result: &mut Map) {
    for (text_key, lines_key) in [("stdout", "stdout_lines"), ("stderr", "stderr_lines")] {
        if !result.contains_key(text_key) || result.contains_key(lines_key) {
            continue;
        }
        let text = result
            .get(text_key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let lines = crate::difflib::split_lines(&text);
        result.insert(
            Value::from(lines_key),
            Value::list(lines.into_iter().map(Value::from).collect()),
        );
    }
}

/// Key of a result that rplay built as ansible-core's action plugin builds it, from
/// several module runs or none: it gets no file information, and the key is removed.
pub const ACTION_RESULT: &str = "_rplay_action_result";

/// Key of a result that an action raised as an exception (a skip or a failure):
/// ansible-core returns such a result as it is, without adding `failed` or `changed`.
pub const RAISED: &str = "_ansible_rplay_raised";

/// Adds the file information `AnsibleModule` adds to every result, failed or not, that
/// names a `path` (or else a `dest`).
fn add_path_info(result: &mut Map) {
    if result.shift_remove(ACTION_RESULT).is_some() || result.contains_key("uid") {
        return;
    }
    let path = result
        .get("path")
        .or_else(|| result.get("dest"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(path) = path {
        crate::files::add_path_info(result, std::path::Path::new(&path));
    }
}

/// Applies what ansible-core's action layer does before the module sees the arguments:
/// `cmd` becomes `_raw_params`, and `shell` sets `_uses_shell`.
fn prepare_args(module: &str, args: &Map) -> Map {
    let mut args = args.clone();
    if module == "command" || module == "shell" {
        if let Some(cmd) = args.shift_remove("cmd") {
            args.insert(Value::from("_raw_params"), cmd);
        }
    }
    if module == "shell" {
        args.insert(Value::from("_uses_shell"), Value::Bool(true));
    }
    if module == "user" {
        crate::user::default_args(&mut args);
    }
    args
}

fn run_command(params: &Params, options: &ModuleOptions) -> Map {
    match crate::command::CommandRequest::from_params(params) {
        Ok(mut request) => {
            request.environment = options.environment.clone();
            crate::command::run(&request, options.check_mode)
        }
        Err(message) => {
            let mut result = Map::new();
            for key in [
                "changed", "stdout", "stderr", "rc", "cmd", "start", "end", "delta", "msg",
            ] {
                result.insert(Value::from(key), Value::Null);
            }
            result.insert(Value::from("changed"), Value::Bool(false));
            result.insert(Value::from("stdout"), Value::from(""));
            result.insert(Value::from("stderr"), Value::from(""));
            result.insert(Value::from("rc"), Value::Int(256));
            result.insert(Value::from("msg"), Value::from(message));
            result.insert(Value::from("failed"), Value::Bool(true));
            result
        }
    }
}

const PING_SPEC: ModuleSpec = ModuleSpec::new(
    "ping",
    &[OptionSpec::new("data", Kind::Str).default(Default::Str("pong"))],
);

/// `ping`: returns `data` (default `pong`); `data=crash` raises as ansible-core's does.
fn ping(params: &Params, _options: &ModuleOptions) -> Map {
    let data = params.string("data").unwrap_or_default();
    if data == "crash" {
        let mut result = failed("MODULE FAILURE\nSee stdout/stderr for the exact error".into());
        result.insert(Value::from("rc"), Value::from(1));
        return result;
    }
    let mut result = Map::new();
    result.insert(Value::from("ping"), Value::from(data));
    result.insert(Value::from("changed"), Value::Bool(false));
    result
}

pub(crate) fn failed(message: String) -> Map {
    let mut result = Map::new();
    result.insert(Value::from("failed"), Value::Bool(true));
    result.insert(Value::from("msg"), Value::from(message));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(map: &Map) -> Vec<String> {
        map.keys()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn command_module_args_order() {
        let mut args = Map::new();
        args.insert(Value::from("argv"), Value::list(vec![Value::from("echo")]));
        args.insert(Value::from("chdir"), Value::from("/tmp"));
        let params = crate::command::SPEC.validate(&args).unwrap();
        let params = params.module_args(&crate::command::SPEC);
        assert_eq!(
            keys(&params),
            [
                "argv",
                "chdir",
                "_uses_shell",
                "expand_argument_vars",
                "stdin_add_newline",
                "strip_empty_ends",
                "_raw_params",
                "executable",
                "creates",
                "removes",
                "stdin"
            ]
        );
        assert_eq!(params.get("_uses_shell"), Some(&Value::Bool(false)));
    }

    #[test]
    fn unsupported_parameter_names_legacy_command() {
        let mut args = Map::new();
        args.insert(Value::from("_raw_params"), Value::from("true"));
        args.insert(Value::from("bogus"), Value::Int(1));
        let result = run_module("shell", &args, &ModuleOptions::default());
        assert_eq!(
            result.get("msg"),
            Some(&Value::from("Unsupported parameters for (ansible.legacy.command) module: bogus. Supported parameters include: _raw_params, _uses_shell, argv, chdir, creates, executable, expand_argument_vars, removes, stdin, stdin_add_newline, strip_empty_ends."))
        );
    }

    #[test]
    fn shell_reports_uses_shell() {
        let mut args = Map::new();
        args.insert(Value::from("_raw_params"), Value::from("true"));
        let result = run_module("shell", &args, &ModuleOptions::default());
        let invocation = result.get("invocation").and_then(Value::as_map).unwrap();
        let params = invocation
            .get("module_args")
            .and_then(Value::as_map)
            .unwrap();
        assert_eq!(params.get("_uses_shell"), Some(&Value::Bool(true)));
        assert_eq!(keys(params)[..2], ["_raw_params", "_uses_shell"]);
    }

    #[test]
    fn output_lines_python_rules() {
        assert_eq!(
            crate::difflib::split_lines("a\r\nb\n\nc"),
            ["a", "b", "", "c"]
        );
        assert_eq!(crate::difflib::split_lines("x\n"), ["x"]);
        assert!(crate::difflib::split_lines("").is_empty());
    }

    #[test]
    fn ping_module_args_default() {
        let result = run_module("ping", &Map::new(), &ModuleOptions::default());
        let invocation = result.get("invocation").and_then(Value::as_map).unwrap();
        let params = invocation
            .get("module_args")
            .and_then(Value::as_map)
            .unwrap();
        assert_eq!(params.get("data"), Some(&Value::from("pong")));
    }
}
