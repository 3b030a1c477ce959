//! The `ansible.posix.selinux` module: the SELinux state and policy in the config file
//! and, where SELinux runs, the enforcing mode.
//!
//! ansible.posix's module needs Python's `selinux` bindings on the target and fails
//! without them, as it does on a default Debian. rplay fails the same way where those
//! bindings are missing, so results match, and otherwise reads and writes selinuxfs and
//! the config file itself.

use std::path::Path;

use crate::dispatch::ModuleOptions;
use crate::files::Failure;
use crate::spec::{Default, Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "selinux",
    &[
        OptionSpec::new("policy", Kind::Str),
        OptionSpec::new("state", Kind::Str).required().choices(&[
            "enforcing",
            "permissive",
            "disabled",
        ]),
        OptionSpec::new("configfile", Kind::Str)
            .default(Default::Str("/etc/selinux/config"))
            .aliases(&["conf", "file"]),
        OptionSpec::new("update_kernel_param", Kind::Bool).default(Default::Bool(false)),
    ],
);

/// Path of the bindings Debian's python3-selinux installs for the Python module.
const PYTHON_BINDINGS: &str = "/usr/lib/python3/dist-packages/selinux/__init__.py";
const ENFORCE: &str = "/sys/fs/selinux/enforce";

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

fn missing_bindings() -> Failure {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    // NOTE: the interpreter is the one ansible-core discovers on Debian and Ubuntu
    // (`/usr/bin/python3`); rplay runs no Python, so it cannot name another.
    Failure::new(format!(
        "Failed to import the required Python library (libselinux-python) on {}'s Python /usr/bin/python3. Please read the module documentation and install it in the appropriate location. If the required library is installed, but Ansible is using the wrong Python interpreter, please consult the documentation on ansible_python_interpreter",
        host.trim()
    ))
    .with(
        "exception",
        "Traceback (most recent call last):\nModuleNotFoundError: No module named 'selinux'\n",
    )
}

/// Returns the value of the first `KEY=` line of the config file.
fn config_value(lines: &[String], key: &str) -> Option<String> {
    let prefix = format!("{key}=");
    lines
        .iter()
        .find(|line| line.starts_with(&prefix))
        .map(|line| {
            line.split('=')
                .nth(1)
                .unwrap_or_default()
                .trim()
                .to_string()
        })
}

/// Rewrites the config file with `KEY=value` replacing the first such line (or appended).
fn set_config_value(lines: &[String], key: &str, value: &str) -> String {
    let prefix = format!("{key}=");
    let mut found = false;
    let mut text = String::new();
    for line in lines {
        if line.starts_with(&prefix) {
            found = true;
            text.push_str(&format!("{key}={value}\n"));
        } else {
            text.push_str(line);
            text.push('\n');
        }
    }
    if !found {
        text.push_str(&format!("{key}={value}\n"));
    }
    text
}

fn read_lines(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_config(path: &str, text: &str) -> Result<(), Failure> {
    crate::files::atomic_write(Path::new(path), text.as_bytes())
        .map_err(|err| Failure::new(crate::files::os_error(&err)))
}

fn run_checked(
    params: &Params,
    options: &ModuleOptions,
    warnings: &mut Vec<String>,
) -> Result<Map, Failure> {
    if !Path::new(PYTHON_BINDINGS).exists() {
        return Err(missing_bindings());
    }
    if params.flag("update_kernel_param") {
        // NOTE: grubby handling is not implemented.
        return Err(Failure::new(
            "rplay's selinux module does not implement update_kernel_param yet",
        ));
    }
    let configfile = params.string("configfile").unwrap_or_default();
    let state = params.string("state").unwrap_or_default();
    let runtime_enabled = Path::new(ENFORCE).exists();
    let runtime_state = match std::fs::read_to_string(ENFORCE) {
        Ok(text) if text.trim() == "1" => "enforcing",
        Ok(_) => "permissive",
        Err(_) => "disabled",
    };
    if !Path::new(&configfile).is_file() {
        return Err(Failure::new(format!("Unable to find file {configfile}")).with(
            "details",
            "Please install SELinux-policy package, if this package is not installed previously.",
        ));
    }
    let lines = read_lines(&configfile);
    let config_policy = config_value(&lines, "SELINUXTYPE");
    let config_state = config_value(&lines, "SELINUX");
    // NOTE: libselinux reports the running policy type from the default config file.
    let runtime_policy = config_value(&read_lines("/etc/selinux/config"), "SELINUXTYPE");
    let policy = match params.string("policy") {
        Some(policy) => Some(policy),
        None if state == "disabled" => config_policy.clone(),
        None => {
            return Err(Failure::new(
                "Policy is required if state is not 'disabled'",
            ))
        }
    };
    let mut changed = false;
    let mut messages = Vec::new();
    let mut reboot_required = false;
    let shown = |value: &Option<String>| value.clone().unwrap_or_else(|| "None".into());
    if policy != runtime_policy {
        if options.check_mode {
            return Ok(changed_only());
        }
        messages.push(format!(
            "Running SELinux policy changed from '{}' to '{}'",
            shown(&runtime_policy),
            shown(&policy)
        ));
        changed = true;
    }
    if policy != config_policy {
        if options.check_mode {
            return Ok(changed_only());
        }
        let name = shown(&policy);
        if !Path::new(&format!("/etc/selinux/{name}/policy")).exists() {
            return Err(Failure::new(format!(
                "Policy {name} does not exist in /etc/selinux/"
            )));
        }
        write_config(
            &configfile,
            &set_config_value(&read_lines(&configfile), "SELINUXTYPE", &name),
        )?;
        messages.push(format!(
            "SELinux policy configuration in '{configfile}' changed from '{}' to '{name}'",
            shown(&config_policy)
        ));
        changed = true;
    }
    if state != runtime_state {
        let outcome =
            change_runtime_state(options, &state, runtime_state, runtime_enabled, warnings)?;
        changed |= outcome.changed;
        reboot_required |= outcome.reboot_required;
        messages.extend(outcome.message);
    }
    if Some(&state) != config_state.as_ref() {
        if !options.check_mode {
            write_config(
                &configfile,
                &set_config_value(&read_lines(&configfile), "SELINUX", &state),
            )?;
        }
        messages.push(format!(
            "Config SELinux state changed from '{}' to '{state}'",
            shown(&config_state)
        ));
        changed = true;
    }
    let mut result = Map::new();
    result.insert(Value::from("changed"), Value::Bool(changed));
    result.insert(Value::from("msg"), Value::from(messages.join(", ")));
    result.insert(Value::from("configfile"), Value::from(configfile));
    result.insert(
        Value::from("policy"),
        policy.map(Value::from).unwrap_or(Value::Null),
    );
    result.insert(Value::from("state"), Value::from(state));
    result.insert(Value::from("reboot_required"), Value::Bool(reboot_required));
    Ok(result)
}

/// Outcome of changing the running SELinux state.
struct StateChange {
    changed: bool,
    reboot_required: bool,
    message: Option<String>,
}

/// Sets the enforcing mode where SELinux runs; a change to or from `disabled` only takes
/// effect at the next boot.
fn change_runtime_state(
    options: &ModuleOptions,
    state: &str,
    runtime_state: &str,
    runtime_enabled: bool,
    warnings: &mut Vec<String>,
) -> Result<StateChange, Failure> {
    let mut outcome = StateChange {
        changed: false,
        reboot_required: false,
        message: None,
    };
    if !runtime_enabled {
        warnings.push(format!(
            "Reboot is required to set SELinux state to '{state}'"
        ));
        outcome.reboot_required = true;
    } else if state == "disabled" {
        if runtime_state != "permissive" {
            if !options.check_mode {
                set_enforce(false)?;
            }
            warnings.push(format!("SELinux state temporarily changed from '{runtime_state}' to 'permissive'. State change will take effect next reboot."));
            outcome.changed = true;
        } else {
            warnings.push("SELinux state change will take effect next reboot".into());
        }
        outcome.reboot_required = true;
    } else {
        if !options.check_mode {
            set_enforce(state == "enforcing")?;
        }
        outcome.message = Some(format!(
            "SELinux state changed from '{runtime_state}' to '{state}'"
        ));
        outcome.changed = true;
    }
    Ok(outcome)
}

fn changed_only() -> Map {
    let mut result = Map::new();
    result.insert(Value::from("changed"), Value::Bool(true));
    result
}

fn set_enforce(enforcing: bool) -> Result<(), Failure> {
    std::fs::write(ENFORCE, if enforcing { "1" } else { "0" })
        .map_err(|err| Failure::new(crate::files::os_error(&err)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_lines() {
        let lines: Vec<String> = ["# c", "SELINUX=enforcing", "SELINUXTYPE=targeted"]
            .iter()
            .map(|line| line.to_string())
            .collect();
        assert_eq!(config_value(&lines, "SELINUX"), Some("enforcing".into()));
        assert_eq!(config_value(&lines, "SELINUXTYPE"), Some("targeted".into()));
        assert_eq!(
            set_config_value(&lines, "SELINUX", "disabled"),
            "# c\nSELINUX=disabled\nSELINUXTYPE=targeted\n"
        );
        assert_eq!(
            set_config_value(&[], "SELINUX", "disabled"),
            "SELINUX=disabled\n"
        );
    }
}
