//! The path an `included:` line prints for `include_tasks`.
//!
//! ansible-core 2.18 (`IncludedFile.process_include_results`) prints the first path that
//! exists among the ones it tries, and some of those are joined without normalising. So a
//! role task with `include_tasks: ../../other/tasks/x.yml` prints
//! `/abs/roles/role/tasks/../../other/tasks/x.yml`, while an include nested in that file
//! prints the normalised `/abs/roles/other/tasks/y.yml`. rplay finds files its own way and
//! uses these rules only for the text it prints.

use std::path::{Path, PathBuf};

use crate::config::normalize;

/// An include or import around an `include_tasks` task, as ansible-core walks them from
/// the task outwards.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum EnclosingInclude {
    /// `include_tasks` or `import_tasks` of this file, as written (after templating).
    File(String),
    /// `include_role` or `import_role` of the role in this directory.
    Role(PathBuf),
}

/// The place of an `include_tasks` task in the play.
pub(super) struct IncludeSite<'a> {
    /// The directory of the task's role, absolute.
    pub role_path: Option<&'a Path>,
    /// The directory of the play's playbook file, absolute.
    pub play_dir: &'a Path,
    /// The includes and imports around the task, innermost first.
    pub enclosing: &'a [EnclosingInclude],
    /// The include is a handler's, so role files are looked up under `handlers/`.
    pub handler: bool,
    /// The current directory, which ansible-core's `unfrackpath` resolves against.
    pub cwd: &'a Path,
}

/// Returns the path ansible-core prints for `include_tasks: target` at `site`.
pub(super) fn included_file_path(target: &str, site: &IncludeSite) -> PathBuf {
    let role_dir = if site.handler { "handlers" } else { "tasks" };
    let mut include_file = None;
    let mut cumulative: Option<PathBuf> = None;
    for enclosing in site.enclosing {
        let parent_dir = match enclosing {
            EnclosingInclude::Role(path) => path.clone(),
            EnclosingInclude::File(file) => Path::new(file)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        };
        cumulative = Some(match cumulative {
            Some(path) if !path.is_absolute() => parent_dir.join(path),
            _ => parent_dir,
        });
        let cumulative = cumulative.as_deref().unwrap_or(Path::new(""));
        let file = match site.role_path {
            Some(role_path) => {
                let nested_base = role_path.join(role_dir).join(cumulative);
                let candidates = [
                    dwim_relative(site, role_path, role_dir, target, true),
                    dwim_relative(site, &nested_base, role_dir, target, true),
                ];
                let found = candidates.iter().find(|path| path.exists()).cloned();
                found.unwrap_or_else(|| candidates[1].clone())
            }
            None => dwim_relative(
                site,
                site.play_dir,
                &cumulative.to_string_lossy(),
                target,
                false,
            ),
        };
        let exists = file.exists();
        include_file = Some(file);
        if exists {
            break;
        }
    }
    include_file.unwrap_or_else(|| match site.role_path {
        Some(role_path) => dwim_relative(site, role_path, role_dir, target, true),
        None => dwim(site, site.play_dir, target),
    })
}

/// Returns the first existing path among the loader's `path_dwim_relative` candidates,
/// or the last candidate.
pub(super) fn dwim_relative(
    site: &IncludeSite,
    path: &Path,
    dirname: &str,
    source: &str,
    is_role: bool,
) -> PathBuf {
    let candidates = dwim_relative_candidates(site, path, dirname, source, is_role);
    let found = candidates
        .iter()
        .find(|candidate| candidate.exists())
        .cloned();
    found.unwrap_or_else(|| candidates.last().cloned().unwrap_or_default())
}

fn dwim_relative_candidates(
    site: &IncludeSite,
    path: &Path,
    dirname: &str,
    source: &str,
    is_role: bool,
) -> Vec<PathBuf> {
    if source.starts_with('/') || source.starts_with('~') {
        return vec![unfrack(site.cwd, Path::new(source))];
    }
    // The first candidate is joined as written, without normalising.
    let mut candidates = vec![path.join(dirname).join(source)];
    let is_role = is_role || looks_like_role(site, path);
    let basedir = if is_role && ends_with_tasks(path) {
        unfrack(site.cwd, path.parent().unwrap_or(Path::new("")))
    } else {
        unfrack(site.cwd, path)
    };
    candidates.push(unfrack(site.cwd, &basedir.join(dirname).join(source)));
    if is_role && !source.ends_with(dirname) {
        candidates.push(unfrack(site.cwd, &basedir.join("tasks").join(source)));
    }
    candidates.push(unfrack(site.cwd, &Path::new(dirname).join(source)));
    candidates.push(unfrack(site.cwd, &basedir.join(source)));
    let joined = Path::new(dirname).join(source);
    candidates.push(dwim(site, site.play_dir, &joined.to_string_lossy()));
    candidates.push(dwim(site, site.play_dir, source));
    candidates
}

/// Resolves `given` as the loader's `path_dwim` does with its base directory at `basedir`,
/// after removing one pair of outer quotes.
fn dwim(site: &IncludeSite, basedir: &Path, given: &str) -> PathBuf {
    let given = unquote(given);
    if given.starts_with('/') || given.starts_with('~') {
        unfrack(site.cwd, Path::new(given))
    } else {
        unfrack(site.cwd, &basedir.join(given))
    }
}

/// Removes the outer quotes of a text that starts and ends with the same quote, unless
/// the last one is escaped, as ansible-core's `parsing.quoting.unquote` does.
fn unquote(text: &str) -> &str {
    let bytes = text.as_bytes();
    let quoted = bytes.len() > 1
        && matches!(bytes[0], b'"' | b'\'')
        && bytes[bytes.len() - 1] == bytes[0]
        && bytes[bytes.len() - 2] != b'\\';
    if quoted {
        &text[1..text.len() - 1]
    } else {
        text
    }
}

/// `unfrackpath(path, follow=False)`: absolute against `cwd`, then normalised.
///
/// NOTE: ansible-core also expands `~` and `$VAR` here; rplay leaves them as written.
fn unfrack(cwd: &Path, path: &Path) -> PathBuf {
    normalize(&cwd.join(path))
}

/// Tests the loader's `RE_TASKS`: whether the path's last component is `tasks`.
fn ends_with_tasks(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name == "tasks")
}

/// Tests as the loader's `_is_role` does whether `path` looks like a role or a role's
/// `tasks/` directory.
fn looks_like_role(site: &IncludeSite, path: &Path) -> bool {
    const MAIN: [&str; 3] = ["main.yml", "main.yaml", "main"];
    let resolved = unfrack(site.cwd, path);
    let parent = path.parent().unwrap_or(Path::new(""));
    let untasked = MAIN.iter().any(|main| path.join(main).exists());
    let tasked = [resolved.as_path(), parent].iter().any(|base| {
        ["tasks", "meta"]
            .iter()
            .any(|dir| MAIN.iter().any(|main| base.join(dir).join(main).exists()))
    });
    (ends_with_tasks(path) && untasked) || tasked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, file: &str) {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "[]\n").unwrap();
    }

    #[test]
    fn dwim_relative_unquotes_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let site = IncludeSite {
            role_path: None,
            play_dir: root,
            enclosing: &[],
            handler: false,
            cwd: root,
        };
        let found = dwim_relative(&site, root, "files", "'/abs/foo.txt'", false);
        assert_eq!(found, PathBuf::from("/abs/foo.txt"));
    }

    #[test]
    fn unquote_as_ansible() {
        assert_eq!(unquote("'a'"), "a");
        assert_eq!(unquote("\"a\""), "a");
        assert_eq!(unquote("''"), "");
        assert_eq!(unquote("'a\\'"), "'a\\'");
        assert_eq!(unquote("'a\""), "'a\"");
        assert_eq!(unquote("'"), "'");
    }

    #[test]
    fn role_include_through_parent_directories_keeps_dots() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "roles/engine/runc/tasks/main.yml");
        write(root, "roles/download/tasks/fetch.yml");
        let role = root.join("roles/engine/runc");
        let site = IncludeSite {
            role_path: Some(&role),
            play_dir: root,
            enclosing: &[],
            handler: false,
            cwd: root,
        };
        assert_eq!(
            included_file_path("../../../download/tasks/fetch.yml", &site),
            root.join("roles/engine/runc/tasks/../../../download/tasks/fetch.yml")
        );
    }

    #[test]
    fn nested_role_include_is_normalised() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "roles/engine/runc/tasks/main.yml");
        write(root, "roles/download/tasks/fetch.yml");
        write(root, "roles/download/tasks/extract.yml");
        let role = root.join("roles/engine/runc");
        let enclosing = [EnclosingInclude::File(
            "../../../download/tasks/fetch.yml".to_string(),
        )];
        let site = IncludeSite {
            role_path: Some(&role),
            play_dir: root,
            enclosing: &enclosing,
            handler: false,
            cwd: root,
        };
        assert_eq!(
            included_file_path("extract.yml", &site),
            root.join("roles/download/tasks/extract.yml")
        );
    }

    #[test]
    fn play_include_normalised_then_nested_kept() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "playbooks/main.yml");
        write(root, "tasks/play.yml");
        write(root, "tasks/leaf.yml");
        let play_dir = root.join("playbooks");
        let site = IncludeSite {
            role_path: None,
            play_dir: &play_dir,
            enclosing: &[],
            handler: false,
            cwd: root,
        };
        assert_eq!(
            included_file_path("../tasks/../tasks/play.yml", &site),
            root.join("tasks/play.yml")
        );
        let enclosing = [EnclosingInclude::File(
            "../tasks/../tasks/play.yml".to_string(),
        )];
        let nested = IncludeSite {
            enclosing: &enclosing,
            ..site
        };
        assert_eq!(
            included_file_path("leaf.yml", &nested),
            root.join("playbooks/../tasks/../tasks/leaf.yml")
        );
    }
}
