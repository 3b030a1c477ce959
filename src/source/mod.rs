//! Source files, positions and located diagnostics.
//!
//! Every node the loaders produce keeps a [`Span`], so errors can print
//! `path:line:col`, the source line and a caret under the offending column.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A file read by one of the loaders, kept whole so diagnostics can quote it.
#[derive(Debug)]
pub struct SourceFile {
    path: PathBuf,
    text: String,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            path: path.into(),
            text: text.into(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Returns line `line` (1-based) without its line break.
    pub fn line(&self, line: u32) -> Option<&str> {
        let index = usize::try_from(line.checked_sub(1)?).ok()?;
        self.text.lines().nth(index)
    }
}

/// A position in a source file. Lines and columns are 1-based, as Ansible reports them.
#[derive(Clone)]
pub struct Span {
    pub file: Arc<SourceFile>,
    pub line: u32,
    pub column: u32,
}

impl Span {
    pub fn new(file: Arc<SourceFile>, line: u32, column: u32) -> Span {
        Span { file, line, column }
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.file.path().display(),
            self.line,
            self.column
        )
    }
}

impl PartialEq for Span {
    fn eq(&self, other: &Span) -> bool {
        Arc::ptr_eq(&self.file, &other.file)
            && self.line == other.line
            && self.column == other.column
    }
}

/// Renders a located message as
///
/// ```text
/// error: MESSAGE
///   --> path:line:col
///    |
///  3 |     - name: x
///    |       ^
///    = hint: HINT
/// ```
pub fn render_snippet(message: &str, span: &Span, hint: Option<&str>) -> String {
    let mut out = format!("error: {message}\n  --> {span}\n");
    if let Some(line) = span.file.line(span.line) {
        let number = span.line.to_string();
        let gutter = " ".repeat(number.len());
        let caret_pad: String = line
            .chars()
            .take(span.column.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        out.push_str(&format!(
            "{gutter} |\n{number} | {line}\n{gutter} | {caret_pad}^\n"
        ));
    }
    if let Some(hint) = hint {
        out.push_str(&format!("  = hint: {hint}\n"));
    }
    out
}

/// Renders where an error arose as ansible-core 2.18 appends it to an error raised on a
/// YAML value: the position, the offending line with the line before it, and a caret.
///
/// As in ansible-core, a blank offending line moves the quote up to the nearest line
/// with text, and a `k=v` pair on the line before moves the position to its `=`.
///
/// NOTE: ansible-core also appends hints about common YAML mistakes (unquoted
/// templates, unbalanced quotes, tabs, `k=v` shorthand); rplay does not add them yet.
pub fn ansible_error_context(span: &Span) -> String {
    let path = span.file.path().display();
    let position = |line: u32, column: u32| {
        format!(
            "The error appears to be in '{path}': line {line}, column {column}, but may\nbe elsewhere in the file depending on the exact syntax problem.\n"
        )
    };
    let lines: Vec<&str> = span.file.text().split_inclusive('\n').collect();
    if lines.is_empty() {
        return position(span.line, span.column);
    }
    let mut index = (span.line.saturating_sub(1) as usize).min(lines.len() - 1);
    while index > 0 && lines[index].trim().is_empty() {
        index -= 1;
    }
    let target = lines[index].trim_end();
    let previous = if index > 0 {
        lines[index - 1].trim_end()
    } else {
        ""
    };
    if let Some(equals) = shorthand_position(previous) {
        let arrow = format!("{}^ here", " ".repeat(equals));
        return format!(
            "{}\nThe offending line appears to be:\n\n{previous}\n{arrow}\n\n",
            position(span.line.saturating_sub(1), equals as u32 + 1)
        );
    }
    let arrow = format!(
        "{}^ here",
        " ".repeat(span.column.saturating_sub(1) as usize)
    );
    format!(
        "{}\nThe offending line appears to be:\n\n{previous}\n{target}\n{arrow}\n",
        position(span.line, span.column)
    )
}

/// The index of the `=` of a `word=value` pair in `line`, which ansible-core takes as
/// `k=v` shorthand that misled the YAML parser.
fn shorthand_position(line: &str) -> Option<usize> {
    static SHORTHAND: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let pattern = SHORTHAND.get_or_init(|| regex::Regex::new(r"\w+(\s+)?=(\s+)?[\w/-]+").unwrap());
    if pattern.is_match(line) {
        line.find('=')
    } else {
        None
    }
}

/// Returns the closest candidate to `name` when it is close enough to be a likely typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim_distance(name, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len().max(name.len()) / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance in characters.
fn strsim_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_points_at_column() {
        let file = SourceFile::new("play.yml", "- hosts: all\n  taks: []\n");
        let span = Span::new(file, 2, 3);
        let text = render_snippet(
            "unknown keyword 'taks'",
            &span,
            Some("did you mean 'tasks'?"),
        );
        assert_eq!(
            text,
            "error: unknown keyword 'taks'\n  --> play.yml:2:3\n  |\n2 |   taks: []\n  |   ^\n  = hint: did you mean 'tasks'?\n"
        );
    }

    #[test]
    fn ansible_context_quotes_line_before() {
        let file = SourceFile::new(
            "/p/play.yml",
            "- hosts: all\n  tasks:\n    - name: x\n      debug:\n",
        );
        assert_eq!(
            ansible_error_context(&Span::new(file, 3, 7)),
            "The error appears to be in '/p/play.yml': line 3, column 7, but may\n\
be elsewhere in the file depending on the exact syntax problem.\n\n\
The offending line appears to be:\n\n  tasks:\n    - name: x\n      ^ here\n"
        );
    }

    #[test]
    fn ansible_context_skips_blank_lines() {
        let file = SourceFile::new("/p/play.yml", "a: 1\nb: 2\n\n\n");
        let text = ansible_error_context(&Span::new(file, 4, 1));
        assert!(text.ends_with("\n\na: 1\nb: 2\n^ here\n"), "{text}");
    }

    #[test]
    fn suggest_finds_typo() {
        assert_eq!(suggest("taks", ["tasks", "hosts", "vars"]), Some("tasks"));
        assert_eq!(suggest("zzzzzz", ["tasks", "hosts"]), None);
    }
}
