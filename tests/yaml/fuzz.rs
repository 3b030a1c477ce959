//! The loader must return a result, never panic, on any text: every prefix of every
//! fixture, and every fixture with one character removed or one YAML indicator added.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rplay::source::SourceFile;
use rplay::yaml;

use crate::golden::fixture_files;

const INDICATORS: &[&str] = &[
    ":", "-", "? ", "\"", "'", "[", "]", "{", "}", ",", "&a ", "*a", "!", "!!int ", "|", ">", "#",
    "%", "@", "\t", "\n", "\r\n", " ", "<<: ", "---\n", "...\n", "\\", "\u{feff}",
];

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
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for fixture in fixture_files() {
        let text = std::fs::read_to_string(root.join(&fixture)).expect("readable fixture");
        for end in char_boundaries(&text) {
            assert_no_panic(&format!("{}[..{end}]", fixture.display()), &text[..end]);
        }
    }
}

#[test]
fn single_edits_never_panic() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for fixture in fixture_files() {
        let text = std::fs::read_to_string(root.join(&fixture)).expect("readable fixture");
        let boundaries: Vec<usize> = char_boundaries(&text).collect();
        for (n, window) in boundaries.windows(2).enumerate() {
            let (start, end) = (window[0], window[1]);
            let removed = format!("{}{}", &text[..start], &text[end..]);
            assert_no_panic(
                &format!("{} without byte {start}", fixture.display()),
                &removed,
            );
            let indicator = INDICATORS[n % INDICATORS.len()];
            let inserted = format!("{}{indicator}{}", &text[..start], &text[start..]);
            assert_no_panic(
                &format!("{} with {indicator:?} at {start}", fixture.display()),
                &inserted,
            );
        }
    }
}
