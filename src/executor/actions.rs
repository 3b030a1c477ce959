//! Actions that run on the controller (`debug`, `set_fact`, `assert`, `fail`, `meta`,
//! `group_by`, `add_host`, `include_vars`, `include_*`), and the dispatch to modules.

use std::path::{Path, PathBuf};

use super::context::TaskContext;
use super::Executor;
use crate::playbook::value_text;
use crate::vars::HostVars;
use crate::{Map, Value};
use rplay_modules::dispatch::ModuleOptions;
use rplay_modules::unarchive::ActionError;

/// An action's result, and the work it leaves to the strategy.
#[derive(Debug, Default)]
pub struct ActionOutcome {
    pub result: Map,
    pub effects: Vec<Effect>,
}

/// Work an action leaves to the strategy, which owns the inventory, the iterator and
/// the handlers.
#[derive(Debug, Clone)]
pub enum Effect {
    /// `include_tasks` or `include_role` for this host.
    Include(IncludeRequest),
    GroupBy {
        group: String,
        parents: Vec<String>,
    },
    AddHost {
        name: String,
        groups: Vec<String>,
        vars: Map,
    },
    /// `set_fact`: variables for the host; `cacheable` ones become facts.
    SetFact {
        facts: Map,
        cacheable: bool,
    },
    /// `include_vars`: variables at include_vars precedence.
    IncludeVars(Map),
    /// Facts a module returned in `ansible_facts`.
    Facts(Map),
}

#[derive(Debug, Clone)]
pub struct IncludeRequest {
    pub role: bool,
    /// The tasks file, or the role name.
    pub target: String,
    /// Remaining arguments: `tasks_from`, `apply`, `public`...
    pub args: Map,
    /// The loop variables of the item that included the file, passed to its tasks.
    pub item_vars: Map,
    /// The item's label for the `included:` line.
    pub item_label: Option<Value>,
}

/// Runs the task's action with templated `args`.
pub fn run(
    executor: &Executor<'_>,
    context: &TaskContext,
    host: &str,
    args: &Map,
    vars: &HostVars,
) -> ActionOutcome {
    let action = context.task.short_action();
    if let Err(message) = check_async_support(executor, context, vars) {
        return ActionOutcome {
            result: action_fail_result(message),
            effects: Vec::new(),
        };
    }
    if let Err(message) = validate_args(action, &context.task.action, args) {
        return ActionOutcome {
            result: action_fail_result(message),
            effects: Vec::new(),
        };
    }
    let outcome = match action {
        "debug" => debug(executor, args, vars),
        "set_fact" => set_fact(executor, args, vars),
        "assert" => assert(executor, context, args, vars),
        "fail" => fail(args),
        "group_by" => group_by(args),
        // The action raises `AnsibleActionFail` for bad arguments.
        "add_host" => add_host(args).or_else(|message| {
            Ok(ActionOutcome {
                result: action_fail_result(message),
                effects: Vec::new(),
            })
        }),
        "include_vars" => Ok(super::include_vars_action::include_vars(
            executor, context, args, vars,
        )),
        "include_tasks" => include(args, false),
        "include_role" => include(args, true),
        "raw" => raw(executor, context, host, args, vars),
        "script" => Ok(super::script_action::script(
            executor, context, host, args, vars,
        )),
        "gather_facts" => gather_facts(executor, context, host, args, vars),
        "validate_argument_spec" => validate_argument_spec(args),
        "pause" => Ok(super::pause_action::pause(executor, args)),
        "fetch" => executor.module_options(context, vars).and_then(|options| {
            let target = executor.target(context, host, vars)?;
            Ok(super::fetch_action::fetch(
                executor, &target, host, args, vars, &options,
            ))
        }),
        "assemble" => executor.module_options(context, vars).and_then(|options| {
            let target = executor.target(context, host, vars)?;
            Ok(super::assemble_action::assemble(
                executor, context, &target, args, vars, &options,
            ))
        }),
        "template" => executor.module_options(context, vars).and_then(|options| {
            let target = executor.target(context, host, vars)?;
            Ok(super::template_action::template(
                executor, context, &target, args, vars, &options,
            ))
        }),
        "synchronize" | "ansible.posix.synchronize" => {
            super::synchronize_action::synchronize(executor, context, host, args, vars)
        }
        module_name if rplay_modules::dispatch::MODULES.contains(&module_name) => {
            module(executor, context, host, module_name, args, vars)
        }
        other => Err(format!(
            "rplay cannot run the action '{other}' yet; it runs the controller-side actions, raw and the modules {}",
            rplay_modules::dispatch::MODULES.join(", ")
        )),
    };
    match outcome {
        Ok(outcome) => outcome,
        Err(message) => ActionOutcome {
            result: failed_result(message),
            effects: Vec::new(),
        },
    }
}

/// Tells whether the task gathers facts (`setup` or `gather_facts`).
fn is_fact_gathering(context: &TaskContext) -> bool {
    matches!(context.task.short_action(), "setup" | "gather_facts")
}

/// Fails a task with `async` whose action plugin does not accept it, as ansible-core's
/// `ActionBase.run` does before anything else.
fn check_async_support(
    executor: &Executor<'_>,
    context: &TaskContext,
    vars: &HostVars,
) -> Result<(), String> {
    let action = context.task.short_action();
    if super::async_action::supports_async(action) {
        return Ok(());
    }
    match executor.async_settings(context, vars)? {
        Some(_) => Err(format!(
            "This action ({}) does not support async.",
            context.task.action
        )),
        None => Ok(()),
    }
}

/// Returns whether the task's action runs on the controller alone and never reaches a target,
/// so that running it for several hosts at once would gain nothing.
pub fn stays_on_controller(context: &TaskContext) -> bool {
    matches!(
        context.task.short_action(),
        "debug"
            | "set_fact"
            | "assert"
            | "fail"
            | "group_by"
            | "add_host"
            | "include_vars"
            | "include_tasks"
            | "include_role"
            | "validate_argument_spec"
            | "pause"
    )
}

/// A failure ansible-core reports from an exception the action raised: unlike a failed
/// result, it carries no `changed` key.
fn raised(message: String) -> ActionOutcome {
    let mut result = failed_result(message);
    result.insert(Value::from(RAISED), Value::Bool(true));
    ActionOutcome {
        result,
        effects: Vec::new(),
    }
}

pub use rplay_modules::dispatch::RAISED;

pub(super) fn failed_result(message: String) -> Map {
    let mut result = Map::new();
    result.insert(Value::from("failed"), Value::Bool(true));
    result.insert(Value::from("msg"), Value::from(message));
    result
}

/// The result of an action plugin that raised `AnsibleActionFail`: ansible-core adds
/// the traceback of no exception, which the default callback prints as
/// `An exception occurred during task execution. ... The error was: NoneType: None`.
pub(super) fn action_fail_result(message: String) -> Map {
    let mut result = failed_result(message);
    result.insert(Value::from("exception"), Value::from("NoneType: None\n"));
    result
}

/// Checks the arguments of the controller-side actions as their ansible-core action
/// plugins do before running: `debug` with its argument spec, the others against their
/// list of valid options. `written` is the action as the task names it.
fn validate_args(action: &str, written: &str, args: &Map) -> Result<(), String> {
    let valid: &[&str] = match action {
        "debug" => {
            check_args("debug", args, &["msg", "var", "verbosity"])?;
            if args.contains_key("msg") && args.contains_key("var") {
                return Err("parameters are mutually exclusive: msg|var".into());
            }
            return Ok(());
        }
        // The shell action runs the command module but rejects its `command`-only option.
        "shell" if args.contains_key("expand_argument_vars") => {
            return Err(format!(
                "Unsupported parameters for ({written}) module: expand_argument_vars"
            ));
        }
        "fail" => &["msg"],
        "assert" => &["that", "msg", "fail_msg", "success_msg", "quiet"],
        "group_by" => &["key", "parents"],
        _ => return Ok(()),
    };
    let invalid: Vec<String> = args
        .keys()
        .map(value_text)
        .filter(|key| !valid.contains(&key.as_str()))
        .collect();
    if invalid.is_empty() {
        return Ok(());
    }
    // NOTE: ansible-core joins several invalid options in Python set order, which
    // varies between runs; rplay keeps the order they were written in.
    Err(format!(
        "Invalid options for {written}: {}",
        invalid.join(",")
    ))
}

fn ok(result: Map) -> Result<ActionOutcome, String> {
    Ok(ActionOutcome {
        result,
        effects: Vec::new(),
    })
}

fn arg<'a>(args: &'a Map, name: &str) -> Option<&'a Value> {
    args.get(name)
}

fn check_args(action: &str, args: &Map, allowed: &[&str]) -> Result<(), String> {
    let mut unknown: Vec<String> = args
        .keys()
        .filter_map(Value::as_str)
        .filter(|key| !allowed.contains(key) && !key.starts_with('_'))
        .map(str::to_string)
        .collect();
    unknown.sort();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(format!(
        "Unsupported parameters for ({action}) module: {}. Supported parameters include: {}.",
        unknown.join(", "),
        allowed.join(", ")
    ))
}

fn debug(executor: &Executor<'_>, args: &Map, vars: &HostVars) -> Result<ActionOutcome, String> {
    // `k=v` arguments give the verbosity as text.
    let verbosity = arg(args, "verbosity")
        .and_then(|value| {
            value
                .as_i64()
                .or_else(|| value_text(value).trim().parse().ok())
        })
        .unwrap_or(0);
    let mut result = Map::new();
    if verbosity > i64::from(executor.options.verbosity) {
        result.insert(
            Value::from("skipped_reason"),
            Value::from("Verbosity threshold not met."),
        );
        result.insert(Value::from("skipped"), Value::Bool(true));
        return ok(result);
    }
    match arg(args, "var") {
        Some(var) => {
            let name = value_text(var);
            // ansible-core templates the name, and when the result equals the name it
            // templates `"{{" + result + "}}"` again. An unsafe result (or name) makes
            // that text unsafe, so it is shown as it is.
            let templated = match var {
                Value::Unsafe(_) => Ok(Value::unsafe_str(format!("{{{{{name}}}}}"))),
                _ => executor
                    .templar
                    .template_str(&format!("{{{{{name}}}}}"), vars)
                    .map(|value| match value {
                        Value::Unsafe(text) if *text == *name => {
                            Value::unsafe_str(format!("{{{{{name}}}}}"))
                        }
                        other => other,
                    }),
            };
            // ansible-core catches only undefined-variable errors here; any other
            // template error fails the task with its message.
            let value = match templated {
                Ok(value) => value,
                Err(err) if !err.is_undefined() => return Err(err.to_string()),
                Err(err) => {
                    let mut text = "VARIABLE IS NOT DEFINED!".to_string();
                    if executor.options.verbosity > 0 {
                        text.push_str(&format!(": {err}"));
                    }
                    Value::from(text)
                }
            };
            let key = match var {
                Value::List(_) => Value::from("<class 'list'>"),
                Value::Map(_) => Value::from("<class 'dict'>"),
                other => Value::from(value_text(other)),
            };
            result.insert(key, value);
        }
        None => {
            let message = arg(args, "msg")
                .cloned()
                .unwrap_or_else(|| Value::from("Hello world!"));
            result.insert(Value::from("msg"), message);
        }
    }
    result.insert(Value::from("_ansible_verbose_always"), Value::Bool(true));
    result.insert(Value::from("failed"), Value::Bool(false));
    ok(result)
}

fn set_fact(executor: &Executor<'_>, args: &Map, vars: &HostVars) -> Result<ActionOutcome, String> {
    let mut facts = Map::new();
    let mut cacheable = false;
    for (key, value) in args {
        // Task arguments are templated without their keys, so the action templates
        // the variable names itself, as ansible-core's set_fact does.
        let name = executor
            .templar
            .template(key, vars)
            .map_err(|err| err.to_string())?;
        let key = &Value::from(rplay_modules::pyrepr::str(&name));
        let name = key.as_str().unwrap_or_default();
        if name == "cacheable" {
            cacheable = super::task::truthy_keyword(value);
            continue;
        }
        if !is_identifier(name) {
            return Err(format!(
                "The variable name '{name}' is not valid. Variables must start with a letter or underscore character, and contain only letters, numbers and underscores."
            ));
        }
        // ansible-core 2.18 turns the strings true/false/yes/no into booleans here,
        // unless templates return native types.
        let text = value.as_str().filter(|_| !executor.templar.is_native());
        let value = match text.map(str::to_ascii_lowercase).as_deref() {
            Some("true" | "yes") => Value::Bool(true),
            Some("false" | "no") => Value::Bool(false),
            _ => value.clone(),
        };
        facts.insert(key.clone(), value);
    }
    if facts.is_empty() {
        return Err(
            "No key/value pairs provided, at least one is required for this action to succeed"
                .into(),
        );
    }
    let mut result = Map::new();
    result.insert(Value::from("ansible_facts"), Value::map(facts.clone()));
    result.insert(
        Value::from("_ansible_facts_cacheable"),
        Value::Bool(cacheable),
    );
    result.insert(Value::from("changed"), Value::Bool(false));
    Ok(ActionOutcome {
        result,
        effects: vec![Effect::SetFact { facts, cacheable }],
    })
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn assert(
    executor: &Executor<'_>,
    context: &TaskContext,
    args: &Map,
    vars: &HostVars,
) -> Result<ActionOutcome, String> {
    // As ansible-core, `that` is read as written: a string is templated once, and list
    // items are evaluated as conditionals, so a `{{ }}` inside one is warned about.
    let that = match context.task.args.get("that") {
        Some(raw @ (Value::Str(_) | Value::Unsafe(_))) => executor
            .templar
            .template(raw, vars)
            .map_err(|err| assert_error(executor, context, 0, &err)),
        Some(raw) => Ok(raw.clone()),
        None => arg(args, "that")
            .cloned()
            .ok_or_else(|| "conditional required in \"that\" string".to_owned()),
    };
    let that = match that {
        Ok(that) => that,
        Err(message) => return Ok(raised(message)),
    };
    let conditions = match that {
        Value::List(items) => items.to_vec(),
        other => vec![other],
    };
    let quiet = arg(args, "quiet").is_some_and(super::task::truthy_keyword);
    let mut result = Map::new();
    if !quiet {
        result.insert(Value::from("_ansible_verbose_always"), Value::Bool(true));
    }
    for (index, condition) in conditions.iter().enumerate() {
        let location = assert_condition_location(executor, context, index, condition);
        let checked = executor
            .templar
            .check_conditional(condition, vars, location.as_deref());
        let holds = match checked {
            Ok(outcome) => {
                executor.emit_conditional_warnings(&outcome.warnings);
                outcome.result
            }
            Err(failure) => {
                executor.emit_conditional_warnings(&failure.warnings);
                return Ok(raised(assert_error(
                    executor,
                    context,
                    index,
                    &failure.error,
                )));
            }
        };
        if !holds {
            let message = arg(args, "fail_msg")
                .or_else(|| arg(args, "msg"))
                .cloned()
                .unwrap_or_else(|| Value::from("Assertion failed"));
            result.insert(Value::from("failed"), Value::Bool(true));
            result.insert(Value::from("evaluated_to"), Value::Bool(false));
            result.insert(Value::from("assertion"), condition.clone());
            result.insert(Value::from("msg"), message);
            return ok(result);
        }
    }
    result.insert(Value::from("changed"), Value::Bool(false));
    let message = arg(args, "success_msg")
        .cloned()
        .unwrap_or_else(|| Value::from("All assertions passed"));
    result.insert(Value::from("msg"), message);
    ok(result)
}

/// Builds the message for an `assert` condition that could not be evaluated: the
/// templating layer's message, located at the condition as ansible-core locates it.
/// Returns where the deprecation of a non-boolean result places an assert's condition:
/// at the condition when YAML read it as text. ansible-core's assert has no task to
/// fall back to, so other conditions are quoted instead.
fn assert_condition_location(
    executor: &Executor<'_>,
    context: &TaskContext,
    index: usize,
    condition: &Value,
) -> Option<String> {
    condition.as_str()?;
    let that = executor.loader.action_arg(&context.task.span, "that")?;
    let node = match that.as_seq() {
        Some(items) => items.get(index)?,
        None => that,
    };
    node.as_str()?;
    let span = &node.span;
    Some(format!(
        "location {} {}:{}",
        span.path().display(),
        span.line,
        span.column
    ))
}

fn assert_error(
    executor: &Executor<'_>,
    context: &TaskContext,
    index: usize,
    error: &crate::template::TemplateError,
) -> String {
    let message = &error.message;
    let that = executor.loader.action_arg(&context.task.span, "that");
    let node = match that.and_then(|node| node.as_seq()) {
        Some(items) => items.get(index),
        None => that,
    };
    let Some(node) = node else {
        return message.to_string();
    };
    let details = crate::source::ansible_position_details(&node.span);
    if error.kind != crate::template::TemplateErrorKind::BrokenConditional {
        return format!("{message}\n\n{details}");
    }
    // ansible-core locates a rejected non-boolean result through the condition's text,
    // twice, and not at all for a condition that YAML did not read as text.
    match node.as_str() {
        Some(_) => format!("{message}\n\n{details}\n\n{details}"),
        None => message.to_string(),
    }
}

fn fail(args: &Map) -> Result<ActionOutcome, String> {
    let message = arg(args, "msg")
        .cloned()
        .unwrap_or_else(|| Value::from("Failed as requested from task"));
    let mut result = Map::new();
    result.insert(Value::from("failed"), Value::Bool(true));
    result.insert(Value::from("msg"), message);
    ok(result)
}

fn group_by(args: &Map) -> Result<ActionOutcome, String> {
    let key = arg(args, "key")
        .map(value_text)
        .ok_or("the 'key' param is required when using group_by")?;
    let group = key.replace(' ', "-");
    let parents: Vec<String> = match arg(args, "parents") {
        Some(Value::List(items)) => items.iter().map(value_text).collect(),
        Some(other) => vec![value_text(other)],
        None => vec!["all".to_string()],
    }
    .into_iter()
    .map(|p| p.replace(' ', "-"))
    .collect();
    let mut result = Map::new();
    result.insert(Value::from("changed"), Value::Bool(false));
    result.insert(Value::from("add_group"), Value::from(group.clone()));
    result.insert(
        Value::from("parent_groups"),
        Value::list(parents.iter().map(|p| Value::from(p.as_str())).collect()),
    );
    Ok(ActionOutcome {
        result,
        effects: vec![Effect::GroupBy { group, parents }],
    })
}

fn add_host(args: &Map) -> Result<ActionOutcome, String> {
    // Free-form arguments must be a mapping; the task's own arguments win over it.
    let mut args = args.clone();
    let mut merged = match args.shift_remove("_raw_params") {
        None => Map::new(),
        Some(Value::Map(raw)) => std::sync::Arc::unwrap_or_clone(raw),
        Some(other) => {
            return Err(format!(
                "Invalid raw parameters passed, requires a dictionary/mapping got a  {}",
                python_class(&other)
            ))
        }
    };
    merged.extend(args);
    let args = merged;
    let given = ["name", "hostname", "host"]
        .iter()
        .find_map(|key| args.get(*key))
        .filter(|value| !value.is_null())
        .map(value_text)
        .ok_or("name, host or hostname needs to be provided")?;
    let mut vars: Map = args
        .iter()
        .filter(|(key, _)| {
            !matches!(
                key.as_str(),
                Some("name" | "hostname" | "groupname" | "groups")
            )
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let name = match crate::inventory::address::parse_address(&given, false) {
        Some((name, port)) => {
            if let Some(port) = port {
                vars.insert(Value::from("ansible_ssh_port"), Value::Int(port));
            }
            name
        }
        None => given,
    };
    let groups_value = ["groupname", "groups", "group"]
        .iter()
        .find_map(|key| args.get(*key));
    let mut groups: Vec<String> = Vec::new();
    let listed: Vec<String> = match groups_value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::List(items)) => items.iter().map(value_text).collect(),
        Some(value @ (Value::Str(_) | Value::Unsafe(_))) => {
            value_text(value).split(',').map(str::to_string).collect()
        }
        Some(value) if !value.is_truthy() => Vec::new(),
        Some(_) => return Err("Groups must be specified as a list.".to_string()),
    };
    for group in listed {
        // ansible-core checks for duplicates before it strips, so " a" after "a" adds "a" twice.
        if !groups.contains(&group) {
            groups.push(group.trim().to_string());
        }
    }
    let mut details = Map::new();
    details.insert(Value::from("host_name"), Value::from(name.clone()));
    details.insert(
        Value::from("groups"),
        Value::list(groups.iter().map(|g| Value::from(g.as_str())).collect()),
    );
    details.insert(Value::from("host_vars"), Value::map(vars.clone()));
    let mut result = Map::new();
    result.insert(Value::from("changed"), Value::Bool(false));
    result.insert(Value::from("add_host"), Value::map(details));
    Ok(ActionOutcome {
        result,
        effects: vec![Effect::AddHost { name, groups, vars }],
    })
}

/// Returns how Python's `type()` shows a value's class, as `<class 'dict'>`.
fn python_class(value: &Value) -> &'static str {
    match value {
        Value::Null => "<class 'NoneType'>",
        Value::Bool(_) => "<class 'bool'>",
        Value::Int(_) => "<class 'int'>",
        Value::Float(_) => "<class 'float'>",
        Value::List(_) => "<class 'list'>",
        Value::Map(_) => "<class 'dict'>",
        _ => "<class 'str'>",
    }
}

fn include(args: &Map, role: bool) -> Result<ActionOutcome, String> {
    let key = if role { "name" } else { "file" };
    // `include_role` also takes the role as `role`, when `name` is not given.
    let alias = if role { "role" } else { "_raw_params" };
    let target = arg(args, key)
        .or_else(|| arg(args, alias))
        .or_else(|| arg(args, "_raw_params"))
        .map(value_text)
        .ok_or_else(|| {
            format!(
                "No {key} specified for {}",
                if role {
                    "include_role"
                } else {
                    "include_tasks"
                }
            )
        })?;
    let rest: Map = args
        .iter()
        .filter(|(k, _)| {
            let consumed = matches!(k.as_str(), Some("file" | "_raw_params"))
                || (role && matches!(k.as_str(), Some("name" | "role")));
            !consumed
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut result = Map::new();
    if !role {
        result.insert(Value::from("include"), Value::from(target.clone()));
    }
    result.insert(Value::from("include_args"), Value::map(args.clone()));
    Ok(ActionOutcome {
        result,
        effects: vec![Effect::Include(IncludeRequest {
            role,
            target,
            args: rest,
            item_vars: Map::new(),
            item_label: None,
        })],
    })
}

/// The `gather_facts` action: the `setup` module on the target, with the empty
/// `warnings` and `deprecations` lists ansible-core's action adds to its result, and
/// the `_ansible_facts_gathered` fact that `gathering = smart` looks for.
/// ansible-core's `gather_facts` action: runs each fact module of `facts_modules`
/// (`ansible_facts_modules`), `smart` meaning `setup`, and merges their facts,
/// warnings and deprecations.
///
/// NOTE: ansible-core runs several modules at once through async jobs (`parallel`);
/// rplay runs them one after the other, which gathers the same facts.
fn gather_facts(
    executor: &Executor<'_>,
    context: &TaskContext,
    host: &str,
    args: &Map,
    vars: &HostVars,
) -> Result<ActionOutcome, String> {
    let mut args = args.clone();
    args.shift_remove("parallel");
    let modules = executor.facts_modules(vars);
    let mut merged = Map::new();
    let mut failed = Map::new();
    let mut skipped = Map::new();
    for name in &modules {
        let short = name
            .strip_prefix("ansible.builtin.")
            .or_else(|| name.strip_prefix("ansible.legacy."))
            .unwrap_or(name);
        let module_args = fact_module_args(executor, short, &args);
        let outcome = module(executor, context, host, short, &module_args, vars)?;
        let result = outcome.result;
        if result.get("failed").is_some_and(Value::is_truthy) {
            failed.insert(Value::from(name.as_str()), Value::map(result));
        } else if result.get("skipped").is_some_and(Value::is_truthy) {
            skipped.insert(Value::from(name.as_str()), Value::map(result));
        } else {
            let mut part = Map::new();
            for key in ["ansible_facts", "warnings", "deprecations"] {
                let empty = if key == "ansible_facts" {
                    Value::empty_map()
                } else {
                    Value::list(Vec::new())
                };
                part.insert(Value::from(key), result.get(key).cloned().unwrap_or(empty));
            }
            merged = merge_appending(merged, part);
        }
    }
    let mut result = Map::new();
    result.insert(Value::from("ansible_facts"), Value::empty_map());
    result.extend(merged);
    for key in ["deprecations", "warnings"] {
        if !result.contains_key(key) {
            result.insert(Value::from(key), Value::list(Vec::new()));
        }
    }
    let names = |map: &Map| map.keys().map(value_text).collect::<Vec<_>>().join(", ");
    if !skipped.is_empty() {
        result.insert(
            Value::from("msg"),
            Value::from(format!(
                "The following modules were skipped: {}\n",
                names(&skipped)
            )),
        );
        if skipped.len() == modules.len() {
            result.insert(Value::from("skipped"), Value::Bool(true));
        }
        result.insert(Value::from("skipped_modules"), Value::map(skipped));
    }
    if !failed.is_empty() {
        result.insert(Value::from("failed"), Value::Bool(true));
        result.insert(
            Value::from("msg"),
            Value::from(format!(
                "The following modules failed to execute: {}\n",
                names(&failed)
            )),
        );
        result.insert(Value::from("failed_modules"), Value::map(failed));
    }
    let mut outcome = ActionOutcome {
        result,
        effects: Vec::new(),
    };
    mark_facts_gathered(&mut outcome);
    Ok(outcome)
}

impl Executor<'_> {
    /// Returns the fact modules of `gather_facts`: `ansible_facts_modules`, else the
    /// `facts_modules` setting. `smart` becomes `setup` unless the list has it.
    ///
    /// NOTE: ansible-core maps `smart` to a network OS's facts module when
    /// `ansible_network_os` is set; rplay has no network modules.
    fn facts_modules(&self, vars: &HostVars) -> Vec<String> {
        use crate::template::Variables;
        let configured = vars
            .get("ansible_facts_modules")
            .and_then(|raw| self.templar.template(&raw, vars).ok())
            .map(|value| match value {
                Value::List(items) => items.iter().map(value_text).collect(),
                other => value_text(&other)
                    .split(',')
                    .map(|name| name.trim().to_string())
                    .filter(|name| !name.is_empty())
                    .collect(),
            })
            .unwrap_or_else(|| self.options.facts_modules.clone());
        let had_smart = configured.iter().any(|name| name == "smart");
        let mut modules: Vec<String> = configured.into_iter().filter(|m| m != "smart").collect();
        let is_setup = |name: &String| {
            matches!(
                name.as_str(),
                "setup" | "ansible.builtin.setup" | "ansible.legacy.setup"
            )
        };
        if had_smart && !modules.iter().any(is_setup) {
            modules.push("ansible.legacy.setup".to_string());
        }
        modules
    }
}

/// Returns the arguments `gather_facts` gives a fact module: its own, without those only
/// `setup` takes (with ansible-core's warning for each given one), and without nulls.
fn fact_module_args(executor: &Executor<'_>, module: &str, args: &Map) -> Map {
    let mut args = args.clone();
    if module != "setup" {
        let subset = args.shift_remove("gather_subset");
        let all = |value: &Value| match value {
            Value::List(items) => items.len() == 1 && value_text(&items[0]) == "all",
            other => value_text(other) == "all",
        };
        if let Some(subset) = subset.filter(|value| !value.is_null() && !all(value)) {
            executor.emit(super::events::Event::Warning(format!(
                "Not passing subset({}) to {module}",
                rplay_modules::pyrepr::str(&subset)
            )));
        }
        for (key, label) in [("gather_timeout", "timeout"), ("filter", "filter")] {
            if let Some(value) = args.shift_remove(key).filter(|value| !value.is_null()) {
                executor.emit(super::events::Event::Warning(format!(
                    "Not passing {label}({}) to {module}",
                    rplay_modules::pyrepr::str(&value)
                )));
            }
        }
    }
    args.retain(|_, value| !value.is_null());
    args
}

/// Merges `higher` into `lower` as ansible-core's `merge_hash` with
/// `list_merge='append_rp'`: mappings recursively, lists appended without the
/// earlier copies of repeated items.
fn merge_appending(mut lower: Map, higher: Map) -> Map {
    for (key, value) in higher {
        // Inserting a key that exists keeps its place, as Python's dict update does.
        let merged = match (lower.get(&key).cloned(), value) {
            (Some(Value::Map(old)), Value::Map(new)) => {
                Value::map(merge_appending(old.as_ref().clone(), new.as_ref().clone()))
            }
            (Some(Value::List(old)), Value::List(new)) => {
                let mut items: Vec<Value> = old
                    .iter()
                    .filter(|item| !new.contains(item))
                    .cloned()
                    .collect();
                items.extend(new.iter().cloned());
                Value::list(items)
            }
            (_, value) => value,
        };
        lower.insert(key, merged);
    }
    lower
}

/// Adds `_ansible_facts_gathered` to the returned facts, which become the host's facts,
/// and hides them from `-v` output through `_ansible_verbose_override`.
fn mark_facts_gathered(outcome: &mut ActionOutcome) {
    let Some(Value::Map(facts)) = outcome.result.get("ansible_facts") else {
        return;
    };
    let mut facts = facts.as_ref().clone();
    facts.insert(Value::from("_ansible_facts_gathered"), Value::Bool(true));
    outcome
        .result
        .insert(Value::from("ansible_facts"), Value::map(facts));
    outcome
        .result
        .insert(Value::from("_ansible_verbose_override"), Value::Bool(true));
}

/// Checks a role's parameters against its argument spec.
///
/// TODO: the spec is not checked yet; the task reports success as ansible-core does
/// for valid arguments.
fn validate_argument_spec(args: &Map) -> Result<ActionOutcome, String> {
    let mut result = Map::new();
    result.insert(Value::from("argument_errors"), Value::list(Vec::new()));
    result.insert(
        Value::from("argument_spec_data"),
        args.get("argument_spec")
            .cloned()
            .unwrap_or_else(Value::empty_map),
    );
    result.insert(Value::from("changed"), Value::Bool(false));
    result.insert(
        Value::from("msg"),
        Value::from("The arg spec validation passed"),
    );
    ok(result)
}

/// The host a module runs on: the task's host, or the host it is delegated to.
pub struct Target {
    pub name: String,
    /// `ansible_connection` of that host.
    pub connection: String,
    /// The delegate's inventory variables when `name` is the delegate, not the task's
    /// host.
    pub delegate_vars: Option<std::sync::Arc<Map>>,
    /// The task's `remote_user` keyword, inherited from its block and play.
    pub remote_user: Option<String>,
    /// The task's privilege escalation, `None` without `become`.
    pub escalation: Option<crate::connection::Become>,
}

impl Target {
    /// True when modules run on this machine: a local connection, or a host named
    /// `localhost` (ansible-core's implicit localhost).
    pub fn is_local(&self) -> bool {
        self.connection == "local" || super::is_local_host(&self.name)
    }
}

/// Runs a module implemented in the modules crate, on the controller or in the target's
/// agent.
fn module(
    executor: &Executor<'_>,
    context: &TaskContext,
    host: &str,
    action: &str,
    args: &Map,
    vars: &HostVars,
) -> Result<ActionOutcome, String> {
    let mut options = executor.module_options(context, vars)?;
    let async_settings = executor.async_settings(context, vars)?;
    if let Some(settings) = &async_settings {
        executor.apply_async(&mut options, settings, vars);
    }
    let args = match action {
        "async_status" => {
            let mut args = args.clone();
            args.insert(
                Value::from("_async_dir"),
                Value::from(executor.async_dir(vars)),
            );
            args
        }
        "copy" => match executor.copy_args(context, args) {
            Ok(args) => args,
            Err(failed) => return ok(failed),
        },
        "unarchive" => {
            let mut args = args.clone();
            let found = rplay_modules::unarchive::action_args(
                &mut args,
                |src| executor.find_needle(context, "files", src),
                |path, data| {
                    super::copy_action::decrypt_for_action(
                        executor.templar.vault_secrets(),
                        path,
                        data,
                    )
                },
            );
            match found {
                Ok(()) => args,
                Err(ActionError::Fail(message)) => return ok(action_fail_result(message)),
                Err(ActionError::Result(result)) => return ok(result),
            }
        }
        // ansible-core's uri action skips in check mode before it transfers anything.
        "uri" if !options.check_mode => {
            let mut args = args.clone();
            let found = rplay_modules::uri::transfer::action_args(&mut args, |src| {
                executor.find_needle(context, "files", src).ok_or_else(|| {
                    let searched = executor.needle_candidates(context, "files", src);
                    let result = super::copy_action::not_found_result(src, &searched);
                    result.get("msg").map(value_text).unwrap_or_default()
                })
            });
            match found {
                Ok(()) => args,
                Err(ActionError::Fail(message)) => return ok(action_fail_result(message)),
                Err(ActionError::Result(result)) => return ok(result),
            }
        }
        _ => args.clone(),
    };
    let target = executor.target(context, host, vars)?;
    let mut result = executor.run_module_on(&target, action, &args, &options, vars);
    if async_settings.is_some() {
        // ansible-core reports every job it starts as a change.
        result.insert(Value::from("changed"), Value::Bool(true));
    }
    // ansible-core's normal action hides a setup result from `-v` output.
    if action == "setup" {
        result.insert(Value::from("_ansible_verbose_override"), Value::Bool(true));
    }
    ok(result)
}

/// `raw`: the free-form command through the target's shell, without a module.
fn raw(
    executor: &Executor<'_>,
    context: &TaskContext,
    host: &str,
    args: &Map,
    vars: &HostVars,
) -> Result<ActionOutcome, String> {
    check_args("raw", args, &["executable"])?;
    if executor
        .environment(context, vars)
        .is_ok_and(|environment| !environment.is_empty())
    {
        executor.emit(super::events::Event::Warning(
            "raw module does not support the environment keyword".to_string(),
        ));
    }
    let command = args.get("_raw_params").map(value_text).unwrap_or_default();
    let command = match args.get("executable").map(value_text) {
        Some(executable) => format!(
            "{executable} -c {}",
            rplay_modules::command::shell_quote(&command)
        ),
        None => command,
    };
    let target = executor.target(context, host, vars)?;
    ok(executor.run_raw(&target, &command, vars))
}

impl Executor<'_> {
    /// Returns the run-wide switches and environment a module of this task runs with.
    pub(super) fn module_options(
        &self,
        context: &TaskContext,
        vars: &HostVars,
    ) -> Result<ModuleOptions, String> {
        Ok(ModuleOptions {
            check_mode: self.check_mode(context, vars),
            diff: self.diff_mode(context, vars),
            environment: self.environment(context, vars)?,
            module_name: Some(context.task.action.clone()),
            remote_tmp: Some(self.remote_tmp(vars)),
            pipelining: self.pipelining(vars),
            // Set by the connection, which reads the login user from its spec.
            system_tmp: false,
            async_job: None,
            timeout: self.task_timeout(context, vars)?,
        })
    }

    /// Returns whether the task runs in diff mode: its `diff` keyword, else `--diff`.
    ///
    pub(super) fn diff_mode(&self, context: &TaskContext, vars: &HostVars) -> bool {
        match context.keyword("diff") {
            Some(value) => self
                .templar
                .template(&value.value, vars)
                .map(|value| super::task::truthy_keyword(&value))
                .unwrap_or(self.options.diff),
            None => self.options.diff,
        }
    }

    /// `remote_tmp` for the task's host: `ansible_remote_tmp` over the setting.
    pub(super) fn remote_tmp(&self, vars: &HostVars) -> String {
        use crate::template::Variables;
        vars.get("ansible_remote_tmp")
            .and_then(|raw| self.templar.template(&raw, vars).ok())
            .filter(|value| !value.is_null())
            .map(|value| value_text(&value))
            .unwrap_or_else(|| self.options.remote_tmp.clone())
    }

    /// `pipelining` for the task's host: `ansible_pipelining` (or
    /// `ansible_ssh_pipelining`) over the setting.
    fn pipelining(&self, vars: &HostVars) -> bool {
        use crate::template::Variables;
        ["ansible_pipelining", "ansible_ssh_pipelining"]
            .iter()
            .find_map(|name| vars.get(name))
            .and_then(|raw| self.templar.template(&raw, vars).ok())
            .map(|value| super::task::truthy_keyword(&value))
            .unwrap_or(self.options.pipelining)
    }

    /// The host a module of the current task runs on, and its connection: the delegate
    /// when the task is delegated, else `host`.
    pub(super) fn target(
        &self,
        context: &TaskContext,
        host: &str,
        vars: &HostVars,
    ) -> Result<Target, String> {
        use crate::template::Variables;
        let remote_user = match context.keyword("remote_user") {
            Some(value) => {
                let value = self
                    .templar
                    .template(&value.value, vars)
                    .map_err(|err| err.message.clone())?;
                (!value.is_null()).then(|| value_text(&value))
            }
            None => None,
        };
        let escalation = self.escalation(context, vars)?;
        let transport = self.options.connection.transport.clone();
        let connection_of = |vars: Option<Value>| {
            vars.map(|v| value_text(&v))
                .unwrap_or_else(|| transport.clone())
        };
        let delegation = self
            .delegations
            .get(host)
            .filter(|delegation| delegation.name != host);
        Ok(match delegation {
            Some(delegation) => Target {
                name: delegation.name.clone(),
                connection: connection_of(
                    delegation.inventory_vars.get("ansible_connection").cloned(),
                ),
                delegate_vars: Some(delegation.inventory_vars.clone()),
                remote_user,
                escalation,
            },
            None => Target {
                name: host.to_string(),
                connection: connection_of(vars.get("ansible_connection")),
                delegate_vars: None,
                remote_user,
                escalation,
            },
        })
    }

    /// Templates the task's `environment` entries, from the play down to the task, into
    /// one list of variables; later entries win. An entry that is no mapping after
    /// templating is skipped with ansible-core's warning.
    pub(super) fn environment(
        &self,
        context: &TaskContext,
        vars: &HostVars,
    ) -> Result<Vec<(String, String)>, String> {
        let mut environment: Vec<(String, String)> = Vec::new();
        // ansible-core's `environment` is a list keyword: the entries of every level
        // make one list, and a level may give a list of its own.
        let entries: Vec<&Value> = context
            .environment
            .iter()
            .flat_map(|entry| match &entry.value {
                Value::List(items) => items.iter().collect(),
                other => vec![other],
            })
            .collect();
        for entry in &entries {
            let value = match entry {
                // ansible-core templates a mapping value by value and drops a variable
                // whose value needs `ansible_env` before facts define it.
                Value::Map(map) => {
                    let mut templated = Map::new();
                    for (key, value) in map.iter() {
                        match self.templar.template(value, vars) {
                            Ok(value) => {
                                templated.insert(key.clone(), value);
                            }
                            Err(err)
                                if err.is_undefined()
                                    && (err.message.contains("ansible_env")
                                        || (is_fact_gathering(context)
                                            && err.message.contains("ansible_facts.env"))) => {}
                            Err(err) => return Err(err.message.clone()),
                        }
                    }
                    Value::map(templated)
                }
                other => self
                    .templar
                    .template(other, vars)
                    .map_err(|err| err.message.clone())?,
            };
            let Value::Map(map) = value else {
                if !entry.is_null() {
                    let all = Value::list(entries.iter().map(|entry| (*entry).clone()).collect());
                    self.emit(super::events::Event::Warning(format!(
                        "could not parse environment value, skipping: {}",
                        rplay_modules::pyrepr::str(&all)
                    )));
                }
                continue;
            };
            for (key, value) in map.iter() {
                let key = value_text(key);
                let value = rplay_modules::pyrepr::str(value);
                environment.retain(|(k, _)| *k != key);
                environment.push((key, value));
            }
        }
        Ok(environment)
    }

    /// Completes `copy`'s arguments as ansible-core's copy action does on the controller:
    /// `content` given as a list or mapping becomes JSON text, and a `src` on the
    /// controller is found and its bytes sent along (base64) for the module to write.
    fn copy_args(&self, context: &TaskContext, args: &Map) -> Result<Map, Map> {
        super::copy_action::check_args(args)?;
        let mut args = args.clone();
        if let Some(content @ (Value::List(_) | Value::Map(_))) = args.get("content").cloned() {
            let text = rplay_modules::json::dumps(
                &content,
                rplay_modules::json::DumpOptions {
                    indent: None,
                    sort_keys: false,
                    ensure_ascii: true,
                },
            );
            args.insert(Value::from("content"), Value::from(text));
        }
        if args
            .get("content")
            .is_some_and(|content| !content.is_null())
        {
            args.insert(
                Value::from(rplay_modules::copy::SOURCE_PATH),
                Value::from(super::copy_action::content_tmp_path()),
            );
        }
        let remote_src = args
            .get("remote_src")
            .is_some_and(|value| rplay_modules::spec::to_bool(value).unwrap_or(false));
        let content_given = args.contains_key("content");
        if remote_src && !content_given {
            return Ok(args);
        }
        // The action reads `decrypt` itself; the module does not take it, except with
        // `remote_src`, where ansible-core passes it on and the module rejects it.
        let decrypt = args
            .shift_remove("decrypt")
            .is_none_or(|value| rplay_modules::spec::to_bool(&value).unwrap_or(true))
            .then(|| self.templar.vault_secrets());
        let Some(src) = args.get("src").map(value_text) else {
            return Ok(args);
        };
        if content_given {
            return Ok(args);
        }
        let path = self.find_needle(context, "files", &src).ok_or_else(|| {
            super::copy_action::not_found_result(
                &src,
                &self.needle_candidates(context, "files", &src),
            )
        })?;
        if path.is_dir() {
            // As rsync does, a trailing slash copies the directory's contents only.
            let found = path.display().to_string();
            let mut source = found.trim_end_matches('/').to_string();
            if src.ends_with('/') {
                source.push('/');
            }
            let local_follow = args
                .get("local_follow")
                .is_none_or(|value| rplay_modules::spec::to_bool(value).unwrap_or(false));
            let tree = super::copy_action::walk_source_tree(&source, local_follow, decrypt)?;
            args.insert(Value::from(rplay_modules::copy_tree::TREE), tree.to_value());
            return Ok(args);
        }
        let file = super::copy_action::read_source_file(&path, decrypt)?;
        let basename = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        args.insert(Value::from("_original_basename"), Value::from(basename));
        rplay_modules::copy::attach_source(
            &mut args,
            &file.data,
            Path::new(&file.read_path),
            Some(file.mode),
        );
        Ok(args)
    }

    /// Finds a controller file as ansible-core's `_find_needle`: in the role's `DIR/` and
    /// the role itself, beside the task file (`DIR/` there, then the directory), then in
    /// the playbook's `DIR/` and directory. Absolute paths are taken as they are.
    pub(super) fn find_needle(
        &self,
        context: &TaskContext,
        dir: &str,
        file: &str,
    ) -> Option<PathBuf> {
        self.needle_candidates(context, dir, file)
            .into_iter()
            .find(|candidate| candidate.exists())
    }

    /// The paths [`Executor::find_needle`] tries, in order.
    pub(super) fn needle_candidates(
        &self,
        context: &TaskContext,
        dir: &str,
        file: &str,
    ) -> Vec<PathBuf> {
        let path = PathBuf::from(file);
        if path.is_absolute() {
            return vec![path];
        }
        // ansible-core adds no `DIR/` when the file's path already starts with it.
        let under_dir = file.split('/').next() != Some(dir);
        let mut candidates = Vec::new();
        if let Some(role) = &context.role {
            candidates.push(role.definition.path.join(dir).join(file));
            candidates.push(role.definition.path.join(file));
        }
        if let Some(task_dir) = context.task.span.path().parent() {
            if under_dir {
                candidates.push(task_dir.join(dir).join(file));
            }
            candidates.push(task_dir.join(file));
        }
        if under_dir {
            candidates.push(self.playbook_dir.join(dir).join(file));
        }
        candidates.push(self.playbook_dir.join(file));
        candidates
    }
}
