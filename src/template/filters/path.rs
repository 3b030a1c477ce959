//! Path filters that read the controller's environment or filesystem, as Python's
//! `os.path` functions do: `expanduser`, `expandvars`, `realpath` and `relpath`.
//!
//! Ansible runs these filters on the controller, so `~` is the controller user's home
//! and `realpath` resolves the controller's symbolic links, whichever host the task
//! targets.

use std::ffi::{CStr, CString};
use std::path::PathBuf;

use minijinja::value::Value as JValue;
use minijinja::{Environment, Error, State};

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
}

fn input(args: &Args) -> Result<String, Error> {
    py_str(&args.value).map_err(|_| undefined_error())
}

fn expanduser(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    let home = std::env::var("HOME").ok();
    Ok(JValue::from(expand_user(&text, home.as_deref(), home_of)))
}

/// Python's `os.path.expanduser`: a leading `~` becomes `home` (the user's entry in
/// the password database when `home` is `None`), `~name` becomes the home of `name`.
/// Paths without a leading `~`, and `~name` of an unknown user, stay unchanged.
fn expand_user(
    path: &str,
    home: Option<&str>,
    home_of: impl Fn(Option<&str>) -> Option<String>,
) -> String {
    let Some(rest) = path.strip_prefix('~') else {
        return path.to_owned();
    };
    let name_end = rest.find('/').unwrap_or(rest.len());
    let (name, tail) = rest.split_at(name_end);
    let user_home = if name.is_empty() {
        home.map(str::to_owned).or_else(|| home_of(None))
    } else {
        home_of(Some(name))
    };
    let Some(user_home) = user_home else {
        return path.to_owned();
    };
    let expanded = format!("{}{tail}", user_home.trim_end_matches('/'));
    if expanded.is_empty() {
        "/".to_owned()
    } else {
        expanded
    }
}

/// The home directory of the user `name`, or of the current user for `None`, from the
/// password database (`getpwnam_r(3)`, `getpwuid_r(3)`).
fn home_of(name: Option<&str>) -> Option<String> {
    let name = match name {
        Some(name) => Some(CString::new(name).ok()?),
        None => None,
    };
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: `entry`, `buffer` and `name` outlive the call, and on success `pw_dir`
    // points into `buffer`, which is read before it is dropped.
    unsafe {
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = match &name {
            Some(name) => libc::getpwnam_r(
                name.as_ptr(),
                &mut entry,
                buffer.as_mut_ptr(),
                buffer.len(),
                &mut found,
            ),
            None => libc::getpwuid_r(
                libc::getuid(),
                &mut entry,
                buffer.as_mut_ptr(),
                buffer.len(),
                &mut found,
            ),
        };
        if rc != 0 || found.is_null() || entry.pw_dir.is_null() {
            return None;
        }
        Some(CStr::from_ptr(entry.pw_dir).to_string_lossy().into_owned())
    }
}

fn expandvars(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = input(args)?;
    Ok(JValue::from(expand_vars(&text, |name| {
        std::env::var(name).ok()
    })))
}

/// Python's `os.path.expandvars`: `$name` and `${name}` of set variables are replaced,
/// where a name is ASCII letters, digits and `_`. Unset ones stay as written, and a
/// replacement is not expanded again.
fn expand_vars(path: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let (name, length) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(close) => (&braced[..close], close + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        let reference = &rest[dollar..dollar + 1 + length];
        match lookup(name).filter(|_| length > 0) {
            Some(value) => out.push_str(&value),
            None if length == 0 => out.push('$'),
            None => out.push_str(reference),
        }
        rest = &rest[dollar + 1 + length..];
    }
    out.push_str(rest);
    out
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

/// The non-empty components of a path, `.` and `..` included.
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

    fn no_users(_: Option<&str>) -> Option<String> {
        None
    }

    fn users(name: Option<&str>) -> Option<String> {
        match name {
            None => Some("/home/me".to_owned()),
            Some("root") => Some("/root".to_owned()),
            Some("slash") => Some("/".to_owned()),
            Some(_) => None,
        }
    }

    #[test]
    fn expand_user_home() {
        assert_eq!(expand_user("~", Some("/h/u/"), no_users), "/h/u");
        assert_eq!(expand_user("~/a/b", Some("/h/u"), no_users), "/h/u/a/b");
        assert_eq!(expand_user("~/a", None, users), "/home/me/a");
        assert_eq!(expand_user("~/a", None, no_users), "~/a");
    }

    #[test]
    fn expand_user_named() {
        assert_eq!(expand_user("~root/x", Some("/h"), users), "/root/x");
        assert_eq!(expand_user("~slash", Some("/h"), users), "/");
        assert_eq!(expand_user("~nobody42/x", Some("/h"), users), "~nobody42/x");
    }

    #[test]
    fn expand_user_leaves_others() {
        assert_eq!(expand_user("/a/~/b", Some("/h"), users), "/a/~/b");
        assert_eq!(expand_user("", Some("/h"), users), "");
    }

    #[test]
    fn expand_vars_cases() {
        let lookup = |name: &str| match name {
            "A" => Some("1".to_owned()),
            "B_2" => Some("$A".to_owned()),
            _ => None,
        };
        assert_eq!(expand_vars("$A/${A}x", lookup), "1/1x");
        assert_eq!(expand_vars("$B_2", lookup), "$A");
        assert_eq!(
            expand_vars("$NOPE ${NOPE} $ ${A", lookup),
            "$NOPE ${NOPE} $ ${A"
        );
        assert_eq!(expand_vars("a$-b$", lookup), "a$-b$");
    }

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
