//! The `async`, `poll` and `timeout` task keywords. With `async`, the module starts in
//! the background on its target and the controller polls the job with `async_status`
//! every `poll` seconds, as ansible-core's `TaskExecutor._poll_async_result` does.

use std::time::Duration;

use rplay_modules::background::AsyncJob;
use rplay_modules::dispatch::ModuleOptions;

use super::context::TaskContext;
use super::events::Event;
use super::Executor;
use crate::playbook::value_text;
use crate::template::Variables;
use crate::vars::HostVars;
use crate::{Map, Value};

/// A task's `async` and `poll`, templated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct AsyncSettings {
    /// `async`: seconds the job may run.
    pub time_limit: u64,
    /// `poll`: seconds between two status checks; 0 leaves the job alone.
    pub poll: u64,
}

/// Tells whether ansible-core's action plugin for `action` accepts `async`: the normal
/// action (every module without an action plugin of its own), `command`, `shell`,
/// `service`, `package` and `uri`. The other action plugins fail the task.
pub(super) fn supports_async(action: &str) -> bool {
    !matches!(
        action,
        "add_host"
            | "assemble"
            | "assert"
            | "async_status"
            | "copy"
            | "debug"
            | "fail"
            | "fetch"
            | "gather_facts"
            | "group_by"
            | "include_vars"
            | "pause"
            | "raw"
            | "reboot"
            | "script"
            | "set_fact"
            | "set_stats"
            | "synchronize"
            | "ansible.posix.synchronize"
            | "template"
            | "unarchive"
            | "validate_argument_spec"
            | "wait_for_connection"
    )
}

impl Executor<'_> {
    /// Returns the task's `async` and `poll` when `async` is above 0. `poll` defaults to
    /// the `poll_interval` setting.
    pub(super) fn async_settings(
        &self,
        context: &TaskContext,
        vars: &HostVars,
    ) -> Result<Option<AsyncSettings>, String> {
        let Some(time_limit) = self.seconds_keyword(context, vars, "async")? else {
            return Ok(None);
        };
        if time_limit == 0 {
            return Ok(None);
        }
        let poll = self
            .seconds_keyword(context, vars, "poll")?
            .unwrap_or(self.options.poll_interval);
        Ok(Some(AsyncSettings { time_limit, poll }))
    }

    /// Returns the inherited `timeout` keyword in seconds, `None` when unset or 0.
    pub(super) fn task_timeout(
        &self,
        context: &TaskContext,
        vars: &HostVars,
    ) -> Result<Option<u64>, String> {
        let Some(value) = context.keyword("timeout") else {
            return Ok(None);
        };
        let value = self
            .templar
            .template(&value.value, vars)
            .map_err(|err| err.message.clone())?;
        Ok(keyword_seconds("timeout", &value)?.filter(|seconds| *seconds > 0))
    }

    /// Reads the task keyword `name` as a whole number of seconds; a negative number is 0.
    fn seconds_keyword(
        &self,
        context: &TaskContext,
        vars: &HostVars,
        name: &str,
    ) -> Result<Option<u64>, String> {
        let Some(value) = context.task.keyword(name) else {
            return Ok(None);
        };
        let value = self
            .templar
            .template(&value.value, vars)
            .map_err(|err| err.message.clone())?;
        let field = if name == "async" { "async_val" } else { name };
        keyword_seconds(field, &value)
    }

    /// Returns `async_dir` for the task's host: `ansible_async_dir` over the setting.
    pub(super) fn async_dir(&self, vars: &HostVars) -> String {
        vars.get("ansible_async_dir")
            .and_then(|raw| self.templar.template(&raw, vars).ok())
            .filter(|value| !value.is_null())
            .map(|value| value_text(&value))
            .unwrap_or_else(|| self.options.async_dir.clone())
    }

    /// Sets up `options` to start the module as an async job, and passes `async_dir` to
    /// the job's environment as ansible-core does (`ANSIBLE_ASYNC_DIR`).
    pub(super) fn apply_async(
        &self,
        options: &mut ModuleOptions,
        settings: &AsyncSettings,
        vars: &HostVars,
    ) {
        let async_dir = self.async_dir(vars);
        options.timeout = None;
        options
            .environment
            .retain(|(name, _)| name != "ANSIBLE_ASYNC_DIR");
        options
            .environment
            .push(("ANSIBLE_ASYNC_DIR".to_string(), async_dir.clone()));
        options.async_job = Some(AsyncJob {
            time_limit: settings.time_limit,
            async_dir,
        });
    }

    /// Polls the job that `launch` started until it finishes or `async` seconds have
    /// passed, and removes its job file once it finished. Returns the job's result, or
    /// ansible-core's failure for a job that did not finish in time.
    pub(super) fn poll_async_job(
        &self,
        context: &TaskContext,
        host: &str,
        vars: &HostVars,
        launch: &Map,
        settings: &AsyncSettings,
    ) -> Map {
        let Some(jid) = launch.get("ansible_job_id").map(value_text) else {
            return super::actions::failed_result(
                "No job id was returned by the async task".to_string(),
            );
        };
        let target = match self.target(context, host, vars) {
            Ok(target) => target,
            Err(message) => return super::actions::failed_result(message),
        };
        let options = ModuleOptions {
            check_mode: self.check_mode(context, vars),
            module_name: Some("async_status".to_string()),
            ..ModuleOptions::default()
        };
        let status_args = |mode: &str| {
            let mut args = Map::new();
            args.insert(Value::from("jid"), Value::from(jid.clone()));
            args.insert(Value::from("mode"), Value::from(mode));
            args.insert(Value::from("_async_dir"), Value::from(self.async_dir(vars)));
            args
        };
        let mut time_left = settings.time_limit as i64;
        let mut status = Map::new();
        while time_left > 0 {
            std::thread::sleep(Duration::from_secs(settings.poll));
            status = self.run_module_on(
                &target,
                "async_status",
                &status_args("status"),
                &options,
                vars,
            );
            time_left -= settings.poll as i64;
            if is_unreachable(&status) {
                // ansible-core retries a status check that raised until the time is up.
                continue;
            }
            if job_finished(&status)
                || status.contains_key("failed")
                || status.contains_key("skipped")
            {
                break;
            }
            self.emit(Event::AsyncPoll {
                host: host.to_string(),
                jid: jid.clone(),
                started: status_text(&status, "started"),
                finished: status_text(&status, "finished"),
            });
        }
        if is_unreachable(&status) {
            return status;
        }
        if !job_finished(&status) {
            let mut result = super::actions::failed_result(format!(
                "async task did not complete within the requested time - {}s",
                settings.time_limit
            ));
            result.insert(Value::from("async_result"), Value::map(status));
            return result;
        }
        self.run_module_on(
            &target,
            "async_status",
            &status_args("cleanup"),
            &options,
            vars,
        );
        status
    }

    /// Emits `ASYNC OK` or `ASYNC FAILED` for a polled job's result.
    pub(super) fn emit_async_outcome(&self, host: &str, result: &Map) {
        let jid = result
            .get("ansible_job_id")
            .or_else(|| match result.get("async_result") {
                Some(Value::Map(status)) => status.get("ansible_job_id"),
                _ => None,
            })
            .map(rplay_modules::pyrepr::str)
            .unwrap_or_else(|| "None".to_string());
        let host = host.to_string();
        if result.get("failed").is_some_and(Value::is_truthy) {
            self.emit(Event::AsyncFailed { host, jid });
        } else {
            self.emit(Event::AsyncOk { host, jid });
        }
    }
}

/// Converts a templated `async`, `poll` or `timeout` value as ansible-core's integer
/// field does; a negative number counts as 0.
fn keyword_seconds(field: &str, value: &Value) -> Result<Option<u64>, String> {
    let number = match value {
        Value::Null => return Ok(None),
        Value::Int(number) => *number,
        Value::Float(number) => *number as i64,
        Value::Bool(flag) => i64::from(*flag),
        other => other
            .as_str()
            .and_then(|text| text.trim().parse::<i64>().ok())
            .ok_or_else(|| {
                format!(
                    "the field '{field}' has an invalid value ({}), and could not be converted to int.",
                    rplay_modules::pyrepr::str(other)
                )
            })?,
    };
    Ok(Some(number.max(0) as u64))
}

/// ansible-core reads `finished` with `int()`, so `1`, `"1"` and `true` all count.
fn job_finished(status: &Map) -> bool {
    match status.get("finished") {
        Some(Value::Int(number)) => *number == 1,
        Some(Value::Bool(flag)) => *flag,
        Some(other) => other.as_str().is_some_and(|text| text.trim() == "1"),
        None => false,
    }
}

fn is_unreachable(status: &Map) -> bool {
    status.get("unreachable") == Some(&Value::Bool(true))
}

/// Formats a status key as Python's `%s` prints it: `None` when missing.
fn status_text(status: &Map, key: &str) -> String {
    status
        .get(key)
        .map(rplay_modules::pyrepr::str)
        .unwrap_or_else(|| "None".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_seconds_reads_numbers() {
        assert_eq!(keyword_seconds("poll", &Value::Int(3)), Ok(Some(3)));
        assert_eq!(keyword_seconds("poll", &Value::from("10")), Ok(Some(10)));
        assert_eq!(keyword_seconds("poll", &Value::Int(-2)), Ok(Some(0)));
        assert_eq!(keyword_seconds("poll", &Value::Null), Ok(None));
        assert!(keyword_seconds("poll", &Value::from("soon")).is_err());
    }

    #[test]
    fn job_finished_reads_like_int() {
        let status = |value: Value| {
            let mut map = Map::new();
            map.insert(Value::from("finished"), value);
            map
        };
        assert!(job_finished(&status(Value::Int(1))));
        assert!(job_finished(&status(Value::from("1"))));
        assert!(job_finished(&status(Value::Bool(true))));
        assert!(!job_finished(&status(Value::Int(0))));
        assert!(!job_finished(&Map::new()));
    }

    #[test]
    fn unsupported_actions_reject_async() {
        for action in ["copy", "template", "debug", "script", "raw", "async_status"] {
            assert!(!supports_async(action), "{action}");
        }
        for action in ["command", "shell", "file", "wait_for", "setup", "uri"] {
            assert!(supports_async(action), "{action}");
        }
    }
}
