//! Constructed objects: the arena PyYAML's constructor fills, with Python's rules for
//! dict keys (`1 == 1.0 == True`, a string equals its unsafe copy) and for printing a
//! key in a warning.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::scalar;
use super::Mark;

/// Maps this large are searched for duplicate keys through a hash index.
const INDEXED_MAP_LEN: usize = 16;

pub(super) type ObjectId = usize;

pub(super) struct Object {
    pub mark: Mark,
    pub data: Data,
}

/// A constructed Python object.
pub(super) enum Data {
    Null,
    Bool(bool),
    Int(i64),
    /// An `int` outside `i64`, as decimal text.
    BigInt(Arc<str>),
    Float(f64),
    Str(Arc<str>),
    Unsafe(Arc<str>),
    /// A `datetime.date` or `datetime.datetime`, as Python's `str()` prints it.
    Timestamp(Arc<str>),
    Binary(Arc<[u8]>),
    Vault(Arc<str>),
    Seq(Vec<ObjectId>),
    Map(Vec<(ObjectId, ObjectId)>),
    Set(Vec<ObjectId>),
    /// A `(key, value)` tuple of `!!omap` and `!!pairs`.
    Pair(ObjectId, ObjectId),
}

/// Returns the Python type name of an object that cannot be a dict key.
pub(super) fn unhashable_type(data: &Data) -> Option<&'static str> {
    match data {
        Data::Seq(_) => Some("AnsibleSequence"),
        Data::Map(_) => Some("AnsibleMapping"),
        Data::Set(_) => Some("set"),
        _ => None,
    }
}

/// The entries of a mapping under construction, searched for duplicates with Python's
/// key equality (`1 == 1.0 == True`, a string equals its unsafe copy).
#[derive(Default)]
pub(super) struct Entries {
    pub(super) pairs: Vec<(ObjectId, ObjectId)>,
    /// Key hash to the position of a key with that hash, once the mapping is large.
    index: Option<HashMap<u64, usize>>,
}

impl Entries {
    pub(super) fn find(&self, objects: &[Object], key: ObjectId) -> Option<usize> {
        let linear = || {
            self.pairs
                .iter()
                .position(|&(existing, _)| keys_equal(objects, existing, key))
        };
        let Some(index) = &self.index else {
            return linear();
        };
        match index.get(&key_hash(objects, key)) {
            None => None,
            Some(&position) if keys_equal(objects, self.pairs[position].0, key) => Some(position),
            Some(_) => linear(),
        }
    }

    pub(super) fn push(&mut self, objects: &[Object], key: ObjectId, value: ObjectId) {
        self.pairs.push((key, value));
        if let Some(index) = &mut self.index {
            index
                .entry(key_hash(objects, key))
                .or_insert(self.pairs.len() - 1);
        } else if self.pairs.len() >= INDEXED_MAP_LEN {
            let mut index = HashMap::with_capacity(self.pairs.len() * 2);
            for (position, &(existing, _)) in self.pairs.iter().enumerate() {
                index.entry(key_hash(objects, existing)).or_insert(position);
            }
            self.index = Some(index);
        }
    }
}

/// A number as Python compares it across `bool`, `int` and `float`.
enum Number {
    Int(i128),
    Float(f64),
}

fn number(data: &Data) -> Option<Number> {
    match *data {
        Data::Bool(value) => Some(Number::Int(i128::from(value))),
        Data::Int(value) => Some(Number::Int(i128::from(value))),
        Data::Float(value) => Some(Number::Float(value)),
        _ => None,
    }
}

/// Returns the integer a float equals, when it is integral and in range.
fn integral(value: f64) -> Option<i128> {
    (value.fract() == 0.0 && value.abs() < 1e38).then_some(value as i128)
}

fn keys_equal(objects: &[Object], a: ObjectId, b: ObjectId) -> bool {
    use Data::*;
    match (&objects[a].data, &objects[b].data) {
        (Str(x) | Unsafe(x), Str(y) | Unsafe(y)) => x == y,
        (Timestamp(x), Timestamp(y)) | (Vault(x), Vault(y)) | (BigInt(x), BigInt(y)) => x == y,
        (Binary(x), Binary(y)) => x == y,
        (Null, Null) => true,
        (&Pair(a1, a2), &Pair(b1, b2)) => {
            keys_equal(objects, a1, b1) && keys_equal(objects, a2, b2)
        }
        (x, y) => match (number(x), number(y)) {
            (Some(Number::Int(x)), Some(Number::Int(y))) => x == y,
            // Every `.nan` PyYAML builds is one shared object, equal to itself as a key.
            (Some(Number::Float(x)), Some(Number::Float(y))) => {
                x == y || (x.is_nan() && y.is_nan())
            }
            (Some(Number::Int(i)), Some(Number::Float(f)))
            | (Some(Number::Float(f)), Some(Number::Int(i))) => integral(f) == Some(i),
            _ => false,
        },
    }
}

fn key_hash(objects: &[Object], key: ObjectId) -> u64 {
    let mut hasher = DefaultHasher::new();
    hash_key(objects, key, &mut hasher);
    hasher.finish()
}

fn hash_key(objects: &[Object], key: ObjectId, hasher: &mut DefaultHasher) {
    match &objects[key].data {
        Data::Str(text) | Data::Unsafe(text) => (0u8, text.as_ref()).hash(hasher),
        Data::Timestamp(text) => (1u8, text.as_ref()).hash(hasher),
        Data::Vault(text) => (2u8, text.as_ref()).hash(hasher),
        Data::BigInt(text) => (3u8, text.as_ref()).hash(hasher),
        Data::Binary(bytes) => (4u8, bytes.as_ref()).hash(hasher),
        Data::Null => 5u8.hash(hasher),
        &Data::Pair(key, value) => {
            6u8.hash(hasher);
            hash_key(objects, key, hasher);
            hash_key(objects, value, hasher);
        }
        data => match number(data) {
            Some(Number::Int(value)) => (7u8, value).hash(hasher),
            Some(Number::Float(value)) => match integral(value) {
                Some(whole) => (7u8, whole).hash(hasher),
                None if value.is_nan() => 8u8.hash(hasher),
                None => (9u8, value.to_bits()).hash(hasher),
            },
            None => 10u8.hash(hasher),
        },
    }
}

/// Python's `str()` of a key, as the duplicate-key warning formats it.
pub(super) fn python_str(objects: &[Object], key: ObjectId) -> String {
    match &objects[key].data {
        Data::Null => "None".into(),
        Data::Bool(value) => if *value { "True" } else { "False" }.into(),
        Data::Int(value) => value.to_string(),
        Data::Float(value) => scalar::python_float_repr(*value),
        Data::BigInt(text)
        | Data::Str(text)
        | Data::Unsafe(text)
        | Data::Timestamp(text)
        | Data::Vault(text) => text.to_string(),
        Data::Binary(bytes) => python_bytes_repr(bytes),
        &Data::Pair(key, value) => format!(
            "({}, {})",
            python_str(objects, key),
            python_str(objects, value)
        ),
        Data::Seq(_) | Data::Set(_) => "[...]".into(),
        Data::Map(_) => "{...}".into(),
    }
}

fn python_bytes_repr(bytes: &[u8]) -> String {
    let mut text = String::from("b'");
    for &byte in bytes {
        match byte {
            b'\\' => text.push_str("\\\\"),
            b'\'' => text.push_str("\\'"),
            b'\t' => text.push_str("\\t"),
            b'\n' => text.push_str("\\n"),
            b'\r' => text.push_str("\\r"),
            0x20..=0x7e => text.push(char::from(byte)),
            _ => text.push_str(&format!("\\x{byte:02x}")),
        }
    }
    text.push('\'');
    text
}
