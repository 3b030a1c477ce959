//! Scalar constructors with the results of PyYAML's `SafeConstructor` (PyYAML 6.0):
//! `construct_yaml_int`, `construct_yaml_float`, `construct_yaml_bool`,
//! `construct_yaml_timestamp` and `construct_yaml_binary`.
//!
//! They run on implicitly resolved plain scalars and on explicitly tagged ones
//! (`!!int "0x1F"`), so they accept what Python's `int()` and `float()` accept after
//! PyYAML's own preprocessing, not only what the resolver lets through. Errors are the
//! texts of the Python exceptions that Ansible would show.

use std::borrow::Cow;
use std::fmt::Write as _;

/// A Python `int`: machine-sized, or larger and kept as decimal text.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Integer {
    Small(i64),
    /// Outside `i64`, as decimal digits with an optional leading `-`.
    Big(Box<str>),
}

/// Constructs `!!int` as `construct_yaml_int` does: underscores dropped, then binary,
/// hex, octal (a leading `0`), base 60 (`1:30`) or decimal.
pub(super) fn construct_int(raw: &str) -> Result<Integer, String> {
    let value = without_underscores(raw);
    if value.is_empty() {
        return Err("string index out of range".into());
    }
    let negative = value.starts_with('-');
    let value = value.strip_prefix(['-', '+']).unwrap_or(&value);
    if value == "0" {
        return Ok(Integer::Small(0));
    }
    let magnitude = if let Some(digits) = value.strip_prefix("0b") {
        python_int(digits, 2)?
    } else if let Some(digits) = value.strip_prefix("0x") {
        python_int(digits, 16)?
    } else if value.starts_with('0') {
        python_int(value, 8)?
    } else if value.contains(':') {
        return sexagesimal_int(value, negative);
    } else {
        python_int(value, 10)?
    };
    Ok(magnitude.with_sign(negative).into_integer())
}

fn without_underscores(raw: &str) -> Cow<'_, str> {
    if raw.contains('_') {
        Cow::Owned(raw.replace('_', ""))
    } else {
        Cow::Borrowed(raw)
    }
}

/// `1:30:15` is 1*3600 + 30*60 + 15. Each part goes through Python's `int()`.
fn sexagesimal_int(value: &str, negative: bool) -> Result<Integer, String> {
    let overflow = || format!("integer too large: {value}");
    let mut total: i128 = 0;
    let mut base: i128 = 1;
    for part in value.rsplit(':') {
        let digit = match python_int(part, 10)?.into_integer() {
            Integer::Small(digit) => i128::from(digit),
            Integer::Big(_) => return Err(overflow()),
        };
        let term = digit.checked_mul(base).ok_or_else(overflow)?;
        total = total.checked_add(term).ok_or_else(overflow)?;
        base = base.checked_mul(60).unwrap_or(i128::MAX);
    }
    if negative {
        total = -total;
    }
    Ok(match i64::try_from(total) {
        Ok(small) => Integer::Small(small),
        Err(_) => Integer::Big(total.to_string().into()),
    })
}

/// An integer of any size, for Python's `int(text, base)`.
struct BigInt {
    negative: bool,
    /// Little-endian base-2^32 limbs.
    limbs: Vec<u32>,
}

impl BigInt {
    fn with_sign(mut self, negative: bool) -> BigInt {
        self.negative ^= negative;
        self
    }

    fn push_digit(&mut self, base: u32, digit: u32) {
        let mut carry = u64::from(digit);
        for limb in &mut self.limbs {
            let product = u64::from(*limb) * u64::from(base) + carry;
            *limb = product as u32;
            carry = product >> 32;
        }
        if carry > 0 {
            self.limbs.push(carry as u32);
        }
    }

    fn into_integer(self) -> Integer {
        if self.limbs.len() <= 2 {
            let magnitude = self
                .limbs
                .iter()
                .rev()
                .fold(0u64, |acc, &limb| (acc << 32) | u64::from(limb));
            let value = if self.negative {
                0i64.checked_sub_unsigned(magnitude)
            } else {
                i64::try_from(magnitude).ok()
            };
            if let Some(value) = value {
                return Integer::Small(value);
            }
        }
        Integer::Big(self.to_decimal().into())
    }

    fn to_decimal(&self) -> String {
        const CHUNK: u64 = 1_000_000_000;
        let mut limbs = self.limbs.clone();
        let mut chunks = Vec::new();
        while limbs.iter().any(|&limb| limb != 0) {
            let mut remainder = 0u64;
            for limb in limbs.iter_mut().rev() {
                let current = (remainder << 32) | u64::from(*limb);
                *limb = (current / CHUNK) as u32;
                remainder = current % CHUNK;
            }
            chunks.push(remainder);
        }
        let mut text = String::new();
        if self.negative {
            text.push('-');
        }
        match chunks.split_last() {
            None => text.push('0'),
            Some((most, rest)) => {
                let _ = write!(text, "{most}");
                for chunk in rest.iter().rev() {
                    let _ = write!(text, "{chunk:09}");
                }
            }
        }
        text
    }
}

/// Python's `int(text, base)` for bases 2, 8, 10 and 16: surrounding whitespace, a
/// sign and the prefix of the same base (`0x` for 16) are allowed.
fn python_int(text: &str, base: u32) -> Result<BigInt, String> {
    let invalid = || format!("invalid literal for int() with base {base}: '{text}'");
    let trimmed = trim_python_whitespace(text);
    let (negative, unsigned) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let prefix = match base {
        2 => Some(["0b", "0B"]),
        8 => Some(["0o", "0O"]),
        16 => Some(["0x", "0X"]),
        _ => None,
    };
    let digits = prefix
        .and_then(|prefixes| prefixes.iter().find_map(|p| unsigned.strip_prefix(p)))
        .unwrap_or(unsigned);
    if digits.is_empty() {
        return Err(invalid());
    }
    let mut number = BigInt {
        negative,
        limbs: Vec::new(),
    };
    for c in digits.chars() {
        let digit = c.to_digit(base).ok_or_else(invalid)?;
        number.push_digit(base, digit);
    }
    Ok(number)
}

/// Python's `str.strip()` with no argument.
fn trim_python_whitespace(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

/// Constructs `!!float` as `construct_yaml_float` does: underscores dropped, case
/// ignored, `.inf` and `.nan`, base 60 (`1:30.5`), otherwise Python's `float()`.
pub(super) fn construct_float(raw: &str) -> Result<f64, String> {
    let value = without_underscores(raw).to_lowercase();
    if value.is_empty() {
        return Err("string index out of range".into());
    }
    let negative = value.starts_with('-');
    let value = value.strip_prefix(['-', '+']).unwrap_or(&value);
    let sign = if negative { -1.0 } else { 1.0 };
    if value == ".inf" {
        return Ok(sign * f64::INFINITY);
    }
    if value == ".nan" {
        return Ok(f64::NAN);
    }
    if value.contains(':') {
        let mut total = 0.0;
        let mut base: u128 = 1;
        for part in value.rsplit(':') {
            total += python_float(part)? * base as f64;
            base = base.saturating_mul(60);
        }
        return Ok(sign * total);
    }
    Ok(sign * python_float(value)?)
}

/// Python's `float(text)`: a decimal literal, `inf`, `infinity` or `nan`, with an
/// optional sign and surrounding whitespace.
fn python_float(text: &str) -> Result<f64, String> {
    let invalid = || format!("could not convert string to float: '{text}'");
    let trimmed = trim_python_whitespace(text);
    let unsigned = trimmed.strip_prefix(['-', '+']).unwrap_or(trimmed);
    let word = unsigned.to_ascii_lowercase();
    if !matches!(word.as_str(), "inf" | "infinity" | "nan") && !is_decimal_literal(unsigned) {
        return Err(invalid());
    }
    trimmed.parse::<f64>().map_err(|_| invalid())
}

/// `(digits [. digits?] | . digits) ([eE] [-+]? digits)?`
fn is_decimal_literal(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut pos = 0;
    let count_digits = |pos: &mut usize| {
        let start = *pos;
        while bytes.get(*pos).is_some_and(u8::is_ascii_digit) {
            *pos += 1;
        }
        *pos - start
    };
    let mut digits = count_digits(&mut pos);
    if bytes.get(pos) == Some(&b'.') {
        pos += 1;
        digits += count_digits(&mut pos);
    }
    if digits == 0 {
        return false;
    }
    if matches!(bytes.get(pos), Some(b'e' | b'E')) {
        pos += 1;
        if matches!(bytes.get(pos), Some(b'-' | b'+')) {
            pos += 1;
        }
        if count_digits(&mut pos) == 0 {
            return false;
        }
    }
    pos == bytes.len()
}

/// Constructs `!!bool`: one of PyYAML's six words in any case.
pub(super) fn construct_bool(raw: &str) -> Result<bool, String> {
    match raw.to_lowercase().as_str() {
        "yes" | "true" | "on" => Ok(true),
        "no" | "false" | "off" => Ok(false),
        other => Err(format!("KeyError: '{other}'")),
    }
}

/// Constructs `!!timestamp` and returns the text Python's `str()` gives for the
/// `datetime.date` or `datetime.datetime` PyYAML builds, which is what Ansible shows
/// when it templates the value (`2001-12-14 21:59:43.100000-05:00`).
pub(super) fn construct_timestamp(raw: &str) -> Result<String, String> {
    let mismatch = || format!("'{raw}' is not a timestamp");
    // Python's `$` also matches before one final line break.
    let text = raw.strip_suffix('\n').unwrap_or(raw);
    let parts = TimestampParts::parse(text.as_bytes()).ok_or_else(mismatch)?;
    parts.to_python_str()
}

#[derive(Default)]
struct TimestampParts<'a> {
    year: u32,
    month: u32,
    day: u32,
    /// Hour, minute and second, when the scalar has a time.
    time: Option<(u32, u32, u32)>,
    fraction: &'a [u8],
    zone: Zone,
}

#[derive(Default)]
enum Zone {
    #[default]
    Naive,
    Utc,
    /// Offset in minutes east of UTC.
    Offset(i32),
}

impl<'a> TimestampParts<'a> {
    /// Matches PyYAML's `timestamp_regexp`, where the whole time part is optional.
    fn parse(bytes: &'a [u8]) -> Option<TimestampParts<'a>> {
        let mut pos = 0;
        let mut parts = TimestampParts {
            year: take_number(bytes, &mut pos, 4, 4)?,
            ..TimestampParts::default()
        };
        expect(bytes, &mut pos, b'-')?;
        parts.month = take_number(bytes, &mut pos, 1, 2)?;
        expect(bytes, &mut pos, b'-')?;
        parts.day = take_number(bytes, &mut pos, 1, 2)?;
        if pos == bytes.len() {
            return Some(parts);
        }
        if matches!(bytes[pos], b'T' | b't') {
            pos += 1;
        } else {
            let start = pos;
            while matches!(bytes.get(pos), Some(b' ' | b'\t')) {
                pos += 1;
            }
            if pos == start {
                return None;
            }
        }
        let hour = take_number(bytes, &mut pos, 1, 2)?;
        expect(bytes, &mut pos, b':')?;
        let minute = take_number(bytes, &mut pos, 2, 2)?;
        expect(bytes, &mut pos, b':')?;
        let second = take_number(bytes, &mut pos, 2, 2)?;
        parts.time = Some((hour, minute, second));
        if bytes.get(pos) == Some(&b'.') {
            pos += 1;
            let start = pos;
            while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
                pos += 1;
            }
            parts.fraction = &bytes[start..pos];
        }
        if pos == bytes.len() {
            return Some(parts);
        }
        // Blanks may only come before a zone.
        while matches!(bytes.get(pos), Some(b' ' | b'\t')) {
            pos += 1;
        }
        parts.zone = parse_zone(bytes, &mut pos)?;
        (pos == bytes.len()).then_some(parts)
    }

    fn to_python_str(&self) -> Result<String, String> {
        if !(1..=9999).contains(&self.year) {
            return Err(format!("year {} is out of range", self.year));
        }
        if !(1..=12).contains(&self.month) {
            return Err("month must be in 1..12".into());
        }
        if self.day < 1 || self.day > days_in_month(self.year, self.month) {
            return Err("day is out of range for month".into());
        }
        let mut text = format!("{:04}-{:02}-{:02}", self.year, self.month, self.day);
        let Some((hour, minute, second)) = self.time else {
            return Ok(text);
        };
        if hour > 23 {
            return Err("hour must be in 0..23".into());
        }
        if minute > 59 {
            return Err("minute must be in 0..59".into());
        }
        if second > 59 {
            return Err("second must be in 0..59".into());
        }
        let _ = write!(text, " {hour:02}:{minute:02}:{second:02}");
        let microseconds: String = self
            .fraction
            .iter()
            .take(6)
            .map(|&b| char::from(b))
            .chain(std::iter::repeat('0'))
            .take(6)
            .collect();
        if !self.fraction.is_empty() && microseconds != "000000" {
            let _ = write!(text, ".{microseconds}");
        }
        match self.zone {
            Zone::Naive => {}
            Zone::Utc => text.push_str("+00:00"),
            Zone::Offset(minutes) => {
                if minutes.abs() >= 24 * 60 {
                    return Err("offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24).".into());
                }
                let sign = if minutes < 0 { '-' } else { '+' };
                let minutes = minutes.abs();
                let _ = write!(text, "{sign}{:02}:{:02}", minutes / 60, minutes % 60);
            }
        }
        Ok(text)
    }
}

fn parse_zone(bytes: &[u8], pos: &mut usize) -> Option<Zone> {
    if bytes.get(*pos) == Some(&b'Z') {
        *pos += 1;
        return Some(Zone::Utc);
    }
    let negative = match bytes.get(*pos) {
        Some(b'-') => true,
        Some(b'+') => false,
        _ => return None,
    };
    *pos += 1;
    let hours = take_number(bytes, pos, 1, 2)?;
    let mut minutes = 0;
    if bytes.get(*pos) == Some(&b':') {
        *pos += 1;
        minutes = take_number(bytes, pos, 2, 2)?;
    }
    let total = (hours * 60 + minutes) as i32;
    Some(Zone::Offset(if negative { -total } else { total }))
}

fn take_number(bytes: &[u8], pos: &mut usize, min: usize, max: usize) -> Option<u32> {
    let start = *pos;
    while *pos - start < max && bytes.get(*pos).is_some_and(u8::is_ascii_digit) {
        *pos += 1;
    }
    if *pos - start < min {
        return None;
    }
    let digits = &bytes[start..*pos];
    Some(
        digits
            .iter()
            .fold(0, |acc, &b| acc * 10 + u32::from(b - b'0')),
    )
}

fn expect(bytes: &[u8], pos: &mut usize, byte: u8) -> Option<()> {
    if bytes.get(*pos) == Some(&byte) {
        *pos += 1;
        Some(())
    } else {
        None
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Constructs `!!binary` as `base64.decodebytes` does, which skips characters outside
/// the base64 alphabet.
pub(super) fn construct_binary(raw: &str) -> Result<Vec<u8>, String> {
    if !raw.is_ascii() {
        return Err("failed to convert base64 data into ascii".into());
    }
    let mut bits: u32 = 0;
    let mut bit_count = 0;
    let mut data_chars = 0usize;
    let mut padded = false;
    let mut out = Vec::with_capacity(raw.len() * 3 / 4);
    for byte in raw.bytes() {
        let sextet = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padded = true;
                continue;
            }
            _ => continue,
        };
        if padded {
            break;
        }
        data_chars += 1;
        bits = (bits << 6) | u32::from(sextet);
        bit_count += 6;
        if bit_count >= 8 {
            bit_count -= 8;
            out.push((bits >> bit_count) as u8);
        }
    }
    match data_chars % 4 {
        0 => Ok(out),
        1 => Err("failed to decode base64 data: invalid number of data characters".into()),
        _ if padded => Ok(out),
        _ => Err("failed to decode base64 data: Incorrect padding".into()),
    }
}

/// Formats a float as Python's `repr()` does: the shortest text that reads back the
/// same, positional from 1e-4 up to 1e16 and scientific outside (`1e+16`, `1e-05`).
pub(super) fn python_float_repr(value: f64) -> String {
    rplay_modules::json::python_float_repr(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(raw: &str) -> Integer {
        construct_int(raw).unwrap_or_else(|err| panic!("{raw:?}: {err}"))
    }

    #[test]
    fn ints_in_every_base() {
        assert_eq!(int("0"), Integer::Small(0));
        assert_eq!(int("-0"), Integer::Small(0));
        assert_eq!(int("0644"), Integer::Small(0o644));
        assert_eq!(int("0_"), Integer::Small(0));
        assert_eq!(int("0b1_01"), Integer::Small(5));
        assert_eq!(int("-0x1F"), Integer::Small(-31));
        assert_eq!(int("1_000"), Integer::Small(1000));
        assert_eq!(int("1:30"), Integer::Small(90));
        assert_eq!(int("-1:30:15"), Integer::Small(-5415));
        assert_eq!(int("+12"), Integer::Small(12));
    }

    #[test]
    fn ints_as_python_int_reads_them() {
        assert_eq!(int(" 12 "), Integer::Small(12));
        assert_eq!(int("0b+1"), Integer::Small(1));
        assert_eq!(int("0x0x1f"), Integer::Small(31));
        assert_eq!(int("0o17"), Integer::Small(15));
        assert!(construct_int("0x_").is_err());
        assert!(construct_int("").is_err());
        assert!(construct_int("-").is_err());
        assert!(construct_int("1.5").is_err());
        assert!(construct_int("abc").is_err());
    }

    #[test]
    fn ints_beyond_i64() {
        assert_eq!(int("-9223372036854775808"), Integer::Small(i64::MIN));
        assert_eq!(
            int("9223372036854775808"),
            Integer::Big("9223372036854775808".into())
        );
        assert_eq!(
            int("0xFFFFFFFFFFFFFFFFFFFF"),
            Integer::Big("1208925819614629174706175".into())
        );
        assert_eq!(
            int("-18446744073709551616"),
            Integer::Big("-18446744073709551616".into())
        );
    }

    #[test]
    fn floats() {
        assert_eq!(construct_float("1.5").unwrap(), 1.5);
        assert_eq!(construct_float("1.").unwrap(), 1.0);
        assert_eq!(construct_float(".5").unwrap(), 0.5);
        assert_eq!(construct_float("1.e+3").unwrap(), 1000.0);
        assert_eq!(construct_float("1_000.5").unwrap(), 1000.5);
        assert_eq!(construct_float("-.INF").unwrap(), f64::NEG_INFINITY);
        assert!(construct_float(".nan").unwrap().is_nan());
        assert_eq!(construct_float("1:30.5").unwrap(), 90.5);
        assert_eq!(construct_float(" 1e5 ").unwrap(), 100000.0);
        assert_eq!(construct_float("infinity").unwrap(), f64::INFINITY);
        assert!(construct_float("-0.0").unwrap().is_sign_negative());
        assert!(construct_float("abc").is_err());
        assert!(construct_float(".").is_err());
        assert!(construct_float("1e").is_err());
        assert!(construct_float("").is_err());
    }

    #[test]
    fn bools() {
        assert_eq!(construct_bool("YeS"), Ok(true));
        assert_eq!(construct_bool("off"), Ok(false));
        assert!(construct_bool("y").is_err());
    }

    #[test]
    fn timestamps_print_as_python_str() {
        let cases = [
            ("2002-12-14", "2002-12-14"),
            ("2001-1-1", "2001-01-01"),
            (
                "2001-12-14t21:59:43.10-05:00",
                "2001-12-14 21:59:43.100000-05:00",
            ),
            (
                "2001-12-14 21:59:43.10 -5",
                "2001-12-14 21:59:43.100000-05:00",
            ),
            ("2001-12-15T02:59:43.1Z", "2001-12-15 02:59:43.100000+00:00"),
            ("2001-12-14 21:59:43", "2001-12-14 21:59:43"),
            ("2001-12-14 21:59:43.0000001", "2001-12-14 21:59:43"),
            ("2001-12-14 1:59:43 +5:30", "2001-12-14 01:59:43+05:30"),
        ];
        for (raw, expected) in cases {
            assert_eq!(construct_timestamp(raw).as_deref(), Ok(expected), "{raw}");
        }
        assert!(construct_timestamp("2001-02-29").is_err());
        assert!(construct_timestamp("0000-01-01").is_err());
        assert!(construct_timestamp("2001-12-14 24:00:00").is_err());
        assert!(construct_timestamp("2001-12-14 ").is_err());
        assert!(construct_timestamp("soon").is_err());
    }

    #[test]
    fn binary() {
        assert_eq!(construct_binary("aGVs\nbG8=").unwrap(), b"hello");
        assert_eq!(construct_binary("aGVsbG8h").unwrap(), b"hello!");
        assert!(construct_binary("aGVsbG8").is_err());
        assert!(construct_binary("a").is_err());
    }

    #[test]
    fn float_repr_as_python() {
        let cases = [
            (1.0, "1.0"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789.125, "123456789.125"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e300, "1e+300"),
            (-0.0, "-0.0"),
            (f64::INFINITY, "inf"),
            (f64::NAN, "nan"),
        ];
        for (value, expected) in cases {
            assert_eq!(python_float_repr(value), expected);
        }
    }
}
