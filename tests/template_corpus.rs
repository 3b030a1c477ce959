//! Evaluates a corpus extracted by `compat-tests/template/kubespray/run` with rplay's
//! templating. The test does nothing unless `RPLAY_TEMPLATE_CORPUS` names the
//! directory holding `context.json`, `magic.json` and `cases.json`; it writes the
//! results to `rplay.json` there, in the shape of the Ansible side's `evaluate.py`.

mod template_support;

use std::path::Path;
use std::sync::Arc;

use rplay::template::{Templar, TemplarOptions, Variables};
use rplay::Value;
use serde_json::Value as Json;

use template_support::{from_case_json, TestVars};

/// The variables of the host under test with a task's loop variable bound.
struct WithItem {
    base: Arc<TestVars>,
    name: String,
    item: Value,
}

impl Variables for WithItem {
    fn get(&self, name: &str) -> Option<Value> {
        if name == self.name {
            return Some(self.item.clone());
        }
        self.base.get(name)
    }

    fn names(&self) -> Vec<String> {
        let mut names = self.base.names();
        names.push(self.name.clone());
        names
    }

    fn host(&self, name: &str) -> Option<Arc<dyn Variables>> {
        self.base.host(name)
    }

    fn hosts(&self) -> Vec<String> {
        self.base.hosts()
    }
}

/// The first item of a case's task loop, as `evaluate.py` takes it: the loop templated,
/// flattened one level for `with_items`; `None` when it fails or is empty.
fn first_item(templar: &Templar, vars: &TestVars, loop_spec: &Json) -> Option<Value> {
    let items = templar
        .template(&from_case_json(&loop_spec["value"]), vars)
        .ok()?;
    let items = items.as_list()?;
    if loop_spec["keyword"] == "with_items" {
        let mut flat = items.iter().flat_map(|item| match item.as_list() {
            Some(inner) => inner.to_vec(),
            None => vec![item.clone()],
        });
        return flat.next();
    }
    items.first().cloned()
}

/// The variables a case runs with: the host's, plus its loop's first item.
fn case_vars(templar: &Templar, vars: &Arc<TestVars>, case: &Json) -> Arc<dyn Variables> {
    let Some(loop_spec) = case.get("loop") else {
        return vars.clone();
    };
    match first_item(templar, vars, loop_spec) {
        Some(item) => Arc::new(WithItem {
            base: vars.clone(),
            name: loop_spec["var"].as_str().unwrap_or("item").to_owned(),
            item,
        }),
        None => vars.clone(),
    }
}

fn read_json(path: &Path) -> Json {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()))
}

/// Python's type family of a result, as `evaluate.py` reports it.
fn type_family(type_name: &str) -> &str {
    match type_name {
        "AnsibleUnsafeText" => "str",
        "NoneType" => "None",
        other => other,
    }
}

/// The context with the magic variables that Ansible's variable manager added.
fn context(dir: &Path) -> Json {
    let mut context = read_json(&dir.join("context.json"));
    let magic = read_json(&dir.join("magic.json"));
    if let (Some(vars), Some(magic)) = (
        context.get_mut("vars").and_then(Json::as_object_mut),
        magic.as_object(),
    ) {
        for (name, value) in magic {
            vars.insert(name.clone(), value.clone());
        }
    }
    context
}

#[test]
fn kubespray_corpus() {
    let Some(dir) = std::env::var_os("RPLAY_TEMPLATE_CORPUS") else {
        return;
    };
    let dir = Path::new(&dir);
    let vars = template_support::build_vars(&context(dir));
    let cases = read_json(&dir.join("cases.json"));
    // Relative paths (the password lookup's files) resolve in the corpus directory,
    // where Ansible's side ran.
    let templar = Templar::new(TemplarOptions {
        base_dir: dir.to_path_buf(),
        ..TemplarOptions::default()
    });
    let mut results = Vec::new();
    for case in cases.as_array().into_iter().flatten() {
        let case_vars = case_vars(&templar, &vars, case);
        let mut result = template_support::run_case_with(&templar, case_vars.as_ref(), case);
        let object = result.as_object_mut().expect("a result is an object");
        object.insert("name".into(), case["name"].clone());
        object.remove("warnings");
        if let Some(Json::String(name)) = object.get("type") {
            let family = type_family(name).to_owned();
            object.insert("type".into(), Json::from(family));
        }
        results.push(result);
    }
    let text = serde_json::to_string(&results).expect("results serialize");
    std::fs::write(dir.join("rplay.json"), text).expect("rplay.json is writable");
}
