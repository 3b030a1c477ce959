//! Unicode decimal digits as Python's `int()`, `float()` and `Decimal()` read them.
//!
//! Before parsing, CPython replaces every character of category Nd (decimal digit) by
//! its ASCII digit and every non-ASCII whitespace character by a space, so `int('٣')` is 3
//! and `float('１２')` is 12.0. Other characters stay and make the parse fail.

use std::borrow::Cow;

/// The first code point (digit zero) of each run of ten Nd characters in Unicode 14.0,
/// the version of Python 3.11's `unicodedata`. Every Nd character belongs to one run.
const DIGIT_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

/// Returns the value of a decimal digit of any script, as Python's `unicodedata.decimal`.
pub fn decimal_value(c: char) -> Option<u32> {
    let code = u32::from(c);
    let run = DIGIT_ZEROS
        .partition_point(|&zero| zero <= code)
        .checked_sub(1)?;
    let value = code - DIGIT_ZEROS[run];
    (value < 10).then_some(value)
}

/// Rewrites non-ASCII digits to ASCII ones and non-ASCII whitespace to spaces, as
/// CPython does before it parses a number from text.
pub fn to_ascii_number(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    let converted = text
        .chars()
        .map(|c| match c {
            _ if c.is_ascii() => c,
            _ if c.is_whitespace() => ' ',
            _ => decimal_value(c).map_or(c, |value| char::from(b'0' + value as u8)),
        })
        .collect();
    Cow::Owned(converted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_value_of_scripts() {
        assert_eq!(decimal_value('7'), Some(7));
        assert_eq!(decimal_value('٣'), Some(3));
        assert_eq!(decimal_value('９'), Some(9));
        assert_eq!(decimal_value('𝟘'), Some(0));
        assert_eq!(decimal_value('²'), None);
        assert_eq!(decimal_value('a'), None);
        assert_eq!(decimal_value('\u{669}'), Some(9));
        assert_eq!(decimal_value('\u{66A}'), None);
    }

    #[test]
    fn ascii_number_rewrites() {
        assert_eq!(to_ascii_number("\u{3000}١٢.٥"), " 12.5");
        assert_eq!(to_ascii_number("1²"), "1²");
        assert!(matches!(to_ascii_number("12"), Cow::Borrowed("12")));
    }
}
