//! The `template` lookup: renders files found under `templates/` in the search path.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::value::Value as JValue;

use super::{failure, find_file, read, Request};
use crate::template::error::TemplateError;
use crate::template::include::{with_templates_dirs, IncludeScope};
use crate::template::vars::Context;
use crate::template::FileOptions;
use crate::Value;

/// Ansible's `template` lookup: each term rendered with the delimiters the options set,
/// `{% include %}` searching the file's own directory first, and the result converted
/// back to a native value unless `convert_data` is false.
pub(super) fn template(
    context: &Arc<Context>,
    request: &Request,
) -> Result<Vec<Value>, TemplateError> {
    let options = file_options(request);
    let convert = request.option("convert_data").is_none_or(JValue::is_true);
    let mut values = Vec::new();
    for term in request.term_texts() {
        let Some(path) = find_file(context, "templates", &term) else {
            return Err(failure(format!(
                "the template file {term} could not be found for the lookup"
            )));
        };
        let source = read(context, &path)?;
        let _scope = IncludeScope::enter(include_dirs(context, &path));
        let text = context
            .templar()
            .render_file_in(context, &source, &options)?;
        values.push(if convert {
            crate::template::typing::convert_text(text)
        } else {
            Value::from(text)
        });
    }
    Ok(values)
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
