//! Native Ansible modules and the data types the engine shares with them.

pub mod agent;
pub mod blockinfile;
pub mod command;
pub mod copy;
pub mod dispatch;
pub mod facts;
pub mod file;
pub mod files;
pub mod find;
pub mod json;
pub mod lineinfile;
pub mod pyregex;
pub mod pyrepr;
pub mod replace;
pub mod slurp;
pub mod spec;
pub mod stat;
pub mod textedit;
pub mod time;
pub mod value;

pub use value::{Map, Value};
