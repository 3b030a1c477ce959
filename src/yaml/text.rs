//! Access to the source text by line and column, for what saphyr's events leave out:
//! anchor names, the start of block scalars and indentless sequences as libyaml reports
//! them, and the characters around a node. Also libyaml's check of the characters a
//! stream may contain.

use super::{Mark, Problem};

/// Rejects the characters libyaml's reader rejects: C0 and C1 controls other than tab,
/// line feed, carriage return and NEL, DEL, U+FFFE and U+FFFF.
pub(super) fn check_characters(text: &str) -> Result<(), Problem> {
    let bytes = text.as_bytes();
    let allowed_ascii = |b: u8| b >= 0x20 && b != 0x7f || matches!(b, b'\t' | b'\n' | b'\r');
    let suspect = bytes.iter().enumerate().position(|(i, &b)| {
        if b < 0x80 {
            return !allowed_ascii(b);
        }
        // U+0080..U+009F are C2 80..C2 9F, and U+FFFE, U+FFFF are EF BF BE, EF BF BF.
        (b == 0xc2 && matches!(bytes.get(i + 1), Some(0x80..=0x9f)) && bytes[i + 1] != 0x85)
            || (b == 0xef
                && bytes.get(i + 1) == Some(&0xbf)
                && matches!(bytes.get(i + 2), Some(0xbe | 0xbf)))
    });
    let Some(offset) = suspect else {
        return Ok(());
    };
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let character = text[offset..].chars().next().map_or(0, u32::from);
    Err(Problem::new(
        format!("unacceptable character #x{character:04x}: control characters are not allowed"),
        Mark {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        },
    ))
}

/// The text being parsed, indexed by line on first use.
pub(super) struct SourceText<'a> {
    text: &'a str,
    /// Start byte of each line; line `n` (1-based) starts at `line_starts[n - 1]`.
    line_starts: Vec<usize>,
}

impl<'a> SourceText<'a> {
    pub(super) fn new(text: &'a str) -> SourceText<'a> {
        SourceText {
            text,
            line_starts: Vec::new(),
        }
    }

    pub(super) fn text(&self) -> &'a str {
        self.text
    }

    pub(super) fn line_count(&mut self) -> u32 {
        self.index_lines();
        u32::try_from(self.line_starts.len()).unwrap_or(u32::MAX)
    }

    fn index_lines(&mut self) {
        if self.line_starts.is_empty() {
            self.line_starts = line_starts(self.text);
        }
    }

    /// Returns the text from the start of line `line` (1-based) to the end, or an empty
    /// string past the last line.
    fn text_from_line(&mut self, line: u32) -> &'a str {
        self.index_lines();
        let index = (line as usize).saturating_sub(1);
        match self.line_starts.get(index) {
            Some(&start) => &self.text[start..],
            None => "",
        }
    }

    /// Line `line` without its line break.
    pub(super) fn line(&mut self, line: u32) -> &'a str {
        let text = self.text_from_line(line);
        let end = text.find(['\n', '\r']).unwrap_or(text.len());
        &text[..end]
    }

    /// Returns the text from `mark` to the end.
    pub(super) fn rest_at(&mut self, mark: Mark) -> &'a str {
        let line = self.text_from_line(mark.line);
        &line[byte_offset(line, mark.column)..]
    }

    /// Returns the part of the line of `mark` from it to the line break.
    pub(super) fn rest_of_line(&mut self, mark: Mark) -> &'a str {
        let line = self.line(mark.line);
        &line[byte_offset(line, mark.column)..]
    }

    /// Returns the part of the line of `mark` before it.
    pub(super) fn line_before(&mut self, mark: Mark) -> &'a str {
        let line = self.line(mark.line);
        &line[..byte_offset(line, mark.column)]
    }

    /// Returns the first character of a node that starts at `mark`, after its tag and
    /// anchor.
    pub(super) fn after_properties(&mut self, mark: Mark) -> Option<char> {
        let mut rest = self.rest_at(mark);
        while rest.starts_with(['!', '&']) {
            let end = rest.find(is_yaml_space).unwrap_or(rest.len());
            rest = rest[end..].trim_start_matches(is_yaml_space);
        }
        rest.chars().next()
    }

    /// Checks that the tag of the node whose properties start at `mark` is followed by
    /// white space, as libyaml needs. saphyr also accepts a flow indicator there
    /// (`!!str[a]` in a flow collection).
    pub(super) fn check_tag_separator(&mut self, mark: Mark) -> Result<(), Problem> {
        let mut rest = self.rest_at(mark);
        while let Some(first) = rest.chars().next().filter(|c| *c == '!' || *c == '&') {
            let end = if rest.starts_with("!<") {
                rest.find('>').map_or(rest.len(), |end| end + 1)
            } else {
                rest.find(|c: char| is_yaml_space(c) || ",[]{}".contains(c))
                    .unwrap_or(rest.len())
            };
            let next = rest[end..].chars().next();
            if first == '!' && next.is_some_and(|c| !is_yaml_space(c)) {
                return Err(Problem::new(
                    "while scanning a tag, did not find expected whitespace or line break",
                    mark,
                ));
            }
            rest = rest[end..].trim_start_matches(is_yaml_space);
        }
        Ok(())
    }

    /// Reads the anchor of the node whose properties start at `mark` (`&name` or
    /// `!tag &name`) and checks it against libyaml's rules.
    pub(super) fn anchor_name(&mut self, mark: Mark) -> Result<&'a str, Problem> {
        let mut rest = self.rest_at(mark);
        if rest.starts_with('!') {
            let tag_end = rest.find(is_yaml_space).unwrap_or(rest.len());
            rest = rest[tag_end..].trim_start_matches(is_yaml_space);
        }
        match rest.strip_prefix('&') {
            Some(name) => libyaml_name(name, "an anchor", mark),
            None => Err(Problem::new("could not find the anchor of this node", mark)),
        }
    }

    pub(super) fn check_alias_name(&mut self, mark: Mark) -> Result<(), Problem> {
        let rest = self.rest_at(mark);
        let name = rest.strip_prefix('*').unwrap_or(rest);
        libyaml_name(name, "an alias", mark).map(|_| ())
    }

    /// Finds the `|` or `>` that starts a block scalar whose content starts at
    /// `content` (saphyr puts the start there; libyaml at the indicator). The header
    /// is on the nearest line above the content that is not blank, or on the content's
    /// own line when the scalar is empty. An empty scalar at the end of the input
    /// starts at its indicator.
    pub(super) fn block_scalar_header(&mut self, content: Mark, empty: bool) -> Option<Mark> {
        if empty && block_indicator_column(self.rest_of_line(content)) == Some(1) {
            return Some(content);
        }
        let mut line = content.line;
        if let Some(column) = block_indicator_column(self.line_before(content)) {
            return Some(Mark { line, column });
        }
        while line > 1 {
            line -= 1;
            let text = self.line(line);
            if !text.trim().is_empty() {
                let column = block_indicator_column(text)?;
                return Some(Mark { line, column });
            }
        }
        None
    }

    /// Moves the start of a sequence that is a mapping value back to its first `-` when
    /// the sequence is not indented under its key (`key:\n- a`). saphyr starts such a
    /// sequence after the `- `, and libyaml at the `-`, which is in the key's column.
    pub(super) fn indentless_sequence_start(&mut self, mark: Mark, key_column: u32) -> Mark {
        if mark.column <= key_column {
            return mark;
        }
        let text = self.line(mark.line);
        let mut from_key_column = text[byte_offset(text, key_column)..].chars();
        let is_entry = from_key_column.next() == Some('-')
            && from_key_column.next().is_none_or(|c| c == ' ' || c == '\t');
        if is_entry {
            Mark {
                line: mark.line,
                column: key_column,
            }
        } else {
            mark
        }
    }

    /// Returns the last character before `mark` that is neither white space nor part of
    /// a comment, looking back over earlier lines as needed.
    pub(super) fn previous_significant(&mut self, mark: Mark) -> Option<char> {
        if let Some(c) = significant_end(self.line_before(mark)) {
            return Some(c);
        }
        let mut line = mark.line;
        while line > 1 {
            line -= 1;
            if let Some(c) = significant_end(self.line(line)) {
                return Some(c);
            }
        }
        None
    }
}

/// Returns the last character of `line` that is neither white space nor in a comment.
fn significant_end(line: &str) -> Option<char> {
    let mut end = line.len();
    let mut after_blank = true;
    for (offset, c) in line.char_indices() {
        if c == '#' && after_blank {
            end = offset;
            break;
        }
        after_blank = c == ' ' || c == '\t';
    }
    line[..end]
        .trim_end_matches([' ', '\t'])
        .chars()
        .next_back()
}

/// Returns the byte offset of 1-based character column `column` in `line`, or the
/// line's length past its end.
pub(super) fn byte_offset(line: &str, column: u32) -> usize {
    line.char_indices()
        .nth((column as usize).saturating_sub(1))
        .map_or(line.len(), |(offset, _)| offset)
}

/// Start bytes of the lines of `text`, where `\n`, `\r\n` and a lone `\r` end a line.
pub(super) fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let bytes = text.as_bytes();
    for (index, &byte) in bytes.iter().enumerate() {
        let is_break = byte == b'\n' || (byte == b'\r' && bytes.get(index + 1) != Some(&b'\n'));
        if is_break {
            starts.push(index + 1);
        }
    }
    starts
}

fn is_yaml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// libyaml reads an anchor or alias name as letters, digits, `-` and `_`, and needs a
/// blank, a line break, the end of input or one of `?:,]}%@\`` right after it. saphyr
/// reads every non-blank character except flow indicators, so a name libyaml stops at
/// `?:%@\`` would be read differently: those are rejected too.
fn libyaml_name<'a>(text: &'a str, what: &str, mark: Mark) -> Result<&'a str, Problem> {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(text.len());
    let name = &text[..end];
    let next = text[end..].chars().next();
    let accepted = !name.is_empty() && next.is_none_or(|c| is_yaml_space(c) || ",]}".contains(c));
    if accepted {
        Ok(name)
    } else {
        Err(Problem::new(
            format!("while scanning {what}, did not find expected alphabetic or numeric character"),
            mark,
        ))
    }
}

/// Finds the 1-based column of a block scalar indicator on a header line: a `|` or `>` after
/// a blank or at the start, outside quotes and before any comment, followed only by
/// chomping and indentation indicators. The last one wins, as plain keys may contain
/// ` | `.
pub(super) fn block_indicator_column(line: &str) -> Option<u32> {
    let mut found = None;
    let mut quote = None;
    let mut escaped = false;
    let mut after_blank = true;
    for (column, (offset, c)) in line.char_indices().enumerate() {
        if let Some(open) = quote {
            if escaped {
                escaped = false;
            } else if open == '"' && c == '\\' {
                escaped = true;
            } else if c == open {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' if after_blank => quote = Some(c),
            '#' if after_blank => break,
            '|' | '>' if after_blank && is_block_header_rest(&line[offset + 1..]) => {
                found = u32::try_from(column + 1).ok();
            }
            _ => {}
        }
        after_blank = c == ' ' || c == '\t';
    }
    found
}

fn is_block_header_rest(rest: &str) -> bool {
    let indicators = rest.trim_start_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit());
    indicators.is_empty() || indicators.starts_with([' ', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_indicator_found_after_key() {
        assert_eq!(block_indicator_column("key: |"), Some(6));
        assert_eq!(block_indicator_column("- >-"), Some(3));
        assert_eq!(block_indicator_column("a | b: |2+ # x | y"), Some(8));
        assert_eq!(block_indicator_column("\"a: |\": >"), Some(9));
        assert_eq!(block_indicator_column("key: |x"), None);
        assert_eq!(block_indicator_column("key: a|b"), None);
    }

    #[test]
    fn significant_end_skips_comments() {
        assert_eq!(significant_end("a: b # c"), Some('b'));
        assert_eq!(significant_end("? # c"), Some('?'));
        assert_eq!(significant_end("a#b"), Some('b'));
        assert_eq!(significant_end("   "), None);
    }
}
