//! Inventories: INI, YAML and JSON files, directories of them, host lists and
//! inventory scripts; `group_vars/` and `host_vars/`; host patterns.
//!
//! [`load`] reads the `-i` sources in order into one [`Inventory`], as ansible-core
//! 2.18's `InventoryManager` does, trying for each file the plugins Ansible enables by
//! default (`host_list`, `script`, `auto`, `yaml`, `ini`, `toml`) in that order.
//! Variables are plain data ([`Value`]); nothing here templates them.
//!
//! [`Value`]: crate::Value

pub mod address;
mod dir;
mod host_list;
mod ini;
pub mod literal;
mod model;
pub mod pattern;
mod runtime;
mod script;
mod shlex;
mod source;
pub mod vars;
pub mod vars_files;
mod yaml;

use std::path::PathBuf;

pub use model::{Group, GroupId, GroupNameTransform, Host, HostId, Inventory, LOCALHOST_NAMES};
pub use pattern::{HostOrder, HostQuery, Limit, PatternError, PatternMismatch};
pub use source::{load, LoadOptions};
pub use vars::{combine_vars, InventoryVarLayers, RESERVED_NAMES};
pub use vars_files::{load_data_file, VarsDir};

/// An error from loading or changing an inventory.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// A syntax or structure error in an inventory source. Ansible names the file
    /// and line only for the errors it finds line by line in INI files.
    #[error("{}{message}", location(path, *line))]
    Parse {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error("{message}")]
    HostRange { pattern: String, message: String },
    #[error("Invalid empty host name provided")]
    EmptyHostName,
    #[error("Invalid empty/false group name provided")]
    EmptyGroupName,
    #[error("Adding group '{group}' as child to '{parent}' creates a recursive dependency loop.")]
    GroupLoop { group: String, parent: String },
    #[error("{name} is not a known host nor group")]
    UnknownMember { name: String },
    /// An `ansible_group_priority` that is not an integer, with Python's `int()`
    /// message.
    #[error("{0}")]
    GroupPriority(String),
    /// A `group_vars/`, `host_vars/` or other data file that could not be read.
    #[error("{}: {message}", path.display())]
    DataFile { path: PathBuf, message: String },
    /// A vault-encrypted data file or inventory source that the run's vault secrets
    /// cannot decrypt.
    #[error("{0}")]
    Vault(#[from] crate::vault::VaultError),
    #[error("Completely failed to parse inventory source {name}")]
    Unparsed { name: String },
    #[error("No inventory was parsed, please check your configuration and options.")]
    NothingParsed,
    #[error("invalid inventory ignore pattern '{pattern}': {message}")]
    IgnorePattern { pattern: String, message: String },
}

fn location(path: &std::path::Path, line: Option<usize>) -> String {
    match line {
        Some(line) => format!("{}:{line}: ", path.display()),
        None => String::new(),
    }
}
