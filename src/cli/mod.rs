//! The command-line edge: argument parsing, settings and exit codes.

mod agent;
mod arg_error;
pub mod args;
pub mod compare;
mod extra_vars;
pub mod inventory;
mod playbook;
mod setup;

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
#[allow(clippy::print_stderr)]
pub fn main() -> i32 {
    let mut argv = std::env::args().skip(1).peekable();
    match argv.peek().map(String::as_str) {
        Some("inventory") => return inventory::main(argv.skip(1).collect()),
        Some("compare") => return compare::main(argv.skip(1).collect()),
        Some("agent") => return agent::main(argv.skip(1).collect()),
        _ => {}
    }
    let args = match PlaybookArgs::try_parse() {
        Ok(args) => args,
        // `--help` and `--version` also arrive here, for standard output.
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            return exit::OK;
        }
        Err(err) => {
            eprint!("{}", arg_error::render::<PlaybookArgs>(&err));
            return exit::HOST_FAILED;
        }
    };
    tracing::debug!(?args, "parsed arguments");
    playbook::run(args)
}
