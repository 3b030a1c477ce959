//! Interim templating: plain minijinja over lazily read variables.
//!
//! NOTE: a stand-in with the public API of the Ansible templating layer, so the
//! executor can run; it lacks Ansible's filters, undefined semantics and result typing.

use std::path::PathBuf;
use std::sync::Arc;

use minijinja::value::{Object, Value as JValue};

use crate::{Map, Value};

/// Variables visible to a template, before templating.
pub trait Variables: Send + Sync {
    fn get(&self, name: &str) -> Option<Value>;
    fn names(&self) -> Vec<String>;
    fn host(&self, name: &str) -> Option<Arc<dyn Variables>>;
    fn hosts(&self) -> Vec<String>;
}

pub const OMIT: &str = "__omit_place_holder__1f0c8b4e2b8d7c6a5f4e3d2c1b0a998877665544";

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub message: String,
}

#[derive(Clone, Debug, Default)]
pub struct TemplarOptions {
    pub base_dir: PathBuf,
}

#[derive(Clone)]
pub struct Templar {
    env: Arc<minijinja::Environment<'static>>,
}

impl Templar {
    pub fn new(_options: TemplarOptions) -> Templar {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        Templar { env: Arc::new(env) }
    }

    pub fn is_template(&self, text: &str) -> bool {
        text.contains("{{") || text.contains("{%")
    }

    pub fn template(&self, value: &Value, vars: &dyn Variables) -> Result<Value, TemplateError> {
        match value {
            Value::Str(text) => self.template_str(text, vars),
            Value::List(items) => Ok(Value::list(
                items
                    .iter()
                    .map(|item| self.template(item, vars))
                    .collect::<Result<_, _>>()?,
            )),
            Value::Map(map) => {
                let mut out = Map::new();
                for (key, item) in map.iter() {
                    out.insert(self.template(key, vars)?, self.template(item, vars)?);
                }
                Ok(Value::map(out))
            }
            other => Ok(other.clone()),
        }
    }

    pub fn template_str(&self, text: &str, vars: &dyn Variables) -> Result<Value, TemplateError> {
        if !self.is_template(text) {
            return Ok(Value::from(text));
        }
        let context = self.context(vars);
        let rendered = self
            .env
            .render_str(text, context)
            .map_err(|err| TemplateError {
                message: err.to_string(),
            })?;
        Ok(Value::from(rendered))
    }

    pub fn evaluate_conditional(
        &self,
        condition: &Value,
        vars: &dyn Variables,
    ) -> Result<bool, TemplateError> {
        let text = match condition {
            Value::Bool(b) => return Ok(*b),
            Value::Str(s) | Value::Unsafe(s) => s.to_string(),
            other => return Ok(other.is_truthy()),
        };
        let source = format!(
            "{{% if {} %}}True{{% else %}}False{{% endif %}}",
            text.trim()
        );
        let context = self.context(vars);
        let rendered = self
            .env
            .render_str(&source, context)
            .map_err(|err| TemplateError {
                message: err.to_string(),
            })?;
        Ok(rendered == "True")
    }

    fn context(&self, vars: &dyn Variables) -> JValue {
        let names = vars.names();
        let mut map = std::collections::BTreeMap::new();
        for name in names {
            if let Some(value) = vars.get(&name) {
                let value = self.template(&value, vars).unwrap_or(value);
                map.insert(name, to_jinja(&value));
            }
        }
        JValue::from_object(Snapshot(map))
    }
}

#[derive(Debug)]
struct Snapshot(std::collections::BTreeMap<String, JValue>);

impl Object for Snapshot {
    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        self.0.get(key.as_str()?).cloned()
    }
}

fn to_jinja(value: &Value) -> JValue {
    match value {
        Value::Null => JValue::from(()),
        Value::Bool(b) => JValue::from(*b),
        Value::Int(i) => JValue::from(*i),
        Value::Float(f) => JValue::from(*f),
        Value::Str(s) | Value::Unsafe(s) => JValue::from(s.as_ref()),
        Value::List(items) => JValue::from(items.iter().map(to_jinja).collect::<Vec<_>>()),
        Value::Map(map) => JValue::from_iter(
            map.iter()
                .map(|(k, v)| (rplay_modules::pyrepr::str(k), to_jinja(v))),
        ),
    }
}
