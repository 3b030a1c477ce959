//! The loader must return a result, never panic, on any text: every prefix of every
//! fixture, and every fixture with one character removed or one YAML indicator added.
//! Fixtures over `MAX_FUZZED_LEN` bytes are left out, as each edit reparses the file.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rplay::source::SourceFile;
use rplay::yaml;

use crate::golden::fixture_files;

const INDICATORS: &[&str] = &[
    ":", "-", "? ", "\"", "'", "[", "]", "{", "}", ",", "&a ", "*a", "!", "!!int ", "|", ">", "#",
    "%", "@", "\t", "\n", "\r\n", " ", "<<: ", "---\n", "...\n", "\\", "\u{feff}",
];

const MAX_FUZZED_LEN: usize = 4096;

/// Reads the fixtures small enough to fuzz, with their text.
fn fuzzed_fixtures() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    fixture_files()
        .into_iter()
        .map(|(fixture, _)| {
            let text = std::fs::read_to_string(root.join(&fixture)).expect("readable fixture");
            (fixture.display().to_string(), text)
        })
        .filter(|(_, text)| text.len() <= MAX_FUZZED_LEN)
        .collect()
}

fn assert_no_panic(name: &str, text: &str) {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let _ = yaml::load(SourceFile::new(name, text));
    }));
    assert!(outcome.is_ok(), "the loader panicked on {name}: {text:?}");
}

fn char_boundaries(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
}

#[test]
fn prefixes_never_panic() {
    for (name, text) in fuzzed_fixtures() {
        for end in char_boundaries(&text) {
            assert_no_panic(&format!("{name}[..{end}]"), &text[..end]);
        }
    }
}

#[test]
fn single_edits_never_panic() {
    for (name, text) in fuzzed_fixtures() {
        let boundaries: Vec<usize> = char_boundaries(&text).collect();
        for (n, window) in boundaries.windows(2).enumerate() {
            let (start, end) = (window[0], window[1]);
            let removed = format!("{}{}", &text[..start], &text[end..]);
            assert_no_panic(&format!("{name} without byte {start}"), &removed);
            let indicator = INDICATORS[n % INDICATORS.len()];
            let inserted = format!("{}{indicator}{}", &text[..start], &text[start..]);
            assert_no_panic(&format!("{name} with {indicator:?} at {start}"), &inserted);
        }
    }
}
