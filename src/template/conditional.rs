//! Conditionals (`when`, `failed_when`, `changed_when`, `until`, `assert: that`) as
//! ansible-core 2.18 evaluates them.

use std::sync::Arc;

use super::error::{TemplateError, TemplateErrorKind};
use super::methods::class_name;
use super::pyrepr::{py_str, str_repr};
use super::templar::{Rendering, Typing};
use super::vars::{Context, Variables};
use super::{ConditionalCheck, Templar};
use crate::Value;

/// A warning Ansible prints while evaluating, as `[WARNING]:` or, for deprecations,
/// `[DEPRECATION WARNING]:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub message: String,
    pub deprecation: bool,
}

/// The result of a conditional and the warnings it produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionalOutcome {
    pub result: bool,
    pub warnings: Vec<Warning>,
}

/// A conditional that failed, with the warnings it produced before: ansible-core shows
/// them although the conditional fails.
#[derive(Clone, Debug)]
pub struct ConditionalFailure {
    pub error: TemplateError,
    pub warnings: Vec<Warning>,
}

impl Templar {
    /// Evaluates a `when`/`failed_when`/`changed_when`/`until`/assert `that`
    /// conditional as Ansible 2.18 does. A list is true when every item is.
    pub fn evaluate_conditional(
        &self,
        condition: &Value,
        vars: &dyn Variables,
    ) -> Result<bool, TemplateError> {
        self.check_conditional(condition, vars, None)
            .map(|outcome| outcome.result)
            .map_err(|failure| failure.error)
    }

    /// Like [`Templar::evaluate_conditional`], returning the warnings too.
    /// `location` places the conditional in the deprecation warning about non-boolean
    /// results (`location PATH LINE:COL` or `approximate location PATH LINE:COL`);
    /// without it the warning quotes the condition.
    pub fn check_conditional(
        &self,
        condition: &Value,
        vars: &dyn Variables,
        location: Option<&str>,
    ) -> Result<ConditionalOutcome, ConditionalFailure> {
        let guard = Context::borrowed(self, vars);
        let mut warnings = Vec::new();
        let conditions = match condition {
            Value::List(items) => items.to_vec(),
            other => vec![other.clone()],
        };
        for condition in &conditions {
            let result = match self.check_one(&guard.0, condition, location, &mut warnings) {
                Ok(result) => result,
                Err(error) => {
                    return Err(ConditionalFailure {
                        error: wrap_failure(condition, error),
                        warnings,
                    })
                }
            };
            if !result {
                return Ok(ConditionalOutcome {
                    result: false,
                    warnings,
                });
            }
        }
        Ok(ConditionalOutcome {
            result: true,
            warnings,
        })
    }

    fn check_one(
        &self,
        context: &Arc<Context>,
        condition: &Value,
        location: Option<&str>,
        warnings: &mut Vec<Warning>,
    ) -> Result<bool, TemplateError> {
        let original = match condition {
            Value::Null => return Ok(true),
            Value::Bool(b) => return Ok(*b),
            Value::Str(text) | Value::Unsafe(text) if text.is_empty() => return Ok(true),
            Value::Str(text) | Value::Unsafe(text) => text.to_string(),
            other => py_str(&super::convert::to_jinja(other)).unwrap_or_default(),
        };
        let mut text = original.clone();
        if self.is_template(&text) {
            warnings.push(Warning {
                message: format!(
                    "conditional statements should not include jinja2 templating delimiters such as {{{{ }}}} or {{% %}}. Found: {original}"
                ),
                deprecation: false,
            });
            let templated = self
                .template_in(context, &Value::from(text.as_str()), true)
                .map_err(|error| undefined_context(&original, error))?;
            match &templated {
                Value::Bool(b) => return Ok(*b),
                Value::Str(s) if s.is_empty() => return Ok(false),
                Value::Unsafe(_) => {
                    return Err(TemplateError::new(
                        TemplateErrorKind::Conditional,
                        "Conditional is marked as unsafe, and cannot be evaluated.",
                    ))
                }
                other => text = py_str(&super::convert::to_jinja(other)).unwrap_or_default(),
            }
        }
        let wrapper = format!("{{% set __cres = {text} %}}{{{{ __cres }}}}");
        let rendering = Rendering {
            typing: Typing::Text,
            escape_backslashes: false,
            ..Rendering::default()
        };
        // Error messages quote the template that ansible-core 2.18 renders for a conditional.
        let ansible_wrapper = format!(
            "{{% set __cres = {text} %}}{{{{ [true if __cres else false, __cres.__class__.__name__] }}}}"
        );
        let rendered = self
            .evaluate(context, &wrapper, &rendering.syntax, &ansible_wrapper)
            .map_err(|error| undefined_context(&original, error))?;
        let Some(value) = rendered.single_value().cloned() else {
            // `__cres` printed as nothing: `None`.
            return self.interpret("NoneType", false, condition, location, warnings);
        };
        if value.kind() == minijinja::value::ValueKind::Bool {
            return Ok(value.is_true());
        }
        // Text built from an unsafe value is unsafe too.
        let type_name = match class_name(&value) {
            "str" | "AnsibleUnicode" if rendered.read_unsafe => "AnsibleUnsafeText",
            name => name,
        };
        self.interpret(type_name, value.is_true(), condition, location, warnings)
    }

    /// Uses a non-boolean result by its truth value and records Ansible's deprecation,
    /// or rejects it, as the templar's [`ConditionalCheck`] selects.
    fn interpret(
        &self,
        type_name: &str,
        result: bool,
        condition: &Value,
        location: Option<&str>,
        warnings: &mut Vec<Warning>,
    ) -> Result<bool, TemplateError> {
        match self.conditional_check() {
            ConditionalCheck::Deprecate => {}
            ConditionalCheck::Unchecked => return Ok(result),
            ConditionalCheck::Reject => {
                return Err(TemplateError::new(
                    TemplateErrorKind::BrokenConditional,
                    format!(
                        "Conditional result was of type '{type_name}'. Conditional results must be True or False when `ALLOW_BROKEN_CONDITIONALS` is disabled, which is the default in Ansible Core >= 2.19."
                    ),
                ))
            }
        }
        let location = match location {
            Some(location) => location.to_string(),
            None => format!(
                "unknown location (conditional: {})",
                condition_repr(condition)
            ),
        };
        let shown = if result { "True" } else { "False" };
        warnings.push(Warning {
            message: format!(
                "Conditional result at {location} was of type '{type_name}'. Conditional results should only be True or False. The result was interpreted as {shown}."
            ),
            deprecation: true,
        });
        Ok(result)
    }
}

/// Python's `repr` of a condition as written: quoted text, or the value YAML gave.
fn condition_repr(condition: &Value) -> String {
    match condition {
        Value::Str(text) | Value::Unsafe(text) => str_repr(text),
        other => super::pyrepr::py_repr(&super::convert::to_jinja(other)).unwrap_or_default(),
    }
}

fn undefined_context(original: &str, error: TemplateError) -> TemplateError {
    if error.is_undefined() {
        return TemplateError {
            message: format!(
                "error while evaluating conditional ({original}): {}",
                error.message
            ),
            ..error
        };
    }
    error
}

fn wrap_failure(condition: &Value, error: TemplateError) -> TemplateError {
    let text = match condition {
        Value::Str(text) | Value::Unsafe(text) => text.to_string(),
        other => py_str(&super::convert::to_jinja(other)).unwrap_or_default(),
    };
    TemplateError {
        message: format!(
            "The conditional check '{text}' failed. The error was: {}",
            error.message
        ),
        ..error
    }
}
