//! `rplay PLAYBOOK...`: load, then list, check or run.

use std::collections::BTreeSet;

use super::args::PlaybookArgs;
use super::exit;
use crate::config::Config;
use crate::executor::events::{Callback, Event};
use crate::executor::tags::TagSelection;
use crate::executor::{Executor, RunOptions};
use crate::inventory::{self, Limit, LoadOptions};
use crate::output::default::{DefaultOptions, DefaultPrinter};
use crate::output::display::{warning_text, DEFAULT_COLUMNS};
use crate::output::listing::{self, ListModes, PlayResolver};
use crate::output::profile_tasks::{ProfileTasks, SortOrder};
use crate::playbook::{LoadErrorKind, Loader, Play, Spanned};
use crate::template::{Templar, TemplarOptions};
use crate::vars::VariableManager;
use crate::Map;
use crate::Value;

#[allow(clippy::print_stdout, clippy::print_stderr)]
pub fn run(args: PlaybookArgs) -> i32 {
    let config = match Config::load() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("ERROR! {err}");
            return exit::ERROR;
        }
    };
    print_preamble(&config, args.verbose);
    let mut only_tags = args.tags.clone();
    if only_tags.is_empty() {
        only_tags = config.list("TAGS_RUN").to_vec();
    }
    let mut skip_tags = args.skip_tags.clone();
    if skip_tags.is_empty() {
        skip_tags = config.list("TAGS_SKIP").to_vec();
    }
    let selection = TagSelection::new(&only_tags, &skip_tags);
    let modes = ListModes {
        hosts: args.list_hosts,
        tasks: args.list_tasks,
        tags: args.list_tags,
    };

    let mut loader = Loader::new(&config);
    let mut playbooks = Vec::new();
    for path in &args.playbooks {
        match loader.load_playbook(path) {
            Ok(playbook) => playbooks.push((path.display().to_string(), playbook)),
            Err(err) => {
                flush_warnings(&mut loader);
                eprint!("{}", err.render());
                return match err.kind {
                    LoadErrorKind::MissingPlaybook => exit::ERROR,
                    LoadErrorKind::Parse => exit::UNREACHABLE_OR_PARSE_ERROR,
                };
            }
        }
    }
    flush_warnings(&mut loader);

    if modes.hosts || modes.tasks || modes.tags || args.syntax_check {
        let mut warnings = WarningPrinter::default();
        let mut executor =
            match build_executor(&args, &config, selection.clone(), loader, &mut warnings) {
                Ok(executor) => executor,
                Err(message) => {
                    eprintln!("ERROR! {message}");
                    return exit::ERROR;
                }
            };
        for (_, playbook) in &playbooks {
            executor.prepare_playbook(playbook);
            for play in &playbook.plays {
                executor.play_vars_hosts(play);
            }
        }
        if args.syntax_check {
            for (display_path, _) in &playbooks {
                println!("\nplaybook: {display_path}");
            }
            return exit::OK;
        }
        let mut resolver = ListingResolver {
            executor,
            vars: None,
        };
        for (display_path, playbook) in &playbooks {
            resolver.executor.prepare_playbook(playbook);
            print!(
                "{}",
                listing::render(playbook, display_path, modes, &selection, &mut resolver)
            );
        }
        return exit::OK;
    }
    let playbooks: Vec<_> = playbooks
        .into_iter()
        .map(|(_, playbook)| playbook)
        .collect();
    match execute(&args, &config, selection, loader, &playbooks) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("ERROR! {message}");
            exit::ERROR
        }
    }
}

/// Builds the executor: inventory, extra vars, variables, templating and options.
#[allow(clippy::print_stdout, clippy::print_stderr)]
fn build_executor<'a>(
    args: &PlaybookArgs,
    config: &Config,
    selection: TagSelection,
    loader: Loader,
    callback: &'a mut dyn Callback,
) -> Result<Executor<'a>, String> {
    let cwd = std::env::current_dir().map_err(|err| err.to_string())?;
    let sources: Vec<String> = if args.inventory.is_empty() {
        config
            .paths("DEFAULT_HOST_LIST")
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    } else {
        args.inventory.clone()
    };
    let options = LoadOptions::from_config(config, cwd.clone());
    let mut inventory = inventory::load(&sources, &options).map_err(|err| err.to_string())?;
    // NOTE: ansible-core prints these lines and parse warnings as they arise; rplay
    // prints the lines first, so a warning in between would come out later.
    for line in inventory.take_plugin_log() {
        if args.verbose >= 3 {
            println!("{line}");
        }
    }
    for warning in inventory.take_warnings() {
        eprint!("{}", warning_text(&warning, DEFAULT_COLUMNS));
    }
    let extra_vars = super::extra_vars::parse(&args.extra_vars, &cwd)?;
    let limit = match args.limit.last() {
        Some(spec) => Some(Limit::parse(spec, &cwd).map_err(|err| err.to_string())?),
        None => None,
    };
    let magic = global_magic(
        args,
        config,
        &sources,
        &only_or_all(&args.tags),
        &args.skip_tags,
    );
    let variables = VariableManager::new(inventory, extra_vars, magic);
    // Relative lookup paths resolve against the (first) playbook's directory.
    let base_dir = args
        .playbooks
        .first()
        .map(|path| crate::config::normalize(&cwd.join(path)))
        .and_then(|path| path.parent().map(std::path::Path::to_path_buf))
        .unwrap_or_else(|| cwd.clone());
    let templar = Templar::new(TemplarOptions { base_dir });
    let run_options = RunOptions {
        check: args.check,
        diff: args.diff,
        verbosity: args.verbose,
        forks: args.forks.unwrap_or(5),
        tags: selection,
        limit,
        start_at_task: args.start_at_task.clone(),
        force_handlers: args.force_handlers,
        gathering: config
            .str("DEFAULT_GATHERING")
            .unwrap_or("implicit")
            .to_string(),
    };
    Ok(Executor::new(
        variables,
        templar,
        run_options,
        loader,
        callback,
    ))
}

/// Runs the loaded playbooks with the default printer.
#[allow(clippy::print_stdout, clippy::print_stderr)]
fn execute(
    args: &PlaybookArgs,
    config: &Config,
    selection: TagSelection,
    loader: Loader,
    playbooks: &[crate::playbook::Playbook],
) -> Result<i32, String> {
    let printer_options = DefaultOptions {
        verbosity: args.verbose,
        display_skipped_hosts: config.bool("DISPLAY_SKIPPED_HOSTS"),
        display_ok_hosts: config.bool("DISPLAY_OK_HOSTS"),
        display_failed_stderr: config.bool("DISPLAY_FAILED_STDERR"),
        display_args_to_stdout: config.bool("DISPLAY_ARGS_TO_STDOUT"),
        check_mode_markers: config.bool("CHECK_MODE_MARKERS"),
        show_per_host_start: config.bool("SHOW_PER_HOST_START"),
        columns: DEFAULT_COLUMNS,
    };
    let mut printer = DefaultPrinter::new(
        printer_options,
        Box::new(std::io::stdout()),
        Box::new(std::io::stderr()),
    );
    if profile_tasks_enabled(config) {
        let sort_order = match config.str("TASK_SORT_ORDER") {
            Some("ascending") => SortOrder::Ascending,
            Some("none") => SortOrder::None,
            _ => SortOrder::Descending,
        };
        let limit = config.int("TASK_OUTPUT_LIMIT").map(|n| n.max(0) as usize);
        printer = printer.with_profile_tasks(ProfileTasks::new(sort_order, limit, DEFAULT_COLUMNS));
    }
    for name in config.list("CALLBACKS_ENABLED") {
        if !is_profile_tasks(name) {
            // NOTE: rplay implements only profile_tasks among the optional callbacks;
            // ansible-core prints this warning only for callbacks it cannot import.
            eprint!(
                "{}",
                warning_text(
                    &format!("Skipping callback plugin '{name}', unable to load"),
                    DEFAULT_COLUMNS
                )
            );
        }
    }
    let mut executor = build_executor(args, config, selection, loader, &mut printer)?;
    if args.verbose >= 2 {
        // ansible-core loads every stdout callback it ships and skips all but the one
        // in use; rplay prints the same lines for the stock set.
        for name in ["default", "minimal", "oneline"] {
            println!("Skipping callback '{name}', as we already have a stdout callback.");
        }
    }
    Ok(executor.run(playbooks).exit_code())
}

/// Prints what ansible-playbook prints first with `-v` (the config file in use) and
/// `-vv` (its version).
#[allow(clippy::print_stdout)]
fn print_preamble(config: &Config, verbosity: u8) {
    let file = config.file().map(|path| path.display().to_string());
    if verbosity >= 2 {
        let version = config.str("RPLAY_ANSIBLE_VERSION").unwrap_or("2.18.19");
        println!("ansible-playbook [core {version}]");
        println!("  config file = {}", file.as_deref().unwrap_or("None"));
        println!("  rplay version = {}", env!("CARGO_PKG_VERSION"));
    }
    if verbosity >= 1 {
        match &file {
            Some(path) => println!("Using {path} as config file"),
            None => println!("No config file found; using defaults"),
        }
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

fn profile_tasks_enabled(config: &Config) -> bool {
    config
        .list("CALLBACKS_ENABLED")
        .iter()
        .any(|name| is_profile_tasks(name))
}

fn is_profile_tasks(name: &str) -> bool {
    matches!(name, "profile_tasks" | "ansible.posix.profile_tasks")
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
        Value::Int(args.forks.unwrap_or(5) as i64),
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

#[allow(clippy::print_stderr)]
fn flush_warnings(loader: &mut Loader) {
    for warning in loader.warnings.drain(..) {
        eprint!("{}", warning_text(&warning, DEFAULT_COLUMNS));
    }
}

/// Prints warnings once each, as ansible-core's `Display` does; ignores other events.
#[derive(Default)]
struct WarningPrinter {
    shown: std::collections::HashSet<String>,
}

impl Callback for WarningPrinter {
    #[allow(clippy::print_stderr)]
    fn on_event(&mut self, event: &Event) {
        if let Event::Warning(message) = event {
            let text = warning_text(message, DEFAULT_COLUMNS);
            if self.shown.insert(text.clone()) {
                eprint!("{text}");
            }
        }
    }
}

/// Answers the listing's questions with the executor's templating and inventory.
struct ListingResolver<'a> {
    executor: Executor<'a>,
    /// The play whose variables are cached, by address, and its variables.
    vars: Option<(*const Play, crate::vars::HostVars)>,
}

impl ListingResolver<'_> {
    fn vars_for(&mut self, play: &Play) -> crate::vars::HostVars {
        if let Some((cached, vars)) = &self.vars {
            if std::ptr::eq(*cached, play) {
                return vars.clone();
            }
        }
        let vars = self.executor.play_context_vars(play);
        self.vars = Some((play as *const Play, vars.clone()));
        vars
    }
}

impl PlayResolver for ListingResolver<'_> {
    fn play_header(&mut self, play: &Play) -> (String, Vec<String>) {
        self.executor.play_header(play)
    }

    fn hosts(&mut self, _play: &Play, patterns: &[String]) -> Vec<String> {
        self.executor.play_hosts(patterns)
    }

    fn tags(&mut self, play: &Play, tags: &[Spanned<Value>]) -> BTreeSet<String> {
        let vars = self.vars_for(play);
        self.executor.tag_set(tags, &vars)
    }
}
