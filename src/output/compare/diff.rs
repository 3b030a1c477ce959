//! Compares two parsed logs and lists every difference, task by task.
//!
//! Plays are matched by name and tasks by banner (kind and name), in order, with a
//! longest-common-subsequence alignment, so a missing or extra task does not shift the
//! rest. Inside a task, host lines are compared per host; warnings, `included:` lines
//! and unrecognised lines are compared as multisets.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

mod align;
mod moved;
mod reorder;

use align::{align, unmatched, Aligned};
use reorder::{differing_lines, segments, LineSource, Segment};

use super::parse::{
    Dump, HostEvent, HostLine, Included, Log, Message, MessageKind, Play, Profile, RecapRow, Task,
    TaskKind,
};

/// One difference between log A and log B.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Difference {
    #[serde(flatten)]
    pub location: Location,
    #[serde(flatten)]
    pub subject: Subject,
    /// The value in A; `None` when A lacks the thing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a: Option<Value>,
    /// The value in B; `None` when B lacks the thing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b: Option<Value>,
    /// Line in A the difference is about, 1-based.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a_line: Option<usize>,
    /// Line in B the difference is about, 1-based.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b_line: Option<usize>,
}

/// The place of a difference: play, task, host and loop item, as far as they apply.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub play: Option<Position>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<Position>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
}

/// A play or task: its 1-based position among its siblings in A and in B, and its name.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Position {
    /// `play`, `task`, `handler` or `cleanup task`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_a: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_b: Option<usize>,
    pub name: String,
}

/// The part of the logs that differs. For the presence subjects (`Play`, `Task`, `Host`,
/// `Item`, `Result`, `Retry`, `Included`, `Message`, `RecapRow`), the side without the
/// thing has no value; a `Message` with values on both sides is a changed message.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "subject", rename_all = "snake_case")]
pub enum Subject {
    Play,
    Task,
    /// All lines of one host in a task; the values summarise them.
    Host,
    /// One loop item's line.
    Item,
    /// A host's task-level result line (the one without an item).
    Result,
    /// A `FAILED - RETRYING` line.
    Retry {
        retries_left: i64,
    },
    Status,
    Delegation,
    /// `...ignoring` after a host's result.
    Ignoring,
    /// The task name a retry line shows.
    RetryName,
    /// A field of a result dump, by path (`msg`, `results[0].rc`, `["a b"]`).
    Field {
        path: String,
    },
    /// A result dump that one side lacks or that is not JSON.
    Dump,
    Included,
    /// How many `...ignoring` lines follow loop items in the task.
    LooseIgnoring,
    Message {
        kind: &'static str,
    },
    /// The lines after the first of an `ERROR!` block.
    ErrorDetail,
    CheckMode,
    NoHostsMatched,
    NoMoreHostsLeft,
    RecapRow,
    RecapCount {
        counter: &'static str,
    },
    Profile,
    ProfileTimestamps,
    ProfileRows,
}

/// A stretch of tasks of one play that A and B ran in another order, with lines in the
/// same slots for every host. The files an include task loaded run in the order in
/// which the hosts reported that task (see `reorder.rs`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reordered {
    /// The play.
    #[serde(flatten)]
    pub location: Location,
    /// The first and the last task of the stretch in A, 1-based as in [`Position`].
    pub tasks_a: (usize, usize),
    /// The first and the last task of the stretch in B.
    pub tasks_b: (usize, usize),
    /// Line of the stretch's first banner in A, 1-based.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a_line: Option<usize>,
    /// Line of the stretch's first banner in B.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b_line: Option<usize>,
}

/// A task that ran on one host in A and on another host in B, with the same lines. A
/// `run_once` task runs on the first host of the play, and `group_by` fills a group in
/// the order in which the hosts reported (see `moved.rs`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MovedTask {
    /// The play and task.
    #[serde(flatten)]
    pub location: Location,
    pub host_a: String,
    pub host_b: String,
    /// Line of the host's first line in A, 1-based.
    pub a_line: usize,
    /// Line of the host's first line in B.
    pub b_line: usize,
}

/// The result of comparing two logs: the differences, then the stretches of tasks that
/// ran in another order and the tasks that ran on another host, with the same results,
/// which are not differences.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparison {
    pub differences: Vec<Difference>,
    pub reordered: Vec<Reordered>,
    pub moved: Vec<MovedTask>,
}

/// Compares two parsed (and normalised) logs.
pub fn diff_logs(a: &Log, b: &Log) -> Comparison {
    let mut differ = Differ::default();
    differ.messages(&Location::default(), &a.messages, &b.messages);
    differ.plays(&a.plays, &b.plays);
    differ.recap(&a.recap, &b.recap);
    differ.profile(a.profile.as_ref(), b.profile.as_ref());
    Comparison {
        differences: differ.differences,
        reordered: differ.reordered,
        moved: differ.moved,
    }
}

#[derive(Default)]
struct Differ {
    differences: Vec<Difference>,
    reordered: Vec<Reordered>,
    moved: Vec<MovedTask>,
}

impl Differ {
    fn push(
        &mut self,
        location: &Location,
        subject: Subject,
        a: Option<Value>,
        b: Option<Value>,
        lines: (Option<usize>, Option<usize>),
    ) {
        self.differences.push(Difference {
            location: location.clone(),
            subject,
            a,
            b,
            a_line: lines.0,
            b_line: lines.1,
        });
    }

    /// Records a difference of two values of the same thing when they are not equal.
    fn compare<T: PartialEq + Into<Value>>(
        &mut self,
        location: &Location,
        subject: Subject,
        a: T,
        b: T,
        lines: (Option<usize>, Option<usize>),
    ) {
        if a != b {
            self.push(location, subject, Some(a.into()), Some(b.into()), lines);
        }
    }

    fn plays(&mut self, a: &[Play], b: &[Play]) {
        for aligned in align(a, b, |play| play.name.clone()) {
            match aligned {
                Aligned::Both((index_a, play_a), (index_b, play_b)) => {
                    let location = Location {
                        play: Some(play_position(play_a, Some(index_a), Some(index_b))),
                        ..Location::default()
                    };
                    self.play(&location, play_a, play_b);
                }
                Aligned::OnlyA(index, play) => {
                    let location = Location {
                        play: Some(play_position(play, Some(index), None)),
                        ..Location::default()
                    };
                    let value = Value::from(play_title(play));
                    self.push(
                        &location,
                        Subject::Play,
                        Some(value),
                        None,
                        (play.line, None),
                    );
                }
                Aligned::OnlyB(index, play) => {
                    let location = Location {
                        play: Some(play_position(play, None, Some(index))),
                        ..Location::default()
                    };
                    let value = Value::from(play_title(play));
                    self.push(
                        &location,
                        Subject::Play,
                        None,
                        Some(value),
                        (None, play.line),
                    );
                }
            }
        }
    }

    fn play(&mut self, location: &Location, a: &Play, b: &Play) {
        let lines = (a.line, b.line);
        self.compare(
            location,
            Subject::CheckMode,
            a.check_mode,
            b.check_mode,
            lines,
        );
        self.compare(
            location,
            Subject::NoHostsMatched,
            a.no_hosts_matched.is_some(),
            b.no_hosts_matched.is_some(),
            (a.no_hosts_matched.or(a.line), b.no_hosts_matched.or(b.line)),
        );
        self.compare(
            location,
            Subject::NoMoreHostsLeft,
            a.no_more_hosts_left.len() as u64,
            b.no_more_hosts_left.len() as u64,
            (
                a.no_more_hosts_left.first().copied().or(a.line),
                b.no_more_hosts_left.first().copied().or(b.line),
            ),
        );
        self.messages(location, &a.messages, &b.messages);
        self.tasks(location, &a.tasks, &b.tasks);
    }

    fn tasks(&mut self, play: &Location, a: &[Task], b: &[Task]) {
        let equal = |task_a: &Task, task_b: &Task| {
            let mut scratch = Differ::default();
            scratch.task(play, task_a, task_b);
            scratch.differences.is_empty()
        };
        for segment in segments(a, b, equal) {
            let aligned = match segment {
                Segment::Aligned(aligned) => aligned,
                Segment::Reordered {
                    a: range_a,
                    b: range_b,
                } => {
                    self.reordered.push(Reordered {
                        location: play.clone(),
                        tasks_a: (range_a.start + 1, range_a.end),
                        tasks_b: (range_b.start + 1, range_b.end),
                        a_line: a[range_a.start].line,
                        b_line: b[range_b.start].line,
                    });
                    self.reordered_lines(play, a, range_a, b, range_b);
                    continue;
                }
            };
            let (task_a, task_b, position) = match aligned {
                Aligned::Both((index_a, task_a), (index_b, task_b)) => (
                    Some(task_a),
                    Some(task_b),
                    task_position(task_a, Some(index_a), Some(index_b)),
                ),
                Aligned::OnlyA(index, task) => {
                    (Some(task), None, task_position(task, Some(index), None))
                }
                Aligned::OnlyB(index, task) => {
                    (None, Some(task), task_position(task, None, Some(index)))
                }
            };
            let location = Location {
                task: Some(position),
                ..play.clone()
            };
            match (task_a, task_b) {
                (Some(task_a), Some(task_b)) => self.task(&location, task_a, task_b),
                (task_a, task_b) => {
                    let title = |task: &Task| Value::from(task_title(task));
                    self.push(
                        &location,
                        Subject::Task,
                        task_a.map(title),
                        task_b.map(title),
                        (task_a.and_then(|t| t.line), task_b.and_then(|t| t.line)),
                    );
                }
            }
        }
    }

    /// Compares the lines of a reordered stretch that are not equal on both sides, each
    /// with the line of the other side in the same slot (task, host, loop item).
    fn reordered_lines(
        &mut self,
        play: &Location,
        a: &[Task],
        range_a: std::ops::Range<usize>,
        b: &[Task],
        range_b: std::ops::Range<usize>,
    ) {
        for (line_a, line_b) in differing_lines(a, range_a, b, range_b) {
            let task = &a[line_a.task];
            let location = Location {
                task: Some(task_position(task, Some(line_a.task), Some(line_b.task))),
                ..play.clone()
            };
            match (line_a.source, line_b.source) {
                (LineSource::Host(host_a), LineSource::Host(host_b)) => {
                    let location = Location {
                        host: Some(host_a.host.clone()),
                        ..location
                    };
                    self.host_line(&location, host_a, host_b);
                }
                (LineSource::Message(message_a), LineSource::Message(message_b)) => {
                    let (message_a, message_b) = (message_a.clone(), message_b.clone());
                    self.messages(&location, &[message_a], &[message_b]);
                }
                // Other lines are equal when their slots are.
                _ => {}
            }
        }
    }

    fn task(&mut self, location: &Location, a: &Task, b: &Task) {
        let lines = (a.line, b.line);
        self.compare(
            location,
            Subject::CheckMode,
            a.check_mode,
            b.check_mode,
            lines,
        );
        self.task_hosts(location, a, b);
        self.included(location, &a.included, &b.included);
        self.compare(
            location,
            Subject::LooseIgnoring,
            a.loose_ignoring.len() as u64,
            b.loose_ignoring.len() as u64,
            (
                a.loose_ignoring.first().copied().or(a.line),
                b.loose_ignoring.first().copied().or(b.line),
            ),
        );
        self.messages(location, &a.messages, &b.messages);
    }

    fn task_hosts(&mut self, location: &Location, a: &Task, b: &Task) {
        let by_host_a = group_by_host(&a.results);
        let by_host_b = group_by_host(&b.results);
        if let Some(moved) = self.moved_task(location, &by_host_a, &by_host_b) {
            self.moved.push(moved);
            return;
        }
        let mut hosts: Vec<&str> = by_host_a.keys().chain(by_host_b.keys()).copied().collect();
        hosts.sort_unstable();
        hosts.dedup();
        for host in hosts {
            let location = Location {
                host: Some(host.to_string()),
                ..location.clone()
            };
            match (by_host_a.get(host), by_host_b.get(host)) {
                (Some(lines_a), Some(lines_b)) => self.host_lines(&location, lines_a, lines_b),
                (lines_a, lines_b) => {
                    let summary = |lines: &Vec<&HostLine>| Value::from(summarize(lines));
                    let first = |lines: &Vec<&HostLine>| lines[0].line;
                    self.push(
                        &location,
                        Subject::Host,
                        lines_a.map(summary),
                        lines_b.map(summary),
                        (lines_a.map(first), lines_b.map(first)),
                    );
                }
            }
        }
    }

    fn host_lines(&mut self, location: &Location, a: &[&HostLine], b: &[&HostLine]) {
        for aligned in align(a, b, |line| line_key(line)) {
            match aligned {
                Aligned::Both((_, line_a), (_, line_b)) => self.host_line(location, line_a, line_b),
                Aligned::OnlyA(_, line) => self.missing_line(location, line, true),
                Aligned::OnlyB(_, line) => self.missing_line(location, line, false),
            }
        }
    }

    fn missing_line(&mut self, location: &Location, line: &HostLine, in_a: bool) {
        let mut location = location.clone();
        let (subject, value) = match &line.event {
            HostEvent::Result { status, item, .. } => {
                location.item = item.clone();
                let subject = if item.is_some() {
                    Subject::Item
                } else {
                    Subject::Result
                };
                (subject, Value::from(status.as_str()))
            }
            HostEvent::Retry { retries_left, .. } => (
                Subject::Retry {
                    retries_left: *retries_left,
                },
                Value::from(format!("{retries_left} retries left")),
            ),
        };
        if in_a {
            self.push(
                &location,
                subject,
                Some(value),
                None,
                (Some(line.line), None),
            );
        } else {
            self.push(
                &location,
                subject,
                None,
                Some(value),
                (None, Some(line.line)),
            );
        }
    }

    fn host_line(&mut self, location: &Location, a: &HostLine, b: &HostLine) {
        let lines = (Some(a.line), Some(b.line));
        let mut location = location.clone();
        match (&a.event, &b.event) {
            (
                HostEvent::Result {
                    status: status_a,
                    item,
                    ignoring: ignoring_a,
                },
                HostEvent::Result {
                    status: status_b,
                    ignoring: ignoring_b,
                    ..
                },
            ) => {
                location.item = item.clone();
                let (status_a, status_b) = (status_a.as_str(), status_b.as_str());
                self.compare(&location, Subject::Status, status_a, status_b, lines);
                self.compare(
                    &location,
                    Subject::Ignoring,
                    *ignoring_a,
                    *ignoring_b,
                    lines,
                );
            }
            (HostEvent::Retry { name: name_a, .. }, HostEvent::Retry { name: name_b, .. }) => {
                self.compare(
                    &location,
                    Subject::RetryName,
                    name_a.as_str(),
                    name_b.as_str(),
                    lines,
                );
            }
            // Lines are aligned on a key that includes the event kind.
            _ => {}
        }
        let delegate = |line: &HostLine| line.delegated_to.clone().map_or(Value::Null, Value::from);
        self.compare(
            &location,
            Subject::Delegation,
            delegate(a),
            delegate(b),
            lines,
        );
        self.dumps(&location, a.dump.as_ref(), b.dump.as_ref(), lines);
    }

    fn dumps(
        &mut self,
        location: &Location,
        a: Option<&Dump>,
        b: Option<&Dump>,
        lines: (Option<usize>, Option<usize>),
    ) {
        match (a, b) {
            (None, None) => {}
            (Some(Dump::Json(value_a)), Some(Dump::Json(value_b))) => {
                self.values(location, "", value_a, value_b, lines);
            }
            (a, b) if a != b => {
                self.push(
                    location,
                    Subject::Dump,
                    a.map(dump_value),
                    b.map(dump_value),
                    lines,
                );
            }
            _ => {}
        }
    }

    /// Compares two JSON values recursively and records each differing leaf by path.
    fn values(
        &mut self,
        location: &Location,
        path: &str,
        a: &Value,
        b: &Value,
        lines: (Option<usize>, Option<usize>),
    ) {
        match (a, b) {
            (Value::Object(map_a), Value::Object(map_b)) => {
                for (key, value_a) in map_a {
                    let child = key_path(path, key);
                    match map_b.get(key) {
                        Some(value_b) => self.values(location, &child, value_a, value_b, lines),
                        None => self.field(location, child, Some(value_a), None, lines),
                    }
                }
                for (key, value_b) in map_b.iter().filter(|(key, _)| !map_a.contains_key(*key)) {
                    self.field(location, key_path(path, key), None, Some(value_b), lines);
                }
            }
            (Value::Array(items_a), Value::Array(items_b)) => {
                for index in 0..items_a.len().max(items_b.len()) {
                    let child = format!("{path}[{index}]");
                    match (items_a.get(index), items_b.get(index)) {
                        (Some(item_a), Some(item_b)) => {
                            self.values(location, &child, item_a, item_b, lines)
                        }
                        (item_a, item_b) => self.field(location, child, item_a, item_b, lines),
                    }
                }
            }
            _ if a != b => self.field(location, path.to_string(), Some(a), Some(b), lines),
            _ => {}
        }
    }

    fn field(
        &mut self,
        location: &Location,
        path: String,
        a: Option<&Value>,
        b: Option<&Value>,
        lines: (Option<usize>, Option<usize>),
    ) {
        self.push(
            location,
            Subject::Field { path },
            a.cloned(),
            b.cloned(),
            lines,
        );
    }

    fn included(&mut self, location: &Location, a: &[Included], b: &[Included]) {
        let (only_a, only_b) = unmatched(a, b, included_text);
        for included in only_a {
            let value = Value::from(included_text(included));
            self.push(
                location,
                Subject::Included,
                Some(value),
                None,
                (Some(included.line), None),
            );
        }
        for included in only_b {
            let value = Value::from(included_text(included));
            self.push(
                location,
                Subject::Included,
                None,
                Some(value),
                (None, Some(included.line)),
            );
        }
    }

    /// Compares the messages of one scope as multisets. Leftovers are paired where the
    /// pairing is clear: an `ERROR!` with the same first line on both sides differs in
    /// its detail lines, and a single leftover warning, deprecation or error on each side
    /// is one changed message.
    fn messages(&mut self, location: &Location, a: &[Message], b: &[Message]) {
        let key = |message: &Message| (message.kind, message.text.clone(), message.detail.clone());
        let (mut only_a, mut only_b) = unmatched(a, b, key);
        let mut index_a = 0;
        while index_a < only_a.len() {
            let message_a = only_a[index_a];
            let partner = only_b.iter().position(|message_b| {
                message_a.kind == MessageKind::Error
                    && message_b.kind == MessageKind::Error
                    && message_a.text == message_b.text
            });
            let Some(index_b) = partner else {
                index_a += 1;
                continue;
            };
            let message_b = only_b.remove(index_b);
            only_a.remove(index_a);
            self.push(
                location,
                Subject::ErrorDetail,
                Some(Value::from(message_a.detail.join("\n"))),
                Some(Value::from(message_b.detail.join("\n"))),
                (Some(message_a.line), Some(message_b.line)),
            );
        }
        for kind in [
            MessageKind::Warning,
            MessageKind::Deprecation,
            MessageKind::Error,
        ] {
            let of_kind = |messages: &[&Message]| {
                let indices: Vec<usize> = (0..messages.len())
                    .filter(|index| messages[*index].kind == kind)
                    .collect();
                (indices.len() == 1).then(|| indices[0])
            };
            if let (Some(index_a), Some(index_b)) = (of_kind(&only_a), of_kind(&only_b)) {
                let (message_a, message_b) = (only_a.remove(index_a), only_b.remove(index_b));
                self.push(
                    location,
                    message_subject(message_a),
                    Some(Value::from(message_a.text.clone())),
                    Some(Value::from(message_b.text.clone())),
                    (Some(message_a.line), Some(message_b.line)),
                );
            }
        }
        for message in only_a {
            let value = Value::from(message.text.clone());
            self.push(
                location,
                message_subject(message),
                Some(value),
                None,
                (Some(message.line), None),
            );
        }
        for message in only_b {
            let value = Value::from(message.text.clone());
            self.push(
                location,
                message_subject(message),
                None,
                Some(value),
                (None, Some(message.line)),
            );
        }
    }

    fn recap(&mut self, a: &[RecapRow], b: &[RecapRow]) {
        let summed = self.counters_summed_in_recap(a, b);
        for aligned in align(a, b, |row| row.host.clone()) {
            let (row_a, row_b) = match aligned {
                Aligned::Both((_, row_a), (_, row_b)) => (Some(row_a), Some(row_b)),
                Aligned::OnlyA(_, row) => (Some(row), None),
                Aligned::OnlyB(_, row) => (None, Some(row)),
            };
            let host = row_a.or(row_b).map(|row| row.host.clone());
            let location = Location {
                host,
                ..Location::default()
            };
            let lines = (row_a.map(|row| row.line), row_b.map(|row| row.line));
            match (row_a, row_b) {
                (Some(row_a), Some(row_b)) => {
                    let summed = summed.get(&row_a.host);
                    for (column, ((counter, count_a), (_, count_b))) in row_a
                        .counters()
                        .into_iter()
                        .zip(row_b.counters())
                        .enumerate()
                    {
                        if summed.is_some_and(|columns| columns.contains(&column)) {
                            continue;
                        }
                        let subject = Subject::RecapCount { counter };
                        self.compare(&location, subject, count_a, count_b, lines);
                    }
                }
                (row_a, row_b) => {
                    let counts = |row: &RecapRow| Value::from(recap_counts(row));
                    self.push(
                        &location,
                        Subject::RecapRow,
                        row_a.map(counts),
                        row_b.map(counts),
                        lines,
                    );
                }
            }
        }
    }

    fn profile(&mut self, a: Option<&Profile>, b: Option<&Profile>) {
        let location = Location::default();
        match (a, b) {
            (Some(a), Some(b)) => {
                let lines = (a.table_line, b.table_line);
                let timestamps = (a.timestamps as u64, b.timestamps as u64);
                self.compare(
                    &location,
                    Subject::ProfileTimestamps,
                    timestamps.0,
                    timestamps.1,
                    lines,
                );
                let rows = (a.rows.len() as u64, b.rows.len() as u64);
                self.compare(&location, Subject::ProfileRows, rows.0, rows.1, lines);
            }
            (None, None) => {}
            (a, b) => self.compare(
                &location,
                Subject::Profile,
                a.is_some(),
                b.is_some(),
                (None, None),
            ),
        }
    }
}

fn play_position(play: &Play, index_a: Option<usize>, index_b: Option<usize>) -> Position {
    Position {
        kind: "play",
        index_a: index_a.map(|index| index + 1),
        index_b: index_b.map(|index| index + 1),
        name: play.name.clone().unwrap_or_default(),
    }
}

fn task_position(task: &Task, index_a: Option<usize>, index_b: Option<usize>) -> Position {
    Position {
        kind: match task.kind {
            TaskKind::Task => "task",
            TaskKind::Handler => "handler",
            TaskKind::Cleanup => "cleanup task",
        },
        index_a: index_a.map(|index| index + 1),
        index_b: index_b.map(|index| index + 1),
        name: task.name.clone(),
    }
}

fn play_title(play: &Play) -> String {
    match &play.name {
        Some(name) => format!("PLAY [{name}]"),
        None => "PLAY".to_string(),
    }
}

fn task_title(task: &Task) -> String {
    format!("{} [{}]", task.kind.banner(), task.name)
}

fn group_by_host(lines: &[HostLine]) -> BTreeMap<&str, Vec<&HostLine>> {
    let mut groups: BTreeMap<&str, Vec<&HostLine>> = BTreeMap::new();
    for line in lines {
        groups.entry(line.host.as_str()).or_default().push(line);
    }
    groups
}

/// The identity of a host line among the host's lines in one task.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum LineKey {
    Result(Option<String>),
    Retry(i64),
}

fn line_key(line: &HostLine) -> LineKey {
    match &line.event {
        HostEvent::Result { item, .. } => LineKey::Result(item.clone()),
        HostEvent::Retry { retries_left, .. } => LineKey::Retry(*retries_left),
    }
}

/// Summarises a host's lines in a task: `ok`, or `ok (item=a), skipping (item=b)`.
fn summarize(lines: &[&HostLine]) -> String {
    const SHOWN: usize = 4;
    let mut parts: Vec<String> = lines
        .iter()
        .take(SHOWN)
        .map(|line| line_summary(line))
        .collect();
    if lines.len() > SHOWN {
        parts.push(format!("... ({} lines)", lines.len()));
    }
    parts.join(", ")
}

fn line_summary(line: &HostLine) -> String {
    match &line.event {
        HostEvent::Result {
            status,
            item: Some(item),
            ..
        } => format!("{} (item={item})", status.as_str()),
        HostEvent::Result { status, .. } => status.as_str().to_string(),
        HostEvent::Retry { retries_left, .. } => format!("retrying ({retries_left} left)"),
    }
}

fn dump_value(dump: &Dump) -> Value {
    match dump {
        Dump::Json(value) => value.clone(),
        Dump::Text(text) => Value::from(text.clone()),
    }
}

/// Extends a JSON path: `a.b` for identifier-like keys, `a["b c"]` for others.
fn key_path(path: &str, key: &str) -> String {
    let identifier = key
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_alphanumeric() || c == '_');
    match (identifier, path.is_empty()) {
        (true, true) => key.to_string(),
        (true, false) => format!("{path}.{key}"),
        (false, _) => format!("{path}[{}]", Value::from(key)),
    }
}

/// Renders an `included:` line with its hosts sorted, the form that is compared.
fn included_text(included: &Included) -> String {
    let mut hosts = included.hosts.clone();
    hosts.sort();
    let mut text = format!("{} for {}", included.file, hosts.join(", "));
    if let Some(item) = &included.item {
        text.push_str(&format!(" => (item={item})"));
    }
    text
}

fn message_subject(message: &Message) -> Subject {
    let kind = match message.kind {
        MessageKind::Warning => "warning",
        MessageKind::Deprecation => "deprecation",
        MessageKind::Error => "error",
        MessageKind::Text => "line",
    };
    Subject::Message { kind }
}

fn recap_counts(row: &RecapRow) -> String {
    row.counters()
        .iter()
        .map(|(name, count)| format!("{name}={count}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse_log;
    use super::*;
    use serde_json::json;

    fn diff(a: &str, b: &str) -> Vec<Difference> {
        diff_logs(&parse_log(a), &parse_log(b)).differences
    }

    const BASE: &str = concat!(
        "PLAY [p] ***\n",
        "TASK [one] ***\n",
        "ok: [alpha] => {\"msg\": \"x\"}\n",
        "ok: [beta] => {\"msg\": \"x\"}\n",
        "TASK [two] ***\n",
        "changed: [alpha]\n",
        "PLAY RECAP ***\n",
        "alpha : ok=2 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0\n",
    );

    #[test]
    fn equal_logs() {
        assert_eq!(diff(BASE, BASE), []);
    }

    #[test]
    fn host_order_does_not_matter() {
        let swapped = BASE.replace(
            "ok: [alpha] => {\"msg\": \"x\"}\nok: [beta] => {\"msg\": \"x\"}",
            "ok: [beta] => {\"msg\": \"x\"}\nok: [alpha] => {\"msg\": \"x\"}",
        );
        assert_ne!(swapped, BASE);
        assert_eq!(diff(BASE, &swapped), []);
    }

    #[test]
    fn status_and_field() {
        let changed = BASE.replace(
            "ok: [beta] => {\"msg\": \"x\"}",
            "fatal: [beta]: FAILED! => {\"msg\": \"y\"}",
        );
        let differences = diff(BASE, &changed);
        assert_eq!(differences.len(), 2, "{differences:#?}");
        assert_eq!(differences[0].subject, Subject::Status);
        assert_eq!(differences[0].location.host.as_deref(), Some("beta"));
        assert_eq!(differences[0].a, Some(json!("ok")));
        assert_eq!(differences[0].b, Some(json!("fatal")));
        assert_eq!(
            differences[1].subject,
            Subject::Field { path: "msg".into() }
        );
        assert_eq!(differences[1].a, Some(json!("x")));
        assert_eq!(differences[1].b, Some(json!("y")));
    }

    #[test]
    fn missing_task_does_not_shift_the_rest() {
        let missing = BASE.replace(
            "TASK [one] ***\nok: [alpha] => {\"msg\": \"x\"}\nok: [beta] => {\"msg\": \"x\"}\n",
            "",
        );
        let differences = diff(BASE, &missing);
        assert_eq!(differences.len(), 1, "{differences:#?}");
        assert_eq!(differences[0].subject, Subject::Task);
        let task = differences[0]
            .location
            .task
            .as_ref()
            .expect("task position");
        assert_eq!((task.index_a, task.index_b), (Some(1), None));
        assert_eq!(differences[0].b, None);
    }

    #[test]
    fn recap_counter() {
        let changed = BASE.replace("ok=2 changed=1", "ok=3 changed=1");
        let differences = diff(BASE, &changed);
        assert_eq!(differences.len(), 1);
        assert_eq!(
            differences[0].subject,
            Subject::RecapCount { counter: "ok" }
        );
        assert_eq!(
            (differences[0].a.clone(), differences[0].b.clone()),
            (Some(json!(2)), Some(json!(3)))
        );
    }

    #[test]
    fn nested_paths() {
        let a = "TASK [t] ***\nok: [h] => {\"results\": [{\"rc\": 0}], \"a b\": 1}\n";
        let b = "TASK [t] ***\nok: [h] => {\"results\": [{\"rc\": 1}, {}], \"a b\": 1}\n";
        let paths: Vec<Subject> = diff(a, b).into_iter().map(|d| d.subject).collect();
        assert_eq!(
            paths,
            [
                Subject::Field {
                    path: "results[0].rc".into()
                },
                Subject::Field {
                    path: "results[1]".into()
                },
            ]
        );
        assert_eq!(key_path("x", "a b"), "x[\"a b\"]");
    }

    #[test]
    fn loop_items_per_host() {
        let a = concat!(
            "TASK [t] ***\n",
            "ok: [a] => (item=1)\n",
            "ok: [b] => (item=1)\n",
            "skipping: [a] => (item=2) \n",
            "ok: [b] => (item=2)\n",
        );
        let b = concat!(
            "TASK [t] ***\n",
            "ok: [b] => (item=1)\n",
            "ok: [b] => (item=2)\n",
            "ok: [a] => (item=1)\n",
            "ok: [a] => (item=2)\n",
        );
        let differences = diff(a, b);
        assert_eq!(differences.len(), 1, "{differences:#?}");
        assert_eq!(differences[0].location.host.as_deref(), Some("a"));
        assert_eq!(differences[0].location.item.as_deref(), Some("2"));
        assert_eq!(differences[0].subject, Subject::Status);
    }

    #[test]
    fn error_detail() {
        let a = "ERROR! bad\n\nline one\n";
        let b = "ERROR! bad\n  --> here\n";
        let differences = diff(a, b);
        assert_eq!(differences.len(), 1);
        assert_eq!(differences[0].subject, Subject::ErrorDetail);
    }

    #[test]
    fn warning_wrapping_does_not_matter() {
        let wrapped = concat!(
            "TASK [t] ***\n",
            "[WARNING]: TASK: Inner loop reuses item: The loop variable 'item' is already in\n",
            "use. You should set the `loop_var` value in the `loop_control` option for the\n",
            "task to something else to avoid variable collisions and unexpected behavior.\n",
            "ok: [a]\n",
        );
        let one_line = concat!(
            "TASK [t] ***\n",
            "ok: [a]\n",
            "[WARNING]: TASK: Inner loop reuses item: The loop variable 'item' is already in use. ",
            "You should set the `loop_var` value in the `loop_control` option for the task to ",
            "something else to avoid variable collisions and unexpected behavior.\n",
        );
        assert_eq!(diff(wrapped, one_line), []);
    }

    #[test]
    fn changed_warning_is_one_difference() {
        let a = "TASK [t] ***\n[WARNING]: one thing\n";
        let b = "TASK [t] ***\n[WARNING]: another thing\n";
        let differences = diff(a, b);
        assert_eq!(differences.len(), 1, "{differences:#?}");
        assert_eq!(differences[0].subject, Subject::Message { kind: "warning" });
        assert_eq!(differences[0].a, Some(json!("one thing")));
        assert_eq!(differences[0].b, Some(json!("another thing")));
    }

    #[test]
    fn included_hosts_in_any_order() {
        let a = "TASK [t] ***\nincluded: /x.yml for a, b => (item=1)\n";
        let b = "TASK [t] ***\nincluded: /x.yml for b, a => (item=1)\n";
        assert_eq!(diff(a, b), []);
        let c = "TASK [t] ***\nincluded: /x.yml for a => (item=1)\n";
        assert_eq!(diff(a, c).len(), 2);
    }

    #[test]
    fn ignoring_after_loop_items_is_counted() {
        let a = concat!(
            "TASK [t] ***\n",
            "failed: [a] (item=1) => {\"msg\": \"x\"}\n",
            "ok: [b] => (item=1)\n",
            "...ignoring\n",
        );
        let b = concat!(
            "TASK [t] ***\n",
            "ok: [b] => (item=1)\n",
            "failed: [a] (item=1) => {\"msg\": \"x\"}\n",
            "...ignoring\n",
        );
        assert_eq!(diff(a, b), []);
        let without =
            "TASK [t] ***\nfailed: [a] (item=1) => {\"msg\": \"x\"}\nok: [b] => (item=1)\n";
        let differences = diff(a, without);
        assert_eq!(differences.len(), 1);
        assert_eq!(differences[0].subject, Subject::LooseIgnoring);
    }
}
