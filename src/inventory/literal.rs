//! Python literals, as `ast.literal_eval` reads them.
//!
//! Ansible's INI inventory plugin passes every variable value through
//! `ast.literal_eval` and keeps the text when that fails, so `x=1` is an int,
//! `x=[1, 2]` a list, `x=True` a bool and `x=yes` the string `"yes"`. This module
//! accepts the same literals as Python 3.11: numbers (with `_` separators, hex, octal
//! and binary ints), strings and bytes with every prefix and escape, adjacent string
//! concatenation, `True`/`False`/`None`, lists, tuples, dicts, sets, `set()`, unary
//! signs and parentheses. A `#` comment ends the input.
//!
//! NOTE: literals that [`Value`] cannot hold are reported as not literal, so callers
//! keep the text: complex numbers, `...`, ints outside the `i64` range, `\N{...}`
//! escapes, lone surrogates and unhashable dict keys or set items (where Python raises
//! `TypeError`). Bytes become strings and sets become lists.

use crate::{Map, Value};

/// Parses `text` as a Python literal; `None` when Python's `ast.literal_eval` would
/// raise `ValueError` or `SyntaxError`, or when the value has no [`Value`] form.
pub fn literal_eval(text: &str) -> Option<Value> {
    let trimmed = text.trim_start_matches([' ', '\t']);
    let tokens = tokenize(trimmed)?;
    let mut parser = Parser { tokens, pos: 0 };
    let value = parser.parse_testlist()?;
    if parser.pos != parser.tokens.len() {
        return None;
    }
    Some(value)
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(String),
    Name(String),
    Punct(char),
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' || c == '\t' || c == '\x0c' {
            i += 1;
        } else if c == '#' {
            break;
        } else if c == '\n' || c == '\r' {
            // A line break outside brackets ends the expression; anything after it
            // is a second statement, which eval mode rejects.
            if chars[i..].iter().any(|c| !c.is_whitespace()) {
                return None;
            }
            break;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let (token, next) = lex_number(&chars, i)?;
            tokens.push(token);
            i = next;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if i < chars.len() && (chars[i] == '\'' || chars[i] == '"') {
                let prefix = word.to_ascii_lowercase();
                let (token, next) = lex_string(&chars, i, &prefix)?;
                tokens.push(token);
                i = next;
            } else {
                tokens.push(Token::Name(word));
            }
        } else if c == '\'' || c == '"' {
            let (token, next) = lex_string(&chars, i, "")?;
            tokens.push(token);
            i = next;
        } else if "()[]{},:+-.".contains(c) {
            tokens.push(Token::Punct(c));
            i += 1;
        } else {
            return None;
        }
    }
    Some(tokens)
}

/// Lexes a number starting at `start`; rejects what Python's tokenizer rejects
/// (leading zeros, doubled or trailing `_`, a letter right after the digits).
fn lex_number(chars: &[char], start: usize) -> Option<(Token, usize)> {
    let mut i = start;
    let radix = match (chars[i], chars.get(i + 1).map(char::to_ascii_lowercase)) {
        ('0', Some('x')) => 16,
        ('0', Some('o')) => 8,
        ('0', Some('b')) => 2,
        _ => 10,
    };
    if radix != 10 {
        i += 2;
        let (digits, next) = digit_part(chars, i, radix, true)?;
        reject_identifier_tail(chars, next)?;
        return Some((Token::Int(i64::from_str_radix(&digits, radix).ok()?), next));
    }
    let mut text = String::new();
    let mut is_float = false;
    if chars[i] != '.' {
        let (digits, next) = digit_part(chars, i, 10, false)?;
        text.push_str(&digits);
        i = next;
    }
    if chars.get(i) == Some(&'.') {
        is_float = true;
        text.push('.');
        i += 1;
        if chars.get(i).is_some_and(char::is_ascii_digit) {
            let (digits, next) = digit_part(chars, i, 10, false)?;
            text.push_str(&digits);
            i = next;
        }
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        let mut exponent = String::from("e");
        if let Some(sign @ ('+' | '-')) = chars.get(j) {
            exponent.push(*sign);
            j += 1;
        }
        if chars.get(j).is_some_and(char::is_ascii_digit) {
            let (digits, next) = digit_part(chars, j, 10, false)?;
            exponent.push_str(&digits);
            text.push_str(&exponent);
            is_float = true;
            i = next;
        }
    }
    if matches!(chars.get(i), Some('j' | 'J')) {
        // Complex numbers have no Value form.
        return None;
    }
    reject_identifier_tail(chars, i)?;
    if is_float {
        return Some((Token::Float(text.parse().ok()?), i));
    }
    let leading_zero = text.len() > 1 && text.starts_with('0');
    if leading_zero && text.chars().any(|c| c != '0') {
        return None;
    }
    Some((Token::Int(text.parse().ok()?), i))
}

/// Reads digits of `radix` with single `_` separators between them. With
/// `after_prefix`, a `_` may also come first (`0x_1f`), as Python allows.
fn digit_part(
    chars: &[char],
    start: usize,
    radix: u32,
    after_prefix: bool,
) -> Option<(String, usize)> {
    let mut digits = String::new();
    let mut i = start;
    let mut last_underscore = after_prefix && chars.get(i) == Some(&'_');
    if last_underscore {
        i += 1;
    }
    while let Some(&c) = chars.get(i) {
        if c == '_' {
            if last_underscore || digits.is_empty() {
                return None;
            }
            last_underscore = true;
        } else if c.is_digit(radix) {
            digits.push(c);
            last_underscore = false;
        } else if c.is_ascii_digit() {
            // A decimal digit that is not valid in this radix, such as `0o8`.
            return None;
        } else {
            break;
        }
        i += 1;
    }
    if digits.is_empty() || last_underscore {
        return None;
    }
    Some((digits, i))
}

fn reject_identifier_tail(chars: &[char], i: usize) -> Option<()> {
    match chars.get(i) {
        Some(c) if c.is_alphanumeric() || *c == '_' => None,
        _ => Some(()),
    }
}

/// Lexes a quoted string whose opening quote is at `start`, with the lowercased
/// `prefix` that came before it.
fn lex_string(chars: &[char], start: usize, prefix: &str) -> Option<(Token, usize)> {
    let raw = prefix.contains('r');
    let bytes = prefix.contains('b');
    let valid_prefix = matches!(prefix, "" | "r" | "u" | "b" | "br" | "rb");
    if !valid_prefix {
        return None;
    }
    let quote = chars[start];
    let triple = chars.get(start + 1) == Some(&quote) && chars.get(start + 2) == Some(&quote);
    let mut i = start + if triple { 3 } else { 1 };
    let mut body = String::new();
    loop {
        let c = *chars.get(i)?;
        if c == quote {
            if !triple {
                i += 1;
                break;
            }
            if chars.get(i + 1) == Some(&quote) && chars.get(i + 2) == Some(&quote) {
                i += 3;
                break;
            }
        }
        if (c == '\n' || c == '\r') && !triple {
            return None;
        }
        if c == '\\' {
            let next = *chars.get(i + 1)?;
            body.push(c);
            body.push(next);
            i += 2;
            continue;
        }
        if bytes && !c.is_ascii() {
            return None;
        }
        body.push(c);
        i += 1;
    }
    let text = if raw { body } else { unescape(&body, bytes)? };
    let token = if bytes {
        Token::Bytes(text)
    } else {
        Token::Str(text)
    };
    Some((token, i))
}

/// Applies Python's backslash escapes. Unknown escapes keep their backslash.
fn unescape(body: &str, bytes: bool) -> Option<String> {
    let chars: Vec<char> = body.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let next = chars[i + 1];
        i += 2;
        match next {
            '\n' => {}
            '\\' | '\'' | '"' => out.push(next),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '0'..='7' => {
                let mut code = next.to_digit(8)?;
                let mut taken = 1;
                while taken < 3 && chars.get(i).is_some_and(|c| c.is_digit(8)) {
                    code = code * 8 + chars[i].to_digit(8)?;
                    i += 1;
                    taken += 1;
                }
                out.push(char::from_u32(code)?);
            }
            'x' => {
                out.push(hex_escape(&chars, i, 2)?);
                i += 2;
            }
            'u' if !bytes => {
                out.push(hex_escape(&chars, i, 4)?);
                i += 4;
            }
            'U' if !bytes => {
                out.push(hex_escape(&chars, i, 8)?);
                i += 8;
            }
            // `\N{NAME}` needs Unicode's name table, which rplay does not carry.
            'N' if !bytes => return None,
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

fn hex_escape(chars: &[char], start: usize, len: usize) -> Option<char> {
    let digits: String = chars.get(start..start + len)?.iter().collect();
    if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    char::from_u32(u32::from_str_radix(&digits, 16).ok()?)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Token::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// `expr (',' expr)* [',']`: a bare comma list is a tuple.
    fn parse_testlist(&mut self) -> Option<Value> {
        let first = self.parse_expr()?;
        if !self.eat(',') {
            return Some(first);
        }
        let mut items = vec![first];
        while self.peek().is_some() && !self.at_closing() {
            items.push(self.parse_expr()?);
            if !self.eat(',') {
                break;
            }
        }
        Some(Value::list(items))
    }

    fn at_closing(&self) -> bool {
        matches!(self.peek(), Some(Token::Punct(')' | ']' | '}')))
    }

    fn parse_expr(&mut self) -> Option<Value> {
        match self.peek()? {
            Token::Punct(sign @ ('+' | '-')) => {
                let negative = *sign == '-';
                self.pos += 1;
                match self.parse_number_operand()? {
                    Value::Int(i) if negative => Some(Value::Int(i.checked_neg()?)),
                    Value::Float(f) if negative => Some(Value::Float(-f)),
                    value => Some(value),
                }
            }
            _ => self.parse_atom(),
        }
    }

    /// Python accepts a sign only on a number constant, which may sit in
    /// parentheses (`-(1)`), so `--1`, `-(-1)` and `-True` are not literals.
    fn parse_number_operand(&mut self) -> Option<Value> {
        let mut depth = 0;
        while self.eat('(') {
            depth += 1;
        }
        let number = match self.peek()? {
            Token::Int(i) => Value::Int(*i),
            Token::Float(f) => Value::Float(*f),
            _ => return None,
        };
        self.pos += 1;
        for _ in 0..depth {
            if !self.eat(')') {
                return None;
            }
        }
        Some(number)
    }

    fn parse_atom(&mut self) -> Option<Value> {
        let token = self.peek()?.clone();
        self.pos += 1;
        match token {
            Token::Int(i) => Some(Value::Int(i)),
            Token::Float(f) => Some(Value::Float(f)),
            Token::Str(s) => self.concatenate(s, false),
            Token::Bytes(s) => self.concatenate(s, true),
            Token::Name(name) => self.parse_name(&name),
            Token::Punct('(') => self.parse_parenthesized(),
            Token::Punct('[') => self.parse_list(),
            Token::Punct('{') => self.parse_braces(),
            Token::Punct(_) => None,
        }
    }

    /// Joins adjacent string literals; mixing bytes and text is a syntax error.
    fn concatenate(&mut self, mut text: String, bytes: bool) -> Option<Value> {
        loop {
            match self.peek() {
                Some(Token::Str(more)) if !bytes => text.push_str(more),
                Some(Token::Bytes(more)) if bytes => text.push_str(more),
                Some(Token::Str(_) | Token::Bytes(_)) => return None,
                _ => return Some(Value::from(text)),
            }
            self.pos += 1;
        }
    }

    fn parse_name(&mut self, name: &str) -> Option<Value> {
        match name {
            "True" => Some(Value::Bool(true)),
            "False" => Some(Value::Bool(false)),
            "None" => Some(Value::Null),
            "set" if self.eat('(') && self.eat(')') => Some(Value::list(Vec::new())),
            _ => None,
        }
    }

    fn parse_parenthesized(&mut self) -> Option<Value> {
        if self.eat(')') {
            return Some(Value::list(Vec::new()));
        }
        let first = self.parse_expr()?;
        if self.eat(')') {
            return Some(first);
        }
        let mut items = vec![first];
        while self.eat(',') {
            if self.eat(')') {
                return Some(Value::list(items));
            }
            items.push(self.parse_expr()?);
        }
        self.eat(')').then(|| Value::list(items))
    }

    fn parse_list(&mut self) -> Option<Value> {
        let mut items = Vec::new();
        loop {
            if self.eat(']') {
                return Some(Value::list(items));
            }
            items.push(self.parse_expr()?);
            if !self.eat(',') {
                return self.eat(']').then(|| Value::list(items));
            }
        }
    }

    /// `{}` is a dict; `{k: v, ...}` a dict; `{a, b}` a set (kept as a list).
    fn parse_braces(&mut self) -> Option<Value> {
        if self.eat('}') {
            return Some(Value::empty_map());
        }
        let first = self.parse_expr()?;
        if self.eat(':') {
            return self.parse_dict_rest(first);
        }
        let mut items: Vec<Value> = Vec::new();
        let mut next = Some(first);
        while let Some(item) = next.take() {
            if !is_hashable(&item) {
                return None;
            }
            if !items.contains(&item) {
                items.push(item);
            }
            if !self.eat(',') || self.peek() == Some(&Token::Punct('}')) {
                break;
            }
            next = Some(self.parse_expr()?);
        }
        self.eat('}').then(|| Value::list(items))
    }

    fn parse_dict_rest(&mut self, first_key: Value) -> Option<Value> {
        let mut map = Map::new();
        let mut key = first_key;
        loop {
            let value = self.parse_expr()?;
            if !is_hashable(&key) {
                return None;
            }
            map.insert(key, value);
            if !self.eat(',') || self.peek() == Some(&Token::Punct('}')) {
                break;
            }
            key = self.parse_expr()?;
            if !self.eat(':') {
                return None;
            }
        }
        self.eat('}').then(|| Value::map(map))
    }
}

/// Python's hashability for the values a literal can build: lists (tuples here are
/// lists too) count as hashable only when every item is, which matches tuples, and a
/// dict never is.
///
/// NOTE: a list literal used as a key is accepted here although Python rejects it,
/// because tuples and lists share one representation.
fn is_hashable(value: &Value) -> bool {
    match value {
        Value::Map(_) => false,
        Value::List(items) => items.iter().all(is_hashable),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str) -> Option<Value> {
        literal_eval(text)
    }

    #[test]
    fn numbers() {
        assert_eq!(eval("1"), Some(Value::Int(1)));
        assert_eq!(eval("-3"), Some(Value::Int(-3)));
        assert_eq!(eval("+1"), Some(Value::Int(1)));
        assert_eq!(eval("- 1"), Some(Value::Int(-1)));
        assert_eq!(eval("-(1)"), Some(Value::Int(-1)));
        assert_eq!(eval("1_000"), Some(Value::Int(1000)));
        assert_eq!(eval("0x1F"), Some(Value::Int(31)));
        assert_eq!(eval("0o17"), Some(Value::Int(15)));
        assert_eq!(eval("0b101"), Some(Value::Int(5)));
        assert_eq!(eval("00"), Some(Value::Int(0)));
        assert_eq!(eval("0_0"), Some(Value::Int(0)));
        assert_eq!(eval("1.5"), Some(Value::Float(1.5)));
        assert_eq!(eval("5."), Some(Value::Float(5.0)));
        assert_eq!(eval(".5"), Some(Value::Float(0.5)));
        assert_eq!(eval("1e3"), Some(Value::Float(1000.0)));
        assert_eq!(eval("1 # comment"), Some(Value::Int(1)));
    }

    #[test]
    fn rejected_numbers() {
        for text in [
            "0644", "1__0", "1_", "0x", "1abc", "--1", "1j", "1+2j", "0o8",
        ] {
            assert_eq!(eval(text), None, "{text}");
        }
    }

    #[test]
    fn strings() {
        assert_eq!(eval("'a' 'b'"), Some(Value::str("ab")));
        assert_eq!(eval(r"'\d'"), Some(Value::str(r"\d")));
        assert_eq!(eval(r"r'\n'"), Some(Value::str(r"\n")));
        assert_eq!(eval(r"'\x41\101\u0041'"), Some(Value::str("AAA")));
        assert_eq!(eval("'''a'b'''"), Some(Value::str("a'b")));
        assert_eq!(eval("b'x'"), Some(Value::str("x")));
        assert_eq!(eval("u'x'"), Some(Value::str("x")));
        assert_eq!(eval("\"it's\""), Some(Value::str("it's")));
        assert_eq!(eval("'a' b'b'"), None);
        assert_eq!(eval("f'x'"), None);
        assert_eq!(eval("'open"), None);
    }

    #[test]
    fn containers() {
        assert_eq!(
            eval("1,2"),
            Some(Value::list(vec![Value::Int(1), Value::Int(2)]))
        );
        assert_eq!(eval("()"), Some(Value::list(vec![])));
        assert_eq!(eval("(1,)"), Some(Value::list(vec![Value::Int(1)])));
        assert_eq!(eval("[1,]"), Some(Value::list(vec![Value::Int(1)])));
        assert_eq!(eval("set()"), Some(Value::list(vec![])));
        let dict = eval("{'a': 1, 2: [True, None],}").unwrap();
        assert_eq!(dict.get("a"), Some(&Value::Int(1)));
        assert_eq!(
            dict.as_map().unwrap().get(&Value::Int(2)),
            Some(&Value::list(vec![Value::Bool(true), Value::Null]))
        );
        assert_eq!(eval("{1, 2, 1}").unwrap().as_list().unwrap().len(), 2);
        assert_eq!(eval("{}"), Some(Value::empty_map()));
    }

    #[test]
    fn not_literals() {
        for text in [
            "yes",
            "true",
            "hello world",
            "a=b",
            "",
            "{a:1}",
            "x.y",
            "[1",
            "1 2",
            "...",
        ] {
            assert_eq!(eval(text), None, "{text}");
        }
    }
}
