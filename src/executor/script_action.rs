//! The `script` action: a controller file copied to the target's temporary directory
//! and run there through `/bin/sh`, as ansible-core's script action plugin does.

use super::actions::{action_fail_result, ActionOutcome, Target};
use super::context::TaskContext;
use super::Executor;
use crate::playbook::value_text;
use crate::vars::HostVars;
use crate::{Map, Value};
use rplay_modules::command::shell_quote;

/// The options ansible-core's script action accepts, in its message's order.
const OPTIONS: &[&str] = &[
    "_raw_params",
    "chdir",
    "cmd",
    "creates",
    "executable",
    "removes",
];

/// The arguments of a script task, after validation.
struct ScriptRequest {
    /// The free-form text: the script and its arguments, as written.
    raw_params: String,
    /// The script's name, the first word of `raw_params`.
    source: String,
    creates: Option<String>,
    removes: Option<String>,
    chdir: Option<String>,
    executable: Option<String>,
}

/// Runs `script` for one host.
pub(super) fn script(
    executor: &Executor<'_>,
    context: &TaskContext,
    host: &str,
    args: &Map,
    vars: &HostVars,
) -> ActionOutcome {
    match run(executor, context, host, args, vars) {
        Ok(outcome) => outcome,
        Err(result) => outcome(result),
    }
}

/// Runs the steps of [`script`]. An `Err` is the task's result: a failure, or the result
/// of a connection that failed.
fn run(
    executor: &Executor<'_>,
    context: &TaskContext,
    host: &str,
    args: &Map,
    vars: &HostVars,
) -> Result<ActionOutcome, Map> {
    let request = ScriptRequest::read(&context.task.action, args).map_err(failure)?;
    let target = executor
        .target(context, host, vars)
        .map_err(super::actions::failed_result)?;

    if let Some(path) = &request.creates {
        if executor.remote_path_exists(&target, path, vars)? {
            return Ok(skipped(format!("{path} exists, matching creates option")));
        }
    }
    if let Some(path) = &request.removes {
        if !executor.remote_path_exists(&target, path, vars)? {
            return Ok(skipped(format!(
                "{path} does not exist, matching removes option"
            )));
        }
    }

    if let Some(chdir) = request.chdir.as_deref().filter(|dir| !dir.starts_with('/')) {
        return Err(failure(format!(
            "chdir {chdir} must be an absolute path for a Unix-aware remote node"
        )));
    }
    let Some(path) = executor.find_needle(context, "files", &request.source) else {
        let searched = executor.needle_candidates(context, "files", &request.source);
        let mut result = super::copy_action::not_found_result(&request.source, &searched);
        result.insert(Value::from("changed"), Value::Bool(false));
        return Err(result);
    };
    // The action reads `decrypt` from the task itself; its argument spec rejects it.
    let content = super::copy_action::read_source_file(&path, None)?.data;
    let content =
        super::copy_action::decrypt_for_action(executor.templar.vault_secrets(), &path, content)?;

    if executor.check_mode(context, vars) {
        return Ok(check_mode_result(&request));
    }
    let environment = executor
        .environment(context, vars)
        .map_err(super::actions::failed_result)?;
    let mut result = executor.run_script(&target, &request, &content, &environment, vars)?;
    result.insert(Value::from("changed"), Value::Bool(true));
    let failed = result.get("rc").is_some_and(|rc| rc != &Value::Int(0));
    if failed {
        let mut failure = action_fail_result("non-zero return code".to_string());
        failure.extend(result);
        result = failure;
    }
    Ok(outcome(result))
}

impl ScriptRequest {
    /// Validates the arguments as ansible-core's action does with its argument spec:
    /// only the known options, and the free form or `cmd`.
    fn read(action: &str, args: &Map) -> Result<ScriptRequest, String> {
        let mut unknown: Vec<String> = args
            .keys()
            .map(value_text)
            .filter(|key| !OPTIONS.contains(&key.as_str()))
            .collect();
        unknown.sort();
        if !unknown.is_empty() {
            return Err(format!(
                "Unsupported parameters for ({action}) module: {}. Supported parameters include: {}.",
                unknown.join(", "),
                OPTIONS.join(", ")
            ));
        }
        let text = |name: &str| {
            args.get(name)
                .filter(|value| !value.is_null())
                .map(value_text)
        };
        let Some(raw_params) = text("_raw_params").or_else(|| text("cmd")) else {
            return Err("one of the following is required: _raw_params, cmd".to_string());
        };
        let words = rplay_modules::command::split_command(raw_params.trim())?;
        let Some(source) = words.first().cloned() else {
            return Err("one of the following is required: _raw_params, cmd".to_string());
        };
        let nonempty = |value: Option<String>| value.filter(|text| !text.is_empty());
        Ok(ScriptRequest {
            raw_params,
            source,
            creates: nonempty(text("creates")),
            removes: nonempty(text("removes")),
            chdir: nonempty(text("chdir")),
            executable: nonempty(text("executable")),
        })
    }

    /// Builds the command line on the target: the script's path in place of its name, the
    /// arguments as written, after `executable` and the task's environment.
    fn command_line(&self, remote_path: &str, environment: &[(String, String)]) -> String {
        let target_command = self.raw_params.trim().replace(&self.source, remote_path);
        let mut words: Vec<String> = environment
            .iter()
            .map(|(name, value)| format!("{name}={}", shell_quote(value)))
            .collect();
        words.extend(self.executable.clone());
        words.push(target_command);
        let command = words.join(" ");
        match &self.chdir {
            Some(dir) => format!("cd {dir} && {command}"),
            None => command,
        }
    }
}

/// Check mode: with `creates` or `removes` the script would have run, so the task
/// reports a change; without them the action cannot tell and skips.
fn check_mode_result(request: &ScriptRequest) -> ActionOutcome {
    let mut result = Map::new();
    if request.creates.is_some() || request.removes.is_some() {
        result.insert(Value::from("changed"), Value::Bool(true));
        return outcome(result);
    }
    let mut result = skipped("Check mode is not supported for this task.".to_string()).result;
    result.insert(Value::from("changed"), Value::Bool(false));
    outcome(result)
}

impl Executor<'_> {
    /// Tells whether `path` exists on the target, as `test -e PATH` there.
    fn remote_path_exists(
        &self,
        target: &Target,
        path: &str,
        vars: &HostVars,
    ) -> Result<bool, Map> {
        if target.is_local() {
            return Ok(std::path::Path::new(path).exists());
        }
        let command = format!("test -e {}", shell_quote(path));
        let output = self.run_shell(target, &command, None, false, vars)?;
        Ok(output.status == Some(0))
    }

    /// Copies the script into a new directory under `remote_tmp`, runs it and removes
    /// the directory. Returns `rc`, `stdout` and `stderr` with their line lists.
    fn run_script(
        &self,
        target: &Target,
        request: &ScriptRequest,
        content: &[u8],
        environment: &[(String, String)],
        vars: &HostVars,
    ) -> Result<Map, Map> {
        let file_name = std::path::Path::new(&request.source)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| request.source.clone());
        let directory = self.transfer_script(target, &file_name, content, vars)?;
        let remote_path = format!("{directory}/{file_name}");
        let command = request.command_line(&remote_path, environment);
        let command = format!("/bin/sh -c {}", shell_quote(&command));
        let output = self.run_shell(target, &command, None, true, vars);
        let cleanup = format!("rm -f -r {} > /dev/null 2>&1", shell_quote(&directory));
        let _ = self.run_shell(target, &cleanup, None, false, vars);
        let output = output?;
        let mut result = Map::new();
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let lines = |text: &str| Value::list(text.lines().map(Value::from).collect());
        let stdout = text(&output.stdout);
        let stderr = text(&output.stderr);
        result.insert(
            Value::from("rc"),
            Value::Int(output.status.map_or(-1, i64::from)),
        );
        result.insert(Value::from("stdout"), Value::from(stdout.clone()));
        result.insert(Value::from("stdout_lines"), lines(&stdout));
        result.insert(Value::from("stderr"), Value::from(stderr.clone()));
        result.insert(Value::from("stderr_lines"), lines(&stderr));
        Ok(result)
    }

    /// Writes the script into a new `ansible-tmp-*` directory of `remote_tmp` (0700, as
    /// ansible-core makes it) and returns that directory's absolute path.
    fn transfer_script(
        &self,
        target: &Target,
        file_name: &str,
        content: &[u8],
        vars: &HostVars,
    ) -> Result<String, Map> {
        let remote_tmp = self.remote_tmp(vars);
        let base = match remote_tmp.strip_prefix("~/") {
            Some(rest) => format!("\"$HOME\"/{}", shell_quote(rest)),
            None if remote_tmp == "~" => "\"$HOME\"".to_string(),
            None => shell_quote(&remote_tmp),
        };
        let name = format!("ansible-tmp-{}", unique_suffix());
        let file = shell_quote(file_name);
        let command = format!(
            "umask 77 && mkdir -p {base} && cd {base} && mkdir {name} && cat > {name}/{file} && chmod u+x {name}/{file} && echo \"$PWD/{name}\""
        );
        let output = self.run_shell(target, &command, Some(content), false, vars)?;
        if output.status != Some(0) {
            return Err(super::actions::failed_result(format!(
                "failed to transfer the script to {remote_tmp}: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }
}

/// `TIME-PID-NUMBER`, as ansible-core names its remote temporary directories.
fn unique_suffix() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}.{:06}-{}-{}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        now.subsec_nanos() % 1_000_000_000
    )
}

fn outcome(result: Map) -> ActionOutcome {
    ActionOutcome {
        result,
        effects: Vec::new(),
    }
}

/// Builds a failure the action raises (`AnsibleActionFail`): `changed` is false.
fn failure(message: String) -> Map {
    let mut result = action_fail_result(message);
    result.insert(Value::from("changed"), Value::Bool(false));
    result
}

/// Builds a skip the action raises (`AnsibleActionSkip`).
fn skipped(message: String) -> ActionOutcome {
    let mut result = Map::new();
    result.insert(Value::from("changed"), Value::Bool(false));
    result.insert(Value::from("skipped"), Value::Bool(true));
    result.insert(Value::from("msg"), Value::from(message));
    outcome(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, &str)]) -> Map {
        pairs
            .iter()
            .map(|(key, value)| (Value::from(*key), Value::from(*value)))
            .collect()
    }

    #[test]
    fn read_takes_free_form_or_cmd() {
        let request = ScriptRequest::read("script", &args(&[("_raw_params", "a.sh x y")])).unwrap();
        assert_eq!(request.source, "a.sh");
        let request = ScriptRequest::read("script", &args(&[("cmd", "'b c.sh' z")])).unwrap();
        assert_eq!(request.source, "b c.sh");
        let missing = ScriptRequest::read("script", &Map::new()).err().unwrap();
        assert_eq!(
            missing,
            "one of the following is required: _raw_params, cmd"
        );
    }

    #[test]
    fn read_rejects_unknown_options() {
        let error = ScriptRequest::read(
            "script",
            &args(&[("_raw_params", "a.sh"), ("decrypt", "no")]),
        )
        .err()
        .unwrap();
        assert_eq!(
            error,
            "Unsupported parameters for (script) module: decrypt. Supported parameters include: _raw_params, chdir, cmd, creates, executable, removes."
        );
    }

    #[test]
    fn command_line_keeps_arguments_as_written() {
        let mut request = ScriptRequest::read(
            "script",
            &args(&[("_raw_params", "'space path/t.sh' -a \"b c\"")]),
        )
        .unwrap();
        let environment = vec![("X".to_string(), "1 2".to_string())];
        assert_eq!(
            request.command_line("/tmp/d/t.sh", &environment),
            "X='1 2' '/tmp/d/t.sh' -a \"b c\""
        );
        request.executable = Some("/bin/bash".to_string());
        request.chdir = Some("/srv".to_string());
        assert_eq!(
            request.command_line("/tmp/d/t.sh", &[]),
            "cd /srv && /bin/bash '/tmp/d/t.sh' -a \"b c\""
        );
    }

    #[test]
    fn check_mode_skips_without_creates() {
        let mut request = ScriptRequest::read("script", &args(&[("_raw_params", "a.sh")])).unwrap();
        let skipped = check_mode_result(&request).result;
        assert_eq!(skipped.get("skipped"), Some(&Value::Bool(true)));
        assert_eq!(
            skipped.get("msg"),
            Some(&Value::from("Check mode is not supported for this task."))
        );
        request.creates = Some("/x".to_string());
        let changed = check_mode_result(&request).result;
        assert_eq!(changed.get("changed"), Some(&Value::Bool(true)));
        assert!(!changed.contains_key("skipped"));
    }
}
