//! The `replace` module, with ansible-core 2.18's results and diff.

use std::path::Path;

use crate::dispatch::ModuleOptions;
use crate::files::{backup_local, Failure, FileAttributes};
use crate::spec::{Default, Kind, ModuleSpec, OptionSpec, Params};
use crate::textedit::{check_file_attrs, read_text, write_changes};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "replace",
    &[
        OptionSpec::new("path", Kind::Path)
            .required()
            .aliases(&["dest", "destfile", "name"]),
        OptionSpec::new("regexp", Kind::Str).required(),
        OptionSpec::new("replace", Kind::Str).default(Default::Str("")),
        OptionSpec::new("after", Kind::Str),
        OptionSpec::new("before", Kind::Str),
        OptionSpec::new("backup", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("validate", Kind::Str),
        OptionSpec::new("encoding", Kind::Str).default(Default::Str("utf-8")),
    ],
)
.file_common();

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    match run_checked(params, options) {
        Ok(result) => result,
        Err(failure) => failure.into_result(),
    }
}

fn run_checked(params: &Params, options: &ModuleOptions) -> Result<Map, Failure> {
    let path = params.string("path").unwrap_or_default();
    let dest = Path::new(&path);
    if dest.is_dir() {
        return Err(Failure::new(format!("Path {path} is a directory !")).with("rc", 256i64));
    }
    if !dest.exists() {
        return Err(Failure::new(format!("Path {path} does not exist !")).with("rc", 257i64));
    }
    // NOTE: only UTF-8 is read; other `encoding` values are not supported yet.
    let contents = read_text(dest)?;
    let mut result = Map::new();
    result.insert(Value::from("rc"), Value::Int(0));
    let after = params.string("after").filter(|text| !text.is_empty());
    let before = params.string("before").filter(|text| !text.is_empty());
    let section_pattern = match (&after, &before) {
        (Some(after), Some(before)) => Some(format!("{after}(?P<subsection>.*?){before}")),
        (Some(after), None) => Some(format!("{after}(?P<subsection>.*)")),
        (None, Some(before)) => Some(format!("(?P<subsection>.*){before}")),
        (None, None) => None,
    };
    let (start, end) = match &section_pattern {
        None => (0, contents.len()),
        Some(pattern) => {
            let regex =
                crate::pyregex::compile(&format!("(?s){pattern}"), false).map_err(|err| {
                    Failure::new(format!("Unable to process replace due to error: {err}"))
                })?;
            let section = regex
                .captures(&contents)
                .ok()
                .flatten()
                .and_then(|captures| captures.name("subsection").map(|m| (m.start(), m.end())));
            match section {
                Some(bounds) => bounds,
                None => {
                    result.insert(
                        Value::from("msg"),
                        Value::from(format!(
                            "Pattern for before/after params did not match the given file: {pattern}"
                        )),
                    );
                    result.insert(Value::from("changed"), Value::Bool(false));
                    return Ok(result);
                }
            }
        }
    };
    let section = &contents[start..end];
    let regexp = params.string("regexp").unwrap_or_default();
    let template = params.string("replace").unwrap_or_default();
    let substituted = crate::pyregex::compile(&regexp, true)
        .and_then(|regex| crate::pyregex::substitute(&regex, &template, section))
        .map_err(|err| {
            // NOTE: ansible-core sends Python's whole traceback; rplay sends its last
            // line, which is what the default callback prints below -vvv.
            Failure::new(format!("Unable to process replace due to error: {err}"))
                .with("exception", format!("re.error: {err}\n"))
        })?;
    let (new_section, count) = substituted;
    let mut message = String::new();
    let mut changed = false;
    let mut new_contents = contents.clone();
    if count > 0 && new_section != section {
        new_contents = format!("{}{new_section}{}", &contents[..start], &contents[end..]);
        message = format!("{count} replacements made");
        changed = true;
        if options.diff {
            let mut diff = Map::new();
            diff.insert(Value::from("before_header"), Value::from(path.as_str()));
            diff.insert(Value::from("before"), Value::from(contents.as_str()));
            diff.insert(Value::from("after_header"), Value::from(path.as_str()));
            diff.insert(Value::from("after"), Value::from(new_contents.as_str()));
            result.insert(Value::from("diff"), Value::map(diff));
        }
    }
    if changed && !options.check_mode {
        if params.flag("backup") {
            let backup = backup_local(dest)?;
            result.insert(Value::from("backup_file"), Value::from(backup));
        }
        write_changes(params, dest, new_contents.as_bytes())?;
    }
    let (message, changed) = check_file_attrs(
        dest,
        &FileAttributes::from_params(params),
        options.check_mode,
        changed,
        message,
        None,
    )?;
    result.insert(Value::from("msg"), Value::from(message));
    result.insert(Value::from("changed"), Value::Bool(changed));
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn replace(args: &[(&str, Value)], check_mode: bool) -> Map {
        let args: Map = args
            .iter()
            .map(|(key, value)| (Value::from(*key), value.clone()))
            .collect();
        let options = ModuleOptions {
            check_mode,
            diff: true,
            ..ModuleOptions::default()
        };
        run(&SPEC.validate(&args).unwrap(), &options)
    }

    #[test]
    fn replaces_every_match() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rplay");
        fs::write(&path, "ENABLED=no\nOPTS=\"--verbose\"\nENABLED_TOO=no\n").unwrap();
        let args = [
            ("path", Value::from(path.display().to_string())),
            ("regexp", Value::from(r"^(ENABLED\w*)=no$")),
            ("replace", Value::from(r"\1=yes")),
        ];
        let preview = replace(&args, true);
        assert_eq!(preview.get("changed"), Some(&Value::Bool(true)));
        assert!(preview.get("diff").is_some());
        assert!(fs::read_to_string(&path).unwrap().starts_with("ENABLED=no"));
        let result = replace(&args, false);
        assert_eq!(result.get("msg"), Some(&Value::from("2 replacements made")));
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "ENABLED=yes\nOPTS=\"--verbose\"\nENABLED_TOO=yes\n"
        );
        let again = replace(&args, false);
        assert_eq!(again.get("changed"), Some(&Value::Bool(false)));
    }

    #[test]
    fn after_limits_the_section() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, "x=1\n[s]\nx=1\n").unwrap();
        replace(
            &[
                ("path", Value::from(path.display().to_string())),
                ("regexp", Value::from("x=1")),
                ("replace", Value::from("x=2")),
                ("after", Value::from(r"\[s\]")),
            ],
            false,
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "x=1\n[s]\nx=2\n");
    }
}
