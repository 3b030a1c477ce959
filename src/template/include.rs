//! The search path of `{% include %}`, `{% import %}` and `{% extends %}`.
//!
//! ansible-core gives Jinja2 a file-system loader only while it renders a template file:
//! the `template` action and the `template` lookup each set their own search path. rplay
//! installs one loader on the shared environment, which reads the search path of the
//! innermost [`IncludeScope`] of the current thread. Outside any scope nothing can be
//! included, as in ansible-core, whose other templating has no search path.
//!
//! NOTE: minijinja compiles an included file itself, with the environment's syntax: Jinja2's
//! default delimiters with `trim_blocks`, whatever the including template set. The file
//! also misses rplay's bytecode rewrite, so attribute access on an undefined value fails
//! at once there instead of chaining as in Ansible.

use std::cell::RefCell;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use minijinja::value::Value as JValue;
use minijinja::{Error, ErrorKind, TemplateSource};

use super::pyrepr::py_repr;

thread_local! {
    static SEARCH_PATHS: RefCell<Vec<Vec<PathBuf>>> = const { RefCell::new(Vec::new()) };
}

/// Makes `dirs` the include search path until the scope is dropped.
pub struct IncludeScope(());

impl IncludeScope {
    pub fn enter(dirs: Vec<PathBuf>) -> IncludeScope {
        SEARCH_PATHS.with(|paths| paths.borrow_mut().push(dirs));
        IncludeScope(())
    }
}

impl Drop for IncludeScope {
    fn drop(&mut self) {
        SEARCH_PATHS.with(|paths| paths.borrow_mut().pop());
    }
}

/// Adds `DIR/templates` before each `DIR`, as ansible-core builds the search path of a
/// template from `ansible_search_path`.
pub fn with_templates_dirs(dirs: impl IntoIterator<Item = PathBuf>) -> Vec<PathBuf> {
    dirs.into_iter()
        .flat_map(|dir| [dir.join("templates"), dir])
        .collect()
}

/// Loads the template `name` from the current search path for the environment's loader.
///
/// The source carries a check that fails when `name` would now resolve to another file or
/// the file changed, so the environment, which caches loaded templates by name, loads it
/// again under another search path.
pub fn load(name: &str) -> Result<Option<TemplateSource>, Error> {
    let Some(path) = resolve(name) else {
        return Ok(None);
    };
    let source = std::fs::read_to_string(&path).map_err(|err| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("could not read {}: {err}", path.display()),
        )
    })?;
    let modified = modified_time(&path);
    let name = name.to_owned();
    let source = TemplateSource::new(source).with_uptodate_check(move || {
        resolve(&name).as_deref() == Some(path.as_path()) && modified_time(&path) == modified
    });
    Ok(Some(source))
}

/// Builds Jinja2's `TemplateNotFound` message for `name` under the current search path.
pub fn not_found_message(name: &str) -> String {
    let quote = |text: &str| py_repr(&JValue::from(text)).unwrap_or_default();
    let dirs: Vec<String> = SEARCH_PATHS.with(|paths| {
        let paths = paths.borrow();
        let dirs = paths.last().map(Vec::as_slice).unwrap_or_default();
        dirs.iter()
            .map(|dir| quote(&dir.to_string_lossy()))
            .collect()
    });
    format!(
        "{} not found in search paths: {}",
        quote(name),
        dirs.join(", ")
    )
}

fn modified_time(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path)
        .and_then(|meta| meta.modified())
        .ok()
}

/// Finds `name` in the innermost search path as Jinja2's `FileSystemLoader` does: the
/// name is split at `/`, empty and `.` parts are dropped, and `..` is not allowed.
fn resolve(name: &str) -> Option<PathBuf> {
    let relative: PathBuf = name
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    if relative
        .components()
        .any(|part| !matches!(part, Component::Normal(_)))
    {
        return None;
    }
    SEARCH_PATHS.with(|paths| {
        let paths = paths.borrow();
        paths
            .last()?
            .iter()
            .map(|dir| dir.join(&relative))
            .find(|candidate| candidate.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_resolves_in_innermost_scope() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("inner");
        std::fs::create_dir(&inner).unwrap();
        std::fs::write(dir.path().join("a.txt"), "outer").unwrap();
        std::fs::write(inner.join("a.txt"), "inner").unwrap();
        let _outer = IncludeScope::enter(vec![dir.path().to_path_buf()]);
        assert_eq!(resolve("a.txt"), Some(dir.path().join("a.txt")));
        {
            let _inner = IncludeScope::enter(vec![inner.clone()]);
            assert_eq!(resolve("./a.txt"), Some(inner.join("a.txt")));
        }
        assert_eq!(resolve("a.txt"), Some(dir.path().join("a.txt")));
    }

    #[test]
    fn include_rejects_parent_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let _scope = IncludeScope::enter(vec![dir.path().join("sub")]);
        std::fs::write(dir.path().join("a.txt"), "x").unwrap();
        assert_eq!(resolve("../a.txt"), None);
    }

    #[test]
    fn include_without_scope_finds_nothing() {
        assert_eq!(resolve("Cargo.toml"), None);
    }
}
