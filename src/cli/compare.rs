//! `rplay compare A B`: compares two logs of the default stdout callback.

use std::path::{Path, PathBuf};

use clap::Parser;

use crate::output::compare::{compare_logs, render_json, render_text, Normalizer, NORMALIZATIONS};

/// Exit codes of `rplay compare`, as `diff` and `cmp` use them.
pub mod exit {
    pub const EQUAL: i32 = 0;
    pub const DIFFERENT: i32 = 1;
    /// Invalid arguments or an unreadable file.
    pub const ERROR: i32 = 2;
}

/// Arguments of `rplay compare`.
#[derive(Debug, Parser)]
#[command(
    name = "rplay compare",
    about = "Compares two ansible-playbook or rplay logs (default stdout callback, any \
             verbosity, standard error merged in or not) play by play and task by task.",
    after_help = NORMALIZATIONS,
)]
pub struct CompareArgs {
    /// First log, called A in the report
    #[arg(value_name = "A")]
    pub a: PathBuf,

    /// Second log, called B in the report
    #[arg(value_name = "B")]
    pub b: PathBuf,

    /// Print the differences as JSON instead of one line each
    #[arg(long)]
    pub json: bool,

    /// Directory to replace by `<prefix>` in both logs, for logs recorded in different
    /// checkouts; may be repeated
    #[arg(long = "strip-prefix", value_name = "DIR")]
    pub strip_prefix: Vec<String>,
}

/// A log that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct ReadError {
    path: String,
    source: std::io::Error,
}

/// Runs `rplay compare` with `args` (without the leading `compare`); returns 0 when the
/// logs are equal after normalisation, 1 when they differ, 2 on usage errors.
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub fn main(args: Vec<String>) -> i32 {
    let argv = std::iter::once("rplay compare".to_string()).chain(args);
    let args = match CompareArgs::try_parse_from(argv) {
        Ok(args) => args,
        Err(err) => {
            let code = if err.use_stderr() {
                exit::ERROR
            } else {
                exit::EQUAL
            };
            let _ = err.print();
            return code;
        }
    };
    let (text_a, text_b) = match (read_log(&args.a), read_log(&args.b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(err), _) | (_, Err(err)) => {
            eprintln!("rplay compare: {err}");
            return exit::ERROR;
        }
    };
    let normalizer = Normalizer::new(&args.strip_prefix);
    let comparison = compare_logs(&text_a, &text_b, &normalizer);
    let (name_a, name_b) = (args.a.display().to_string(), args.b.display().to_string());
    let report = if args.json {
        render_json(&comparison, &name_a, &name_b)
    } else {
        render_text(&comparison, &name_a, &name_b)
    };
    print!("{report}");
    if comparison.differences.is_empty() {
        exit::EQUAL
    } else {
        exit::DIFFERENT
    }
}

/// Reads a log; bytes that are not UTF-8 (binary command output) are replaced.
fn read_log(path: &Path) -> Result<String, ReadError> {
    let bytes = std::fs::read(path).map_err(|source| ReadError {
        path: path.display().to_string(),
        source,
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
