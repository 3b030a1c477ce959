//! The keywords each playbook object accepts, as ansible-core 2.18 defines them.

/// Keywords every play, block, role entry and task may set; children inherit them.
pub const INHERITED: &[&str] = &[
    "any_errors_fatal",
    "become",
    "become_exe",
    "become_flags",
    "become_method",
    "become_user",
    "check_mode",
    "collections",
    "connection",
    "debugger",
    "diff",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "module_defaults",
    "no_log",
    "port",
    "remote_user",
    "run_once",
    "tags",
    "throttle",
    "timeout",
    "vars",
    "when",
];

/// Keywords only a play has.
pub const PLAY: &[&str] = &[
    "fact_path",
    "force_handlers",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "handlers",
    "hosts",
    "max_fail_percentage",
    "name",
    "order",
    "post_tasks",
    "pre_tasks",
    "roles",
    "serial",
    "strategy",
    "tasks",
    "vars_files",
    "vars_prompt",
];

/// Keywords only a block has, besides [`INHERITED`].
pub const BLOCK: &[&str] = &[
    "always",
    "block",
    "delegate_facts",
    "delegate_to",
    "name",
    "notify",
    "rescue",
];

/// Keywords only a task has, besides [`INHERITED`]. `with_<lookup>` is handled apart.
pub const TASK: &[&str] = &[
    "action",
    "args",
    "async",
    "changed_when",
    "delay",
    "delegate_facts",
    "delegate_to",
    "failed_when",
    "local_action",
    "loop",
    "loop_control",
    "name",
    "notify",
    "poll",
    "register",
    "retries",
    "until",
];

/// Keywords only a handler has, besides those of a task.
pub const HANDLER: &[&str] = &["listen"];

/// Keywords of an `import_playbook` entry.
pub const IMPORT_PLAYBOOK: &[&str] = &["name", "tags", "vars", "when"];

/// Keywords of a role entry in `roles:` besides [`INHERITED`]; other keys are role
/// parameters.
pub const ROLE_ENTRY: &[&str] = &["role", "name", "delegate_to", "delegate_facts"];

/// Returns the keyword as a `'static` string when `name` is one of `lists`.
pub fn find(name: &str, lists: &[&[&'static str]]) -> Option<&'static str> {
    lists
        .iter()
        .flat_map(|list| list.iter())
        .find(|keyword| **keyword == name)
        .copied()
}
