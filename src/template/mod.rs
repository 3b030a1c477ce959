//! Templating: minijinja with Ansible 2.18's semantics on top.
//!
//! [`Templar`] is the entry point. It templates values recursively, evaluates
//! conditionals and renders template files. Variables are read lazily through
//! [`Variables`] and templated on first use in the same host context.
//!
//! The Ansible layer is split by concept: `compile` patches the bytecode for undefined
//! chaining, `render` runs one evaluation, `vars` provides the lazy context, `typing`
//! converts results back as 2.18 does, and `filters`, `tests`, `lookups` and `methods`
//! provide Ansible's plugins and Python's methods.

mod compile;
mod conditional;
mod convert;
mod datetime;
mod datetime_object;
mod environment;
mod error;
mod filters;
mod include;
mod keywords;
mod lookups;
mod methods;
mod mutable;
mod native_text;
mod operators;
mod pyformat;
mod pyrepr;
mod pytype;
mod render;
mod templar;
/// Jinja2 tests such as `is defined` and `is version`.
mod tests;
mod typing;
mod unicode_digits;
mod unsafe_text;
mod vars;
pub mod vault_values;
mod version;

pub use crate::vault::VaultSecrets;
pub use conditional::{ConditionalFailure, ConditionalOutcome, Warning};
pub use datetime::local_datetime_text;
pub use error::{TemplateError, TemplateErrorKind};
pub use include::{with_templates_dirs, IncludeScope};
pub use lookups::take_warnings as take_lookup_warnings;
pub use templar::{ConditionalCheck, FileOptions, FoundPath, Templar, TemplarOptions};
pub use vars::Variables;

/// The value of the `omit` variable: an argument whose value is exactly this string is
/// dropped by the executor. Ansible derives its token from random bytes per run; rplay
/// uses one fixed token of the same shape.
pub const OMIT: &str = "__omit_place_holder__1f0c8b4e2b8d7c6a5f4e3d2c1b0a998877665544";

/// Tells whether a templated argument is the `omit` placeholder.
pub fn is_omitted(value: &crate::Value) -> bool {
    value.as_str() == Some(OMIT)
}
