//! The `sequence` lookup: numbers from `start` to `end` (or `count` numbers) in steps of
//! `stride`, each formatted with the printf-style `format`.
//!
//! A term is `key=value` words (`start=0 end=10 stride=2 format=host%02d`) or the
//! shortcut `[start-]end[/stride][:format]`. Keyword arguments of `lookup()` set the
//! defaults for every term. Numbers are read as ansible-core 2.18's `integer` option type
//! reads them, through Python's `Decimal`, so `0600` is six hundred and `0x10` is an
//! invalid value, whatever the plugin's documentation claims.

use std::sync::LazyLock;

use minijinja::value::{Value as JValue, ValueKind};

use super::{Raised, Request};
use crate::template::methods::python_type_name;
use crate::template::pyformat::percent_format;
use crate::template::pyrepr::py_repr;
use crate::template::unicode_digits::to_ascii_number;
use crate::Value;
use rplay_modules::pyrepr::str_repr;

/// The shortcut form. `$` of Python's `re` also matches before a final newline.
static SHORTCUT: LazyLock<fancy_regex::Regex> = LazyLock::new(|| {
    const NUMBER: &str = "(0?x?[0-9a-f]+)";
    fancy_regex::Regex::new(&format!(
        r"(?i)^({NUMBER}-)?{NUMBER}(/{NUMBER})?(:(.+))?\n?\z"
    ))
    .expect("the shortcut pattern is valid")
});

/// The options of one term, in the order ansible-core checks them.
const FIELDS: [&str; 5] = ["start", "end", "count", "stride", "format"];

/// The settings of one term after parsing.
struct Settings {
    start: i64,
    end: Option<i64>,
    count: Option<i64>,
    stride: i64,
    format: String,
}

pub fn sequence(request: &Request) -> Result<Vec<Value>, Raised> {
    let mut items = Vec::new();
    for term in &request.terms {
        let mut settings = Settings {
            start: 1,
            end: None,
            count: None,
            stride: 1,
            format: "%d".into(),
        };
        for (name, value) in &request.options {
            if FIELDS.contains(&name.as_str()) {
                settings.set_from_value(name, value)?;
            }
        }
        settings.parse_term(term)?;
        let (start, end, stride) = settings.check()?;
        if stride != 0 {
            items.extend(generate(start, end, stride, &settings.format)?);
        }
    }
    Ok(items)
}

impl Settings {
    fn parse_term(&mut self, term: &JValue) -> Result<(), Raised> {
        let Some(text) = term.as_str() else {
            return Err(Raised::ansible(format!(
                "unknown error parsing with_sequence arguments: {}. Error was: expected string or bytes-like object, got '{}'",
                py_repr(term).unwrap_or_default(),
                python_type_name(term)
            )));
        };
        if let Ok(Some(captures)) = SHORTCUT.captures(text) {
            let group = |index: usize| captures.get(index).map(|m| m.as_str());
            for (name, index) in [("start", 2), ("end", 3), ("stride", 5)] {
                if let Some(value) = group(index) {
                    self.set_from_text(name, text, value)?;
                }
            }
            if let Some(format) = group(7) {
                self.format = format.to_owned();
            }
            return Ok(());
        }
        self.parse_key_values(text)
    }

    fn parse_key_values(&mut self, text: &str) -> Result<(), Raised> {
        let Some(mut arguments) = crate::playbook::parse_kv_text(text) else {
            return Err(Raised::ansible(format!(
                "failed at splitting arguments, either an unbalanced jinja2 block or quotes: {text}"
            )));
        };
        for name in FIELDS {
            if let Some(value) = arguments.shift_remove(name) {
                let value = value.as_str().unwrap_or_default().to_owned();
                self.set_from_text(name, text, &value)?;
            }
        }
        if arguments.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = arguments
            .keys()
            .map(|key| str_repr(key.as_str().unwrap_or_default()))
            .collect();
        Err(Raised::ansible(format!(
            "unrecognized arguments to with_sequence: [{}]",
            names.join(", ")
        )))
    }

    fn set_from_text(&mut self, name: &str, term: &str, value: &str) -> Result<(), Raised> {
        if name == "format" {
            self.format = value.to_owned();
            return Ok(());
        }
        let number = match parse_decimal_integer(value) {
            Ok(number) => number,
            Err(DecimalIssue::Invalid) => return Err(option_type_error(name, "")),
            Err(DecimalIssue::Fractional) => {
                return Err(option_type_error(
                    name,
                    &format!("Invalid type provided for \"int\": {}", str_repr(value)),
                ))
            }
            Err(issue @ DecimalIssue::NotANumber) => {
                return Err(option_type_error(name, issue.message()))
            }
            // `int()` raises an OverflowError, which the option type check lets through
            // and the plugin rewords.
            Err(issue) => {
                return Err(Raised::ansible(format!(
                    "unknown error parsing with_sequence arguments: {}. Error was: {}",
                    str_repr(term),
                    issue.message()
                )))
            }
        };
        self.set_number(name, number);
        Ok(())
    }

    /// Sets an option from a keyword argument of `lookup()`.
    fn set_from_value(&mut self, name: &str, value: &JValue) -> Result<(), Raised> {
        if value.is_none() {
            return Ok(());
        }
        if name == "format" {
            let Some(text) = value.as_str() else {
                return Err(Raised::ansible(format!(
                    "unknown error generating sequence: '{}' object has no attribute 'count'",
                    python_type_name(value)
                )));
            };
            self.format = text.to_owned();
            return Ok(());
        }
        let number = match value.kind() {
            ValueKind::Bool => Ok(i64::from(value.is_true())),
            ValueKind::Number if value.is_integer() => Ok(value.as_i64().unwrap_or_default()),
            ValueKind::Number => {
                let float = f64::try_from(value.clone()).unwrap_or(f64::NAN);
                if float.fract() == 0.0 && float.abs() < i64::MAX as f64 {
                    Ok(float as i64)
                } else if float.is_finite() {
                    Err(DecimalIssue::Fractional)
                } else if float.is_nan() {
                    Err(DecimalIssue::NotANumber)
                } else {
                    Err(DecimalIssue::Infinite)
                }
            }
            ValueKind::String => parse_decimal_integer(value.as_str().unwrap_or_default()),
            _ => {
                return Err(Raised::ansible(format!(
                "unknown error generating sequence: conversion from {} to Decimal is not supported",
                python_type_name(value)
            )))
            }
        };
        match number {
            Ok(number) => {
                self.set_number(name, number);
                Ok(())
            }
            Err(DecimalIssue::Invalid) => Err(option_type_error(name, "")),
            Err(DecimalIssue::Fractional) => Err(option_type_error(
                name,
                &format!(
                    "Invalid type provided for \"int\": {}",
                    py_repr(value).unwrap_or_default()
                ),
            )),
            Err(issue @ DecimalIssue::NotANumber) => Err(option_type_error(name, issue.message())),
            Err(issue) => Err(Raised::ansible(format!(
                "unknown error generating sequence: {}",
                issue.message()
            ))),
        }
    }

    fn set_number(&mut self, name: &str, number: i64) {
        match name {
            "start" => self.start = number,
            "end" => self.end = Some(number),
            "count" => self.count = Some(number),
            _ => self.stride = number,
        }
    }

    /// Applies ansible-core's `sanity_check`: `count` becomes an `end`, and a stride
    /// pointing away from `end` or a format without exactly one `%` is an error.
    /// Returns the start, end and stride to generate.
    fn check(&self) -> Result<(i64, i64, i64), Raised> {
        let (start, end, stride) = match (self.end, self.count) {
            (None, None) => {
                return Err(Raised::ansible(
                    "must specify count or end in with_sequence",
                ))
            }
            (Some(_), Some(_)) => {
                return Err(Raised::ansible(
                    "can't specify both count and end in with_sequence",
                ))
            }
            (Some(end), None) => (self.start, end, self.stride),
            (None, Some(0)) => (0, 0, 0),
            // ansible-core subtracts one whatever the stride's sign.
            (None, Some(count)) => (
                self.start,
                self.start
                    .saturating_add(count.saturating_mul(self.stride))
                    .saturating_sub(1),
                self.stride,
            ),
        };
        if stride > 0 && end < start {
            return Err(Raised::ansible("to count backwards make stride negative"));
        }
        if stride < 0 && end > start {
            return Err(Raised::ansible(
                "to count forward don't make stride negative",
            ));
        }
        if self.format.matches('%').count() != 1 {
            return Err(Raised::ansible(format!(
                "bad formatting string: {}",
                self.format
            )));
        }
        Ok((start, end, stride))
    }
}

/// Formats the numbers of Python's `range(start, end ± 1, stride)`.
fn generate(start: i64, end: i64, stride: i64, format: &str) -> Result<Vec<Value>, Raised> {
    let mut items = Vec::new();
    let mut number = start;
    while (stride > 0 && number <= end) || (stride < 0 && number >= end) {
        let formatted = percent_format(format, &JValue::from(number)).map_err(|_| {
            Raised::ansible(format!(
                "problem formatting {number} with {}",
                str_repr(format)
            ))
        })?;
        items.push(Value::from(formatted));
        let Some(next) = number.checked_add(stride) else {
            break;
        };
        number = next;
    }
    Ok(items)
}

/// The reason a text is not an integer for Python's `int(Decimal(text))`.
#[derive(Debug, PartialEq)]
pub(super) enum DecimalIssue {
    /// `Decimal` cannot read the text at all.
    Invalid,
    /// A number with a fractional part, such as `1.5`.
    Fractional,
    NotANumber,
    Infinite,
}

impl DecimalIssue {
    fn message(&self) -> &'static str {
        match self {
            DecimalIssue::NotANumber => "cannot convert NaN to integer",
            DecimalIssue::Infinite => "cannot convert Infinity to integer",
            DecimalIssue::Invalid | DecimalIssue::Fractional => "",
        }
    }
}

/// Reads an integer as ansible-core's `integer` option type does: Python's `Decimal`
/// syntax (surrounding whitespace, a sign, underscores, a fraction and an exponent),
/// accepted only when the value is whole. Digits of any script are read.
// NOTE: a whole number beyond the range of i64 is reported as invalid.
pub(super) fn parse_decimal_integer(text: &str) -> Result<i64, DecimalIssue> {
    let cleaned: String = to_ascii_number(text)
        .trim()
        .chars()
        .filter(|c| *c != '_')
        .collect();
    let (negative, body) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cleaned.strip_prefix('+').unwrap_or(&cleaned)),
    };

    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Err(DecimalIssue::Infinite);
    }
    let payload = lower
        .strip_prefix("nan")
        .or_else(|| lower.strip_prefix("snan"));
    if let Some(payload) = payload {
        return if payload.bytes().all(|b| b.is_ascii_digit()) {
            Err(DecimalIssue::NotANumber)
        } else {
            Err(DecimalIssue::Invalid)
        };
    }
    let (mantissa, exponent) = match lower.split_once('e') {
        Some((mantissa, exponent)) => {
            let digits = exponent.trim_start_matches(['+', '-']);
            if digits.is_empty()
                || exponent.len() - digits.len() > 1
                || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(DecimalIssue::Invalid);
            }
            let exponent: i64 = exponent.parse().map_err(|_| DecimalIssue::Invalid)?;
            (mantissa, exponent)
        }
        None => (lower.as_str(), 0),
    };

    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return Err(DecimalIssue::Invalid);
    }

    let mut digits = format!("{whole}{fraction}");
    let mut exponent = exponent - fraction.len() as i64;
    while exponent < 0 && digits.ends_with('0') {
        digits.pop();
        exponent += 1;
    }
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    if exponent < 0 {
        return Err(DecimalIssue::Fractional);
    }
    let mut value: i64 = digits.parse().map_err(|_| DecimalIssue::Invalid)?;
    for _ in 0..exponent {
        value = value.checked_mul(10).ok_or(DecimalIssue::Invalid)?;
    }
    Ok(if negative { -value } else { value })
}

/// Builds the `AnsibleOptionsError` of an option value that is not of the option's type.
fn option_type_error(name: &str, detail: &str) -> Raised {
    Raised::options(format!(
        "Invalid type for configuration option plugin_type: lookup plugin: sequence setting: {name} (from Direct): {detail}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_integer_forms() {
        assert_eq!(parse_decimal_integer(" 3 "), Ok(3));
        assert_eq!(parse_decimal_integer("0600"), Ok(600));
        assert_eq!(parse_decimal_integer("1_0"), Ok(10));
        assert_eq!(parse_decimal_integer("1e1"), Ok(10));
        assert_eq!(parse_decimal_integer(".5e1"), Ok(5));
        assert_eq!(parse_decimal_integer("1."), Ok(1));
        assert_eq!(parse_decimal_integer("-2.0"), Ok(-2));
    }

    #[test]
    fn decimal_integer_rejections() {
        assert_eq!(parse_decimal_integer("0x10"), Err(DecimalIssue::Invalid));
        assert_eq!(parse_decimal_integer(""), Err(DecimalIssue::Invalid));
        assert_eq!(parse_decimal_integer("1.5"), Err(DecimalIssue::Fractional));
        assert_eq!(parse_decimal_integer("NaN"), Err(DecimalIssue::NotANumber));
        assert_eq!(parse_decimal_integer("-inf"), Err(DecimalIssue::Infinite));
    }

    #[test]
    fn shortcut_pattern_groups() {
        let captures = SHORTCUT.captures("2-10/2:host%02d").unwrap().unwrap();
        assert_eq!(captures.get(2).unwrap().as_str(), "2");
        assert_eq!(captures.get(3).unwrap().as_str(), "10");
        assert_eq!(captures.get(5).unwrap().as_str(), "2");
        assert_eq!(captures.get(7).unwrap().as_str(), "host%02d");
    }
}
