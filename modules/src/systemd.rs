//! The `systemd_service` module (also `systemd`, and `service` where systemd manages the
//! target, as ansible-core's `service` action picks it): unit state, enablement, masking
//! and daemon reloads through `systemctl`.

use std::os::unix::fs::MetadataExt;

use crate::dispatch::ModuleOptions;
use crate::files::Failure;
use crate::spec::{Default, Kind, ModuleSpec, OptionSpec, Params};
use crate::system::{self, Output};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "systemd_service",
    &[
        OptionSpec::new("name", Kind::Str).aliases(&["service", "unit"]),
        OptionSpec::new("state", Kind::Str).choices(&[
            "reloaded",
            "restarted",
            "started",
            "stopped",
        ]),
        OptionSpec::new("enabled", Kind::Bool),
        OptionSpec::new("force", Kind::Bool),
        OptionSpec::new("masked", Kind::Bool),
        OptionSpec::new("daemon_reload", Kind::Bool)
            .default(Default::Bool(false))
            .aliases(&["daemon-reload"]),
        OptionSpec::new("daemon_reexec", Kind::Bool)
            .default(Default::Bool(false))
            .aliases(&["daemon-reexec"]),
        OptionSpec::new("scope", Kind::Str)
            .default(Default::Str("system"))
            .choices(&["system", "user", "global"]),
        OptionSpec::new("no_block", Kind::Bool).default(Default::Bool(false)),
    ],
)
.required_one_of(&[&[
    "state",
    "enabled",
    "masked",
    "daemon_reload",
    "daemon_reexec",
]])
.required_by(&[
    ("state", &["name"]),
    ("enabled", &["name"]),
    ("masked", &["name"]),
]);

/// Options of the `service` module that its action drops before running `systemd`.
pub const SERVICE_ONLY_OPTIONS: &[&str] = &["pattern", "runlevel", "sleep", "arguments", "args"];

/// Prepares a `service` task's arguments for `systemd` as ansible-core's `service`
/// action does: `use` goes, and the options systemd lacks go with a warning each.
pub fn service_args(args: &mut Map) -> Vec<String> {
    args.shift_remove("use");
    let mut warnings = Vec::new();
    for option in SERVICE_ONLY_OPTIONS {
        if args.shift_remove(*option).is_some() {
            warnings.push(format!(
                "Ignoring \"{option}\" as it is not used in \"systemd\""
            ));
        }
    }
    warnings
}

/// Unit states `systemctl is-enabled` prints for a unit systemd has loaded (systemd 244).
const ENABLED_STATES: &[&str] = &[
    "enabled",
    "enabled-runtime",
    "linked",
    "linked-runtime",
    "masked",
    "masked-runtime",
    "static",
    "indirect",
    "disabled",
    "generated",
    "transient",
];

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    let mut warnings = Vec::new();
    let mut result = match run_checked(params, options, &mut warnings) {
        Ok(result) => result,
        Err(failure) => failure.into_result(),
    };
    if !warnings.is_empty() {
        result.insert(
            Value::from("warnings"),
            Value::list(warnings.into_iter().map(Value::from).collect()),
        );
    }
    result
}

struct Systemctl<'a> {
    /// `systemctl` and its global flags (`--user`, `--no-block`, `--force`).
    base: Vec<String>,
    options: &'a ModuleOptions,
    environment: Vec<(&'static str, String)>,
}

impl Systemctl<'_> {
    fn run(&self, args: &[&str]) -> Output {
        let mut argv = self.base.clone();
        argv.extend(args.iter().map(|arg| arg.to_string()));
        let extra: Vec<(&str, &str)> = self
            .environment
            .iter()
            .map(|(key, value)| (*key, value.as_str()))
            .collect();
        system::run_with(&argv, self.options, &extra)
    }
}

fn run_checked(
    params: &Params,
    options: &ModuleOptions,
    warnings: &mut Vec<String>,
) -> Result<Map, Failure> {
    let unit = params.string("name");
    if let Some(unit) = &unit {
        for pattern in ["*", "?", "["] {
            if unit.contains(pattern) {
                return Err(Failure::new(format!(
                    "This module does not currently support using glob patterns, found '{pattern}' in service name: {unit}"
                )));
            }
        }
    }
    let systemctl = systemctl(params, options)?;
    let mut result = Map::new();
    result.insert(
        Value::from("name"),
        unit.clone().map(Value::from).unwrap_or(Value::Null),
    );
    result.insert(Value::from("changed"), Value::Bool(false));
    result.insert(Value::from("status"), Value::empty_map());
    for (option, command) in [
        ("daemon_reload", "daemon-reload"),
        ("daemon_reexec", "daemon-reexec"),
    ] {
        if params.flag(option) && !options.check_mode {
            let output = systemctl.run(&[command]);
            if output.rc != 0 {
                if !is_offline(options) {
                    return Err(Failure::new(format!(
                        "failure {} during {command}: {}",
                        output.rc, output.stderr
                    )));
                }
                warnings.push(format!("{command} failed, but target is a chroot or systemd is offline. Continuing. Error was: {} / {}", output.rc, output.stderr));
            }
        }
    }
    if let Some(unit) = unit {
        manage_unit(params, options, &systemctl, &unit, &mut result, warnings)?;
    }
    Ok(result)
}

fn systemctl<'a>(params: &Params, options: &'a ModuleOptions) -> Result<Systemctl<'a>, Failure> {
    let mut base = vec![system::bin_path("systemctl")?];
    let scope = params.string("scope").unwrap_or_default();
    if scope != "system" {
        base.push(format!("--{scope}"));
    }
    if params.flag("no_block") {
        base.push("--no-block".into());
    }
    if params.flag("force") {
        base.push("--force".into());
    }
    let mut environment = Vec::new();
    let has_runtime_dir = options
        .environment
        .iter()
        .any(|(key, _)| key == "XDG_RUNTIME_DIR")
        || std::env::var_os("XDG_RUNTIME_DIR").is_some();
    if !has_runtime_dir {
        environment.push(("XDG_RUNTIME_DIR", format!("/run/user/{}", effective_uid())));
    }
    Ok(Systemctl {
        base,
        options,
        environment,
    })
}

/// Returns the effective uid from `/proc/self/status` (0 when it cannot be read).
fn effective_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Returns whether the target is a chroot (its root differs from PID 1's) or has
/// `SYSTEMD_OFFLINE=1`.
fn is_offline(options: &ModuleOptions) -> bool {
    let offline = options
        .environment
        .iter()
        .rev()
        .find(|(key, _)| key == "SYSTEMD_OFFLINE")
        .map(|(_, value)| value.clone())
        .or_else(|| std::env::var("SYSTEMD_OFFLINE").ok());
    if offline.as_deref() == Some("1") {
        return true;
    }
    match (std::fs::metadata("/"), std::fs::metadata("/proc/1/root/.")) {
        (Ok(root), Ok(init_root)) => root.ino() != init_root.ino() || root.dev() != init_root.dev(),
        // Without access to PID 1's root, ansible-core compares the root's inode with 2.
        (Ok(root), Err(_)) => root.ino() != 2,
        _ => false,
    }
}

fn manage_unit(
    params: &Params,
    options: &ModuleOptions,
    systemctl: &Systemctl,
    unit: &str,
    result: &mut Map,
    warnings: &mut Vec<String>,
) -> Result<(), Failure> {
    let is_initd = sysv_exists(unit);
    let (status, is_systemd) = unit_status(systemctl, unit)?;
    result.insert(Value::from("status"), status_value(&status));
    let found = is_systemd || is_initd;
    if is_initd && !is_systemd {
        warnings.push(format!(
            "The service ({unit}) is actually an init script but the system is managed by systemd"
        ));
    }
    if let Some(masked) = params.get("masked").and_then(Value::as_bool) {
        set_masked(options, systemctl, unit, found, masked, result)?;
    }
    if let Some(enabled) = params.get("enabled").and_then(Value::as_bool) {
        set_enabled(
            params, options, systemctl, unit, found, is_initd, enabled, result,
        )?;
    }
    if let Some(state) = params.string("state") {
        set_state(
            options, systemctl, unit, found, &state, &status, result, warnings,
        )?;
    }
    Ok(())
}

/// Returns `systemctl show` parsed, and whether systemd has the unit.
fn unit_status(
    systemctl: &Systemctl,
    unit: &str,
) -> Result<(Vec<(String, String)>, bool), Failure> {
    let output = systemctl.run(&["show", unit]);
    if output.rc == 0
        && !request_was_ignored(&output.stdout)
        && !request_was_ignored(&output.stderr)
    {
        let mut status = Vec::new();
        let mut is_systemd = false;
        if !output.stdout.is_empty() {
            status = parse_show(&output.stdout);
            let load_state = lookup(&status, "LoadState");
            is_systemd = load_state.is_some_and(|state| state != "not-found");
            let masked = load_state == Some("masked");
            if let (true, false, Some(error)) = (is_systemd, masked, lookup(&status, "LoadError")) {
                return Err(Failure::new(format!(
                    "Error loading unit file '{unit}': {error}"
                )));
            }
        }
        return Ok((status, is_systemd));
    }
    if output.rc == 1 && output.stderr.contains("Failed to parse bus message") {
        let mut status = parse_show(&output.stdout);
        let (base, separator, _) = match unit.split_once('@') {
            Some((base, rest)) => (base, "@", rest),
            None => (unit, "", ""),
        };
        let search = format!("{base}{separator}");
        let listed = systemctl.run(&["list-unit-files", &format!("{search}*")]);
        let is_systemd = listed.stdout.contains(&search);
        let active = systemctl.run(&["is-active", unit]);
        let active = active.stdout.trim_end_matches('\n').to_string();
        match status.iter_mut().find(|(key, _)| key == "ActiveState") {
            Some(entry) => entry.1 = active,
            None => status.push(("ActiveState".into(), active)),
        }
        return Ok((status, is_systemd));
    }
    let enabled = systemctl.run(&["is-enabled", unit]);
    if ENABLED_STATES.contains(&enabled.stdout.trim()) {
        return Ok((Vec::new(), true));
    }
    if systemctl.run(&["list-unit-files", unit]).rc == 0 {
        return Ok((Vec::new(), true));
    }
    let bare = systemctl.run(&[]);
    if bare.rc != 0 {
        return Err(Failure::new(bare.stderr.trim_end())
            .with("cmd", systemctl.base.join(" "))
            .with("rc", Value::Int(bare.rc))
            .with("stdout", bare.stdout.as_str())
            .with("stderr", bare.stderr.as_str()));
    }
    Ok((Vec::new(), false))
}

fn lookup<'a>(status: &'a [(String, String)], key: &str) -> Option<&'a str> {
    status
        .iter()
        .rev()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.as_str())
}

fn status_value(status: &[(String, String)]) -> Value {
    let mut map = Map::new();
    for (key, value) in status {
        map.insert(Value::from(key.as_str()), Value::from(value.as_str()));
    }
    Value::map(map)
}

fn request_was_ignored(output: &str) -> bool {
    !output.contains('=')
        && (output.contains("ignoring request") || output.contains("ignoring command"))
}

/// Parses `systemctl show`: `Key=value` lines, where only `Exec*` values in braces may
/// continue over several lines.
pub fn parse_show(text: &str) -> Vec<(String, String)> {
    let mut parsed: Vec<(String, String)> = Vec::new();
    let mut pending: Option<(String, Vec<String>)> = None;
    for line in text.split('\n') {
        if let Some((key, mut lines)) = pending.take() {
            lines.push(line.to_string());
            if line.trim_end().ends_with('}') {
                insert(&mut parsed, key, lines.join("\n").trim().to_string());
            } else {
                pending = Some((key, lines));
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.starts_with("Exec")
            && value.trim_start().starts_with('{')
            && !value.trim_end().ends_with('}')
        {
            pending = Some((key.to_string(), vec![value.to_string()]));
            continue;
        }
        insert(&mut parsed, key.to_string(), value.trim().to_string());
    }
    parsed
}

fn insert(parsed: &mut Vec<(String, String)>, key: String, value: String) {
    match parsed.iter_mut().find(|(name, _)| *name == key) {
        Some(entry) => entry.1 = value,
        None => parsed.push((key, value)),
    }
}

fn sysv_exists(unit: &str) -> bool {
    std::path::Path::new("/etc/init.d").join(unit).exists()
}

/// Returns whether a SysV start link for the unit exists in any runlevel.
fn sysv_is_enabled(unit: &str) -> bool {
    let Ok(entries) = std::fs::read_dir("/etc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let dir = entry.file_name().to_string_lossy().to_string();
        let is_rc_dir = dir.len() == 5 && dir.starts_with("rc") && dir.ends_with(".d");
        is_rc_dir
            && std::fs::read_dir(entry.path()).is_ok_and(|links| {
                links.flatten().any(|link| {
                    let name = link.file_name().to_string_lossy().to_string();
                    name.len() == unit.len() + 3 && name.starts_with('S') && name.ends_with(unit)
                })
            })
    })
}

fn missing(unit: &str) -> Failure {
    Failure::new(format!("Could not find the requested service {unit}: host"))
}

fn set_masked(
    options: &ModuleOptions,
    systemctl: &Systemctl,
    unit: &str,
    found: bool,
    wanted: bool,
    result: &mut Map,
) -> Result<(), Failure> {
    let masked = systemctl.run(&["is-enabled", unit]).stdout.trim() == "masked";
    if masked == wanted {
        return Ok(());
    }
    result.insert(Value::from("changed"), Value::Bool(true));
    if options.check_mode {
        return Ok(());
    }
    let action = if wanted { "mask" } else { "unmask" };
    let output = systemctl.run(&[action, unit]);
    if output.rc != 0 {
        if !found {
            return Err(missing(unit));
        }
        return Err(Failure::new(format!(
            "Failed to {action} the service ({unit}): {}",
            output.stderr.trim()
        )));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn set_enabled(
    params: &Params,
    options: &ModuleOptions,
    systemctl: &Systemctl,
    unit: &str,
    found: bool,
    is_initd: bool,
    wanted: bool,
    result: &mut Map,
) -> Result<(), Failure> {
    if !found {
        return Err(missing(unit));
    }
    let action = if wanted { "enable" } else { "disable" };
    let output = systemctl.run(&["is-enabled", unit, "-l"]);
    let enabled = match output.rc {
        0 => !matches!(
            output.stdout.trim_end(),
            "enabled-runtime" | "indirect" | "alias"
        ),
        1 => {
            params.str("scope") == Some("system")
                && is_initd
                && !output.stdout.trim().ends_with("disabled")
                && sysv_is_enabled(unit)
        }
        _ => false,
    };
    result.insert(Value::from("enabled"), Value::Bool(enabled));
    if enabled == wanted {
        return Ok(());
    }
    result.insert(Value::from("changed"), Value::Bool(true));
    if !options.check_mode {
        let output = systemctl.run(&[action, unit]);
        if output.rc != 0 {
            return Err(Failure::new(format!(
                "Unable to {action} service {unit}: {}{}",
                output.stdout, output.stderr
            )));
        }
    }
    result.insert(Value::from("enabled"), Value::Bool(!enabled));
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn set_state(
    options: &ModuleOptions,
    systemctl: &Systemctl,
    unit: &str,
    found: bool,
    state: &str,
    status: &[(String, String)],
    result: &mut Map,
    warnings: &mut Vec<String>,
) -> Result<(), Failure> {
    if !found {
        return Err(missing(unit));
    }
    result.insert(Value::from("state"), Value::from(state));
    let Some(active) = lookup(status, "ActiveState") else {
        if is_offline(options) {
            warnings.push("Target is a chroot or systemd is offline. This can lead to false positives or prevent the init system tools from working.".into());
            return Ok(());
        }
        return Err(
            Failure::new("Service is in unknown state").with("status", status_value(status))
        );
    };
    let running = matches!(active, "active" | "activating");
    let action = match state {
        "started" => (!running).then_some("start"),
        "stopped" => (running || active == "deactivating").then_some("stop"),
        _ => {
            result.insert(Value::from("state"), Value::from("started"));
            Some(match (running, state) {
                (false, _) => "start",
                (true, "restarted") => "restart",
                (true, _) => "reload",
            })
        }
    };
    let Some(action) = action else {
        return Ok(());
    };
    result.insert(Value::from("changed"), Value::Bool(true));
    if options.check_mode {
        return Ok(());
    }
    let output = systemctl.run(&[action, unit]);
    if output.rc != 0 {
        return Err(Failure::new(format!(
            "Unable to {action} service {unit}: {}",
            output.stderr
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_output_parsed() {
        let text = "Id=a.service\nExecStart={ path=/bin/x ; argv[]=/bin/x\n  more }\nDescription={ odd\nActiveState=active\n";
        let parsed = parse_show(text);
        assert_eq!(lookup(&parsed, "Id"), Some("a.service"));
        assert_eq!(
            lookup(&parsed, "ExecStart"),
            Some("{ path=/bin/x ; argv[]=/bin/x\n  more }")
        );
        assert_eq!(lookup(&parsed, "Description"), Some("{ odd"));
        assert_eq!(lookup(&parsed, "ActiveState"), Some("active"));
    }

    #[test]
    fn ignored_requests_detected() {
        assert!(request_was_ignored(
            "Running in chroot, ignoring request.\n"
        ));
        assert!(!request_was_ignored("Id=x\n"));
    }

    #[test]
    fn service_arguments_dropped() {
        let mut args = Map::new();
        args.insert(Value::from("name"), Value::from("x"));
        args.insert(Value::from("use"), Value::from("auto"));
        args.insert(Value::from("sleep"), Value::Int(1));
        let warnings = service_args(&mut args);
        assert_eq!(
            warnings,
            ["Ignoring \"sleep\" as it is not used in \"systemd\""]
        );
        assert_eq!(args.len(), 1);
    }

    #[test]
    fn spec_defaults_satisfy_required_one_of() {
        // `daemon_reload` defaults to false, which counts as given, as in ansible-core.
        let mut args = Map::new();
        args.insert(Value::from("name"), Value::from("x"));
        assert!(SPEC.validate(&args).is_ok());
    }
}
