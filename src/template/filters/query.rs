//! `json_query` (`community.general.json_query`): a JMESPath search over data.

use minijinja::value::Value as JValue;
use minijinja::{Environment, Error, State};

use super::jmespath_syntax::{self, SyntaxError};
use super::{add, filter_error, Args, Undefined};
use crate::template::convert::{from_jinja, to_jinja};
use crate::template::pyrepr::py_str;
use crate::template::render::undefined_error;
use crate::Value;

pub fn register(env: &mut Environment<'static>) {
    add(
        env,
        vec![
            "json_query".to_owned(),
            "community.general.json_query".to_owned(),
        ],
        Undefined::Reject,
        json_query,
    );
}

fn json_query(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let expression = args
        .get(0, "expr")
        .map(|e| py_str(e).map_err(|_| undefined_error()))
        .transpose()?
        .ok_or_else(|| filter_error("json_query requires a JMESPath expression"))?;
    let data = from_jinja(&args.value).map_err(|_| undefined_error())?;
    let json = serde_json::to_value(&data).map_err(jmespath_error)?;
    match jmespath_syntax::check(&expression) {
        Ok(()) => {}
        Err(SyntaxError::Jmespath(message)) => return Err(jmespath_error(message)),
        Err(SyntaxError::IndexError(message)) => {
            return Err(filter_error(format!(
                "Error in jmespath.search in json_query filter plugin:\n{message}"
            )))
        }
    }
    let compiled = jmespath::compile(&quote_bare_literals(&expression)).map_err(jmespath_error)?;
    let variable = jmespath::Variable::from_json(&json.to_string()).map_err(jmespath_error)?;
    let found = compiled
        .search(variable)
        .map_err(|err| jmespath_error(runtime_message(&err)))?;
    let result: serde_json::Value = serde_json::to_value(&*found).map_err(jmespath_error)?;
    Ok(to_jinja(&Value::from(result)))
}

/// The error ansible-core's filter raises for any failure of the JMESPath library.
fn jmespath_error(err: impl std::fmt::Display) -> Error {
    filter_error(format!("JMESPathError in json_query filter plugin:\n{err}"))
}

/// Words a search failure as Python's jmespath words it, for unknown functions and wrong
/// argument counts. Other failures keep the Rust crate's message.
///
/// NOTE: Python's type errors name the value and the expected types
/// (`In function abs(), invalid type for value: a, expected one of: ['number'], ...`);
/// the Rust crate's message for them differs.
fn runtime_message(err: &jmespath::JmespathError) -> String {
    use jmespath::{ErrorReason, RuntimeError};
    let ErrorReason::Runtime(reason) = &err.reason else {
        return err.to_string();
    };
    match reason {
        RuntimeError::UnknownFunction(name) => format!("Unknown function: {name}()"),
        RuntimeError::NotEnoughArguments { expected, actual }
        | RuntimeError::TooManyArguments { expected, actual } => {
            let name = function_name_at(&err.expression, err.offset);
            // Python's jmespath raises VariadictArityError for its two variadic functions.
            let at_least = if matches!(name.as_str(), "not_null" | "merge") {
                "at least "
            } else {
                ""
            };
            let noun = if *expected == 1 {
                "argument"
            } else {
                "arguments"
            };
            format!("Expected {at_least}{expected} {noun} for function {name}(), received {actual}")
        }
        _ => err.to_string(),
    }
}

/// Returns the function name the Rust crate's error offset points at: the identifier
/// that starts there, or the one that ends at the `(` there.
fn function_name_at(expression: &str, offset: usize) -> String {
    let chars: Vec<char> = expression.chars().collect();
    let is_name = |c: &char| c.is_ascii_alphanumeric() || *c == '_';
    let after: String = chars
        .iter()
        .skip(offset)
        .take_while(|c| is_name(c))
        .collect();
    if !after.is_empty() {
        return after;
    }
    let before: Vec<char> = chars[..offset.min(chars.len())]
        .iter()
        .rev()
        .take_while(|c| is_name(c))
        .copied()
        .collect();
    before.into_iter().rev().collect()
}

/// Rewrites backtick literals that are not JSON (`` `kube-bridge` ``) as JSON strings.
/// Python's jmespath still accepts that deprecated form and reads the text as a string.
/// Kubespray relies on it, and the Rust parser rejects it.
fn quote_bare_literals(expression: &str) -> String {
    let mut out = String::with_capacity(expression.len());
    let mut rest = expression;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = closing_backtick(after) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let literal = &after[..end];
        let unescaped = literal.replace("\\`", "`");
        if serde_json::from_str::<serde_json::Value>(&unescaped).is_ok() {
            out.push('`');
            out.push_str(literal);
            out.push('`');
        } else {
            let quoted = serde_json::Value::String(unescaped.trim_start().to_string()).to_string();
            out.push('`');
            out.push_str(&quoted.replace('`', "\\`"));
            out.push('`');
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The index of the backtick that ends a literal, skipping escaped ones.
fn closing_backtick(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            b'`' => return Some(index),
            _ => index += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_literals_become_json_strings() {
        assert_eq!(
            quote_bare_literals("plugins[?bridge==`kube-bridge`].ipam"),
            "plugins[?bridge==`\"kube-bridge\"`].ipam"
        );
        assert_eq!(quote_bare_literals("a[?b==`1`]"), "a[?b==`1`]");
        assert_eq!(quote_bare_literals("a[?b==`\"x\"`]"), "a[?b==`\"x\"`]");
    }
}
