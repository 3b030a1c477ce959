//! Python's `difflib.unified_diff` and `str.splitlines`, for the diffs ansible-core
//! prints in `--diff` mode and the `ansible.utils.fact_diff` filter: the same hunks as
//! Python's `SequenceMatcher` finds.

use std::collections::HashMap;

/// Python's `str.splitlines(True)`: lines with their line breaks, split at every
/// break Python recognises.
pub fn split_lines_keep_ends(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        current.push(c);
        let is_break = is_line_break(c);
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
pub fn unified_diff(
    a: &[String],
    b: &[String],
    from: &str,
    to: &str,
    context: usize,
) -> Vec<String> {
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

/// Python's `str.splitlines()`: lines without their line breaks.
pub fn split_lines(text: &str) -> Vec<String> {
    split_lines_keep_ends(text)
        .iter()
        .map(|line| without_break(line).to_owned())
        .collect()
}

fn without_break(line: &str) -> &str {
    if let Some(stripped) = line.strip_suffix("\r\n") {
        return stripped;
    }
    match line.chars().last() {
        Some(c) if is_line_break(c) => &line[..line.len() - c.len_utf8()],
        _ => line,
    }
}

/// Tells whether Python's `str.splitlines` breaks a line at `c`.
fn is_line_break(c: char) -> bool {
    matches!(
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
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        split_lines_keep_ends(text)
    }

    #[test]
    fn splitlines_like_python() {
        assert_eq!(lines("a\r\nb\rc\n\nd"), ["a\r\n", "b\r", "c\n", "\n", "d"]);
        assert_eq!(
            split_lines("a\r\nb\rc\n\nd\u{2028}"),
            ["a", "b", "c", "", "d"]
        );
        assert!(split_lines("").is_empty());
    }

    #[test]
    fn moved_line_hunk() {
        let a = lines("a\nb\nc\n");
        let b = lines("a\nc\nb\n");
        assert_eq!(
            unified_diff(&a, &b, "before", "after", 3).concat(),
            "--- before\n+++ after\n@@ -1,3 +1,3 @@\n a\n+c\n b\n-c\n"
        );
    }

    #[test]
    fn equal_sides_have_no_hunks() {
        let a = lines("a\n");
        assert!(unified_diff(&a, &a, "before", "after", 3).is_empty());
    }
}
