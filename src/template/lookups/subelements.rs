//! The `subelements` lookup: `[ELEMENTS, KEY]` or `[ELEMENTS, KEY, FLAGS]` pairs each
//! element with each item of the list at `KEY`, a dotted path into nested mappings.
//!
//! The checks and messages are ansible-core 2.18's, quirks included. A key equal to the
//! path's last one counts as the last from there on, and with `skip_missing` a missing
//! key skips only that step of the path. Each yielded element lacks the list it was
//! paired from, because ansible-core pops the list out of it.

use minijinja::value::{Value as JValue, ValueKind};

use super::{Raised, Request};
use crate::template::convert::{from_jinja, to_jinja};
use crate::template::methods::python_type_name;
use crate::{Map, Value};
use rplay_modules::pyrepr::str as py_str;

const FLAGS: [&str; 1] = ["skip_missing"];

pub fn subelements(request: &Request) -> Result<Vec<Value>, Raised> {
    let terms = &request.terms;
    if !(2..=3).contains(&terms.len()) {
        return Err(terms_error(""));
    }
    let Some(path) = terms[1].as_str() else {
        return Err(terms_error(
            "first a dict or a list, second a string pointing to the subkey",
        ));
    };
    let Some(elements) = elements(&terms[0]) else {
        return Ok(Vec::new());
    };
    let flags = terms
        .get(2)
        .cloned()
        .unwrap_or_else(|| to_jinja(&Value::map(Map::new())));
    check_flags(&flags)?;
    let keys: Vec<&str> = path.split('.').collect();
    let mut pairs = Vec::new();
    for element in elements {
        let Value::Map(element) = element else {
            return Err(Raised::ansible(format!(
                "subelements lookup expects a dictionary, got '{}'",
                py_str(&element)
            )));
        };
        if is_skipped(&element) {
            continue;
        }
        let skip_missing = skip_missing(&flags)?;
        let (element, items) = split_element((*element).clone(), &keys, skip_missing)?;
        let element = Value::map(element);
        for item in items {
            pairs.push(Value::list(vec![element.clone(), item]));
        }
    }
    Ok(pairs)
}

fn terms_error(detail: &str) -> Raised {
    Raised::ansible(format!(
        "subelements lookup expects a list of two or three items, {detail}"
    ))
}

/// Reads the first term as `listify_lookup_plugin_terms` leaves it: a list as it is, the
/// values of a mapping, and any other value as a list of itself. Returns `None` for a
/// registered result that was skipped as a whole, which yields nothing.
// NOTE: ansible-core templates the first term once more, so a string naming a variable
// is not read as that variable's value here either, but strings inside it would be
// templated again.
fn elements(term: &JValue) -> Option<Vec<Value>> {
    match from_jinja(term).unwrap_or_default() {
        Value::List(items) => Some(items.to_vec()),
        Value::Map(map) if is_skipped(&map) => None,
        Value::Map(map) => Some(map.values().cloned().collect()),
        other => Some(vec![other]),
    }
}

/// Tells whether a mapping has a `skipped` key whose value is not `False` itself.
fn is_skipped(map: &Map) -> bool {
    map.get("skipped")
        .is_some_and(|value| !matches!(value, Value::Bool(false)))
}

/// Rejects a third term that is neither a mapping nor a collection of flag names, as
/// ansible-core's check does: it iterates the value, so a string is judged by its
/// characters.
fn check_flags(flags: &JValue) -> Result<(), Raised> {
    let all_flags = match flags.kind() {
        ValueKind::Map => return Ok(()),
        ValueKind::String => flags.as_str().unwrap_or_default().is_empty(),
        ValueKind::Seq => flags
            .try_iter()
            .map(|mut items| items.all(|item| item.as_str().is_some_and(|i| FLAGS.contains(&i))))
            .unwrap_or(false),
        _ => {
            return Err(Raised::Unhandled {
                class: "TypeError",
                message: format!("'{}' object is not iterable", python_type_name(flags)),
            })
        }
    };
    if all_flags {
        Ok(())
    } else {
        Err(terms_error(
            "the optional third item must be a dict with flags skip_missing",
        ))
    }
}

/// Reads `skip_missing` from the flags with Ansible's lenient boolean rules.
fn skip_missing(flags: &JValue) -> Result<bool, Raised> {
    if flags.kind() != ValueKind::Map {
        return Err(Raised::Unhandled {
            class: "AttributeError",
            message: format!(
                "'{}' object has no attribute 'get'",
                python_type_name(flags)
            ),
        });
    }
    let value = flags
        .get_item(&JValue::from("skip_missing"))
        .ok()
        .filter(|value| !value.is_undefined());
    Ok(
        match value.map(|value| from_jinja(&value).unwrap_or_default()) {
            Some(Value::Bool(flag)) => flag,
            Some(Value::Int(number)) => number == 1,
            Some(Value::Float(number)) => number == 1.0,
            Some(other) => other.as_str().is_some_and(crate::config::parse_bool),
            None => false,
        },
    )
}

/// Walks `keys` into `element` and takes the list at the end of the path out of it.
/// Returns the element without that list, and the list's items.
fn split_element(
    element: Map,
    keys: &[&str],
    skip_missing: bool,
) -> Result<(Map, Vec<Value>), Raised> {
    let last = keys.last().copied().unwrap_or_default();
    // The mappings walked through, outermost first, with the key taken from each.
    let mut walked: Vec<(Map, String)> = Vec::new();
    let mut current = element;
    let mut at_last = false;
    let mut items = Vec::new();
    for key in keys {
        at_last |= *key == last;
        let Some(child) = current.get(*key).cloned() else {
            if skip_missing {
                continue;
            }
            return Err(Raised::ansible(format!(
                "could not find '{key}' key in iterated item '{}'",
                py_str(&Value::map(current))
            )));
        };
        match (at_last, child) {
            (false, Value::Map(inner)) => {
                let inner = (*inner).clone();
                walked.push((std::mem::replace(&mut current, inner), key.to_string()));
            }
            (false, _) if skip_missing => continue,
            (false, other) => {
                return Err(Raised::ansible(format!(
                    "the key {key} should point to a dictionary, got '{}'",
                    py_str(&other)
                )))
            }
            (true, Value::List(list)) => {
                current.shift_remove(*key);
                items = list.to_vec();
            }
            (true, other) => {
                return Err(Raised::ansible(format!(
                    "the key {key} should point to a list, got '{}'",
                    py_str(&other)
                )))
            }
        }
    }
    while let Some((mut outer, key)) = walked.pop() {
        outer.insert(Value::from(key), Value::map(current));
        current = outer;
    }
    Ok((current, items))
}
