//! Run preparation as ansible-playbook does it before it parses any playbook: the
//! inventory, the extra variables and the `--limit` check. Errors here are reported
//! before playbook errors, in ansible-playbook's order.

use std::path::{Path, PathBuf};

use super::args::PlaybookArgs;
use super::exit;
use super::extra_vars::ExtraVarsError;
use crate::config::Config;
use crate::executor::events::{Callback, Event};
use crate::executor::tags::TagSelection;
use crate::executor::{ConnectionDefaults, CoreRelease, Executor, InventorySource, RunOptions};
use crate::inventory::{self, HostQuery, InventoryError, Limit, LoadOptions, PatternError};
use crate::playbook::Loader;
use crate::template::{ConditionalCheck, FoundPath, Templar, TemplarOptions};
use crate::vars::fact_cache::CacheSettings;
use crate::vars::{FactCache, VariableManager};
use crate::vault::{password_files, VaultSecrets};
use crate::Map;
use crate::Value;

/// The inventory with the extra variables, ready for an [`Executor`].
pub struct RunSetup {
    variables: VariableManager,
    limit: Option<Limit>,
    /// The run's vault secrets, which decrypt vault-encrypted files and values.
    pub vault_secrets: VaultSecrets,
    inventory_source: InventorySource,
}

/// An error found while preparing a run.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot read the current directory: {0}")]
    CurrentDirectory(std::io::Error),
    #[error("{0}")]
    Inventory(#[from] InventoryError),
    #[error(transparent)]
    ExtraVars(#[from] ExtraVarsError),
    /// A `--limit` that cannot be read, or that leaves no host to target.
    #[error("{0}")]
    Limit(#[from] PatternError),
    /// No vault password source gave a secret. The message is the last source's error.
    #[error("{0}")]
    VaultPassword(String),
}

impl SetupError {
    /// ansible-playbook's exit code for the error.
    pub fn exit_code(&self) -> i32 {
        match self {
            SetupError::ExtraVars(ExtraVarsError::Parse(_) | ExtraVarsError::Split { .. }) => {
                exit::UNREACHABLE_OR_PARSE_ERROR
            }
            SetupError::ExtraVars(
                ExtraVarsError::NotAMapping { .. } | ExtraVarsError::MissingAt { .. },
            ) => exit::BAD_OPTIONS,
            _ => exit::ERROR,
        }
    }

    /// Renders the error as `ERROR! MESSAGE`, with a hint where one helps.
    pub fn render(&self, args: &PlaybookArgs) -> String {
        if let SetupError::ExtraVars(ExtraVarsError::Parse(err)) = self {
            return err.render();
        }
        let hint = match self {
            SetupError::ExtraVars(ExtraVarsError::FileNotFound { .. }) => {
                Some("`-e @FILE` reads FILE relative to the current directory".to_string())
            }
            SetupError::ExtraVars(ExtraVarsError::NotAMapping { .. }) => Some(
                "extra vars are `key=value` pairs, or YAML or JSON that is a mapping".to_string(),
            ),
            SetupError::ExtraVars(ExtraVarsError::MissingAt { text }) => {
                Some(format!("to read variables from the file, write `-e @{text}`"))
            }
            SetupError::Limit(PatternError::NoHostsToTarget) => Some(format!(
                "--limit '{}' matches no host of the inventory; `rplay inventory -i INVENTORY --graph` lists its groups and hosts",
                args.limit.last().map(String::as_str).unwrap_or_default()
            )),
            _ => None,
        };
        match hint {
            Some(hint) => format!("ERROR! {self}\n  = hint: {hint}\n"),
            None => format!("ERROR! {self}\n"),
        }
    }
}

/// Loads the inventory and extra variables and checks `--limit` as ansible-playbook's
/// `CLI.get_host_list` does: an inventory with hosts of which the limit keeps none is an
/// error. Warnings go to `callback`.
pub fn prepare(
    args: &PlaybookArgs,
    config: &Config,
    callback: &mut (dyn Callback + Send),
) -> Result<RunSetup, SetupError> {
    let cwd = std::env::current_dir().map_err(SetupError::CurrentDirectory)?;
    let vault_secrets = vault_secrets(args, config, &cwd, callback)?;
    let sources = inventory_sources(args, config);
    let extra_vars = super::extra_vars::parse(&args.extra_vars, &cwd, &vault_secrets);
    let options = LoadOptions {
        vault_secrets: vault_secrets.clone(),
        extra_vars_error: extra_vars.as_ref().err().map(ToString::to_string),
        ..LoadOptions::from_config(config, cwd.clone())
    };
    let mut inventory = inventory::load(&sources, &options)?;
    // NOTE: ansible-core prints these lines and parse warnings as they arise; rplay
    // prints the lines first, so a warning in between comes out later.
    for line in inventory.take_plugin_log() {
        if args.verbose >= 3 {
            print_line(&line);
        }
    }
    for warning in inventory.take_warnings() {
        callback.on_event(&Event::Warning(warning));
    }
    let extra_vars = extra_vars?;
    let (fact_cache, cache_error) = FactCache::open(&cache_settings(config));
    if let Some(err) = cache_error {
        callback.on_event(&Event::Warning(err.to_string()));
    }
    let limit = match args.limit.last() {
        Some(spec) => Some(Limit::parse(spec, &cwd)?),
        None => None,
    };
    let query = HostQuery {
        limit: limit.as_ref(),
        ..HostQuery::default()
    };
    let mut warnings = Vec::new();
    let checked = inventory.get_host_list("all", &query, &mut warnings);
    for warning in warnings {
        callback.on_event(&Event::Warning(warning));
    }
    let hosts = checked?;
    let magic = global_magic(
        args,
        config,
        &sources,
        &only_or_all(&args.tags),
        &args.skip_tags,
    );
    let mut variables = VariableManager::new(inventory, extra_vars, magic, vault_secrets.clone());
    variables.set_fact_cache(fact_cache);
    if args.flush_cache {
        for host in &hosts {
            variables.clear_facts(host);
        }
        for warning in variables.take_fact_cache_warnings() {
            callback.on_event(&Event::Warning(warning));
        }
    }
    Ok(RunSetup {
        variables,
        limit,
        vault_secrets,
        inventory_source: InventorySource { sources, options },
    })
}

/// The fact cache settings; the `jsonfile` plugin reads its prefix with no default.
fn cache_settings(config: &Config) -> CacheSettings {
    CacheSettings {
        plugin: config.str("CACHE_PLUGIN").unwrap_or("memory").to_string(),
        connection: config
            .path("CACHE_PLUGIN_CONNECTION")
            .map(std::path::Path::to_path_buf),
        prefix: config.str("CACHE_PLUGIN_PREFIX").map(str::to_string),
        timeout: config.int("CACHE_PLUGIN_TIMEOUT").unwrap_or(86400),
    }
}

#[allow(clippy::print_stdout)]
fn print_line(line: &str) {
    println!("{line}");
}

/// Reads the vault passwords of `vault_identity_list`, `--vault-id`,
/// `--vault-password-file` and `vault_password_file`, as ansible-playbook does before
/// it reads the inventory. A source that fails warns, and the run stops when no source
/// gives a secret.
fn vault_secrets(
    args: &PlaybookArgs,
    config: &Config,
    cwd: &Path,
    callback: &mut (dyn Callback + Send),
) -> Result<VaultSecrets, SetupError> {
    let ids = vault_ids(
        config,
        &args.vault.vault_ids,
        &args.vault.vault_password_files,
    );
    let loaded = password_files::load_secrets(&ids, cwd);
    for warning in loaded.warnings {
        callback.on_event(&Event::Warning(warning));
    }
    match loaded.error {
        Some(error) => Err(SetupError::VaultPassword(error)),
        None => Ok(loaded.secrets),
    }
}

/// Lists the vault ids of `--vault-id`, `--vault-password-file` and the settings, in
/// ansible-core's order.
pub(super) fn vault_ids(
    config: &Config,
    cli_ids: &[String],
    cli_password_files: &[PathBuf],
) -> Vec<String> {
    let password_files: Vec<PathBuf> = cli_password_files
        .iter()
        .cloned()
        .chain(
            config
                .path("DEFAULT_VAULT_PASSWORD_FILE")
                .map(Path::to_path_buf),
        )
        .collect();
    password_files::vault_ids(
        config.list("DEFAULT_VAULT_IDENTITY_LIST"),
        cli_ids,
        &password_files,
        config.str("DEFAULT_VAULT_IDENTITY").unwrap_or("default"),
    )
}

fn inventory_sources(args: &PlaybookArgs, config: &Config) -> Vec<String> {
    if args.inventory.is_empty() {
        config
            .paths("DEFAULT_HOST_LIST")
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    } else {
        args.inventory.clone()
    }
}

/// Builds the executor: variables, templating and options.
pub fn build_executor<'a>(
    setup: RunSetup,
    args: &PlaybookArgs,
    config: &Config,
    selection: TagSelection,
    loader: Loader,
    callback: &'a mut (dyn Callback + Send),
) -> Executor<'a> {
    // Relative lookup paths resolve against the first playbook's directory.
    let cwd = std::env::current_dir().unwrap_or_default();
    let base_dir = args
        .playbooks
        .first()
        .map(|path| crate::config::normalize(&cwd.join(path)))
        .and_then(|path| path.parent().map(std::path::Path::to_path_buf))
        .unwrap_or(cwd);
    let core_release = CoreRelease::parse(config.str("RPLAY_ANSIBLE_VERSION").unwrap_or("2.18.19"));
    let templar = Templar::new(TemplarOptions {
        base_dir,
        vault_secrets: setup.vault_secrets.clone(),
        native: config.bool("DEFAULT_JINJA2_NATIVE"),
        found_path: if core_release.normalizes_found_paths() {
            FoundPath::Normalized
        } else {
            FoundPath::Joined
        },
        conditionals: if config.bool("_DISABLE_BACKPORTED_INSPECTIONS") {
            ConditionalCheck::Unchecked
        } else if config.bool("ALLOW_BROKEN_CONDITIONALS") {
            ConditionalCheck::Deprecate
        } else {
            ConditionalCheck::Reject
        },
    });
    let run_options = RunOptions {
        check: args.check,
        diff: args.diff,
        verbosity: args.verbose,
        forks: forks(args, config),
        tags: selection,
        limit: setup.limit,
        start_at_task: args.start_at_task.clone(),
        force_handlers: args.force_handlers || config.bool("DEFAULT_FORCE_HANDLERS"),
        gathering: config
            .str("DEFAULT_GATHERING")
            .unwrap_or("implicit")
            .to_string(),
        error_on_missing_handler: config.bool("ERROR_ON_MISSING_HANDLER"),
        connection: connection_defaults(args, config),
        agent_binary: config
            .path("RPLAY_AGENT_BINARY")
            .map(std::path::Path::to_path_buf),
        remote_tmp: config
            .str("DEFAULT_REMOTE_TMP")
            .unwrap_or("~/.ansible/tmp")
            .to_string(),
        pipelining: config.bool("ANSIBLE_PIPELINING"),
        async_dir: config
            .str("SHELL_ASYNC_DIR")
            .unwrap_or("~/.ansible_async")
            .to_string(),
        poll_interval: config
            .int("DEFAULT_POLL_INTERVAL")
            .and_then(|seconds| u64::try_from(seconds).ok())
            .unwrap_or(15),
        core_release,
        inventory_source: setup.inventory_source,
        facts_modules: config.list("FACTS_MODULES").to_vec(),
    };
    Executor::new(setup.variables, templar, run_options, loader, callback)
}

/// Returns how many hosts a task runs on at once: `--forks` over the `forks` setting.
fn forks(args: &PlaybookArgs, config: &Config) -> usize {
    args.forks
        .or_else(|| {
            config
                .int("DEFAULT_FORKS")
                .and_then(|n| usize::try_from(n).ok())
        })
        .unwrap_or(5)
}

/// Connection settings from the command line over `ansible.cfg` and the environment.
/// The controller user's name, home and ssh-agent socket come from the process
/// environment, as OpenSSH takes them.
fn connection_defaults(args: &PlaybookArgs, config: &Config) -> ConnectionDefaults {
    let text = |name: &str| config.str(name).unwrap_or_default().to_string();
    let configured_remote_user = args
        .user
        .clone()
        .or_else(|| config.str("DEFAULT_REMOTE_USER").map(str::to_string));
    ConnectionDefaults {
        transport: args
            .connection
            .clone()
            .unwrap_or_else(|| config.str("DEFAULT_TRANSPORT").unwrap_or("ssh").to_string()),
        remote_user: configured_remote_user
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "root".to_string()),
        configured_remote_user,
        remote_port: config
            .int("DEFAULT_REMOTE_PORT")
            .and_then(|port| u16::try_from(port).ok()),
        private_key: args.private_key.clone().or_else(|| {
            config
                .path("DEFAULT_PRIVATE_KEY_FILE")
                .map(std::path::Path::to_path_buf)
        }),
        timeout: args
            .timeout
            .or_else(|| {
                config
                    .int("DEFAULT_TIMEOUT")
                    .and_then(|t| u64::try_from(t).ok())
            })
            .unwrap_or(10),
        host_key_checking: config.bool("HOST_KEY_CHECKING"),
        ssh_args: text("SSH_ARGS"),
        ssh_common_args: args
            .ssh_common_args
            .clone()
            .unwrap_or_else(|| text("SSH_COMMON_ARGS")),
        ssh_extra_args: args
            .ssh_extra_args
            .clone()
            .unwrap_or_else(|| text("SSH_EXTRA_ARGS")),
        retries: config
            .int("SSH_RETRIES")
            .and_then(|retries| u32::try_from(retries).ok())
            .unwrap_or(0),
        home: std::env::var_os("HOME").map(std::path::PathBuf::from),
        agent_socket: std::env::var_os("SSH_AUTH_SOCK").map(std::path::PathBuf::from),
        become_enabled: args.r#become || config.bool("DEFAULT_BECOME"),
        become_method: args
            .become_method
            .clone()
            .unwrap_or_else(|| text("DEFAULT_BECOME_METHOD")),
        become_user: args
            .become_user
            .clone()
            .unwrap_or_else(|| text("DEFAULT_BECOME_USER")),
        become_allow_same_user: config.bool("BECOME_ALLOW_SAME_USER"),
        become_exe: config.str("DEFAULT_BECOME_EXE").map(str::to_string),
        become_flags: text("DEFAULT_BECOME_FLAGS"),
        become_password: args
            .become_password_file
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .map(|text| text.trim_end_matches('\n').to_string()),
    }
}

fn only_or_all(tags: &[String]) -> Vec<String> {
    if tags.is_empty() {
        vec!["all".to_string()]
    } else {
        tags.iter()
            .flat_map(|t| t.split(','))
            .map(|t| t.trim().to_string())
            .collect()
    }
}

/// Magic variables that hold for the whole run.
fn global_magic(
    args: &PlaybookArgs,
    config: &Config,
    sources: &[String],
    run_tags: &[String],
    skip_tags: &[String],
) -> Map {
    let text_list =
        |items: &[String]| Value::list(items.iter().map(|s| Value::from(s.as_str())).collect());
    let version = config
        .str("RPLAY_ANSIBLE_VERSION")
        .unwrap_or("2.18.19")
        .to_string();
    let mut parts = version.split('.').map(|p| p.parse::<i64>().unwrap_or(0));
    let mut ansible_version = Map::new();
    ansible_version.insert(Value::from("string"), Value::from(version.as_str()));
    ansible_version.insert(Value::from("full"), Value::from(version.as_str()));
    ansible_version.insert(Value::from("major"), Value::Int(parts.next().unwrap_or(0)));
    ansible_version.insert(Value::from("minor"), Value::Int(parts.next().unwrap_or(0)));
    ansible_version.insert(
        Value::from("revision"),
        Value::Int(parts.next().unwrap_or(0)),
    );
    let mut magic = Map::new();
    magic.insert(Value::from("ansible_version"), Value::map(ansible_version));
    magic.insert(Value::from("ansible_check_mode"), Value::Bool(args.check));
    magic.insert(Value::from("ansible_diff_mode"), Value::Bool(args.diff));
    magic.insert(
        Value::from("ansible_forks"),
        Value::Int(forks(args, config) as i64),
    );
    magic.insert(Value::from("ansible_inventory_sources"), text_list(sources));
    magic.insert(Value::from("ansible_run_tags"), text_list(run_tags));
    magic.insert(Value::from("ansible_skip_tags"), text_list(skip_tags));
    magic.insert(
        Value::from("ansible_verbosity"),
        Value::Int(i64::from(args.verbose)),
    );
    if let Some(limit) = args.limit.last() {
        magic.insert(Value::from("ansible_limit"), Value::from(limit.as_str()));
    }
    magic.insert(
        Value::from("ansible_config_file"),
        config
            .file()
            .map(|p| Value::from(p.display().to_string()))
            .unwrap_or(Value::Null),
    );
    magic.insert(Value::from("omit"), Value::from(crate::template::OMIT));
    magic
}
