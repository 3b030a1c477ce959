//! Cost of templating a simple `{{ var }}` and a filter chain, after the compiled
//! template is cached. Ignored by default: timings on shared machines are noise.
//! Run with `cargo test --test template_perf -- --ignored`; the measured costs are
//! written to the file named by `RPLAY_PERF_REPORT` when it is set.

use std::sync::Arc;
use std::time::Instant;

use rplay::template::{Templar, TemplarOptions, Variables};
use rplay::{Map, Value};

struct Vars(Map);

impl Variables for Vars {
    fn get(&self, name: &str) -> Option<Value> {
        self.0.get(name).cloned()
    }
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
    fn host(&self, _: &str) -> Option<Arc<dyn Variables>> {
        None
    }
    fn hosts(&self) -> Vec<String> {
        Vec::new()
    }
}

fn per_call(templar: &Templar, vars: &Vars, text: &str) -> f64 {
    let value = Value::from(text);
    templar.template(&value, vars).expect("template renders");
    let rounds = 20_000;
    let start = Instant::now();
    for _ in 0..rounds {
        templar.template(&value, vars).expect("template renders");
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
}

#[test]
#[ignore]
fn simple_variable_costs_microseconds() {
    let templar = Templar::new(TemplarOptions::default());
    let mut map = Map::new();
    map.insert(Value::from("kube_version"), Value::from("v1.32.0"));
    map.insert(Value::from("version"), Value::from("{{ kube_version }}"));
    map.insert(Value::from("n"), Value::Int(3));
    let vars = Vars(map);
    let simple = per_call(&templar, &vars, "{{ kube_version }}");
    let lazy = per_call(&templar, &vars, "v={{ version }}");
    let filters = per_call(
        &templar,
        &vars,
        "{{ kube_version | regex_replace('^v', '') | default('x') }}",
    );
    let condition = {
        let value = Value::from("n > 2 and kube_version is defined");
        templar
            .evaluate_conditional(&value, &vars)
            .expect("evaluates");
        let start = Instant::now();
        for _ in 0..20_000 {
            templar
                .evaluate_conditional(&value, &vars)
                .expect("evaluates");
        }
        start.elapsed().as_secs_f64() * 1e6 / 20_000.0
    };
    let report = format!(
        "simple {simple:.2} us\nlazy {lazy:.2} us\nfilters {filters:.2} us\ncondition {condition:.2} us\n"
    );
    if let Ok(path) = std::env::var("RPLAY_PERF_REPORT") {
        std::fs::write(path, &report).expect("report is written");
    }
    assert!(simple < 1_000.0, "{report}");
}
