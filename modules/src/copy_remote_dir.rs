//! `copy` with `remote_src` and a directory `src`: the copy module's recursive copy on
//! the target. Which entries it copies follows ansible-core 2.18's module, which
//! compares the two trees as Python's `filecmp.dircmp` does and copies new
//! subdirectories as `shutil.copytree` does. Each file is written through a temporary
//! file in its directory and renamed into place.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::dispatch::ModuleOptions;
use crate::files::{os_error, set_attributes_if_different, Failure, FileAttributes};
use crate::spec::Params;
use crate::{Map, Value};

/// Names `filecmp.dircmp` leaves out of its comparison by default.
const DIRCMP_IGNORED: &[&str] = &[
    "RCS",
    "CVS",
    "tags",
    ".git",
    ".hg",
    ".bzr",
    "_darcs",
    "__pycache__",
];

/// The task's switches the recursive copy reads.
struct RemoteCopy {
    check_mode: bool,
    /// `local_follow` as given: ansible-core's module tests it against `True` and
    /// `False`, so unset differs from both.
    local_follow: Option<bool>,
    owner: Option<String>,
    group: Option<String>,
}

pub fn run(params: &Params, options: &ModuleOptions, src: &str) -> Map {
    match run_checked(params, options, src) {
        Ok(result) => result,
        Err(failure) => failure.into_result(),
    }
}

fn run_checked(params: &Params, options: &ModuleOptions, src: &str) -> Result<Map, Failure> {
    let given_dest = params.string("dest").unwrap_or_default();
    let mut dest = given_dest.clone();
    if !dest.contains('/') {
        dest = format!("./{dest}");
    }
    check_readable(src)?;
    let mut mode = params.get("mode").cloned();
    if mode.as_ref().and_then(Value::as_str) == Some("preserve") {
        let bits = fs::metadata(src).map(|meta| meta.mode()).unwrap_or(0);
        mode = Some(Value::from(crate::files::mode_text(bits)));
    }
    if let Some(expected) = params.string("checksum") {
        return Err(Failure::new(
            "Copied file does not match the expected checksum. Transfer failed.",
        )
        .with("checksum", Value::Null)
        .with("expected_checksum", expected));
    }
    let mut changed = false;
    if dest.ends_with('/') {
        let parent = python_dirname(&dest);
        if !Path::new(&parent).exists() {
            if options.check_mode {
                let mut result = Map::new();
                result.insert(
                    Value::from("msg"),
                    Value::from(format!("dest directory {parent} would be created")),
                );
                result.insert(Value::from("changed"), Value::Bool(true));
                result.insert(Value::from("src"), Value::from(src));
                return Ok(result);
            }
            crate::copy::create_parent_directories(params, Path::new(&parent))?;
            changed = true;
        }
    }
    if Path::new(&dest).is_dir() {
        dest = python_join(&dest, &python_basename(src));
    }
    if let Some(result) = check_destination(params, src, &mut dest)? {
        return Ok(result);
    }
    let copy = RemoteCopy {
        check_mode: options.check_mode,
        local_follow: params.get("local_follow").and_then(Value::as_bool),
        owner: params.string("owner"),
        group: params.string("group"),
    };
    changed |= copy
        .copy_directory(src, &given_dest, &dest)
        .map_err(|err| {
            Failure::new(format!(
                "failed to copy: {src} to {dest}: {}",
                os_error(&err)
            ))
        })?;
    let mut result = Map::new();
    result.insert(Value::from("dest"), Value::from(dest.as_str()));
    result.insert(Value::from("src"), Value::from(src));
    result.insert(Value::from("md5sum"), Value::Null);
    result.insert(Value::from("checksum"), Value::Null);
    let attributes = FileAttributes {
        mode,
        ..FileAttributes::from_params(params)
    };
    changed |=
        set_attributes_if_different(Path::new(&dest), &attributes, options.check_mode, &mut None)?;
    result.insert(Value::from("changed"), Value::Bool(changed));
    Ok(result)
}

fn check_readable(src: &str) -> Result<(), Failure> {
    let c_path = std::ffi::CString::new(src)
        .map_err(|_| Failure::new(format!("Source {src} not readable")))?;
    // SAFETY: `c_path` is a NUL-terminated string that outlives the call.
    let readable = unsafe { libc::access(c_path.as_ptr(), libc::R_OK) } == 0;
    if readable {
        Ok(())
    } else {
        Err(Failure::new(format!("Source {src} not readable")))
    }
}

/// Checks the destination as the module does before copying. Returns the result that
/// ends the task early (`force` off and the destination present).
fn check_destination(
    params: &Params,
    src: &str,
    dest: &mut String,
) -> Result<Option<Map>, Failure> {
    let path = Path::new(dest);
    if fs::symlink_metadata(path).is_ok() && path.exists() {
        if path.is_symlink() && params.flag("follow") {
            if let Ok(real) = fs::canonicalize(path) {
                *dest = real.display().to_string();
            }
        }
        if !params.flag("force") {
            let mut result = Map::new();
            result.insert(Value::from("msg"), Value::from("file already exists"));
            result.insert(Value::from("src"), Value::from(src));
            result.insert(Value::from("dest"), Value::from(dest.as_str()));
            result.insert(Value::from("changed"), Value::Bool(false));
            return Ok(Some(result));
        }
        if Path::new(dest).is_file() || Path::new(dest).is_symlink() {
            // NOTE: ansible-core 2.18 moves the source directory over a destination
            // file or symlink here; rplay rejects the copy instead.
            return Err(Failure::new(format!(
                "rplay cannot copy the directory {src} over the file {dest}"
            )));
        }
    } else {
        let parent = python_dirname(dest);
        if !Path::new(&parent).exists() {
            return Err(Failure::new(format!(
                "Destination directory {parent} does not exist"
            )));
        }
    }
    let parent = python_dirname(dest);
    if !params.flag("unsafe_writes") && !writable(&parent) {
        return Err(Failure::new(format!("Destination {parent} not writable")));
    }
    Ok(None)
}

fn writable(path: &str) -> bool {
    let path = if path.is_empty() { "." } else { path };
    let Ok(c_path) = std::ffi::CString::new(path) else {
        return false;
    };
    // SAFETY: `c_path` is a NUL-terminated string that outlives the call.
    unsafe { libc::access(c_path.as_ptr(), libc::W_OK) == 0 }
}

impl RemoteCopy {
    /// Copies the directory `src` into the task's `dest` (`given_dest`, before the
    /// module joined the source's name to it), as the module's four cases do: with or
    /// without a trailing slash on `src`, into an existing or a new `dest`. `dest` is
    /// the path the result reports.
    fn copy_directory(&self, src: &str, given_dest: &str, dest: &str) -> io::Result<bool> {
        let src_path = Path::new(src);
        let given = Path::new(given_dest);
        let contents = PathBuf::from(python_join(src, ""));
        let mut changed = false;
        if src.ends_with('/') && given.is_dir() {
            changed |= self.sync_directories(src_path, given)?;
            changed |= self.chown_recursive(given)?;
        }
        if src.ends_with('/') && !given.exists() {
            let target = PathBuf::from(python_join(given_dest, &python_basename(src)));
            if !self.check_mode {
                copytree(&contents, &target, self.keep_symlinks())?;
            }
            self.chown_recursive(Path::new(dest))?;
            changed = true;
        }
        if !src.ends_with('/') && given.is_dir() {
            let target = PathBuf::from(python_join(given_dest, &python_basename(src)));
            if !target.exists() {
                if !self.check_mode {
                    copytree(&contents, &target, self.keep_symlinks())?;
                    self.chown_recursive(Path::new(dest))?;
                }
                changed = true;
            }
            if target.exists() {
                changed |= self.sync_directories(&contents, &target)?;
                changed |= self.chown_recursive(&target)?;
            }
        }
        if !src.ends_with('/') && !given.exists() {
            let target = PathBuf::from(python_join(given_dest, &python_basename(src)));
            if !target.exists() {
                if !self.check_mode {
                    fs::create_dir_all(&target)?;
                    self.sync_directories(&contents, &target)?;
                    self.chown_recursive(&target)?;
                }
                changed = true;
            }
        }
        Ok(changed)
    }

    /// `shutil.copytree`'s `symlinks`: `not local_follow`, so true unless
    /// `local_follow` is true.
    fn keep_symlinks(&self) -> bool {
        self.local_follow != Some(true)
    }

    /// Copies what differs or is missing in `dest`, level by level: the module's
    /// `copy_diff_files`, `copy_left_only` and `copy_common_dirs`.
    fn sync_directories(&self, src: &Path, dest: &Path) -> io::Result<bool> {
        let comparison = DirComparison::of(src, dest);
        let mut changed = self.copy_diff_files(src, dest, &comparison.diff_files)?;
        changed |= self.copy_left_only(src, dest, &comparison.left_only)?;
        for name in &comparison.common_dirs {
            changed |= self.sync_directories(&src.join(name), &dest.join(name))?;
        }
        Ok(changed)
    }

    fn copy_diff_files(&self, src: &Path, dest: &Path, names: &[String]) -> io::Result<bool> {
        if self.check_mode {
            return Ok(!names.is_empty());
        }
        for name in names {
            let (from, to) = (src.join(name), dest.join(name));
            if from.is_symlink() && self.local_follow == Some(false) {
                std::os::unix::fs::symlink(fs::read_link(&from)?, &to)?;
            } else {
                copy_file(&from, &to, FileCopyMode::KeepMode)?;
            }
            self.set_owner_group(&to)?;
        }
        Ok(!names.is_empty())
    }

    fn copy_left_only(&self, src: &Path, dest: &Path, names: &[String]) -> io::Result<bool> {
        if self.check_mode {
            return Ok(!names.is_empty());
        }
        for name in names {
            let (from, to) = (src.join(name), dest.join(name));
            let link = from.is_symlink();
            match (link, from.is_dir(), from.is_file(), self.local_follow) {
                (true, true, _, Some(true)) => {
                    copytree(&from, &to, false)?;
                    self.chown_recursive(&to)?;
                }
                (true, _, _, Some(false)) if from.exists() => {
                    std::os::unix::fs::symlink(fs::read_link(&from)?, &to)?;
                }
                (true, false, true, Some(true)) => {
                    copy_file(&from, &to, FileCopyMode::ContentOnly)?;
                    self.set_owner_group(&to)?;
                }
                (false, false, true, _) => {
                    copy_file(&from, &to, FileCopyMode::KeepMode)?;
                    self.set_owner_group(&to)?;
                }
                (false, true, _, _) => {
                    copytree(&from, &to, self.keep_symlinks())?;
                    self.chown_recursive(&to)?;
                }
                // NOTE: as in ansible-core 2.18, a symlink is not copied at all when
                // `local_follow` is unset, nor is a dangling one, yet both count as a
                // change.
                _ => {}
            }
        }
        Ok(!names.is_empty())
    }

    fn set_owner_group(&self, path: &Path) -> io::Result<()> {
        let attributes = FileAttributes {
            owner: self.owner.clone(),
            group: self.group.clone(),
            mode: None,
            attributes: None,
        };
        set_attributes_if_different(path, &attributes, false, &mut None)
            .map(|_| ())
            .map_err(|failure| io::Error::other(failure.msg))
    }

    /// Sets the task's owner and group on `root` and everything below it, as the
    /// module's `chown_recursive` does; in check mode only compares them.
    fn chown_recursive(&self, root: &Path) -> io::Result<bool> {
        if self.owner.is_none() && self.group.is_none() {
            return Ok(false);
        }
        let attributes = FileAttributes {
            owner: self.owner.clone(),
            group: self.group.clone(),
            mode: None,
            attributes: None,
        };
        let mut changed = false;
        for path in walk_paths(root) {
            changed |= set_attributes_if_different(&path, &attributes, self.check_mode, &mut None)
                .map_err(|failure| io::Error::other(failure.msg))?;
        }
        Ok(changed)
    }
}

/// `root` and every path below it, without descending into symlinked directories, as
/// `os.walk` lists them (unreadable directories are skipped).
fn walk_paths(root: &Path) -> Vec<PathBuf> {
    if !root.is_dir() {
        return Vec::new();
    }
    let mut paths = vec![root.to_path_buf()];
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let Ok(entries) = fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() && !path.is_symlink() {
                pending.push(path.clone());
            }
            paths.push(path);
        }
    }
    paths
}

/// The comparison `filecmp.dircmp(src, dest)` makes, in its sorted order.
#[derive(Debug, Default, PartialEq)]
struct DirComparison {
    left_only: Vec<String>,
    common_dirs: Vec<String>,
    diff_files: Vec<String>,
}

impl DirComparison {
    fn of(left: &Path, right: &Path) -> DirComparison {
        let left_names = listed_names(left);
        let right_names = listed_names(right);
        let mut comparison = DirComparison::default();
        for name in &left_names {
            if !right_names.contains(name) {
                comparison.left_only.push(name.clone());
                continue;
            }
            let (Ok(a), Ok(b)) = (
                fs::metadata(left.join(name)),
                fs::metadata(right.join(name)),
            ) else {
                continue;
            };
            if a.is_dir() && b.is_dir() {
                comparison.common_dirs.push(name.clone());
            } else if a.is_file() && b.is_file() {
                let (from, to) = (left.join(name), right.join(name));
                if files_differ(&from, &a, &to, &b) == Some(true) {
                    comparison.diff_files.push(name.clone());
                }
            }
        }
        comparison
    }
}

/// Lists a directory's names, sorted, without the ones `dircmp` ignores.
fn listed_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| !DIRCMP_IGNORED.contains(&name.as_str()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `filecmp.cmp(a, b, shallow=True)` negated: files with the same size and modification
/// time are taken as equal, others are compared byte by byte. `None` when one cannot be
/// read (dircmp then lists the name as neither equal nor different).
fn files_differ(a: &Path, a_meta: &fs::Metadata, b: &Path, b_meta: &fs::Metadata) -> Option<bool> {
    let signature = |meta: &fs::Metadata| (meta.size(), meta.mtime(), meta.mtime_nsec());
    if signature(a_meta) == signature(b_meta) {
        return Some(false);
    }
    if a_meta.size() != b_meta.size() {
        return Some(true);
    }
    Some(fs::read(a).ok()? != fs::read(b).ok()?)
}

/// The metadata [`copy_file`] keeps of the source besides its content.
#[derive(Clone, Copy, PartialEq)]
enum FileCopyMode {
    /// `shutil.copyfile`: the content only.
    ContentOnly,
    /// `copyfile` and `copymode`: the content and the permission bits.
    KeepMode,
    /// `shutil.copy2`: the content, the permission bits and the access and modification
    /// times.
    KeepStat,
}

/// Copies the file `from` (following a symlink) to `to` through a temporary file beside
/// `to`. An existing `to` keeps its owner, and its mode unless the copy takes the
/// source's.
fn copy_file(from: &Path, to: &Path, copy_mode: FileCopyMode) -> io::Result<()> {
    let data = fs::read(from)?;
    let meta = fs::metadata(from)?;
    let temp = crate::files::temp_file_beside(to, &data)?;
    let prepared = (|| {
        match fs::metadata(to) {
            Ok(existing) => {
                let _ = std::os::unix::fs::chown(&temp, Some(existing.uid()), Some(existing.gid()));
                fs::set_permissions(&temp, fs::Permissions::from_mode(existing.mode() & 0o7777))?;
            }
            Err(_) => {
                let mode = 0o666 & !crate::files::umask();
                fs::set_permissions(&temp, fs::Permissions::from_mode(mode))?;
            }
        }
        if copy_mode != FileCopyMode::ContentOnly {
            fs::set_permissions(&temp, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        }
        if copy_mode == FileCopyMode::KeepStat {
            copy_times(&meta, &temp)?;
        }
        fs::rename(&temp, to)
    })();
    if prepared.is_err() {
        let _ = fs::remove_file(&temp);
    }
    prepared
}

fn copy_times(meta: &fs::Metadata, to: &Path) -> io::Result<()> {
    let times = fs::FileTimes::new()
        .set_accessed(meta.accessed()?)
        .set_modified(meta.modified()?);
    fs::File::open(to)?.set_times(times)
}

/// `shutil.copytree(from, to, symlinks)`: creates `to` (which must not exist), copies
/// files as `copy2` does, and keeps symlinks as symlinks when `symlinks` is true, else
/// copies what they point to. The directories get the source's mode and times last.
fn copytree(from: &Path, to: &Path, symlinks: bool) -> io::Result<()> {
    fs::create_dir_all(to)?;
    let mut first_error = None;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let copied = if source.is_symlink() && symlinks {
            std::os::unix::fs::symlink(fs::read_link(&source)?, &target)
        } else if source.is_dir() {
            copytree(&source, &target, symlinks)
        } else {
            copy_file(&source, &target, FileCopyMode::KeepStat)
        };
        if let Err(err) = copied {
            first_error.get_or_insert(err);
        }
    }
    let meta = fs::metadata(from)?;
    fs::set_permissions(to, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    copy_times(&meta, to)?;
    match first_error {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Python's `os.path.dirname`.
fn python_dirname(path: &str) -> String {
    let head = match path.rfind('/') {
        Some(index) => &path[..=index],
        None => return String::new(),
    };
    let trimmed = head.trim_end_matches('/');
    if trimmed.is_empty() {
        head.to_string()
    } else {
        trimmed.to_string()
    }
}

/// Python's `os.path.basename`: empty for a path ending in a slash.
fn python_basename(path: &str) -> String {
    path.rsplit('/').next().unwrap_or_default().to_string()
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

    #[test]
    fn python_path_helpers() {
        assert_eq!(python_dirname("/a/b/"), "/a/b");
        assert_eq!(python_dirname("/a/b"), "/a");
        assert_eq!(python_dirname("/a"), "/");
        assert_eq!(python_dirname("a"), "");
        assert_eq!(python_basename("/a/b/"), "");
        assert_eq!(python_basename("/a/b"), "b");
        assert_eq!(python_join("/a", ""), "/a/");
        assert_eq!(python_join("/a/", "b"), "/a/b");
    }

    fn remote_copy(src: &str, dest: &str, check_mode: bool) -> Map {
        let mut args = Map::new();
        args.insert(Value::from("src"), Value::from(src));
        args.insert(Value::from("dest"), Value::from(dest));
        args.insert(Value::from("remote_src"), Value::Bool(true));
        let params = crate::copy::SPEC.validate(&args).unwrap();
        let options = ModuleOptions {
            check_mode,
            ..ModuleOptions::default()
        };
        crate::copy::run(&params, &options)
    }

    fn source_tree(root: &Path) -> String {
        let src = root.join("src");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("a.txt"), "a").unwrap();
        fs::write(src.join("sub/b.txt"), "b").unwrap();
        src.display().to_string()
    }

    #[test]
    fn remote_directory_copied_into_new_dest() {
        let dir = tempfile::tempdir().unwrap();
        let src = source_tree(dir.path());
        let dest = dir.path().join("dest");
        let result = remote_copy(&src, &dest.display().to_string(), false);
        assert_eq!(
            result.get("changed"),
            Some(&Value::Bool(true)),
            "{result:?}"
        );
        assert_eq!(result.get("checksum"), Some(&Value::Null));
        assert_eq!(fs::read_to_string(dest.join("src/sub/b.txt")).unwrap(), "b");
    }

    #[test]
    fn remote_contents_synced_then_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let src = source_tree(dir.path());
        let dest = dir.path().join("dest").display().to_string();
        let first = remote_copy(&format!("{src}/"), &dest, false);
        assert_eq!(first.get("changed"), Some(&Value::Bool(true)), "{first:?}");
        assert_eq!(fs::read_to_string(format!("{dest}/a.txt")).unwrap(), "a");
        let second = remote_copy(&format!("{src}/"), &dest, false);
        assert_eq!(
            second.get("changed"),
            Some(&Value::Bool(false)),
            "{second:?}"
        );
        fs::write(format!("{src}/sub/b.txt"), "changed").unwrap();
        let third = remote_copy(&format!("{src}/"), &dest, false);
        assert_eq!(third.get("changed"), Some(&Value::Bool(true)), "{third:?}");
        assert_eq!(
            fs::read_to_string(format!("{dest}/sub/b.txt")).unwrap(),
            "changed"
        );
    }

    #[test]
    fn remote_check_mode_copies_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let src = source_tree(dir.path());
        let dest = dir.path().join("dest");
        let result = remote_copy(&src, &dest.display().to_string(), true);
        assert_eq!(
            result.get("changed"),
            Some(&Value::Bool(true)),
            "{result:?}"
        );
        assert!(!dest.exists());
    }
}
