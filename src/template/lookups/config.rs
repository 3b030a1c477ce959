//! The `config` lookup: the value of an ansible-core setting, or with `plugin_type` and
//! `plugin_name` of a plugin option, resolved as ansible-core 2.18's config manager does.
//!
//! Global settings come from rplay's settings table (`src/config/table.rs`), read from
//! `ansible.cfg` and the environment. Plugin options are resolved from the host's
//! variables, then the environment, then `ansible.cfg`, then the default.
// NOTE: settings outside rplay's table, ansible-core's other constants (`BOOL_TRUE`,
// ...) and options of plugins other than the `ssh` connection and the `sh` shell are
// reported missing or not loadable.

use std::sync::{Arc, OnceLock};

use rplay_modules::pyrepr::str_repr;

use super::sequence::parse_decimal_integer;
use super::{lenient_bool, warn, Raised, Request};
use crate::config::{Config, IniFile, Kind, SETTINGS};
use crate::template::convert::from_jinja;
use crate::template::methods::python_type_name;
use crate::template::pyrepr::py_str;
use crate::template::vars::Context;
use crate::Value;

const ON_MISSING_CHOICES: [&str; 3] = ["error", "warn", "skip"];
const PLUGIN_TYPES: [&str; 11] = [
    "become",
    "cache",
    "callback",
    "cliconf",
    "connection",
    "httpapi",
    "inventory",
    "lookup",
    "netconf",
    "shell",
    "vars",
];
/// Names in ansible-core's `constants` module that are functions or classes.
const CALLABLE_CONSTANTS: [&str; 9] = [
    "ConfigManager",
    "Sequence",
    "_DeprecatedSequenceConstant",
    "_deprecated",
    "_warning",
    "add_internal_fqcns",
    "handle_config_noise",
    "set_constant",
    "to_text",
];

/// The type of a plugin option, as its documentation declares it.
#[derive(Clone, Copy)]
enum OptionType {
    Str,
    Int,
    Bool,
    List,
    /// No declared type: text stays text, other values stay as they are.
    Untyped,
}

/// One option of a plugin: where its value can come from, in ansible-core's order
/// within each source (a later entry wins).
struct PluginOption {
    plugin_type: &'static str,
    plugin_name: &'static str,
    name: &'static str,
    kind: OptionType,
    default: Option<&'static str>,
    vars: &'static [&'static str],
    env: &'static [&'static str],
    ini: &'static [(&'static str, &'static str)],
}

macro_rules! plugin_options {
    ($( $ptype:literal $pname:literal $name:literal: $kind:ident, default $default:expr, vars [$($var:literal),*], env [$($env:literal),*], ini [$(($section:literal, $key:literal)),*]; )*) => {
        const PLUGIN_OPTIONS: &[PluginOption] = &[
            $( PluginOption {
                plugin_type: $ptype,
                plugin_name: $pname,
                name: $name,
                kind: OptionType::$kind,
                default: $default,
                vars: &[$($var),*],
                env: &[$($env),*],
                ini: &[$(($section, $key)),*],
            }, )*
        ];
    };
}

// The options of ansible-core 2.18's `ssh` connection and `sh` shell plugins.
plugin_options! {
    "connection" "ssh" "host": Str, default Some("inventory_hostname"), vars ["inventory_hostname", "ansible_host", "ansible_ssh_host"], env [], ini [];
    "connection" "ssh" "host_key_checking": Bool, default Some("True"), vars ["ansible_host_key_checking", "ansible_ssh_host_key_checking"], env ["ANSIBLE_HOST_KEY_CHECKING", "ANSIBLE_SSH_HOST_KEY_CHECKING"], ini [("defaults", "host_key_checking"), ("ssh_connection", "host_key_checking")];
    "connection" "ssh" "password": Str, default None, vars ["ansible_password", "ansible_ssh_pass", "ansible_ssh_password"], env [], ini [];
    "connection" "ssh" "sshpass_prompt": Str, default Some(""), vars ["ansible_sshpass_prompt"], env ["ANSIBLE_SSHPASS_PROMPT"], ini [("ssh_connection", "sshpass_prompt")];
    "connection" "ssh" "ssh_args": Str, default Some("-C -o ControlMaster=auto -o ControlPersist=60s"), vars ["ansible_ssh_args"], env ["ANSIBLE_SSH_ARGS"], ini [("ssh_connection", "ssh_args")];
    "connection" "ssh" "ssh_common_args": Str, default Some(""), vars ["ansible_ssh_common_args"], env ["ANSIBLE_SSH_COMMON_ARGS"], ini [("ssh_connection", "ssh_common_args")];
    "connection" "ssh" "ssh_executable": Str, default Some("ssh"), vars ["ansible_ssh_executable"], env ["ANSIBLE_SSH_EXECUTABLE"], ini [("ssh_connection", "ssh_executable")];
    "connection" "ssh" "sftp_executable": Str, default Some("sftp"), vars ["ansible_sftp_executable"], env ["ANSIBLE_SFTP_EXECUTABLE"], ini [("ssh_connection", "sftp_executable")];
    "connection" "ssh" "scp_executable": Str, default Some("scp"), vars ["ansible_scp_executable"], env ["ANSIBLE_SCP_EXECUTABLE"], ini [("ssh_connection", "scp_executable")];
    "connection" "ssh" "scp_extra_args": Str, default Some(""), vars ["ansible_scp_extra_args"], env ["ANSIBLE_SCP_EXTRA_ARGS"], ini [("ssh_connection", "scp_extra_args")];
    "connection" "ssh" "sftp_extra_args": Str, default Some(""), vars ["ansible_sftp_extra_args"], env ["ANSIBLE_SFTP_EXTRA_ARGS"], ini [("ssh_connection", "sftp_extra_args")];
    "connection" "ssh" "ssh_extra_args": Str, default Some(""), vars ["ansible_ssh_extra_args"], env ["ANSIBLE_SSH_EXTRA_ARGS"], ini [("ssh_connection", "ssh_extra_args")];
    "connection" "ssh" "reconnection_retries": Int, default Some("0"), vars ["ansible_ssh_retries"], env ["ANSIBLE_SSH_RETRIES"], ini [("connection", "retries"), ("ssh_connection", "retries")];
    "connection" "ssh" "port": Int, default None, vars ["ansible_port", "ansible_ssh_port"], env ["ANSIBLE_REMOTE_PORT"], ini [("defaults", "remote_port")];
    "connection" "ssh" "remote_user": Str, default None, vars ["ansible_user", "ansible_ssh_user"], env ["ANSIBLE_REMOTE_USER"], ini [("defaults", "remote_user")];
    "connection" "ssh" "pipelining": Bool, default Some("False"), vars ["ansible_pipelining", "ansible_ssh_pipelining"], env ["ANSIBLE_PIPELINING", "ANSIBLE_SSH_PIPELINING"], ini [("defaults", "pipelining"), ("connection", "pipelining"), ("ssh_connection", "pipelining")];
    "connection" "ssh" "private_key_file": Str, default None, vars ["ansible_private_key_file", "ansible_ssh_private_key_file"], env ["ANSIBLE_PRIVATE_KEY_FILE"], ini [("defaults", "private_key_file")];
    "connection" "ssh" "control_path": Str, default None, vars ["ansible_control_path"], env ["ANSIBLE_SSH_CONTROL_PATH"], ini [("ssh_connection", "control_path")];
    "connection" "ssh" "control_path_dir": Str, default Some("~/.ansible/cp"), vars ["ansible_control_path_dir"], env ["ANSIBLE_SSH_CONTROL_PATH_DIR"], ini [("ssh_connection", "control_path_dir")];
    "connection" "ssh" "sftp_batch_mode": Bool, default Some("True"), vars ["ansible_sftp_batch_mode"], env ["ANSIBLE_SFTP_BATCH_MODE"], ini [("ssh_connection", "sftp_batch_mode")];
    "connection" "ssh" "ssh_transfer_method": Str, default Some("smart"), vars ["ansible_ssh_transfer_method"], env ["ANSIBLE_SSH_TRANSFER_METHOD"], ini [("ssh_connection", "transfer_method")];
    "connection" "ssh" "use_tty": Bool, default Some("True"), vars ["ansible_ssh_use_tty"], env ["ANSIBLE_SSH_USETTY"], ini [("ssh_connection", "usetty")];
    "connection" "ssh" "timeout": Int, default Some("10"), vars ["ansible_ssh_timeout"], env ["ANSIBLE_TIMEOUT", "ANSIBLE_SSH_TIMEOUT"], ini [("defaults", "timeout"), ("ssh_connection", "timeout")];
    "connection" "ssh" "pkcs11_provider": Str, default Some(""), vars ["ansible_ssh_pkcs11_provider"], env ["ANSIBLE_PKCS11_PROVIDER"], ini [("ssh_connection", "pkcs11_provider")];
    "shell" "sh" "remote_tmp": Untyped, default Some("~/.ansible/tmp"), vars ["ansible_remote_tmp"], env ["ANSIBLE_REMOTE_TEMP", "ANSIBLE_REMOTE_TMP"], ini [("defaults", "remote_tmp")];
    "shell" "sh" "common_remote_group": Untyped, default None, vars ["ansible_common_remote_group"], env ["ANSIBLE_COMMON_REMOTE_GROUP"], ini [("defaults", "common_remote_group")];
    "shell" "sh" "system_tmpdirs": List, default Some("/var/tmp, /tmp"), vars ["ansible_system_tmpdirs"], env ["ANSIBLE_SYSTEM_TMPDIRS"], ini [("defaults", "system_tmpdirs")];
    "shell" "sh" "async_dir": Untyped, default Some("~/.ansible_async"), vars ["ansible_async_dir"], env ["ANSIBLE_ASYNC_DIR"], ini [("defaults", "async_dir")];
    "shell" "sh" "admin_users": List, default Some("root, toor"), vars ["ansible_admin_users"], env ["ANSIBLE_ADMIN_USERS"], ini [("defaults", "admin_users")];
    "shell" "sh" "world_readable_temp": Bool, default Some("False"), vars ["ansible_shell_allow_world_readable_temp"], env ["ANSIBLE_SHELL_ALLOW_WORLD_READABLE_TEMP"], ini [("defaults", "allow_world_readable_tmpfiles")];
}

/// Returns the settings and the parsed `ansible.cfg`, read once per process.
pub(super) fn loaded_config() -> &'static (Option<Config>, Option<IniFile>) {
    static CONFIG: OnceLock<(Option<Config>, Option<IniFile>)> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let config = Config::load().ok();
        let ini = config
            .as_ref()
            .and_then(Config::file)
            .and_then(|path| IniFile::read(path).ok());
        (config, ini)
    })
}

/// The lookup's own options.
struct Options {
    on_missing: String,
    plugin: Option<(String, String)>,
    show_origin: bool,
}

fn read_options(request: &Request) -> Result<Options, Raised> {
    let text = |name: &str| {
        request
            .option(name)
            .filter(|value| !value.is_none())
            .map(|value| py_str(value).unwrap_or_default())
    };
    let on_missing = text("on_missing").unwrap_or_else(|| "error".into());
    check_choice("on_missing", &on_missing, &ON_MISSING_CHOICES)?;
    let plugin_type = text("plugin_type");
    if let Some(plugin_type) = &plugin_type {
        check_choice("plugin_type", plugin_type, &PLUGIN_TYPES)?;
    }
    let plugin_name = text("plugin_name");
    let show_origin = request
        .option("show_origin")
        .is_some_and(|value| lenient_bool(&from_jinja(value).unwrap_or_default()));
    let plugin =
        match (plugin_type, plugin_name) {
            (Some(plugin_type), Some(plugin_name)) => Some((plugin_type, plugin_name)),
            (None, None) => None,
            _ => return Err(Raised::options(
                "Both plugin_type and plugin_name are required, cannot use one without the other",
            )),
        };
    Ok(Options {
        on_missing,
        plugin,
        show_origin,
    })
}

fn check_choice(name: &str, value: &str, choices: &[&str]) -> Result<(), Raised> {
    if choices.contains(&value) {
        return Ok(());
    }
    Err(Raised::options(format!(
        "Invalid value \"{value}\" for configuration option \"plugin_type: lookup plugin: config setting: {name} \", valid values are: {}",
        choices.join(", ")
    )))
}

pub fn config(context: &Arc<Context>, request: &Request) -> Result<Vec<Value>, Raised> {
    let options = read_options(request)?;
    let mut values = Vec::new();
    for term in &request.terms {
        let Some(name) = term.as_str() else {
            return Err(Raised::options(format!(
                "Invalid setting identifier, \"{}\" is not a string, its a <class '{}'>",
                py_str(term).unwrap_or_default(),
                python_type_name(term)
            )));
        };
        let found = match &options.plugin {
            Some((plugin_type, plugin_name)) => {
                plugin_option(context, plugin_type, plugin_name, name)?
            }
            None => global_setting(name)?.map(|value| (value, Value::Null)),
        };
        let (value, origin) = match found {
            Ok(found) => found,
            Err(missing) => {
                match options.on_missing.as_str() {
                    "error" => {
                        return Err(Raised::Lookup(super::failure(format!(
                            "Unable to find setting {name}. {missing}. {missing}"
                        ))))
                    }
                    "warn" => warn(format!("Skipping, did not find setting {name}")),
                    _ => {}
                }
                continue;
            }
        };
        values.push(if options.show_origin {
            // NOTE: ansible-core returns a (value, origin) tuple, which rplay shows as a
            // list.
            Value::list(vec![value, origin])
        } else {
            value
        });
    }
    Ok(values)
}

/// Looks a setting up in rplay's settings table. The inner error is the message of
/// ansible-core's `MissingSetting` for a name it does not know.
fn global_setting(name: &str) -> Result<Result<Value, String>, Raised> {
    if CALLABLE_CONSTANTS.contains(&name) {
        return Err(Raised::Lookup(super::failure(format!(
            "Invalid setting \"{name}\" attempted"
        ))));
    }
    let missing = || {
        format!(
            "module 'ansible.constants' has no attribute {}",
            str_repr(name)
        )
    };
    let Some(setting) = SETTINGS.iter().find(|setting| setting.name == name) else {
        return Ok(Err(missing()));
    };
    let Some(config) = &loaded_config().0 else {
        return Ok(Err(missing()));
    };
    let text = |text: &str| Value::from(text);
    let path = |path: &std::path::Path| Value::from(path.to_string_lossy().into_owned());
    Ok(Ok(match setting.kind {
        Kind::Bool => Value::Bool(config.bool(name)),
        Kind::Int => config.int(name).map_or(Value::Null, Value::Int),
        Kind::Float => config.str(name).map_or(Value::Null, text),
        Kind::Str => config.str(name).map_or(Value::Null, text),
        Kind::List => Value::list(config.list(name).iter().map(|item| text(item)).collect()),
        Kind::Path => config.path(name).map_or(Value::Null, path),
        Kind::PathList => Value::list(config.paths(name).iter().map(|item| path(item)).collect()),
    }))
}

/// Resolves a plugin option: the last of its variables that is set, then its
/// environment variables, then its `ansible.cfg` keys, then its default. Returns the
/// value and its origin, or the `MissingSetting` message for an unknown option.
fn plugin_option(
    context: &Context,
    plugin_type: &str,
    plugin_name: &str,
    name: &str,
) -> Result<Result<(Value, Value), String>, Raised> {
    let mut options = PLUGIN_OPTIONS
        .iter()
        .filter(|option| option.plugin_type == plugin_type && option.plugin_name == plugin_name)
        .peekable();
    if options.peek().is_none() {
        return Err(Raised::Lookup(super::failure(format!(
            "Unable to load {plugin_type} plugin \"{plugin_name}\""
        ))));
    }
    let Some(option) = options.find(|option| option.name == name) else {
        return Ok(Err(format!(
            "Requested entry (plugin_type: {plugin_type} plugin: {plugin_name} setting: {name} ) was not defined in configuration."
        )));
    };
    let (value, origin) = option_source(context, option);
    let value = ensure_type(option, value, &origin)?;
    Ok(Ok((value, Value::from(origin))))
}

fn option_source(context: &Context, option: &PluginOption) -> (Value, String) {
    let from_vars = option.vars.iter().rev().find_map(|name| {
        context
            .raw(name)
            .filter(|value| !value.is_null())
            .map(|value| (value, format!("var: {name}")))
    });
    if let Some(found) = from_vars {
        return found;
    }
    let from_env = option.env.iter().rev().find_map(|name| {
        std::env::var(name)
            .ok()
            .map(|value| (Value::from(value), format!("env: {name}")))
    });
    if let Some(found) = from_env {
        return found;
    }
    let (config, ini) = loaded_config();
    let from_ini = ini.as_ref().and_then(|ini| {
        option
            .ini
            .iter()
            .rev()
            .find_map(|(section, key)| ini.get(section, key))
    });
    if let (Some(value), Some(file)) = (from_ini, config.as_ref().and_then(Config::file)) {
        return (Value::from(value), file.to_string_lossy().into_owned());
    }
    let default = option.default.map_or(Value::Null, Value::from);
    (default, "default".into())
}

/// Converts a value to the option's type, as ansible-core's `ensure_type` does.
fn ensure_type(option: &PluginOption, value: Value, origin: &str) -> Result<Value, Raised> {
    if value.is_null() {
        return Ok(value);
    }
    let invalid = |detail: String| {
        Raised::options(format!(
            "Invalid type for configuration option plugin_type: {} plugin: {} setting: {} (from {origin}): {detail}",
            option.plugin_type, option.plugin_name, option.name
        ))
    };
    Ok(match option.kind {
        OptionType::Bool => Value::Bool(lenient_bool(&value)),
        OptionType::Int => match &value {
            Value::Int(_) => value,
            Value::Bool(flag) => Value::Int(i64::from(*flag)),
            other => {
                let text = rplay_modules::pyrepr::str(other);
                match parse_decimal_integer(&text) {
                    Ok(number) => Value::Int(number),
                    Err(_) => return Err(invalid(String::new())),
                }
            }
        },
        OptionType::Str => match &value {
            Value::List(_) | Value::Map(_) => {
                return Err(invalid(format!(
                    "Invalid type provided for \"string\": {}",
                    rplay_modules::pyrepr::repr(&value)
                )))
            }
            other => Value::from(rplay_modules::pyrepr::str(other)),
        },
        OptionType::List => match &value {
            Value::List(_) => value,
            other => Value::list(
                rplay_modules::pyrepr::str(other)
                    .split(',')
                    .map(|item| Value::from(unquote(item.trim())))
                    .collect(),
            ),
        },
        OptionType::Untyped => value,
    })
}

fn unquote(text: &str) -> &str {
    for quote in ['"', '\''] {
        if text.len() >= 2 && text.starts_with(quote) && text.ends_with(quote) {
            return &text[1..text.len() - 1];
        }
    }
    text
}
