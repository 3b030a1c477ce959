//! The `package_facts` module: the installed packages as `ansible_facts.packages`, after
//! ansible-core 2.18's. rplay reads the `apt` manager's packages from dpkg's database
//! (`dpkg-query`) and their origins from `apt-cache policy`, where ansible-core asks
//! python-apt. The other managers (rpm, pacman, pkg, portage, apk, pkg_info) are looked
//! for as ansible-core looks for them, but rplay cannot list their packages.

use crate::dispatch::ModuleOptions;
use crate::spec::{Default, Elements, Kind, ModuleSpec, OptionSpec, Params};
use crate::system::{self, Output};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "package_facts",
    &[
        OptionSpec::new("manager", Kind::List(Elements::Str)).default(Default::StrList(&["auto"])),
        OptionSpec::new("strategy", Kind::Str)
            .choices(&["first", "all"])
            .default(Default::Str("first")),
    ],
);

/// The package managers in the order `auto` tries them. ansible-core builds its list
/// from a set of classes, so its order changes from run to run; this is the order the
/// classes are defined in.
const MANAGERS: &[Manager] = &[
    Manager::Library("rpm", &["rpm"]),
    Manager::Library("apt", &["apt", "apt-get", "aptitude"]),
    Manager::Program("pacman", "pacman"),
    Manager::Program("pkg", "pkg"),
    Manager::Program("portage", "qlist"),
    Manager::Program("apk", "apk"),
    Manager::Program("pkg_info", "pkg_info"),
];

/// Other names of managers, which `auto` appends after the managers themselves.
const ALIASES: &[(&str, &str)] = &[
    ("dnf", "rpm"),
    ("dnf5", "rpm"),
    ("yum", "rpm"),
    ("zypper", "rpm"),
    ("pkg5", "pkg"),
    ("pkgng", "pkg"),
    ("openbsd_pkg", "pkg_info"),
];

/// How ansible-core finds a package manager.
#[derive(Clone, Copy)]
enum Manager {
    /// Through a Python library, when one of these programs shows the manager is there.
    Library(&'static str, &'static [&'static str]),
    /// Through its command-line program.
    Program(&'static str, &'static str),
}

impl Manager {
    fn name(self) -> &'static str {
        match self {
            Manager::Library(name, _) | Manager::Program(name, _) => name,
        }
    }

    /// Returns the message of ansible-core's exception when the manager is not usable.
    fn unusable_reason(self) -> Option<String> {
        match self {
            Manager::Library(name, programs) => {
                // ansible-core then imports the library, or respawns under a Python
                // that has it; rplay reads the manager's database itself.
                let found = programs
                    .iter()
                    .any(|program| system::find_program(program).is_some());
                (!found).then(|| missing_python_library(name))
            }
            Manager::Program(_, program) => {
                system::bin_path(program).err().map(|failure| failure.msg)
            }
        }
    }
}

/// ansible-core's `missing_required_lib` message. The module names the Python it runs
/// under, which rplay does not have.
///
/// NOTE: rplay names the `python3` on `PATH`, else `/usr/bin/python3`, where
/// ansible-core names its own interpreter.
fn missing_python_library(library: &str) -> String {
    let host = crate::facts::node_name();
    let python = system::find_program("python3").map_or_else(
        || "/usr/bin/python3".to_string(),
        |path| path.display().to_string(),
    );
    format!(
        "Failed to import the required Python library ({library}) on {host}'s Python {python}. Please read the module documentation and install it in the appropriate location. If the required library is installed, but Ansible is using the wrong Python interpreter, please consult the documentation on ansible_python_interpreter"
    )
}

fn manager_names() -> impl Iterator<Item = &'static str> {
    MANAGERS
        .iter()
        .map(|manager| manager.name())
        .chain(ALIASES.iter().map(|(alias, _)| *alias))
}

fn manager_named(name: &str) -> Option<Manager> {
    let name = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, manager)| manager);
    MANAGERS
        .iter()
        .copied()
        .find(|manager| manager.name() == name)
}

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    let requested = params.strings("manager");
    let first_only = params.str("strategy") != Some("all");
    let mut managers: Vec<String> = requested.iter().map(|name| name.to_lowercase()).collect();
    if let Some(at) = managers.iter().position(|name| name == "auto") {
        managers.extend(manager_names().map(str::to_string));
        managers.remove(at);
    }

    let mut warnings = Vec::new();
    let mut unsupported: Vec<&str> = Vec::new();
    for name in &managers {
        if manager_named(name).is_none() && !unsupported.contains(&name.as_str()) {
            unsupported.push(name);
        }
    }
    if !unsupported.is_empty() {
        let msg = if requested.iter().any(|name| name == "auto") {
            "Could not auto detect a usable package manager, check warnings for details."
                .to_string()
        } else {
            format!(
                "Unsupported package managers requested: {}",
                unsupported.join(", ")
            )
        };
        return failure(msg, &warnings);
    }

    let mut found = 0;
    let mut seen = Vec::new();
    let mut packages = Map::new();
    for name in &managers {
        if first_only && found > 0 {
            break;
        }
        let Some(manager) = manager_named(name) else {
            continue;
        };
        if seen.contains(&manager.name()) {
            continue;
        }
        seen.push(manager.name());
        if let Some(reason) = manager.unusable_reason() {
            if requested
                .iter()
                .any(|requested| requested == manager.name())
            {
                warnings.push(format!(
                    "Requested package manager {} was not usable by this module: {reason}",
                    manager.name()
                ));
            }
            continue;
        }
        if manager.name() != "apt" {
            // NOTE: ansible-core lists these managers' packages; rplay reads only dpkg's.
            return failure(
                format!(
                    "rplay's package_facts cannot list the packages of {} yet",
                    manager.name()
                ),
                &warnings,
            );
        }
        found += 1;
        match apt_packages(options) {
            Ok(listed) => packages.extend(listed),
            Err(error) => warnings.push(format!(
                "Failed to retrieve packages with {}: {error}",
                manager.name()
            )),
        }
    }
    if found == 0 {
        let listed: Vec<Value> = managers
            .iter()
            .map(|name| Value::from(name.as_str()))
            .collect();
        return failure(
            format!(
                "Could not detect a supported package manager from the following list: {}, or the required Python library is not installed. Check warnings for details.",
                crate::pyrepr::repr(&Value::list(listed))
            ),
            &warnings,
        );
    }

    let mut facts = Map::new();
    facts.insert(Value::from("packages"), Value::map(packages));
    let mut result = Map::new();
    result.insert(Value::from("ansible_facts"), Value::map(facts));
    add_warnings(&mut result, &warnings);
    result
}

fn failure(msg: String, warnings: &[String]) -> Map {
    let mut result = Map::new();
    result.insert(Value::from("failed"), Value::Bool(true));
    result.insert(Value::from("msg"), Value::from(msg));
    add_warnings(&mut result, warnings);
    result
}

fn add_warnings(result: &mut Map, warnings: &[String]) {
    if !warnings.is_empty() {
        let warnings = warnings
            .iter()
            .map(|text| Value::from(text.as_str()))
            .collect();
        result.insert(Value::from("warnings"), Value::list(warnings));
    }
}

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

/// Lists the installed packages by name, sorted as python-apt sorts its cache's keys,
/// each a one-item list in ansible-core's key order.
fn apt_packages(options: &ModuleOptions) -> Result<Map, String> {
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

    let mut packages = Map::new();
    for package in installed {
        let origin = origins
            .iter()
            .find(|(name, _)| *name == package.name)
            .map_or("", |(_, origin)| origin.as_str());
        let mut details = Map::new();
        details.insert(Value::from("name"), Value::from(package.name.as_str()));
        details.insert(
            Value::from("version"),
            Value::from(package.version.as_str()),
        );
        details.insert(Value::from("arch"), Value::from(package.arch.as_str()));
        details.insert(
            Value::from("category"),
            Value::from(package.section.as_str()),
        );
        details.insert(Value::from("origin"), Value::from(origin));
        details.insert(Value::from("source"), Value::from("apt"));
        packages.insert(
            Value::from(package.name.as_str()),
            Value::list(vec![Value::map(details)]),
        );
    }
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
