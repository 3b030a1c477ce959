//! Host addresses and host ranges, as Ansible's `parse_address` and
//! `expand_hostname_range` read them.
//!
//! A host entry is a hostname, an IPv4 address or an IPv6 address, optionally with a
//! port (`host:22`, `[::1]:22`) and with `[x:y]` or `[x:y:step]` ranges
//! (`node[01:10]`, `web[a:c]`).

use std::sync::LazyLock;

use fancy_regex::Regex;

use super::InventoryError;

const NUMERIC_RANGE: &str = r"\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]";
const HEX_RANGE: &str = r"\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]";
const ALPHANUMERIC_RANGE: &str = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]";

static BRACKETED_HOSTPORT: LazyLock<Regex> = LazyLock::new(|| compile(r"^\[(.+)\]:([0-9]+)$"));
static HOSTPORT: LazyLock<Regex> =
    LazyLock::new(|| compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$"));

static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    let component = format!(r"(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{NUMERIC_RANGE})");
    compile(&format!(r"(?i)^(?:{component}\.){{3}}{component}$"))
});

/// Ansible's IPv6 expression. Its `^` and `$` bind only to the first and last
/// alternatives, and Python's `re.match` anchors only the start. So most
/// alternatives accept any text that merely starts like an IPv6 address, and this
/// expression keeps that behaviour.
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    let c = format!(r"(?:[0-9a-f]{{1,4}}|{HEX_RANGE})");
    let alternatives = [
        format!(r"^(?:{c}:){{7}}{c}"),
        format!(r"(?:{c}:){{1,6}}:"),
        format!(r"(?:{c}:)(?::{c}){{1,6}}"),
        format!(r"(?:{c}:){{2}}(?::{c}){{1,5}}"),
        format!(r"(?:{c}:){{3}}(?::{c}){{1,4}}"),
        format!(r"(?:{c}:){{4}}(?::{c}){{1,3}}"),
        format!(r"(?:{c}:){{5}}(?::{c}){{1,2}}"),
        format!(r"(?:{c}:){{6}}(?::{c})"),
        format!(r":(?::{c}){{1,6}}"),
        format!(r"{c}?::"),
        format!(r"(?:0:){{6}}(?:{c}\.){{3}}{c}"),
        format!(r"::(?:ffff:)?(?:{c}\.){{3}}{c}"),
        format!(r"(?:0:){{5}}ffff:(?:{c}\.){{3}}{c}$"),
    ];
    compile(&format!(r"(?i)^(?:{})", alternatives.join("|")))
});

static HOSTNAME: LazyLock<Regex> = LazyLock::new(|| {
    let label = format!(r"(?:[\w]|{ALPHANUMERIC_RANGE})(?:[\w_-]|{ALPHANUMERIC_RANGE})*(?<![_-])");
    compile(&format!(r"(?i)^{label}(?:\.{label})*$"))
});

fn compile(pattern: &str) -> Regex {
    // The patterns are constants of this module; a failure is a bug caught by tests.
    Regex::new(pattern).unwrap_or_else(|err| unreachable!("invalid built-in regex: {err}"))
}

fn matches(regex: &Regex, text: &str) -> bool {
    regex.is_match(text).unwrap_or(false)
}

/// Returns whether `name` is an IPv4 or IPv6 address by Ansible's expressions,
/// which decides whether `inventory_hostname_short` keeps the whole name.
pub fn looks_like_ip_address(name: &str) -> bool {
    matches(&IPV4, name) || matches(&IPV6, name)
}

/// Splits `address` into a host and an optional port.
///
/// Returns `None` where Ansible raises "Not a valid network hostname", or, without
/// `allow_ranges`, where the host contains a range.
pub fn parse_address(address: &str, allow_ranges: bool) -> Option<(String, Option<i64>)> {
    let mut host = address.to_string();
    let mut port = None;
    for regex in [&*BRACKETED_HOSTPORT, &*HOSTPORT] {
        let captures = regex.captures(&host).ok().flatten();
        if let Some(captures) = captures {
            let (Some(name), Some(number)) = (captures.get(1), captures.get(2)) else {
                continue;
            };
            port = Some(number.as_str().parse::<i64>().ok()?);
            host = name.as_str().to_string();
        }
    }
    let valid = matches(&IPV4, &host) || matches(&IPV6, &host) || matches(&HOSTNAME, &host);
    if !valid || (!allow_ranges && host.contains('[')) {
        return None;
    }
    Some((host, port))
}

/// Expands a host pattern from an inventory file into host names and a port, as the
/// inventory plugins' `_expand_hostpattern` does: a pattern that is not a valid
/// address is kept whole, port included.
pub fn expand_host_pattern(pattern: &str) -> Result<(Vec<String>, Option<i64>), InventoryError> {
    let (name, port) = parse_address(pattern, true).unwrap_or_else(|| (pattern.to_string(), None));
    if name.contains('[') {
        Ok((expand_hostname_range(&name)?, port))
    } else {
        Ok((vec![name], port))
    }
}

/// Expands the first `[begin:end(:step)]` range in `line`, then the ranges in each
/// result, with Ansible's rules: a begin with a leading zero pads every number to its
/// width, letters count through `a..zA..Z`, and an empty begin means 0.
pub fn expand_hostname_range(line: &str) -> Result<Vec<String>, InventoryError> {
    let invalid = |message: &str| InventoryError::HostRange {
        pattern: line.to_string(),
        message: message.to_string(),
    };
    let marked = line.replacen('[', "|", 1).replacen(']', "|", 1);
    let parts: Vec<&str> = marked.split('|').collect();
    let [head, range, tail] = parts[..] else {
        // Python's tuple unpacking message, which Ansible passes on.
        let message = if parts.len() > 3 {
            "too many values to unpack (expected 3)".to_string()
        } else {
            format!(
                "not enough values to unpack (expected 3, got {})",
                parts.len()
            )
        };
        return Err(invalid(&message));
    };
    let bounds: Vec<&str> = range.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(invalid("host range must be begin:end or begin:end:step"));
    }
    let begin = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    let step = bounds.get(2).copied().unwrap_or("1");
    if end.is_empty() {
        return Err(invalid("host range must specify end value"));
    }
    let width = if begin.starts_with('0') && begin.len() > 1 {
        if begin.len() != end.len() {
            return Err(invalid(
                "host range must specify equal-length begin and end formats",
            ));
        }
        Some(begin.len())
    } else {
        None
    };
    let items = match alphabetic_range(begin, end, step) {
        Some(letters) => letters?,
        None => numeric_range(begin, end, step)
            .map_err(|message| invalid(&message))?
            .into_iter()
            .map(|n| zero_fill(n, width))
            .collect(),
    };
    let mut hosts = Vec::new();
    for item in items {
        let name = format!("{head}{item}{tail}");
        if name.contains('[') {
            hosts.extend(expand_hostname_range(&name)?);
        } else {
            hosts.push(name);
        }
    }
    Ok(hosts)
}

const ASCII_LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Expands a letter range, or returns `None` when a bound is not found in
/// `ASCII_LETTERS`. Python finds bounds with `str.index`, so a bound may be any
/// substring of it.
fn alphabetic_range(
    begin: &str,
    end: &str,
    step: &str,
) -> Option<Result<Vec<String>, InventoryError>> {
    let first = ASCII_LETTERS.find(begin)?;
    let last = ASCII_LETTERS.find(end)?;
    let step = python_int(step)?;
    if first > last {
        return Some(Err(InventoryError::HostRange {
            pattern: format!("[{begin}:{end}]"),
            message: "host range must have begin <= end".into(),
        }));
    }
    if step <= 0 {
        // A zero step raises in Python and falls through to the numeric attempt,
        // which fails on letters. A negative step over an ascending slice is empty.
        return if step == 0 {
            None
        } else {
            Some(Ok(Vec::new()))
        };
    }
    let letters: Vec<String> = ASCII_LETTERS[first..=last]
        .chars()
        .step_by(usize::try_from(step).ok()?)
        .map(String::from)
        .collect();
    Some(Ok(letters))
}

/// Python's `range(int(begin), int(end) + 1, int(step))`, with Python's messages.
fn numeric_range(begin: &str, end: &str, step: &str) -> Result<Vec<i64>, String> {
    let int = |text: &str| {
        python_int(text).ok_or_else(|| {
            format!(
                "invalid literal for int() with base 10: {}",
                rplay_modules::pyrepr::str_repr(text)
            )
        })
    };
    let (begin, end, step) = (int(begin)?, int(end)?, int(step)?);
    if step == 0 {
        return Err("range() arg 3 must not be zero".into());
    }
    let mut numbers = Vec::new();
    let mut n = begin;
    while (step > 0 && n <= end) || (step < 0 && n > end + 1) {
        numbers.push(n);
        let Some(next) = n.checked_add(step) else {
            break;
        };
        n = next;
    }
    Ok(numbers)
}

/// Python's `int(text)`: surrounding whitespace, a sign and `_` between digits.
fn python_int(text: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let value: i64 = digits.replace('_', "").parse().ok()?;
    Some(if negative { -value } else { value })
}

/// Python's `str(n).zfill(width)`: zeros go after a sign.
fn zero_fill(n: i64, width: Option<usize>) -> String {
    let text = n.to_string();
    let Some(width) = width else { return text };
    if text.len() >= width {
        return text;
    }
    let zeros = "0".repeat(width - text.len());
    match text.strip_prefix('-') {
        Some(digits) => format!("-{zeros}{digits}"),
        None => format!("{zeros}{text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_with_ports() {
        assert_eq!(
            parse_address("host:22", false),
            Some(("host".into(), Some(22)))
        );
        assert_eq!(
            parse_address("[::1]:22", false),
            Some(("::1".into(), Some(22)))
        );
        assert_eq!(parse_address("::1", false), Some(("::1".into(), None)));
        assert_eq!(
            parse_address("10.0.0.1:80", false),
            Some(("10.0.0.1".into(), Some(80)))
        );
        assert_eq!(parse_address("web[1:3]", false), None);
        assert_eq!(
            parse_address("web[1:3]", true),
            Some(("web[1:3]".into(), None))
        );
        assert_eq!(parse_address("bad_", true), None);
        assert_eq!(parse_address("a:b", true), None);
    }

    #[test]
    fn invalid_address_kept_whole() {
        let (hosts, port) = expand_host_pattern("host/1:22").unwrap();
        assert_eq!(hosts, ["host/1:22"]);
        assert_eq!(port, None);
    }

    #[test]
    fn ranges() {
        let expand = |s: &str| expand_hostname_range(s).unwrap();
        assert_eq!(expand("web[01:03].x"), ["web01.x", "web02.x", "web03.x"]);
        assert_eq!(expand("n[1:10:4]"), ["n1", "n5", "n9"]);
        assert_eq!(expand("w[a:c]"), ["wa", "wb", "wc"]);
        assert_eq!(expand("w[:2]"), ["w0", "w1", "w2"]);
        assert_eq!(expand("r[1:2]c[a:b]"), ["r1ca", "r1cb", "r2ca", "r2cb"]);
        assert_eq!(expand("w[y:B]"), ["wy", "wz", "wA", "wB"]);
    }

    #[test]
    fn range_errors() {
        assert!(expand_hostname_range("w[1:]").is_err());
        assert!(expand_hostname_range("w[01:100]").is_err());
        assert!(expand_hostname_range("w[c:a]").is_err());
        assert!(expand_hostname_range("w[1:2:0]").is_err());
    }

    #[test]
    fn ip_detection() {
        assert!(looks_like_ip_address("10.0.0.1"));
        assert!(looks_like_ip_address("fe80::1"));
        assert!(!looks_like_ip_address("web1.example.com"));
    }
}
