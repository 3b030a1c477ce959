//! `rplay inventory`, the `ansible-inventory` equivalent: `--list`, `--graph [GROUP]`
//! and `--host HOST`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{ArgAction, Parser};

use super::exit;
use crate::config::Config;
use crate::inventory::{
    self, HostQuery, InventoryError, Limit, LoadOptions, PatternMismatch, VarsDir,
};
use crate::output::display::{warning_text, DEFAULT_COLUMNS};
use crate::output::inventory::{render_graph, render_host, render_list, InventoryView, Rendered};
use crate::vault::{password_files, VaultSecrets};

/// Arguments of `rplay inventory`, mirroring `ansible-inventory`'s flags.
#[derive(Debug, Parser)]
#[command(
    name = "rplay inventory",
    about = "Shows the inventory as Ansible sees it: as JSON (--list, --host) or as a tree (--graph)."
)]
pub struct InventoryArgs {
    /// Group to start `--graph` at (default `all`)
    #[arg(value_name = "GROUP")]
    pub group: Option<String>,

    /// Inventory path or comma-separated host list; may be repeated
    #[arg(
        short,
        long = "inventory",
        visible_alias = "inventory-file",
        value_name = "INVENTORY"
    )]
    pub inventory: Vec<String>,

    /// Further limit selected hosts to an additional pattern (`--list` only)
    #[arg(short, long = "limit", value_name = "SUBSET")]
    pub limit: Option<String>,

    /// Output all hosts info, works as inventory script
    #[arg(long)]
    pub list: bool,

    /// Output specific host info, works as inventory script; ignores --limit
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,

    /// Create inventory graph; a given pattern must be a valid group name; ignores --limit
    #[arg(long)]
    pub graph: bool,

    /// Add vars to graph display, ignored unless used with --graph
    #[arg(long = "vars")]
    pub show_vars: bool,

    /// With --list, show each host's and group's own variables instead of each host's merged ones
    #[arg(long)]
    pub export: bool,

    /// Use YAML format instead of the default JSON (not supported)
    #[arg(short = 'y', long)]
    pub yaml: bool,

    /// Use TOML format instead of the default JSON (not supported)
    #[arg(long)]
    pub toml: bool,

    /// Write the --list output to this file instead of standard output
    #[arg(long = "output", value_name = "OUTPUT_FILE")]
    pub output_file: Option<PathBuf>,

    /// Directory whose group_vars/ and host_vars/ also apply (default: the current directory for host variables)
    #[arg(long = "playbook-dir", value_name = "BASEDIR")]
    pub playbook_dir: Option<PathBuf>,

    /// Increase verbosity; accepted for compatibility
    #[arg(short, long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,

    #[command(flatten)]
    pub vault: super::args::VaultArgs,
}

/// Runs `rplay inventory` with `args` (without the leading `inventory`).
#[allow(clippy::print_stderr)]
pub fn main(args: Vec<String>) -> i32 {
    let argv = std::iter::once("rplay inventory".to_string()).chain(args);
    let args = match InventoryArgs::try_parse_from(argv) {
        Ok(args) => args,
        Err(err) => {
            let code = if err.use_stderr() {
                exit::HOST_FAILED
            } else {
                exit::OK
            };
            let _ = err.print();
            return code;
        }
    };
    match run(&args) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("ERROR! {}", failure.message);
            failure.code
        }
    }
}

struct Failure {
    message: String,
    code: i32,
}

impl Failure {
    fn error(message: impl ToString) -> Failure {
        Failure {
            message: message.to_string(),
            code: exit::ERROR,
        }
    }

    fn options(message: impl ToString) -> Failure {
        Failure {
            message: message.to_string(),
            code: exit::BAD_OPTIONS,
        }
    }

    /// Builds the failure for an inventory error. A variables file that does not parse or
    /// decrypt exits with code 4, because ansible-core's vars plugin raises it as a
    /// parser error.
    fn inventory(err: InventoryError) -> Failure {
        let code = match err {
            InventoryError::DataFile { .. } | InventoryError::Vault(_) => {
                exit::UNREACHABLE_OR_PARSE_ERROR
            }
            _ => exit::ERROR,
        };
        Failure {
            message: err.to_string(),
            code,
        }
    }
}

#[allow(clippy::print_stderr)]
fn print_warnings(warnings: &[String]) {
    let mut shown = std::collections::HashSet::new();
    for warning in warnings.iter().filter(|w| shown.insert(w.as_str())) {
        eprint!("{}", warning_text(warning, DEFAULT_COLUMNS));
    }
}

fn run(args: &InventoryArgs) -> Result<i32, Failure> {
    let actions =
        usize::from(args.list) + usize::from(args.host.is_some()) + usize::from(args.graph);
    if actions == 0 {
        return Err(Failure::options(
            "No action selected, at least one of --host, --graph or --list needs to be specified.",
        ));
    }
    if actions > 1 {
        return Err(Failure::options(
            "Conflicting options used, only one of --host, --graph or --list can be used at the same time.",
        ));
    }
    if args.yaml || args.toml {
        return Err(Failure::options(
            "rplay inventory prints JSON only: --yaml and --toml are not supported",
        ));
    }
    let config = Config::load().map_err(Failure::error)?;
    let cwd = std::env::current_dir().map_err(Failure::error)?;
    let sources: Vec<String> = if args.inventory.is_empty() {
        config
            .paths("DEFAULT_HOST_LIST")
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    } else {
        args.inventory.clone()
    };
    let vault_secrets = vault_secrets(args, &config, &cwd)?;
    let options = LoadOptions {
        vault_secrets: vault_secrets.clone(),
        ..LoadOptions::from_config(&config, cwd.clone())
    };
    let mut inventory = inventory::load(&sources, &options).map_err(Failure::error)?;
    print_warnings(&inventory.take_warnings());

    let mismatch = match config.str("HOST_PATTERN_MISMATCH") {
        Some("error") => PatternMismatch::Error,
        Some("ignore") => PatternMismatch::Ignore,
        _ => PatternMismatch::Warning,
    };
    let view = InventoryView {
        export: args.export,
        play_dir: Some(Arc::new(VarsDir::new(
            args.playbook_dir.as_deref().unwrap_or(&cwd),
            vault_secrets,
        ))),
        play_dir_explicit: args.playbook_dir.is_some(),
    };

    let rendered = if let Some(pattern) = &args.host {
        let query = HostQuery {
            mismatch,
            ..HostQuery::default()
        };
        let mut warnings = Vec::new();
        let matched = inventory.get_hosts(pattern, &query, &mut warnings);
        print_warnings(&warnings);
        let hosts = matched.map_err(Failure::error)?;
        let [host] = hosts[..] else {
            return Err(Failure::options(
                "You must pass a single valid host to --host parameter",
            ));
        };
        render_host(&inventory, host, &view).map_err(Failure::inventory)?
    } else if args.graph {
        let name = args.group.as_deref().unwrap_or("all");
        let group = inventory.group_id(name).ok_or_else(|| {
            Failure::options("Pattern must be valid group name when using --graph")
        })?;
        render_graph(&inventory, group, args.show_vars, &view).map_err(Failure::inventory)?
    } else {
        let limit = match &args.limit {
            Some(spec) => Some(Limit::parse(spec, &cwd).map_err(Failure::error)?),
            None => None,
        };
        let query = HostQuery {
            limit: limit.as_ref(),
            mismatch,
            ..HostQuery::default()
        };
        let mut warnings = Vec::new();
        let matched = inventory.get_hosts("all", &query, &mut warnings);
        print_warnings(&warnings);
        let hosts = matched.map_err(Failure::error)?;
        render_list(&inventory, &hosts, &view).map_err(Failure::inventory)?
    };
    for dir in view
        .play_dir
        .iter()
        .map(|d| d.take_warnings())
        .chain(inventory.vars_dirs().iter().map(|d| d.take_warnings()))
    {
        print_warnings(&dir);
    }
    emit(rendered, args)
}

/// Reads the vault passwords as ansible-inventory does, from the same sources as
/// ansible-playbook. A source that fails warns, and the command stops when no source
/// gives a secret.
fn vault_secrets(
    args: &InventoryArgs,
    config: &Config,
    cwd: &Path,
) -> Result<VaultSecrets, Failure> {
    let ids = super::setup::vault_ids(
        config,
        &args.vault.vault_ids,
        &args.vault.vault_password_files,
    );
    let loaded = password_files::load_secrets(&ids, cwd);
    print_warnings(&loaded.warnings);
    match loaded.error {
        Some(error) => Err(Failure::error(error)),
        None => Ok(loaded.secrets),
    }
}

#[allow(clippy::print_stdout)]
fn emit(rendered: Rendered, args: &InventoryArgs) -> Result<i32, Failure> {
    print_warnings(&rendered.warnings);
    if rendered.text.is_empty() {
        return Ok(exit::ERROR);
    }
    match &args.output_file {
        Some(path) => std::fs::write(path, &rendered.text).map_err(|err| {
            Failure::error(format!(
                "Unable to write to destination file ({}): {err}",
                path.display()
            ))
        })?,
        None => println!("{}", rendered.text),
    }
    Ok(exit::OK)
}
