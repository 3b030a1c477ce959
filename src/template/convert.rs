//! Conversion between rplay's [`Value`] and minijinja's value type.
//!
//! Strings are shared (`Arc<str>`) in both directions, so converting a variable costs
//! one allocation per container, not per string.

use minijinja::value::{Value as JValue, ValueKind};

use super::{native_text, unsafe_text, vault_values};
use crate::{Map, Value};

/// Converts a value for use inside a template.
pub fn to_jinja(value: &Value) -> JValue {
    match value {
        Value::Null => JValue::from(()),
        Value::Bool(b) => JValue::from(*b),
        Value::Int(i) => JValue::from(*i),
        Value::Float(f) => JValue::from(*f),
        Value::Str(s) => native_text::to_jinja(s, false).unwrap_or_else(|| JValue::from(s.clone())),
        Value::Unsafe(s) => native_text::to_jinja(s, true)
            .or_else(|| vault_values::plaintext_value(s))
            .unwrap_or_else(|| unsafe_text::mark(s.clone())),
        Value::List(items) => JValue::from(items.iter().map(to_jinja).collect::<Vec<_>>()),
        Value::Map(map) => JValue::from_pairs(map.iter().map(|(k, v)| (to_jinja(k), to_jinja(v)))),
    }
}

/// Marks a template value that has no plain-data form: an undefined value, or one
/// inside a container.
#[derive(Debug)]
pub struct NotData;

/// Converts a template result back to plain data. Iterables become lists and objects
/// that look like maps become maps.
pub fn from_jinja(value: &JValue) -> Result<Value, NotData> {
    Ok(match value.kind() {
        ValueKind::Undefined => return Err(NotData),
        ValueKind::None => Value::Null,
        ValueKind::Bool => Value::Bool(value.is_true()),
        ValueKind::Number => number(value),
        ValueKind::String => match value.as_str() {
            Some(text) => Value::from(text),
            None => Value::from(value.to_string()),
        },
        ValueKind::Bytes => {
            Value::from(String::from_utf8_lossy(value.as_bytes().unwrap_or_default()).into_owned())
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items = value.try_iter().map_err(|_| NotData)?;
            Value::list(
                items
                    .map(|item| from_jinja(&item))
                    .collect::<Result<_, _>>()?,
            )
        }
        ValueKind::Map => {
            let mut map = Map::new();
            for key in value.try_iter().map_err(|_| NotData)? {
                let item = value.get_item(&key).map_err(|_| NotData)?;
                map.insert(from_jinja(&key)?, from_jinja(&item)?);
            }
            Value::map(map)
        }
        _ => Value::from(value.to_string()),
    })
}

fn number(value: &JValue) -> Value {
    if value.is_integer() {
        if let Some(i) = value.as_i64() {
            return Value::Int(i);
        }
        // NOTE: Python integers are unbounded; values beyond 64 bits become floats.
        return Value::Float(f64::try_from(value.clone()).unwrap_or(f64::NAN));
    }
    Value::Float(f64::try_from(value.clone()).unwrap_or(f64::NAN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_types_and_order() {
        let value: Value = [
            (Value::from("b"), Value::Int(1)),
            (
                Value::from("a"),
                Value::list(vec![Value::Float(1.5), Value::Null]),
            ),
            (Value::from("c"), Value::Bool(false)),
        ]
        .into_iter()
        .collect();
        let back = from_jinja(&to_jinja(&value)).unwrap();
        assert_eq!(back, value);
        let keys: Vec<_> = back.as_map().unwrap().keys().cloned().collect();
        assert_eq!(keys[0], Value::from("b"));
        assert!(matches!(
            back.get("a").unwrap().as_list().unwrap()[0],
            Value::Float(_)
        ));
    }
}
