//! The `stat` module, with ansible-core 2.18's result keys.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use crate::dispatch::ModuleOptions;
use crate::files::{command_output, find_binary, group_name, passwd_name, strerror, Digest};
use crate::spec::{Default, Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

const ALGORITHMS: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "stat",
    &[
        OptionSpec::new("path", Kind::Path)
            .required()
            .aliases(&["dest", "name"]),
        OptionSpec::new("follow", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("get_checksum", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("get_mime", Kind::Bool)
            .default(Default::Bool(true))
            .aliases(&["mime", "mime_type", "mime-type"]),
        OptionSpec::new("get_attributes", Kind::Bool)
            .default(Default::Bool(true))
            .aliases(&["attr", "attributes"]),
        OptionSpec::new("checksum_algorithm", Kind::Str)
            .default(Default::Str("sha1"))
            .choices(ALGORITHMS)
            .aliases(&["checksum", "checksum_algo"]),
    ],
);

pub fn run(params: &Params, _options: &ModuleOptions) -> Map {
    let path_text = params.string("path").unwrap_or_default();
    let path = Path::new(&path_text);
    let meta = if params.flag("follow") {
        fs::metadata(path)
    } else {
        fs::symlink_metadata(path)
    };
    let mut result = Map::new();
    let meta = match meta {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let mut stat = Map::new();
            stat.insert(Value::from("exists"), Value::Bool(false));
            result.insert(Value::from("changed"), Value::Bool(false));
            result.insert(Value::from("stat"), Value::map(stat));
            return result;
        }
        Err(err) => {
            return crate::files::Failure::new(strerror(&err)).into_result();
        }
    };
    let mut stat = format_output(&path_text, &meta);
    for (key, mode) in [("readable", 4), ("writeable", 2), ("executable", 1)] {
        stat.insert(Value::from(key), Value::Bool(access(path, mode)));
    }
    if meta.file_type().is_symlink() {
        let source = crate::ospath::realpath(&path_text);
        let target = fs::read_link(path)
            .map(|target| target.display().to_string())
            .unwrap_or_default();
        stat.insert(Value::from("lnk_source"), Value::from(source));
        stat.insert(Value::from("lnk_target"), Value::from(target));
    }
    if let Some(name) = passwd_name(meta.uid()) {
        stat.insert(Value::from("pw_name"), Value::from(name));
    }
    let group = group_name(meta.gid());
    if group != meta.gid().to_string() {
        stat.insert(Value::from("gr_name"), Value::from(group));
    }
    let readable = stat.get("readable") == Some(&Value::Bool(true));
    if meta.is_file() && readable && params.flag("get_checksum") {
        let algorithm = params
            .str("checksum_algorithm")
            .and_then(Digest::from_name)
            .unwrap_or(Digest::Sha1);
        match fs::read(path) {
            Ok(data) => {
                stat.insert(Value::from("checksum"), Value::from(algorithm.hex(&data)));
            }
            Err(err) => return crate::files::Failure::new(strerror(&err)).into_result(),
        }
    }
    if params.flag("get_mime") {
        insert_mime(&mut stat, path);
    }
    if params.flag("get_attributes") {
        insert_attributes(&mut stat, path);
    }
    result.insert(Value::from("changed"), Value::Bool(false));
    result.insert(Value::from("stat"), Value::map(stat));
    result
}

fn format_output(path: &str, meta: &fs::Metadata) -> Map {
    let mode = meta.mode();
    let kind = meta.file_type();
    let time = |seconds: i64, nanos: i64| Value::Float(seconds as f64 + nanos as f64 / 1e9);
    let bit = |mask: u32| Value::Bool(mode & mask != 0);
    let entries: Vec<(&str, Value)> = vec![
        ("exists", Value::Bool(true)),
        ("path", Value::from(path)),
        ("mode", Value::from(format!("{:04o}", mode & 0o7777))),
        ("isdir", Value::Bool(kind.is_dir())),
        ("ischr", Value::Bool(kind.is_char_device())),
        ("isblk", Value::Bool(kind.is_block_device())),
        ("isreg", Value::Bool(kind.is_file())),
        ("isfifo", Value::Bool(kind.is_fifo())),
        ("islnk", Value::Bool(kind.is_symlink())),
        ("issock", Value::Bool(kind.is_socket())),
        ("uid", Value::Int(meta.uid().into())),
        ("gid", Value::Int(meta.gid().into())),
        ("size", Value::Int(meta.size() as i64)),
        ("inode", Value::Int(meta.ino() as i64)),
        ("dev", Value::Int(meta.dev() as i64)),
        ("nlink", Value::Int(meta.nlink() as i64)),
        ("atime", time(meta.atime(), meta.atime_nsec())),
        ("mtime", time(meta.mtime(), meta.mtime_nsec())),
        ("ctime", time(meta.ctime(), meta.ctime_nsec())),
        ("wusr", bit(0o200)),
        ("rusr", bit(0o400)),
        ("xusr", bit(0o100)),
        ("wgrp", bit(0o020)),
        ("rgrp", bit(0o040)),
        ("xgrp", bit(0o010)),
        ("woth", bit(0o002)),
        ("roth", bit(0o004)),
        ("xoth", bit(0o001)),
        ("isuid", bit(0o4000)),
        ("isgid", bit(0o2000)),
        ("blocks", Value::Int(meta.blocks() as i64)),
        ("block_size", Value::Int(meta.blksize() as i64)),
        ("device_type", Value::Int(meta.rdev() as i64)),
    ];
    entries
        .into_iter()
        .map(|(key, value)| (Value::from(key), value))
        .collect()
}

/// `mimetype` and `charset` from `file --mime-type --mime-encoding`, or `unknown`
/// without that program.
fn insert_mime(stat: &mut Map, path: &Path) {
    let mut mimetype = "unknown".to_string();
    let mut charset = "unknown".to_string();
    let output = find_binary("file").and_then(|program| {
        command_output(
            &program,
            &[
                "--mime-type".as_ref(),
                "--mime-encoding".as_ref(),
                path.as_os_str(),
            ],
        )
    });
    if let Some(output) = output {
        let detail = output.rsplit(':').next().unwrap_or_default();
        if let Some((kind, encoding)) = detail.split_once(';') {
            mimetype = kind.trim().to_string();
            charset = encoding
                .split('=')
                .nth(1)
                .unwrap_or_default()
                .trim()
                .to_string();
        }
    }
    stat.insert(Value::from("mimetype"), Value::from(mimetype));
    stat.insert(Value::from("charset"), Value::from(charset));
}

/// `version`, `attributes` and `attr_flags` as ansible-core reads them from `lsattr -vd`
/// (here with the ioctls lsattr uses): empty unless the target has `lsattr` and the file
/// system gives both the flags and the version.
fn insert_attributes(stat: &mut Map, path: &Path) {
    let read = find_binary("lsattr").and_then(|_| {
        let flags = crate::chattr::get_flags(path).ok()?;
        let version = crate::chattr::get_version(path).ok()?;
        Some((version, crate::chattr::flag_letters(flags)))
    });
    let (version, letters) = match read {
        Some((version, letters)) => (Value::from(version.to_string()), letters),
        None => (Value::Null, String::new()),
    };
    let names = crate::chattr::attribute_names(&letters)
        .into_iter()
        .map(Value::from)
        .collect();
    stat.insert(Value::from("version"), version);
    stat.insert(Value::from("attributes"), Value::list(names));
    stat.insert(Value::from("attr_flags"), Value::from(letters));
}

/// Python's `os.access`: the `access` system call, with the real user and group ids.
fn access(path: &Path, wanted: u32) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c_path` is a NUL-terminated string that outlives the call.
    unsafe { libc::access(c_path.as_ptr(), wanted as libc::c_int) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat_of(args: &[(&str, Value)]) -> Map {
        let args: Map = args
            .iter()
            .map(|(key, value)| (Value::from(*key), value.clone()))
            .collect();
        run(&SPEC.validate(&args).unwrap(), &ModuleOptions::default())
    }

    #[test]
    fn missing_path_does_not_exist() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing").display().to_string();
        let result = stat_of(&[("path", Value::from(missing))]);
        let stat = result.get("stat").unwrap();
        assert_eq!(stat.get("exists"), Some(&Value::Bool(false)));
        assert_eq!(stat.as_map().unwrap().len(), 1);
    }

    #[test]
    fn file_with_sha256_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, "abc").unwrap();
        let result = stat_of(&[
            ("path", Value::from(path.display().to_string())),
            ("checksum_algorithm", Value::from("sha256")),
        ]);
        let stat = result.get("stat").unwrap();
        assert_eq!(stat.get("isreg"), Some(&Value::Bool(true)));
        assert_eq!(stat.get("size"), Some(&Value::Int(3)));
        assert_eq!(
            stat.get("checksum"),
            Some(&Value::from(
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            ))
        );
    }

    #[test]
    fn symlink_reports_target() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink("/nonexistent-target", &link).unwrap();
        let result = stat_of(&[("path", Value::from(link.display().to_string()))]);
        let stat = result.get("stat").unwrap();
        assert_eq!(stat.get("islnk"), Some(&Value::Bool(true)));
        assert_eq!(
            stat.get("lnk_target"),
            Some(&Value::from("/nonexistent-target"))
        );
    }
}
