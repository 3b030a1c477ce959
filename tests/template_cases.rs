//! Compares rplay's templating with results recorded from ansible-core 2.18.
//!
//! Each file in `fixtures/template/cases/` holds cases and the `expected` result that
//! `compat-tests/template/oracle.py --record` wrote by running Ansible's own Templar.
//! The test needs no Python. A case may carry `"known_gap": "reason"`: a mismatch is
//! then listed but does not fail the test, and a match reports the gap as closed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rplay::template::{FileOptions, Templar, TemplarOptions, Variables};
use rplay::{Map, Value};
use serde_json::Value as Json;

const TEST_HOST: &str = "testhost";

/// The variables of one host as Ansible's variable manager would present them.
struct TestVars {
    vars: Map,
    hosts: Arc<BTreeMap<String, Arc<TestVars>>>,
    host_order: Arc<Vec<String>>,
}

impl Variables for TestVars {
    fn get(&self, name: &str) -> Option<Value> {
        self.vars.get(name).cloned()
    }

    fn names(&self) -> Vec<String> {
        self.vars
            .keys()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect()
    }

    fn host(&self, name: &str) -> Option<Arc<dyn Variables>> {
        self.hosts
            .get(name)
            .map(|host| host.clone() as Arc<dyn Variables>)
    }

    fn hosts(&self) -> Vec<String> {
        self.host_order.to_vec()
    }
}

fn from_case_json(json: &Json) -> Value {
    match json {
        Json::Object(map) if map.len() == 1 && map.contains_key("__unsafe__") => {
            Value::unsafe_str(map["__unsafe__"].as_str().unwrap_or_default())
        }
        Json::Object(map) => map
            .iter()
            .map(|(k, v)| (Value::from(k.as_str()), from_case_json(v)))
            .collect(),
        Json::Array(items) => Value::list(items.iter().map(from_case_json).collect()),
        other => Value::from(other.clone()),
    }
}

/// Builds the host under test and its inventory: `groups`, `group_names` and
/// `inventory_hostname` as Ansible's variable manager adds them.
fn build_vars(case: &Json) -> Arc<TestVars> {
    let mut host_vars: Vec<(String, Map)> = vec![(TEST_HOST.to_owned(), Map::new())];
    if let Some(Json::Object(hosts)) = case.get("hosts") {
        for (name, vars) in hosts {
            let vars = from_case_json(vars).as_map().cloned().unwrap_or_default();
            host_vars.push((name.clone(), vars));
        }
    }
    if let Some(vars) = case.get("vars") {
        host_vars[0].1 = from_case_json(vars).as_map().cloned().unwrap_or_default();
    }
    let names: Vec<String> = host_vars.iter().map(|(name, _)| name.clone()).collect();
    let mut group_members: Vec<(String, Vec<String>)> = Vec::new();
    if let Some(Json::Object(groups)) = case.get("groups") {
        for (group, members) in groups {
            let members = members
                .as_array()
                .map(|m| {
                    m.iter()
                        .filter_map(|h| h.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            group_members.push((group.clone(), members));
        }
    }
    let grouped: Vec<&String> = group_members.iter().flat_map(|(_, m)| m).collect();
    let mut groups = Map::new();
    groups.insert(Value::from("all"), names_value(&names));
    let ungrouped: Vec<String> = names
        .iter()
        .filter(|n| !grouped.contains(n))
        .cloned()
        .collect();
    groups.insert(Value::from("ungrouped"), names_value(&ungrouped));
    for (group, members) in &group_members {
        groups.insert(Value::from(group.as_str()), names_value(members));
    }
    let groups = Value::map(groups);
    let order = Arc::new(names.clone());
    let mut built = BTreeMap::new();
    let hosts = Arc::new(BTreeMap::new());
    for (name, vars) in &host_vars {
        let mut vars = vars.clone();
        let mut magic = Map::new();
        magic.insert(
            Value::from("inventory_hostname"),
            Value::from(name.as_str()),
        );
        let short = name.split('.').next().unwrap_or_default();
        magic.insert(Value::from("inventory_hostname_short"), Value::from(short));
        magic.insert(Value::from("groups"), groups.clone());
        let member_of: Vec<String> = group_members
            .iter()
            .filter(|(_, members)| members.contains(name))
            .map(|(group, _)| group.clone())
            .collect();
        magic.insert(Value::from("group_names"), names_value(&member_of));
        for (key, value) in magic {
            vars.insert(key, value);
        }
        built.insert(
            name.clone(),
            Arc::new(TestVars {
                vars,
                hosts: hosts.clone(),
                host_order: order.clone(),
            }),
        );
    }
    let built = Arc::new(built);
    // Rebuild with the shared host table now that every host exists.
    let with_hosts: BTreeMap<String, Arc<TestVars>> = built
        .iter()
        .map(|(name, host)| {
            (
                name.clone(),
                Arc::new(TestVars {
                    vars: host.vars.clone(),
                    hosts: built.clone(),
                    host_order: order.clone(),
                }),
            )
        })
        .collect();
    with_hosts[TEST_HOST].clone()
}

fn names_value(names: &[String]) -> Value {
    Value::list(names.iter().map(|n| Value::from(n.as_str())).collect())
}

fn python_type(value: &Value) -> &'static str {
    value.type_name()
}

/// Runs one case through rplay and returns its result in the oracle's shape.
fn run_case(templar: &Templar, case: &Json) -> Json {
    let vars = build_vars(case);
    let text = case.get("text").and_then(Json::as_str).unwrap_or_default();
    let kind = case.get("kind").and_then(Json::as_str).unwrap_or_default();
    let result: Result<(Value, Vec<String>), rplay::template::TemplateError> = match kind {
        "expr" => templar
            .template_str(&format!("{{{{ {text} }}}}"), vars.as_ref())
            .map(|v| (v, Vec::new())),
        "str" => templar
            .template(&from_case_json(&case["text"]), vars.as_ref())
            .map(|v| (v, Vec::new())),
        "value" => templar
            .template(&from_case_json(&case["value"]), vars.as_ref())
            .map(|v| (v, Vec::new())),
        "cond" => templar
            .check_conditional(&Value::from(text), vars.as_ref(), None)
            .map(|outcome| {
                let warnings = outcome
                    .warnings
                    .iter()
                    .map(|w| {
                        if w.deprecation {
                            format!("[DEPRECATION WARNING]: {}", w.message)
                        } else {
                            w.message.clone()
                        }
                    })
                    .collect();
                (Value::Bool(outcome.result), warnings)
            }),
        "file" => {
            let options = case.get("options").cloned().unwrap_or(Json::Null);
            let mut file_options = FileOptions::default();
            if let Some(trim) = options.get("trim_blocks").and_then(Json::as_bool) {
                file_options.trim_blocks = trim;
            }
            if let Some(lstrip) = options.get("lstrip_blocks").and_then(Json::as_bool) {
                file_options.lstrip_blocks = lstrip;
            }
            if let Some(newline) = options.get("newline_sequence").and_then(Json::as_str) {
                file_options.newline_sequence = newline.to_owned();
            }
            templar
                .render_file(text, vars.as_ref(), &file_options)
                .map(|s| (Value::from(s), Vec::new()))
        }
        other => panic!("unknown case kind {other}"),
    };
    match result {
        Ok((value, warnings)) => serde_json::json!({
            "value": serde_json::to_value(&value).unwrap_or(Json::Null),
            "type": python_type(&value),
            "warnings": warnings,
        }),
        Err(error) => serde_json::json!({ "error": error.message }),
    }
}

/// Compares rplay's result with the recorded one; `None` when they agree.
fn compare(case: &Json, actual: &Json) -> Option<String> {
    let expected = &case["expected"];
    let mode = case.get("match").and_then(Json::as_str).unwrap_or("exact");
    if let Some(message) = expected.get("error").and_then(Json::as_str) {
        let Some(actual_message) = actual.get("error").and_then(Json::as_str) else {
            return Some(format!("expected error {message:?}, got {actual}"));
        };
        let agrees = match mode {
            "error_prefix" => {
                // Parser messages differ between Jinja2 and minijinja; the text up to
                // the parser's own message must agree.
                error_head(message) == error_head(actual_message)
            }
            "error_contains" => {
                let needle = case
                    .get("needle")
                    .and_then(Json::as_str)
                    .unwrap_or_default();
                message.contains(needle) && actual_message.contains(needle)
            }
            "error_any" => true,
            _ => message == actual_message,
        };
        return (!agrees).then(|| format!("error {actual_message:?}, expected {message:?}"));
    }
    if actual.get("error").is_some() {
        return Some(format!(
            "failed with {}, expected {}",
            actual["error"], expected["value"]
        ));
    }
    if actual["value"] != expected["value"] {
        return Some(format!(
            "value {}, expected {}",
            actual["value"], expected["value"]
        ));
    }
    // Ansible's `NativeJinjaText` (output of `string`, `to_json`, ...) is a `str`.
    let expected_type = match expected["type"].as_str() {
        Some("NativeJinjaText") => Json::from("str"),
        _ => expected["type"].clone(),
    };
    if actual["type"] != expected_type {
        return Some(format!(
            "type {}, expected {}",
            actual["type"], expected["type"]
        ));
    }
    if case["kind"] == "cond" && actual["warnings"] != expected["warnings"] {
        return Some(format!(
            "warnings {}, expected {}",
            actual["warnings"], expected["warnings"]
        ));
    }
    None
}

/// An error message up to its last `: ` before the quoted template text.
fn error_head(message: &str) -> String {
    let before_text = message.split(" String: ").next().unwrap_or_default();
    before_text
        .rsplit_once(": ")
        .map_or(before_text, |(head, _)| head)
        .to_owned()
}

fn case_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/template/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|path| path.extension().is_some_and(|ext| ext == "json"));
    files.sort();
    files
}

#[test]
fn templating_matches_recorded_ansible_results() {
    let templar = Templar::new(TemplarOptions::default());
    let mut total = 0;
    let mut failures = Vec::new();
    let mut gaps = Vec::new();
    let mut closed = Vec::new();
    for file in case_files() {
        let text = std::fs::read_to_string(&file).expect("case file is readable");
        let cases: Vec<Json> = serde_json::from_str(&text).expect("case file is JSON");
        let stem = file
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        for case in &cases {
            if case.get("expected").is_none() {
                continue;
            }
            total += 1;
            let name = format!("{stem}/{}", case["name"].as_str().unwrap_or("?"));
            let actual = run_case(&templar, case);
            let mismatch = compare(case, &actual);
            match (mismatch, case.get("known_gap")) {
                (Some(problem), Some(gap)) => gaps.push(format!("{name}: {problem} ({gap})")),
                (Some(problem), None) => failures.push(format!("{name}: {problem}")),
                (None, Some(_)) => closed.push(name),
                (None, None) => {}
            }
        }
    }
    let report = format!(
        "{} cases, {} match, {} known gaps, {} failures\nknown gaps:\n  {}\nclosed gaps:\n  {}\nfailures:\n  {}",
        total,
        total - failures.len() - gaps.len(),
        gaps.len(),
        failures.len(),
        gaps.join("\n  "),
        closed.join("\n  "),
        failures.join("\n  ")
    );
    if let Ok(path) = std::env::var("RPLAY_TEMPLATE_REPORT") {
        let _ = std::fs::write(path, &report);
    }
    assert!(total > 0, "no recorded cases found");
    assert!(failures.is_empty(), "{report}");
}
