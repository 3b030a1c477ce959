//! Mutable dicts and lists, for templates that call Python's mutating methods
//! (`dict.update`, `dict.pop`, `__setitem__`, `list.append`, ...).
//!
//! minijinja's maps and lists are immutable. A template whose bytecode calls a mutating
//! method is compiled with every `{% set x = ... %}` value wrapped in [`MAKE_MUTABLE`],
//! and the variables it reads are handed out as mutable copies, one per variable and
//! render, so a method can change the object in place and later reads see the change,
//! as they do in Jinja2. Values
//! that are already mutable keep their identity: `{% set v = d.pop(k) %}` names the
//! same object that `d` held. Other templates never see these objects.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use indexmap::IndexMap;
use minijinja::value::{Enumerator, Object, ObjectRepr, Value as JValue, ValueKind};
use minijinja::{Error, ErrorKind, State};

use super::pyrepr::py_repr;

/// The name of the function that wraps `{% set %}` values in mutating templates.
pub const MAKE_MUTABLE: &str = "__rplay_mutable";

/// Methods that change their receiver. A template that calls one gets mutable values.
pub const MUTATING_METHODS: [&str; 11] = [
    "append",
    "extend",
    "insert",
    "pop",
    "remove",
    "update",
    "setdefault",
    "clear",
    "popitem",
    "__setitem__",
    "reverse",
];

/// A Python dict whose entries can change while a template runs.
#[derive(Default)]
pub struct MutableMap {
    entries: Mutex<IndexMap<JValue, JValue>>,
}

/// A Python list whose items can change while a template runs.
#[derive(Default)]
pub struct MutableList {
    items: Mutex<Vec<JValue>>,
}

/// Returns a deep mutable copy of maps and lists; other values, and values that are
/// already mutable, are returned as they are.
///
/// NOTE: lazy maps (`hostvars`, `vars`) are copied too, which templates every variable
/// they hold; no Kubespray template that mutates reads them.
pub fn make_mutable(value: &JValue) -> JValue {
    if value.downcast_object_ref::<MutableMap>().is_some()
        || value.downcast_object_ref::<MutableList>().is_some()
    {
        return value.clone();
    }
    match value.kind() {
        ValueKind::Map => {
            let Ok(keys) = value.try_iter() else {
                return value.clone();
            };
            let entries = keys
                .map(|key| {
                    let item = value.get_item(&key).unwrap_or_default();
                    (key, make_mutable(&item))
                })
                .collect();
            JValue::from_object(MutableMap {
                entries: Mutex::new(entries),
            })
        }
        ValueKind::Seq => {
            let Ok(items) = value.try_iter() else {
                return value.clone();
            };
            JValue::from_object(MutableList {
                items: Mutex::new(items.map(|item| make_mutable(&item)).collect()),
            })
        }
        _ => value.clone(),
    }
}

/// Python's `copy()` of a dict or list: a new container holding the same items. An
/// immutable value is its own copy.
pub fn shallow_copy(value: &JValue) -> JValue {
    if let Some(map) = value.downcast_object_ref::<MutableMap>() {
        let entries = lock(&map.entries).clone();
        return JValue::from_object(MutableMap {
            entries: Mutex::new(entries),
        });
    }
    if let Some(list) = value.downcast_object_ref::<MutableList>() {
        let items = lock(&list.items).clone();
        return JValue::from_object(MutableList {
            items: Mutex::new(items),
        });
    }
    value.clone()
}

/// The function behind [`MAKE_MUTABLE`].
pub fn mutable_function(value: JValue) -> JValue {
    make_mutable(&value)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn argument_count(
    method: &str,
    args: &[JValue],
    range: std::ops::RangeInclusive<usize>,
) -> Result<(), Error> {
    if range.contains(&args.len()) {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidOperation,
        format!(
            "{method}() takes {} arguments ({} given)",
            range.end(),
            args.len()
        ),
    ))
}

fn key_error(key: &JValue) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        py_repr(key).unwrap_or_default(),
    )
}

impl MutableMap {
    /// `dict.update(other)`: the pairs are read before the lock is taken, so `d.update(d)`
    /// does not wait on itself.
    fn update(&self, args: &[JValue]) -> Result<JValue, Error> {
        argument_count("update", args, 0..=1)?;
        let Some(other) = args.first() else {
            return Ok(JValue::from(()));
        };
        let pairs: Vec<(JValue, JValue)> = match other.kind() {
            ValueKind::Map => other
                .try_iter()?
                .map(|key| {
                    let item = other.get_item(&key).unwrap_or_default();
                    (key, item)
                })
                .collect(),
            _ => other
                .try_iter()?
                .map(|pair| {
                    let key = pair.get_item(&JValue::from(0)).unwrap_or_default();
                    let item = pair.get_item(&JValue::from(1)).unwrap_or_default();
                    (key, item)
                })
                .collect(),
        };
        let mut entries = lock(&self.entries);
        for (key, item) in pairs {
            entries.insert(key, make_mutable(&item));
        }
        Ok(JValue::from(()))
    }
}

impl Object for MutableMap {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        lock(&self.entries).get(key).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(lock(&self.entries).keys().cloned().collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(lock(&self.entries).len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[JValue],
    ) -> Result<JValue, Error> {
        if method == "update" {
            return self.update(args);
        }
        let mut entries = lock(&self.entries);
        match method {
            "__setitem__" => {
                argument_count(method, args, 2..=2)?;
                entries.insert(args[0].clone(), make_mutable(&args[1]));
                Ok(JValue::from(()))
            }
            "pop" => {
                argument_count(method, args, 1..=2)?;
                match (entries.shift_remove(&args[0]), args.get(1)) {
                    (Some(item), _) => Ok(item),
                    (None, Some(default)) => Ok(default.clone()),
                    (None, None) => Err(key_error(&args[0])),
                }
            }
            "popitem" => {
                argument_count(method, args, 0..=0)?;
                match entries.pop() {
                    Some((key, item)) => Ok(JValue::from(vec![key, item])),
                    None => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "'popitem(): dictionary is empty'",
                    )),
                }
            }
            "setdefault" => {
                argument_count(method, args, 1..=2)?;
                let default = make_mutable(&args.get(1).cloned().unwrap_or(JValue::from(())));
                Ok(entries.entry(args[0].clone()).or_insert(default).clone())
            }
            "clear" => {
                argument_count(method, args, 0..=0)?;
                entries.clear();
                Ok(JValue::from(()))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

impl Object for MutableList {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        let items = lock(&self.items);
        let index = key.as_i64()?;
        let index = if index < 0 {
            items.len().checked_sub(index.unsigned_abs() as usize)?
        } else {
            index as usize
        };
        items.get(index).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(lock(&self.items).len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[JValue],
    ) -> Result<JValue, Error> {
        if method == "extend" {
            argument_count(method, args, 1..=1)?;
            // Read first, so `l.extend(l)` does not wait on its own lock.
            let added: Vec<JValue> = args[0].try_iter()?.map(|v| make_mutable(&v)).collect();
            lock(&self.items).extend(added);
            return Ok(JValue::from(()));
        }
        let mut items = lock(&self.items);
        match method {
            "append" => {
                argument_count(method, args, 1..=1)?;
                items.push(make_mutable(&args[0]));
                Ok(JValue::from(()))
            }
            "insert" => {
                argument_count(method, args, 2..=2)?;
                let len = items.len() as i64;
                let index = args[0].as_i64().unwrap_or(len);
                let index = if index < 0 {
                    (len + index).max(0)
                } else {
                    index.min(len)
                };
                items.insert(index as usize, make_mutable(&args[1]));
                Ok(JValue::from(()))
            }
            "pop" => {
                argument_count(method, args, 0..=1)?;
                let len = items.len() as i64;
                let index = args.first().and_then(JValue::as_i64).unwrap_or(-1);
                let index = if index < 0 { len + index } else { index };
                if index < 0 || index >= len {
                    let message = if len == 0 {
                        "pop from empty list"
                    } else {
                        "pop index out of range"
                    };
                    return Err(Error::new(ErrorKind::InvalidOperation, message));
                }
                Ok(items.remove(index as usize))
            }
            "remove" => {
                argument_count(method, args, 1..=1)?;
                match items.iter().position(|item| item == &args[0]) {
                    Some(index) => {
                        items.remove(index);
                        Ok(JValue::from(()))
                    }
                    None => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "list.remove(x): x not in list",
                    )),
                }
            }
            "clear" => {
                argument_count(method, args, 0..=0)?;
                items.clear();
                Ok(JValue::from(()))
            }
            "reverse" => {
                argument_count(method, args, 0..=0)?;
                items.reverse();
                Ok(JValue::from(()))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

impl fmt::Debug for MutableMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(lock(&self.entries).iter()).finish()
    }
}

impl fmt::Debug for MutableList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(lock(&self.items).iter()).finish()
    }
}
