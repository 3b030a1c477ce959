//! Detection of a keyword argument given twice in one call, such as
//! `lookup('vars', 'v1', default='', default='')`.
//!
//! Jinja2 compiles a template to Python code, and Python's compiler rejects the repeated
//! keyword, so ansible-core fails with a template syntax error. minijinja keeps the last
//! value instead. The check runs on minijinja's own tokens: inside the parentheses of a
//! call, `NAME =` right after `(` or `,` is a keyword argument.

use minijinja::machinery::{tokenize, Token};
use minijinja::syntax::SyntaxConfig;

/// Returns the message Python's compiler gives for the first repeated keyword argument of
/// `source`, or `None` when there is none or the source does not lex.
///
/// The line is a line of the Python code Jinja2 generates. NOTE: only the line of a
/// template that is one `{{ f(...) }}` call is reproduced (12). Filters and tests get
/// 18, which is Jinja2's line for `{{ x | f(...) }}` but not for every template.
pub fn repeated_keyword_message(source: &str, config: SyntaxConfig) -> Option<String> {
    if !source.contains('=') {
        return None;
    }
    let tokens: Vec<Token<'_>> = tokenize(source, false, config)
        .map(|token| token.map(|(token, _)| token))
        .collect::<Result<_, _>>()
        .ok()?;
    let (name, call) = find_repeated(&tokens)?;
    let line = match call {
        CallKind::Function => 12,
        CallKind::FilterOrTest => 18,
    };
    Some(format!(
        "keyword argument repeated: {name} (<template>, line {line})"
    ))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CallKind {
    Function,
    FilterOrTest,
}

/// One open bracket: for `(`, what is called and the keyword names seen so far.
struct Group<'a> {
    call: Option<CallKind>,
    keywords: Vec<&'a str>,
    repeated: Option<&'a str>,
}

/// Returns the repeated keyword of the first tag that has one. Within that tag, it is
/// the one of the call that closes last (the outer call, or the last filter of a
/// chain), which Python's compiler checks first.
fn find_repeated<'a>(tokens: &[Token<'a>]) -> Option<(&'a str, CallKind)> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    let mut found: Option<(&'a str, CallKind)> = None;
    for (index, token) in tokens.iter().enumerate() {
        let previous = index.checked_sub(1).and_then(|i| tokens.get(i));
        match token {
            Token::ParenOpen => groups.push(Group {
                call: call_kind(tokens, index),
                keywords: Vec::new(),
                repeated: None,
            }),
            Token::BracketOpen | Token::BraceOpen => groups.push(Group {
                call: None,
                keywords: Vec::new(),
                repeated: None,
            }),
            Token::ParenClose | Token::BracketClose | Token::BraceClose => {
                if let Some(Group {
                    call: Some(call),
                    repeated: Some(name),
                    ..
                }) = groups.pop()
                {
                    found = Some((name, call));
                }
            }
            Token::Ident(name)
                if matches!(previous, Some(Token::ParenOpen | Token::Comma))
                    && matches!(tokens.get(index + 1), Some(Token::Assign)) =>
            {
                if let Some(group) = groups.last_mut().filter(|group| group.call.is_some()) {
                    if group.keywords.contains(name) {
                        group.repeated.get_or_insert(name);
                    }
                    group.keywords.push(name);
                }
            }
            Token::VariableEnd | Token::BlockEnd => {
                if found.is_some() {
                    return found;
                }
                groups.clear();
            }
            _ => {}
        }
    }
    found
}

/// Returns what the `(` at `index` calls, or `None` for a parenthesised expression.
fn call_kind(tokens: &[Token<'_>], index: usize) -> Option<CallKind> {
    let before = |back: usize| index.checked_sub(back).and_then(|i| tokens.get(i));
    match (before(2), before(1)) {
        (Some(Token::Pipe | Token::Ident("is" | "not")), Some(Token::Ident(_))) => {
            Some(CallKind::FilterOrTest)
        }
        (_, Some(Token::Ident(_) | Token::ParenClose | Token::BracketClose)) => {
            Some(CallKind::Function)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(source: &str) -> Option<String> {
        repeated_keyword_message(source, SyntaxConfig::default())
    }

    #[test]
    fn repeated_keyword_in_function_call() {
        assert_eq!(
            check("{{ lookup('vars', 'v1', default='', default='') }}").as_deref(),
            Some("keyword argument repeated: default (<template>, line 12)")
        );
    }

    #[test]
    fn repeated_keyword_in_filter_chain() {
        assert_eq!(
            check("{{ x | default(a=1, a=2) | default(b=1, b=2) }}").as_deref(),
            Some("keyword argument repeated: b (<template>, line 18)")
        );
    }

    #[test]
    fn distinct_keywords_pass() {
        assert_eq!(check("{{ f(a=1, b=dict(a=2)) }}"), None);
        assert_eq!(check("{% set a, b = 1, 2 %}{{ a == b }}"), None);
        assert_eq!(check("{{ (a) }}{{ f(a=1) }}{{ f(a=1) }}"), None);
    }
}
