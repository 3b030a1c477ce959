//! Lazy variables: the objects a template reads as its context, `hostvars` and `vars`.
//!
//! A variable's raw value is templated when a template reads it, in the context of the
//! same host, as Ansible's `AnsibleJ2Vars` does. Results are cached for the rest of the
//! `Templar` call, so a map read many times is templated once. A variable that reads
//! itself through its own template is reported as a recursive loop.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use minijinja::value::{Enumerator, Object, ObjectRepr, Value as JValue};

use super::convert::to_jinja;
use super::error::{TemplateError, TemplateErrorKind};
use super::pyrepr::{py_str, str_repr};
use super::render;
use super::typing::contains_unsafe;
use super::{Templar, OMIT};
use crate::Value;

/// Variables visible to a template, before templating. Implemented by the variable
/// manager.
pub trait Variables: Send + Sync {
    /// The raw (untemplated) value of a variable, `None` when undefined.
    fn get(&self, name: &str) -> Option<Value>;
    /// Names of all variables (for `vars` and the `varnames` lookup).
    fn names(&self) -> Vec<String>;
    /// The variables of another host, for `hostvars[host]`; `None` for an unknown host.
    fn host(&self, name: &str) -> Option<Arc<dyn Variables>>;
    /// All inventory host names, for iterating `hostvars`.
    fn hosts(&self) -> Vec<String>;
}

/// Where a context reads its variables from.
enum Source {
    /// The caller's `&dyn Variables`, valid while the `Templar` call that created the
    /// context runs; [`ContextGuard`] clears it when that call returns.
    Borrowed(RwLock<Option<&'static dyn Variables>>),
    Owned(Arc<dyn Variables>),
}

/// The names a context adds on top of the variables.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A task's context: `hostvars`, `vars` and `omit` are provided when the variables
    /// lack them.
    Task,
    /// The context of `hostvars[host]`, which has the host's own variables only.
    HostVars,
}

/// A variable after templating.
#[derive(Clone)]
enum Resolved {
    Value { value: JValue, is_unsafe: bool },
    Undefined(String),
    Failed(TemplateError),
}

/// The variables of one host while one `Templar` call runs.
pub struct Context {
    templar: Templar,
    source: Source,
    scope: Scope,
    cache: Mutex<HashMap<String, Resolved>>,
    /// Variables being templated right now, to detect a variable that reads itself.
    active: Mutex<Vec<String>>,
    /// `hostvars[host]` objects already handed out.
    host_views: Mutex<HashMap<String, JValue>>,
}

/// Clears a borrowed context's variables when the call that borrowed them ends.
pub struct ContextGuard(pub Arc<Context>);

impl Drop for ContextGuard {
    fn drop(&mut self) {
        if let Source::Borrowed(slot) = &self.0.source {
            *slot.write().unwrap_or_else(PoisonError::into_inner) = None;
        }
    }
}

impl Context {
    /// Creates a context over variables borrowed for the duration of one call.
    pub fn borrowed(templar: &Templar, vars: &dyn Variables) -> ContextGuard {
        // SAFETY: the reference is stored only in this context, read only through
        // `with_vars`, and cleared by `ContextGuard::drop` before the caller's borrow
        // ends. Objects that outlive the call find `None` and see no variables.
        let vars: &'static dyn Variables =
            unsafe { std::mem::transmute::<&dyn Variables, &'static dyn Variables>(vars) };
        ContextGuard(Arc::new(Context::new(
            templar,
            Source::Borrowed(RwLock::new(Some(vars))),
            Scope::Task,
        )))
    }

    pub fn owned(templar: &Templar, vars: Arc<dyn Variables>, scope: Scope) -> Arc<Context> {
        Arc::new(Context::new(templar, Source::Owned(vars), scope))
    }

    fn new(templar: &Templar, source: Source, scope: Scope) -> Context {
        Context {
            templar: templar.clone(),
            source,
            scope,
            cache: Mutex::default(),
            active: Mutex::default(),
            host_views: Mutex::default(),
        }
    }

    pub fn templar(&self) -> &Templar {
        &self.templar
    }

    /// Runs `f` with the variables; `None` once a borrowed context has expired.
    pub fn with_vars<R>(&self, f: impl FnOnce(&dyn Variables) -> R) -> Option<R> {
        match &self.source {
            Source::Owned(vars) => Some(f(vars.as_ref())),
            Source::Borrowed(slot) => {
                let vars = *slot.read().unwrap_or_else(PoisonError::into_inner);
                vars.map(f)
            }
        }
    }

    /// Returns the raw value of a variable.
    pub fn raw(&self, name: &str) -> Option<Value> {
        self.with_vars(|vars| vars.get(name)).flatten()
    }

    pub fn names(&self) -> Vec<String> {
        self.with_vars(|vars| vars.names()).unwrap_or_default()
    }

    /// Resolves a name for a template, recording undefined hints and unsafe reads in
    /// the current evaluation.
    pub fn lookup(self: &Arc<Self>, name: &str) -> Option<JValue> {
        let cached = self.cache_get(name);
        let resolved = match cached {
            Some(resolved) => resolved,
            None => {
                if let Some(value) = self.magic(name) {
                    return Some(value);
                }
                let Some(raw) = self.raw(name) else {
                    if !super::environment::is_global(name) {
                        render::record_hint(format!("{} is undefined", str_repr(name)));
                    }
                    return None;
                };
                let resolved = self.resolve(name, raw);
                self.cache_put(name, resolved.clone());
                resolved
            }
        };
        match resolved {
            Resolved::Value { value, is_unsafe } => {
                if is_unsafe {
                    render::mark_unsafe();
                }
                Some(value)
            }
            Resolved::Undefined(hint) => {
                render::record_hint(hint);
                Some(JValue::UNDEFINED)
            }
            Resolved::Failed(error) => {
                render::poison(error);
                Some(JValue::UNDEFINED)
            }
        }
    }

    fn cache_get(&self, name: &str) -> Option<Resolved> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.get(name).cloned()
    }

    fn cache_put(&self, name: &str, resolved: Resolved) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.insert(name.to_owned(), resolved);
    }

    /// Names the context provides itself when the variables lack them.
    fn magic(self: &Arc<Self>, name: &str) -> Option<JValue> {
        if self.scope != Scope::Task {
            return None;
        }
        let provided = match name {
            "hostvars" => JValue::from_object(HostVars {
                context: self.clone(),
            }),
            "vars" => JValue::from_object(RawVars {
                context: self.clone(),
            }),
            "omit" => JValue::from(OMIT),
            _ => return None,
        };
        match self.raw(name) {
            Some(_) => None,
            None => Some(provided),
        }
    }

    fn resolve(self: &Arc<Self>, name: &str, raw: Value) -> Resolved {
        // Ansible returns unsafe values as they are, without templating.
        if raw.is_unsafe() {
            return Resolved::Value {
                value: to_jinja(&raw),
                is_unsafe: true,
            };
        }
        if !self.enter(name) {
            return Resolved::Failed(TemplateError::new(
                TemplateErrorKind::Recursion,
                format!(
                    "recursive loop detected in template string: {}",
                    raw_text(&raw)
                ),
            ));
        }
        let result = self.templar.template_in(self, &raw, true);
        self.leave();
        match result {
            Ok(value) => Resolved::Value {
                is_unsafe: contains_unsafe(&value),
                value: to_jinja(&value),
            },
            Err(error) if error.is_undefined() => {
                Resolved::Undefined(format!("{}: {}", raw_text(&raw), error.message))
            }
            Err(error) => Resolved::Failed(unhandled(&raw, error)),
        }
    }

    fn enter(&self, name: &str) -> bool {
        let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
        if active.iter().any(|entry| entry == name) {
            return false;
        }
        active.push(name.to_owned());
        true
    }

    fn leave(&self) {
        let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
        active.pop();
    }

    /// The `hostvars[host]` object, created once per call.
    fn host_view(&self, host: &str) -> Option<JValue> {
        {
            let views = self
                .host_views
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(view) = views.get(host) {
                return Some(view.clone());
            }
        }
        let vars = self.with_vars(|vars| vars.host(host)).flatten()?;
        let view = JValue::from_object(HostVarsVars {
            context: Context::owned(&self.templar, vars, Scope::HostVars),
            cache: Mutex::default(),
        });
        let mut views = self
            .host_views
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        views.insert(host.to_owned(), view.clone());
        Some(view)
    }
}

/// Ansible's `to_native(variable)` of a raw value, as error messages quote it.
fn raw_text(raw: &Value) -> String {
    match raw.as_str() {
        Some(text) => text.to_owned(),
        None => py_str(&to_jinja(raw)).unwrap_or_default(),
    }
}

/// Wraps an error raised while templating a variable, as `AnsibleJ2Vars` does.
fn unhandled(raw: &Value, error: TemplateError) -> TemplateError {
    let class = match error.kind {
        TemplateErrorKind::Filter => "ansible.errors.AnsibleFilterError",
        TemplateErrorKind::Lookup => "ansible.errors.AnsibleLookupError",
        TemplateErrorKind::Options => "ansible.errors.AnsibleOptionsError",
        TemplateErrorKind::Vault => "ansible.parsing.vault.AnsibleVaultError",
        _ => "ansible.errors.AnsibleError",
    };
    TemplateError {
        kind: if error.kind == TemplateErrorKind::Recursion {
            TemplateErrorKind::Recursion
        } else {
            TemplateErrorKind::Render
        },
        message: format!(
            "An unhandled exception occurred while templating '{}'. Error was a <class '{class}'>, original message: {}",
            raw_text(raw),
            error.message
        ),
        template: None,
    }
}

/// The root object of an evaluation: every name the template looks up.
#[derive(Debug)]
pub struct Root {
    pub context: Arc<Context>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Context")
    }
}

impl Object for Root {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<JValue> {
        let value = self.context.lookup(key)?;
        if render::reads_mutable() {
            return Some(render::mutable_read(key, &value));
        }
        Some(value)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.context.names().into_iter().map(JValue::from).collect())
    }
}

/// `hostvars`: a map from inventory host names to their variables.
#[derive(Debug)]
pub struct HostVars {
    context: Arc<Context>,
}

impl Object for HostVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        self.context.host_view(key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let hosts = self
            .context
            .with_vars(|vars| vars.hosts())
            .unwrap_or_default();
        Enumerator::Values(hosts.into_iter().map(JValue::from).collect())
    }
}

/// `hostvars[host]`: a host's variables, templated in that host's context. As Ansible's
/// `HostVarsVars`, a value that fails on an undefined variable is returned untemplated.
#[derive(Debug)]
pub struct HostVarsVars {
    context: Arc<Context>,
    cache: Mutex<HashMap<String, JValue>>,
}

impl Object for HostVarsVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        let name = key.as_str()?;
        {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(value) = cache.get(name) {
                return Some(value.clone());
            }
        }
        let raw = self.context.raw(name)?;
        let value = match self.context.templar.template_in(&self.context, &raw, false) {
            Ok(value) => {
                if contains_unsafe(&value) {
                    render::mark_unsafe();
                }
                to_jinja(&value)
            }
            Err(error) => {
                render::poison(unhandled(&raw, error));
                return Some(JValue::UNDEFINED);
            }
        };
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.insert(name.to_owned(), value.clone());
        Some(value)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.context.names().into_iter().map(JValue::from).collect())
    }
}

/// `vars`: the host's variables as they were before templating, as Ansible's
/// `vars` magic variable (a plain copy of the variables) returns them.
#[derive(Debug)]
pub struct RawVars {
    context: Arc<Context>,
}

impl Object for RawVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        let name = key.as_str()?;
        if name == "hostvars" {
            return self.context.magic(name);
        }
        self.context.raw(name).map(|raw| to_jinja(&raw))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.context.names().into_iter().map(JValue::from).collect())
    }
}

/// Tells whether a template value is the `hostvars` object, whose missing entries
/// Ansible words as `"hostvars['name']" is undefined`.
pub fn is_hostvars(value: &JValue) -> bool {
    value.downcast_object_ref::<HostVars>().is_some()
}

/// Tells whether a template value is a `hostvars[host]` object.
pub fn is_host_view(value: &JValue) -> bool {
    value.downcast_object_ref::<HostVarsVars>().is_some()
}
