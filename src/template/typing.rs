//! Ansible 2.18's typing of template results.
//!
//! With `jinja2_native` off (the default), ansible-core renders a template to text and
//! converts the text back only when it starts with `{` or `[` or is `True`/`False`, by
//! Python's `ast.literal_eval` after mapping the names `true`, `false` and `null` to
//! their Python constants. A template that is exactly `{{ name }}` of a variable holding
//! a bool, a number or `None` returns that value untouched. Everything else is a string:
//! `{{ 1 + 1 }}` renders `'2'`.

use crate::{Map, Value};

/// Converts rendered text back as `ansible_eval_concat` does.
pub fn convert_text(text: String) -> Value {
    if looks_like_literal(&text) {
        if let Some(value) = literal_eval(&text) {
            return value;
        }
    }
    Value::from(text)
}

/// Tells whether Ansible would try `literal_eval` on the text.
pub fn looks_like_literal(text: &str) -> bool {
    text.starts_with('{') || text.starts_with('[') || text == "True" || text == "False"
}

/// Python's `ast.literal_eval` for the subset of literals a `Value` can hold, with
/// `true`, `false` and `null` accepted as names. Returns `None` where Python raises.
///
/// NOTE: sets become lists, and complex numbers, bytes and integers beyond 64 bits are
/// rejected (Python would accept them).
pub fn literal_eval(text: &str) -> Option<Value> {
    let mut parser = LiteralParser::new(text, true);
    let value = parser.expression()?;
    parser.skip_space();
    (parser.pos == parser.chars.len()).then_some(value)
}

/// Python's `ast.literal_eval(ast.parse(text, mode='eval'))`, as `jinja2_native` uses it:
/// no JSON names, a top-level comma makes a tuple (a list here), and leading blanks
/// are an indentation error.
pub fn python_literal_eval(text: &str) -> Option<Value> {
    if text.starts_with([' ', '\t']) {
        return None;
    }
    let mut parser = LiteralParser::new(text, false);
    let first = parser.expression()?;
    if !parser.eat(',') {
        parser.skip_space();
        return (parser.pos == parser.chars.len()).then_some(first);
    }
    let mut items = vec![first];
    loop {
        parser.skip_space();
        if parser.pos == parser.chars.len() {
            return Some(Value::list(items));
        }
        items.push(parser.expression()?);
        if !parser.eat(',') {
            parser.skip_space();
            return (parser.pos == parser.chars.len()).then_some(Value::list(items));
        }
    }
}

struct LiteralParser {
    chars: Vec<char>,
    pos: usize,
    /// Bracket nesting: newlines are whitespace only inside brackets.
    depth: usize,
    /// `true`, `false` and `null` read as Python's constants (Ansible's `Json2Python`).
    json_names: bool,
}

impl LiteralParser {
    fn new(text: &str, json_names: bool) -> LiteralParser {
        LiteralParser {
            chars: text.chars().collect(),
            pos: 0,
            depth: 0,
            json_names,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\x0c' => self.pos += 1,
                '\n' | '\r' if self.depth > 0 || self.rest_is_blank() => self.pos += 1,
                '\\' if matches!(self.peek_at(1), Some('\n')) => self.pos += 2,
                '#' => {
                    while !matches!(self.peek(), None | Some('\n')) {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    /// Trailing newlines and comments after the expression are allowed by `ast.parse`.
    fn rest_is_blank(&self) -> bool {
        let mut in_comment = false;
        for &c in &self.chars[self.pos..] {
            match c {
                '\n' | '\r' => in_comment = false,
                '#' => in_comment = true,
                ' ' | '\t' | '\x0c' => {}
                _ if in_comment => {}
                _ => return false,
            }
        }
        true
    }

    fn eat(&mut self, expected: char) -> bool {
        self.skip_space();
        if self.peek() == Some(expected) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expression(&mut self) -> Option<Value> {
        self.skip_space();
        match self.peek()? {
            '[' => self.sequence(']').map(Value::list),
            '(' => self.tuple(),
            '{' => self.dict_or_set(),
            '+' | '-' => self.signed_number(),
            c if c.is_ascii_digit() || (c == '.' && self.peek_at(1)?.is_ascii_digit()) => {
                self.number()
            }
            c if c == '\'' || c == '"' || c.is_alphabetic() || c == '_' => self.name_or_string(),
            _ => None,
        }
    }

    fn sequence(&mut self, close: char) -> Option<Vec<Value>> {
        self.pos += 1;
        self.depth += 1;
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                break;
            }
            items.push(self.expression()?);
            if self.eat(close) {
                break;
            }
            if !self.eat(',') {
                return None;
            }
        }
        self.depth -= 1;
        Some(items)
    }

    fn tuple(&mut self) -> Option<Value> {
        self.pos += 1;
        self.depth += 1;
        if self.eat(')') {
            self.depth -= 1;
            return Some(Value::list(Vec::new()));
        }
        let first = self.expression()?;
        if self.eat(')') {
            self.depth -= 1;
            return Some(first);
        }
        if !self.eat(',') {
            return None;
        }
        let mut items = vec![first];
        loop {
            if self.eat(')') {
                break;
            }
            items.push(self.expression()?);
            if self.eat(')') {
                break;
            }
            if !self.eat(',') {
                return None;
            }
        }
        self.depth -= 1;
        Some(Value::list(items))
    }

    fn dict_or_set(&mut self) -> Option<Value> {
        self.pos += 1;
        self.depth += 1;
        let mut map = Map::new();
        if self.eat('}') {
            self.depth -= 1;
            return Some(Value::map(map));
        }
        let first = self.expression()?;
        if !self.eat(':') {
            // A set: Python orders it by hash, kept here in source order.
            let mut items = vec![first];
            loop {
                if self.eat('}') {
                    break;
                }
                if !self.eat(',') {
                    return None;
                }
                if self.eat('}') {
                    break;
                }
                let item = self.expression()?;
                if !items.contains(&item) {
                    items.push(item);
                }
            }
            self.depth -= 1;
            return Some(Value::list(items));
        }
        let value = self.expression()?;
        insert_key(&mut map, first, value)?;
        loop {
            if self.eat('}') {
                break;
            }
            if !self.eat(',') {
                return None;
            }
            if self.eat('}') {
                break;
            }
            let key = self.expression()?;
            if !self.eat(':') {
                return None;
            }
            let value = self.expression()?;
            insert_key(&mut map, key, value)?;
        }
        self.depth -= 1;
        Some(Value::map(map))
    }

    fn signed_number(&mut self) -> Option<Value> {
        let negative = self.peek()? == '-';
        self.pos += 1;
        self.skip_space();
        match self.number()? {
            Value::Int(i) if negative => i.checked_neg().map(Value::Int),
            Value::Float(f) if negative => Some(Value::Float(-f)),
            other => Some(other),
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.pos;
        if self.peek() == Some('0')
            && matches!(self.peek_at(1), Some('x' | 'X' | 'o' | 'O' | 'b' | 'B'))
        {
            let radix = match self.peek_at(1)?.to_ascii_lowercase() {
                'x' => 16,
                'o' => 8,
                _ => 2,
            };
            self.pos += 2;
            let digits = self.take_digits(|c| c.is_digit(radix))?;
            self.reject_identifier_tail()?;
            return i64::from_str_radix(&digits, radix).ok().map(Value::Int);
        }
        let mut is_float = false;
        let mut text = String::new();
        if self.peek() != Some('.') {
            text.push_str(&self.take_digits(|c| c.is_ascii_digit())?);
        }
        if self.peek() == Some('.') {
            is_float = true;
            self.pos += 1;
            text.push('.');
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                text.push_str(&self.take_digits(|c| c.is_ascii_digit())?);
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let mark = self.pos;
            self.pos += 1;
            let mut exponent = String::from("e");
            if let Some(sign @ ('+' | '-')) = self.peek() {
                exponent.push(sign);
                self.pos += 1;
            }
            match self.take_digits(|c| c.is_ascii_digit()) {
                Some(digits) => {
                    is_float = true;
                    text.push_str(&exponent);
                    text.push_str(&digits);
                }
                None => self.pos = mark,
            }
        }
        if matches!(self.peek(), Some('j' | 'J')) {
            return None;
        }
        self.reject_identifier_tail()?;
        if is_float {
            return text.parse().ok().map(Value::Float);
        }
        // Python rejects decimal literals with leading zeros, except all-zero ones.
        if text.len() > 1 && text.starts_with('0') && text.chars().any(|c| c != '0') {
            self.pos = start;
            return None;
        }
        text.parse().ok().map(Value::Int)
    }

    fn take_digits(&mut self, is_digit: impl Fn(char) -> bool) -> Option<String> {
        let mut digits = String::new();
        let mut last_underscore = false;
        while let Some(c) = self.peek() {
            if is_digit(c) {
                digits.push(c);
                last_underscore = false;
            } else if c == '_' && !digits.is_empty() && !last_underscore {
                last_underscore = true;
            } else {
                break;
            }
            self.pos += 1;
        }
        (!digits.is_empty() && !last_underscore).then_some(digits)
    }

    fn reject_identifier_tail(&self) -> Option<()> {
        match self.peek() {
            Some(c) if c.is_alphanumeric() || c == '_' => None,
            _ => Some(()),
        }
    }

    fn name_or_string(&mut self) -> Option<Value> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        if matches!(self.peek(), Some('\'' | '"')) {
            let prefix = name.to_ascii_lowercase();
            let raw = match prefix.as_str() {
                "" | "u" => false,
                "r" => true,
                _ => return None,
            };
            return self.strings(raw);
        }
        match name.as_str() {
            "True" => Some(Value::Bool(true)),
            "False" => Some(Value::Bool(false)),
            "None" => Some(Value::Null),
            "true" if self.json_names => Some(Value::Bool(true)),
            "false" if self.json_names => Some(Value::Bool(false)),
            "null" if self.json_names => Some(Value::Null),
            _ => None,
        }
    }

    /// Adjacent string literals concatenate, as in Python source.
    fn strings(&mut self, raw: bool) -> Option<Value> {
        let mut text = self.string_literal(raw)?;
        loop {
            let mark = self.pos;
            self.skip_space();
            let prefix_len = match (self.peek(), self.peek_at(1)) {
                (Some('\'' | '"'), _) => 0,
                (Some('r' | 'R' | 'u' | 'U'), Some('\'' | '"')) => 1,
                _ => {
                    self.pos = mark;
                    break;
                }
            };
            let raw = prefix_len == 1 && matches!(self.peek(), Some('r' | 'R'));
            self.pos += prefix_len;
            text.push_str(&self.string_literal(raw)?);
        }
        Some(Value::from(text))
    }

    fn string_literal(&mut self, raw: bool) -> Option<String> {
        let quote = self.peek()?;
        let triple = self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote);
        self.pos += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            if c == quote {
                if !triple {
                    self.pos += 1;
                    return Some(out);
                }
                if self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote) {
                    self.pos += 3;
                    return Some(out);
                }
            }
            if (c == '\n' || c == '\r') && !triple {
                return None;
            }
            self.pos += 1;
            if c != '\\' {
                out.push(c);
                continue;
            }
            let escaped = self.peek()?;
            self.pos += 1;
            if raw {
                out.push('\\');
                out.push(escaped);
                continue;
            }
            self.push_escape(&mut out, escaped)?;
        }
    }

    fn push_escape(&mut self, out: &mut String, escaped: char) -> Option<()> {
        match escaped {
            '\n' => {}
            '\\' | '\'' | '"' => out.push(escaped),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            'x' => out.push(self.hex_escape(2)?),
            'u' => out.push(self.hex_escape(4)?),
            'U' => out.push(self.hex_escape(8)?),
            '0'..='7' => {
                let mut code = escaped.to_digit(8)?;
                for _ in 0..2 {
                    match self.peek().and_then(|c| c.to_digit(8)) {
                        Some(digit) => {
                            code = code * 8 + digit;
                            self.pos += 1;
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(code)?);
            }
            'N' => return None,
            other => {
                out.push('\\');
                out.push(other);
            }
        }
        Some(())
    }

    fn hex_escape(&mut self, len: usize) -> Option<char> {
        let digits: String = self.chars.get(self.pos..self.pos + len)?.iter().collect();
        self.pos += len;
        char::from_u32(u32::from_str_radix(&digits, 16).ok()?)
    }
}

/// Python rejects unhashable dict keys (lists and dicts).
fn insert_key(map: &mut Map, key: Value, value: Value) -> Option<()> {
    if matches!(key, Value::List(_) | Value::Map(_)) {
        return None;
    }
    map.insert(key, value);
    Some(())
}

/// Counts the newlines at the end of `text`, as Ansible's `_count_newlines_from_end`.
pub fn trailing_newlines(text: &str) -> usize {
    text.bytes().rev().take_while(|&b| b == b'\n').count()
}

/// Marks every string of `value` unsafe when `unsafe_result` is set.
pub fn wrap_unsafe(value: Value, unsafe_result: bool) -> Value {
    if unsafe_result {
        value.into_unsafe()
    } else {
        value
    }
}

/// Tells whether any string inside `value` is unsafe, as Ansible's `_is_unsafe` does.
pub fn contains_unsafe(value: &Value) -> bool {
    match value {
        Value::Unsafe(_) => true,
        Value::List(items) => items.iter().any(contains_unsafe),
        Value::Map(map) => map
            .iter()
            .any(|(k, v)| contains_unsafe(k) || contains_unsafe(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str) -> Option<Value> {
        literal_eval(text)
    }

    #[test]
    fn literal_eval_containers() {
        assert_eq!(
            eval("[1, 'a', True, None]").unwrap(),
            Value::list(vec![
                Value::Int(1),
                Value::from("a"),
                Value::Bool(true),
                Value::Null
            ])
        );
        let map = eval("{'a': [1, 2.5], \"b\": {}}").unwrap();
        assert_eq!(map.get("a").unwrap().as_list().unwrap().len(), 2);
        assert_eq!(
            eval("[true, null, false]").unwrap().as_list().unwrap()[1],
            Value::Null
        );
        assert_eq!(eval("(1, 2)").unwrap().as_list().unwrap().len(), 2);
    }

    #[test]
    fn literal_eval_rejects_non_literals() {
        assert!(eval("[1, 2] + [3]").is_none());
        assert!(eval("[a]").is_none());
        assert!(eval("{{ x }}").is_none());
        assert!(eval("[1,").is_none());
        assert!(eval("[{}: 1]").is_none());
        assert!(eval("[01]").is_none());
        assert!(eval("{[1]: 2}").is_none());
    }

    #[test]
    fn literal_eval_numbers_and_strings() {
        assert_eq!(
            eval("[0x1f, 1_000, -3, 1e3, .5]").unwrap(),
            Value::list(vec![
                Value::Int(31),
                Value::Int(1000),
                Value::Int(-3),
                Value::Float(1000.0),
                Value::Float(0.5)
            ])
        );
        assert_eq!(
            eval("['a' 'b', '\\n\\x41', r'\\n']").unwrap(),
            Value::list(vec![
                Value::from("ab"),
                Value::from("\nA"),
                Value::from("\\n")
            ])
        );
        assert_eq!(
            eval("[1]  # comment\n").unwrap(),
            Value::list(vec![Value::Int(1)])
        );
        assert_eq!(eval("[1,\n 2]").unwrap().as_list().unwrap().len(), 2);
    }
}
