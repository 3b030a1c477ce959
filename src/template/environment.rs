//! The minijinja environment with Ansible's layer: strict undefined values patched for
//! chaining, Python's `str()` for output, the filters, tests, lookups and methods.

use minijinja::value::Value as JValue;
use minijinja::{Environment, Error, ErrorKind, Output, State, UndefinedBehavior};

use super::pyrepr::py_str;
use super::render::{self, undefined_error};
use super::{datetime, filters, include, lookups, methods, mutable, tests};

/// Names the environment provides as functions; a variable of the same name wins.
const GLOBALS: &[&str] = &[
    "lookup",
    "query",
    "q",
    "range",
    "dict",
    "namespace",
    "undef",
    "now",
    "lipsum",
];

pub fn is_global(name: &str) -> bool {
    GLOBALS.contains(&name)
}

/// Builds the environment shared by every template of a `Templar`.
pub fn build() -> Environment<'static> {
    let mut env = Environment::empty();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_formatter(format_value);
    env.set_unknown_method_callback(methods::call_method);
    // Only files that `{% include %}` and its kin load are compiled by minijinja itself.
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.set_loader(include::load);
    env.add_function("lookup", lookups::lookup);
    env.add_function("query", lookups::query);
    env.add_function("q", lookups::query);
    env.add_function("range", minijinja::functions::range);
    env.add_function("dict", minijinja::functions::dict);
    env.add_function("namespace", minijinja::functions::namespace);
    env.add_function("undef", undef);
    env.add_function(mutable::MAKE_MUTABLE, mutable::mutable_function);
    filters::register(&mut env);
    datetime::register(&mut env);
    tests::register(&mut env);
    env
}

/// Writes one `{{ }}` value as Ansible's finalize and concat do: `None` as nothing
/// (as `None` in native mode), everything else through Python's `str()`. Printing an undefined value, or a
/// container holding one, fails.
fn format_value(out: &mut Output, _: &mut State, value: &JValue) -> Result<(), Error> {
    // An undefined value with no recorded message comes from an inline `if` without
    // `else`, which Ansible prints as nothing.
    let unexplained = value.is_undefined() && render::latest_hint().is_none();
    let native = render::with_current(|state| state.native).unwrap_or(false);
    let text = if (value.is_none() && !native) || unexplained {
        String::new()
    } else {
        py_str(value).map_err(|_| undefined_error())?
    };
    render::with_current(|state| {
        state.emit_count += 1;
        if state.emit_count == 1 {
            state.first_emit = Some(value.clone());
            state.first_emit_len = text.len();
        }
    });
    out.write_str(&text)
        .map_err(|_| Error::new(ErrorKind::WriteFailure, "could not write template output"))
}

/// Ansible's `undef(hint=None)`: an undefined value with a message.
fn undef(hint: Option<JValue>) -> JValue {
    let hint = hint
        .filter(|h| !h.is_undefined() && h.as_str() != Some(""))
        .map(|h| py_str(&h).unwrap_or_default())
        .unwrap_or_else(|| "Mandatory variable has not been overridden".to_owned());
    render::record_hint(hint);
    JValue::UNDEFINED
}
