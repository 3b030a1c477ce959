//! Text adjustments that make saphyr, a YAML 1.2 parser, read what libyaml reads.
//!
//! Where saphyr rejects white space that libyaml accepts and discards, the loader
//! rewrites that white space and parses again: the values are the same, because the
//! white space carries no content, and so are the positions, because a tab and a space
//! are both one column. Only the padding of quoted continuation lines adds characters,
//! which moves the columns of what follows on those lines.

use std::borrow::Cow;

use super::text::{byte_offset, line_starts};
use super::{Mark, Problem};

/// Turns NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR into line feeds: libyaml (YAML
/// 1.1) breaks lines at them, saphyr (YAML 1.2) reads them as text.
///
/// NOTE: libyaml keeps a LINE or PARAGRAPH SEPARATOR in the content of scalars that
/// keep line breaks, where rplay has a line feed.
pub(super) fn yaml_1_1_line_breaks(text: &str) -> Cow<'_, str> {
    if !text.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.replace(['\u{85}', '\u{2028}', '\u{2029}'], "\n"))
}

/// Rewrites the byte order marks that are not at the start of the input. libyaml skips
/// one at the start of a line like a space, and reads any other as text, where saphyr
/// rejects them; those become `placeholder`, which the composer turns back.
///
/// Returns the text and the placeholder, a private-use character the text lacks.
pub(super) fn inner_byte_order_marks(text: &str) -> Option<(String, char)> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !body.contains('\u{feff}') {
        return None;
    }
    let placeholder = ('\u{e000}'..='\u{f8ff}')
        .rev()
        .find(|c| !text.contains(*c))?;
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
    Some((rewritten, placeholder))
}

/// Returns `text` rewritten so that saphyr gets past `problem` as libyaml would, or
/// `None` when libyaml rejects the text too or no rewrite applies.
pub(super) fn rewrite_for(text: &str, problem: &Problem) -> Option<String> {
    match problem.message.as_str() {
        // `key:\tvalue`: libyaml skips the tab after the `:` of a simple key, but not
        // after the `:` of a complex key, which starts its line.
        "':' must be followed by a valid YAML whitespace" => {
            tabs_to_spaces_before(text, problem.mark, IndicatorRule::SimpleKeyColon)
        }
        // A tab in the leading white space of a quoted scalar's continuation line.
        "tab cannot be used as indentation" => {
            tabs_to_spaces_before(text, problem.mark, IndicatorRule::LineStart)
        }
        // A tab indenting a line inside a flow collection.
        "tabs disallowed within this context (block indentation)" if problem.in_flow => {
            tabs_to_spaces_before(text, problem.mark, IndicatorRule::LineStart)
        }
        // A quoted scalar whose continuation lines are left of the block's indentation.
        "invalid indentation in quoted scalar" => indent_quoted_continuation(text, problem.mark),
        _ => None,
    }
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

/// The byte offset of the closing quote of the quoted scalar at the start of `text`.
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
    fn quoted_continuation_indented() {
        let mark = Mark { line: 2, column: 6 };
        assert_eq!(
            indent_quoted_continuation("a:\n  b: \"x\ny\" # c\nz: 1\n", mark).as_deref(),
            Some("a:\n  b: \"x\n     y\" # c\nz: 1\n")
        );
    }

    #[test]
    fn inner_byte_order_marks_rewritten() {
        let (text, placeholder) =
            inner_byte_order_marks("\u{feff}a: b\u{feff}c\n\u{feff}d: 1\n").unwrap();
        assert_eq!(text, format!("\u{feff}a: b{placeholder}c\n d: 1\n"));
        assert!(inner_byte_order_marks("\u{feff}a: 1\n").is_none());
    }

    #[test]
    fn quoted_scalar_ends() {
        assert_eq!(quoted_scalar_end(r#""a\"b" c"#, '"'), Some(5));
        assert_eq!(quoted_scalar_end("'it''s' x", '\''), Some(6));
        assert_eq!(quoted_scalar_end("'open", '\''), None);
    }
}
