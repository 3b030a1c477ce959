//! [`Templar`]: templating values, strings and files as ansible-core 2.18 does.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::machinery::{tokenize, Token};
use minijinja::value::{Value as JValue, ValueKind};
use minijinja::Environment;

use super::compile::{Syntax, TemplateCache};
use super::convert::from_jinja;
use super::environment;
use super::error::{TemplateError, TemplateErrorKind};
use super::filters::vault::EncryptedText;
use super::native_text::{self, StoredKind};
use super::render::{self, Rendered};
use super::typing::{
    convert_text, literal_eval, looks_like_literal, python_literal_eval, trailing_newlines,
    wrap_unsafe,
};
use super::vars::{Context, Root, Variables};
use crate::vault::VaultSecrets;
use crate::yaml::loaded_text;
use crate::Value;

/// Settings of a [`Templar`].
#[derive(Clone, Debug, Default)]
pub struct TemplarOptions {
    /// The directory relative lookup paths fall back to (the playbook directory).
    pub base_dir: PathBuf,
    /// Vault passwords for vaulted files that lookups read.
    pub vault_secrets: VaultSecrets,
    /// `jinja2_native`: templates return native values (Jinja2's `NativeEnvironment`)
    /// instead of text. The template module and lookup still render text.
    pub native: bool,
    /// The spelling of the path that the `first_found` lookup returns.
    pub found_path: FoundPath,
    /// The treatment of a conditional whose result is not a boolean.
    pub conditionals: ConditionalCheck,
}

/// The treatment of a conditional result that is not a boolean, after ansible-core 2.18's
/// `ALLOW_BROKEN_CONDITIONALS` and `_DISABLE_BACKPORTED_INSPECTIONS` settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConditionalCheck {
    /// Use its truth value and warn that 2.19 rejects it (the default).
    #[default]
    Deprecate,
    /// Fail the conditional (`ALLOW_BROKEN_CONDITIONALS = False`).
    Reject,
    /// Use its truth value without a check or warning, as releases before 2.16 did
    /// (`_DISABLE_BACKPORTED_INSPECTIONS = True`).
    Unchecked,
}

/// The spelling of a path that a lookup found by joining a search path entry, a
/// directory and a relative name such as `../vars/x.yml`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FoundPath {
    /// With `.` and `..` resolved, as ansible-core 2.18's `first_found` returns it.
    #[default]
    Normalized,
    /// As joined, `..` included, as ansible-core 2.16's `first_found` returns it.
    Joined,
}

/// Settings of the template module and `template` lookup for one file.
#[derive(Clone, Debug)]
pub struct FileOptions {
    pub trim_blocks: bool,
    pub lstrip_blocks: bool,
    /// `\n`, `\r` or `\r\n`.
    pub newline_sequence: String,
    pub block: (String, String),
    pub variable: (String, String),
    pub comment: (String, String),
}

impl Default for FileOptions {
    fn default() -> FileOptions {
        let syntax = Syntax::default();
        FileOptions {
            trim_blocks: true,
            lstrip_blocks: false,
            newline_sequence: "\n".into(),
            block: syntax.block,
            variable: syntax.variable,
            comment: syntax.comment,
        }
    }
}

/// Templates values with a shared environment and compiled-template cache. Cheap to
/// clone; clones share the cache.
#[derive(Clone)]
pub struct Templar {
    inner: Arc<Inner>,
}

struct Inner {
    env: Environment<'static>,
    cache: TemplateCache,
    options: TemplarOptions,
}

/// The conversion of a template's output into a value: one of ansible-core 2.18's
/// three concat functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Typing {
    /// Text as written (`ansible_concat`, `convert_data=False`).
    Text,
    /// Text converted back when it reads as a container or a boolean
    /// (`ansible_eval_concat`, the default).
    Convert,
    /// A single value as it is, anything else through `literal_eval`
    /// (`ansible_native_concat`, `jinja2_native`).
    Native,
}

/// The settings of one `do_template` call: conversion, backslash escaping, syntax.
pub(crate) struct Rendering {
    pub typing: Typing,
    /// Double backslashes inside string literals of `{{ }}` (`escape_backslashes`).
    pub escape_backslashes: bool,
    pub syntax: Syntax,
    pub newline_sequence: String,
}

impl Default for Rendering {
    fn default() -> Rendering {
        Rendering {
            typing: Typing::Convert,
            escape_backslashes: true,
            syntax: Syntax::default(),
            newline_sequence: "\n".into(),
        }
    }
}

impl Templar {
    pub fn new(options: TemplarOptions) -> Templar {
        Templar {
            inner: Arc::new(Inner {
                env: environment::build(),
                cache: TemplateCache::default(),
                options,
            }),
        }
    }

    pub fn base_dir(&self) -> &Path {
        &self.inner.options.base_dir
    }

    pub fn vault_secrets(&self) -> &VaultSecrets {
        &self.inner.options.vault_secrets
    }

    pub fn found_path(&self) -> FoundPath {
        self.inner.options.found_path
    }

    /// Templates a value recursively (strings inside lists and maps) with Ansible 2.18
    /// typing; unsafe strings are left alone.
    pub fn template(&self, value: &Value, vars: &dyn Variables) -> Result<Value, TemplateError> {
        let guard = Context::borrowed(self, vars);
        self.template_in(&guard.0, value, true)
    }

    /// Templates a value as [`Templar::template`] does, but leaves a string that uses an
    /// undefined variable as it is (Ansible's `fail_on_undefined=False`).
    pub fn template_lenient(
        &self,
        value: &Value,
        vars: &dyn Variables,
    ) -> Result<Value, TemplateError> {
        let guard = Context::borrowed(self, vars);
        self.template_in(&guard.0, value, false)
    }

    pub fn template_str(&self, text: &str, vars: &dyn Variables) -> Result<Value, TemplateError> {
        self.template(&Value::from(text), vars)
    }

    /// Renders a template file as the template module does: `trim_blocks` and the
    /// other settings from `options`, `#jinja2:` header overrides, the trailing
    /// newlines of the source kept, and no conversion of the result.
    pub fn render_file(
        &self,
        source: &str,
        vars: &dyn Variables,
        options: &FileOptions,
    ) -> Result<String, TemplateError> {
        let guard = Context::borrowed(self, vars);
        self.render_file_in(&guard.0, source, options)
    }

    pub(crate) fn render_file_in(
        &self,
        context: &Arc<Context>,
        source: &str,
        options: &FileOptions,
    ) -> Result<String, TemplateError> {
        let value = self.render_file_typed(context, source, options, Typing::Text)?;
        Ok(value.as_str().map(str::to_owned).unwrap_or_default())
    }

    /// Renders a template file as [`Templar::render_file_in`] does, with a choice of
    /// result typing (the `template` lookup's `jinja2_native`).
    pub(crate) fn render_file_typed(
        &self,
        context: &Arc<Context>,
        source: &str,
        options: &FileOptions,
        typing: Typing,
    ) -> Result<Value, TemplateError> {
        let rendering = Rendering {
            typing,
            escape_backslashes: false,
            syntax: Syntax {
                trim_blocks: options.trim_blocks,
                lstrip_blocks: options.lstrip_blocks,
                keep_trailing_newline: false,
                block: options.block.clone(),
                variable: options.variable.clone(),
                comment: options.comment.clone(),
            },
            newline_sequence: options.newline_sequence.clone(),
        };
        self.do_template(context, source, rendering)
    }

    /// Tells whether templates return native values (`jinja2_native`).
    /// Returns the treatment of a conditional whose result is not a boolean.
    pub fn conditional_check(&self) -> ConditionalCheck {
        self.inner.options.conditionals
    }

    pub fn is_native(&self) -> bool {
        self.inner.options.native
    }

    /// Runs the lookup plugin `name` on `terms` as a `with_<lookup>` loop does, and
    /// returns its items. Errors keep the plugin's own message. `subdir` is the
    /// directory that `first_found` searches first (`files`, `templates` or `vars`).
    pub fn run_loop_lookup(
        &self,
        name: &str,
        terms: &[Value],
        vars: &dyn Variables,
        subdir: &'static str,
    ) -> Result<Vec<Value>, TemplateError> {
        let guard = Context::borrowed(self, vars);
        super::lookups::run_for_loop(&guard.0, name, terms, subdir)
    }

    /// Tells whether `text` contains a complete template construct, as Ansible's
    /// `is_template`: a `{{ }}`, `{% %}` or `{# #}` with both delimiters.
    pub fn is_template(&self, text: &str) -> bool {
        is_template(text)
    }

    pub(crate) fn template_in(
        &self,
        context: &Arc<Context>,
        value: &Value,
        fail_on_undefined: bool,
    ) -> Result<Value, TemplateError> {
        match value {
            Value::Str(text) => self.template_text(context, text, fail_on_undefined),
            Value::List(items) => {
                let templated: Result<Vec<Value>, TemplateError> = items
                    .iter()
                    .map(|item| self.template_in(context, item, fail_on_undefined))
                    .collect();
                Ok(Value::list(templated?))
            }
            Value::Map(map) => {
                let mut templated = crate::Map::with_capacity(map.len());
                for (key, item) in map.iter() {
                    templated.insert(
                        key.clone(),
                        self.template_in(context, item, fail_on_undefined)?,
                    );
                }
                Ok(Value::map(templated))
            }
            other => Ok(other.clone()),
        }
    }

    fn template_text(
        &self,
        context: &Arc<Context>,
        text: &Arc<str>,
        fail_on_undefined: bool,
    ) -> Result<Value, TemplateError> {
        if !is_possibly_template(text) {
            return Ok(Value::Str(text.clone()));
        }
        // A template that is only `{{ name }}` of a variable holding a bool, a number
        // or None returns that value untouched, as Ansible's SINGLE_VAR shortcut does.
        if let Some(name) = single_variable(text) {
            if let Some(raw @ (Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Null)) =
                context.raw(name)
            {
                return Ok(raw);
            }
        }
        let typing = if self.inner.options.native {
            Typing::Native
        } else {
            Typing::Convert
        };
        let rendering = Rendering {
            typing,
            ..Rendering::default()
        };
        match self.do_template(context, text, rendering) {
            Err(error) if error.is_undefined() && !fail_on_undefined => {
                Ok(Value::Str(text.clone()))
            }
            result => result,
        }
    }

    /// Ansible's `do_template`: header overrides, newline and backslash handling, the
    /// evaluation, then result typing and trailing newlines.
    pub(crate) fn do_template(
        &self,
        context: &Arc<Context>,
        text: &str,
        mut rendering: Rendering,
    ) -> Result<Value, TemplateError> {
        let source_newlines = trailing_newlines(text);
        let data = apply_header(text, &mut rendering)?;
        let data = normalize_newlines(data);
        let data = if rendering.escape_backslashes {
            escape_backslashes(data, &rendering.syntax)
        } else {
            data
        };
        let native = rendering.typing == Typing::Native;
        let rendered = self.evaluate_with(context, &data, &rendering.syntax, text, native)?;
        let read_unsafe = rendered.read_unsafe;
        let mut value = match rendering.typing {
            Typing::Text => Value::from(rendered.text),
            Typing::Convert => typed_result(rendered),
            Typing::Native => native_result(rendered),
        };
        if let Value::Str(result) = &value {
            let missing = source_newlines.saturating_sub(trailing_newlines(result));
            let mut result = result.to_string();
            if rendering.newline_sequence != "\n" && rendering.typing == Typing::Text {
                result = result.replace('\n', &rendering.newline_sequence);
            }
            if missing > 0 || rendering.newline_sequence != "\n" {
                result.push_str(&rendering.newline_sequence.repeat(missing));
                value = Value::from(result);
            }
        }
        Ok(wrap_unsafe(value, read_unsafe))
    }

    /// Compiles (or fetches) and evaluates `data`, returning what it wrote.
    pub(crate) fn evaluate(
        &self,
        context: &Arc<Context>,
        data: &str,
        syntax: &Syntax,
        original: &str,
    ) -> Result<Rendered, TemplateError> {
        self.evaluate_with(context, data, syntax, original, false)
    }

    /// [`Templar::evaluate`] with a choice of finalize: `native` writes `None` as
    /// `None`, as Jinja2's native environment does, instead of nothing.
    fn evaluate_with(
        &self,
        context: &Arc<Context>,
        data: &str,
        syntax: &Syntax,
        original: &str,
        native: bool,
    ) -> Result<Rendered, TemplateError> {
        let compiled = self
            .inner
            .cache
            .get(data, syntax)
            .map_err(|error| syntax_error(&error.message, original))?;
        let root = JValue::from_object(Root {
            context: context.clone(),
        });
        let evaluation = render::Evaluation {
            context: context.clone(),
            root,
            native,
        };
        render::evaluate(&self.inner.env, &compiled, evaluation).map_err(|error| {
            if error.kind == TemplateErrorKind::Type && error.template.is_none() {
                // Ansible wraps a TypeError and appends the original message again.
                let message = format!(
                    "Unexpected templating type error occurred on ({original}): {}. {}",
                    error.message, error.message
                );
                return TemplateError::new(TemplateErrorKind::Render, message)
                    .in_template(original);
            }
            if error.kind == TemplateErrorKind::Syntax && error.template.is_none() {
                // Jinja2 finds unknown filters and tests when it compiles the template.
                return syntax_error(&error.message, original);
            }
            error.in_template(original)
        })
    }
}

/// Builds Ansible's error for a template that Jinja2 could not compile: the message, the
/// template text, and the message again from the wrapped exception.
fn syntax_error(message: &str, original: &str) -> TemplateError {
    TemplateError::new(
        TemplateErrorKind::Syntax,
        format!("template error while templating string: {message}. String: {original}. {message}"),
    )
    .in_template(original)
}

/// Converts an evaluation's output as `ansible_eval_concat` does.
fn typed_result(rendered: Rendered) -> Value {
    if let Some(value) = rendered.single_value() {
        // Ansible's string-type filters (`string`, `to_json`, ...) mark their output
        // as text that is never converted back, and the mark stays with the value.
        if value.is_safe() {
            return native_text::store(&rendered.text, StoredKind::NativeText);
        }
        match value.kind() {
            ValueKind::Bool => return Value::Bool(value.is_true()),
            // A tuple prints as `(a, b)`, which the conversion leaves as text.
            ValueKind::Seq if value.is_tuple() => {}
            ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => {
                if let Ok(native) = from_jinja(value) {
                    if is_literal_safe(&native) {
                        return native;
                    }
                }
            }
            // A string passed through unchanged is the same object, of the same class.
            ValueKind::String if !looks_like_literal(&rendered.text) => {
                let loaded = value.as_str().is_some_and(loaded_text::is_loaded);
                return loaded_text::copy_mark(loaded, rendered.text);
            }
            _ => {}
        }
    }
    convert_text(rendered.text)
}

/// Converts an evaluation's output as `ansible_native_concat` does: nothing written is
/// `None`, a single value keeps its type, and text goes through Python's `literal_eval`.
/// A string literal keeps its quotes, so `'{{ x }}'` stays a quoted string.
fn native_result(rendered: Rendered) -> Value {
    if rendered.emit_count == 0 && rendered.text.is_empty() {
        return Value::Null;
    }
    if let Some(value) = rendered.single_value() {
        // The string-type filters' text is never evaluated, and a vaulted value is
        // its plaintext.
        if let Some(stored) = native_text::store_single(value, &rendered.text) {
            return stored;
        }
        if value.downcast_object_ref::<EncryptedText>().is_some() {
            return Value::from(rendered.text);
        }
        if value.kind() != ValueKind::String {
            if let Ok(native) = native_text::from_jinja_native(value) {
                return native;
            }
        }
    }
    let text = rendered.text;
    match python_literal_eval(&text) {
        Some(Value::Str(evaluated)) => {
            let quote = text.chars().next().unwrap_or('\'');
            Value::from(format!("{quote}{evaluated}{quote}"))
        }
        Some(value) => value,
        None => Value::from(text),
    }
}

/// Tells whether a value survives Python's `repr` and `literal_eval` unchanged. Floats
/// `nan` and `inf` do not, so their containers stay text.
fn is_literal_safe(value: &Value) -> bool {
    match value {
        Value::Float(f) => f.is_finite(),
        Value::List(items) => items.iter().all(is_literal_safe),
        Value::Map(map) => map
            .iter()
            .all(|(k, v)| is_literal_safe(k) && is_literal_safe(v)),
        _ => true,
    }
}

/// Ansible's `is_possibly_template`: any start delimiter appears.
pub fn is_possibly_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// Returns the name in a template that is exactly `{{ name }}` (Python's `\w*`, optional
/// surrounding whitespace, and one trailing newline as `$` allows).
fn single_variable(text: &str) -> Option<&str> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    let name = inner.trim_matches(|c: char| c.is_whitespace());
    name.chars()
        .all(|c| c.is_alphanumeric() || c == '_')
        .then_some(name)
}

fn is_template(text: &str) -> bool {
    if !is_possibly_template(text) {
        return false;
    }
    if let Some(start) = text.find("{#") {
        if text[start..].contains("#}") {
            return true;
        }
    }
    let mut open: Option<bool> = None;
    for token in tokenize(text, false, Default::default()) {
        let Ok((token, _)) = token else {
            return false;
        };
        match token {
            Token::VariableStart => open = Some(true),
            Token::BlockStart => open = Some(false),
            Token::VariableEnd => return open == Some(true),
            Token::BlockEnd => return open == Some(false),
            _ => {}
        }
    }
    false
}

/// Applies a `#jinja2: key: value, ...` first line to the syntax and returns the rest.
fn apply_header<'a>(
    text: &'a str,
    rendering: &mut Rendering,
) -> Result<Cow<'a, str>, TemplateError> {
    const HEADER: &str = "#jinja2:";
    if !text.starts_with(HEADER) {
        return Ok(Cow::Borrowed(text));
    }
    let (line, rest) = match text.find('\n') {
        Some(eol) => (&text[HEADER.len()..eol], &text[eol + 1..]),
        None => (&text[HEADER.len()..text.len().saturating_sub(1)], text),
    };
    for pair in line.split(',') {
        let Some((key, value)) = pair.split_once(':') else {
            return Err(TemplateError::new(
                TemplateErrorKind::Syntax,
                format!(
                    "failed to parse jinja2 override '{}'. Did you use something different from colon as key-value separator?",
                    pair.trim()
                ),
            ));
        };
        let value = literal_eval(value.trim()).unwrap_or(Value::Null);
        let text_value = || value.as_str().unwrap_or_default().to_owned();
        let syntax = &mut rendering.syntax;
        match key.trim() {
            "trim_blocks" => syntax.trim_blocks = value.is_truthy(),
            "lstrip_blocks" => syntax.lstrip_blocks = value.is_truthy(),
            "keep_trailing_newline" => syntax.keep_trailing_newline = value.is_truthy(),
            "newline_sequence" => rendering.newline_sequence = text_value(),
            "block_start_string" => syntax.block.0 = text_value(),
            "block_end_string" => syntax.block.1 = text_value(),
            "variable_start_string" => syntax.variable.0 = text_value(),
            "variable_end_string" => syntax.variable.1 = text_value(),
            "comment_start_string" => syntax.comment.0 = text_value(),
            "comment_end_string" => syntax.comment.1 = text_value(),
            // NOTE: Ansible warns about unknown settings; the warning is not reported.
            _ => {}
        }
    }
    Ok(Cow::Borrowed(rest))
}

/// Jinja2 reads `\r\n` and `\r` as newlines.
fn normalize_newlines(data: Cow<'_, str>) -> Cow<'_, str> {
    if data.contains('\r') {
        Cow::Owned(data.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        data
    }
}

/// Ansible's `_escape_backslashes`: inside `{{ }}`, backslashes in string literals are
/// doubled, so YAML authors write `\\1` once instead of twice.
fn escape_backslashes<'a>(data: Cow<'a, str>, syntax: &Syntax) -> Cow<'a, str> {
    if !data.contains('\\') || !data.contains(syntax.variable.0.as_str()) {
        return data;
    }
    let Some(literals) = string_literals_in_variables(&data) else {
        return data;
    };
    let mut out = String::with_capacity(data.len() + 8);
    let mut copied = 0;
    for (start, end) in literals {
        out.push_str(&data[copied..start]);
        out.push_str(&data[start..end].replace('\\', "\\\\"));
        copied = end;
    }
    out.push_str(&data[copied..]);
    Cow::Owned(out)
}

/// Byte ranges of the string literals inside `{{ }}`; `None` when lexing fails.
fn string_literals_in_variables(data: &str) -> Option<Vec<(usize, usize)>> {
    let mut literals = Vec::new();
    let mut in_variable = false;
    for token in tokenize(data, false, Default::default()) {
        let (token, span) = token.ok()?;
        match token {
            Token::VariableStart => in_variable = true,
            Token::VariableEnd => in_variable = false,
            Token::Str(_) | Token::String(_) if in_variable => {
                literals.push((span.start_offset as usize, span.end_offset as usize));
            }
            _ => {}
        }
    }
    Some(literals)
}

impl std::fmt::Debug for Templar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templar")
            .field("options", &self.inner.options)
            .finish()
    }
}
