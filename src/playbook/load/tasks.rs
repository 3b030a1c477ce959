//! Task lists: blocks, tasks, handlers and the static `import_tasks`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::args::{parse_action, ParsedAction};
use super::{is_template, map_entries, set_inherited, unknown_keyword, Loader, Origin};
use crate::config;
use crate::playbook::ast::{Block, BlockKind, Inherited, Item, Spanned, Task};
use crate::playbook::error::LoadError;
use crate::playbook::keywords;
use crate::source::Span;
use crate::yaml::{Node, NodeKind};
use crate::Value;

impl Loader {
    /// Loads a task list (`tasks:`, `block:`, a tasks file...).
    pub(super) fn load_items(
        &mut self,
        node: &Node,
        origin: &Origin,
        handlers: bool,
    ) -> Result<Vec<Item>, LoadError> {
        let entries = match &node.kind {
            NodeKind::Seq(entries) => entries.as_slice(),
            NodeKind::Scalar(Value::Null) => return Ok(Vec::new()),
            _ => return Err(LoadError::new(
                "A malformed block was encountered while loading tasks: expected a list of tasks",
                Some(&node.span),
            )),
        };
        let mut items = Vec::with_capacity(entries.len());
        for entry in entries {
            items.push(self.load_item(entry, origin, handlers)?);
        }
        Ok(items)
    }

    fn load_item(
        &mut self,
        node: &Node,
        origin: &Origin,
        handlers: bool,
    ) -> Result<Item, LoadError> {
        map_entries(node, "a task")?;
        if node.get("block").is_some() {
            return self.load_block(node, origin, handlers);
        }
        let task = self.load_task(node, origin, handlers)?;
        if handlers && matches!(task.short_action(), "include_role" | "import_role") {
            return Err(LoadError::new(
                format!("Using '{}' as a handler is not supported.", task.action),
                Some(&node.span),
            ));
        }
        match task.short_action() {
            "import_tasks" => self.load_import_tasks(task, origin, handlers),
            "import_role" => self.load_import_role(task, origin),
            _ => Ok(Item::Task(Arc::new(task))),
        }
    }

    fn load_block(
        &mut self,
        node: &Node,
        origin: &Origin,
        handlers: bool,
    ) -> Result<Item, LoadError> {
        let lists = [keywords::BLOCK, keywords::INHERITED];
        let mut block = Block {
            span: node.span.clone(),
            kind: BlockKind::Explicit,
            name: None,
            block: Vec::new(),
            rescue: Vec::new(),
            always: Vec::new(),
            inherited: Inherited::default(),
        };
        for (key, value) in map_entries(node, "a block")? {
            let key_text = key.as_str().unwrap_or_default();
            let Some(keyword) = keywords::find(key_text, &lists) else {
                return Err(unknown_keyword(key, "Block", &lists));
            };
            if handlers && matches!(keyword, "block" | "rescue" | "always") {
                reject_nested_handler_block(value)?;
            }
            match keyword {
                "name" => block.name = super::name_of(value),
                "block" => block.block = self.load_items(value, origin, handlers)?,
                "rescue" => block.rescue = self.load_items(value, origin, handlers)?,
                "always" => block.always = self.load_items(value, origin, handlers)?,
                keyword if keywords::INHERITED.contains(&keyword) => {
                    set_inherited(&mut block.inherited, keyword, value, "Block")?
                }
                keyword => block.inherited.keywords.push((
                    keyword,
                    Spanned {
                        value: value.to_value(),
                        span: value.span.clone(),
                    },
                )),
            }
        }
        Ok(Item::Block(Arc::new(block)))
    }

    pub(super) fn load_task(
        &mut self,
        node: &Node,
        origin: &Origin,
        handler: bool,
    ) -> Result<Task, LoadError> {
        let ParsedAction {
            action,
            args,
            local,
        } = parse_action(node, &self.actions, handler)?;
        let mut task = Task {
            span: node.span.clone(),
            name: None,
            action,
            args,
            inherited: Inherited::default(),
            keywords: Vec::new(),
            loop_lookup: None,
            implicit: false,
        };
        if local {
            task.keywords.push((
                "delegate_to",
                Spanned {
                    value: Value::from("localhost"),
                    span: node.span.clone(),
                },
            ));
        }
        for (key, value) in map_entries(node, "a task")? {
            let key_text = key.as_str().unwrap_or_default();
            let spanned = Spanned {
                value: value.to_value(),
                span: value.span.clone(),
            };
            if let Some(lookup) = key_text.strip_prefix("with_") {
                task.loop_lookup = Some(lookup.to_string());
                task.keywords.push(("loop", spanned));
                continue;
            }
            let lists: &[&[&'static str]] = if handler {
                &[keywords::TASK, keywords::INHERITED, keywords::HANDLER]
            } else {
                &[keywords::TASK, keywords::INHERITED]
            };
            let Some(keyword) = keywords::find(key_text, lists) else {
                // The action key itself; anything else was rejected by `parse_action`.
                continue;
            };
            match keyword {
                "name" => task.name = super::name_of(value),
                "action" | "local_action" | "args" => {}
                "register" if !is_variable_name(&spanned.value) => {
                    return Err(LoadError::new(
                        format!(
                            "Invalid variable name in 'register' specified: '{}'",
                            rplay_modules::pyrepr::str(&spanned.value)
                        ),
                        None,
                    ));
                }
                keyword if keywords::INHERITED.contains(&keyword) => {
                    set_inherited(&mut task.inherited, keyword, value, "Task")?
                }
                keyword => task.keywords.push((keyword, spanned)),
            }
        }
        let _ = origin;
        Ok(task)
    }

    /// Expands `import_tasks: FILE` into a block that carries the import's keywords.
    fn load_import_tasks(
        &mut self,
        task: Task,
        origin: &Origin,
        handlers: bool,
    ) -> Result<Item, LoadError> {
        let file = task
            .args
            .get("_raw_params")
            .or_else(|| task.args.get("file"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                LoadError::new("No file specified for import_tasks", Some(&task.span))
            })?;
        if is_template(&file) {
            return Err(LoadError::new(
                format!("rplay cannot template the import_tasks path {file:?} yet"),
                Some(&task.span),
            ));
        }
        let candidates = self.import_candidates(&file, origin, handlers);
        let Some(path) = candidates.iter().find(|path| path.is_file()).cloned() else {
            return Err(self.missing_tasks_file(&file, &candidates, &task.span));
        };
        if self.loading.contains(&path) {
            return Err(super::import_cycle(
                &self.loading,
                &path,
                &task.span,
                "import_tasks is static, so it cannot recurse; include_tasks with a condition that ends the recursion can",
            ));
        }
        if self.document(&path)?.is_none() {
            self.notes.push(super::LoadNote::Warning(format!(
                "file {} is empty and had no tasks to include",
                path.display()
            )));
            return Ok(Item::Block(Arc::new(Block {
                span: task.span,
                kind: BlockKind::ImportTasks {
                    path,
                    written: file,
                },
                name: task.name,
                block: Vec::new(),
                rescue: Vec::new(),
                always: Vec::new(),
                inherited: task.inherited,
            })));
        }
        self.notes.push(super::LoadNote::Verbose(format!(
            "statically imported: {}",
            path.display()
        )));
        let items = self.load_tasks_file(&path, origin, handlers)?;
        let mut inherited = task.inherited;
        // `vars:` on the import and the import's own keywords apply to every task in it.
        inherited.keywords.extend(task.keywords);
        Ok(Item::Block(Arc::new(Block {
            span: task.span,
            kind: BlockKind::ImportTasks {
                path,
                written: file,
            },
            name: task.name,
            block: items.as_ref().clone(),
            rescue: Vec::new(),
            always: Vec::new(),
            inherited,
        })))
    }

    /// Loads a file of tasks, relative paths inside it resolving against its directory.
    pub(super) fn load_tasks_file(
        &mut self,
        path: &Path,
        origin: &Origin,
        handlers: bool,
    ) -> Result<Arc<Vec<Item>>, LoadError> {
        let document = self.document(path)?;
        let nested = Origin {
            file_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            ..origin.clone()
        };
        self.loading.push(path.to_path_buf());
        let items = match document.as_ref() {
            Some(node) => self.load_items(node, &nested, handlers),
            None => Ok(Vec::new()),
        };
        self.loading.pop();
        Ok(Arc::new(items?))
    }

    /// Builds the error for an `import_tasks` file found nowhere. ansible-core names the path
    /// relative to the playbook's directory, the last place it looks.
    fn missing_tasks_file(&self, file: &str, candidates: &[PathBuf], span: &Span) -> LoadError {
        let reported = config::normalize(&self.playbook_dir.join(file));
        let searched: Vec<String> = candidates
            .iter()
            .map(|path| path.display().to_string())
            .collect();
        LoadError::file_not_found(&reported, Some(span))
            .with_hint(format!("searched {}", searched.join(", ")))
    }

    /// Finds a tasks file as ansible-core does: inside a role, the including file's
    /// directory and the role's `tasks/`; elsewhere, the including file's directory and
    /// the playbook's directory.
    pub(super) fn find_tasks_file(&self, file: &str, origin: &Origin) -> Option<PathBuf> {
        self.tasks_file_candidates(file, origin)
            .into_iter()
            .find(|path| path.is_file())
    }

    /// Lists where `import_tasks` looks for a file. Inside a role, ansible-core's
    /// `path_dwim_relative` goes on to `tasks/` or `handlers/` under the working
    /// directory and under the playbook's directory, then the playbook's directory.
    fn import_candidates(&self, file: &str, origin: &Origin, handlers: bool) -> Vec<PathBuf> {
        let mut candidates = self.tasks_file_candidates(file, origin);
        if origin.role_dir.is_some() {
            let subdir = if handlers { "handlers" } else { "tasks" };
            let cwd = std::env::current_dir().unwrap_or_default();
            for path in [
                cwd.join(subdir).join(file),
                origin.playbook_dir.join(subdir).join(file),
                origin.playbook_dir.join(file),
            ] {
                let path = config::normalize(&path);
                if !candidates.contains(&path) {
                    candidates.push(path);
                }
            }
        }
        candidates
    }

    pub(super) fn tasks_file_candidates(&self, file: &str, origin: &Origin) -> Vec<PathBuf> {
        let mut candidates = vec![origin.file_dir.join(file)];
        match &origin.role_dir {
            Some(role_dir) => {
                candidates.push(role_dir.join("tasks").join(file));
                candidates.push(role_dir.join(file));
            }
            None => candidates.push(origin.playbook_dir.join(file)),
        }
        let mut normalized: Vec<PathBuf> = Vec::new();
        for path in candidates {
            let path = config::normalize(&path);
            if !normalized.contains(&path) {
                normalized.push(path);
            }
        }
        normalized
    }
}

/// Rejects a block inside a handler's block, as ansible-core does. A handler list may
/// hold blocks, which it takes as groups of handlers, but no block nests in them.
fn reject_nested_handler_block(list: &Node) -> Result<(), LoadError> {
    let NodeKind::Seq(entries) = &list.kind else {
        return Ok(());
    };
    match entries.iter().find(|entry| entry.get("block").is_some()) {
        Some(entry) => Err(LoadError::new(
            "Using a block as a handler is not supported.",
            Some(&entry.span),
        )),
        None => Ok(()),
    }
}

/// Python's keywords (3.11), which ansible-core rejects as variable names.
const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Tells whether `register` names a variable as ansible-core's `isidentifier` accepts
/// it: an ASCII Python identifier that is not a keyword. Null means no `register`.
fn is_variable_name(value: &Value) -> bool {
    let Some(name) = value.as_str() else {
        return value.is_null();
    };
    let mut chars = name.chars();
    let identifier = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    identifier && !PYTHON_KEYWORDS.contains(&name)
}
