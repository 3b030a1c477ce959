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

/// Expands a Python replacement template (`\1`, `\g<1>`, `\g<name>`, `\n`) with the
/// groups of a match; an unmatched group expands to nothing, as in Python 3.5+.
pub fn expand(template: &str, captures: &Captures<'_, str>) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    let group = |name: &str| -> Result<String, String> {
        let found = match name.parse::<usize>() {
            Ok(index) => {
                if index >= captures.len() {
                    return Err(format!("invalid group reference {index}"));
                }
                captures.get(index)
            }
            Err(_) => captures.name(name),
        };
        Ok(found.map(|m| m.as_str().to_string()).unwrap_or_default())
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => return Err("bad escape (end of pattern)".into()),
            Some('g') if chars.peek() == Some(&'<') => {
                chars.next();
                let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                out.push_str(&group(&name)?);
            }
            Some(digit) if digit.is_ascii_digit() => {
                let mut number = digit.to_string();
                if let Some(second) = chars.peek().filter(|c| c.is_ascii_digit()) {
                    number.push(*second);
                    chars.next();
                }
                out.push_str(&group(&number)?);
            }
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('v') => out.push('\x0b'),
            Some('a') => out.push('\x07'),
            Some('b') => out.push('\x08'),
            Some('\\') => out.push('\\'),
            Some(letter) if letter.is_ascii_alphabetic() => {
                return Err(format!("bad escape \\{letter}"));
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// Python's `re.subn(pattern, template, text)`: every non-overlapping match replaced.
pub fn substitute(regex: &Regex, template: &str, text: &str) -> Result<(String, usize), String> {
    let mut out = String::new();
    let mut last = 0;
    let mut count = 0;
    for captures in regex.captures_iter(text) {
        let captures = captures.map_err(|err| err.to_string())?;
        let whole = captures.get(0).ok_or("match without group 0")?;
        out.push_str(&text[last..whole.start()]);
        out.push_str(&expand(template, &captures)?);
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
        assert_eq!(expand(r"\g<key>:\g<2>\n", &captures).unwrap(), "a:1\n");
    }
}
