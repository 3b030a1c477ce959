//! The `apt_repository` module: adds or removes a one-line APT source in
//! `/etc/apt/sources.list` and `/etc/apt/sources.list.d/*.list`, as ansible-core 2.18's
//! module does on Debian, reading and rewriting the files line by line.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::dispatch::ModuleOptions;
use crate::files::Failure;
use crate::spec::{Default, Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "apt_repository",
    &[
        OptionSpec::new("repo", Kind::Str).required(),
        OptionSpec::new("state", Kind::Str)
            .default(Default::Str("present"))
            .choices(&["absent", "present"]),
        OptionSpec::new("mode", Kind::Raw),
        OptionSpec::new("update_cache", Kind::Bool)
            .default(Default::Bool(true))
            .aliases(&["update-cache"]),
        OptionSpec::new("update_cache_retries", Kind::Int).default(Default::Int(5)),
        OptionSpec::new("update_cache_retry_max_delay", Kind::Int).default(Default::Int(12)),
        OptionSpec::new("filename", Kind::Str),
        OptionSpec::new("install_python_apt", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("validate_certs", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("codename", Kind::Str),
    ],
);

const SOURCES_LIST: &str = "/etc/apt/sources.list";
const SOURCES_DIR: &str = "/etc/apt/sources.list.d";
const SOURCE_TYPES: &[&str] = &["deb", "deb-src"];
const DEFAULT_MODE: u32 = 0o644;

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    match run_checked(params, options) {
        Ok(result) => result,
        Err(failure) => failure.into_result(),
    }
}

/// One line of a sources file, as ansible-core's `SourcesList._parse` splits it.
#[derive(Clone, Debug, PartialEq)]
struct Line {
    valid: bool,
    enabled: bool,
    source: String,
    comment: String,
}

impl Line {
    fn parse(raw: &str) -> Line {
        let mut line = raw.trim();
        let mut enabled = true;
        if let Some(rest) = line.strip_prefix('#') {
            enabled = false;
            line = rest;
        }
        let mut comment = String::new();
        if let Some(at) = line.find('#').filter(|at| *at > 0) {
            comment = line[at + 1..].trim().to_string();
            line = &line[..at];
        }
        let mut source = line.trim().to_string();
        let chunks: Vec<&str> = source.split_whitespace().collect();
        let valid = chunks
            .first()
            .is_some_and(|first| SOURCE_TYPES.contains(first));
        if valid {
            source = chunks.join(" ");
        }
        Line {
            valid,
            enabled,
            source,
            comment,
        }
    }

    fn render(&self) -> String {
        let mut text = String::new();
        if !self.enabled {
            text.push_str("# ");
        }
        text.push_str(&self.source);
        if !self.comment.is_empty() {
            text.push_str(" # ");
            text.push_str(&self.comment);
        }
        text.push('\n');
        text
    }
}

/// The sources files, in the order ansible-core reads them.
#[derive(Clone, Debug, Default)]
struct SourcesList {
    files: Vec<(PathBuf, Vec<Line>)>,
    /// Files this run adds a source to, which get the `mode` option.
    new_files: Vec<PathBuf>,
}

impl SourcesList {
    fn load() -> SourcesList {
        let mut list = SourcesList::default();
        if Path::new(SOURCES_LIST).is_file() {
            list.load_file(Path::new(SOURCES_LIST));
        }
        let mut parts: Vec<PathBuf> = fs::read_dir(SOURCES_DIR)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.path())
                    .filter(|path| path.extension().is_some_and(|ext| ext == "list"))
                    .collect()
            })
            .unwrap_or_default();
        // NOTE: Python's glob returns the directory's own order; rplay sorts by name.
        parts.sort();
        for path in parts {
            list.load_file(&path);
        }
        list
    }

    fn load_file(&mut self, path: &Path) {
        let text = fs::read_to_string(path).unwrap_or_default();
        let lines = text.lines().map(Line::parse).collect();
        self.files.push((path.to_path_buf(), lines));
    }

    fn dump(&self) -> Vec<(PathBuf, String)> {
        self.files
            .iter()
            .filter(|(_, lines)| !lines.is_empty())
            .map(|(path, lines)| (path.clone(), lines.iter().map(Line::render).collect()))
            .collect()
    }

    fn add(&mut self, source: &str, file: PathBuf) {
        let mut found = false;
        for (_, lines) in &mut self.files {
            for line in lines.iter_mut() {
                if line.valid && line.source == source {
                    line.enabled = true;
                    found = true;
                }
            }
        }
        if found {
            return;
        }
        let entry = Line {
            valid: true,
            enabled: true,
            source: source.to_string(),
            comment: String::new(),
        };
        match self.files.iter_mut().find(|(path, _)| *path == file) {
            Some((_, lines)) => lines.push(entry),
            None => self.files.push((file.clone(), vec![entry])),
        }
        self.new_files.push(file);
    }

    fn remove(&mut self, source: &str) {
        for (_, lines) in &mut self.files {
            lines.retain(|line| !(line.valid && line.enabled && line.source == source));
        }
    }

    /// Writes every file that has lines and deletes the others, as `SourcesList.save`.
    fn save(&self, mode: Option<&Value>) -> Result<(), Failure> {
        for (path, lines) in &self.files {
            if lines.is_empty() {
                if path.exists() {
                    fs::remove_file(path).map_err(|err| Failure::new(err.to_string()))?;
                }
                continue;
            }
            let text: String = lines.iter().map(Line::render).collect();
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(|err| {
                    Failure::new(format!(
                        "Failed to create directory {}: {}",
                        dir.display(),
                        crate::files::os_error(&err)
                    ))
                })?;
            }
            // A symlinked sources file is written through to its target.
            let target = fs::canonicalize(path).unwrap_or_else(|_| path.clone());
            let is_new = !target.exists();
            crate::files::atomic_write(&target, text.as_bytes())
                .map_err(|err| Failure::new(crate::files::os_error(&err)))?;
            if self.new_files.contains(path) {
                let current = fs::metadata(&target)
                    .map(|meta| meta.permissions().mode() & 0o7777)
                    .unwrap_or(DEFAULT_MODE);
                let new_mode = match mode {
                    Some(mode) if !mode.is_null() => {
                        crate::files::resolve_mode(mode, current, false)?
                    }
                    _ => DEFAULT_MODE,
                };
                if is_new || new_mode != current {
                    fs::set_permissions(&target, fs::Permissions::from_mode(new_mode))
                        .map_err(|err| Failure::new(crate::files::os_error(&err)))?;
                }
            }
        }
        Ok(())
    }
}

/// Returns the file name ansible-core suggests for a new source: the first word after the type
/// and options, without scheme and credentials, its non-alphanumerics as `_`.
fn suggest_filename(source: &str, filename: Option<&str>) -> PathBuf {
    let name = match filename {
        Some(name) => name.to_string(),
        None => {
            let mut line = String::new();
            let mut depth = 0;
            for c in source.chars() {
                match c {
                    '[' => depth += 1,
                    ']' if depth > 0 => depth -= 1,
                    _ if depth == 0 => line.push(c),
                    _ => {}
                }
            }
            let first = line
                .split_whitespace()
                .filter(|part| !SOURCE_TYPES.contains(part))
                .map(strip_scheme)
                .next()
                .unwrap_or_default();
            let first = first
                .split_once('@')
                .map_or(first.as_str(), |(_, host)| host);
            first
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join("_")
        }
    };
    let name = format!("{name}.list");
    if name.contains('/') {
        PathBuf::from(name)
    } else {
        Path::new(SOURCES_DIR).join(name)
    }
}

/// Drops a `scheme://` prefix, as `re.sub(r'\w+://', '', ...)` does for the first match.
fn strip_scheme(word: &str) -> String {
    match word.find("://") {
        Some(at) if at > 0 && word[..at].chars().all(|c| c.is_alphanumeric() || c == '_') => {
            word[at + 3..].to_string()
        }
        _ => word.to_string(),
    }
}

fn run_checked(params: &Params, options: &ModuleOptions) -> Result<Map, Failure> {
    let repo = params.string("repo").unwrap_or_default();
    let state = params
        .string("state")
        .unwrap_or_else(|| "present".to_string());
    if repo.is_empty() {
        return Err(Failure::new(
            "Please set argument 'repo' to a non-empty value",
        ));
    }
    if repo.starts_with("ppa:") {
        // NOTE: Launchpad PPAs are an Ubuntu feature that rplay does not support yet.
        return Err(Failure::new(format!(
            "rplay does not support PPA repositories yet: {repo}"
        )));
    }
    let parsed = Line::parse(&repo);
    if !parsed.valid || !parsed.enabled {
        let line = repo.trim();
        let line = line.strip_prefix('#').unwrap_or(line);
        let line = match line.find('#').filter(|at| *at > 0) {
            Some(at) => &line[..at],
            None => line,
        };
        return Err(Failure::new(format!("Invalid repository string: {line}")));
    }
    let mut list = SourcesList::load();
    let before = list.dump();
    if state == "present" {
        let file = suggest_filename(&parsed.source, params.str("filename"));
        list.add(&parsed.source, file);
    } else {
        list.remove(&parsed.source);
    }
    let after = list.dump();
    let changed = before != after;
    let names = |dump: &[(PathBuf, String)]| -> Vec<PathBuf> {
        dump.iter().map(|(path, _)| path.clone()).collect()
    };
    let (before_names, after_names) = (names(&before), names(&after));
    let added: Vec<&PathBuf> = after_names
        .iter()
        .filter(|path| changed && !before_names.contains(path))
        .collect();
    let removed: Vec<&PathBuf> = before_names
        .iter()
        .filter(|path| changed && !after_names.contains(path))
        .collect();
    let mut diff = Vec::new();
    if changed && options.diff {
        let text_of = |dump: &[(PathBuf, String)], path: &PathBuf| {
            dump.iter()
                .find(|(name, _)| name == path)
                .map(|(_, text)| text.clone())
                .unwrap_or_default()
        };
        for path in added.iter().chain(removed.iter()) {
            let path_text = path.display().to_string();
            let mut entry = Map::new();
            entry.insert(Value::from("before"), Value::from(text_of(&before, path)));
            entry.insert(Value::from("after"), Value::from(text_of(&after, path)));
            let header = |present: bool| {
                if present {
                    path_text.clone()
                } else {
                    "/dev/null".into()
                }
            };
            entry.insert(
                Value::from("before_header"),
                Value::from(header(before_names.contains(path))),
            );
            entry.insert(
                Value::from("after_header"),
                Value::from(header(after_names.contains(path))),
            );
            diff.push(Value::map(entry));
        }
    }
    if changed && !options.check_mode {
        list.save(params.get("mode"))?;
        if params.flag("update_cache") {
            update_cache(params, options)?;
        }
    }
    let paths = |paths: &[&PathBuf]| {
        Value::list(
            paths
                .iter()
                .map(|path| Value::from(path.display().to_string()))
                .collect(),
        )
    };
    let mut result = Map::new();
    result.insert(Value::from("changed"), Value::Bool(changed));
    result.insert(Value::from("repo"), Value::from(repo));
    result.insert(Value::from("sources_added"), paths(&added));
    result.insert(Value::from("sources_removed"), paths(&removed));
    result.insert(Value::from("state"), Value::from(state));
    result.insert(Value::from("diff"), Value::list(diff));
    Ok(result)
}

/// Updates the package lists after a change, retrying as the module does.
///
/// NOTE: ansible-core updates through python-apt; rplay runs `apt-get update`, so the
/// text of a failure is apt-get's, not python-apt's `FetchFailedException`.
fn update_cache(params: &Params, options: &ModuleOptions) -> Result<(), Failure> {
    let retries = params.int("update_cache_retries").unwrap_or(5).max(1);
    let max_delay = params.int("update_cache_retry_max_delay").unwrap_or(12) as f64;
    let apt_get = crate::system::bin_path("apt-get")?;
    let mut error = String::new();
    let mut warnings = Vec::new();
    for retry in 0..retries {
        let output = crate::system::run_with(
            &[apt_get.clone(), "update".to_string(), "-q".to_string()],
            options,
            &[],
        );
        if output.rc == 0 {
            return Ok(());
        }
        error = output.stderr.trim().to_string();
        warnings.push(format!(
            "Failed to update cache after {} due to {error} retry, retrying",
            retry + 1
        ));
        let mut delay = 2f64.powi(retry as i32);
        if delay > max_delay {
            delay = max_delay;
        }
        std::thread::sleep(std::time::Duration::from_secs_f64(delay));
        warnings.push(format!(
            "Sleeping for {} seconds, before attempting to update the cache again",
            delay.round() as i64
        ));
    }
    let reason = if error.is_empty() {
        "unknown reason"
    } else {
        &error
    };
    Err(Failure::new(format!(
        "Failed to update apt cache after {retries} retries: {reason}"
    ))
    .with(
        "warnings",
        Value::list(warnings.into_iter().map(Value::from).collect()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_as_ansible_splits_them() {
        let line = Line::parse("  deb   http://x/debian  bookworm main # note ");
        assert!(line.valid);
        assert!(line.enabled);
        assert_eq!(line.source, "deb http://x/debian bookworm main");
        assert_eq!(line.comment, "note");
        assert_eq!(line.render(), "deb http://x/debian bookworm main # note\n");
        let disabled = Line::parse("# deb-src http://x/debian bookworm main");
        assert!(disabled.valid);
        assert!(!disabled.enabled);
        assert_eq!(
            disabled.render(),
            "# deb-src http://x/debian bookworm main\n"
        );
        assert!(!Line::parse("").valid);
    }

    #[test]
    fn filename_from_the_first_uri() {
        let cases = [
            (
                "deb http://example.invalid/debian bookworm main",
                "/etc/apt/sources.list.d/example_invalid_debian.list",
            ),
            (
                "deb [arch=amd64 signed-by=/k.gpg] https://user:pw@download.docker.com/linux/debian bookworm stable",
                "/etc/apt/sources.list.d/download_docker_com_linux_debian.list",
            ),
        ];
        for (source, expected) in cases {
            assert_eq!(suggest_filename(source, None), PathBuf::from(expected));
        }
        assert_eq!(
            suggest_filename("deb http://x/ y main", Some("custom")),
            PathBuf::from("/etc/apt/sources.list.d/custom.list")
        );
    }
}
