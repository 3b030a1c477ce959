//! Stretches of tasks that two runs executed in another order after an include.
//!
//! When an include task loads several files, ansible-core's linear strategy queues them
//! in the order in which the hosts' results reach the controller. The first host to
//! report decides the order of the files, and each host's tasks follow that order. So
//! which host finishes the include first (a matter of timing) changes the order of the
//! tasks after it, and how the hosts are grouped under their banners.
//!
//! After a task with `included:` lines, where the two logs stop agreeing, the smallest
//! stretch of tasks in A and in B that contains lines in the same slots for every host
//! (task, host, kind of line, loop item) is reported as reordered instead of as
//! differences. Lines of a slot whose content differs (status, dump, delegation) are
//! then compared with each other. When no such stretch exists, for instance because a
//! host lacks a line on one side, the tasks are compared one by one as before.

use std::collections::HashMap;
use std::ops::Range;

use serde_json::Value;

use super::align::{align, Aligned};
use crate::output::compare::parse::{Dump, HostEvent, HostLine, Message, Task, TaskKind};

/// A part of two task lists: tasks aligned one to one, or a reordered stretch.
pub(super) enum Segment<'a> {
    Aligned(Aligned<'a, Task>),
    /// Tasks `a` of log A and `b` of log B hold the same lines per host in another order.
    Reordered {
        a: Range<usize>,
        b: Range<usize>,
    },
}

/// Aligns the tasks of one play by banner and finds the reordered stretches. `equal`
/// returns true when two aligned tasks compare without differences.
pub(super) fn segments<'a>(
    a: &'a [Task],
    b: &'a [Task],
    equal: impl Fn(&Task, &Task) -> bool,
) -> Vec<Segment<'a>> {
    let mut segments = Vec::new();
    let (mut start_a, mut start_b) = (0, 0);
    let mut armed = false;
    'realign: loop {
        let (mut next_a, mut next_b) = (start_a, start_b);
        for aligned in align(&a[start_a..], &b[start_b..], task_key) {
            let aligned = shift(aligned, start_a, start_b);
            let (at_a, at_b, agrees) = match &aligned {
                Aligned::Both((index_a, task_a), (index_b, task_b)) => {
                    (*index_a, *index_b, equal(task_a, task_b))
                }
                Aligned::OnlyA(index, _) => (*index, next_b, false),
                Aligned::OnlyB(index, _) => (next_a, *index, false),
            };
            if !agrees && armed {
                if let Some((end_a, end_b)) = permuted_prefix(&a[at_a..], &b[at_b..]) {
                    segments.push(Segment::Reordered {
                        a: at_a..at_a + end_a,
                        b: at_b..at_b + end_b,
                    });
                    (start_a, start_b) = (at_a + end_a, at_b + end_b);
                    continue 'realign;
                }
            }
            match &aligned {
                Aligned::Both((index_a, task), (index_b, _)) => {
                    armed |= !task.included.is_empty();
                    (next_a, next_b) = (index_a + 1, index_b + 1);
                }
                Aligned::OnlyA(index, task) => {
                    armed |= !task.included.is_empty();
                    next_a = index + 1;
                }
                Aligned::OnlyB(index, task) => {
                    armed |= !task.included.is_empty();
                    next_b = index + 1;
                }
            }
            segments.push(Segment::Aligned(aligned));
        }
        return segments;
    }
}

/// Returns the key that tasks are aligned on: banner word and name.
pub(super) fn task_key(task: &Task) -> (TaskKind, String) {
    (task.kind, task.name.clone())
}

/// Adds the offsets of two sub-slices to an alignment of them.
fn shift(aligned: Aligned<'_, Task>, offset_a: usize, offset_b: usize) -> Aligned<'_, Task> {
    match aligned {
        Aligned::Both((index_a, a), (index_b, b)) => {
            Aligned::Both((index_a + offset_a, a), (index_b + offset_b, b))
        }
        Aligned::OnlyA(index, task) => Aligned::OnlyA(index + offset_a, task),
        Aligned::OnlyB(index, task) => Aligned::OnlyB(index + offset_b, task),
    }
}

/// One line of a task, for comparing stretches of tasks regardless of order.
pub(super) struct TaskLine<'a> {
    /// The task's index in its play.
    pub task: usize,
    /// The part a line shares with its counterpart in the other log: banner, host and
    /// kind of line, with the loop item or retry count.
    pub slot: String,
    /// The slot with everything else the line shows: equal for equal lines.
    pub content: String,
    pub source: LineSource<'a>,
}

/// The line a [`TaskLine`] stands for.
pub(super) enum LineSource<'a> {
    Host(&'a HostLine),
    Message(&'a Message),
    /// An `included:` line or a loose `...ignoring`, whose slot is its whole content.
    Other,
}

/// Finds the shortest prefixes of `a` and `b` whose lines fill the same slots per host,
/// and returns their lengths. A task of B joins B's prefix as soon as A's prefix has
/// all of its slots that B's prefix has not used yet, so the search is one pass over
/// each side.
fn permuted_prefix(a: &[Task], b: &[Task]) -> Option<(usize, usize)> {
    let slots = |task: &Task| -> Vec<String> {
        task_lines(0, task)
            .into_iter()
            .map(|line| line.slot)
            .collect()
    };
    let slots_b: Vec<Vec<String>> = b.iter().map(slots).collect();
    let mut balance: HashMap<String, i64> = HashMap::new();
    let mut unbalanced = 0usize;
    let mut seen_lines = false;
    let mut end_b = 0;
    for (index_a, task) in a.iter().enumerate() {
        for slot in slots(task) {
            seen_lines = true;
            adjust(&mut balance, &mut unbalanced, slot, 1);
        }
        while end_b < b.len() && covers(&balance, &slots_b[end_b]) {
            for slot in &slots_b[end_b] {
                adjust(&mut balance, &mut unbalanced, slot.clone(), -1);
            }
            end_b += 1;
        }
        if unbalanced == 0 && seen_lines && end_b > 0 {
            let (a, b) = (&a[..=index_a], &b[..end_b]);
            return in_another_order(a, b).then_some((a.len(), b.len()));
        }
    }
    None
}

/// Returns true when two stretches with the same slots differ in order: in the number
/// or the banners of their tasks, or in which task contains which slot.
fn in_another_order(a: &[Task], b: &[Task]) -> bool {
    let sorted_slots = |task: &Task| {
        let mut slots: Vec<String> = task_lines(0, task)
            .into_iter()
            .map(|line| line.slot)
            .collect();
        slots.sort_unstable();
        slots
    };
    a.len() != b.len()
        || a.iter().zip(b).any(|(task_a, task_b)| {
            task_key(task_a) != task_key(task_b) || sorted_slots(task_a) != sorted_slots(task_b)
        })
}

/// Adds `delta` to the count of `slot`, keeping the number of nonzero counts.
fn adjust(balance: &mut HashMap<String, i64>, unbalanced: &mut usize, slot: String, delta: i64) {
    let count = balance.entry(slot).or_insert(0);
    let was_zero = *count == 0;
    *count += delta;
    match (was_zero, *count == 0) {
        (true, false) => *unbalanced += 1,
        (false, true) => *unbalanced -= 1,
        _ => {}
    }
}

/// Returns true when `balance` has a positive count for each of `slots`, repeats included.
fn covers(balance: &HashMap<String, i64>, slots: &[String]) -> bool {
    let mut needed: HashMap<&str, i64> = HashMap::new();
    for slot in slots {
        *needed.entry(slot.as_str()).or_insert(0) += 1;
    }
    needed
        .iter()
        .all(|(slot, count)| balance.get(*slot).is_some_and(|have| have >= count))
}

/// Pairs the lines of two reordered stretches that differ: lines with equal content are
/// set aside, and each remaining line of A is paired with the next remaining line of B
/// in the same slot. The stretches fill the same slots, so every line finds a partner.
pub(super) fn differing_lines<'a>(
    a: &'a [Task],
    range_a: Range<usize>,
    b: &'a [Task],
    range_b: Range<usize>,
) -> Vec<(TaskLine<'a>, TaskLine<'a>)> {
    let lines = |tasks: &'a [Task], range: Range<usize>| -> Vec<TaskLine<'a>> {
        range
            .flat_map(|index| task_lines(index, &tasks[index]))
            .collect()
    };
    let (lines_a, lines_b) = (lines(a, range_a), lines(b, range_b));

    let mut by_content: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, line) in lines_b.iter().enumerate() {
        by_content
            .entry(line.content.as_str())
            .or_default()
            .push(index);
    }
    let mut used_b = vec![false; lines_b.len()];
    let mut left_a = Vec::new();
    for line in lines_a {
        let partner = by_content
            .get_mut(line.content.as_str())
            .and_then(|indices| (!indices.is_empty()).then(|| indices.remove(0)));
        match partner {
            Some(index) => used_b[index] = true,
            None => left_a.push(line),
        }
    }

    let mut left_b: HashMap<String, Vec<TaskLine<'a>>> = HashMap::new();
    for (line, used) in lines_b.into_iter().zip(used_b) {
        if !used {
            left_b.entry(line.slot.clone()).or_default().push(line);
        }
    }

    let mut pairs = Vec::new();
    for line_a in left_a {
        if let Some(partners) = left_b.get_mut(&line_a.slot) {
            if !partners.is_empty() {
                let line_b = partners.remove(0);
                pairs.push((line_a, line_b));
            }
        }
    }
    pairs
}

/// Splits the task at `index` into lines: one per host line, per host an `included:`
/// line names (the grouping of hosts under one line follows the order of their
/// results), per message and per loose `...ignoring`.
fn task_lines(index: usize, task: &Task) -> Vec<TaskLine<'_>> {
    let banner = format!(
        "{}\u{1f}{}\u{1f}{}",
        task.kind.banner(),
        task.name,
        task.check_mode
    );
    let mut lines = Vec::new();
    for line in &task.results {
        let delegated = line.delegated_to.as_deref().unwrap_or("");
        let (slot, shown) = match &line.event {
            HostEvent::Result {
                status,
                item,
                ignoring,
            } => (
                format!(
                    "{banner}\u{1f}{}\u{1f}result\u{1f}{}",
                    line.host,
                    item.as_deref().unwrap_or("")
                ),
                format!("{}\u{1f}{ignoring}", status.as_str()),
            ),
            HostEvent::Retry { name, retries_left } => (
                format!("{banner}\u{1f}{}\u{1f}retry\u{1f}{retries_left}", line.host),
                name.clone(),
            ),
        };
        let dump = match &line.dump {
            None => String::new(),
            Some(Dump::Json(value)) => canonical_json(value),
            Some(Dump::Text(text)) => text.clone(),
        };
        lines.push(TaskLine {
            task: index,
            content: format!("{slot}\u{1f}{delegated}\u{1f}{shown}\u{1f}{dump}"),
            slot,
            source: LineSource::Host(line),
        });
    }
    for included in &task.included {
        for host in &included.hosts {
            let slot = format!(
                "{banner}\u{1f}{host}\u{1f}included\u{1f}{}\u{1f}{}",
                included.file,
                included.item.as_deref().unwrap_or("")
            );
            lines.push(TaskLine {
                task: index,
                content: slot.clone(),
                slot,
                source: LineSource::Other,
            });
        }
    }
    for message in &task.messages {
        let slot = format!("{banner}\u{1f}message\u{1f}{:?}", message.kind);
        lines.push(TaskLine {
            task: index,
            content: format!(
                "{slot}\u{1f}{}\u{1f}{}",
                message.text,
                message.detail.join("\n")
            ),
            slot,
            source: LineSource::Message(message),
        });
    }
    for _ in &task.loose_ignoring {
        let slot = format!("{banner}\u{1f}...ignoring");
        lines.push(TaskLine {
            task: index,
            content: slot.clone(),
            slot,
            source: LineSource::Other,
        });
    }
    lines
}

/// JSON text with the keys of every object sorted, so that equal values give equal text
/// whatever order their keys were printed in.
fn canonical_json(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|left, right| left.0.cmp(right.0));
            let fields: Vec<String> = entries
                .into_iter()
                .map(|(key, value)| {
                    format!("{}:{}", Value::from(key.as_str()), canonical_json(value))
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(values) => {
            let values: Vec<String> = values.iter().map(canonical_json).collect();
            format!("[{}]", values.join(","))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::compare::parse::parse_log;

    fn tasks(log: &str) -> Vec<Task> {
        parse_log(log).plays.remove(0).tasks
    }

    /// Two tasks are equal when they hold the same lines in any order.
    fn same_lines(a: &Task, b: &Task) -> bool {
        let content = |task: &Task| -> Vec<String> {
            task_lines(0, task)
                .into_iter()
                .map(|line| line.content)
                .collect()
        };
        let (mut lines_a, mut lines_b) = (content(a), content(b));
        lines_a.sort();
        lines_b.sort();
        lines_a == lines_b
    }

    const INCLUDE: &str = "PLAY [all] ***\n\nTASK [Include] ***\n\
        included: /p/item.yml for alpha, beta => (item=red)\n\
        included: /p/item.yml for beta => (item=blue)\n\n";

    #[test]
    fn reordered_stretch_found() {
        let a = tasks(&format!(
            "{INCLUDE}TASK [Show] ***\nok: [alpha] => {{\"msg\": \"red\"}}\nok: [beta] => {{\"msg\": \"red\"}}\n\n\
             TASK [Show] ***\nok: [beta] => {{\"msg\": \"blue\"}}\n\n\
             TASK [After] ***\nok: [alpha]\nok: [beta]\n"
        ));
        let b = tasks(&format!(
            "{INCLUDE}TASK [Show] ***\nok: [beta] => {{\"msg\": \"blue\"}}\n\n\
             TASK [Show] ***\nok: [alpha] => {{\"msg\": \"red\"}}\nok: [beta] => {{\"msg\": \"red\"}}\n\n\
             TASK [After] ***\nok: [beta]\nok: [alpha]\n"
        ));
        let found = segments(&a, &b, same_lines);
        let reordered: Vec<(Range<usize>, Range<usize>)> = found
            .iter()
            .filter_map(|segment| match segment {
                Segment::Reordered { a, b } => Some((a.clone(), b.clone())),
                Segment::Aligned(_) => None,
            })
            .collect();
        assert_eq!(reordered, [(1..3, 1..3)]);
        assert_eq!(found.len(), 3, "include, stretch, After");
    }

    #[test]
    fn changed_status_in_stretch_paired() {
        let a = tasks(&format!(
            "{INCLUDE}TASK [Show] ***\nok: [alpha]\n\nTASK [Other] ***\nok: [beta]\n"
        ));
        let b = tasks(&format!(
            "{INCLUDE}TASK [Other] ***\nok: [beta]\n\nTASK [Show] ***\nchanged: [alpha]\n"
        ));
        let found = segments(&a, &b, same_lines);
        let Some(Segment::Reordered {
            a: range_a,
            b: range_b,
        }) = found.get(1)
        else {
            panic!("no reordered stretch after the include");
        };
        assert_eq!((range_a.clone(), range_b.clone()), (1..3, 1..3));
        let pairs = differing_lines(&a, range_a.clone(), &b, range_b.clone());
        assert_eq!(pairs.len(), 1);
        assert_eq!((pairs[0].0.task, pairs[0].1.task), (1, 2));
    }

    #[test]
    fn missing_line_not_reordered() {
        let a = tasks(&format!(
            "{INCLUDE}TASK [Show] ***\nok: [alpha]\n\nTASK [Other] ***\nok: [beta]\n"
        ));
        let b = tasks(&format!("{INCLUDE}TASK [Other] ***\nok: [beta]\n"));
        let found = segments(&a, &b, same_lines);
        assert!(found
            .iter()
            .all(|segment| matches!(segment, Segment::Aligned(_))));
    }

    #[test]
    fn changed_task_in_place_not_reordered() {
        let a = tasks(&format!("{INCLUDE}TASK [Show] ***\nok: [alpha]\n"));
        let b = tasks(&format!("{INCLUDE}TASK [Show] ***\nchanged: [alpha]\n"));
        let found = segments(&a, &b, same_lines);
        assert!(found
            .iter()
            .all(|segment| matches!(segment, Segment::Aligned(_))));
    }

    #[test]
    fn no_include_no_reordering() {
        let a =
            tasks("PLAY [all] ***\n\nTASK [One] ***\nok: [alpha]\n\nTASK [Two] ***\nok: [beta]\n");
        let b =
            tasks("PLAY [all] ***\n\nTASK [Two] ***\nok: [beta]\n\nTASK [One] ***\nok: [alpha]\n");
        let found = segments(&a, &b, same_lines);
        assert!(found
            .iter()
            .all(|segment| matches!(segment, Segment::Aligned(_))));
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let left: Value =
            serde_json::from_str(r#"{"b": 1, "a": {"d": [1, {"f": 2, "e": 3}], "c": null}}"#)
                .unwrap();
        let right: Value =
            serde_json::from_str(r#"{"a": {"c": null, "d": [1, {"e": 3, "f": 2}]}, "b": 1}"#)
                .unwrap();
        assert_eq!(canonical_json(&left), canonical_json(&right));
    }
}
