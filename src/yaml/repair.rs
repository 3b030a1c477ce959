//! Text adjustments that make saphyr, a YAML 1.2 parser, read what libyaml reads.
//!
//! Where saphyr rejects white space that libyaml accepts and discards, the loader
//! rewrites that white space and parses again. The values stay the same because the
//! white space carries no content, and so do the positions, because a tab and a space
//! are both one column. Only the padding of quoted continuation lines adds characters,
//! which moves the columns of what follows on those lines. Where saphyr rejects a
//! character that libyaml reads as text (a byte order mark inside a document, a lone
//! `-` before a flow indicator), the character becomes a private-use placeholder that
//! the composer turns back in scalar values.

use std::borrow::Cow;

use super::text::{byte_offset, line_starts};
use super::{Mark, Problem};

/// The text handed to saphyr, with the rewrites made so far.
pub(super) struct ParseInput<'t> {
    pub text: Cow<'t, str>,
    /// Placeholder characters and the characters they stand for.
    pub substitutions: Vec<(char, char)>,
    /// Start marks of the tab runs rewritten speculatively, in order. No scalar may
    /// contain one.
    pub rewritten: Vec<Mark>,
}

impl<'t> ParseInput<'t> {
    /// Prepares `original` with the rewrites every parse needs.
    pub(super) fn new(original: &'t str) -> ParseInput<'t> {
        let mut input = ParseInput {
            text: yaml_1_1_line_breaks(original),
            substitutions: Vec::new(),
            rewritten: Vec::new(),
        };
        input.substitute_inner_byte_order_marks();
        input
    }

    /// Returns a private-use character that is neither in the text nor a placeholder
    /// already.
    fn new_placeholder(&self) -> Option<char> {
        ('\u{e000}'..='\u{f8ff}')
            .rev()
            .find(|c| !self.text.contains(*c) && self.substitutions.iter().all(|(p, _)| p != c))
    }

    /// Rewrites the byte order marks that are not at the start of the input. libyaml
    /// skips one at the start of a line like a space, and reads any other as text,
    /// where saphyr rejects them.
    fn substitute_inner_byte_order_marks(&mut self) {
        let body = self.text.strip_prefix('\u{feff}').unwrap_or(&self.text);
        if !body.contains('\u{feff}') {
            return;
        }
        let Some(placeholder) = self.new_placeholder() else {
            return;
        };
        let text = &self.text;
        let mut rewritten = String::with_capacity(text.len());
        let mut line_start = true;
        for (index, c) in text.char_indices() {
            let replacement = match c {
                '\u{feff}' if index == 0 => c,
                '\u{feff}' if line_start || text[..index] == *"\u{feff}" => ' ',
                '\u{feff}' => placeholder,
                _ => c,
            };
            rewritten.push(replacement);
            line_start = matches!(c, '\n' | '\r');
        }
        self.text = Cow::Owned(rewritten);
        self.substitutions.push((placeholder, '\u{feff}'));
    }

    /// Rewrites the text so that saphyr gets past `problem` as libyaml would. Returns
    /// false when libyaml rejects the text too or no rewrite applies.
    pub(super) fn rewrite_for(&mut self, problem: &Problem) -> bool {
        let text = &self.text;
        let rewritten = match problem.message.as_str() {
            // `key:\tvalue`: libyaml skips the tab after the `:` of a simple key, but
            // not after the `:` of a complex key, which starts its line.
            COLON_TAB => tabs_to_spaces_before(text, problem.mark, IndicatorRule::SimpleKeyColon),
            // A tab in the leading white space of a quoted scalar's continuation line.
            "tab cannot be used as indentation" => {
                tabs_to_spaces_before(text, problem.mark, IndicatorRule::LineStart)
            }
            // A tab indenting a line inside a flow collection.
            "tabs disallowed within this context (block indentation)" if problem.in_flow => {
                tabs_to_spaces_before(text, problem.mark, IndicatorRule::LineStart)
            }
            // Tabs around a flow indicator, such as `{? \t: b}`.
            "tabs disallowed in this context"
                if problem.in_flow || opens_flow_before(text, problem.mark) =>
            {
                tabs_to_spaces_around(text, problem.mark)
            }
            // `]#`, `"x"#`: libyaml starts a comment at `#` right after a token.
            "comments must be separated from other tokens by whitespace" => {
                space_before_comment(text, problem.mark)
            }
            // A quoted scalar whose continuation lines are left of the block's
            // indentation.
            "invalid indentation in quoted scalar" => {
                indent_quoted_continuation(text, problem.mark)
            }
            // A line inside a flow collection indented no deeper than the block around
            // it, such as the closing `}` of `key: {` at column 1. libyaml does not check
            // indentation inside flow collections.
            "invalid indentation" if problem.in_flow || continues_flow(text, problem.mark) => {
                indent_flow_line(text, problem.mark)
            }
            // `[-]` or `{a: -}`: libyaml reads the `-` as a plain scalar.
            "plain scalar cannot start with '-' followed by ,[]{}" => {
                return self.substitute_dash(problem.mark);
            }
            _ => None,
        };
        match rewritten {
            Some(text) => {
                self.text = Cow::Owned(text);
                true
            }
            None => false,
        }
    }

    fn substitute_dash(&mut self, mark: Mark) -> bool {
        let starts = line_starts(&self.text);
        let Some(&line_start) = starts.get((mark.line as usize).saturating_sub(1)) else {
            return false;
        };
        let offset = line_start + byte_offset(&self.text[line_start..], mark.column);
        let mut rest = self.text[offset..].chars();
        let is_lone_dash =
            rest.next() == Some('-') && rest.next().is_some_and(|c| ",[]{}".contains(c));
        let placeholder = self
            .substitutions
            .iter()
            .find(|(_, original)| *original == '-')
            .map(|(p, _)| *p)
            .or_else(|| self.new_placeholder());
        let Some(placeholder) = placeholder.filter(|_| is_lone_dash) else {
            return false;
        };
        let text = format!(
            "{}{placeholder}{}",
            &self.text[..offset],
            &self.text[offset + 1..]
        );
        self.text = Cow::Owned(text);
        if !self.substitutions.contains(&(placeholder, '-')) {
            self.substitutions.push((placeholder, '-'));
        }
        true
    }

    /// Rewrites every tab that starts the white space after a `:` that follows text on
    /// its line, when `problem` is saphyr rejecting the first of them. A file can have
    /// many, and rewriting them one parse at a time would be quadratic. Records where
    /// each rewritten run starts, for the composer to check that no scalar contains
    /// one (a literal block can hold `key:\tvalue` as text).
    pub(super) fn rewrite_all_colon_tabs(&mut self, problem: &Problem) -> bool {
        if problem.message != COLON_TAB || !self.rewritten.is_empty() {
            return false;
        }
        match rewrite_all_colon_tabs(&self.text) {
            Some((text, marks)) => {
                self.text = Cow::Owned(text);
                self.rewritten = marks;
                true
            }
            None => false,
        }
    }
}

/// Checks whether the text before the line of `mark` ends with `{`, `[` or `,`, so that
/// the line continues a flow collection. saphyr can report the first line of a flow
/// collection before the composer has seen the collection start.
fn continues_flow(text: &str, mark: Mark) -> bool {
    let starts = line_starts(text);
    let Some(&line_start) = (mark.line as usize)
        .checked_sub(1)
        .and_then(|index| starts.get(index))
    else {
        return false;
    };
    text[..line_start].trim_end().ends_with(['{', '[', ','])
}

/// The deepest indentation that [`indent_flow_line`] gives a line.
const MAX_FLOW_INDENT: usize = 200;

const COLON_TAB: &str = "':' must be followed by a valid YAML whitespace";

/// Turns NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR into line feeds: libyaml (YAML
/// 1.1) breaks lines at them, saphyr (YAML 1.2) reads them as text.
///
/// NOTE: libyaml keeps a LINE or PARAGRAPH SEPARATOR in the content of scalars that
/// keep line breaks, where rplay has a line feed.
fn yaml_1_1_line_breaks(text: &str) -> Cow<'_, str> {
    if !text.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.replace(['\u{85}', '\u{2028}', '\u{2029}'], "\n"))
}

/// Rewrites every tab after a `:` that follows text on its line. Returns the text and
/// where each rewritten run starts, in order.
fn rewrite_all_colon_tabs(text: &str) -> Option<(String, Vec<Mark>)> {
    let mut rewritten = String::with_capacity(text.len());
    let mut marks = Vec::new();
    let starts = line_starts(text);
    let ends = starts.iter().skip(1).copied().chain([text.len()]);
    for (index, (start, end)) in starts.iter().copied().zip(ends).enumerate() {
        let line = &text[start..end];
        let content_start = line.len() - line.trim_start_matches([' ', '\t']).len();
        let mut copied = 0;
        for (offset, _) in line.match_indices(":\t") {
            if offset <= content_start {
                continue;
            }
            let run_start = offset + 1;
            let run_length =
                line[run_start..].len() - line[run_start..].trim_start_matches([' ', '\t']).len();
            rewritten.push_str(&line[copied..run_start]);
            rewritten.push_str(&line[run_start..run_start + run_length].replace('\t', " "));
            copied = run_start + run_length;
            let column = line[..run_start].chars().count() + 1;
            marks.push(Mark {
                line: u32::try_from(index + 1).ok()?,
                column: u32::try_from(column).ok()?,
            });
        }
        rewritten.push_str(&line[copied..]);
    }
    (!marks.is_empty()).then_some((rewritten, marks))
}

#[derive(PartialEq)]
enum IndicatorRule {
    /// The white space follows a `:` that is not the first thing on its line.
    SimpleKeyColon,
    /// The white space starts the line.
    LineStart,
}

/// Replaces the tabs in the run of blanks that ends at `mark` with spaces.
fn tabs_to_spaces_before(text: &str, mark: Mark, rule: IndicatorRule) -> Option<String> {
    let starts = line_starts(text);
    let line_start = *starts.get((mark.line as usize).checked_sub(1)?)?;
    let line_end = starts
        .get(mark.line as usize)
        .copied()
        .unwrap_or(text.len());
    let line = &text[line_start..line_end];
    let (run_start, end, accepted) = match rule {
        IndicatorRule::SimpleKeyColon => {
            let end = line_start + byte_offset(line, mark.column);
            let run_start = text[line_start..end].trim_end_matches([' ', '\t']).len() + line_start;
            let before = &text[line_start..run_start];
            let accepted =
                before.ends_with(':') && !before.trim_start_matches([' ', '\t']).starts_with(':');
            (run_start, end, accepted)
        }
        IndicatorRule::LineStart => {
            let blanks = line.len() - line.trim_start_matches([' ', '\t']).len();
            let mark_offset = byte_offset(line, mark.column);
            (line_start, line_start + blanks, mark_offset <= blanks)
        }
    };
    let run = &text[run_start..end];
    if !accepted || !run.contains('\t') {
        return None;
    }
    Some(format!(
        "{}{}{}",
        &text[..run_start],
        run.replace('\t', " "),
        &text[end..]
    ))
}

/// Replaces the tabs in the run of blanks around `mark` with spaces.
fn tabs_to_spaces_around(text: &str, mark: Mark) -> Option<String> {
    let offset = mark_offset(text, mark)?;
    let is_blank = |c: char| c == ' ' || c == '\t';
    let start = text[..offset].trim_end_matches(is_blank).len();
    let end = offset + (text[offset..].len() - text[offset..].trim_start_matches(is_blank).len());
    let run = &text[start..end];
    if !run.contains('\t') {
        return None;
    }
    Some(format!(
        "{}{}{}",
        &text[..start],
        run.replace('\t', " "),
        &text[end..]
    ))
}

/// Tells whether a `[` or `{` before `mark` on its line is still open, outside quotes.
/// The parser's own state can lag behind the scanner that reported a problem.
fn opens_flow_before(text: &str, mark: Mark) -> bool {
    let Some(offset) = mark_offset(text, mark) else {
        return false;
    };
    let line_start = text[..offset].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let mut depth = 0i32;
    let mut quote = None;
    for c in text[line_start..offset].chars() {
        match (quote, c) {
            (Some(open), _) if c == open => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            _ => {}
        }
    }
    depth > 0
}

/// Inserts a space before the `#` at `mark`, which only moves the comment.
fn space_before_comment(text: &str, mark: Mark) -> Option<String> {
    let offset = mark_offset(text, mark)?;
    if !text[offset..].starts_with('#') {
        return None;
    }
    Some(format!("{} {}", &text[..offset], &text[offset..]))
}

/// Returns the byte offset of `mark` in `text`.
fn mark_offset(text: &str, mark: Mark) -> Option<usize> {
    let starts = line_starts(text);
    let line_start = *starts.get((mark.line as usize).checked_sub(1)?)?;
    Some(line_start + byte_offset(&text[line_start..], mark.column))
}

/// Indents the continuation lines of the quoted scalar that starts at `mark` to the
/// column of its opening quote. libyaml does not check their indentation; their
/// leading white space is not content.
fn indent_quoted_continuation(text: &str, mark: Mark) -> Option<String> {
    let starts = line_starts(text);
    let line_start = *starts.get((mark.line as usize).checked_sub(1)?)?;
    let quote_offset = line_start + byte_offset(&text[line_start..], mark.column);
    let quote = text[quote_offset..]
        .chars()
        .next()
        .filter(|c| *c == '"' || *c == '\'')?;
    let end = quoted_scalar_end(&text[quote_offset..], quote)? + quote_offset;
    let target = (mark.column as usize).saturating_sub(1);

    let mut rewritten = String::with_capacity(text.len() + 64);
    let mut changed = false;
    let mut position = 0;
    for &start in &starts {
        if start <= quote_offset || start > end {
            continue;
        }
        let line = &text[start..];
        let blanks = line.len() - line.trim_start_matches([' ', '\t']).len();
        let rest = &line[blanks..];
        let is_document_marker =
            (rest.starts_with("---") || rest.starts_with("...")) && blanks == 0;
        if blanks >= target || is_document_marker {
            continue;
        }
        rewritten.push_str(&text[position..start]);
        rewritten.push_str(&" ".repeat(target));
        position = start + blanks;
        changed = true;
    }
    rewritten.push_str(&text[position..]);
    changed.then_some(rewritten)
}

/// Indents the line of `mark` one column deeper than the last line above it that has
/// content, or one column deeper than it is, when `mark` is at the first character of
/// its line. saphyr reports the line again while it is not deep enough, so each rewrite
/// moves it further, up to [`MAX_FLOW_INDENT`]. Leading white space inside a flow
/// collection carries no content.
fn indent_flow_line(text: &str, mark: Mark) -> Option<String> {
    let starts = line_starts(text);
    let index = (mark.line as usize).checked_sub(1)?;
    let line_start = *starts.get(index)?;
    let mark_offset = line_start + byte_offset(&text[line_start..], mark.column);
    if !text[line_start..mark_offset].chars().all(|c| c == ' ') {
        return None;
    }
    let indentation = |start: usize| {
        let line = text[start..].lines().next().unwrap_or_default();
        let content = line.trim_start_matches(' ');
        let blank = content.is_empty() || content.starts_with('#');
        (!blank).then(|| line.len() - content.len())
    };
    let above = starts[..index]
        .iter()
        .rev()
        .find_map(|&start| indentation(start))?;
    let current = mark_offset - line_start;
    let target = (above + 1).max(current + 1);
    if target > MAX_FLOW_INDENT {
        return None;
    }
    let padding = " ".repeat(target - current);
    Some(format!(
        "{}{padding}{}",
        &text[..line_start],
        &text[line_start..]
    ))
}

/// Returns the byte offset of the closing quote of the quoted scalar at the start of
/// `text`.
fn quoted_scalar_end(text: &str, quote: char) -> Option<usize> {
    let mut chars = text.char_indices().skip(1);
    while let Some((offset, c)) = chars.next() {
        match c {
            '\\' if quote == '"' => {
                chars.next();
            }
            '\'' if quote == '\'' => {
                if text[offset + 1..].starts_with('\'') {
                    chars.next();
                } else {
                    return Some(offset);
                }
            }
            '"' if quote == '"' => return Some(offset),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_after_simple_key_colon() {
        let mark = Mark { line: 2, column: 4 };
        assert_eq!(
            tabs_to_spaces_before("x: 1\na:\tb\n", mark, IndicatorRule::SimpleKeyColon).as_deref(),
            Some("x: 1\na: b\n")
        );
        let complex = Mark { line: 2, column: 3 };
        assert_eq!(
            tabs_to_spaces_before("? a\n:\tb\n", complex, IndicatorRule::SimpleKeyColon),
            None
        );
    }

    #[test]
    fn all_colon_tabs_rewritten() {
        let (text, marks) = rewrite_all_colon_tabs("a:\tb\n\tc:\t\td\n:\te\n").unwrap();
        assert_eq!(text, "a: b\n\tc:  d\n:\te\n");
        assert_eq!(
            marks,
            [Mark { line: 1, column: 3 }, Mark { line: 2, column: 4 }]
        );
    }

    #[test]
    fn quoted_continuation_indented() {
        let mark = Mark { line: 2, column: 6 };
        assert_eq!(
            indent_quoted_continuation("a:\n  b: \"x\ny\" # c\nz: 1\n", mark).as_deref(),
            Some("a:\n  b: \"x\n     y\" # c\nz: 1\n")
        );
    }

    #[test]
    fn inner_byte_order_marks_substituted() {
        let input = ParseInput::new("\u{feff}a: b\u{feff}c\n\u{feff}d: 1\n");
        let [(placeholder, '\u{feff}')] = input.substitutions[..] else {
            panic!("expected one substitution, got {:?}", input.substitutions);
        };
        assert_eq!(input.text, format!("\u{feff}a: b{placeholder}c\n d: 1\n"));
        assert!(ParseInput::new("\u{feff}a: 1\n").substitutions.is_empty());
    }

    #[test]
    fn lone_dash_in_flow_substituted() {
        let mut input = ParseInput::new("{a: -}\n");
        let problem = Problem::new(
            "plain scalar cannot start with '-' followed by ,[]{}",
            Mark { line: 1, column: 5 },
        );
        assert!(input.rewrite_for(&problem));
        let [(placeholder, '-')] = input.substitutions[..] else {
            panic!("expected one substitution");
        };
        assert_eq!(input.text, format!("{{a: {placeholder}}}\n"));
    }

    #[test]
    fn quoted_scalar_ends() {
        assert_eq!(quoted_scalar_end(r#""a\"b" c"#, '"'), Some(5));
        assert_eq!(quoted_scalar_end("'it''s' x", '\''), Some(6));
        assert_eq!(quoted_scalar_end("'open", '\''), None);
    }
}
