//! The command-line edge: argument parsing, settings and exit codes.

pub mod args;
pub mod compare;
mod extra_vars;
pub mod inventory;
mod playbook;

use clap::Parser;

use args::PlaybookArgs;

/// Exit codes as ansible-playbook uses them.
pub mod exit {
    pub const OK: i32 = 0;
    /// A generic error, such as a playbook that cannot be found.
    pub const ERROR: i32 = 1;
    /// A host failed, or the command line could not be parsed.
    pub const HOST_FAILED: i32 = 2;
    pub const UNREACHABLE_OR_PARSE_ERROR: i32 = 4;
    pub const BAD_OPTIONS: i32 = 5;
    pub const INTERRUPTED: i32 = 99;
    pub const INTERNAL_ERROR: i32 = 250;
}

/// Runs rplay with the process arguments and returns the exit code.
pub fn main() -> i32 {
    let mut argv = std::env::args().skip(1).peekable();
    match argv.peek().map(String::as_str) {
        Some("inventory") => return inventory::main(argv.skip(1).collect()),
        Some("compare") => return compare::main(argv.skip(1).collect()),
        _ => {}
    }
    let args = match PlaybookArgs::try_parse() {
        Ok(args) => args,
        Err(err) => {
            let code = if err.use_stderr() {
                exit::HOST_FAILED
            } else {
                exit::OK
            };
            let _ = err.print();
            return code;
        }
    };
    tracing::debug!(?args, "parsed arguments");
    playbook::run(args)
}
