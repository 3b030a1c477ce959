//! Host patterns, as ansible-core's `InventoryManager.get_hosts` resolves them.
//!
//! A pattern is split at commas (or, without commas, at colons outside brackets)
//! into single patterns. Plain patterns are applied first in the order given, then
//! every `&` pattern, then every `!` pattern, wherever they were written. With no
//! plain pattern the start is `all`. A single pattern is a host name, a glob matched
//! against group names and host names (`web*`, `*.example.com`), or a `~regex`
//! matched at the start of the names, and may end in a subscript (`g[0]`, `g[-1]`,
//! `g[1:3]`, `g[1:]`). A group matched by name contributes all its hosts; host names
//! are searched too when no group matched or the pattern has `.`, `?`, `*`, `[` or
//! is a regex. Duplicates are removed keeping the first.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use super::address::parse_address;
use super::model::{HostId, Inventory, LOCALHOST_NAMES};

/// The reaction to a pattern that matches nothing (`host_pattern_mismatch`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PatternMismatch {
    #[default]
    Warning,
    Error,
    Ignore,
}

/// Host order for a play (`order:`). Ansible's `shuffle` is inventory order shuffled
/// by the caller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HostOrder {
    #[default]
    Inventory,
    ReverseInventory,
    Sorted,
    ReverseSorted,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("Invalid host list pattern: {pattern}")]
    InvalidRegex { pattern: String },
    #[error("No hosts matched the subscripted pattern '{pattern}'")]
    SubscriptOutOfRange { pattern: String },
    #[error("Could not match supplied host pattern, ignoring: {pattern}")]
    NoMatch { pattern: String },
    #[error("Specified inventory, host pattern and/or --limit leaves us with no hosts to target.")]
    NoHostsToTarget,
    #[error("Unable to find limit file {}", .path.display())]
    LimitFileMissing { path: PathBuf },
    #[error("Limit starting with \"@\" must be a file, not a directory: {}", .path.display())]
    LimitFileIsDirectory { path: PathBuf },
    #[error("could not read limit file {}: {message}", .path.display())]
    LimitFileUnreadable { path: PathBuf, message: String },
}

/// A `--limit` (Ansible's subset): single patterns, with `@FILE` entries replaced by
/// the file's lines (each line one pattern, not split further).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Limit {
    patterns: Vec<String>,
}

impl Limit {
    /// Parses a `--limit` value; `@FILE` paths are relative to `cwd`.
    pub fn parse(spec: &str, cwd: &Path) -> Result<Limit, PatternError> {
        let mut patterns = Vec::new();
        for part in split_host_pattern(spec) {
            let Some(file) = part.strip_prefix('@') else {
                patterns.push(part);
                continue;
            };
            let path = cwd.join(file);
            if !path.exists() {
                return Err(PatternError::LimitFileMissing { path });
            }
            if !path.is_file() {
                return Err(PatternError::LimitFileIsDirectory { path });
            }
            let text = std::fs::read_to_string(&path).map_err(|err| {
                PatternError::LimitFileUnreadable {
                    path: path.clone(),
                    message: err.to_string(),
                }
            })?;
            patterns.extend(text.split('\n').map(|line| line.trim().to_string()));
        }
        Ok(Limit { patterns })
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

/// The context of a host lookup: the `--limit`, the hosts the current batch is
/// restricted to, the order and the mismatch rule.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostQuery<'a> {
    pub limit: Option<&'a Limit>,
    /// Host names outside of which nothing is returned (Ansible's restriction, used
    /// for `serial` batches and failed hosts).
    pub restriction: Option<&'a HashSet<String>>,
    pub order: HostOrder,
    pub mismatch: PatternMismatch,
}

/// Splits a pattern into single patterns as Ansible's `split_host_pattern` does: at
/// commas when there are any. Without commas, a valid address (`host:22`, `::1`,
/// `web[1:3]`) stays whole and anything else is split at colons outside brackets.
pub fn split_host_pattern(pattern: &str) -> Vec<String> {
    static COLON_PARTS: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+")
            .unwrap_or_else(|err| unreachable!("invalid built-in regex: {err}"))
    });
    let parts: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_string).collect()
    } else if parse_address(pattern, true).is_some() {
        vec![pattern.to_string()]
    } else {
        COLON_PARTS
            .find_iter(pattern)
            .map(|m| m.as_str().to_string())
            .collect()
    };
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Puts plain patterns first, then `&` patterns, then `!` patterns; with no plain
/// pattern, starts from `all`.
fn order_patterns(patterns: &[String]) -> Vec<&str> {
    let mut regular = Vec::new();
    let mut intersection = Vec::new();
    let mut exclusion = Vec::new();
    for pattern in patterns.iter().filter(|p| !p.is_empty()) {
        match pattern.as_bytes()[0] {
            b'!' => exclusion.push(pattern.as_str()),
            b'&' => intersection.push(pattern.as_str()),
            _ => regular.push(pattern.as_str()),
        }
    }
    if regular.is_empty() {
        regular.push("all");
    }
    regular
        .into_iter()
        .chain(intersection)
        .chain(exclusion)
        .collect()
}

impl Inventory {
    /// Resolves `pattern` to hosts, applying the query's limit, restriction and order.
    /// Warnings Ansible prints on the way (patterns that match nothing, `[x-y]`
    /// subscripts) are appended to `warnings`, also when an error follows; Ansible
    /// shows each distinct one once.
    pub fn get_hosts(
        &self,
        pattern: &str,
        query: &HostQuery,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<HostId>, PatternError> {
        self.get_hosts_from_patterns(&split_host_pattern(pattern), query, warnings)
    }

    /// Like [`Inventory::get_hosts`], for a pattern given as a YAML list.
    pub fn get_hosts_from_patterns(
        &self,
        patterns: &[String],
        query: &HostQuery,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<HostId>, PatternError> {
        let patterns: Vec<String> = patterns
            .iter()
            .flat_map(|p| split_host_pattern(p))
            .collect();
        let mut hosts = self.evaluate_patterns(&patterns, query.mismatch, warnings)?;
        if let Some(limit) = query.limit {
            let allowed: HashSet<HostId> = self
                .evaluate_patterns(&limit.patterns, query.mismatch, warnings)?
                .into_iter()
                .collect();
            hosts.retain(|h| allowed.contains(h));
        }
        if let Some(restriction) = query.restriction {
            hosts.retain(|h| restriction.contains(&*self.host(*h).name));
        }
        let mut seen = HashSet::new();
        hosts.retain(|h| seen.insert(*h));
        match query.order {
            HostOrder::Inventory => {}
            HostOrder::ReverseInventory => hosts.reverse(),
            HostOrder::Sorted => hosts.sort_by(|a, b| self.host(*a).name.cmp(&self.host(*b).name)),
            HostOrder::ReverseSorted => {
                hosts.sort_by(|a, b| self.host(*b).name.cmp(&self.host(*a).name))
            }
        }
        Ok(hosts)
    }

    /// Ansible's `list_hosts`: the host names for `pattern`, or the pattern itself when
    /// it names the implicit localhost and nothing else matched.
    pub fn list_hosts(
        &self,
        pattern: &str,
        query: &HostQuery,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<String>, PatternError> {
        let hosts = self.get_hosts(pattern, query, warnings)?;
        let mut names: Vec<String> = hosts
            .iter()
            .map(|h| self.host(*h).name.to_string())
            .collect();
        if names.is_empty() && LOCALHOST_NAMES.contains(&pattern) {
            names.push(pattern.to_string());
        }
        Ok(names)
    }

    /// Ansible's `CLI.get_host_list`, which `ansible` and `ansible-playbook
    /// --list-hosts` use: warns when the inventory has no hosts, then applies the
    /// query's limit, and fails when an inventory with hosts leaves none to target.
    pub fn get_host_list(
        &self,
        pattern: &str,
        query: &HostQuery,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<String>, PatternError> {
        let unlimited = HostQuery {
            limit: None,
            ..*query
        };
        let all = self.list_hosts("all", &unlimited, warnings)?;
        let no_hosts = all.is_empty();
        if no_hosts && !LOCALHOST_NAMES.contains(&pattern) {
            warnings.push(
                "provided hosts list is empty, only localhost is available. Note that the implicit localhost does not match 'all'"
                    .into(),
            );
        }
        let hosts = self.list_hosts(pattern, query, warnings)?;
        if hosts.is_empty() && !no_hosts {
            return Err(PatternError::NoHostsToTarget);
        }
        Ok(hosts)
    }

    fn evaluate_patterns(
        &self,
        patterns: &[String],
        mismatch: PatternMismatch,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<HostId>, PatternError> {
        let mut hosts: Vec<HostId> = Vec::new();
        for pattern in order_patterns(patterns) {
            if let Some(host) = self.host_id(pattern) {
                hosts.push(host);
                continue;
            }
            let matched = self.match_one_pattern(pattern, mismatch, warnings)?;
            match pattern.as_bytes()[0] {
                b'!' => {
                    let excluded: HashSet<HostId> = matched.into_iter().collect();
                    hosts.retain(|h| !excluded.contains(h));
                }
                b'&' => {
                    let kept: HashSet<HostId> = matched.into_iter().collect();
                    hosts.retain(|h| kept.contains(h));
                }
                _ => {
                    let existing: HashSet<HostId> = hosts.iter().copied().collect();
                    hosts.extend(matched.into_iter().filter(|h| !existing.contains(h)));
                }
            }
        }
        Ok(hosts)
    }

    fn match_one_pattern(
        &self,
        pattern: &str,
        mismatch: PatternMismatch,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<HostId>, PatternError> {
        let pattern = pattern.strip_prefix(['&', '!']).unwrap_or(pattern);
        let (expression, subscript) = split_subscript(pattern, warnings);
        let hosts = self.enumerate_matches(expression, mismatch, warnings)?;
        apply_subscript(hosts, subscript).ok_or_else(|| PatternError::SubscriptOutOfRange {
            pattern: pattern.to_string(),
        })
    }

    fn enumerate_matches(
        &self,
        pattern: &str,
        mismatch: PatternMismatch,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<HostId>, PatternError> {
        let matcher = NameMatcher::new(pattern)?;
        let mut results = Vec::new();
        let mut any_group = false;
        for (id, group) in self.groups() {
            if matcher.matches(&group.name) {
                any_group = true;
                results.extend(self.group_hosts(id));
            }
        }
        let special = pattern.starts_with('~') || pattern.contains(['.', '?', '*', '[']);
        if !any_group || special {
            results.extend(
                self.hosts()
                    .filter(|(_, host)| matcher.matches(&host.name))
                    .map(|(id, _)| id),
            );
        }
        if results.is_empty() && LOCALHOST_NAMES.contains(&pattern) {
            results.extend(self.get_host(pattern));
        }
        if results.is_empty() && !any_group && pattern != "all" {
            let error = PatternError::NoMatch {
                pattern: pattern.to_string(),
            };
            match mismatch {
                PatternMismatch::Warning => warnings.push(error.to_string()),
                PatternMismatch::Error => return Err(error),
                PatternMismatch::Ignore => {}
            }
        }
        Ok(results)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Subscript {
    Index(i64),
    /// `[start:end]` inclusive; `None` for an open end (`[start:]`).
    Range(usize, Option<usize>),
}

/// Splits `g[0]`, `g[-1]`, `g[1:3]`, `g[1:]` and the old `g[1-3]` into the
/// expression and the subscript. Regexes never carry a subscript.
fn split_subscript<'a>(
    pattern: &'a str,
    warnings: &mut Vec<String>,
) -> (&'a str, Option<Subscript>) {
    static SUBSCRIPT: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"^(?s)(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$")
            .unwrap_or_else(|err| unreachable!("invalid built-in regex: {err}"))
    });
    if pattern.starts_with('~') {
        return (pattern, None);
    }
    let Some(captures) = SUBSCRIPT.captures(pattern) else {
        return (pattern, None);
    };
    let expression = captures.get(1).map_or(pattern, |m| m.as_str());
    if let Some(index) = captures.get(2) {
        // A number too large for i64 can select nothing, like an index past the end.
        let index = index.as_str().parse().unwrap_or(i64::MAX);
        return (expression, Some(Subscript::Index(index)));
    }
    let number = |i: usize| captures.get(i).map(|m| m.as_str()).unwrap_or_default();
    if number(4) == "-" {
        warnings
            .push("Use [x:y] inclusive subscripts instead of [x-y] which has been removed".into());
    }
    let start = number(3).parse().unwrap_or(usize::MAX);
    let end = match number(5) {
        "" => None,
        end => Some(end.parse().unwrap_or(usize::MAX)),
    };
    (expression, Some(Subscript::Range(start, end)))
}

/// Applies a subscript; `None` when a single index is out of range. Ansible reads an
/// end of 0 as "no end given", so `g[2:0]` selects `g[2]` alone.
fn apply_subscript(hosts: Vec<HostId>, subscript: Option<Subscript>) -> Option<Vec<HostId>> {
    let Some(subscript) = subscript else {
        return Some(hosts);
    };
    if hosts.is_empty() {
        return Some(hosts);
    }
    let len = hosts.len();
    let single = |index: i64| {
        let index = if index < 0 {
            i64::try_from(len).ok()? + index
        } else {
            index
        };
        let index = usize::try_from(index).ok()?;
        hosts.get(index).map(|h| vec![*h])
    };
    match subscript {
        Subscript::Index(index) => single(index),
        Subscript::Range(start, Some(0)) => single(i64::try_from(start).unwrap_or(i64::MAX)),
        Subscript::Range(start, end) => {
            let end = end.unwrap_or(len - 1).saturating_add(1).min(len);
            Some(
                hosts
                    .get(start..end)
                    .map(<[HostId]>::to_vec)
                    .unwrap_or_default(),
            )
        }
    }
}

/// A glob (Python's `fnmatch`, case-sensitive) or, after `~`, a regex matched at the
/// start of a name (Python's `re.match`).
enum NameMatcher {
    Glob(Vec<GlobToken>),
    Regex(fancy_regex::Regex),
}

#[derive(Debug)]
enum GlobToken {
    Literal(char),
    AnyChar,
    AnyString,
    Class {
        negated: bool,
        items: Vec<(char, char)>,
    },
}

impl NameMatcher {
    fn new(pattern: &str) -> Result<NameMatcher, PatternError> {
        match pattern.strip_prefix('~') {
            Some(regex) => fancy_regex::Regex::new(&format!("^(?:{regex})"))
                .map(NameMatcher::Regex)
                .map_err(|_| PatternError::InvalidRegex {
                    pattern: pattern.to_string(),
                }),
            None => Ok(NameMatcher::Glob(parse_glob(pattern))),
        }
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            NameMatcher::Regex(regex) => regex.is_match(name).unwrap_or(false),
            NameMatcher::Glob(tokens) => {
                let chars: Vec<char> = name.chars().collect();
                glob_match(tokens, &chars)
            }
        }
    }
}

/// Parses a glob as Python's `fnmatch.translate` reads it: `*`, `?`, `[seq]` and
/// `[!seq]` with ranges. A `[` without a closing `]` is literal, and a `]` right
/// after `[` or `[!` is a member of the set.
fn parse_glob(pattern: &str) -> Vec<GlobToken> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => {
                if !matches!(tokens.last(), Some(GlobToken::AnyString)) {
                    tokens.push(GlobToken::AnyString);
                }
            }
            '?' => tokens.push(GlobToken::AnyChar),
            '[' => match parse_class(&chars, i) {
                Some((token, next)) => {
                    tokens.push(token);
                    i = next;
                }
                None => tokens.push(GlobToken::Literal('[')),
            },
            other => tokens.push(GlobToken::Literal(other)),
        }
    }
    tokens
}

/// Parses a bracket set whose content starts at `start` (just after `[`).
fn parse_class(chars: &[char], start: usize) -> Option<(GlobToken, usize)> {
    let mut j = start;
    if chars.get(j) == Some(&'!') {
        j += 1;
    }
    if chars.get(j) == Some(&']') {
        j += 1;
    }
    while j < chars.len() && chars[j] != ']' {
        j += 1;
    }
    if j >= chars.len() {
        return None;
    }
    let mut content = &chars[start..j];
    let negated = content.first() == Some(&'!');
    if negated {
        content = &content[1..];
    }
    let mut items = Vec::new();
    let mut k = 0;
    while k < content.len() {
        if k + 2 < content.len() && content[k + 1] == '-' {
            // Python drops ranges whose ends are reversed.
            if content[k] <= content[k + 2] {
                items.push((content[k], content[k + 2]));
            }
            k += 3;
        } else {
            items.push((content[k], content[k]));
            k += 1;
        }
    }
    Some((GlobToken::Class { negated, items }, j + 1))
}

fn glob_match(tokens: &[GlobToken], name: &[char]) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return name.is_empty();
    };
    match first {
        GlobToken::AnyString => (0..=name.len()).any(|skip| glob_match(rest, &name[skip..])),
        GlobToken::AnyChar => !name.is_empty() && glob_match(rest, &name[1..]),
        GlobToken::Literal(c) => name.first() == Some(c) && glob_match(rest, &name[1..]),
        GlobToken::Class { negated, items } => {
            let Some(c) = name.first() else { return false };
            let member = items.iter().any(|(lo, hi)| lo <= c && c <= hi);
            member != *negated && glob_match(rest, &name[1..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(pattern: &str, name: &str) -> bool {
        let chars: Vec<char> = name.chars().collect();
        glob_match(&parse_glob(pattern), &chars)
    }

    #[test]
    fn splitting() {
        assert_eq!(
            split_host_pattern("a,b[1], c[2:3] , d"),
            ["a", "b[1]", "c[2:3]", "d"]
        );
        assert_eq!(split_host_pattern("a:&b:!c"), ["a", "&b", "!c"]);
        assert_eq!(split_host_pattern("web[1:3]"), ["web[1:3]"]);
        assert_eq!(split_host_pattern("::1"), ["::1"]);
        assert_eq!(split_host_pattern("host:22"), ["host:22"]);
        assert_eq!(split_host_pattern("g[0]:h"), ["g[0]", "h"]);
    }

    #[test]
    fn ordering() {
        let patterns: Vec<String> = ["!a", "b", "&c", "d"].map(String::from).to_vec();
        assert_eq!(order_patterns(&patterns), ["b", "d", "&c", "!a"]);
        let patterns: Vec<String> = ["!a"].map(String::from).to_vec();
        assert_eq!(order_patterns(&patterns), ["all", "!a"]);
    }

    #[test]
    fn subscripts() {
        let mut warnings = Vec::new();
        assert_eq!(
            split_subscript("g[0]", &mut warnings),
            ("g", Some(Subscript::Index(0)))
        );
        assert_eq!(
            split_subscript("g[-1]", &mut warnings),
            ("g", Some(Subscript::Index(-1)))
        );
        assert_eq!(
            split_subscript("g[1:3]", &mut warnings),
            ("g", Some(Subscript::Range(1, Some(3))))
        );
        assert_eq!(
            split_subscript("g[1:]", &mut warnings),
            ("g", Some(Subscript::Range(1, None)))
        );
        assert_eq!(split_subscript("~g[1]", &mut warnings), ("~g[1]", None));
        assert!(warnings.is_empty());
        split_subscript("g[1-2]", &mut warnings);
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn globs() {
        assert!(glob("web*", "web01"));
        assert!(glob("*.example.com", "a.example.com"));
        assert!(!glob("*.example.com", "a.example.org"));
        assert!(glob("w?b", "wab"));
        assert!(glob("n[0-9]", "n5"));
        assert!(!glob("n[!0-9]", "n5"));
        assert!(glob("a[", "a["));
        assert!(glob("[]]", "]"));
        assert!(!glob("Web*", "web1"));
    }
}
