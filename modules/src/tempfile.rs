//! The `tempfile` module: a new temporary file or directory on the target.

use std::fs::{DirBuilder, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

use crate::dispatch::ModuleOptions;
use crate::spec::{Default, Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "tempfile",
    &[
        OptionSpec::new("state", Kind::Str)
            .default(Default::Str("file"))
            .choices(&["file", "directory"]),
        OptionSpec::new("path", Kind::Path),
        OptionSpec::new("prefix", Kind::Str).default(Default::Str("ansible.")),
        OptionSpec::new("suffix", Kind::Str).default(Default::Str("")),
    ],
);

/// How many names Python's `tempfile` tries before it gives up.
const ATTEMPTS: usize = 10_000;

/// Creates the file (mode 0600) or directory (mode 0700) under `path`, or under `TMPDIR`
/// or /tmp, with a random part of 8 characters between prefix and suffix, as Python's
/// `mkstemp` and `mkdtemp` do.
pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    let mut result = Map::new();
    if options.check_mode {
        // ansible-core's tempfile module does not declare check mode support.
        result.insert(Value::from("changed"), Value::Bool(false));
        result.insert(Value::from("skipped"), Value::Bool(true));
        result.insert(
            Value::from("msg"),
            Value::from("remote module (tempfile) does not support check mode"),
        );
        return result;
    }
    let directory = params.string("path").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"))
    });
    let prefix = params.string("prefix").unwrap_or_default();
    let suffix = params.string("suffix").unwrap_or_default();
    let make_directory = params.string("state").as_deref() == Some("directory");
    for _ in 0..ATTEMPTS {
        let path = directory.join(format!("{prefix}{}{suffix}", crate::files::random_name(8)));
        let created = if make_directory {
            DirBuilder::new().mode(0o700).create(&path)
        } else {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map(drop)
        };
        match created {
            Ok(()) => {
                result.insert(Value::from("changed"), Value::Bool(true));
                result.insert(Value::from("path"), Value::from(path.display().to_string()));
                return result;
            }
            Err(err) if err.kind() == ErrorKind::AlreadyExists => continue,
            Err(err) => {
                let code = err.raw_os_error().unwrap_or(0);
                let text = err.to_string();
                let text = text.split(" (os error").next().unwrap_or(&text).to_string();
                return failed(format!("[Errno {code}] {text}: '{}'", path.display()));
            }
        }
    }
    failed("No usable temporary file name found".into())
}

fn failed(message: String) -> Map {
    let mut result = Map::new();
    result.insert(Value::from("failed"), Value::Bool(true));
    result.insert(Value::from("msg"), Value::from(message));
    result
}
