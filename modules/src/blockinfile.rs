//! The `blockinfile` module, with ansible-core 2.18's results and diffs.

use std::fs;
use std::path::Path;

use crate::dispatch::ModuleOptions;
use crate::files::{backup_local, Diff, Failure, FileAttributes};
use crate::spec::{Default, Kind, ModuleSpec, OptionSpec, Params};
use crate::textedit::{attribute_diff, check_file_attrs, content_diff, read_text, write_changes};
use crate::{Map, Value};

const STATES: &[&str] = &["absent", "present"];

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "blockinfile",
    &[
        OptionSpec::new("path", Kind::Path)
            .required()
            .aliases(&["dest", "destfile", "name"]),
        OptionSpec::new("state", Kind::Str)
            .default(Default::Str("present"))
            .choices(STATES),
        OptionSpec::new("marker", Kind::Str)
            .default(Default::Str("# {mark} ANSIBLE MANAGED BLOCK")),
        OptionSpec::new("block", Kind::Str)
            .default(Default::Str(""))
            .aliases(&["content"]),
        OptionSpec::new("insertafter", Kind::Str),
        OptionSpec::new("insertbefore", Kind::Str),
        OptionSpec::new("create", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("backup", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("validate", Kind::Str),
        OptionSpec::new("marker_begin", Kind::Str).default(Default::Str("BEGIN")),
        OptionSpec::new("marker_end", Kind::Str).default(Default::Str("END")),
        OptionSpec::new("append_newline", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("prepend_newline", Kind::Bool).default(Default::Bool(false)),
    ],
)
.mutually_exclusive(&[&["insertbefore", "insertafter"]])
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
    let exists = dest.exists();
    let original = if exists {
        Some(read_text(dest)?)
    } else {
        if !params.flag("create") {
            return Err(Failure::new(format!("Path {path} does not exist !")).with("rc", 257i64));
        }
        if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.exists() && !options.check_mode {
                fs::create_dir_all(parent).map_err(|err| {
                    Failure::new(format!("Error creating {} Error: {err}", parent.display()))
                })?;
            }
        }
        None
    };
    let present = params.str("state") == Some("present");
    if !present && !exists {
        let mut result = Map::new();
        result.insert(Value::from("changed"), Value::Bool(false));
        result.insert(
            Value::from("msg"),
            Value::from(format!("File {path} not present")),
        );
        return Ok(result);
    }
    let text = original.clone().unwrap_or_default();
    let after = edit(params, &text, present)?;
    let (message, changed) = match &original {
        Some(before) if *before == after => ("", false),
        None => ("File created", true),
        Some(_) if !present || params.str("block") == Some("") => ("Block removed", true),
        Some(_) => ("Block inserted", true),
    };
    let diff = content_diff(&path, &text, &after, options.diff);
    let mut backup_file = None;
    if changed && !options.check_mode {
        if params.flag("backup") && exists {
            backup_file = Some(backup_local(dest)?);
        }
        write_changes(params, dest, after.as_bytes())?;
    }
    let mut result = Map::new();
    if options.check_mode && !exists {
        result.insert(Value::from("changed"), Value::Bool(changed));
        result.insert(Value::from("msg"), Value::from(message));
        result.insert(Value::from("diff"), diff);
        return Ok(result);
    }
    let mut attributes_diff = Diff::default();
    let (message, changed) = check_file_attrs(
        dest,
        &FileAttributes::from_params(params),
        options.check_mode,
        changed,
        message.to_string(),
        Some(&mut attributes_diff),
    )?;
    result.insert(Value::from("changed"), Value::Bool(changed));
    result.insert(Value::from("msg"), Value::from(message));
    result.insert(
        Value::from("diff"),
        Value::list(vec![diff, attribute_diff(&path, attributes_diff)]),
    );
    if let Some(backup_file) = backup_file {
        result.insert(Value::from("backup_file"), Value::from(backup_file));
    }
    Ok(result)
}

/// Returns `text` with the block between its markers removed and, when `present`, the
/// new block inserted where the old one was or where `insertafter`/`insertbefore` say.
fn edit(params: &Params, text: &str, present: bool) -> Result<String, Failure> {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let marker = params.string("marker").unwrap_or_default();
    let begin = format!(
        "{}\n",
        marker.replace("{mark}", &params.string("marker_begin").unwrap_or_default())
    );
    let end = format!(
        "{}\n",
        marker.replace("{mark}", &params.string("marker_end").unwrap_or_default())
    );
    let mut block = params.string("block").unwrap_or_default();
    let block_lines: Vec<String> = if present && !block.is_empty() {
        if !block.ends_with('\n') {
            block.push('\n');
        }
        let mut all = vec![begin.clone()];
        all.extend(block.split_inclusive('\n').map(str::to_string));
        all.push(end.clone());
        all
    } else {
        Vec::new()
    };
    let begin_index = lines.iter().rposition(|line| *line == begin);
    let end_index = lines.iter().rposition(|line| *line == end);
    let mut insertafter = params.string("insertafter");
    let insertbefore = params.string("insertbefore");
    if insertafter.is_none() && insertbefore.is_none() {
        insertafter = Some("EOF".to_string());
    }
    let mut at = match (begin_index, end_index) {
        (Some(first), Some(last)) if first < last => {
            lines.drain(first..=last);
            first
        }
        (Some(first), Some(last)) => {
            lines.drain(last..=first);
            last
        }
        _ => insertion_point(
            &lines,
            text,
            insertafter.as_deref(),
            insertbefore.as_deref(),
        )?,
    };
    if at > 0 && !lines[at - 1].ends_with('\n') {
        lines[at - 1].push('\n');
    }
    if params.flag("prepend_newline") && present && at != 0 && lines[at - 1] != "\n" {
        lines.insert(at, "\n".to_string());
        at += 1;
    }
    let count = block_lines.len();
    lines.splice(at..at, block_lines);
    if params.flag("append_newline") && present {
        let after_block = at + count;
        if after_block < lines.len() && lines[after_block] != "\n" {
            lines.insert(after_block, "\n".to_string());
        }
    }
    Ok(lines.concat())
}

/// The line index a new block goes to when the file has no block yet.
fn insertion_point(
    lines: &[String],
    text: &str,
    insertafter: Option<&str>,
    insertbefore: Option<&str>,
) -> Result<usize, Failure> {
    let pattern = match (insertafter, insertbefore) {
        (Some(after), _) if after != "EOF" => Some(after),
        (None, Some(before)) if before != "BOF" => Some(before),
        (None, Some(_)) => return Ok(0),
        _ => return Ok(lines.len()),
    };
    let Some(pattern) = pattern else {
        return Ok(lines.len());
    };
    let regex = crate::pyregex::compile(pattern, false)
        .map_err(|err| Failure::new(format!("invalid regular expression '{pattern}': {err}")))?;
    let mut found = None;
    if pattern.starts_with("(?m") {
        // A multiline pattern is matched against the whole text.
        if let Ok(Some(found_match)) = regex.find(text) {
            let offset = if insertafter.is_some() {
                found_match.end()
            } else {
                found_match.start()
            };
            found = Some(text[..offset].matches('\n').count());
        }
    } else {
        for (index, line) in lines.iter().enumerate() {
            if regex.is_match(line).unwrap_or(false) {
                found = Some(index);
            }
        }
    }
    Ok(match found {
        None => lines.len(),
        Some(index) if insertafter.is_some() => index + 1,
        Some(index) => index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blockinfile(args: &[(&str, Value)]) -> Map {
        let args: Map = args
            .iter()
            .map(|(key, value)| (Value::from(*key), value.clone()))
            .collect();
        run(&SPEC.validate(&args).unwrap(), &ModuleOptions::default())
    }

    #[test]
    fn create_insert_replace_remove() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profile.sh");
        let path_text = Value::from(path.display().to_string());
        let created = blockinfile(&[
            ("path", path_text.clone()),
            ("create", Value::Bool(true)),
            ("block", Value::from("export A=1\n")),
        ]);
        assert_eq!(created.get("msg"), Some(&Value::from("File created")));
        let second = blockinfile(&[
            ("path", path_text.clone()),
            ("marker", Value::from("# {mark} second")),
            ("insertbefore", Value::from("BOF")),
            ("block", Value::from("umask 022")),
        ]);
        assert_eq!(second.get("msg"), Some(&Value::from("Block inserted")));
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "# BEGIN second\numask 022\n# END second\n# BEGIN ANSIBLE MANAGED BLOCK\nexport A=1\n# END ANSIBLE MANAGED BLOCK\n"
        );
        let removed = blockinfile(&[
            ("path", path_text),
            ("marker", Value::from("# {mark} second")),
            ("state", Value::from("absent")),
        ]);
        assert_eq!(removed.get("msg"), Some(&Value::from("Block removed")));
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "# BEGIN ANSIBLE MANAGED BLOCK\nexport A=1\n# END ANSIBLE MANAGED BLOCK\n"
        );
    }
}
