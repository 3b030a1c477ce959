//! `rplay compare`: reads two logs of the default stdout callback (ansible-playbook's or
//! rplay's), normalises what legitimately varies between runs and lists every
//! difference, task by task.
//!
//! The steps are separate: [`parse_log`] builds a [`Log`], [`Normalizer`] rewrites
//! times and temporary names in it, [`diff_logs`] lists the [`Difference`]s, and
//! [`render_text`] or [`render_json`] prints them.

pub mod diff;
pub mod normalize;
pub mod parse;
pub mod render;

pub use diff::{
    diff_logs, Comparison, Difference, Location, MovedTask, Position, Reordered, Subject,
};
pub use normalize::{Normalizer, NORMALIZATIONS};
pub use parse::{parse_log, Log};
pub use render::{render_difference, render_json, render_moved, render_reordered, render_text};

/// Parses, normalises and compares two log texts.
pub fn compare_logs(a: &str, b: &str, normalizer: &Normalizer) -> Comparison {
    let mut log_a = parse_log(a);
    let mut log_b = parse_log(b);
    normalizer.normalize_log(&mut log_a);
    normalizer.normalize_log(&mut log_b);
    diff_logs(&log_a, &log_b)
}
