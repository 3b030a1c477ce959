//! The `ansible.posix.synchronize` module (ansible.posix 1.6.2): builds an rsync command
//! line from the options its action plugin prepared, runs it, and reports a change when
//! rsync's itemized output lists a file.
//!
//! The action side (`src/executor/synchronize_action.rs`) decides where the module runs
//! and turns the host's connection settings into `src`, `dest`, `dest_port`,
//! `private_key`, `rsync_path` and the `_`-prefixed options.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use crate::command::shell_quote;
use crate::dispatch::ModuleOptions;
use crate::files::Failure;
use crate::spec::{Default, Elements, Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

/// The options in the order of ansible.posix 1.6.2's argument spec.
pub const SPEC: ModuleSpec = ModuleSpec::new(
    "ansible.posix.synchronize",
    &[
        OptionSpec::new("src", Kind::Path).required(),
        OptionSpec::new("dest", Kind::Path).required(),
        OptionSpec::new("dest_port", Kind::Int),
        OptionSpec::new("delete", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("private_key", Kind::Path),
        OptionSpec::new("rsync_path", Kind::Str),
        OptionSpec::new("_local_rsync_path", Kind::Path).default(Default::Str("rsync")),
        OptionSpec::new("_local_rsync_password", Kind::Str).no_log(),
        OptionSpec::new("_substitute_controller", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("archive", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("checksum", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("compress", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("existing_only", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("dirs", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("recursive", Kind::Bool),
        OptionSpec::new("links", Kind::Bool),
        OptionSpec::new("copy_links", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("perms", Kind::Bool),
        OptionSpec::new("times", Kind::Bool),
        OptionSpec::new("owner", Kind::Bool),
        OptionSpec::new("group", Kind::Bool),
        OptionSpec::new("set_remote_user", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("rsync_timeout", Kind::Int).default(Default::Int(0)),
        OptionSpec::new("rsync_opts", Kind::List(Elements::Str)).default(Default::EmptyList),
        OptionSpec::new("_ssh_args", Kind::Str),
        OptionSpec::new("use_ssh_args", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("ssh_connection_multiplexing", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("partial", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("verify_host", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("delay_updates", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("mode", Kind::Str)
            .default(Default::Str("push"))
            .choices(&["pull", "push"]),
        OptionSpec::new("link_dest", Kind::List(Elements::Path)),
    ],
);

/// Prefix of each line of rsync's `--out-format`, which marks the lines of transferred
/// files among rsync's other output.
const CHANGED_MARKER: &str = "<<CHANGED>>";

const EMPTY_OPTION_WARNING: &str = "The empty string is present in rsync_opts which will cause rsync to transfer the current working directory. If this is intended, use \".\" instead to get rid of this warning. If this is unintended, check for problems in your playbook leading to empty string in rsync_opts.";

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    match run_checked(params, options) {
        Ok(result) => result,
        Err(failure) => failure.into_result(),
    }
}

fn run_checked(params: &Params, options: &ModuleOptions) -> Result<Map, Failure> {
    let (source, dest) = endpoints(params)?;
    let password = params.string("_local_rsync_password");
    let mut cmd = vec![rsync_program(params)?];
    if password.is_some() {
        check_sshpass()?;
    }
    cmd.extend(transfer_flags(params, options.check_mode));
    if source.starts_with("rsync://") && dest.starts_with("rsync://") {
        return Err(Failure::new("either src or dest must be a localhost").with("rc", 1));
    }
    let rsync_opts = params.strings("rsync_opts");
    if needs_remote_shell(&source, &dest) && !rsync_opts.iter().any(|opt| opt.contains("--rsh")) {
        let ssh = crate::system::bin_path("ssh")?;
        cmd.push(format!("--rsh={}", shell_quote(&remote_shell(params, ssh))));
    }
    if let Some(rsync_path) = params.string("rsync_path") {
        cmd.push(format!("--rsync-path={}", shell_quote(&rsync_path)));
    }
    let mut warnings = Vec::new();
    if rsync_opts.iter().any(String::is_empty) {
        warnings.push(Value::from(EMPTY_OPTION_WARNING));
    }
    cmd.extend(rsync_opts);
    if params.flag("partial") {
        cmd.push("--partial".to_string());
    }
    let link_dest = params.strings("link_dest");
    if !link_dest.is_empty() {
        cmd.extend(link_dest_flags(&link_dest, &dest)?);
    }
    cmd.push(format!(
        "--out-format={}",
        shell_quote(&format!("{CHANGED_MARKER}%i %n%L"))
    ));
    cmd.push(shell_quote(&source));
    cmd.push(shell_quote(&dest));
    let command_line = cmd.join(" ");

    let output = run_command(&command_line, password.as_deref(), "sshpass", options)?;
    if output.rc != 0 {
        let mut failure = Failure::new(output.stderr)
            .with("rc", output.rc)
            .with("cmd", command_line);
        if !warnings.is_empty() {
            failure = failure.with("warnings", Value::list(warnings));
        }
        return Err(failure);
    }
    let changed = if link_dest.is_empty() {
        output.stdout.contains(CHANGED_MARKER)
    } else {
        // With hard links rsync reports an unchanged file with a leading period.
        !output.stdout.contains(&format!("{CHANGED_MARKER}."))
    };
    let clean = output.stdout.replace(CHANGED_MARKER, "");
    let lines: Vec<Value> = clean
        .split('\n')
        .filter(|line| !line.is_empty())
        .map(Value::from)
        .collect();
    let mut result = Map::new();
    result.insert(Value::from("changed"), Value::Bool(changed));
    result.insert(Value::from("msg"), Value::from(clean.as_str()));
    result.insert(Value::from("rc"), Value::Int(output.rc));
    result.insert(Value::from("cmd"), Value::from(command_line));
    result.insert(Value::from("stdout_lines"), Value::list(lines));
    if options.diff {
        let mut diff = Map::new();
        diff.insert(Value::from("prepared"), Value::from(clean));
        result.insert(Value::from("diff"), Value::map(diff));
    }
    if !warnings.is_empty() {
        result.insert(Value::from("warnings"), Value::list(warnings));
    }
    Ok(result)
}

/// Returns `src` and `dest`, with `localhost:` replaced by the controller's address
/// when the action asked for it.
fn endpoints(params: &Params) -> Result<(String, String), Failure> {
    let source = params.string("src").unwrap_or_default();
    let dest = params.string("dest").unwrap_or_default();
    if !params.flag("_substitute_controller") {
        return Ok((source, dest));
    }
    let address = controller_address().ok_or_else(|| {
        Failure::new("Could not determine controller hostname for rsync to send to")
    })?;
    let substitute = |path: String| match path.strip_prefix("localhost:") {
        Some(rest) => format!("{address}:{rest}"),
        None => path,
    };
    Ok((substitute(source), substitute(dest)))
}

/// Returns the client address of the SSH session the module runs in, from `SSH_CLIENT`
/// or `SSH_CONNECTION`.
fn controller_address() -> Option<String> {
    ["SSH_CLIENT", "SSH_CONNECTION"].iter().find_map(|name| {
        let text = std::env::var(name).ok()?;
        let (address, _) = text.split_once(char::is_whitespace)?;
        Some(address.to_string())
    })
}

/// Returns the rsync program: `_local_rsync_path` as given when it contains a `/`, else
/// found in `PATH`.
fn rsync_program(params: &Params) -> Result<String, Failure> {
    let rsync = params
        .string("_local_rsync_path")
        .unwrap_or_else(|| "rsync".to_string());
    if rsync.contains('/') {
        return Ok(rsync);
    }
    crate::system::bin_path(&rsync)
}

/// Fails as the module's probe `run_command(["sshpass"])` does when sshpass is missing.
fn check_sshpass() -> Result<(), Failure> {
    if crate::files::find_binary("sshpass").is_some() {
        return Ok(());
    }
    Err(
        Failure::new("[Errno 2] No such file or directory: b'sshpass'")
            .with("rc", 2)
            .with("stdout", "")
            .with("stderr", "")
            .with("cmd", "sshpass"),
    )
}

/// Returns the rsync options the module's boolean options select, in the module's order.
fn transfer_flags(params: &Params, check_mode: bool) -> Vec<String> {
    let mut flags: Vec<String> = Vec::new();
    let mut add = |flag: &str| flags.push(flag.to_string());
    if params.flag("delay_updates") {
        add("--delay-updates");
        add("-F");
    }
    if params.flag("compress") {
        add("--compress");
    }
    if let Some(timeout) = params.int("rsync_timeout").filter(|timeout| *timeout != 0) {
        add(&format!("--timeout={timeout}"));
    }
    if check_mode {
        add("--dry-run");
    }
    for (option, flag) in [
        ("delete", "--delete-after"),
        ("existing_only", "--existing"),
        ("checksum", "--checksum"),
        ("copy_links", "--copy-links"),
    ] {
        if params.flag(option) {
            add(flag);
        }
    }
    // `archive` implies the parts below, so they are only switched off under it and
    // only switched on without it.
    let archive = params.flag("archive");
    if archive {
        add("--archive");
    }
    for part in ["recursive", "links", "perms", "times", "owner", "group"] {
        match params.get(part).and_then(Value::as_bool) {
            Some(false) if archive => add(&format!("--no-{part}")),
            Some(true) if !archive => add(&format!("--{part}")),
            _ => {}
        }
    }
    if params.flag("dirs") {
        add("--dirs");
    }
    flags
}

/// Tells whether rsync reaches the other end through a remote shell: a `host:path`
/// endpoint that is not an rsync daemon URL.
fn needs_remote_shell(source: &str, dest: &str) -> bool {
    if source.starts_with("rsync://") || dest.starts_with("rsync://") {
        return false;
    }
    source.contains(':') || dest.contains(':')
}

/// Returns the command line of the `ssh` program for `--rsh`, as one string.
fn remote_shell(params: &Params, program: String) -> String {
    let mut ssh = vec![program];
    if !params.flag("ssh_connection_multiplexing") {
        ssh.extend(["-S".to_string(), "none".to_string()]);
    }
    if let Some(key) = params.string("private_key") {
        ssh.extend(["-i".to_string(), key]);
    }
    if let Some(port) = params.int("dest_port") {
        ssh.extend(["-o".to_string(), format!("Port={port}")]);
    }
    if !params.flag("verify_host") {
        ssh.extend(
            [
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
            ]
            .map(str::to_string),
        );
    }
    let mut line = ssh
        .iter()
        .map(|word| shell_quote(word))
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(ssh_args) = params.string("_ssh_args").filter(|args| !args.is_empty()) {
        line.push(' ');
        line.push_str(&ssh_args);
    }
    line
}

/// `-H -vv --link-dest=DIR...`, after checking that no link directory contains the
/// destination's directory. The extra verbosity makes rsync list the hard links it
/// creates, which it does not count as transfers.
fn link_dest_flags(link_dest: &[String], dest: &str) -> Result<Vec<String>, Failure> {
    let mut flags = vec!["-H".to_string(), "-vv".to_string()];
    let dest_dir = crate::ospath::absolute_path(&python_dirname(dest));
    for path in link_dest {
        let link_path = crate::ospath::absolute_path(path);
        if dest_dir.starts_with(&link_path) {
            return Err(Failure::new(format!(
                "Hardlinking into a subdirectory of the source would cause recursion. {dest_dir} and {dest}"
            )));
        }
        flags.push(format!("--link-dest={link_path}"));
    }
    Ok(flags)
}

/// Python's `os.path.dirname`: everything before the last `/`, without trailing slashes
/// unless that leaves only slashes.
fn python_dirname(path: &str) -> String {
    let head = match path.rfind('/') {
        Some(index) => &path[..=index],
        None => "",
    };
    let trimmed = head.trim_end_matches('/');
    if trimmed.is_empty() {
        head.to_string()
    } else {
        trimmed.to_string()
    }
}

/// Runs the command line as `AnsibleModule.run_command` runs a string without a shell:
/// split as `shlex.split` splits, each word with `~` and `$VAR` expanded. With a
/// password, the line starts with `sshpass -dFD`, and the password goes to sshpass
/// through the pipe FD.
fn run_command(
    line: &str,
    password: Option<&str>,
    sshpass: &str,
    options: &ModuleOptions,
) -> Result<crate::system::Output, Failure> {
    let words = crate::command::split_command(line).map_err(Failure::new)?;
    let mut argv: Vec<String> = words
        .iter()
        .map(|word| expand_word(word, options))
        .collect();
    let pipe = match password {
        Some(_) => Some(PasswordPipe::open().map_err(|err| Failure::new(err.to_string()))?),
        None => None,
    };
    if let Some(pipe) = &pipe {
        argv.splice(0..0, [sshpass.to_string(), format!("-d{}", pipe.read_fd)]);
    }
    let mut command = Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .envs(options.environment.iter().map(|(key, value)| (key, value)));
    if let Some(pipe) = &pipe {
        let read_fd = pipe.read_fd;
        // SAFETY: the closure runs in the forked child before exec and calls only
        // fcntl, which is async-signal-safe.
        unsafe {
            command.pre_exec(move || {
                if libc::fcntl(read_fd, libc::F_SETFD, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let child = command.spawn().map_err(|err| {
        Failure::new(format!("{}: b'{}'", crate::files::os_error(&err), argv[0]))
            .with("rc", i64::from(err.raw_os_error().unwrap_or(2)))
            .with("stdout", "")
            .with("stderr", "")
            .with("cmd", crate::command::clean_args(&argv))
    })?;
    if let (Some(pipe), Some(password)) = (pipe, password) {
        pipe.send(password);
    }
    let output = child
        .wait_with_output()
        .map_err(|err| Failure::new(crate::files::os_error(&err)))?;
    Ok(crate::system::Output {
        rc: crate::system::exit_code(&output.status),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// `os.path.expandvars(os.path.expanduser(word))`, with the task's environment over the
/// process's.
fn expand_word(word: &str, options: &ModuleOptions) -> String {
    let lookup = |name: &str| {
        options
            .environment
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .or_else(|| std::env::var(name).ok())
    };
    let home = lookup("HOME");
    let expanded = crate::ospath::expand_user(word, home.as_deref(), crate::ospath::home_of);
    crate::ospath::expand_vars(&expanded, lookup)
}

/// The pipe through which sshpass reads the password (`sshpass -dFD`). Both ends are
/// close-on-exec, so only the child started for rsync, which clears the flag on the read
/// end, inherits it.
struct PasswordPipe {
    read_fd: libc::c_int,
    write_fd: libc::c_int,
}

impl PasswordPipe {
    fn open() -> std::io::Result<PasswordPipe> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == -1 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(PasswordPipe {
            read_fd: fds[0],
            write_fd: fds[1],
        })
    }

    /// Writes the password and a newline, then closes both ends. A write error is
    /// ignored: sshpass may have exited already, and its exit status reports that.
    fn send(self, password: &str) {
        use std::os::fd::FromRawFd;
        // SAFETY: each descriptor is owned here and closed exactly once, by the File.
        let (reader, mut writer) = unsafe {
            (
                std::fs::File::from_raw_fd(self.read_fd),
                std::fs::File::from_raw_fd(self.write_fd),
            )
        };
        drop(reader);
        let _ = writer.write_all(format!("{password}\n").as_bytes());
        std::mem::forget(self);
    }
}

impl Drop for PasswordPipe {
    fn drop(&mut self) {
        // SAFETY: the descriptors are still owned here, because `send` skips this drop
        // (`mem::forget`) after handing them to `File`s.
        unsafe {
            libc::close(self.read_fd);
            libc::close(self.write_fd);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(args: &[(&str, Value)]) -> Params {
        let mut map = Map::new();
        map.insert(Value::from("src"), Value::from("/a"));
        map.insert(Value::from("dest"), Value::from("host:/b"));
        for (key, value) in args {
            map.insert(Value::from(*key), value.clone());
        }
        SPEC.validate(&map).expect("valid arguments")
    }

    #[test]
    fn flags_default_archive() {
        let flags = transfer_flags(&params(&[]), false);
        assert_eq!(
            flags,
            ["--delay-updates", "-F", "--compress", "--archive"].map(str::to_string)
        );
    }

    #[test]
    fn flags_archive_parts_switched_off() {
        let flags = transfer_flags(
            &params(&[
                ("perms", Value::Bool(false)),
                ("owner", Value::Bool(false)),
                ("times", Value::Bool(true)),
                ("compress", Value::Bool(false)),
            ]),
            true,
        );
        assert_eq!(
            flags,
            [
                "--delay-updates",
                "-F",
                "--dry-run",
                "--archive",
                "--no-perms",
                "--no-owner"
            ]
            .map(str::to_string)
        );
    }

    #[test]
    fn flags_without_archive() {
        let flags = transfer_flags(
            &params(&[
                ("archive", Value::Bool(false)),
                ("delay_updates", Value::Bool(false)),
                ("recursive", Value::Bool(true)),
                ("links", Value::Bool(false)),
                ("dirs", Value::Bool(true)),
                ("delete", Value::Bool(true)),
                ("rsync_timeout", Value::Int(5)),
            ]),
            false,
        );
        assert_eq!(
            flags,
            [
                "--compress",
                "--timeout=5",
                "--delete-after",
                "--recursive",
                "--dirs"
            ]
            .map(str::to_string)
        );
    }

    #[test]
    fn remote_shell_options() {
        let line = remote_shell(
            &params(&[
                ("private_key", Value::from("/k ey")),
                ("dest_port", Value::Int(2222)),
                ("_ssh_args", Value::from("-o A=b")),
            ]),
            "/usr/bin/ssh".to_string(),
        );
        assert_eq!(
            line,
            "/usr/bin/ssh -S none -i '/k ey' -o Port=2222 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o A=b"
        );
    }

    #[test]
    fn remote_shell_verified_multiplexed() {
        let line = remote_shell(
            &params(&[
                ("verify_host", Value::Bool(true)),
                ("ssh_connection_multiplexing", Value::Bool(true)),
            ]),
            "/usr/bin/ssh".to_string(),
        );
        assert_eq!(line, "/usr/bin/ssh");
    }

    #[test]
    fn remote_shell_needed() {
        assert!(needs_remote_shell("/a", "h:/b"));
        assert!(!needs_remote_shell("/a", "/b"));
        assert!(!needs_remote_shell("rsync://h/m", "h:/b"));
    }

    #[test]
    fn link_dest_recursion_rejected() {
        let failure = link_dest_flags(&["/data".to_string()], "/data/sub/file")
            .expect_err("recursive link dest");
        assert_eq!(
            failure.msg,
            "Hardlinking into a subdirectory of the source would cause recursion. /data/sub and /data/sub/file"
        );
        let flags = link_dest_flags(&["/a/".to_string()], "/b/file").expect("no recursion");
        assert_eq!(flags, ["-H", "-vv", "--link-dest=/a"].map(str::to_string));
    }

    #[test]
    fn password_reaches_sshpass_pipe() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // Stands in for sshpass: reads the password from the descriptor `-dFD` names
        // (through /dev/fd, because dash redirects only one-digit descriptors), prints
        // it, then runs the rest of its arguments.
        let fake = dir.path().join("sshpass");
        std::fs::write(
            &fake,
            "#!/bin/sh\nfd=${1#-d}; shift\nread -r pw <\"/dev/fd/$fd\"\necho \"pw=$pw\"\nexec \"$@\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let output = run_command(
            "echo 'a b'",
            Some("s3cret"),
            fake.to_str().unwrap(),
            &ModuleOptions::default(),
        )
        .expect("fake sshpass runs");
        assert_eq!(output.rc, 0, "stderr: {}", output.stderr);
        assert_eq!(output.stdout, "pw=s3cret\na b\n");
    }

    #[test]
    fn command_words_expanded() {
        let options = ModuleOptions {
            environment: vec![("SYNC_TEST_DIR".to_string(), "/from/env".to_string())],
            ..ModuleOptions::default()
        };
        let output =
            run_command("echo $SYNC_TEST_DIR/x", None, "sshpass", &options).expect("echo runs");
        assert_eq!(output.stdout, "/from/env/x\n");
    }

    #[test]
    fn dirname_as_python() {
        assert_eq!(python_dirname("/a/b"), "/a");
        assert_eq!(python_dirname("/a/b/"), "/a/b");
        assert_eq!(python_dirname("/a"), "/");
        assert_eq!(python_dirname("a"), "");
        assert_eq!(python_dirname("h:/x"), "h:");
    }
}
