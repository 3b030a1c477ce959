//! The `ini` lookup: values from an INI file, or from a Java properties file with
//! `type=properties`, read with Python's `configparser` rules (see `configparser.rs`).
//!
//! Options come from keyword arguments and, as in ansible-core 2.18, from `key=value`
//! words inside a term (`'user section=prod file=users.ini'`). Options set inside a term
//! stay in force for the terms after it, and every term reads its file into the same
//! parser, so sections accumulate.

use std::sync::Arc;

use indexmap::IndexMap;
use minijinja::value::Value as JValue;
use rplay_modules::pyrepr::str_repr;

use super::configparser::{ConfigParser, GetError, ReadError, Settings};
use super::{find_file, lenient_bool, python_regex_error, Raised, Request};
use crate::template::convert::from_jinja;
use crate::template::methods::python_type_name;
use crate::template::vars::Context;
use crate::Value;

/// The option names in ansible-core's order, which decides how inline words are read.
const OPTION_NAMES: [&str; 10] = [
    "_terms",
    "type",
    "file",
    "section",
    "re",
    "encoding",
    "default",
    "case_sensitive",
    "allow_no_value",
    "interpolation",
];

struct Options {
    file_type: String,
    file: String,
    section: String,
    regex: bool,
    encoding: String,
    default: Value,
    case_sensitive: bool,
    allow_no_value: bool,
    interpolation: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            file_type: "ini".into(),
            file: "ansible.ini".into(),
            section: "global".into(),
            regex: false,
            encoding: "utf-8".into(),
            default: Value::from(""),
            case_sensitive: false,
            allow_no_value: false,
            interpolation: true,
        }
    }
}

impl Options {
    /// Sets an option as `set_option` does, checking the `type` choices.
    fn set(&mut self, name: &str, value: &Value) -> Result<(), Raised> {
        let text = || rplay_modules::pyrepr::str(value);
        match name {
            "type" => {
                let choice = text();
                if choice != "ini" && choice != "properties" {
                    return Err(Raised::options(format!(
                        "Invalid value \"{choice}\" for configuration option \"plugin_type: lookup plugin: ini setting: type \", valid values are: ini, properties"
                    )));
                }
                self.file_type = choice;
            }
            "file" => self.file = text(),
            "section" => self.section = text(),
            "re" => self.regex = lenient_bool(value),
            "encoding" => self.encoding = text(),
            "default" => self.default = value.clone(),
            // The option has no type, so any non-empty text is true.
            "case_sensitive" => self.case_sensitive = value.is_truthy(),
            "allow_no_value" | "allow_none" => self.allow_no_value = lenient_bool(value),
            "interpolation" => self.interpolation = lenient_bool(value),
            _ => {}
        }
        Ok(())
    }
}

pub fn ini(context: &Arc<Context>, request: &Request) -> Result<Vec<Value>, Raised> {
    let mut options = Options::default();
    for (name, value) in &request.options {
        options.set(name, &from_jinja(value).unwrap_or_default())?;
    }
    let mut parser = ConfigParser::new(Settings {
        case_sensitive: options.case_sensitive,
        allow_no_value: options.allow_no_value,
        interpolation: options.interpolation,
    });
    let mut values = Vec::new();
    for term in &request.terms {
        let key = read_term(term, &mut options)?;
        let text = read_file(context, &options)?;
        let section = if options.file_type == "properties" {
            // ansible-core changes the section for later terms too.
            options.section = "java_properties".into();
            format!("[java_properties]\n{text}")
        } else {
            text
        };
        parser.read(&section).map_err(|error| match error {
            ReadError::DuplicateOption(message) => Raised::Lookup(super::failure(format!(
                "Duplicate option in {}: {message}",
                str_repr(&options.file)
            ))),
            ReadError::Other(raised) => raised,
        })?;
        let found = find_values(&parser, &key, &options).map_err(|error| match error {
            GetError::NoSection => Raised::Lookup(super::failure(format!(
                "No section {} in {}",
                str_repr(&options.section),
                options.file
            ))),
            GetError::Other(raised) => raised,
        })?;
        values.extend(found);
    }
    Ok(values)
}

/// Returns the key a term names, applying the options written inside it.
fn read_term(term: &JValue, options: &mut Options) -> Result<String, Raised> {
    let Some(text) = term.as_str() else {
        return Err(Raised::Unhandled {
            class: "TypeError",
            message: format!(
                "argument of type '{}' is not iterable",
                python_type_name(term)
            ),
        });
    };
    if !text.contains('=') && !text.trim().contains(' ') {
        return Ok(text.to_owned());
    }
    let params = inline_params(text);
    let mut key = None;
    for param in &params {
        if param.contains('=') {
            let parts: Vec<&str> = param.split('=').collect();
            let [name, value] = parts[..] else {
                let detail = "too many values to unpack (expected 2)";
                let listed: Vec<String> = params.iter().map(|p| str_repr(p)).collect();
                return Err(Raised::Lookup(super::failure(format!(
                    "Could not use {} from '[{}]': {detail}. {detail}",
                    str_repr(param),
                    listed.join(", ")
                ))));
            };
            if !OPTION_NAMES.contains(&name) {
                return Err(Raised::Lookup(super::failure(format!(
                    "{name} is not a valid option."
                ))));
            }
            options.set(name, &Value::from(value))?;
        } else if key.is_none() {
            key = Some(param.clone());
        }
    }
    key.ok_or_else(|| {
        Raised::options(format!(
            "No key to lookup was provided as first term with in string inline options: {text}"
        ))
    })
}

/// Splits a term as ansible-core's `_parse_params`: words are joined to the option whose
/// `NAME=` the latest word containing `=` carries, and the first word starts the key.
/// A key started twice is listed twice, both times with its latest value, as in Python.
fn inline_params(text: &str) -> Vec<String> {
    let mut values: IndexMap<String, String> = IndexMap::new();
    let mut keys: Vec<String> = Vec::new();
    let mut this_key = "key".to_owned();
    for (index, phrase) in text.split_whitespace().enumerate() {
        if phrase.contains('=') {
            for name in OPTION_NAMES {
                if phrase.contains(&format!("{name}=")) {
                    this_key = name.to_owned();
                }
            }
        }
        match values.get_mut(&this_key) {
            Some(value) if index != 0 && !value.is_empty() => {
                value.push(' ');
                value.push_str(phrase);
            }
            _ => {
                values.insert(this_key.clone(), phrase.to_owned());
                keys.push(this_key.clone());
            }
        }
    }
    keys.iter().map(|key| values[key].clone()).collect()
}

fn read_file(context: &Arc<Context>, options: &Options) -> Result<String, Raised> {
    let Some(path) = find_file(context, "files", &options.file) else {
        super::warn_not_found(&options.file);
        return Err(Raised::Unhandled {
            class: "ansible.errors.AnsibleParserError",
            message: "Invalid filename: 'None'".into(),
        });
    };
    let bytes = std::fs::read(&path).map_err(|err| {
        Raised::ansible(format!(
            "Unable to retrieve file contents. Could not read file contents: {err}"
        ))
    })?;
    let bytes = context
        .templar()
        .vault_secrets()
        .decrypt_data(bytes, &path)
        .map_err(|error| Raised::vault(&error))?;
    decode(&bytes, &options.encoding)
}

/// Decodes a file with a Python codec name. UTF-8, ASCII, Latin-1 and Latin-9
/// (ISO 8859-15) are known.
// NOTE: bytes that are invalid in the encoding become U+FFFD, where ansible-core keeps
// them as surrogate escapes.
pub(super) fn decode(bytes: &[u8], encoding: &str) -> Result<String, Raised> {
    let normalized = encoding.to_ascii_lowercase().replace(['-', ' '], "_");
    match normalized.as_str() {
        "utf_8" | "utf8" | "u8" | "utf" | "ascii" | "us_ascii" => {
            Ok(String::from_utf8_lossy(bytes).into_owned())
        }
        "latin_1" | "latin1" | "iso8859_1" | "iso_8859_1" | "8859" | "cp819" | "l1" => {
            Ok(bytes.iter().map(|&b| char::from(b)).collect())
        }
        "iso8859_15" | "iso_8859_15" | "latin9" | "l9" => {
            Ok(bytes.iter().map(|&b| latin9_char(b)).collect())
        }
        _ => Err(Raised::Unhandled {
            class: "LookupError",
            message: format!("unknown encoding: {encoding}"),
        }),
    }
}

/// Maps a byte of ISO 8859-15, which differs from Latin-1 at eight positions.
fn latin9_char(byte: u8) -> char {
    match byte {
        0xA4 => '€',
        0xA6 => 'Š',
        0xA8 => 'š',
        0xB4 => 'Ž',
        0xB8 => 'ž',
        0xBC => 'Œ',
        0xBD => 'œ',
        0xBE => 'Ÿ',
        other => char::from(other),
    }
}

/// Looks `key` up in the options' section: one value, the default when it is missing,
/// nothing for an option without a value, or with `re` every value whose name matches.
fn find_values(
    parser: &ConfigParser,
    key: &str,
    options: &Options,
) -> Result<Vec<Value>, GetError> {
    if options.regex {
        let regex_error = |err: fancy_regex::Error| {
            GetError::Other(Raised::Unhandled {
                class: "re.error",
                message: python_regex_error(&err),
            })
        };
        // The key alone is compiled first, so error positions are those of the key.
        fancy_regex::Regex::new(key).map_err(regex_error)?;
        let pattern = fancy_regex::Regex::new(&format!(r"\A(?:{key})")).map_err(regex_error)?;
        let items = parser.items(&options.section)?;
        return Ok(items
            .into_iter()
            .filter(|(name, _)| pattern.is_match(name).unwrap_or(false))
            .map(|(_, value)| value.map_or(Value::Null, Value::from))
            .collect());
    }
    Ok(match parser.get(&options.section, key)? {
        Some(Some(value)) => vec![Value::from(value)],
        Some(None) => Vec::new(),
        None if options.default.is_null() => Vec::new(),
        None => vec![options.default.clone()],
    })
}
