//! The `community.general.ini_file` module: an option of a section of an INI file, set,
//! added or removed line by line as the module edits it.

use std::path::Path;

use crate::dispatch::ModuleOptions;
use crate::files::{Failure, FileAttributes};
use crate::spec::{Default, Elements, Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "ini_file",
    &[
        OptionSpec::new("path", Kind::Path)
            .required()
            .aliases(&["dest"]),
        OptionSpec::new("section", Kind::Str),
        // NOTE: its suboptions (`option`, `value`, `values`) are checked by `run`, and
        // `invocation` shows the entries as given, without the suboptions' defaults.
        OptionSpec::new("section_has_values", Kind::List(Elements::Dict)),
        OptionSpec::new("option", Kind::Str),
        OptionSpec::new("value", Kind::Str),
        OptionSpec::new("values", Kind::List(Elements::Str)),
        OptionSpec::new("backup", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("state", Kind::Str)
            .default(Default::Str("present"))
            .choices(&["absent", "present"]),
        OptionSpec::new("exclusive", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("no_extra_spaces", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("ignore_spaces", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("allow_no_value", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("modify_inactive_option", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("create", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("follow", Kind::Bool).default(Default::Bool(false)),
    ],
)
.file_common()
.mutually_exclusive(&[&["value", "values"]]);

/// The name of the section the module puts around the lines before the first header.
const FAKE_SECTION: &str = "ad01e11446efb704fcdbdb21f2c43757423d91c5";

/// A `section_has_values` entry: an option and the values that select the section.
#[derive(Debug, Clone)]
struct Condition {
    option: String,
    values: Vec<String>,
}

/// What to do, as `do_ini` takes it.
struct Request {
    section: Option<String>,
    conditions: Option<Vec<Condition>>,
    option: Option<String>,
    values: Vec<String>,
    present: bool,
    exclusive: bool,
    no_extra_spaces: bool,
    ignore_spaces: bool,
    allow_no_value: bool,
    modify_inactive_option: bool,
}

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    match run_checked(params, options) {
        Ok(result) => result,
        Err(failure) => failure.into_result(),
    }
}

fn run_checked(params: &Params, options: &ModuleOptions) -> Result<Map, Failure> {
    let path = params.string("path").unwrap_or_default();
    let present = params.str("state") == Some("present");
    let allow_no_value = params.flag("allow_no_value");
    let value = params.string("value");
    if present && !allow_no_value && value.is_none() && params.strings("values").is_empty() {
        return Err(Failure::new(
            "Parameter 'value(s)' must be defined if state=present and allow_no_value=False.",
        ));
    }
    let values = match value {
        Some(value) => vec![value],
        None => params.strings("values"),
    };
    let request = Request {
        section: params.string("section"),
        conditions: conditions(params)?,
        option: params.string("option"),
        values,
        present,
        exclusive: params.flag("exclusive"),
        no_extra_spaces: params.flag("no_extra_spaces"),
        ignore_spaces: params.flag("ignore_spaces"),
        allow_no_value,
        modify_inactive_option: params.flag("modify_inactive_option"),
    };
    let target = if params.flag("follow") && Path::new(&path).is_symlink() {
        std::fs::canonicalize(&path)
            .map(|real| real.display().to_string())
            .unwrap_or_else(|_| path.clone())
    } else {
        path.clone()
    };
    let exists = Path::new(&target).exists();
    if !exists && !params.flag("create") {
        return Err(
            Failure::new(format!("Destination {target} does not exist!"))
                .with("rc", Value::Int(257)),
        );
    }
    let before = if exists {
        let bytes =
            std::fs::read(&target).map_err(|err| Failure::new(crate::files::os_error(&err)))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        text.strip_prefix('\u{feff}')
            .map(str::to_string)
            .unwrap_or(text)
    } else {
        String::new()
    };
    let (after, mut changed, msg) = edit(&before, &request);
    let mut backup_file = None;
    if changed && !options.check_mode {
        if !exists {
            if let Some(dir) = Path::new(&target)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir)
                    .map_err(|err| Failure::new(crate::files::os_error(&err)))?;
            }
        }
        if params.flag("backup") && exists {
            backup_file = Some(crate::files::backup_local(Path::new(&target))?);
        }
        let dest = std::path::absolute(&target).unwrap_or_else(|_| target.clone().into());
        crate::files::atomic_write(&dest, after.as_bytes()).map_err(|err| {
            Failure::new(format!(
                "Unable to move temporary file to {target}: {}",
                crate::files::os_error(&err)
            ))
        })?;
    }
    if !options.check_mode && Path::new(&path).exists() {
        let attributes = FileAttributes::from_params(params);
        changed |= crate::files::set_attributes_if_different(
            Path::new(&path),
            &attributes,
            false,
            &mut None,
        )?;
    }
    let mut diff = Map::new();
    let (shown_before, shown_after) = if options.diff {
        (before.as_str(), after.as_str())
    } else {
        ("", "")
    };
    diff.insert(Value::from("before"), Value::from(shown_before));
    diff.insert(Value::from("after"), Value::from(shown_after));
    diff.insert(
        Value::from("before_header"),
        Value::from(format!("{path} (content)")),
    );
    diff.insert(
        Value::from("after_header"),
        Value::from(format!("{path} (content)")),
    );
    let mut result = Map::new();
    result.insert(Value::from("changed"), Value::Bool(changed));
    result.insert(Value::from("diff"), Value::map(diff));
    result.insert(Value::from("msg"), Value::from(msg));
    result.insert(Value::from("path"), Value::from(path.as_str()));
    if let Some(backup_file) = backup_file {
        result.insert(Value::from("backup_file"), Value::from(backup_file));
    }
    Ok(result)
}

fn conditions(params: &Params) -> Result<Option<Vec<Condition>>, Failure> {
    let Some(entries) = params.get("section_has_values").and_then(Value::as_list) else {
        return Ok(None);
    };
    let mut conditions = Vec::new();
    for entry in entries {
        let Some(map) = entry.as_map() else {
            return Err(Failure::new(
                "section_has_values entries must be dictionaries",
            ));
        };
        let Some(option) = map
            .get("option")
            .filter(|v| !v.is_null())
            .map(crate::pyrepr::str)
        else {
            return Err(Failure::new(
                "missing required arguments: option found in section_has_values",
            ));
        };
        let value = map.get("value").filter(|v| !v.is_null());
        let values = map.get("values").filter(|v| !v.is_null());
        if value.is_some() && values.is_some() {
            return Err(Failure::new(
                "parameters are mutually exclusive: value|values found in section_has_values",
            ));
        }
        let values = match (value, values) {
            (Some(value), _) => vec![crate::pyrepr::str(value)],
            (None, Some(Value::List(items))) => items.iter().map(crate::pyrepr::str).collect(),
            (None, Some(other)) => vec![crate::pyrepr::str(other)],
            (None, None) => Vec::new(),
        };
        conditions.push(Condition { option, values });
    }
    Ok(Some(conditions))
}

/// A line split as the module's option pattern splits it:
/// `[ \t]*([#;]?)[ \t]*(OPTION)[ \t]*(=|$)[ \t]*(.*)`.
struct OptionLine {
    /// `#` or `;` when the option is commented out.
    comment: String,
    value: String,
}

/// Matches `line` against `option` at its start; `active_only` rejects commented lines.
fn match_option(option: &str, line: &str, active_only: bool) -> Option<OptionLine> {
    let spaces = |text: &str| text.trim_start_matches([' ', '\t']).len();
    let mut rest = line;
    rest = &rest[rest.len() - spaces(rest)..];
    let mut comment = String::new();
    if !active_only {
        if let Some(first) = rest.chars().next().filter(|c| *c == '#' || *c == ';') {
            comment.push(first);
            rest = &rest[1..];
            rest = &rest[rest.len() - spaces(rest)..];
        }
    }
    rest = rest.strip_prefix(option)?;
    rest = &rest[rest.len() - spaces(rest)..];
    let value_part = if let Some(after) = rest.strip_prefix('=') {
        after
    } else if rest.is_empty() || rest == "\n" {
        rest
    } else {
        return None;
    };
    let value_part = &value_part[value_part.len() - spaces(value_part)..];
    let value = value_part
        .split('\n')
        .next()
        .unwrap_or_default()
        .to_string();
    Some(OptionLine { comment, value })
}

fn is_blank_or_comment(line: &str) -> bool {
    let trimmed = line.trim_start_matches([' ', '\t']);
    let trimmed = trimmed.strip_suffix('\n').unwrap_or(trimmed);
    trimmed.is_empty() || trimmed.starts_with(['#', ';'])
}

/// Whether `line` is the header of `section` (`[ name ]`, anything after `]`).
fn is_header(line: &str, section: &str) -> bool {
    let Some(rest) = line.strip_prefix('[') else {
        return false;
    };
    let rest = rest.trim_start();
    let Some(rest) = rest.strip_prefix(section.trim()) else {
        return false;
    };
    rest.trim_start().starts_with(']')
}

fn section_has_values(conditions: &Option<Vec<Condition>>, lines: &[String]) -> bool {
    let Some(conditions) = conditions else {
        return true;
    };
    conditions.iter().all(|condition| {
        lines.iter().any(|line| {
            match_option(&condition.option, line, false).is_some_and(|found| {
                condition.values.is_empty() || condition.values.contains(&found.value)
            })
        })
    })
}

/// Applies the request to the file's text; returns the new text, whether it changed and
/// the module's message.
fn edit(text: &str, request: &Request) -> (String, bool, &'static str) {
    let mut values: Vec<String> = Vec::new();
    for value in &request.values {
        if !values.contains(value) {
            values.push(value.clone());
        }
    }
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let mut changed = false;
    if lines.is_empty() {
        lines.push("\n".into());
    }
    if let Some(last) = lines.last_mut() {
        if !last.ends_with('\n') {
            last.push('\n');
            changed = true;
        }
    }
    lines.insert(0, format!("[{FAKE_SECTION}]"));
    lines.push("[".into());
    let section = request
        .section
        .clone()
        .filter(|section| !section.is_empty())
        .unwrap_or_else(|| FAKE_SECTION.to_string());
    let (mut within, mut start, mut end) = (false, 0, 0);
    for (index, line) in lines.iter().enumerate() {
        if within && line.starts_with('[') {
            if section_has_values(&request.conditions, &lines[start..index]) {
                end = index;
                break;
            }
            (within, start, end) = (false, 0, 0);
        }
        if is_header(line, &section) {
            within = true;
            start = index;
        }
    }
    let after_lines = lines.split_off(end);
    let mut section_lines = lines.split_off(start);
    let before_lines = lines;
    let mut msg = "OK";
    let format_line = |option: &str, value: &str| {
        if request.no_extra_spaces {
            format!("{option}={value}\n")
        } else {
            format!("{option} = {value}\n")
        }
    };
    let active_only = !request.modify_inactive_option;
    let mut touched = vec![false; section_lines.len()];
    let mut no_value_present = false;
    let update = |section_lines: &mut Vec<String>,
                  touched: &mut Vec<bool>,
                  index: usize,
                  new: String,
                  changed: &mut bool,
                  msg: &mut &'static str| {
        let option = request.option.as_deref().unwrap_or_default();
        let mut option_changed = None;
        if request.ignore_spaces {
            if let Some(old) = match_option(option, &section_lines[index], false) {
                if old.comment.is_empty() {
                    let new_value = match_option(option, &new, false).map(|m| m.value);
                    option_changed = Some(Some(old.value) != new_value);
                }
            }
        }
        let option_changed = option_changed.unwrap_or(section_lines[index] != new);
        if option_changed {
            section_lines[index] = new;
            *changed = true;
            *msg = "option changed";
        }
        touched[index] = true;
    };
    if let (true, Some(option)) = (request.present, request.option.as_deref()) {
        for index in 0..section_lines.len() {
            let Some(found) = match_option(option, &section_lines[index], active_only) else {
                continue;
            };
            if !values.is_empty() && values.contains(&found.value) {
                let new = if found.value.is_empty() && request.allow_no_value {
                    no_value_present = true;
                    format!("{option}\n")
                } else {
                    format_line(option, &found.value)
                };
                update(
                    &mut section_lines,
                    &mut touched,
                    index,
                    new,
                    &mut changed,
                    &mut msg,
                );
                values.retain(|value| *value != found.value);
            } else if values.is_empty() && request.allow_no_value {
                update(
                    &mut section_lines,
                    &mut touched,
                    index,
                    format!("{option}\n"),
                    &mut changed,
                    &mut msg,
                );
                no_value_present = true;
                break;
            }
        }
    }
    if request.present && request.exclusive && !request.allow_no_value {
        let option = request.option.clone().unwrap_or_default();
        if !values.is_empty() {
            for index in 0..section_lines.len() {
                if !touched[index]
                    && match_option(&option, &section_lines[index], active_only).is_some()
                {
                    let value = values.remove(0);
                    update(
                        &mut section_lines,
                        &mut touched,
                        index,
                        format_line(&option, &value),
                        &mut changed,
                        &mut msg,
                    );
                    if values.is_empty() {
                        break;
                    }
                }
            }
        }
        for index in (1..section_lines.len()).rev() {
            if !touched[index]
                && match_option(&option, &section_lines[index], active_only).is_some()
            {
                section_lines.remove(index);
                touched.remove(index);
                changed = true;
                msg = "option changed";
            }
        }
    }
    if request.present {
        for index in (1..=section_lines.len()).rev() {
            if is_blank_or_comment(&section_lines[index - 1]) {
                continue;
            }
            match request.option.as_deref() {
                Some(option) if !values.is_empty() => {
                    for value in values.iter().rev() {
                        section_lines.insert(index, format_line(option, value));
                        msg = "option added";
                        changed = true;
                    }
                }
                Some(option) if request.allow_no_value && !no_value_present => {
                    section_lines.insert(index, format!("{option}\n"));
                    msg = "option added";
                    changed = true;
                }
                _ => {}
            }
            break;
        }
    } else {
        match request.option.as_deref() {
            Some(option) if request.exclusive => {
                let kept: Vec<String> = section_lines
                    .iter()
                    .filter(|line| match_option(option, line, true).is_none())
                    .cloned()
                    .collect();
                if kept != section_lines {
                    (changed, msg, section_lines) = (true, "option changed", kept);
                }
            }
            Some(option) if !values.is_empty() => {
                let kept: Vec<String> = section_lines
                    .iter()
                    .filter(|line| {
                        !match_option(option, line, true)
                            .is_some_and(|found| values.contains(&found.value))
                    })
                    .cloned()
                    .collect();
                if kept != section_lines {
                    (changed, msg, section_lines) = (true, "option changed", kept);
                }
            }
            Some(_) => {}
            None => {
                if !section_lines.is_empty() {
                    (changed, msg, section_lines) = (true, "section removed", Vec::new());
                }
            }
        }
    }
    let mut result: Vec<String> = before_lines;
    result.extend(section_lines);
    result.extend(after_lines);
    result.remove(0);
    result.pop();
    if !within && request.present {
        result.push(format!("[{section}]\n"));
        msg = "section and option added";
        if let Some(conditions) = &request.conditions {
            for condition in conditions {
                if Some(&condition.option) != request.option.as_ref() {
                    if !condition.values.is_empty() {
                        for value in &condition.values {
                            result.push(format_line(&condition.option, value));
                        }
                    } else if request.allow_no_value {
                        result.push(format!("{}\n", condition.option));
                    }
                } else if !request.exclusive {
                    for value in &condition.values {
                        if !values.contains(value) {
                            values.push(value.clone());
                        }
                    }
                }
            }
        }
        match request.option.as_deref() {
            Some(option) if !values.is_empty() => {
                for value in &values {
                    result.push(format_line(option, value));
                }
            }
            Some(option) if request.allow_no_value => result.push(format!("{option}\n")),
            _ => msg = "only section added",
        }
        changed = true;
    }
    (result.concat(), changed, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(section: &str, option: &str, value: &str) -> Request {
        Request {
            section: Some(section.into()),
            conditions: None,
            option: Some(option.into()),
            values: vec![value.into()],
            present: true,
            exclusive: true,
            no_extra_spaces: false,
            ignore_spaces: false,
            allow_no_value: false,
            modify_inactive_option: true,
        }
    }

    #[test]
    fn option_set_in_existing_section() {
        let text = "[main]\ndns=default\n\n[other]\nx = 1\n";
        let (after, changed, msg) = edit(text, &request("main", "dns", "none"));
        assert_eq!(after, "[main]\ndns = none\n\n[other]\nx = 1\n");
        assert!(changed);
        assert_eq!(msg, "option changed");
        let (again, changed, msg) = edit(&after, &request("main", "dns", "none"));
        assert_eq!(again, after);
        assert!(!changed);
        assert_eq!(msg, "OK");
    }

    #[test]
    fn option_added_after_last_setting() {
        let text = "[main]\na = 1\n\n# trailing\n[other]\n";
        let (after, _, msg) = edit(text, &request("main", "b", "2"));
        assert_eq!(after, "[main]\na = 1\nb = 2\n\n# trailing\n[other]\n");
        assert_eq!(msg, "option added");
    }

    #[test]
    fn commented_option_replaced() {
        let (after, _, _) = edit("[main]\n#dns=dnsmasq\n", &request("main", "dns", "none"));
        assert_eq!(after, "[main]\ndns = none\n");
    }

    #[test]
    fn new_file_gets_section() {
        let (after, changed, msg) = edit("", &request("main", "dns", "none"));
        assert_eq!(after, "\n[main]\ndns = none\n");
        assert!(changed);
        assert_eq!(msg, "section and option added");
    }

    #[test]
    fn option_removed() {
        let mut absent = request("main", "dns", "none");
        absent.present = false;
        let (after, changed, _) = edit("[main]\ndns = none\nx = 1\n", &absent);
        assert_eq!(after, "[main]\nx = 1\n");
        assert!(changed);
    }

    #[test]
    fn file_written_with_diff() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conf.d/nm.conf");
        let mut args = Map::new();
        args.insert(Value::from("path"), Value::from(path.display().to_string()));
        args.insert(Value::from("section"), Value::from("main"));
        args.insert(Value::from("option"), Value::from("dns"));
        args.insert(Value::from("value"), Value::from("none"));
        let params = SPEC.validate(&args).unwrap();
        let options = ModuleOptions {
            diff: true,
            ..ModuleOptions::default()
        };
        let result = run(&params, &options);
        assert_eq!(result.get("changed"), Some(&Value::Bool(true)));
        assert_eq!(
            result.get("msg"),
            Some(&Value::from("section and option added"))
        );
        let diff = result.get("diff").and_then(Value::as_map).unwrap();
        assert_eq!(
            diff.get("after"),
            Some(&Value::from("\n[main]\ndns = none\n"))
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "\n[main]\ndns = none\n"
        );
        let again = run(&params, &options);
        assert_eq!(again.get("changed"), Some(&Value::Bool(false)));
    }

    #[test]
    fn option_pattern() {
        let found = match_option("dns", "  ; dns = x y\n", false).unwrap();
        assert_eq!(found.comment, ";");
        assert_eq!(found.value, "x y");
        assert!(match_option("dns", "dnsmasq=1\n", false).is_none());
        assert!(match_option("dns", "#dns=1\n", true).is_none());
        assert_eq!(match_option("dns", "dns\n", false).unwrap().value, "");
    }
}
