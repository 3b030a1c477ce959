//! JSON text as Python's `json.dumps` writes it, which is what Ansible prints in its logs
//! and what `to_json`/`to_nice_json` produce: `", "` and `": "` separators on one line,
//! `","` line ends with `indent`, non-ASCII text kept as it is, floats as Python's
//! `repr`, and `NaN`/`Infinity` for non-finite floats.

use std::fmt::Write;

use crate::Value;

/// Options of `json.dumps` that Ansible varies.
#[derive(Clone, Copy, Debug, Default)]
pub struct DumpOptions {
    /// Spaces per level; `None` writes everything on one line.
    pub indent: Option<usize>,
    pub sort_keys: bool,
    /// Escape every non-ASCII character as `\uXXXX` (Python's default `ensure_ascii=True`).
    pub ensure_ascii: bool,
}

/// Serialises `value` as `json.dumps(value, indent=..., sort_keys=..., ensure_ascii=...)`.
pub fn dumps(value: &Value, options: DumpOptions) -> String {
    let mut out = String::new();
    write_value(&mut out, value, options, 0);
    out
}

fn write_value(out: &mut String, value: &Value, options: DumpOptions, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&float_json(*f)),
        Value::Str(s) | Value::Unsafe(s) => write_string(out, s, options.ensure_ascii),
        Value::List(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                separator(out, index, options, depth + 1);
                write_value(out, item, options, depth + 1);
            }
            closing(out, options, depth);
            out.push(']');
        }
        Value::Map(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut entries: Vec<(String, &Value)> =
                map.iter().map(|(k, v)| (key_text(k), v)).collect();
            if options.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(&b.0));
            }
            out.push('{');
            for (index, (key, item)) in entries.iter().enumerate() {
                separator(out, index, options, depth + 1);
                write_string(out, key, options.ensure_ascii);
                out.push_str(": ");
                write_value(out, item, options, depth + 1);
            }
            closing(out, options, depth);
            out.push('}');
        }
    }
}

fn separator(out: &mut String, index: usize, options: DumpOptions, depth: usize) {
    match options.indent {
        Some(indent) => {
            if index > 0 {
                out.push(',');
            }
            out.push('\n');
            out.push_str(&" ".repeat(indent * depth));
        }
        None if index > 0 => out.push_str(", "),
        None => {}
    }
}

fn closing(out: &mut String, options: DumpOptions, depth: usize) {
    if let Some(indent) = options.indent {
        out.push('\n');
        out.push_str(&" ".repeat(indent * depth));
    }
}

/// A map key as `json.dumps` converts it: strings as they are, `True` as `true`, `None`
/// as `null`, numbers in their JSON form.
fn key_text(key: &Value) -> String {
    match key {
        Value::Str(s) | Value::Unsafe(s) => s.to_string(),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float_json(*f),
        other => format!("{other:?}"),
    }
}

/// Appends a JSON string literal as `json.dumps` writes it.
pub fn write_string(out: &mut String, text: &str, ensure_ascii: bool) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if ensure_ascii && (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn float_json(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        python_float_repr(f)
    }
}

/// Python's `repr()` of a float (`nan`, `inf` and `-inf` included): the shortest digits that read back the same,
/// in fixed notation when the decimal exponent is in `-4..16` (with `.0` for integral
/// values), otherwise as `1e+16` or `1.5e-05`.
pub fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Rust's `{:e}` prints the shortest round-trip digits, as `d.ddde[-]x`.
    let scientific = format!("{:e}", f.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exponent) {
        let point = exponent + 1;
        let text = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        };
        format!("{sign}{text}")
    } else {
        let mantissa = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exponent_sign}{:02}", exponent.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Map;

    #[test]
    fn float_repr_matches_python() {
        // Expected values printed by CPython 3.11 `repr()`.
        for (value, expected) in [
            (1e16, "1e+16"),
            (0.1, "0.1"),
            (1e-7, "1e-07"),
            (1.0, "1.0"),
            (123456789.0, "123456789.0"),
            (1.5e-5, "1.5e-05"),
            (2f64.powi(63), "9.223372036854776e+18"),
            (1e22, "1e+22"),
            (-2.5, "-2.5"),
            (0.0001, "0.0001"),
        ] {
            assert_eq!(python_float_repr(value), expected, "{value}");
        }
    }

    #[test]
    fn compact_and_sorted() {
        let list = Value::list(vec![
            Value::Float(1e16),
            Value::str("é\u{1}"),
            Value::Null,
            Value::Bool(true),
        ]);
        let mut map = Map::new();
        map.insert(Value::from("b"), Value::Float(1.0));
        map.insert(Value::from("a"), list);
        let options = DumpOptions {
            sort_keys: true,
            ..DumpOptions::default()
        };
        // Expected text printed by CPython 3.11 json.dumps(sort_keys=True, ensure_ascii=False).
        assert_eq!(
            dumps(&Value::map(map), options),
            r#"{"a": [1e+16, "é\u0001", null, true], "b": 1.0}"#
        );
    }

    #[test]
    fn indented_empty_containers() {
        let mut inner = Map::new();
        inner.insert(
            Value::from("x"),
            Value::list(vec![Value::Int(1), Value::empty_map()]),
        );
        let mut map = Map::new();
        map.insert(Value::from("b"), Value::empty_map());
        map.insert(Value::from("a"), Value::list(vec![]));
        map.insert(Value::from("c"), Value::map(inner));
        let options = DumpOptions {
            indent: Some(4),
            sort_keys: true,
            ensure_ascii: false,
        };
        assert_eq!(
            dumps(&Value::map(map), options),
            "{\n    \"a\": [],\n    \"b\": {},\n    \"c\": {\n        \"x\": [\n            1,\n            {}\n        ]\n    }\n}"
        );
    }
}
