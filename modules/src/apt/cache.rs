//! The package data the apt module reads from python-apt's cache, taken from dpkg's
//! database (`dpkg-query`) and from `apt-cache`.

use super::Apt;
use crate::files::Failure;
use crate::system;

/// A package in dpkg's database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DpkgPackage {
    pub name: String,
    pub arch: String,
    pub version: String,
    /// `db:Status-Abbrev`: the selection, the current state and the error flag.
    pub status: String,
    pub provides: String,
    pub depends: String,
    pub pre_depends: String,
    pub conflicts: String,
}

impl DpkgPackage {
    /// Whether apt has a current version for it: every state but not-installed and
    /// config-files (python-apt's `is_installed`).
    pub fn is_current(&self) -> bool {
        !matches!(self.status.chars().nth(1), None | Some('n' | 'c'))
    }

    /// Returns whether it is fully installed (`CURSTATE_INSTALLED`), as the module tests it.
    pub fn is_installed(&self) -> bool {
        self.status.chars().nth(1) == Some('i')
    }
}

const DPKG_FIELDS: &str = "-f=${db:Status-Abbrev}\t${Package}\t${Architecture}\t${Version}\t${Provides}\t${Depends}\t${Pre-Depends}\t${Conflicts}\n";

/// Lists every package in dpkg's database, or those named.
pub fn dpkg_packages(apt: &Apt, names: &[&str]) -> Vec<DpkgPackage> {
    let Some(dpkg_query) = system::find_program("dpkg-query") else {
        return Vec::new();
    };
    let mut argv = vec![
        dpkg_query.display().to_string(),
        "-W".into(),
        DPKG_FIELDS.into(),
    ];
    argv.extend(names.iter().map(|name| name.to_string()));
    let output = apt.run(argv);
    output
        .stdout
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let field = |at: usize| fields.get(at).copied().unwrap_or_default().to_string();
            (fields.len() >= 4).then(|| DpkgPackage {
                status: field(0).trim().to_string(),
                name: field(1),
                arch: field(2),
                version: field(3),
                provides: field(4),
                depends: field(5),
                pre_depends: field(6),
                conflicts: field(7),
            })
        })
        .collect()
}

/// Finds the package dpkg has under `name` for the native architecture, if any.
pub fn dpkg_package(apt: &Apt, name: &str) -> Option<DpkgPackage> {
    let mut found = dpkg_packages(apt, &[name]);
    let native = found
        .iter()
        .position(|package| package.arch == "all" || package.arch == apt.native_arch());
    match native {
        Some(at) => Some(found.swap_remove(at)),
        None => found.into_iter().next(),
    }
}

/// A package as `apt-cache policy` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub installed: Option<String>,
    pub candidate: Option<String>,
    /// The versions of its version table, newest first.
    pub versions: Vec<String>,
}

impl Policy {
    /// Returns whether the package has versions (python-apt's "real" package). A virtual
    /// one has none.
    pub fn is_real(&self) -> bool {
        !self.versions.is_empty()
    }
}

/// Runs `apt-cache [OPTIONS] policy NAME...` and returns the packages in apt's cache, by
/// the name of their block. `options` come before the command (`-o KEY=VALUE`).
pub fn policies(
    apt: &Apt,
    names: &[String],
    options: &[String],
) -> Result<Vec<(String, Policy)>, Failure> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut argv = vec![system::bin_path("apt-cache")?];
    argv.extend(apt.release_options());
    argv.extend(options.iter().cloned());
    argv.push("policy".into());
    argv.extend(names.iter().cloned());
    let output = apt.run(argv);
    if output.rc != 0 {
        return Err(Failure::new(output.stderr.trim_end().to_string())
            .with("rc", crate::Value::Int(output.rc)));
    }
    Ok(parse_policies(&output.stdout))
}

/// Returns one package's [`policies`], or `None` when apt's cache does not have it.
pub fn policy(apt: &Apt, name: &str, options: &[String]) -> Result<Option<Policy>, Failure> {
    let found = policies(apt, &[name.to_string()], options)?;
    Ok(found.into_iter().next().map(|(_, policy)| policy))
}

fn parse_policies(text: &str) -> Vec<(String, Policy)> {
    let mut found: Vec<(String, Policy)> = Vec::new();
    for line in text.lines() {
        if !line.starts_with(' ') {
            if let Some(name) = line.strip_suffix(':') {
                found.push((name.to_string(), Policy::default()));
            }
            continue;
        }
        let Some((_, policy)) = found.last_mut() else {
            continue;
        };
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let named = |text: &str| Some(text.trim().to_string()).filter(|value| value != "(none)");
        if let Some(version) = trimmed.strip_prefix("Installed:") {
            policy.installed = named(version);
        } else if let Some(version) = trimmed.strip_prefix("Candidate:") {
            policy.candidate = named(version);
        } else if let Some(entry) = trimmed.strip_prefix("*** ") {
            policy
                .versions
                .extend(entry.split_whitespace().next().map(str::to_string));
        } else if indent == 5 && trimmed != "Version table:" {
            policy
                .versions
                .extend(trimmed.split_whitespace().next().map(str::to_string));
        }
    }
    found
}

/// The packages whose candidate version provides `name` (python-apt's
/// `get_providing_packages`), from the `Reverse Provides` of `apt-cache showpkg`.
pub fn providers(apt: &Apt, name: &str) -> Result<Vec<String>, Failure> {
    let mut argv = vec![system::bin_path("apt-cache")?];
    argv.extend(apt.release_options());
    argv.extend(["showpkg".to_string(), name.to_string()]);
    let output = apt.run(argv);

    let mut offered: Vec<(String, String)> = Vec::new();
    let mut in_section = false;
    for line in output.stdout.lines() {
        if line.starts_with("Reverse Provides:") {
            in_section = true;
            continue;
        }
        if !in_section {
            continue;
        }
        let mut words = line.split_whitespace();
        if let (Some(package), Some(version)) = (words.next(), words.next()) {
            offered.push((package.to_string(), version.to_string()));
        }
    }

    let names: Vec<String> = offered.iter().map(|(package, _)| package.clone()).collect();
    let candidates = policies(apt, &names, &[])?;
    let mut providers: Vec<String> = Vec::new();
    for (package, version) in offered {
        let is_candidate = candidates.iter().any(|(known, policy)| {
            *known == package && policy.candidate.as_deref() == Some(version.as_str())
        });
        if is_candidate && !providers.contains(&package) {
            providers.push(package);
        }
    }
    Ok(providers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_policy_blocks() {
        let text = "rplay-tool:
  Installed: 1.0
  Candidate: 2.0
  Version table:
     2.0 500
        500 file:/srv/rplay/repo/testing ./ Packages
 *** 1.0 990
        990 file:/srv/rplay/repo/stable ./ Packages
        100 /var/lib/dpkg/status
mail-transport-agent:
  Installed: (none)
  Candidate: (none)
  Version table:
";
        let found = parse_policies(text);
        assert_eq!(found.len(), 2);
        let (name, tool) = &found[0];
        assert_eq!(name, "rplay-tool");
        assert_eq!(tool.installed.as_deref(), Some("1.0"));
        assert_eq!(tool.candidate.as_deref(), Some("2.0"));
        assert_eq!(tool.versions, ["2.0", "1.0"]);
        assert!(!found[1].1.is_real());
        assert_eq!(found[1].1.candidate, None);
    }
}
