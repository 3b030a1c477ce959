//! `--list-tasks`, `--list-tags` and `--list-hosts` output, as ansible-playbook 2.18
//! prints it.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::executor::tags::TagSelection;
use crate::playbook::walk::{for_each_task, sections, task_display_name, Ancestry, Sections};
use crate::playbook::{Play, Playbook, Spanned};
use crate::Value;
use rplay_modules::pyrepr::str_repr;

/// What to list.
#[derive(Clone, Copy, Debug, Default)]
pub struct ListModes {
    pub hosts: bool,
    pub tasks: bool,
    pub tags: bool,
}

/// What the listing needs from the engine for one play.
pub trait PlayResolver {
    /// The play's name and host patterns after templating.
    fn play_header(&mut self, play: &Play) -> (String, Vec<String>);
    /// The hosts the patterns select, in order.
    fn hosts(&mut self, play: &Play, patterns: &[String]) -> Vec<String>;
    /// Templates tags, flattening lists and splitting strings at commas.
    fn tags(&mut self, play: &Play, tags: &[Spanned<Value>]) -> BTreeSet<String>;
}

/// Renders the listing of one playbook, passing each part to `emit` as soon as it is
/// ready, so warnings the resolver prints between parts appear where ansible-playbook
/// prints them.
pub fn render(
    playbook: &Playbook,
    display_path: &str,
    modes: ListModes,
    selection: &TagSelection,
    resolver: &mut dyn PlayResolver,
    emit: &mut dyn FnMut(&str),
) {
    emit(&format!("\nplaybook: {display_path}\n"));
    for (index, play) in playbook.plays.iter().enumerate() {
        let mut out = String::new();
        let (name, patterns) = resolver.play_header(play);
        let play_tags = resolver.tags(play, &play.inherited.tags);
        let play_tags_text: Vec<&str> = play_tags.iter().map(String::as_str).collect();
        let _ = write!(
            out,
            "\n  play #{} ({}): {}\tTAGS: [{}]",
            index + 1,
            patterns.join(","),
            name,
            play_tags_text.join(",")
        );
        if modes.hosts {
            let hosts = resolver.hosts(play, &patterns);
            let quoted: Vec<String> = patterns.iter().map(|p| str_repr(p)).collect();
            let _ = write!(
                out,
                "\n    pattern: [{}]\n    hosts ({}):",
                quoted.join(", "),
                hosts.len()
            );
            for host in &hosts {
                let _ = write!(out, "\n      {host}");
            }
        }
        out.push('\n');
        emit(&out);
        if modes.tasks || modes.tags {
            // ansible-playbook resolves the templated patterns here too (for the play's
            // variables), which prints their pattern warnings.
            resolver.hosts(play, &patterns);
            // ansible-core's `display()` adds a newline only when the text lacks one.
            let mut tasks = list_tasks(play, &play_tags, modes, selection, resolver);
            if !tasks.ends_with('\n') {
                tasks.push('\n');
            }
            emit(&tasks);
        }
    }
}

fn list_tasks(
    play: &Play,
    play_tags: &BTreeSet<String>,
    modes: ListModes,
    selection: &TagSelection,
    resolver: &mut dyn PlayResolver,
) -> String {
    let mut out = String::new();
    if modes.tasks {
        out.push_str("    tasks:\n");
    }
    let mut all_tags = BTreeSet::new();
    for section in sections(play) {
        let mut ancestry = Ancestry::default();
        // ansible-playbook lists the `block` lists only, never `rescue` or `always`.
        for_each_task(
            section,
            Sections::BlockOnly,
            &mut ancestry,
            &mut |task, ancestry| {
                let mut written: Vec<Spanned<Value>> = play.inherited.tags.clone();
                for inherited in ancestry.inherited() {
                    written.extend(inherited.tags.iter().cloned());
                }
                written.extend(task.inherited.tags.iter().cloned());
                let tags = resolver.tags(play, &written);
                if !selection.should_run(&tags) {
                    return;
                }
                all_tags.extend(tags.iter().cloned());
                if modes.tasks {
                    let shown: BTreeSet<&String> = play_tags.iter().chain(tags.iter()).collect();
                    let shown: Vec<&str> = shown.into_iter().map(String::as_str).collect();
                    // An unnamed task is listed by its action, without the role prefix.
                    let name = match &task.name {
                        Some(_) => {
                            task_display_name(task, ancestry.role().map(|role| role.as_ref()))
                        }
                        None => task.action.clone(),
                    };
                    let _ = writeln!(out, "      {name}\tTAGS: [{}]", shown.join(", "));
                }
            },
        );
    }
    if modes.tags {
        let shown: BTreeSet<&String> = play_tags.iter().chain(all_tags.iter()).collect();
        let shown: Vec<&str> = shown.into_iter().map(String::as_str).collect();
        let _ = writeln!(out, "      TASK TAGS: [{}]", shown.join(", "));
    }
    out
}
