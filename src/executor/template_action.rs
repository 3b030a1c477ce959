//! The controller side of the `template` action: find and render the template with the
//! task's variables, then hand the text to `copy`, as ansible-core's template action
//! hands its rendered file to the copy action.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::actions::{ActionOutcome, Target, RAISED};
use super::context::TaskContext;
use super::Executor;
use crate::playbook::value_text;
use crate::template::{
    local_datetime_text, with_templates_dirs, FileOptions, IncludeScope, TemplateError,
    TemplateErrorKind, Variables,
};
use crate::vars::HostVars;
use crate::{Map, Value};
use rplay_modules::dispatch::ModuleOptions;

/// Options the action consumes; the rest go on to `copy`.
const TEMPLATE_OPTIONS: &[&str] = &[
    "newline_sequence",
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "trim_blocks",
    "lstrip_blocks",
    "output_encoding",
];

/// ansible-core's default `ansible_managed` text (the `DEFAULT_MANAGED_STR` setting).
///
/// NOTE: the `ansible_managed` setting of `ansible.cfg` is not read yet.
const MANAGED_TEXT: &str = "Ansible managed";

impl Executor<'_> {
    /// Renders the task's template and returns the arguments for `copy`, or the
    /// message of a failure (an `AnsibleActionFail` in ansible-core).
    pub(super) fn template_copy_args(
        &self,
        context: &TaskContext,
        args: &Map,
        vars: &HostVars,
    ) -> Result<Map, TemplateActionFailure> {
        let text = |key: &str| args.get(key).map(value_text);
        let flag = |key: &str, default: bool| {
            args.get(key)
                .map(|value| rplay_modules::spec::to_bool(value).unwrap_or(false))
                .unwrap_or(default)
        };
        if args.contains_key("state") {
            return Err("'state' cannot be specified on a template".into());
        }
        let (Some(src), Some(dest)) = (text("src"), text("dest")) else {
            return Err("src and dest are required".into());
        };
        let newline_sequence = match text("newline_sequence").as_deref() {
            None | Some("\n" | "\\n") => "\n",
            Some("\r" | "\\r") => "\r",
            Some("\r\n" | "\\r\\n") => "\r\n",
            Some(_) => return Err("newline_sequence needs to be one of: \n, \r or \r\n".into()),
        };
        let path = self.find_needle(context, "templates", &src).ok_or_else(|| {
            format!("Could not find or access '{src}'\nSearched in the role's and the playbook's templates directories")
        })?;
        let source = std::fs::read(&path)
            .map_err(|err| format!("could not find src={}, {err}", path.display()))?;
        let source = self
            .templar
            .vault_secrets()
            .decrypt_real_file(source, &path)
            .map_err(|error| TemplateActionFailure {
                message: error.to_string(),
                exception: None,
                raised: true,
            })?;
        let source = String::from_utf8(source)
            .map_err(|_| "Template source files must be utf-8 encoded".to_string())?;
        let defaults = FileOptions::default();
        let delimiters = |start: &str, end: &str, default: &(String, String)| {
            (
                text(start).unwrap_or_else(|| default.0.clone()),
                text(end).unwrap_or_else(|| default.1.clone()),
            )
        };
        let options = FileOptions {
            trim_blocks: flag("trim_blocks", true),
            lstrip_blocks: flag("lstrip_blocks", false),
            newline_sequence: newline_sequence.to_string(),
            block: delimiters("block_start_string", "block_end_string", &defaults.block),
            variable: delimiters(
                "variable_start_string",
                "variable_end_string",
                &defaults.variable,
            ),
            comment: delimiters(
                "comment_start_string",
                "comment_end_string",
                &defaults.comment,
            ),
        };
        let overlay = TemplateVars {
            vars: vars.clone(),
            extra: template_vars(&src, &path, &dest),
        };
        let _includes = IncludeScope::enter(self.include_dirs(context, &path));
        let rendered = self
            .templar
            .render_file(&source, &overlay, &options)
            .map_err(render_failure)?;

        let mut copy_args: Map = args
            .iter()
            .filter(|(key, _)| {
                !key.as_str()
                    .is_some_and(|key| TEMPLATE_OPTIONS.contains(&key))
            })
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        let basename = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if text("mode").as_deref() == Some("preserve") {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map(|meta| format!("0{:03o}", meta.permissions().mode() & 0o7777))
                .unwrap_or_default();
            copy_args.insert(Value::from("mode"), Value::from(mode));
        }
        copy_args.insert(Value::from("src"), Value::from(basename.as_str()));
        copy_args.insert(Value::from("dest"), Value::from(dest));
        copy_args.insert(Value::from("follow"), Value::Bool(flag("follow", false)));
        copy_args.insert(Value::from("_original_basename"), Value::from(basename));
        let rendered_path = local_tmp_path(&path);
        rplay_modules::copy::attach_source(
            &mut copy_args,
            rendered.as_bytes(),
            &rendered_path,
            None,
        );
        Ok(copy_args)
    }
}

/// The path of the file ansible-core writes the rendered template to
/// (`~/.ansible/tmp/ansible-local-PIDRANDOM/tmpRANDOM/NAME`), which the diff header
/// shows.
///
/// NOTE: rplay renders in memory; no file exists at this path.
fn local_tmp_path(template: &Path) -> std::path::PathBuf {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".to_string());
    let name = template.file_name().unwrap_or_default();
    Path::new(&home)
        .join(".ansible/tmp")
        .join(format!(
            "ansible-local-{}{}",
            std::process::id(),
            rplay_modules::files::random_name(8)
        ))
        .join(format!("tmp{}", rplay_modules::files::random_name(8)))
        .join(name)
}

impl Executor<'_> {
    /// Builds the include search path of ansible-core's `template` action: `DIR/templates` and
    /// `DIR` for each entry of `ansible_search_path`, the playbook's directory and the
    /// template's own directory.
    fn include_dirs(&self, context: &TaskContext, template: &Path) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = match context.layers.magic.get("ansible_search_path") {
            Some(Value::List(paths)) => paths
                .iter()
                .filter_map(Value::as_str)
                .map(PathBuf::from)
                .collect(),
            _ => Vec::new(),
        };
        dirs.push(self.playbook_dir.clone());
        dirs.extend(template.parent().map(Path::to_path_buf));
        with_templates_dirs(dirs)
    }
}

/// The message of a failed `template` task, and the traceback ansible-core adds when
/// the failure was an exception raised while rendering.
pub(super) struct TemplateActionFailure {
    message: String,
    exception: Option<String>,
    /// Whether the action raised an error it did not word, such as the loader's vault
    /// error: the task executor reports only its message, without `changed`.
    raised: bool,
}

impl From<String> for TemplateActionFailure {
    fn from(message: String) -> Self {
        TemplateActionFailure {
            message,
            exception: None,
            raised: false,
        }
    }
}

impl From<&str> for TemplateActionFailure {
    fn from(message: &str) -> Self {
        TemplateActionFailure::from(message.to_owned())
    }
}

/// Words a rendering failure as ansible-core's `template` action does: the exception's
/// class name before its message, and the exception as the result's traceback.
fn render_failure(error: TemplateError) -> TemplateActionFailure {
    let (module, class) = match error.kind {
        TemplateErrorKind::Undefined => ("ansible.errors", "AnsibleUndefinedVariable"),
        TemplateErrorKind::RuntimeSyntax => ("jinja2.exceptions", "TemplateSyntaxError"),
        TemplateErrorKind::TemplateNotFound => ("jinja2.exceptions", "TemplateNotFound"),
        _ => ("ansible.errors", "AnsibleError"),
    };
    // NOTE: only the exception's own line of the traceback is reproduced, which is the
    // line the default callback shows below `-vvv`.
    let text = error.exception_text();
    TemplateActionFailure {
        message: format!("{class}: {text}"),
        exception: Some(format!(
            "Traceback (most recent call last):\n{module}.{class}: {text}\n"
        )),
        raised: false,
    }
}

/// Runs `template`: renders on the controller, then runs `copy` on the target.
pub(super) fn template(
    executor: &Executor<'_>,
    context: &TaskContext,
    target: &Target,
    args: &Map,
    vars: &HostVars,
    options: &ModuleOptions,
) -> ActionOutcome {
    let result = match executor.template_copy_args(context, args, vars) {
        Ok(copy_args) => executor.run_module_on(target, "copy", &copy_args, options, vars),
        Err(failure) => {
            let mut result = Map::new();
            result.insert(Value::from("failed"), Value::Bool(true));
            result.insert(Value::from("msg"), Value::from(failure.message));
            if let Some(exception) = failure.exception {
                result.insert(Value::from("exception"), Value::from(exception));
            }
            if failure.raised {
                result.insert(Value::from(RAISED), Value::Bool(true));
            }
            result
        }
    };
    ActionOutcome {
        result,
        effects: Vec::new(),
    }
}

/// The variables ansible-core adds for a template: `template_host`, `template_path`,
/// `template_uid`, `template_fullpath`, `template_destpath`, `template_mtime`,
/// `template_run_date` and `ansible_managed`.
///
/// NOTE: `template_mtime` and `template_run_date` are the text of ansible-core's Python
/// datetimes, so they print the same but have no attributes (`.year`) or methods.
fn template_vars(src: &str, path: &Path, dest: &str) -> Map {
    use std::os::unix::fs::MetadataExt;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_default();
    let uid = std::fs::metadata(path)
        .map(|meta| rplay_modules::files::user_name(meta.uid()))
        .unwrap_or_default();
    let fullpath = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mtime = std::fs::metadata(path)
        .and_then(|meta| meta.modified())
        .map(local_datetime_text)
        .unwrap_or_default();
    let run_date = local_datetime_text(std::time::SystemTime::now());
    [
        ("template_host", host),
        ("template_path", src.to_string()),
        ("template_uid", uid),
        ("template_fullpath", fullpath.display().to_string()),
        ("template_destpath", dest.to_string()),
        ("template_mtime", mtime),
        ("template_run_date", run_date),
        ("ansible_managed", MANAGED_TEXT.to_string()),
    ]
    .into_iter()
    .map(|(key, value)| (Value::from(key), Value::unsafe_str(value)))
    .collect()
}

/// The task's variables with the template variables on top.
struct TemplateVars {
    vars: HostVars,
    extra: Map,
}

impl Variables for TemplateVars {
    fn get(&self, name: &str) -> Option<Value> {
        self.extra
            .get(name)
            .cloned()
            .or_else(|| self.vars.get(name))
    }

    fn names(&self) -> Vec<String> {
        let mut names = self.vars.names();
        names.extend(self.extra.keys().map(value_text));
        names
    }

    fn host(&self, name: &str) -> Option<Arc<dyn Variables>> {
        self.vars.host(name)
    }

    fn hosts(&self) -> Vec<String> {
        self.vars.hosts()
    }
}
