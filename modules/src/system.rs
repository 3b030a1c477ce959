//! Helpers of the system modules: running a program as `AnsibleModule.run_command` does,
//! finding it as `get_bin_path` does, and reading the local account databases.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::dispatch::ModuleOptions;
use crate::files::Failure;

/// The exit status and output of a program.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub rc: i64,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `argv` with the task's environment and returns its status and output. A program
/// that cannot be started gives rc 2 and the OS error on stderr, as `run_command` does
/// with `OSError`.
pub fn run(argv: &[String], options: &ModuleOptions) -> Output {
    run_with(argv, options, &[])
}

/// [`run`] with extra environment variables, set after the task's.
pub fn run_with(argv: &[String], options: &ModuleOptions, extra: &[(&str, &str)]) -> Output {
    let Some((program, args)) = argv.split_first() else {
        return Output {
            rc: 2,
            ..Output::default()
        };
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command.envs(options.environment.iter().map(|(key, value)| (key, value)));
    command.envs(extra.iter().copied());
    match command.output() {
        Ok(output) => Output {
            rc: exit_code(&output.status),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        },
        Err(err) => Output {
            rc: i64::from(err.raw_os_error().unwrap_or(2)),
            stdout: String::new(),
            stderr: crate::files::os_error(&err),
        },
    }
}

/// Returns the exit status as `subprocess` reports it: the negated signal number for a
/// killed program.
pub(crate) fn exit_code(status: &std::process::ExitStatus) -> i64 {
    use std::os::unix::process::ExitStatusExt;
    match status.code() {
        Some(code) => i64::from(code),
        None => -i64::from(status.signal().unwrap_or(0)),
    }
}

/// Finds a required program as `get_bin_path(name, required=True)`, with its message
/// when the program is missing.
pub fn bin_path(name: &str) -> Result<String, Failure> {
    match crate::files::find_binary(name) {
        Some(path) => Ok(path.display().to_string()),
        None => {
            let mut paths: Vec<String> = std::env::var("PATH")
                .unwrap_or_default()
                .split(':')
                .filter(|dir| !dir.is_empty())
                .map(str::to_string)
                .collect();
            for dir in ["/sbin", "/usr/sbin", "/usr/local/sbin"] {
                if !paths.iter().any(|path| path == dir) {
                    paths.push(dir.to_string());
                }
            }
            Err(Failure::new(format!(
                "Failed to find required executable \"{name}\" in paths: {}",
                paths.join(":")
            )))
        }
    }
}

/// Finds an optional program, as `get_bin_path(name)`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    crate::files::find_binary(name)
}

/// Returns whether systemd manages the host, by the checks of ansible-core's
/// `is_systemd_managed`: `systemctl` exists, and a systemd runtime directory does or
/// PID 1 is `systemd`.
pub fn is_systemd_managed() -> bool {
    if find_program("systemctl").is_none() {
        return false;
    }
    let booted = [
        "/run/systemd/system/",
        "/dev/.run/systemd/",
        "/dev/.systemd/",
    ]
    .iter()
    .any(|canary| std::path::Path::new(canary).exists());
    booted
        || std::fs::read_to_string("/proc/1/comm")
            .is_ok_and(|comm| comm.lines().next().unwrap_or_default().trim() == "systemd")
}

/// Returns the locale ansible-core's `get_best_parsable_locale` picks from `locale -a`: the first
/// English one available, else `C`.
pub fn best_parsable_locale(options: &ModuleOptions) -> String {
    const PREFERENCES: &[&str] = &[
        "C.utf8",
        "C.UTF-8",
        "en_US.utf8",
        "en_US.UTF-8",
        "C",
        "POSIX",
    ];
    let Some(locale) = find_program("locale") else {
        return "C".into();
    };
    let output = run(&[locale.display().to_string(), "-a".into()], options);
    if output.rc != 0 {
        return "C".into();
    }
    let available: Vec<&str> = output.stdout.trim().lines().collect();
    PREFERENCES
        .iter()
        .find(|preference| available.contains(preference))
        .map_or_else(|| "C".into(), |found| found.to_string())
}

/// One line of `/etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub password: String,
    pub uid: i64,
    pub gid: i64,
    pub gecos: String,
    pub home: String,
    pub shell: String,
}

/// One line of `/etc/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: i64,
    pub members: Vec<String>,
}

/// The local account files, under a root directory so tests can use a temporary one.
///
/// NOTE: only the files are read, so accounts from other NSS sources (LDAP, sssd,
/// systemd-homed) are not seen; ansible-core calls `pwd`/`grp`, which see them.
#[derive(Debug, Clone)]
pub struct Accounts {
    pub root: PathBuf,
}

impl Default for Accounts {
    fn default() -> Self {
        Accounts {
            root: PathBuf::from("/"),
        }
    }
}

impl Accounts {
    fn lines(&self, file: &str) -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(self.root.join(file)).unwrap_or_default();
        text.lines()
            .filter(|line| !line.starts_with('#') && !line.starts_with('+'))
            .map(|line| line.split(':').map(str::to_string).collect())
            .collect()
    }

    pub fn users(&self) -> Vec<PasswdEntry> {
        self.lines("etc/passwd")
            .into_iter()
            .filter(|fields| fields.len() >= 7)
            .filter_map(|fields| {
                Some(PasswdEntry {
                    name: fields[0].clone(),
                    password: fields[1].clone(),
                    uid: fields[2].parse().ok()?,
                    gid: fields[3].parse().ok()?,
                    gecos: fields[4].clone(),
                    home: fields[5].clone(),
                    shell: fields[6].clone(),
                })
            })
            .collect()
    }

    pub fn groups(&self) -> Vec<GroupEntry> {
        self.lines("etc/group")
            .into_iter()
            .filter(|fields| fields.len() >= 3)
            .filter_map(|fields| {
                let members = fields
                    .get(3)
                    .map(|list| {
                        list.split(',')
                            .filter(|member| !member.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                Some(GroupEntry {
                    name: fields[0].clone(),
                    gid: fields[2].parse().ok()?,
                    members,
                })
            })
            .collect()
    }

    pub fn user(&self, name: &str) -> Option<PasswdEntry> {
        self.users().into_iter().find(|user| user.name == name)
    }

    pub fn group(&self, name: &str) -> Option<GroupEntry> {
        self.groups().into_iter().find(|group| group.name == name)
    }

    /// Finds a group by number first, then by name, as the user module looks groups up.
    pub fn group_by_id_or_name(&self, group: &str) -> Option<GroupEntry> {
        let by_id = group
            .parse::<i64>()
            .ok()
            .and_then(|gid| self.groups().into_iter().find(|entry| entry.gid == gid));
        by_id.or_else(|| self.group(group))
    }

    /// Reads the password hash and the account expiry (days since the epoch, -1 when
    /// unset) from `/etc/shadow`.
    pub fn shadow(&self, name: &str) -> Option<(String, i64)> {
        self.lines("etc/shadow")
            .into_iter()
            .find(|fields| fields.first().map(String::as_str) == Some(name))
            .map(|fields| {
                let expires = fields
                    .get(7)
                    .and_then(|days| days.parse().ok())
                    .unwrap_or(-1);
                (fields.get(1).cloned().unwrap_or_default(), expires)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_read_from_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/bash\ndeploy:x:2001:2001:Deploy:/home/deploy:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\nkube:x:2001:deploy,ops\n",
        )
        .unwrap();
        let accounts = Accounts {
            root: dir.path().to_path_buf(),
        };
        let deploy = accounts.user("deploy").unwrap();
        assert_eq!(deploy.uid, 2001);
        assert_eq!(deploy.home, "/home/deploy");
        let kube = accounts.group_by_id_or_name("2001").unwrap();
        assert_eq!(kube.name, "kube");
        assert_eq!(kube.members, ["deploy", "ops"]);
        assert!(accounts.group("missing").is_none());
    }

    #[test]
    fn run_reports_status() {
        let output = run(
            &[
                "/bin/sh".into(),
                "-c".into(),
                "echo out; echo err >&2; exit 3".into(),
            ],
            &ModuleOptions::default(),
        );
        assert_eq!(output.rc, 3);
        assert_eq!(output.stdout, "out\n");
        assert_eq!(output.stderr, "err\n");
    }
}
