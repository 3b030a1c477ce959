//! The unknown-method callback: attribute and item lookups with Ansible's undefined
//! semantics, Python's operators, and Python methods on values.
//!
//! `compile.rs` turns each `GetAttr`, `GetItem` and operator instruction into a call of
//! a reserved method name, so all of them arrive here with the receiver as the first
//! operand.

use super::datetime_object::DateTime;
use minijinja::value::{Tuple, Value as JValue, ValueKind};
use minijinja::{Error, ErrorKind, State};

use super::compile::{GET_ATTR_PREFIX, GET_ITEM, MODULO};
use super::error::{TemplateError, TemplateErrorKind};
use super::filters::python_type_error;
use super::mutable::{make_mutable, shallow_copy, MUTATING_METHODS};
use super::operators::{self, operand_type, NEGATE};
use super::pyformat;
use super::pyrepr::{py_repr, py_str, str_repr};
use super::pytype::PyType;
use super::render::{self, raise, undefined_error};
use super::unsafe_text;
use super::vars;
use super::vault_values;
use crate::yaml::loaded_text;

/// Dispatches a method call that no object handled.
pub fn call_method(
    state: &mut State,
    receiver: &JValue,
    name: &str,
    args: &[JValue],
) -> Result<JValue, Error> {
    if let Some(attr) = name.strip_prefix(GET_ATTR_PREFIX) {
        return Ok(get_attr(receiver, attr));
    }
    let operand = args.first().unwrap_or(&JValue::UNDEFINED);
    let result = match operators::binary(name, receiver, operand) {
        Some(result) => result?,
        None => match name {
            GET_ITEM => get_item(receiver, operand)?,
            MODULO => modulo(receiver, operand)?,
            NEGATE => operators::negate(receiver)?,
            _ => python_method(state, receiver, name, args)?,
        },
    };
    Ok(carry_unsafe(receiver, name, args, result))
}

/// Marks the result unsafe as ansible-core's `AnsibleUnsafeText` does: its methods,
/// indexing and operators return unsafe text, and so do `+`, `%` and `format` on plain
/// text with an unsafe operand. Other methods of plain text return plain `str`.
fn carry_unsafe(receiver: &JValue, name: &str, args: &[JValue], result: JValue) -> JValue {
    if receiver.as_str().is_none() || receiver.is_safe() {
        return result;
    }
    let operand_marks = match name {
        operators::ADD | "format" => args.iter().any(unsafe_text::is_unsafe),
        // `'%s' % (u,)`: the items of a tuple of arguments count too.
        MODULO => args.iter().any(|arg| {
            unsafe_text::is_unsafe(arg)
                || arg
                    .try_iter()
                    .is_ok_and(|mut items| items.any(|item| unsafe_text::is_unsafe(&item)))
        }),
        _ => false,
    };
    if operand_marks || unsafe_text::is_unsafe(receiver) {
        return unsafe_text::mark_all(result);
    }
    result
}

/// `receiver.attr`: Jinja2's attribute lookup, falling back to the item of that name.
/// On an undefined receiver the undefined value is returned unchanged.
fn get_attr(receiver: &JValue, attr: &str) -> JValue {
    if receiver.is_undefined() {
        return JValue::UNDEFINED;
    }
    if attr == "__class__" && receiver.downcast_object_ref::<PyType>().is_none() {
        return PyType::value(class_name(receiver));
    }
    let found = match receiver.kind() {
        ValueKind::Map => receiver.get_attr(attr).ok(),
        ValueKind::Seq => attr
            .parse::<i64>()
            .ok()
            .and_then(|index| receiver.get_item(&JValue::from(index)).ok()),
        _ => receiver.get_attr(attr).ok(),
    };
    match found {
        Some(value) if !value.is_undefined() => value,
        _ => {
            render::record_hint(missing_attribute(receiver, &JValue::from(attr)));
            JValue::UNDEFINED
        }
    }
}

/// `receiver[key]`: Jinja2's item lookup, falling back to the attribute of that name.
fn get_item(receiver: &JValue, key: &JValue) -> Result<JValue, Error> {
    if receiver.is_undefined() {
        if key.is_undefined() {
            render::consume_hint();
        }
        return Ok(JValue::UNDEFINED);
    }
    if key.is_undefined() {
        return Err(undefined_error());
    }
    let found = match (receiver.kind(), key.as_str()) {
        (ValueKind::Map, _) | (_, None) => receiver.get_item(key).ok(),
        (_, Some(name)) => receiver.get_attr(name).ok(),
    };
    match found {
        Some(value) if !value.is_undefined() => Ok(value),
        _ => {
            render::record_hint(missing_attribute(receiver, key));
            Ok(JValue::UNDEFINED)
        }
    }
}

/// Jinja2's message for a missing attribute or item.
pub(crate) fn missing_attribute(receiver: &JValue, key: &JValue) -> String {
    if vars::is_hostvars(receiver) {
        let name = format!("hostvars['{}']", py_str(key).unwrap_or_default());
        return format!("{} is undefined", str_repr(&name));
    }
    let type_repr = object_type_repr(receiver);
    let key_repr = py_repr(key).unwrap_or_default();
    // Jinja2 quotes the type for a missing attribute (a string key) but not for a
    // missing element (any other key).
    if key.as_str().is_some() {
        format!("{} has no attribute {key_repr}", str_repr(&type_repr))
    } else {
        format!("{type_repr} has no element {key_repr}")
    }
}

/// Jinja2's `object_type_repr`: `dict object`, `None` for `None`.
pub fn object_type_repr(value: &JValue) -> String {
    if value.is_none() {
        return "None".into();
    }
    if vars::is_host_view(value) {
        return "ansible.vars.hostvars.HostVarsVars object".into();
    }
    if vars::is_hostvars(value) {
        return "ansible.vars.hostvars.HostVars object".into();
    }
    format!("{} object", python_type_name(value))
}

/// Python's class name of a template value.
/// Returns the name of the Python class ansible-core 2.18 gives a value: the
/// `str` subclasses for unsafe text, the string-type filters' text and text loaded from
/// YAML, plain `str` for text a template built.
pub fn class_name(value: &JValue) -> &'static str {
    if vault_values::is_vault_value(value) {
        return "AnsibleVaultEncryptedUnicode";
    }
    if value.kind() != ValueKind::String {
        return python_type_name(value);
    }
    let marked = unsafe_text::is_unsafe(value);
    match (value.is_safe(), marked) {
        (true, true) => "NativeJinjaUnsafeText",
        (true, false) => "NativeJinjaText",
        (false, true) => "AnsibleUnsafeText",
        (false, false) if value.as_str().is_some_and(loaded_text::is_loaded) => "AnsibleUnicode",
        (false, false) => "str",
    }
}

pub fn python_type_name(value: &JValue) -> &'static str {
    match value.kind() {
        ValueKind::Undefined => "AnsibleUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if value.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq if value.is_tuple() => "tuple",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        _ if value.downcast_object_ref::<DateTime>().is_some() => "datetime",
        _ if value.downcast_object_ref::<PyType>().is_some() => "type",
        _ => "object",
    }
}

/// Python's `%`: string formatting for a string on the left, modulo for numbers.
fn modulo(left: &JValue, right: &JValue) -> Result<JValue, Error> {
    if left.is_undefined() || right.is_undefined() {
        return Err(undefined_error());
    }
    if let Some(format) = left.as_str() {
        return pyformat::percent_format(format, right)
            .map(JValue::from)
            .map_err(|message| match pyformat::is_type_error(&message) {
                true => python_type_error(message),
                false => raise(TemplateError::new(TemplateErrorKind::Render, message)),
            });
    }
    numeric_modulo(left, right)
}

fn numeric_modulo(left: &JValue, right: &JValue) -> Result<JValue, Error> {
    let unsupported = || {
        python_type_error(format!(
            "unsupported operand type(s) for %: '{}' and '{}'",
            operand_type(left),
            operand_type(right)
        ))
    };
    // Python's `ZeroDivisionError`, which ansible-core passes on without wrapping.
    let zero_division =
        |message: &str| raise(TemplateError::new(TemplateErrorKind::ZeroDivision, message));
    let is_number = |value: &JValue| value.is_number() || value.kind() == ValueKind::Bool;
    if !is_number(left) || !is_number(right) {
        return Err(unsupported());
    }
    let as_int = |value: &JValue| match value.kind() {
        ValueKind::Bool => Some(i128::from(value.is_true())),
        _ if value.is_integer() => i128::try_from(value.clone()).ok(),
        _ => None,
    };
    if let (Some(a), Some(b)) = (as_int(left), as_int(right)) {
        if b == 0 {
            return Err(zero_division("integer modulo by zero"));
        }
        let r = a % b;
        return Ok(JValue::from(if r != 0 && (r < 0) != (b < 0) {
            r + b
        } else {
            r
        }));
    }
    let as_float = |value: &JValue| {
        as_int(value).map_or_else(
            || f64::try_from(value.clone()).map_err(|_| unsupported()),
            |n| Ok(n as f64),
        )
    };
    let (a, b) = (as_float(left)?, as_float(right)?);
    if b == 0.0 {
        return Err(zero_division("float modulo"));
    }
    let r = a % b;
    Ok(JValue::from(if r != 0.0 && (r < 0.0) != (b < 0.0) {
        r + b
    } else {
        r
    }))
}

/// Python methods: minijinja-contrib's pycompat set, then the ones it lacks.
fn python_method(
    state: &mut State,
    receiver: &JValue,
    name: &str,
    args: &[JValue],
) -> Result<JValue, Error> {
    if receiver.is_undefined() {
        return Err(undefined_error());
    }
    if args.iter().any(JValue::is_undefined) {
        return Err(undefined_error());
    }
    if matches!(receiver.kind(), ValueKind::Map | ValueKind::Seq) {
        if name == "copy" {
            return Ok(shallow_copy(receiver));
        }
        if MUTATING_METHODS.contains(&name) {
            // An immutable receiver is a temporary (named values of a mutating template
            // are mutable), so the change is made to a copy nobody else can see.
            return make_mutable(receiver).call_method(state, name, args);
        }
    }
    if let Some(result) = extra_method(receiver, name, args) {
        return result;
    }
    match minijinja_contrib::pycompat::unknown_method_callback(state, receiver, name, args) {
        Err(err) if err.kind() == ErrorKind::UnknownMethod => Err(Error::new(
            ErrorKind::UnknownMethod,
            format!(
                "{} has no attribute {}",
                str_repr(&object_type_repr(receiver)),
                str_repr(name)
            ),
        )),
        other => other,
    }
}

/// Methods pycompat lacks or words differently.
fn extra_method(receiver: &JValue, name: &str, args: &[JValue]) -> Option<Result<JValue, Error>> {
    if let Some(text) = receiver.as_str() {
        let arg = |index: usize| args.get(index).and_then(JValue::as_str);
        return match name {
            "removeprefix" => {
                let prefix = arg(0).unwrap_or_default();
                Some(Ok(JValue::from(text.strip_prefix(prefix).unwrap_or(text))))
            }
            "removesuffix" => {
                let suffix = arg(0).unwrap_or_default();
                Some(Ok(JValue::from(text.strip_suffix(suffix).unwrap_or(text))))
            }
            "zfill" => {
                let width = args.first().and_then(JValue::as_usize).unwrap_or(0);
                if let Err(message) = pyformat::check_width(width) {
                    return Some(Err(Error::new(ErrorKind::InvalidOperation, message)));
                }
                Some(Ok(JValue::from(zfill(text, width))))
            }
            // pycompat implements `format`; only widths it would allocate are checked.
            "format" => format_widths(text)
                .into_iter()
                .find_map(|width| pyformat::check_width(width).err())
                .map(|message| Err(Error::new(ErrorKind::InvalidOperation, message))),
            "partition" | "rpartition" => {
                let separator = arg(0).unwrap_or_default();
                let parts = if name == "partition" {
                    text.split_once(separator)
                } else {
                    text.rsplit_once(separator)
                };
                let items = match parts {
                    Some((head, tail)) => [head, separator, tail],
                    None if name == "partition" => [text, "", ""],
                    None => ["", "", text],
                };
                Some(Ok(JValue::from(Tuple::from(items.map(JValue::from)))))
            }
            "rsplit" => Some(Ok(rsplit(
                text,
                arg(0),
                args.get(1).and_then(JValue::as_i64),
            ))),
            "casefold" => Some(Ok(JValue::from(text.to_lowercase()))),
            "swapcase" => Some(Ok(JValue::from(
                text.chars()
                    .map(|c| {
                        if c.is_uppercase() {
                            c.to_lowercase().collect::<String>()
                        } else {
                            c.to_uppercase().collect::<String>()
                        }
                    })
                    .collect::<String>(),
            ))),
            "index" => {
                let needle = arg(0).unwrap_or_default();
                Some(match text.find(needle) {
                    Some(byte) => Ok(JValue::from(text[..byte].chars().count())),
                    None => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "substring not found",
                    )),
                })
            }
            _ => None,
        };
    }
    match (receiver.kind(), name) {
        (ValueKind::Seq, "index") => {
            let needle = args.first().cloned().unwrap_or_default();
            let position = receiver
                .try_iter()
                .ok()
                .and_then(|mut items| items.position(|item| item == needle));
            Some(match position {
                Some(index) => Ok(JValue::from(index)),
                None => Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("{} is not in list", py_repr(&needle).unwrap_or_default()),
                )),
            })
        }
        _ => None,
    }
}

/// Returns the numbers in the format specs of `str.format` fields (`{:>20}`,
/// `{0:.3f}`), which set widths and precisions. Numbers too long for `usize` count as
/// `usize::MAX`.
fn format_widths(text: &str) -> Vec<usize> {
    let mut widths = Vec::new();
    for field in text.split('{').skip(1) {
        let field = field.split('}').next().unwrap_or_default();
        let Some((_, spec)) = field.split_once(':') else {
            continue;
        };
        for number in spec.split(|c: char| !c.is_ascii_digit()) {
            if !number.is_empty() {
                widths.push(number.parse().unwrap_or(usize::MAX));
            }
        }
    }
    widths
}

fn zfill(text: &str, width: usize) -> String {
    let len = text.chars().count();
    if len >= width {
        return text.to_owned();
    }
    let (sign, digits) = match text.chars().next() {
        Some(c @ ('+' | '-')) => (c.to_string(), &text[1..]),
        _ => (String::new(), text),
    };
    format!("{sign}{}{digits}", "0".repeat(width - len))
}

fn rsplit(text: &str, separator: Option<&str>, max: Option<i64>) -> JValue {
    let max = max.filter(|&m| m >= 0).map(|m| m as usize);
    let mut parts: Vec<String> = match (separator, max) {
        (Some(sep), Some(max)) => text.rsplitn(max + 1, sep).map(str::to_owned).collect(),
        (Some(sep), None) => text.rsplit(sep).map(str::to_owned).collect(),
        (None, _) => text.split_whitespace().rev().map(str::to_owned).collect(),
    };
    parts.reverse();
    JValue::from(parts.into_iter().map(JValue::from).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_widths_read_from_specs() {
        assert_eq!(format_widths("{:>20} {0:.3f} {name}"), vec![20, 3]);
        assert_eq!(format_widths("{:099999999999999999999}"), vec![usize::MAX]);
    }
}
