//! The `lineinfile` module, with ansible-core 2.18's results and diffs.

use std::fs;
use std::path::Path;

use crate::dispatch::ModuleOptions;
use crate::files::{backup_local, Diff, Failure, FileAttributes};
use crate::spec::{Default, Kind, ModuleSpec, OptionSpec, Params};
use crate::textedit::{attribute_diff, check_file_attrs, content_diff, read_text, write_changes};
use crate::{Map, Value};

const STATES: &[&str] = &["absent", "present"];

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "lineinfile",
    &[
        OptionSpec::new("path", Kind::Path)
            .required()
            .aliases(&["dest", "destfile", "name"]),
        OptionSpec::new("state", Kind::Str)
            .default(Default::Str("present"))
            .choices(STATES),
        OptionSpec::new("regexp", Kind::Str).aliases(&["regex"]),
        OptionSpec::new("search_string", Kind::Str),
        OptionSpec::new("line", Kind::Str).aliases(&["value"]),
        OptionSpec::new("insertafter", Kind::Str),
        OptionSpec::new("insertbefore", Kind::Str),
        OptionSpec::new("backrefs", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("create", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("backup", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("firstmatch", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("validate", Kind::Str),
    ],
)
.mutually_exclusive(&[
    &["insertbefore", "insertafter"],
    &["regexp", "search_string"],
    &["backrefs", "search_string"],
])
.file_common();

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    match run_checked(params, options) {
        Ok(result) => result,
        Err(failure) => failure.into_result(),
    }
}

fn run_checked(params: &Params, options: &ModuleOptions) -> Result<Map, Failure> {
    let path = params.string("path").unwrap_or_default();
    let mut warnings = Vec::new();
    let regexp = params.string("regexp");
    let search_string = params.string("search_string");
    if regexp.as_deref() == Some("") || search_string.as_deref() == Some("") {
        warnings.push(empty_pattern_warning(regexp.as_deref() == Some("")));
    }
    if Path::new(&path).is_dir() {
        return Err(Failure::new(format!("Path {path} is a directory !")).with("rc", 256i64));
    }
    let mut result = if params.str("state") == Some("present") {
        if params.flag("backrefs") && regexp.is_none() {
            return Err(Failure::new("regexp is required with backrefs=true"));
        }
        if params.get("line").is_none() {
            return Err(Failure::new("line is required with state=present"));
        }
        present(params, options, &path)?
    } else {
        if regexp.is_none() && search_string.is_none() && params.get("line").is_none() {
            return Err(Failure::new(
                "one of line, search_string, or regexp is required with state=absent",
            ));
        }
        absent(params, options, &path)?
    };
    if !warnings.is_empty() {
        result.insert(Value::from("warnings"), Value::list(warnings));
    }
    Ok(result)
}

fn empty_pattern_warning(regexp: bool) -> Value {
    let name = if regexp {
        "regular expression"
    } else {
        "search string"
    };
    let mut text = format!(
        "The {name} is an empty string, which will match every line in the file. This may have unintended consequences, such as replacing the last line in the file rather than appending."
    );
    if regexp {
        text.push_str(
            " If this is desired, use '^' to match every line in the file and avoid this warning.",
        );
    }
    Value::from(text)
}

/// Python's `bytes.readlines`: lines split after each `\n`, which they keep.
fn split_lines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_string).collect()
}

fn trimmed(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

fn present(params: &Params, options: &ModuleOptions, path: &str) -> Result<Map, Failure> {
    let dest = Path::new(path);
    let exists = dest.exists();
    let original = if exists {
        read_text(dest)?
    } else {
        if !params.flag("create") {
            return Err(
                Failure::new(format!("Destination {path} does not exist !")).with("rc", 257i64)
            );
        }
        if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.exists() && !options.check_mode {
                fs::create_dir_all(parent).map_err(|err| {
                    Failure::new(format!("Error creating {} ({err})", parent.display()))
                })?;
            }
        }
        String::new()
    };
    let mut lines = split_lines(&original);
    let line = params.string("line").unwrap_or_default();
    let regexp = params.string("regexp");
    let search_string = params.string("search_string");
    let firstmatch = params.flag("firstmatch");
    let mut insertafter = params.string("insertafter");
    let insertbefore = params.string("insertbefore");
    if insertafter.is_none() && insertbefore.is_none() {
        insertafter = Some("EOF".to_string());
    }
    let compiled = |pattern: &str| {
        crate::pyregex::compile(pattern, false)
            .map_err(|err| Failure::new(format!("invalid regular expression '{pattern}': {err}")))
    };
    let regex = regexp.as_deref().map(compiled).transpose()?;
    let insert_regex = match (&insertafter, &insertbefore) {
        (Some(after), _) if after != "BOF" && after != "EOF" => Some(compiled(after)?),
        (None, Some(before)) if before != "BOF" => Some(compiled(before)?),
        _ => None,
    };

    let mut found: Option<usize> = None;
    let mut insert_at: Option<usize> = None;
    let mut matched_line: Option<String> = None;
    if let Some(regex) = &regex {
        for (number, current) in lines.iter().enumerate() {
            if regex.is_match(current).unwrap_or(false) {
                found = Some(number);
                matched_line = Some(current.clone());
                if firstmatch {
                    break;
                }
            }
        }
    }
    if let Some(search) = &search_string {
        for (number, current) in lines.iter().enumerate() {
            if current.contains(search.as_str()) {
                found = Some(number);
                matched_line = Some(current.clone());
                if firstmatch {
                    break;
                }
            }
        }
    }
    if matched_line.is_none() {
        for (number, current) in lines.iter().enumerate() {
            if trimmed(current) == line {
                found = Some(number);
            } else if insert_regex
                .as_ref()
                .is_some_and(|regex| regex.is_match(current).unwrap_or(false))
            {
                if insertafter.is_some() {
                    insert_at = Some(number + 1);
                    if firstmatch {
                        break;
                    }
                }
                if insertbefore.is_some() {
                    insert_at = Some(number);
                    if firstmatch {
                        break;
                    }
                }
            }
        }
    }

    let with_newline = |text: &str| format!("{text}\n");
    let mut message = "";
    let mut changed = false;
    let insertafter_text = insertafter.as_deref();
    let insertbefore_text = insertbefore.as_deref();
    if let Some(index) = found {
        let mut new_line = match (&regex, &matched_line, params.flag("backrefs")) {
            (Some(regex), Some(current), true) => {
                let captures = regex
                    .captures(current.as_str())
                    .ok()
                    .flatten()
                    .ok_or_else(|| Failure::new("regexp no longer matches"))?;
                crate::pyregex::expand(&line, regex, &captures).map_err(Failure::new)?
            }
            _ => line.clone(),
        };
        if !new_line.ends_with('\n') {
            new_line.push('\n');
        }
        if lines[index] != new_line {
            lines[index] = new_line;
            message = "line replaced";
            changed = true;
        }
    } else if params.flag("backrefs") {
        // A backrefs line is only ever replaced, never added.
    } else if insertbefore_text == Some("BOF") || insertafter_text == Some("BOF") {
        lines.insert(0, with_newline(&line));
        message = "line added";
        changed = true;
    } else if insertafter_text == Some("EOF") || insert_at.is_none() {
        if lines
            .last()
            .is_some_and(|last| !last.ends_with(['\n', '\r']))
        {
            lines.push("\n".to_string());
        }
        lines.push(with_newline(&line));
        message = "line added";
        changed = true;
    } else if let (Some(_), Some(index)) = (insertafter_text, insert_at) {
        if lines.len() == index {
            if trimmed(&lines[index - 1]) != line {
                lines.push(with_newline(&line));
                message = "line added";
                changed = true;
            }
        } else if line != trimmed(&lines[index]) {
            lines.insert(index, with_newline(&line));
            message = "line added";
            changed = true;
        }
    } else if let Some(index) = insert_at {
        lines.insert(index, with_newline(&line));
        message = "line added";
        changed = true;
    }
    let after = lines.concat();
    finish(
        params,
        options,
        path,
        exists,
        &original,
        &after,
        changed,
        message.to_string(),
        None,
    )
}

fn absent(params: &Params, options: &ModuleOptions, path: &str) -> Result<Map, Failure> {
    let dest = Path::new(path);
    if !dest.exists() {
        let mut result = Map::new();
        result.insert(Value::from("changed"), Value::Bool(false));
        result.insert(Value::from("msg"), Value::from("file not present"));
        return Ok(result);
    }
    let original = read_text(dest)?;
    let regex = params
        .str("regexp")
        .map(|pattern| {
            crate::pyregex::compile(pattern, false).map_err(|err| {
                Failure::new(format!("invalid regular expression '{pattern}': {err}"))
            })
        })
        .transpose()?;
    let search_string = params.string("search_string");
    let line = params.string("line").unwrap_or_default();
    let mut found = 0;
    let kept: Vec<String> = split_lines(&original)
        .into_iter()
        .filter(|current| {
            let matches = match (&regex, &search_string) {
                (Some(regex), _) => regex.is_match(current).unwrap_or(false),
                (None, Some(search)) => current.contains(search.as_str()),
                (None, None) => trimmed(current) == line,
            };
            if matches {
                found += 1;
            }
            !matches
        })
        .collect();
    let changed = found > 0;
    let message = if changed {
        format!("{found} line(s) removed")
    } else {
        String::new()
    };
    finish(
        params,
        options,
        path,
        true,
        &original,
        &kept.concat(),
        changed,
        message,
        Some(found),
    )
}

/// Writes the new content when it changed, applies the file attributes and builds the
/// result with its two diffs (content, then file attributes).
#[allow(clippy::too_many_arguments)]
fn finish(
    params: &Params,
    options: &ModuleOptions,
    path: &str,
    existed: bool,
    before: &str,
    after: &str,
    changed: bool,
    message: String,
    found: Option<usize>,
) -> Result<Map, Failure> {
    let dest = Path::new(path);
    let diff = content_diff(path, before, after, options.diff);
    let mut backup = String::new();
    if changed && !options.check_mode {
        if params.flag("backup") && dest.exists() {
            backup = backup_local(dest)?;
        }
        write_changes(params, dest, after.as_bytes())?;
    }
    let mut result = Map::new();
    if options.check_mode && !existed {
        result.insert(Value::from("changed"), Value::Bool(changed));
        if let Some(found) = found {
            result.insert(Value::from("found"), Value::Int(found as i64));
        }
        result.insert(Value::from("msg"), Value::from(message));
        result.insert(Value::from("backup"), Value::from(backup));
        result.insert(Value::from("diff"), diff);
        return Ok(result);
    }
    let mut attributes_diff = Diff::default();
    let attributes = FileAttributes::from_params(params);
    let (message, changed) = check_file_attrs(
        dest,
        &attributes,
        options.check_mode,
        changed,
        message,
        Some(&mut attributes_diff),
    )?;
    result.insert(Value::from("changed"), Value::Bool(changed));
    if let Some(found) = found {
        result.insert(Value::from("found"), Value::Int(found as i64));
    }
    result.insert(Value::from("msg"), Value::from(message));
    result.insert(Value::from("backup"), Value::from(backup));
    result.insert(
        Value::from("diff"),
        Value::list(vec![diff, attribute_diff(path, attributes_diff)]),
    );
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lineinfile(args: &[(&str, Value)], check_mode: bool) -> Map {
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
    fn replace_by_regexp_then_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env");
        fs::write(&path, "a=1\nno_proxy=old\nb=2\n").unwrap();
        let args = [
            ("path", Value::from(path.display().to_string())),
            ("regexp", Value::from("^no_proxy=")),
            ("line", Value::from("no_proxy=new")),
        ];
        let result = lineinfile(&args, false);
        assert_eq!(result.get("msg"), Some(&Value::from("line replaced")));
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "a=1\nno_proxy=new\nb=2\n"
        );
        let again = lineinfile(&args, false);
        assert_eq!(again.get("changed"), Some(&Value::Bool(false)));
    }

    #[test]
    fn insert_after_match_and_create() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/env");
        let created = lineinfile(
            &[
                ("path", Value::from(path.display().to_string())),
                ("line", Value::from("first")),
                ("create", Value::Bool(true)),
            ],
            false,
        );
        assert_eq!(created.get("msg"), Some(&Value::from("line added")));
        lineinfile(
            &[
                ("path", Value::from(path.display().to_string())),
                ("line", Value::from("last")),
            ],
            false,
        );
        lineinfile(
            &[
                ("path", Value::from(path.display().to_string())),
                ("line", Value::from("middle")),
                ("insertafter", Value::from("^first")),
            ],
            false,
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "first\nmiddle\nlast\n");
    }

    #[test]
    fn check_mode_diff_leaves_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, "keep\ndrop me\n").unwrap();
        let result = lineinfile(
            &[
                ("path", Value::from(path.display().to_string())),
                ("regexp", Value::from("^drop")),
                ("state", Value::from("absent")),
            ],
            true,
        );
        assert_eq!(result.get("msg"), Some(&Value::from("1 line(s) removed")));
        assert_eq!(result.get("found"), Some(&Value::Int(1)));
        let diff = &result.get("diff").unwrap().as_list().unwrap()[0];
        assert_eq!(diff.get("after"), Some(&Value::from("keep\n")));
        assert_eq!(fs::read_to_string(&path).unwrap(), "keep\ndrop me\n");
    }

    #[test]
    fn backrefs_expand_groups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, "port=80\n").unwrap();
        lineinfile(
            &[
                ("path", Value::from(path.display().to_string())),
                ("regexp", Value::from(r"^port=(\d+)$")),
                ("line", Value::from(r"port=\g<1>80")),
                ("backrefs", Value::Bool(true)),
            ],
            false,
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "port=8080\n");
    }
}
