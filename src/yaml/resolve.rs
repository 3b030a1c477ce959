//! Tags: the full tag names Ansible's loader has constructors for, and the implicit
//! resolution of plain scalars by PyYAML's YAML 1.1 resolver (`yaml.resolver.Resolver`
//! in PyYAML 6.0).
//!
//! PyYAML matches each plain scalar against regular expressions chosen by its first
//! character, in a fixed order: bool, float, int, merge, null, timestamp, value. The
//! checks below are hand-written equivalents of those expressions, so resolving a
//! scalar allocates nothing and compiles nothing.

/// The tag of a node, reduced to what Ansible's constructor distinguishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Tag {
    Null,
    Bool,
    Int,
    Float,
    Str,
    Timestamp,
    Binary,
    /// `<<`: a merge key when it is a mapping key; constructing it as a value fails.
    Merge,
    /// A plain `=`: a string when it is a mapping key; constructing it as a value fails.
    Value,
    Seq,
    Map,
    Set,
    Omap,
    Pairs,
    /// Ansible's `!unsafe`.
    Unsafe,
    /// Ansible's `!vault` and `!vault-encrypted`.
    Vault,
    /// A tag with no constructor; constructing its node fails with the tag in the message.
    Unknown(Box<str>),
}

const YAML_PREFIX: &str = "tag:yaml.org,2002:";

impl Tag {
    /// Maps a full tag name (`tag:yaml.org,2002:int`, `!unsafe`) to the constructor
    /// Ansible's loader registers for it.
    pub(super) fn from_name(name: &str) -> Tag {
        if let Some(suffix) = name.strip_prefix(YAML_PREFIX) {
            return match suffix {
                "null" => Tag::Null,
                "bool" => Tag::Bool,
                "int" => Tag::Int,
                "float" => Tag::Float,
                "str" | "python/unicode" => Tag::Str,
                "timestamp" => Tag::Timestamp,
                "binary" => Tag::Binary,
                "merge" => Tag::Merge,
                "value" => Tag::Value,
                "seq" => Tag::Seq,
                "map" | "python/dict" => Tag::Map,
                "set" => Tag::Set,
                "omap" => Tag::Omap,
                "pairs" => Tag::Pairs,
                _ => Tag::Unknown(name.into()),
            };
        }
        match name {
            "!unsafe" => Tag::Unsafe,
            "!vault" | "!vault-encrypted" => Tag::Vault,
            _ => Tag::Unknown(name.into()),
        }
    }

    /// Returns the full tag name, as PyYAML prints it in error messages.
    pub(super) fn name(&self) -> String {
        let suffix = match self {
            Tag::Null => "null",
            Tag::Bool => "bool",
            Tag::Int => "int",
            Tag::Float => "float",
            Tag::Str => "str",
            Tag::Timestamp => "timestamp",
            Tag::Binary => "binary",
            Tag::Merge => "merge",
            Tag::Value => "value",
            Tag::Seq => "seq",
            Tag::Map => "map",
            Tag::Set => "set",
            Tag::Omap => "omap",
            Tag::Pairs => "pairs",
            Tag::Unsafe => return "!unsafe".into(),
            Tag::Vault => return "!vault".into(),
            Tag::Unknown(name) => return name.to_string(),
        };
        format!("{YAML_PREFIX}{suffix}")
    }
}

/// Resolves the tag of an untagged plain scalar, or of a scalar with the non-specific
/// tag `!`, which libyaml resolves the same way whatever its style.
///
/// The expressions are chosen by the first character of the whole text and, as Python's
/// `$` matches before one final line break, also match text ending in `\n` (a block
/// scalar tagged `!`).
pub(super) fn resolve_plain(text: &str) -> Tag {
    let Some(&first) = text.as_bytes().first() else {
        return Tag::Null;
    };
    let value = text.strip_suffix('\n').unwrap_or(text);
    let bytes = value.as_bytes();
    if b"yYnNtTfFoO".contains(&first) && is_bool(value) {
        return Tag::Bool;
    }
    if b"-+0123456789.".contains(&first) && is_float(bytes) {
        return Tag::Float;
    }
    if b"-+0123456789".contains(&first) && is_int(bytes) {
        return Tag::Int;
    }
    if value == "<<" {
        return Tag::Merge;
    }
    if matches!(value, "~" | "null" | "Null" | "NULL") {
        return Tag::Null;
    }
    if first.is_ascii_digit() && is_timestamp(bytes) {
        return Tag::Timestamp;
    }
    if value == "=" {
        return Tag::Value;
    }
    Tag::Str
}

fn is_bool(value: &str) -> bool {
    matches!(
        value,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// A cursor over the bytes of a scalar, for the regular-expression equivalents.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Cursor<'a> {
        Cursor { bytes, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_if(&mut self, accept: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(byte) if accept(byte) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    /// Consumes bytes while `accept` returns true and returns how many it consumed.
    fn eat_while(&mut self, accept: impl Fn(u8) -> bool) -> usize {
        let start = self.pos;
        while self.eat_if(&accept) {}
        self.pos - start
    }

    fn eat_sign(&mut self) -> bool {
        self.eat(b'-') || self.eat(b'+')
    }

    /// `[0-9]{min,max}`, greedy.
    fn eat_digits(&mut self, min: usize, max: usize) -> bool {
        let start = self.pos;
        while self.pos - start < max && self.eat_if(|b| b.is_ascii_digit()) {}
        self.pos - start >= min
    }

    /// `(?::[0-5]?[0-9])+`, the base-60 groups of `1:30:15`.
    ///
    /// Taking two digits whenever the first is 0-5 is what the backtracking regular
    /// expression ends up with: every expression that uses the groups needs `:`, `.` or
    /// the end after the last group, never a digit.
    fn eat_sexagesimal_groups(&mut self) -> bool {
        let mut groups = 0;
        while self.eat(b':') {
            let first = self.peek();
            if !self.eat_if(|b| b.is_ascii_digit()) {
                return false;
            }
            if matches!(first, Some(b'0'..=b'5')) {
                self.eat_if(|b| b.is_ascii_digit());
            }
            groups += 1;
        }
        groups > 0
    }

    /// `(?:[eE][-+][0-9]+)?` followed by the end of the scalar.
    fn eat_exponent_then_end(&mut self) -> bool {
        let has_exponent = self.eat(b'e') || self.eat(b'E');
        if has_exponent && (!self.eat_sign() || self.eat_while(|b| b.is_ascii_digit()) == 0) {
            return false;
        }
        self.at_end()
    }
}

fn is_digit_or_underscore(byte: u8) -> bool {
    byte.is_ascii_digit() || byte == b'_'
}

/// PyYAML's float expression. Exponents need a dot and a signed power (`1.0e+3`, never
/// `1e3`), and `.inf`, `-.inf` and `.nan` are the special values.
fn is_float(bytes: &[u8]) -> bool {
    let mut cursor = Cursor::new(bytes);
    let signed = cursor.eat_sign();
    let rest = &bytes[cursor.pos..];
    if matches!(rest, b".inf" | b".Inf" | b".INF") {
        return true;
    }
    if matches!(rest, b".nan" | b".NaN" | b".NAN") {
        return !signed;
    }
    if cursor.eat(b'.') {
        // `\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?`, which takes no sign.
        return !signed && cursor.eat_if(|b| b.is_ascii_digit()) && {
            cursor.eat_while(is_digit_or_underscore);
            cursor.eat_exponent_then_end()
        };
    }
    if !cursor.eat_if(|b| b.is_ascii_digit()) {
        return false;
    }
    cursor.eat_while(is_digit_or_underscore);
    if cursor.eat(b'.') {
        cursor.eat_while(is_digit_or_underscore);
        return cursor.eat_exponent_then_end();
    }
    if cursor.peek() == Some(b':') && cursor.eat_sexagesimal_groups() && cursor.eat(b'.') {
        cursor.eat_while(is_digit_or_underscore);
        return cursor.at_end();
    }
    false
}

/// PyYAML's int expression: binary `0b`, octal with a leading `0`, decimal, hex `0x`
/// and base 60 (`1:30`), all with optional underscores.
fn is_int(bytes: &[u8]) -> bool {
    let mut cursor = Cursor::new(bytes);
    cursor.eat_sign();
    let rest = &bytes[cursor.pos..];
    if let Some(digits) = rest.strip_prefix(b"0b") {
        return !digits.is_empty() && digits.iter().all(|&b| matches!(b, b'0' | b'1' | b'_'));
    }
    if let Some(digits) = rest.strip_prefix(b"0x") {
        return !digits.is_empty() && digits.iter().all(|&b| b.is_ascii_hexdigit() || b == b'_');
    }
    if let Some(digits) = rest.strip_prefix(b"0") {
        return digits.iter().all(|&b| matches!(b, b'0'..=b'7' | b'_'));
    }
    if !cursor.eat_if(|b| matches!(b, b'1'..=b'9')) {
        return false;
    }
    cursor.eat_while(is_digit_or_underscore);
    if cursor.at_end() {
        return true;
    }
    cursor.eat_sexagesimal_groups() && cursor.at_end()
}

/// PyYAML's timestamp expression: `2001-12-14`, or a date with one- or two-digit month
/// and day followed by a time, optional fraction and optional zone.
fn is_timestamp(bytes: &[u8]) -> bool {
    if bytes.len() == 10 {
        let date_only = bytes.iter().enumerate().all(|(i, &b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
        if date_only {
            return true;
        }
    }
    let mut cursor = Cursor::new(bytes);
    let date = cursor.eat_digits(4, 4)
        && cursor.eat(b'-')
        && cursor.eat_digits(1, 2)
        && cursor.eat(b'-')
        && cursor.eat_digits(1, 2);
    if !date {
        return false;
    }
    let separated = cursor.eat(b'T') || cursor.eat(b't') || cursor.eat_while(is_space_or_tab) > 0;
    let time = separated
        && cursor.eat_digits(1, 2)
        && cursor.eat(b':')
        && cursor.eat_digits(2, 2)
        && cursor.eat(b':')
        && cursor.eat_digits(2, 2);
    if !time {
        return false;
    }
    if cursor.eat(b'.') {
        cursor.eat_while(|b| b.is_ascii_digit());
    }
    if cursor.at_end() {
        return true;
    }
    cursor.eat_while(is_space_or_tab);
    eat_zone(&mut cursor) && cursor.at_end()
}

fn is_space_or_tab(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// `Z` or `[-+][0-9][0-9]?(?::[0-9][0-9])?`.
fn eat_zone(cursor: &mut Cursor<'_>) -> bool {
    if cursor.eat(b'Z') {
        return true;
    }
    if !cursor.eat_sign() || !cursor.eat_digits(1, 2) {
        return false;
    }
    if cursor.eat(b':') {
        return cursor.eat_digits(2, 2);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_resolves(tag: Tag, values: &[&str]) {
        for value in values {
            assert_eq!(resolve_plain(value), tag, "{value:?}");
        }
    }

    #[test]
    fn bools_are_the_yaml_1_1_words() {
        assert_resolves(Tag::Bool, &["yes", "No", "TRUE", "off", "On", "FALSE"]);
        assert_resolves(Tag::Str, &["y", "n", "Y", "yEs", "tRue", "oN", "nO"]);
    }

    #[test]
    fn nulls() {
        assert_resolves(Tag::Null, &["", "~", "null", "Null", "NULL"]);
        assert_resolves(Tag::Str, &["nULL", "none", "None", "~~"]);
    }

    #[test]
    fn ints() {
        assert_resolves(
            Tag::Int,
            &[
                "0",
                "-0",
                "+12",
                "1_000",
                "0644",
                "0_",
                "0b101",
                "-0b1_0",
                "0x1F",
                "0x_",
                "1:30",
                "-1:30:59",
                "190:20:30",
                "1__:2",
                "1_:30",
                "1:6",
                "00",
                "+0b1",
            ],
        );
        assert_resolves(
            Tag::Str,
            &[
                "08", "0o17", "0b", "0x", "0b2", "0X1F", "1:60", "0:30", "1:", "1:5a", "-", "+",
                "1_000a", "-0x", "12:345", "1:5:",
            ],
        );
    }

    #[test]
    fn floats() {
        assert_resolves(
            Tag::Float,
            &[
                "1.0",
                "1.",
                "-1.5",
                "+.inf",
                "-.Inf",
                ".INF",
                ".nan",
                ".NaN",
                ".5",
                "1.0e+5",
                "1.e-3",
                "1_000.5_0",
                ".5E+3",
                "1:30.5",
                "-190:20:30.15",
                "1:30.",
                "0:30.5",
                "0.",
                "-0.0",
            ],
        );
        assert_resolves(
            Tag::Str,
            &[
                "1e3",
                "1.0e5",
                "1.0e+",
                "-.5",
                "+.5",
                "-.nan",
                ".",
                "._5",
                "..5",
                ".inf.",
                "1.0.0",
                "1:30.5e+1",
                "1:60.5",
                "inf",
                "nan",
            ],
        );
    }

    #[test]
    fn timestamps() {
        assert_resolves(
            Tag::Timestamp,
            &[
                "2001-12-14",
                "2001-12-14t21:59:43.10-05:00",
                "2001-12-14 21:59:43.10 -5",
                "2001-1-1T1:00:00",
                "2001-12-14\t21:59:43Z",
                "2002-12-14 21:59:43.",
            ],
        );
        assert_resolves(
            Tag::Str,
            &[
                "2001-1-1",
                "2001-12-14T",
                "2001-12-14 21:59",
                "2001-12-14 21:59:43 Z1",
                "2001-12-14 21:59:43+05:0",
                "20011-12-14",
            ],
        );
    }

    #[test]
    fn merge_and_value_keys() {
        assert_resolves(Tag::Merge, &["<<"]);
        assert_resolves(Tag::Value, &["="]);
        assert_resolves(Tag::Str, &["<<<", "==", "<"]);
    }

    #[test]
    fn one_final_line_break_is_ignored() {
        assert_resolves(Tag::Int, &["1\n", "0x1F\n"]);
        assert_resolves(Tag::Bool, &["yes\n"]);
        assert_resolves(Tag::Null, &["~\n"]);
        assert_resolves(Tag::Str, &["\n", "1\n\n", "\n1"]);
    }

    #[test]
    fn tag_names_round_trip() {
        for name in [
            "tag:yaml.org,2002:int",
            "!unsafe",
            "!foo",
            "tag:yaml.org,2002:set",
        ] {
            assert_eq!(Tag::from_name(name).name(), name);
        }
        assert_eq!(Tag::from_name("!vault-encrypted"), Tag::Vault);
        assert_eq!(Tag::from_name("tag:yaml.org,2002:python/dict"), Tag::Map);
    }
}
