//! The `ansible.posix.mount` module on Linux: fstab entries and the mounts themselves.
//!
//! NOTE: `state: ephemeral` is not implemented and fails.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::dispatch::ModuleOptions;
use crate::files::Failure;
use crate::spec::{Default, Kind, ModuleSpec, OptionSpec, Params, RequiredIf};
use crate::system;
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "mount",
    &[
        OptionSpec::new("boot", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("dump", Kind::Str).default(Default::Str("0")),
        OptionSpec::new("fstab", Kind::Str),
        OptionSpec::new("fstype", Kind::Str),
        OptionSpec::new("path", Kind::Path)
            .required()
            .aliases(&["name"]),
        OptionSpec::new("opts", Kind::Str),
        OptionSpec::new("opts_no_log", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("passno", Kind::Str).default(Default::Str("0")),
        OptionSpec::new("src", Kind::Path),
        OptionSpec::new("backup", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("state", Kind::Str).required().choices(&[
            "absent",
            "absent_from_fstab",
            "mounted",
            "present",
            "unmounted",
            "remounted",
            "ephemeral",
        ]),
    ],
)
.required_if(&[
    RequiredIf {
        key: "state",
        value: "mounted",
        requirements: &["src", "fstype"],
        any: false,
    },
    RequiredIf {
        key: "state",
        value: "present",
        requirements: &["src", "fstype"],
        any: false,
    },
    RequiredIf {
        key: "state",
        value: "ephemeral",
        requirements: &["src", "fstype"],
        any: false,
    },
]);

/// The module's `args`: the fstab fields and settings it reports, in its key order.
struct Args {
    entries: Vec<(&'static str, String)>,
    warnings: Vec<String>,
    backup_file: String,
}

impl Args {
    fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, value)| value.as_str())
    }

    fn set(&mut self, key: &'static str, value: String) {
        match self.entries.iter_mut().find(|(name, _)| *name == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    fn field(&self, key: &str) -> String {
        self.get(key).unwrap_or_default().to_string()
    }

    fn into_result(self, changed: bool) -> Map {
        let mut result = Map::new();
        result.insert(Value::from("changed"), Value::Bool(changed));
        let mut warnings_placed = false;
        for (key, value) in &self.entries {
            result.insert(Value::from(*key), Value::from(value.as_str()));
            if *key == "boot" && !warnings_placed {
                // An empty list is dropped on the way to the controller.
                if !self.warnings.is_empty() {
                    let warnings = self
                        .warnings
                        .iter()
                        .map(|w| Value::from(w.as_str()))
                        .collect();
                    result.insert(Value::from("warnings"), Value::list(warnings));
                }
                result.insert(
                    Value::from("backup_file"),
                    Value::from(self.backup_file.as_str()),
                );
                warnings_placed = true;
            }
        }
        result
    }
}

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    let mut args = build_args(params);
    match run_checked(params, options, &mut args) {
        Ok(changed) => args.into_result(changed),
        Err(failure) => failure.into_result(),
    }
}

fn build_args(params: &Params) -> Args {
    let mut args = Args {
        entries: vec![
            ("name", params.string("path").unwrap_or_default()),
            ("opts", "defaults".into()),
            ("dump", "0".into()),
            ("passno", "0".into()),
            ("fstab", "/etc/fstab".into()),
            ("boot", "yes".into()),
        ],
        warnings: Vec::new(),
        backup_file: String::new(),
    };
    if !Path::new("/proc/self/mountinfo").exists() {
        args.warnings.push(
            "Cannot open file /proc/self/mountinfo. Bind mounts might be misinterpreted.".into(),
        );
    }
    for key in ["src", "fstype", "passno", "opts", "dump", "fstab"] {
        if let Some(value) = params.string(key) {
            args.set(key, value);
        }
    }
    let mut opts: Vec<String> = args.field("opts").split(',').map(str::to_string).collect();
    if params.flag("boot") && opts.iter().any(|opt| opt == "noauto") {
        args.warnings
            .push("Ignore the 'boot' due to 'opts' contains 'noauto'.".into());
    } else if !params.flag("boot") {
        args.set("boot", "no".into());
        opts.push("noauto".into());
        args.set("opts", opts.join(","));
    }
    args
}

fn run_checked(params: &Params, options: &ModuleOptions, args: &mut Args) -> Result<bool, Failure> {
    let state = params.string("state").unwrap_or_default();
    if state == "ephemeral" {
        return Err(Failure::new(
            "rplay's mount module does not implement state=ephemeral yet",
        ));
    }
    let fstab = args.field("fstab");
    if !Path::new(&fstab).exists() {
        if let Some(dir) = Path::new(&fstab).parent().filter(|dir| !dir.exists()) {
            std::fs::create_dir_all(dir)
                .map_err(|err| Failure::new(crate::files::os_error(&err)))?;
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&fstab)
            .map_err(|err| match err.kind() {
                std::io::ErrorKind::PermissionDenied => {
                    Failure::new(format!("Failed to open {fstab} due to permission issue"))
                }
                _ => Failure::new(format!(
                    "Failed to open {fstab} due to {}",
                    crate::files::os_error(&err)
                )),
            })?;
    }
    let name = args.field("name");
    let mounts = linux_mounts();
    let mounted = |src: Option<&str>| is_mount(&name) || is_bind_mounted(&mounts, &name, src);
    match state.as_str() {
        "absent_from_fstab" => unset_mount(params, options, args),
        "absent" => {
            let changed = unset_mount(params, options, args)?;
            if changed && !options.check_mode {
                if mounted(None) {
                    if let Err(message) = umount(&name, options) {
                        return Err(Failure::new(format!("Error unmounting {name}: {message}")));
                    }
                }
                if Path::new(&name).exists() {
                    std::fs::remove_dir(&name).map_err(|err| {
                        Failure::new(format!(
                            "Error rmdir {name}: {}: '{name}'",
                            crate::files::os_error(&err)
                        ))
                    })?;
                }
            }
            Ok(changed)
        }
        "unmounted" => {
            if !mounted(None) {
                return Ok(false);
            }
            if !options.check_mode {
                if let Err(message) = umount(&name, options) {
                    return Err(Failure::new(format!("Error unmounting {name}: {message}")));
                }
            }
            Ok(true)
        }
        "mounted" => mount_state(params, options, args, &mounts),
        "present" => Ok(set_mount(params, options, args)?.1),
        _ => {
            if !options.check_mode {
                if let Err(message) = remount(params, args, options) {
                    return Err(Failure::new(format!("Error remounting {name}: {message}")));
                }
            }
            Ok(true)
        }
    }
}

fn mount_state(
    params: &Params,
    options: &ModuleOptions,
    args: &mut Args,
    mounts: &Option<Vec<LinuxMount>>,
) -> Result<bool, Failure> {
    let name = args.field("name");
    let mut created = Vec::new();
    if !Path::new(&name).exists() && !options.check_mode {
        let mut current = std::path::PathBuf::new();
        if name.starts_with('/') {
            current.push("/");
        }
        for part in name.split('/').filter(|part| !part.is_empty()) {
            current.push(part);
            if !current.exists() {
                std::fs::create_dir(&current).map_err(|err| {
                    Failure::new(format!(
                        "Error making dir {name}: {}: '{}'",
                        crate::files::os_error(&err),
                        current.display()
                    ))
                })?;
                created.push(current.clone());
            }
        }
    }
    let (backup_lines, mut changed) = set_mount(params, options, args)?;
    let mut outcome = Ok(());
    if is_mount(&name) || is_bind_mounted(mounts, &name, args.get("src")) {
        if changed && !options.check_mode {
            outcome = remount(params, args, options);
            changed = true;
        }
    } else {
        changed = true;
        if !options.check_mode {
            outcome = mount(args, options);
        }
    }
    if let Err(message) = outcome {
        let _ = crate::files::atomic_write(
            Path::new(&args.field("fstab")),
            backup_lines.concat().as_bytes(),
        );
        for dir in created.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
        return Err(Failure::new(format!("Error mounting {name}: {message}")));
    }
    Ok(changed)
}

/// Escapes space, `&` and backslash as fstab needs.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('&', "\\046")
}

fn read_lines(path: &str) -> Result<Vec<String>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Failure::new(format!("{}: '{path}'", crate::files::os_error(&err))))?;
    Ok(text.split_inclusive('\n').map(str::to_string).collect())
}

fn write_fstab(params: &Params, lines: &[String], path: &str) -> Result<String, Failure> {
    let backup = if params.flag("backup") {
        crate::files::backup_local(Path::new(path))?
    } else {
        String::new()
    };
    // The Python module rewrites fstab in place; rplay replaces it atomically, so a
    // crash never leaves half a file.
    crate::files::atomic_write(Path::new(path), lines.concat().as_bytes())
        .map_err(|err| Failure::new(crate::files::os_error(&err)))?;
    Ok(backup)
}

/// Returns whether an fstab line is the entry for `name` (a swap line `none` also needs `src`).
fn is_entry(fields: &[&str; 4], name: &str, src: Option<&str>) -> bool {
    let [line_src, line_name, fstype, _] = *fields;
    line_name == name
        && !(src.is_some() && line_name == "none" && fstype == "swap" && Some(line_src) != src)
}

/// Adds or updates the entry; returns the old lines and whether anything changed.
fn set_mount(
    params: &Params,
    options: &ModuleOptions,
    args: &mut Args,
) -> Result<(Vec<String>, bool), Failure> {
    let fstab = args.field("fstab");
    let escaped = |key: &str| escape(args.get(key).unwrap_or_default());
    let wanted = [
        escaped("src"),
        escaped("name"),
        escaped("fstype"),
        escaped("opts"),
        escaped("dump"),
        escaped("passno"),
    ];
    let mut old_lines = Vec::new();
    let mut to_write = Vec::new();
    let (mut exists, mut changed) = (false, false);
    for mut line in read_lines(&fstab)? {
        if !line.ends_with('\n') {
            line.push('\n');
        }
        old_lines.push(line.clone());
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            to_write.push(line);
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if !(4..=6).contains(&fields.len()) {
            to_write.push(line);
            continue;
        }
        let given = fields.len();
        let mut entry: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        entry.resize(6, "0".into());
        let key = [fields[0], fields[1], fields[2], fields[3]];
        if !is_entry(&key, &wanted[1], args.get("src")) {
            to_write.push(line);
            continue;
        }
        exists = true;
        for index in [0, 2, 3, 4, 5] {
            // A missing dump or passno is the number 0 in the Python module, which never
            // equals the text it compares it with.
            if index >= given || entry[index] != wanted[index] {
                entry[index] = wanted[index].clone();
                changed = true;
            }
        }
        if changed {
            to_write.push(format!("{}\n", entry.join(" ")));
        } else {
            to_write.push(line);
        }
    }
    if !exists {
        to_write.push(format!("{}\n", wanted.join(" ")));
        changed = true;
    }
    if changed && !options.check_mode {
        args.backup_file = write_fstab(params, &to_write, &fstab)?;
    }
    Ok((old_lines, changed))
}

/// Removes the entry from fstab; returns whether it was there.
fn unset_mount(params: &Params, options: &ModuleOptions, args: &mut Args) -> Result<bool, Failure> {
    let fstab = args.field("fstab");
    let name = escape(&args.field("name"));
    let mut to_write = Vec::new();
    let mut changed = false;
    for line in read_lines(&fstab)? {
        let trimmed = line.trim();
        let fields: Vec<&str> = line.split_whitespace().collect();
        if trimmed.is_empty() || trimmed.starts_with('#') || fields.len() != 6 {
            to_write.push(line);
            continue;
        }
        if !is_entry(
            &[fields[0], fields[1], fields[2], fields[3]],
            &name,
            args.get("src"),
        ) {
            to_write.push(line);
            continue;
        }
        changed = true;
    }
    if changed && !options.check_mode {
        write_fstab(params, &to_write, &fstab)?;
    }
    Ok(changed)
}

/// `-T FILE` for an fstab other than `/etc/fstab`.
fn fstab_args(args: &Args) -> Vec<String> {
    let fstab = args.field("fstab");
    if !fstab.is_empty() && fstab != "/etc/fstab" {
        vec!["-T".into(), fstab]
    } else {
        Vec::new()
    }
}

fn run_tool(argv: Vec<String>, options: &ModuleOptions) -> Result<(), String> {
    let output = system::run(&argv, options);
    if output.rc == 0 {
        Ok(())
    } else {
        Err(format!("{}{}", output.stdout, output.stderr))
    }
}

fn mount(args: &Args, options: &ModuleOptions) -> Result<(), String> {
    let mut argv = vec![system::bin_path("mount").map_err(|failure| failure.msg)?];
    argv.extend(fstab_args(args));
    argv.push(args.field("name"));
    run_tool(argv, options)
}

fn umount(path: &str, options: &ModuleOptions) -> Result<(), String> {
    let umount = system::bin_path("umount").map_err(|failure| failure.msg)?;
    run_tool(vec![umount, path.into()], options)
}

/// `mount -o remount`, falling back to unmounting and mounting again.
fn remount(params: &Params, args: &Args, options: &ModuleOptions) -> Result<(), String> {
    let with_opts = params.str("state") == Some("remounted") && args.field("opts") != "defaults";
    let mut argv = vec![system::bin_path("mount").map_err(|failure| failure.msg)?];
    if with_opts {
        argv.extend(["-o".into(), format!("remount,{}", args.field("opts"))]);
    } else {
        argv.extend(["-o".into(), "remount".into()]);
    }
    argv.extend(fstab_args(args));
    argv.push(args.field("name"));
    if run_tool(argv, options).is_ok() {
        return Ok(());
    }
    if with_opts {
        return Err("Options were specified with remounted, but the remount command failed. Failing in order to prevent an unexpected mount result. Try replacing this command with a \"state: unmounted\" followed by a \"state: mounted\" using the full desired mount options instead.".into());
    }
    umount(&args.field("name"), options)?;
    mount(args, options)
}

/// Python's `os.path.ismount`.
fn is_mount(path: &str) -> bool {
    let path = Path::new(path);
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if meta.file_type().is_symlink() {
        return false;
    }
    let Ok(parent) = std::fs::symlink_metadata(path.join("..")) else {
        return false;
    };
    meta.dev() != parent.dev() || meta.ino() == parent.ino()
}

/// A mount from `/proc/self/mountinfo`: its mount point and source, where a bind mount's
/// source is the directory it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LinuxMount {
    dst: String,
    src: String,
}

fn linux_mounts() -> Option<Vec<LinuxMount>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    Some(parse_mountinfo(&text))
}

fn parse_mountinfo(text: &str) -> Vec<LinuxMount> {
    struct Record {
        id: i64,
        parent: i64,
        root: String,
        dst: String,
        src: String,
    }
    let records: Vec<Record> = text
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 7 {
                return None;
            }
            Some(Record {
                id: fields[0].parse().ok()?,
                parent: fields[1].parse().ok()?,
                root: fields[3].to_string(),
                dst: fields[4].to_string(),
                src: fields[fields.len() - 2].to_string(),
            })
        })
        .collect();
    let mut mounts: Vec<LinuxMount> = Vec::new();
    for record in &records {
        let parent = records.iter().rev().find(|other| other.id == record.parent);
        let src = match parent {
            Some(parent) if record.parent != 1 => {
                let mut root = record.root.clone();
                if parent.root.len() > 1 && root.starts_with(&format!("{}/", parent.root)) {
                    root = root[parent.root.len()..].to_string();
                }
                if parent.dst != "/" {
                    root = format!("{}{root}", parent.dst);
                }
                root
            }
            _ => record.src.clone(),
        };
        let mount = LinuxMount {
            dst: record.dst.clone(),
            src,
        };
        match mounts.iter_mut().find(|known| known.dst == mount.dst) {
            Some(known) => *known = mount,
            None => mounts.push(mount),
        }
    }
    mounts
}

fn is_bind_mounted(mounts: &Option<Vec<LinuxMount>>, dest: &str, src: Option<&str>) -> bool {
    let Some(mounts) = mounts else {
        return false;
    };
    match mounts.iter().find(|mount| mount.dst == dest) {
        Some(mount) => src.is_none_or(|src| mount.src == src),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fstab_fields_escaped() {
        assert_eq!(escape("/mnt/a b&c\\d"), "/mnt/a\\040b\\046c\\134d");
    }

    #[test]
    fn swap_entries_need_matching_source() {
        assert!(is_entry(&["/swapfile", "none", "swap", "sw"], "none", None));
        assert!(!is_entry(
            &["/swapfile", "none", "swap", "sw"],
            "none",
            Some("/other")
        ));
        assert!(is_entry(
            &["UUID=1", "/data", "ext4", "defaults"],
            "/data",
            Some("/dev/x")
        ));
    }

    fn fstab_params(fstab: &Path, state: &str, extra: &[(&str, &str)]) -> Params {
        let mut args = Map::new();
        args.insert(
            Value::from("fstab"),
            Value::from(fstab.display().to_string()),
        );
        args.insert(Value::from("state"), Value::from(state));
        for (key, value) in extra {
            args.insert(Value::from(*key), Value::from(*value));
        }
        SPEC.validate(&args).unwrap()
    }

    #[test]
    fn fstab_entries_edited() {
        let dir = tempfile::tempdir().unwrap();
        let fstab = dir.path().join("fstab");
        std::fs::write(
            &fstab,
            "# static\n/swapfile none swap sw 0 0\n/dev/sdb1 /data ext4 defaults\n",
        )
        .unwrap();
        let options = ModuleOptions::default();
        let swap = fstab_params(
            &fstab,
            "absent_from_fstab",
            &[("path", "none"), ("fstype", "swap")],
        );
        let result = run(&swap, &options);
        assert_eq!(result.get("changed"), Some(&Value::Bool(true)));
        let data = [("path", "/data"), ("src", "/dev/sdb1"), ("fstype", "ext4")];
        let result = run(&fstab_params(&fstab, "present", &data), &options);
        // The 4-field line lacks dump and passno, which the module always rewrites.
        assert_eq!(result.get("changed"), Some(&Value::Bool(true)));
        let result = run(&fstab_params(&fstab, "present", &data), &options);
        assert_eq!(result.get("changed"), Some(&Value::Bool(false)));
        assert_eq!(
            std::fs::read_to_string(&fstab).unwrap(),
            "# static\n/dev/sdb1 /data ext4 defaults 0 0\n"
        );
    }

    #[test]
    fn mountinfo_sources() {
        let text = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n30 22 8:1 /srv/data /mnt/data rw - ext4 /dev/sda1 rw\n";
        let mounts = parse_mountinfo(text);
        assert_eq!(mounts[0].src, "/dev/sda1");
        assert_eq!(mounts[1].src, "/srv/data");
        assert!(is_bind_mounted(
            &Some(mounts.clone()),
            "/mnt/data",
            Some("/srv/data")
        ));
        assert!(!is_bind_mounted(&Some(mounts), "/mnt/other", None));
    }
}
