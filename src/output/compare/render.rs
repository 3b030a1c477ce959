//! The reports of `rplay compare`: one line per difference for people, JSON for
//! programs.

use serde_json::{json, Value};

use super::diff::{Comparison, Difference, Location, MovedTask, Position, Reordered, Subject};

/// Values longer than this many characters are cut in the human report.
const MAX_VALUE_CHARS: usize = 160;

/// Renders the human report: the two file names, one line per difference (location,
/// then what differs, then the line numbers), one line per reordered stretch of tasks,
/// and a count of the differences.
pub fn render_text(comparison: &Comparison, name_a: &str, name_b: &str) -> String {
    let mut out = format!("A: {name_a}\nB: {name_b}\n");
    let differences = &comparison.differences;
    for difference in differences {
        out.push_str(&render_difference(difference));
        out.push('\n');
    }
    for reordered in &comparison.reordered {
        out.push_str(&render_reordered(reordered));
        out.push('\n');
    }
    for moved in &comparison.moved {
        out.push_str(&render_moved(moved));
        out.push('\n');
    }
    let count = match differences.len() {
        0 => "no differences".to_string(),
        1 => "1 difference".to_string(),
        n => format!("{n} differences"),
    };
    out.push_str(&count);
    out.push('\n');
    out
}

/// Renders the JSON report: `{"a", "b", "equal", "differences", "reordered", "moved"}`,
/// each entry with its fields (location, subject or hosts, values, line numbers) and the
/// human `message`.
pub fn render_json(comparison: &Comparison, name_a: &str, name_b: &str) -> String {
    let differences = &comparison.differences;
    let reordered = json_entries(&comparison.reordered, render_reordered);
    let moved = json_entries(&comparison.moved, render_moved);
    let items: Vec<Value> = differences
        .iter()
        .map(|difference| {
            let mut value = serde_json::to_value(difference).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut value {
                map.insert("message".into(), Value::from(render_difference(difference)));
            }
            value
        })
        .collect();
    let report = json!({
        "a": name_a,
        "b": name_b,
        "equal": differences.is_empty(),
        "differences": items,
        "reordered": reordered,
        "moved": moved,
    });
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
    text.push('\n');
    text
}

/// Renders one report line: `play 1 "p", task 2 "t": host h: ok in A, fatal in B (A:5, B:6)`.
pub fn render_difference(difference: &Difference) -> String {
    let mut parts = Vec::new();
    if matches!(
        difference.subject,
        Subject::RecapRow | Subject::RecapCount { .. }
    ) {
        parts.push("recap".to_string());
    }
    if let Some(scope) = scope_text(&difference.location) {
        parts.push(scope);
    }
    if let Some(host) = host_text(&difference.location) {
        parts.push(host);
    }
    parts.push(describe(difference));
    let mut line = parts.join(": ");
    if let Some(lines) = lines_text(difference.a_line, difference.b_line) {
        line.push_str(&format!(" ({lines})"));
    }
    line
}

/// Serialises each entry with its human `message` added.
fn json_entries<T: serde::Serialize>(entries: &[T], message: impl Fn(&T) -> String) -> Vec<Value> {
    entries
        .iter()
        .map(|entry| {
            let mut value = serde_json::to_value(entry).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut value {
                map.insert("message".into(), Value::from(message(entry)));
            }
            value
        })
        .collect()
}

/// Renders one task that ran on another host: `play 6 "p", task 54 "t": ran on test-3 in
/// A and on test-2 in B, with the same result (A:738, B:738)`.
pub fn render_moved(moved: &MovedTask) -> String {
    let mut line = String::new();
    if let Some(scope) = scope_text(&moved.location) {
        line.push_str(&scope);
        line.push_str(": ");
    }
    line.push_str(&format!(
        "ran on {} in A and on {} in B, with the same result (A:{}, B:{})",
        moved.host_a, moved.host_b, moved.a_line, moved.b_line
    ));
    line
}

/// Renders one reordered stretch: `play 6 "p": tasks 142-300 of A and tasks 142-298 of B
/// ran in another order after an include (compared per host, regardless of order)
/// (A:1309, B:1309)`.
pub fn render_reordered(reordered: &Reordered) -> String {
    let mut line = String::new();
    if let Some(scope) = scope_text(&reordered.location) {
        line.push_str(&scope);
        line.push_str(": ");
    }
    let range = |(first, last): (usize, usize)| {
        if first == last {
            format!("task {first}")
        } else {
            format!("tasks {first}-{last}")
        }
    };
    line.push_str(&format!(
        "{} of A and {} of B ran in another order after an include (compared per host, \
         regardless of order)",
        range(reordered.tasks_a),
        range(reordered.tasks_b)
    ));
    if let Some(lines) = lines_text(reordered.a_line, reordered.b_line) {
        line.push_str(&format!(" ({lines})"));
    }
    line
}

fn scope_text(location: &Location) -> Option<String> {
    let parts: Vec<String> = [&location.play, &location.task]
        .into_iter()
        .flatten()
        .map(position_text)
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// `task 3 "name"`, numbered as in A, or `task 4 of B "name"` for one only B has.
fn position_text(position: &Position) -> String {
    let number = match (position.index_a, position.index_b) {
        (Some(index), _) => index.to_string(),
        (None, Some(index)) => format!("{index} of B"),
        (None, None) => "?".to_string(),
    };
    if position.name.is_empty() {
        format!("{} {number}", position.kind)
    } else {
        format!("{} {number} {}", position.kind, quote(&position.name))
    }
}

fn host_text(location: &Location) -> Option<String> {
    let host = location.host.as_ref()?;
    Some(match &location.item {
        Some(item) => format!("host {host}, item {item}"),
        None => format!("host {host}"),
    })
}

fn lines_text(a_line: Option<usize>, b_line: Option<usize>) -> Option<String> {
    match (a_line, b_line) {
        (Some(a), Some(b)) => Some(format!("A:{a}, B:{b}")),
        (Some(a), None) => Some(format!("A:{a}")),
        (None, Some(b)) => Some(format!("B:{b}")),
        (None, None) => None,
    }
}

/// Describes what differs, without the location.
fn describe(difference: &Difference) -> String {
    let (a, b) = (difference.a.as_ref(), difference.b.as_ref());
    match &difference.subject {
        Subject::Play | Subject::Task => presence(a, b, |_| String::new()),
        Subject::Host => presence(a, b, |value| format!("{} ", plain(value))),
        Subject::Item => presence(a, b, |value| format!("{} ", plain(value))),
        Subject::Result => format!(
            "result line {}",
            presence(a, b, |value| format!("{} ", plain(value)))
        ),
        Subject::Retry { retries_left } => {
            format!(
                "retry ({retries_left} retries left) {}",
                presence(a, b, |_| String::new())
            )
        }
        Subject::Status => pair(a, b, plain),
        Subject::Delegation => pair(a, b, |value| match value {
            Value::Null => "not delegated".to_string(),
            other => format!("delegated to {}", plain(other)),
        }),
        Subject::Ignoring => flag("...ignoring", a, b),
        Subject::RetryName => format!("retry task name {}", pair(a, b, shown)),
        Subject::Field { path } => format!(
            "result differs: {path}: {} vs {}",
            shown_or_absent(a),
            shown_or_absent(b)
        ),
        Subject::Dump => match (a, b) {
            (Some(_), None) => "result shown in A, not in B".to_string(),
            (None, Some(_)) => "result not shown in A, shown in B".to_string(),
            _ => format!(
                "result differs: {} vs {}",
                shown_or_absent(a),
                shown_or_absent(b)
            ),
        },
        Subject::Included => message_presence("included:", a, b),
        Subject::LooseIgnoring => format!("...ignoring after loop items: {}", pair(a, b, plain)),
        Subject::Message { kind } => {
            let label = match *kind {
                "warning" => "[WARNING]",
                "deprecation" => "[DEPRECATION WARNING]",
                "error" => "ERROR!",
                _ => "line",
            };
            message_presence(label, a, b)
        }
        Subject::ErrorDetail => error_detail(a, b),
        Subject::CheckMode => flag("[CHECK MODE] marker", a, b),
        Subject::NoHostsMatched => flag("\"skipping: no hosts matched\"", a, b),
        Subject::NoMoreHostsLeft => format!("NO MORE HOSTS LEFT banners: {}", pair(a, b, plain)),
        Subject::RecapRow => presence(a, b, |value| format!("{} ", plain(value))),
        Subject::RecapCount { counter } => {
            pair(a, b, |value| format!("{counter}={}", plain(value)))
        }
        Subject::Profile => flag("profile_tasks output", a, b),
        Subject::ProfileTimestamps => {
            format!("profile_tasks timestamp lines: {}", pair(a, b, plain))
        }
        Subject::ProfileRows => format!("profile_tasks summary rows: {}", pair(a, b, plain)),
    }
}

/// `ok in A, missing in B` for something only one side has; `what` renders the value
/// that side has, followed by a space, or nothing.
fn presence(a: Option<&Value>, b: Option<&Value>, what: impl Fn(&Value) -> String) -> String {
    let (present, side, missing) = match (a, b) {
        (Some(a), None) => (what(a), "A", "B"),
        (None, Some(b)) => (what(b), "B", "A"),
        _ => return "present in both".to_string(),
    };
    if present.is_empty() {
        format!("missing in {missing}")
    } else if side == "A" {
        format!("{present}in A, missing in B")
    } else {
        format!("missing in A, {present}in B")
    }
}

/// `[WARNING] missing in B: "text"`.
fn message_presence(label: &str, a: Option<&Value>, b: Option<&Value>) -> String {
    match (a, b) {
        (Some(a), None) => format!("{label} missing in B: {}", shown(a)),
        (None, Some(b)) => format!("{label} missing in A: {}", shown(b)),
        (Some(a), Some(b)) => format!("{label} differs: {}", contrast(a, b)),
        (None, None) => format!("{label} in neither"),
    }
}

/// `A vs B` for two values. Two long strings are shown from a little before their first
/// differing character, so that the difference is visible.
fn contrast(a: &Value, b: &Value) -> String {
    const CONTEXT_CHARS: usize = 30;
    const SHOWN_CHARS: usize = 90;
    let (Value::String(text_a), Value::String(text_b)) = (a, b) else {
        return format!("{} vs {}", shown(a), shown(b));
    };
    let long = text_a.chars().count().max(text_b.chars().count()) > SHOWN_CHARS;
    if !long {
        return format!("{} vs {}", shown(a), shown(b));
    }
    let first_difference = text_a
        .chars()
        .zip(text_b.chars())
        .take_while(|(char_a, char_b)| char_a == char_b)
        .count();
    let start = first_difference.saturating_sub(CONTEXT_CHARS);
    let excerpt = |text: &str| {
        let total = text.chars().count();
        let part: String = text.chars().skip(start).take(SHOWN_CHARS).collect();
        let quoted = Value::from(part).to_string();
        let head = if start > 0 { "..." } else { "" };
        let tail = if start + SHOWN_CHARS < total {
            "..."
        } else {
            ""
        };
        format!("{head}{quoted}{tail}")
    };
    format!("{} vs {}", excerpt(text_a), excerpt(text_b))
}

/// `X in A, Y in B`.
fn pair(a: Option<&Value>, b: Option<&Value>, text: impl Fn(&Value) -> String) -> String {
    let side = |value: Option<&Value>| value.map(&text).unwrap_or_else(|| "nothing".into());
    format!("{} in A, {} in B", side(a), side(b))
}

/// `LABEL in A, not in B` for a boolean.
fn flag(label: &str, a: Option<&Value>, b: Option<&Value>) -> String {
    let set = |value: Option<&Value>| value.and_then(Value::as_bool).unwrap_or(false);
    match (set(a), set(b)) {
        (true, false) => format!("{label} in A, not in B"),
        (false, true) => format!("{label} not in A, in B"),
        _ => format!("{label} in both"),
    }
}

/// Points at the first detail line that differs.
fn error_detail(a: Option<&Value>, b: Option<&Value>) -> String {
    let lines = |value: Option<&Value>| -> Vec<String> {
        value
            .and_then(Value::as_str)
            .map(|text| text.lines().map(str::to_string).collect())
            .unwrap_or_default()
    };
    let (lines_a, lines_b) = (lines(a), lines(b));
    let index = lines_a
        .iter()
        .zip(&lines_b)
        .position(|(line_a, line_b)| line_a != line_b)
        .unwrap_or(lines_a.len().min(lines_b.len()));
    let line = |lines: &[String]| match lines.get(index) {
        Some(line) => quote(line),
        None => "(end)".to_string(),
    };
    format!(
        "ERROR! details differ at detail line {}: {} vs {}",
        index + 1,
        line(&lines_a),
        line(&lines_b)
    )
}

/// Renders a value as JSON, cut to [`MAX_VALUE_CHARS`].
fn shown(value: &Value) -> String {
    cut(&value.to_string())
}

fn shown_or_absent(value: Option<&Value>) -> String {
    value.map(shown).unwrap_or_else(|| "(absent)".to_string())
}

/// Renders a value, without JSON quotes when it is a string.
fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => cut(text),
        other => shown(other),
    }
}

fn quote(text: &str) -> String {
    cut(&Value::from(text).to_string())
}

fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_VALUE_CHARS {
        return text.to_string();
    }
    let head: String = text.chars().take(MAX_VALUE_CHARS).collect();
    format!("{head}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(kind: &'static str, index: usize, name: &str) -> Position {
        Position {
            kind,
            index_a: Some(index),
            index_b: Some(index),
            name: name.to_string(),
        }
    }

    #[test]
    fn status_line() {
        let difference = Difference {
            location: Location {
                play: Some(position("play", 2, "Inventory setup")),
                task: Some(position("task", 5, "validate_inventory : Check")),
                host: Some("test-2".into()),
                item: None,
            },
            subject: Subject::Status,
            a: Some(Value::from("ok")),
            b: Some(Value::from("fatal")),
            a_line: Some(10),
            b_line: Some(12),
        };
        assert_eq!(
            render_difference(&difference),
            "play 2 \"Inventory setup\", task 5 \"validate_inventory : Check\": host test-2: ok in A, fatal in B (A:10, B:12)"
        );
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(200);
        assert_eq!(plain(&Value::from(long)).len(), MAX_VALUE_CHARS + 3);
    }
}
