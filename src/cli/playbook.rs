//! `rplay PLAYBOOK...`: load, then list, check or run.

use std::collections::BTreeSet;

use super::args::PlaybookArgs;
use super::exit;
use super::setup::{self, RunSetup};
use crate::config::Config;
use crate::executor::events::{Callback, Event};
use crate::executor::tags::TagSelection;
use crate::executor::{Executor, RunError};
use crate::output::default::{DefaultOptions, DefaultPrinter};
use crate::output::display::{warning_text, DEFAULT_COLUMNS};
use crate::output::listing::{self, ListModes, PlayResolver};
use crate::output::profile_tasks::{ProfileTasks, SortOrder};
use crate::output::results::{is_results_callback, ResultsWriter};
use crate::playbook::{
    check_playbook_file, LoadErrorKind, LoadNote, Loader, Play, Playbook, Spanned,
};
use crate::vault::VaultSecrets;
use crate::Value;

#[allow(clippy::print_stderr)]
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
    // Like ansible-playbook, --list-tags without any tag selection lists `never` too.
    if args.list_tags && only_tags.is_empty() && skip_tags.is_empty() {
        only_tags = vec!["never".to_string(), "all".to_string()];
    }
    let selection = TagSelection::new(&only_tags, &skip_tags);
    let modes = ListModes {
        hosts: args.list_hosts,
        tasks: args.list_tasks,
        tags: args.list_tags,
    };

    // ansible-playbook checks that the playbooks exist, then reads the inventory and
    // extra variables and checks --limit, and parses the playbooks last.
    for path in &args.playbooks {
        if let Err(err) = check_playbook_file(path) {
            eprint!("{}", err.render());
            return load_exit_code(err.kind);
        }
    }

    if modes.hosts || modes.tasks || modes.tags || args.syntax_check {
        let mut warnings = WarningPrinter::default();
        return list(&args, &config, selection, modes, &mut warnings);
    }
    let mut callbacks = RunCallbacks {
        printer: default_printer(&args, &config),
        results: config
            .path("RPLAY_RESULTS_PATH")
            .filter(|_| results_enabled(&config))
            .map(|path| ResultsWriter::new(path.to_path_buf())),
    };
    execute(&args, &config, selection, &mut callbacks)
}

/// The default printer and the enabled callbacks that write files.
struct RunCallbacks {
    printer: DefaultPrinter,
    results: Option<ResultsWriter>,
}

impl Callback for RunCallbacks {
    fn on_event(&mut self, event: &Event) {
        self.printer.on_event(event);
        if let Some(results) = &mut self.results {
            results.on_event(event);
        }
    }
}

/// ansible-playbook's exit code for a load error.
fn load_exit_code(kind: LoadErrorKind) -> i32 {
    match kind {
        LoadErrorKind::Parse => exit::UNREACHABLE_OR_PARSE_ERROR,
        LoadErrorKind::NotFound | LoadErrorKind::Vault => exit::ERROR,
        LoadErrorKind::ImportCycle => exit::INTERNAL_ERROR,
    }
}

/// The loader and the loaded playbooks, each with its path as given.
type LoadedPlaybooks = (Loader, Vec<(String, Playbook)>);

/// Prepares the run, printing the error that stops it and returning its exit code.
#[allow(clippy::print_stderr)]
fn prepare(
    args: &PlaybookArgs,
    config: &Config,
    callback: &mut (dyn Callback + Send),
) -> Result<RunSetup, i32> {
    setup::prepare(args, config, callback).map_err(|err| {
        eprint!("{}", err.render(args));
        err.exit_code()
    })
}

/// Loads every playbook, passing the loader's warnings to `callback`, printing the
/// error that stops loading and returning its exit code.
#[allow(clippy::print_stderr)]
fn load_playbooks(
    args: &PlaybookArgs,
    config: &Config,
    vault_secrets: VaultSecrets,
    callback: &mut (dyn Callback + Send),
) -> Result<LoadedPlaybooks, i32> {
    let mut loader = Loader::new(config, vault_secrets);
    let mut playbooks = Vec::new();
    for path in &args.playbooks {
        let loaded = loader.load_playbook(path);
        for note in loader.notes.drain(..) {
            callback.on_event(&match note {
                LoadNote::Warning(text) => Event::Warning(text),
                LoadNote::Verbose(text) => Event::Verbose { level: 2, text },
            });
        }
        match loaded {
            Ok(playbook) => playbooks.push((path.display().to_string(), playbook)),
            Err(err) => {
                eprint!("{}", err.render());
                return Err(load_exit_code(err.kind));
            }
        }
    }
    Ok((loader, playbooks))
}

/// Runs the modes that only load and report: `--syntax-check`, `--list-hosts`,
/// `--list-tasks` and `--list-tags`.
#[allow(clippy::print_stdout)]
fn list(
    args: &PlaybookArgs,
    config: &Config,
    selection: TagSelection,
    modes: ListModes,
    callback: &mut (dyn Callback + Send),
) -> i32 {
    let setup = match prepare(args, config, callback) {
        Ok(setup) => setup,
        Err(code) => return code,
    };
    let (loader, playbooks) =
        match load_playbooks(args, config, setup.vault_secrets.clone(), callback) {
            Ok(loaded) => loaded,
            Err(code) => return code,
        };
    let mut executor =
        setup::build_executor(setup, args, config, selection.clone(), loader, callback);
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
        listing::render(
            playbook,
            display_path,
            modes,
            &selection,
            &mut resolver,
            &mut |text| {
                use std::io::Write;
                let mut stdout = std::io::stdout();
                let _ = stdout.write_all(text.as_bytes());
                let _ = stdout.flush();
            },
        );
    }
    exit::OK
}

fn default_printer(args: &PlaybookArgs, config: &Config) -> DefaultPrinter {
    let printer_options = DefaultOptions {
        verbosity: args.verbose,
        display_skipped_hosts: config.bool("DISPLAY_SKIPPED_HOSTS"),
        display_ok_hosts: config.bool("DISPLAY_OK_HOSTS"),
        display_failed_stderr: config.bool("DISPLAY_FAILED_STDERR"),
        display_args_to_stdout: config.bool("DISPLAY_ARGS_TO_STDOUT"),
        check_mode_markers: config.bool("CHECK_MODE_MARKERS"),
        show_per_host_start: config.bool("SHOW_PER_HOST_START"),
        // NOTE: on a terminal ansible-core wraps to the terminal's width less one (at
        // least 79); rplay always uses 79.
        columns: DEFAULT_COLUMNS,
        color: use_color(config),
        deprecation_warnings: config.bool("DEPRECATION_WARNINGS"),
        diff: args.diff,
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
    printer
}

/// Warns about each enabled callback plugin other than profile_tasks and rplay_results,
/// and about rplay_results without its output path.
fn warn_unknown_callbacks(config: &Config, callback: &mut (dyn Callback + Send)) {
    for name in config.list("CALLBACKS_ENABLED") {
        if is_results_callback(name) && config.path("RPLAY_RESULTS_PATH").is_none() {
            callback.on_event(&Event::Warning(format!(
                "Skipping callback plugin '{name}': its output path is not set \
                 (RPLAY_RESULTS_PATH or [callback_rplay_results] path)"
            )));
        } else if !is_profile_tasks(name) && !is_results_callback(name) {
            // NOTE: rplay implements only profile_tasks and rplay_results among the
            // optional callbacks, but ansible-core prints this warning only for callbacks
            // it cannot import.
            callback.on_event(&Event::Warning(format!(
                "Skipping callback plugin '{name}', unable to load"
            )));
        }
    }
    // rplay prints only the default callback's JSON results, so it warns rather than
    // silently print another layout than the one configured.
    let stdout_callback = config.str("DEFAULT_STDOUT_CALLBACK").unwrap_or("default");
    if !matches!(stdout_callback, "default" | "ansible.builtin.default") {
        callback.on_event(&Event::Warning(format!(
            "rplay does not support the stdout callback '{stdout_callback}'; using 'default'"
        )));
    }
    if config
        .str("CALLBACK_RESULT_FORMAT")
        .is_some_and(|format| format != "json")
    {
        callback.on_event(&Event::Warning(
            "rplay prints results as JSON only; callback_result_format is ignored".to_string(),
        ));
    }
}

/// Prepares the run, loads the playbooks and runs them with the default printer.
#[allow(clippy::print_stderr)]
fn execute(
    args: &PlaybookArgs,
    config: &Config,
    selection: TagSelection,
    printer: &mut (dyn Callback + Send),
) -> i32 {
    let setup = match prepare(args, config, printer) {
        Ok(setup) => setup,
        Err(code) => return code,
    };
    let (loader, playbooks) =
        match load_playbooks(args, config, setup.vault_secrets.clone(), printer) {
            Ok(loaded) => loaded,
            Err(code) => return code,
        };
    // ansible-playbook loads the callback plugins once the first playbook is parsed.
    warn_unknown_callbacks(config, printer);
    let playbooks: Vec<Playbook> = playbooks
        .into_iter()
        .map(|(_, playbook)| playbook)
        .collect();
    let mut executor = setup::build_executor(setup, args, config, selection, loader, printer);
    if args.verbose >= 2 {
        print_stdout_callback_skips();
    }
    match executor.run(&playbooks) {
        Ok(result) => result.exit_code(),
        Err(err) => {
            eprint!("{}", err.render());
            run_exit_code(&err)
        }
    }
}

/// Tells whether to colour the output, as ansible-core decides: `force_color` wins, else
/// `nocolor` turns colours off, else standard output must be a terminal.
fn use_color(config: &Config) -> bool {
    use std::io::IsTerminal;
    config.bool("ANSIBLE_FORCE_COLOR")
        || (!config.bool("ANSIBLE_NOCOLOR") && std::io::stdout().is_terminal())
}

/// Prints the lines ansible-core prints at `-vv` for the stock stdout callbacks it loads
/// and skips because another one is in use.
#[allow(clippy::print_stdout)]
fn print_stdout_callback_skips() {
    for name in ["default", "minimal", "oneline"] {
        println!("Skipping callback '{name}', as we already have a stdout callback.");
    }
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

/// ansible-playbook's exit code for an error that stopped the run.
fn run_exit_code(err: &RunError) -> i32 {
    match err {
        RunError::Load(err) => load_exit_code(err.kind),
        RunError::HostVars(_) => exit::UNREACHABLE_OR_PARSE_ERROR,
        RunError::IncludeDepth { .. }
        | RunError::MissingHandler { .. }
        | RunError::FlushHandlersAsHandler
        | RunError::CorruptFactCache(_) => exit::ERROR,
    }
}

fn profile_tasks_enabled(config: &Config) -> bool {
    config
        .list("CALLBACKS_ENABLED")
        .iter()
        .any(|name| is_profile_tasks(name))
}

fn results_enabled(config: &Config) -> bool {
    config
        .list("CALLBACKS_ENABLED")
        .iter()
        .any(|name| is_results_callback(name))
}

fn is_profile_tasks(name: &str) -> bool {
    matches!(name, "profile_tasks" | "ansible.posix.profile_tasks")
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
