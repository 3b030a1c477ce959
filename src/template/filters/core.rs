//! Type conversions, defaults and logic: `default`, `bool`, `int`, `ternary`, ...

use minijinja::value::{Value as JValue, ValueKind};
use minijinja::{Environment, Error, State};

use super::vault::EncryptedText;
use super::{add, ansible, filter_error, jinja, python_type_error, Args, Undefined};
use crate::template::methods::{class_name, python_type_name};
use crate::template::pyrepr::py_str;
use crate::template::render::{consume_hint, latest_hint, undefined_error};
use crate::template::unicode_digits::to_ascii_number;

pub fn register(env: &mut Environment<'static>) {
    add(
        env,
        [jinja("default"), jinja("d")].concat(),
        Undefined::Accept,
        default,
    );
    add(env, ansible("mandatory"), Undefined::Accept, mandatory);
    add(env, ansible("type_debug"), Undefined::Accept, type_debug);
    add(env, ansible("bool"), Undefined::Reject, to_bool);
    add(env, jinja("int"), Undefined::Reject, to_int);
    add(env, jinja("float"), Undefined::Reject, to_float);
    add(env, jinja("string"), Undefined::Reject, to_string);
    add(env, ansible("ternary"), Undefined::Reject, ternary);
    add(env, jinja("abs"), Undefined::Reject, abs);
    add(env, jinja("round"), Undefined::Reject, round);
    add(env, ansible("pow"), Undefined::Reject, pow);
    add(env, ansible("log"), Undefined::Reject, log);
    add(env, ansible("root"), Undefined::Reject, root);
}

/// Jinja2's `default(value, default_value='', boolean=False)`.
fn default(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let boolean = args.bool_arg(1, "boolean", false);
    let replace = args.value.is_undefined() || (boolean && !args.value.is_true());
    if args.value.is_undefined() {
        consume_hint();
    }
    if !replace {
        return Ok(args.value.clone());
    }
    Ok(args
        .get(0, "default_value")
        .cloned()
        .unwrap_or_else(|| JValue::from("")))
}

fn mandatory(_: &mut State, args: &Args) -> Result<JValue, Error> {
    if !args.value.is_undefined() {
        return Ok(args.value.clone());
    }
    if let Some(message) = args.get(0, "msg") {
        return Err(filter_error(py_str(message).unwrap_or_default()));
    }
    // Ansible names the variable when the undefined value came from a plain name.
    let name = latest_hint()
        .and_then(|hint| {
            hint.strip_suffix(" is undefined")
                .map(|quoted| format!("{quoted} "))
        })
        .unwrap_or_default();
    Err(filter_error(format!(
        "Mandatory variable {name} not defined."
    )))
}

fn type_debug(_: &mut State, args: &Args) -> Result<JValue, Error> {
    if args.value.is_undefined() {
        consume_hint();
    }
    let name = if args.value.downcast_object_ref::<EncryptedText>().is_some() {
        "AnsibleVaultEncryptedUnicode"
    } else {
        class_name(&args.value)
    };
    Ok(JValue::from(name))
}

/// Ansible's `bool`: `None` and booleans pass through; `yes`, `on`, `1`, `true` (any
/// case) and the number 1 are true; anything else is false.
fn to_bool(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let value = &args.value;
    Ok(match value.kind() {
        ValueKind::None | ValueKind::Bool => value.clone(),
        ValueKind::String => {
            let text = value.as_str().unwrap_or_default().to_lowercase();
            JValue::from(matches!(text.as_str(), "yes" | "on" | "1" | "true"))
        }
        ValueKind::Number => JValue::from(f64::try_from(value.clone()).is_ok_and(|n| n == 1.0)),
        _ => JValue::from(false),
    })
}

/// Jinja2's `int(value, default=0, base=10)`.
fn to_int(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let default = args.get(0, "default").cloned().unwrap_or(JValue::from(0));
    let base = args.get(1, "base").and_then(JValue::as_i64).unwrap_or(10);
    let value = &args.value;
    let parsed = match value.kind() {
        ValueKind::String => {
            let text = value.as_str().unwrap_or_default();
            parse_int(text, base as u32).or_else(|| parse_float(text).and_then(float_to_int))
        }
        ValueKind::Bool => Some(i128::from(value.is_true())),
        ValueKind::Number if value.is_integer() => i128::try_from(value.clone()).ok(),
        ValueKind::Number => f64::try_from(value.clone()).ok().and_then(float_to_int),
        _ => None,
    };
    Ok(parsed.map(JValue::from).unwrap_or(default))
}

fn float_to_int(f: f64) -> Option<i128> {
    f.is_finite().then(|| f.trunc() as i128)
}

/// Python's `int(text, base)`: surrounding whitespace, a sign, underscores between
/// digits, digits of any script and, for base 0 or a matching base, a `0x`/`0o`/`0b`
/// prefix.
pub fn parse_int(text: &str, base: u32) -> Option<i128> {
    let text = to_ascii_number(text);
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let lower = digits.to_ascii_lowercase();
    let (base, digits) = match (base, lower.get(..2)) {
        (16 | 0, Some("0x")) => (16, &digits[2..]),
        (8 | 0, Some("0o")) => (8, &digits[2..]),
        (2 | 0, Some("0b")) => (2, &digits[2..]),
        (0, _) => (10, digits),
        (base, _) => (base, digits),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !(2..=36).contains(&base)
    {
        return None;
    }
    let cleaned: String = digits.chars().filter(|&c| c != '_').collect();
    let magnitude = i128::from_str_radix(&cleaned, base).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Python's `float(text)`, which reads digits of any script too.
pub fn parse_float(text: &str) -> Option<f64> {
    let text = to_ascii_number(text);
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    match unsigned {
        "inf" | "infinity" => {
            return Some(if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })
        }
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if text.is_empty() || text.contains("__") || text.starts_with('_') || text.ends_with('_') {
        return None;
    }
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    if !cleaned
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return None;
    }
    cleaned.parse().ok()
}

/// Jinja2's `float(value, default=0.0)`.
fn to_float(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let default = args.get(0, "default").cloned().unwrap_or(JValue::from(0.0));
    let value = &args.value;
    let parsed = match value.kind() {
        ValueKind::String => parse_float(value.as_str().unwrap_or_default()),
        ValueKind::Bool => Some(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(value.clone()).ok(),
        _ => None,
    };
    Ok(parsed.map(JValue::from).unwrap_or(default))
}

/// Jinja2's `string`: Python's `str()`, kept as text by Ansible's result typing.
fn to_string(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = py_str(&args.value).map_err(|_| undefined_error())?;
    Ok(JValue::from_safe_string(text))
}

fn ternary(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let none_value = args.get(2, "none_val").filter(|v| !v.is_none());
    if args.value.is_none() {
        if let Some(value) = none_value {
            return Ok(value.clone());
        }
    }
    let chosen = if args.value.is_true() {
        args.get(0, "true_val")
    } else {
        args.get(1, "false_val")
    };
    Ok(chosen.cloned().unwrap_or(JValue::from(())))
}

fn number(value: &JValue, filter: &str) -> Result<f64, Error> {
    if value.is_number() || value.kind() == ValueKind::Bool {
        return f64::try_from(value.clone()).or_else(|_| Ok(f64::from(u8::from(value.is_true()))));
    }
    Err(python_type_error(format!(
        "{filter}() can only be used on numbers: must be real number, not {}",
        python_type_name(value)
    )))
}

fn abs(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let value = &args.value;
    if value.is_integer() {
        let n = i128::try_from(value.clone()).unwrap_or_default();
        return Ok(JValue::from(n.abs()));
    }
    Ok(JValue::from(number(value, "abs")?.abs()))
}

/// Jinja2's `round(value, precision=0, method='common')`.
fn round(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let value = number(&args.value, "round")?;
    let precision = args
        .get(0, "precision")
        .and_then(JValue::as_i64)
        .unwrap_or(0) as i32;
    let method = args.str_arg(1, "method").unwrap_or_else(|| "common".into());
    // Python's `round(int, n)` keeps an integer.
    if method == "common" && args.value.is_integer() && precision >= 0 {
        return Ok(args.value.clone());
    }
    let factor = 10f64.powi(precision);
    let scaled = value * factor;
    let rounded = match method.as_str() {
        "common" => scaled.round(),
        "ceil" => scaled.ceil(),
        "floor" => scaled.floor(),
        _ => return Err(filter_error("method must be common, ceil or floor")),
    };
    Ok(JValue::from(rounded / factor))
}

fn pow(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let base = number(&args.value, "pow")?;
    let exponent = number(args.get(0, "y").unwrap_or(&JValue::from(1)), "pow")?;
    Ok(JValue::from(base.powf(exponent)))
}

fn log(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let value = number(&args.value, "log")?;
    let result = match args.get(0, "base") {
        Some(base) => {
            let base = number(base, "log")?;
            if base == 10.0 {
                value.log10()
            } else {
                value.ln() / base.ln()
            }
        }
        None => value.ln(),
    };
    Ok(JValue::from(result))
}

fn root(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let value = number(&args.value, "root")?;
    let base = args.get(0, "base").map(|b| number(b, "root")).transpose()?;
    Ok(JValue::from(match base {
        None | Some(2.0) => value.sqrt(),
        Some(base) => value.powf(1.0 / base),
    }))
}
