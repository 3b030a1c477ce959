//! The `setup` module: facts about the host it runs on, natively, with the keys and
//! values of ansible-core 2.18's setup module on Linux.
//!
//! Each collector of ansible-core has a function here, grouped by file as its fact
//! groups are. `gather_subset` chooses collectors by name or by the facts they
//! provide; `filter` keeps the matching top-level facts.

mod date_time;
mod distribution;
mod hardware;
mod local;
mod network;
mod platform;
mod python;
mod security;
mod subset;
mod system;
mod user;

pub use user::user_name;
mod util;
mod virtual_;

use crate::{Map, Value};

pub use subset::{resolve_subsets, SubsetError};

/// The host's node name from `uname(2)`, as Python's `platform.node()` returns it.
pub fn node_name() -> String {
    platform::uname().nodename
}

/// The default of `fact_path`.
pub const DEFAULT_FACT_PATH: &str = "/etc/ansible/facts.d";

/// Validated options of `setup`.
#[derive(Debug, Clone, PartialEq)]
pub struct SetupOptions {
    pub gather_subset: Vec<String>,
    /// NOTE: accepted and validated, but no collector is interrupted by it yet.
    pub gather_timeout: i64,
    pub filter: Vec<String>,
    pub fact_path: String,
    /// The task's `environment`, which ansible-core sets in the module's process and so
    /// shows in `ansible_env`.
    pub environment: Vec<(String, String)>,
}

impl SetupOptions {
    /// Reads the module arguments as ansible-core's argument spec converts them.
    pub fn from_args(args: &Map) -> Result<SetupOptions, String> {
        let known = ["gather_subset", "gather_timeout", "filter", "fact_path"];
        let unknown: Vec<&str> = args
            .keys()
            .filter_map(Value::as_str)
            .filter(|key| !known.contains(key) && !key.starts_with('_'))
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "Unsupported parameters for (setup) module: {}. Supported parameters include: fact_path, filter, gather_subset, gather_timeout.",
                unknown.join(", ")
            ));
        }
        let gather_subset = string_list(args.get("gather_subset"), "gather_subset")?
            .unwrap_or_else(|| vec!["all".to_string()]);
        let filter = string_list(args.get("filter"), "filter")?.unwrap_or_default();
        let gather_timeout = match args.get("gather_timeout") {
            None | Some(Value::Null) => 10,
            Some(Value::Int(n)) => *n,
            Some(Value::Str(s) | Value::Unsafe(s)) => s.trim().parse().map_err(|_| {
                format!("argument 'gather_timeout' is of type <class 'str'> and we were unable to convert to int: invalid literal for int() with base 10: '{s}'")
            })?,
            Some(other) => {
                return Err(format!(
                    "argument 'gather_timeout' is of type {} and we were unable to convert to int",
                    other.type_name()
                ))
            }
        };
        let fact_path = match args.get("fact_path") {
            None | Some(Value::Null) => DEFAULT_FACT_PATH.to_string(),
            Some(value) => expand_user(&crate::pyrepr::str(value)),
        };
        Ok(SetupOptions {
            gather_subset,
            gather_timeout,
            filter,
            fact_path,
            environment: Vec::new(),
        })
    }
}

/// An option of type `list` with `elements: str`: a list, or a comma-separated string.
fn string_list(value: Option<&Value>, name: &str) -> Result<Option<Vec<String>>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::List(items)) => Ok(Some(items.iter().map(crate::pyrepr::str).collect())),
        Some(Value::Str(text) | Value::Unsafe(text)) => Ok(Some(
            text.split(',')
                .map(|part| part.trim().to_string())
                .collect(),
        )),
        Some(scalar @ (Value::Int(_) | Value::Float(_) | Value::Bool(_))) => {
            Ok(Some(vec![crate::pyrepr::str(scalar)]))
        }
        Some(other) => Err(format!(
            "argument '{name}' is of type {} and we were unable to convert to list",
            other.type_name()
        )),
    }
}

/// `~` at the start of a path becomes `$HOME`, as the `path` option type does.
fn expand_user(path: &str) -> String {
    match (path.strip_prefix('~'), std::env::var("HOME")) {
        (Some(rest), Ok(home)) if rest.is_empty() || rest.starts_with('/') => {
            format!("{home}{rest}")
        }
        _ => path.to_string(),
    }
}

/// Runs `setup` and returns its module result. `environment` is the task's.
pub fn run(args: &Map, environment: &[(String, String)]) -> Map {
    let mut options = match SetupOptions::from_args(args) {
        Ok(options) => options,
        Err(message) => return failed(message),
    };
    options.environment = environment.to_vec();
    let collectors = match resolve_subsets(&options.gather_subset) {
        Ok(collectors) => collectors,
        Err(err) => return failed(err.to_string()),
    };
    let (facts, warnings) = gather(&collectors, &options);
    let mut result = Map::new();
    result.insert(Value::from("ansible_facts"), Value::map(facts));
    result.insert(Value::from("changed"), Value::Bool(false));
    if !warnings.is_empty() {
        result.insert(Value::from("warnings"), util::strings(&warnings));
    }
    result
}

fn failed(message: String) -> Map {
    let mut result = Map::new();
    result.insert(Value::from("failed"), Value::Bool(true));
    result.insert(Value::from("msg"), Value::from(message));
    result
}

/// Runs the chosen collectors in dependency order and returns the prefixed, filtered
/// facts (sorted by name) and any warnings.
pub fn gather(collectors: &[&str], options: &SetupOptions) -> (Map, Vec<String>) {
    let mut warnings = Vec::new();
    let mut output: Vec<(String, Value)> = Vec::new();
    // Facts of earlier collectors, which later ones read (the OS family, the
    // architecture), whether or not they were asked for.
    let mut collected = Map::new();
    let mut ordered: Vec<&str> = subset::COLLECTION_ORDER
        .iter()
        .copied()
        .filter(|name| collectors.contains(name))
        .collect();
    for dependency in ["distribution", "platform"] {
        if ordered.iter().any(|name| needs(name, dependency)) && !ordered.contains(&dependency) {
            ordered.insert(0, dependency);
        }
    }
    for name in ordered {
        let mut facts = Map::new();
        match name {
            "platform" => platform::collect(&mut facts),
            "distribution" => distribution::collect(&mut facts),
            "lsb" => distribution::collect_lsb(&mut facts),
            "selinux" => security::collect_selinux(&mut facts),
            "apparmor" => security::collect_apparmor(&mut facts),
            "chroot" => security::collect_chroot(&mut facts),
            "fips" => security::collect_fips(&mut facts),
            "caps" => security::collect_caps(&mut facts),
            "python" => python::collect(&mut facts),
            "pkg_mgr" => {
                facts = collected.clone();
                system::collect_pkg_mgr(&mut facts);
                facts = only(facts, &["pkg_mgr"]);
            }
            "service_mgr" => system::collect_service_mgr(&mut facts),
            "cmdline" => system::collect_cmdline(&mut facts),
            "date_time" => date_time::collect(&mut facts),
            "env" => user::collect_env(&mut facts, &options.environment),
            "loadavg" => system::collect_loadavg(&mut facts),
            "ssh_pub_keys" => system::collect_ssh_pub_keys(&mut facts),
            "user" => user::collect(&mut facts),
            "systemd" => system::collect_systemd(&mut facts),
            "virtual" => virtual_::collect(&mut facts),
            "hardware" => {
                facts = collected.clone();
                let before: Vec<Value> = facts.keys().cloned().collect();
                hardware::collect(&mut facts);
                facts.retain(|key, _| !before.contains(key));
            }
            "network" => network::collect(&mut facts),
            "dns" => system::collect_dns(&mut facts),
            "fibre_channel_wwn" | "iscsi" | "nvme" => {
                network::collect_initiators(&mut facts, &[name])
            }
            "local" => warnings.extend(local::collect(&mut facts, &options.fact_path)),
            // `facter` and `ohai` run other tools ansible-core only reads when they are
            // installed; rplay ignores them.
            _ => {}
        }
        let wanted = collectors.contains(&name);
        for (key, value) in facts {
            collected.insert(key.clone(), value.clone());
            if !wanted {
                continue;
            }
            let key = key.as_str().unwrap_or_default().replace('-', "_");
            let prefixed = format!("ansible_{key}");
            if matches_filter(&prefixed, &options.filter) {
                output.retain(|(existing, _)| *existing != prefixed);
                output.push((prefixed, value));
            }
        }
    }
    let subsets = util::strings(&options.gather_subset);
    for (key, value) in [
        ("gather_subset", subsets),
        ("module_setup", Value::Bool(true)),
    ] {
        if matches_filter(key, &options.filter) {
            output.push((key.to_string(), value));
        }
    }
    output.sort_by(|a, b| a.0.cmp(&b.0));
    let facts = output
        .into_iter()
        .map(|(key, value)| (Value::from(key), value))
        .collect();
    (facts, warnings)
}

fn needs(collector: &str, dependency: &str) -> bool {
    match collector {
        "hardware" | "service_mgr" => dependency == "platform",
        "network" | "pkg_mgr" => true,
        _ => false,
    }
}

fn only(facts: Map, keys: &[&str]) -> Map {
    facts
        .into_iter()
        .filter(|(key, _)| key.as_str().is_some_and(|k| keys.contains(&k)))
        .collect()
}

/// ansible-core's filter: an empty list or `*` keeps everything; otherwise a fact is
/// kept when a pattern matches its name, or matches it with `ansible_` added in front
/// (for patterns that start with neither `ansible_`, `facter` nor `ohai`).
fn matches_filter(name: &str, filter: &[String]) -> bool {
    if filter.is_empty() || (filter.len() == 1 && filter[0] == "*") {
        return true;
    }
    filter.iter().any(|pattern| {
        if pattern.is_empty() || fnmatch(name, pattern) {
            return true;
        }
        let prefixed = ["ansible_", "facter", "ohai"]
            .iter()
            .any(|prefix| pattern.starts_with(prefix));
        !prefixed && fnmatch(name, &format!("ansible_{pattern}"))
    })
}

/// Python's `fnmatch.fnmatch` on Linux: `*`, `?`, `[seq]` and `[!seq]`, case-sensitive.
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    let name: Vec<char> = name.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    fnmatch_chars(&name, &pattern)
}

fn fnmatch_chars(name: &[char], pattern: &[char]) -> bool {
    match pattern.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|skip| fnmatch_chars(&name[skip..], &pattern[1..])),
        Some('?') => !name.is_empty() && fnmatch_chars(&name[1..], &pattern[1..]),
        Some('[') => match class_end(pattern) {
            Some(end) => {
                let Some(c) = name.first() else {
                    return false;
                };
                let (negated, body) = match pattern.get(1) {
                    Some('!') => (true, &pattern[2..end]),
                    _ => (false, &pattern[1..end]),
                };
                let mut matched = false;
                let mut i = 0;
                while i < body.len() {
                    if i + 2 < body.len() && body[i + 1] == '-' {
                        matched |= body[i] <= *c && *c <= body[i + 2];
                        i += 3;
                    } else {
                        matched |= body[i] == *c;
                        i += 1;
                    }
                }
                matched != negated && fnmatch_chars(&name[1..], &pattern[end + 1..])
            }
            None => name.first() == Some(&'[') && fnmatch_chars(&name[1..], &pattern[1..]),
        },
        Some(p) => name.first() == Some(p) && fnmatch_chars(&name[1..], &pattern[1..]),
    }
}

/// The index of the `]` closing a character class that starts at `pattern[0]`.
fn class_end(pattern: &[char]) -> Option<usize> {
    let mut i = 1;
    if pattern.get(i) == Some(&'!') {
        i += 1;
    }
    if pattern.get(i) == Some(&']') {
        i += 1;
    }
    pattern[i..].iter().position(|c| *c == ']').map(|at| at + i)
}

#[cfg(test)]
mod tests;
