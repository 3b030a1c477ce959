//! `rplay agent`: the module runner a controller starts on a target over SSH. It speaks
//! frames on standard input and output and is not meant to be run by hand.

use std::io::{self, BufReader, BufWriter};

use super::exit;

/// Serves module requests until standard input ends. With `--run-module` or
/// `--async-job`, runs one module call read from standard input instead: the agent
/// starts itself so for `timeout` and `async` (see `rplay_modules::background`).
#[allow(clippy::print_stderr)]
pub fn main(args: Vec<String>) -> i32 {
    match args.as_slice() {
        [] => {}
        [arg] if arg == rplay_modules::background::RUN_MODULE_ARG => {
            return rplay_modules::background::runner_main();
        }
        [arg] if arg == rplay_modules::background::ASYNC_JOB_ARG => {
            return rplay_modules::background::job_main();
        }
        _ => {
            eprintln!("usage: rplay agent   (started by rplay on targets; takes no arguments)");
            return exit::BAD_OPTIONS;
        }
    }
    rplay_modules::workdir::enter_readable_directory();
    let mut input = BufReader::new(io::stdin().lock());
    let mut output = BufWriter::new(io::stdout().lock());
    match rplay_modules::agent::serve(&mut input, &mut output) {
        Ok(()) => exit::OK,
        Err(err) => {
            eprintln!("rplay agent: {err}");
            exit::ERROR
        }
    }
}
