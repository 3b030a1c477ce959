//! `copy` of a directory from the controller. rplay's executor walks the directory as
//! ansible-core's copy action does and sends every file's bytes, the directories and the
//! symlinks in one request (`_ansible_rplay_tree`). This module then does on the target
//! what the action does with one module run per entry: it copies each file as a single
//! `copy`, creates each directory and symlink with the file module, and reports the
//! action's result.

use std::path::Path;

use crate::copy::{copy_file, FileCopy, SOURCE_DATA, SOURCE_MODE, SOURCE_PATH};
use crate::dispatch::{ModuleOptions, ACTION_RESULT};
use crate::files::Failure;
use crate::spec::Params;
use crate::{Map, Value};

/// Internal parameter with the walked source directory, built by [`SourceTree::to_value`].
pub const TREE: &str = "_ansible_rplay_tree";

/// A source directory as ansible-core's `_walk_dirs` lists it, with the paths relative
/// to the destination directory.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SourceTree {
    /// The controller path the result reports as `src`.
    pub source: String,
    pub files: Vec<TreeFile>,
    /// Directories to create, relative to the destination.
    pub directories: Vec<String>,
    pub symlinks: Vec<TreeLink>,
}

/// A regular file of the tree (or the file a followed symlink points to).
#[derive(Debug, Clone, PartialEq)]
pub struct TreeFile {
    /// The path on the controller the bytes were read from.
    pub path: String,
    /// The path relative to the destination.
    pub relative: String,
    pub data: Vec<u8>,
    /// The controller file's permission bits (`0644`), for `mode: preserve`.
    pub mode: String,
}

/// A symlink copied as a symlink: its target, as `readlink` returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeLink {
    pub target: String,
    pub relative: String,
}

impl SourceTree {
    /// Encodes the tree as the value of the [`TREE`] parameter.
    pub fn to_value(&self) -> Value {
        let files = self
            .files
            .iter()
            .map(|file| {
                let mut map = Map::new();
                map.insert(Value::from("path"), Value::from(file.path.as_str()));
                map.insert(Value::from("relative"), Value::from(file.relative.as_str()));
                map.insert(Value::from("data"), Value::from(encode(&file.data)));
                map.insert(Value::from("mode"), Value::from(file.mode.as_str()));
                Value::map(map)
            })
            .collect();
        let symlinks = self
            .symlinks
            .iter()
            .map(|link| {
                let mut map = Map::new();
                map.insert(Value::from("target"), Value::from(link.target.as_str()));
                map.insert(Value::from("relative"), Value::from(link.relative.as_str()));
                Value::map(map)
            })
            .collect();
        let directories = self
            .directories
            .iter()
            .map(|directory| Value::from(directory.as_str()))
            .collect();
        let mut map = Map::new();
        map.insert(Value::from("source"), Value::from(self.source.as_str()));
        map.insert(Value::from("files"), Value::list(files));
        map.insert(Value::from("directories"), Value::list(directories));
        map.insert(Value::from("symlinks"), Value::list(symlinks));
        Value::map(map)
    }

    /// Decodes the [`TREE`] parameter.
    fn from_value(value: &Value) -> Result<SourceTree, Failure> {
        let invalid = || Failure::new("invalid source tree in the copy request");
        let text = |map: &Value, key: &str| -> Result<String, Failure> {
            map.get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(invalid)
        };
        let list = |key: &str| -> Result<Vec<Value>, Failure> {
            value
                .get(key)
                .and_then(Value::as_list)
                .map(|items| items.to_vec())
                .ok_or_else(invalid)
        };
        let mut tree = SourceTree {
            source: text(value, "source")?,
            ..SourceTree::default()
        };
        for file in list("files")? {
            tree.files.push(TreeFile {
                path: text(&file, "path")?,
                relative: text(&file, "relative")?,
                data: decode(&text(&file, "data")?).ok_or_else(invalid)?,
                mode: text(&file, "mode")?,
            });
        }
        for directory in list("directories")? {
            tree.directories
                .push(directory.as_str().ok_or_else(invalid)?.to_string());
        }
        for link in list("symlinks")? {
            tree.symlinks.push(TreeLink {
                target: text(&link, "target")?,
                relative: text(&link, "relative")?,
            });
        }
        Ok(tree)
    }
}

fn encode(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// The state ansible-core's copy action tracks over the entries copied so far.
#[derive(Default)]
struct Progress {
    changed: bool,
    /// True once any entry ran a module (or would have, in check mode).
    executed: bool,
    /// The result of the entry that ran last.
    last: Option<Map>,
}

impl Progress {
    /// Records an entry's result. A failed result ends the copy and is returned as the error.
    fn record(&mut self, result: Map) -> Result<(), Map> {
        if result.get("failed").is_some_and(Value::is_truthy) {
            return Err(result);
        }
        self.executed = true;
        self.changed |= result.get("changed").is_some_and(Value::is_truthy);
        self.last = Some(result);
        Ok(())
    }
}

/// Copies the walked directory `tree` into the task's `dest`.
pub fn run(params: &Params, options: &ModuleOptions, tree: &Value) -> Map {
    let tree = match SourceTree::from_value(tree) {
        Ok(tree) => tree,
        Err(failure) => return failure.into_result(),
    };
    // A recursive copy always goes into a directory, which a trailing slash marks.
    let mut dest = params.string("dest").unwrap_or_default();
    if !dest.ends_with('/') {
        dest.push('/');
    }
    match copy_entries(params, options, &tree, &dest) {
        Ok(progress) => tree_result(params, &tree, &dest, progress),
        Err(failed) => failed,
    }
}

fn copy_entries(
    params: &Params,
    options: &ModuleOptions,
    tree: &SourceTree,
    dest: &str,
) -> Result<Progress, Map> {
    let mut progress = Progress::default();
    // ansible-core follows a destination symlink only when the copy has no directories.
    let follow = tree.directories.is_empty() && params.flag("follow");
    for file in &tree.files {
        match copy_one_file(params, options, file, dest, follow)? {
            FileCopy::Done(result) => progress.record(result)?,
            FileCopy::Skipped(_) => progress.last = None,
        }
    }
    for directory in &tree.directories {
        let result = create_directory(params, options, &join(dest, directory));
        progress.record(result)?;
    }
    for link in &tree.symlinks {
        let result = create_symlink(params, options, link, dest, !tree.directories.is_empty());
        progress.record(result)?;
    }
    Ok(progress)
}

/// Builds the action's result: with exactly one file, the last module's result, else
/// the destination, the source and whether anything changed.
fn tree_result(params: &Params, tree: &SourceTree, dest: &str, progress: Progress) -> Map {
    if let (true, 1, Some(mut result)) = (progress.executed, tree.files.len(), progress.last) {
        if !result.contains_key("dest") {
            if let Some(path) = result.get("path").cloned() {
                result.insert(Value::from("dest"), path);
            }
        }
        if !result.contains_key("invocation") {
            result.insert(
                Value::from("invocation"),
                crate::copy::action_invocation(params),
            );
        }
        return result;
    }
    let mut result = Map::new();
    result.insert(Value::from("dest"), Value::from(dest));
    result.insert(Value::from("src"), Value::from(tree.source.as_str()));
    result.insert(Value::from("changed"), Value::Bool(progress.changed));
    result.insert(
        Value::from("invocation"),
        crate::copy::action_invocation(params),
    );
    result.insert(Value::from(ACTION_RESULT), Value::Bool(true));
    result
}

/// Copies one file of the tree as the action's `_copy_file` does: into `dest/`, named
/// by its relative path, with the task's other arguments.
fn copy_one_file(
    params: &Params,
    options: &ModuleOptions,
    file: &TreeFile,
    dest: &str,
    follow: bool,
) -> Result<FileCopy, Map> {
    let mut args = params.given.clone();
    args.insert(Value::from("dest"), Value::from(dest));
    args.insert(
        Value::from("_original_basename"),
        Value::from(file.relative.as_str()),
    );
    args.insert(Value::from("follow"), Value::Bool(follow));
    args.insert(Value::from(SOURCE_DATA), Value::from(encode(&file.data)));
    args.insert(Value::from(SOURCE_PATH), Value::from(file.path.as_str()));
    args.insert(Value::from(SOURCE_MODE), Value::from(file.mode.as_str()));
    let file_params = crate::copy::SPEC
        .validate(&args)
        .map_err(|message| Failure::new(message).into_result())?;
    copy_file(&file_params, options).map_err(Failure::into_result)
}

/// Selects the task's arguments that the action passes on to the file module.
fn file_module_args(params: &Params) -> Map {
    params
        .given
        .iter()
        .filter(|(key, _)| key.as_str().is_some_and(crate::copy::is_file_argument))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// Runs the file module with `args`, with its invocation as a module result has it.
fn run_file_module(args: Map, options: &ModuleOptions) -> Map {
    let file_params = match crate::file::SPEC.validate(&args) {
        Ok(file_params) => file_params,
        Err(message) => return Failure::new(message).into_result(),
    };
    let mut result = crate::file::run(&file_params, options);
    let mut invocation = Map::new();
    invocation.insert(
        Value::from("module_args"),
        Value::map(file_params.module_args(&crate::file::SPEC)),
    );
    result.insert(Value::from("invocation"), Value::map(invocation));
    result
}

/// Creates a directory of the tree with `directory_mode` (no mode without it).
fn create_directory(params: &Params, options: &ModuleOptions, path: &str) -> Map {
    let mut args = file_module_args(params);
    args.insert(Value::from("path"), Value::from(path));
    args.insert(Value::from("state"), Value::from("directory"));
    args.insert(
        Value::from("mode"),
        params.get("directory_mode").cloned().unwrap_or(Value::Null),
    );
    args.insert(Value::from("recurse"), Value::Bool(false));
    args.shift_remove("src");
    run_file_module(args, options)
}

/// Creates a symlink of the tree, replacing whatever is at its path.
fn create_symlink(
    params: &Params,
    options: &ModuleOptions,
    link: &TreeLink,
    dest: &str,
    recursive: bool,
) -> Map {
    let mut args = file_module_args(params);
    args.insert(Value::from("path"), Value::from(join(dest, &link.relative)));
    args.insert(Value::from("src"), Value::from(link.target.as_str()));
    args.insert(Value::from("state"), Value::from("link"));
    args.insert(Value::from("force"), Value::Bool(true));
    if recursive {
        args.insert(Value::from("follow"), Value::Bool(false));
    }
    // The file module takes no `preserve`, and a link's mode means nothing.
    if args.get("mode").and_then(Value::as_str) == Some("preserve") {
        args.shift_remove("mode");
    }
    run_file_module(args, options)
}

/// Python's `os.path.join(dest, relative)` for a relative path.
fn join(dest: &str, relative: &str) -> String {
    Path::new(dest).join(relative).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn sample_tree() -> SourceTree {
        SourceTree {
            source: "/controller/tree".into(),
            files: vec![
                TreeFile {
                    path: "/controller/tree/a.txt".into(),
                    relative: "tree/a.txt".into(),
                    data: b"a\n".to_vec(),
                    mode: "0644".into(),
                },
                TreeFile {
                    path: "/controller/tree/sub/b.txt".into(),
                    relative: "tree/sub/b.txt".into(),
                    data: b"b\n".to_vec(),
                    mode: "0600".into(),
                },
            ],
            directories: vec!["tree/sub".into(), "tree/empty".into()],
            symlinks: vec![TreeLink {
                target: "a.txt".into(),
                relative: "tree/link".into(),
            }],
        }
    }

    fn copy_tree(dest: &Path, extra: &[(&str, Value)], check_mode: bool) -> Map {
        let mut args = Map::new();
        args.insert(Value::from("src"), Value::from("tree"));
        args.insert(Value::from("dest"), Value::from(dest.display().to_string()));
        for (key, value) in extra {
            args.insert(Value::from(*key), value.clone());
        }
        args.insert(Value::from(TREE), sample_tree().to_value());
        let params = crate::copy::SPEC.validate(&args).unwrap();
        let options = ModuleOptions {
            check_mode,
            ..ModuleOptions::default()
        };
        crate::copy::run(&params, &options)
    }

    #[test]
    fn tree_value_round_trip() {
        let tree = sample_tree();
        assert_eq!(SourceTree::from_value(&tree.to_value()).unwrap(), tree);
    }

    #[test]
    fn tree_copied_then_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let result = copy_tree(&dest, &[("directory_mode", Value::from("0750"))], false);
        assert_eq!(
            result.get("changed"),
            Some(&Value::Bool(true)),
            "{result:?}"
        );
        let shown_dest = format!("{}/", dest.display());
        assert_eq!(result.get("dest"), Some(&Value::from(shown_dest)));
        assert_eq!(result.get("src"), Some(&Value::from("/controller/tree")));
        assert!(result.contains_key(ACTION_RESULT));
        assert_eq!(fs::read(dest.join("tree/sub/b.txt")).unwrap(), b"b\n");
        assert_eq!(
            fs::read_link(dest.join("tree/link")).unwrap(),
            Path::new("a.txt")
        );
        let mode = |path: &str| fs::metadata(dest.join(path)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("tree/sub"), 0o750);
        assert_eq!(mode("tree/empty"), 0o750);
        let again = copy_tree(&dest, &[("directory_mode", Value::from("0750"))], false);
        assert_eq!(again.get("changed"), Some(&Value::Bool(false)), "{again:?}");
    }

    #[test]
    fn tree_check_mode_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let result = copy_tree(&dest, &[], true);
        assert_eq!(
            result.get("changed"),
            Some(&Value::Bool(true)),
            "{result:?}"
        );
        assert!(!dest.exists());
    }

    #[test]
    fn tree_mode_preserve_uses_source_modes() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let result = copy_tree(&dest, &[("mode", Value::from("preserve"))], false);
        assert_eq!(
            result.get("changed"),
            Some(&Value::Bool(true)),
            "{result:?}"
        );
        let mode = fs::metadata(dest.join("tree/sub/b.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn tree_without_force_keeps_files() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        fs::create_dir_all(dest.join("tree")).unwrap();
        fs::write(dest.join("tree/a.txt"), "kept").unwrap();
        copy_tree(&dest, &[("force", Value::Bool(false))], false);
        assert_eq!(fs::read_to_string(dest.join("tree/a.txt")).unwrap(), "kept");
        assert_eq!(fs::read(dest.join("tree/sub/b.txt")).unwrap(), b"b\n");
    }
}
