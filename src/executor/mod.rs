//! Running plays: tag selection, the play iterator, strategies and the task runner.

pub mod events;
pub mod iterator;
pub mod tags;
