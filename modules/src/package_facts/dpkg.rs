//! The apt manager's packages: dpkg's database through `dpkg-query`, and each installed
//! version's origin from `apt-cache policy`, as python-apt's cache gives them.

use super::details;
use crate::dispatch::ModuleOptions;
use crate::system::{self, Output};
use crate::{Map, Value};

/// An installed package as python-apt's cache shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Installed {
    /// The package name, with `:ARCH` for a foreign architecture (apt's "pretty" full
    /// name, which keys python-apt's cache).
    name: String,
    version: String,
    arch: String,
    section: String,
}

/// Lists the installed packages sorted as python-apt sorts its cache's keys, with
/// ansible-core's keys in its order.
pub(super) fn apt_packages(options: &ModuleOptions) -> Result<Vec<Map>, String> {
    let locale = system::best_parsable_locale(options);
    let environment: Vec<(&str, &str)> = ["LANG", "LC_ALL", "LC_MESSAGES", "LC_CTYPE", "LANGUAGE"]
        .iter()
        .map(|key| (*key, locale.as_str()))
        .collect();
    let run = |argv: Vec<String>| system::run_with(&argv, options, &environment);

    let dpkg = system::bin_path("dpkg").map_err(|failure| failure.msg)?;
    let native = checked(run(vec![dpkg, "--print-architecture".into()]))?;
    let dpkg_query = system::bin_path("dpkg-query").map_err(|failure| failure.msg)?;
    let listing = checked(run(vec![
        dpkg_query,
        "-W".into(),
        "-f=${db:Status-Abbrev}\t${Package}\t${Architecture}\t${Version}\t${Section}\n".into(),
    ]))?;
    let mut installed = parse_dpkg_listing(&listing, native.trim());
    installed.sort_by(|a, b| a.name.cmp(&b.name));
    installed.dedup_by(|a, b| a.name == b.name);

    let origins = match system::find_program("apt-cache") {
        Some(apt_cache) => {
            let apt_cache = apt_cache.display().to_string();
            let files = checked(run(vec![apt_cache.clone(), "policy".into()]))?;
            let mut argv = vec![apt_cache, "policy".into()];
            argv.extend(installed.iter().map(|package| package.name.clone()));
            let versions = checked(run(argv))?;
            installed_origins(&parse_file_origins(&files), &versions)
        }
        None => Vec::new(),
    };

    let packages = installed
        .into_iter()
        .map(|package| {
            let origin = origins
                .iter()
                .find(|(name, _)| *name == package.name)
                .map_or("", |(_, origin)| origin.as_str());
            details([
                ("name", Value::from(package.name.as_str())),
                ("version", Value::from(package.version.as_str())),
                ("arch", Value::from(package.arch.as_str())),
                ("category", Value::from(package.section.as_str())),
                ("origin", Value::from(origin)),
            ])
        })
        .collect();
    Ok(packages)
}

fn checked(output: Output) -> Result<String, String> {
    if output.rc == 0 {
        Ok(output.stdout)
    } else {
        Err(format!("rc={} : {}", output.rc, output.stderr.trim_end()))
    }
}

/// Reads `dpkg-query` lines `STATUS\tNAME\tARCH\tVERSION\tSECTION` and keeps the packages
/// apt counts as installed: every current state but not-installed (`n`) and
/// config-files (`c`), so half-installed and unpacked packages are in.
fn parse_dpkg_listing(text: &str, native_arch: &str) -> Vec<Installed> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let status = fields.next()?;
            let (name, arch, version) = (fields.next()?, fields.next()?, fields.next()?);
            let section = fields.next().unwrap_or_default();
            if matches!(status.chars().nth(1), None | Some('n' | 'c')) {
                return None;
            }
            let foreign = !arch.is_empty() && arch != "all" && arch != native_arch;
            Some(Installed {
                name: if foreign {
                    format!("{name}:{arch}")
                } else {
                    name.to_string()
                },
                version: version.to_string(),
                arch: arch.to_string(),
                section: section.to_string(),
            })
        })
        .collect()
}

/// Reads the `Package files:` part of `apt-cache policy`: each index file's description
/// (`http://deb.debian.org/debian bookworm/main amd64 Packages`) with the `o=` origin of
/// its release line ("" when it has none, as python-apt reports then).
fn parse_file_origins(text: &str) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with("Pinned packages:") {
            break;
        }
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(release) = trimmed.strip_prefix("release ") {
            if let Some(last) = files.last_mut() {
                last.1 = release_field(release, "o").unwrap_or_default();
            }
        } else if indent == 1 {
            if let Some(description) = file_description(trimmed) {
                files.push((description.to_string(), String::new()));
            }
        }
    }
    files
}

/// Returns `KEY`'s value in a release line (`v=12.5,o=Debian,a=stable,...`). A value
/// may contain commas, so a field ends only where the next `x=` begins.
fn release_field(release: &str, key: &str) -> Option<String> {
    let mut fields: Vec<String> = Vec::new();
    for part in release.split(',') {
        let starts_field = part.len() >= 2
            && part.as_bytes()[1] == b'='
            && part.as_bytes()[0].is_ascii_lowercase();
        match fields.last_mut() {
            Some(last) if !starts_field => {
                last.push(',');
                last.push_str(part);
            }
            _ => fields.push(part.to_string()),
        }
    }
    fields
        .into_iter()
        .find_map(|field| field.strip_prefix(&format!("{key}=")).map(str::to_string))
}

/// Returns the text after the priority of a file line (`500 http://... Packages`).
fn file_description(line: &str) -> Option<&str> {
    let (priority, rest) = line.split_once(' ')?;
    priority.parse::<i64>().ok()?;
    Some(rest.trim())
}

/// Reads `apt-cache policy NAME...` and returns each package's origin: that of the first
/// index file listed under its installed version (`***`), as python-apt's
/// `installed.origins[0]` is.
fn installed_origins(files: &[(String, String)], text: &str) -> Vec<(String, String)> {
    let mut origins = Vec::new();
    let mut package: Option<String> = None;
    let mut in_installed = false;
    for line in text.lines() {
        if !line.starts_with(' ') {
            package = line.strip_suffix(':').map(str::to_string);
            in_installed = false;
            continue;
        }
        let trimmed = line.trim_start();
        if line.starts_with(" *** ") {
            in_installed = true;
            continue;
        }
        if !in_installed {
            continue;
        }
        in_installed = false;
        let (Some(name), Some(description)) = (&package, file_description(trimmed)) else {
            continue;
        };
        let origin = files
            .iter()
            .find(|(file, _)| file == description)
            .map_or("", |(_, origin)| origin.as_str());
        origins.push((name.clone(), origin.to_string()));
    }
    origins
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILES: &str = "Package files:
 100 /var/lib/dpkg/status
     release a=now
 500 http://deb.debian.org/debian bookworm/main amd64 Packages
     release v=12.15,o=Debian,a=oldstable,n=bookworm,l=Debian,c=main,b=amd64
     origin deb.debian.org
Pinned packages:
";
    #[test]
    fn file_origins_from_policy() {
        let files = parse_file_origins(FILES);
        assert_eq!(files.len(), 2);
        assert_eq!(files[0], ("/var/lib/dpkg/status".into(), String::new()));
        assert_eq!(
            files[1],
            (
                "http://deb.debian.org/debian bookworm/main amd64 Packages".into(),
                "Debian".into()
            )
        );
    }

    #[test]
    fn release_field_with_comma() {
        assert_eq!(
            release_field("v=1,o=Acme, Inc.,a=stable", "o").as_deref(),
            Some("Acme, Inc.")
        );
        assert_eq!(release_field("a=now", "o"), None);
    }

    #[test]
    fn installed_origin_is_first_file() {
        let files = parse_file_origins(FILES);
        let policy = "bash:
  Installed: 5.2.15-2+b13
  Candidate: 5.2.15-2+b13
  Version table:
 *** 5.2.15-2+b13 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
        100 /var/lib/dpkg/status
rplay-local:
  Installed: 2.0
  Candidate: 2.0
  Version table:
     3.0 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
 *** 2.0 100
        100 /var/lib/dpkg/status
";
        let origins = installed_origins(&files, policy);
        assert_eq!(
            origins,
            [
                ("bash".to_string(), "Debian".to_string()),
                ("rplay-local".to_string(), String::new())
            ]
        );
    }

    #[test]
    fn dpkg_listing_keeps_installed_states() {
        let listing = "ii \tbash\tamd64\t5.2\tshells
rc \told\tamd64\t1.0\tmisc
iU \tunpacked\tamd64\t1:2.0-1\t
iF \tbroken\tall\t1.0\tmisc
ii \tlibc6\ti386\t2.36\tlibs
un \tgone\t\t\t
";
        let names: Vec<String> = parse_dpkg_listing(listing, "amd64")
            .into_iter()
            .map(|package| package.name)
            .collect();
        assert_eq!(names, ["bash", "unpacked", "broken", "libc6:i386"]);
    }
}
