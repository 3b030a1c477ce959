//! The `csvfile` lookup: the value in column `col` of the first row of a CSV file whose
//! column `keycol` equals the search key.
//!
//! Options come from keyword arguments and, as in ansible-core 2.18, from `key=value`
//! words in a term (parsed with `parse_kv`), whose other words make the search key.
//! Options set in a term stay in force for the terms after it. Rows are read with the
//! rules of Python's `csv.reader` in its `excel` dialect.

use std::sync::Arc;

use minijinja::value::Value as JValue;

use super::ini::decode;
use super::sequence::parse_decimal_integer;
use super::{find_file, Raised, Request};
use crate::template::convert::from_jinja;
use crate::template::methods::python_type_name;
use crate::template::unicode_digits::to_ascii_number;
use crate::template::vars::Context;
use crate::Value;

const OPTION_NAMES: [&str; 6] = ["col", "keycol", "default", "delimiter", "file", "encoding"];

struct Options {
    /// Text, as the option has no type; it is read as an integer only for a found row.
    col: String,
    keycol: i64,
    default: Value,
    delimiter: String,
    file: String,
    encoding: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            col: "1".into(),
            keycol: 0,
            default: Value::Null,
            delimiter: "TAB".into(),
            file: "ansible.csv".into(),
            encoding: "utf-8".into(),
        }
    }
}

impl Options {
    fn set(&mut self, name: &str, value: &Value) -> Result<(), Raised> {
        let text = || rplay_modules::pyrepr::str(value);
        match name {
            "col" => self.col = text(),
            "keycol" => {
                self.keycol = match value {
                    Value::Int(number) => *number,
                    Value::Bool(flag) => i64::from(*flag),
                    other => parse_decimal_integer(&rplay_modules::pyrepr::str(other))
                        .map_err(|_| {
                            Raised::options(
                                "Invalid type for configuration option plugin_type: lookup plugin: csvfile setting: keycol (from Direct): ",
                            )
                        })?,
                }
            }
            "default" => self.default = value.clone(),
            "delimiter" => self.delimiter = text(),
            "file" => self.file = text(),
            "encoding" => self.encoding = text(),
            _ => {}
        }
        Ok(())
    }
}

pub fn csvfile(context: &Arc<Context>, request: &Request) -> Result<Vec<Value>, Raised> {
    let mut options = Options::default();
    for (name, value) in &request.options {
        options.set(name, &from_jinja(value).unwrap_or_default())?;
    }
    if request.terms.is_empty() {
        return Err(key_required());
    }
    let mut values = Vec::new();
    for term in &request.terms {
        let key = read_term(term, &mut options)?;
        let delimiter = match options.delimiter.as_str() {
            "TAB" => "\t",
            other => other,
        };
        if let Some(value) = read_csv(context, &options, &key, delimiter)? {
            values.push(value);
        }
    }
    Ok(values)
}

fn key_required() -> Raised {
    Raised::ansible("Search key is required but was not found")
}

/// Returns the search key of a term, applying the options written in it.
fn read_term(term: &JValue, options: &mut Options) -> Result<String, Raised> {
    if term.is_none() {
        return Err(key_required());
    }
    let Some(text) = term.as_str() else {
        return Err(Raised::Unhandled {
            class: "AttributeError",
            message: format!(
                "'{}' object has no attribute 'split'",
                python_type_name(term)
            ),
        });
    };
    let Some(mut words) = crate::playbook::parse_kv_text(text) else {
        return Err(Raised::ansible(format!(
            "failed at splitting arguments, either an unbalanced jinja2 block or quotes: {text}"
        )));
    };
    let Some(key) = words.shift_remove("_raw_params") else {
        return Err(key_required());
    };
    for (name, value) in words.iter() {
        let name = name.as_str().unwrap_or_default();
        if !OPTION_NAMES.contains(&name) {
            return Err(Raised::ansible(format!("{name} is not a valid option")));
        }
        options.set(name, value)?;
    }
    Ok(key.as_str().unwrap_or_default().to_owned())
}

/// Finds the row whose key column equals `key` and returns its `col` column, or the
/// default when no row matches. Failures are reported as ansible-core's `csvfile: ...`.
fn read_csv(
    context: &Arc<Context>,
    options: &Options,
    key: &str,
    delimiter: &str,
) -> Result<Option<Value>, Raised> {
    let csv_error = |message: String| Raised::ansible(format!("csvfile: {message}"));
    let Some(path) = find_file(context, "files", &options.file) else {
        super::warn_not_found(&options.file);
        return Err(csv_error(
            "[Errno 2] No such file or directory: b'None'".into(),
        ));
    };
    let bytes = std::fs::read(&path).map_err(|err| {
        csv_error(format!(
            "[Errno {}] {}: {}",
            err.raw_os_error().unwrap_or(0),
            io_error_text(&err),
            rplay_modules::pyrepr::str_repr(&path.to_string_lossy()).replacen('\'', "b'", 1)
        ))
    })?;
    let text = decode(&bytes, &options.encoding)
        .map_err(|_| csv_error(format!("unknown encoding: {}", options.encoding)))?;
    let mut delimiter_chars = delimiter.chars();
    let (Some(delimiter), None) = (delimiter_chars.next(), delimiter_chars.next()) else {
        return Err(csv_error(
            "\"delimiter\" must be a 1-character string".into(),
        ));
    };
    for row in read_rows(&text, delimiter) {
        if row.is_empty() {
            continue;
        }
        let Some(found) = column(&row, options.keycol) else {
            return Err(csv_error("list index out of range".into()));
        };
        if found != key {
            continue;
        }
        let col = parse_python_int(&options.col).ok_or_else(|| {
            csv_error(format!(
                "invalid literal for int() with base 10: {}",
                rplay_modules::pyrepr::str_repr(&options.col)
            ))
        })?;
        let value = column(&row, col).ok_or_else(|| csv_error("list index out of range".into()))?;
        return Ok(Some(Value::from(value)));
    }
    Ok((!options.default.is_null()).then(|| options.default.clone()))
}

/// Returns the text Python's `OSError` shows for an error, such as `No such file or directory`.
fn io_error_text(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.split_once(" (os error") {
        Some((message, _)) => message.to_owned(),
        None => text,
    }
}

/// Reads Python's `int(text)`: surrounding whitespace, a sign, underscores between
/// digits and digits of any script.
fn parse_python_int(text: &str) -> Option<i64> {
    let text = to_ascii_number(text);
    let trimmed = text.trim();
    let digits = trimmed.trim_start_matches(['+', '-']);
    let valid = !digits.is_empty()
        && trimmed.len() - digits.len() <= 1
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|c| c.is_ascii_digit() || c == '_');
    if !valid {
        return None;
    }
    trimmed.replace('_', "").parse().ok()
}

/// Indexes a row as Python does, negative indexes counting from the end.
fn column(row: &[String], index: i64) -> Option<&str> {
    let position = if index < 0 {
        row.len().checked_sub(index.unsigned_abs() as usize)?
    } else {
        index as usize
    };
    row.get(position).map(String::as_str)
}

/// Splits CSV text into rows as Python's `csv.reader` does with the `excel` dialect and
/// `strict` off. A `"` quotes a field that starts with it, and `""` inside quotes is one
/// `"`. Text after a closing quote joins the field, and a line end inside quotes is kept.
fn read_rows(text: &str, delimiter: char) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut field = String::new();
    // Whether the current field started with a quote and is still inside it.
    let mut in_quotes = false;
    let mut quoted_field = false;
    let mut at_field_start = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                in_quotes = true;
                quoted_field = true;
                at_field_start = false;
            }
            c if c == delimiter => {
                row.push(std::mem::take(&mut field));
                at_field_start = true;
                quoted_field = false;
            }
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                if !(at_field_start && row.is_empty() && !quoted_field) {
                    row.push(std::mem::take(&mut field));
                }
                rows.push(std::mem::take(&mut row));
                at_field_start = true;
                quoted_field = false;
            }
            other => {
                field.push(other);
                at_field_start = false;
            }
        }
    }
    if !at_field_start || !row.is_empty() || quoted_field {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_quotes() {
        let rows = read_rows(
            "\"\"\"The Rock\"\" Johnson\",Dwayne\nExample,\"crazy email\"@example.com\r\n\nlast",
            ',',
        );
        assert_eq!(rows[0], ["\"The Rock\" Johnson", "Dwayne"]);
        assert_eq!(rows[1], ["Example", "crazy email@example.com"]);
        assert!(rows[2].is_empty());
        assert_eq!(rows[3], ["last"]);
    }

    #[test]
    fn csv_python_int() {
        assert_eq!(parse_python_int(" 2 "), Some(2));
        assert_eq!(parse_python_int("-1"), Some(-1));
        assert_eq!(parse_python_int("1_0"), Some(10));
        assert_eq!(parse_python_int("2,"), None);
        assert_eq!(parse_python_int(" ١ "), Some(1));
    }
}
