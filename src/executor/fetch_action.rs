//! The `fetch` action: reads a file of the target with `stat` and `slurp` and writes it
//! on the controller, under `DEST/HOST/PATH` or, with `flat`, at `dest` itself, as
//! ansible-core's fetch action does.

use std::path::{Component, Path, PathBuf};

use super::actions::{ActionOutcome, Target};
use super::Executor;
use crate::playbook::value_text;
use crate::vars::HostVars;
use crate::{Map, Value};
use base64::Engine as _;
use rplay_modules::dispatch::ModuleOptions;
use rplay_modules::files::Digest;

/// Runs `fetch` for one host.
pub(super) fn fetch(
    executor: &Executor<'_>,
    target: &Target,
    host: &str,
    args: &Map,
    vars: &HostVars,
    options: &ModuleOptions,
) -> ActionOutcome {
    let result = if options.check_mode {
        let mut result = Map::new();
        result.insert(Value::from("changed"), Value::Bool(false));
        result.insert(Value::from("skipped"), Value::Bool(true));
        result.insert(
            Value::from("msg"),
            Value::from("check mode not (yet) supported for this module"),
        );
        result
    } else {
        match fetch_file(executor, target, host, args, vars, options) {
            Ok(result) => result,
            Err(message) => failed(message),
        }
    };
    ActionOutcome {
        result,
        effects: Vec::new(),
    }
}

fn failed(message: String) -> Map {
    let mut result = Map::new();
    result.insert(Value::from("failed"), Value::Bool(true));
    result.insert(Value::from("msg"), Value::from(message));
    result
}

fn flag(args: &Map, key: &str, default: bool) -> bool {
    args.get(key)
        .map(|value| rplay_modules::spec::to_bool(value).unwrap_or(false))
        .unwrap_or(default)
}

fn fetch_file(
    executor: &Executor<'_>,
    target: &Target,
    host: &str,
    args: &Map,
    vars: &HostVars,
    options: &ModuleOptions,
) -> Result<Map, String> {
    let source = args.get("src").and_then(Value::as_str).map(str::to_string);
    let dest = args.get("dest").and_then(Value::as_str).map(str::to_string);
    let (Some(source), Some(original_dest)) = (source, dest) else {
        return Err("src and dest are required".into());
    };
    let fail_on_missing = flag(args, "fail_on_missing", true);
    let mut result = Map::new();

    let stat = executor.run_module_on(target, "stat", &stat_args(&source), options, vars);
    if stat.get("failed") == Some(&Value::Bool(true)) {
        result.insert(Value::from("changed"), Value::Bool(false));
        result.insert(Value::from("file"), Value::from(source.as_str()));
        let message = stat.get("msg").map(value_text).unwrap_or_default();
        if fail_on_missing {
            result.insert(Value::from("failed"), Value::Bool(true));
            result.insert(Value::from("msg"), Value::from(message));
        } else {
            result.insert(
                Value::from("msg"),
                Value::from(format!("{message}, ignored")),
            );
        }
        return Ok(result);
    }
    let remote = stat.get("stat").cloned().unwrap_or_default();
    // ansible-core expands `~` on the target (as the become user) before it builds the
    // local destination; stat reports the expanded path.
    let source = match remote.get("path").map(value_text) {
        Some(expanded) if source.starts_with('~') && !expanded.is_empty() => expanded,
        _ => source,
    };
    if remote.get("isdir") == Some(&Value::Bool(true)) {
        let mut message =
            "remote file is a directory, fetch cannot work on directories".to_string();
        if fail_on_missing {
            result.insert(Value::from("failed"), Value::Bool(true));
            result.insert(Value::from("changed"), Value::Bool(false));
        } else {
            message.push_str(", not transferring, ignored");
        }
        result.insert(Value::from("msg"), Value::from(message));
        return Ok(result);
    }

    let dest = local_dest(
        executor,
        host,
        vars,
        &source,
        &original_dest,
        flag(args, "flat", false),
    )?;
    let local_checksum = std::fs::read(&dest)
        .ok()
        .map(|data| Digest::Sha1.hex(&data));
    let remote_checksum = remote.get("checksum").map(value_text);
    if remote_checksum.is_some() && remote_checksum == local_checksum {
        let md5 = std::fs::read(&dest).ok().map(|data| Digest::Md5.hex(&data));
        result.insert(Value::from("changed"), Value::Bool(false));
        result.insert(
            Value::from("md5sum"),
            md5.map(Value::from).unwrap_or_default(),
        );
        result.insert(Value::from("file"), Value::from(source.as_str()));
        result.insert(Value::from("dest"), Value::from(dest.display().to_string()));
        result.insert(
            Value::from("checksum"),
            local_checksum.map(Value::from).unwrap_or_default(),
        );
        return Ok(result);
    }

    let mut slurp_args = Map::new();
    slurp_args.insert(Value::from("src"), Value::from(source.as_str()));
    let slurped = executor.run_module_on(target, "slurp", &slurp_args, options, vars);
    if slurped.get("failed") == Some(&Value::Bool(true)) {
        let message = slurped.get("msg").map(value_text).unwrap_or_default();
        if fail_on_missing {
            result.extend(slurped);
        } else {
            result.insert(Value::from("file"), Value::from(source.as_str()));
            result.insert(Value::from("changed"), Value::Bool(false));
        }
        if message.contains("not found") {
            result.insert(
                Value::from("msg"),
                Value::from("the remote file does not exist, not transferring, ignored"),
            );
        } else if message.starts_with("source is a directory") {
            result.insert(
                Value::from("msg"),
                Value::from("remote file is a directory, fetch cannot work on directories"),
            );
        }
        return Ok(result);
    }
    let encoded = slurped.get("content").map(value_text).unwrap_or_default();
    let data = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|err| format!("Failed to fetch the file: invalid data from the target: {err}"))?;
    let remote_checksum = Digest::Sha1.hex(&data);
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|err| format!("Failed to fetch the file: {err}"))?;
    }
    std::fs::write(&dest, &data).map_err(|err| format!("Failed to fetch the file: {err}"))?;
    let written = std::fs::read(&dest).map_err(|err| format!("Failed to fetch the file: {err}"))?;
    let new_checksum = Digest::Sha1.hex(&written);
    let new_md5 = Digest::Md5.hex(&written);
    let mismatch = flag(args, "validate_checksum", true) && new_checksum != remote_checksum;
    if mismatch {
        result.insert(Value::from("failed"), Value::Bool(true));
        result.insert(Value::from("msg"), Value::from("checksum mismatch"));
        result.insert(Value::from("file"), Value::from(source.as_str()));
    } else {
        result.insert(Value::from("changed"), Value::Bool(true));
    }
    result.insert(Value::from("md5sum"), Value::from(new_md5));
    result.insert(Value::from("dest"), Value::from(dest.display().to_string()));
    result.insert(Value::from("remote_md5sum"), Value::Null);
    result.insert(Value::from("checksum"), Value::from(new_checksum));
    result.insert(Value::from("remote_checksum"), Value::from(remote_checksum));
    Ok(result)
}

/// The arguments of ansible-core's remote stat for an action.
fn stat_args(path: &str) -> Map {
    [
        ("path", Value::from(path)),
        ("follow", Value::Bool(true)),
        ("get_checksum", Value::Bool(true)),
        ("checksum_algorithm", Value::from("sha1")),
    ]
    .into_iter()
    .map(|(key, value)| (Value::from(key), value))
    .collect()
}

/// Where the file goes on the controller: `dest` itself (or `dest/NAME` for a trailing
/// slash) with `flat`, else `dest/HOST/SRC`; relative paths are under the playbook
/// directory.
fn local_dest(
    executor: &Executor<'_>,
    host: &str,
    vars: &HostVars,
    source: &str,
    dest: &str,
    flat: bool,
) -> Result<PathBuf, String> {
    use crate::template::Variables;
    let under_playbook = |path: &str| {
        if path.starts_with('/') {
            PathBuf::from(path)
        } else {
            executor.playbook_dir.join(path)
        }
    };
    let path = if flat {
        if Path::new(dest).is_dir() && !dest.ends_with('/') {
            return Err("dest is an existing directory, use a trailing slash if you want to fetch src into that directory".into());
        }
        let mut path = dest.to_string();
        if dest.ends_with('/') {
            let name = source.rsplit('/').next().unwrap_or(source);
            path = format!("{dest}{name}");
            if Path::new(&path).is_dir() {
                return Err(format!(
                    "calculated dest '{path}' is an existing directory, use another path that does not point to an existing directory"
                ));
            }
        }
        under_playbook(&path)
    } else {
        let name = vars
            .get("inventory_hostname")
            .map(|value| value_text(&value))
            .unwrap_or_else(|| host.to_string());
        under_playbook(&format!("{dest}/{name}/{source}"))
    };
    Ok(normalize(&path))
}

/// Python's `os.path.normpath` for an absolute path: `.`, `..` and repeated slashes
/// resolved without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other.as_os_str()),
        }
    }
    normal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_dots() {
        assert_eq!(
            normalize(Path::new("/pb/out//host/./tmp/../src.txt")),
            PathBuf::from("/pb/out/host/src.txt")
        );
    }
}
