//! The `copy` module together with the controller side of ansible-core's copy action:
//! it compares checksums, builds the diff, writes atomically and applies owner, group
//! and mode. A source file from the controller arrives in the request, base64-encoded
//! in `_ansible_rplay_source` (rplay's executor reads it).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::dispatch::ModuleOptions;
use crate::files::{
    add_path_info, atomic_move_as, backup_local, content_diff, os_error, remote_tmp_path,
    run_validate, set_attributes_if_different, temp_file_beside, Digest, Failure, FileAttributes,
    MoveAttributes, PathState,
};
use crate::spec::{Default, Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "copy",
    &[
        OptionSpec::new("src", Kind::Path),
        OptionSpec::new("_original_basename", Kind::Str),
        OptionSpec::new("content", Kind::Str).no_log(),
        OptionSpec::new("dest", Kind::Path).required(),
        OptionSpec::new("backup", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("force", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("validate", Kind::Str),
        OptionSpec::new("directory_mode", Kind::Raw),
        OptionSpec::new("remote_src", Kind::Bool),
        OptionSpec::new("local_follow", Kind::Bool),
        OptionSpec::new("checksum", Kind::Str),
        OptionSpec::new("follow", Kind::Bool).default(Default::Bool(false)),
    ],
)
.file_common();

impl Source {
    fn transferred_name(&self) -> String {
        self.transferred.clone().unwrap_or_else(temporary_name)
    }
}

/// A name like those of Python's `tempfile.mkstemp(prefix='.')`.
fn temporary_name() -> String {
    format!(".{}", crate::files::random_name(8))
}

/// Adds a controller file's content to `copy` arguments: its bytes, its path for the
/// diff header and, when given, its mode for `mode: preserve`.
pub fn attach_source(args: &mut Map, data: &[u8], path: &Path, mode: Option<String>) {
    args.insert(
        Value::from(SOURCE_DATA),
        Value::from(base64::engine::general_purpose::STANDARD.encode(data)),
    );
    args.insert(
        Value::from(SOURCE_PATH),
        Value::from(path.display().to_string()),
    );
    if let Some(mode) = mode {
        args.insert(Value::from(SOURCE_MODE), Value::from(mode));
    }
}

/// Internal parameter with the controller file's bytes, base64-encoded.
pub const SOURCE_DATA: &str = "_ansible_rplay_source";
/// Internal parameter with the controller file's path, for the diff header.
pub const SOURCE_PATH: &str = "_ansible_rplay_source_path";
/// Internal parameter with the controller file's mode (`0644`), for `mode: preserve`.
pub const SOURCE_MODE: &str = "_ansible_rplay_source_mode";

/// The bytes to copy and what the results and diff say about where they came from.
struct Source {
    data: Vec<u8>,
    /// The name ansible-core's action gives the module as `_original_basename`: the
    /// source's file name, or for `content` the name of its controller temporary file.
    transferred: Option<String>,
    /// The file name a directory destination gets.
    basename: Option<String>,
    after_header: String,
    from_content: bool,
}

/// The outcome of copying one file.
pub(crate) enum FileCopy {
    /// The file was copied, was already up to date, or would be copied in check mode.
    Done(Map),
    /// The destination exists and `force` is off: nothing ran. The map is the result a
    /// copy of this one file reports.
    Skipped(Map),
}

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    if let Some(tree) = params.internal.get(crate::copy_tree::TREE) {
        return crate::copy_tree::run(params, options, tree);
    }
    if params.flag("remote_src") {
        if let Some(src) = params.string("src").filter(|src| Path::new(src).is_dir()) {
            return crate::copy_remote_dir::run(params, options, &src);
        }
    }
    match copy_file(params, options) {
        Ok(FileCopy::Done(result) | FileCopy::Skipped(result)) => result,
        Err(failure) => failure.into_result(),
    }
}

/// Copies the one file `params` describe, as ansible-core's copy action and module do
/// together for each file.
pub(crate) fn copy_file(params: &Params, options: &ModuleOptions) -> Result<FileCopy, Failure> {
    let mut dest = params.string("dest").unwrap_or_default();
    if !dest.contains('/') {
        dest = format!("./{dest}");
    }
    let source = read_source(params, &dest)?;
    let mut dest_file = match (&source.basename, dest.ends_with('/')) {
        (Some(basename), true) => PathBuf::from(&dest).join(basename),
        _ => PathBuf::from(&dest),
    };
    if dest_file.is_dir() {
        if source.from_content {
            return Err(Failure::new("can not use content with a dir as dest")
                .with("diff", Value::list(Vec::new())));
        }
        let basename = source.basename.clone().unwrap_or_default();
        dest_file = dest_file.join(basename);
    }
    let follow = params.flag("follow");
    let exists = fs::symlink_metadata(&dest_file).is_ok();
    if exists && !params.flag("force") {
        return Ok(FileCopy::Skipped(skipped_result(params, &dest_file)));
    }
    let checksum = Digest::Sha1.hex(&source.data);
    let target = CopyTarget {
        dest,
        dest_file,
        follow,
    };
    // ansible-core's action adds the source's checksum to every result, failed ones
    // too, except with `remote_src`, where it returns the module's result as it is.
    let remote_src = params.flag("remote_src");
    copy_checked(params, options, &source, target, checksum.clone()).map_err(|mut failure| {
        if !remote_src && !failure.extra.contains_key("checksum") {
            failure
                .extra
                .insert(Value::from("checksum"), Value::from(checksum));
        }
        failure
    })
}

/// The destination of a single copy: the task's `dest` (`./`-prefixed when it has no slash),
/// the file it names, and whether a symlink there is followed.
struct CopyTarget {
    dest: String,
    dest_file: PathBuf,
    follow: bool,
}

/// Copies `source` to the target's file once its checksum is known.
fn copy_checked(
    params: &Params,
    options: &ModuleOptions,
    source: &Source,
    target: CopyTarget,
    checksum: String,
) -> Result<FileCopy, Failure> {
    let CopyTarget {
        dest,
        mut dest_file,
        follow,
    } = target;
    let dest_checksum = fs::read(&dest_file)
        .ok()
        .filter(|_| dest_file.is_file())
        .map(|data| Digest::Sha1.hex(&data));
    let mut mode = params.get("mode").cloned();
    if mode.as_ref().and_then(Value::as_str) == Some("preserve") {
        mode = match params.flag("remote_src") {
            // The module reads the source's mode on the target.
            true => params
                .string("src")
                .and_then(|src| fs::metadata(src).ok())
                .map(|meta| Value::from(crate::files::mode_text(meta.permissions().mode()))),
            false => params.internal.get(SOURCE_MODE).cloned(),
        };
    }
    let attributes = FileAttributes {
        mode,
        ..FileAttributes::from_params(params)
    };
    if dest_checksum.as_deref() == Some(checksum.as_str()) {
        return unchanged(
            params, options, &dest_file, follow, source, attributes, checksum,
        )
        .map(FileCopy::Done);
    }
    let diff = if options.diff {
        vec![Value::map(content_diff(
            &dest_file,
            &source.data,
            &source.after_header,
        ))]
    } else {
        Vec::new()
    };
    let mut result = Map::new();
    let remote_src = params.flag("remote_src");
    if options.check_mode && !remote_src {
        result.insert(Value::from("diff"), Value::list(diff));
        result.insert(Value::from("changed"), Value::Bool(true));
        result.insert(Value::from("invocation"), action_invocation(params));
        return Ok(FileCopy::Done(result));
    }
    if follow && PathState::of(&dest_file) == PathState::Link {
        if let Ok(real) = fs::canonicalize(&dest_file) {
            dest_file = real;
        }
    }
    let parent = dest_file.parent().unwrap_or(Path::new("."));
    if dest.ends_with('/') && !parent.exists() {
        create_parent_directories(params, parent)?;
    }
    if !parent.exists() {
        return Err(Failure::new(format!(
            "Destination directory {} does not exist",
            parent.display()
        )));
    }
    let backup_file = match options.check_mode {
        true => None,
        false => write_file(params, options, &dest_file, &source.data, &attributes)?,
    };
    let shown_dest = dest_file.display().to_string();
    set_attributes_if_different(&dest_file, &attributes, options.check_mode, &mut None)?;
    if remote_src {
        // The module ran with the task's own arguments, and reports no diff.
        let src = params.string("src").unwrap_or_default();
        result.insert(Value::from("dest"), Value::from(shown_dest.as_str()));
        result.insert(Value::from("src"), Value::from(src));
        result.insert(
            Value::from("md5sum"),
            Value::from(Digest::Md5.hex(&source.data)),
        );
        result.insert(Value::from("checksum"), Value::from(checksum.as_str()));
        result.insert(Value::from("changed"), Value::Bool(true));
        if let Some(backup_file) = backup_file {
            result.insert(Value::from("backup_file"), Value::from(backup_file));
        }
        add_path_info(&mut result, &dest_file);
        return Ok(FileCopy::Done(result));
    }
    let extension = Path::new(&shown_dest)
        .extension()
        .map(|ext| format!(".{}", ext.to_string_lossy()))
        .unwrap_or_default();
    let tmp_src = remote_tmp_path(
        &format!(".source{extension}"),
        options.remote_tmp.as_deref(),
        options.system_tmp,
    );
    result.insert(Value::from("diff"), Value::list(diff));
    result.insert(Value::from("dest"), Value::from(shown_dest.as_str()));
    result.insert(Value::from("src"), Value::from(tmp_src.as_str()));
    result.insert(
        Value::from("md5sum"),
        Value::from(Digest::Md5.hex(&source.data)),
    );
    result.insert(Value::from("checksum"), Value::from(checksum.as_str()));
    result.insert(Value::from("changed"), Value::Bool(true));
    if let Some(backup_file) = backup_file {
        result.insert(Value::from("backup_file"), Value::from(backup_file));
    }
    add_path_info(&mut result, &dest_file);
    let updates = [
        ("src", Value::from(tmp_src)),
        ("dest", Value::from(dest.as_str())),
        ("_original_basename", Value::from(source.transferred_name())),
        ("follow", Value::Bool(follow)),
    ];
    result.insert(
        Value::from("invocation"),
        module_invocation(params, &updates, &checksum),
    );
    Ok(FileCopy::Done(result))
}

/// Builds the result of a copy that found the destination present with `force` off. The
/// module reports it for `remote_src`, with a message. Otherwise ansible-core's action
/// runs no module and reports the task's `dest` and the controller source (the
/// temporary file it wrote `content` to).
fn skipped_result(params: &Params, dest_file: &Path) -> Map {
    let mut result = Map::new();
    let src = params.string("src").unwrap_or_default();
    if params.flag("remote_src") {
        result.insert(Value::from("msg"), Value::from("file already exists"));
        result.insert(Value::from("src"), Value::from(src));
        result.insert(
            Value::from("dest"),
            Value::from(dest_file.display().to_string()),
        );
        result.insert(Value::from("changed"), Value::Bool(false));
        return result;
    }
    let shown_src = params
        .internal
        .get(SOURCE_PATH)
        .map(crate::pyrepr::str)
        .unwrap_or(src);
    result.insert(Value::from("changed"), Value::Bool(false));
    result.insert(
        Value::from("dest"),
        Value::from(params.string("dest").unwrap_or_default()),
    );
    result.insert(Value::from("src"), Value::from(shown_src));
    result.insert(
        Value::from(crate::dispatch::ACTION_RESULT),
        Value::Bool(true),
    );
    result
}

/// Creates the missing directories above a file copied into `dest/`, with the
/// `directory_mode`, owner and group the task requests, as the copy module does for a
/// recursive copy.
pub(crate) fn create_parent_directories(params: &Params, parent: &Path) -> Result<(), Failure> {
    let mut missing = Vec::new();
    let mut existing = parent;
    while !existing.exists() {
        missing.push(existing.to_path_buf());
        match existing.parent() {
            Some(above) if !above.as_os_str().is_empty() => existing = above,
            _ => break,
        }
    }
    fs::create_dir_all(parent).map_err(|err| Failure::new(os_error(&err)))?;
    let attributes = FileAttributes {
        mode: params.get("directory_mode").cloned(),
        ..FileAttributes::from_params(params)
    };
    for directory in missing.iter().rev() {
        set_attributes_if_different(directory, &attributes, false, &mut None)?;
    }
    Ok(())
}

/// The task's arguments without the controller-only ones (`content`, `decrypt`) and
/// rplay's internal keys, in the order the task gave them.
fn remote_args(params: &Params) -> Map {
    params
        .given
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), Some("content" | "decrypt")))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// `invocation` of the copy module as ansible-core's action calls it after the
/// transfer: the task's arguments with `src`, `dest`, `_original_basename`, `follow`
/// and `checksum` set by the action.
fn module_invocation(params: &Params, updates: &[(&str, Value)], checksum: &str) -> Value {
    let mut args = remote_args(params);
    for (key, value) in updates {
        args.insert(Value::from(*key), value.clone());
    }
    if params.get("checksum").is_none() {
        args.insert(Value::from("checksum"), Value::from(checksum));
    }
    invocation_of(&SPEC, &args)
}

fn invocation_of(spec: &ModuleSpec, args: &Map) -> Value {
    let module_args = match spec.validate(args) {
        Ok(params) => params.module_args(spec),
        Err(_) => args.clone(),
    };
    let mut invocation = Map::new();
    invocation.insert(Value::from("module_args"), Value::map(module_args));
    Value::map(invocation)
}

/// `invocation` of a copy that ran no module (check mode): the task's arguments, at
/// the top and as `module_args`, with `content` hidden, as ansible-core's copy action's
/// `_ensure_invocation` builds it.
pub(crate) fn action_invocation(params: &Params) -> Value {
    let mut args: Map = params
        .given
        .iter()
        .filter(|(key, _)| !key.as_str().is_some_and(|key| key.starts_with("_ansible_")))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let mut module_args = args.clone();
    if module_args
        .get("content")
        .is_some_and(|content| !content.is_null())
    {
        module_args.insert(
            Value::from("content"),
            Value::from(crate::spec::NO_LOG_PLACEHOLDER),
        );
    }
    if args.contains_key("content") {
        args.insert(
            Value::from("content"),
            Value::from("CENSORED: content is a no_log parameter"),
        );
    }
    args.insert(Value::from("module_args"), Value::map(module_args));
    Value::map(args)
}

fn read_source(params: &Params, dest: &str) -> Result<Source, Failure> {
    let content = params.get("content");
    let src = params.string("src");
    if content.is_some() && src.is_some() {
        return Err(Failure::new("src and content are mutually exclusive"));
    }
    if let Some(content) = content {
        if dest.ends_with('/') {
            return Err(Failure::new("can not use content with a dir as dest"));
        }
        return Ok(Source {
            data: crate::pyrepr::str(content).into_bytes(),
            transferred: None,
            basename: None,
            after_header: dest.to_string(),
            from_content: true,
        });
    }
    let Some(src) = src else {
        return Err(Failure::new("src (or content) is required"));
    };
    let basename = params.string("_original_basename").or_else(|| {
        Path::new(&src)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    });
    if let Some(encoded) = params.internal.get(SOURCE_DATA).and_then(Value::as_str) {
        let data = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|err| Failure::new(format!("invalid source data for {src}: {err}")))?;
        let header = params
            .internal
            .get(SOURCE_PATH)
            .map(crate::pyrepr::str)
            .unwrap_or_else(|| src.clone());
        return Ok(Source {
            data,
            transferred: basename.clone(),
            basename,
            after_header: header,
            from_content: false,
        });
    }
    if !params.flag("remote_src") {
        return Err(Failure::new(format!(
            "rplay's copy needs the source file's content from the controller; none was sent for {src}"
        )));
    }
    if Path::new(&src).is_dir() {
        // NOTE: copying directories (recursive copy) is not supported yet.
        return Err(Failure::new(format!(
            "rplay cannot copy the directory {src} yet: only single files are supported"
        )));
    }
    let metadata = fs::metadata(&src).map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => Failure::new(format!("Source {src} not found")),
        _ => Failure::new(format!("Source {src} not readable")),
    })?;
    if !metadata.is_file() {
        return Err(Failure::new(format!(
            "Cannot copy invalid source '{src}': not a file"
        )));
    }
    let data = fs::read(&src).map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => Failure::new(format!("Source {src} not found")),
        _ => Failure::new(format!("Source {src} not readable")),
    })?;
    Ok(Source {
        data,
        transferred: basename.clone(),
        basename,
        after_header: src,
        from_content: false,
    })
}

/// Writes the new content through a temporary file, validating it first when asked, and
/// returns the backup's path when `backup` made one.
fn write_file(
    params: &Params,
    options: &ModuleOptions,
    dest: &Path,
    data: &[u8],
    attributes: &FileAttributes,
) -> Result<Option<String>, Failure> {
    let failed = |err: std::io::Error| {
        Failure::new(format!(
            "failed to copy: {} to {}: {}",
            params.string("src").unwrap_or_default(),
            dest.display(),
            os_error(&err)
        ))
    };
    let backup_file = if params.flag("backup") && dest.exists() {
        Some(backup_local(dest)?)
    } else {
        None
    };
    if PathState::of(dest) == PathState::Link {
        fs::remove_file(dest).map_err(failed)?;
    }
    let temp = temp_file_beside(dest, data).map_err(failed)?;
    let keep = match source_mode(params, options) {
        Some(mode) => {
            if let Err(err) = fs::set_permissions(&temp, fs::Permissions::from_mode(mode)) {
                let _ = fs::remove_file(&temp);
                return Err(failed(err));
            }
            if params.flag("remote_src") {
                MoveAttributes::KeepSource
            } else {
                MoveAttributes::KeepDestination
            }
        }
        None => MoveAttributes::KeepDestination,
    };
    if let Some(validate) = params.str("validate") {
        // The module sets only owner, group and mode on the file it validates.
        let on_temp = FileAttributes {
            attributes: None,
            ..attributes.clone()
        };
        let prepared = set_attributes_if_different(&temp, &on_temp, false, &mut None)
            .and_then(|_| run_validate(validate, &temp));
        if let Err(failure) = prepared {
            let _ = fs::remove_file(&temp);
            return Err(failure);
        }
    }
    atomic_move_as(&temp, dest, keep).map_err(failed)?;
    Ok(backup_file)
}

/// Returns the mode of the file ansible-core's copy module moves into place. The module
/// keeps that mode when it cannot take over the destination's owner (an unprivileged
/// user), and always for `remote_src`. With `remote_src` it is the source's own mode,
/// because the module copies its stat. Otherwise it is 0700, the mode of the file the
/// action transferred, after the action's `chmod u+rwx`. When the task becomes an
/// unprivileged user and the target has `setfacl`, the action grants that user `r-x`
/// with an ACL instead, so the file keeps mode 0600 and shows the ACL's mask: 0650.
fn source_mode(params: &Params, options: &ModuleOptions) -> Option<u32> {
    if !params.flag("remote_src") {
        if options.system_tmp && crate::system::find_program("setfacl").is_some() {
            return Some(0o650);
        }
        return Some(0o700);
    }
    let src = params.string("src")?;
    fs::metadata(src)
        .ok()
        .map(|meta| meta.permissions().mode() & 0o7777)
}

/// The content already matches: ansible-core's action runs the file module to apply
/// owner, group and mode, and reports its result with `dest` and `checksum`.
fn unchanged(
    params: &Params,
    options: &ModuleOptions,
    dest_file: &Path,
    follow: bool,
    source: &Source,
    attributes: FileAttributes,
    checksum: String,
) -> Result<Map, Failure> {
    // The file module gets the task's `dest` and finds the file inside a directory
    // itself, or the link's target when a symlink is followed.
    let mut dest = PathBuf::from(params.string("dest").unwrap_or_default());
    if follow && PathState::of(dest_file) == PathState::Link {
        if let Ok(real) = fs::canonicalize(dest_file) {
            dest = real;
        }
    }
    let mut file_args: Map = params
        .given
        .iter()
        .filter(|(key, _)| key.as_str().is_some_and(is_file_argument))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if let Some(mode) = attributes.mode {
        if file_args.contains_key("mode") {
            file_args.insert(Value::from("mode"), mode);
        }
    }
    file_args.insert(Value::from("dest"), Value::from(dest.display().to_string()));
    file_args.insert(
        Value::from("_original_basename"),
        Value::from(source.transferred_name()),
    );
    file_args.insert(Value::from("recurse"), Value::Bool(false));
    file_args.insert(Value::from("state"), Value::from("file"));
    file_args.shift_remove("src");
    let file_params = crate::file::SPEC
        .validate(&file_args)
        .map_err(Failure::new)?;
    let mut result = crate::file::run(&file_params, options);
    result.insert(
        Value::from("invocation"),
        invocation_of(&crate::file::SPEC, &file_args),
    );
    if !result.contains_key("checksum") {
        result.insert(Value::from("checksum"), Value::from(checksum));
    }
    if result.contains_key("path") && !result.contains_key("dest") {
        let path = result.get("path").cloned().unwrap_or_default();
        result.insert(Value::from("dest"), path);
    }
    Ok(result)
}

/// The arguments ansible-core's copy action passes on to the file module.
pub(crate) fn is_file_argument(key: &str) -> bool {
    crate::spec::FILE_COMMON_OPTIONS
        .iter()
        .any(|option| option.name == key)
        || matches!(
            key,
            "state" | "path" | "_original_basename" | "recurse" | "force" | "_diff_peek" | "src"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn copy(args: &[(&str, Value)], options: &ModuleOptions) -> Map {
        let args: Map = args
            .iter()
            .map(|(key, value)| (Value::from(*key), value.clone()))
            .collect();
        run(&SPEC.validate(&args).unwrap(), options)
    }

    #[test]
    fn content_written_then_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("host.conf");
        let args = [
            ("content", Value::from("name=a\n")),
            ("dest", Value::from(dest.display().to_string())),
            ("mode", Value::from("0640")),
        ];
        let result = copy(&args, &ModuleOptions::default());
        assert_eq!(result.get("changed"), Some(&Value::Bool(true)));
        assert_eq!(result.get("mode"), Some(&Value::from("0640")));
        assert_eq!(result.get("diff"), Some(&Value::list(Vec::new())));
        assert_eq!(fs::read_to_string(&dest).unwrap(), "name=a\n");
        assert_eq!(
            fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let src = crate::pyrepr::str(result.get("src").unwrap());
        assert!(src.contains("/.ansible/tmp/ansible-tmp-") && src.ends_with("/.source.conf"));
        let again = copy(&args, &ModuleOptions::default());
        assert_eq!(again.get("changed"), Some(&Value::Bool(false)));
        assert_eq!(again.get("path"), again.get("dest"));
    }

    #[test]
    fn check_mode_with_diff() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.txt");
        fs::write(&dest, "old\n").unwrap();
        let options = ModuleOptions {
            check_mode: true,
            diff: true,
            ..ModuleOptions::default()
        };
        let result = copy(
            &[
                ("content", Value::from("new\n")),
                ("dest", Value::from(dest.display().to_string())),
            ],
            &options,
        );
        assert_eq!(result.get("changed"), Some(&Value::Bool(true)));
        let diff = &result.get("diff").unwrap().as_list().unwrap()[0];
        assert_eq!(diff.get("before"), Some(&Value::from("old\n")));
        assert_eq!(diff.get("after"), Some(&Value::from("new\n")));
        assert_eq!(fs::read_to_string(&dest).unwrap(), "old\n");
    }

    #[test]
    fn controller_source_into_directory_with_backup() {
        let dir = tempfile::tempdir().unwrap();
        let existing = dir.path().join("app.conf");
        fs::write(&existing, "v1\n").unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode("v2\n");
        let result = copy(
            &[
                ("src", Value::from("files/app.conf")),
                ("dest", Value::from(format!("{}/", dir.path().display()))),
                ("backup", Value::Bool(true)),
                (SOURCE_DATA, Value::from(encoded)),
            ],
            &ModuleOptions::default(),
        );
        assert_eq!(
            result.get("changed"),
            Some(&Value::Bool(true)),
            "{result:?}"
        );
        assert_eq!(fs::read_to_string(&existing).unwrap(), "v2\n");
        let backup = crate::pyrepr::str(result.get("backup_file").unwrap());
        assert_eq!(fs::read_to_string(backup).unwrap(), "v1\n");
    }

    #[test]
    fn failed_validation_keeps_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f");
        fs::write(&dest, "keep").unwrap();
        let result = copy(
            &[
                ("content", Value::from("bad")),
                ("dest", Value::from(dest.display().to_string())),
                ("validate", Value::from("/bin/false %s")),
            ],
            &ModuleOptions::default(),
        );
        assert_eq!(result.get("msg"), Some(&Value::from("failed to validate")));
        assert_eq!(fs::read_to_string(&dest).unwrap(), "keep");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn remote_source_that_is_not_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f");
        let result = copy(
            &[
                ("src", Value::from("/dev/null")),
                ("dest", Value::from(dest.display().to_string())),
                ("remote_src", Value::Bool(true)),
            ],
            &ModuleOptions::default(),
        );
        assert_eq!(
            result.get("msg"),
            Some(&Value::from(
                "Cannot copy invalid source '/dev/null': not a file"
            ))
        );
        assert!(!dest.exists());
    }
}
