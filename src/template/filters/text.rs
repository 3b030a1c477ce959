//! String filters: case and whitespace, `replace`, `split`, `indent`, the `regex_*`
//! family with Python's regular expression syntax, paths, hashes and base64.

use base64::Engine;
use fancy_regex::Regex;
use md5::Md5;
use minijinja::value::{Tuple, Value as JValue, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};
use sha1::{Digest, Sha1};

use super::{
    add, ansible, filter_error, jinja, python_type_error, python_value_error, Args, Undefined,
};
use crate::template::methods::python_type_name;
use crate::template::pyformat::{
    check_width, is_type_error, percent_format_with, UNDEFINED_IN_FORMAT,
};
use crate::template::pyrepr::py_str;
use crate::template::render::undefined_error;

pub fn register(env: &mut Environment<'static>) {
    add(env, jinja("lower"), Undefined::Reject, lower);
    add(env, jinja("upper"), Undefined::Reject, upper);
    add(env, jinja("capitalize"), Undefined::Reject, capitalize);
    add(env, jinja("title"), Undefined::Reject, title);
    add(env, jinja("trim"), Undefined::Reject, trim);
    add(env, jinja("replace"), Undefined::Reject, replace);
    add(env, jinja("center"), Undefined::Reject, center);
    add(env, jinja("indent"), Undefined::Reject, indent);
    add(env, jinja("wordcount"), Undefined::Reject, wordcount);
    add(env, jinja("format"), Undefined::Accept, format);
    add(
        env,
        [jinja("safe"), jinja("e"), jinja("escape")].concat(),
        Undefined::Reject,
        text,
    );
    add(env, ansible("split"), Undefined::Reject, split);
    add(
        env,
        ansible("regex_replace"),
        Undefined::Reject,
        regex_replace,
    );
    add(
        env,
        ansible("regex_search"),
        Undefined::Reject,
        regex_search,
    );
    add(
        env,
        ansible("regex_findall"),
        Undefined::Reject,
        regex_findall,
    );
    add(
        env,
        ansible("regex_escape"),
        Undefined::Reject,
        regex_escape,
    );
    add(env, ansible("quote"), Undefined::Reject, quote);
    add(env, ansible("basename"), Undefined::Reject, basename);
    add(env, ansible("dirname"), Undefined::Reject, dirname);
    add(env, ansible("splitext"), Undefined::Reject, splitext);
    add(env, ansible("path_join"), Undefined::Reject, path_join);
    add(env, ansible("normpath"), Undefined::Reject, normpath);
    add(env, ansible("b64encode"), Undefined::Reject, b64encode);
    add(env, ansible("b64decode"), Undefined::Reject, b64decode);
    add(env, ansible("hash"), Undefined::Reject, hash);
    add(
        env,
        [ansible("checksum"), ansible("sha1")].concat(),
        Undefined::Reject,
        sha1,
    );
    add(env, ansible("md5"), Undefined::Reject, md5);
    add(env, ansible("to_uuid"), Undefined::Reject, to_uuid);
    add(env, ansible("urldecode"), Undefined::Reject, urldecode);
    add(env, jinja("urlencode"), Undefined::Reject, urlencode);
    add(env, ansible("comment"), Undefined::Reject, comment);
}

/// The input as text, as Jinja2's `soft_str` gives it.
fn input(args: &Args) -> Result<String, Error> {
    py_str(&args.value).map_err(|_| undefined_error())
}

fn lower(_: &mut State, args: &Args) -> Result<JValue, Error> {
    Ok(JValue::from(input(args)?.to_lowercase()))
}

fn upper(_: &mut State, args: &Args) -> Result<JValue, Error> {
    Ok(JValue::from(input(args)?.to_uppercase()))
}

fn capitalize_word(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.as_str().to_lowercase().chars())
            .collect(),
        None => String::new(),
    }
}

fn capitalize(_: &mut State, args: &Args) -> Result<JValue, Error> {
    Ok(JValue::from(capitalize_word(&input(args)?)))
}

/// Jinja2's `title`: words start after whitespace, `-`, and opening brackets.
fn title(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    let mut out = String::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_whitespace() || "-({[<".contains(c) {
            out.push_str(&capitalize_word(&word));
            word.clear();
            out.push(c);
        } else {
            word.push(c);
        }
    }
    out.push_str(&capitalize_word(&word));
    Ok(JValue::from(out))
}

fn trim(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    Ok(JValue::from(match args.str_arg(0, "chars") {
        Some(chars) => text.trim_matches(|c| chars.contains(c)).to_owned(),
        None => text.trim().to_owned(),
    }))
}

fn replace(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    let old = args.str_arg(0, "old").unwrap_or_default();
    let new = args.str_arg(1, "new").unwrap_or_default();
    Ok(JValue::from(
        match args.get(2, "count").and_then(JValue::as_i64) {
            Some(count) if count >= 0 => text.replacen(&old, &new, count as usize),
            _ => text.replace(&old, &new),
        },
    ))
}

fn center(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    let width = args
        .get(0, "width")
        .and_then(JValue::as_usize)
        .unwrap_or(80);
    check_width(width).map_err(|message| Error::new(ErrorKind::InvalidOperation, message))?;
    let len = text.chars().count();
    if len >= width {
        return Ok(JValue::from(text));
    }
    // Python puts the odd padding character on the left when the width is odd.
    let total = width - len;
    let left = total / 2 + (total & width & 1);
    Ok(JValue::from(format!(
        "{}{text}{}",
        " ".repeat(left),
        " ".repeat(total - left)
    )))
}

/// Jinja2's `indent(width=4, first=False, blank=False)`, which keeps a trailing newline.
fn indent(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    let indentation = match args.get(0, "width") {
        Some(width) if width.as_str().is_some() => width.as_str().unwrap_or_default().to_owned(),
        Some(width) => {
            let width = width.as_usize().unwrap_or(4);
            check_width(width)
                .map_err(|message| Error::new(ErrorKind::InvalidOperation, message))?;
            " ".repeat(width)
        }
        None => " ".repeat(4),
    };
    let first = args.bool_arg(1, "first", false);
    let blank = args.bool_arg(2, "blank", false);
    let text = format!("{text}\n");
    let lines = splitlines(&text);
    let mut out = if blank {
        lines.join(&format!("\n{indentation}"))
    } else {
        let mut out = lines.first().cloned().unwrap_or_default();
        let rest: Vec<String> = lines
            .iter()
            .skip(1)
            .map(|line| {
                if line.is_empty() {
                    String::new()
                } else {
                    format!("{indentation}{line}")
                }
            })
            .collect();
        if !rest.is_empty() {
            out.push('\n');
            out.push_str(&rest.join("\n"));
        }
        out
    };
    if first {
        out = format!("{indentation}{out}");
    }
    Ok(JValue::from(out))
}

/// Python's `str.splitlines()`.
fn splitlines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut current));
            }
            '\n' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}'
            | '\u{2029}' => {
                lines.push(std::mem::take(&mut current));
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

fn wordcount(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    let count = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
        .count();
    Ok(JValue::from(count))
}

/// Jinja2's `format`: Python's `%` operator with the arguments.
/// Jinja2's `format`: Python's `%` formatting of the input with the arguments. A `%r`
/// conversion of an undefined variable prints ansible-core's `AnsibleUndefined`
/// object; any other use of an undefined value fails as undefined.
fn format(_: &mut State, args: &Args) -> Result<JValue, Error> {
    if args.value.is_undefined() || args.keywords.iter().any(|(_, v)| v.is_undefined()) {
        return Err(undefined_error());
    }
    let text = input(args)?;
    let values = if args.keywords.is_empty() {
        JValue::from(Tuple::from(args.positional.as_slice()))
    } else {
        JValue::from_pairs(
            args.keywords
                .iter()
                .map(|(k, v)| (JValue::from(k.as_str()), v.clone())),
        )
    };
    let undefined_repr = undefined_variable_repr(args);
    percent_format_with(&text, &values, undefined_repr.as_deref())
        .map(JValue::from)
        .map_err(|message| match message.as_str() {
            UNDEFINED_IN_FORMAT => undefined_error(),
            _ if is_type_error(&message) => python_type_error(message),
            _ => filter_error(message),
        })
}

/// Returns Python's `repr` of the undefined argument of `format`, when exactly one
/// argument is undefined and it is a variable that does not exist.
///
/// NOTE: ansible-core also prints an undefined attribute (`d.missing`) with the
/// object's repr; rplay fails there as for any other use of an undefined value.
fn undefined_variable_repr(args: &Args) -> Option<String> {
    if args.positional.iter().filter(|v| v.is_undefined()).count() != 1 {
        return None;
    }
    let hint = crate::template::render::latest_hint()?;
    let name = hint
        .strip_prefix('\'')?
        .strip_suffix("' is undefined")
        .filter(|name| !name.contains('\''))?;
    Some(format!(
        "AnsibleUndefined(hint=None, obj=missing, name='{name}')"
    ))
}

fn text(_: &mut State, args: &Args) -> Result<JValue, Error> {
    Ok(JValue::from(input(args)?))
}

/// Ansible's `split(sep=None, maxsplit=-1)`, Python's `str.split`.
fn split(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    let separator = args
        .get(0, "sep")
        .filter(|v| !v.is_none())
        .map(|v| py_str(v).unwrap_or_default());
    let max = args
        .get(1, "maxsplit")
        .and_then(JValue::as_i64)
        .unwrap_or(-1);
    let parts: Vec<String> = match separator {
        Some(sep) if sep.is_empty() => return Err(filter_error("empty separator")),
        Some(sep) if max >= 0 => text
            .splitn(max as usize + 1, sep.as_str())
            .map(str::to_owned)
            .collect(),
        Some(sep) => text.split(sep.as_str()).map(str::to_owned).collect(),
        None => split_whitespace(&text, max),
    };
    Ok(JValue::from(
        parts.into_iter().map(JValue::from).collect::<Vec<_>>(),
    ))
}

fn split_whitespace(text: &str, max: i64) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        if max >= 0 && parts.len() as i64 == max {
            parts.push(rest.to_owned());
            break;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        parts.push(rest[..end].to_owned());
        rest = rest[end..].trim_start();
    }
    parts
}

/// Compiles a Python regular expression with the `re.I` and `re.M` flags.
fn compile_regex(pattern: &str, ignorecase: bool, multiline: bool) -> Result<Regex, Error> {
    let mut flags = String::new();
    if ignorecase {
        flags.push('i');
    }
    if multiline {
        flags.push('m');
    }
    let pattern = if flags.is_empty() {
        pattern.to_owned()
    } else {
        format!("(?{flags}){pattern}")
    };
    thread_local! {
        static COMPILED: std::cell::RefCell<std::collections::HashMap<String, Regex>> =
            std::cell::RefCell::default();
    }
    if let Some(regex) = COMPILED.with(|cache| cache.borrow().get(&pattern).cloned()) {
        return Ok(regex);
    }
    let regex = Regex::new(&pattern)
        .map_err(|err| filter_error(format!("invalid regular expression: {err}")))?;
    COMPILED.with(|cache| {
        let mut cache = cache.borrow_mut();
        // Patterns come from templates, so the set is bounded by the playbooks; the
        // cap only guards against patterns built from data.
        if cache.len() > 4096 {
            cache.clear();
        }
        cache.insert(pattern, regex.clone());
    });
    Ok(regex)
}

/// Turns a Python `re.sub` replacement (`\1`, `\g<name>`, `\n`) into fancy-regex's
/// expansion syntax.
fn convert_replacement(replacement: &str) -> Result<String, Error> {
    let mut out = String::new();
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.next() {
                Some(d) if d.is_ascii_digit() => {
                    let mut group = d.to_string();
                    if let Some(&next) = chars.peek() {
                        if next.is_ascii_digit() {
                            group.push(next);
                            chars.next();
                        }
                    }
                    out.push_str(&format!("${{{group}}}"));
                }
                Some('g') => {
                    if chars.next() != Some('<') {
                        return Err(filter_error("missing <"));
                    }
                    let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                    out.push_str(&format!("${{{name}}}"));
                }
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('\\') => out.push('\\'),
                Some(other) if other.is_ascii_alphabetic() => {
                    return Err(filter_error(format!("bad escape \\{other}")))
                }
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => return Err(filter_error("bad escape (end of pattern)")),
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

fn regex_error(err: fancy_regex::Error) -> Error {
    filter_error(format!("regular expression failed: {err}"))
}

fn regex_replace(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    let pattern = args.str_arg(0, "pattern").unwrap_or_default();
    let replacement = convert_replacement(&args.str_arg(1, "replacement").unwrap_or_default())?;
    let regex = compile_regex(
        &pattern,
        args.bool_arg(2, "ignorecase", false),
        args.bool_arg(3, "multiline", false),
    )?;
    let count = args.get(4, "count").and_then(JValue::as_usize).unwrap_or(0);
    let mut out = String::new();
    let mut last = 0;
    let mut replaced = 0;
    for captures in regex.captures_iter(text.as_str()) {
        let captures = captures.map_err(regex_error)?;
        if count > 0 && replaced == count {
            break;
        }
        let whole = captures.get(0).map_or(0..0, |m| m.range());
        out.push_str(&text[last..whole.start]);
        captures.expand(&replacement, &mut out);
        last = whole.end;
        replaced += 1;
    }
    out.push_str(&text[last..]);
    let mandatory = args
        .get(5, "mandatory_count")
        .and_then(JValue::as_usize)
        .unwrap_or(0);
    if mandatory != 0 && mandatory != replaced {
        return Err(filter_error(format!(
            "'{pattern}' should match {mandatory} times, but matches {count} times in '{text}'"
        )));
    }
    Ok(JValue::from(out))
}

/// Ansible's `regex_search(regex, *groups, ignorecase=False, multiline=False)`.
fn regex_search(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    let pattern = args.str_arg(0, "regex").unwrap_or_default();
    let regex = compile_regex(
        &pattern,
        args.keyword("ignorecase").is_some_and(JValue::is_true),
        args.keyword("multiline").is_some_and(JValue::is_true),
    )?;
    let mut groups = Vec::new();
    for arg in args.positional.iter().skip(1) {
        let arg = py_str(arg).unwrap_or_default();
        // Ansible reads `\\g<name>` and `\\N` with `re.match`; an argument that starts
        // with a backslash but does not match fails on the missing match object.
        let group = if arg.starts_with("\\g") {
            arg.strip_prefix("\\g<")
                .and_then(|rest| rest.split_once('>'))
                .map(|(name, _)| name.to_owned())
                .filter(|name| !name.is_empty() && !name.contains(char::is_whitespace))
        } else if let Some(rest) = arg.strip_prefix('\\') {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            (!digits.is_empty()).then_some(digits)
        } else {
            return Err(filter_error("Unknown argument"));
        };
        match group {
            Some(group) => groups.push(group),
            None => return Err(filter_error("'NoneType' object has no attribute 'group'")),
        }
    }
    let Some(captures) = regex.captures(&text).map_err(regex_error)? else {
        return Ok(JValue::from(()));
    };
    if groups.is_empty() {
        return Ok(JValue::from(captures.get(0).map_or("", |m| m.as_str())));
    }
    let items = groups
        .iter()
        .map(|group| {
            let found = match group.parse::<usize>() {
                Ok(index) => captures.get(index),
                Err(_) => captures.name(group),
            };
            found.map_or(JValue::from(()), |m| JValue::from(m.as_str()))
        })
        .collect::<Vec<_>>();
    Ok(JValue::from(items))
}

/// Ansible's `regex_findall`, Python's `re.findall`: whole matches, the group of a
/// one-group pattern, or tuples of groups.
fn regex_findall(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    let pattern = args.str_arg(0, "regex").unwrap_or_default();
    let regex = compile_regex(
        &pattern,
        args.bool_arg(2, "ignorecase", false),
        args.bool_arg(1, "multiline", false),
    )?;
    let group_count = regex.captures_len() - 1;
    let mut items = Vec::new();
    for captures in regex.captures_iter(&text) {
        let captures = captures.map_err(regex_error)?;
        let group = |i: usize| JValue::from(captures.get(i).map_or("", |m| m.as_str()));
        items.push(match group_count {
            0 => group(0),
            1 => group(1),
            n => JValue::from((1..=n).map(group).collect::<Vec<_>>()),
        });
    }
    Ok(JValue::from(items))
}

/// Python's `re.escape` (3.7 and later), or the POSIX basic variant.
fn regex_escape(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    let kind = args
        .str_arg(0, "re_type")
        .unwrap_or_else(|| "python".into());
    let special: &str = match kind.as_str() {
        "python" => "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c",
        "posix_basic" => "].[^$*\\",
        "posix_extended" => {
            return Err(filter_error(format!(
                "Regex type ({kind}) not yet implemented"
            )))
        }
        _ => return Err(filter_error(format!("Invalid regex type ({kind})"))),
    };
    let mut out = String::new();
    for c in text.chars() {
        if special.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(JValue::from(out))
}

/// Python's `shlex.quote`.
fn quote(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = if args.value.is_none() {
        String::new()
    } else {
        input(args)?
    };
    if text.is_empty() {
        return Ok(JValue::from("''"));
    }
    let safe = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if safe {
        return Ok(JValue::from(text));
    }
    Ok(JValue::from(format!("'{}'", text.replace('\'', "'\"'\"'"))))
}

fn basename(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    Ok(JValue::from(text.rsplit('/').next().unwrap_or_default()))
}

/// Python's `os.path.dirname`.
pub fn dirname_of(text: &str) -> String {
    let Some(index) = text.rfind('/') else {
        return String::new();
    };
    let head = &text[..=index];
    if head.chars().all(|c| c == '/') {
        head.to_owned()
    } else {
        head.trim_end_matches('/').to_owned()
    }
}

fn dirname(_: &mut State, args: &Args) -> Result<JValue, Error> {
    Ok(JValue::from(dirname_of(&input(args)?)))
}

fn splitext(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    let name_start = text.rfind('/').map_or(0, |i| i + 1);
    let name = &text[name_start..];
    let dot = name
        .rfind('.')
        .filter(|&i| name[..i].chars().any(|c| c != '.'));
    let (root, ext) = match dot {
        Some(i) => (
            text[..name_start + i].to_owned(),
            text[name_start + i..].to_owned(),
        ),
        None => (text.clone(), String::new()),
    };
    Ok(JValue::from(vec![JValue::from(root), JValue::from(ext)]))
}

fn path_join(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let is_sequence = matches!(args.value.kind(), ValueKind::Seq | ValueKind::Iterable);
    if args.value.as_str().is_none() && !is_sequence {
        return Err(python_type_error(format!(
            "|path_join expects string or sequence, got <class '{}'> instead.",
            python_type_name(&args.value)
        )));
    }
    let parts: Vec<String> = match args.value.as_str() {
        Some(text) => vec![text.to_owned()],
        None => super::collections::values(&args.value)?
            .iter()
            .map(|part| py_str(part).unwrap_or_default())
            .collect(),
    };
    let mut path = String::new();
    for part in parts {
        if part.starts_with('/') {
            path = part;
        } else if path.is_empty() || path.ends_with('/') {
            path.push_str(&part);
        } else {
            path.push('/');
            path.push_str(&part);
        }
    }
    Ok(JValue::from(path))
}

fn normpath(_: &mut State, args: &Args) -> Result<JValue, Error> {
    Ok(JValue::from(normpath_of(&input(args)?)))
}

/// Python's `os.path.normpath`.
pub fn normpath_of(text: &str) -> String {
    if text.is_empty() {
        return ".".to_owned();
    }
    let leading = if text.starts_with("//") && !text.starts_with("///") {
        2
    } else if text.starts_with('/') {
        1
    } else {
        0
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." if leading == 0 && (parts.is_empty() || parts.last() == Some(&"..")) => {
                parts.push("..")
            }
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    let joined = format!("{}{}", "/".repeat(leading), parts.join("/"));
    if joined.is_empty() {
        ".".to_owned()
    } else {
        joined
    }
}

/// Ansible's `b64encode(string, encoding='utf-8')`.
fn b64encode(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    let encoding = args
        .str_arg(0, "encoding")
        .unwrap_or_else(|| "utf-8".into());
    let bytes = encode_text(&text, &encoding)?;
    Ok(JValue::from(
        base64::engine::general_purpose::STANDARD.encode(bytes),
    ))
}

/// Ansible's `b64decode(string, encoding='utf-8')`.
fn b64decode(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    let encoding = args
        .str_arg(0, "encoding")
        .unwrap_or_else(|| "utf-8".into());
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim().as_bytes())
        .map_err(|err| filter_error(format!("Invalid base64-encoded string: {err}")))?;
    Ok(JValue::from(decode_bytes(&bytes, &encoding)?))
}

/// The text encodings of Python's codecs that the base64 filters support, by any of
/// their common names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TextEncoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    /// UTF-16 with a byte order mark, little-endian when writing, as Python's `utf-16`.
    Utf16,
    Latin1,
    Ascii,
}

fn text_encoding(name: &str) -> Result<TextEncoding, Error> {
    let normalized = name.to_ascii_lowercase().replace('_', "-");
    Ok(match normalized.as_str() {
        "utf-8" | "utf8" => TextEncoding::Utf8,
        "utf-16-le" | "utf-16le" => TextEncoding::Utf16Le,
        "utf-16-be" | "utf-16be" => TextEncoding::Utf16Be,
        "utf-16" | "utf16" => TextEncoding::Utf16,
        "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" => TextEncoding::Latin1,
        "ascii" | "us-ascii" => TextEncoding::Ascii,
        // NOTE: Python has many more codecs; rplay fails on them as on unknown ones.
        _ => return Err(filter_error(format!("unknown encoding: {name}"))),
    })
}

fn encode_text(text: &str, encoding: &str) -> Result<Vec<u8>, Error> {
    let units = |big_endian: bool| -> Vec<u8> {
        text.encode_utf16()
            .flat_map(|unit| {
                if big_endian {
                    unit.to_be_bytes()
                } else {
                    unit.to_le_bytes()
                }
            })
            .collect()
    };
    let narrow = |limit: u32, name: &str| -> Result<Vec<u8>, Error> {
        text.chars()
            .map(|c| {
                u8::try_from(u32::from(c))
                    .ok()
                    .filter(|byte| u32::from(*byte) <= limit)
                    .ok_or_else(|| {
                        filter_error(format!(
                            "'{name}' codec can't encode character '\\u{:04x}'",
                            u32::from(c)
                        ))
                    })
            })
            .collect()
    };
    match text_encoding(encoding)? {
        TextEncoding::Utf8 => Ok(text.as_bytes().to_vec()),
        TextEncoding::Utf16Le => Ok(units(false)),
        TextEncoding::Utf16Be => Ok(units(true)),
        TextEncoding::Utf16 => Ok([vec![0xff, 0xfe], units(false)].concat()),
        TextEncoding::Latin1 => narrow(0xff, "latin-1"),
        TextEncoding::Ascii => narrow(0x7f, "ascii"),
    }
}

fn decode_bytes(bytes: &[u8], encoding: &str) -> Result<String, Error> {
    let from_units = |big_endian: bool, bytes: &[u8]| -> String {
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|pair| {
                let pair = [pair[0], pair[1]];
                if big_endian {
                    u16::from_be_bytes(pair)
                } else {
                    u16::from_le_bytes(pair)
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    Ok(match text_encoding(encoding)? {
        TextEncoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
        TextEncoding::Utf16Le => from_units(false, bytes),
        TextEncoding::Utf16Be => from_units(true, bytes),
        TextEncoding::Utf16 => match bytes {
            [0xfe, 0xff, rest @ ..] => from_units(true, rest),
            [0xff, 0xfe, rest @ ..] => from_units(false, rest),
            _ => from_units(false, bytes),
        },
        TextEncoding::Latin1 | TextEncoding::Ascii => {
            bytes.iter().map(|b| char::from(*b)).collect()
        }
    })
}

fn hex_digest<D: Digest>(data: &[u8]) -> String {
    let digest = D::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let data = input(args)?;
    let kind = args.str_arg(0, "hashtype").unwrap_or_else(|| "sha1".into());
    let bytes = data.as_bytes();
    let digest = match kind.as_str() {
        "md5" => hex_digest::<Md5>(bytes),
        "sha1" => hex_digest::<Sha1>(bytes),
        "sha224" => hex_digest::<sha2::Sha224>(bytes),
        "sha256" => hex_digest::<sha2::Sha256>(bytes),
        "sha384" => hex_digest::<sha2::Sha384>(bytes),
        "sha512" => hex_digest::<sha2::Sha512>(bytes),
        other => return Err(filter_error(format!("unsupported hash type {other}"))),
    };
    Ok(JValue::from(digest))
}

fn sha1(_: &mut State, args: &Args) -> Result<JValue, Error> {
    Ok(JValue::from(hex_digest::<Sha1>(input(args)?.as_bytes())))
}

fn md5(_: &mut State, args: &Args) -> Result<JValue, Error> {
    Ok(JValue::from(hex_digest::<Md5>(input(args)?.as_bytes())))
}

/// Ansible's `to_uuid`: a version 5 UUID in Ansible's namespace
/// `361E6D51-FAEC-444A-9079-341386DA8E2E` unless another is given.
fn to_uuid(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let name = input(args)?;
    if let Some(namespace) = args
        .get(0, "namespace")
        .filter(|value| value.as_str().is_none())
    {
        // Python's `uuid.UUID` calls `replace` on what it is given.
        return Err(filter_error(format!(
            "Invalid value '{}' for 'namespace': '{}' object has no attribute 'replace'",
            py_str(namespace).unwrap_or_default(),
            python_type_name(namespace)
        )));
    }
    let namespace = args
        .str_arg(0, "namespace")
        .unwrap_or_else(|| "361e6d51-faec-444a-9079-341386da8e2e".into());
    let hex: String = namespace.chars().filter(char::is_ascii_hexdigit).collect();
    if hex.len() != 32 {
        return Err(filter_error(format!(
            "Invalid value '{namespace}' for 'namespace': badly formed hexadecimal UUID string"
        )));
    }
    let mut bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect();
    bytes.extend_from_slice(name.as_bytes());
    let digest = Sha1::digest(&bytes);
    let mut uuid: [u8; 16] = [0; 16];
    uuid.copy_from_slice(&digest[..16]);
    uuid[6] = (uuid[6] & 0x0f) | 0x50;
    uuid[8] = (uuid[8] & 0x3f) | 0x80;
    let hex: String = uuid.iter().map(|b| format!("{b:02x}")).collect();
    Ok(JValue::from(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )))
}

/// Ansible's `comment(text, style='plain', **kw)`: `text` as a comment block, with the
/// `beginning`, `prefix`, `decoration`, `postfix` and `end` of the style, each of which
/// a keyword argument can replace.
fn comment(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    let style = args.str_arg(0, "style").unwrap_or_else(|| "plain".into());
    let (beginning, style_decoration, end) = match style.as_str() {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        _ => return Err(filter_error(format!("'{style}'"))),
    };
    let keyword = |name: &str| {
        args.keyword(name)
            .map(|value| py_str(value).unwrap_or_default())
    };
    let prepostfix = keyword("decoration").unwrap_or_else(|| style_decoration.to_owned());
    let newline = keyword("newline").unwrap_or_else(|| "\n".to_owned());
    let beginning = keyword("beginning").unwrap_or_else(|| beginning.to_owned());
    let prefix = keyword("prefix").unwrap_or_else(|| prepostfix.trim_end().to_owned());
    let postfix = keyword("postfix").unwrap_or_else(|| prepostfix.trim_end().to_owned());
    let decoration = keyword("decoration").unwrap_or_else(|| style_decoration.to_owned());
    let end = keyword("end").unwrap_or_else(|| end.to_owned());
    let count = |name: &str| repeat_count(args.keyword(name));

    let mut out = String::new();
    if !beginning.is_empty() {
        out.push_str(&beginning);
        out.push_str(&newline);
    }

    if !prefix.is_empty() {
        let unit = if prefix == newline {
            newline.clone()
        } else {
            format!("{prefix}{newline}")
        };
        out.push_str(&unit.repeat(count("prefix_count")?));
    }

    let decorated = format!(
        "{decoration}{}",
        text.replace(&newline, &format!("{newline}{decoration}"))
    );
    // A line holding only the decoration loses its trailing spaces.
    out.push_str(&decorated.replace(
        &format!("{decoration}{newline}"),
        &format!("{}{newline}", decoration.trim_end()),
    ));

    for _ in 0..count("postfix_count")? {
        out.push_str(&newline);
        out.push_str(&postfix);
    }
    if !end.is_empty() {
        out.push_str(&newline);
        out.push_str(&end);
    }
    Ok(JValue::from(out))
}

/// Reads `prefix_count` or `postfix_count` of `comment` as Python's `int()`: 1 when absent.
fn repeat_count(value: Option<&JValue>) -> Result<usize, Error> {
    let Some(value) = value else {
        return Ok(1);
    };
    let text = py_str(value).unwrap_or_default();
    text.trim()
        .parse::<i64>()
        .map(|count| usize::try_from(count).unwrap_or(0))
        .map_err(|_| filter_error(format!("invalid literal for int() with base 10: '{text}'")))
}

/// Python's `urllib.parse.unquote_plus`.
fn urldecode(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?.replace('+', " ");
    let decoded = percent_encoding::percent_decode_str(&text).decode_utf8_lossy();
    Ok(JValue::from(decoded.into_owned()))
}

/// Jinja2's `urlencode`: `quote` with `/` kept for a string or a scalar, and a query
/// string `k=v&...` for a dict or for a list of key-value pairs.
fn urlencode(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let value = &args.value;
    let pairs = match value.kind() {
        ValueKind::Map => super::collections::values(value)?
            .into_iter()
            .map(|key| {
                let item = value.get_item(&key).unwrap_or_default();
                (key, item)
            })
            .collect(),
        ValueKind::Seq | ValueKind::Iterable => super::collections::values(value)?
            .iter()
            .map(unpack_pair)
            .collect::<Result<Vec<_>, Error>>()?,
        _ => return Ok(JValue::from(url_quote(&input(args)?, QUOTE_PATH))),
    };
    let query = |value: &JValue| {
        url_quote(&py_str(value).unwrap_or_default(), QUOTE_ALL).replace("%20", "+")
    };
    let parts: Vec<String> = pairs
        .iter()
        .map(|(key, item)| format!("{}={}", query(key), query(item)))
        .collect();
    Ok(JValue::from(parts.join("&")))
}

/// Python's `urllib.parse.quote` with `safe=""`: only letters, digits and `_.-~` stay.
const QUOTE_ALL: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

/// Python's `urllib.parse.quote` with its default `safe="/"`.
const QUOTE_PATH: &percent_encoding::AsciiSet = &QUOTE_ALL.remove(b'/');

fn url_quote(text: &str, set: &'static percent_encoding::AsciiSet) -> String {
    percent_encoding::utf8_percent_encode(text, set).to_string()
}

/// Unpacks one item of a list into a key and a value, as Python's `for k, v in items`.
fn unpack_pair(item: &JValue) -> Result<(JValue, JValue), Error> {
    let parts: Vec<JValue> = match item.kind() {
        ValueKind::String => item
            .as_str()
            .unwrap_or_default()
            .chars()
            .map(|c| JValue::from(c.to_string()))
            .collect(),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => super::collections::values(item)?,
        _ => {
            return Err(python_type_error(format!(
                "cannot unpack non-iterable {} object",
                python_type_name(item)
            )))
        }
    };
    match <[JValue; 2]>::try_from(parts) {
        Ok([key, value]) => Ok((key, value)),
        Err(parts) if parts.len() > 2 => {
            Err(python_value_error("too many values to unpack (expected 2)"))
        }
        Err(parts) => Err(python_value_error(format!(
            "not enough values to unpack (expected 2, got {})",
            parts.len()
        ))),
    }
}
