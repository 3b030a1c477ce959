//! One evaluation of a compiled template and the state it keeps on the side.
//!
//! minijinja values cannot carry Ansible's undefined hints, unsafe marks or errors raised
//! inside a variable lookup, so each evaluation keeps a [`RenderState`] on a per-thread
//! stack while it runs. Filters, the formatter and the lazy variable objects record into
//! the state of the evaluation on top of the stack; nested evaluations (a variable whose
//! value is itself a template) push their own.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use minijinja::machinery;
use minijinja::value::Value as JValue;
use minijinja::{AutoEscape, Environment, ErrorKind};

use super::compile::Compiled;
use super::error::{TemplateError, TemplateErrorKind};
use super::mutable::make_mutable;
use super::vars::Context;

/// The side state of one evaluation: hints, poison, unsafe reads and emitted values.
pub struct RenderState {
    pub context: Arc<Context>,
    /// Messages of the undefined values created so far, the latest last. minijinja's
    /// undefined value has no payload, so an error about an undefined value is worded
    /// with the latest hint that no `default` or `is defined` consumed.
    hints: Vec<String>,
    /// A failure raised where minijinja cannot return an error (a variable lookup). It
    /// wins over whatever error the rest of the evaluation produces.
    poison: Option<TemplateError>,
    /// Set when the template read a variable holding an unsafe string.
    pub read_unsafe: bool,
    /// Number of `{{ }}` values written, and the first one, to tell a template that is a
    /// single expression (Ansible keeps its native value) from concatenated text.
    pub emit_count: usize,
    pub first_emit: Option<JValue>,
    pub first_emit_len: usize,
    /// The template calls a mutating method, so variables are read as mutable copies.
    pub mutable: bool,
    /// Jinja2's native environment: `None` is written as `None`, not as nothing.
    pub native: bool,
    /// The mutable copy of each variable read so far. Jinja2 resolves a name once per
    /// render, so every read in one render sees the same object.
    mutable_reads: HashMap<String, JValue>,
}

thread_local! {
    static RENDERS: RefCell<Vec<RenderState>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with the state of the innermost evaluation; `None` outside any evaluation.
pub fn with_current<R>(f: impl FnOnce(&mut RenderState) -> R) -> Option<R> {
    RENDERS.with(|renders| renders.borrow_mut().last_mut().map(f))
}

/// Returns the host context of the innermost evaluation.
pub fn current_context() -> Option<Arc<Context>> {
    with_current(|state| state.context.clone())
}

pub fn record_hint(hint: String) {
    with_current(|state| state.hints.push(hint));
}

/// Removes the latest hint, for `default` and `is defined` that consumed its value.
pub fn consume_hint() {
    with_current(|state| state.hints.pop());
}

pub fn latest_hint() -> Option<String> {
    with_current(|state| state.hints.last().cloned()).flatten()
}

pub fn poison(error: TemplateError) {
    with_current(|state| {
        if state.poison.is_none() {
            state.poison = Some(error);
        }
    });
}

/// Tells whether the innermost evaluation hands out mutable copies of variables.
pub fn reads_mutable() -> bool {
    with_current(|state| state.mutable).unwrap_or(false)
}

/// Returns the innermost evaluation's mutable copy of variable `name`, made from
/// `value` on the first read.
pub fn mutable_read(name: &str, value: &JValue) -> JValue {
    if let Some(Some(copy)) = with_current(|state| state.mutable_reads.get(name).cloned()) {
        return copy;
    }
    // Copying may read lazy variables, which takes the render stack again, so the copy
    // is made outside `with_current`.
    let copy = make_mutable(value);
    with_current(|state| {
        state
            .mutable_reads
            .entry(name.to_owned())
            .or_insert(copy.clone())
            .clone()
    })
    .unwrap_or(copy)
}

pub fn mark_unsafe() {
    with_current(|state| state.read_unsafe = true);
}

/// Tells whether the innermost evaluation read an unsafe value; true outside any
/// evaluation, where nothing is known.
pub fn read_unsafe() -> bool {
    with_current(|state| state.read_unsafe).unwrap_or(true)
}

/// The result of one evaluation.
pub struct Rendered {
    pub text: String,
    pub emit_count: usize,
    pub first_emit: Option<JValue>,
    pub first_emit_len: usize,
    pub read_unsafe: bool,
}

impl Rendered {
    /// Returns the value of a template that wrote exactly one `{{ }}` value and no text.
    pub fn single_value(&self) -> Option<&JValue> {
        (self.emit_count == 1 && self.first_emit_len == self.text.len())
            .then_some(self.first_emit.as_ref())
            .flatten()
    }
}

/// The inputs of one evaluation: the host context, the root object that resolves
/// names, and the finalize to use.
pub struct Evaluation {
    pub context: Arc<Context>,
    pub root: JValue,
    pub native: bool,
}

/// Pops the render state when the evaluation ends, also on unwinding.
struct StackGuard;

impl Drop for StackGuard {
    fn drop(&mut self) {
        RENDERS.with(|renders| renders.borrow_mut().pop());
    }
}

/// Evaluates a compiled template with `context` as its variables.
pub fn evaluate(
    env: &Environment<'static>,
    compiled: &Compiled,
    evaluation: Evaluation,
) -> Result<Rendered, TemplateError> {
    let Evaluation {
        context,
        root,
        native,
    } = evaluation;
    RENDERS.with(|renders| {
        renders.borrow_mut().push(RenderState {
            context,
            native,
            hints: Vec::new(),
            poison: None,
            read_unsafe: false,
            emit_count: 0,
            first_emit: None,
            first_emit_len: 0,
            mutable: compiled.mutates,
            mutable_reads: HashMap::new(),
        })
    });
    let guard = StackGuard;
    let mut text = String::with_capacity(compiled.size_hint());
    let result = {
        let template = compiled.template();
        let mut output = machinery::make_string_output(&mut text);
        machinery::eval(
            env,
            &template.instructions,
            root,
            &template.blocks,
            &mut output,
            AutoEscape::None,
        )
        .map(|_| ())
    };
    let state = RENDERS.with(|renders| renders.borrow_mut().pop());
    std::mem::forget(guard);
    let Some(mut state) = state else {
        return Err(TemplateError::new(
            TemplateErrorKind::Render,
            "template render state was lost",
        ));
    };
    if let Some(error) = state.poison.take() {
        return Err(error);
    }
    result.map_err(|err| map_error(&err, &state))?;
    Ok(Rendered {
        text,
        emit_count: state.emit_count,
        first_emit: state.first_emit,
        first_emit_len: state.first_emit_len,
        read_unsafe: state.read_unsafe,
    })
}

/// Words a minijinja error as Ansible does.
fn map_error(err: &minijinja::Error, state: &RenderState) -> TemplateError {
    if let Some(error) = find_template_error(err) {
        return error;
    }
    let detail = err.detail().unwrap_or_default();
    match err.kind() {
        // minijinja wraps a failure inside an included file; Jinja2 reports it as it is.
        ErrorKind::BadInclude => match std::error::Error::source(err)
            .and_then(|source| source.downcast_ref::<minijinja::Error>())
        {
            Some(inner) => map_error(inner, state),
            None => TemplateError::new(TemplateErrorKind::Render, describe(err)),
        },
        ErrorKind::TemplateNotFound => {
            // minijinja words the detail `tried to include non-existing template 'NAME'`.
            let name = detail
                .strip_prefix("tried to include non-existing template ")
                .map_or(detail, |quoted| quoted.trim_matches(['\'', '"']));
            TemplateError::new(
                TemplateErrorKind::TemplateNotFound,
                super::include::not_found_message(name),
            )
        }
        ErrorKind::UndefinedError => {
            let message = match err.detail() {
                Some(detail) => detail.to_owned(),
                None => latest_or_default(state),
            };
            TemplateError::undefined(message)
        }
        ErrorKind::InvalidOperation if detail.contains("undefined") => {
            TemplateError::undefined(latest_or_default(state))
        }
        ErrorKind::SyntaxError => TemplateError::new(TemplateErrorKind::Syntax, detail),
        ErrorKind::UnknownFilter | ErrorKind::UnknownTest => {
            TemplateError::new(TemplateErrorKind::Syntax, unknown_plugin_message(err))
        }
        _ => TemplateError::new(TemplateErrorKind::Render, describe(err)),
    }
}

fn latest_or_default(state: &RenderState) -> String {
    state
        .hints
        .last()
        .cloned()
        .unwrap_or_else(|| "an undefined variable was used".to_owned())
}

fn unknown_plugin_message(err: &minijinja::Error) -> String {
    // minijinja words the detail `filter NAME is unknown` (or `test NAME is unknown`).
    let name = err
        .detail()
        .and_then(|detail| detail.strip_suffix(" is unknown"))
        .and_then(|rest| rest.split_once(' '))
        .map_or("?", |(_, name)| name);
    could_not_load(name)
}

/// Ansible's message for a filter or test `name` that its plugin loader cannot load.
///
/// The loader reads a name without a dot as `ansible.builtin.NAME` and rejects a name
/// that is not of the form `namespace.collection.resource` with word characters only.
/// NOTE: a well-formed name of a collection that is not installed gets the name as its
/// reason here, where ansible-core reports `Invalid plugin FQCN (...): unable to locate
/// collection ...`.
pub fn could_not_load(name: &str) -> String {
    let fqcr = if name.contains('.') {
        name.to_owned()
    } else {
        format!("ansible.builtin.{name}")
    };
    let reason = if is_valid_fqcr(&fqcr) {
        name.to_owned()
    } else {
        format!("invalid plugin name: {fqcr}")
    };
    let quoted = super::pyrepr::py_repr(&JValue::from(reason)).unwrap_or_default();
    format!("Could not load \"{name}\": {quoted}")
}

/// Checks whether `fqcr` is a well-formed `namespace.collection.resource` reference, as
/// ansible-core's `AnsibleCollectionRef.try_parse_fqcr` decides for a plugin.
fn is_valid_fqcr(fqcr: &str) -> bool {
    let is_word =
        |part: &str| !part.is_empty() && part.chars().all(|c| c.is_alphanumeric() || c == '_');
    let is_identifier =
        |part: &str| is_word(part) && !part.starts_with(|c: char| c.is_ascii_digit());
    let parts: Vec<&str> = fqcr.split('.').collect();
    parts.len() >= 3
        && parts.iter().all(|part| is_word(part))
        && is_identifier(parts[0])
        && is_identifier(parts[1])
}

fn describe(err: &minijinja::Error) -> String {
    match err.detail() {
        Some(detail) => detail.to_owned(),
        None => err.kind().to_string(),
    }
}

fn find_template_error(err: &minijinja::Error) -> Option<TemplateError> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = source {
        if let Some(error) = current.downcast_ref::<TemplateError>() {
            return Some(error.clone());
        }
        source = current.source();
    }
    None
}

/// Builds a minijinja error that carries a [`TemplateError`] to [`evaluate`].
pub fn raise(error: TemplateError) -> minijinja::Error {
    let kind = if error.is_undefined() {
        ErrorKind::UndefinedError
    } else {
        ErrorKind::InvalidOperation
    };
    minijinja::Error::new(kind, error.message.clone()).with_source(error)
}

/// Builds the error for using an undefined value, worded with the latest hint.
pub fn undefined_error() -> minijinja::Error {
    let message = latest_hint().unwrap_or_else(|| "an undefined variable was used".to_owned());
    raise(TemplateError::undefined(message))
}
