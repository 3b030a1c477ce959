//! Text layout shared by the printers: Python's `textwrap.wrap` as ansible-core's
//! `Display` uses it for warnings, and the width it wraps to.

/// The width ansible-core wraps to when standard output is not a terminal: 79 columns.
pub const DEFAULT_COLUMNS: usize = 79;

/// Renders a warning as ansible-core 2.18 prints it on standard error.
pub fn warning_text(message: &str, columns: usize) -> String {
    let lines = wrap(&format!("[WARNING]: {message}"), columns);
    format!("{}\n", lines.join("\n"))
}

/// Wraps text as Python's `textwrap.wrap(text, width)` with its defaults: whitespace
/// characters become spaces, lines break between words or after hyphens inside words,
/// words longer than the width are cut, and spaces at line edges are dropped.
///
/// NOTE: hyphen breaking follows the common case of Python's word-separator pattern
/// (a hyphen between two letters or digits); rarer forms such as `--` runs are kept whole.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let text: String = text
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let chunks = split_chunks(&text);
    let mut lines = Vec::new();
    let mut index = 0;
    while index < chunks.len() {
        let mut line: Vec<String> = Vec::new();
        let mut length = 0;
        // Drop leading whitespace of every line but the first.
        if !lines.is_empty() && chunks[index].trim().is_empty() {
            index += 1;
        }
        while index < chunks.len() {
            let chunk = &chunks[index];
            let size = chunk.chars().count();
            if length + size <= width {
                line.push(chunk.clone());
                length += size;
                index += 1;
            } else {
                break;
            }
        }
        if index < chunks.len() && chunks[index].chars().count() > width {
            let room = if width > length { width - length } else { 1 };
            let chunk: Vec<char> = chunks[index].chars().collect();
            let (head, tail) = chunk.split_at(room.min(chunk.len()));
            line.push(head.iter().collect());
            let rest: String = tail.iter().collect();
            if rest.is_empty() {
                index += 1;
            } else {
                // The cut chunk stays in place with its remainder.
                let mut rebuilt = chunks[..index].to_vec();
                rebuilt.push(rest);
                rebuilt.extend_from_slice(&chunks[index + 1..]);
                return finish(lines, line, rebuilt, index, width);
            }
        }
        while line.last().is_some_and(|chunk| chunk.trim().is_empty()) {
            line.pop();
        }
        if !line.is_empty() {
            lines.push(line.concat());
        }
    }
    lines
}

/// Continues wrapping after a long word was cut.
fn finish(
    mut lines: Vec<String>,
    line: Vec<String>,
    chunks: Vec<String>,
    index: usize,
    width: usize,
) -> Vec<String> {
    let done = line.concat();
    if !done.trim().is_empty() {
        lines.push(done.trim_end().to_string());
    }
    let rest: String = chunks[index..].concat();
    lines.extend(wrap(rest.trim_start(), width));
    lines
}

/// Splits into words, runs of spaces, and word pieces ending in a hyphen.
fn split_chunks(text: &str) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (index, &c) in chars.iter().enumerate() {
        let boundary = !current.is_empty() && (c == ' ') != current.ends_with(' ');
        if boundary {
            chunks.push(std::mem::take(&mut current));
        }
        current.push(c);
        let hyphen_break = c == '-'
            && index > 0
            && chars[index - 1].is_alphanumeric()
            && chars
                .get(index + 1)
                .is_some_and(|next| next.is_alphabetic())
            && current.chars().filter(|c| c.is_alphanumeric()).count() >= 2;
        if hyphen_break {
            chunks.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warning_wraps_at_79_columns() {
        // Recorded from ansible-playbook 2.18.19 --list-tasks on Kubespray v2.31.0.
        assert_eq!(
            warning_text(
                "Could not match supplied host pattern, ignoring: _kubespray_needs_etcd",
                DEFAULT_COLUMNS
            ),
            "[WARNING]: Could not match supplied host pattern, ignoring:\n_kubespray_needs_etcd\n"
        );
        assert_eq!(
            warning_text(
                "Could not match supplied host pattern, ignoring: bastion",
                DEFAULT_COLUMNS
            ),
            "[WARNING]: Could not match supplied host pattern, ignoring: bastion\n"
        );
    }

    #[test]
    fn long_word_is_cut() {
        assert_eq!(wrap("aaaaaaaaaa bb", 4), ["aaaa", "aaaa", "aa", "bb"]);
    }
}
