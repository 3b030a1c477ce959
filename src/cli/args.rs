//! Command-line arguments, mirroring `ansible-playbook`'s flags (ansible-core 2.18).

use std::path::PathBuf;

use clap::{ArgAction, Parser};

/// Arguments of `rplay PLAYBOOK...`, the `ansible-playbook` equivalent.
#[derive(Debug, Parser)]
#[command(
    name = "rplay",
    version,
    about = "Runs Ansible playbooks, executing the defined tasks on the targeted hosts.",
    after_help = "Other commands: `rplay inventory` (as ansible-inventory)."
)]
pub struct PlaybookArgs {
    /// Playbook(s)
    #[arg(required = true, value_name = "PLAYBOOK")]
    pub playbooks: Vec<PathBuf>,

    /// Increase verbosity of the result dumps; may be repeated up to -vvvvvv
    #[arg(short, long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,

    /// Inventory path or comma-separated host list; may be repeated
    #[arg(
        short,
        long = "inventory",
        visible_alias = "inventory-file",
        value_name = "INVENTORY"
    )]
    pub inventory: Vec<String>,

    /// Further limit selected hosts to an additional pattern
    #[arg(short, long = "limit", value_name = "SUBSET")]
    pub limit: Vec<String>,

    /// Set additional variables as key=value or YAML/JSON, or @FILE; may be repeated
    #[arg(short, long = "extra-vars", value_name = "EXTRA_VARS")]
    pub extra_vars: Vec<String>,

    /// Only run plays and tasks tagged with these values; may be repeated
    #[arg(short, long = "tags", value_name = "TAGS")]
    pub tags: Vec<String>,

    /// Only run plays and tasks whose tags do not match these values; may be repeated
    #[arg(long = "skip-tags", value_name = "SKIP_TAGS")]
    pub skip_tags: Vec<String>,

    /// Don't make any changes; predict some of the changes that may occur
    #[arg(short = 'C', long)]
    pub check: bool,

    /// Show the differences in changed files
    #[arg(short = 'D', long)]
    pub diff: bool,

    /// Number of hosts worked on in parallel (default 5)
    #[arg(short, long, value_name = "FORKS")]
    pub forks: Option<usize>,

    /// Output a list of matching hosts; does not execute anything else
    #[arg(long)]
    pub list_hosts: bool,

    /// List all tasks that would be executed
    #[arg(long)]
    pub list_tasks: bool,

    /// List all available tags
    #[arg(long)]
    pub list_tags: bool,

    /// Perform a syntax check on the playbook, but do not execute it
    #[arg(long)]
    pub syntax_check: bool,

    /// Start the playbook at the task matching this name
    #[arg(long, value_name = "START_AT_TASK")]
    pub start_at_task: Option<String>,

    /// One-step-at-a-time: confirm each task before running
    #[arg(long)]
    pub step: bool,

    /// Run handlers even if a task fails
    #[arg(long)]
    pub force_handlers: bool,

    /// Clear the fact cache for every host in inventory
    #[arg(long)]
    pub flush_cache: bool,

    /// Connect as this user
    #[arg(short, long = "user", value_name = "REMOTE_USER")]
    pub user: Option<String>,

    /// Connection type to use (default ssh)
    #[arg(short, long, value_name = "CONNECTION")]
    pub connection: Option<String>,

    /// Connection timeout in seconds
    #[arg(short = 'T', long, value_name = "TIMEOUT")]
    pub timeout: Option<u64>,

    /// Use this file to authenticate the connection
    #[arg(
        long = "private-key",
        visible_alias = "key-file",
        value_name = "PRIVATE_KEY_FILE"
    )]
    pub private_key: Option<PathBuf>,

    /// Extra arguments for sftp, scp and ssh (e.g. ProxyCommand)
    #[arg(long, value_name = "SSH_COMMON_ARGS", allow_hyphen_values = true)]
    pub ssh_common_args: Option<String>,

    /// Extra arguments for ssh only
    #[arg(long, value_name = "SSH_EXTRA_ARGS", allow_hyphen_values = true)]
    pub ssh_extra_args: Option<String>,

    /// Extra arguments for sftp only
    #[arg(long, value_name = "SFTP_EXTRA_ARGS", allow_hyphen_values = true)]
    pub sftp_extra_args: Option<String>,

    /// Extra arguments for scp only
    #[arg(long, value_name = "SCP_EXTRA_ARGS", allow_hyphen_values = true)]
    pub scp_extra_args: Option<String>,

    /// Ask for the connection password
    #[arg(
        short = 'k',
        long = "ask-pass",
        conflicts_with = "connection_password_file"
    )]
    pub ask_pass: bool,

    /// Connection password file
    #[arg(
        long,
        visible_alias = "conn-pass-file",
        value_name = "CONNECTION_PASSWORD_FILE"
    )]
    pub connection_password_file: Option<PathBuf>,

    /// Run operations with become (does not imply password prompting)
    #[arg(short = 'b', long = "become")]
    pub r#become: bool,

    /// Privilege escalation method (default sudo)
    #[arg(long, value_name = "BECOME_METHOD")]
    pub become_method: Option<String>,

    /// Run operations as this user (default root)
    #[arg(long, value_name = "BECOME_USER")]
    pub become_user: Option<String>,

    /// Ask for the privilege escalation password
    #[arg(
        short = 'K',
        long = "ask-become-pass",
        conflicts_with = "become_password_file"
    )]
    pub ask_become_pass: bool,

    /// Become password file
    #[arg(
        long,
        visible_alias = "become-pass-file",
        value_name = "BECOME_PASSWORD_FILE"
    )]
    pub become_password_file: Option<PathBuf>,

    #[command(flatten)]
    pub vault: VaultArgs,

    /// Prepend colon-separated path(s) to the module library; may be repeated
    #[arg(short = 'M', long = "module-path", value_name = "MODULE_PATH")]
    pub module_path: Vec<String>,
}

/// The vault options that `rplay` and `rplay inventory` share, as ansible-core's CLIs do.
#[derive(Debug, Default, clap::Args)]
pub struct VaultArgs {
    /// Vault identity to use; may be repeated
    #[arg(long = "vault-id", value_name = "VAULT_IDS")]
    pub vault_ids: Vec<String>,

    /// Vault password file; may be repeated
    #[arg(
        long = "vault-password-file",
        visible_alias = "vault-pass-file",
        value_name = "VAULT_PASSWORD_FILES"
    )]
    pub vault_password_files: Vec<PathBuf>,

    /// Ask for the vault password (not supported: rplay does not prompt)
    #[arg(
        short = 'J',
        long = "ask-vault-password",
        visible_alias = "ask-vault-pass"
    )]
    pub ask_vault_password: bool,
}
