//! The controller side of the `assemble` action. With `remote_src` (the default) the
//! module assembles on the target. Otherwise the fragments are found and joined on the
//! controller, as ansible-core's action plugin does, and the module installs the file.

use super::actions::{ActionOutcome, Target};
use super::context::TaskContext;
use super::Executor;
use crate::playbook::value_text;
use crate::vars::HostVars;
use crate::{Map, Value};
use rplay_modules::assemble::{DelimiterNewline, FragmentOptions, ASSEMBLED, ASSEMBLED_PATH};
use rplay_modules::dispatch::ModuleOptions;

/// Runs `assemble` for one host.
pub(super) fn assemble(
    executor: &Executor<'_>,
    context: &TaskContext,
    target: &Target,
    args: &Map,
    vars: &HostVars,
    options: &ModuleOptions,
) -> ActionOutcome {
    let result = match assemble_args(executor, context, args, options) {
        Ok(module_args) => executor.run_module_on(target, "assemble", &module_args, options, vars),
        Err(result) => result,
    };
    ActionOutcome {
        result,
        effects: Vec::new(),
    }
}

/// Returns the module's arguments, with the assembled file attached when the fragments
/// are on the controller, or the action's own result (a skip or a failure).
fn assemble_args(
    executor: &Executor<'_>,
    context: &TaskContext,
    args: &Map,
    options: &ModuleOptions,
) -> Result<Map, Map> {
    if options.check_mode {
        let mut skipped = Map::new();
        skipped.insert(Value::from("changed"), Value::Bool(false));
        skipped.insert(Value::from("skipped"), Value::Bool(true));
        skipped.insert(
            Value::from("msg"),
            Value::from("This action (assemble) does not support check mode."),
        );
        // ansible-core raises the skip, so the task's result gets no `failed` key.
        skipped.insert(Value::from(super::actions::RAISED), Value::Bool(true));
        return Err(skipped);
    }

    let mut args = args.clone();
    // The action takes `decrypt` out of the module's arguments.
    let decrypt = args
        .shift_remove("decrypt")
        .is_none_or(|value| rplay_modules::spec::to_bool(&value).unwrap_or(false))
        .then(|| executor.templar.vault_secrets());
    let text = |key: &str| {
        args.get(key)
            .filter(|value| !value.is_null())
            .map(value_text)
    };
    let (Some(src), Some(_)) = (text("src"), text("dest")) else {
        return Err(super::actions::action_fail_result(
            "src and dest are required".into(),
        ));
    };
    // ansible-core reads `remote_src` with its loose boolean rules: anything it does not
    // know as true is false.
    let remote_src = args
        .get("remote_src")
        .is_none_or(|value| rplay_modules::spec::to_bool(value).unwrap_or(false));
    if remote_src {
        return Ok(args);
    }

    let path = executor
        .find_needle(context, "files", &src)
        .ok_or_else(|| {
            super::copy_action::not_found_result(
                &src,
                &executor.needle_candidates(context, "files", &src),
            )
        })?;
    if !path.is_dir() {
        return Err(super::actions::failed_result(format!(
            "Source ({}) is not a directory",
            path.display()
        )));
    }
    let regexp = match text("regexp") {
        Some(pattern) => Some(
            rplay_modules::pyregex::compile(&pattern, false)
                .map_err(|err| super::actions::failed_result(err.to_string()))?,
        ),
        None => None,
    };

    let delimiter = text("delimiter");
    let fragments = FragmentOptions {
        delimiter: delimiter.as_deref(),
        regexp: regexp.as_ref(),
        ignore_hidden: args
            .get("ignore_hidden")
            .is_some_and(|value| rplay_modules::spec::to_bool(value).unwrap_or(false)),
        delimiter_newline: DelimiterNewline::Always,
    };
    let data = rplay_modules::assemble::assemble_fragments(&path, &fragments, |fragment| {
        super::copy_action::read_source_file(fragment, decrypt)
            .map(|file| file.data)
            .map_err(ReadError::Result)
    })
    .map_err(|err| match err {
        ReadError::Result(result) => result,
        ReadError::Io(err) => super::actions::failed_result(err.to_string()),
    })?;

    use base64::Engine as _;
    args.insert(
        Value::from(ASSEMBLED),
        Value::from(base64::engine::general_purpose::STANDARD.encode(&data)),
    );
    // The diff header shows the controller file ansible-core assembles into.
    args.insert(
        Value::from(ASSEMBLED_PATH),
        Value::from(super::copy_action::local_tmp_path()),
    );
    Ok(args)
}

/// A fragment that could not be read: the failed result to report, or an I/O error.
enum ReadError {
    Result(Map),
    Io(std::io::Error),
}

impl From<std::io::Error> for ReadError {
    fn from(err: std::io::Error) -> ReadError {
        ReadError::Io(err)
    }
}
