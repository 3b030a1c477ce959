//! Lookup plugins behind `lookup()`, `query()` and `q()`: `env`, `file`, `vars`,
//! `varnames`, `template`, `items`, `list`, `dict`, `fileglob`, `first_found`, `pipe`,
//! `lines`, `password`, `sequence`, `subelements`, `inventory_hostnames`, `ini`,
//! `csvfile`, `config`.

mod commands;
mod config;
mod configparser;
mod csvfile;
mod first_found;
mod ini;
mod inventory_hostnames;
mod password;
mod sequence;
mod subelements;
mod template;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::value::{Kwargs, Rest, Value as JValue, ValueKind};
use minijinja::{Error, State};

use super::convert::{from_jinja, to_jinja};
use super::error::{TemplateError, TemplateErrorKind};
use super::filters::keyword_list;
use super::native_text::{self, StoredKind};
use super::pyrepr::py_str;
use super::render::{self, raise, undefined_error};
use super::typing::wrap_unsafe;
use super::vars::Context;
use crate::vault::ReadError;
use crate::Value;
use template::template;

/// `lookup(name, *terms, wantlist=False, errors='strict', **options)`.
pub fn lookup(
    state: &mut State,
    name: String,
    terms: Rest<JValue>,
    kwargs: Kwargs,
) -> Result<JValue, Error> {
    run(state, &name, terms.0, keyword_list(&kwargs)?, false)
}

/// `query(name, *terms, **options)`: a lookup that always returns a list.
pub fn query(
    state: &mut State,
    name: String,
    terms: Rest<JValue>,
    kwargs: Kwargs,
) -> Result<JValue, Error> {
    run(state, &name, terms.0, keyword_list(&kwargs)?, true)
}

struct Request {
    terms: Vec<JValue>,
    options: Vec<(String, JValue)>,
    /// The directory under each search path entry that `first_found` tries first:
    /// what the task executor of ansible-core sets for a `with_` loop, else `files`.
    subdir: &'static str,
}

impl Request {
    fn option(&self, name: &str) -> Option<&JValue> {
        self.options.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    fn term_texts(&self) -> Vec<String> {
        self.terms
            .iter()
            .map(|t| py_str(t).unwrap_or_default())
            .collect()
    }
}

fn run(
    _state: &mut State,
    name: &str,
    terms: Vec<JValue>,
    mut options: Vec<(String, JValue)>,
    mut wantlist: bool,
) -> Result<JValue, Error> {
    if terms.iter().any(JValue::is_undefined) || options.iter().any(|(_, v)| v.is_undefined()) {
        return Err(undefined_error());
    }
    if let Some(position) = options.iter().position(|(k, _)| k == "wantlist") {
        wantlist |= options.remove(position).1.is_true();
    }
    let errors = match options.iter().position(|(k, _)| k == "errors") {
        Some(position) => py_str(&options.remove(position).1).unwrap_or_default(),
        None => "strict".into(),
    };
    let allow_unsafe = match options.iter().position(|(k, _)| k == "allow_unsafe") {
        Some(position) => options.remove(position).1.is_true(),
        None => false,
    };
    let Some(context) = render::current_context() else {
        return Err(lookup_error(name, "lookups need a variable context"));
    };
    let request = Request {
        terms,
        options,
        subdir: "files",
    };
    let name = short_name(name);
    let ran = match run_plugin(&context, name, &request) {
        Ok(ran) => ran,
        Err(raised) if raised.is_suppressible() && (errors == "warn" || errors == "ignore") => {
            if errors == "warn" {
                warn(raised.ignored_message(name));
            }
            return Ok(if wantlist {
                JValue::from(Vec::<JValue>::new())
            } else {
                JValue::from(())
            });
        }
        Err(raised) => return Err(raise(raised.into_template_error(name))),
    };
    if !ran.is_empty() && !allow_unsafe {
        render::mark_unsafe();
    }
    let ran: Vec<Value> = ran
        .into_iter()
        .map(|item| wrap_unsafe(item, !allow_unsafe))
        .collect();
    // ansible-core joins only a non-empty result, so an empty one stays a list.
    if wantlist || ran.is_empty() {
        return Ok(JValue::from(ran.iter().map(to_jinja).collect::<Vec<_>>()));
    }
    if ran.iter().all(|item| item.as_str().is_some()) {
        let texts: Vec<&str> = ran.iter().filter_map(Value::as_str).collect();
        let joined = if native_text::is_native_text(&ran[0]) {
            native_text::store(&texts.join(","), StoredKind::NativeText)
        } else {
            Value::str(texts.join(","))
        };
        return Ok(to_jinja(&wrap_unsafe(joined, !allow_unsafe)));
    }
    if ran.len() == 1 {
        return Ok(to_jinja(&ran[0]));
    }
    Ok(JValue::from(ran.iter().map(to_jinja).collect::<Vec<_>>()))
}

thread_local! {
    /// Warnings that lookups and tests showed through ansible-core's `display.warning`, kept until
    /// the executor prints them with the task's result.
    static WARNINGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

pub(crate) fn warn(message: impl Into<String>) {
    WARNINGS.with(|warnings| warnings.borrow_mut().push(message.into()));
}

/// Shows the warning of `LookupBase.find_file_in_search_path` for a file not found.
fn warn_not_found(name: &str) {
    warn(format!(
        "Unable to find '{name}' in expected paths (use -vvvvv to see paths)"
    ));
}

/// Takes the warnings that lookups run on this thread have shown since the last call.
pub fn take_warnings() -> Vec<String> {
    WARNINGS.with(|warnings| std::mem::take(&mut *warnings.borrow_mut()))
}

/// Runs a lookup plugin for a `with_<lookup>` loop. ansible-core's task executor calls
/// the plugin itself, so its errors keep their own message, without the templar's
/// "An unhandled exception occurred" wording. `subdir` is the directory that
/// `first_found` searches first, which ansible-core derives from the task's action.
pub(crate) fn run_for_loop(
    context: &Arc<Context>,
    name: &str,
    terms: &[Value],
    subdir: &'static str,
) -> Result<Vec<Value>, TemplateError> {
    let request = Request {
        terms: terms.iter().map(to_jinja).collect(),
        options: Vec::new(),
        subdir,
    };
    run_plugin(context, short_name(name), &request).map_err(Raised::into_loop_error)
}

fn short_name(name: &str) -> &str {
    name.strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name)
}

/// An exception a lookup plugin raises, sorted by how ansible-core 2.18's
/// `Templar._lookup` handles it.
#[derive(Debug)]
enum Raised {
    /// `AnsibleOptionsError` or an undefined variable: passed on unchanged, whatever
    /// `errors=` requests.
    Fatal(TemplateError),
    /// `AnsibleLookupError`: passed on unchanged unless `errors=` is `warn` or `ignore`.
    Lookup(TemplateError),
    /// Any other exception, of the Python class `class`: reworded as "An unhandled
    /// exception occurred ..." unless `errors=` is `warn` or `ignore`.
    Unhandled {
        class: &'static str,
        message: String,
    },
}

impl Raised {
    /// Builds an `AnsibleError` raised by the plugin.
    fn ansible(message: impl Into<String>) -> Raised {
        Raised::Unhandled {
            class: "ansible.errors.AnsibleError",
            message: message.into(),
        }
    }

    /// Builds the vault exception that ansible-core's loader raises.
    fn vault(error: &crate::vault::VaultError) -> Raised {
        Raised::Unhandled {
            class: error.python_class(),
            message: error.to_string(),
        }
    }

    /// Builds an `AnsibleOptionsError`, such as for an option value of the wrong type.
    fn options(message: impl Into<String>) -> Raised {
        Raised::Fatal(TemplateError::new(TemplateErrorKind::Options, message))
    }

    fn is_suppressible(&self) -> bool {
        !matches!(self, Raised::Fatal(_))
    }

    fn into_template_error(self, name: &str) -> TemplateError {
        match self {
            Raised::Fatal(error) | Raised::Lookup(error) => error,
            // `AnsibleError(msg, orig_exc=e)` appends the original message once more.
            // The error is an `AnsibleError`, not an `AnsibleLookupError`, for the
            // wording of a variable that fails with it.
            Raised::Unhandled { class, message } => TemplateError::new(
                TemplateErrorKind::Render,
                format!(
                    "An unhandled exception occurred while running the lookup plugin '{name}'. Error was a <class '{class}'>, original message: {message}. {message}"
                ),
            ),
        }
    }

    /// Words the warning `errors='warn'` shows for the failure.
    fn ignored_message(&self, name: &str) -> String {
        match self {
            Raised::Fatal(error) | Raised::Lookup(error) => {
                format!("Lookup failed but the error is being ignored: {}", error.message)
            }
            Raised::Unhandled { class, message } => format!(
                "An unhandled exception occurred while running the lookup plugin '{name}'. Error was a <class '{class}'>, original message: {message}"
            ),
        }
    }

    fn into_loop_error(self) -> TemplateError {
        match self {
            Raised::Fatal(error) | Raised::Lookup(error) => error,
            Raised::Unhandled { message, .. } => failure(message),
        }
    }
}

impl From<TemplateError> for Raised {
    fn from(error: TemplateError) -> Raised {
        match error.kind {
            TemplateErrorKind::Lookup => Raised::Lookup(error),
            _ => Raised::Fatal(error),
        }
    }
}

fn lookup_error(name: &str, message: impl std::fmt::Display) -> Error {
    raise(TemplateError::new(
        TemplateErrorKind::Lookup,
        format!("An unhandled exception occurred while running the lookup plugin '{name}'. Error was a <class 'ansible.errors.AnsibleError'>, original message: {message}"),
    ))
}

/// Rejects a term that is not a string, as the `vars` and `varnames` lookups do; their
/// messages differ by one word.
fn string_term(term: &JValue, verb: &str) -> Result<String, Raised> {
    match term.as_str() {
        Some(text) => Ok(text.to_owned()),
        None => Err(Raised::ansible(format!(
            "Invalid setting identifier, \"{}\" is not a string, {verb} a <class '{}'>",
            py_str(term).unwrap_or_default(),
            super::methods::python_type_name(term),
        ))),
    }
}

/// Words a regular expression error as Python's `re` module does where the two agree on
/// the cause.
fn python_regex_error(err: &fancy_regex::Error) -> String {
    let text = err.to_string();
    let Some(rest) = text.strip_prefix("Parsing error at position ") else {
        return text;
    };
    let (position, cause) = rest.split_once(": ").unwrap_or((rest, ""));
    match cause {
        "Target of repeat operator is invalid" => {
            format!("nothing to repeat at position {position}")
        }
        "Opening parenthesis without closing parenthesis" => {
            format!("missing ), unterminated subpattern at position {position}")
        }
        _ => text,
    }
}

/// Ansible's `boolean(value, strict=False)`.
fn lenient_bool(value: &Value) -> bool {
    match value {
        Value::Bool(flag) => *flag,
        Value::Int(number) => *number == 1,
        Value::Float(number) => *number == 1.0,
        other => other.as_str().is_some_and(crate::config::parse_bool),
    }
}

fn failure(message: impl Into<String>) -> TemplateError {
    TemplateError::new(TemplateErrorKind::Lookup, message)
}

fn run_plugin(context: &Arc<Context>, name: &str, request: &Request) -> Result<Vec<Value>, Raised> {
    let ran = match name {
        "env" => env(request),
        "vars" => return vars(context, request),
        "varnames" => return varnames(context, request),
        "file" => file(context, request),
        "unvault" => return unvault(context, request),
        "random_choice" => return random_choice(request),
        "template" => return template(context, request),
        "items" | "list" | "flattened" => Ok(list(request, name != "list")),
        "dict" => return dict(request),
        "fileglob" => fileglob(context, request),
        "first_found" => first_found::first_found(context, request),
        "pipe" => return commands::pipe(context, request),
        "lines" => return commands::lines(context, request),
        "password" => return password::password(context, request),
        "sequence" => return sequence::sequence(request),
        "subelements" => return subelements::subelements(request),
        "ini" => return ini::ini(context, request),
        "csvfile" => return csvfile::csvfile(context, request),
        "config" => return config::config(context, request),
        "inventory_hostnames" => Ok(inventory_hostnames::inventory_hostnames(context, request)),
        _ => {
            return Err(Raised::Fatal(TemplateError::new(
                TemplateErrorKind::Render,
                format!("lookup plugin ({name}) not found"),
            )))
        }
    };
    Ok(ran?)
}

fn env(request: &Request) -> Result<Vec<Value>, TemplateError> {
    let default = request.option("default").cloned();
    let mut values = Vec::new();
    for term in request.term_texts() {
        match std::env::var(&term) {
            Ok(value) => values.push(Value::from(value)),
            Err(_) => match &default {
                Some(default) => values.push(from_jinja(default).unwrap_or_default()),
                None => values.push(Value::from("")),
            },
        }
    }
    Ok(values)
}

fn vars(context: &Arc<Context>, request: &Request) -> Result<Vec<Value>, Raised> {
    let default = request.option("default");
    let mut values = Vec::new();
    for term in &request.terms {
        let term = string_term(term, "its")?;
        let found = context.lookup(&term).filter(|v| !v.is_undefined());
        match (found, default) {
            (Some(value), _) => values.push(from_jinja(&value).unwrap_or_default()),
            (None, Some(default)) => values.push(from_jinja(default).unwrap_or_default()),
            (None, None) => {
                render::consume_hint();
                return Err(Raised::Fatal(TemplateError::undefined(format!(
                    "No variable found with this name: {term}"
                ))));
            }
        }
    }
    Ok(values)
}

fn varnames(context: &Arc<Context>, request: &Request) -> Result<Vec<Value>, Raised> {
    let names = context.names();
    let mut found = Vec::new();
    for term in &request.terms {
        let term = string_term(term, "it is")?;
        let regex = fancy_regex::Regex::new(&term).map_err(|err| {
            Raised::ansible(format!(
                "Unable to use \"{term}\" as a search parameter: {}",
                python_regex_error(&err)
            ))
        })?;
        for name in &names {
            if regex.is_match(name).unwrap_or(false) {
                found.push(Value::from(name.as_str()));
            }
        }
    }
    Ok(found)
}

/// Lists the directories a file lookup searches: each entry of `ansible_search_path` with
/// `subdir` appended and as it is, then the templar's base directory.
fn search_dirs(context: &Context, subdir: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(Value::List(paths)) = context.raw("ansible_search_path") {
        for path in paths.iter().filter_map(Value::as_str) {
            dirs.push(Path::new(path).join(subdir));
            dirs.push(PathBuf::from(path));
        }
    }
    let base = context.templar().base_dir().to_path_buf();
    dirs.push(base.join(subdir));
    dirs.push(base);
    dirs
}

/// Finds `source` as Ansible's `path_dwim_relative_stack` does. An absolute path is
/// taken as it is. A relative one is tried as `ENTRY/SUBDIR/SOURCE`, then
/// `ENTRY/SOURCE`, for each entry of `ansible_search_path` and last for the templar's
/// base directory. `SUBDIR` is not added again when `source` already starts with it.
/// The path found keeps the `..` of `source`, as ansible-core returns it, and the file
/// system resolves it.
fn find_file(context: &Context, subdir: &str, source: &str) -> Option<PathBuf> {
    let path = Path::new(source);
    if path.is_absolute() {
        return path.exists().then(|| crate::config::normalize(path));
    }
    search_candidates(context, subdir, source)
        .into_iter()
        .find(|candidate| candidate.exists())
}

fn search_candidates(context: &Context, subdir: &str, source: &str) -> Vec<PathBuf> {
    let in_role = context.raw("role_path").is_some();
    let adds_subdir = source.split('/').next() != Some(subdir);
    let mut candidates = Vec::new();
    let push_entry = |entry: &Path, candidates: &mut Vec<PathBuf>| {
        if adds_subdir {
            candidates.push(entry.join(subdir).join(source));
        }
        candidates.push(entry.join(source));
    };
    if let Some(Value::List(paths)) = context.raw("ansible_search_path") {
        for entry in paths.iter().filter_map(Value::as_str) {
            let entry = crate::config::normalize(Path::new(entry));
            // A task file below a role's `tasks/` directory also searches the role's
            // SUBDIR and the `tasks/` directory itself.
            if let Some(parent) = entry.parent().filter(|p| in_role && p.ends_with("tasks")) {
                if let Some(role) = parent.parent() {
                    candidates.push(role.join(subdir).join(source));
                }
                candidates.push(parent.join(source));
            }
            push_entry(&entry, &mut candidates);
        }
    }
    push_entry(context.templar().base_dir(), &mut candidates);
    candidates
}

/// Reads a file for a lookup as ansible-core's `DataLoader._get_file_contents` does:
/// decrypted when it is vault text.
fn read(context: &Context, path: &Path) -> Result<String, ReadError> {
    crate::vault::read_data_file(path, context.templar().vault_secrets()).map(|file| file.text)
}

/// Words an I/O error of [`read`].
fn read_failure(path: &Path, error: &std::io::Error) -> TemplateError {
    failure(format!("could not read {}: {error}", path.display()))
}

fn file(context: &Arc<Context>, request: &Request) -> Result<Vec<Value>, TemplateError> {
    let rstrip = request.option("rstrip").is_none_or(JValue::is_true);
    let lstrip = request.option("lstrip").is_some_and(JValue::is_true);
    let mut values = Vec::new();
    for term in request.term_texts() {
        let Some(path) = find_file(context, "files", &term) else {
            return Err(failure(format!("could not locate file in lookup: {term}")));
        };
        let mut text = match read(context, &path) {
            Ok(text) => text,
            Err(ReadError::Io(error)) => return Err(read_failure(&path, &error)),
            Err(ReadError::Vault(error)) => {
                return Err(failure(format!(
                    "The 'file' lookup had an issue accessing the file '{term}'. {error}"
                )))
            }
        };
        if rstrip {
            text = text.trim_end().to_owned();
        }
        if lstrip {
            text = text.trim_start().to_owned();
        }
        values.push(Value::from(text));
    }
    Ok(values)
}

/// Ansible's `unvault` lookup: each file found under `files/`, decrypted as
/// `get_real_file` decrypts controller files when it is vaulted, as it is otherwise.
fn unvault(context: &Arc<Context>, request: &Request) -> Result<Vec<Value>, Raised> {
    let mut values = Vec::new();
    for term in request.term_texts() {
        let Some(path) = find_file(context, "files", &term) else {
            return Err(Raised::Unhandled {
                class: "ansible.errors.AnsibleParserError",
                message: format!("Unable to find file matching \"{term}\" "),
            });
        };
        let data =
            std::fs::read(&path).map_err(|error| Raised::Lookup(read_failure(&path, &error)))?;
        let data = context
            .templar()
            .vault_secrets()
            .decrypt_real_file(data, &path)
            .map_err(|error| Raised::vault(&error))?;
        values.push(Value::from(String::from_utf8_lossy(&data).into_owned()));
    }
    Ok(values)
}

/// Ansible's `random_choice` lookup: one of the terms, drawn at random, or no terms.
fn random_choice(request: &Request) -> Result<Vec<Value>, Raised> {
    let terms: Vec<Value> = request
        .terms
        .iter()
        .map(|term| from_jinja(term).unwrap_or_default())
        .collect();
    if terms.is_empty() {
        return Ok(terms);
    }
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes)
        .map_err(|err| Raised::ansible(format!("Unable to choose random term: {err}")))?;
    // The modulo bias over 64 random bits is negligible for any list a playbook holds.
    let index = (u64::from_le_bytes(bytes) % terms.len() as u64) as usize;
    Ok(vec![terms[index].clone()])
}

fn list(request: &Request, flatten: bool) -> Vec<Value> {
    let mut values = Vec::new();
    for term in &request.terms {
        let value = from_jinja(term).unwrap_or_default();
        match value {
            Value::List(items) if flatten => values.extend(items.iter().cloned()),
            other => values.push(other),
        }
    }
    values
}

fn dict(request: &Request) -> Result<Vec<Value>, Raised> {
    let mut values = Vec::new();
    for term in &request.terms {
        if term.kind() != ValueKind::Map {
            return Err(Raised::ansible("with_dict expects a dict"));
        }
        if let Value::Map(map) = from_jinja(term).unwrap_or_default() {
            for (key, value) in map.iter() {
                values.push(
                    [
                        (Value::from("key"), key.clone()),
                        (Value::from("value"), value.clone()),
                    ]
                    .into_iter()
                    .collect(),
                );
            }
        }
    }
    Ok(values)
}

/// `fileglob`: the files matching each term's pattern. The directory part of a term is
/// found as the `file` lookup finds files, with a warning when it is missing. A bare
/// pattern is tried in each search path's `files/` and then in the path itself. The
/// first directory with matches gives the term's results.
fn fileglob(context: &Arc<Context>, request: &Request) -> Result<Vec<Value>, TemplateError> {
    let mut values = Vec::new();
    for term in request.term_texts() {
        let (directory, pattern) = split_path(&term);
        let dirs = if pattern != term {
            // NOTE: ansible-core globs the directory as joined, `..` included. rplay
            // globs it normalised, so a term with `..` lists its matches without it.
            match find_file(context, "files", directory) {
                Some(dir) => vec![crate::config::normalize(&dir)],
                None => {
                    warn_not_found(directory);
                    Vec::new()
                }
            }
        } else {
            search_dirs(context, "files")
        };
        for dir in dirs {
            let pattern = dir.join(pattern);
            let Ok(paths) = glob::glob(&pattern.to_string_lossy()) else {
                continue;
            };
            let found: Vec<Value> = paths
                .filter_map(Result::ok)
                .filter(|path| path.is_file())
                .map(|path| Value::from(path.to_string_lossy().into_owned()))
                .collect();
            if !found.is_empty() {
                values.extend(found);
                break;
            }
        }
    }
    Ok(values)
}

/// Splits a path as Python's `os.path.dirname` and `os.path.basename` do.
fn split_path(path: &str) -> (&str, &str) {
    let split = path.rfind('/').map_or(0, |index| index + 1);
    let (head, tail) = path.split_at(split);
    let trimmed = head.trim_end_matches('/');
    let head = if trimmed.is_empty() { head } else { trimmed };
    (head, tail)
}
