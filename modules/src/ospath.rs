//! Python's `os.path.expanduser` and `os.path.expandvars`, for the template filters
//! of the same names and for the command module's argument expansion.

use std::ffi::{CStr, CString};

/// `expand_user` with the process's `HOME` and password database.
pub fn expanduser(path: &str) -> String {
    let home = std::env::var("HOME").ok();
    expand_user(path, home.as_deref(), home_of)
}

/// `expand_vars` with the process's environment.
pub fn expandvars(path: &str) -> String {
    expand_vars(path, |name| std::env::var(name).ok())
}

/// Python's `os.path.expanduser`: a leading `~` becomes `home` (the user's entry in
/// the password database when `home` is `None`), `~name` becomes the home of `name`.
/// Paths without a leading `~`, and `~name` of an unknown user, stay unchanged.
pub fn expand_user(
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

/// Returns the home directory of the user `name`, or of the current user for `None`,
/// from the password database (`getpwnam_r(3)`, `getpwuid_r(3)`).
pub fn home_of(name: Option<&str>) -> Option<String> {
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

/// Python's `os.path.expandvars`: `$name` and `${name}` of set variables are replaced,
/// where a name is ASCII letters, digits and `_`. Unset ones stay as written, and a
/// replacement is not expanded again.
pub fn expand_vars(path: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
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
}

/// Python's `os.path.realpath(path)` (not strict): symlinks are resolved as far as they
/// exist, and the rest of the path is kept as it is, also for a dangling link or a
/// link cycle.
pub fn realpath(path: &str) -> String {
    let mut seen = std::collections::HashMap::new();
    let (resolved, _) = join_real_path(String::new(), path, &mut seen);
    absolute_path(&resolved)
}

/// Resolves `rest` below `path`, as Python's `_joinrealpath` does. The flag is false
/// when a link cycle stopped the resolution.
fn join_real_path(
    mut path: String,
    rest: &str,
    seen: &mut std::collections::HashMap<String, Option<String>>,
) -> (String, bool) {
    let mut rest = rest.to_string();
    if let Some(stripped) = rest.strip_prefix('/') {
        rest = stripped.to_string();
        path = "/".to_string();
    }
    while !rest.is_empty() {
        let (name, tail) = match rest.split_once('/') {
            Some((name, tail)) => (name.to_string(), tail.to_string()),
            None => (rest.clone(), String::new()),
        };
        rest = tail;
        if name.is_empty() || name == "." {
            continue;
        }
        if name == ".." {
            path = parent_of(&path);
            continue;
        }
        let new_path = join(&path, &name);
        let is_link = std::fs::symlink_metadata(&new_path)
            .map(|meta| meta.file_type().is_symlink())
            .unwrap_or(false);
        if !is_link {
            path = new_path;
            continue;
        }
        match seen.get(&new_path) {
            Some(Some(resolved)) => {
                path = resolved.clone();
                continue;
            }
            Some(None) => return (join(&new_path, &rest), false),
            None => {}
        }
        seen.insert(new_path.clone(), None);
        let target = std::fs::read_link(&new_path)
            .map(|target| target.display().to_string())
            .unwrap_or_default();
        let (resolved, complete) = join_real_path(path, &target, seen);
        if !complete {
            return (join(&resolved, &rest), false);
        }
        seen.insert(new_path, Some(resolved.clone()));
        path = resolved;
    }
    (path, true)
}

/// Returns the directory above `path` for a `..` component, as `_joinrealpath` does.
fn parent_of(path: &str) -> String {
    if path.is_empty() {
        return "..".to_string();
    }
    let (head, name) = match path.rfind('/') {
        Some(index) => {
            let head = &path[..=index];
            let trimmed = head.trim_end_matches('/');
            let head = if trimmed.is_empty() { head } else { trimmed };
            (head.to_string(), &path[index + 1..])
        }
        None => (String::new(), path),
    };
    if name == ".." {
        join(&join(&head, ".."), "..")
    } else {
        head
    }
}

fn join(head: &str, tail: &str) -> String {
    if tail.starts_with('/') {
        tail.to_string()
    } else if head.is_empty() || head.ends_with('/') {
        format!("{head}{tail}")
    } else if tail.is_empty() {
        format!("{head}/")
    } else {
        format!("{head}/{tail}")
    }
}

/// Python's `os.path.abspath`: joined to the working directory, then normalised.
pub fn absolute_path(path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        let cwd = std::env::current_dir()
            .map(|dir| dir.display().to_string())
            .unwrap_or_else(|_| "/".to_string());
        join(&cwd, path)
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod realpath_tests {
    use super::realpath;

    #[test]
    fn realpath_keeps_dangling_and_cyclic_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let root_text = root.display().to_string();
        std::os::unix::fs::symlink("/nonexistent", root.join("dangling")).unwrap();
        std::os::unix::fs::symlink("missing/x", root.join("relative")).unwrap();
        std::os::unix::fs::symlink("cycle", root.join("cycle")).unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::os::unix::fs::symlink("../sub", root.join("sub/up")).unwrap();
        assert_eq!(realpath(&format!("{root_text}/dangling")), "/nonexistent");
        assert_eq!(
            realpath(&format!("{root_text}/relative")),
            format!("{root_text}/missing/x")
        );
        assert_eq!(
            realpath(&format!("{root_text}/cycle")),
            format!("{root_text}/cycle")
        );
        assert_eq!(
            realpath(&format!("{root_text}/sub/up")),
            format!("{root_text}/sub")
        );
    }
}
