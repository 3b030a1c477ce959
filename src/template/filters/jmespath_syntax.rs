//! Python jmespath's syntax errors, worded as `str()` of its exceptions.
//!
//! The Rust `jmespath` crate parses expressions with its own error messages and
//! positions. community.general's `json_query` runs Python's jmespath (1.1.0 in the
//! oracle's virtualenv), whose lexer and top-down operator precedence parser decide
//! which token is reported and where. [`check`] follows the same lexer rules and the
//! same parse steps, without building a tree, so that an invalid expression fails with
//! the message Python prints. Only the node property Python's parser tests (whether the
//! left operand is a plain field) is tracked.

use minijinja::value::Value as JValue;

use crate::template::convert::to_jinja;
use crate::template::pyrepr::py_str;
use crate::Value;

/// A syntax error of Python's jmespath, as `str()` of the exception prints it.
#[derive(Debug, PartialEq, Eq)]
pub enum SyntaxError {
    /// One of jmespath's own exceptions (`JMESPathError`).
    Jmespath(String),
    /// Python's parser indexed past its token list and raised `IndexError`.
    IndexError(String),
}

#[derive(Clone)]
struct Token {
    kind: &'static str,
    /// `str()` of the token's value in Python.
    text: String,
    /// Character offset where the token starts.
    start: usize,
}

/// Checks `expression` as Python's jmespath parses it.
pub fn check(expression: &str) -> Result<(), SyntaxError> {
    if expression.is_empty() {
        return Err(SyntaxError::Jmespath(
            "Invalid JMESPath expression: cannot be empty.".into(),
        ));
    }
    let tokens = Lexer::new(expression).tokenize().map_err(|error| {
        SyntaxError::Jmespath(format!(
            "Bad jmespath expression: {}:\n{expression}\n{}^",
            error.message,
            " ".repeat(error.position)
        ))
    })?;
    let mut parser = Parser { tokens, index: 0 };
    parser.parse().map_err(|error| error.describe(expression))
}

struct LexError {
    position: usize,
    message: String,
}

struct Lexer {
    chars: Vec<char>,
    position: usize,
    current: Option<char>,
}

fn simple_token(c: char) -> Option<&'static str> {
    Some(match c {
        '.' => "dot",
        '*' => "star",
        ']' => "rbracket",
        ',' => "comma",
        ':' => "colon",
        '@' => "current",
        '(' => "lparen",
        ')' => "rparen",
        '{' => "lbrace",
        '}' => "rbrace",
        _ => return None,
    })
}

fn starts_identifier(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn continues_identifier(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Lexer {
    fn new(expression: &str) -> Lexer {
        let chars: Vec<char> = expression.chars().collect();
        let current = chars.first().copied();
        Lexer {
            chars,
            position: 0,
            current,
        }
    }

    /// Moves to the next character. Like Python's lexer, the position stays on the
    /// last character at the end of the input.
    fn next(&mut self) -> Option<char> {
        if self.position + 1 >= self.chars.len() {
            self.current = None;
        } else {
            self.position += 1;
            self.current = Some(self.chars[self.position]);
        }
        self.current
    }

    fn token(kind: &'static str, text: impl Into<String>, start: usize) -> Token {
        Token {
            kind,
            text: text.into(),
            start,
        }
    }

    fn tokenize(mut self) -> Result<Vec<Token>, LexError> {
        let mut tokens = Vec::new();
        while let Some(c) = self.current {
            if let Some(kind) = simple_token(c) {
                tokens.push(Self::token(kind, c, self.position));
                self.next();
            } else if starts_identifier(c) {
                let start = self.position;
                let mut name = c.to_string();
                while let Some(next) = self.next().filter(|&n| continues_identifier(n)) {
                    name.push(next);
                }
                tokens.push(Self::token("unquoted_identifier", name, start));
            } else if matches!(c, ' ' | '\t' | '\n' | '\r') {
                self.next();
            } else {
                tokens.push(self.other_token(c)?);
            }
        }
        tokens.push(Self::token("eof", "", self.chars.len()));
        Ok(tokens)
    }

    fn other_token(&mut self, c: char) -> Result<Token, LexError> {
        let start = self.position;
        match c {
            '[' => Ok(match self.next() {
                Some(']') => {
                    self.next();
                    Self::token("flatten", "[]", start)
                }
                Some('?') => {
                    self.next();
                    Self::token("filter", "[?", start)
                }
                _ => Self::token("lbracket", "[", start),
            }),
            '\'' => {
                let text = self.consume_until('\'')?.replace("\\'", "'");
                Ok(Self::token("literal", text, start))
            }
            '|' => Ok(self.match_or_else('|', "or", "pipe")),
            '&' => Ok(self.match_or_else('&', "and", "expref")),
            '`' => self.consume_literal(),
            '0'..='9' => {
                let digits = self.consume_number();
                Ok(Self::token("number", int_text(&digits), start))
            }
            '-' => {
                let digits = self.consume_number();
                if digits.chars().count() > 1 {
                    Ok(Self::token("number", int_text(&digits), start))
                } else {
                    Err(LexError {
                        position: start,
                        message: format!("Unknown token '{digits}'"),
                    })
                }
            }
            '"' => self.consume_quoted_identifier(),
            '<' => Ok(self.match_or_else('=', "lte", "lt")),
            '>' => Ok(self.match_or_else('=', "gte", "gt")),
            '!' => Ok(self.match_or_else('=', "ne", "not")),
            '=' => {
                if self.next() == Some('=') {
                    self.next();
                    Ok(Self::token("eq", "==", start))
                } else {
                    Err(LexError {
                        position: start,
                        message: "Unknown token '='".into(),
                    })
                }
            }
            _ => Err(LexError {
                position: start,
                message: format!("Unknown token {c}"),
            }),
        }
    }

    fn consume_number(&mut self) -> String {
        let mut digits = self.current.map(String::from).unwrap_or_default();
        while let Some(next) = self.next().filter(char::is_ascii_digit) {
            digits.push(next);
        }
        digits
    }

    /// Reads up to `delimiter`, keeping backslashes, as Python's `_consume_until`.
    fn consume_until(&mut self, delimiter: char) -> Result<String, LexError> {
        let start = self.position;
        let mut text = String::new();
        self.next();
        while self.current != Some(delimiter) {
            if self.current == Some('\\') {
                text.push('\\');
                self.next();
            }
            let Some(c) = self.current else {
                return Err(LexError {
                    position: start,
                    message: format!("Unclosed {delimiter} delimiter"),
                });
            };
            text.push(c);
            self.next();
        }
        self.next();
        Ok(text)
    }

    /// Reads a backtick literal: JSON, or any other text as a string, which JEP-12
    /// deprecates but Python's jmespath still accepts.
    fn consume_literal(&mut self) -> Result<Token, LexError> {
        let start = self.position;
        let lexeme = self.consume_until('`')?.replace("\\`", "`");
        let parsed = serde_json::from_str::<serde_json::Value>(&lexeme).or_else(|_| {
            serde_json::from_str::<serde_json::Value>(&format!("\"{}\"", lexeme.trim_start()))
        });
        match parsed {
            Ok(json) => Ok(Self::token("literal", json_text(json), start)),
            Err(_) => Err(LexError {
                position: start,
                message: format!("Bad token {lexeme}"),
            }),
        }
    }

    fn consume_quoted_identifier(&mut self) -> Result<Token, LexError> {
        let start = self.position;
        let lexeme = format!("\"{}\"", self.consume_until('"')?);
        match serde_json::from_str::<String>(&lexeme) {
            Ok(name) => Ok(Self::token("quoted_identifier", name, start)),
            // NOTE: Python's message is the part of `json.loads`'s error before its
            // first colon. Only its two usual causes are distinguished here.
            Err(_) => Err(LexError {
                position: start,
                message: if lexeme.contains('\\') {
                    "Invalid \\escape".into()
                } else {
                    "Invalid control character at".into()
                },
            }),
        }
    }

    fn match_or_else(
        &mut self,
        expected: char,
        matched: &'static str,
        other: &'static str,
    ) -> Token {
        let start = self.position;
        let first = self.current.unwrap_or_default();
        if self.next() == Some(expected) {
            self.next();
            return Self::token(matched, format!("{first}{expected}"), start);
        }
        Self::token(other, first, start)
    }
}

/// Python's `str(int(digits))`: leading zeros dropped, `-0` is `0`.
fn int_text(digits: &str) -> String {
    let (sign, magnitude) = match digits.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", digits),
    };
    let trimmed = magnitude.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".into()
    } else {
        format!("{sign}{trimmed}")
    }
}

/// Python's `str()` of a parsed JSON literal.
fn json_text(json: serde_json::Value) -> String {
    let value: JValue = to_jinja(&Value::from(json));
    py_str(&value).unwrap_or_default()
}

/// The cause of a parse failure, before the expression is put into the message.
enum ParseError {
    Incomplete,
    Token {
        token: Token,
        message: String,
    },
    /// Python's parser indexed past its token list (`IndexError`).
    OutOfRange,
}

impl ParseError {
    fn describe(self, expression: &str) -> SyntaxError {
        let length = expression.chars().count();
        SyntaxError::Jmespath(match self {
            ParseError::Incomplete => format!(
                "Invalid jmespath expression: Incomplete expression:\n\"{expression}\"\n{}^",
                " ".repeat(length + 1)
            ),
            ParseError::Token { token, message } => format!(
                "{message}: Parse error at column {}, token \"{}\" ({}), for expression:\n\"{expression}\"\n{}^",
                token.start,
                token.text,
                token.kind.to_uppercase(),
                " ".repeat(token.start + 1)
            ),
            ParseError::OutOfRange => {
                return SyntaxError::IndexError("list index out of range".into())
            }
        })
    }
}

/// Binding powers of Python jmespath's parser.
fn binding_power(kind: &str) -> u8 {
    match kind {
        "pipe" => 1,
        "or" => 2,
        "and" => 3,
        "eq" | "gt" | "lt" | "gte" | "lte" | "ne" => 5,
        "flatten" => 9,
        "star" => 20,
        "filter" => 21,
        "dot" => 40,
        "not" => 45,
        "lbrace" => 50,
        "lbracket" => 55,
        "lparen" => 60,
        _ => 0,
    }
}

/// Binding powers below this stop a projection.
const PROJECTION_STOP: u8 = 10;

/// The kind of a parsed node, as far as the parser tests it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Node {
    Field,
    Other,
}

struct Parser {
    tokens: Vec<Token>,
    index: usize,
}

type Parsed = Result<Node, ParseError>;

impl Parser {
    fn parse(&mut self) -> Result<(), ParseError> {
        self.expression(0)?;
        if self.current()? != "eof" {
            let token = self.lookahead_token(0)?;
            let message = format!("Unexpected token: {}", token.text);
            return Err(ParseError::Token { token, message });
        }
        Ok(())
    }

    fn lookahead_token(&self, offset: isize) -> Result<Token, ParseError> {
        self.index
            .checked_add_signed(offset)
            .and_then(|index| self.tokens.get(index))
            .cloned()
            .ok_or(ParseError::OutOfRange)
    }

    fn lookahead(&self, offset: isize) -> Result<&'static str, ParseError> {
        Ok(self.lookahead_token(offset)?.kind)
    }

    fn current(&self) -> Result<&'static str, ParseError> {
        self.lookahead(0)
    }

    fn advance(&mut self) {
        self.index += 1;
    }

    fn expression(&mut self, power: u8) -> Parsed {
        let left_token = self.lookahead_token(0)?;
        self.advance();
        let mut left = self.nud(left_token)?;
        let mut current = self.current()?;
        while power < binding_power(current) {
            left = self.led(current, left)?;
            current = self.current()?;
        }
        Ok(left)
    }

    fn nud(&mut self, token: Token) -> Parsed {
        match token.kind {
            "literal" | "current" => Ok(Node::Other),
            "unquoted_identifier" => Ok(Node::Field),
            "quoted_identifier" => {
                if self.current()? == "lparen" {
                    let next = self.lookahead_token(0)?;
                    return Err(ParseError::Token {
                        token: Token { start: 0, ..next },
                        message: "Quoted identifier not allowed for function names.".into(),
                    });
                }
                Ok(Node::Field)
            }
            "star" => {
                if self.current()? != "rbracket" {
                    self.projection_rhs(binding_power("star"))?;
                }
                Ok(Node::Other)
            }
            "filter" => self.led_filter(),
            "lbrace" => self.multi_select_hash(),
            "lparen" => {
                self.expression(0)?;
                self.expect("rparen")?;
                Ok(Node::Other)
            }
            "flatten" => {
                self.projection_rhs(binding_power("flatten"))?;
                Ok(Node::Other)
            }
            "not" => {
                self.expression(binding_power("not"))?;
                Ok(Node::Other)
            }
            "lbracket" => self.nud_lbracket(),
            "expref" => {
                self.expression(binding_power("expref"))?;
                Ok(Node::Other)
            }
            "eof" => Err(ParseError::Incomplete),
            _ => Err(invalid(token)),
        }
    }

    fn led(&mut self, kind: &'static str, left: Node) -> Parsed {
        if matches!(kind, "star" | "not" | "lbrace") {
            return Err(invalid(self.lookahead_token(0)?));
        }
        self.advance();
        match kind {
            "dot" => self.led_dot(),
            "pipe" | "or" | "and" | "eq" | "ne" | "gt" | "gte" | "lt" | "lte" => {
                self.expression(binding_power(kind))?;
                Ok(Node::Other)
            }
            "lparen" => self.led_lparen(left),
            "filter" => self.led_filter(),
            "flatten" => {
                self.projection_rhs(binding_power("flatten"))?;
                Ok(Node::Other)
            }
            _ => self.led_lbracket(),
        }
    }

    fn nud_lbracket(&mut self) -> Parsed {
        let current = self.current()?;
        if matches!(current, "number" | "colon") {
            let is_slice = self.index_expression()?;
            if is_slice {
                self.projection_rhs(binding_power("star"))?;
            }
        } else if current == "star" && self.lookahead(1)? == "rbracket" {
            self.advance();
            self.advance();
            self.projection_rhs(binding_power("star"))?;
        } else {
            self.multi_select_list()?;
        }
        Ok(Node::Other)
    }

    /// Parses `[number]` or a slice after `[`; returns whether it was a slice.
    fn index_expression(&mut self) -> Result<bool, ParseError> {
        if self.lookahead(0)? == "colon" || self.lookahead(1)? == "colon" {
            self.slice_expression()?;
            return Ok(true);
        }
        self.advance();
        self.expect("rbracket")?;
        Ok(false)
    }

    fn slice_expression(&mut self) -> Result<(), ParseError> {
        let mut index = 0;
        let mut current = self.current()?;
        while current != "rbracket" && index < 3 {
            match current {
                "colon" => {
                    index += 1;
                    if index == 3 {
                        return Err(syntax_error(self.lookahead_token(0)?));
                    }
                    self.advance();
                }
                "number" => self.advance(),
                _ => return Err(syntax_error(self.lookahead_token(0)?)),
            }
            current = self.current()?;
        }
        self.expect("rbracket")
    }

    fn led_dot(&mut self) -> Parsed {
        if self.current()? != "star" {
            self.dot_rhs(binding_power("dot"))?;
        } else {
            self.advance();
            self.projection_rhs(binding_power("dot"))?;
        }
        Ok(Node::Other)
    }

    fn led_lparen(&mut self, left: Node) -> Parsed {
        if left != Node::Field {
            let name = self.lookahead_token(-2)?;
            let message = format!("Invalid function name '{}'", name.text);
            return Err(ParseError::Token {
                token: name,
                message,
            });
        }
        while self.current()? != "rparen" {
            self.expression(0)?;
            if self.current()? == "comma" {
                self.expect("comma")?;
            }
        }
        self.expect("rparen")?;
        Ok(Node::Other)
    }

    fn led_filter(&mut self) -> Parsed {
        self.expression(0)?;
        self.expect("rbracket")?;
        if self.current()? != "flatten" {
            self.projection_rhs(binding_power("filter"))?;
        }
        Ok(Node::Other)
    }

    fn led_lbracket(&mut self) -> Parsed {
        let token = self.lookahead_token(0)?;
        if matches!(token.kind, "number" | "colon") {
            let is_slice = self.index_expression()?;
            if is_slice {
                self.projection_rhs(binding_power("star"))?;
            }
        } else {
            self.expect("star")?;
            self.expect("rbracket")?;
            self.projection_rhs(binding_power("star"))?;
        }
        Ok(Node::Other)
    }

    fn multi_select_list(&mut self) -> Parsed {
        loop {
            self.expression(0)?;
            if self.current()? == "rbracket" {
                break;
            }
            self.expect("comma")?;
        }
        self.expect("rbracket")?;
        Ok(Node::Other)
    }

    fn multi_select_hash(&mut self) -> Parsed {
        loop {
            let key_kinds = ["quoted_identifier", "unquoted_identifier"];
            if !key_kinds.contains(&self.current()?) {
                let expected = "['quoted_identifier', 'unquoted_identifier']";
                return Err(self.expecting(expected)?);
            }
            self.advance();
            self.expect("colon")?;
            self.expression(0)?;
            match self.current()? {
                "comma" => self.expect("comma")?,
                "rbrace" => {
                    self.expect("rbrace")?;
                    break;
                }
                _ => {}
            }
        }
        Ok(Node::Other)
    }

    fn projection_rhs(&mut self, power: u8) -> Result<(), ParseError> {
        let current = self.current()?;
        if binding_power(current) < PROJECTION_STOP {
            return Ok(());
        }
        match current {
            "lbracket" | "filter" => {
                self.expression(power)?;
            }
            "dot" => {
                self.expect("dot")?;
                self.dot_rhs(power)?;
            }
            _ => return Err(syntax_error(self.lookahead_token(0)?)),
        }
        Ok(())
    }

    fn dot_rhs(&mut self, power: u8) -> Result<(), ParseError> {
        match self.current()? {
            "quoted_identifier" | "unquoted_identifier" | "star" => {
                self.expression(power)?;
            }
            "lbracket" => {
                self.expect("lbracket")?;
                self.multi_select_list()?;
            }
            "lbrace" => {
                self.expect("lbrace")?;
                self.multi_select_hash()?;
            }
            _ => {
                let token = self.lookahead_token(0)?;
                let message = format!(
                    "Expecting: ['quoted_identifier', 'unquoted_identifier', 'lbracket', 'lbrace'], got: {}",
                    token.kind
                );
                return Err(ParseError::Token { token, message });
            }
        }
        Ok(())
    }

    /// Python's `_match`: consumes a token of `kind` or fails.
    fn expect(&mut self, kind: &str) -> Result<(), ParseError> {
        if self.current()? == kind {
            self.advance();
            return Ok(());
        }
        Err(self.expecting(kind)?)
    }

    /// Python's `_raise_parse_error_maybe_eof` for the current token.
    fn expecting(&self, expected: &str) -> Result<ParseError, ParseError> {
        let token = self.lookahead_token(0)?;
        if token.kind == "eof" {
            return Ok(ParseError::Incomplete);
        }
        let message = format!("Expecting: {expected}, got: {}", token.kind);
        Ok(ParseError::Token { token, message })
    }
}

fn invalid(token: Token) -> ParseError {
    ParseError::Token {
        token,
        message: "invalid token".into(),
    }
}

fn syntax_error(token: Token) -> ParseError {
    ParseError::Token {
        token,
        message: "syntax error".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_expressions_pass() {
        for expression in [
            "a.b[0].c",
            "a[?b==`1`].c",
            "length(@)",
            "{x: a, y: b[*].c}",
            "a[1:2:3] | [0]",
            "a[].b && !c || d",
            "sort_by(a, &b)",
        ] {
            assert_eq!(check(expression), Ok(()), "{expression}");
        }
    }

    #[test]
    fn unclosed_bracket_is_incomplete() {
        let error = check("[").unwrap_err();
        assert_eq!(
            error,
            SyntaxError::Jmespath(
                "Invalid jmespath expression: Incomplete expression:\n\"[\"\n  ^".into()
            )
        );
    }

    #[test]
    fn unknown_character_is_lexer_error() {
        let error = check("a ^ b").unwrap_err();
        assert_eq!(
            error,
            SyntaxError::Jmespath("Bad jmespath expression: Unknown token ^:\na ^ b\n  ^".into())
        );
    }
}
