//! Text layout shared by the printers: Python's `textwrap.wrap` as ansible-core's
//! `Display` uses it for warnings, and the width it wraps to.

/// The width ansible-core wraps to when standard output is not a terminal: 79 columns.
pub const DEFAULT_COLUMNS: usize = 79;

/// Renders a warning as ansible-core 2.18 prints it on standard error.
pub fn warning_text(message: &str, columns: usize) -> String {
    let lines = wrap(&format!("[WARNING]: {message}"), columns);
    format!("{}\n", lines.join("\n"))
}

/// Renders a deprecation as ansible-core 2.18's `Display.deprecated` prints it (without
/// the final newline): the message ending in a full stop, when the feature goes, and how
/// to silence it, wrapped with the spaces at line edges kept.
pub fn deprecation_text(message: &str, version: Option<&str>, columns: usize) -> String {
    let mut message = message.trim().to_string();
    if !message.ends_with(['!', '?', '.']) {
        message.push('.');
    }
    let when = match version {
        Some(version) => format!("in version {version}."),
        None => "in a future release.".to_string(),
    };
    let text = format!(
        "[DEPRECATION WARNING]: {message} This feature will be removed {when} Deprecation warnings can be disabled by setting deprecation_warnings=False in ansible.cfg."
    );
    wrap_keeping_spaces(&text, columns)
        .join("\n")
        .trim()
        .to_string()
}

/// Wraps text as Python's `textwrap.wrap(text, width)` with its defaults: whitespace
/// characters become spaces, lines break between words or after hyphens inside words,
/// words longer than the width are cut, and spaces at line edges are dropped.
///
/// NOTE: hyphen breaking follows Python's word-separator pattern for hyphenated words;
/// its em-dash rule (`--` runs between words) is not applied.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    wrap_chunks(text, width, true)
}

/// Wraps text as `textwrap.wrap(text, width, drop_whitespace=False)`, which ansible-core
/// uses for deprecation warnings: spaces at line edges stay.
pub fn wrap_keeping_spaces(text: &str, width: usize) -> Vec<String> {
    wrap_chunks(text, width, false)
}

/// The line filling of Python's `TextWrapper._wrap_chunks`.
fn wrap_chunks(text: &str, width: usize, drop_whitespace: bool) -> Vec<String> {
    let text: String = text
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let mut chunks = split_chunks(&text);
    chunks.reverse();
    let mut lines = Vec::new();
    while !chunks.is_empty() {
        let mut line: Vec<String> = Vec::new();
        let mut length = 0;
        if drop_whitespace
            && !lines.is_empty()
            && chunks.last().is_some_and(|c| c.trim().is_empty())
        {
            chunks.pop();
        }
        while let Some(chunk) = chunks.last() {
            let size = chunk.chars().count();
            if length + size > width {
                break;
            }
            length += size;
            line.extend(chunks.pop());
        }
        if chunks
            .last()
            .is_some_and(|chunk| chunk.chars().count() > width)
        {
            cut_long_word(&mut chunks, &mut line, length, width);
        }
        if drop_whitespace && line.last().is_some_and(|chunk| chunk.trim().is_empty()) {
            line.pop();
        }
        if !line.is_empty() {
            lines.push(line.concat());
        }
    }
    lines
}

/// Moves as much of an over-long word as fits onto the line, as `_handle_long_word`.
fn cut_long_word(chunks: &mut [String], line: &mut Vec<String>, length: usize, width: usize) {
    let Some(chunk) = chunks.last_mut() else {
        return;
    };
    let room = if width < 1 { 1 } else { width - length };
    let characters: Vec<char> = chunk.chars().collect();
    let mut end = room.min(characters.len());
    // Python 3.11 prefers to cut after the last hyphen that fits.
    if let Some(hyphen) = characters[..end].iter().rposition(|c| *c == '-') {
        if hyphen > 0 && characters[..hyphen].iter().any(|c| *c != '-') {
            end = hyphen + 1;
        }
    }
    line.push(characters[..end].iter().collect());
    *chunk = characters[end..].iter().collect();
}

/// Tells whether Python's `textwrap` may break after the hyphen at `index`: its
/// word-separator pattern wants two letters, or a letter, a hyphen and a letter, before
/// the hyphen, and a letter, an optional hyphen and a letter after it. A letter is a word
/// character that is not a digit.
fn breaks_after_hyphen(chars: &[char], index: usize) -> bool {
    let letter = |at: usize| {
        chars
            .get(at)
            .is_some_and(|c| (c.is_alphanumeric() || *c == '_') && !c.is_numeric())
    };
    let before = (index >= 2 && letter(index - 1) && letter(index - 2))
        || (index >= 3 && letter(index - 1) && chars[index - 2] == '-' && letter(index - 3));
    let after = letter(index + 1)
        && (letter(index + 2) || (chars.get(index + 2) == Some(&'-') && letter(index + 3)));
    before && after
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
        let hyphen_break = c == '-' && breaks_after_hyphen(&chars, index);
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
    fn wrap_breaks_hyphens_as_python() {
        // Expected lines from Python 3.11's textwrap.wrap(text, 30).
        let cases: [(&str, &[&str]); 3] = [
            (
                "Could not stat fact (/work/main/fixtures/runs/facts-d-ini/facts.d/dead.fact): [Errno 2] No such file",
                &[
                    "Could not stat fact (/work/mai",
                    "n/fixtures/runs/facts-d-",
                    "ini/facts.d/dead.fact): [Errno",
                    "2] No such file",
                ],
            ),
            (
                "a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-t-u-v-w-x-y-z a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-t-u-v-w-x-y-z",
                &[
                    "a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-",
                    "p-q-r-s-t-u-v-w-x-y-z a-b-c-d-",
                    "e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-",
                    "t-u-v-w-x-y-z",
                ],
            ),
            (
                "version 1-2-3 of x86-64 and some_snake-case words like well-known-hyphenated-things end",
                &[
                    "version 1-2-3 of x86-64 and",
                    "some_snake-case words like",
                    "well-known-hyphenated-things",
                    "end",
                ],
            ),
        ];
        for (text, lines) in cases {
            assert_eq!(wrap(text, 30), lines, "{text}");
        }
    }

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
