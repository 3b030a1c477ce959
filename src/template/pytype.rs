//! Python's type objects, as `value.__class__` returns them.
//!
//! ansible-core's Jinja2 environment is not sandboxed, so `{{ x.__class__ }}` is the
//! class of `x`: it prints as `<class 'bool'>`, has a `__name__`, and `type_debug` names
//! it `type`. Ansible's own conditional wrapper reads `__cres.__class__.__name__`.

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Object, ObjectRepr, Value as JValue};

/// A Python class, named as `__name__` names it.
#[derive(Debug)]
pub struct PyType {
    name: String,
}

impl PyType {
    pub fn value(name: &str) -> JValue {
        JValue::from_object(PyType {
            name: name.to_owned(),
        })
    }

    /// Rebuilds the type from its `repr`, `<class 'NAME'>`.
    pub fn from_repr(text: &str) -> JValue {
        let name = text
            .strip_prefix("<class '")
            .and_then(|rest| rest.strip_suffix("'>"))
            .unwrap_or(text);
        PyType::value(name)
    }
}

impl fmt::Display for PyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<class '{}'>", self.name)
    }
}

impl Object for PyType {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        match key.as_str()? {
            "__name__" | "__qualname__" => Some(JValue::from(self.name.as_str())),
            "__class__" => Some(PyType::value("type")),
            _ => None,
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_ref(), f)
    }
}
