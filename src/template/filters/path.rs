//! Path filters that read the controller's environment or filesystem, as Python's
//! `os.path` functions do: `expanduser`, `expandvars`, `realpath` and `relpath`, and
//! `fileglob`.
//!
//! Ansible runs these filters on the controller, so `~` is the controller user's home
//! and `realpath` resolves the controller's symbolic links, whichever host the task
//! targets.

use std::path::PathBuf;

use minijinja::value::Value as JValue;
use minijinja::{Environment, Error, State};
use rplay_modules::ospath;

use super::text::normpath_of;
use super::{add, ansible, filter_error, Args, Undefined};
use crate::template::pyrepr::py_str;
use crate::template::render::undefined_error;

/// Symbolic links followed in one `realpath` before it gives up, as Linux's `ELOOP`
/// limit (`MAXSYMLINKS`, 40).
const MAX_SYMLINKS: usize = 40;

pub fn register(env: &mut Environment<'static>) {
    add(env, ansible("expanduser"), Undefined::Reject, expanduser);
    add(env, ansible("expandvars"), Undefined::Reject, expandvars);
    add(env, ansible("realpath"), Undefined::Reject, realpath);
    add(env, ansible("relpath"), Undefined::Reject, relpath);
    add(env, ansible("fileglob"), Undefined::Reject, fileglob);
}

fn input(args: &Args) -> Result<String, Error> {
    py_str(&args.value).map_err(|_| undefined_error())
}

/// Ansible's `fileglob` filter: the regular files matching a shell pattern on the
/// controller, as Python's `glob.glob` finds them.
///
/// NOTE: the matches are sorted by name, where Python lists them in the order the
/// directory returns them.
fn fileglob(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let pattern = input(args)?;
    let Ok(paths) = glob::glob(&pattern) else {
        return Ok(JValue::from(Vec::<JValue>::new()));
    };
    let files: Vec<JValue> = paths
        .filter_map(Result::ok)
        .filter(|path| path.is_file())
        .map(|path| JValue::from(path.to_string_lossy().into_owned()))
        .collect();
    Ok(JValue::from(files))
}

fn expanduser(_: &mut State, args: &Args) -> Result<JValue, Error> {
    Ok(JValue::from(ospath::expanduser(&input(args)?)))
}

fn expandvars(_: &mut State, args: &Args) -> Result<JValue, Error> {
    Ok(JValue::from(ospath::expandvars(&input(args)?)))
}

fn realpath(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    Ok(JValue::from(real_path(&absolute(&text)?)))
}

/// Python's `os.path.abspath`: `path` joined to the working directory, normalised.
fn absolute(path: &str) -> Result<String, Error> {
    if path.starts_with('/') {
        return Ok(normpath_of(path));
    }
    let cwd = std::env::current_dir()
        .map_err(|error| filter_error(format!("cannot read the working directory: {error}")))?;
    Ok(normpath_of(&format!("{}/{path}", cwd.display())))
}

/// Python's `os.path.realpath` without `strict`: symbolic links along the absolute
/// path `path` are resolved, and components that do not exist are kept as they are.
/// After too many links (a loop), the rest of the path is appended unresolved.
fn real_path(path: &str) -> String {
    let mut pending: Vec<String> = components(path);
    pending.reverse();
    let mut resolved = PathBuf::from("/");
    let mut links = 0;
    while let Some(name) = pending.pop() {
        match name.as_str() {
            "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let candidate = resolved.join(&name);
        let target = match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => std::fs::read_link(&candidate).ok(),
            _ => None,
        };
        let Some(target) = target else {
            resolved = candidate;
            continue;
        };
        links += 1;
        if links > MAX_SYMLINKS {
            resolved = candidate;
            pending.reverse();
            resolved.extend(pending.drain(..));
            break;
        }
        if target.is_absolute() {
            resolved = PathBuf::from("/");
        }
        let mut expansion = components(&target.to_string_lossy());
        expansion.reverse();
        pending.extend(expansion);
    }
    resolved.to_string_lossy().into_owned()
}

/// Returns the non-empty components of a path, `.` and `..` included.
fn components(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|part| !part.is_empty())
        .map(str::to_owned)
        .collect()
}

fn relpath(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    if text.is_empty() {
        return Err(filter_error("no path specified"));
    }
    let start = match args.get(0, "start") {
        Some(start) => py_str(start).map_err(|_| undefined_error())?,
        None => ".".to_owned(),
    };
    if start.is_empty() {
        return Err(filter_error("no path specified"));
    }
    Ok(JValue::from(relative(
        &absolute(&text)?,
        &absolute(&start)?,
    )))
}

/// Python's `os.path.relpath` of two absolute, normalised paths.
fn relative(path: &str, start: &str) -> String {
    let path_parts = components(path);
    let start_parts = components(start);
    let common = path_parts
        .iter()
        .zip(&start_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<&str> = vec![".."; start_parts.len() - common];
    parts.extend(path_parts[common..].iter().map(String::as_str));
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_path_follows_links() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let base = dir.path().canonicalize().expect("canonical path");
        std::fs::create_dir(base.join("real")).expect("directory");
        std::os::unix::fs::symlink("real", base.join("rel")).expect("symlink");
        std::os::unix::fs::symlink(base.join("real"), base.join("abs")).expect("symlink");
        std::os::unix::fs::symlink("loop", base.join("loop")).expect("symlink");
        let base = base.to_string_lossy();
        assert_eq!(
            real_path(&format!("{base}/rel/x")),
            format!("{base}/real/x")
        );
        assert_eq!(real_path(&format!("{base}/abs/../y")), format!("{base}/y"));
        assert_eq!(
            real_path(&format!("{base}/missing/z")),
            format!("{base}/missing/z")
        );
        assert_eq!(
            real_path(&format!("{base}/loop/z")),
            format!("{base}/loop/z")
        );
    }

    #[test]
    fn relative_cases() {
        assert_eq!(relative("/a/b/c", "/a"), "b/c");
        assert_eq!(relative("/a", "/a/b/c"), "../..");
        assert_eq!(relative("/a/x", "/a/y"), "../x");
        assert_eq!(relative("/a", "/a"), ".");
        assert_eq!(relative("/", "/a"), "..");
    }
}
