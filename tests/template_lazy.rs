//! Lazy variables: templated once per `Templar` call, in the host's context.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rplay::template::{Templar, TemplarOptions, Variables};
use rplay::{Map, Value};

/// Variables that count how often each is read.
struct Counting {
    vars: Map,
    reads: AtomicUsize,
}

impl Variables for Counting {
    fn get(&self, name: &str) -> Option<Value> {
        if name == "downloads" {
            self.reads.fetch_add(1, Ordering::SeqCst);
        }
        self.vars.get(name).cloned()
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

fn counting() -> Counting {
    let downloads: Value = [
        (Value::from("a"), Value::from("{{ version }}-a")),
        (Value::from("b"), Value::from("{{ version }}-b")),
    ]
    .into_iter()
    .collect();
    let mut vars = Map::new();
    vars.insert(Value::from("downloads"), downloads);
    vars.insert(Value::from("version"), Value::from("v1"));
    Counting {
        vars,
        reads: AtomicUsize::new(0),
    }
}

#[test]
fn lazy_value_is_templated_once_per_call() {
    let templar = Templar::new(TemplarOptions::default());
    let vars = counting();
    let text = Value::from("{{ downloads.a }} {{ downloads.b }} {{ downloads['a'] }}");
    let result = templar.template(&text, &vars).expect("renders");
    assert_eq!(result, Value::from("v1-a v1-b v1-a"));
    assert_eq!(vars.reads.load(Ordering::SeqCst), 1);
}

#[test]
fn cache_does_not_outlive_the_call() {
    let templar = Templar::new(TemplarOptions::default());
    let vars = counting();
    let text = Value::from("{{ downloads.a }}");
    templar.template(&text, &vars).expect("renders");
    templar.template(&text, &vars).expect("renders");
    assert_eq!(vars.reads.load(Ordering::SeqCst), 2);
}

#[test]
fn self_reference_is_a_recursive_loop() {
    let templar = Templar::new(TemplarOptions::default());
    let mut map = Map::new();
    map.insert(Value::from("a"), Value::from("{{ a }}"));
    let vars = Counting {
        vars: map,
        reads: AtomicUsize::new(0),
    };
    let error = templar
        .template(&Value::from("{{ a }}"), &vars)
        .expect_err("recursion fails");
    assert!(
        error
            .message
            .contains("recursive loop detected in template string: {{ a }}"),
        "{}",
        error.message
    );
}

#[test]
fn omit_is_provided() {
    let templar = Templar::new(TemplarOptions::default());
    let vars = counting();
    let result = templar
        .template(&Value::from("{{ omit }}"), &vars)
        .expect("renders");
    assert!(rplay::template::is_omitted(&result));
}
