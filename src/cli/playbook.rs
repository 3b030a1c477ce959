//! `rplay PLAYBOOK...`: load, then list, check or run.

use std::collections::BTreeSet;

use super::args::PlaybookArgs;
use super::exit;
use crate::config::Config;
use crate::executor::tags::TagSelection;
use crate::output::display::{warning_text, DEFAULT_COLUMNS};
use crate::output::listing::{self, ListModes, PlayResolver};
use crate::playbook::{value_text, LoadErrorKind, Loader, Play, Spanned};
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

    if args.syntax_check {
        for (display_path, _) in &playbooks {
            println!("\nplaybook: {display_path}");
        }
        return exit::OK;
    }
    if modes.hosts || modes.tasks || modes.tags {
        let mut resolver = UntemplatedResolver;
        for (display_path, playbook) in &playbooks {
            print!(
                "{}",
                listing::render(playbook, display_path, modes, &selection, &mut resolver)
            );
        }
        return exit::OK;
    }
    eprintln!("ERROR! running playbooks is not implemented yet");
    exit::ERROR
}

#[allow(clippy::print_stderr)]
fn flush_warnings(loader: &mut Loader) {
    for warning in loader.warnings.drain(..) {
        eprint!("{}", warning_text(&warning, DEFAULT_COLUMNS));
    }
}

/// Lists plays without templating or an inventory.
// TODO: replace with the variable manager's templating and the inventory's patterns.
struct UntemplatedResolver;

impl PlayResolver for UntemplatedResolver {
    fn play_header(&mut self, play: &Play) -> (String, Vec<String>) {
        let patterns = match &play.hosts.value {
            Value::List(items) => items.iter().map(value_text).collect(),
            other => vec![value_text(other)],
        };
        (play.display_name(), patterns)
    }

    fn hosts(&mut self, _play: &Play, _patterns: &[String]) -> Vec<String> {
        Vec::new()
    }

    fn tags(&mut self, _play: &Play, tags: &[Spanned<Value>]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for tag in tags {
            match &tag.value {
                Value::List(items) => out.extend(items.iter().map(value_text)),
                other => out.extend(value_text(other).split(',').map(|t| t.trim().to_string())),
            }
        }
        out
    }
}
