//! Filters of ansible-core's `mathstuff` plugin that work on sizes and records:
//! `human_readable`, `human_to_bytes` and `rekey_on_member`.

use indexmap::IndexMap;
use minijinja::value::{Value as JValue, ValueKind};
use minijinja::{Environment, Error, State};

use super::{add, ansible, filter_error, python_type_error, Args, Undefined};
use crate::template::methods::python_type_name;
use crate::template::pyrepr::py_str;

pub fn register(env: &mut Environment<'static>) {
    add(
        env,
        ansible("human_readable"),
        Undefined::Reject,
        human_readable,
    );
    add(
        env,
        ansible("human_to_bytes"),
        Undefined::Reject,
        human_to_bytes,
    );
    add(
        env,
        ansible("rekey_on_member"),
        Undefined::Reject,
        rekey_on_member,
    );
}

/// The unit prefixes of ansible-core's `SIZE_RANGES`, largest first, as powers of 1024.
const SIZE_PREFIXES: [(char, u32); 9] = [
    ('Y', 80),
    ('Z', 70),
    ('E', 60),
    ('P', 50),
    ('T', 40),
    ('G', 30),
    ('M', 20),
    ('K', 10),
    ('B', 0),
];

/// Returns the long names of ansible-core's `VALID_UNITS` for a prefix: bytes, then bits.
fn unit_names(prefix: char) -> (&'static str, &'static str) {
    match prefix {
        'B' => ("byte", "bit"),
        'K' => ("kilobyte", "kilobit"),
        'M' => ("megabyte", "megabit"),
        'G' => ("gigabyte", "gigabit"),
        'T' => ("terabyte", "terabit"),
        'P' => ("petabyte", "petabit"),
        'E' => ("exabyte", "exabit"),
        'Z' => ("zetabyte", "zetabit"),
        _ => ("yottabyte", "yottabit"),
    }
}

/// Ansible's `human_readable(size, isbits=False, unit=None)`: `size` in the largest unit
/// it reaches, or in `unit`, with two decimals.
fn human_readable(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let isbits = args.bool_arg(0, "isbits", false);
    let unit = args.get(1, "unit").filter(|unit| !unit.is_none());
    let size = &args.value;
    let bad_input = |detail: String| {
        python_type_error(format!("human_readable() failed on bad input: {detail}"))
    };
    let requested_unit = match unit {
        Some(unit) => match unit.as_str() {
            Some(text) => Some(text.to_uppercase()),
            None => return Err(cannot_interpret("human_readable", size)),
        },
        None => None,
    };
    let number = match size.kind() {
        ValueKind::Number | ValueKind::Bool => {
            f64::try_from(size.clone()).unwrap_or_else(|_| f64::from(u8::from(size.is_true())))
        }
        _ if requested_unit.is_some() => {
            return Err(bad_input(format!(
                "unsupported operand type(s) for /: '{}' and 'int'",
                python_type_name(size)
            )))
        }
        _ => {
            return Err(bad_input(format!(
                "'>=' not supported between instances of '{}' and 'int'",
                python_type_name(size)
            )))
        }
    };
    let (prefix, exponent) = SIZE_PREFIXES
        .into_iter()
        .find(|(prefix, exponent)| match &requested_unit {
            Some(requested) => requested.starts_with(*prefix),
            None => number >= 2f64.powi(*exponent as i32),
        })
        .unwrap_or(('B', 0));
    let base = if isbits { "bits" } else { "Bytes" };
    let suffix = if exponent == 0 {
        base.to_owned()
    } else {
        format!("{prefix}{}", &base[..1])
    };
    let scaled = number / 2f64.powi(exponent as i32);
    Ok(JValue::from(format!("{scaled:.2} {suffix}")))
}

/// Ansible's `human_to_bytes(size, default_unit=None, isbits=False)`: the number of bytes
/// (or bits) in a text such as `10 KB` or `1.5M`.
fn human_to_bytes(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let size = &args.value;
    let default_unit = args.get(0, "default_unit").filter(|unit| !unit.is_none());
    let isbits = args.bool_arg(1, "isbits", false);
    let text = py_str(size).unwrap_or_default();
    let Some((number, unit)) = split_size(&text) else {
        return Err(cannot_interpret("human_to_bytes", size));
    };
    let unit = match unit {
        Some(unit) => unit.to_owned(),
        None => match default_unit {
            None => return Ok(JValue::from(number.round_ties_even() as i128)),
            Some(unit) => match unit.as_str() {
                Some(text) => text.to_owned(),
                None => {
                    return Err(python_type_error(format!(
                        "human_to_bytes() failed on bad input: '{}' object is not subscriptable",
                        python_type_name(unit)
                    )))
                }
            },
        },
    };
    let Some(range_key) = unit.chars().next().map(|c| c.to_ascii_uppercase()) else {
        return Err(cannot_interpret("human_to_bytes", size));
    };
    let Some((_, exponent)) = SIZE_PREFIXES
        .iter()
        .find(|(prefix, _)| *prefix == range_key)
    else {
        return Err(cannot_interpret("human_to_bytes", size));
    };
    if unit.chars().count() > 1 {
        let (byte_name, bit_name) = unit_names(range_key);
        let (long_name, class) = if isbits {
            (bit_name, 'b')
        } else {
            (byte_name, 'B')
        };
        let short_name = match range_key {
            'B' => class.to_string(),
            _ => format!("{range_key}{class}"),
        };
        if unit.to_lowercase() != long_name && unit != short_name {
            return Err(cannot_interpret("human_to_bytes", size));
        }
    }
    let bytes = (number * 2f64.powi(*exponent as i32)).round_ties_even();
    Ok(JValue::from(bytes as i128))
}

/// Splits `1.5 MB` into its number and its unit, as ansible-core's pattern
/// `^([0-9]*\.?[0-9]+)(?:\s*([A-Za-z]+))?\s*$` does.
fn split_size(text: &str) -> Option<(f64, Option<&str>)> {
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let number_text = &text[..number_end];
    let valid_number = match number_text.split_once('.') {
        Some((whole, fraction)) => {
            !fraction.is_empty()
                && !fraction.contains('.')
                && whole.bytes().all(|b| b.is_ascii_digit())
        }
        None => !number_text.is_empty(),
    };
    if !valid_number {
        return None;
    }
    let rest = text[number_end..].trim_start();
    let unit_end = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    let (unit, tail) = rest.split_at(unit_end);
    if !tail.trim().is_empty() {
        return None;
    }
    let number = number_text.parse().ok()?;
    Some((number, (!unit.is_empty()).then_some(unit)))
}

fn cannot_interpret(filter: &str, size: &JValue) -> Error {
    filter_error(format!(
        "{filter}() can't interpret following string: {}",
        py_str(size).unwrap_or_default()
    ))
}

/// Ansible's `rekey_on_member(data, key, duplicates='error')`: a dict of the records in
/// `data` (a list or the values of a dict), keyed on each record's `key`.
fn rekey_on_member(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let key = args.get(0, "key").cloned().unwrap_or_default();
    let duplicates = args
        .str_arg(1, "duplicates")
        .unwrap_or_else(|| "error".to_owned());
    if duplicates != "error" && duplicates != "overwrite" {
        return Err(filter_error(format!(
            "duplicates parameter to rekey_on_member has unknown value: {duplicates}"
        )));
    }
    let data = &args.value;
    let records: Vec<JValue> = match data.kind() {
        ValueKind::Map => data
            .try_iter()?
            .map(|name| data.get_item(&name).unwrap_or_default())
            .collect(),
        ValueKind::Seq | ValueKind::Iterable => data.try_iter()?.collect(),
        _ => return Err(python_type_error("Type is not a valid list, set, or dict")),
    };
    let mut rekeyed: IndexMap<JValue, JValue> = IndexMap::new();
    for record in records {
        if record.kind() != ValueKind::Map {
            return Err(python_type_error("List item is not a valid dict"));
        }
        let member = record.get_item(&key).unwrap_or_default();
        if member.is_undefined() {
            return Err(filter_error(format!(
                "Key {} was not found",
                py_str(&key).unwrap_or_default()
            )));
        }
        if matches!(member.kind(), ValueKind::Map | ValueKind::Seq) {
            return Err(python_type_error(format!(
                "unhashable type: '{}'",
                python_type_name(&member)
            )));
        }
        if rekeyed.contains_key(&member) && duplicates == "error" {
            return Err(filter_error(format!(
                "Key {} is not unique, cannot correctly turn into dict",
                py_str(&member).unwrap_or_default()
            )));
        }
        rekeyed.insert(member, record);
    }
    Ok(JValue::from_pairs(rekeyed))
}
