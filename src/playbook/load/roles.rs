//! Roles: `roles:` entries, `import_role`, `meta/main.yml` dependencies, and the role
//! directory itself (`tasks/`, `handlers/`, `defaults/`, `vars/`, `meta/`, `library/`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{is_template, map_entries, set_inherited, Loader, Origin};
use crate::config;
use crate::playbook::ast::{
    Block, BlockKind, Inherited, Item, RoleDefinition, RoleInstance, Spanned, Task,
};
use crate::playbook::error::LoadError;
use crate::playbook::keywords;
use crate::source::Span;
use crate::yaml::{Node, NodeKind};
use crate::{Map, Value};

/// The files of a role that `include_role` names with `tasks_from`, `handlers_from`,
/// `vars_from` and `defaults_from`; each is `main` unless given.
pub struct RoleFiles {
    pub tasks: String,
    pub handlers: String,
    pub vars: String,
    pub defaults: String,
}

/// The options of a role entry besides the role itself.
struct RoleRequest {
    name: String,
    span: Span,
    params: Map,
    inherited: Inherited,
    tasks_from: String,
    handlers_from: String,
    vars_from: String,
    defaults_from: String,
    /// Set for `import_role` and `include_role`, whose roles are never the same role as
    /// a `roles:` entry or a dependency.
    from_include: bool,
}

impl Loader {
    /// Loads the `roles:` section of a play into one block per role.
    pub(super) fn load_roles_section(
        &mut self,
        node: &Node,
        origin: &Origin,
    ) -> Result<Vec<Item>, LoadError> {
        let entries = match &node.kind {
            NodeKind::Seq(entries) => entries.as_slice(),
            NodeKind::Scalar(Value::Null) => return Ok(Vec::new()),
            _ => return Err(LoadError::new("roles must be a list", Some(&node.span))),
        };
        let mut items = Vec::new();
        for entry in entries {
            let request = role_request(entry)?;
            items.push(self.role_block(request, origin)?);
        }
        Ok(items)
    }

    /// Expands `import_role` into the role's block, carrying the task's keywords.
    pub(super) fn load_import_role(
        &mut self,
        task: Task,
        origin: &Origin,
    ) -> Result<Item, LoadError> {
        let arg = |key: &str| {
            task.args
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let name = arg("name").or_else(|| arg("role")).ok_or_else(|| {
            LoadError::new(
                "'name' is a required field for import_role.",
                Some(&task.span),
            )
        })?;
        for option in ["tasks_from", "handlers_from", "vars_from", "defaults_from"] {
            if let Some(value) = arg(option).filter(|value| is_template(value)) {
                return Err(LoadError::new(
                    format!("rplay cannot template the import_role option {option} {value:?} yet"),
                    Some(&task.span),
                ));
            }
        }
        let mut inherited = task.inherited;
        inherited.keywords.extend(task.keywords);
        let request = RoleRequest {
            name,
            span: task.span.clone(),
            params: Map::new(),
            inherited,
            tasks_from: arg("tasks_from").unwrap_or_else(|| "main".to_string()),
            handlers_from: arg("handlers_from").unwrap_or_else(|| "main".to_string()),
            vars_from: arg("vars_from").unwrap_or_else(|| "main".to_string()),
            defaults_from: arg("defaults_from").unwrap_or_else(|| "main".to_string()),
            from_include: true,
        };
        self.role_block(request, origin)
    }

    /// Builds the block of one role use: its dependencies' blocks, then its tasks.
    fn role_block(&mut self, request: RoleRequest, origin: &Origin) -> Result<Item, LoadError> {
        let instance = self.role_instance(&request, origin)?;
        let mut body = Vec::new();
        for dependency in &instance.dependencies {
            body.push(self.dependency_block(dependency.clone())?);
        }
        let tasks = self.role_tasks(&instance, &request.tasks_from, &request.span)?;
        body.extend(tasks.iter().cloned());
        Ok(Item::Block(Arc::new(Block {
            span: request.span,
            kind: BlockKind::Role(instance),
            name: None,
            block: body,
            rescue: Vec::new(),
            always: Vec::new(),
            inherited: request.inherited,
        })))
    }

    /// Resolves a role for `include_role`: the instance and its block list.
    pub(super) fn include_role(
        &mut self,
        name: &str,
        files: &RoleFiles,
        origin: &Origin,
        span: Span,
    ) -> Result<(Arc<RoleInstance>, Vec<Item>), LoadError> {
        let tasks_from = files.tasks.as_str();
        let request = RoleRequest {
            name: name.to_string(),
            span: span.clone(),
            params: Map::new(),
            inherited: Inherited::default(),
            tasks_from: tasks_from.to_string(),
            handlers_from: files.handlers.clone(),
            vars_from: files.vars.clone(),
            defaults_from: files.defaults.clone(),
            from_include: true,
        };
        let instance = self.role_instance(&request, origin)?;
        let mut items = Vec::new();
        for dependency in &instance.dependencies {
            items.push(self.dependency_block(dependency.clone())?);
        }
        items.extend(
            self.role_tasks(&instance, tasks_from, &span)?
                .iter()
                .cloned(),
        );
        Ok((instance, items))
    }

    fn dependency_block(&mut self, instance: Arc<RoleInstance>) -> Result<Item, LoadError> {
        let mut body = Vec::new();
        for dependency in &instance.dependencies {
            body.push(self.dependency_block(dependency.clone())?);
        }
        let tasks = self.role_tasks(&instance, "main", &instance.span)?;
        body.extend(tasks.iter().cloned());
        Ok(Item::Block(Arc::new(Block {
            span: instance.span.clone(),
            kind: BlockKind::Role(instance.clone()),
            name: None,
            block: body,
            rescue: Vec::new(),
            always: Vec::new(),
            inherited: instance.entry.clone(),
        })))
    }

    fn role_tasks(
        &mut self,
        instance: &RoleInstance,
        tasks_from: &str,
        span: &Span,
    ) -> Result<Arc<Vec<Item>>, LoadError> {
        let tasks = self.entrypoint_tasks(instance, tasks_from, span)?;
        match self.validation_task(instance, tasks_from)? {
            Some(validation) => {
                let mut items = vec![validation];
                items.extend(tasks.iter().cloned());
                Ok(Arc::new(items))
            }
            None => Ok(tasks),
        }
    }

    /// The `validate_argument_spec` task ansible-core puts first in a role whose
    /// `meta/argument_specs.yml` (or `argument_specs` in `meta/main.yml`) describes the
    /// entry point.
    fn validation_task(
        &mut self,
        instance: &RoleInstance,
        entrypoint: &str,
    ) -> Result<Option<Item>, LoadError> {
        let meta = instance.definition.path.join("meta");
        let mut specs = None;
        for file in [find_main(&meta, "argument_specs"), find_main(&meta, "main")]
            .into_iter()
            .flatten()
        {
            let document = self.document(&file)?;
            let found = document
                .as_ref()
                .as_ref()
                .and_then(|node| node.get("argument_specs"));
            if let Some(found) = found {
                specs = Some(found.clone());
                break;
            }
        }
        let Some(spec) = specs.as_ref().and_then(|specs| specs.get(entrypoint)) else {
            return Ok(None);
        };
        let mut name = format!("Validating arguments against arg spec '{entrypoint}'");
        if let Some(description) = spec.get("short_description") {
            name.push_str(" - ");
            name.push_str(&super::scalar_text(description));
        }
        let mut args = Map::new();
        args.insert(
            Value::from("argument_spec"),
            spec.get("options")
                .map(Node::to_value)
                .unwrap_or_else(Value::empty_map),
        );
        args.insert(
            Value::from("provided_arguments"),
            Value::map(instance.params.clone()),
        );
        let mut inherited = Inherited::default();
        inherited.tags.push(Spanned {
            value: Value::from("always"),
            span: spec.span.clone(),
        });
        Ok(Some(Item::Task(Arc::new(Task {
            span: spec.span.clone(),
            name: Some(name),
            action: "ansible.builtin.validate_argument_spec".to_string(),
            args,
            inherited,
            keywords: Vec::new(),
            loop_lookup: None,
            implicit: false,
        }))))
    }

    fn entrypoint_tasks(
        &mut self,
        instance: &RoleInstance,
        tasks_from: &str,
        span: &Span,
    ) -> Result<Arc<Vec<Item>>, LoadError> {
        if tasks_from == "main" {
            return self.role_main_tasks(&instance.definition.path);
        }
        let dir = instance.definition.path.join("tasks");
        let path = find_main(&dir, tasks_from).ok_or_else(|| {
            LoadError::new(
                format!("Could not find specified file in role: tasks/{tasks_from}"),
                Some(span),
            )
        })?;
        let origin = self.role_origin(&instance.definition.path);
        self.load_tasks_file(&path, &origin, false)
    }

    fn role_instance(
        &mut self,
        request: &RoleRequest,
        origin: &Origin,
    ) -> Result<Arc<RoleInstance>, LoadError> {
        if is_template(&request.name) {
            return Err(LoadError::new(
                format!("rplay cannot template the role name {:?} yet", request.name),
                Some(&request.span),
            ));
        }
        let found = self
            .find_collection_role(&request.name, origin)
            .map(|(path, collection)| (path, Some(collection)))
            .or_else(|| {
                self.find_role(&request.name, origin)
                    .map(|path| (path, None))
            });
        let (path, collection) = found.ok_or_else(|| {
            LoadError::not_found(
                format!(
                    "the role '{}' was not found in {}",
                    request.name,
                    self.search_text(origin)
                ),
                Some(&request.span),
            )
            .with_hint(format!(
                "a role is a directory such as roles/{}/tasks/main.yml beside the playbook; roles_path in ansible.cfg adds places to search",
                request.name
            ))
        })?;
        if let Some(start) = self.loading_roles.iter().position(|(p, _)| *p == path) {
            // ansible-core points at the dependency that leads from the role back to it.
            let span = self
                .loading_roles
                .get(start + 1)
                .map_or(&request.span, |(_, span)| span);
            return Err(LoadError::not_found(
                "A recursion loop was detected with the roles specified. Make sure child roles do not have dependencies on parent roles",
                Some(span),
            )
            .with_hint(format!(
                "the roles depend on each other: {}",
                self.role_chain(start, &path)
            )));
        }
        self.loading_roles
            .push((path.clone(), request.span.clone()));
        let loaded = self
            .role_definition(&path)
            .and_then(|definition| Ok((self.role_dependencies(&definition)?, definition)));
        self.loading_roles.pop();
        let (dependencies, definition) = loaded?;
        let handlers = self.role_handlers(&definition, &request.handlers_from, &request.span)?;
        let vars = match request.vars_from.as_str() {
            "main" => definition.vars.clone(),
            name => Arc::new(self.role_vars_from(&definition.path, "vars", name)?),
        };
        let defaults = match request.defaults_from.as_str() {
            "main" => definition.defaults.clone(),
            name => Arc::new(self.role_vars_from(&definition.path, "defaults", name)?),
        };
        Ok(Arc::new(RoleInstance {
            name: request.name.clone(),
            collection,
            definition,
            params: request.params.clone(),
            dependencies,
            entry: request.inherited.clone(),
            span: request.span.clone(),
            tasks_from: request.tasks_from.clone(),
            handlers_from: request.handlers_from.clone(),
            handlers,
            vars_from: request.vars_from.clone(),
            defaults_from: request.defaults_from.clone(),
            vars,
            defaults,
            from_include: request.from_include,
        }))
    }

    /// Loads the handlers file a use of the role names. As ansible-core, a missing
    /// `handlers_from` file is an error only when the role has a `handlers/` directory.
    fn role_handlers(
        &mut self,
        definition: &RoleDefinition,
        handlers_from: &str,
        span: &Span,
    ) -> Result<Option<Arc<Vec<Item>>>, LoadError> {
        if handlers_from == "main" {
            return Ok(definition.handlers.clone());
        }
        let dir = definition.path.join("handlers");
        if !dir.is_dir() {
            return Ok(None);
        }
        let path = find_main(&dir, handlers_from).ok_or_else(|| {
            LoadError::new(
                format!("Could not find specified file in role: handlers/{handlers_from}"),
                Some(span),
            )
        })?;
        let origin = self.role_origin(&definition.path);
        Ok(Some(self.load_tasks_file(&path, &origin, true)?))
    }

    fn role_dependencies(
        &mut self,
        definition: &RoleDefinition,
    ) -> Result<Vec<Arc<RoleInstance>>, LoadError> {
        let meta = definition.path.join("meta");
        let Some(path) = find_main(&meta, "main") else {
            return Ok(Vec::new());
        };
        let document = self.document(&path)?;
        let Some(node) = document.as_ref() else {
            return Ok(Vec::new());
        };
        let Some(dependencies) = node.get("dependencies") else {
            return Ok(Vec::new());
        };
        let NodeKind::Seq(entries) = &dependencies.kind else {
            return Ok(Vec::new());
        };
        let mut origin = self.role_origin(&definition.path);
        origin.role_search_dir = definition.path.parent().map(Path::to_path_buf);
        let mut instances = Vec::new();
        for entry in entries {
            let request = role_request(entry)?;
            instances.push(self.role_instance(&request, &origin)?);
        }
        Ok(instances)
    }

    /// Loads a role's `tasks/main.yml` once. ansible-core loads only the tasks file that
    /// a use of the role names, so this happens outside the role's own loading, and a
    /// role may import itself with another `tasks_from`.
    fn role_main_tasks(&mut self, path: &Path) -> Result<Arc<Vec<Item>>, LoadError> {
        if let Some(tasks) = self.role_main_tasks.get(path) {
            return Ok(tasks.clone().unwrap_or_default());
        }
        let tasks = match find_main(&path.join("tasks"), "main") {
            Some(file) => {
                let origin = self.role_origin(path);
                Some(self.load_tasks_file(&file, &origin, false)?)
            }
            None => None,
        };
        self.role_main_tasks
            .insert(path.to_path_buf(), tasks.clone());
        Ok(tasks.unwrap_or_default())
    }

    fn role_definition(&mut self, path: &Path) -> Result<Arc<RoleDefinition>, LoadError> {
        if let Some(definition) = self.roles.get(path) {
            return Ok(definition.clone());
        }
        self.actions.add_library(&path.join("library"));
        let origin = self.role_origin(path);
        // ansible-core reads `vars/`, `defaults/`, `meta/` and `handlers/` in this
        // order, which decides the error reported when several files are broken.
        let vars = Arc::new(self.role_vars(&path.join("vars"))?);
        let defaults = Arc::new(self.role_vars(&path.join("defaults"))?);
        let allow_duplicates = match find_main(&path.join("meta"), "main") {
            Some(file) => self
                .document(&file)?
                .as_ref()
                .as_ref()
                .and_then(|node| node.get("allow_duplicates"))
                .map(|node| node.to_value().is_truthy())
                .unwrap_or(false),
            None => false,
        };
        let handlers = match find_main(&path.join("handlers"), "main") {
            Some(file) => Some(self.load_tasks_file(&file, &origin, true)?),
            None => None,
        };
        let definition = Arc::new(RoleDefinition {
            path: path.to_path_buf(),
            defaults,
            vars,
            handlers,
            allow_duplicates,
        });
        self.roles.insert(path.to_path_buf(), definition.clone());
        Ok(definition)
    }

    /// Loads `defaults/` or `vars/`: `main.yml` (or `.yaml`, `.json`, no extension), or
    /// every file of a `main/` directory in sorted order, merged.
    fn role_vars(&mut self, dir: &Path) -> Result<Map, LoadError> {
        let main_dir = dir.join("main");
        let files = if main_dir.is_dir() {
            vars_files_in(&main_dir)
        } else {
            find_main(dir, "main").into_iter().collect()
        };
        self.merge_vars_files(&files)
    }

    /// Loads the vars or defaults (`subdir`) that `vars_from` or `defaults_from` names:
    /// the file `NAME`, `NAME.yml`, `NAME.yaml` or `NAME.json`, or every file of the
    /// directory `NAME`. As ansible-core, a name that matches nothing is an error when
    /// the role has the directory `subdir`.
    fn role_vars_from(
        &mut self,
        role_path: &Path,
        subdir: &str,
        name: &str,
    ) -> Result<Map, LoadError> {
        let dir = role_path.join(subdir);
        if !dir.is_dir() {
            return Ok(Map::new());
        }
        let named_dir = dir.join(name);
        let files = if named_dir.is_dir() {
            vars_files_in(&named_dir)
        } else {
            // ansible-core's message names the file and no position.
            let file = find_main(&dir, name).ok_or_else(|| {
                LoadError::new(
                    format!("Could not find specified file in role: {subdir}/{name}"),
                    None,
                )
            })?;
            vec![file]
        };
        self.merge_vars_files(&files)
    }

    /// Merges the mappings of `files`, later files overriding earlier ones.
    fn merge_vars_files(&mut self, files: &[PathBuf]) -> Result<Map, LoadError> {
        let mut vars = Map::new();
        for file in files {
            let document = self.document(file)?;
            if let Some(node) = document.as_ref() {
                match node.to_value() {
                    Value::Map(map) => vars.extend(map.iter().map(|(k, v)| (k.clone(), v.clone()))),
                    Value::Null => {}
                    _ => {
                        return Err(LoadError::new(
                            format!("{} must contain a dictionary of variables", file.display()),
                            Some(&node.span),
                        ))
                    }
                }
            }
        }
        Ok(vars)
    }

    fn role_search_paths(&self, origin: &Origin) -> Vec<PathBuf> {
        let mut paths = vec![origin.playbook_dir.join("roles")];
        paths.extend(self.roles_path.iter().cloned());
        if let Some(dir) = &origin.role_search_dir {
            paths.push(dir.clone());
        }
        paths.push(origin.playbook_dir.clone());
        paths
    }

    /// Finds a role's directory. The path is absolute, as ansible-core's role paths are,
    /// because `included:` lines of the role's includes print it.
    fn find_role(&self, name: &str, origin: &Origin) -> Option<PathBuf> {
        self.role_search_paths(origin)
            .into_iter()
            .map(|base| config::normalize(&base.join(name)))
            .chain(std::iter::once(config::normalize(Path::new(name))))
            .find(|path| path.exists())
            .map(|path| super::absolute(&path))
    }

    /// Finds a role named `namespace.collection.role` in a collection: in the
    /// playbook's `collections/` directory, then in `collections_path`, as ansible-core
    /// looks there before the role paths. Returns the role's directory and the
    /// collection's name.
    fn find_collection_role(&self, name: &str, origin: &Origin) -> Option<(PathBuf, String)> {
        let parts: Vec<&str> = name.split('.').collect();
        let [namespace, collection, role] = parts.as_slice() else {
            return None;
        };
        let is_word =
            |part: &str| !part.is_empty() && part.chars().all(|c| c.is_alphanumeric() || c == '_');
        if !parts.iter().all(|part| is_word(part)) {
            return None;
        }
        let roots = std::iter::once(origin.playbook_dir.join("collections"))
            .chain(self.collections_paths.iter().cloned());
        for root in roots {
            let path = root
                .join("ansible_collections")
                .join(namespace)
                .join(collection)
                .join("roles")
                .join(role);
            if path.is_dir() {
                let path = super::absolute(&config::normalize(&path));
                return Some((path, format!("{namespace}.{collection}")));
            }
        }
        None
    }

    /// Formats the roles being loaded from index `start` on, then `path`, as `a -> b -> a`.
    fn role_chain(&self, start: usize, path: &Path) -> String {
        self.loading_roles[start..]
            .iter()
            .map(|(p, _)| p)
            .chain(std::iter::once(&path.to_path_buf()))
            .map(|p| {
                p.file_name().map_or_else(
                    || p.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                )
            })
            .collect::<Vec<_>>()
            .join(" -> ")
    }

    fn search_text(&self, origin: &Origin) -> String {
        self.role_search_paths(origin)
            .iter()
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
            .join(":")
    }
}

impl Loader {
    /// Where the files of a role are read from.
    fn role_origin(&self, role_dir: &Path) -> Origin {
        Origin {
            playbook_dir: self.playbook_dir.clone(),
            file_dir: role_dir.join("tasks"),
            role_dir: Some(role_dir.to_path_buf()),
            role_search_dir: None,
        }
    }
}

/// Parses a role entry: a name, or a mapping with `role`/`name`, keywords and parameters.
fn role_request(entry: &Node) -> Result<RoleRequest, LoadError> {
    let mut request = RoleRequest {
        name: String::new(),
        span: entry.span.clone(),
        params: Map::new(),
        inherited: Inherited::default(),
        tasks_from: "main".to_string(),
        handlers_from: "main".to_string(),
        vars_from: "main".to_string(),
        defaults_from: "main".to_string(),
        from_include: false,
    };
    if let Some(name) = entry.as_str() {
        request.name = name.to_string();
        return Ok(request);
    }
    for (key, value) in map_entries(entry, "a role entry")? {
        let key_text = key.as_str().unwrap_or_default();
        match keywords::find(key_text, &[keywords::ROLE_ENTRY, keywords::INHERITED]) {
            Some("role") | Some("name") => request.name = super::scalar_text(value),
            Some(keyword) if keywords::INHERITED.contains(&keyword) => {
                set_inherited(&mut request.inherited, keyword, value, "RoleInclude")?
            }
            Some(keyword) => request.inherited.keywords.push((
                keyword,
                Spanned {
                    value: value.to_value(),
                    span: value.span.clone(),
                },
            )),
            None => {
                request.params.insert(key.to_value(), value.to_value());
            }
        }
    }
    if request.name.is_empty() {
        return Err(LoadError::new(
            "role definitions must contain a role name",
            Some(&entry.span),
        ));
    }
    Ok(request)
}

/// Finds `NAME`, `NAME.yml`, `NAME.yaml` or `NAME.json` in `dir`.
fn find_main(dir: &Path, name: &str) -> Option<PathBuf> {
    ["", ".yml", ".yaml", ".json"]
        .iter()
        .map(|extension| dir.join(format!("{name}{extension}")))
        .find(|path| path.is_file())
}

/// The variable files of a directory, recursively, sorted by name.
fn vars_files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            files.extend(vars_files_in(&path));
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            None | Some("yml" | "yaml" | "json")
        ) {
            files.push(path);
        }
    }
    files
}
