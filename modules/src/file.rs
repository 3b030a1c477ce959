//! The `file` module: states `file`, `directory`, `link`, `hard`, `touch` and `absent`,
//! with owner, group, mode, `recurse` and ansible-core 2.18's results and diffs.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::dispatch::ModuleOptions;
use crate::files::{
    add_path_info, os_error, set_attributes_if_different, Diff, Failure, FileAttributes, PathState,
};
use crate::spec::{Default, Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

const STATES: &[&str] = &["absent", "directory", "file", "hard", "link", "touch"];

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "file",
    &[
        OptionSpec::new("state", Kind::Str).choices(STATES),
        OptionSpec::new("path", Kind::Path)
            .required()
            .aliases(&["dest", "name"]),
        OptionSpec::new("_original_basename", Kind::Str),
        OptionSpec::new("recurse", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("force", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("follow", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("_diff_peek", Kind::Bool),
        OptionSpec::new("src", Kind::Path),
        OptionSpec::new("modification_time", Kind::Str),
        OptionSpec::new("modification_time_format", Kind::Str)
            .default(Default::Str("%Y%m%d%H%M.%S")),
        OptionSpec::new("access_time", Kind::Str),
        OptionSpec::new("access_time_format", Kind::Str).default(Default::Str("%Y%m%d%H%M.%S")),
    ],
)
.file_common();

/// The time a time option requests.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TimeRequest {
    Preserve,
    Now,
    /// Seconds since the epoch.
    At(f64),
}

/// One run of the module: its parameters and run-wide switches.
struct FileTask<'a> {
    params: &'a Params,
    check_mode: bool,
    follow: bool,
    force: bool,
    attributes: FileAttributes,
    modification_time: TimeRequest,
    access_time: TimeRequest,
}

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    let mut warnings = Vec::new();
    if options.check_mode && params.str("state") != Some("absent") {
        warnings = lookup_warnings(params);
    }
    let mut result = match run_checked(params, options) {
        Ok(result) => result,
        Err(failure) => failure.into_result(),
    };
    if !warnings.is_empty() {
        if let Some(Value::List(more)) = result.get("warnings") {
            warnings.extend(more.iter().cloned());
        }
        result.insert(Value::from("warnings"), Value::list(warnings));
    }
    result
}

/// Returns the warnings ansible-core 2.18's file module gives in check mode for an owner or
/// group that does not exist (yet): a task of the same run may create it.
fn lookup_warnings(params: &Params) -> Vec<Value> {
    let mut warnings = Vec::new();
    if let Some(owner) = params.string("owner").filter(|owner| !owner.is_empty()) {
        let message = match owner.parse::<u32>() {
            Ok(uid) if crate::files::passwd_name(uid).is_none() => {
                Some(format!("failed to look up user with uid {uid}"))
            }
            Ok(_) => None,
            Err(_) if crate::files::uid_of(&owner).is_none() => {
                Some(format!("failed to look up user {owner}"))
            }
            Err(_) => None,
        };
        if let Some(message) = message {
            warnings.push(Value::from(format!(
                "{message}. Create user up to this point in real play"
            )));
        }
    }
    if let Some(group) = params.string("group").filter(|group| !group.is_empty()) {
        let message = match group.parse::<u32>() {
            Ok(gid) if crate::files::group_entry_name(gid).is_none() => {
                Some(format!("failed to look up group with gid {gid}"))
            }
            Ok(_) => None,
            Err(_) if crate::files::gid_of(&group).is_none() => {
                Some(format!("failed to look up group {group}"))
            }
            Err(_) => None,
        };
        if let Some(message) = message {
            warnings.push(Value::from(format!(
                "{message}. Create group up to this point in real play"
            )));
        }
    }
    warnings
}

fn run_checked(params: &Params, options: &ModuleOptions) -> Result<Map, Failure> {
    let mut path = params.string("path").unwrap_or_default();
    let src = params.string("src");
    let requested = params.string("state");
    // A directory given as the path of a file means the file inside it.
    if !matches!(requested.as_deref(), Some("link" | "absent")) && Path::new(&path).is_dir() {
        let basename = params
            .string("_original_basename")
            .or_else(|| src.as_deref().map(base_name));
        if let Some(basename) = basename {
            path = Path::new(&path).join(basename).display().to_string();
        }
    }
    let previous = PathState::of(Path::new(&path));
    let state = match requested {
        Some(state) => state,
        None if previous != PathState::Absent => previous.name().to_string(),
        None if params.flag("recurse") => "directory".to_string(),
        None => "file".to_string(),
    };
    if params.flag("recurse") && state != "directory" {
        return Err(
            Failure::new("recurse option requires state to be 'directory'").with("path", path),
        );
    }
    if src.is_some() && state != "link" && state != "hard" {
        return Err(
            Failure::new("src option requires state to be 'link' or 'hard'").with("path", path),
        );
    }
    let task = FileTask {
        params,
        check_mode: options.check_mode,
        follow: params.flag("follow"),
        force: params.flag("force"),
        attributes: FileAttributes::from_params(params),
        modification_time: time_request(
            params.str("modification_time"),
            params.str("modification_time_format"),
            &state,
        )?,
        access_time: time_request(
            params.str("access_time"),
            params.str("access_time_format"),
            &state,
        )?,
    };
    if params.get("_diff_peek").is_some() {
        return Ok(diff_peek(&path));
    }
    let mut result = match state.as_str() {
        "file" => task.ensure_file(&path)?,
        "directory" => task.ensure_directory(&path)?,
        "link" => task.ensure_symlink(&path, src.as_deref())?,
        "hard" => task.ensure_hardlink(&path, src.as_deref())?,
        "touch" => task.touch(&path)?,
        _ => task.ensure_absent(&path)?,
    };
    let reported = result
        .get("path")
        .or_else(|| result.get("dest"))
        .map(crate::pyrepr::str);
    if let Some(reported) = reported {
        add_path_info(&mut result, Path::new(&reported));
    }
    Ok(result)
}

fn base_name(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_string()
}

/// Reads a time option: unset means preserve, except that `touch` means now; other
/// text is a local time written in `format`.
fn time_request(
    value: Option<&str>,
    format: Option<&str>,
    state: &str,
) -> Result<TimeRequest, Failure> {
    match value {
        None if state == "touch" => Ok(TimeRequest::Now),
        None | Some("preserve") => Ok(TimeRequest::Preserve),
        Some("now") => Ok(TimeRequest::Now),
        Some(text) => {
            let format = format.unwrap_or("%Y%m%d%H%M.%S");
            crate::time::parse_local_time(text, format)
                .map(TimeRequest::At)
                .map_err(|err| {
                    Failure::new(format!(
                        "Error while obtaining timestamp for time {text} using format {format}: {err}"
                    ))
                })
        }
    }
}

/// Converts a file time to Python's `st_mtime`: seconds since the epoch as a float.
fn file_time(seconds: i64, nanoseconds: i64) -> f64 {
    seconds as f64 + nanoseconds as f64 / 1e9
}

/// Python's `os.utime(path, times)`: `(atime, mtime)` in seconds, or `None` for the
/// current time; a link is followed.
fn set_file_times(path: &Path, times: Option<(f64, f64)>) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let timespec = |seconds: f64| libc::timespec {
        tv_sec: seconds.floor() as libc::time_t,
        tv_nsec: ((seconds - seconds.floor()) * 1e9) as libc::c_long,
    };
    let values = times.map(|(atime, mtime)| [timespec(atime), timespec(mtime)]);
    let pointer = values
        .as_ref()
        .map_or(std::ptr::null(), |pair| pair.as_ptr());
    // SAFETY: `c_path` is NUL-terminated, and `pointer` is NULL or points at two
    // timespecs that outlive the call.
    let rc = unsafe { libc::utimensat(libc::AT_FDCWD, c_path.as_ptr(), pointer, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn diff_peek(path: &str) -> Map {
    let head = fs::read(path)
        .map(|data| data.iter().take(8192).any(|byte| *byte == 0))
        .unwrap_or(false);
    let mut result = Map::new();
    result.insert(Value::from("path"), Value::from(path));
    result.insert(Value::from("changed"), Value::Bool(false));
    result.insert(Value::from("appears_binary"), Value::Bool(head));
    result
}

fn result_map(entries: &[(&str, Value)]) -> Map {
    entries
        .iter()
        .map(|(key, value)| (Value::from(*key), value.clone()))
        .collect()
}

impl FileTask<'_> {
    /// Returns the path that owner, group and mode apply to: the link target when
    /// following links.
    fn attribute_path(&self, path: &str) -> PathBuf {
        let path = PathBuf::from(path);
        if self.follow && PathState::of(&path) == PathState::Link {
            if let Ok(real) = fs::canonicalize(&path) {
                return real;
            }
        }
        path
    }

    /// Applies owner, group, mode and the time requests to `path`.
    fn apply(&self, path: &Path, diff: Option<&mut Diff>) -> Result<bool, Failure> {
        let mut diff = diff;
        let mut changed =
            set_attributes_if_different(path, &self.attributes, self.check_mode, &mut diff)?;
        changed |= self.update_times(path, diff)?;
        Ok(changed)
    }

    /// Sets the requested access and modification times of `path` (following a link)
    /// where they differ, as ansible-core's `update_timestamp_for_file`: `now` for both
    /// always counts as a change, since the clock has moved.
    fn update_times(&self, path: &Path, diff: Option<&mut Diff>) -> Result<bool, Failure> {
        let requests = (self.modification_time, self.access_time);
        if requests == (TimeRequest::Preserve, TimeRequest::Preserve) {
            return Ok(false);
        }
        let time_error = |err: &std::io::Error| {
            Failure::new(format!(
                "Error while updating modification or access time: {}",
                os_error(err)
            ))
            .with("path", path.display().to_string())
        };
        let meta = fs::metadata(path).map_err(|err| time_error(&err))?;
        let previous = (
            file_time(meta.mtime(), meta.mtime_nsec()),
            file_time(meta.atime(), meta.atime_nsec()),
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |elapsed| elapsed.as_secs_f64());
        let both_now = requests == (TimeRequest::Now, TimeRequest::Now);
        let wanted = |request: TimeRequest, previous: f64| match request {
            TimeRequest::Preserve => previous,
            TimeRequest::Now => now,
            TimeRequest::At(time) => time,
        };
        let mtime = wanted(self.modification_time, previous.0);
        let atime = wanted(self.access_time, previous.1);
        if !both_now && (mtime, atime) == previous {
            return Ok(false);
        }
        if !self.check_mode {
            let times = (!both_now).then_some((atime, mtime));
            set_file_times(path, times).map_err(|err| time_error(&err))?;
        }
        if let Some(diff) = diff {
            if mtime != previous.0 {
                diff.record("mtime", Value::Float(previous.0), Value::Float(mtime));
            }
            if atime != previous.1 {
                diff.record("atime", Value::Float(previous.1), Value::Float(atime));
            }
        }
        Ok(true)
    }

    fn ensure_absent(&self, path: &str) -> Result<Map, Failure> {
        let previous = PathState::of(Path::new(path));
        if previous == PathState::Absent {
            return Ok(result_map(&[
                ("path", Value::from(path)),
                ("changed", Value::Bool(false)),
                ("state", Value::from("absent")),
            ]));
        }
        let mut diff = Diff::initial(path, "absent", previous);
        if previous == PathState::Directory {
            diff.before
                .insert(Value::from("path_content"), directory_listing(path));
        }
        if !self.check_mode {
            let removed = if previous == PathState::Directory {
                fs::remove_dir_all(path)
                    .map_err(|err| Failure::new(format!("rmtree failed: {}", os_error(&err))))
            } else {
                match fs::remove_file(path) {
                    Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(Failure::new(
                        format!("unlinking failed: {} ", os_error(&err)),
                    )
                    .with("path", path)),
                    _ => Ok(()),
                }
            };
            removed?;
        }
        Ok(result_map(&[
            ("path", Value::from(path)),
            ("changed", Value::Bool(true)),
            ("diff", diff.into_value()),
            ("state", Value::from("absent")),
        ]))
    }

    fn touch(&self, path: &str) -> Result<Map, Failure> {
        let previous = PathState::of(Path::new(path));
        let mut changed = false;
        if previous == PathState::Absent {
            if self.check_mode {
                return Ok(result_map(&[
                    ("dest", Value::from(path)),
                    ("changed", Value::Bool(true)),
                ]));
            }
            fs::File::create(path).map_err(|err| {
                Failure::new(format!("Error, could not touch target: {}", os_error(&err)))
                    .with("path", path)
            })?;
            changed = true;
        }
        let mut diff = Diff::initial(path, "touch", previous);
        let target = self.attribute_path(path);
        match self.apply(&target, Some(&mut diff)) {
            Ok(applied) => changed |= applied,
            Err(mut failure) => {
                // The failure's file information is read before the new file goes.
                if let Some(failed_path) = failure.extra.get("path").map(crate::pyrepr::str) {
                    add_path_info(&mut failure.extra, Path::new(&failed_path));
                }
                if previous == PathState::Absent {
                    let _ = fs::remove_file(path);
                }
                return Err(failure);
            }
        }
        Ok(result_map(&[
            ("dest", Value::from(path)),
            ("changed", Value::Bool(changed)),
            ("diff", diff.into_value()),
        ]))
    }

    fn ensure_file(&self, path: &str) -> Result<Map, Failure> {
        let mut path = path.to_string();
        let mut previous = PathState::of(Path::new(&path));
        if previous == PathState::Link && self.follow {
            if let Ok(real) = fs::canonicalize(&path) {
                path = real.display().to_string();
                previous = PathState::of(&real);
            }
        }
        if previous != PathState::File && previous != PathState::Hard {
            return Err(Failure::new(format!(
                "file ({path}) is {}, cannot continue",
                previous.name()
            ))
            .with("path", path.as_str())
            .with("state", previous.name()));
        }
        let mut diff = Diff::initial(&path, "file", previous);
        let changed = self.apply(Path::new(&path), Some(&mut diff))?;
        Ok(result_map(&[
            ("path", Value::from(path)),
            ("changed", Value::Bool(changed)),
            ("diff", diff.into_value()),
        ]))
    }

    fn ensure_directory(&self, path: &str) -> Result<Map, Failure> {
        let mut path = path.to_string();
        let mut previous = PathState::of(Path::new(&path));
        if self.follow && previous == PathState::Link {
            if let Ok(real) = fs::canonicalize(&path) {
                path = real.display().to_string();
                previous = PathState::of(&real);
            }
        }
        let mut diff = Diff::initial(&path, "directory", previous);
        let finish = |changed: bool, diff: Diff| {
            result_map(&[
                ("path", Value::from(path.as_str())),
                ("changed", Value::Bool(changed)),
                ("diff", diff.into_value()),
            ])
        };
        match previous {
            PathState::Absent => {
                if self.check_mode {
                    return Ok(finish(true, diff));
                }
                let changed = self.make_directories(&path, &mut diff)?;
                Ok(finish(changed, diff))
            }
            PathState::Directory => {
                let mut changed = self.apply(Path::new(&path), Some(&mut diff))?;
                if self.params.flag("recurse") {
                    changed |= self.apply_recursively(Path::new(&path))?;
                }
                Ok(finish(changed, diff))
            }
            other => Err(
                Failure::new(format!("{path} already exists as a {}", other.name()))
                    .with("path", path.as_str()),
            ),
        }
    }

    /// Creates each missing directory of `path` and applies the attributes to it, as
    /// `mkdir -p` with the mode on every new directory.
    fn make_directories(&self, path: &str, diff: &mut Diff) -> Result<bool, Failure> {
        let mut changed = false;
        let mut current = PathBuf::from(if path.starts_with('/') { "/" } else { "" });
        for part in path.split('/').filter(|part| !part.is_empty()) {
            current.push(part);
            if current.exists() {
                continue;
            }
            let created = fs::create_dir(&current);
            if let Err(err) = created {
                if !(err.kind() == std::io::ErrorKind::AlreadyExists && current.is_dir()) {
                    return Err(Failure::new(format!(
                        "There was an issue creating {} as requested: {}",
                        current.display(),
                        os_error(&err)
                    ))
                    .with("path", path));
                }
            }
            changed = true;
            changed |= self.apply(&current, Some(diff))?;
        }
        Ok(changed)
    }

    fn apply_recursively(&self, root: &Path) -> Result<bool, Failure> {
        let mut changed = false;
        let entries = fs::read_dir(root).map_err(|err| {
            Failure::new(format!(
                "Could not recursively set attributes on {}. Original error was: '{}'",
                root.display(),
                os_error(&err)
            ))
        })?;
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            changed |= self.apply(&path, None)?;
            let state = PathState::of(&path);
            if state == PathState::Directory {
                changed |= self.apply_recursively(&path)?;
            } else if state == PathState::Link && self.follow {
                if let Ok(target) = fs::canonicalize(&path) {
                    if target.is_dir() {
                        changed |= self.apply_recursively(&target)?;
                    }
                    changed |= self.apply(&target, None)?;
                }
            }
        }
        Ok(changed)
    }

    /// Rejects a link whose source is missing (without `force`) and a path that holds a
    /// file or a non-empty directory ansible-core would not replace.
    fn check_symlink_conflicts(
        &self,
        path: &str,
        src: Option<&str>,
        previous: PathState,
    ) -> Result<(), Failure> {
        let link = Path::new(path);
        let base = if previous != PathState::Link && link.is_dir() {
            PathBuf::from(path)
        } else {
            link.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        if let Some(src) = src {
            let absolute = base.join(src);
            if !self.force && !absolute.exists() {
                return Err(Failure::new(format!(
                    "src file does not exist, use \"force=yes\" if you really want to create the link: {}",
                    absolute.display()
                ))
                .with("path", path)
                .with("src", src));
            }
        }
        match previous {
            PathState::Directory if !self.force => {
                return Err(Failure::new(format!(
                    "refusing to convert from directory to symlink for {path}"
                ))
                .with("path", path))
            }
            PathState::Directory
                if fs::read_dir(link)
                    .map(|mut d| d.next().is_some())
                    .unwrap_or(false) =>
            {
                return Err(Failure::new(format!(
                    "the directory {path} is not empty, refusing to convert it"
                ))
                .with("path", path))
            }
            PathState::File | PathState::Hard if !self.force => {
                return Err(Failure::new(format!(
                    "refusing to convert from {} to symlink for {path}",
                    previous.name()
                ))
                .with("path", path))
            }
            _ => {}
        }
        Ok(())
    }

    fn ensure_symlink(&self, path: &str, src: Option<&str>) -> Result<Map, Failure> {
        let link = Path::new(path);
        let previous = PathState::of(link);
        let mut src = src.map(str::to_string);
        if src.is_none() && self.follow && link.exists() {
            src = fs::read_link(link).ok().map(|t| t.display().to_string());
        }
        self.check_symlink_conflicts(path, src.as_deref(), previous)?;

        let mut diff = Diff::initial(path, "link", previous);
        let mut changed = false;
        if previous == PathState::Link {
            if let Some(src) = &src {
                let old = fs::read_link(link)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                if old != *src {
                    diff.record("src", Value::from(old), Value::from(src.as_str()));
                    changed = true;
                }
            }
        } else {
            if src.is_none() {
                return Err(Failure::new("src is required for creating new symlinks"));
            }
            changed = true;
        }
        if changed && !self.check_mode {
            let target = src.as_deref().unwrap_or_default();
            self.replace_with(link, previous, |temp| {
                std::os::unix::fs::symlink(target, temp)
            })?;
        }
        let src_value = src.as_deref().map(Value::from).unwrap_or(Value::Null);
        if self.check_mode && !link.exists() && fs::symlink_metadata(link).is_err() {
            return Ok(result_map(&[
                ("dest", Value::from(path)),
                ("src", src_value),
                ("changed", Value::Bool(changed)),
                ("diff", diff.into_value()),
            ]));
        }
        let target = self.attribute_path(path);
        let mut warnings = Vec::new();
        if self.follow && PathState::of(link) == PathState::Link && !target.exists() {
            warnings.push(Value::from(
                "Cannot set fs attributes on a non-existent symlink target. follow should be set to False to avoid this.",
            ));
        } else {
            changed |= self.apply(&target, Some(&mut diff))?;
        }
        let mut result = result_map(&[
            ("dest", Value::from(path)),
            ("src", src_value),
            ("changed", Value::Bool(changed)),
            ("diff", diff.into_value()),
        ]);
        if !warnings.is_empty() {
            result.insert(Value::from("warnings"), Value::list(warnings));
        }
        Ok(result)
    }

    /// Creates a link at `path` with `create`, replacing what is there through a
    /// temporary name and a rename.
    fn replace_with(
        &self,
        path: &Path,
        previous: PathState,
        create: impl Fn(&Path) -> std::io::Result<()>,
    ) -> Result<(), Failure> {
        let shown = path.display().to_string();
        if previous == PathState::Absent {
            return create(path).map_err(|err| {
                Failure::new(format!("Error while linking: {}", os_error(&err))).with("path", shown)
            });
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let temp = dir.join(format!(".{}.rplay.tmp", std::process::id()));
        let replaced = (|| {
            if previous == PathState::Directory {
                fs::remove_dir(path)?;
            }
            create(&temp)?;
            fs::rename(&temp, path)
        })();
        replaced.map_err(|err| {
            let _ = fs::remove_file(&temp);
            Failure::new(format!("Error while replacing: {}", os_error(&err))).with("path", shown)
        })
    }

    fn ensure_hardlink(&self, path: &str, src: Option<&str>) -> Result<Map, Failure> {
        use std::os::unix::fs::MetadataExt;
        let link = Path::new(path);
        let previous = PathState::of(link);
        if previous != PathState::Hard && src.is_none() {
            return Err(Failure::new("src is required for creating new hardlinks"));
        }
        if let Some(src) = src {
            if !Path::new(src).exists() {
                return Err(Failure::new("src does not exist")
                    .with("dest", path)
                    .with("src", src));
            }
        }
        let inode = |p: &Path| fs::metadata(p).map(|m| m.ino()).ok();
        let mut diff = Diff::initial(path, "hard", previous);
        let changed = match previous {
            PathState::Absent => true,
            PathState::Link => {
                let old = fs::read_link(link)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                let changed = Some(old.as_str()) != src;
                if changed {
                    diff.record(
                        "src",
                        Value::from(old),
                        src.map(Value::from).unwrap_or_default(),
                    );
                }
                changed
            }
            PathState::Hard => {
                let differs = src.is_some_and(|src| inode(link) != inode(Path::new(src)));
                if differs && !self.force {
                    return Err(Failure::new(
                        "Cannot link, different hard link exists at destination",
                    )
                    .with("dest", path)
                    .with("src", src.unwrap_or_default()));
                }
                differs
            }
            PathState::File => {
                if !self.force {
                    return Err(Failure::new("Cannot link, file exists at destination")
                        .with("dest", path)
                        .with("src", src.unwrap_or_default()));
                }
                true
            }
            PathState::Directory => {
                if src.is_some_and(|src| inode(link) == inode(Path::new(src))) {
                    return Ok(result_map(&[
                        ("path", Value::from(path)),
                        ("changed", Value::Bool(false)),
                    ]));
                }
                if !self.force {
                    return Err(Failure::new(
                        "Cannot link: different hard link exists at destination",
                    )
                    .with("dest", path)
                    .with("src", src.unwrap_or_default()));
                }
                true
            }
        };
        if changed && !self.check_mode {
            let source = src.unwrap_or_default();
            self.replace_with(link, previous, |temp| fs::hard_link(source, temp))?;
        }
        let src_value = src.map(Value::from).unwrap_or(Value::Null);
        let mut changed = changed;
        if !self.check_mode || link.exists() {
            changed |= self.apply(link, Some(&mut diff))?;
        }
        Ok(result_map(&[
            ("dest", Value::from(path)),
            ("src", src_value),
            ("changed", Value::Bool(changed)),
            ("diff", diff.into_value()),
        ]))
    }
}

/// `path_content` of a directory about to be removed: its subdirectories and files.
fn directory_listing(path: &str) -> Value {
    let mut directories = Vec::new();
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::from(path)];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let entry_path = entry.path();
            let shown = Value::from(entry_path.display().to_string());
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                directories.push(shown);
                pending.push(entry_path);
            } else {
                files.push(shown);
            }
        }
    }
    result_map(&[
        ("directories", Value::list(directories)),
        ("files", Value::list(files)),
    ])
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn file_module(args: &[(&str, Value)], check_mode: bool) -> Map {
        let args: Map = args
            .iter()
            .map(|(key, value)| (Value::from(*key), value.clone()))
            .collect();
        let options = ModuleOptions {
            check_mode,
            ..ModuleOptions::default()
        };
        run(&SPEC.validate(&args).unwrap(), &options)
    }

    fn text(path: &Path) -> Value {
        Value::from(path.display().to_string())
    }

    #[test]
    fn directory_created_with_mode_then_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a/b");
        let args = [
            ("path", text(&target)),
            ("state", Value::from("directory")),
            ("mode", Value::from("0750")),
        ];
        let result = file_module(&args, false);
        assert_eq!(result.get("changed"), Some(&Value::Bool(true)));
        assert_eq!(result.get("mode"), Some(&Value::from("0750")));
        assert_eq!(
            fs::metadata(dir.path().join("a"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o750
        );
        let again = file_module(&args, false);
        assert_eq!(again.get("changed"), Some(&Value::Bool(false)));
    }

    #[test]
    fn check_mode_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("new");
        let result = file_module(
            &[("path", text(&target)), ("state", Value::from("directory"))],
            true,
        );
        assert_eq!(result.get("changed"), Some(&Value::Bool(true)));
        assert!(!target.exists());
        let diff = result.get("diff").unwrap();
        assert_eq!(
            diff.get("before").unwrap().get("state"),
            Some(&Value::from("absent"))
        );
    }

    #[test]
    fn modification_time_set_once() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f");
        fs::write(&target, "x").unwrap();
        let args = [
            ("path", text(&target)),
            ("modification_time", Value::from("202202081414.00")),
        ];
        let checked = file_module(&args, true);
        assert_eq!(checked.get("changed"), Some(&Value::Bool(true)));
        let after = checked
            .get("diff")
            .and_then(|diff| diff.get("after"))
            .unwrap();
        assert!(after.get("mtime").is_some());
        let set = file_module(&args, false);
        assert_eq!(set.get("changed"), Some(&Value::Bool(true)));
        let mtime = fs::metadata(&target).unwrap().mtime();
        let expected = crate::time::parse_local_time("202202081414.00", "%Y%m%d%H%M.%S");
        assert_eq!(mtime as f64, expected.unwrap());
        let again = file_module(&args, false);
        assert_eq!(again.get("changed"), Some(&Value::Bool(false)));
        let bad = file_module(
            &[args[0].clone(), ("modification_time", Value::from("x"))],
            false,
        );
        assert_eq!(
            bad.get("msg"),
            Some(&Value::from("Error while obtaining timestamp for time x using format %Y%m%d%H%M.%S: time data 'x' does not match format '%Y%m%d%H%M.%S'"))
        );
    }

    #[test]
    fn touch_link_and_absent() {
        let dir = tempfile::tempdir().unwrap();
        let stamp = dir.path().join("stamp");
        let touched = file_module(
            &[
                ("path", text(&stamp)),
                ("state", Value::from("touch")),
                ("mode", Value::from("u=rw,go=")),
            ],
            false,
        );
        assert_eq!(touched.get("state"), Some(&Value::from("file")));
        assert_eq!(touched.get("mode"), Some(&Value::from("0600")));
        let link = dir.path().join("link");
        let linked = file_module(
            &[
                ("src", text(&stamp)),
                ("dest", text(&link)),
                ("state", Value::from("link")),
            ],
            false,
        );
        assert_eq!(linked.get("state"), Some(&Value::from("link")));
        assert_eq!(fs::read_link(&link).unwrap(), stamp);
        let removed = file_module(
            &[("path", text(&link)), ("state", Value::from("absent"))],
            false,
        );
        assert_eq!(removed.get("changed"), Some(&Value::Bool(true)));
        assert!(fs::symlink_metadata(&link).is_err());
        let again = file_module(
            &[("path", text(&link)), ("state", Value::from("absent"))],
            false,
        );
        assert_eq!(again.get("changed"), Some(&Value::Bool(false)));
    }

    #[test]
    fn check_mode_warns_unknown_owner() {
        let dir = tempfile::tempdir().unwrap();
        let result = file_module(
            &[
                ("path", text(&dir.path().join("f"))),
                ("owner", Value::from("no-such-user-rplay")),
                ("group", Value::from("4294967")),
            ],
            true,
        );
        let warnings = result.get("warnings").unwrap();
        assert_eq!(
            warnings,
            &Value::list(vec![
                Value::from("failed to look up user no-such-user-rplay. Create user up to this point in real play"),
                Value::from("failed to look up group with gid 4294967. Create group up to this point in real play"),
            ])
        );
    }

    #[test]
    fn link_to_missing_target_warns() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link");
        let result = file_module(
            &[
                ("src", Value::from("/nonexistent-rplay")),
                ("dest", text(&link)),
                ("state", Value::from("link")),
                ("force", Value::Bool(true)),
            ],
            false,
        );
        assert_eq!(result.get("changed"), Some(&Value::Bool(true)));
        assert_eq!(
            result.get("warnings"),
            Some(&Value::list(vec![Value::from(
                "Cannot set fs attributes on a non-existent symlink target. follow should be set to False to avoid this."
            )]))
        );
    }

    #[test]
    fn hard_link_and_conflicts() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("source");
        fs::write(&source, "x").unwrap();
        let hard = dir.path().join("hard");
        let result = file_module(
            &[
                ("src", text(&source)),
                ("path", text(&hard)),
                ("state", Value::from("hard")),
            ],
            false,
        );
        assert_eq!(result.get("state"), Some(&Value::from("hard")));
        let conflict = file_module(
            &[("path", text(&source)), ("state", Value::from("directory"))],
            false,
        );
        assert_eq!(conflict.get("failed"), Some(&Value::Bool(true)));
    }
}
