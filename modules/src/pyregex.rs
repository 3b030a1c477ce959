//! Python `re` patterns and replacement templates on top of `fancy-regex`, for the
//! modules that take regular expressions (`lineinfile`, `blockinfile`, `replace`).

use fancy_regex::{Captures, Regex};

/// Compiles a Python pattern. Without `multiline`, `$` matches at the end and before a
/// final newline, and `\Z` only at the end, as in Python.
pub fn compile(pattern: &str, multiline: bool) -> Result<Regex, String> {
    let translated = translate(pattern, multiline);
    let flagged = if multiline {
        format!("(?m){translated}")
    } else {
        translated
    };
    Regex::new(&flagged).map_err(|err| err.to_string())
}

/// Rewrites the parts of Python's syntax that mean something else to `fancy-regex`.
fn translate(pattern: &str, multiline: bool) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push('\\');
                    break;
                };
                if next == 'Z' && !in_class {
                    out.push_str("\\z");
                } else {
                    out.push('\\');
                    out.push(next);
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A `]` right after `[` or `[^` is a literal.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '$' if !in_class && !multiline => out.push_str("(?:(?=\\n\\z)|\\z)"),
            _ => out.push(c),
        }
    }
    out
}

/// A parsed Python replacement template: literal text and group references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Group(usize),
}

impl Template {
    /// Parses `template` for matches of `regex` as Python's `re` does before it
    /// replaces anything: `\1`, `\g<1>` and `\g<name>` refer to groups, `\n` and the
    /// other C escapes and octal escapes are characters, `\` before a non-letter stays
    /// as written. Errors carry Python's `re.error` message and position.
    pub fn parse(template: &str, regex: &Regex) -> Result<Template, String> {
        TemplateParser::new(template, regex)?.parse()
    }

    /// Returns the replacement for one match. An unmatched group expands to nothing, as
    /// in Python 3.5+.
    pub fn expand(&self, captures: &Captures<'_, str>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Group(index) => {
                    out.push_str(captures.get(*index).map_or("", |m| m.as_str()));
                }
            }
        }
        out
    }
}

/// A template token: one character, or a backslash and the character after it.
type Token = String;

/// Python's template tokenizer: `next` is read ahead, so a trailing lone backslash
/// fails as soon as the token before it is consumed.
struct TemplateParser<'a> {
    chars: Vec<char>,
    template: &'a str,
    regex: &'a Regex,
    /// Index in `chars` after `next`.
    index: usize,
    next: Option<Token>,
    pieces: Vec<Piece>,
    literal: String,
}

impl<'a> TemplateParser<'a> {
    fn new(template: &'a str, regex: &'a Regex) -> Result<TemplateParser<'a>, String> {
        let mut parser = TemplateParser {
            chars: template.chars().collect(),
            template,
            regex,
            index: 0,
            next: None,
            pieces: Vec::new(),
            literal: String::new(),
        };
        parser.advance()?;
        Ok(parser)
    }

    fn advance(&mut self) -> Result<(), String> {
        let Some(&c) = self.chars.get(self.index) else {
            self.next = None;
            return Ok(());
        };
        let mut token = c.to_string();
        let mut end = self.index + 1;
        if c == '\\' {
            let Some(&escaped) = self.chars.get(end) else {
                let position = self.chars.len() - 1;
                return Err(self.error_at("bad escape (end of pattern)", position));
            };
            token.push(escaped);
            end += 1;
        }
        self.index = end;
        self.next = Some(token);
        Ok(())
    }

    fn get(&mut self) -> Result<Option<Token>, String> {
        let token = self.next.take();
        self.advance()?;
        Ok(token)
    }

    /// Takes the next token when it is a single character in `set`.
    fn take_if(&mut self, set: &str) -> Result<Option<char>, String> {
        match self.next.as_deref().map(|t| t.chars().collect::<Vec<_>>()) {
            Some(chars) if chars.len() == 1 && set.contains(chars[0]) => {
                self.advance()?;
                Ok(Some(chars[0]))
            }
            _ => Ok(None),
        }
    }

    /// Position of `next` in characters.
    fn tell(&self) -> usize {
        self.index - self.next.as_ref().map_or(0, |t| t.chars().count())
    }

    fn error(&self, message: &str, offset: usize) -> String {
        self.error_at(message, self.tell() - offset)
    }

    /// `re.error`'s text: the message, the position, and line and column when the
    /// template has several lines.
    fn error_at(&self, message: &str, position: usize) -> String {
        let before: String = self.chars[..position].iter().collect();
        let mut text = format!("{message} at position {position}");
        if self.template.contains('\n') {
            let line = before.matches('\n').count() + 1;
            let column = position
                - before
                    .rfind('\n')
                    .map_or(0, |i| before[..=i].chars().count())
                + 1;
            text = format!("{text} (line {line}, column {column})");
        }
        text
    }

    fn parse(mut self) -> Result<Template, String> {
        while let Some(token) = self.get()? {
            let mut chars = token.chars();
            let first = chars.next().unwrap_or_default();
            let Some(escaped) = chars.next().filter(|_| first == '\\') else {
                self.literal.push(first);
                continue;
            };
            match escaped {
                'g' => self.named_group()?,
                '0' => {
                    let mut digits = String::new();
                    for _ in 0..2 {
                        match self.take_if("01234567")? {
                            Some(digit) => digits.push(digit),
                            None => break,
                        }
                    }
                    let value = u32::from_str_radix(&digits, 8).unwrap_or(0) & 0xff;
                    self.literal.extend(char::from_u32(value));
                }
                '1'..='9' => self.numbered_group(escaped)?,
                _ => match c_escape(escaped) {
                    Some(c) => self.literal.push(c),
                    None if escaped.is_ascii_alphabetic() => {
                        return Err(self.error(&format!("bad escape \\{escaped}"), 2));
                    }
                    None => self.literal.push_str(&token),
                },
            }
        }
        if !self.literal.is_empty() {
            self.pieces
                .push(Piece::Literal(std::mem::take(&mut self.literal)));
        }
        Ok(Template {
            pieces: self.pieces,
        })
    }

    /// `\N`, `\NN`, or a three-digit octal escape `\NNN`.
    fn numbered_group(&mut self, first: char) -> Result<(), String> {
        let mut digits = first.to_string();
        if let Some(second) = self.take_if("0123456789")? {
            digits.push(second);
            let octal = |c: char| ('0'..='7').contains(&c);
            if octal(first) && octal(second) {
                if let Some(third) = self.take_if("01234567")? {
                    digits.push(third);
                    let value = u32::from_str_radix(&digits, 8).unwrap_or(0);
                    if value > 0o377 {
                        let message =
                            format!("octal escape value \\{digits} outside of range 0-0o377");
                        return Err(self.error(&message, digits.len() + 1));
                    }
                    self.literal.extend(char::from_u32(value));
                    return Ok(());
                }
            }
        }
        let index = digits.parse().unwrap_or(usize::MAX);
        self.add_group(index, digits.len())
    }

    /// `\g<name>` or `\g<number>`.
    fn named_group(&mut self) -> Result<(), String> {
        if self.take_if("<")?.is_none() {
            return Err(self.error("missing <", 0));
        }
        let mut name = String::new();
        loop {
            let token = self.get()?;
            match token.as_deref() {
                None if name.is_empty() => return Err(self.error("missing group name", 0)),
                None => {
                    let length = name.chars().count();
                    return Err(self.error("missing >, unterminated name", length));
                }
                Some(">") if name.is_empty() => return Err(self.error("missing group name", 1)),
                Some(">") => break,
                Some(text) => name.push_str(text),
            }
        }
        let length = name.chars().count() + 1;
        if is_identifier(&name) {
            let index = self
                .regex
                .capture_names()
                .position(|group| group == Some(name.as_str()))
                // NOTE: Python raises IndexError here, not `re.error`, so modules that
                // catch only `re.error` fail with a traceback where rplay reports this text.
                .ok_or_else(|| format!("unknown group name '{name}'"))?;
            return self.add_group(index, length);
        }
        match name.parse::<usize>() {
            Ok(index) if name.chars().all(|c| c.is_ascii_digit()) => self.add_group(index, length),
            _ => Err(self.error(&format!("bad character in group name '{name}'"), length)),
        }
    }

    fn add_group(&mut self, index: usize, offset: usize) -> Result<(), String> {
        let groups = self.regex.captures_len() - 1;
        if index > groups {
            return Err(self.error(&format!("invalid group reference {index}"), offset));
        }
        if !self.literal.is_empty() {
            self.pieces
                .push(Piece::Literal(std::mem::take(&mut self.literal)));
        }
        self.pieces.push(Piece::Group(index));
        Ok(())
    }
}

/// Returns the character of a C escape that Python's templates accept (`\n`, `\t`, ...).
fn c_escape(c: char) -> Option<char> {
    Some(match c {
        'a' => '\x07',
        'b' => '\x08',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0b',
        '\\' => '\\',
        _ => return None,
    })
}

/// Python's `str.isidentifier` for ASCII names; other names count as identifiers when
/// they start with a letter or `_`.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// Python's `match.expand(template)`.
pub fn expand(
    template: &str,
    regex: &Regex,
    captures: &Captures<'_, str>,
) -> Result<String, String> {
    Ok(Template::parse(template, regex)?.expand(captures))
}

/// Python's `re.subn(pattern, template, text)`: every non-overlapping match replaced.
/// The template is parsed first, so a bad template fails even without a match.
pub fn substitute(regex: &Regex, template: &str, text: &str) -> Result<(String, usize), String> {
    let template = Template::parse(template, regex)?;
    let mut out = String::new();
    let mut last = 0;
    let mut count = 0;
    for captures in regex.captures_iter(text) {
        let captures = captures.map_err(|err| err.to_string())?;
        let whole = captures.get(0).ok_or("match without group 0")?;
        out.push_str(&text[last..whole.start()]);
        out.push_str(&template.expand(&captures));
        last = whole.end();
        count += 1;
    }
    out.push_str(&text[last..]);
    Ok((out, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_matches_before_final_newline() {
        let regex = compile("^a=1$", false).unwrap();
        assert!(regex.is_match("a=1\n").unwrap());
        assert!(!regex.is_match("a=1\nb").unwrap());
    }

    #[test]
    fn substitute_with_python_groups() {
        let regex = compile(r"^(ENABLED\w*)=no$", true).unwrap();
        let (text, count) =
            substitute(&regex, r"\1=yes", "ENABLED=no\nX=no\nENABLED_TOO=no\n").unwrap();
        assert_eq!(text, "ENABLED=yes\nX=no\nENABLED_TOO=yes\n");
        assert_eq!(count, 2);
        let named = compile(r"(?P<key>\w+)=(\d)", false).unwrap();
        let captures = named.captures("a=1").unwrap().unwrap();
        assert_eq!(
            expand(r"\g<key>:\g<2>\n", &named, &captures).unwrap(),
            "a:1\n"
        );
    }

    fn template_error(template: &str, pattern: &str) -> String {
        let regex = compile(pattern, false).unwrap();
        Template::parse(template, &regex).unwrap_err()
    }

    #[test]
    fn template_errors_like_python() {
        assert_eq!(template_error(r"\D", "x"), r"bad escape \D at position 0");
        assert_eq!(
            template_error("a\\", "x"),
            "bad escape (end of pattern) at position 1"
        );
        assert_eq!(
            template_error(r"ab\2", "(x)"),
            "invalid group reference 2 at position 3"
        );
        assert_eq!(
            template_error(r"\g<1", "(x)"),
            "missing >, unterminated name at position 3"
        );
        assert_eq!(
            template_error(r"\g<>", "(x)"),
            "missing group name at position 3"
        );
        assert_eq!(template_error(r"\gx", "(x)"), "missing < at position 2");
        assert_eq!(
            template_error(r"\g<-1>", "(x)"),
            "bad character in group name '-1' at position 3"
        );
        assert_eq!(
            template_error(r"\477", "(x)"),
            r"octal escape value \477 outside of range 0-0o377 at position 0"
        );
        assert_eq!(
            template_error("a\n\\q", "x"),
            r"bad escape \q at position 2 (line 2, column 1)"
        );
    }

    #[test]
    fn template_literals_like_python() {
        let regex = compile("(a)", false).unwrap();
        let captures = regex.captures("a").unwrap().unwrap();
        let expand = |template: &str| expand(template, &regex, &captures).unwrap();
        assert_eq!(expand(r"\.\1\\"), "\\.a\\");
        assert_eq!(expand(r"\0\101\n\t"), "\0A\n\t");
        let error = Template::parse(r"\10", &regex).unwrap_err();
        assert_eq!(error, "invalid group reference 10 at position 1");
    }
}
