//! File helpers the file modules share, after ansible-core's `AnsibleModule`: path state,
//! owner/group/mode changes with their diff entries, the path information results carry,
//! symbolic modes, atomic writes and checksums.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::spec::Params;
use crate::{Map, Value};

/// What is at a path, as the file module names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathState {
    Absent,
    File,
    Directory,
    Link,
    /// A regular file with more than one link.
    Hard,
}

impl PathState {
    pub fn of(path: &Path) -> PathState {
        let Ok(meta) = fs::symlink_metadata(path) else {
            return PathState::Absent;
        };
        if meta.file_type().is_symlink() {
            return PathState::Link;
        }
        if meta.is_dir() {
            return PathState::Directory;
        }
        match fs::metadata(path) {
            Ok(target) if target.nlink() > 1 => PathState::Hard,
            _ => PathState::File,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PathState::Absent => "absent",
            PathState::File => "file",
            PathState::Directory => "directory",
            PathState::Link => "link",
            PathState::Hard => "hard",
        }
    }
}

/// A user's home directory from `/etc/passwd`.
pub fn user_home(name: &str) -> Option<String> {
    passwd_entry("/etc/passwd", |fields| fields[0] == name).and_then(|f| f.get(5).cloned())
}

/// The uid of a user name, or of a number.
pub fn uid_of(owner: &str) -> Option<u32> {
    owner.parse().ok().or_else(|| {
        passwd_entry("/etc/passwd", |fields| fields[0] == owner)
            .and_then(|fields| fields.get(2)?.parse().ok())
    })
}

/// The gid of a group name, or of a number.
pub fn gid_of(group: &str) -> Option<u32> {
    group.parse().ok().or_else(|| {
        passwd_entry("/etc/group", |fields| fields[0] == group)
            .and_then(|fields| fields.get(2)?.parse().ok())
    })
}

/// A uid's user name, or the number as text when it has no entry.
pub fn user_name(uid: u32) -> String {
    passwd_name(uid).unwrap_or_else(|| uid.to_string())
}

/// A uid's user name from `/etc/passwd`.
pub fn passwd_name(uid: u32) -> Option<String> {
    passwd_entry("/etc/passwd", |fields| {
        fields.get(2) == Some(&uid.to_string())
    })
    .map(|fields| fields[0].clone())
}

/// A gid's group name, or the number as text when it has no entry.
pub fn group_name(gid: u32) -> String {
    group_entry_name(gid).unwrap_or_else(|| gid.to_string())
}

/// Returns a gid's group name from `/etc/group`.
pub fn group_entry_name(gid: u32) -> Option<String> {
    passwd_entry("/etc/group", |fields| {
        fields.get(2) == Some(&gid.to_string())
    })
    .map(|fields| fields[0].clone())
}

/// NOTE: reads the files directly, so users from NSS sources other than files (LDAP,
/// systemd-homed) are not found.
fn passwd_entry(file: &str, matches: impl Fn(&[String]) -> bool) -> Option<Vec<String>> {
    let text = fs::read_to_string(file).ok()?;
    text.lines()
        .map(|line| line.split(':').map(str::to_string).collect::<Vec<_>>())
        .find(|fields| fields.len() > 2 && matches(fields))
}

/// The process's umask, from `/proc/self/status` (0o022 when it cannot be read).
pub fn umask() -> u32 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Umask:"))
                .and_then(|value| u32::from_str_radix(value.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// `0644`-style text of a mode's permission bits, as ansible-core prints it.
pub fn mode_text(mode: u32) -> String {
    format!("0{:03o}", mode & 0o7777)
}

/// Adds ansible-core's path information for `path` to `result`: uid, gid, owner, group,
/// mode, state and size of the path itself (not of a link's target). As in
/// ansible-core, nothing is added when the path, or the target of a link, is missing.
pub fn add_path_info(result: &mut Map, path: &Path) {
    if fs::metadata(path).is_err() {
        return;
    }
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    result.insert(Value::from("uid"), Value::Int(i64::from(meta.uid())));
    result.insert(Value::from("gid"), Value::Int(i64::from(meta.gid())));
    result.insert(Value::from("owner"), Value::from(user_name(meta.uid())));
    result.insert(Value::from("group"), Value::from(group_name(meta.gid())));
    result.insert(Value::from("mode"), Value::from(mode_text(meta.mode())));
    result.insert(
        Value::from("state"),
        Value::from(PathState::of(path).name()),
    );
    result.insert(Value::from("size"), Value::Int(meta.size() as i64));
}

/// `before`/`after` mappings of a result's `diff`.
#[derive(Debug, Default, Clone)]
pub struct Diff {
    pub before: Map,
    pub after: Map,
}

impl Diff {
    /// The diff the file module starts with: the path, and the state when it changes.
    pub fn initial(path: &str, state: &str, previous: PathState) -> Diff {
        let mut diff = Diff::default();
        diff.before.insert(Value::from("path"), Value::from(path));
        diff.after.insert(Value::from("path"), Value::from(path));
        if previous.name() != state {
            diff.before
                .insert(Value::from("state"), Value::from(previous.name()));
            diff.after.insert(Value::from("state"), Value::from(state));
        }
        diff
    }

    pub fn record(&mut self, key: &str, before: Value, after: Value) {
        self.before.insert(Value::from(key), before);
        self.after.insert(Value::from(key), after);
    }

    pub fn into_value(self) -> Value {
        let mut map = Map::new();
        map.insert(Value::from("before"), Value::map(self.before));
        map.insert(Value::from("after"), Value::map(self.after));
        Value::map(map)
    }
}

/// The owner, group, mode and attribute flags a task requests (the file common
/// arguments).
#[derive(Debug, Clone, Default)]
pub struct FileAttributes {
    pub owner: Option<String>,
    pub group: Option<String>,
    pub mode: Option<Value>,
    /// `attributes` (alias `attr`): `chattr` flag letters, with an optional leading `+`
    /// or `-` (otherwise the flags are set as given).
    pub attributes: Option<String>,
}

impl FileAttributes {
    pub fn from_params(params: &Params) -> FileAttributes {
        FileAttributes {
            owner: params.string("owner"),
            group: params.string("group"),
            mode: params.get("mode").cloned(),
            attributes: params.string("attributes"),
        }
    }

    fn any(&self) -> bool {
        self.owner.is_some()
            || self.group.is_some()
            || self.mode.is_some()
            || self.attributes.is_some()
    }
}

/// A failure with the result keys ansible-core's `fail_json` call adds.
#[derive(Debug, Clone)]
pub struct Failure {
    pub msg: String,
    pub extra: Map,
}

impl Failure {
    pub fn new(msg: impl Into<String>) -> Failure {
        Failure {
            msg: msg.into(),
            extra: Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Failure {
        self.extra.insert(Value::from(key), value.into());
        self
    }

    /// The failed result.
    pub fn into_result(self) -> Map {
        let mut result = Map::new();
        result.insert(Value::from("failed"), Value::Bool(true));
        result.insert(Value::from("msg"), Value::from(self.msg));
        result.extend(self.extra);
        result
    }
}

/// Applies owner, group, mode and attribute flags to `path` where they differ, recording
/// the old and new values in `diff`, as `set_fs_attributes_if_different` does. Returns
/// whether anything changed (or would, in check mode). Ownership and mode apply to the
/// link itself for a symlink, as `lchown` does.
pub fn set_attributes_if_different(
    path: &Path,
    attributes: &FileAttributes,
    check_mode: bool,
    diff: &mut Option<&mut Diff>,
) -> Result<bool, Failure> {
    let shown = path.display().to_string();
    let absent = fs::symlink_metadata(path).is_err();
    if check_mode && absent && attributes.any() {
        return Ok(true);
    }
    let mut changed = false;
    if let Some(owner) = &attributes.owner {
        let uid = uid_of(owner).ok_or_else(|| {
            Failure::new(format!("chown failed: failed to look up user {owner}"))
                .with("path", shown.as_str())
        })?;
        let current = metadata(path)?.uid();
        if current != uid {
            if let Some(diff) = diff.as_deref_mut() {
                diff.record("owner", Value::Int(current.into()), Value::Int(uid.into()));
            }
            if !check_mode {
                std::os::unix::fs::lchown(path, Some(uid), None).map_err(|err| {
                    use std::os::unix::ffi::OsStrExt;
                    // The module passes the path as bytes, so Python's error shows b'...'.
                    let bytes = crate::pyrepr::bytes_repr(path.as_os_str().as_bytes());
                    Failure::new(format!("chown failed: {}: {bytes}", os_error(&err)))
                        .with("path", shown.as_str())
                })?;
            }
            changed = true;
        }
    }
    if let Some(group) = &attributes.group {
        let gid = gid_of(group).ok_or_else(|| {
            Failure::new(format!("chgrp failed: failed to look up group {group}"))
                .with("path", shown.as_str())
        })?;
        let current = metadata(path)?.gid();
        if current != gid {
            if let Some(diff) = diff.as_deref_mut() {
                diff.record("group", Value::Int(current.into()), Value::Int(gid.into()));
            }
            if !check_mode {
                std::os::unix::fs::lchown(path, None, Some(gid))
                    .map_err(|_| Failure::new("chgrp failed").with("path", shown.as_str()))?;
            }
            changed = true;
        }
    }
    if let Some(mode) = &attributes.mode {
        let meta = metadata(path)?;
        let wanted = resolve_mode(mode, meta.mode(), meta.is_dir())
            .map_err(|failure| failure.with("path", shown.as_str()))?;
        let current = meta.mode() & 0o7777;
        if current != wanted {
            if let Some(diff) = diff.as_deref_mut() {
                diff.record(
                    "mode",
                    Value::from(mode_text(current)),
                    Value::from(mode_text(wanted)),
                );
            }
            // Linux has no lchmod, and ansible-core leaves the target of a link as it
            // was, so the link's own mode stays 0777: outside check mode, a mode on a
            // link changes nothing and is not reported as a change.
            if meta.file_type().is_symlink() {
                changed |= check_mode;
            } else {
                if !check_mode {
                    fs::set_permissions(path, fs::Permissions::from_mode(wanted))
                        .map_err(|err| Failure::new(os_error(&err)).with("path", shown.as_str()))?;
                }
                changed = true;
            }
        }
    }
    if let Some(requested) = &attributes.attributes {
        changed |= set_flags_if_different(path, requested, check_mode, diff)?;
    }
    Ok(changed)
}

/// Applies the `attributes` option as ansible-core's `set_attributes_if_different`, which
/// runs `chattr` when the flags `lsattr -d` shows differ from the request, and always for
/// `-`. A failure of that `chattr`, or any output from it, fails the task with its
/// output in `details`.
fn set_flags_if_different(
    path: &Path,
    requested: &str,
    check_mode: bool,
    diff: &mut Option<&mut Diff>,
) -> Result<bool, Failure> {
    use crate::chattr::Operator;
    let (operator, letters) = match requested.chars().next() {
        Some('+') => (Operator::Add, &requested[1..]),
        Some('-') => (Operator::Remove, &requested[1..]),
        _ => (Operator::Set, requested),
    };
    let existing = crate::chattr::get_flags(path)
        .ok()
        .map(crate::chattr::flag_letters);
    let differs = existing.as_deref().unwrap_or_default() != letters;
    if letters.is_empty() || !(differs || operator == Operator::Remove) {
        return Ok(false);
    }
    // ansible-core changes nothing when the target has no `chattr`; its path is also
    // the program name that chattr's usage message shows.
    let Some(program) = find_binary("chattr") else {
        return Ok(false);
    };
    if let Some(diff) = diff.as_deref_mut() {
        diff.record(
            "attributes",
            existing.map(Value::from).unwrap_or(Value::Null),
            Value::from(format!("{}{letters}", operator.symbol())),
        );
    }
    if !check_mode {
        let program = program.display().to_string();
        crate::chattr::change(path, operator, letters, &program).map_err(|output| {
            let details = format!("Error while setting attributes: {output}");
            Failure::new("chattr failed")
                .with("path", path.display().to_string())
                .with(
                    "exception",
                    format!("Traceback (most recent call last):\nException: {details}"),
                )
                .with("details", details)
        })?;
    }
    Ok(true)
}

fn metadata(path: &Path) -> Result<fs::Metadata, Failure> {
    fs::symlink_metadata(path)
        .map_err(|err| Failure::new(os_error(&err)).with("path", path.display().to_string()))
}

/// The permission bits `mode` asks for: an int as it is, a string as octal or else as a
/// symbolic mode applied to `current`.
pub fn resolve_mode(mode: &Value, current: u32, is_dir: bool) -> Result<u32, Failure> {
    match mode {
        Value::Int(number) => return Ok(*number as u32),
        Value::Float(number) => return Ok(*number as u32),
        _ => {}
    }
    let text = crate::pyrepr::str(mode);
    let trimmed = text.trim();
    let digits = trimmed
        .strip_prefix("0o")
        .or_else(|| trimmed.strip_prefix("0O"))
        .unwrap_or(trimmed)
        .replace('_', "");
    if let Ok(octal) = u32::from_str_radix(&digits, 8) {
        return Ok(octal);
    }
    let resolved = symbolic_mode(&text, current & 0o7777, is_dir).map_err(|details| {
        Failure::new("mode must be in octal or symbolic form").with("details", details)
    })?;
    Ok(resolved)
}

/// Applies a symbolic mode (`u=rwx,go=rx`, `a+X`, `-w`) to `current` as chmod does.
pub fn symbolic_mode(symbolic: &str, current: u32, is_dir: bool) -> Result<u32, String> {
    let mut mode = current;
    for clause in symbolic.split(',') {
        let bad = || format!("bad symbolic permission for mode: {clause}");
        let start = clause.find(['+', '-', '=']).ok_or_else(bad)?;
        let who = &clause[..start];
        let use_umask = who.is_empty();
        let users = if who.is_empty() || who == "a" {
            "ugo"
        } else {
            who
        };
        if !users.chars().all(|c| "ugo".contains(c)) {
            return Err(bad());
        }
        let mut rest = &clause[start..];
        while let Some(operator) = rest.chars().next() {
            let end = rest[1..]
                .find(['+', '-', '='])
                .map_or(rest.len(), |index| index + 1);
            let perms = &rest[1..end];
            if !perms.chars().all(|c| "rwxXstugo".contains(c)) {
                return Err(bad());
            }
            for user in users.chars() {
                let bits = symbolic_bits(user, perms, use_umask, mode, is_dir);
                mode = apply_operator(user, operator, bits, mode);
            }
            rest = &rest[end..];
        }
    }
    Ok(mode)
}

fn symbolic_bits(user: char, perms: &str, use_umask: bool, mode: u32, is_dir: bool) -> u32 {
    let allowed = if use_umask { !umask() & 0o7777 } else { 0o7777 };
    let shift = match user {
        'u' => 6,
        'g' => 3,
        _ => 0,
    };
    let apply_x = is_dir || mode & 0o111 != 0;
    let mut bits = 0;
    for perm in perms.chars() {
        bits |= match perm {
            'r' => (0o4 << shift) & allowed,
            'w' => (0o2 << shift) & allowed,
            'x' => (0o1 << shift) & allowed,
            'X' if apply_x => 0o1 << shift,
            's' if user == 'u' => 0o4000,
            's' if user == 'g' => 0o2000,
            't' if user == 'o' => 0o1000,
            'u' => ((mode >> 6) & 0o7) << shift,
            'g' => ((mode >> 3) & 0o7) << shift,
            'o' => (mode & 0o7) << shift,
            _ => 0,
        };
    }
    bits
}

fn apply_operator(user: char, operator: char, bits: u32, mode: u32) -> u32 {
    match operator {
        '=' => {
            let mask = match user {
                'u' => 0o4700,
                'g' => 0o2070,
                _ => 0o1007,
            };
            (mode & !mask & 0o7777) | bits
        }
        '+' => mode | bits,
        _ => mode & !bits,
    }
}

/// Replaces `dest` with `content` atomically: a temporary file in the same directory,
/// then [`atomic_move`].
pub fn atomic_write(dest: &Path, content: &[u8]) -> io::Result<()> {
    let temp = temp_file_beside(dest, content)?;
    atomic_move(&temp, dest)
}

/// Writes `content` to a new temporary file in `dest`'s directory and returns its path.
pub fn temp_file_beside(dest: &Path, content: &[u8]) -> io::Result<std::path::PathBuf> {
    let dir = dest
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = dest
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.rplay-tmp", std::process::id()));
    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(content)?;
        file.sync_all()
    })();
    match written {
        Ok(()) => Ok(temp),
        Err(err) => {
            let _ = fs::remove_file(&temp);
            Err(err)
        }
    }
}

/// Attributes of an existing destination that [`atomic_move_as`] keeps, as
/// ansible-core's `atomic_move` with `keep_dest_attrs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveAttributes {
    /// The destination's owner, group and mode (`keep_dest_attrs=True`).
    KeepDestination,
    /// The temporary file's own (`keep_dest_attrs=False`, copy's `remote_src`).
    KeepSource,
}

/// Renames `temp` over `dest`, keeping an existing file's owner and mode as
/// ansible-core's `atomic_move` keeps them; a new file gets `0666` less the umask.
/// `temp` is removed when the move fails.
///
/// NOTE: SELinux contexts are not copied.
pub fn atomic_move(temp: &Path, dest: &Path) -> io::Result<()> {
    atomic_move_as(temp, dest, MoveAttributes::KeepDestination)
}

/// Renames `temp` over `dest` as [`atomic_move`], keeping the attributes `keep` selects.
pub fn atomic_move_as(temp: &Path, dest: &Path, keep: MoveAttributes) -> io::Result<()> {
    let moved = (|| {
        match fs::metadata(dest) {
            Ok(meta) if keep == MoveAttributes::KeepDestination => {
                // ansible-core chowns the file first and copies the mode only when that
                // worked: a user without the privilege (EPERM) leaves the file with its
                // own mode and owner.
                match std::os::unix::fs::chown(temp, Some(meta.uid()), Some(meta.gid())) {
                    Ok(()) => {
                        // Python's `shutil.copystat`, which ansible-core calls here, copies
                        // the extended attributes (POSIX ACLs among them) before the mode.
                        // NOTE: it also copies the access and modification times, which
                        // rplay does not.
                        copy_xattrs(dest, temp)?;
                        fs::set_permissions(temp, fs::Permissions::from_mode(meta.mode() & 0o7777))?
                    }
                    Err(err) if err.raw_os_error() == Some(libc::EPERM) => {}
                    Err(err) => return Err(err),
                }
            }
            Ok(_) => {}
            Err(_) => {
                fs::set_permissions(temp, fs::Permissions::from_mode(0o666 & !umask()))?;
            }
        }
        fs::rename(temp, dest)
    })();
    if moved.is_err() {
        let _ = fs::remove_file(temp);
    }
    moved
}

/// Copies every extended attribute of `from` to `to`, as Python's `shutil._copyxattr`:
/// attributes the file system or the user cannot read or set are passed over.
fn copy_xattrs(from: &Path, to: &Path) -> io::Result<()> {
    let (from_c, to_c) = (c_path(from)?, c_path(to)?);
    let names = match xattr_names(&from_c) {
        Ok(names) => names,
        Err(err) if xattr_error_ignored(&err) => return Ok(()),
        Err(err) => return Err(err),
    };

    for name in names
        .split(|byte| *byte == 0)
        .filter(|name| !name.is_empty())
    {
        let name_c =
            std::ffi::CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // Linux caps a value at 64 KiB (XATTR_SIZE_MAX), so this buffer always suffices.
        let mut value = vec![0u8; 65536];
        // SAFETY: both strings are NUL-terminated and `value` is valid for its length.
        let length = unsafe {
            libc::getxattr(
                from_c.as_ptr(),
                name_c.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        if length < 0 {
            let err = io::Error::last_os_error();
            if xattr_error_ignored(&err) {
                continue;
            }
            return Err(err);
        }

        // SAFETY: as above; getxattr wrote `length` bytes of `value`.
        let set = unsafe {
            libc::setxattr(
                to_c.as_ptr(),
                name_c.as_ptr(),
                value.as_ptr().cast(),
                length as usize,
                0,
            )
        };
        if set < 0 {
            let err = io::Error::last_os_error();
            if !xattr_error_ignored(&err) {
                return Err(err);
            }
        }
    }
    Ok(())
}

/// Returns the NUL-separated names of `path`'s extended attributes.
fn xattr_names(path: &std::ffi::CStr) -> io::Result<Vec<u8>> {
    // SAFETY: a null buffer of size 0 asks only for the size the list needs.
    let size = unsafe { libc::listxattr(path.as_ptr(), std::ptr::null_mut(), 0) };
    if size < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut names = vec![0u8; size as usize];
    // SAFETY: the path is NUL-terminated and `names` is valid for its length.
    let size = unsafe { libc::listxattr(path.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if size < 0 {
        return Err(io::Error::last_os_error());
    }
    names.truncate(size as usize);
    Ok(names)
}

/// Whether Python's `shutil._copyxattr` passes over this error: the file system or the
/// user cannot read or set the attribute.
fn xattr_error_ignored(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::ENOTSUP | libc::ENODATA | libc::EINVAL | libc::EPERM | libc::EACCES)
    )
}

fn c_path(path: &Path) -> io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// Python's text for an OS error: `[Errno 2] No such file or directory: 'path'` without
/// the path part.
pub fn os_error(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => format!("[Errno {code}] {}", strerror(err)),
        None => err.to_string(),
    }
}

/// Python's text for an OS error on one path: `[Errno 13] Permission denied: '/x'`.
pub fn os_error_with_path(err: &io::Error, path: &Path) -> String {
    let shown = path.display().to_string();
    format!("{}: {}", os_error(err), crate::pyrepr::str_repr(&shown))
}

/// glibc's `strerror` text for the error numbers whose musl text differs: the agent is
/// linked with musl, and the messages ansible-core's modules print come from glibc on
/// the targets rplay is compared with (Debian).
const GLIBC_MESSAGES: &[(i32, &str)] = &[
    (libc::ENOTTY, "Inappropriate ioctl for device"),
    (libc::EOPNOTSUPP, "Operation not supported"),
    (libc::EXDEV, "Invalid cross-device link"),
    (libc::ELOOP, "Too many levels of symbolic links"),
    (libc::EBUSY, "Device or resource busy"),
    (libc::ENAMETOOLONG, "File name too long"),
    (libc::EAGAIN, "Resource temporarily unavailable"),
    (libc::ENODATA, "No data available"),
    (libc::ECONNREFUSED, "Connection refused"),
    (libc::ETIMEDOUT, "Connection timed out"),
    (
        libc::EILSEQ,
        "Invalid or incomplete multibyte or wide character",
    ),
];

/// Returns the C library's message for an OS error as glibc words it, without Rust's
/// ` (os error N)` suffix.
pub fn strerror(err: &io::Error) -> String {
    let known = err.raw_os_error().and_then(|code| {
        GLIBC_MESSAGES
            .iter()
            .find(|(number, _)| *number == code)
            .map(|(_, message)| (*message).to_string())
    });
    known.unwrap_or_else(|| {
        let text = err.to_string();
        text.split(" (os error").next().unwrap_or(&text).to_string()
    })
}

/// Finds an executable as ansible-core's `get_bin_path`: in `PATH`, then the sbin
/// directories.
pub fn find_binary(name: &str) -> Option<std::path::PathBuf> {
    let search = std::env::var("PATH").unwrap_or_default();
    let found = search
        .split(':')
        .chain(["/sbin", "/usr/sbin", "/usr/local/sbin"])
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(name))
        .find(|candidate| {
            fs::metadata(candidate)
                .map(|meta| meta.is_file() && meta.mode() & 0o111 != 0)
                .unwrap_or(false)
        });
    found
}

/// Runs a program and returns its standard output when it exits with status 0.
pub fn command_output(program: &Path, args: &[&std::ffi::OsStr]) -> Option<String> {
    let output = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Copies `path` to `PATH.PID.YYYY-MM-DD@HH:MM:SS~` with its mode and times, as
/// ansible-core's `backup_local`, and returns the backup's path.
///
/// NOTE: the time in the name is UTC; ansible-core uses the target's local time.
pub fn backup_local(path: &Path) -> Result<String, Failure> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let (year, month, day) = crate::time::civil_from_days(now.div_euclid(86_400));
    let of_day = now.rem_euclid(86_400);
    let backup = format!(
        "{}.{}.{year:04}-{month:02}-{day:02}@{:02}:{:02}:{:02}~",
        path.display(),
        std::process::id(),
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
    let copied = fs::copy(path, &backup).and_then(|_| {
        let meta = fs::metadata(path)?;
        let times = fs::FileTimes::new()
            .set_accessed(meta.accessed()?)
            .set_modified(meta.modified()?);
        fs::File::options()
            .write(true)
            .open(&backup)?
            .set_times(times)
    });
    copied.map_err(|err| {
        Failure::new(format!(
            "Could not make backup of {} to {backup}: {}",
            path.display(),
            os_error(&err)
        ))
    })?;
    Ok(backup)
}

/// Runs a `validate` command with `%s` replaced by `path`; a non-zero exit fails with
/// the command's status and output, as the file modules report it.
pub fn run_validate(validate: &str, path: &Path) -> Result<(), Failure> {
    if !validate.contains("%s") {
        return Err(Failure::new(format!(
            "validate must contain %s: {validate}"
        )));
    }
    let command = validate.replace("%s", &path.display().to_string());
    let argv = crate::command::split_command(&command).map_err(Failure::new)?;
    let Some((program, args)) = argv.split_first() else {
        return Err(Failure::new(format!(
            "validate must contain %s: {validate}"
        )));
    };
    let output = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|err| Failure::new(format!("failed to validate: {}", os_error(&err))))?;
    if output.status.success() {
        return Ok(());
    }
    Err(Failure::new("failed to validate")
        .with(
            "exit_status",
            Value::Int(i64::from(output.status.code().unwrap_or(-1))),
        )
        .with(
            "stdout",
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
        .with(
            "stderr",
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ))
}

/// Largest file ansible-core shows in a diff (`MAX_FILE_SIZE_FOR_DIFF`, 104448 bytes).
pub const MAX_FILE_SIZE_FOR_DIFF: usize = 104_448;

/// The diff ansible-core's action plugins build for a file whose content changes:
/// `before` from the destination (empty when it does not exist), `after` from the new
/// content, with markers instead of binary or oversized content.
pub fn content_diff(dest: &Path, after: &[u8], after_header: &str) -> Map {
    let mut diff = Map::new();
    match fs::read(dest) {
        Err(_) => {
            diff.insert(Value::from("before"), Value::from(""));
        }
        Ok(before) if before.iter().take(8192).any(|byte| *byte == 0) => {
            diff.insert(Value::from("dst_binary"), Value::Int(1));
        }
        Ok(before) if before.len() > MAX_FILE_SIZE_FOR_DIFF => {
            diff.insert(
                Value::from("dst_larger"),
                Value::Int(MAX_FILE_SIZE_FOR_DIFF as i64),
            );
        }
        Ok(before) => {
            diff.insert(
                Value::from("before_header"),
                Value::from(dest.display().to_string()),
            );
            diff.insert(
                Value::from("before"),
                Value::from(String::from_utf8_lossy(&before).into_owned()),
            );
        }
    }
    if after.len() > MAX_FILE_SIZE_FOR_DIFF {
        diff.insert(
            Value::from("src_larger"),
            Value::Int(MAX_FILE_SIZE_FOR_DIFF as i64),
        );
    } else if after.contains(&0) {
        diff.insert(Value::from("src_binary"), Value::Int(1));
    } else {
        diff.insert(Value::from("after_header"), Value::from(after_header));
        diff.insert(
            Value::from("after"),
            Value::from(String::from_utf8_lossy(after).into_owned()),
        );
    }
    diff
}

/// A path in the form of ansible-core's remote temporary directory
/// (`REMOTE_TMP/ansible-tmp-TIME-PID-RANDOM/NAME`, `REMOTE_TMP` being `~/.ansible/tmp`
/// unless `remote_tmp` says otherwise, or under `/var/tmp` with `system_tmp`), for the
/// `src` key of results of modules whose input ansible-core transfers as a file.
///
/// NOTE: rplay sends the data in the request, so no file exists at this path.
pub fn remote_tmp_path(name: &str, remote_tmp: Option<&str>, system_tmp: bool) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let base = if system_tmp {
        "/var/tmp".to_string()
    } else {
        let home = std::env::var("HOME").unwrap_or_else(|_| "/root".to_string());
        let remote_tmp = remote_tmp.unwrap_or("~/.ansible/tmp");
        crate::ospath::expand_user(remote_tmp, Some(&home), |_| None)
            .trim_end_matches('/')
            .to_string()
    };
    format!(
        "{base}/ansible-tmp-{}.{:07}-{}-{}/{name}",
        now.as_secs(),
        now.subsec_nanos() / 100,
        std::process::id(),
        u64::from(now.subsec_nanos()) * 7919 % 281_474_976_710_656
    )
}

/// `length` characters from `[a-z0-9_]`, as Python's `tempfile` names use, derived
/// from the clock and the process id (unique enough for names shown in results, not
/// for creating files).
pub fn random_name(length: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_";
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    let mut seed = nanos ^ (u128::from(std::process::id()) << 64);
    let mut name = String::new();
    for _ in 0..length {
        name.push(char::from(
            ALPHABET[(seed % ALPHABET.len() as u128) as usize],
        ));
        seed = seed / ALPHABET.len() as u128 + 0x9e37_79b9;
    }
    name
}

/// Digest algorithms `stat` and the file modules offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Digest {
    pub fn from_name(name: &str) -> Option<Digest> {
        Some(match name {
            "md5" => Digest::Md5,
            "sha1" => Digest::Sha1,
            "sha224" => Digest::Sha224,
            "sha256" => Digest::Sha256,
            "sha384" => Digest::Sha384,
            "sha512" => Digest::Sha512,
            _ => return None,
        })
    }

    /// The hex digest of `data`.
    pub fn hex(self, data: &[u8]) -> String {
        use sha2::Digest as _;
        let bytes: Vec<u8> = match self {
            Digest::Md5 => md5::Md5::digest(data).to_vec(),
            Digest::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Digest::Sha224 => sha2::Sha224::digest(data).to_vec(),
            Digest::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Digest::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Digest::Sha512 => sha2::Sha512::digest(data).to_vec(),
        };
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

/// The sha1 hex digest of a file's content, as ansible-core's `checksum`.
pub fn file_sha1(path: &Path) -> io::Result<String> {
    Ok(Digest::Sha1.hex(&fs::read(path)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbolic_modes_like_chmod() {
        assert_eq!(symbolic_mode("u=rwx,go=rx", 0o644, false), Ok(0o755));
        assert_eq!(symbolic_mode("go-w", 0o666, false), Ok(0o644));
        assert_eq!(symbolic_mode("a+X", 0o644, true), Ok(0o755));
        assert_eq!(symbolic_mode("a+X", 0o644, false), Ok(0o644));
        assert_eq!(symbolic_mode("u+s,o+t", 0o755, false), Ok(0o5755));
        assert_eq!(symbolic_mode("g=u", 0o740, false), Ok(0o770));
        assert!(symbolic_mode("z+r", 0o644, false).is_err());
    }

    #[test]
    fn modes_from_text_and_numbers() {
        assert_eq!(resolve_mode(&Value::from("0750"), 0, true).unwrap(), 0o750);
        assert_eq!(resolve_mode(&Value::Int(0o640), 0, false).unwrap(), 0o640);
        assert!(resolve_mode(&Value::from("rwx"), 0, false).is_err());
    }

    #[test]
    fn atomic_write_keeps_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        atomic_write(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn atomic_move_keeps_source_mode() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("dest");
        fs::write(&dest, "old").unwrap();
        fs::set_permissions(&dest, fs::Permissions::from_mode(0o600)).unwrap();
        let temp = temp_file_beside(&dest, b"new").unwrap();
        fs::set_permissions(&temp, fs::Permissions::from_mode(0o640)).unwrap();
        atomic_move_as(&temp, &dest, MoveAttributes::KeepSource).unwrap();
        assert_eq!(fs::read_to_string(&dest).unwrap(), "new");
        assert_eq!(fs::metadata(&dest).unwrap().mode() & 0o777, 0o640);
    }

    #[test]
    fn strerror_uses_glibc_wording() {
        let err = io::Error::from_raw_os_error(libc::EOPNOTSUPP);
        assert_eq!(strerror(&err), "Operation not supported");
        assert_eq!(os_error(&err), "[Errno 95] Operation not supported");
        let err = io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(
            os_error_with_path(&err, Path::new("/nonexistent")),
            "[Errno 13] Permission denied: '/nonexistent'"
        );
    }

    #[test]
    fn unknown_attribute_fails_with_usage() {
        let Some(program) = find_binary("chattr") else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, "x").unwrap();
        let attributes = FileAttributes {
            attributes: Some("Q".into()),
            ..FileAttributes::default()
        };
        let failure =
            set_attributes_if_different(&path, &attributes, false, &mut None).unwrap_err();
        assert_eq!(failure.msg, "chattr failed");
        let details = failure.extra.get("details").map(crate::pyrepr::str);
        assert_eq!(
            details.unwrap(),
            format!(
                "Error while setting attributes: Usage: {} [-RVf] [-+=aAcCdDeijPsStTuFx] [-p project] [-v version] files...\n",
                program.display()
            )
        );
    }

    #[test]
    fn attribute_diff_in_check_mode() {
        if find_binary("chattr").is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, "x").unwrap();
        let attributes = FileAttributes {
            attributes: Some("-A".into()),
            ..FileAttributes::default()
        };
        let mut diff = Diff::default();
        let changed =
            set_attributes_if_different(&path, &attributes, true, &mut Some(&mut diff)).unwrap();
        // `-` always counts as a change, as in ansible-core.
        assert!(changed);
        assert_eq!(diff.after.get("attributes"), Some(&Value::from("-A")));
    }

    #[test]
    fn digests_match_known_values() {
        assert_eq!(
            Digest::Sha1.hex(b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(Digest::Md5.hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }
}
