//! Word splitting as Python's `shlex.split(line, comments=True)` does it.
//!
//! Ansible splits INI host lines this way, so quotes group words and are removed,
//! a backslash escapes the next character (inside double quotes only `"` and `\`),
//! and a `#` that starts or continues an unquoted word ends the line.

/// Why a line could not be split; the messages are Python's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShlexError {
    #[error("No closing quotation")]
    NoClosingQuotation,
    #[error("No escaped character")]
    NoEscapedCharacter,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Whitespace,
    Word,
    Quoted(char),
    Escape { resume: Resume },
}

#[derive(Clone, Copy, PartialEq)]
enum Resume {
    Word,
    DoubleQuoted,
}

/// Splits `line` into words.
pub fn split(line: &str) -> Result<Vec<String>, ShlexError> {
    let mut words = Vec::new();
    let mut token = String::new();
    let mut quoted = false;
    let mut state = State::Whitespace;
    let mut chars = line.chars();
    loop {
        let Some(c) = chars.next() else {
            match state {
                State::Quoted(_) => return Err(ShlexError::NoClosingQuotation),
                State::Escape { .. } => return Err(ShlexError::NoEscapedCharacter),
                State::Word => words.push(std::mem::take(&mut token)),
                State::Whitespace => {}
            }
            return Ok(words);
        };
        match state {
            State::Whitespace | State::Word => {
                if is_whitespace(c) {
                    if state == State::Word {
                        words.push(std::mem::take(&mut token));
                        quoted = false;
                    }
                    state = State::Whitespace;
                } else if c == '#' {
                    if state == State::Word && (!token.is_empty() || quoted) {
                        words.push(std::mem::take(&mut token));
                    }
                    return Ok(words);
                } else if c == '\'' || c == '"' {
                    state = State::Quoted(c);
                } else if c == '\\' {
                    state = State::Escape {
                        resume: Resume::Word,
                    };
                } else {
                    token.push(c);
                    state = State::Word;
                }
            }
            State::Quoted(quote) => {
                quoted = true;
                if c == quote {
                    state = State::Word;
                } else if c == '\\' && quote == '"' {
                    state = State::Escape {
                        resume: Resume::DoubleQuoted,
                    };
                } else {
                    token.push(c);
                }
            }
            State::Escape { resume } => {
                if resume == Resume::DoubleQuoted && c != '\\' && c != '"' {
                    token.push('\\');
                }
                token.push(c);
                state = match resume {
                    Resume::Word => State::Word,
                    Resume::DoubleQuoted => State::Quoted('"'),
                };
            }
        }
    }
}

fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split(line).unwrap()
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(words("a b=\"x y\" c='1 2'"), ["a", "b=x y", "c=1 2"]);
        assert_eq!(words(r#"a "x\"y\n""#), ["a", r#"x"y\n"#]);
        assert_eq!(words(r"a\ b"), ["a b"]);
        assert_eq!(words("a ''"), ["a", ""]);
    }

    #[test]
    fn comments_end_the_line() {
        assert_eq!(words("a b=1 # comment"), ["a", "b=1"]);
        assert_eq!(words("a p=a#b c=d"), ["a", "p=a"]);
        assert_eq!(words("a '#x'"), ["a", "#x"]);
    }

    #[test]
    fn errors() {
        assert_eq!(split("a 'b"), Err(ShlexError::NoClosingQuotation));
        assert_eq!(split("a b\\"), Err(ShlexError::NoEscapedCharacter));
    }
}
