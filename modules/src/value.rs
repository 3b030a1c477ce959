//! The data model shared by the engine, the templating layer and the modules.
//!
//! Ansible's variables are Python objects loaded from YAML or JSON, so [`Value`] mirrors
//! Python's types: `None`, `bool`, `int`, `float`, `str`, `list` and `dict`. Mappings keep
//! insertion order (Kubespray derives default versions from the first key of a map), and
//! equality and hashing follow Python, where `1 == 1.0 == True`.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use indexmap::IndexMap;

/// An ordered mapping, as Python's `dict`.
pub type Map = IndexMap<Value, Value>;

/// A Python-like value. Lists and maps are shared and copied on write.
#[derive(Clone, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Text that may be templated when it is read.
    Str(Arc<str>),
    /// Text that is never templated: YAML's `!unsafe`, module results and facts
    /// (Ansible's `AnsibleUnsafeText`).
    Unsafe(Arc<str>),
    List(Arc<Vec<Value>>),
    Map(Arc<Map>),
}

impl Value {
    pub fn str(text: impl Into<Arc<str>>) -> Value {
        Value::Str(text.into())
    }

    pub fn unsafe_str(text: impl Into<Arc<str>>) -> Value {
        Value::Unsafe(text.into())
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(items))
    }

    pub fn map(map: Map) -> Value {
        Value::Map(Arc::new(map))
    }

    pub fn empty_map() -> Value {
        Value::Map(Arc::default())
    }

    /// Returns the text of a string, trusted or not.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Unsafe(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(map) => Some(map),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_unsafe(&self) -> bool {
        matches!(self, Value::Unsafe(_))
    }

    /// Returns a mutable reference to the map, copying it first when it is shared.
    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Map(map) => Some(Arc::make_mut(map)),
            _ => None,
        }
    }

    /// Returns a mutable reference to the list, copying it first when it is shared.
    pub fn as_list_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::List(items) => Some(Arc::make_mut(items)),
            _ => None,
        }
    }

    /// Looks up `key` in a map; `None` for a missing key or a value that is not a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map()?.get(key)
    }

    /// Python's type name, as Ansible's `type_debug` filter prints it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Unsafe(_) => "AnsibleUnsafeText",
            Value::List(_) => "list",
            Value::Map(_) => "dict",
        }
    }

    /// Python's truth value: empty containers, `0`, `0.0`, `""` and `None` are false.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) | Value::Unsafe(s) => !s.is_empty(),
            Value::List(items) => !items.is_empty(),
            Value::Map(map) => !map.is_empty(),
        }
    }

    /// Marks every string inside as unsafe, as Ansible's `wrap_var` does.
    pub fn into_unsafe(self) -> Value {
        match self {
            Value::Str(s) => Value::Unsafe(s),
            Value::List(items) => Value::list(
                Arc::unwrap_or_clone(items)
                    .into_iter()
                    .map(Value::into_unsafe)
                    .collect(),
            ),
            Value::Map(map) => Value::map(
                Arc::unwrap_or_clone(map)
                    .into_iter()
                    .map(|(k, v)| (k.into_unsafe(), v.into_unsafe()))
                    .collect(),
            ),
            other => other,
        }
    }

    /// The number a value compares as: `bool` and integral `float` equal their `int`.
    fn numeric_key(&self) -> Option<f64> {
        match self {
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            _ => match (self.as_str(), other.as_str()) {
                (Some(a), Some(b)) => a == b,
                _ => match (self.numeric_key(), other.numeric_key()) {
                    (Some(a), Some(b)) => a == b,
                    _ => false,
                },
            },
        }
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Value::Null => state.write_u8(0),
            // A string hashes as `str` does, so maps can be searched with a `&str`.
            Value::Str(s) | Value::Unsafe(s) => s.as_ref().hash(state),
            Value::Bool(b) => hash_int(i64::from(*b), state),
            Value::Int(i) => hash_int(*i, state),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => hash_int(*f as i64, state),
            Value::Float(f) => state.write_u64(f.to_bits()),
            Value::List(items) => {
                state.write_u8(1);
                items.hash(state);
            }
            Value::Map(map) => {
                state.write_u8(2);
                state.write_usize(map.len());
            }
        }
    }
}

fn hash_int<H: Hasher>(i: i64, state: &mut H) {
    state.write_u8(3);
    state.write_i64(i);
}

impl indexmap::Equivalent<Value> for str {
    fn equivalent(&self, key: &Value) -> bool {
        key.as_str() == Some(self)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("None"),
            Value::Bool(b) => write!(f, "{}", if *b { "True" } else { "False" }),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Unsafe(s) => write!(f, "!unsafe {s:?}"),
            Value::List(items) => f.debug_list().entries(items.iter()).finish(),
            Value::Map(map) => f.debug_map().entries(map.iter()).finish(),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s.into())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Value {
        Value::list(items)
    }
}

impl From<Map> for Value {
    fn from(map: Map) -> Value {
        Value::map(map)
    }
}

impl FromIterator<(Value, Value)> for Value {
    fn from_iter<I: IntoIterator<Item = (Value, Value)>>(iter: I) -> Value {
        Value::map(iter.into_iter().collect())
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(f) => serializer.serialize_f64(*f),
            Value::Str(s) | Value::Unsafe(s) => serializer.serialize_str(s),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items.iter() {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (key, value) in map.iter() {
                    out.serialize_entry(&JsonKey(key), value)?;
                }
                out.end()
            }
        }
    }
}

/// A map key as Python's `json.dumps` writes it: `True` as `"true"`, `None` as `"null"`,
/// numbers in their decimal form.
struct JsonKey<'a>(&'a Value);

impl serde::Serialize for JsonKey<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Str(s) | Value::Unsafe(s) => serializer.serialize_str(s),
            Value::Null => serializer.serialize_str("null"),
            Value::Bool(b) => serializer.serialize_str(if *b { "true" } else { "false" }),
            Value::Int(i) => serializer.collect_str(i),
            Value::Float(f) => serializer.collect_str(&format!("{f:?}")),
            other => serializer.collect_str(&format!("{other:?}")),
        }
    }
}

impl From<serde_json::Value> for Value {
    fn from(json: serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::from(s),
            serde_json::Value::Array(items) => {
                Value::list(items.into_iter().map(Value::from).collect())
            }
            serde_json::Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| (Value::from(k), Value::from(v)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_follows_python() {
        assert_eq!(Value::Int(1), Value::Float(1.0));
        assert_eq!(Value::Bool(true), Value::Int(1));
        assert_eq!(Value::str("a"), Value::unsafe_str("a"));
        assert_ne!(Value::str("1"), Value::Int(1));
    }

    #[test]
    fn map_lookup_by_str() {
        let mut map = Map::new();
        map.insert(Value::str("kube_version"), Value::str("v1.32.0"));
        map.insert(Value::Int(1), Value::Null);
        let value = Value::map(map);
        assert_eq!(value.get("kube_version"), Some(&Value::str("v1.32.0")));
        assert_eq!(
            value.as_map().unwrap().get(&Value::Float(1.0)),
            Some(&Value::Null)
        );
    }

    #[test]
    fn json_keys_as_python_dumps_them() {
        let value: Value = [
            (Value::Bool(true), Value::Int(1)),
            (Value::Int(2), Value::Null),
        ]
        .into_iter()
        .collect();
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(json, r#"{"true":1,"2":null}"#);
    }
}
