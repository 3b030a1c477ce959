//! Native Ansible modules and the data types the engine shares with them.

pub mod json;
pub mod pyrepr;
pub mod value;

pub use value::{Map, Value};
