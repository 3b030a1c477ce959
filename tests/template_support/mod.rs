//! Runs cases in the format of `compat-tests/template/oracle.py` through rplay's
//! templating: the host under test, its inventory and the result in the oracle's shape.
//! Shared by the recorded cases and the Kubespray corpus runner.

use std::collections::BTreeMap;
use std::sync::Arc;

use rplay::template::{FileOptions, Templar, Variables};
use rplay::{Map, Value};
use serde_json::Value as Json;

const TEST_HOST: &str = "testhost";

/// The variables of one host as Ansible's variable manager would present them.
pub struct TestVars {
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

pub fn from_case_json(json: &Json) -> Value {
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

/// Builds the host under test (`host`, "testhost" by default) and its inventory from a
/// case's `vars`, `hosts` and `groups`: `groups`, `group_names` and
/// `inventory_hostname` as Ansible's variable manager adds them.
pub fn build_vars(case: &Json) -> Arc<TestVars> {
    let test_host = case.get("host").and_then(Json::as_str).unwrap_or(TEST_HOST);
    let mut host_vars: Vec<(String, Map)> = vec![(test_host.to_owned(), Map::new())];
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
    with_hosts[test_host].clone()
}

fn names_value(names: &[String]) -> Value {
    Value::list(names.iter().map(|n| Value::from(n.as_str())).collect())
}

fn python_type(value: &Value) -> &'static str {
    value.type_name()
}

/// Runs one case through rplay with the variables of `vars` and returns its result
/// in the oracle's shape.
pub fn run_case_with(templar: &Templar, vars: &dyn Variables, case: &Json) -> Json {
    let text = case.get("text").and_then(Json::as_str).unwrap_or_default();
    let kind = case.get("kind").and_then(Json::as_str).unwrap_or_default();
    let result: Result<(Value, Vec<String>), rplay::template::TemplateError> = match kind {
        "expr" => templar
            .template_str(&format!("{{{{ {text} }}}}"), vars)
            .map(|v| (v, Vec::new())),
        "str" => templar
            .template(&from_case_json(&case["text"]), vars)
            .map(|v| (v, Vec::new())),
        "value" => templar
            .template(&from_case_json(&case["value"]), vars)
            .map(|v| (v, Vec::new())),
        "cond" => templar
            .check_conditional(&Value::from(text), vars, None)
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
            })
            .map_err(|failure| failure.error),
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
                .render_file(text, vars, &file_options)
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
