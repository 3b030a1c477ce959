//! Source files, positions and located diagnostics.
//!
//! Every node the loaders produce keeps a [`Span`], so errors can print
//! `path:line:col`, the source line and a caret under the offending column.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod hints;

/// A file read by one of the loaders, kept whole so diagnostics can quote it.
#[derive(Debug)]
pub struct SourceFile {
    path: PathBuf,
    text: String,
    /// The vault text on disk of a file that was vault-encrypted, whose plaintext is
    /// `text`.
    vault_text: Option<String>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            path: path.into(),
            text: text.into(),
            vault_text: None,
        })
    }

    /// Creates a file read from vault text on disk, with its decrypted `text`.
    pub fn decrypted(
        path: impl Into<PathBuf>,
        text: impl Into<String>,
        vault_text: impl Into<String>,
    ) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            path: path.into(),
            text: text.into(),
            vault_text: Some(vault_text.into()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Returns the text as it is on disk: the vault text of an encrypted file.
    pub fn disk_text(&self) -> &str {
        self.vault_text.as_deref().unwrap_or(&self.text)
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

/// Describes where an error is as ansible-core appends it to run-time messages:
///
/// ```text
/// The error appears to be in 'PATH': line 7, column 13, but may
/// be elsewhere in the file depending on the exact syntax problem.
///
/// The offending line appears to be:
///
///         msg: hi
///       when: no_such_variable == 1
///             ^ here
/// ```
///
/// The quoted lines are the line of `span` (or the closest non-blank line above it)
/// and the line before it. They come from the file as it is on disk, which
/// ansible-core reads again, so for a vault-encrypted file they are lines of its vault
/// text. When that earlier line contains `k=v` shorthand, ansible-core points at its
/// `=` instead and adds a sentence about it, and so does this function.
///
/// When the quoted line looks like a common YAML mistake (a tab, unquoted `{{`, a stray
/// colon, unbalanced quotes), ansible-core's paragraphs of advice follow.
pub fn ansible_position_details(span: &Span) -> String {
    let path = span.path().display();
    let position = |line: u32, column: u32| {
        format!(
            "The error appears to be in '{path}': line {line}, column {column}, but may\nbe elsewhere in the file depending on the exact syntax problem.\n"
        )
    };
    let lines: Vec<&str> = span.file.disk_text().lines().collect();
    if lines.is_empty() {
        return position(span.line, span.column);
    }
    let mut index = (span.line.saturating_sub(1) as usize).min(lines.len() - 1);
    while index > 0 && lines[index].trim().is_empty() {
        index -= 1;
    }
    let target = lines[index].trim_end();
    let previous = if index > 0 { lines[index - 1] } else { "" };
    let advice = mistake_advice(&format!("{}\n", lines[index]), span.column as usize);
    if let Some(equals) = shorthand_equals(previous) {
        let arrow = format!("{}^ here", " ".repeat(equals));
        return format!(
            "{}\nThe offending line appears to be:\n\n{}\n{arrow}\n\nThere appears to be both 'k=v' shorthand syntax and YAML in this task. Only one syntax may be used.\n{advice}",
            position(span.line.saturating_sub(1), u32::try_from(equals + 1).unwrap_or(u32::MAX)),
            previous.trim_end()
        );
    }
    let arrow = format!(
        "{}^ here",
        " ".repeat(span.column.saturating_sub(1) as usize)
    );
    format!(
        "{}\nThe offending line appears to be:\n\n{}\n{target}\n{arrow}\n{advice}",
        position(span.line, span.column),
        previous.trim_end()
    )
}

/// Returns ansible-core's advice for the quoted `line` (with its newline), or nothing.
/// `column` is the error's column, counted from 1. The tests are ansible-core's, quirks
/// included: a line with `{{ }}` gets the advice on quoting unless it contains both
/// `"{{` and `'{{`.
fn mistake_advice(line: &str, column: usize) -> String {
    let mut advice = String::new();
    if line.contains('\t') {
        advice.push_str(hints::LEADING_TAB);
    }
    let chars: Vec<char> = line.chars().collect();
    if line.contains("{{")
        && line.contains("}}")
        && !(line.contains("\"{{") && line.contains("'{{"))
    {
        advice.push_str(hints::UNQUOTED_VARIABLE);
    } else if line.replace(' ', "").contains(":{{") && line.contains("}}") {
        advice.push_str(hints::DICT);
    } else if chars.len() > 1 && chars.get(column) == Some(&':') && line.matches(':').count() > 1 {
        advice.push_str(hints::UNQUOTED_COLON);
    } else if let Some(middle) = line.split(':').nth(1).map(str::trim) {
        let starts = |quote| middle.starts_with(quote);
        let ends = |quote| middle.ends_with(quote);
        if (starts('\'') && !ends('\'')) || (starts('"') && !ends('"')) {
            advice.push_str(hints::PARTIALLY_QUOTED);
        }
        let quoted = |c: Option<char>| matches!(c, Some('"' | '\''));
        // ansible-core's test reads `a and b and c and d or e`.
        if (quoted(middle.chars().next())
            && quoted(middle.chars().last())
            && line.matches('\'').count() > 2)
            || line.matches('"').count() > 2
        {
            advice.push_str(hints::UNBALANCED_QUOTES);
        }
    }
    advice
}

/// Returns the character index of the first `=` in `line` when the line contains
/// `word=value` shorthand, the pattern ansible-core looks for in the line before an error.
fn shorthand_equals(line: &str) -> Option<usize> {
    static SHORTHAND: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\w+\s*=\s*[\w/-]+").expect("valid regex"));
    if !SHORTHAND.is_match(line) {
        return None;
    }
    let trimmed = line.trim_end();
    let byte = trimmed.find('=')?;
    Some(trimmed[..byte].chars().count())
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
    fn advice_follows_ansible_core_tests() {
        let advice = |line: &str, column| mistake_advice(&format!("{line}\n"), column);
        assert_eq!(
            advice("  - command: \"echo {{ x }}\"", 5),
            hints::UNQUOTED_VARIABLE
        );
        // Both kinds of quoted `{{`: no advice on quoting, but the colon test matches.
        assert_eq!(
            advice("  a: \"{{ x }}\" b: '{{ y }}'", 3),
            hints::UNQUOTED_COLON
        );
        assert_eq!(advice("  app: {{ base }}/foo", 3), hints::UNQUOTED_VARIABLE);
        assert_eq!(advice("  app:{x: 1}", 3), "");
        assert_eq!(advice("\tname: x", 1), hints::LEADING_TAB);
        assert_eq!(advice("  copy: dest=/a:b", 6), hints::UNQUOTED_COLON);
        assert_eq!(advice("  when: \"ok\" in out", 3), hints::PARTIALLY_QUOTED);
        assert_eq!(
            advice("  foo: \"bad\" \"wolf\"", 3),
            hints::UNBALANCED_QUOTES
        );
        assert_eq!(advice("  name: plain", 3), "");
    }

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
    fn position_details_quote_two_lines() {
        let file = SourceFile::new(
            "/p/play.yml",
            "- hosts: all\n  tasks:\n    - debug:\n        msg: hi\n      when: x == 1\n",
        );
        let details = ansible_position_details(&Span::new(file, 5, 13));
        assert_eq!(
            details,
            "The error appears to be in '/p/play.yml': line 5, column 13, but may\nbe elsewhere in the file depending on the exact syntax problem.\n\nThe offending line appears to be:\n\n        msg: hi\n      when: x == 1\n            ^ here\n"
        );
    }

    #[test]
    fn position_details_first_line_has_empty_previous() {
        let file = SourceFile::new("/p/play.yml", "- hosts: all\n");
        let details = ansible_position_details(&Span::new(file, 1, 3));
        assert!(
            details.ends_with("The offending line appears to be:\n\n\n- hosts: all\n  ^ here\n"),
            "{details}"
        );
    }

    #[test]
    fn position_details_point_at_shorthand() {
        let file = SourceFile::new("/p/play.yml", "    - debug: msg=hi\n      when: x\n");
        let details = ansible_position_details(&Span::new(file, 2, 13));
        assert!(details.contains("line 1, column 17"), "{details}");
        assert!(
            details.contains("    - debug: msg=hi\n                ^ here\n\nThere appears"),
            "{details}"
        );
    }

    #[test]
    fn suggest_finds_typo() {
        assert_eq!(suggest("taks", ["tasks", "hosts", "vars"]), Some("tasks"));
        assert_eq!(suggest("zzzzzz", ["tasks", "hosts"]), None);
    }
}
