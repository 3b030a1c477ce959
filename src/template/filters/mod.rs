//! Filters: Jinja2's built-in ones and Ansible's, registered through one guard.
//!
//! Every filter receives its input and arguments as an [`Args`]. The guard rejects an
//! undefined input or argument with the undefined error Ansible reports, except for the
//! filters that inspect undefined values themselves (`default`, `mandatory`, ...).

mod collections;
mod core;
mod crypt;
mod fact_diff;
mod jmespath_syntax;
mod mathstuff;
pub(crate) mod mersenne;
mod net;
pub(crate) mod password_hash;
mod path;
mod query;
pub(crate) mod random;
mod serialize;
mod text;
mod url;
pub(crate) mod vault;
mod yaml_emitter;

use minijinja::value::{Kwargs, Rest, Value as JValue};
use minijinja::{Environment, Error, ErrorKind, State};

use super::error::{TemplateError, TemplateErrorKind};
use super::render::{could_not_load, raise, undefined_error};
use super::unsafe_text::{self, carry_through_filter};

/// Arguments of a filter call: the input value, then positional and keyword arguments.
pub struct Args {
    pub value: JValue,
    pub positional: Vec<JValue>,
    pub keywords: Vec<(String, JValue)>,
}

impl Args {
    fn new(value: JValue, positional: Vec<JValue>, kwargs: &Kwargs) -> Result<Args, Error> {
        Ok(Args {
            value,
            positional,
            keywords: keyword_list(kwargs)?,
        })
    }

    /// The argument at `index` (after the input), or the keyword argument `name`.
    pub fn get(&self, index: usize, name: &str) -> Option<&JValue> {
        self.positional.get(index).or_else(|| {
            self.keywords
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value)
        })
    }

    pub fn keyword(&self, name: &str) -> Option<&JValue> {
        self.keywords
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    pub fn str_arg(&self, index: usize, name: &str) -> Option<String> {
        self.get(index, name).map(|value| match value.as_str() {
            Some(text) => text.to_owned(),
            None => super::pyrepr::py_str(value).unwrap_or_default(),
        })
    }

    pub fn bool_arg(&self, index: usize, name: &str, default: bool) -> bool {
        self.get(index, name).map_or(default, JValue::is_true)
    }

    /// The input followed by the positional arguments, and the keywords as a kwargs
    /// value, for calling a minijinja built-in.
    pub(crate) fn all(&self) -> Vec<JValue> {
        let mut all = Vec::with_capacity(self.positional.len() + 2);
        all.push(self.value.clone());
        all.extend(self.positional.iter().cloned());
        if !self.keywords.is_empty() {
            all.push(JValue::from(Kwargs::from_iter(
                self.keywords.iter().map(|(k, v)| (k.as_str(), v.clone())),
            )));
        }
        all
    }

    fn has_undefined(&self) -> bool {
        self.value.is_undefined()
            || self.positional.iter().any(JValue::is_undefined)
            || self.keywords.iter().any(|(_, value)| value.is_undefined())
    }
}

/// The keyword arguments of a call, in call order, all marked as used.
pub fn keyword_list(kwargs: &Kwargs) -> Result<Vec<(String, JValue)>, Error> {
    let names: Vec<String> = kwargs.args().map(str::to_owned).collect();
    names
        .into_iter()
        .map(|name| {
            let value = kwargs.get::<JValue>(&name)?;
            Ok((name, value))
        })
        .collect()
}

/// An Ansible filter error (`AnsibleFilterError`) with its message.
pub fn filter_error(message: impl Into<String>) -> Error {
    raise(TemplateError::new(TemplateErrorKind::Filter, message))
}

/// Whether a filter inspects undefined values itself.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Undefined {
    Reject,
    Accept,
}

pub type FilterFn = fn(&mut State, &Args) -> Result<JValue, Error>;

/// Registers `f` under each of `names`.
pub fn add(env: &mut Environment<'static>, names: Vec<String>, undefined: Undefined, f: FilterFn) {
    for name in names {
        env.add_filter(
            name.clone(),
            move |state: &mut State,
                  value: JValue,
                  rest: Rest<JValue>,
                  kwargs: Kwargs|
                  -> Result<JValue, Error> {
                let args = Args::new(value, rest.0, &kwargs)?;
                if undefined == Undefined::Reject && args.has_undefined() {
                    return Err(undefined_error());
                }
                let output = f(state, &args)?;
                Ok(carry_unsafe(&name, &args, output))
            },
        );
    }
}

/// Registers a minijinja built-in filter behind the undefined guard.
pub fn add_builtin(env: &mut Environment<'static>, names: Vec<String>, builtin: JValue) {
    for name in names {
        let builtin = builtin.clone();
        let filter = name.clone();
        env.add_filter(
            name,
            move |state: &mut State,
                  value: JValue,
                  rest: Rest<JValue>,
                  kwargs: Kwargs|
                  -> Result<JValue, Error> {
                let args = Args::new(value, rest.0, &kwargs)?;
                if args.has_undefined() {
                    return Err(undefined_error());
                }
                let output = builtin
                    .call(state, &args.all())
                    .map_err(|err| name_unknown_plugin(err, &filter, &args))?;
                Ok(carry_unsafe(&filter, &args, output))
            },
        );
    }
}

/// Marks a filter's output unsafe where ansible-core's filter keeps the mark of its
/// input; `format` also keeps the mark of an unsafe argument.
fn carry_unsafe(name: &str, args: &Args, output: JValue) -> JValue {
    let output = carry_through_filter(name, &args.value, output);
    if name == "format" && args.positional.iter().any(unsafe_text::is_unsafe) {
        return unsafe_text::mark_all(output);
    }
    output
}

/// Names the test or filter that `select`, `map` and their kin could not find.
///
/// minijinja reports such a name-by-string lookup without the name. Jinja2 raises a
/// `TemplateSyntaxError` at that point, which ansible-core does not wrap.
fn name_unknown_plugin(err: Error, filter: &str, args: &Args) -> Error {
    if err.detail().is_some()
        || !matches!(
            err.kind(),
            ErrorKind::UnknownTest | ErrorKind::UnknownFilter
        )
    {
        return err;
    }
    // `selectattr` and `rejectattr` take the attribute first, the others the name.
    let index = match filter {
        "selectattr" | "rejectattr" => 1,
        _ => 0,
    };
    match args.positional.get(index).and_then(JValue::as_str) {
        Some(name) => raise(TemplateError::new(
            TemplateErrorKind::RuntimeSyntax,
            could_not_load(name),
        )),
        None => err,
    }
}

/// Names of an ansible-core plugin: bare and `ansible.builtin.`-qualified.
pub fn ansible(name: &str) -> Vec<String> {
    vec![name.to_owned(), format!("ansible.builtin.{name}")]
}

/// Name of a Jinja2 built-in, which Ansible resolves unqualified only.
pub fn jinja(name: &str) -> Vec<String> {
    vec![name.to_owned()]
}

/// Names of a plugin of the `ansible.utils` collection: its full name, the
/// `ansible.netcommon` name and the bare name, which Ansible's routing redirects.
pub fn utils(name: &str) -> Vec<String> {
    vec![
        format!("ansible.utils.{name}"),
        format!("ansible.netcommon.{name}"),
        name.to_owned(),
    ]
}

/// Registers every filter.
pub fn register(env: &mut Environment<'static>) {
    core::register(env);
    collections::register(env);
    text::register(env);
    path::register(env);
    serialize::register(env);
    net::register(env);
    mathstuff::register(env);
    url::register(env);
    query::register(env);
    random::register(env);
    password_hash::register(env);
    fact_diff::register(env);
    vault::register(env);
}

/// A Python `TypeError` raised in a filter, which Ansible reports as an unexpected
/// templating type error.
pub fn python_type_error(message: impl Into<String>) -> Error {
    raise(TemplateError::new(TemplateErrorKind::Type, message))
}

/// Jinja2's `TemplateSyntaxError` for a filter that `map` names as a string and that does
/// not exist.
pub fn unknown_filter_error(name: &str) -> Error {
    raise(TemplateError::new(
        TemplateErrorKind::RuntimeSyntax,
        could_not_load(name),
    ))
}

/// A Python `ValueError` raised in a filter, which ansible-core does not word.
pub fn python_value_error(message: impl Into<String>) -> Error {
    raise(TemplateError::new(TemplateErrorKind::Value, message))
}

/// The error for a value of the wrong type.
pub fn type_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}
