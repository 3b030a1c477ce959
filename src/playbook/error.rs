use std::fmt;

use crate::source::{render_snippet, Span};

/// An error found while loading playbooks, roles and task files.
#[derive(Debug)]
pub struct LoadError {
    pub message: String,
    pub span: Option<Span>,
    pub hint: Option<String>,
    pub kind: LoadErrorKind,
}

/// The class of a load error, which decides ansible-playbook's exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadErrorKind {
    /// Malformed content (exit code 4).
    Parse,
    /// A playbook file that does not exist (exit code 1).
    MissingPlaybook,
}

impl LoadError {
    pub fn new(message: impl Into<String>, span: Option<&Span>) -> LoadError {
        LoadError {
            message: message.into(),
            span: span.cloned(),
            hint: None,
            kind: LoadErrorKind::Parse,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> LoadError {
        self.hint = Some(hint.into());
        self
    }

    /// Renders the error as `ERROR! MESSAGE` followed by the located source line.
    pub fn render(&self) -> String {
        match &self.span {
            Some(span) => {
                let snippet = render_snippet(&self.message, span, self.hint.as_deref());
                format!("ERROR! {}", snippet.trim_start_matches("error: "))
            }
            None => match &self.hint {
                Some(hint) => format!("ERROR! {}\n  = hint: {hint}\n", self.message),
                None => format!("ERROR! {}\n", self.message),
            },
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.span {
            Some(span) => write!(f, "{span}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for LoadError {}

impl From<crate::yaml::YamlError> for LoadError {
    fn from(err: crate::yaml::YamlError) -> LoadError {
        LoadError {
            message: format!("Syntax Error while loading YAML: {}", err.message),
            span: err.span,
            hint: None,
            kind: LoadErrorKind::Parse,
        }
    }
}
