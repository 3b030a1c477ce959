//! The `template` lookup: renders files found under `templates/` in the search path.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::value::Value as JValue;

use super::{failure, find_file, read, read_failure, Raised, Request};
use crate::template::convert::to_jinja;
use crate::template::include::{with_templates_dirs, IncludeScope};
use crate::template::native_text::{self, StoredKind};
use crate::template::pyrepr::py_repr;
use crate::template::templar::{is_possibly_template, Typing};
use crate::template::typing::convert_text;
use crate::template::vars::Context;
use crate::template::FileOptions;
use crate::vault::ReadError;
use crate::Value;

/// Ansible's `template` lookup: each term rendered with the delimiters the options set,
/// `{% include %}` searching the file's own directory first, and the result converted
/// back to a native value unless `convert_data` is false.
pub(super) fn template(context: &Arc<Context>, request: &Request) -> Result<Vec<Value>, Raised> {
    let options = file_options(request);
    let convert = request.option("convert_data").is_none_or(JValue::is_true);
    let global_native = context.templar().is_native();
    let native = global_native && request.option("jinja2_native").is_some_and(JValue::is_true);
    // ansible-core marks the text so that native mode never evaluates it.
    let native_text = (global_native && !native) || !convert;
    let mut values = Vec::new();
    for term in request.term_texts() {
        let Some(path) = find_file(context, "templates", &term) else {
            return Err(failure(format!(
                "the template file {term} could not be found for the lookup"
            ))
            .into());
        };
        let source = match read(context, &path) {
            Ok(source) => source,
            Err(ReadError::Io(error)) => return Err(read_failure(&path, &error).into()),
            Err(ReadError::Vault(error)) => return Err(Raised::vault(&error)),
        };
        let _scope = IncludeScope::enter(include_dirs(context, &path));
        let templar = context.templar();
        if native {
            values.push(templar.render_file_typed(context, &source, &options, Typing::Native)?);
            continue;
        }
        let text = templar.render_file_in(context, &source, &options)?;
        // A file without template syntax is returned as it is, never converted.
        let value = if convert && is_possibly_template(&source) {
            convert_text(text)
        } else {
            Value::from(text)
        };
        values.push(if native_text {
            store_native_text(value)
        } else {
            value
        });
    }
    Ok(values)
}

/// Ansible's `NativeJinjaText(result)`: the text of a string, the `repr` of a converted
/// value.
fn store_native_text(value: Value) -> Value {
    let text = match value.as_str() {
        Some(text) => text.to_owned(),
        None => py_repr(&to_jinja(&value)).unwrap_or_default(),
    };
    native_text::store(&text, StoredKind::NativeText)
}

/// Builds the rendering settings from the lookup's options.
fn file_options(request: &Request) -> FileOptions {
    let defaults = FileOptions::default();
    let text = |name: &str, default: &str| {
        request
            .option(name)
            .and_then(JValue::as_str)
            .map_or_else(|| default.to_owned(), str::to_owned)
    };
    FileOptions {
        trim_blocks: request.option("trim_blocks").is_none_or(JValue::is_true),
        variable: (
            text("variable_start_string", &defaults.variable.0),
            text("variable_end_string", &defaults.variable.1),
        ),
        comment: (
            text("comment_start_string", &defaults.comment.0),
            text("comment_end_string", &defaults.comment.1),
        ),
        ..defaults
    }
}

/// Builds the include search path of ansible-core's template lookup: the template's directory,
/// then `DIR/templates` and `DIR` for each entry of `ansible_search_path`.
fn include_dirs(context: &Context, template: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = template
        .parent()
        .map(Path::to_path_buf)
        .into_iter()
        .collect();
    if let Some(Value::List(paths)) = context.raw("ansible_search_path") {
        let entries = paths.iter().filter_map(Value::as_str).map(PathBuf::from);
        dirs.extend(with_templates_dirs(entries));
    }
    dirs
}
