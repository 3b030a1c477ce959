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
pub const MODULES: &[&str] = &["command", "shell", "ping"];

/// Runs `module` with validated `args` and returns its result as ansible-core's module
/// would (a failed module is a result with `failed: true`, not an error).
pub fn run_module(module: &str, args: &Map, options: &ModuleOptions) -> Map {
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
        other => failed(format!(
            "The module {other} was not found in configured module paths"
        )),
    }
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
