//! rplay runs Ansible playbooks as ansible-core 2.18 does, without Python.
//!
//! The modules follow the pipeline: `source` and `yaml` read files, `inventory` and
//! `playbook` load them into typed structures, `vars` and `template` resolve variables,
//! `executor` runs plays and emits events, and `output` renders those events.

pub mod cli;
pub mod config;
pub mod connection;
pub mod executor;
pub mod inventory;
pub mod output;
pub mod playbook;
pub mod source;
pub mod template;
pub mod vars;
pub mod vault;
pub mod yaml;

pub use rplay_modules::{Map, Value};
