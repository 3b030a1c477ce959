//! Native Ansible modules and the data types the engine shares with them.

pub mod agent;
pub mod apt;
pub mod blockinfile;
pub mod command;
pub mod copy;
pub mod difflib;
pub mod dispatch;
pub mod facts;
pub mod file;
pub mod files;
pub mod find;
pub mod group;
pub mod hostname;
pub mod ini_file;
pub mod json;
pub mod lineinfile;
pub mod modprobe;
pub mod mount;
pub mod pyregex;
pub mod pyrepr;
pub mod replace;
pub mod selinux;
pub mod service_facts;
pub mod slurp;
pub mod spec;
pub mod stat;
pub mod sysctl;
pub mod system;
pub mod systemd;
pub mod tempfile;
pub mod textedit;
pub mod time;
pub mod user;
pub mod value;

pub use value::{Map, Value};
