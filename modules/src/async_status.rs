//! The `async_status` module and action: the state of a job that `async` started, read
//! from its job file, or the removal of that file (`mode: cleanup`).
//!
//! ansible-core splits this between an action, which sets the keys every result has
//! (`started`, `finished`, empty `stdout`/`stderr`, `ansible_job_id` and `results_file`
//! or `erased`), and a module, whose result is merged over them. Both parts run here,
//! on the target, where `~` in the job directory expands to the right home.

use crate::dispatch::ModuleOptions;
use crate::spec::{Default, Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "async_status",
    &[
        OptionSpec::new("jid", Kind::Str).required(),
        OptionSpec::new("mode", Kind::Str)
            .default(Default::Str("status"))
            .choices(&["cleanup", "status"]),
        // Set by the controller from `async_dir`.
        OptionSpec::new("_async_dir", Kind::Path).required(),
    ],
);

pub fn run(params: &Params, _options: &ModuleOptions) -> Map {
    let jid = params.string("jid").unwrap_or_default();
    let cleanup = params.str("mode") == Some("cleanup");
    let async_dir = params.string("_async_dir").unwrap_or_default();
    let log_path = std::path::Path::new(&async_dir)
        .join(&jid)
        .display()
        .to_string();

    let mut result = action_keys(&jid, &log_path, cleanup);
    let module_result = job_state(&jid, &log_path, cleanup);
    for (key, value) in module_result {
        result.insert(key, value);
    }
    result
}

/// Returns the keys ansible-core's async_status action sets before it runs the module.
fn action_keys(jid: &str, log_path: &str, cleanup: bool) -> Map {
    let mut result = Map::new();
    result.insert(Value::from("started"), Value::Int(0));
    result.insert(Value::from("finished"), Value::Int(0));
    result.insert(Value::from("stdout"), Value::from(""));
    result.insert(Value::from("stderr"), Value::from(""));
    result.insert(Value::from("stdout_lines"), Value::list(Vec::new()));
    result.insert(Value::from("stderr_lines"), Value::list(Vec::new()));
    result.insert(Value::from("ansible_job_id"), Value::from(jid));
    if cleanup {
        result.insert(Value::from("erased"), Value::from(log_path));
    } else {
        result.insert(Value::from("results_file"), Value::from(log_path));
        result.insert(Value::from("started"), Value::Int(1));
    }
    result
}

/// Returns the module's result for a job: the job file's content with `finished` set,
/// or, with `cleanup`, the result of removing the file.
fn job_state(jid: &str, log_path: &str, cleanup: bool) -> Map {
    let entries = |pairs: Vec<(&str, Value)>| -> Map {
        pairs
            .into_iter()
            .map(|(key, value)| (Value::from(key), value))
            .collect()
    };
    if !std::path::Path::new(log_path).exists() {
        return entries(vec![
            ("failed", Value::Bool(true)),
            ("msg", Value::from("could not find job")),
            ("ansible_job_id", Value::from(jid)),
            ("started", Value::Int(1)),
            ("finished", Value::Int(1)),
        ]);
    }
    if cleanup {
        let _ = std::fs::remove_file(log_path);
        return entries(vec![
            ("ansible_job_id", Value::from(jid)),
            ("erased", Value::from(log_path)),
        ]);
    }
    let text = std::fs::read_to_string(log_path).unwrap_or_default();
    let mut data = match serde_json::from_str::<serde_json::Value>(&text).map(Value::from) {
        Ok(Value::Map(data)) => (*data).clone(),
        // ansible-core's module reads a file it cannot parse (empty, or written
        // partly) as a job still running.
        _ => {
            return entries(vec![
                ("results_file", Value::from(log_path)),
                ("ansible_job_id", Value::from(jid)),
                ("started", Value::Int(1)),
                ("finished", Value::Int(0)),
            ])
        }
    };
    if !data.contains_key("started") {
        data.insert(Value::from("finished"), Value::Int(1));
        data.insert(Value::from("ansible_job_id"), Value::from(jid));
    } else if !data.contains_key("finished") {
        data.insert(Value::from("finished"), Value::Int(0));
    }
    // The action layer splits the job's output into lines before the merge, so the
    // action's empty line lists do not hide them.
    for (text_key, lines_key) in [("stdout", "stdout_lines"), ("stderr", "stderr_lines")] {
        if data.contains_key(lines_key) {
            continue;
        }
        if let Some(text) = data.get(text_key) {
            let text = text.as_str().unwrap_or_default().to_string();
            let lines = crate::difflib::split_lines(&text);
            data.insert(
                Value::from(lines_key),
                Value::list(lines.into_iter().map(Value::from).collect()),
            );
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(dir: &std::path::Path, jid: &str, mode: &str) -> Map {
        let mut args = Map::new();
        args.insert(Value::from("jid"), Value::from(jid));
        args.insert(Value::from("mode"), Value::from(mode));
        args.insert(
            Value::from("_async_dir"),
            Value::from(dir.display().to_string()),
        );
        run(&SPEC.validate(&args).unwrap(), &ModuleOptions::default())
    }

    #[test]
    fn running_job_is_not_finished() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("j1.2"),
            r#"{"started": 1, "finished": 0, "ansible_job_id": "j1.2"}"#,
        )
        .unwrap();
        let result = status(dir.path(), "j1.2", "status");
        assert_eq!(result.get("started"), Some(&Value::Int(1)));
        assert_eq!(result.get("finished"), Some(&Value::Int(0)));
        assert_eq!(result.get("stdout"), Some(&Value::from("")));
        let path = dir.path().join("j1.2").display().to_string();
        assert_eq!(result.get("results_file"), Some(&Value::from(path)));
    }

    #[test]
    fn finished_job_returns_module_result() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("j1.2"),
            r#"{"changed": true, "rc": 0, "stdout": "a\nb", "stderr": ""}"#,
        )
        .unwrap();
        let result = status(dir.path(), "j1.2", "status");
        assert_eq!(result.get("finished"), Some(&Value::Int(1)));
        assert_eq!(result.get("started"), Some(&Value::Int(1)));
        assert_eq!(result.get("changed"), Some(&Value::Bool(true)));
        assert_eq!(result.get("ansible_job_id"), Some(&Value::from("j1.2")));
        let lines = Value::list(vec![Value::from("a"), Value::from("b")]);
        assert_eq!(result.get("stdout_lines"), Some(&lines));
    }

    #[test]
    fn missing_job_fails() {
        let dir = tempfile::tempdir().unwrap();
        let result = status(dir.path(), "j9.9", "status");
        assert_eq!(result.get("failed"), Some(&Value::Bool(true)));
        assert_eq!(result.get("msg"), Some(&Value::from("could not find job")));
        assert_eq!(result.get("finished"), Some(&Value::Int(1)));
    }

    #[test]
    fn cleanup_removes_job_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j1.2");
        std::fs::write(&path, "{}").unwrap();
        let result = status(dir.path(), "j1.2", "cleanup");
        assert!(!path.exists());
        assert_eq!(result.get("started"), Some(&Value::Int(0)));
        assert_eq!(
            result.get("erased"),
            Some(&Value::from(path.display().to_string()))
        );
        assert!(!result.contains_key("results_file"));
    }

    #[test]
    fn unparsable_job_file_is_running() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("j1.2"), "{not json").unwrap();
        let result = status(dir.path(), "j1.2", "status");
        assert!(!result.contains_key("failed"));
        assert_eq!(result.get("finished"), Some(&Value::Int(0)));
    }
}
