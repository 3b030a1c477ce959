//! The working directory of modules in an agent that sudo or su started for an
//! unprivileged user, which inherits the login user's home directory as its working
//! directory and usually cannot read it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::dispatch::ModuleOptions;

/// Set when the agent started in a directory it could not read.
static STARTED_UNREADABLE: AtomicBool = AtomicBool::new(false);

/// Opening the directory checks read permission the way the kernel decides it, ACLs
/// included.
fn readable(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok()
}

/// Moves to a readable working directory when the inherited one is not readable:
/// `$HOME`, else the temporary directory. Modules then run in a directory of their own
/// (see [`ModuleWorkdir`]), as ansible-core's `AnsibleModule` moves to its `tmpdir`.
pub fn enter_readable_directory() {
    if std::env::current_dir().is_ok_and(|dir| readable(&dir)) {
        return;
    }
    STARTED_UNREADABLE.store(true, Ordering::Relaxed);
    let home = std::env::var_os("HOME").map(PathBuf::from);
    for candidate in home.into_iter().chain([std::env::temp_dir()]) {
        if readable(&candidate) && std::env::set_current_dir(&candidate).is_ok() {
            return;
        }
    }
}

/// The temporary working directory of one module, removed when dropped.
///
/// ansible-core's `AnsibleModule._set_cwd` finds the working directory unreadable and
/// moves to the module's `tmpdir`: `ansible-moduletmp-TIME-RANDOM` inside `remote_tmp`,
/// which it creates first, with a warning, when it is missing.
pub struct ModuleWorkdir {
    path: PathBuf,
    previous: Option<PathBuf>,
}

impl ModuleWorkdir {
    /// Enters a new module directory when the agent started in an unreadable one and
    /// `remote_tmp` is set. Returns the directory and the warning about a created or
    /// unusable `remote_tmp`.
    pub fn enter(options: &ModuleOptions) -> (Option<ModuleWorkdir>, Option<RemoteTmpWarning>) {
        if !STARTED_UNREADABLE.load(Ordering::Relaxed) {
            return (None, None);
        }
        let Some(remote_tmp) = &options.remote_tmp else {
            return (None, None);
        };
        let home = std::env::var("HOME").unwrap_or_default();
        let base = match remote_tmp.strip_prefix("~/") {
            Some(rest) => format!("{}/{rest}", home.trim_end_matches('/')),
            None => remote_tmp.clone(),
        };
        let warning = create_base(&base);

        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let name = format!(
            "ansible-moduletmp-{}.{:07}-{}",
            now.as_secs(),
            now.subsec_nanos() / 100,
            crate::files::random_name(8)
        );
        let path = Path::new(&base).join(name);

        let previous = std::env::current_dir().ok();
        use std::os::unix::fs::DirBuilderExt;
        let created = std::fs::DirBuilder::new().mode(0o700).create(&path);
        if created.is_err() {
            return (None, warning);
        }
        let workdir = ModuleWorkdir { path, previous };
        if std::env::set_current_dir(&workdir.path).is_err() {
            return (None, warning);
        }
        (Some(workdir), warning)
    }
}

impl Drop for ModuleWorkdir {
    fn drop(&mut self) {
        let back = self.previous.clone().unwrap_or_else(std::env::temp_dir);
        let _ = std::env::set_current_dir(back);
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Creates `path` and its missing parents as Python's `os.makedirs(path, mode)` does:
/// `mode` (less the umask) applies to `path` itself, the parents get the default mode.
/// An error carries the directory whose creation failed, as Python's `OSError` names it.
pub fn make_dirs(path: &Path, mode: u32) -> Result<(), MakeDirsError> {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty() && !parent.exists())
    {
        match make_dirs(parent, 0o777) {
            Err(err) if err.error.kind() != std::io::ErrorKind::AlreadyExists => return Err(err),
            _ => {}
        }
    }
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .mode(mode)
        .create(path)
        .map_err(|error| MakeDirsError {
            error,
            path: path.to_path_buf(),
        })
}

/// A failed [`make_dirs`]: the error and the directory it happened on.
#[derive(Debug)]
pub struct MakeDirsError {
    pub error: std::io::Error,
    pub path: PathBuf,
}

impl std::fmt::Display for MakeDirsError {
    /// Python's text of the `OSError`: `[Errno 13] Permission denied: '/nonexistent'`.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = crate::files::os_error_with_path(&self.error, &self.path);
        formatter.write_str(&text)
    }
}

/// ansible-core's warning about the `remote_tmp` a module needed and found missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteTmpWarning {
    /// The module created it.
    Created(String),
    /// The module could not create it and fell back to the system's temporary directory.
    Unusable(String),
}

impl RemoteTmpWarning {
    pub fn into_text(self) -> String {
        match self {
            RemoteTmpWarning::Created(text) | RemoteTmpWarning::Unusable(text) => text,
        }
    }
}

/// Creates `remote_tmp` when it is missing, and returns ansible-core's warning then.
pub(crate) fn create_base(base: &str) -> Option<RemoteTmpWarning> {
    if Path::new(base).exists() {
        return None;
    }
    match make_dirs(Path::new(base), 0o700) {
        Ok(()) => Some(RemoteTmpWarning::Created(format!(
            "Module remote_tmp {base} did not exist and was created with a mode of 0700, this may cause issues when running as another user. To avoid this, create the remote_tmp dir with the correct permissions manually"
        ))),
        Err(err) => Some(RemoteTmpWarning::Unusable(format!(
            "Unable to use {base} as temporary directory, failing back to system: {err}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_dirs_names_failing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let err = make_dirs(&file.join("a/b"), 0o700).unwrap_err();
        assert_eq!(err.path, file.join("a"));
        assert_eq!(
            err.to_string(),
            format!("[Errno 20] Not a directory: '{}'", file.join("a").display())
        );
    }

    #[test]
    fn make_dirs_creates_parents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c");
        make_dirs(&path, 0o700).unwrap();
        assert!(path.is_dir());
    }
}
