//! Native Ansible modules and the data types the engine shares with them.

pub mod command;
pub mod json;
pub mod pyrepr;
pub mod time;
pub mod value;

pub use value::{Map, Value};
