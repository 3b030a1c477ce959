//! Which task keys name an action, as ansible-core 2.18 resolves module names.

use std::path::Path;

/// The modules and actions of `ansible.builtin` in ansible-core 2.18.
pub const BUILTIN: &[&str] = &[
    "add_host",
    "apt",
    "apt_key",
    "apt_repository",
    "assemble",
    "assert",
    "async_status",
    "blockinfile",
    "command",
    "copy",
    "cron",
    "deb822_repository",
    "debconf",
    "debug",
    "dnf",
    "dnf5",
    "dpkg_selections",
    "expect",
    "fail",
    "fetch",
    "file",
    "find",
    "gather_facts",
    "get_url",
    "getent",
    "git",
    "group",
    "group_by",
    "hostname",
    "import_playbook",
    "import_role",
    "import_tasks",
    "include_role",
    "include_tasks",
    "include_vars",
    "iptables",
    "known_hosts",
    "lineinfile",
    "meta",
    "mount_facts",
    "package",
    "package_facts",
    "pause",
    "ping",
    "pip",
    "raw",
    "reboot",
    "replace",
    "rpm_key",
    "script",
    "service",
    "service_facts",
    "set_fact",
    "set_stats",
    "setup",
    "shell",
    "slurp",
    "stat",
    "subversion",
    "systemd",
    "systemd_service",
    "sysvinit",
    "tempfile",
    "template",
    "unarchive",
    "uri",
    "user",
    "validate_argument_spec",
    "wait_for",
    "wait_for_connection",
    "yum_repository",
    // Redirected by ansible-core's own routing table.
    "ini_file",
    "modprobe",
    "mount",
    "selinux",
    "synchronize",
    "sysctl",
    "yum",
];

/// Actions whose free-form argument is a command line (`_raw_params`), not `k=v` pairs.
pub const FREE_FORM: &[&str] = &[
    "command",
    "shell",
    "raw",
    "script",
    "win_command",
    "win_shell",
    "include_vars",
    "include_tasks",
    "import_tasks",
    "include_role",
    "import_role",
    "import_playbook",
    "meta",
    "group_by",
    "add_host",
    "set_fact",
];

/// Resolves action names for one playbook run: `ansible.builtin` and `ansible.legacy`
/// names, fully qualified collection names, and modules found in the `library`
/// directories (`DEFAULT_MODULE_PATH`, `library/` beside the playbook and in roles).
#[derive(Debug, Default)]
pub struct ActionResolver {
    library_modules: Vec<String>,
}

impl ActionResolver {
    pub fn new() -> ActionResolver {
        ActionResolver::default()
    }

    /// Adds the modules in a `library` directory (files named `NAME` or `NAME.EXT`).
    pub fn add_library(&mut self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let stem = name.split('.').next().unwrap_or_default().to_string();
            if !stem.is_empty() && !stem.starts_with('_') && !self.library_modules.contains(&stem) {
                self.library_modules.push(stem);
            }
        }
    }

    /// Returns true when `name` names an action that ansible-core would resolve.
    ///
    /// NOTE: any `namespace.collection.name` is accepted at load time, as if every
    /// collection of the `ansible` package were installed. rplay reports an action it
    /// does not implement when the task runs.
    pub fn is_action(&self, name: &str) -> bool {
        let short = name
            .strip_prefix("ansible.builtin.")
            .or_else(|| name.strip_prefix("ansible.legacy."));
        match short {
            Some(short) => BUILTIN.contains(&short) || self.is_library(short),
            None if name.split('.').count() == 3 => name.split('.').all(is_identifier),
            None => BUILTIN.contains(&name) || self.is_library(name),
        }
    }

    fn is_library(&self, name: &str) -> bool {
        self.library_modules.iter().any(|module| module == name)
    }

    /// All names usable for suggestions.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        BUILTIN
            .iter()
            .copied()
            .chain(self.library_modules.iter().map(String::as_str))
    }
}

fn is_identifier(part: &str) -> bool {
    !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
