//! Runs a module by name: the one entry point for the agent on a target and for
//! in-process runs on the controller.

use crate::{Map, Value};

/// Run-wide switches and the task's environment, as a module sees them.
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
}

/// Modules this crate implements, by their short names.
pub const MODULES: &[&str] = &["command", "shell", "ping", "setup"];

/// Runs `module` with validated `args` and returns its result as ansible-core's module
/// would (a failed module is a result with `failed: true`, not an error).
pub fn run_module(module: &str, args: &Map, options: &ModuleOptions) -> Map {
    let mut args = args.clone();
    if module == "shell" {
        // ansible-core's shell action runs the command module with this argument.
        args.insert(Value::from("_uses_shell"), Value::Bool(true));
    }
    let mut result = run_without_invocation(module, &args, options);
    if let Some(spec) = argument_spec(module) {
        if !result.contains_key("invocation") {
            let mut invocation = Map::new();
            invocation.insert(
                Value::from("module_args"),
                Value::map(module_args(spec, &args)),
            );
            result.insert(Value::from("invocation"), Value::map(invocation));
        }
    }
    result
}

fn run_without_invocation(module: &str, args: &Map, options: &ModuleOptions) -> Map {
    match module {
        "command" | "shell" => {
            match crate::command::CommandRequest::from_args(module == "shell", args) {
                Ok(mut request) => {
                    request.environment = options.environment.clone();
                    crate::command::run(&request, options.check_mode)
                }
                Err(message) => failed(message),
            }
        }
        "ping" => ping(args),
        "setup" => crate::facts::run(args),
        other => failed(format!(
            "The module {other} was not found in configured module paths"
        )),
    }
}

/// One option of a module's argument spec: its name and default.
pub struct OptionSpec {
    pub name: &'static str,
    pub default: fn() -> Value,
}

const fn option(name: &'static str, default: fn() -> Value) -> OptionSpec {
    OptionSpec { name, default }
}

fn none() -> Value {
    Value::Null
}

fn yes() -> Value {
    Value::Bool(true)
}

fn no() -> Value {
    Value::Bool(false)
}

/// `command` and `shell` in ansible-core 2.18's spec order.
const COMMAND_SPEC: &[OptionSpec] = &[
    option("_raw_params", none),
    option("_uses_shell", no),
    option("argv", none),
    option("chdir", none),
    option("executable", none),
    option("expand_argument_vars", yes),
    option("creates", none),
    option("removes", none),
    option("stdin", none),
    option("stdin_add_newline", yes),
    option("strip_empty_ends", yes),
];

const PING_SPEC: &[OptionSpec] = &[option("data", || Value::from("pong"))];

/// `setup` in ansible-core 2.18's spec order.
const SETUP_SPEC: &[OptionSpec] = &[
    option("gather_subset", || Value::list(vec![Value::from("all")])),
    option("gather_timeout", || Value::Int(10)),
    option("filter", || Value::list(Vec::new())),
    option("fact_path", || Value::from(crate::facts::DEFAULT_FACT_PATH)),
];

fn argument_spec(module: &str) -> Option<&'static [OptionSpec]> {
    match module {
        "command" | "shell" => Some(COMMAND_SPEC),
        "ping" => Some(PING_SPEC),
        "setup" => Some(SETUP_SPEC),
        _ => None,
    }
}

/// The parameters a module reports in `invocation.module_args`, ordered as Ansible's
/// module runtime fills them: the given arguments, then the options whose default is
/// not `None`, then those whose default is `None`, each group in spec order.
pub fn module_args(spec: &[OptionSpec], args: &Map) -> Map {
    let mut params = args.clone();
    for pass_set_values in [true, false] {
        for option in spec {
            let default = (option.default)();
            if default.is_null() == pass_set_values || params.contains_key(option.name) {
                continue;
            }
            params.insert(Value::from(option.name), default);
        }
    }
    params
}

/// `ping`: returns `data` (default `pong`); `data=crash` raises as ansible-core's does.
fn ping(args: &Map) -> Map {
    let unknown: Vec<&str> = args
        .keys()
        .filter_map(Value::as_str)
        .filter(|key| *key != "data")
        .collect();
    if !unknown.is_empty() {
        return failed(format!(
            "Unsupported parameters for (ping) module: {}. Supported parameters include: data.",
            unknown.join(", ")
        ));
    }
    let data = args
        .get("data")
        .map(crate::pyrepr::str)
        .unwrap_or_else(|| "pong".to_string());
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

fn failed(message: String) -> Map {
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
        let params = module_args(COMMAND_SPEC, &args);
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
