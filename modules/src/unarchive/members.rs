//! Which archive members a run touches and under which names: GNU tar's
//! `--strip-components`, its member arguments (`include`) and `--exclude` patterns, as
//! GNU tar 1.34 applies them.

use crate::files::Failure;
use crate::find::fnmatch;

/// The GNU tar options of `extra_opts` that rplay's tar handler understands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TarOptions {
    pub strip_components: usize,
    /// `--wildcards`: member arguments are shell patterns instead of names.
    pub wildcards: bool,
    /// `--keep-newer-files` given in `extra_opts` (the same as `keep_newer`).
    pub keep_newer: bool,
    /// `--no-same-owner`: members are not given the archive's owner, even as root.
    pub no_same_owner: bool,
    /// `--no-same-permissions`: the umask applies to the archive's modes, even as root.
    pub no_same_permissions: bool,
    /// `--touch` (`-m`): extracted files get the current time, not the archive's.
    pub touch: bool,
    /// Words of `extra_opts` that are not options: member arguments, as `include` gives.
    pub members: Vec<String>,
}

/// GNU tar's long options that take no argument, with what each sets.
const FLAGS: &[&str] = &[
    "--wildcards",
    "--no-wildcards",
    "--keep-newer-files",
    "--no-same-owner",
    "--same-owner",
    "--no-same-permissions",
    "--same-permissions",
    "--preserve-permissions",
    "--touch",
    "--overwrite",
];

impl TarOptions {
    /// Reads `extra_opts`. GNU tar accepts any unambiguous prefix of a long option
    /// (Kubespray writes `--strip=1`), and an option's argument after `=` or as the
    /// next element.
    pub fn parse(extra_opts: &[String]) -> Result<TarOptions, Failure> {
        let mut options = TarOptions::default();
        let mut index = 0;
        while index < extra_opts.len() {
            let option = extra_opts[index].as_str();
            index += 1;
            let (name, inline_value) = match option.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (option, None),
            };
            if name.len() > 3 && "--strip-components".starts_with(name) {
                let value = match inline_value {
                    Some(value) => value.to_string(),
                    None => {
                        index += 1;
                        extra_opts.get(index - 1).cloned().unwrap_or_default()
                    }
                };
                options.strip_components = value.trim().parse().map_err(|_| {
                    Failure::new(format!(
                        "invalid --strip-components value '{value}' in extra_opts"
                    ))
                })?;
                continue;
            }
            if !option.starts_with('-') {
                options.members.push(option.to_string());
                continue;
            }
            let flag = match option {
                "-m" => "--touch",
                "-p" => "--same-permissions",
                _ => long_flag(option).ok_or_else(|| unsupported(option))?,
            };
            match flag {
                "--wildcards" => options.wildcards = true,
                "--no-wildcards" => options.wildcards = false,
                "--keep-newer-files" => options.keep_newer = true,
                "--no-same-owner" => options.no_same_owner = true,
                "--same-owner" => options.no_same_owner = false,
                "--no-same-permissions" => options.no_same_permissions = true,
                "--same-permissions" | "--preserve-permissions" => {
                    options.no_same_permissions = false
                }
                "--touch" => options.touch = true,
                // Overwriting existing files is what extraction does anyway.
                _ => {}
            }
        }
        Ok(options)
    }
}

/// The flag `option` names exactly or as an unambiguous abbreviation.
fn long_flag(option: &str) -> Option<&'static str> {
    if let Some(flag) = FLAGS.iter().find(|flag| **flag == option) {
        return Some(flag);
    }
    let candidates: Vec<&str> = FLAGS
        .iter()
        .copied()
        .filter(|flag| option.len() > 3 && flag.starts_with(option))
        .collect();
    match candidates[..] {
        [flag] => Some(flag),
        _ => None,
    }
}

fn unsupported(option: &str) -> Failure {
    Failure::new(format!(
        "rplay's unarchive does not implement the tar option '{option}' in extra_opts; it knows --strip-components, {}, -m and -p",
        FLAGS.join(", ")
    ))
}

/// A stored member name as GNU tar uses it: leading slashes removed (tar warns
/// "Removing leading `/' from member names") and trailing ones too.
pub(crate) fn normalise(stored: &str) -> String {
    stored
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

/// The name a member gets under `--strip-components=count`, or `None` when it has no
/// more components than that.
pub(crate) fn strip_components(name: &str, count: usize) -> Option<String> {
    if count == 0 {
        return Some(name.to_string());
    }
    let mut rest = name;
    for _ in 0..count {
        let (_, tail) = rest.split_once('/')?;
        rest = tail.trim_start_matches('/');
    }
    Some(rest.to_string())
}

/// Returns the index of the first member argument (`include`) that selects `name`: the
/// same name or a directory above it, or with `--wildcards` a matching pattern.
pub(crate) fn matching_include(name: &str, includes: &[String], wildcards: bool) -> Option<usize> {
    includes.iter().position(|include| {
        let pattern = include.trim_end_matches('/');
        if wildcards {
            leading_paths(name).any(|prefix| fnmatch(pattern, prefix))
        } else {
            leading_paths(name).any(|prefix| prefix == pattern)
        }
    })
}

/// Whether an `--exclude` pattern excludes `name`: GNU tar matches it, unanchored,
/// against every run of whole components, so that it excludes a directory's contents
/// too.
pub(crate) fn is_excluded(name: &str, excludes: &[String]) -> bool {
    excludes.iter().any(|pattern| {
        let starts = std::iter::once(0).chain(name.match_indices('/').map(|(at, _)| at + 1));
        starts
            .into_iter()
            .any(|start| leading_paths(&name[start..]).any(|part| fnmatch(pattern, part)))
    })
}

/// `a/b/c`, then `a/b` and `a`.
fn leading_paths(name: &str) -> impl Iterator<Item = &str> {
    let cuts = name
        .match_indices('/')
        .map(|(at, _)| at)
        .collect::<Vec<_>>();
    std::iter::once(name).chain(cuts.into_iter().rev().map(move |at| &name[..at]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    #[test]
    fn strip_abbreviation_kubespray() {
        let options = TarOptions::parse(&strings(&["--strip=1"])).unwrap();
        assert_eq!(options.strip_components, 1);
        let options =
            TarOptions::parse(&strings(&["--strip-components", "2", "--wildcards"])).unwrap();
        assert_eq!(options.strip_components, 2);
        assert!(options.wildcards);
    }

    #[test]
    fn unknown_tar_option_fails() {
        let failure = TarOptions::parse(&strings(&["--transform=s/a/b/"])).unwrap_err();
        assert!(
            failure.msg.contains("'--transform=s/a/b/'"),
            "{}",
            failure.msg
        );
    }

    #[test]
    fn strip_components_counts() {
        assert_eq!(strip_components("pkg/bin/a", 1).as_deref(), Some("bin/a"));
        assert_eq!(strip_components("pkg", 1), None);
        assert_eq!(strip_components("pkg/bin", 2), None);
        assert_eq!(strip_components("./bin/a", 1).as_deref(), Some("bin/a"));
    }

    #[test]
    fn include_literal_and_wildcard() {
        let includes = strings(&["tree/sub"]);
        assert_eq!(
            matching_include("tree/sub/b.conf", &includes, false),
            Some(0)
        );
        assert_eq!(matching_include("tree/subway", &includes, false), None);
        let includes = strings(&["tree/*.txt"]);
        assert_eq!(matching_include("tree/sub/c.txt", &includes, true), Some(0));
        assert_eq!(matching_include("tree/sub/b.conf", &includes, true), None);
        assert_eq!(matching_include("tree/a.txt", &includes, false), None);
    }

    #[test]
    fn exclude_unanchored_by_component() {
        let excludes = strings(&["sub"]);
        assert!(is_excluded("tree/sub", &excludes));
        assert!(is_excluded("tree/sub/b.conf", &excludes));
        assert!(!is_excluded("tree/subway", &excludes));
        assert!(!is_excluded("tree/a.txt", &strings(&["ub"])));
        assert!(is_excluded("tree/sub/b.conf", &strings(&["*b.conf"])));
        assert!(is_excluded("tree/sub/c.txt", &strings(&["tree/s*"])));
    }
}
