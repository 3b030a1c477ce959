//! The `find` module: files, directories or links under paths, filtered by name,
//! age, size, content and mode, with ansible-core 2.18's result keys.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::dispatch::ModuleOptions;
use crate::files::{group_name, passwd_name, symbolic_mode, Digest, Failure};
use crate::spec::{Default, Elements, Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

const FILE_TYPES: &[&str] = &["any", "directory", "file", "link"];
const AGE_STAMPS: &[&str] = &["atime", "ctime", "mtime"];

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "find",
    &[
        OptionSpec::new("paths", Kind::List(Elements::Path))
            .required()
            .aliases(&["name", "path"]),
        OptionSpec::new("patterns", Kind::List(Elements::Str))
            .default(Default::EmptyList)
            .aliases(&["pattern"]),
        OptionSpec::new("excludes", Kind::List(Elements::Str)).aliases(&["exclude"]),
        OptionSpec::new("contains", Kind::Str),
        OptionSpec::new("read_whole_file", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("file_type", Kind::Str)
            .default(Default::Str("file"))
            .choices(FILE_TYPES),
        OptionSpec::new("age", Kind::Str),
        OptionSpec::new("age_stamp", Kind::Str)
            .default(Default::Str("mtime"))
            .choices(AGE_STAMPS),
        OptionSpec::new("size", Kind::Str),
        OptionSpec::new("recurse", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("hidden", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("follow", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("get_checksum", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("use_regex", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("depth", Kind::Int),
        OptionSpec::new("mode", Kind::Raw),
        OptionSpec::new("exact_mode", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("encoding", Kind::Str),
        OptionSpec::new("limit", Kind::Int),
    ],
);

/// Name patterns: globs, or Python regular expressions anchored at the start.
enum Patterns {
    Glob(Vec<String>),
    Regex(Vec<fancy_regex::Regex>),
}

impl Patterns {
    fn new(patterns: &[String], use_regex: bool) -> Result<Patterns, Failure> {
        if !use_regex {
            return Ok(Patterns::Glob(patterns.to_vec()));
        }
        patterns
            .iter()
            .map(|pattern| {
                crate::pyregex::compile(&format!("\\A(?:{pattern})"), false).map_err(|err| {
                    Failure::new(format!("invalid regular expression '{pattern}': {err}"))
                })
            })
            .collect::<Result<_, _>>()
            .map(Patterns::Regex)
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            Patterns::Glob(globs) => globs.iter().any(|glob| fnmatch(glob, name)),
            Patterns::Regex(regexes) => regexes
                .iter()
                .any(|regex| regex.is_match(name).unwrap_or(false)),
        }
    }
}

/// The filters of one run.
struct Filters {
    patterns: Patterns,
    excludes: Option<Patterns>,
    age: Option<i64>,
    age_stamp: String,
    size: Option<i64>,
    contains: Option<fancy_regex::Regex>,
    /// `encoding` of the files that `contains` searches; UTF-8 when unset.
    encoding: Option<String>,
    read_whole_file: bool,
    mode: Option<u32>,
    exact_mode: bool,
    now: f64,
}

impl Filters {
    fn name_matches(&self, name: &str) -> bool {
        if !self.patterns.matches(name) {
            return false;
        }
        !self
            .excludes
            .as_ref()
            .is_some_and(|excludes| excludes.matches(name))
    }

    fn age_matches(&self, meta: &fs::Metadata) -> bool {
        let Some(age) = self.age else {
            return true;
        };
        let stamp = match self.age_stamp.as_str() {
            "atime" => meta.atime() as f64 + meta.atime_nsec() as f64 / 1e9,
            "ctime" => meta.ctime() as f64 + meta.ctime_nsec() as f64 / 1e9,
            _ => meta.mtime() as f64 + meta.mtime_nsec() as f64 / 1e9,
        };
        let elapsed = self.now - stamp;
        if age >= 0 {
            elapsed >= age.abs() as f64
        } else {
            elapsed <= age.abs() as f64
        }
    }

    fn size_matches(&self, meta: &fs::Metadata) -> bool {
        match self.size {
            None => true,
            Some(size) if size >= 0 => meta.size() as i64 >= size,
            Some(size) => meta.size() as i64 <= size.abs(),
        }
    }

    fn mode_matches(&self, meta: &fs::Metadata) -> bool {
        let Some(mode) = self.mode else {
            return true;
        };
        let current = meta.mode() & 0o7777;
        if self.exact_mode {
            current == mode
        } else {
            current & mode != 0
        }
    }

    /// Checks whether the file's text matches `contains`: anywhere in the whole text with
    /// `read_whole_file`, else at the start of a line. A file that cannot be read does
    /// not match. An unknown encoding or text that does not decode is an error, which
    /// ends the search of the current path as in ansible-core.
    fn content_matches(&self, path: &Path) -> Result<bool, String> {
        let Some(regex) = &self.contains else {
            return Ok(true);
        };
        let encoding = self.encoding.as_deref();
        let Ok(bytes) = fs::read(path) else {
            return Ok(false);
        };
        let text = decode(&bytes, encoding).map_err(|err| match err {
            DecodeError::Invalid => format!(
                "Failed to read the file {} due to an encoding error. current encoding: {}",
                path.display(),
                encoding.unwrap_or(
                    "None (default determined by the Python built-in function \"open\")"
                )
            ),
            unknown => unknown.to_string(),
        })?;
        // Python reads text files with universal newlines.
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        if self.read_whole_file {
            return Ok(regex.is_match(&text).unwrap_or(false));
        }
        Ok(text.split_inclusive('\n').any(|line| {
            regex
                .find(line)
                .ok()
                .flatten()
                .is_some_and(|found| found.start() == 0)
        }))
    }
}

/// The reason a file's bytes could not be turned into text.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum DecodeError {
    /// Python's `LookupError` for an encoding name it does not know.
    #[error("unknown encoding: {0}")]
    Unknown(String),
    /// The bytes are not valid in the encoding.
    #[error("invalid data for the encoding")]
    Invalid,
}

/// Decodes `bytes` strictly, as Python's `open(path, encoding=...)` reads them. `None`
/// is UTF-8, the locale encoding of the targets rplay supports.
///
/// NOTE: UTF-8, ASCII and Latin-1 are decoded as Python's codecs do. Other names are
/// looked up as WHATWG encoding labels, which cover Python's common codecs (`gbk`,
/// `shift_jis`, `euc-kr`, `cp1252`, ...) but not all of its aliases.
fn decode(bytes: &[u8], encoding: Option<&str>) -> Result<String, DecodeError> {
    let label = encoding.unwrap_or("utf-8");
    let normalized = label.trim().to_lowercase().replace(['-', ' '], "_");
    match normalized.as_str() {
        "utf_8" | "utf8" | "u8" | "utf" | "cp65001" => {
            String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Invalid)
        }
        "ascii" | "us_ascii" | "646" => match bytes.is_ascii() {
            true => Ok(String::from_utf8_lossy(bytes).into_owned()),
            false => Err(DecodeError::Invalid),
        },
        "latin_1" | "latin1" | "latin" | "l1" | "iso_8859_1" | "iso8859_1" | "8859" | "cp819" => {
            Ok(bytes.iter().map(|&byte| char::from(byte)).collect())
        }
        _ => {
            let found = encoding_rs::Encoding::for_label(label.trim().as_bytes()).or_else(|| {
                encoding_rs::Encoding::for_label(label.trim().replace('_', "-").as_bytes())
            });
            let Some(found) = found else {
                return Err(DecodeError::Unknown(label.to_string()));
            };
            found
                .decode_without_bom_handling_and_without_replacement(bytes)
                .map(std::borrow::Cow::into_owned)
                .ok_or(DecodeError::Invalid)
        }
    }
}

pub fn run(params: &Params, _options: &ModuleOptions) -> Map {
    match run_checked(params) {
        Ok(result) => result,
        Err(failure) => failure.into_result(),
    }
}

fn run_checked(params: &Params) -> Result<Map, Failure> {
    let filters = filters(params)?;
    let file_type = params.string("file_type").unwrap_or_default();
    let limit = params.int("limit");
    if let Some(limit) = limit.filter(|limit| *limit <= 0) {
        return Err(Failure::new(format!(
            "limit cannot be {limit} (use None for unlimited)"
        )));
    }
    let walk = Walk {
        params,
        filters: &filters,
        file_type: &file_type,
        limit: limit.map(|limit| limit as usize),
    };
    let mut found = Vec::new();
    let mut examined = 0usize;
    let mut skipped = Map::new();
    let mut warnings = Vec::new();
    let mut message = "All paths examined";
    for root in params.strings("paths") {
        if !Path::new(&root).is_dir() {
            let reason = format!("'{root}' is not a directory");
            warnings.push(Value::from(format!(
                "Skipped '{root}' path due to this access issue: {reason}\n"
            )));
            skipped.insert(Value::from(root.as_str()), Value::from(reason));
            continue;
        }
        match walk.walk(
            &root,
            Path::new(&root),
            &mut found,
            &mut examined,
            &mut skipped,
        ) {
            Ok(true) => {
                message = "Limit of matches reached";
                break;
            }
            Ok(false) => {}
            Err(reason) => {
                warnings.push(Value::from(format!(
                    "Skipped '{root}' path due to this access issue: {reason}\n"
                )));
                skipped.insert(Value::from(root.as_str()), Value::from(reason));
            }
        }
    }
    if !warnings.is_empty() {
        message = "Not all paths examined, check warnings for details";
    }
    let mut result = Map::new();
    result.insert(Value::from("files"), Value::list(found.clone()));
    result.insert(Value::from("changed"), Value::Bool(false));
    result.insert(Value::from("msg"), Value::from(message));
    result.insert(Value::from("matched"), Value::Int(found.len() as i64));
    result.insert(Value::from("examined"), Value::Int(examined as i64));
    result.insert(Value::from("skipped_paths"), Value::map(skipped));
    if !warnings.is_empty() {
        result.insert(Value::from("warnings"), Value::list(warnings));
    }
    Ok(result)
}

fn filters(params: &Params) -> Result<Filters, Failure> {
    let use_regex = params.flag("use_regex");
    let mut patterns = params.strings("patterns");
    if patterns.is_empty() {
        patterns.push(if use_regex { ".*" } else { "*" }.to_string());
    }
    let excludes = params
        .get("excludes")
        .map(|_| Patterns::new(&params.strings("excludes"), use_regex))
        .transpose()?;
    let age = params
        .str("age")
        .map(|age| {
            scaled(
                age,
                &[
                    ("s", 1),
                    ("m", 60),
                    ("h", 3600),
                    ("d", 86400),
                    ("w", 604_800),
                ],
            )
            .ok_or_else(|| Failure::new("failed to process age").with("age", age))
        })
        .transpose()?;
    let size = params
        .str("size")
        .map(|size| {
            scaled(
                size,
                &[
                    ("b", 1),
                    ("k", 1 << 10),
                    ("m", 1 << 20),
                    ("g", 1 << 30),
                    ("t", 1 << 40),
                ],
            )
            .ok_or_else(|| Failure::new("failed to process size").with("size", size))
        })
        .transpose()?;
    let mode = match params.get("mode") {
        None => None,
        Some(Value::Str(_) | Value::Unsafe(_)) => {
            let text = params.string("mode").unwrap_or_default();
            let parsed = u32::from_str_radix(&text, 8)
                .or_else(|_| symbolic_mode(&text, 0, false))
                .map_err(|details| {
                    Failure::new("mode must be in octal or symbolic form").with("details", details)
                })?;
            Some(parsed & 0o7777)
        }
        Some(other) => {
            return Err(Failure::new(format!(
            "argument 'mode' is not a string and conversion is not allowed, value is of type {}",
            other.type_name()
        )))
        }
    };
    let contains = params
        .str("contains")
        .map(|pattern| {
            crate::pyregex::compile(pattern, false).map_err(|err| {
                Failure::new(format!("invalid regular expression '{pattern}': {err}"))
            })
        })
        .transpose()?;
    Ok(Filters {
        patterns: Patterns::new(&patterns, use_regex)?,
        excludes,
        age,
        age_stamp: params.string("age_stamp").unwrap_or_default(),
        size,
        contains,
        encoding: params.string("encoding"),
        read_whole_file: params.flag("read_whole_file"),
        mode,
        exact_mode: params.flag("exact_mode"),
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs_f64())
            .unwrap_or_default(),
    })
}

/// Reads `-?N` with an optional unit suffix into base units.
fn scaled(text: &str, units: &[(&str, i64)]) -> Option<i64> {
    let lowered = text.to_lowercase();
    let (digits, factor) = match units.iter().find(|(suffix, _)| lowered.ends_with(suffix)) {
        Some((suffix, factor)) => (&lowered[..lowered.len() - suffix.len()], *factor),
        None => (lowered.as_str(), 1),
    };
    let unsigned = digits.strip_prefix('-').unwrap_or(digits);
    if unsigned.is_empty() || !unsigned.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok().map(|number| number * factor)
}

/// One traversal, as Python's `os.walk` top-down: entries of a directory in the order
/// the file system lists them, then its subdirectories.
struct Walk<'a> {
    params: &'a Params,
    filters: &'a Filters,
    file_type: &'a str,
    limit: Option<usize>,
}

impl Walk<'_> {
    /// Walks `dir`; returns true when the limit of matches is reached, and an error
    /// that ends the search of `root`.
    fn walk(
        &self,
        root: &str,
        dir: &Path,
        found: &mut Vec<Value>,
        examined: &mut usize,
        skipped: &mut Map,
    ) -> Result<bool, String> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) => {
                // Python's OSError text ends with the path's repr.
                let reason = format!(
                    "{}: {}",
                    crate::files::os_error(&err),
                    crate::pyrepr::str_repr(&dir.display().to_string())
                );
                skipped.insert(Value::from(dir.display().to_string()), Value::from(reason));
                return Ok(false);
            }
        };
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
        *examined += files.len() + dirs.len();
        let depth_limit = self.params.int("depth").filter(|depth| *depth != 0);
        let mut descend: Vec<PathBuf> = Vec::new();
        for path in files.iter().chain(dirs.iter()) {
            if let Some(limit) = depth_limit {
                let base = format!("{}/", root.trim_end_matches('/'));
                let depth = path.display().to_string().matches('/').count() as i64
                    - base.matches('/').count() as i64
                    + 1;
                if depth > limit {
                    continue;
                }
            }
            if dirs.contains(path) {
                descend.push(path.clone());
            }
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.') && !self.params.flag("hidden") {
                continue;
            }
            let Ok(meta) = fs::symlink_metadata(path) else {
                continue;
            };
            if let Some(entry) = self.select(path, &name, &meta)? {
                found.push(entry);
            }
            if self.limit == Some(found.len()) {
                return Ok(true);
            }
        }
        if !self.params.flag("recurse") {
            return Ok(false);
        }
        for sub in descend {
            let is_link = fs::symlink_metadata(&sub)
                .map(|meta| meta.file_type().is_symlink())
                .unwrap_or(false);
            if is_link && !self.params.flag("follow") {
                continue;
            }
            if self.walk(root, &sub, found, examined, skipped)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Builds the result entry for `path` when it passes the filters of the file type.
    fn select(
        &self,
        path: &Path,
        name: &str,
        meta: &fs::Metadata,
    ) -> Result<Option<Value>, String> {
        let filters = self.filters;
        let kind = meta.file_type();
        let common = filters.name_matches(name) && filters.age_matches(meta);
        let selected = match self.file_type {
            "any" => {
                common
                    && filters.mode_matches(meta)
                    && (!kind.is_file() || filters.size_matches(meta))
            }
            "directory" => kind.is_dir() && common && filters.mode_matches(meta),
            "file" => {
                kind.is_file()
                    && common
                    && filters.size_matches(meta)
                    && filters.content_matches(path)?
                    && filters.mode_matches(meta)
            }
            _ => kind.is_symlink() && common && filters.mode_matches(meta),
        };
        if !selected {
            return Ok(None);
        }
        let mut entry = stat_info(path, meta);
        if kind.is_file() && self.params.flag("get_checksum") && self.file_type != "directory" {
            if let Ok(data) = fs::read(path) {
                entry.insert(
                    Value::from("checksum"),
                    Value::from(Digest::Sha1.hex(&data)),
                );
            }
        }
        Ok(Some(Value::map(entry)))
    }
}

fn stat_info(path: &Path, meta: &fs::Metadata) -> Map {
    let mode = meta.mode();
    let kind = meta.file_type();
    let bit = |mask: u32| Value::Bool(mode & mask != 0);
    let time = |seconds: i64, nanos: i64| Value::Float(seconds as f64 + nanos as f64 / 1e9);
    let entries: Vec<(&str, Value)> = vec![
        ("path", Value::from(path.display().to_string())),
        ("mode", Value::from(format!("{:04o}", mode & 0o7777))),
        ("isdir", Value::Bool(kind.is_dir())),
        ("ischr", Value::Bool(kind.is_char_device())),
        ("isblk", Value::Bool(kind.is_block_device())),
        ("isreg", Value::Bool(kind.is_file())),
        ("isfifo", Value::Bool(kind.is_fifo())),
        ("islnk", Value::Bool(kind.is_symlink())),
        ("issock", Value::Bool(kind.is_socket())),
        ("uid", Value::Int(meta.uid().into())),
        ("gid", Value::Int(meta.gid().into())),
        ("size", Value::Int(meta.size() as i64)),
        ("inode", Value::Int(meta.ino() as i64)),
        ("dev", Value::Int(meta.dev() as i64)),
        ("nlink", Value::Int(meta.nlink() as i64)),
        ("atime", time(meta.atime(), meta.atime_nsec())),
        ("mtime", time(meta.mtime(), meta.mtime_nsec())),
        ("ctime", time(meta.ctime(), meta.ctime_nsec())),
        ("gr_name", Value::from(group_name_or_empty(meta.gid()))),
        (
            "pw_name",
            Value::from(passwd_name(meta.uid()).unwrap_or_default()),
        ),
        ("wusr", bit(0o200)),
        ("rusr", bit(0o400)),
        ("xusr", bit(0o100)),
        ("wgrp", bit(0o020)),
        ("rgrp", bit(0o040)),
        ("xgrp", bit(0o010)),
        ("woth", bit(0o002)),
        ("roth", bit(0o004)),
        ("xoth", bit(0o001)),
        ("isuid", bit(0o4000)),
        ("isgid", bit(0o2000)),
    ];
    entries
        .into_iter()
        .map(|(key, value)| (Value::from(key), value))
        .collect()
}

fn group_name_or_empty(gid: u32) -> String {
    let name = group_name(gid);
    if name == gid.to_string() {
        String::new()
    } else {
        name
    }
}

/// Python's `fnmatch.fnmatch` on POSIX: `*`, `?`, `[seq]` and `[!seq]`, case-sensitive.
pub fn fnmatch(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    glob_match(&pattern, &name)
}

fn glob_match(pattern: &[char], name: &[char]) -> bool {
    match pattern.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|skip| glob_match(&pattern[1..], &name[skip..])),
        Some('?') => !name.is_empty() && glob_match(&pattern[1..], &name[1..]),
        Some('[') => match class_match(&pattern[1..], name.first().copied()) {
            Some((matched, used)) => matched && glob_match(&pattern[1 + used..], &name[1..]),
            None => name.first() == Some(&'[') && glob_match(&pattern[1..], &name[1..]),
        },
        Some(c) => name.first() == Some(c) && glob_match(&pattern[1..], &name[1..]),
    }
}

/// Matches `c` against a `[...]` class, given the pattern after the `[`. Returns whether
/// it matched and how many pattern characters the class used, or `None` when the class
/// is not closed (then the `[` is a literal).
fn class_match(pattern: &[char], c: Option<char>) -> Option<(bool, usize)> {
    let negated = pattern.first() == Some(&'!');
    let mut index = usize::from(negated);
    let mut matched = false;
    let mut first = true;
    while index < pattern.len() {
        let item = pattern[index];
        if item == ']' && !first {
            return Some((c.is_some() && matched != negated, index + 1));
        }
        first = false;
        if index + 2 < pattern.len() && pattern[index + 1] == '-' && pattern[index + 2] != ']' {
            if c.is_some_and(|c| item <= c && c <= pattern[index + 2]) {
                matched = true;
            }
            index += 3;
        } else {
            if c == Some(item) {
                matched = true;
            }
            index += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(args: &[(&str, Value)]) -> Map {
        let args: Map = args
            .iter()
            .map(|(key, value)| (Value::from(*key), value.clone()))
            .collect();
        run(&SPEC.validate(&args).unwrap(), &ModuleOptions::default())
    }

    fn paths(result: &Map) -> Vec<String> {
        let mut paths: Vec<String> = result
            .get("files")
            .and_then(Value::as_list)
            .unwrap()
            .iter()
            .map(|entry| crate::pyrepr::str(entry.get("path").unwrap()))
            .collect();
        paths.sort();
        paths
    }

    #[test]
    fn decode_follows_python_codecs() {
        // "你好" in GBK.
        let gbk = [0xc4, 0xe3, 0xba, 0xc3];
        assert_eq!(decode(&gbk, Some("gbk")).unwrap(), "你好");
        assert_eq!(decode(&gbk, Some("utf-8")), Err(DecodeError::Invalid));
        assert_eq!(decode(&gbk, None), Err(DecodeError::Invalid));
        assert_eq!(decode(&[0xe9], Some("latin-1")).unwrap(), "é");
        assert_eq!(decode(&[0xe9], Some("ascii")), Err(DecodeError::Invalid));
        assert_eq!(
            decode(b"x", Some("idontexist")),
            Err(DecodeError::Unknown("idontexist".into()))
        );
    }

    #[test]
    fn encoding_errors_skip_the_path() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("hello.gbk"), [0xc4, 0xe3, 0xba, 0xc3]).unwrap();
        let root = dir.path().display().to_string();
        let search = |encoding: &str| {
            find(&[
                ("paths", Value::from(root.as_str())),
                ("patterns", Value::from("*.gbk")),
                ("contains", Value::from("你好")),
                ("encoding", Value::from(encoding)),
            ])
        };
        assert_eq!(search("gbk").get("matched"), Some(&Value::Int(1)));

        let wrong = search("utf-8");
        assert_eq!(
            wrong.get("msg"),
            Some(&Value::from(
                "Not all paths examined, check warnings for details"
            ))
        );
        let reason = format!(
            "Failed to read the file {root}/hello.gbk due to an encoding error. current encoding: utf-8"
        );
        let skipped = wrong.get("skipped_paths").unwrap();
        assert_eq!(skipped.get(root.as_str()), Some(&Value::from(reason)));

        let unknown = search("idontexist");
        let skipped = unknown.get("skipped_paths").unwrap();
        assert_eq!(
            skipped.get(root.as_str()),
            Some(&Value::from("unknown encoding: idontexist"))
        );
    }

    #[test]
    fn glob_patterns_from_comma_text() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["ca.pem", "node1.pem", "other.pem", ".hidden.pem"] {
            fs::write(dir.path().join(name), "x").unwrap();
        }
        let root = dir.path().display().to_string();
        let result = find(&[
            ("paths", Value::from(root.as_str())),
            ("patterns", Value::from("ca.pem,node*.pem")),
            ("get_checksum", Value::Bool(true)),
        ]);
        assert_eq!(
            paths(&result),
            [format!("{root}/ca.pem"), format!("{root}/node1.pem")]
        );
        assert_eq!(result.get("examined"), Some(&Value::Int(4)));
        let first = &result.get("files").unwrap().as_list().unwrap()[0];
        assert!(first.get("checksum").is_some());
    }

    #[test]
    fn regex_recursive_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("a/b")).unwrap();
        fs::write(dir.path().join("a/b/containerd.service"), "").unwrap();
        fs::write(dir.path().join("a/x.service"), "").unwrap();
        let root = dir.path().display().to_string();
        let result = find(&[
            ("paths", Value::list(vec![Value::from(root.as_str())])),
            (
                "patterns",
                Value::list(vec![Value::from("containerd.service$")]),
            ),
            ("use_regex", Value::Bool(true)),
            ("recurse", Value::Bool(true)),
        ]);
        assert_eq!(paths(&result), [format!("{root}/a/b/containerd.service")]);
        let dirs = find(&[
            ("paths", Value::from(root.as_str())),
            ("file_type", Value::from("directory")),
        ]);
        assert_eq!(paths(&dirs), [format!("{root}/a")]);
    }

    #[test]
    fn fnmatch_like_python() {
        assert!(fnmatch("etcd-*", "etcd-2024"));
        assert!(fnmatch("[!a]?", "bc"));
        assert!(!fnmatch("[a-c]x", "dx"));
        assert!(fnmatch("*.pem", ".x.pem"));
    }
}
