//! The settings rplay reads, each with its `ansible.cfg` keys, environment variables,
//! type and default, as ansible-core 2.18 defines them (`ansible/config/base.yml` and the
//! option blocks of the default callback, ssh connection and profile_tasks plugins).

/// How a setting's text is turned into a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int,
    Float,
    Str,
    /// Comma-separated, each item trimmed.
    List,
    /// A path, with `~` and `$VAR` expanded and relative paths joined to the config file's
    /// directory.
    Path,
    /// Colon-separated paths, each expanded as `Path`.
    PathList,
}

/// One setting: `name` is ansible-core's own name for it.
#[derive(Debug)]
pub struct Setting {
    pub name: &'static str,
    pub kind: Kind,
    /// `(section, key)` pairs in `ansible.cfg`; a later pair wins over an earlier one.
    pub ini: &'static [(&'static str, &'static str)],
    /// Environment variables; a later one wins over an earlier one.
    pub env: &'static [&'static str],
    /// The default as text, `None` for no value. `~` is expanded.
    pub default: Option<&'static str>,
}

macro_rules! settings {
    ($( $name:ident: $kind:ident, ini [$( ($section:literal, $key:literal) ),*], env [$( $env:literal ),*], default $default:expr; )*) => {
        pub const SETTINGS: &[Setting] = &[
            $( Setting {
                name: stringify!($name),
                kind: Kind::$kind,
                ini: &[$( ($section, $key) ),*],
                env: &[$( $env ),*],
                default: $default,
            }, )*
        ];
    };
}

settings! {
    ANSIBLE_COW_ACCEPTLIST: List, ini [("defaults", "cowsay_enabled_stencils")], env ["ANSIBLE_COW_ACCEPTLIST"], default Some("bud-frogs, bunny, cheese, daemon, default, dragon, elephant-in-snake, elephant, eyes, hellokitty, kitty, luke-koala, meow, milk, moofasa, moose, ren, sheep, small, stegosaurus, stimpy, supermilker, three-eyes, turkey, turtle, tux, udder, vader-koala, vader, www");
    ANSIBLE_FORCE_COLOR: Bool, ini [("defaults", "force_color")], env ["ANSIBLE_FORCE_COLOR"], default Some("False");
    ANSIBLE_NOCOLOR: Bool, ini [("defaults", "nocolor")], env ["ANSIBLE_NOCOLOR", "NO_COLOR"], default Some("False");
    ANSIBLE_PIPELINING: Bool, ini [("connection", "pipelining"), ("ssh_connection", "pipelining")], env ["ANSIBLE_PIPELINING", "ANSIBLE_SSH_PIPELINING"], default Some("False");
    ALLOW_BROKEN_CONDITIONALS: Bool, ini [("defaults", "allow_broken_conditionals")], env ["ANSIBLE_ALLOW_BROKEN_CONDITIONALS"], default Some("True");
    ANY_ERRORS_FATAL: Bool, ini [("defaults", "any_errors_fatal")], env ["ANSIBLE_ANY_ERRORS_FATAL"], default Some("False");
    CACHE_PLUGIN: Str, ini [("defaults", "fact_caching")], env ["ANSIBLE_CACHE_PLUGIN"], default Some("memory");
    CACHE_PLUGIN_CONNECTION: Path, ini [("defaults", "fact_caching_connection")], env ["ANSIBLE_CACHE_PLUGIN_CONNECTION"], default None;
    // base.yml's default `ansible_facts` is not used: the jsonfile plugin reads this as its
    // own `_prefix` option, which has no default, so cache files are named by host alone.
    BECOME_ALLOW_SAME_USER: Bool, ini [("privilege_escalation", "become_allow_same_user")], env ["ANSIBLE_BECOME_ALLOW_SAME_USER"], default Some("False");
    CACHE_PLUGIN_PREFIX: Str, ini [("defaults", "fact_caching_prefix")], env ["ANSIBLE_CACHE_PLUGIN_PREFIX"], default None;
    CACHE_PLUGIN_TIMEOUT: Int, ini [("defaults", "fact_caching_timeout")], env ["ANSIBLE_CACHE_PLUGIN_TIMEOUT"], default Some("86400");
    CALLBACK_RESULT_FORMAT: Str, ini [("defaults", "callback_result_format")], env ["ANSIBLE_CALLBACK_RESULT_FORMAT"], default Some("json");
    CALLBACKS_ENABLED: List, ini [("defaults", "callback_whitelist"), ("defaults", "callbacks_enabled")], env ["ANSIBLE_CALLBACK_WHITELIST", "ANSIBLE_CALLBACKS_ENABLED"], default Some("");
    CHECK_MODE_MARKERS: Bool, ini [("defaults", "check_mode_markers")], env ["ANSIBLE_CHECK_MODE_MARKERS"], default Some("False");
    DEFAULT_BECOME: Bool, ini [("privilege_escalation", "become")], env ["ANSIBLE_BECOME"], default Some("False");
    DEFAULT_BECOME_EXE: Str, ini [("privilege_escalation", "become_exe")], env ["ANSIBLE_BECOME_EXE"], default None;
    DEFAULT_BECOME_FLAGS: Str, ini [("privilege_escalation", "become_flags")], env ["ANSIBLE_BECOME_FLAGS"], default Some("");
    DEFAULT_BECOME_METHOD: Str, ini [("privilege_escalation", "become_method")], env ["ANSIBLE_BECOME_METHOD"], default Some("sudo");
    DEFAULT_BECOME_USER: Str, ini [("privilege_escalation", "become_user")], env ["ANSIBLE_BECOME_USER"], default Some("root");
    DEFAULT_FORKS: Int, ini [("defaults", "forks")], env ["ANSIBLE_FORKS"], default Some("5");
    DEFAULT_FORCE_HANDLERS: Bool, ini [("defaults", "force_handlers")], env ["ANSIBLE_FORCE_HANDLERS"], default Some("False");
    DEFAULT_GATHERING: Str, ini [("defaults", "gathering")], env ["ANSIBLE_GATHERING"], default Some("implicit");
    DEFAULT_GATHER_TIMEOUT: Int, ini [("defaults", "gather_timeout")], env ["ANSIBLE_GATHER_TIMEOUT"], default None;
    DEFAULT_HASH_BEHAVIOUR: Str, ini [("defaults", "hash_behaviour")], env ["ANSIBLE_HASH_BEHAVIOUR"], default Some("replace");
    COLLECTIONS_PATHS: PathList, ini [("defaults", "collections_paths"), ("defaults", "collections_path")], env ["ANSIBLE_COLLECTIONS_PATHS", "ANSIBLE_COLLECTIONS_PATH"], default Some("~/.ansible/collections:/usr/share/ansible/collections");
    FACTS_MODULES: List, ini [("defaults", "facts_modules")], env ["ANSIBLE_FACTS_MODULES"], default Some("smart");
    DEFAULT_HOST_LIST: PathList, ini [("defaults", "inventory")], env ["ANSIBLE_INVENTORY"], default Some("/etc/ansible/hosts");
    DEFAULT_JINJA2_NATIVE: Bool, ini [("defaults", "jinja2_native")], env ["ANSIBLE_JINJA2_NATIVE"], default Some("False");
    DEFAULT_KEEP_REMOTE_FILES: Bool, ini [("defaults", "keep_remote_files")], env ["ANSIBLE_KEEP_REMOTE_FILES"], default Some("False");
    DEFAULT_LOCAL_TMP: Path, ini [("defaults", "local_tmp")], env ["ANSIBLE_LOCAL_TEMP"], default Some("~/.ansible/tmp");
    DEFAULT_LOG_PATH: Path, ini [("defaults", "log_path")], env ["ANSIBLE_LOG_PATH"], default None;
    DEFAULT_MANAGED_STR: Str, ini [("defaults", "ansible_managed")], env [], default Some("Ansible managed");
    DEFAULT_MODULE_PATH: PathList, ini [("defaults", "library")], env ["ANSIBLE_LIBRARY"], default Some("~/.ansible/plugins/modules:/usr/share/ansible/plugins/modules");
    DEFAULT_POLL_INTERVAL: Int, ini [("defaults", "poll_interval")], env ["ANSIBLE_POLL_INTERVAL"], default Some("15");
    DEFAULT_PRIVATE_KEY_FILE: Path, ini [("defaults", "private_key_file")], env ["ANSIBLE_PRIVATE_KEY_FILE"], default None;
    DEFAULT_PRIVATE_ROLE_VARS: Bool, ini [("defaults", "private_role_vars")], env ["ANSIBLE_PRIVATE_ROLE_VARS"], default Some("False");
    DEFAULT_REMOTE_PORT: Int, ini [("defaults", "remote_port")], env ["ANSIBLE_REMOTE_PORT"], default None;
    DEFAULT_REMOTE_TMP: Str, ini [("defaults", "remote_tmp")], env ["ANSIBLE_REMOTE_TEMP", "ANSIBLE_REMOTE_TMP"], default Some("~/.ansible/tmp");
    DEFAULT_REMOTE_USER: Str, ini [("defaults", "remote_user")], env ["ANSIBLE_REMOTE_USER"], default None;
    DEFAULT_ROLES_PATH: PathList, ini [("defaults", "roles_path")], env ["ANSIBLE_ROLES_PATH"], default Some("~/.ansible/roles:/usr/share/ansible/roles:/etc/ansible/roles");
    DEFAULT_STDOUT_CALLBACK: Str, ini [("defaults", "stdout_callback")], env ["ANSIBLE_STDOUT_CALLBACK"], default Some("default");
    DEFAULT_STRATEGY: Str, ini [("defaults", "strategy")], env ["ANSIBLE_STRATEGY"], default Some("linear");
    DEFAULT_TIMEOUT: Int, ini [("defaults", "timeout")], env ["ANSIBLE_TIMEOUT"], default Some("10");
    DEFAULT_TRANSPORT: Str, ini [("defaults", "transport")], env ["ANSIBLE_TRANSPORT"], default Some("ssh");
    DEFAULT_VAULT_IDENTITY: Str, ini [("defaults", "vault_identity")], env ["ANSIBLE_VAULT_IDENTITY"], default Some("default");
    DEFAULT_VAULT_IDENTITY_LIST: List, ini [("defaults", "vault_identity_list")], env ["ANSIBLE_VAULT_IDENTITY_LIST"], default Some("");
    DEFAULT_VAULT_PASSWORD_FILE: Path, ini [("defaults", "vault_password_file")], env ["ANSIBLE_VAULT_PASSWORD_FILE"], default None;
    DEFAULT_VERBOSITY: Int, ini [("defaults", "verbosity")], env ["ANSIBLE_VERBOSITY"], default Some("0");
    DEPRECATION_WARNINGS: Bool, ini [("defaults", "deprecation_warnings")], env ["ANSIBLE_DEPRECATION_WARNINGS"], default Some("True");
    DISPLAY_ARGS_TO_STDOUT: Bool, ini [("defaults", "display_args_to_stdout")], env ["ANSIBLE_DISPLAY_ARGS_TO_STDOUT"], default Some("False");
    DISPLAY_FAILED_STDERR: Bool, ini [("defaults", "display_failed_stderr")], env ["ANSIBLE_DISPLAY_FAILED_STDERR"], default Some("False");
    DISPLAY_OK_HOSTS: Bool, ini [("defaults", "display_ok_hosts")], env ["ANSIBLE_DISPLAY_OK_HOSTS"], default Some("True");
    DISPLAY_SKIPPED_HOSTS: Bool, ini [("defaults", "display_skipped_hosts")], env ["ANSIBLE_DISPLAY_SKIPPED_HOSTS"], default Some("True");
    ERROR_ON_MISSING_HANDLER: Bool, ini [("defaults", "error_on_missing_handler")], env ["ANSIBLE_ERROR_ON_MISSING_HANDLER"], default Some("True");
    HOST_KEY_CHECKING: Bool, ini [("defaults", "host_key_checking")], env ["ANSIBLE_HOST_KEY_CHECKING"], default Some("True");
    HOST_PATTERN_MISMATCH: Str, ini [("inventory", "host_pattern_mismatch")], env ["ANSIBLE_HOST_PATTERN_MISMATCH"], default Some("warning");
    INVENTORY_ANY_UNPARSED_IS_FAILED: Bool, ini [("inventory", "any_unparsed_is_failed")], env ["ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED"], default Some("False");
    INVENTORY_IGNORE_EXTS: List, ini [("defaults", "inventory_ignore_extensions"), ("inventory", "ignore_extensions")], env ["ANSIBLE_INVENTORY_IGNORE"], default Some(".pyc, .pyo, .swp, .bak, ~, .rpm, .md, .txt, .rst, .orig, .cfg, .retry, .ini");
    INVENTORY_IGNORE_PATTERNS: List, ini [("defaults", "inventory_ignore_patterns"), ("inventory", "ignore_patterns")], env ["ANSIBLE_INVENTORY_IGNORE_REGEX"], default Some("");
    INVENTORY_UNPARSED_IS_FAILED: Bool, ini [("inventory", "unparsed_is_failed")], env ["ANSIBLE_INVENTORY_UNPARSED_FAILED"], default Some("False");
    INVENTORY_UNPARSED_WARNING: Bool, ini [("inventory", "inventory_unparsed_warning")], env ["ANSIBLE_INVENTORY_UNPARSED_WARNING"], default Some("True");
    LOCALHOST_WARNING: Bool, ini [("defaults", "localhost_warning")], env ["ANSIBLE_LOCALHOST_WARNING"], default Some("True");
    RETRY_FILES_ENABLED: Bool, ini [("defaults", "retry_files_enabled")], env ["ANSIBLE_RETRY_FILES_ENABLED"], default Some("False");
    RPLAY_AGENT_BINARY: Path, ini [("rplay", "agent_binary")], env ["RPLAY_AGENT_BINARY"], default None;
    RPLAY_ANSIBLE_VERSION: Str, ini [("rplay", "ansible_version")], env ["RPLAY_ANSIBLE_VERSION"], default Some("2.18.19");
    // The file of the `rplay_results` callback (compat-tests/lab/callback_plugins/rplay_results.py).
    RPLAY_RESULTS_PATH: Path, ini [("callback_rplay_results", "path")], env ["RPLAY_RESULTS_PATH"], default None;
    // The `async_dir` option of the `sh` shell plugin, which has no global setting.
    SHELL_ASYNC_DIR: Str, ini [("defaults", "async_dir")], env ["ANSIBLE_ASYNC_DIR"], default Some("~/.ansible_async");
    SHOW_CUSTOM_STATS: Bool, ini [("defaults", "show_custom_stats")], env ["ANSIBLE_SHOW_CUSTOM_STATS"], default Some("False");
    SHOW_PER_HOST_START: Bool, ini [("defaults", "show_per_host_start")], env ["ANSIBLE_SHOW_PER_HOST_START"], default Some("False");
    SHOW_TASK_PATH_ON_FAILURE: Bool, ini [("defaults", "show_task_path_on_failure")], env ["ANSIBLE_SHOW_TASK_PATH_ON_FAILURE"], default Some("False");
    SSH_ARGS: Str, ini [("ssh_connection", "ssh_args")], env ["ANSIBLE_SSH_ARGS"], default Some("-C -o ControlMaster=auto -o ControlPersist=60s");
    SSH_COMMON_ARGS: Str, ini [("ssh_connection", "ssh_common_args")], env ["ANSIBLE_SSH_COMMON_ARGS"], default Some("");
    SSH_EXTRA_ARGS: Str, ini [("ssh_connection", "ssh_extra_args")], env ["ANSIBLE_SSH_EXTRA_ARGS"], default Some("");
    SSH_RETRIES: Int, ini [("connection", "retries"), ("ssh_connection", "retries")], env ["ANSIBLE_SSH_RETRIES"], default Some("0");
    SYSTEM_WARNINGS: Bool, ini [("defaults", "system_warnings")], env ["ANSIBLE_SYSTEM_WARNINGS"], default Some("True");
    TAGS_RUN: List, ini [("tags", "run")], env ["ANSIBLE_RUN_TAGS"], default Some("");
    TAGS_SKIP: List, ini [("tags", "skip")], env ["ANSIBLE_SKIP_TAGS"], default Some("");
    TASK_OUTPUT_LIMIT: Int, ini [("callback_profile_tasks", "task_output_limit")], env ["PROFILE_TASKS_TASK_OUTPUT_LIMIT"], default Some("20");
    TASK_SORT_ORDER: Str, ini [("callback_profile_tasks", "sort_order")], env ["PROFILE_TASKS_SORT_ORDER"], default Some("descending");
    TRANSFORM_INVALID_GROUP_CHARS: Str, ini [("defaults", "force_valid_group_names")], env ["ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS"], default Some("never");
    YAML_FILENAME_EXTENSIONS: List, ini [("defaults", "yaml_valid_extensions")], env ["ANSIBLE_YAML_FILENAME_EXT"], default Some(".yml, .yaml, .json");
    // ansible-core's internal switch back to the conditional evaluation of releases
    // before 2.16, without the check of the result's type.
    _DISABLE_BACKPORTED_INSPECTIONS: Bool, ini [("defaults", "_disable_backported_inspections")], env ["_ANSIBLE_DISABLE_BACKPORTED_INSPECTIONS"], default Some("False");
}
