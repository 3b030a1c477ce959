//! Variable names that ansible-core 2.18 reserves: the attributes of plays, roles,
//! blocks and tasks, and the globals of its templating environment. A variable with
//! such a name still works, but ansible-core warns about it.

/// The reserved names, as `ansible.vars.reserved.get_reserved_names()` returns them in
/// ansible-core 2.18.19, sorted.
const RESERVED_NAMES: &[&str] = &[
    "action",
    "always",
    "any_errors_fatal",
    "args",
    "async",
    "async_val",
    "become",
    "become_exe",
    "become_flags",
    "become_method",
    "become_user",
    "block",
    "changed_when",
    "check_mode",
    "collections",
    "connection",
    "cycler",
    "debugger",
    "delay",
    "delegate_facts",
    "delegate_to",
    "dict",
    "diff",
    "environment",
    "fact_path",
    "failed_when",
    "force_handlers",
    "gather_facts",
    "gather_timeout",
    "handlers",
    "hosts",
    "ignore_errors",
    "ignore_unreachable",
    "joiner",
    "lipsum",
    "local_action",
    "lookup",
    "loop",
    "loop_control",
    "loop_with",
    "max_fail_percentage",
    "module_defaults",
    "name",
    "namespace",
    "no_log",
    "notify",
    "now",
    "order",
    "poll",
    "port",
    "post_tasks",
    "pre_tasks",
    "q",
    "query",
    "range",
    "register",
    "remote_user",
    "rescue",
    "retries",
    "roles",
    "run_once",
    "serial",
    "strategy",
    "tags",
    "tasks",
    "throttle",
    "timeout",
    "undef",
    "until",
    "vars",
    "vars_files",
    "vars_prompt",
    "when",
    "with_",
];

/// Returns the warnings ansible-core prints for the reserved names among `names`.
///
/// NOTE: ansible-core prints them in the order of a Python set, which varies from run
/// to run; rplay prints them sorted.
pub fn reserved_name_warnings<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut found: Vec<&str> = names
        .into_iter()
        // ansible-core adds `vars` itself, so it never warns about it.
        .filter(|name| *name != "vars" && RESERVED_NAMES.binary_search(name).is_ok())
        .collect();
    found.sort_unstable();
    found.dedup();
    found
        .into_iter()
        .map(|name| format!("Found variable using reserved name: {name}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_are_sorted() {
        assert!(RESERVED_NAMES.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn warnings_name_reserved_variables() {
        assert_eq!(
            reserved_name_warnings(["port", "listen_port", "vars", "name", "port"]),
            [
                "Found variable using reserved name: name",
                "Found variable using reserved name: port"
            ]
        );
    }
}
