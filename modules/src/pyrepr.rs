//! Python's `str()` and `repr()` of values, which Ansible prints in item labels, messages
//! and templated text (`"{{ [1, 'a'] }}"` renders `[1, 'a']`).

use std::fmt::Write;

use crate::json::python_float_repr;
use crate::Value;

/// Python's `str()`: strings as they are, everything else as `repr()`.
pub fn str(value: &Value) -> String {
    match value {
        Value::Str(s) | Value::Unsafe(s) => s.to_string(),
        other => repr(other),
    }
}

/// Python's `repr()`.
pub fn repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, value);
    out
}

fn write_repr(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) if f.is_nan() => out.push_str("nan"),
        Value::Float(f) if f.is_infinite() => out.push_str(if *f > 0.0 { "inf" } else { "-inf" }),
        Value::Float(f) => out.push_str(&python_float_repr(*f)),
        Value::Str(s) | Value::Unsafe(s) => out.push_str(&str_repr(s)),
        Value::List(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_repr(out, item);
            }
            out.push(']');
        }
        Value::Map(map) => {
            out.push('{');
            for (index, (key, item)) in map.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_repr(out, key);
                out.push_str(": ");
                write_repr(out, item);
            }
            out.push('}');
        }
    }
}

/// Python's `repr()` of a string: single quotes unless the text contains a single quote
/// and no double quote; backslash escapes for quotes, `\\`, `\n`, `\r`, `\t` and
/// unprintable characters.
pub fn str_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push(quote);
    out
}

/// Python's `repr()` of a bytes value (`b'...'`): the same quoting as [`str_repr`], and
/// `\xNN` for every byte outside printable ASCII.
pub fn bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push('b');
    out.push(char::from(quote));
    for &byte in bytes {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            byte if byte == quote => {
                out.push('\\');
                out.push(char::from(byte));
            }
            0x20..=0x7e => out.push(char::from(byte)),
            byte => {
                let _ = write!(out, "\\x{byte:02x}");
            }
        }
    }
    out.push(char::from(quote));
    out
}

/// Approximates Python's `str.isprintable()` for one character.
///
/// NOTE: Python consults the Unicode database (categories Cc, Cf, Cs, Co, Cn, Zl, Zp, and
/// Zs other than the space are unprintable). This covers the control, format and
/// separator characters that occur in practice.
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(
        c as u32,
        0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e | 0x200b..=0x200f
            | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff | 0xfff9..=0xfffb
            | 0xd800..=0xdfff | 0xe000..=0xf8ff
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Map;

    #[test]
    fn bytes_repr_like_python() {
        assert_eq!(bytes_repr(b"/tmp/a.txt"), "b'/tmp/a.txt'");
        assert_eq!(bytes_repr(b"it's"), "b\"it's\"");
        assert_eq!(bytes_repr("ß\t".as_bytes()), "b'\\xc3\\x9f\\t'");
    }

    #[test]
    fn repr_of_containers() {
        let mut map = Map::new();
        map.insert(Value::from("key"), Value::from("kube_control_plane"));
        map.insert(
            Value::from("value"),
            Value::list(vec![
                Value::from("kube-master"),
                Value::Null,
                Value::Bool(true),
            ]),
        );
        // Expected text printed by CPython 3.11 str() of the same dict.
        assert_eq!(
            str(&Value::map(map)),
            "{'key': 'kube_control_plane', 'value': ['kube-master', None, True]}"
        );
    }

    #[test]
    fn repr_of_quotes() {
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("a\"b'c"), "'a\"b\\'c'");
        assert_eq!(str_repr("tab\there\u{1}"), "'tab\\there\\x01'");
    }
}
