//! The controller side of ansible-core's `uri` action: unless `remote_src` is set, a
//! controller `src`, and the files named in a `form-multipart` body, go to a temporary
//! directory on the target, and the module reads them there.

use std::path::PathBuf;

use base64::Engine as _;

use crate::dispatch::ModuleOptions;
use crate::get_url::TempDir;
use crate::spec::Params;
use crate::unarchive::ActionError;
use crate::{Map, Value};

/// The controller file for `src`: its name and base64 content.
pub const SOURCE: &str = "_ansible_rplay_uri_source";

/// The controller files of a `form-multipart` body, by field name.
pub const MULTIPART_FILES: &str = "_ansible_rplay_uri_multipart_files";

/// Prepares the arguments as the uri action does on the controller: finds `src`, or
/// the `filename` of each multipart field without `content`, with `find_source` (which
/// returns the message of a file it cannot find), and attaches the files.
pub fn action_args(
    args: &mut Map,
    find_source: impl Fn(&str) -> Result<PathBuf, String>,
) -> Result<(), ActionError> {
    let remote_src = args
        .get("remote_src")
        .is_some_and(|value| crate::spec::to_bool(value).unwrap_or(false));
    if remote_src {
        return Ok(());
    }
    let src = args
        .get("src")
        .filter(|src| src.is_truthy())
        .map(crate::pyrepr::str);
    if let Some(src) = src {
        let attached = attach(&src, &find_source)?;
        args.insert(Value::from(SOURCE), attached);
        return Ok(());
    }
    if args.get("body_format").and_then(Value::as_str) != Some("form-multipart") {
        return Ok(());
    }
    let Some(Value::Map(body)) = args.get("body") else {
        let kind = args.get("body").map_or("NoneType", Value::type_name);
        return Err(ActionError::Fail(format!(
            "body must be mapping, cannot be type {kind}"
        )));
    };
    let mut files = Map::new();
    for (field, value) in body.iter() {
        let Value::Map(parts) = value else {
            continue;
        };
        let truthy = |key: &str| parts.get(key).filter(|value| value.is_truthy());
        let (Some(filename), None) = (truthy("filename"), truthy("content")) else {
            continue;
        };
        let attached = attach(&crate::pyrepr::str(filename), &find_source)?;
        files.insert(field.clone(), attached);
    }
    if !files.is_empty() {
        args.insert(Value::from(MULTIPART_FILES), Value::map(files));
    }
    Ok(())
}

/// Reads a controller file into `{name, data}`.
fn attach(
    name: &str,
    find_source: &impl Fn(&str) -> Result<PathBuf, String>,
) -> Result<Value, ActionError> {
    let path = find_source(name).map_err(ActionError::Fail)?;
    let data = std::fs::read(&path)
        .map_err(|err| ActionError::Fail(format!("Could not find or access '{name}': {err}")))?;
    let basename = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut attached = Map::new();
    attached.insert(Value::from("name"), Value::from(basename));
    attached.insert(
        Value::from("data"),
        Value::from(base64::engine::general_purpose::STANDARD.encode(data)),
    );
    Ok(Value::map(attached))
}

/// Writes the attached files into a new temporary directory, as the action's transfer
/// to its remote temporary directory, and points `src` or the multipart fields'
/// `filename` at them. The directory goes when the returned value is dropped.
pub(super) fn write_files(
    params: &mut Params,
    options: &ModuleOptions,
) -> Result<Option<TempDir>, Map> {
    let source = params.internal.get(SOURCE).cloned();
    let files = params.internal.get(MULTIPART_FILES).cloned();
    if source.is_none() && files.is_none() {
        return Ok(None);
    }
    let directory = TempDir::create(options).map_err(|err| {
        crate::dispatch::failed(format!(
            "failed to transfer a file: {}",
            crate::files::os_error(&err)
        ))
    })?;
    if let Some(source) = source {
        let path = write_file(&directory, &source)?;
        params.values.insert(Value::from("src"), Value::from(path));
    }
    if let (Some(Value::Map(files)), Some(Value::Map(body))) = (files, params.values.get("body")) {
        let mut body = body.as_ref().clone();
        for (field, attached) in files.iter() {
            let path = write_file(&directory, attached)?;
            if let Some(Value::Map(parts)) = body.get(field) {
                let mut parts = parts.as_ref().clone();
                parts.insert(Value::from("filename"), Value::from(path));
                body.insert(field.clone(), Value::map(parts));
            }
        }
        params.values.insert(Value::from("body"), Value::map(body));
    }
    Ok(Some(directory))
}

fn write_file(directory: &TempDir, attached: &Value) -> Result<String, Map> {
    let failed =
        |message: String| crate::dispatch::failed(format!("failed to transfer a file: {message}"));
    let name = attached
        .get("name")
        .map(crate::pyrepr::str)
        .unwrap_or_default();
    let data = attached
        .get("data")
        .and_then(Value::as_str)
        .map(|encoded| base64::engine::general_purpose::STANDARD.decode(encoded))
        .transpose()
        .map_err(|err| failed(err.to_string()))?
        .unwrap_or_default();
    let path = directory.0.join(&name);
    std::fs::write(&path, data).map_err(|err| failed(crate::files::os_error(&err)))?;
    Ok(path.display().to_string())
}
