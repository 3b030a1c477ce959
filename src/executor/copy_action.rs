//! The controller side of `copy` with a directory `src`: walks the directory as
//! ansible-core 2.18's copy action (`_walk_dirs`) does, so that the module on the target
//! can copy its files, directories and symlinks in one request.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use rplay_modules::copy_tree::{SourceTree, TreeFile, TreeLink};
use rplay_modules::{Map, Value};

use super::actions::{action_fail_result, failed_result, RAISED};
use crate::vault::{is_encrypted_file, VaultSecrets};

/// A controller file an action sends.
pub(super) struct ControllerFile {
    pub data: Vec<u8>,
    /// The file ansible-core reads the bytes from, which diff headers name: the file
    /// itself, or for a decrypted file the temporary file that `get_real_file` writes
    /// the plaintext to.
    pub read_path: String,
    /// The mode of `read_path` as `0644`, which `mode: preserve` copies: 0600 for the
    /// temporary file of a decrypted file, as Python's `mkstemp` creates it.
    pub mode: String,
}

/// Reads a controller file to send. With `decrypt`, a vault-encrypted file is decrypted
/// with those secrets as ansible-core's `get_real_file` decrypts it. A file that they
/// cannot decrypt fails as the loader's exception does, with the message alone.
pub(super) fn read_source_file(
    path: &Path,
    decrypt: Option<&VaultSecrets>,
) -> Result<ControllerFile, Map> {
    let data = fs::read(path)
        .map_err(|err| failed_result(format!("could not find src={}, {err}", path.display())))?;
    let read_path = path.display().to_string();
    let Some(secrets) = decrypt.filter(|_| is_encrypted_file(&data)) else {
        let mode = fs::metadata(path)
            .map(|meta| format!("0{:03o}", meta.permissions().mode() & 0o7777))
            .unwrap_or_default();
        return Ok(ControllerFile {
            data,
            read_path,
            mode,
        });
    };
    let data = secrets.decrypt_real_file(data, path).map_err(|error| {
        let mut result = failed_result(error.to_string());
        result.insert(Value::from(RAISED), Value::Bool(true));
        result
    })?;
    Ok(ControllerFile {
        data,
        read_path: local_tmp_path(),
        mode: "0600".to_string(),
    })
}

/// Makes up the path of a controller temporary file of ansible-core
/// (`~/.ansible/tmp/ansible-local-PIDRANDOM/tmpRANDOM`), which diff headers show.
///
/// NOTE: rplay keeps the bytes in memory; no file exists at this path.
pub(super) fn local_tmp_path() -> String {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".to_string());
    format!(
        "{}/.ansible/tmp/ansible-local-{}{}/tmp{}",
        home.trim_end_matches('/'),
        std::process::id(),
        rplay_modules::files::random_name(8),
        rplay_modules::files::random_name(8)
    )
}

/// Decrypts a controller file for an action that wraps the loader's exception in
/// `AnsibleActionFail` (`script`, `unarchive`): the failed result then carries
/// `changed: false` and the traceback of the vault error.
pub(super) fn decrypt_for_action(
    secrets: &VaultSecrets,
    path: &Path,
    data: Vec<u8>,
) -> Result<Vec<u8>, Map> {
    secrets.decrypt_real_file(data, path).map_err(|error| {
        let mut result = failed_result(error.to_string());
        result.insert(Value::from("changed"), Value::Bool(false));
        result.insert(
            Value::from("exception"),
            Value::from(format!(
                "Traceback (most recent call last):\n{}: {error}\n",
                error.python_class()
            )),
        );
        result
    })
}

/// Checks `copy`'s arguments as ansible-core's copy action does before it looks for
/// the source, and returns the failed result it reports.
pub(super) fn check_args(args: &Map) -> Result<(), Map> {
    for internal in ["_original_basename", "_diff_peek"] {
        if args.get(internal).is_some_and(|value| !value.is_null()) {
            return Err(action_fail_result(format!(
                "Invalid parameter specified: \"{internal}\""
            )));
        }
    }
    let given = |key: &str| args.get(key).filter(|value| !value.is_null());
    let truthy = |key: &str| given(key).is_some_and(Value::is_truthy);
    let content = given("content");
    let message = if !truthy("src") && content.is_none() {
        "src (or content) is required"
    } else if !truthy("dest") {
        "dest is required"
    } else if truthy("src") && content.is_some() {
        "src and content are mutually exclusive"
    } else if content.is_some()
        && given("dest").is_some_and(|dest| rplay_modules::pyrepr::str(dest).ends_with('/'))
    {
        "can not use content with a dir as dest"
    } else {
        return Ok(());
    };
    Err(failed_result(message.to_string()))
}

/// The failed result of a `src` found nowhere on the controller, listing the paths
/// searched, with the traceback whose last line the default callback prints.
pub(super) fn not_found_result(src: &str, searched: &[std::path::PathBuf]) -> Map {
    let paths: Vec<String> = searched
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    let message = format!(
        "Could not find or access '{src}'\nSearched in:\n\t{} on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option",
        paths.join("\n\t")
    );
    let mut result = failed_result(message.clone());
    result.insert(
        Value::from("exception"),
        Value::from(format!(
            "Traceback (most recent call last):\nansible.errors.AnsibleFileNotFound: {message}\n"
        )),
    );
    result
}

/// Makes up the path of the controller temporary file ansible-core's copy action writes
/// `content` to (`~/.ansible/tmp/ansible-local-PIDRANDOM/.RANDOM`), which a skipped copy
/// reports as `src`.
///
/// NOTE: rplay sends the content in the request; no file exists at this path.
pub(super) fn content_tmp_path() -> String {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".to_string());
    let random = rplay_modules::files::random_name;
    format!(
        "{home}/.ansible/tmp/ansible-local-{}{}/.{}",
        std::process::id(),
        random(8),
        random(8)
    )
}

/// A directory's identity, `(st_dev, st_ino)`, to detect symlink cycles.
type DirectoryId = (u64, u64);

/// Walks the controller directory `top` (its path as the action resolved it, a trailing
/// slash meaning "its contents only") into the entries to copy. With `local_follow`,
/// symlinks are followed unless they lead back into a directory being copied.
///
/// NOTE: the walk reads every file before anything is copied, so a file that cannot be
/// read fails the task before any copy, where ansible-core has copied the files it
/// met before that one.
pub(super) fn walk_source_tree(
    top: &str,
    local_follow: bool,
    decrypt: Option<&VaultSecrets>,
) -> Result<SourceTree, Map> {
    let mut walk = TreeWalk {
        local_follow,
        decrypt,
        tree: SourceTree {
            source: top.to_string(),
            ..SourceTree::default()
        },
    };
    let base = if top.ends_with('/') {
        top.to_string()
    } else {
        python_dirname(top)
    };
    let offset = if base.ends_with('/') {
        base.len()
    } else {
        base.len() + 1
    };
    if Path::new(top).is_symlink() && !local_follow {
        // NOTE: ansible-core 2.18 stores this one symlink in a form its own loop cannot
        // unpack, and fails; rplay copies it as a symlink.
        let target = read_link_text(Path::new(top));
        let name = top.rsplit('/').next().unwrap_or_default().to_string();
        walk.tree.symlinks.push(TreeLink {
            target,
            relative: name,
        });
        return Ok(walk.tree);
    }
    let top_id = directory_id(Path::new(top))
        .ok_or_else(|| failed_result(format!("could not read the directory {top}")))?;
    walk.recurse(top, offset, &HashSet::from([top_id]), "")?;
    Ok(walk.tree)
}

struct TreeWalk<'a> {
    local_follow: bool,
    decrypt: Option<&'a VaultSecrets>,
    tree: SourceTree,
}

impl TreeWalk<'_> {
    /// Lists the entries below `top`, named by their path after the first `offset`
    /// bytes, joined to `relative_base`. `parents` contains the directories being copied
    /// that `top` is inside.
    fn recurse(
        &mut self,
        top: &str,
        offset: usize,
        parents: &HashSet<DirectoryId>,
        relative_base: &str,
    ) -> Result<(), Map> {
        for level in os_walk(top) {
            for name in &level.files {
                let path = python_join(&level.base, name);
                let relative = python_join(relative_base, path.get(offset..).unwrap_or_default());
                self.add_file(&path, relative)?;
            }
            for name in &level.directories {
                let path = python_join(&level.base, name);
                let relative = python_join(relative_base, path.get(offset..).unwrap_or_default());
                self.add_directory(&path, relative, parents)?;
            }
        }
        Ok(())
    }

    fn add_file(&mut self, path: &str, relative: String) -> Result<(), Map> {
        if !Path::new(path).is_symlink() {
            return self.push_file(path, relative);
        }
        match fs::canonicalize(path) {
            Ok(real) if self.local_follow && real.is_file() => {
                self.push_file(&real.display().to_string(), relative)
            }
            _ => {
                let target = read_link_text(Path::new(path));
                self.tree.symlinks.push(TreeLink { target, relative });
                Ok(())
            }
        }
    }

    fn push_file(&mut self, path: &str, relative: String) -> Result<(), Map> {
        let file = read_source_file(Path::new(path), self.decrypt)?;
        self.tree.files.push(TreeFile {
            path: file.read_path,
            relative,
            data: file.data,
            mode: file.mode,
        });
        Ok(())
    }

    fn add_directory(
        &mut self,
        path: &str,
        relative: String,
        parents: &HashSet<DirectoryId>,
    ) -> Result<(), Map> {
        if !Path::new(path).is_symlink() {
            self.tree.directories.push(relative);
            return Ok(());
        }
        let real = fs::canonicalize(path)
            .map_err(|err| failed_result(format!("could not read {path}: {err}")))?;
        let real_id = directory_id(&real);
        if !self.local_follow || real_id.is_some_and(|id| parents.contains(&id)) {
            let target = read_link_text(Path::new(path));
            self.tree.symlinks.push(TreeLink { target, relative });
            return Ok(());
        }
        // The directories between this link and the nearest directory already being
        // copied: a link to one of them is a cycle.
        let mut new_parents = HashSet::new();
        let link_dir = python_dirname(path);
        let components: Vec<&str> = link_dir.split('/').collect();
        for end in (1..=components.len()).rev() {
            let Some(id) = directory_id(Path::new(&components[..end].join("/"))) else {
                break;
            };
            if parents.contains(&id) {
                break;
            }
            new_parents.insert(id);
        }
        if real_id.is_some_and(|id| new_parents.contains(&id)) {
            let target = read_link_text(Path::new(path));
            self.tree.symlinks.push(TreeLink { target, relative });
            return Ok(());
        }
        let real_text = real.display().to_string();
        self.tree.directories.push(relative.clone());
        let all_parents: HashSet<DirectoryId> = parents.union(&new_parents).copied().collect();
        self.recurse(&real_text, real_text.len() + 1, &all_parents, &relative)
    }
}

/// One directory of [`os_walk`]: its path and the names of its subdirectories
/// (symlinks to directories included) and other entries, in `readdir` order.
struct WalkLevel {
    base: String,
    directories: Vec<String>,
    files: Vec<String>,
}

/// Python's `os.walk(top)`, top-down, without descending into symlinked directories;
/// unreadable directories are skipped, as `os.walk` skips them without `onerror`.
fn os_walk(top: &str) -> Vec<WalkLevel> {
    let mut levels = Vec::new();
    let Ok(entries) = fs::read_dir(top) else {
        return levels;
    };
    let mut level = WalkLevel {
        base: top.to_string(),
        directories: Vec::new(),
        files: Vec::new(),
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() {
            level.directories.push(name);
        } else {
            level.files.push(name);
        }
    }
    let below: Vec<String> = level
        .directories
        .iter()
        .map(|name| python_join(top, name))
        .filter(|path| !Path::new(path).is_symlink())
        .collect();
    levels.push(level);
    for path in below {
        levels.extend(os_walk(&path));
    }
    levels
}

fn directory_id(path: &Path) -> Option<DirectoryId> {
    fs::metadata(path).ok().map(|meta| (meta.dev(), meta.ino()))
}

fn read_link_text(path: &Path) -> String {
    fs::read_link(path)
        .map(|target| target.display().to_string())
        .unwrap_or_default()
}

/// Python's `os.path.dirname`.
fn python_dirname(path: &str) -> String {
    let Some(index) = path.rfind('/') else {
        return String::new();
    };
    let head = &path[..=index];
    let trimmed = head.trim_end_matches('/');
    if trimmed.is_empty() {
        head.to_string()
    } else {
        trimmed.to_string()
    }
}

/// Python's `os.path.join` of two parts.
fn python_join(head: &str, tail: &str) -> String {
    if tail.starts_with('/') {
        tail.to_string()
    } else if head.is_empty() || head.ends_with('/') {
        format!("{head}{tail}")
    } else {
        format!("{head}/{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree_fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tree");
        fs::create_dir_all(root.join("sub/deep")).unwrap();
        fs::create_dir_all(root.join("empty")).unwrap();
        fs::write(root.join("a.txt"), "a").unwrap();
        fs::write(root.join("sub/deep/c.txt"), "c").unwrap();
        std::os::unix::fs::symlink("a.txt", root.join("link")).unwrap();
        std::os::unix::fs::symlink("../sub", root.join("sub/deep/up")).unwrap();
        dir
    }

    fn sorted(mut items: Vec<String>) -> Vec<String> {
        items.sort();
        items
    }

    #[test]
    fn walk_without_trailing_slash_names_the_directory() {
        let dir = tree_fixture();
        let top = dir.path().join("tree").display().to_string();
        let tree = walk_source_tree(&top, true, Some(&VaultSecrets::default())).unwrap();
        let files = sorted(tree.files.iter().map(|f| f.relative.clone()).collect());
        assert_eq!(files, ["tree/a.txt", "tree/link", "tree/sub/deep/c.txt"]);
        assert_eq!(
            sorted(tree.directories.clone()),
            ["tree/empty", "tree/sub", "tree/sub/deep"]
        );
        // The link back to an enclosing directory stays a link.
        assert_eq!(tree.symlinks.len(), 1);
        assert_eq!(tree.symlinks[0].relative, "tree/sub/deep/up");
        assert_eq!(tree.symlinks[0].target, "../sub");
    }

    #[test]
    fn walk_with_trailing_slash_names_the_contents() {
        let dir = tree_fixture();
        let top = format!("{}/", dir.path().join("tree").display());
        let tree = walk_source_tree(&top, false, Some(&VaultSecrets::default())).unwrap();
        let files = sorted(tree.files.iter().map(|f| f.relative.clone()).collect());
        assert_eq!(files, ["a.txt", "sub/deep/c.txt"]);
        let links = sorted(tree.symlinks.iter().map(|l| l.relative.clone()).collect());
        assert_eq!(links, ["link", "sub/deep/up"]);
        assert_eq!(tree.source, top);
    }

    #[test]
    fn walk_records_file_mode_and_bytes() {
        let dir = tree_fixture();
        let file = dir.path().join("tree/a.txt");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
        let top = format!("{}/", dir.path().join("tree").display());
        let tree = walk_source_tree(&top, true, Some(&VaultSecrets::default())).unwrap();
        let entry = tree.files.iter().find(|f| f.relative == "a.txt").unwrap();
        assert_eq!(entry.mode, "0640");
        assert_eq!(entry.data, b"a");
    }
}
