//! Helpers of `lineinfile`, `blockinfile` and `replace`: reading the file as text,
//! writing it back through a validated temporary file, the content diff and the
//! file-attribute step.

use std::fs;
use std::path::Path;

use crate::files::{
    atomic_move, os_error, set_attributes_if_different, temp_file_beside, Diff, Failure,
    FileAttributes,
};
use crate::spec::Params;
use crate::{Map, Value};

/// Reads a file as UTF-8 text.
///
/// NOTE: ansible-core edits these files as bytes; rplay rejects content that is not
/// UTF-8 instead of changing it.
pub fn read_text(path: &Path) -> Result<String, Failure> {
    let data = fs::read(path).map_err(|err| {
        Failure::new(format!(
            "Unable to read the contents of {}: {}",
            path.display(),
            os_error(&err)
        ))
    })?;
    String::from_utf8(data).map_err(|_| {
        Failure::new(format!(
            "rplay edits only UTF-8 text, and {} is not valid UTF-8",
            path.display()
        ))
    })
}

/// Writes `content` to a temporary file, runs `validate` on it, and moves it over the
/// real path of `dest` (a symlink's target keeps being the link's target).
pub fn write_changes(params: &Params, dest: &Path, content: &[u8]) -> Result<(), Failure> {
    let real = fs::canonicalize(dest).unwrap_or_else(|_| dest.to_path_buf());
    let temp = temp_file_beside(&real, content).map_err(|err| {
        Failure::new(format!(
            "failed to write {}: {}",
            real.display(),
            os_error(&err)
        ))
    })?;
    if let Some(validate) = params.str("validate") {
        if let Err(failure) = validate_file(validate, &temp) {
            let _ = fs::remove_file(&temp);
            return Err(failure);
        }
    }
    atomic_move(&temp, &real).map_err(|err| {
        Failure::new(format!(
            "failed to write {}: {}",
            real.display(),
            os_error(&err)
        ))
    })
}

/// Runs a `validate` command on `path`; these modules report failures as
/// `failed to validate: rc:N error:STDERR`.
fn validate_file(validate: &str, path: &Path) -> Result<(), Failure> {
    match crate::files::run_validate(validate, path) {
        Ok(()) => Ok(()),
        Err(failure) if failure.msg == "failed to validate" => {
            let field = |key: &str| {
                failure
                    .extra
                    .get(key)
                    .map(crate::pyrepr::str)
                    .unwrap_or_default()
            };
            Err(Failure::new(format!(
                "failed to validate: rc:{} error:{}",
                field("exit_status"),
                field("stderr")
            )))
        }
        Err(failure) => Err(failure),
    }
}

/// Builds the content diff of these modules: `PATH (content)` headers, and the texts
/// only in diff mode.
pub fn content_diff(path: &str, before: &str, after: &str, diff_mode: bool) -> Value {
    let header = format!("{path} (content)");
    let mut diff = Map::new();
    let (before, after) = if diff_mode { (before, after) } else { ("", "") };
    diff.insert(Value::from("before"), Value::from(before));
    diff.insert(Value::from("after"), Value::from(after));
    diff.insert(Value::from("before_header"), Value::from(header.as_str()));
    diff.insert(Value::from("after_header"), Value::from(header));
    Value::map(diff)
}

/// Builds the file-attribute diff, with `PATH (file attributes)` headers.
pub fn attribute_diff(path: &str, diff: Diff) -> Value {
    let header = format!("{path} (file attributes)");
    let mut map = Map::new();
    if !diff.before.is_empty() {
        map.insert(Value::from("before"), Value::map(diff.before));
    }
    if !diff.after.is_empty() {
        map.insert(Value::from("after"), Value::map(diff.after));
    }
    map.insert(Value::from("before_header"), Value::from(header.as_str()));
    map.insert(Value::from("after_header"), Value::from(header));
    Value::map(map)
}

/// Applies owner, group and mode, and extends the message as ansible-core's
/// `check_file_attrs` does.
pub fn check_file_attrs(
    path: &Path,
    attributes: &FileAttributes,
    check_mode: bool,
    changed: bool,
    mut message: String,
    diff: Option<&mut Diff>,
) -> Result<(String, bool), Failure> {
    let mut diff = diff;
    if set_attributes_if_different(path, attributes, check_mode, &mut diff)? {
        if changed {
            message.push_str(" and ");
        }
        message.push_str("ownership, perms or SE linux context changed");
        return Ok((message, true));
    }
    Ok((message, changed))
}
