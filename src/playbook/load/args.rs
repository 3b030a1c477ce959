//! Finding a task's action and normalising its arguments, as ansible-core's module
//! argument parser does: `module: {k: v}`, `module: k=v free form`, `action: module k=v`,
//! `local_action: ...`, and `args:` merged in.

use super::map_entries;
use crate::playbook::actions::ActionResolver;
use crate::playbook::ast::short_action;
use crate::playbook::error::LoadError;
use crate::playbook::keywords;
use crate::source::suggest;
use crate::yaml::{Node, NodeKind};
use crate::{Map, Value};

/// The argument that contains a template standing for a mapping of arguments, from a
/// task's `args: "{{ ... }}"` or from a templated free-form argument.
pub const VARIABLE_PARAMS: &str = "_variable_params";

/// Actions that take free-form text as `_raw_params`.
const RAW_PARAM_ACTIONS: &[&str] = &[
    "include_vars",
    "include_tasks",
    "include_role",
    "import_tasks",
    "import_role",
    "add_host",
    "group_by",
    "set_fact",
    "meta",
    "command",
    "win_command",
    "shell",
    "win_shell",
    "raw",
    "script",
];

/// Actions whose free-form text is a command line (ansible-core's `MODULE_REQUIRE_ARGS`):
/// only their own options are taken from `k=v` words, other `k=v` words stay in the
/// command line.
const COMMAND_ACTIONS: &[&str] = &[
    "command",
    "raw",
    "script",
    "shell",
    "win_command",
    "win_shell",
    "ansible.windows.win_command",
    "ansible.windows.win_shell",
];

/// Options that `k=v` text may set on the command-like actions.
const COMMAND_OPTIONS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "warn",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

pub(super) struct ParsedAction {
    pub action: String,
    pub args: Map,
    /// Set for `local_action`, which delegates to `localhost`.
    pub local: bool,
}

pub(super) fn parse_action(
    node: &Node,
    actions: &ActionResolver,
    handler: bool,
) -> Result<ParsedAction, LoadError> {
    let entries = map_entries(node, "a task")?;
    let mut found: Option<(String, Node, bool)> = None;
    let mut extra_args = Map::new();
    let mut unknown: Option<&Node> = None;
    for (key, value) in entries {
        let name = key.as_str().unwrap_or_default();
        match name {
            "action" | "local_action" => {
                let (action, args) = split_old_style(value)?;
                check_conflict(&found, &action, node)?;
                found = Some((action, args, name == "local_action"));
                continue;
            }
            "args" => {
                match value.to_value() {
                    Value::Map(map) => {
                        extra_args.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
                    }
                    // A template is expanded when the task runs and must give a mapping.
                    Value::Str(text) | Value::Unsafe(text) if super::is_template(&text) => {
                        extra_args.insert(Value::from(VARIABLE_PARAMS), Value::from(&*text));
                    }
                    Value::Str(_) | Value::Unsafe(_) => {
                        return Err(unlocated_parse_error(
                            "Complex args containing variables cannot use bare variables (without Jinja2 delimiters), and must use the full variable style ('{{var_name}}')",
                            node,
                        ))
                    }
                    Value::Null => {}
                    _ => {
                        return Err(unlocated_parse_error(
                            "Complex args must be a dictionary or variable string (\"{{var}}\").",
                            node,
                        ))
                    }
                }
                continue;
            }
            _ => {}
        }
        let is_keyword = keywords::find(name, &[keywords::TASK, keywords::INHERITED]).is_some()
            || (handler && keywords::HANDLER.contains(&name))
            || name.starts_with("with_");
        if is_keyword {
            continue;
        }
        if actions.is_action(name) {
            check_conflict(&found, name, node)?;
            found = Some((name.to_string(), value.clone(), false));
        } else if unknown.is_none() {
            unknown = Some(key);
        }
    }
    let Some((action, value, local)) = found else {
        return Err(match unknown {
            Some(key) => unresolved_action(key, actions),
            None => LoadError::new("no module/action detected in task.", Some(&node.span)),
        });
    };
    if let Some(key) = unknown {
        let name = key.as_str().unwrap_or_default();
        let error = LoadError::new(
            format!("conflicting action statements: {action}, {name}"),
            Some(&key.span),
        );
        let candidates = keywords::TASK.iter().chain(keywords::INHERITED).copied();
        return Err(match suggest(name, candidates) {
            Some(candidate) => error.with_hint(format!(
                "'{name}' is not a task keyword; did you mean '{candidate}'?"
            )),
            None => error,
        });
    }
    let mut args = extra_args;
    args.extend(normalize_args(&action, &value)?);
    Ok(ParsedAction {
        action,
        args,
        local,
    })
}

fn check_conflict(
    found: &Option<(String, Node, bool)>,
    action: &str,
    node: &Node,
) -> Result<(), LoadError> {
    match found {
        Some((existing, _, _)) => Err(LoadError::new(
            format!("conflicting action statements: {existing}, {action}"),
            Some(&node.span),
        )),
        None => Ok(()),
    }
}

/// Builds an error that ansible-core's argument parser raises without a location: the
/// task adds its own and repeats the message after the original one.
fn unlocated_parse_error(message: &str, task: &Node) -> LoadError {
    LoadError::new(format!("{message}. {message}"), Some(&task.span))
}

fn unresolved_action(key: &Node, actions: &ActionResolver) -> LoadError {
    let name = key.as_str().unwrap_or_default();
    let error = LoadError::new(
        format!("couldn't resolve module/action '{name}'. This often indicates a misspelling, missing collection, or incorrect module path."),
        Some(&key.span),
    );
    let keyword_like = keywords::TASK.iter().chain(keywords::INHERITED).copied();
    match suggest(name, actions.names().chain(keyword_like)) {
        Some(candidate) => error.with_hint(format!("did you mean '{candidate}'?")),
        None => error,
    }
}

/// Splits `action: module k=v` or `action: {module: name, k: v}` into the module name and
/// the rest.
fn split_old_style(value: &Node) -> Result<(String, Node), LoadError> {
    match &value.kind {
        NodeKind::Scalar(Value::Str(text)) => {
            let text = text.trim_start();
            let (module, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
            let rest = Node {
                kind: NodeKind::Scalar(Value::from(rest.trim_start())),
                span: value.span.clone(),
            };
            Ok((module.to_string(), rest))
        }
        NodeKind::Map(entries) => {
            let module = entries
                .iter()
                .find(|(k, _)| k.as_str() == Some("module"))
                .and_then(|(_, v)| v.as_str())
                .ok_or_else(|| {
                    LoadError::new("no module/action detected in task.", Some(&value.span))
                })?;
            let rest: Vec<(Node, Node)> = entries
                .iter()
                .filter(|(k, _)| k.as_str() != Some("module"))
                .cloned()
                .collect();
            Ok((
                module.to_string(),
                Node {
                    kind: NodeKind::Map(rest),
                    span: value.span.clone(),
                },
            ))
        }
        _ => Err(LoadError::new(
            "unexpected parameter type in action",
            Some(&value.span),
        )),
    }
}

/// Turns the value of the action key into arguments.
fn normalize_args(action: &str, value: &Node) -> Result<Map, LoadError> {
    let short = short_action(action);
    let raw_params = RAW_PARAM_ACTIONS.contains(&short);
    let command_line = COMMAND_ACTIONS.contains(&short);
    let args = match value.to_value() {
        Value::Null => Map::new(),
        Value::Map(map) => std::sync::Arc::unwrap_or_clone(map),
        Value::Str(text) | Value::Unsafe(text) => parse_kv(&text, command_line, &value.span)?,
        other @ (Value::Int(_) | Value::Float(_) | Value::Bool(_)) if raw_params => {
            let mut args = Map::new();
            args.insert(
                Value::from("_raw_params"),
                Value::from(super::super::ast::value_text(&other)),
            );
            args
        }
        _ => {
            return Err(LoadError::new(
                format!(
                    "unexpected parameter type in action: {}",
                    value.to_value().type_name()
                ),
                Some(&value.span),
            ))
        }
    };
    let mut args = args;
    if !raw_params {
        if let Some(raw) = args.get("_raw_params").and_then(Value::as_str) {
            if super::is_template(raw) {
                // ansible-core expands it when the task runs; it must give a mapping.
                let raw = args.shift_remove("_raw_params").unwrap_or_default();
                args.insert(Value::from(VARIABLE_PARAMS), raw);
            } else {
                return Err(LoadError::new(
                    format!(
                        "this task '{action}' has extra params, which is only allowed in the following modules: {}",
                        RAW_PARAM_ACTIONS.join(", ")
                    ),
                    Some(&value.span),
                ));
            }
        }
    }
    Ok(args)
}

/// Parses `k=v` text. Words that are not `k=v` are joined into `_raw_params`. With
/// `command_line`, `k=v` words are options only for the command-like actions' own
/// options and otherwise stay in `_raw_params`.
fn parse_kv(text: &str, command_line: bool, span: &crate::source::Span) -> Result<Map, LoadError> {
    let words = split_args(text).ok_or_else(|| {
        LoadError::new(
            format!("failed at splitting arguments, either an unbalanced jinja2 block or quotes: {text}"),
            Some(span),
        )
    })?;
    Ok(kv_from_words(words, command_line))
}

/// Parses `k=v` text as ansible-core's `parse_kv` does for a lookup's terms: words that
/// are not `k=v` are joined into `_raw_params`. Returns `None` when quotes or Jinja2
/// blocks are unbalanced.
pub fn parse_kv_text(text: &str) -> Option<Map> {
    split_args(text).map(|words| kv_from_words(words, false))
}

fn kv_from_words(words: Vec<String>, command_line: bool) -> Map {
    let mut options = Map::new();
    let mut raw = Vec::new();
    for word in words {
        let decoded = decode_escapes(&word);
        let Some(position) = unescaped_equals(&decoded) else {
            raw.push(if decoded.contains('=') {
                decoded.replace("\\=", "=")
            } else {
                word
            });
            continue;
        };
        let key = &decoded[..position];
        let value = &decoded[position + 1..];
        if command_line && !COMMAND_OPTIONS.contains(&key) {
            raw.push(word);
        } else {
            options.insert(Value::from(key.trim()), Value::from(unquote(value.trim())));
        }
    }
    if !raw.is_empty() {
        options.insert(Value::from("_raw_params"), Value::from(join_args(&raw)));
    }
    options
}

/// Joins words with spaces, except after a word that ends a line, as ansible-core's
/// `join_args` does.
fn join_args(words: &[String]) -> String {
    let mut joined = String::new();
    for word in words {
        if !joined.is_empty() && !joined.ends_with('\n') {
            joined.push(' ');
        }
        joined.push_str(word);
    }
    joined
}

/// The position of the first `=` after the first character that is not escaped.
fn unescaped_equals(word: &str) -> Option<usize> {
    let bytes = word.as_bytes();
    (1..bytes.len()).find(|&i| bytes[i] == b'=' && bytes[i - 1] != b'\\')
}

/// Decodes Python's unicode escapes (`\n`, `\t`, `\\`, `\uXXXX`...) in a `k=v` word.
fn decode_escapes(word: &str) -> String {
    if !word.contains('\\') {
        return word.to_string();
    }
    let mut out = String::with_capacity(word.len());
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some('n') => {
                chars.next();
                out.push('\n');
            }
            Some('t') => {
                chars.next();
                out.push('\t');
            }
            Some('r') => {
                chars.next();
                out.push('\r');
            }
            Some('\\') => {
                chars.next();
                out.push('\\');
            }
            Some('\'') => {
                chars.next();
                out.push('\'');
            }
            Some('"') => {
                chars.next();
                out.push('"');
            }
            Some('a') => {
                chars.next();
                out.push('\x07');
            }
            Some('b') => {
                chars.next();
                out.push('\x08');
            }
            Some('f') => {
                chars.next();
                out.push('\x0c');
            }
            Some('v') => {
                chars.next();
                out.push('\x0b');
            }
            Some('\n') => {
                chars.next();
            }
            Some(kind @ ('x' | 'u' | 'U')) => {
                let len = match kind {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let digits: String = chars.clone().skip(1).take(len).collect();
                match u32::from_str_radix(&digits, 16)
                    .ok()
                    .filter(|_| digits.len() == len)
                    .and_then(char::from_u32)
                {
                    Some(decoded) => {
                        for _ in 0..=len {
                            chars.next();
                        }
                        out.push(decoded);
                    }
                    None => out.push('\\'),
                }
            }
            _ => out.push('\\'),
        }
    }
    out
}

/// Removes one pair of matching outer quotes.
fn unquote(text: &str) -> &str {
    for quote in ['"', '\''] {
        if text.len() >= 2 && text.starts_with(quote) && text.ends_with(quote) {
            return &text[1..text.len() - 1];
        }
    }
    text
}

/// Splits on spaces, keeping quoted text and Jinja2 `{{ }}`, `{% %}` and `{# #}` blocks
/// together, as ansible-core's `split_args` does; `None` when quotes or blocks are
/// unbalanced.
pub fn split_args(text: &str) -> Option<Vec<String>> {
    let mut params: Vec<String> = Vec::new();
    let mut quote: Option<char> = None;
    let (mut print_depth, mut block_depth, mut comment_depth) = (0i32, 0i32, 0i32);
    let lines: Vec<&str> = text.split('\n').collect();
    for (line_index, line) in lines.iter().enumerate() {
        let mut continuation = false;
        for (index, token) in line.split(' ').enumerate() {
            if token.is_empty() && index != 0 {
                if params.is_empty() {
                    params.push(String::new());
                }
                params.last_mut()?.push(' ');
                continue;
            }
            if token == "\\" && quote.is_none() {
                continuation = true;
                continue;
            }
            let was_inside_quotes = quote.is_some();
            quote = quote_state(token, quote);
            let inside_quotes = quote.is_some();
            let in_jinja = print_depth > 0 || block_depth > 0 || comment_depth > 0;
            let mut appended = false;
            if inside_quotes && !was_inside_quotes && !in_jinja {
                params.push(token.to_string());
                appended = true;
            } else if in_jinja || inside_quotes || was_inside_quotes {
                let last = params.last_mut()?;
                if index > 0 {
                    last.push(' ');
                }
                last.push_str(token);
                appended = true;
            }
            for (depth, open, close) in [
                (&mut print_depth, "{{", "}}"),
                (&mut block_depth, "{%", "%}"),
                (&mut comment_depth, "{#", "#}"),
            ] {
                let previous = *depth;
                *depth = count_blocks(token, *depth, open, close);
                if *depth != previous && !appended {
                    params.push(token.to_string());
                    appended = true;
                }
            }
            let in_jinja = print_depth > 0 || block_depth > 0 || comment_depth > 0;
            if !in_jinja && quote.is_none() && !appended && !token.is_empty() {
                params.push(token.to_string());
            }
        }
        if lines.len() > 1 && line_index != lines.len() - 1 && !continuation {
            if params.is_empty() {
                params.push(String::new());
            }
            params.last_mut()?.push('\n');
        }
    }
    if print_depth != 0 || block_depth != 0 || comment_depth != 0 || quote.is_some() {
        return None;
    }
    Some(params)
}

/// Tracks whether a token leaves us inside quotes, ignoring escaped quote characters.
fn quote_state(token: &str, mut quote: Option<char>) -> Option<char> {
    let chars: Vec<char> = token.chars().collect();
    for (index, &c) in chars.iter().enumerate() {
        if c != '"' && c != '\'' {
            continue;
        }
        if index > 0 && chars[index - 1] == '\\' {
            continue;
        }
        match quote {
            Some(open) if open == c => quote = None,
            Some(_) => {}
            None => quote = Some(c),
        }
    }
    quote
}

fn count_blocks(token: &str, depth: i32, open: &str, close: &str) -> i32 {
    let depth = depth + token.matches(open).count() as i32 - token.matches(close).count() as i32;
    depth.max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_params_keep_line_starts() {
        let span = crate::source::Span::new(crate::source::SourceFile::new("t.yml", ""), 1, 1);
        let args = parse_kv("set -e\nfor x in a; do\n  echo $x\ndone\n", true, &span).unwrap();
        assert_eq!(
            args.get("_raw_params"),
            Some(&Value::from("set -e\nfor x in a; do\n  echo $x\ndone\n"))
        );
    }

    #[test]
    fn split_args_keeps_quotes_and_jinja() {
        assert_eq!(
            split_args(r#"a=b c="foo bar" d={{ x | default('y z') }}"#).unwrap(),
            ["a=b", r#"c="foo bar""#, "d={{ x | default('y z') }}"]
        );
        assert!(split_args("a='unbalanced").is_none());
    }

    #[test]
    fn command_keeps_foreign_kv_in_raw_params() {
        let span = crate::source::Span::new(crate::source::SourceFile::new("t.yml", ""), 1, 1);
        let args = parse_kv("echo a=b chdir=/tmp", true, &span).unwrap();
        assert_eq!(args.get("_raw_params"), Some(&Value::from("echo a=b")));
        assert_eq!(args.get("chdir"), Some(&Value::from("/tmp")));
    }

    #[test]
    fn set_fact_kv_becomes_variables() {
        let span = crate::source::Span::new(crate::source::SourceFile::new("t.yml", ""), 1, 1);
        let node = Node {
            kind: NodeKind::Scalar(Value::from("a={{ x }}/y b='c d' free")),
            span,
        };
        let args = normalize_args("ansible.builtin.set_fact", &node).unwrap();
        assert_eq!(args.get("a"), Some(&Value::from("{{ x }}/y")));
        assert_eq!(args.get("b"), Some(&Value::from("c d")));
        assert_eq!(args.get("_raw_params"), Some(&Value::from("free")));
    }

    #[test]
    fn module_kv_unquoted() {
        let span = crate::source::Span::new(crate::source::SourceFile::new("t.yml", ""), 1, 1);
        let args = parse_kv("msg='hello world' var=x", false, &span).unwrap();
        assert_eq!(args.get("msg"), Some(&Value::from("hello world")));
        assert_eq!(args.get("var"), Some(&Value::from("x")));
    }

    #[test]
    fn set_fact_kv_becomes_options() {
        let span = crate::source::Span::new(crate::source::SourceFile::new("t.yml", ""), 1, 1);
        let node = Node {
            kind: NodeKind::Scalar(Value::from("dir={{ base }}/sub")),
            span,
        };
        let args = normalize_args("set_fact", &node).unwrap();
        assert_eq!(args.get("dir"), Some(&Value::from("{{ base }}/sub")));
        assert!(args.get("_raw_params").is_none());
    }
}
