//! The `unarchive` module together with the target-side checks of ansible-core's
//! unarchive action. ansible-core 2.18 runs GNU tar or Info-ZIP's unzip and zipinfo;
//! rplay reads the archives itself (the `tar`, `flate2`, `bzip2`, `lzma-rs` and `zip`
//! crates) and reports the handler names and the `extract_results` commands that
//! ansible-core would have run, so that results compare equal.
//!
//! A controller `src` arrives in the request, base64-encoded in
//! `_ansible_rplay_source` (the executor reads it), and is written to a temporary file
//! on the target as the action's transfer would.
//!
//! NOTE: `src` URLs (`remote_src` with `://`) and zstd-compressed tar archives are not
//! supported and fail.

mod gnu_tar;
mod members;
mod zip_archive;

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::dispatch::ModuleOptions;
use crate::files::{set_attributes_if_different, Failure, FileAttributes};
use crate::spec::{Default, Elements, Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "unarchive",
    &[
        OptionSpec::new("src", Kind::Path).required(),
        OptionSpec::new("dest", Kind::Path).required(),
        OptionSpec::new("remote_src", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("creates", Kind::Path),
        OptionSpec::new("list_files", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("keep_newer", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("exclude", Kind::List(Elements::Str)).default(Default::EmptyList),
        OptionSpec::new("include", Kind::List(Elements::Str)).default(Default::EmptyList),
        OptionSpec::new("extra_opts", Kind::List(Elements::Str)).default(Default::EmptyList),
        OptionSpec::new("validate_certs", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("io_buffer_size", Kind::Int).default(Default::Int(64 * 1024)),
        OptionSpec::new("copy", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("decrypt", Kind::Bool).default(Default::Bool(true)),
    ],
)
.file_common()
.mutually_exclusive(&[&["include", "exclude"]]);

/// Internal parameter with the controller archive's bytes, base64-encoded.
pub const SOURCE_DATA: &str = "_ansible_rplay_source";

/// The name ansible-core's action gives the module, which its check-mode message shows.
const MODULE_NAME: &str = "ansible.legacy.unarchive";

/// A failure of the action's controller side, before the module runs.
#[derive(Debug)]
pub enum ActionError {
    /// The action fails with this message (`AnsibleActionFail`).
    Fail(String),
    /// The failed result to report for a controller `src` that could not be decrypted.
    Result(Map),
}

/// Prepares the arguments as ansible-core's unarchive action does on the controller:
/// the deprecated `copy` becomes `remote_src`, `decrypt` goes, and a controller `src`
/// (found by `find_source`, and passed through `decrypt_source` unless `decrypt` is
/// false) is attached.
pub fn action_args(
    args: &mut Map,
    find_source: impl Fn(&str) -> Option<PathBuf>,
    decrypt_source: impl Fn(&Path, Vec<u8>) -> Result<Vec<u8>, Map>,
) -> Result<(), ActionError> {
    if let Some(copy) = args.shift_remove("copy") {
        if args.contains_key("remote_src") {
            return Err(ActionError::Fail(
                "parameters are mutually exclusive: ('copy', 'remote_src')".into(),
            ));
        }
        let copy = crate::spec::to_bool(&copy).unwrap_or(false);
        args.insert(Value::from("remote_src"), Value::Bool(!copy));
    }
    let decrypt = args
        .shift_remove("decrypt")
        .is_none_or(|value| crate::spec::to_bool(&value).unwrap_or(false));
    let (Some(src), true) = (args.get("src"), args.contains_key("dest")) else {
        return Err(ActionError::Fail(
            "src (or content) and dest are required".into(),
        ));
    };
    let remote_src = crate::spec::to_bool(args.get("remote_src").unwrap_or(&Value::Bool(false)))
        .unwrap_or(false);
    if remote_src {
        return Ok(());
    }
    let src = crate::pyrepr::str(src);
    let path = find_source(&src).ok_or_else(|| {
        ActionError::Fail(format!(
            "Could not find or access '{src}' on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option"
        ))
    })?;
    let mut data = fs::read(&path)
        .map_err(|err| ActionError::Fail(format!("Could not find or access '{src}': {err}")))?;
    if decrypt {
        data = decrypt_source(&path, data).map_err(ActionError::Result)?;
    }
    args.insert(
        Value::from(SOURCE_DATA),
        Value::from(base64::engine::general_purpose::STANDARD.encode(data)),
    );
    Ok(())
}

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    match run_checked(params, options) {
        Ok(result) => result,
        Err(Outcome::Failed(failure)) => failure.into_result(),
        Err(Outcome::Action(result)) => result,
    }
}

/// How a run ends early: a module failure, or a result of the action plugin, which
/// carries no `invocation`.
enum Outcome {
    Failed(Failure),
    Action(Map),
}

impl From<Failure> for Outcome {
    fn from(failure: Failure) -> Outcome {
        Outcome::Failed(failure)
    }
}

/// A result the action plugin returns without running the module.
fn action_result(entries: &[(&str, Value)]) -> Outcome {
    let mut result = Map::new();
    for (key, value) in entries {
        result.insert(Value::from(*key), value.clone());
    }
    // The module's arguments never reach it, so there is no invocation to report.
    result.insert(Value::from("invocation"), Value::empty_map());
    Outcome::Action(result)
}

fn run_checked(params: &Params, options: &ModuleOptions) -> Result<Map, Outcome> {
    let dest_text = params.string("dest").unwrap_or_default();
    if let Some(creates) = params.string("creates") {
        if fs::symlink_metadata(&creates).is_ok() {
            return Err(action_result(&[
                ("changed", Value::Bool(false)),
                (
                    "msg",
                    Value::from(format!("skipped, since {creates} exists")),
                ),
                ("skipped", Value::Bool(true)),
            ]));
        }
    }
    if !Path::new(&dest_text).is_dir() {
        return Err(action_result(&[
            ("changed", Value::Bool(false)),
            ("exception", Value::from("NoneType: None\n")),
            ("failed", Value::Bool(true)),
            (
                "msg",
                Value::from(format!("dest '{dest_text}' must be an existing dir")),
            ),
        ]));
    }
    let transferred = TransferredSource::write(params, options)?;
    let src = match &transferred {
        Some(source) => source.path.display().to_string(),
        None => params.string("src").unwrap_or_default(),
    };
    let result = unarchive(params, options, &src, &dest_text);
    drop(transferred);
    result.map_err(Outcome::from)
}

/// The controller archive written to a temporary path on the target, removed on drop as
/// the action removes its temporary directory.
struct TransferredSource {
    path: PathBuf,
}

impl TransferredSource {
    fn write(params: &Params, options: &ModuleOptions) -> Result<Option<Self>, Failure> {
        let Some(encoded) = params.internal.get(SOURCE_DATA).and_then(Value::as_str) else {
            return Ok(None);
        };
        let data = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|err| Failure::new(format!("invalid transferred archive: {err}")))?;
        let path = PathBuf::from(crate::files::remote_tmp_path(
            "source",
            options.remote_tmp.as_deref(),
            options.system_tmp,
        ));
        if let Some(dir) = path.parent() {
            use std::os::unix::fs::DirBuilderExt;
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|err| Failure::new(format!("failed to transfer the archive: {err}")))?;
        }
        fs::write(&path, data)
            .map_err(|err| Failure::new(format!("failed to transfer the archive: {err}")))?;
        Ok(Some(TransferredSource { path }))
    }
}

impl Drop for TransferredSource {
    fn drop(&mut self) {
        if let Some(dir) = self.path.parent() {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

/// The archive formats, named as ansible-core's handler classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handler {
    Zip,
    Tgz,
    Tar,
    TarBzip,
    TarXz,
    TarZstd,
}

impl Handler {
    fn name(self) -> &'static str {
        match self {
            Handler::Zip => "ZipArchive",
            Handler::Tgz => "TgzArchive",
            Handler::Tar => "TarArchive",
            Handler::TarBzip => "TarBzipArchive",
            Handler::TarXz => "TarXzArchive",
            Handler::TarZstd => "TarZstdArchive",
        }
    }

    /// GNU tar's decompression flag, as ansible-core passes it.
    fn tar_flag(self) -> Option<&'static str> {
        match self {
            Handler::Tgz => Some("-z"),
            Handler::TarBzip => Some("-j"),
            Handler::TarXz => Some("-J"),
            Handler::TarZstd => Some("--use-compress-program=zstd"),
            Handler::Zip | Handler::Tar => None,
        }
    }

    /// Picks the handler from the file's first bytes, in ansible-core's order (zip
    /// first, then the tar variants).
    fn detect(path: &Path) -> Result<Handler, Failure> {
        use std::io::Read;
        let mut head = [0u8; 512];
        let mut file = fs::File::open(path).map_err(|err| {
            Failure::new(format!("Source '{}' not readable, {err}", path.display()))
        })?;
        let mut filled = 0;
        while filled < head.len() {
            match file.read(&mut head[filled..]) {
                Ok(0) => break,
                Ok(count) => filled += count,
                Err(err) => return Err(Failure::new(err.to_string())),
            }
        }
        let head = &head[..filled];
        let handler = if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            Handler::Zip
        } else if head.starts_with(&[0x1f, 0x8b]) {
            Handler::Tgz
        } else if head.starts_with(b"BZh") {
            Handler::TarBzip
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Handler::TarXz
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Handler::TarZstd
        } else if gnu_tar::is_tar_header(head) {
            Handler::Tar
        } else {
            // NOTE: ansible-core lists each handler's reason, in an order that varies
            // between runs; rplay gives one reason.
            return Err(Failure::new(format!(
                "Failed to find handler for \"{}\". Make sure the required command to extract the file is installed.\nrplay could not read it as a zip or tar archive",
                path.display()
            )));
        };
        Ok(handler)
    }
}

/// What the idempotence check found: whether the archive is already unpacked, and the
/// itemized changes (zip only) that become `diff.prepared`.
pub(crate) struct CheckResult {
    unarchived: bool,
    diff: String,
}

/// A finished extraction as `extract_results` reports it.
pub(crate) struct ExtractResults {
    cmd: Vec<String>,
    rc: i64,
    out: String,
    err: String,
}

impl ExtractResults {
    fn into_value(self) -> Value {
        let mut map = Map::new();
        map.insert(
            Value::from("cmd"),
            Value::list(self.cmd.into_iter().map(Value::from).collect()),
        );
        map.insert(Value::from("err"), Value::from(self.err));
        map.insert(Value::from("out"), Value::from(self.out));
        map.insert(Value::from("rc"), Value::Int(self.rc));
        Value::map(map)
    }
}

/// What the handlers need from the task.
pub(crate) struct Request<'a> {
    src: &'a str,
    dest: PathBuf,
    attributes: FileAttributes,
    includes: Vec<String>,
    excludes: Vec<String>,
    extra_opts: Vec<String>,
    keep_newer: bool,
}

fn unarchive(
    params: &Params,
    options: &ModuleOptions,
    src: &str,
    dest: &str,
) -> Result<Map, Failure> {
    let abs_dest = abspath(dest);
    let mut warnings = Vec::new();
    if !dest.starts_with('/') {
        warnings.push(format!(
            "Relative destination path '{dest}' was resolved to absolute path '{abs_dest}'."
        ));
    }
    let remote_src = params.flag("remote_src");
    let src_path = Path::new(src);
    if !src_path.exists() {
        if !remote_src {
            return Err(Failure::new(format!("Source '{src}' failed to transfer")));
        }
        if src.contains("://") {
            return Err(Failure::new(
                "rplay's unarchive does not download a src URL yet: fetch it with get_url first",
            ));
        }
        return Err(Failure::new(format!("Source '{src}' does not exist")));
    }
    if fs::File::open(src_path).is_err() {
        return Err(Failure::new(format!("Source '{src}' not readable")));
    }
    let src = abspath(src);
    match fs::metadata(&src) {
        Ok(meta) if meta.len() == 0 => {
            return Err(Failure::new(format!(
                "Invalid archive '{src}', the file is 0 bytes"
            )))
        }
        Ok(_) => {}
        Err(err) => return Err(Failure::new(format!("Source '{src}' not readable, {err}"))),
    }
    if !Path::new(&abs_dest).is_dir() {
        return Err(Failure::new(format!(
            "Destination '{dest}' is not a directory"
        )));
    }
    let handler = Handler::detect(Path::new(&src))?;
    let request = Request {
        src: &src,
        dest: PathBuf::from(&abs_dest),
        attributes: FileAttributes::from_params(params),
        includes: params.strings("include"),
        excludes: params.strings("exclude"),
        extra_opts: params.strings("extra_opts"),
        keep_newer: params.flag("keep_newer"),
    };
    let mut result = Map::new();
    if handler != Handler::Zip && options.check_mode {
        result.insert(Value::from("skipped"), Value::Bool(true));
        result.insert(
            Value::from("msg"),
            Value::from(format!(
                "remote module ({MODULE_NAME}) does not support check mode when using gtar"
            )),
        );
        result.insert(Value::from("changed"), Value::Bool(false));
        return Ok(result);
    }
    let archive: Box<dyn ArchiveHandler> = match handler {
        Handler::Zip => Box::new(zip_archive::ZipHandler::open(&request)?),
        Handler::TarZstd => {
            return Err(Failure::new(format!(
                "rplay's unarchive cannot read the zstd-compressed archive '{src}'"
            )))
        }
        _ => Box::new(gnu_tar::TarHandler::open(&request, handler)?),
    };
    result.insert(Value::from("handler"), Value::from(handler.name()));
    result.insert(Value::from("dest"), Value::from(dest));
    result.insert(Value::from("src"), Value::from(src.as_str()));

    let check = archive.check(&request)?;
    let mut changed;
    if options.check_mode {
        changed = !check.unarchived;
    } else if check.unarchived {
        changed = false;
    } else {
        let extracted = archive.extract(&request);
        let rc = extracted.rc;
        result.insert(Value::from("extract_results"), extracted.into_value());
        if rc != 0 {
            let failure = Failure::new(format!("failed to unpack {src} to {dest}"));
            return Err(with_result_keys(failure, &result));
        }
        changed = true;
    }
    result.insert(Value::from("changed"), Value::Bool(changed));
    if !check.diff.is_empty() {
        let mut diff = Map::new();
        diff.insert(Value::from("prepared"), Value::from(check.diff.as_str()));
        result.insert(Value::from("diff"), Value::map(diff));
    }
    if !options.check_mode {
        match apply_attributes(&request, archive.files()) {
            Ok(applied) => changed |= applied,
            Err(failure) => {
                result.insert(Value::from("changed"), Value::Bool(changed));
                return Err(with_result_keys(failure, &result));
            }
        }
        result.insert(Value::from("changed"), Value::Bool(changed));
    }
    if params.flag("list_files") {
        let files = archive
            .files()
            .iter()
            .map(|name| Value::from(name.as_str()));
        result.insert(Value::from("files"), Value::list(files.collect()));
    }
    if !warnings.is_empty() {
        let warnings = warnings.into_iter().map(Value::from).collect();
        result.insert(Value::from("warnings"), Value::list(warnings));
    }
    Ok(result)
}

/// `os.path.abspath`: joined to the working directory when relative, then normalised
/// (`.`, `..` and repeated slashes removed) without resolving symlinks.
fn abspath(path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        let cwd = std::env::current_dir()
            .map(|dir| dir.display().to_string())
            .unwrap_or_default();
        format!("{cwd}/{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Adds the result so far to a failure, as `fail_json(msg=..., **res_args)` does.
fn with_result_keys(mut failure: Failure, result: &Map) -> Failure {
    for (key, value) in result {
        if let Some(key) = key.as_str() {
            failure = failure.with(key, value.clone());
        }
    }
    failure
}

/// Applies `owner`, `group` and `mode` to every listed member and to the top folders
/// of nested ones, as the module does after extracting (also when nothing was
/// extracted). Returns whether anything changed.
fn apply_attributes(request: &Request, files: &[String]) -> Result<bool, Failure> {
    let attributes = &request.attributes;
    if attributes.owner.is_none() && attributes.group.is_none() && attributes.mode.is_none() {
        return Ok(false);
    }
    let mut changed = false;
    let mut top_folders: Vec<&str> = Vec::new();
    for name in files {
        let path = join_member(&request.dest, name);
        changed |= set_attributes(&path, attributes)?;
        if let Some((top, _)) = name.split_once('/') {
            if !top_folders.contains(&top) {
                top_folders.push(top);
            }
        }
    }
    for top in top_folders {
        changed |= set_attributes(&request.dest.join(top), attributes)?;
    }
    Ok(changed)
}

fn set_attributes(path: &Path, attributes: &FileAttributes) -> Result<bool, Failure> {
    set_attributes_if_different(path, attributes, false, &mut None).map_err(|failure| {
        Failure::new(format!(
            "Unexpected error when accessing exploded file: {}",
            failure.msg
        ))
    })
}

/// `os.path.join(dest, name)`: an empty name (a member that `--strip-components`
/// emptied) stands for `dest` itself.
fn join_member(dest: &Path, name: &str) -> PathBuf {
    let mut text = dest.display().to_string();
    if !text.ends_with('/') {
        text.push('/');
    }
    text.push_str(name);
    PathBuf::from(text)
}

/// One archive format: the listing, the idempotence check and the extraction.
pub(crate) trait ArchiveHandler {
    /// The members the module lists and applies attributes to, as the archive tool
    /// lists them (directories end with `/`).
    fn files(&self) -> &[String];
    fn check(&self, request: &Request) -> Result<CheckResult, Failure>;
    fn extract(&self, request: &Request) -> ExtractResults;
}

#[cfg(test)]
mod tests;
