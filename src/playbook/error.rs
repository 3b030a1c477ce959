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
    /// Malformed content: ansible-core's `AnsibleParserError` (exit code 4).
    Parse,
    /// A playbook, tasks file or role that does not exist, or roles that depend on each
    /// other: ansible-core's plain `AnsibleError` (exit code 1).
    NotFound,
    /// A vault-encrypted file that the run's vault secrets cannot decrypt:
    /// ansible-core's `AnsibleVaultError` (exit code 1). An include fails its hosts, as
    /// for [`LoadErrorKind::NotFound`].
    Vault,
    /// A file that imports itself through `import_tasks` or `import_playbook`.
    /// ansible-core recurses until Python's recursion limit and exits as for an
    /// unexpected exception (exit code 250).
    ImportCycle,
}

/// The first line ansible-core prints for a file that is neither JSON nor YAML.
pub const NOT_JSON_NOR_YAML: &str =
    "We were unable to read either as JSON nor YAML, these are the errors we got from each:";

/// The hint for the remote-file confusion ansible-core's `AnsibleFileNotFound` warns about.
pub const REMOTE_SRC_NOTE: &str =
    "If you are using a module and expect the file to exist on the remote, see the remote_src option";

impl LoadError {
    pub fn new(message: impl Into<String>, span: Option<&Span>) -> LoadError {
        LoadError {
            message: message.into(),
            span: span.cloned(),
            hint: None,
            kind: LoadErrorKind::Parse,
        }
    }

    /// Creates the error for a file or role that cannot be found (exit code 1).
    pub fn not_found(message: impl Into<String>, span: Option<&Span>) -> LoadError {
        LoadError {
            kind: LoadErrorKind::NotFound,
            ..LoadError::new(message, span)
        }
    }

    /// Creates ansible-core's `AnsibleFileNotFound` error for a controller file: `Unable
    /// to retrieve file contents`, the path, and the `remote_src` note.
    pub fn file_not_found(path: &std::path::Path, span: Option<&Span>) -> LoadError {
        LoadError::not_found(
            format!(
                "Unable to retrieve file contents\nCould not find or access '{}' on the Ansible Controller.\n{REMOTE_SRC_NOTE}",
                path.display()
            ),
            span,
        )
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> LoadError {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_kind(mut self, kind: LoadErrorKind) -> LoadError {
        self.kind = kind;
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
    /// Keeps ansible-core's first line for a file it cannot parse; the YAML problem
    /// follows on the next line. ansible-core also prints the JSON parser's complaint,
    /// which rplay leaves out.
    fn from(err: crate::yaml::YamlError) -> LoadError {
        let hint = err.span.as_ref().and_then(yaml_hint);
        let Some(span) = err.span else {
            // No position: the file could not be read at all.
            return LoadError::new(err.message, None);
        };
        LoadError {
            message: format!(
                "{NOT_JSON_NOR_YAML}\nSyntax Error while loading YAML: {}",
                err.message
            ),
            span: Some(span),
            hint,
            kind: LoadErrorKind::Parse,
        }
    }
}

impl From<crate::yaml::FileError> for LoadError {
    fn from(err: crate::yaml::FileError) -> LoadError {
        match err {
            crate::yaml::FileError::Yaml(err) => err.into(),
            crate::yaml::FileError::Vault(err) => {
                LoadError::new(err.to_string(), None).with_kind(LoadErrorKind::Vault)
            }
            // No position: the file could not be read at all.
            read @ crate::yaml::FileError::Read { .. } => LoadError::new(read.to_string(), None),
        }
    }
}

/// Suggests a fix for the usual causes of a YAML syntax error at `span`: a tab in the
/// indentation, or a `[` or `{` opened earlier and not closed.
fn yaml_hint(span: &Span) -> Option<String> {
    let line = span.file.line(span.line).unwrap_or_default();
    let indentation: String = line.chars().take_while(|c| c.is_whitespace()).collect();
    if indentation.contains('\t') {
        return Some(
            "YAML does not allow tabs in indentation; indent this line with spaces".into(),
        );
    }
    let (line, column, bracket) = unclosed_bracket(span.file.text(), span.line)?;
    let closer = if bracket == '[' { ']' } else { '}' };
    Some(format!(
        "the '{bracket}' at line {line}, column {column} is not closed; add the missing '{closer}'"
    ))
}

/// Finds the innermost `[` or `{` that is still open at the end of the line before
/// `error_line`, skipping quoted text and comments. Returns its 1-based line, column and
/// the bracket. This is a heuristic for hints only: it does not parse YAML.
fn unclosed_bracket(text: &str, error_line: u32) -> Option<(u32, u32, char)> {
    let mut open: Vec<(u32, u32, char)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = u32::try_from(index + 1).ok()?;
        if number >= error_line {
            break;
        }
        let mut quote: Option<char> = None;
        let mut previous = ' ';
        for (column, c) in line.chars().enumerate() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None => match c {
                    '#' if previous.is_whitespace() => break,
                    '\'' | '"' if matches!(previous, ' ' | '[' | '{' | ',' | ':') => {
                        quote = Some(c)
                    }
                    '[' | '{' => open.push((number, u32::try_from(column + 1).ok()?, c)),
                    ']' | '}' => {
                        open.pop();
                    }
                    _ => {}
                },
            }
            previous = c;
        }
    }
    open.pop()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    #[test]
    fn unclosed_flow_sequence_found() {
        let text = "a:\n  msg: [1, 2, 3\nb: 1\n";
        assert_eq!(unclosed_bracket(text, 3), Some((2, 8, '[')));
    }

    #[test]
    fn closed_and_quoted_brackets_ignored() {
        let text = "a: [1, 2]\nb: \"[not a list\"\nc: '{x' # [comment\nd: 1\n";
        assert_eq!(unclosed_bracket(text, 4), None);
    }

    #[test]
    fn tab_indentation_hinted() {
        let file = SourceFile::new("play.yml", "tasks:\n\t- debug:\n");
        let hint = yaml_hint(&Span::new(file, 2, 1)).unwrap();
        assert!(hint.contains("tabs"), "{hint}");
    }
}
