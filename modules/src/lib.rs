//! Native Ansible modules and the data types the engine shares with them.

pub mod agent;
pub mod command;
pub mod dispatch;
pub mod facts;
pub mod json;
pub mod pyrepr;
pub mod time;
pub mod value;

pub use value::{Map, Value};
