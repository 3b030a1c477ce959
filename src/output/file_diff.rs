//! The text ansible-core's default callback prints for a result's `diff` in `--diff`
//! mode (`_get_diff`): markers for skipped content, and a unified diff with three lines
//! of context computed as Python's `difflib` computes it, so that hunks match.

use std::collections::HashMap;

use super::default::{stringc, Color};
use crate::{Map, Value};
use rplay_modules::json::{dumps, DumpOptions};

/// Renders one diff or a list of diffs; empty when nothing differs.
pub fn render(diff: &Value, color: bool) -> String {
    let diffs: Vec<&Value> = match diff {
        Value::List(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut out = String::new();
    for diff in diffs {
        if let Some(map) = diff.as_map() {
            render_one(map, color, &mut out);
        }
    }
    out
}

fn render_one(diff: &Map, color: bool, out: &mut String) {
    if diff.contains_key("dst_binary") {
        out.push_str("diff skipped: destination file appears to be binary\n");
    }
    if diff.contains_key("src_binary") {
        out.push_str("diff skipped: source file appears to be binary\n");
    }
    for (key, side) in [("dst_larger", "destination"), ("src_larger", "source")] {
        if let Some(size) = diff.get(key) {
            out.push_str(&format!(
                "diff skipped: {side} file size is greater than {}\n",
                rplay_modules::pyrepr::str(size)
            ));
        }
    }
    if let (Some(before), Some(after)) = (diff.get("before"), diff.get("after")) {
        let header = |key: &str, word: &str| match diff.get(key) {
            Some(text) => format!("{word}: {}", rplay_modules::pyrepr::str(text)),
            None => word.to_string(),
        };
        let before_lines = diff_lines(&side_text(before));
        let after_lines = diff_lines(&side_text(after));
        let lines = unified_diff(
            &before_lines,
            &after_lines,
            &header("before_header", "before"),
            &header("after_header", "after"),
            3,
        );
        for line in &lines {
            let colored = match line.chars().next() {
                Some('+') if color => stringc(line, Color::DiffAdd),
                Some('-') if color => stringc(line, Color::DiffRemove),
                Some('@') if color && line.starts_with("@@") => stringc(line, Color::DiffLines),
                _ => line.clone(),
            };
            out.push_str(&colored);
        }
        if !lines.is_empty() {
            out.push('\n');
        }
    }
    if let Some(prepared) = diff.get("prepared") {
        out.push_str(&rplay_modules::pyrepr::str(prepared));
    }
}

/// Formats a side of the diff as text: mappings as indented, sorted JSON, None as
/// nothing.
fn side_text(value: &Value) -> String {
    match value {
        Value::Map(_) => {
            let mut text = dumps(
                value,
                DumpOptions {
                    indent: Some(4),
                    sort_keys: true,
                    ensure_ascii: true,
                },
            );
            text.push('\n');
            text
        }
        Value::Null => String::new(),
        other => rplay_modules::pyrepr::str(other),
    }
}

/// Splits a side into lines, with Python's marker for a missing final newline.
fn diff_lines(text: &str) -> Vec<String> {
    let mut lines = split_lines_keep_ends(text);
    if let Some(last) = lines.last_mut() {
        if !last.ends_with('\n') {
            last.push_str("\n\\ No newline at end of file\n");
        }
    }
    lines
}

/// Python's `str.splitlines(True)`.
fn split_lines_keep_ends(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        current.push(c);
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if c == '\r' && chars.peek() == Some(&'\n') {
            current.push('\n');
            chars.next();
        }
        if is_break {
            lines.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// An operation of Python's `SequenceMatcher.get_opcodes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Equal,
    Replace,
    Delete,
    Insert,
}

type Opcode = (Tag, usize, usize, usize, usize);

/// Python's `difflib.unified_diff` with empty file dates and `\n` line terminators.
fn unified_diff(a: &[String], b: &[String], from: &str, to: &str, context: usize) -> Vec<String> {
    let mut out = Vec::new();
    for group in grouped_opcodes(a, b, context) {
        if out.is_empty() {
            out.push(format!("--- {from}\n"));
            out.push(format!("+++ {to}\n"));
        }
        let first = group[0];
        let last = group[group.len() - 1];
        out.push(format!(
            "@@ -{} +{} @@\n",
            unified_range(first.1, last.2),
            unified_range(first.3, last.4)
        ));
        for (tag, i1, i2, j1, j2) in group {
            if tag == Tag::Equal {
                out.extend(a[i1..i2].iter().map(|line| format!(" {line}")));
                continue;
            }
            if matches!(tag, Tag::Replace | Tag::Delete) {
                out.extend(a[i1..i2].iter().map(|line| format!("-{line}")));
            }
            if matches!(tag, Tag::Replace | Tag::Insert) {
                out.extend(b[j1..j2].iter().map(|line| format!("+{line}")));
            }
        }
    }
    out
}

fn unified_range(start: usize, stop: usize) -> String {
    let length = stop - start;
    match length {
        1 => format!("{}", start + 1),
        0 => format!("{start},0"),
        _ => format!("{},{length}", start + 1),
    }
}

fn grouped_opcodes(a: &[String], b: &[String], context: usize) -> Vec<Vec<Opcode>> {
    let mut codes = opcodes(a, b);
    if codes.is_empty() {
        codes.push((Tag::Equal, 0, 1, 0, 1));
    }
    if let Some(first) = codes.first_mut() {
        if first.0 == Tag::Equal {
            let (tag, i1, i2, j1, j2) = *first;
            *first = (
                tag,
                i1.max(i2.saturating_sub(context)),
                i2,
                j1.max(j2.saturating_sub(context)),
                j2,
            );
        }
    }
    if let Some(last) = codes.last_mut() {
        if last.0 == Tag::Equal {
            let (tag, i1, i2, j1, j2) = *last;
            *last = (tag, i1, i2.min(i1 + context), j1, j2.min(j1 + context));
        }
    }
    let mut groups = Vec::new();
    let mut group = Vec::new();
    for (tag, mut i1, i2, mut j1, j2) in codes {
        if tag == Tag::Equal && i2 - i1 > 2 * context {
            group.push((tag, i1, i2.min(i1 + context), j1, j2.min(j1 + context)));
            groups.push(std::mem::take(&mut group));
            i1 = i1.max(i2.saturating_sub(context));
            j1 = j1.max(j2.saturating_sub(context));
        }
        group.push((tag, i1, i2, j1, j2));
    }
    let only_equal = group.len() == 1 && group[0].0 == Tag::Equal;
    if !group.is_empty() && !only_equal {
        groups.push(group);
    }
    groups
}

fn opcodes(a: &[String], b: &[String]) -> Vec<Opcode> {
    let mut codes = Vec::new();
    let (mut i, mut j) = (0, 0);
    for (ai, bj, size) in matching_blocks(a, b) {
        let tag = match (i < ai, j < bj) {
            (true, true) => Some(Tag::Replace),
            (true, false) => Some(Tag::Delete),
            (false, true) => Some(Tag::Insert),
            (false, false) => None,
        };
        if let Some(tag) = tag {
            codes.push((tag, i, ai, j, bj));
        }
        i = ai + size;
        j = bj + size;
        if size > 0 {
            codes.push((Tag::Equal, ai, i, bj, j));
        }
    }
    codes
}

/// Python's `SequenceMatcher(None, a, b).get_matching_blocks()`, with its heuristic
/// that ignores lines of `b` more frequent than 1% (for `b` of 200 lines or more).
fn matching_blocks(a: &[String], b: &[String]) -> Vec<(usize, usize, usize)> {
    let mut b2j: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, line) in b.iter().enumerate() {
        b2j.entry(line.as_str()).or_default().push(index);
    }
    if b.len() >= 200 {
        let threshold = b.len() / 100 + 1;
        b2j.retain(|_, indexes| indexes.len() <= threshold);
    }
    let mut queue = vec![(0, a.len(), 0, b.len())];
    let mut blocks = Vec::new();
    while let Some((alo, ahi, blo, bhi)) = queue.pop() {
        let (i, j, k) = longest_match(a, b, &b2j, alo, ahi, blo, bhi);
        if k == 0 {
            continue;
        }
        blocks.push((i, j, k));
        if alo < i && blo < j {
            queue.push((alo, i, blo, j));
        }
        if i + k < ahi && j + k < bhi {
            queue.push((i + k, ahi, j + k, bhi));
        }
    }
    blocks.sort_unstable();
    let mut merged: Vec<(usize, usize, usize)> = Vec::new();
    for (i, j, k) in blocks {
        match merged.last_mut() {
            Some(last) if last.0 + last.2 == i && last.1 + last.2 == j => last.2 += k,
            _ => merged.push((i, j, k)),
        }
    }
    merged.push((a.len(), b.len(), 0));
    merged
}

#[allow(clippy::too_many_arguments)]
fn longest_match(
    a: &[String],
    b: &[String],
    b2j: &HashMap<&str, Vec<usize>>,
    alo: usize,
    ahi: usize,
    blo: usize,
    bhi: usize,
) -> (usize, usize, usize) {
    let (mut best_i, mut best_j, mut best_size) = (alo, blo, 0);
    let mut lengths: HashMap<usize, usize> = HashMap::new();
    for (i, line) in a.iter().enumerate().take(ahi).skip(alo) {
        let mut next: HashMap<usize, usize> = HashMap::new();
        if let Some(indexes) = b2j.get(line.as_str()) {
            for &j in indexes {
                if j < blo {
                    continue;
                }
                if j >= bhi {
                    break;
                }
                let k = lengths.get(&(j.wrapping_sub(1))).copied().unwrap_or(0) + 1;
                next.insert(j, k);
                if k > best_size {
                    best_i = i + 1 - k;
                    best_j = j + 1 - k;
                    best_size = k;
                }
            }
        }
        lengths = next;
    }
    // Extend over equal lines the heuristic ignored (no line is junk otherwise).
    while best_i > alo && best_j > blo && a[best_i - 1] == b[best_j - 1] {
        best_i -= 1;
        best_j -= 1;
        best_size += 1;
    }
    while best_i + best_size < ahi
        && best_j + best_size < bhi
        && a[best_i + best_size] == b[best_j + best_size]
    {
        best_size += 1;
    }
    (best_i, best_j, best_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff_of(before: &str, after: &str) -> String {
        let mut map = Map::new();
        map.insert(Value::from("before"), Value::from(before));
        map.insert(Value::from("after"), Value::from(after));
        map.insert(Value::from("before_header"), Value::from("/etc/f"));
        map.insert(Value::from("after_header"), Value::from("/etc/f"));
        render(&Value::map(map), false)
    }

    #[test]
    fn new_file_diff() {
        assert_eq!(
            diff_of("", "a\nb\n"),
            "--- before: /etc/f\n+++ after: /etc/f\n@@ -0,0 +1,2 @@\n+a\n+b\n\n"
        );
    }

    #[test]
    fn changed_line_with_context() {
        let before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let after = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        assert_eq!(
            diff_of(before, after),
            "--- before: /etc/f\n+++ after: /etc/f\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n\n"
        );
    }

    #[test]
    fn missing_final_newline_marker() {
        assert_eq!(
            diff_of("a", "b\n"),
            "--- before: /etc/f\n+++ after: /etc/f\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n\n"
        );
    }

    #[test]
    fn equal_sides_print_nothing() {
        assert_eq!(diff_of("same\n", "same\n"), "");
    }

    #[test]
    fn mappings_as_sorted_json() {
        let mut before = Map::new();
        before.insert(Value::from("state"), Value::from("absent"));
        before.insert(Value::from("path"), Value::from("/x"));
        let mut after = before.clone();
        after.insert(Value::from("state"), Value::from("directory"));
        let mut map = Map::new();
        map.insert(Value::from("before"), Value::map(before));
        map.insert(Value::from("after"), Value::map(after));
        assert_eq!(
            render(&Value::map(map), false),
            "--- before\n+++ after\n@@ -1,4 +1,4 @@\n {\n     \"path\": \"/x\",\n-    \"state\": \"absent\"\n+    \"state\": \"directory\"\n }\n\n"
        );
    }
}
