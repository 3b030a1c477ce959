//! The `first_found` lookup: the first of a list of file names, each tried in each of a
//! list of paths, that exists on the controller.
//!
//! A term is a file name, a list of terms, or a mapping with the options `files`,
//! `paths` and `skip`. A mapping replaces the options given as keyword arguments for
//! itself and the terms after it, as ansible-core 2.18's plugin does. `files` is split
//! on `,` and `;`, `paths` on `,`, `:` and `;`. Each candidate is templated once more
//! (one with an undefined variable is passed over), then searched like the `file`
//! lookup's terms: relative names under the task's search path with `files/`.

use std::path::Path;

use super::{failure, find_file, Request};
use crate::template::convert::from_jinja;
use crate::template::error::TemplateError;
use crate::template::templar::FoundPath;
use crate::template::vars::Context;
use crate::Value;

/// The options in force while the terms are read.
#[derive(Default)]
struct Options {
    files: Vec<String>,
    paths: Vec<String>,
    skip: bool,
}

impl Options {
    fn from_entries<'a>(entries: impl Iterator<Item = (&'a str, Value)>) -> Options {
        let mut options = Options::default();
        for (name, value) in entries {
            match name {
                "files" => options.files = string_list(&value),
                "paths" => options.paths = string_list(&value),
                "skip" => options.skip = is_true(&value),
                _ => {}
            }
        }
        options
    }
}

pub fn first_found(
    context: &std::sync::Arc<Context>,
    request: &Request,
) -> Result<Vec<Value>, TemplateError> {
    let mut options = Options::from_entries(
        request
            .options
            .iter()
            .map(|(name, value)| (name.as_str(), from_jinja(value).unwrap_or_default())),
    );
    let mut terms: Vec<Value> = request
        .terms
        .iter()
        .map(|term| from_jinja(term).unwrap_or_default())
        .collect();
    if terms.is_empty() {
        terms = options
            .files
            .iter()
            .map(|f| Value::from(f.as_str()))
            .collect();
    }
    let mut search = Vec::new();
    collect_candidates(&terms, &mut options, &mut search)?;
    for candidate in &search {
        let Some(name) = template_candidate(context, candidate)? else {
            continue;
        };
        if let Some(path) = find_file(context, request.subdir, &name) {
            let path = match context.templar().found_path() {
                FoundPath::Normalized => crate::config::normalize(&path),
                FoundPath::Joined => path,
            };
            return Ok(vec![Value::from(path.to_string_lossy().into_owned())]);
        }
    }
    if options.skip {
        return Ok(Vec::new());
    }
    Err(failure("No file was found when using first_found."))
}

/// Appends the names to search for `terms` to `search`, in order, updating `options`
/// whenever a term is a mapping.
fn collect_candidates(
    terms: &[Value],
    options: &mut Options,
    search: &mut Vec<String>,
) -> Result<(), TemplateError> {
    for term in terms {
        let files = match term {
            Value::Map(map) => {
                *options = Options::from_entries(
                    map.iter()
                        .filter_map(|(key, value)| Some((key.as_str()?, value.clone()))),
                );
                options.files.clone()
            }
            Value::List(items) => {
                collect_candidates(items, options, search)?;
                continue;
            }
            other if other.as_str().is_some() => vec![other.as_str().unwrap_or_default().to_owned()],
            other => {
                return Err(failure(format!(
                    "Invalid term supplied, can handle string, mapping or list of strings but got: {} for {}",
                    other.type_name(),
                    rplay_modules::pyrepr::str(other)
                )))
            }
        };
        let files = split_on(&files, &[',', ';']);
        let paths = split_on(&options.paths, &[',', ':', ';']);
        if paths.is_empty() {
            search.extend(files);
            continue;
        }
        for path in &paths {
            for file in &files {
                search.push(Path::new(path).join(file).to_string_lossy().into_owned());
            }
        }
    }
    Ok(())
}

/// Templates a candidate name. Returns `None` when it uses an undefined variable.
fn template_candidate(
    context: &std::sync::Arc<Context>,
    name: &str,
) -> Result<Option<String>, TemplateError> {
    match context
        .templar()
        .template_in(context, &Value::from(name), true)
    {
        Ok(value) => Ok(Some(
            value
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| rplay_modules::pyrepr::str(&value)),
        )),
        Err(error) if error.is_undefined() => Ok(None),
        Err(error) => Err(error),
    }
}

/// Converts a list option's value to text. A string is split on commas, as Ansible's
/// `list` option type does.
fn string_list(value: &Value) -> Vec<String> {
    match value {
        Value::List(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| rplay_modules::pyrepr::str(item))
            })
            .collect(),
        other if other.as_str().is_some() => other
            .as_str()
            .unwrap_or_default()
            .split(',')
            .map(|part| part.trim().to_owned())
            .collect(),
        Value::Null => Vec::new(),
        other => vec![rplay_modules::pyrepr::str(other)],
    }
}

/// Converts a boolean option's value as Ansible's `boolean` option type does.
fn is_true(value: &Value) -> bool {
    match value {
        Value::Bool(flag) => *flag,
        Value::Int(number) => *number == 1,
        other => other.as_str().is_some_and(crate::config::parse_bool),
    }
}

fn split_on(values: &[String], separators: &[char]) -> Vec<String> {
    values
        .iter()
        .flat_map(|value| value.split(separators).map(str::to_owned))
        .collect()
}
