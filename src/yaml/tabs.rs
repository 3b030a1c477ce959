//! libyaml's rules for tabs in block context, which are stricter than saphyr's.
//!
//! libyaml (0.2.5) skips a tab between tokens only inside flow collections or after a
//! token that cannot be followed by a simple key on the same line (a scalar, the `:` of
//! a simple key, `---`). So in block context a tab is an error at the start of a line,
//! even on a blank or comment line, and right after `-`, `?` or the `:` of a complex
//! key. Scanners of multi-line scalars read the white space after their lines
//! themselves: a plain scalar rejects a tab left of its indentation (the enclosing
//! block's column plus one), a block scalar a tab left of its content's indentation,
//! and a quoted scalar accepts tabs anywhere.
//!
//! The checker runs between parser events. For the lines between two events it works out
//! which of those scanners reads their leading white space, from the kind of the last
//! event and the last significant character before each line.

use super::compose::{Context, EventSpan};
use super::text::SourceText;
use super::{Mark, Problem};

/// The kind of a parser event, as far as tabs after it are concerned.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum EventKind {
    PlainScalar,
    QuotedScalar,
    BlockScalar {
        empty: bool,
    },
    FlowCollectionStart,
    FlowCollectionEnd,
    /// Any other event: block collection starts and ends, aliases, document ends.
    Other,
}

/// The scanner that reads the leading white space of the lines after the last event.
#[derive(Clone, Copy, Default)]
enum Owner {
    /// The scanner between tokens: no tab at all.
    #[default]
    Token,
    /// A plain scalar looking for its continuation: no tab left of `indent`.
    Plain { indent: i64 },
    /// A block scalar: no tab left of its content's indentation.
    Block { indent: i64 },
}

#[derive(Default)]
pub(super) struct TabChecker {
    /// The last line whose leading white space has been checked or is exempt.
    checked_line: u32,
    owner: Owner,
    /// End of the last event.
    last_end: Option<Mark>,
}

impl TabChecker {
    /// Checks the lines from the last event up to the line where this one starts.
    pub(super) fn before_event(
        &mut self,
        source: &mut SourceText<'_>,
        context: &Context,
        kind: EventKind,
        span: EventSpan,
    ) -> Result<(), Problem> {
        if context.in_flow {
            self.checked_line = self.checked_line.max(span.start.line);
            return Ok(());
        }
        self.skip_rest_of_last_event(source);
        let header = match kind {
            EventKind::BlockScalar { empty } => source.block_scalar_header(span.start, empty),
            _ => None,
        };
        match header {
            Some(header) => self.check_block_scalar_start(source, header, span),
            None => self.check_lines_until(source, span.start.line),
        }
    }

    /// Checks the lines up to a block scalar's header, then its leading lines up to
    /// where its content starts.
    fn check_block_scalar_start(
        &mut self,
        source: &mut SourceText<'_>,
        header: Mark,
        span: EventSpan,
    ) -> Result<(), Problem> {
        self.check_lines_until(source, header.line)?;
        let explicit_indentation = source
            .line(header.line)
            .chars()
            .skip(header.column as usize)
            .take_while(|c| !c.is_whitespace())
            .any(|c| c.is_ascii_digit());
        let indent = i64::from(span.start.column) - 1;

        // Until the first content line sets the indentation, libyaml rejects any tab
        // in the leading white space.
        self.owner = if explicit_indentation {
            Owner::Block { indent }
        } else {
            Owner::Block { indent: i64::MAX }
        };
        self.check_lines_until(source, span.start.line)?;
        self.owner = Owner::Block { indent };
        Ok(())
    }

    /// Tokens after the last event on its line, such as the `:` after a key, leave the
    /// scanner between tokens.
    fn skip_rest_of_last_event(&mut self, source: &mut SourceText<'_>) {
        let Some(end) = self.last_end.take() else {
            return;
        };
        if end.line == self.checked_line && has_tokens(source.rest_of_line(end)) {
            self.owner = Owner::Token;
        }
    }

    /// Records what reads the white space after this event.
    pub(super) fn after_event(&mut self, context: &Context, kind: EventKind, span: EventSpan) {
        self.last_end = Some(span.end);
        match kind {
            EventKind::PlainScalar => {
                self.owner = Owner::Plain {
                    indent: context.indent + 1,
                };
                self.checked_line = self.checked_line.max(span.start.line);
            }
            EventKind::QuotedScalar => {
                self.owner = Owner::Token;
                self.checked_line = self.checked_line.max(span.end.line);
            }
            EventKind::BlockScalar { .. } => {}
            EventKind::FlowCollectionStart | EventKind::FlowCollectionEnd => {
                self.owner = Owner::Token;
                self.checked_line = self.checked_line.max(span.start.line);
            }
            EventKind::Other => {
                self.checked_line = self.checked_line.max(span.start.line);
            }
        }
    }

    /// Checks the lines after the last event up to the end of the input.
    pub(super) fn at_stream_end(&mut self, source: &mut SourceText<'_>) -> Result<(), Problem> {
        let last = source.line_count();
        self.check_lines_until(source, last)
    }

    fn check_lines_until(&mut self, source: &mut SourceText<'_>, last: u32) -> Result<(), Problem> {
        while self.checked_line < last {
            self.checked_line += 1;
            self.check_line(source, self.checked_line)?;
        }
        Ok(())
    }

    fn check_line(&mut self, source: &mut SourceText<'_>, line: u32) -> Result<(), Problem> {
        let text = source.line(line);
        let indentation = text.len() - text.trim_start_matches([' ', '\t']).len();
        let content = &text[indentation..];
        self.check_leading_tab(&text[..indentation], line)?;

        let content_column = i64::try_from(indentation).unwrap_or(i64::MAX);
        let document_marker = indentation == 0 && is_document_marker(content);
        let continues_scalar = match self.owner {
            Owner::Token => false,
            Owner::Plain { indent } | Owner::Block { indent } => {
                content_column >= indent && !document_marker
            }
        };
        if continues_scalar || content.is_empty() || content.starts_with('#') {
            return Ok(());
        }
        check_indicator_tabs(content, line, indentation)?;
        // A line with tokens leaves the scanner between tokens, unless it ends in a
        // scalar, which the next event reports.
        self.owner = Owner::Token;
        Ok(())
    }

    /// Rejects a tab in a line's leading white space where the owner does not skip it.
    /// The white space is spaces and tabs only, so its byte length is its width.
    fn check_leading_tab(&self, leading: &str, line: u32) -> Result<(), Problem> {
        let Some(tab) = leading.find('\t') else {
            return Ok(());
        };
        let column = i64::try_from(tab).unwrap_or(i64::MAX);
        let problem = match self.owner {
            Owner::Token => NOT_A_TOKEN,
            Owner::Plain { indent } if column < indent => {
                "while scanning a plain scalar, found a tab character that violates indentation"
            }
            Owner::Block { indent } if column < indent => {
                "while scanning a block scalar, found a tab character where an indentation space is expected"
            }
            _ => return Ok(()),
        };
        let column = u32::try_from(tab + 1).unwrap_or(u32::MAX);
        Err(Problem::new(problem, Mark { line, column }))
    }
}

const NOT_A_TOKEN: &str =
    "while scanning for the next token, found character that cannot start any token";

/// Tells whether a line is `---` or `...`, alone or followed by a blank.
fn is_document_marker(line: &str) -> bool {
    let rest = line
        .strip_prefix("---")
        .or_else(|| line.strip_prefix("..."));
    rest.is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// Tells whether `rest` has anything but blanks and a comment.
fn has_tokens(rest: &str) -> bool {
    let trimmed = rest.trim_start_matches([' ', '\t']);
    !trimmed.is_empty() && !trimmed.starts_with('#')
}

/// Rejects a tab after the `-`, `?` or `:` indicators that start a line's content.
fn check_indicator_tabs(content: &str, line: u32, indentation: usize) -> Result<(), Problem> {
    let mut rest = content;
    loop {
        let mut chars = rest.chars();
        let starts_indicator = matches!(chars.next(), Some('-' | '?' | ':'))
            && chars.next().is_none_or(|c| c == ' ' || c == '\t');
        if !starts_indicator {
            return Ok(());
        }
        let after = &rest[1..];
        let blanks = after.len() - after.trim_start_matches([' ', '\t']).len();
        if let Some(tab) = after[..blanks].find('\t') {
            let byte = indentation + (content.len() - rest.len()) + 1 + tab;
            let column = u32::try_from(byte + 1).unwrap_or(u32::MAX);
            return Err(Problem::new(NOT_A_TOKEN, Mark { line, column }));
        }
        rest = &after[blanks..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indicator_tabs() {
        assert!(check_indicator_tabs("- \ta", 1, 0).is_err());
        assert!(check_indicator_tabs("-\t", 1, 0).is_err());
        assert!(check_indicator_tabs("- - \ta", 1, 0).is_err());
        assert!(check_indicator_tabs("? a", 1, 0).is_ok());
        assert!(check_indicator_tabs("-1\t", 1, 0).is_ok());
        assert!(check_indicator_tabs("--- \ta", 1, 0).is_ok());
        assert!(check_indicator_tabs("a:\tb", 1, 0).is_ok());
    }

    #[test]
    fn indicator_tab_column() {
        let problem = check_indicator_tabs("- \ta", 3, 2).unwrap_err();
        assert_eq!(problem.mark, Mark { line: 3, column: 5 });
    }
}
