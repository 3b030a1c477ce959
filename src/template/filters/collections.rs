//! Filters on lists and dicts: `length`, `join`, `combine`, `dict2items`, set operations,
//! `flatten`, `zip`, `subelements`, and Jinja2's `map`/`select` family.

use indexmap::IndexMap;
use minijinja::value::{Tuple, Value as JValue, ValueKind};
use minijinja::{Environment, Error, State};

use super::{add, add_builtin, ansible, filter_error, jinja, python_type_error, Args, Undefined};
use crate::template::methods::python_type_name;
use crate::template::pyrepr::{py_repr, py_str};
use crate::template::render::undefined_error;

type Map = IndexMap<JValue, JValue>;

pub fn register(env: &mut Environment<'static>) {
    add(
        env,
        [jinja("length"), jinja("count")].concat(),
        Undefined::Reject,
        length,
    );
    add(env, jinja("list"), Undefined::Reject, list);
    add(env, jinja("first"), Undefined::Reject, first);
    add(env, jinja("last"), Undefined::Reject, last);
    add(env, jinja("join"), Undefined::Reject, join);
    add(env, jinja("sum"), Undefined::Reject, sum);
    add(env, jinja("reverse"), Undefined::Reject, reverse);
    add(env, ansible("unique"), Undefined::Reject, unique);
    add(env, ansible("union"), Undefined::Reject, union);
    add(env, ansible("intersect"), Undefined::Reject, intersect);
    add(env, ansible("difference"), Undefined::Reject, difference);
    add(
        env,
        ansible("symmetric_difference"),
        Undefined::Reject,
        symmetric_difference,
    );
    add(env, ansible("flatten"), Undefined::Reject, flatten);
    add(env, ansible("combine"), Undefined::Reject, combine);
    add(env, ansible("dict2items"), Undefined::Reject, dict2items);
    add(env, ansible("items2dict"), Undefined::Reject, items2dict);
    add(
        env,
        vec!["community.general.dict".to_owned()],
        Undefined::Reject,
        dict_from_pairs,
    );
    add(env, ansible("zip"), Undefined::Reject, zip);
    add(env, ansible("zip_longest"), Undefined::Reject, zip_longest);
    add(env, ansible("product"), Undefined::Reject, product);
    add(env, ansible("subelements"), Undefined::Reject, subelements);
    // Jinja2's `getitem` on an undefined container gives an undefined value, which
    // `default` can replace.
    add(env, ansible("extract"), Undefined::Accept, extract);
    add(env, jinja("items"), Undefined::Reject, items);
    add(env, jinja("sort"), Undefined::Reject, sort);
    add(env, jinja("min"), Undefined::Reject, min);
    add(env, jinja("max"), Undefined::Reject, max);
    add(env, jinja("map"), Undefined::Reject, map);
    let builtins: [(&str, JValue); 10] = [
        ("select", JValue::from_function(minijinja::filters::select)),
        ("reject", JValue::from_function(minijinja::filters::reject)),
        (
            "selectattr",
            JValue::from_function(minijinja::filters::selectattr),
        ),
        (
            "rejectattr",
            JValue::from_function(minijinja::filters::rejectattr),
        ),
        ("attr", JValue::from_function(minijinja::filters::attr)),
        (
            "dictsort",
            JValue::from_function(minijinja::filters::dictsort),
        ),
        ("batch", JValue::from_function(minijinja::filters::batch)),
        ("slice", JValue::from_function(minijinja::filters::slice)),
        (
            "groupby",
            JValue::from_function(minijinja::filters::groupby),
        ),
        ("tojson", JValue::from_function(minijinja::filters::tojson)),
    ];
    for (name, builtin) in builtins {
        add_builtin(env, jinja(name), builtin);
    }
}

/// Jinja2's `map`: each item through the filter named by the first argument, with the
/// other arguments and the keyword arguments, or each item's `attribute`.
///
/// minijinja's own `map` does the attribute form but drops the keyword arguments of the
/// filter form (`map('sort', reverse=true)`), so that form runs here.
fn map(state: &mut State, args: &Args) -> Result<JValue, Error> {
    if let Some(attribute) = args.keyword("attribute") {
        return map_attribute(args, attribute);
    }
    let filter = args.positional.first().and_then(JValue::as_str);
    let Some(filter) = filter.filter(|_| args.keyword("attribute").is_none()) else {
        let builtin = JValue::from_function(minijinja::filters::map);
        return builtin.call(state, &args.all());
    };
    let mut extra: Vec<JValue> = args.positional[1..].to_vec();
    if !args.keywords.is_empty() {
        extra.push(JValue::from(minijinja::value::Kwargs::from_iter(
            args.keywords.iter().map(|(k, v)| (k.as_str(), v.clone())),
        )));
    }
    let mut mapped = Vec::new();
    for item in values(&args.value)? {
        let call_args: Vec<JValue> = std::iter::once(item).chain(extra.iter().cloned()).collect();
        let result = state.apply_filter(filter, &call_args).map_err(|err| {
            if err.kind() == minijinja::ErrorKind::UnknownFilter && err.detail().is_none() {
                return super::unknown_filter_error(filter);
            }
            err
        })?;
        mapped.push(result);
    }
    Ok(JValue::from(mapped))
}

/// `map(attribute=...)`, as Jinja2's attribute getter: dotted parts are looked up in
/// turn (a part of digits as an index), a missing one gives an undefined value whose
/// message names the object and the attribute, and `default` replaces it.
fn map_attribute(args: &Args, attribute: &JValue) -> Result<JValue, Error> {
    let parts: Vec<JValue> = match attribute.as_str() {
        Some(text) => text
            .split('.')
            .map(|part| match part.parse::<i64>() {
                Ok(index) if part.chars().all(|c| c.is_ascii_digit()) => JValue::from(index),
                _ => JValue::from(part),
            })
            .collect(),
        None => vec![attribute.clone()],
    };
    let default = args.keyword("default").filter(|value| !value.is_none());
    let mut mapped = Vec::new();
    for item in values(&args.value)? {
        let mut current = item;
        for part in &parts {
            if current.is_undefined() {
                break;
            }
            current = match current.get_item(part) {
                Ok(found) if !found.is_undefined() => found,
                _ => {
                    crate::template::render::record_hint(
                        crate::template::methods::missing_attribute(&current, part),
                    );
                    JValue::UNDEFINED
                }
            };
            if current.is_undefined() {
                if let Some(default) = default {
                    current = default.clone();
                }
            }
        }
        mapped.push(current);
    }
    Ok(JValue::from(mapped))
}

/// The items of a list (or the keys of a dict, the characters of a string).
pub fn values(value: &JValue) -> Result<Vec<JValue>, Error> {
    if value.is_undefined() {
        return Err(undefined_error());
    }
    match value.try_iter() {
        Ok(items) => Ok(items.collect()),
        Err(_) => Err(filter_error(format!(
            "'{}' object is not iterable",
            python_type_name(value)
        ))),
    }
}

fn to_map(value: &JValue) -> Option<Map> {
    if value.kind() != ValueKind::Map {
        return None;
    }
    let mut map = Map::new();
    for key in value.try_iter().ok()? {
        let item = value.get_item(&key).ok()?;
        map.insert(key, item);
    }
    Some(map)
}

fn from_map(map: Map) -> JValue {
    JValue::from_pairs(map)
}

fn length(_: &mut State, args: &Args) -> Result<JValue, Error> {
    match args.value.len() {
        Some(len) => Ok(JValue::from(len)),
        None => Err(python_type_error(format!(
            "object of type '{}' has no len()",
            python_type_name(&args.value)
        ))),
    }
}

fn list(_: &mut State, args: &Args) -> Result<JValue, Error> {
    Ok(JValue::from(values(&args.value)?))
}

fn first(_: &mut State, args: &Args) -> Result<JValue, Error> {
    Ok(values(&args.value)?
        .into_iter()
        .next()
        .unwrap_or(JValue::UNDEFINED))
}

fn last(_: &mut State, args: &Args) -> Result<JValue, Error> {
    Ok(values(&args.value)?.pop().unwrap_or(JValue::UNDEFINED))
}

fn join(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let separator = args.str_arg(0, "d").unwrap_or_default();
    let attribute = args.get(1, "attribute");
    let mut parts = Vec::new();
    for item in values(&args.value)? {
        let item = match attribute {
            Some(attribute) => item.get_item(attribute).unwrap_or(JValue::UNDEFINED),
            None => item,
        };
        parts.push(py_str(&item).map_err(|_| undefined_error())?);
    }
    Ok(JValue::from(parts.join(&separator)))
}

fn sum(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let attribute = args.get(0, "attribute");
    let mut total = args.get(1, "start").cloned().unwrap_or(JValue::from(0));
    for item in values(&args.value)? {
        let item = match attribute {
            Some(attribute) => item.get_item(attribute).unwrap_or(JValue::UNDEFINED),
            None => item,
        };
        total = add_values(&total, &item)?;
    }
    Ok(total)
}

fn add_values(a: &JValue, b: &JValue) -> Result<JValue, Error> {
    if a.is_integer() && b.is_integer() {
        let a = i128::try_from(a.clone()).unwrap_or_default();
        let b = i128::try_from(b.clone()).unwrap_or_default();
        return Ok(JValue::from(a + b));
    }
    if (a.is_number() || a.kind() == ValueKind::Bool)
        && (b.is_number() || b.kind() == ValueKind::Bool)
    {
        let a = f64::try_from(a.clone()).unwrap_or(f64::from(u8::from(a.is_true())));
        let b = f64::try_from(b.clone()).unwrap_or(f64::from(u8::from(b.is_true())));
        return Ok(JValue::from(a + b));
    }
    if a.kind() == ValueKind::Seq && b.kind() == ValueKind::Seq {
        let mut items = values(a)?;
        items.extend(values(b)?);
        return Ok(JValue::from(items));
    }
    Err(filter_error(format!(
        "unsupported operand type(s) for +: '{}' and '{}'",
        python_type_name(a),
        python_type_name(b)
    )))
}

fn reverse(_: &mut State, args: &Args) -> Result<JValue, Error> {
    if let Some(text) = args.value.as_str() {
        return Ok(JValue::from(text.chars().rev().collect::<String>()));
    }
    let mut items = values(&args.value)?;
    items.reverse();
    Ok(JValue::from(items))
}

/// The key used for case-insensitive comparisons, as Jinja2's `ignore_case`.
fn fold(value: &JValue, case_sensitive: bool) -> JValue {
    match value.as_str() {
        Some(text) if !case_sensitive => JValue::from(text.to_lowercase()),
        _ => value.clone(),
    }
}

fn attribute_of(item: &JValue, attribute: Option<&JValue>) -> JValue {
    match attribute {
        Some(attribute) => {
            let mut current = item.clone();
            let path = py_str(attribute).unwrap_or_default();
            for part in path.split('.') {
                current = match part.parse::<i64>() {
                    Ok(index) if current.kind() == ValueKind::Seq => current
                        .get_item(&JValue::from(index))
                        .unwrap_or(JValue::UNDEFINED),
                    _ => current.get_attr(part).unwrap_or(JValue::UNDEFINED),
                };
            }
            current
        }
        None => item.clone(),
    }
}

/// Ansible's `unique`, which calls Jinja2's: case-insensitive unless `case_sensitive`
/// is true, keeping the first of equal items. Jinja2's version puts the keys in a set, so
/// a dict or list key fails. Ansible then falls back to comparing whole items with `==`,
/// unless `case_sensitive=False` or `attribute` was given.
fn unique(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let case_sensitive = args.get(0, "case_sensitive");
    let attribute = args.get(1, "attribute").filter(|value| value.is_true());
    let items = args
        .value
        .try_iter()
        .map_err(|_| not_iterable(&args.value))?
        .collect::<Vec<_>>();
    let fold_case = !case_sensitive.is_some_and(JValue::is_true);
    let mut seen = Vec::new();
    let mut result = Vec::new();
    for item in &items {
        let key = fold(&attribute_of(item, attribute), !fold_case);
        if matches!(key.kind(), ValueKind::Map | ValueKind::Seq) {
            let explicit_false = case_sensitive
                .is_some_and(|value| value.kind() == ValueKind::Bool && !value.is_true());
            if explicit_false || attribute.is_some() {
                return Err(filter_error(format!(
                    "Jinja2's unique filter failed and we cannot fall back to Ansible's version \
                     as it does not support the parameters supplied. unhashable type: '{}'",
                    python_type_name(&key)
                )));
            }
            return Ok(JValue::from(dedup(items)));
        }
        if !seen.contains(&key) {
            seen.push(key);
            result.push(item.clone());
        }
    }
    Ok(JValue::from(result))
}

/// Python's `TypeError` for iterating over a value that is not iterable.
fn not_iterable(value: &JValue) -> Error {
    python_type_error(format!(
        "'{}' object is not iterable",
        python_type_name(value)
    ))
}

fn dedup(items: Vec<JValue>) -> Vec<JValue> {
    let mut result: Vec<JValue> = Vec::new();
    for item in items {
        if !result.contains(&item) {
            result.push(item);
        }
    }
    result
}

// NOTE: Ansible builds these from Python sets, whose order depends on hashing (random
// for strings); rplay keeps the order of first appearance.
fn union(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let mut items = values(&args.value)?;
    items.extend(values(args.get(0, "b").unwrap_or(&JValue::from(())))?);
    Ok(JValue::from(dedup(items)))
}

fn intersect(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let other = values(args.get(0, "b").unwrap_or(&JValue::from(())))?;
    let items = values(&args.value)?
        .into_iter()
        .filter(|x| other.contains(x))
        .collect();
    Ok(JValue::from(dedup(items)))
}

fn difference(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let other = values(args.get(0, "b").unwrap_or(&JValue::from(())))?;
    let items = values(&args.value)?
        .into_iter()
        .filter(|x| !other.contains(x))
        .collect();
    Ok(JValue::from(dedup(items)))
}

fn symmetric_difference(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let a = values(&args.value)?;
    let b = values(args.get(0, "b").unwrap_or(&JValue::from(())))?;
    let mut items: Vec<JValue> = a.iter().filter(|x| !b.contains(x)).cloned().collect();
    items.extend(b.iter().filter(|x| !a.contains(x)).cloned());
    Ok(JValue::from(dedup(items)))
}

/// Ansible's `flatten(levels=None, skip_nulls=True)`.
fn flatten(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let levels = args.get(0, "levels").and_then(JValue::as_i64);
    let skip_nulls = args.bool_arg(1, "skip_nulls", true);
    let mut out = Vec::new();
    flatten_into(&mut out, values(&args.value)?, levels, skip_nulls)?;
    Ok(JValue::from(out))
}

fn flatten_into(
    out: &mut Vec<JValue>,
    items: Vec<JValue>,
    levels: Option<i64>,
    skip_nulls: bool,
) -> Result<(), Error> {
    for item in items {
        let is_null = item.is_none() || matches!(item.as_str(), Some("None" | "null"));
        if skip_nulls && is_null {
            continue;
        }
        if item.kind() == ValueKind::Seq {
            match levels {
                None => flatten_into(out, values(&item)?, None, skip_nulls)?,
                Some(levels) if levels >= 1 => {
                    flatten_into(out, values(&item)?, Some(levels - 1), skip_nulls)?
                }
                Some(_) => out.push(item),
            }
        } else {
            out.push(item);
        }
    }
    Ok(())
}

/// Ansible's `combine(*dicts, recursive=False, list_merge='replace')`.
fn combine(_: &mut State, args: &Args) -> Result<JValue, Error> {
    for (name, _) in &args.keywords {
        if name != "recursive" && name != "list_merge" {
            return Err(filter_error(
                "'recursive' and 'list_merge' are the only valid keyword arguments",
            ));
        }
    }
    let recursive = args.keyword("recursive").is_some_and(JValue::is_true);
    let list_merge = args
        .keyword("list_merge")
        .and_then(JValue::as_str)
        .unwrap_or("replace")
        .to_owned();
    if ![
        "replace",
        "keep",
        "append",
        "prepend",
        "append_rp",
        "prepend_rp",
    ]
    .contains(&list_merge.as_str())
    {
        return Err(filter_error("merge_hash: 'list_merge' argument can only be equal to 'replace', 'keep', 'append', 'prepend', 'append_rp' or 'prepend_rp'"));
    }
    let mut terms = vec![args.value.clone()];
    terms.extend(args.positional.iter().cloned());
    // Ansible flattens the terms one level with `flatten`, which drops nulls.
    let is_null =
        |value: &JValue| value.is_none() || matches!(value.as_str(), Some("None" | "null"));
    let mut dicts = Vec::new();
    for term in terms.into_iter().filter(|term| !is_null(term)) {
        if term.kind() == ValueKind::Seq {
            dicts.extend(values(&term)?.into_iter().filter(|item| !is_null(item)));
        } else {
            dicts.push(term);
        }
    }
    if let [single] = dicts.as_slice() {
        return Ok(single.clone());
    }
    // Merged from the highest priority (the last) down, as ansible-core does, so a
    // value that is not a dict is named with the merge result it met.
    let mut remaining = dicts.into_iter().rev();
    let Some(highest) = remaining.next() else {
        return Ok(from_map(Map::new()));
    };
    let mut result_type = python_type_name(&highest);
    let mut result = to_map(&highest);
    for lower in remaining {
        let (Some(lower_map), Some(higher_map)) = (to_map(&lower), result.take()) else {
            return Err(filter_error(format!(
                "failed to combine variables, expected dicts but got a '{}' and a '{result_type}'.",
                python_type_name(&lower)
            )));
        };
        result = Some(merge_hash(lower_map, higher_map, recursive, &list_merge));
        result_type = "dict";
    }
    Ok(from_map(result.unwrap_or_default()))
}

/// Ansible's `merge_hash(x, y)`: `y`'s keys win over `x`'s.
fn merge_hash(x: Map, y: Map, recursive: bool, list_merge: &str) -> Map {
    if x.is_empty() || x == y {
        return y;
    }
    if y.is_empty() {
        return x;
    }
    let mut x = x;
    for (key, y_value) in y {
        let Some(x_value) = x.get(&key).cloned() else {
            x.insert(key, y_value);
            continue;
        };
        let merged = match (to_map(&x_value), to_map(&y_value)) {
            (Some(xm), Some(ym)) if recursive => {
                from_map(merge_hash(xm, ym, recursive, list_merge))
            }
            (Some(_), Some(_)) => y_value,
            _ if x_value.kind() == ValueKind::Seq && y_value.kind() == ValueKind::Seq => {
                merge_lists(&x_value, &y_value, list_merge)
            }
            _ => y_value,
        };
        x.insert(key, merged);
    }
    x
}

fn merge_lists(x: &JValue, y: &JValue, list_merge: &str) -> JValue {
    let xs: Vec<JValue> = x.try_iter().map(Iterator::collect).unwrap_or_default();
    let ys: Vec<JValue> = y.try_iter().map(Iterator::collect).unwrap_or_default();
    let items = match list_merge {
        "keep" => xs,
        "append" => [xs, ys].concat(),
        "prepend" => [ys, xs].concat(),
        "append_rp" => {
            let kept: Vec<JValue> = xs.into_iter().filter(|z| !ys.contains(z)).collect();
            [kept, ys].concat()
        }
        "prepend_rp" => {
            let kept: Vec<JValue> = xs.into_iter().filter(|z| !ys.contains(z)).collect();
            [ys, kept].concat()
        }
        _ => ys,
    };
    JValue::from(items)
}

fn dict2items(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let key_name = args.str_arg(0, "key_name").unwrap_or_else(|| "key".into());
    let value_name = args
        .str_arg(1, "value_name")
        .unwrap_or_else(|| "value".into());
    let Some(map) = to_map(&args.value) else {
        return Err(python_type_error(format!(
            "dict2items requires a dictionary, got <class '{}'> instead.",
            python_type_name(&args.value)
        )));
    };
    let items = map
        .into_iter()
        .map(|(k, v)| {
            JValue::from_pairs([
                (JValue::from(key_name.as_str()), k),
                (JValue::from(value_name.as_str()), v),
            ])
        })
        .collect::<Vec<_>>();
    Ok(JValue::from(items))
}

fn items2dict(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let key_name = args.str_arg(0, "key_name").unwrap_or_else(|| "key".into());
    let value_name = args
        .str_arg(1, "value_name")
        .unwrap_or_else(|| "value".into());
    if args.value.kind() != ValueKind::Seq {
        return Err(python_type_error(format!(
            "items2dict requires a list, got <class '{}'> instead.",
            python_type_name(&args.value)
        )));
    }
    let mut map = Map::new();
    for item in values(&args.value)? {
        // Python's `item['key']` fails with a TypeError on anything but a mapping.
        if item.kind() != ValueKind::Map {
            return Err(python_type_error(format!(
                "items2dict requires a list of dictionaries, got {} instead.",
                py_repr(&args.value).unwrap_or_default()
            )));
        }
        let key = item
            .get_item(&JValue::from(key_name.as_str()))
            .unwrap_or(JValue::UNDEFINED);
        let value = item
            .get_item(&JValue::from(value_name.as_str()))
            .unwrap_or(JValue::UNDEFINED);
        if key.is_undefined() || value.is_undefined() {
            return Err(python_type_error(format!(
                "items2dict requires each dictionary in the list to contain the keys '{key_name}' and '{value_name}', got {} instead.",
                py_repr(&args.value).unwrap_or_default()
            )));
        }
        map.insert(key, value);
    }
    Ok(from_map(map))
}

/// `community.general.dict`: Python's `dict(sequence)`, a mapping copied or built from
/// pairs (any two-item iterable, a two-character string too).
fn dict_from_pairs(_: &mut State, args: &Args) -> Result<JValue, Error> {
    if let Some(map) = to_map(&args.value) {
        return Ok(from_map(map));
    }
    if !args.value.is_undefined() && args.value.try_iter().is_err() {
        return Err(python_type_error(format!(
            "'{}' object is not iterable",
            python_type_name(&args.value)
        )));
    }
    let mut map = Map::new();
    for (index, item) in values(&args.value)?.into_iter().enumerate() {
        let Ok(parts) = item.try_iter() else {
            return Err(python_type_error(format!(
                "cannot convert dictionary update sequence element #{index} to a sequence"
            )));
        };
        let parts: Vec<JValue> = parts.collect();
        let [key, value] = <[JValue; 2]>::try_from(parts).map_err(|parts| {
            super::python_value_error(format!(
                "dictionary update sequence element #{index} has length {}; 2 is required",
                parts.len()
            ))
        })?;
        if matches!(key.kind(), ValueKind::Seq | ValueKind::Map) {
            return Err(python_type_error(format!(
                "unhashable type: '{}'",
                python_type_name(&key)
            )));
        }
        map.insert(key, value);
    }
    Ok(from_map(map))
}

fn sequences(args: &Args) -> Result<Vec<Vec<JValue>>, Error> {
    let mut lists = vec![values(&args.value)?];
    for arg in &args.positional {
        lists.push(values(arg)?);
    }
    Ok(lists)
}

fn zip(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let lists = sequences(args)?;
    let len = lists.iter().map(Vec::len).min().unwrap_or(0);
    let rows = (0..len)
        .map(|i| {
            JValue::from(Tuple::from(
                lists.iter().map(|l| l[i].clone()).collect::<Vec<_>>(),
            ))
        })
        .collect::<Vec<_>>();
    Ok(JValue::from(rows))
}

fn zip_longest(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let lists = sequences(args)?;
    let fill = args
        .keyword("fillvalue")
        .cloned()
        .unwrap_or(JValue::from(()));
    let len = lists.iter().map(Vec::len).max().unwrap_or(0);
    let rows = (0..len)
        .map(|i| {
            JValue::from(Tuple::from(
                lists
                    .iter()
                    .map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone()))
                    .collect::<Vec<_>>(),
            ))
        })
        .collect::<Vec<_>>();
    Ok(JValue::from(rows))
}

fn product(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let lists = sequences(args)?;
    let repeat = args
        .keyword("repeat")
        .and_then(JValue::as_usize)
        .unwrap_or(1);
    let lists: Vec<Vec<JValue>> = (0..repeat).flat_map(|_| lists.clone()).collect();
    let mut rows: Vec<Vec<JValue>> = vec![Vec::new()];
    for list in &lists {
        rows = rows
            .into_iter()
            .flat_map(|row| {
                list.iter().map(move |item| {
                    let mut next = row.clone();
                    next.push(item.clone());
                    next
                })
            })
            .collect();
    }
    Ok(JValue::from(
        rows.into_iter()
            .map(|row| JValue::from(Tuple::from(row)))
            .collect::<Vec<_>>(),
    ))
}

fn subelements(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let elements = match args.value.kind() {
        ValueKind::Map => to_map(&args.value)
            .unwrap_or_default()
            .into_values()
            .collect(),
        ValueKind::Seq => values(&args.value)?,
        _ => return Err(filter_error("obj must be a list of dicts or a nested dict")),
    };
    let path = args
        .get(0, "subelements")
        .cloned()
        .unwrap_or(JValue::from(""));
    let keys: Vec<JValue> = match path.as_str() {
        Some(text) => text.split('.').map(JValue::from).collect(),
        None if path.kind() == ValueKind::Seq => values(&path)?,
        None => return Err(python_type_error("subelements must be a list or a string")),
    };
    let skip_missing = args.bool_arg(1, "skip_missing", false);
    let mut rows = Vec::new();
    for element in elements {
        let mut current = element.clone();
        let mut missing = false;
        for key in &keys {
            if current.kind() != ValueKind::Map {
                return Err(python_type_error(format!(
                    "the key {} should point to a dictionary, got '{}'",
                    py_str(key).unwrap_or_default(),
                    py_str(&current).unwrap_or_default()
                )));
            }
            match current.get_item(key) {
                Ok(next) if !next.is_undefined() => current = next,
                _ if skip_missing => {
                    missing = true;
                    break;
                }
                _ => {
                    return Err(filter_error(format!(
                        "could not find {} key in iterated item {}",
                        py_repr(key).unwrap_or_default(),
                        py_repr(&current).unwrap_or_default()
                    )))
                }
            }
        }
        if missing {
            continue;
        }
        if current.kind() != ValueKind::Seq {
            return Err(python_type_error(format!(
                "the key {} should point to a list, got {}",
                py_repr(keys.last().unwrap_or(&JValue::from(""))).unwrap_or_default(),
                py_repr(&current).unwrap_or_default()
            )));
        }
        for value in values(&current)? {
            // Ansible's rows are `(element, value)` tuples, which compare unequal to lists.
            rows.push(JValue::from(Tuple::from([element.clone(), value])));
        }
    }
    Ok(JValue::from(rows))
}

/// Ansible's `extract(item, container, morekeys=None)`: `container[item][morekeys...]`.
fn extract(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let container = args
        .get(0, "container")
        .cloned()
        .unwrap_or(JValue::UNDEFINED);
    let mut keys = vec![args.value.clone()];
    if let Some(more) = args.get(1, "morekeys") {
        if more.kind() == ValueKind::Seq {
            keys.extend(values(more)?);
        } else {
            keys.push(more.clone());
        }
    }
    let mut current = container;
    for key in keys {
        if current.is_undefined() {
            break;
        }
        current = current.get_item(&key).unwrap_or(JValue::UNDEFINED);
    }
    Ok(current)
}

/// Jinja2's `items`: the `(key, value)` pairs of a dict.
fn items(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let Some(map) = to_map(&args.value) else {
        return Err(filter_error("Can only get item pairs from a mapping."));
    };
    Ok(JValue::from(
        map.into_iter()
            .map(|(k, v)| JValue::from(Tuple::from([k, v])))
            .collect::<Vec<_>>(),
    ))
}

/// Python's ordering of two values: numbers with numbers, strings with strings,
/// lists element by element.
fn compare(a: &JValue, b: &JValue) -> Result<std::cmp::Ordering, Error> {
    let comparable = (a.is_number() || a.kind() == ValueKind::Bool)
        == (b.is_number() || b.kind() == ValueKind::Bool)
        && (a.kind() == ValueKind::String) == (b.kind() == ValueKind::String);
    if !comparable {
        return Err(python_type_error(format!(
            "'<' not supported between instances of '{}' and '{}'",
            python_type_name(a),
            python_type_name(b)
        )));
    }
    Ok(a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal))
}

/// Jinja2's `sort(reverse=False, case_sensitive=False, attribute=None)`, stable.
fn sort(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let reverse = args.bool_arg(0, "reverse", false);
    let case_sensitive = args.bool_arg(1, "case_sensitive", false);
    let attribute = args.get(2, "attribute");
    let mut keyed: Vec<(JValue, JValue)> = values(&args.value)?
        .into_iter()
        .map(|item| (fold(&attribute_of(&item, attribute), case_sensitive), item))
        .collect();
    let mut failure = None;
    keyed.sort_by(|(a, _), (b, _)| match compare(a, b) {
        Ok(order) => order,
        Err(err) => {
            failure.get_or_insert(err);
            std::cmp::Ordering::Equal
        }
    });
    if let Some(err) = failure {
        return Err(err);
    }
    if reverse {
        keyed.reverse();
    }
    Ok(JValue::from(
        keyed.into_iter().map(|(_, item)| item).collect::<Vec<_>>(),
    ))
}

fn extreme(args: &Args, want_max: bool) -> Result<JValue, Error> {
    let case_sensitive = args.bool_arg(0, "case_sensitive", false);
    let attribute = args.get(1, "attribute");
    let mut best: Option<(JValue, JValue)> = None;
    for item in values(&args.value)? {
        let key = fold(&attribute_of(&item, attribute), case_sensitive);
        let better = match &best {
            None => true,
            Some((best_key, _)) => {
                let order = compare(&key, best_key)?;
                if want_max {
                    order == std::cmp::Ordering::Greater
                } else {
                    order == std::cmp::Ordering::Less
                }
            }
        };
        if better {
            best = Some((key, item));
        }
    }
    Ok(best.map(|(_, item)| item).unwrap_or(JValue::UNDEFINED))
}

fn min(_: &mut State, args: &Args) -> Result<JValue, Error> {
    extreme(args, false)
}

fn max(_: &mut State, args: &Args) -> Result<JValue, Error> {
    extreme(args, true)
}
