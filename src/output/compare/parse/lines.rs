//! Recognisers of single log lines: banners, result and retry lines, `included:`,
//! recap rows, warning prefixes and the line-wrapping rules of warnings.

use std::sync::LazyLock;

use regex::Regex;

use super::{Dump, HostEvent, Included, MessageKind, RecapRow, Status, TaskKind};

/// A `profile_tasks` timestamp line: `Friday 04 December 2026  22:00:36 +0000
/// (0:00:00.011)       0:00:00.011 *****`.
pub(super) static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\w+ \d\d \w+ \d{4}  \d\d:\d\d:\d\d [+-]\d{4} \(\d+:\d\d:\d\d\.\d{3}\) +\d+:\d\d:\d\d\.\d{3} \*+ ?$",
    )
    .expect("valid regex")
});

/// `ASYNC POLL on HOST: jid=... started=... finished=...`: how many are printed depends
/// on timing, so they are dropped.
pub(super) static ASYNC_POLL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^ASYNC POLL on \S+: jid=\S* started=\S* finished=\S*$").expect("valid regex")
});

/// A banner line: `TEXT ***`.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Banner {
    Play {
        name: Option<String>,
        check_mode: bool,
    },
    Task {
        kind: TaskKind,
        name: String,
        check_mode: bool,
    },
    NoMoreHostsLeft,
    Recap,
    /// `PLAYBOOK: ...`, `CUSTOM STATS:`, `DRY RUN` and the like, kept as opaque text.
    Other(String),
}

pub(super) fn parse_banner(line: &str) -> Option<Banner> {
    let text = line.strip_suffix("***")?.trim_end_matches('*');
    let text = text.strip_suffix(' ')?;
    let (text, check_mode) = match text.strip_suffix(" [CHECK MODE]") {
        Some(text) => (text, true),
        None => (text, false),
    };
    let banner = if text == "PLAY" {
        Banner::Play {
            name: None,
            check_mode,
        }
    } else if let Some(name) = bracketed(text, "PLAY [") {
        Banner::Play {
            name: Some(name),
            check_mode,
        }
    } else if text == "PLAY RECAP" {
        Banner::Recap
    } else if text == "NO MORE HOSTS LEFT" {
        Banner::NoMoreHostsLeft
    } else if let Some((kind, name)) = task_banner(text) {
        Banner::Task {
            kind,
            name,
            check_mode,
        }
    } else {
        Banner::Other(line.to_string())
    };
    Some(banner)
}

pub(super) fn task_banner(text: &str) -> Option<(TaskKind, String)> {
    [TaskKind::Task, TaskKind::Handler, TaskKind::Cleanup]
        .into_iter()
        .find_map(|kind| {
            let prefix = format!("{} [", kind.banner());
            bracketed(text, &prefix).map(|name| (kind, name))
        })
}

pub(super) fn bracketed(text: &str, prefix: &str) -> Option<String> {
    let inner = text.strip_prefix(prefix)?.strip_suffix(']')?;
    Some(inner.to_string())
}

/// Returns whether a line begins something the parser recognises, which ends a wrapped
/// message or an `ERROR!` block.
pub(super) fn starts_construct(line: &str) -> bool {
    parse_banner(line).is_some()
        || TIMESTAMP.is_match(line)
        || message_prefix(line).is_some()
        || line.starts_with("ERROR! ")
        || line == "...ignoring"
        || line.starts_with("included: ")
        || line.starts_with("FAILED - RETRYING: [")
        || RESULT_PREFIXES
            .iter()
            .any(|(prefix, _)| line.starts_with(prefix))
        || HOST_PREFIXED.is_match(line)
}

/// Lines of `-vvv` connection output: `<host> EXEC ...`.
pub(super) static HOST_PREFIXED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^<[^<>\s]+> ").expect("valid regex"));

pub(super) fn message_prefix(line: &str) -> Option<(MessageKind, &str)> {
    [
        ("[WARNING]:", MessageKind::Warning),
        ("[DEPRECATION WARNING]:", MessageKind::Deprecation),
        ("[ERROR]:", MessageKind::Error),
    ]
    .into_iter()
    .find_map(|(prefix, kind)| line.strip_prefix(prefix).map(|rest| (kind, rest)))
}

/// The width ansible-core wraps warnings to when standard output is not a terminal; on a
/// terminal it is wider, never narrower in practice.
pub(super) const MIN_WRAP_COLUMNS: usize = 79;

pub(super) fn continues_wrapped(previous: &str, line: &str) -> bool {
    if line.trim().is_empty() || starts_construct(line) {
        return false;
    }
    let first_word = line.split_whitespace().next().unwrap_or_default();
    previous.trim_end().chars().count() + 1 + first_word.chars().count() > MIN_WRAP_COLUMNS
}

/// Appends a wrapped line to the text. `textwrap` breaks after a hyphen inside a word
/// (`wt-` / `compare`), so such a break is joined without a space. It also cuts a word
/// longer than the whole width to fill the line, which is then exactly
/// [`MIN_WRAP_COLUMNS`] long. The two pieces together are longer than that, whereas two
/// words of a break at a space usually are not.
pub(super) fn join_wrapped(text: &mut String, previous: &str, line: &str) {
    let mut chars = previous.chars().rev();
    let hyphen_break = chars.next() == Some('-') && chars.next().is_some_and(char::is_alphanumeric);
    if !hyphen_break && !long_word_break(previous, line) {
        text.push(' ');
    }
    text.push_str(line.trim());
}

/// Tells whether a line of exactly the wrap width ends inside a word that goes on at the
/// start of the next line.
fn long_word_break(previous: &str, line: &str) -> bool {
    if previous.chars().count() != MIN_WRAP_COLUMNS || previous.ends_with(char::is_whitespace) {
        return false;
    }
    let tail = previous.split_whitespace().last().unwrap_or_default();
    let head = line.split_whitespace().next().unwrap_or_default();
    // When it cuts a long word, textwrap prefers to cut after a hyphen, so the next line
    // can also be a single piece ending in `-` (`/tm` / `p/peer3-` / `a/any_errors...`).
    let hyphen_piece = line.trim_end() == head && head.ends_with('-');
    !line.starts_with(char::is_whitespace)
        && (hyphen_piece || tail.chars().count() + head.chars().count() > MIN_WRAP_COLUMNS)
}

/// A result or retry line before its dump is read.
pub(super) struct ParsedHostLine {
    pub(super) host: String,
    pub(super) delegated_to: Option<String>,
    pub(super) event: HostEvent,
    pub(super) dump: Option<DumpStart>,
}

/// The start of a line's dump.
#[derive(Debug, PartialEq)]
pub(super) enum DumpStart {
    /// One-line JSON (or text that should have been JSON) after `=>`.
    OneLine(String),
    /// `=> {` ending the line: an indented dump follows up to a `}` line.
    MultiLine,
}

pub(super) const RESULT_PREFIXES: [(&str, Status); 5] = [
    ("ok: [", Status::Ok),
    ("changed: [", Status::Changed),
    ("skipping: [", Status::Skipping),
    ("fatal: [", Status::Fatal),
    ("failed: [", Status::Failed),
];

pub(super) fn parse_result_line(line: &str) -> Option<ParsedHostLine> {
    let (rest, status) = RESULT_PREFIXES
        .iter()
        .find_map(|(prefix, status)| line.strip_prefix(prefix).map(|rest| (rest, *status)))?;
    let (label, tail) = split_host_label(rest)?;
    let (status, item, dump) = parse_result_tail(status, tail)?;
    let (host, delegated_to) = split_delegation(label);
    Some(ParsedHostLine {
        host,
        delegated_to,
        event: HostEvent::Result {
            status,
            item,
            ignoring: false,
        },
        dump,
    })
}

/// Splits `HOST] TAIL` at the `]` that a known tail follows (a host name may contain `]`).
pub(super) fn split_host_label(rest: &str) -> Option<(&str, &str)> {
    const TAILS: [&str; 4] = [" => ", ": FAILED! => ", ": UNREACHABLE! => ", " (item="];
    rest.match_indices(']').find_map(|(index, _)| {
        let tail = &rest[index + 1..];
        let known = tail.is_empty() || TAILS.iter().any(|known| tail.starts_with(known));
        known.then(|| (&rest[..index], tail))
    })
}

pub(super) fn split_delegation(label: &str) -> (String, Option<String>) {
    match label.split_once(" -> ") {
        Some((host, delegate)) => (host.to_string(), Some(delegate.to_string())),
        None => (label.to_string(), None),
    }
}

pub(super) type ResultTail = (Status, Option<String>, Option<DumpStart>);

pub(super) fn parse_result_tail(status: Status, tail: &str) -> Option<ResultTail> {
    if tail.is_empty() {
        return Some((status, None, None));
    }
    if let Some(dump) = tail.strip_prefix(": FAILED! => ") {
        return Some((status, None, Some(dump_start(dump))));
    }
    if let Some(dump) = tail.strip_prefix(": UNREACHABLE! => ") {
        return Some((Status::Unreachable, None, Some(dump_start(dump))));
    }
    let item_part = tail
        .strip_prefix(" => (item=")
        .or_else(|| tail.strip_prefix(" (item="));
    if let Some(item_part) = item_part {
        let (label, dump) = split_item_label(item_part)?;
        return Some((status, Some(label), dump));
    }
    let dump = tail.strip_prefix(" => ")?;
    Some((status, None, Some(dump_start(dump))))
}

/// Splits `LABEL) => DUMP`, `LABEL)` or `LABEL) ` (skipped items end with a space) at
/// the first `)` that such an ending follows. The label may itself contain `) => `.
pub(super) fn split_item_label(text: &str) -> Option<(String, Option<DumpStart>)> {
    text.match_indices(')').find_map(|(index, _)| {
        let label = text[..index].to_string();
        let after = text[index + 1..].trim_start();
        if after.is_empty() {
            return Some((label, None));
        }
        let dump = after.strip_prefix("=> ")?;
        let valid = dump == "{" || serde_json::from_str::<serde_json::Value>(dump).is_ok();
        valid.then(|| (label, Some(dump_start(dump))))
    })
}

pub(super) fn dump_start(text: &str) -> DumpStart {
    if text == "{" {
        DumpStart::MultiLine
    } else {
        DumpStart::OneLine(text.to_string())
    }
}

pub(super) fn parse_dump(text: &str) -> Dump {
    match serde_json::from_str(text) {
        Ok(value) => Dump::Json(value),
        Err(_) => Dump::Text(text.to_string()),
    }
}

pub(super) static RETRIES_LEFT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r" \((-?\d+) retries left\)\.").expect("valid regex"));

/// Parses `FAILED - RETRYING: [HOST]: NAME (N retries left).` with an optional
/// `Result was: DUMP` glued to its end.
pub(super) fn parse_retry_line(line: &str) -> Option<ParsedHostLine> {
    let rest = line.strip_prefix("FAILED - RETRYING: [")?;
    let (label, rest) = rest.split_once("]: ")?;
    let count = RETRIES_LEFT.captures(rest)?;
    let whole = count.get(0)?;
    let name = rest[..whole.start()].to_string();
    let retries_left = count[1].parse().ok()?;
    let after = &rest[whole.end()..];
    let dump = if after.is_empty() {
        None
    } else {
        Some(dump_start(after.strip_prefix("Result was: ")?))
    };
    let (host, delegated_to) = split_delegation(label);
    Some(ParsedHostLine {
        host,
        delegated_to,
        event: HostEvent::Retry { name, retries_left },
        dump,
    })
}

/// Parses `included: FILE for H1, H2` with an optional ` => (item=LABEL)`.
pub(super) fn parse_included(line: &str, number: usize) -> Option<Included> {
    let rest = line.strip_prefix("included: ")?;
    let (head, item) = match rest.split_once(" => (item=") {
        Some((head, label)) if label.ends_with(')') => {
            (head, Some(label[..label.len() - 1].to_string()))
        }
        _ => (rest, None),
    };
    let (file, hosts) = head.rsplit_once(" for ")?;
    Some(Included {
        file: file.to_string(),
        hosts: hosts.split(", ").map(str::to_string).collect(),
        item,
        line: number,
    })
}

pub(super) fn parse_recap_row(line: &str, number: usize) -> Option<RecapRow> {
    static ROW: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"^(\S.*?)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)\s*$",
        )
        .expect("valid regex")
    });
    let captures = ROW.captures(line)?;
    let count = |index: usize| captures[index].parse::<u64>().ok();
    Some(RecapRow {
        host: captures[1].to_string(),
        ok: count(2)?,
        changed: count(3)?,
        unreachable: count(4)?,
        failed: count(5)?,
        skipped: count(6)?,
        rescued: count(7)?,
        ignored: count(8)?,
        line: number,
    })
}
