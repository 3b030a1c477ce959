//! The playbook tree and its loader.

pub mod actions;
pub mod ast;
pub mod error;
pub mod keywords;
mod load;
pub mod walk;

pub use ast::*;
pub use error::{LoadError, LoadErrorKind};
pub use load::args::VARIABLE_PARAMS;
pub(crate) use load::is_template;
pub use load::{check_playbook_file, parse_kv_text, split_args, LoadNote, Loader, RoleFiles};
