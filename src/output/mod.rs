//! Printers: everything rplay shows a user is rendered here from the engine's data.

pub mod compare;
pub mod default;
pub mod display;
pub mod file_diff;
pub mod inventory;
pub mod listing;
pub mod profile_tasks;
pub mod results;
