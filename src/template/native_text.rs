//! Python types that `jinja2_native` mode keeps in variables but rplay's [`Value`] has
//! no variant for.
//!
//! With `jinja2_native` on, a template that is a single value returns that Python object
//! as it is, and `set_fact` stores it: the `NativeJinjaText` of `{{ x | string }}`, or the
//! type object of `{{ x.__class__ }}`. Reading the variable back, `type_debug` names
//! that type. rplay stores such a value as a string and records its kind here, keyed by
//! the address of the string's allocation as `unsafe_text` does. Clones of the value
//! share the allocation and so keep the kind.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use minijinja::value::{Value as JValue, ValueKind};

use super::convert::{from_jinja, NotData};
use super::pytype::PyType;
use crate::yaml::loaded_text;
use crate::{Map, Value};

/// The Python type of a stored string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoredKind {
    /// `NativeJinjaText`: text that is never passed to `literal_eval`.
    NativeText,
    /// A type object, stored as its `repr`, such as `<class 'bool'>`.
    Type,
}

struct Entry {
    text: Weak<str>,
    kind: StoredKind,
    /// The template value of an unsafe copy (`NativeJinjaUnsafeText`), made once so
    /// that every read returns the same allocation and [`is_unsafe_text`] finds it.
    unsafe_value: Option<JValue>,
}

#[derive(Default)]
struct Store {
    /// By the address of the stored string.
    entries: HashMap<usize, Entry>,
    /// The address of each unsafe copy's string, to the key of its entry.
    unsafe_values: HashMap<usize, usize>,
}

impl Store {
    /// Drops the entries whose strings are gone, with their unsafe copies.
    fn prune(&mut self) {
        self.entries
            .retain(|_, entry| entry.text.strong_count() > 0);
        let entries = &self.entries;
        self.unsafe_values
            .retain(|_, key| entries.contains_key(key));
    }
}

static STORE: LazyLock<Mutex<Store>> = LazyLock::new(Mutex::default);

/// Set once a kind is recorded, so runs that never store one never take the lock.
static IN_USE: AtomicBool = AtomicBool::new(false);

fn address(text: &str) -> usize {
    text.as_ptr() as usize
}

/// Returns `text` as a string value that remembers `kind`.
pub fn store(text: &str, kind: StoredKind) -> Value {
    let text: Arc<str> = Arc::from(text);
    let mut store = STORE.lock().unwrap_or_else(PoisonError::into_inner);
    if store.entries.len() >= 1024 && store.entries.len().is_power_of_two() {
        store.prune();
    }
    let entry = Entry {
        text: Arc::downgrade(&text),
        kind,
        unsafe_value: None,
    };
    store.entries.insert(address(&text), entry);
    IN_USE.store(true, Ordering::Relaxed);
    Value::Str(text)
}

/// Tells whether `value` is a string stored as `NativeJinjaText`.
pub fn is_native_text(value: &Value) -> bool {
    let (Value::Str(text) | Value::Unsafe(text)) = value else {
        return false;
    };
    if !IN_USE.load(Ordering::Relaxed) {
        return false;
    }
    let store = STORE.lock().unwrap_or_else(PoisonError::into_inner);
    store.entries.get(&address(text)).is_some_and(|entry| {
        entry.kind == StoredKind::NativeText
            && entry
                .text
                .upgrade()
                .is_some_and(|found| Arc::ptr_eq(&found, text))
    })
}

/// Converts a stored string back to the template value it was made from, or returns
/// `None` for a string that was not stored with a kind. With `marked` set, it returns
/// the unsafe copy.
pub fn to_jinja(text: &Arc<str>, marked: bool) -> Option<JValue> {
    if !IN_USE.load(Ordering::Relaxed) {
        return None;
    }
    let key = address(text);
    let mut store = STORE.lock().unwrap_or_else(PoisonError::into_inner);
    let entry = store.entries.get_mut(&key)?;
    if !entry
        .text
        .upgrade()
        .is_some_and(|found| Arc::ptr_eq(&found, text))
    {
        return None;
    }
    match entry.kind {
        StoredKind::Type => Some(PyType::from_repr(text)),
        StoredKind::NativeText if !marked => Some(JValue::from_safe_string(text.to_string())),
        StoredKind::NativeText => {
            if let Some(value) = &entry.unsafe_value {
                return Some(value.clone());
            }
            let value = JValue::from_safe_string(text.to_string());
            entry.unsafe_value = Some(value.clone());
            let copy = address(value.as_str().unwrap_or_default());
            store.unsafe_values.insert(copy, key);
            Some(value)
        }
    }
}

/// Tells whether `value` is the unsafe copy of a stored `NativeJinjaText`.
pub fn is_unsafe_text(value: &JValue) -> bool {
    if !IN_USE.load(Ordering::Relaxed) || !value.is_safe() {
        return false;
    }
    let Some(text) = value.as_str() else {
        return false;
    };
    let store = STORE.lock().unwrap_or_else(PoisonError::into_inner);
    store.unsafe_values.contains_key(&address(text))
}

/// Stores the result of a template that is a single value of a type [`Value`] cannot
/// hold, or returns `None` for any other value.
pub fn store_single(value: &JValue, text: &str) -> Option<Value> {
    if value.is_safe() {
        return Some(store(text, StoredKind::NativeText));
    }
    if value.downcast_object_ref::<PyType>().is_some() {
        return Some(store(text, StoredKind::Type));
    }
    None
}

/// Converts a native-mode result to plain data as [`from_jinja`] does, storing the
/// strings and type objects inside it with their kind.
pub fn from_jinja_native(value: &JValue) -> Result<Value, NotData> {
    if let Some(text) = value.as_str() {
        if value.is_safe() {
            return Ok(store(text, StoredKind::NativeText));
        }
        return Ok(loaded_text::copy_mark(
            loaded_text::is_loaded(text),
            text.to_owned(),
        ));
    }
    if value.downcast_object_ref::<PyType>().is_some() {
        return Ok(store(&value.to_string(), StoredKind::Type));
    }
    match value.kind() {
        ValueKind::Seq | ValueKind::Iterable => {
            let items = value.try_iter().map_err(|_| NotData)?;
            Ok(Value::list(
                items
                    .map(|item| from_jinja_native(&item))
                    .collect::<Result<_, _>>()?,
            ))
        }
        ValueKind::Map => {
            let mut map = Map::new();
            for key in value.try_iter().map_err(|_| NotData)? {
                let item = value.get_item(&key).map_err(|_| NotData)?;
                map.insert(from_jinja_native(&key)?, from_jinja_native(&item)?);
            }
            Ok(Value::map(map))
        }
        _ => from_jinja(value),
    }
}
