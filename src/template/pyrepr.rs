//! Python's `str()` and `repr()` of template values.
//!
//! Ansible 2.18 turns every rendered node into text with Python's `str()`, so a list
//! prints as `['a', 1, True, None]` and a float as `1e+16`, and the text is read back
//! with `ast.literal_eval`. Printing a container that contains an undefined value fails, as
//! Jinja2's `StrictUndefined` does.

use std::fmt::Write;

use minijinja::value::{Value as JValue, ValueKind};

/// Marks a value that cannot be printed because it is, or contains, an undefined value.
#[derive(Debug)]
pub struct UndefinedInside;

/// Python's `str(value)`.
pub fn py_str(value: &JValue) -> Result<String, UndefinedInside> {
    if let Some(text) = value.as_str() {
        return Ok(text.to_owned());
    }
    let mut out = String::new();
    write_repr(&mut out, value)?;
    Ok(out)
}

/// Python's `repr(value)`.
pub fn py_repr(value: &JValue) -> Result<String, UndefinedInside> {
    let mut out = String::new();
    write_repr(&mut out, value)?;
    Ok(out)
}

pub fn write_repr(out: &mut String, value: &JValue) -> Result<(), UndefinedInside> {
    match value.kind() {
        ValueKind::Undefined => return Err(UndefinedInside),
        ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if value.is_true() { "True" } else { "False" }),
        ValueKind::Number => write_number(out, value),
        ValueKind::String => write_str_repr(out, value.as_str().unwrap_or_default()),
        ValueKind::Bytes => {
            let bytes = value.as_bytes().unwrap_or_default();
            out.push('b');
            write_str_repr(out, &String::from_utf8_lossy(bytes));
        }
        ValueKind::Seq if value.is_tuple() => write_tuple_repr(out, value)?,
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            let items = value.try_iter().map_err(|_| UndefinedInside)?;
            for (index, item) in items.enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_repr(out, &item)?;
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            let keys = value.try_iter().map_err(|_| UndefinedInside)?;
            for (index, key) in keys.enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_repr(out, &key)?;
                out.push_str(": ");
                let item = value.get_item(&key).map_err(|_| UndefinedInside)?;
                write_repr(out, &item)?;
            }
            out.push('}');
        }
        _ => {
            let _ = write!(out, "{value}");
        }
    }
    Ok(())
}

/// Python's `repr(tuple)`: `(1, 2)`, with a trailing comma for one item: `(1,)`.
fn write_tuple_repr(out: &mut String, value: &JValue) -> Result<(), UndefinedInside> {
    out.push('(');
    let items = value.try_iter().map_err(|_| UndefinedInside)?;
    let mut count = 0;
    for item in items {
        if count > 0 {
            out.push_str(", ");
        }
        write_repr(out, &item)?;
        count += 1;
    }
    if count == 1 {
        out.push(',');
    }
    out.push(')');
    Ok(())
}

fn write_number(out: &mut String, value: &JValue) {
    if value.is_integer() {
        let _ = write!(out, "{value}");
    } else {
        let float = f64::try_from(value.clone()).unwrap_or(f64::NAN);
        out.push_str(&float_repr(float));
    }
}

/// Python's `repr(float)`: the shortest text that reads back as the same number, in
/// scientific notation when the decimal exponent is below -4 or at least 16.
pub fn float_repr(value: f64) -> String {
    rplay_modules::json::python_float_repr(value)
}

pub use rplay_modules::pyrepr::str_repr;

/// Python's `repr(str)`, appended to `out`.
pub fn write_str_repr(out: &mut String, text: &str) {
    out.push_str(&rplay_modules::pyrepr::str_repr(text));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_as_python() {
        assert_eq!(float_repr(1.0), "1.0");
        assert_eq!(float_repr(1e16), "1e+16");
        assert_eq!(float_repr(1234567890123456.0), "1234567890123456.0");
        assert_eq!(float_repr(0.0001), "0.0001");
        assert_eq!(float_repr(0.00001), "1e-05");
        assert_eq!(float_repr(-2.5), "-2.5");
        assert_eq!(float_repr(1.5e-7), "1.5e-07");
        assert_eq!(float_repr(0.1 + 0.2), "0.30000000000000004");
    }

    #[test]
    fn str_repr_quotes() {
        assert_eq!(str_repr("a"), "'a'");
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("'\""), "'\\'\"'");
        assert_eq!(str_repr("a\nb\\"), "'a\\nb\\\\'");
        assert_eq!(str_repr("\u{7f}é"), "'\\x7fé'");
    }

    #[test]
    fn containers_repr() {
        let value = JValue::from(vec![
            JValue::from("a"),
            JValue::from(1),
            JValue::from(true),
            JValue::from(()),
        ]);
        assert_eq!(py_str(&value).unwrap(), "['a', 1, True, None]");
    }
}
