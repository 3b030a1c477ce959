//! The `rplay_results` callback: every task result as `register` stores it, per host, in a
//! JSON file. The compat tests enable the callback plugin of the same name in real Ansible
//! (`compat-tests/lab/callback_plugins/rplay_results.py`), which writes the same layout:
//!
//! ```text
//! {"hosts": {"HOST": [{"action": ..., "ignored": false, "play": ..., "register": NAME or null,
//!                      "result": {...}, "status": "ok" | "failed" | "skipped" | "unreachable",
//!                      "task": ...}, ...]}}
//! ```
//!
//! Keys are sorted and each host's entries keep the order of its results. A loop gives one
//! entry, whose result contains the items under `results`.

use std::io;
use std::path::PathBuf;

use indexmap::IndexMap;
use rplay_modules::json::{dumps, DumpOptions};

use super::display::{warning_text, DEFAULT_COLUMNS};
use crate::executor::events::{Callback, Event, HostResult, Status};
use crate::{Map, Value};

/// Tells whether `name` in `callbacks_enabled` names this callback.
pub fn is_results_callback(name: &str) -> bool {
    name == "rplay_results"
}

/// Collects the results of a run and writes them to `path` at the start of each playbook
/// and after the recap.
pub struct ResultsWriter {
    path: PathBuf,
    play: Option<String>,
    hosts: IndexMap<String, Vec<Value>>,
    /// Set after the first failed write, so the warning prints once.
    write_failed: bool,
}

impl ResultsWriter {
    pub fn new(path: PathBuf) -> ResultsWriter {
        ResultsWriter {
            path,
            play: None,
            hosts: IndexMap::new(),
            write_failed: false,
        }
    }

    /// Returns the file's content: `{"hosts": {...}}` as `json.dumps(indent=1, sort_keys=True)`.
    pub fn document(&self) -> String {
        let hosts: Map = self
            .hosts
            .iter()
            .map(|(host, entries)| (Value::from(host.as_str()), Value::list(entries.clone())))
            .collect();
        let mut document = Map::new();
        document.insert(Value::from("hosts"), Value::map(hosts));
        let options = DumpOptions {
            indent: Some(1),
            sort_keys: true,
            ensure_ascii: false,
        };
        let mut text = dumps(&Value::map(document), options);
        text.push('\n');
        text
    }

    fn add(&mut self, result: &HostResult) {
        let status = match result.status {
            Status::Ok => "ok",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
            Status::Unreachable => "unreachable",
        };
        let task = &result.task;
        let mut entry = Map::new();
        let play = self.play.as_deref().map_or(Value::Null, Value::from);
        entry.insert(Value::from("play"), play);
        entry.insert(Value::from("task"), Value::from(task.name.trim()));
        entry.insert(Value::from("action"), Value::from(task.action.as_str()));
        let register = task.register.as_deref().map_or(Value::Null, Value::from);
        entry.insert(Value::from("register"), register);
        entry.insert(Value::from("status"), Value::from(status));
        entry.insert(Value::from("ignored"), Value::Bool(result.ignored));
        let registered = registered_value(&result.full_result);
        entry.insert(Value::from("result"), Value::map(registered));
        self.hosts
            .entry(result.host.clone())
            .or_default()
            .push(Value::map(entry));
    }

    fn write(&self) -> io::Result<()> {
        std::fs::write(&self.path, self.document())
    }

    /// Writes the file, warning once when that fails, as Ansible warns about a callback
    /// method that raised.
    #[allow(clippy::print_stderr)]
    fn write_or_warn(&mut self, method: &str) {
        if let Err(err) = self.write() {
            if !self.write_failed {
                self.write_failed = true;
                let message = format!(
                    "Failure using method ({method}) in callback plugin (rplay_results): \
                     cannot write {}: {err}",
                    self.path.display()
                );
                eprint!("{}", warning_text(&message, DEFAULT_COLUMNS));
            }
        }
    }
}

impl Callback for ResultsWriter {
    fn on_event(&mut self, event: &Event) {
        match event {
            Event::PlaybookStart { .. } => self.write_or_warn("v2_playbook_on_start"),
            Event::PlayStart { name, .. } => self.play = Some(name.trim().to_string()),
            Event::TaskResult(result) => self.add(result),
            Event::Stats(_) => self.write_or_warn("v2_playbook_on_stats"),
            _ => {}
        }
    }
}

/// Returns a result as ansible-core 2.18 registers it: without `_ansible_*` keys at any depth and
/// without the top-level `invocation` (its strategy's `strip_internal_keys` of a deep copy).
pub fn registered_value(result: &Map) -> Map {
    let mut value = strip_internal_keys(result);
    value.shift_remove(&Value::from("invocation"));
    value
}

fn strip_internal_keys(map: &Map) -> Map {
    map.iter()
        .filter(|(key, _)| !key.as_str().is_some_and(|k| k.starts_with("_ansible_")))
        .map(|(key, value)| (key.clone(), strip_value(value)))
        .collect()
}

fn strip_value(value: &Value) -> Value {
    match value {
        Value::Map(map) => Value::map(strip_internal_keys(map)),
        Value::List(items) => Value::list(items.iter().map(strip_value).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::executor::events::{TaskInfo, TaskKind};

    fn map(pairs: &[(&str, Value)]) -> Map {
        pairs
            .iter()
            .map(|(k, v)| (Value::from(*k), v.clone()))
            .collect()
    }

    fn task(name: &str, register: Option<&str>) -> Arc<TaskInfo> {
        Arc::new(TaskInfo {
            id: 1,
            name: name.to_string(),
            retry_name: name.to_string(),
            action: "ansible.builtin.command".to_string(),
            kind: TaskKind::Task,
            args_text: None,
            check_mode: false,
            diff: false,
            is_include: false,
            has_loop: false,
            register: register.map(str::to_string),
            path: "playbook.yml:3".to_string(),
        })
    }

    fn host_result(host: &str, status: Status, result: Map) -> HostResult {
        HostResult {
            host: host.to_string(),
            task: task("Read", Some("out")),
            status,
            full_result: result.clone(),
            result,
            ignored: status == Status::Failed,
            delegated_to: None,
        }
    }

    #[test]
    fn registered_value_strips_internal_keys() {
        let item = map(&[
            ("_ansible_item_label", Value::from("a")),
            ("invocation", Value::map(Map::new())),
            ("item", Value::from("a")),
        ]);
        let result = map(&[
            ("_ansible_no_log", Value::Bool(false)),
            ("changed", Value::Bool(true)),
            ("invocation", Value::map(Map::new())),
            ("results", Value::list(vec![Value::map(item)])),
        ]);
        let registered = registered_value(&result);
        let keys: Vec<&str> = registered.keys().filter_map(Value::as_str).collect();
        assert_eq!(keys, ["changed", "results"]);
        // Items keep `invocation`: ansible-core removes it only at the top level.
        let expected_item = map(&[
            ("invocation", Value::map(Map::new())),
            ("item", Value::from("a")),
        ]);
        assert_eq!(
            registered[&Value::from("results")],
            Value::list(vec![Value::map(expected_item)])
        );
    }

    #[test]
    fn document_groups_results_by_host() {
        let dir = std::env::temp_dir().join(format!("rplay-results-{}", std::process::id()));
        let mut writer = ResultsWriter::new(dir.join("unused.json"));
        writer.on_event(&Event::PlayStart {
            name: "Setup ".to_string(),
            check_mode: false,
            strategy: "linear".to_string(),
        });
        let ok = map(&[("changed", Value::Bool(false)), ("rc", Value::Int(0))]);
        writer.on_event(&Event::TaskResult(host_result("test-2", Status::Ok, ok)));
        let failed = map(&[
            ("failed", Value::Bool(true)),
            ("_ansible_no_log", Value::Bool(false)),
        ]);
        writer.on_event(&Event::TaskResult(host_result(
            "test-1",
            Status::Failed,
            failed,
        )));
        let expected = r#"{
 "hosts": {
  "test-1": [
   {
    "action": "ansible.builtin.command",
    "ignored": true,
    "play": "Setup",
    "register": "out",
    "result": {
     "failed": true
    },
    "status": "failed",
    "task": "Read"
   }
  ],
  "test-2": [
   {
    "action": "ansible.builtin.command",
    "ignored": false,
    "play": "Setup",
    "register": "out",
    "result": {
     "changed": false,
     "rc": 0
    },
    "status": "ok",
    "task": "Read"
   }
  ]
 }
}
"#;
        assert_eq!(writer.document(), expected);
    }

    #[test]
    fn writes_file_at_playbook_start_and_recap() {
        let path = std::env::temp_dir().join(format!("rplay-results-{}.json", std::process::id()));
        let mut writer = ResultsWriter::new(path.clone());
        writer.on_event(&Event::PlaybookStart {
            path: "playbook.yml".to_string(),
            plays: 1,
        });
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\n \"hosts\": {}\n}\n"
        );
        let ok = map(&[("changed", Value::Bool(false))]);
        writer.on_event(&Event::TaskResult(host_result("test-1", Status::Ok, ok)));
        writer.on_event(&Event::Stats(Vec::new()));
        let written = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(written, writer.document());
        assert!(written.contains("\"test-1\""));
    }
}
