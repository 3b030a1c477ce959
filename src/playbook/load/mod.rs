//! Reads playbook files into the typed tree, expanding static imports.

pub(crate) mod args;
pub use args::{parse_kv_text, split_args};
mod roles;
pub use roles::RoleFiles;
mod tasks;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::actions::ActionResolver;
use super::ast::{Inherited, Play, Playbook, RoleDefinition, Spanned};
use super::error::{LoadError, LoadErrorKind};
use super::keywords;
use crate::config::{self, Config};
use crate::source::suggest;
use crate::vault::VaultSecrets;
use crate::yaml::{self, Node, NodeKind};
use crate::{Map, Value};

/// Loads playbooks, caching every file and role it reads so a role used by many plays is
/// parsed once.
pub struct Loader {
    roles_path: Vec<PathBuf>,
    /// `collections_path`: where `ns.collection.role` names are searched after the
    /// playbook's own `collections/` directory.
    collections_paths: Vec<PathBuf>,
    actions: ActionResolver,
    documents: HashMap<PathBuf, Arc<Option<Node>>>,
    roles: HashMap<PathBuf, Arc<RoleDefinition>>,
    /// The directory of the playbook file being loaded; roles are searched from it.
    playbook_dir: PathBuf,
    /// Warnings and `-vv` messages in the order ansible-core prints them while it
    /// loads: duplicate mapping keys, `statically imported: FILE`.
    pub notes: Vec<LoadNote>,
    /// The playbook and tasks files being loaded, outermost first, to find import cycles.
    loading: Vec<PathBuf>,
    /// The roles being loaded, outermost first, each with the role entry that asked for
    /// it, to find dependency cycles.
    loading_roles: Vec<(PathBuf, crate::source::Span)>,
    /// Each role's `tasks/main.yml` as a block list, loaded when a use of the role needs
    /// it; `None` when the role has no such file.
    role_main_tasks: HashMap<PathBuf, Option<Arc<Vec<super::ast::Item>>>>,
    /// The run's vault secrets, which decrypt vault-encrypted playbooks, task files
    /// and role variables.
    vault_secrets: VaultSecrets,
}

/// A message ansible-core prints while it loads a playbook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadNote {
    Warning(String),
    /// A message shown from `-vv` on.
    Verbose(String),
}

/// Where the items being loaded come from, for resolving relative paths.
#[derive(Clone, Debug)]
struct Origin {
    /// The playbook's directory.
    playbook_dir: PathBuf,
    /// The directory of the file being read.
    file_dir: PathBuf,
    /// The role whose files are being read, if any.
    role_dir: Option<PathBuf>,
    /// Where a role dependency is also searched: the directory holding the role that
    /// depends on it.
    role_search_dir: Option<PathBuf>,
}

impl Loader {
    pub fn new(config: &Config, vault_secrets: VaultSecrets) -> Loader {
        let mut actions = ActionResolver::new();
        for dir in config.paths("DEFAULT_MODULE_PATH") {
            actions.add_library(dir);
        }
        Loader {
            roles_path: config.paths("DEFAULT_ROLES_PATH").to_vec(),
            collections_paths: config.paths("COLLECTIONS_PATHS").to_vec(),
            actions,
            documents: HashMap::new(),
            roles: HashMap::new(),
            playbook_dir: PathBuf::new(),
            notes: Vec::new(),
            loading: Vec::new(),
            loading_roles: Vec::new(),
            vault_secrets,
            role_main_tasks: HashMap::new(),
        }
    }

    /// Loads a playbook file and every file it imports.
    pub fn load_playbook(&mut self, path: &Path) -> Result<Playbook, LoadError> {
        check_playbook_file(path)?;
        let given_path = path.to_path_buf();
        let path = absolute(path);
        let playbook_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.actions.add_library(&playbook_dir.join("library"));
        let mut plays = Vec::new();
        self.load_plays(&path, &Inherited::default(), &mut plays)?;
        Ok(Playbook {
            path,
            given_path,
            plays,
        })
    }

    /// Reads and caches the single YAML document of a file; `None` for an empty file.
    fn document(&mut self, path: &Path) -> Result<Arc<Option<Node>>, LoadError> {
        if let Some(document) = self.documents.get(path) {
            return Ok(document.clone());
        }
        let loaded = yaml::load_data_file(path, &self.vault_secrets)?;
        self.notes
            .extend(loaded.warnings.into_iter().map(LoadNote::Warning));
        let document = Arc::new(loaded.documents.into_iter().next());
        self.documents.insert(path.to_path_buf(), document.clone());
        Ok(document)
    }

    fn load_plays(
        &mut self,
        path: &Path,
        imported: &Inherited,
        plays: &mut Vec<Arc<Play>>,
    ) -> Result<(), LoadError> {
        let document = self.document(path)?;
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let outer_dir = std::mem::replace(&mut self.playbook_dir, base_dir.clone());
        self.loading.push(path.to_path_buf());
        let result = self.load_plays_of(&document, path, &base_dir, imported, plays);
        self.loading.pop();
        self.playbook_dir = outer_dir;
        result
    }

    fn load_plays_of(
        &mut self,
        document: &Option<Node>,
        path: &Path,
        base_dir: &Path,
        imported: &Inherited,
        plays: &mut Vec<Arc<Play>>,
    ) -> Result<(), LoadError> {
        let Some(node) = document.as_ref() else {
            let file = crate::source::SourceFile::new(path, "");
            return Err(LoadError::new(
                format!("Empty playbook, nothing to do: {}", path.display()),
                Some(&crate::source::Span::new(file, 1, 1)),
            )
            .with_hint(PLAY_EXAMPLE));
        };
        let NodeKind::Seq(entries) = &node.kind else {
            return Err(LoadError::new(
                format!(
                    "A playbook must be a list of plays, got a {} instead: {}",
                    python_class(node),
                    path.display()
                ),
                Some(&node.span),
            )
            .with_hint(PLAY_EXAMPLE));
        };
        for entry in entries {
            if !matches!(entry.kind, NodeKind::Map(_)) {
                return Err(LoadError::new(
                    "playbook entries must be either valid plays or 'import_playbook' statements",
                    Some(&entry.span),
                )
                .with_hint(format!(
                    "this entry is a {}; {PLAY_EXAMPLE}",
                    describe(entry)
                )));
            }
            let Some(import) = entry
                .get("import_playbook")
                .or_else(|| entry.get("ansible.builtin.import_playbook"))
            else {
                let play = self.load_play(entry, base_dir, imported)?;
                plays.push(Arc::new(play));
                continue;
            };
            self.load_import_playbook(entry, import, base_dir, imported, plays)?;
        }
        Ok(())
    }

    fn load_import_playbook(
        &mut self,
        entry: &Node,
        import: &Node,
        base_dir: &Path,
        imported: &Inherited,
        plays: &mut Vec<Arc<Play>>,
    ) -> Result<(), LoadError> {
        let mut inherited = imported.clone();
        for (key, value) in map_entries(entry, "import_playbook")? {
            let key_text = key.as_str().unwrap_or_default();
            if key_text == "import_playbook" || key_text == "ansible.builtin.import_playbook" {
                continue;
            }
            match keywords::find(key_text, &[keywords::IMPORT_PLAYBOOK]) {
                Some("name") => {}
                Some(keyword) => set_inherited(&mut inherited, keyword, value, "PlaybookInclude")?,
                _ => {
                    return Err(unknown_keyword(
                        key,
                        "PlaybookInclude",
                        &[keywords::IMPORT_PLAYBOOK],
                    ))
                }
            }
        }
        let Some(file) = import.as_str() else {
            return Err(LoadError::new(
                "import_playbook needs a file name",
                Some(&import.span),
            ));
        };
        if is_template(file) {
            return Err(LoadError::new(
                format!("rplay cannot template the import_playbook path {file:?} yet"),
                Some(&import.span),
            ));
        }
        let path = config::normalize(&base_dir.join(file));
        if !path.is_file() {
            return Err(LoadError::file_not_found(&path, Some(&import.span))
                .with_hint("import_playbook paths are relative to the importing playbook"));
        }
        if self.loading.contains(&path) {
            return Err(import_cycle(
                &self.loading,
                &path,
                &import.span,
                "import_playbook is static, so a playbook cannot import itself, directly or through others",
            ));
        }
        self.load_plays(&path, &inherited, plays)
    }

    fn load_play(
        &mut self,
        node: &Node,
        base_dir: &Path,
        imported: &Inherited,
    ) -> Result<Play, LoadError> {
        let lists = [keywords::PLAY, keywords::INHERITED];
        let origin = Origin {
            playbook_dir: base_dir.to_path_buf(),
            file_dir: base_dir.to_path_buf(),
            role_dir: None,
            role_search_dir: None,
        };
        let mut play = Play {
            span: node.span.clone(),
            name: None,
            hosts: Spanned {
                value: Value::Null,
                span: node.span.clone(),
            },
            gather_facts: None,
            vars_files: Vec::new(),
            pre_tasks: Vec::new(),
            roles: Vec::new(),
            tasks: Vec::new(),
            post_tasks: Vec::new(),
            handlers: Vec::new(),
            inherited: imported.clone(),
            keywords: Vec::new(),
            base_dir: base_dir.to_path_buf(),
        };
        let mut has_hosts = false;
        for (key, value) in map_entries(node, "play")? {
            let key_text = key.as_str().unwrap_or_default();
            let Some(keyword) = keywords::find(key_text, &lists) else {
                return Err(unknown_keyword(key, "Play", &lists));
            };
            let spanned = Spanned {
                value: value.to_value(),
                span: value.span.clone(),
            };
            match keyword {
                "name" => play.name = name_of(value),
                "hosts" => {
                    has_hosts = true;
                    play.hosts = spanned;
                }
                "gather_facts" => play.gather_facts = Some(spanned),
                "vars_files" => play.vars_files = list_of(value),
                "pre_tasks" => play.pre_tasks = self.load_items(value, &origin, false)?,
                "tasks" => play.tasks = self.load_items(value, &origin, false)?,
                "post_tasks" => play.post_tasks = self.load_items(value, &origin, false)?,
                "handlers" => play.handlers = self.load_items(value, &origin, true)?,
                "roles" => play.roles = self.load_roles_section(value, &origin)?,
                keyword if keywords::INHERITED.contains(&keyword) => {
                    set_inherited(&mut play.inherited, keyword, value, "Play")?
                }
                keyword => play.keywords.push((keyword, spanned)),
            }
        }
        if !has_hosts {
            return Err(LoadError::new(
                "the field 'hosts' is required but was not set",
                Some(&node.span),
            ));
        }
        Ok(play)
    }
}

/// The entries of a mapping node, or an error naming what was expected.
fn map_entries<'a>(node: &'a Node, what: &str) -> Result<&'a [(Node, Node)], LoadError> {
    match &node.kind {
        NodeKind::Map(entries) => Ok(entries),
        _ => Err(LoadError::new(
            format!("{what} must be a mapping, got {}", describe(node)),
            Some(&node.span),
        )),
    }
}

/// How a playbook shows its plays, for hints.
const PLAY_EXAMPLE: &str =
    "a playbook is a YAML list of plays, each a mapping such as `- hosts: all` with `tasks:`";

/// Checks the playbook path as ansible-playbook does before loading anything.
pub fn check_playbook_file(path: &Path) -> Result<(), LoadError> {
    if !path.exists() {
        return Err(LoadError::not_found(
            format!("the playbook: {} could not be found", path.display()),
            None,
        ));
    }
    if !path.is_file() {
        return Err(LoadError::not_found(
            format!(
                "the playbook: {} does not appear to be a file",
                path.display()
            ),
            None,
        ));
    }
    Ok(())
}

/// Builds the error for a static import of a file that is already being loaded further up.
fn import_cycle(
    loading: &[PathBuf],
    path: &Path,
    span: &crate::source::Span,
    hint: &str,
) -> LoadError {
    let start = loading.iter().position(|p| p == path).unwrap_or(0);
    let chain: Vec<String> = loading[start..]
        .iter()
        .chain(std::iter::once(&path.to_path_buf()))
        .map(|p| p.display().to_string())
        .collect();
    LoadError::new(
        format!("{} imports itself: {}", path.display(), chain.join(" -> ")),
        Some(span),
    )
    .with_kind(LoadErrorKind::ImportCycle)
    .with_hint(hint)
}

/// Python's class of a node's value, as ansible-core prints it in the message about a
/// playbook that is not a list.
fn python_class(node: &Node) -> String {
    let name = match &node.kind {
        NodeKind::Map(_) => "ansible.parsing.yaml.objects.AnsibleMapping",
        NodeKind::Vault(_) => "ansible.parsing.yaml.objects.AnsibleVaultEncryptedUnicode",
        NodeKind::Seq(_) => "list",
        NodeKind::Scalar(value) => value.type_name(),
    };
    format!("<class '{name}'>")
}

/// Names a node's type as Python would (`str`, `list`, `dict`...).
fn describe(node: &Node) -> &'static str {
    match &node.kind {
        NodeKind::Scalar(value) => value.type_name(),
        NodeKind::Vault(_) => "AnsibleVaultEncryptedUnicode",
        NodeKind::Seq(_) => "list",
        NodeKind::Map(_) => "dict",
    }
}

fn unknown_keyword(key: &Node, object: &str, lists: &[&[&'static str]]) -> LoadError {
    let name = key.as_str().unwrap_or_default();
    let error = LoadError::new(
        format!("'{name}' is not a valid attribute for a {object}"),
        Some(&key.span),
    );
    match suggest(name, lists.iter().flat_map(|list| list.iter().copied())) {
        Some(candidate) => error.with_hint(format!("did you mean '{candidate}'?")),
        None => error,
    }
}

/// Records an inheritable keyword. `tags` and `when` accumulate; `vars` merges.
fn set_inherited(
    inherited: &mut Inherited,
    keyword: &'static str,
    value: &Node,
    object: &str,
) -> Result<(), LoadError> {
    match keyword {
        "when" => inherited.when.extend(list_of(value)),
        "tags" => inherited.tags.extend(tags_of(value)),
        "environment" => inherited.environment.push(Spanned {
            value: value.to_value(),
            span: value.span.clone(),
        }),
        "vars" => {
            let mut vars = inherited.vars.take().map(|v| v.value).unwrap_or_default();
            vars.extend(vars_of(value, object)?);
            inherited.vars = Some(Spanned {
                value: vars,
                span: value.span.clone(),
            });
        }
        keyword => {
            inherited.keywords.retain(|(key, _)| *key != keyword);
            inherited.keywords.push((
                keyword,
                Spanned {
                    value: value.to_value(),
                    span: value.span.clone(),
                },
            ));
        }
    }
    Ok(())
}

/// A keyword value that may be one item or a list, as a list of spanned items.
fn list_of(node: &Node) -> Vec<Spanned<Value>> {
    match &node.kind {
        NodeKind::Seq(items) => items
            .iter()
            .map(|item| Spanned {
                value: item.to_value(),
                span: item.span.clone(),
            })
            .collect(),
        _ => vec![Spanned {
            value: node.to_value(),
            span: node.span.clone(),
        }],
    }
}

/// Tags as Ansible reads them: a list, or a string split at commas.
fn tags_of(node: &Node) -> Vec<Spanned<Value>> {
    match &node.kind {
        NodeKind::Scalar(Value::Str(text)) => text
            .split(',')
            .map(|tag| Spanned {
                value: Value::from(tag.trim()),
                span: node.span.clone(),
            })
            .collect(),
        _ => list_of(node),
    }
}

/// A `vars` keyword: a mapping, or a list of mappings merged in order.
fn vars_of(node: &Node, object: &str) -> Result<Map, LoadError> {
    match node.to_value() {
        Value::Map(map) => Ok(Arc::unwrap_or_clone(map)),
        Value::Null => Ok(Map::new()),
        _ => Err(LoadError::new(
            format!("Vars in a {object} must be specified as a dictionary"),
            Some(&node.span),
        )),
    }
}

/// A `name` keyword: empty or null means no name, as ansible-core falls back to the
/// action (or the hosts, for a play) then.
fn name_of(node: &Node) -> Option<String> {
    if node.to_value().is_null() {
        return None;
    }
    Some(scalar_text(node)).filter(|text| !text.is_empty())
}

/// A scalar as text (Python's `str()`), for names.
fn scalar_text(node: &Node) -> String {
    super::ast::value_text(&node.to_value())
}

pub(crate) fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

pub(super) fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    config::normalize(&joined)
}

impl Loader {
    /// Loads the tasks of `include_tasks: FILE` at run time. `from` is the file of the
    /// include task; `base` the role directory (when `in_role`) or the playbook's;
    /// `playbook_dir` the play's directory, which the error for a missing file names.
    /// `handlers` loads the file as a handler's, whose tasks are handlers.
    pub fn load_include_tasks(
        &mut self,
        file: &str,
        from: &Path,
        base: &Path,
        in_role: bool,
        playbook_dir: &Path,
        handlers: bool,
    ) -> Result<(PathBuf, Vec<super::ast::Item>), LoadError> {
        let origin = Origin {
            playbook_dir: if in_role {
                PathBuf::new()
            } else {
                base.to_path_buf()
            },
            file_dir: from.parent().map(Path::to_path_buf).unwrap_or_default(),
            role_dir: in_role.then(|| base.to_path_buf()),
            role_search_dir: None,
        };
        let Some(path) = self.find_tasks_file(file, &origin) else {
            // ansible-core names the path relative to the playbook, its last candidate.
            let reported = config::normalize(&playbook_dir.join(file));
            let searched: Vec<String> = self
                .tasks_file_candidates(file, &origin)
                .iter()
                .map(|path| path.display().to_string())
                .collect();
            return Err(LoadError::not_found(
                format!(
                    "Could not find or access '{}' on the Ansible Controller.",
                    reported.display()
                ),
                None,
            )
            .with_hint(format!("searched {}", searched.join(", "))));
        };
        let items = self.load_tasks_file(&path, &origin, handlers)?;
        Ok((path, items.as_ref().clone()))
    }

    /// Loads a role for `include_role` at run time, returning its instance and the
    /// block list (dependencies first, then the tasks of `tasks_from`).
    ///
    /// Errors point at the role's `name` in the task at `task_span`, as ansible-core's
    /// do, or at the task when the name cannot be found in the file.
    pub fn load_include_role(
        &mut self,
        name: &str,
        files: &RoleFiles,
        playbook_dir: &Path,
        from_role: Option<&Path>,
        task_span: &crate::source::Span,
    ) -> Result<(Arc<super::ast::RoleInstance>, Vec<super::ast::Item>), LoadError> {
        let origin = Origin {
            playbook_dir: playbook_dir.to_path_buf(),
            file_dir: playbook_dir.to_path_buf(),
            role_dir: from_role.map(Path::to_path_buf),
            role_search_dir: None,
        };
        let name_span = self
            .action_arg(task_span, "name")
            .map(|node| node.span.clone());
        let written_as_text = name_span.is_none();
        let span = name_span.unwrap_or_else(|| task_span.clone());
        self.include_role(name, files, &origin, span)
            .map_err(|mut err| {
                // A name written as `k=v` text has no position of its own, and ansible-core
                // then shows none.
                if written_as_text && err.span.as_ref() == Some(task_span) {
                    err.span = None;
                }
                err
            })
    }

    /// Finds argument `arg` of the task that starts at `task_span` in its file, for
    /// errors that point at an argument. Only arguments written as a mapping under the
    /// action key are found, not `k=v` text.
    pub fn action_arg(&self, task_span: &crate::source::Span, arg: &str) -> Option<&Node> {
        let document = self.documents.get(task_span.path())?;
        let task = find_node_at(document.as_ref().as_ref()?, task_span)?;
        task.as_map()?.iter().find_map(|(_, value)| value.get(arg))
    }
}

/// Finds the mapping node that starts at `span`, depth first.
fn find_node_at<'a>(node: &'a Node, span: &crate::source::Span) -> Option<&'a Node> {
    if node.span.line == span.line
        && node.span.column == span.column
        && matches!(node.kind, NodeKind::Map(_))
    {
        return Some(node);
    }
    match &node.kind {
        NodeKind::Seq(items) => items.iter().find_map(|item| find_node_at(item, span)),
        NodeKind::Map(entries) => entries
            .iter()
            .find_map(|(_, value)| find_node_at(value, span)),
        _ => None,
    }
}
