//! The error type of the templating phase.

use std::fmt;

/// The kind of failure a [`TemplateError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemplateErrorKind {
    /// A variable or attribute was undefined (Ansible's `AnsibleUndefinedVariable`).
    Undefined,
    /// The template text could not be parsed, or it names an unknown filter or test.
    Syntax,
    /// Jinja2's `TemplateSyntaxError` raised while rendering, which ansible-core passes
    /// on unwrapped: a test or filter that `select` or `map` names as a string is unknown.
    RuntimeSyntax,
    /// A variable refers to itself through its own template.
    Recursion,
    /// A conditional's result was no boolean while `ALLOW_BROKEN_CONDITIONALS` is off.
    /// ansible-core locates this error at the condition twice: once when it raises it,
    /// once when the task reports it.
    BrokenConditional,
    /// A filter, test, method or operator failed on its input.
    Filter,
    /// A Python `TypeError`, reported as an unexpected templating type error.
    Type,
    /// A Python `ValueError` raised by a filter, which ansible-core's templar passes on
    /// unwrapped.
    Value,
    /// Python's `ZeroDivisionError`, which ansible-core's templar passes on unwrapped
    /// and its task executor reports as an exception with a traceback.
    ZeroDivision,
    /// `{% include %}` or its kin named a file that the search path does not contain.
    TemplateNotFound,
    /// A lookup plugin failed.
    Lookup,
    /// A lookup plugin was given an invalid option (Ansible's `AnsibleOptionsError`).
    Options,
    /// A conditional did not evaluate to a usable result.
    Conditional,
    /// A `!vault` value could not be decrypted (ansible-core's `AnsibleVaultError`).
    Vault,
    /// Any other failure while rendering.
    Render,
}

/// A templating failure, worded as ansible-core 2.18 words it.
///
/// The executor adds the file and line of the YAML value that held the template.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct TemplateError {
    pub kind: TemplateErrorKind,
    /// Ansible's message, such as `'kube_version' is undefined`.
    pub message: String,
    /// The template text that was being rendered, when there is one.
    pub template: Option<String>,
}

impl TemplateError {
    pub fn new(kind: TemplateErrorKind, message: impl Into<String>) -> TemplateError {
        TemplateError {
            kind,
            message: message.into(),
            template: None,
        }
    }

    pub fn undefined(message: impl Into<String>) -> TemplateError {
        TemplateError::new(TemplateErrorKind::Undefined, message)
    }

    pub fn is_undefined(&self) -> bool {
        self.kind == TemplateErrorKind::Undefined
    }

    /// Attaches the template text unless a nested template already did.
    pub fn in_template(mut self, text: &str) -> TemplateError {
        if self.template.is_none() {
            self.template = Some(text.to_owned());
        }
        self
    }
}

impl TemplateError {
    /// Returns the exception's text as Python's `str()` gives it: Jinja2 adds the line of
    /// a `TemplateSyntaxError`, which is 0 for one raised while rendering.
    pub fn exception_text(&self) -> String {
        match self.kind {
            TemplateErrorKind::RuntimeSyntax => format!("{}\n  line 0", self.message),
            _ => self.message.clone(),
        }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
