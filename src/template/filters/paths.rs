//! Path filters that read the controller's filesystem and user database: `realpath`
//! and `expanduser`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use minijinja::value::Value as JValue;
use minijinja::{Environment, Error, State};

use super::{add, ansible, Args, Undefined};
use crate::template::pyrepr::py_str;
use crate::template::render::undefined_error;

/// The number of symbolic links followed before the rest of a path is taken as it is.
const MAX_LINKS: usize = 40;

pub fn register(env: &mut Environment<'static>) {
    add(env, ansible("realpath"), Undefined::Reject, realpath);
    add(env, ansible("expanduser"), Undefined::Reject, expanduser);
}

/// Python's `os.path.expanduser` on the controller: a leading `~` is `$HOME`, and
/// `~NAME` the home directory of the user NAME; an unknown user leaves the text as it is.
fn expanduser(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = py_str(&args.value).map_err(|_| undefined_error())?;
    Ok(JValue::from(expand_user(&text)))
}

fn expand_user(text: &str) -> String {
    let Some(rest) = text.strip_prefix('~') else {
        return text.to_owned();
    };
    let end = rest.find('/').unwrap_or(rest.len());
    let (name, tail) = rest.split_at(end);
    let home = if name.is_empty() {
        std::env::var("HOME").ok()
    } else {
        rplay_modules::files::user_home(name)
    };
    let Some(home) = home else {
        return text.to_owned();
    };
    let joined = format!("{}{tail}", home.trim_end_matches('/'));
    if joined.is_empty() {
        "/".to_owned()
    } else {
        joined
    }
}

/// Python's `os.path.realpath` on the controller: made absolute against the current
/// directory, with `.`, `..` and symbolic links resolved. Missing components are kept
/// as they are, so the path need not exist.
fn realpath(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let text = py_str(&args.value).map_err(|_| undefined_error())?;
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    Ok(JValue::from(
        resolve_links(&cwd.join(text))
            .to_string_lossy()
            .into_owned(),
    ))
}

/// Resolves `path` (absolute) component by component, following symbolic links.
pub fn resolve_links(path: &Path) -> PathBuf {
    let mut pending: VecDeque<String> = components(path).into();
    let mut resolved = PathBuf::from("/");
    let mut links = 0;
    while let Some(name) = pending.pop_front() {
        match name.as_str() {
            "" | "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let candidate = resolved.join(&name);
        let target = (links < MAX_LINKS)
            .then(|| std::fs::read_link(&candidate).ok())
            .flatten();
        let Some(target) = target else {
            resolved = candidate;
            continue;
        };
        links += 1;
        if target.is_absolute() {
            resolved = PathBuf::from("/");
        }
        for part in components(&target).into_iter().rev() {
            pending.push_front(part);
        }
    }
    resolved
}

fn components(path: &Path) -> Vec<String> {
    path.to_string_lossy()
        .split('/')
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_links_follows_relative_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();
        let resolved = resolve_links(&dir.path().join("link/../link/file"));
        let expected = resolve_links(dir.path()).join("real/file");
        assert_eq!(resolved, expected);
    }

    #[test]
    fn resolve_links_keeps_missing_tail() {
        assert_eq!(
            resolve_links(Path::new("/nonexistent/a/./b/../c")),
            PathBuf::from("/nonexistent/a/c")
        );
    }

    #[test]
    fn expand_user_forms() {
        assert_eq!(expand_user("~root/x"), "/root/x");
        assert_eq!(expand_user("~no-such-user-here/x"), "~no-such-user-here/x");
        assert_eq!(expand_user("a/~"), "a/~");
    }

    #[test]
    fn resolve_links_stops_on_loop() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("loop", dir.path().join("loop")).unwrap();
        let resolved = resolve_links(&dir.path().join("loop"));
        assert!(resolved.ends_with("loop"));
    }
}
