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
