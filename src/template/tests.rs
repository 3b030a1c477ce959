//! Jinja2 tests (`is defined`, `is version`, `is failed`, ...), registered through the
//! same undefined guard as the filters.

use minijinja::value::{Kwargs, Rest, Value as JValue, ValueKind};
use minijinja::{Environment, Error, State};

use super::filters::vault::EncryptedText;
use super::filters::{ansible, filter_error, jinja, keyword_list, type_error};
use super::methods::python_type_name;
use super::pyrepr::py_str;
use super::render::{consume_hint, undefined_error};
use super::vault_values;
use super::version::{compare_versions, VersionError, VERSION_TYPES};

type TestFn = fn(&mut State, &JValue, &[JValue]) -> Result<bool, Error>;

/// Whether a test inspects undefined values itself.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Undefined {
    Reject,
    /// The test returns `false` for an undefined value, as Jinja2's type tests do.
    False,
    Accept,
}

fn add(env: &mut Environment<'static>, names: Vec<String>, undefined: Undefined, f: TestFn) {
    for name in names {
        env.add_test(
            name,
            move |state: &mut State,
                  value: JValue,
                  rest: Rest<JValue>,
                  kwargs: Kwargs|
                  -> Result<bool, Error> {
                let mut rest = rest.0;
                let keywords = keyword_list(&kwargs)?;
                if !keywords.is_empty() {
                    rest.push(JValue::from(Kwargs::from_iter(
                        keywords.iter().map(|(k, v)| (k.as_str(), v.clone())),
                    )));
                }
                if rest.iter().any(JValue::is_undefined) {
                    return Err(undefined_error());
                }
                if value.is_undefined() {
                    match undefined {
                        Undefined::Reject => return Err(undefined_error()),
                        Undefined::False => return Ok(false),
                        Undefined::Accept => {}
                    }
                }
                f(state, &value, &rest)
            },
        );
    }
}

pub fn register(env: &mut Environment<'static>) {
    add(env, jinja("defined"), Undefined::Accept, |_, v, _| {
        if v.is_undefined() {
            consume_hint();
        }
        Ok(!v.is_undefined())
    });
    add(env, jinja("undefined"), Undefined::Accept, |_, v, _| {
        if v.is_undefined() {
            consume_hint();
        }
        Ok(v.is_undefined())
    });
    add(env, jinja("none"), Undefined::False, |_, v, _| {
        Ok(v.is_none())
    });
    add(env, jinja("string"), Undefined::False, |_, v, _| {
        Ok(v.kind() == ValueKind::String)
    });
    add(env, jinja("number"), Undefined::False, |_, v, _| {
        Ok(v.is_number() || v.kind() == ValueKind::Bool)
    });
    add(env, jinja("integer"), Undefined::False, |_, v, _| {
        Ok(v.is_integer())
    });
    add(env, jinja("float"), Undefined::False, |_, v, _| {
        Ok(v.is_number() && !v.is_integer())
    });
    add(env, jinja("boolean"), Undefined::False, |_, v, _| {
        Ok(v.kind() == ValueKind::Bool)
    });
    // Identity with Python's `True` and `False`: `1 is true` is false.
    add(env, jinja("true"), Undefined::False, |_, v, _| {
        Ok(v.kind() == ValueKind::Bool && v.is_true())
    });
    add(env, jinja("false"), Undefined::False, |_, v, _| {
        Ok(v.kind() == ValueKind::Bool && !v.is_true())
    });
    add(env, jinja("mapping"), Undefined::False, |_, v, _| {
        Ok(v.kind() == ValueKind::Map)
    });
    add(env, jinja("sequence"), Undefined::False, |_, v, _| {
        Ok(matches!(
            v.kind(),
            ValueKind::Seq | ValueKind::Map | ValueKind::String
        ))
    });
    add(env, jinja("iterable"), Undefined::Reject, |_, v, _| {
        Ok(matches!(
            v.kind(),
            ValueKind::Seq | ValueKind::Map | ValueKind::String | ValueKind::Iterable
        ))
    });
    add(env, jinja("callable"), Undefined::Reject, |_, v, _| {
        Ok(v.kind() == ValueKind::Plain)
    });
    add(env, jinja("sameas"), Undefined::Reject, |_, v, args| {
        let other = args.first().cloned().unwrap_or_default();
        Ok(match (v.kind(), other.kind()) {
            (ValueKind::None, ValueKind::None) => true,
            (ValueKind::Bool, ValueKind::Bool) => v == &other,
            _ => false,
        })
    });
    add(
        env,
        [jinja("eq"), jinja("equalto"), jinja("==")].concat(),
        Undefined::Reject,
        |_, v, a| Ok(Some(v) == a.first()),
    );
    add(
        env,
        [jinja("ne"), jinja("!=")].concat(),
        Undefined::Reject,
        |_, v, a| Ok(Some(v) != a.first()),
    );
    add(
        env,
        [jinja("lt"), jinja("lessthan"), jinja("<")].concat(),
        Undefined::Reject,
        |_, v, a| order(v, a, |o| o.is_lt()),
    );
    add(
        env,
        [jinja("le"), jinja("<=")].concat(),
        Undefined::Reject,
        |_, v, a| order(v, a, |o| o.is_le()),
    );
    add(
        env,
        [jinja("gt"), jinja("greaterthan"), jinja(">")].concat(),
        Undefined::Reject,
        |_, v, a| order(v, a, |o| o.is_gt()),
    );
    add(
        env,
        [jinja("ge"), jinja(">=")].concat(),
        Undefined::Reject,
        |_, v, a| order(v, a, |o| o.is_ge()),
    );
    add(env, jinja("in"), Undefined::Reject, |_, v, a| {
        contains(a.first().unwrap_or(&JValue::UNDEFINED), v)
    });
    add(env, ansible("contains"), Undefined::Reject, |_, v, a| {
        contains(v, a.first().unwrap_or(&JValue::UNDEFINED))
    });
    add(env, jinja("divisibleby"), Undefined::Reject, |_, v, a| {
        let n = f64::try_from(v.clone()).map_err(|_| type_error("divisibleby needs a number"))?;
        let d = a
            .first()
            .and_then(|d| f64::try_from(d.clone()).ok())
            .ok_or_else(|| type_error("divisibleby needs a number"))?;
        if d == 0.0 {
            return Err(filter_error("integer division or modulo by zero"));
        }
        Ok(n % d == 0.0)
    });
    add(env, jinja("even"), Undefined::Reject, |_, v, _| {
        Ok(v.as_i64().is_some_and(|n| n % 2 == 0))
    });
    add(env, jinja("odd"), Undefined::Reject, |_, v, _| {
        Ok(v.as_i64().is_some_and(|n| n % 2 != 0))
    });
    add(env, jinja("lower"), Undefined::Reject, |_, v, _| {
        let text = py_str(v).unwrap_or_default();
        Ok(text.chars().any(char::is_alphabetic) && text.to_lowercase() == text)
    });
    add(env, jinja("upper"), Undefined::Reject, |_, v, _| {
        let text = py_str(v).unwrap_or_default();
        Ok(text.chars().any(char::is_alphabetic) && text.to_uppercase() == text)
    });
    add(
        env,
        ansible("vault_encrypted"),
        Undefined::Reject,
        |_, v, _| {
            Ok(v.downcast_object_ref::<EncryptedText>().is_some()
                || vault_values::is_vault_value(v))
        },
    );
    add(
        env,
        ansible("vaulted_file"),
        Undefined::Reject,
        |_, v, _| {
            let path = py_str(v).unwrap_or_default();
            let content = std::fs::read(&path)
                .map_err(|_| filter_error(format!("Cannot test if the file {path} is a vault")))?;
            Ok(content.starts_with(b"$ANSIBLE_VAULT"))
        },
    );
    add(env, ansible("truthy"), Undefined::Reject, |_, v, a| {
        truthy(v, a)
    });
    add(env, ansible("falsy"), Undefined::Reject, |_, v, a| {
        truthy(v, a).map(|t| !t)
    });
    add(env, ansible("match"), Undefined::Reject, |_, v, a| {
        regex_test(v, a, "match")
    });
    add(env, ansible("search"), Undefined::Reject, |_, v, a| {
        regex_test(v, a, "search")
    });
    add(env, ansible("regex"), Undefined::Reject, |_, v, a| {
        let kind = a
            .get(3)
            .and_then(JValue::as_str)
            .unwrap_or("search")
            .to_owned();
        regex_test(v, a, &kind)
    });
    // Python's `math.isnan`, with its TypeError for non-numbers read as false.
    add(
        env,
        [ansible("nan"), ansible("isnan")].concat(),
        Undefined::Reject,
        |_, v, _| {
            Ok(v.kind() == ValueKind::Number && f64::try_from(v.clone()).is_ok_and(f64::is_nan))
        },
    );
    add(
        env,
        [ansible("subset"), ansible("issubset")].concat(),
        Undefined::Reject,
        |_, v, a| {
            let other = a.first().cloned().unwrap_or_default();
            Ok(items(v)?
                .iter()
                .all(|x| items(&other).is_ok_and(|o| o.contains(x))))
        },
    );
    add(
        env,
        [ansible("superset"), ansible("issuperset")].concat(),
        Undefined::Reject,
        |_, v, a| {
            let other = a.first().cloned().unwrap_or_default();
            let mine = items(v)?;
            Ok(items(&other)?.iter().all(|x| mine.contains(x)))
        },
    );
    add(env, ansible("any"), Undefined::Reject, |_, v, _| {
        Ok(items(v)?.iter().any(JValue::is_true))
    });
    add(env, ansible("all"), Undefined::Reject, |_, v, _| {
        Ok(items(v)?.iter().all(JValue::is_true))
    });
    add(
        env,
        [ansible("version"), ansible("version_compare")].concat(),
        Undefined::Reject,
        version,
    );
    add(
        env,
        [ansible("failed"), ansible("failure")].concat(),
        Undefined::Reject,
        |_, v, _| result_flag(v, "failed"),
    );
    add(
        env,
        [
            ansible("succeeded"),
            ansible("success"),
            ansible("successful"),
        ]
        .concat(),
        Undefined::Reject,
        |_, v, _| result_flag(v, "succeeded").map(|_| !result_get(v, "failed").is_true()),
    );
    add(
        env,
        [ansible("skipped"), ansible("skip")].concat(),
        Undefined::Reject,
        |_, v, _| result_flag(v, "skipped"),
    );
    add(
        env,
        [ansible("unreachable")].concat(),
        Undefined::Reject,
        |_, v, _| result_flag(v, "unreachable"),
    );
    // A result of a task that ran out of its `timeout` contains `timedout.period`.
    add(
        env,
        [ansible("timedout")].concat(),
        Undefined::Reject,
        |_, v, _| {
            if !result_flag(v, "timedout")? {
                return Ok(false);
            }
            Ok(result_get(&result_get(v, "timedout"), "period").is_true())
        },
    );
    // ansible-core's `reachable` is `not unreachable`, so its error names that test.
    add(
        env,
        [ansible("reachable")].concat(),
        Undefined::Reject,
        |_, v, _| result_flag(v, "unreachable").map(|_| !result_get(v, "unreachable").is_true()),
    );
    add(
        env,
        [ansible("changed"), ansible("change")].concat(),
        Undefined::Reject,
        changed,
    );
    add(env, ansible("finished"), Undefined::Reject, |_, v, _| {
        async_flag(v, "finished")
    });
    add(env, ansible("started"), Undefined::Reject, |_, v, _| {
        async_flag(v, "started")
    });
    add(
        env,
        [ansible("abs"), ansible("is_abs")].concat(),
        Undefined::Reject,
        |_, v, _| Ok(py_str(v).unwrap_or_default().starts_with('/')),
    );
    add(env, ansible("exists"), Undefined::Reject, |_, v, _| {
        Ok(std::path::Path::new(&py_str(v).unwrap_or_default()).exists())
    });
    add(env, ansible("link_exists"), Undefined::Reject, |_, v, _| {
        Ok(std::fs::symlink_metadata(py_str(v).unwrap_or_default()).is_ok())
    });
    add(
        env,
        [ansible("file"), ansible("is_file")].concat(),
        Undefined::Reject,
        |_, v, _| Ok(std::path::Path::new(&py_str(v).unwrap_or_default()).is_file()),
    );
    add(
        env,
        [ansible("same_file"), ansible("is_same_file")].concat(),
        Undefined::Reject,
        |_, v, args| same_file(v, args.first().unwrap_or(&JValue::UNDEFINED)),
    );
    add(
        env,
        [ansible("mount"), ansible("is_mount")].concat(),
        Undefined::Reject,
        |_, v, _| Ok(is_mount(&py_str(v).unwrap_or_default())),
    );
    add(
        env,
        [ansible("directory"), ansible("is_dir")].concat(),
        Undefined::Reject,
        |_, v, _| Ok(std::path::Path::new(&py_str(v).unwrap_or_default()).is_dir()),
    );
    add(
        env,
        [ansible("link"), ansible("is_link")].concat(),
        Undefined::Reject,
        |_, v, _| Ok(std::path::Path::new(&py_str(v).unwrap_or_default()).is_symlink()),
    );
}

/// Checks as Python's `os.path.samefile` whether both paths name the same file (device and inode).
fn same_file(first: &JValue, second: &JValue) -> Result<bool, Error> {
    use std::os::unix::fs::MetadataExt;
    let stat = |value: &JValue| {
        let path = py_str(value).unwrap_or_default();
        std::fs::metadata(&path).map_err(|err| {
            let code = err.raw_os_error().unwrap_or_default();
            let reason = err.to_string();
            let reason = reason.split(" (os error").next().unwrap_or_default();
            filter_error(format!("[Errno {code}] {reason}: '{path}'"))
        })
    };
    let (first, second) = (stat(first)?, stat(second)?);
    Ok(first.dev() == second.dev() && first.ino() == second.ino())
}

/// Checks as Python's `os.path.ismount` for a directory on another device than its parent, or the
/// root, whose parent is itself. A symbolic link is never a mount point.
fn is_mount(path: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if meta.file_type().is_symlink() {
        return false;
    }
    let Ok(parent) = std::fs::symlink_metadata(std::path::Path::new(path).join("..")) else {
        return false;
    };
    meta.dev() != parent.dev() || meta.ino() == parent.ino()
}

fn order(
    v: &JValue,
    args: &[JValue],
    accept: fn(std::cmp::Ordering) -> bool,
) -> Result<bool, Error> {
    let other = args.first().cloned().unwrap_or_default();
    match v.partial_cmp(&other) {
        Some(ordering) => Ok(accept(ordering)),
        None => Err(filter_error(format!(
            "'<' not supported between instances of '{}' and '{}'",
            python_type_name(v),
            python_type_name(&other)
        ))),
    }
}

fn items(value: &JValue) -> Result<Vec<JValue>, Error> {
    value.try_iter().map(Iterator::collect).map_err(|_| {
        filter_error(format!(
            "'{}' object is not iterable",
            python_type_name(value)
        ))
    })
}

/// Python's `needle in haystack`.
fn contains(haystack: &JValue, needle: &JValue) -> Result<bool, Error> {
    match haystack.kind() {
        ValueKind::String => match needle.as_str() {
            Some(needle) => Ok(haystack.as_str().unwrap_or_default().contains(needle)),
            None => Err(filter_error(format!(
                "'in <string>' requires string as left operand, not {}",
                python_type_name(needle)
            ))),
        },
        ValueKind::Map => Ok(haystack.get_item(needle).is_ok_and(|v| !v.is_undefined())),
        _ => Ok(items(haystack)?.contains(needle)),
    }
}

fn truthy(value: &JValue, args: &[JValue]) -> Result<bool, Error> {
    let (positional, keywords) = split_keywords(args)?;
    let convert = argument(&positional, &keywords, 0, "convert_bool").is_some_and(|v| v.is_true());
    if convert {
        if let Some(text) = value.as_str() {
            let lower = text.to_lowercase();
            if ["y", "yes", "on", "1", "true", "t"].contains(&lower.as_str()) {
                return Ok(true);
            }
            if ["n", "no", "off", "0", "false", "f"].contains(&lower.as_str()) {
                return Ok(false);
            }
        }
    }
    Ok(value.is_true())
}

type Keywords = Vec<(String, JValue)>;

/// Splits a test's arguments into positional ones and keywords.
fn split_keywords(args: &[JValue]) -> Result<(Vec<JValue>, Keywords), Error> {
    let mut positional = args.to_vec();
    let mut keywords = Vec::new();
    if positional.last().is_some_and(JValue::is_kwargs) {
        let kwargs = Kwargs::try_from(positional.pop().unwrap_or_default())?;
        keywords = keyword_list(&kwargs)?;
    }
    Ok((positional, keywords))
}

fn argument(
    positional: &[JValue],
    keywords: &[(String, JValue)],
    index: usize,
    name: &str,
) -> Option<JValue> {
    positional.get(index).cloned().or_else(|| {
        keywords
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
}

fn regex_test(value: &JValue, args: &[JValue], default_kind: &str) -> Result<bool, Error> {
    let text = py_str(value).map_err(|_| undefined_error())?;
    let (positional, keywords) = split_keywords(args)?;
    let get = |index, name| argument(&positional, &keywords, index, name);
    let pattern = get(0, "pattern")
        .map(|p| py_str(&p).unwrap_or_default())
        .unwrap_or_default();
    let ignorecase = get(1, "ignorecase").is_some_and(|v| v.is_true());
    let multiline = get(2, "multiline").is_some_and(|v| v.is_true());
    let kind =
        get(3, "match_type").map_or(default_kind.to_owned(), |k| py_str(&k).unwrap_or_default());
    let kind = kind.as_str();
    let mut flags = String::new();
    if ignorecase {
        flags.push('i');
    }
    if multiline {
        flags.push('m');
    }
    let prefix = if flags.is_empty() {
        String::new()
    } else {
        format!("(?{flags})")
    };
    let anchored = match kind {
        "match" => format!("{prefix}^(?:{pattern})"),
        "fullmatch" => format!("{prefix}^(?:{pattern})$"),
        _ => format!("{prefix}{pattern}"),
    };
    let regex = fancy_regex::Regex::new(&anchored)
        .map_err(|err| filter_error(format!("invalid regular expression: {err}")))?;
    regex
        .is_match(&text)
        .map_err(|err| filter_error(format!("regular expression failed: {err}")))
}

fn result_get(value: &JValue, key: &str) -> JValue {
    value
        .get_item(&JValue::from(key))
        .unwrap_or(JValue::UNDEFINED)
}

/// Ansible's result tests read a flag of a task result dictionary.
fn result_flag(value: &JValue, test: &str) -> Result<bool, Error> {
    if value.kind() != ValueKind::Map {
        return Err(filter_error(format!(
            "The '{test}' test expects a dictionary"
        )));
    }
    let flag = result_get(value, test);
    Ok(!flag.is_undefined() && flag.is_true())
}

/// Tests `started` and `finished`: the async result's key equals 1. A result
/// without the key passes, with ansible-core's warning.
fn async_flag(value: &JValue, test: &str) -> Result<bool, Error> {
    result_flag(value, test)?;
    let flag = result_get(value, test);
    if flag.is_undefined() {
        crate::template::lookups::warn(format!(
            "The '{test}' test expects an async task, but a non-async task was tested"
        ));
        return Ok(true);
    }
    Ok(flag == JValue::from(1))
}

fn changed(_: &mut State, value: &JValue, _: &[JValue]) -> Result<bool, Error> {
    result_flag(value, "changed")?;
    let flag = result_get(value, "changed");
    if !flag.is_undefined() {
        return Ok(flag.is_true());
    }
    let results = result_get(value, "results");
    if results.kind() != ValueKind::Seq {
        return Ok(false);
    }
    let items = items(&results)?;
    if items
        .first()
        .is_none_or(|first| first.kind() != ValueKind::Map)
    {
        return Ok(false);
    }
    Ok(items
        .iter()
        .any(|item| result_get(item, "changed").is_true()))
}

/// Ansible's `version(version, operator='eq', strict=None, version_type=None)`.
fn version(_: &mut State, value: &JValue, args: &[JValue]) -> Result<bool, Error> {
    let mut positional: Vec<JValue> = args.to_vec();
    let mut keywords = Vec::new();
    if positional.last().is_some_and(JValue::is_kwargs) {
        let kwargs = Kwargs::try_from(positional.pop().unwrap_or_default())?;
        keywords = keyword_list(&kwargs)?;
    }
    let get = |index: usize, name: &str| {
        positional.get(index).cloned().or_else(|| {
            keywords
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    };
    let Some(reference) = get(0, "version") else {
        return Err(filter_error(
            "Version parameter to compare against is required",
        ));
    };
    // Python's None counts as not given.
    let given = |value: Option<JValue>| value.filter(|value| !value.is_none());
    let operator = get(1, "operator").map_or("eq".into(), |o| py_str(&o).unwrap_or_default());
    let strict = given(get(2, "strict"));
    let version_type = given(get(3, "version_type"));
    // ansible-core checks the arguments in this order before it compares.
    if strict.is_some() && version_type.is_some() {
        return Err(filter_error(
            "Cannot specify both 'strict' and 'version_type'",
        ));
    }
    if !value.is_true() {
        return Err(filter_error("Input version value cannot be empty"));
    }
    if !reference.is_true() {
        return Err(filter_error(
            "Version parameter to compare against cannot be empty",
        ));
    }
    let kind = match (strict, version_type) {
        (Some(strict), _) if strict.is_true() => "strict".to_string(),
        (_, Some(kind)) if kind.is_true() => py_str(&kind).unwrap_or_default(),
        _ => "loose".to_string(),
    };
    if !VERSION_TYPES.contains(&kind.as_str()) {
        let names: Vec<String> = VERSION_TYPES
            .iter()
            .map(|name| format!("'{name}'"))
            .collect();
        return Err(filter_error(format!(
            "Invalid version type ({kind}). Must be one of {}",
            names.join(", ")
        )));
    }
    use std::cmp::Ordering::*;
    let holds: fn(std::cmp::Ordering) -> bool = match operator.as_str() {
        "==" | "=" | "eq" => |ordering| ordering == Equal,
        "<" | "lt" => |ordering| ordering == Less,
        "<=" | "le" => |ordering| ordering != Greater,
        ">" | "gt" => |ordering| ordering == Greater,
        ">=" | "ge" => |ordering| ordering != Less,
        "!=" | "<>" | "ne" => |ordering| ordering != Equal,
        other => {
            return Err(filter_error(format!(
                "Invalid operator type ({other}). Must be one of '==', '=', 'eq', '<', 'lt', '<=', 'le', '>', 'gt', '>=', 'ge', '!=', '<>', 'ne'"
            )))
        }
    };
    let left = py_str(value).unwrap_or_default();
    let right = py_str(&reference).unwrap_or_default();
    // ansible-core words every failure of the comparison itself the same way.
    let ordering = compare_versions(&left, &right, &kind).map_err(|err| match err {
        VersionError::Invalid(message) | VersionError::Comparison(message) => {
            filter_error(format!("Version comparison failed: {message}"))
        }
    })?;
    Ok(holds(ordering))
}
