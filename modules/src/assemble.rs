//! The `assemble` module, which joins the fragment files of a directory into one file.
//! ansible-core 2.18's module does it on the target (`remote_src`, the default). Its
//! action plugin does it on the controller and hands the result to the copy module.

use std::fs;
use std::path::Path;

use crate::dispatch::ModuleOptions;
use crate::files::{
    add_path_info, atomic_move_as, backup_local, content_diff, remote_tmp_path,
    set_attributes_if_different, temp_file_beside, Digest, Failure, FileAttributes, MoveAttributes,
};
use crate::spec::{Default, Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "assemble",
    &[
        OptionSpec::new("src", Kind::Path).required(),
        OptionSpec::new("delimiter", Kind::Str),
        OptionSpec::new("dest", Kind::Path).required(),
        OptionSpec::new("backup", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("remote_src", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("regexp", Kind::Str),
        OptionSpec::new("ignore_hidden", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("validate", Kind::Str),
        OptionSpec::new("decrypt", Kind::Bool).default(Default::Bool(true)),
    ],
)
.file_common();

/// Internal parameter with the file the action assembled on the controller, base64.
pub const ASSEMBLED: &str = "_ansible_rplay_assembled";
/// Internal parameter with the path of the action's controller temporary file, which
/// the diff header shows.
pub const ASSEMBLED_PATH: &str = "_ansible_rplay_assembled_path";

/// Options of [`assemble_fragments`]: the fragments it takes and how it joins them.
#[derive(Debug, Default)]
pub struct FragmentOptions<'a> {
    pub delimiter: Option<&'a str>,
    pub regexp: Option<&'a fancy_regex::Regex>,
    pub ignore_hidden: bool,
    pub delimiter_newline: DelimiterNewline,
}

/// When a newline follows the delimiter.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum DelimiterNewline {
    /// When the delimiter does not end with one (the module).
    #[default]
    WhenMissing,
    /// Always: the action plugin compares a byte with a bytes object, which always
    /// differ.
    Always,
}

/// Joins the regular files of `dir` in the sorted order of their names, as
/// ansible-core's `assemble_from_fragments` does. A newline follows a fragment that does
/// not end with one. The delimiter, with its escapes decoded and a newline after it,
/// goes between fragments. `read` returns a fragment's bytes.
pub fn assemble_fragments<E>(
    dir: &Path,
    options: &FragmentOptions<'_>,
    read: impl Fn(&Path) -> Result<Vec<u8>, E>,
) -> Result<Vec<u8>, E>
where
    E: From<std::io::Error>,
{
    let mut names: Vec<String> = fs::read_dir(dir)?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut assembled = Vec::new();
    // ansible-core decodes the escapes of the delimiter again before each use.
    let mut delimiter = options.delimiter.map(|text| text.as_bytes().to_vec());
    let mut delimit = false;
    let mut add_newline = false;
    for name in names {
        let matches = options
            .regexp
            .is_none_or(|regexp| regexp.is_match(&name).unwrap_or(false));
        if !matches || (options.ignore_hidden && name.starts_with('.')) {
            continue;
        }
        let fragment = dir.join(&name);
        if !fragment.is_file() {
            continue;
        }
        let content = read(&fragment)?;
        if add_newline {
            assembled.push(b'\n');
        }
        if delimit {
            if let Some(text) = delimiter.as_mut().filter(|text| !text.is_empty()) {
                *text = escape_decode(text);
                assembled.extend_from_slice(text);
                if options.delimiter_newline == DelimiterNewline::Always
                    || text.last() != Some(&b'\n')
                {
                    assembled.push(b'\n');
                }
            }
        }
        assembled.extend_from_slice(&content);
        delimit = true;
        add_newline = !content.ends_with(b"\n");
    }
    Ok(assembled)
}

/// Python's `codecs.escape_decode`: the backslash escapes of a bytes literal.
fn escape_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut index = 0;
    while index < text.len() {
        let byte = text[index];
        index += 1;
        if byte != b'\\' || index == text.len() {
            out.push(byte);
            continue;
        }
        let escape = text[index];
        index += 1;
        match escape {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(escape),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let mut value = u32::from(escape - b'0');
                for _ in 0..2 {
                    match text.get(index) {
                        Some(digit @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(digit - b'0');
                            index += 1;
                        }
                        _ => break,
                    }
                }
                out.push(value as u8);
            }
            b'x' => {
                let hex = text
                    .get(index..index + 2)
                    .and_then(|digits| std::str::from_utf8(digits).ok())
                    .and_then(|digits| u8::from_str_radix(digits, 16).ok());
                match hex {
                    Some(value) => {
                        out.push(value);
                        index += 2;
                    }
                    // NOTE: Python raises "invalid \x escape"; the text is kept instead.
                    None => out.extend_from_slice(b"\\x"),
                }
            }
            other => out.extend_from_slice(&[b'\\', other]),
        }
    }
    out
}

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    let outcome = match params.internal.get(ASSEMBLED).and_then(Value::as_str) {
        Some(encoded) => install_controller_file(params, options, encoded),
        None => assemble_on_target(params),
    };
    outcome.unwrap_or_else(Failure::into_result)
}

/// Assembles the fragments of `src` on the target, as the module does.
fn assemble_on_target(params: &Params) -> Result<Map, Failure> {
    let src = params.string("src").unwrap_or_default();
    let dest = params.string("dest").unwrap_or_default();
    if !Path::new(&src).exists() {
        return Err(Failure::new(format!("Source ({src}) does not exist")));
    }
    if !Path::new(&src).is_dir() {
        return Err(Failure::new(format!("Source ({src}) is not a directory")));
    }
    let regexp = match params.str("regexp") {
        Some(pattern) => Some(crate::pyregex::compile(pattern, false).map_err(|err| {
            // NOTE: the error text is fancy-regex's, not Python's `re.error`.
            Failure::new(format!("Invalid Regexp ({err}) in \"{pattern}\""))
        })?),
        None => None,
    };
    let validate = params.str("validate");
    if let Some(validate) = validate.filter(|validate| !validate.contains("%s")) {
        return Err(Failure::new(format!(
            "validate must contain %s: {validate}"
        )));
    }
    let fragments = FragmentOptions {
        delimiter: params.str("delimiter"),
        regexp: regexp.as_ref(),
        ignore_hidden: params.flag("ignore_hidden"),
        delimiter_newline: DelimiterNewline::WhenMissing,
    };
    let data = assemble_fragments(Path::new(&src), &fragments, |path| fs::read(path))
        .map_err(|err| Failure::new(crate::files::os_error(&err)))?;

    let checksum = Digest::Sha1.hex(&data);
    let mut result = Map::new();
    result.insert(Value::from("src"), Value::from(src.as_str()));
    result.insert(Value::from("dest"), Value::from(dest.as_str()));
    result.insert(Value::from("checksum"), Value::from(checksum.as_str()));
    result.insert(Value::from("md5sum"), Value::from(Digest::Md5.hex(&data)));
    let dest_path = Path::new(&dest);
    let dest_checksum = fs::read(dest_path).ok().map(|old| Digest::Sha1.hex(&old));
    let mut changed = false;
    if dest_checksum.as_deref() != Some(checksum.as_str()) {
        let temp = temp_file_beside(dest_path, &data).map_err(|err| write_failure(&err))?;
        if let Some(validate) = validate {
            let validation = run_validation(validate, &temp);
            let failed = validation.get("rc") != Some(&Value::Int(0));
            let message = format!(
                "failed to validate: rc:{} error:{}",
                validation
                    .get("rc")
                    .map(crate::pyrepr::str)
                    .unwrap_or_default(),
                validation
                    .get("stderr")
                    .map(crate::pyrepr::str)
                    .unwrap_or_default()
            );
            result.insert(Value::from("validation"), Value::map(validation));
            if failed {
                let _ = fs::remove_file(&temp);
                return Err(Failure::new(message));
            }
        }
        if params.flag("backup") && dest_checksum.is_some() {
            let backup = backup_local(dest_path).inspect_err(|_| {
                let _ = fs::remove_file(&temp);
            })?;
            result.insert(Value::from("backup_file"), Value::from(backup));
        }
        atomic_move_as(&temp, dest_path, MoveAttributes::KeepDestination)
            .map_err(|err| write_failure(&err))?;
        changed = true;
    }
    let attributes = FileAttributes::from_params(params);
    changed |= set_attributes_if_different(dest_path, &attributes, false, &mut None)?;
    result.insert(Value::from("changed"), Value::Bool(changed));
    result.insert(Value::from("msg"), Value::from("OK"));
    Ok(result)
}

fn write_failure(err: &std::io::Error) -> Failure {
    Failure::new(crate::files::os_error(err))
}

/// Runs `validate` on `path` as the module's `run_command(validate % path)` and returns
/// the result's `validation`: `rc`, `stdout` and `stderr`.
fn run_validation(validate: &str, path: &Path) -> Map {
    let command = validate.replace("%s", &path.display().to_string());
    let (rc, stdout, stderr) = match crate::command::split_command(&command) {
        Ok(argv) if !argv.is_empty() => match std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(std::process::Stdio::null())
            .output()
        {
            Ok(output) => (
                i64::from(output.status.code().unwrap_or(-1)),
                String::from_utf8_lossy(&output.stdout).into_owned(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            ),
            Err(err) => (2, String::new(), crate::files::os_error(&err)),
        },
        Ok(_) => (2, String::new(), String::new()),
        Err(message) => (2, String::new(), message),
    };
    let mut validation = Map::new();
    validation.insert(Value::from("rc"), Value::Int(rc));
    validation.insert(Value::from("stdout"), Value::from(stdout));
    validation.insert(Value::from("stderr"), Value::from(stderr));
    validation
}

/// Installs the file the controller assembled (`remote_src: false`). ansible-core
/// transfers it and always runs the copy module on it, because the action compares the
/// destination's checksum with the checksum of its temporary file's name. For the same
/// reason the diff, when requested, is in the result even when nothing changed.
///
/// NOTE: the copy module's handling of a directory `dest` and of `follow` is not
/// reproduced here; `dest` is taken as the file to write.
fn install_controller_file(
    params: &Params,
    options: &ModuleOptions,
    encoded: &str,
) -> Result<Map, Failure> {
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|err| Failure::new(format!("invalid assembled data: {err}")))?;
    let dest = params.string("dest").unwrap_or_default();
    let dest_path = Path::new(&dest);
    let checksum = Digest::Sha1.hex(&data);
    let transferred = remote_tmp_path("src", options.remote_tmp.as_deref(), options.system_tmp);

    let mut result = Map::new();
    if options.diff {
        let header = params
            .internal
            .get(ASSEMBLED_PATH)
            .map(crate::pyrepr::str)
            .unwrap_or_default();
        result.insert(
            Value::from("diff"),
            Value::map(content_diff(dest_path, &data, &header)),
        );
    }

    let dest_checksum = fs::read(dest_path).ok().map(|old| Digest::Sha1.hex(&old));
    let mut changed = false;
    if dest_checksum.as_deref() != Some(checksum.as_str()) {
        let parent = dest_path.parent().unwrap_or(Path::new("."));
        if !parent.as_os_str().is_empty() && !parent.exists() {
            return Err(Failure::new(format!(
                "Destination directory {} does not exist",
                parent.display()
            )));
        }
        let backup = match params.flag("backup") && dest_path.exists() {
            true => Some(backup_local(dest_path)?),
            false => None,
        };
        write_transferred(params, dest_path, &data, &transferred)?;
        if let Some(backup) = backup {
            result.insert(Value::from("backup_file"), Value::from(backup));
        }
        changed = true;
    }
    let attributes = FileAttributes::from_params(params);
    changed |= set_attributes_if_different(dest_path, &attributes, false, &mut None)?;

    result.insert(Value::from("dest"), Value::from(dest.as_str()));
    result.insert(Value::from("src"), Value::from(transferred));
    result.insert(Value::from("md5sum"), Value::from(Digest::Md5.hex(&data)));
    result.insert(Value::from("checksum"), Value::from(checksum));
    result.insert(Value::from("changed"), Value::Bool(changed));
    add_path_info(&mut result, dest_path);
    Ok(result)
}

/// Writes the transferred file over `dest` as the copy module does: validated first when
/// asked (with the copy module's failure), then moved into place.
fn write_transferred(
    params: &Params,
    dest: &Path,
    data: &[u8],
    transferred: &str,
) -> Result<(), Failure> {
    let failed = |err: std::io::Error| {
        Failure::new(format!(
            "failed to copy: {transferred} to {}: {}",
            dest.display(),
            crate::files::os_error(&err)
        ))
    };
    let temp = temp_file_beside(dest, data).map_err(failed)?;
    // The transferred file's mode after the action's `chmod u+rwx`; it stays when the
    // destination's owner cannot be taken over.
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&temp, fs::Permissions::from_mode(0o700)).map_err(failed)?;
    }
    if let Some(validate) = params.str("validate") {
        let on_temp = FileAttributes {
            attributes: None,
            ..FileAttributes::from_params(params)
        };
        let validated = set_attributes_if_different(&temp, &on_temp, false, &mut None)
            .and_then(|_| crate::files::run_validate(validate, &temp));
        if let Err(failure) = validated {
            let _ = fs::remove_file(&temp);
            return Err(failure);
        }
    }
    atomic_move_as(&temp, dest, MoveAttributes::KeepDestination).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fragments_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            fs::write(dir.path().join(name), content).unwrap();
        }
        fs::create_dir(dir.path().join("subdir")).unwrap();
        dir
    }

    fn assemble(dir: &Path, options: &FragmentOptions<'_>) -> String {
        let data = assemble_fragments(dir, options, |path| fs::read(path)).unwrap();
        String::from_utf8(data).unwrap()
    }

    #[test]
    fn fragments_joined_with_newlines() {
        let dir = fragments_dir(&[("b", "two"), ("a", "one\n"), (".h", "hidden")]);
        assert_eq!(
            assemble(dir.path(), &FragmentOptions::default()),
            "hidden\none\ntwo"
        );
        let visible = FragmentOptions {
            ignore_hidden: true,
            ..FragmentOptions::default()
        };
        assert_eq!(assemble(dir.path(), &visible), "one\ntwo");
    }

    #[test]
    fn delimiter_escapes_decoded() {
        let dir = fragments_dir(&[("a", "one\n"), ("b", "two"), ("c", "three")]);
        let options = FragmentOptions {
            delimiter: Some("-- \\x41 \\\\n \\t end"),
            ignore_hidden: true,
            ..FragmentOptions::default()
        };
        // The second use decodes the first use's output again: `\\n` became `\n`.
        assert_eq!(
            assemble(dir.path(), &options),
            "one\n-- A \\n \t end\ntwo\n-- A \n \t end\nthree"
        );
    }

    #[test]
    fn regexp_selects_fragments() {
        let dir = fragments_dir(&[("fragment1", "1\n"), ("fragment2", "2\n"), ("other", "x")]);
        let regexp = crate::pyregex::compile("^fragment[1]$", false).unwrap();
        let options = FragmentOptions {
            regexp: Some(&regexp),
            ..FragmentOptions::default()
        };
        assert_eq!(assemble(dir.path(), &options), "1\n");
    }
}
