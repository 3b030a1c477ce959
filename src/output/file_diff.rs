//! The text ansible-core's default callback prints for a result's `diff` in `--diff`
//! mode (`_get_diff`): markers for skipped content, and a unified diff with three lines
//! of context computed as Python's `difflib` computes it (`rplay_modules::difflib`), so
//! that hunks match.

use super::default::{stringc, Color};
use crate::{Map, Value};
use rplay_modules::difflib::{split_lines_keep_ends, unified_diff};
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
