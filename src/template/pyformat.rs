//! Python's `%` string formatting (`"%s-%02d" % (name, n)`).

use minijinja::value::{Value as JValue, ValueKind};

use super::methods::python_type_name;
use super::pyrepr::{py_repr, py_str};

/// Longest text padding may produce: the limit minijinja puts on repeated strings.
/// Python would try to allocate and fail with `MemoryError` for sizes that exhaust the
/// memory, where Rust aborts the process.
pub(super) const MAX_PADDED_LENGTH: usize = 100_000_000;

/// Largest precision of a `%f`, `%e` or `%g` conversion: Rust's formatting machinery
/// takes at most `u16::MAX`. Python accepts larger ones up to its own limit.
const MAX_PRECISION: usize = u16::MAX as usize;

/// Rejects a padding width above [`MAX_PADDED_LENGTH`].
pub(super) fn check_width(width: usize) -> Result<(), String> {
    if width > MAX_PADDED_LENGTH {
        return Err(format!(
            "MemoryError: padding to width {width} exceeds the limit of {MAX_PADDED_LENGTH} characters"
        ));
    }
    Ok(())
}

/// The error of a conversion that met an undefined value.
pub const UNDEFINED_IN_FORMAT: &str = "undefined value in format";

/// Formats `format % args`. A tuple supplies one argument per conversion, any other
/// value is the only argument, and a map supplies `%(name)s` conversions.
pub fn percent_format(format: &str, args: &JValue) -> Result<String, String> {
    percent_format_with(format, args, None)
}

/// Formats as [`percent_format`], writing `undefined_repr` for a `%r` conversion of an
/// undefined argument, as Python prints ansible-core's `AnsibleUndefined` object.
/// Other conversions of an undefined argument fail with [`UNDEFINED_IN_FORMAT`].
pub fn percent_format_with(
    format: &str,
    args: &JValue,
    undefined_repr: Option<&str>,
) -> Result<String, String> {
    let positional: Vec<JValue> = match args.is_tuple() {
        true => args.try_iter().map_err(|e| e.to_string())?.collect(),
        false => vec![args.clone()],
    };
    // Python skips the check for unused arguments when the argument supports `[]`
    // (a list or a dict, but not a string).
    let subscriptable = !args.is_tuple()
        && matches!(
            args.kind(),
            ValueKind::Seq | ValueKind::Map | ValueKind::Iterable
        );
    let total_chars = format.chars().count();
    let mut next = 0;
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut key = None;
        if chars.peek() == Some(&'(') {
            chars.next();
            let mut name = String::new();
            for c in chars.by_ref() {
                if c == ')' {
                    break;
                }
                name.push(c);
            }
            key = Some(name);
        }
        let mut flags = String::new();
        while let Some(&c) = chars.peek() {
            if "-+ #0".contains(c) {
                flags.push(c);
                chars.next();
            } else {
                break;
            }
        }
        let width = take_number(&mut chars);
        let precision = if chars.peek() == Some(&'.') {
            chars.next();
            Some(take_number(&mut chars).unwrap_or(0))
        } else {
            None
        };
        if let Some(width) = width {
            check_width(width)?;
        }
        if precision.is_some_and(|p| p > MAX_PRECISION) {
            return Err("precision too big".into());
        }
        let conversion = chars.next().ok_or("incomplete format")?;
        if conversion == '%' {
            out.push('%');
            continue;
        }
        let value = match &key {
            Some(name) => args
                .get_item(&JValue::from(name.as_str()))
                .ok()
                .filter(|v| !v.is_undefined())
                .ok_or_else(|| format!("'{name}'"))?,
            None => {
                let value = positional
                    .get(next)
                    .cloned()
                    .ok_or("not enough arguments for format string")?;
                next += 1;
                value
            }
        };
        let index = total_chars - chars.clone().count() - 1;
        let text = match undefined_repr {
            Some(repr) if value.is_undefined() && conversion == 'r' => repr.to_owned(),
            _ => convert(conversion, index, &value, precision, &flags)?,
        };
        out.push_str(&pad(text, width, &flags, conversion));
    }
    if key_free(format) && next < positional.len() && !subscriptable {
        return Err("not all arguments converted during string formatting".into());
    }
    Ok(out)
}

fn key_free(format: &str) -> bool {
    !format.contains("%(")
}

fn take_number(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<usize> {
    let mut digits = String::new();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            digits.push(c);
            chars.next();
        } else {
            break;
        }
    }
    digits.parse().ok()
}

/// Converts one argument; `index` is the conversion character's position in the format,
/// which Python names in its error for an unknown conversion.
fn convert(
    conversion: char,
    index: usize,
    value: &JValue,
    precision: Option<usize>,
    flags: &str,
) -> Result<String, String> {
    let undefined = |_| UNDEFINED_IN_FORMAT.to_owned();
    let number = || f64::try_from(value.clone()).map_err(|_| number_required(conversion, value));
    let sign = |text: String, negative: bool| {
        if negative {
            text
        } else if flags.contains('+') {
            format!("+{text}")
        } else if flags.contains(' ') {
            format!(" {text}")
        } else {
            text
        }
    };
    Ok(match conversion {
        's' => {
            let text = py_str(value).map_err(undefined)?;
            match precision {
                Some(p) => text.chars().take(p).collect(),
                None => text,
            }
        }
        'r' | 'a' => py_repr(value).map_err(undefined)?,
        'd' | 'i' | 'u' => {
            let n = number()?.trunc();
            sign(format!("{}", n as i128), n < 0.0)
        }
        'f' | 'F' => {
            let n = number()?;
            sign(format!("{:.*}", precision.unwrap_or(6), n), n < 0.0)
        }
        'e' | 'E' => {
            let n = number()?;
            let text = exponent_format(n, precision.unwrap_or(6));
            let text = if conversion == 'E' {
                text.to_uppercase()
            } else {
                text
            };
            sign(text, n < 0.0)
        }
        'g' | 'G' => {
            let n = number()?;
            sign(general_format(n, precision.unwrap_or(6)), n < 0.0)
        }
        'x' | 'X' | 'o' => {
            if !value.is_integer() {
                return Err(number_required(conversion, value));
            }
            let n = i128::try_from(value.clone()).map_err(|e| e.to_string())?;
            let body = match conversion {
                'x' => format!("{:x}", n.unsigned_abs()),
                'X' => format!("{:X}", n.unsigned_abs()),
                _ => format!("{:o}", n.unsigned_abs()),
            };
            let prefix = match (flags.contains('#'), conversion) {
                (true, 'x') => "0x",
                (true, 'X') => "0X",
                (true, _) => "0o",
                _ => "",
            };
            sign(
                format!("{}{prefix}{body}", if n < 0 { "-" } else { "" }),
                n < 0,
            )
        }
        'c' => match value.as_str() {
            Some(text) => text.to_owned(),
            None => char::from_u32(value.as_i64().unwrap_or(0) as u32)
                .map(String::from)
                .unwrap_or_default(),
        },
        other => {
            return Err(format!(
                "unsupported format character '{other}' ({:#x}) at index {index}",
                u32::from(other)
            ))
        }
    })
}

fn number_required(conversion: char, value: &JValue) -> String {
    let kind = python_type_name(value);
    format!("%{conversion} format: a real number is required, not {kind}")
}

/// Tells whether a message of [`percent_format`] is one of Python's `TypeError`s, which
/// ansible-core reports as unexpected templating type errors. The others are
/// `ValueError`s, passed on without wrapping.
pub fn is_type_error(message: &str) -> bool {
    message.starts_with("not enough arguments")
        || message.starts_with("not all arguments converted")
        || message.contains("format: a real number is required")
}

fn exponent_format(n: f64, precision: usize) -> String {
    let text = format!("{n:.precision$e}");
    match text.split_once('e') {
        Some((mantissa, exponent)) => {
            let exponent: i32 = exponent.parse().unwrap_or(0);
            let sign = if exponent < 0 { '-' } else { '+' };
            format!("{mantissa}e{sign}{:02}", exponent.abs())
        }
        None => text,
    }
}

fn general_format(n: f64, precision: usize) -> String {
    let precision = precision.max(1);
    if n == 0.0 {
        return "0".into();
    }
    let exponent = n.abs().log10().floor() as i32;
    if exponent < -4 || exponent >= precision as i32 {
        let text = exponent_format(n, precision - 1);
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, ""));
        let mantissa = trim_zeros(mantissa);
        return format!("{mantissa}e{exp}");
    }
    let decimals = (precision as i32 - 1 - exponent).max(0) as usize;
    trim_zeros(&format!("{n:.decimals$}")).to_owned()
}

fn trim_zeros(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

fn pad(text: String, width: Option<usize>, flags: &str, conversion: char) -> String {
    let Some(width) = width else { return text };
    let len = text.chars().count();
    if len >= width {
        return text;
    }
    let fill = width - len;
    if flags.contains('-') {
        return format!("{text}{}", " ".repeat(fill));
    }
    if flags.contains('0') && conversion != 's' && conversion != 'r' {
        let (sign, digits) = match text.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (c.to_string(), text[1..].to_owned()),
            _ => (String::new(), text),
        };
        return format!("{sign}{}{digits}", "0".repeat(fill));
    }
    format!("{}{text}", " ".repeat(fill))
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::value::Tuple;

    #[test]
    fn percent_format_as_python() {
        let args = JValue::from(Tuple::from([JValue::from("a"), JValue::from(5)]));
        assert_eq!(percent_format("%s-%03d", &args).unwrap(), "a-005");
        let list = JValue::from(vec![JValue::from("a"), JValue::from(5)]);
        assert_eq!(percent_format("%s", &list).unwrap(), "['a', 5]");
        assert_eq!(percent_format("%s", &JValue::from("x")).unwrap(), "x");
        assert_eq!(
            percent_format("%.2f%%", &JValue::from(1.5)).unwrap(),
            "1.50%"
        );
        assert_eq!(percent_format("%x", &JValue::from(255)).unwrap(), "ff");
    }

    #[test]
    fn huge_width_rejected() {
        let error = percent_format("%99999999999d", &JValue::from(1)).unwrap_err();
        assert!(error.starts_with("MemoryError"), "{error}");
    }

    #[test]
    fn huge_precision_rejected() {
        let error = percent_format("%.99999999999f", &JValue::from(1.5)).unwrap_err();
        assert_eq!(error, "precision too big");
        assert_eq!(
            percent_format("%.65535f", &JValue::from(1.5))
                .unwrap()
                .len(),
            65537
        );
    }
}
