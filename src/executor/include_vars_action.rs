//! The `include_vars` action: variables from one file, found as ansible-core's
//! `_find_needle('vars', ...)` finds it, or from every file of a directory tree, walked
//! and filtered as ansible-core's action plugin walks it.

use std::path::{Path, PathBuf};

use super::actions::{ActionOutcome, Effect, RAISED};
use super::context::TaskContext;
use super::Executor;
use crate::playbook::value_text;
use crate::template::Variables;
use crate::vault::VaultSecrets;
use crate::yaml::FileError;
use crate::{Map, Value};

const DIR_ARGUMENTS: &[&str] = &[
    "dir",
    "depth",
    "files_matching",
    "ignore_files",
    "extensions",
    "ignore_unknown_extensions",
];
const FILE_ARGUMENTS: &[&str] = &["file", "_raw_params"];
const COMMON_ARGUMENTS: &[&str] = &["name", "hash_behaviour"];
const DEFAULT_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// Runs `include_vars` for one host.
pub(super) fn include_vars(
    executor: &Executor<'_>,
    context: &TaskContext,
    args: &Map,
    vars: &crate::vars::HostVars,
) -> ActionOutcome {
    match load(executor, context, args, vars) {
        Ok(outcome) => outcome,
        Err(message) => raised(message),
    }
}

/// Variables and paths of the files loaded so far.
#[derive(Default)]
struct Loaded {
    vars: Map,
    files: Vec<String>,
}

fn load(
    executor: &Executor<'_>,
    context: &TaskContext,
    args: &Map,
    vars: &crate::vars::HostVars,
) -> Result<ActionOutcome, String> {
    let mut dir_arguments = 0;
    let mut file_arguments = 0;
    for key in args.keys() {
        let key = value_text(key);
        if DIR_ARGUMENTS.contains(&key.as_str()) {
            dir_arguments += 1;
        } else if FILE_ARGUMENTS.contains(&key.as_str()) {
            file_arguments += 1;
        } else if !COMMON_ARGUMENTS.contains(&key.as_str()) {
            return Err(format!("{key} is not a valid option in include_vars"));
        }
    }
    if dir_arguments > 0 && file_arguments > 0 {
        return Err(
            "You are mixing file only and dir only arguments, these are incompatible".to_string(),
        );
    }
    let present = |key: &str| args.get(key).filter(|value| !value.is_null());

    let secrets = executor.templar.vault_secrets();
    let mut loaded = Loaded::default();
    let outcome = match present("dir").map(value_text).filter(|dir| !dir.is_empty()) {
        Some(dir) => {
            let walk = DirWalk::from_args(args)?;
            let root = root_dir(context, &dir);
            match walk.load_tree(&root, secrets, &mut loaded) {
                Err(FileFailure::Raised(message)) => return Err(message),
                Err(FileFailure::Reported(message)) => Err(message),
                Ok(()) => Ok(()),
            }
        }
        None => {
            // An empty `file` falls back to the free-form argument, as in ansible-core.
            let file = present("file")
                .map(value_text)
                .filter(|file| !file.is_empty())
                .or_else(|| {
                    present("_raw_params")
                        .map(|raw| value_text(raw).trim_end_matches('\n').to_string())
                });
            match file {
                Some(file) => match executor.find_needle(context, "vars", &file) {
                    Some(path) => match load_file(&path, false, &[], secrets, &mut loaded) {
                        Ok(vars) => {
                            loaded.vars.extend(vars);
                            Ok(())
                        }
                        // ansible-core catches the loader's exceptions for one file.
                        Err(FileFailure::Raised(message) | FileFailure::Reported(message)) => {
                            Err(message)
                        }
                    },
                    None => Err(not_found(
                        Some(&file),
                        &executor.needle_candidates(context, "vars", &file),
                    )),
                },
                None => {
                    executor.emit(super::events::Event::Warning(
                        "Invalid request to find a file that matches a \"null\" value".to_string(),
                    ));
                    Err(not_found(None, &[]))
                }
            }
        }
    };

    let mut facts = loaded.vars;
    if let Some(name) = present("name").map(value_text) {
        let mut named = Map::new();
        named.insert(Value::from(name), Value::map(facts));
        facts = named;
    }
    let mut result = Map::new();
    if let Err(message) = outcome {
        // ansible-core reports a load failure under `message`, not `msg`, with the
        // files it read before the failure and the variables of the directories that
        // loaded completely.
        result.insert(Value::from("failed"), Value::Bool(true));
        result.insert(Value::from("message"), Value::from(message));
        result.insert(
            Value::from("ansible_included_var_files"),
            Value::list(loaded.files.into_iter().map(Value::from).collect()),
        );
        result.insert(Value::from("ansible_facts"), Value::map(facts));
        return Ok(ActionOutcome {
            result,
            effects: Vec::new(),
        });
    }
    if present("hash_behaviour").map(value_text).as_deref() == Some("merge") {
        // NOTE: rplay supports only `hash_behaviour = replace` as the configured
        // default, so only a task's `merge` changes anything here.
        for (key, value) in facts.iter_mut() {
            let old = vars.get(&value_text(key)).unwrap_or(Value::Null);
            *value = combine(&old, value)?;
        }
    }
    result.insert(
        Value::from("ansible_included_var_files"),
        Value::list(loaded.files.into_iter().map(Value::from).collect()),
    );
    result.insert(Value::from("ansible_facts"), Value::map(facts.clone()));
    result.insert(Value::from("changed"), Value::Bool(false));
    Ok(ActionOutcome {
        result,
        effects: vec![Effect::IncludeVars(facts)],
    })
}

/// Builds the message of ansible-core's `AnsibleFileNotFound` for a file found nowhere on the
/// controller, with the paths searched.
fn not_found(file: Option<&str>, searched: &[PathBuf]) -> String {
    let mut message = match file {
        Some(file) => format!("Could not find or access '{file}'"),
        None => "Could not find file".to_string(),
    };
    if !searched.is_empty() {
        let paths: Vec<String> = searched.iter().map(|p| p.display().to_string()).collect();
        message.push_str(&format!("\nSearched in:\n\t{}", paths.join("\n\t")));
    }
    message.push_str(
        " on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option",
    );
    message
}

/// Builds the result of an error the action raised: only the message, as ansible-core's task
/// executor reports an `AnsibleError`.
fn raised(message: String) -> ActionOutcome {
    let mut result = Map::new();
    result.insert(Value::from("failed"), Value::Bool(true));
    result.insert(Value::from("msg"), Value::from(message));
    result.insert(Value::from(RAISED), Value::Bool(true));
    ActionOutcome {
        result,
        effects: Vec::new(),
    }
}

/// Returns the directory a relative `dir` names: under the role's `vars` (or the role itself when
/// it starts with `vars/` and exists there), or else beside the task's file.
fn root_dir(context: &TaskContext, dir: &str) -> PathBuf {
    if let Some(role) = &context.role {
        let role_path = &role.definition.path;
        if dir.split('/').next() == Some("vars") {
            let candidate = role_path.join(dir);
            if candidate.exists() {
                return candidate;
            }
            return PathBuf::from(dir);
        }
        return role_path.join("vars").join(dir);
    }
    match context.task.span.path().parent() {
        Some(parent) => parent.join(dir),
        None => PathBuf::from(dir),
    }
}

/// The `dir` options: how deep to walk and which files to load.
struct DirWalk {
    depth: usize,
    matcher: Option<fancy_regex::Regex>,
    ignore_files: Vec<String>,
    extensions: Vec<String>,
    ignore_unknown_extensions: bool,
}

impl DirWalk {
    fn from_args(args: &Map) -> Result<DirWalk, String> {
        let present = |key: &str| args.get(key).filter(|value| !value.is_null());
        let depth = match present("depth") {
            Some(Value::Int(depth)) => usize::try_from(*depth).unwrap_or(0),
            Some(other) => value_text(other).trim().parse().unwrap_or(0),
            None => 0,
        };
        let matcher = match present("files_matching").map(value_text) {
            Some(pattern) if !pattern.is_empty() => Some(
                fancy_regex::Regex::new(&pattern)
                    .map_err(|err| format!("Invalid regular expression: {pattern}: {err}"))?,
            ),
            _ => None,
        };
        let ignore_files = match present("ignore_files") {
            Some(Value::List(items)) => items.iter().map(value_text).collect(),
            Some(Value::Map(map)) => map.keys().map(value_text).collect(),
            Some(other) => value_text(other)
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            None => Vec::new(),
        };
        let extensions = match present("extensions") {
            Some(Value::List(items)) => items.iter().map(value_text).collect(),
            // ansible-core turns a string into the list of its characters.
            Some(Value::Str(text)) => text.chars().map(String::from).collect(),
            Some(_) => {
                return Err("Invalid type for \"extensions\" option, it must be a list".to_string())
            }
            None => DEFAULT_EXTENSIONS.iter().map(|e| e.to_string()).collect(),
        };
        let ignore_unknown_extensions = present("ignore_unknown_extensions").is_some_and(|value| {
            rplay_modules::spec::to_bool(value).unwrap_or_else(|_| value.is_truthy())
        });
        Ok(DirWalk {
            depth,
            matcher,
            ignore_files,
            extensions,
            ignore_unknown_extensions,
        })
    }

    /// Loads the files of `root` and its subdirectories, directory by directory in the
    /// order of their paths, each directory's files by name.
    fn load_tree(
        &self,
        root: &Path,
        secrets: &VaultSecrets,
        loaded: &mut Loaded,
    ) -> Result<(), FileFailure> {
        let root_text = root.display();
        if !root.exists() {
            return Err(FileFailure::Reported(format!(
                "{root_text} directory does not exist"
            )));
        }
        if !root.is_dir() {
            return Err(FileFailure::Reported(format!(
                "{root_text} is not a directory"
            )));
        }
        let mut dirs = Vec::new();
        walk(root, &mut dirs);
        dirs.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
        for (dir, mut files) in dirs {
            let depth = dir
                .strip_prefix(root)
                .map_or(0, |rest| rest.components().count())
                + 1;
            if self.depth != 0 && depth > self.depth {
                continue;
            }
            files.sort();
            let mut vars = Map::new();
            for name in files {
                if let Some(matcher) = &self.matcher {
                    if !matcher.is_match(&name).unwrap_or(false) {
                        continue;
                    }
                }
                let path = dir.join(&name);
                if !path.exists() || self.ignored(&name).map_err(FileFailure::Reported)? {
                    continue;
                }
                if self.ignore_unknown_extensions && !self.known_extension(&name) {
                    continue;
                }
                vars.extend(load_file(&path, true, &self.extensions, secrets, loaded)?);
            }
            loaded.vars.extend(vars);
        }
        Ok(())
    }

    fn ignored(&self, name: &str) -> Result<bool, String> {
        for pattern in &self.ignore_files {
            let regex = fancy_regex::Regex::new(&format!("{pattern}$"))
                .map_err(|_| format!("Invalid regular expression: {pattern}"))?;
            if regex.is_match(name).unwrap_or(false) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn known_extension(&self, name: &str) -> bool {
        has_extension(name, &self.extensions)
    }
}

/// Tells whether the file name's extension, as Python's `os.path.splitext` finds it, is
/// one of `extensions`.
fn has_extension(name: &str, extensions: &[String]) -> bool {
    let stem_start = name.len() - name.trim_start_matches('.').len();
    let extension = match name[stem_start..].rfind('.') {
        Some(dot) => &name[stem_start + dot + 1..],
        None => "",
    };
    extensions.iter().any(|known| known == extension)
}

/// Collects every directory under `dir` (following links) with its file names.
fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<String>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files = Vec::new();
    let mut subdirs = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            subdirs.push(path);
        } else {
            files.push(name);
        }
    }
    out.push((dir.to_path_buf(), files));
    for subdir in subdirs {
        walk(&subdir, out);
    }
}

/// A failure to load a variables file.
enum FileFailure {
    /// A failure the action reports in its result's `message`: an invalid extension, or
    /// data that is not a mapping.
    Reported(String),
    /// An exception of ansible-core's loader: a file that cannot be read, decrypted or
    /// parsed. The action catches it for a single file; in a directory walk it fails the
    /// task with the message as `msg`.
    Raised(String),
}

/// Loads one variables file into a map, recording its path once it parsed.
fn load_file(
    path: &Path,
    check_extension: bool,
    extensions: &[String],
    secrets: &VaultSecrets,
    loaded: &mut Loaded,
) -> Result<Map, FileFailure> {
    let path_text = path.display();
    if check_extension {
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !has_extension(&name, extensions) {
            return Err(FileFailure::Reported(format!(
                "{path_text} does not have a valid extension: {}",
                extensions.join(", ")
            )));
        }
    }
    let data = crate::yaml::load_data_file(path, secrets).map_err(|err| match err {
        FileError::Vault(err) => FileFailure::Raised(err.to_string()),
        // NOTE: ansible-core's message for a file it cannot parse is its loader's
        // "We were unable to read either as JSON nor YAML" text.
        err => FileFailure::Raised(format!("{path_text}: {err}")),
    })?;
    let mut vars = Map::new();
    for document in &data.documents {
        match document.to_value() {
            Value::Map(map) => vars.extend(map.iter().map(|(k, v)| (k.clone(), v.clone()))),
            Value::Null => {}
            _ => {
                return Err(FileFailure::Reported(format!(
                    "{path_text} must be stored as a dictionary/hash"
                )))
            }
        }
    }
    loaded.files.push(path_text.to_string());
    Ok(vars)
}

/// Merges `new` into `old` as ansible-core's `combine_vars(old, new, merge=True)`:
/// dictionaries recursively, any other value replaced.
fn combine(old: &Value, new: &Value) -> Result<Value, String> {
    let (Value::Map(old), Value::Map(new)) = (old, new) else {
        return Err(format!(
            "failed to combine variables, expected dicts but got a '{}' and a '{}'.",
            type_name(old),
            type_name(new)
        ));
    };
    let mut merged: Map = old.as_ref().clone();
    for (key, value) in new.iter() {
        let value = match (merged.get(key), value) {
            (Some(existing @ Value::Map(_)), Value::Map(_)) => combine(existing, value)?,
            _ => value.clone(),
        };
        merged.insert(key.clone(), value);
    }
    Ok(Value::map(merged))
}

/// Returns the Python type name of a variable's value, as ansible-core's messages show it.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::List(_) => "list",
        Value::Map(_) => "dict",
        _ => "str",
    }
}
