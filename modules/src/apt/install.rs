//! Installing named packages: the module's `install`, `package_status` and
//! `package_best_match`, with the candidate versions apt-cache computes under the same
//! pins.

use super::{cache, flag, Apt};
use crate::files::Failure;
use crate::system;
use crate::{Map, Value};

/// The request to `install`, with the module's keyword arguments.
pub struct Request<'a> {
    pub packages: &'a [String],
    /// `state: latest`: also upgrade installed packages to their candidate.
    pub upgrade: bool,
    /// Adds `-t RELEASE` to the command line.
    pub default_release: Option<String>,
    pub install_recommends: Option<bool>,
    pub force: bool,
    /// The `-o "Dpkg::Options::=--X"` words.
    pub dpkg_options: String,
    pub build_dep: bool,
    pub fixed: bool,
    pub autoremove: bool,
    pub fail_on_autoremove: bool,
    pub only_upgrade: bool,
    pub allow_unauthenticated: bool,
    pub allow_downgrade: bool,
    pub allow_change_held_packages: bool,
}

impl<'a> Request<'a> {
    /// Builds the request of a task with `state` present, latest, fixed or build-dep.
    pub fn from_state(apt: &Apt, state: &str, packages: &'a [String]) -> Request<'a> {
        let params = apt.params;
        Request {
            packages,
            upgrade: state == "latest",
            default_release: params.string("default_release"),
            install_recommends: params.get("install_recommends").and_then(Value::as_bool),
            force: params.flag("force"),
            dpkg_options: apt.dpkg_options(),
            build_dep: state == "build-dep",
            fixed: state == "fixed",
            autoremove: params.flag("autoremove"),
            fail_on_autoremove: params.flag("fail_on_autoremove"),
            only_upgrade: params.flag("only_upgrade"),
            allow_unauthenticated: params.flag("allow_unauthenticated"),
            allow_downgrade: params.flag("allow_downgrade"),
            allow_change_held_packages: params.flag("allow_change_held_packages"),
        }
    }
}

/// A version apt may install: any (for a virtual package, which apt resolves), or one.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Installable {
    Nothing,
    Any,
    Version(String),
}

/// The module's `package_status` for installing.
struct Status {
    installed: bool,
    /// Installed in a version the spec accepts.
    installed_version: bool,
    installable: Installable,
}

/// Installs what is missing (or outdated, for `latest`) and returns `(success, result)`;
/// `Err` is a failure that ends the module at once, as `fail_json` deep in the module
/// does.
pub fn install(apt: &Apt, request: &Request) -> Result<(bool, Map), Failure> {
    let packages = expand_wildcards(apt, request.packages)?;
    let mut to_install = Vec::new();
    let mut names = Vec::new();
    for package in &packages {
        if request.build_dep {
            to_install.push(format!("'{package}'"));
            continue;
        }
        let (name, operator, version) = split_package(package);
        names.push(name.to_string());
        let status = package_status(apt, name, operator, version, true)?;
        if !status.installed && request.only_upgrade {
            continue;
        }
        if !status.installed_version && status.installable == Installable::Nothing {
            let mut data = Map::new();
            data.insert(
                Value::from("msg"),
                Value::from(format!("no available installation candidate for {package}")),
            );
            return Ok((false, data));
        }
        let wanted = (!status.installed && !request.only_upgrade)
            || request.upgrade
            || !status.installed_version;
        if status.installable != Installable::Nothing && wanted {
            to_install.push(match (&status.installable, version) {
                (Installable::Version(best), _) => format!("'{name}={best}'"),
                (_, Some(version)) => format!("'{name}={version}'"),
                (_, None) => format!("'{name}'"),
            });
        } else if status.installed_version
            && status.installable != Installable::Nothing
            && operator == Some("=")
        {
            // The module's legacy case: installed, and a newer version matches the
            // wildcard spec too.
            to_install.push(format!("'{name}={}'", version.unwrap_or_default()));
        }
    }

    let mut success = true;
    let mut data = Map::new();
    if to_install.is_empty() {
        data.insert(Value::from("changed"), Value::Bool(false));
    } else {
        let line = command_line(apt, request, &to_install.join(" "))?;
        let output = apt.run_with_policy(&line)?;
        let diff = super::output_diff(apt, &output.stdout);
        if output.rc != 0 {
            success = false;
            data.insert(
                Value::from("msg"),
                Value::from(format!("'{line}' failed: {}", output.stderr)),
            );
            data.insert(Value::from("stdout"), Value::from(output.stdout.as_str()));
            data.insert(Value::from("stderr"), Value::from(output.stderr.as_str()));
            data.insert(Value::from("rc"), Value::Int(output.rc));
        } else {
            let changed = !request.build_dep || !output.stdout.contains(super::APT_GET_ZERO);
            data.insert(Value::from("changed"), Value::Bool(changed));
            data.insert(Value::from("stdout"), Value::from(output.stdout.as_str()));
            data.insert(Value::from("stderr"), Value::from(output.stderr.as_str()));
            data.insert(Value::from("diff"), diff);
        }
    }
    if !request.build_dep && !apt.check_mode() {
        mark_manual(apt, &names)?;
    }
    Ok((success, data))
}

/// Builds the `apt-get install` (or `build-dep`) command line slot for slot as the
/// module writes it, so that its failure message names the same command.
fn command_line(apt: &Apt, request: &Request, packages: &str) -> Result<String, Failure> {
    let apt_get = system::bin_path("apt-get")?;
    let dpkg_options = &request.dpkg_options;
    let only_upgrade = flag(request.only_upgrade, "--only-upgrade");
    let fixed = flag(request.fixed, "--fix-broken");
    let force_yes = flag(request.force, "--force-yes");
    let autoremove = flag(request.autoremove, "--auto-remove");
    let fail_on_autoremove = flag(request.fail_on_autoremove, "--no-remove");
    let check_arg = flag(apt.check_mode(), "--simulate");
    let mut line = if request.build_dep {
        format!("{apt_get} -y {dpkg_options} {only_upgrade} {fixed} {force_yes} {fail_on_autoremove} {check_arg} build-dep {packages}")
    } else {
        format!("{apt_get} -y {dpkg_options} {only_upgrade} {fixed} {force_yes} {autoremove} {fail_on_autoremove} {check_arg} install {packages}")
    };
    if let Some(release) = request.default_release.as_deref().filter(|r| !r.is_empty()) {
        line.push_str(&format!(" -t '{release}'"));
    }
    match request.install_recommends {
        Some(false) => line.push_str(" -o APT::Install-Recommends=no"),
        Some(true) => line.push_str(" -o APT::Install-Recommends=yes"),
        None => {}
    }
    for (on, option) in [
        (request.allow_unauthenticated, " --allow-unauthenticated"),
        (request.allow_downgrade, " --allow-downgrades"),
        (
            request.allow_change_held_packages,
            " --allow-change-held-packages",
        ),
    ] {
        if on {
            line.push_str(option);
        }
    }
    Ok(line)
}

/// `package_split`: `NAME`, `NAME=VERSION` or `NAME>=VERSION`.
fn split_package(package: &str) -> (&str, Option<&str>, Option<&str>) {
    let (name, rest) = super::split_spec(package);
    match rest.strip_prefix(">=") {
        Some(version) => (name, Some(">="), Some(version)),
        None => match rest.strip_prefix('=') {
            Some(version) => (name, Some("="), Some(version)),
            None => (name, None, None),
        },
    }
}

/// The module's `package_status` for `state=install`: whether the package is installed,
/// in an accepted version, and the version apt would install. A name apt does not know
/// may be virtual: with one installed provider its status is the provider's, with other
/// providers apt resolves it, and with none the module fails.
fn package_status(
    apt: &Apt,
    name: &str,
    operator: Option<&str>,
    version: Option<&str>,
    install: bool,
) -> Result<Status, Failure> {
    let policy = cache::policy(apt, name, &[])?;
    if !policy.as_ref().is_some_and(cache::Policy::is_real) {
        if !install {
            return Ok(Status {
                installed: false,
                installed_version: false,
                installable: Installable::Nothing,
            });
        }
        let providers = cache::providers(apt, name)?;
        if providers.is_empty() {
            return Err(Failure::new(format!(
                "No package matching '{name}' is available"
            )));
        }
        let is_virtual = policy.is_some();
        if is_virtual && providers.len() == 1 {
            let status = package_status(apt, &providers[0], operator, version, install)?;
            if status.installed {
                return Ok(status);
            }
        }
        return Ok(Status {
            installed: false,
            installed_version: false,
            installable: Installable::Any,
        });
    }

    let best = best_match(apt, name, operator, version)?;
    let current = cache::dpkg_package(apt, name).filter(cache::DpkgPackage::is_installed);
    let Some(current) = current else {
        return Ok(Status {
            installed: false,
            installed_version: false,
            installable: best.map_or(Installable::Nothing, Installable::Version),
        });
    };
    let installed = current.version;
    let newer = best.filter(|best| *best != installed);
    let (installed_version, installable) = match (operator, version) {
        (Some("="), Some(version)) => (
            crate::find::fnmatch(version, &installed),
            newer.filter(|best| crate::find::fnmatch(version, best)),
        ),
        (Some(">="), Some(version)) => (
            super::version::satisfies(&installed, ">=", version),
            newer.filter(|best| super::version::satisfies(best, ">=", version)),
        ),
        _ => (true, newer),
    };
    Ok(Status {
        installed: true,
        installed_version,
        installable: installable.map_or(Installable::Nothing, Installable::Version),
    })
}

/// `package_best_match`: the candidate apt-cache reports under the host's pins, with
/// the default release pinned at 990 and, for `NAME=VERSION`, that version pinned at
/// 1001; `None` when that candidate does not match the version.
fn best_match(
    apt: &Apt,
    name: &str,
    operator: Option<&str>,
    version: Option<&str>,
) -> Result<Option<String>, Failure> {
    let pinned = match (operator, version) {
        (Some("="), Some(version)) => Some(PinFile::create(name, version)?),
        _ => None,
    };
    let options = pinned
        .as_ref()
        .map(|pin| {
            vec![
                "-o".to_string(),
                format!("Dir::Etc::Preferences={}", pin.0.display()),
            ]
        })
        .unwrap_or_default();
    let candidate = cache::policy(apt, name, &options)?.and_then(|policy| policy.candidate);
    Ok(match (operator, version) {
        (Some("="), Some(version)) => {
            candidate.filter(|candidate| crate::find::fnmatch(version, candidate))
        }
        _ => candidate,
    })
}

/// A copy of `/etc/apt/preferences` with a version pin for one package appended, as
/// the module's `policy.create_pin('Version', name, version, 1001)` adds one; removed
/// when dropped.
///
/// NOTE: the host's preferences file is read from its default path, whatever
/// `Dir::Etc::Preferences` is set to.
struct PinFile(std::path::PathBuf);

impl PinFile {
    fn create(name: &str, version: &str) -> Result<PinFile, Failure> {
        let mut text = std::fs::read_to_string("/etc/apt/preferences").unwrap_or_default();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!(
            "\nPackage: {name}\nPin: version {version}\nPin-Priority: 1001\n"
        ));
        let path =
            std::env::temp_dir().join(format!("rplay-apt-pin-{}", crate::files::random_name(8)));
        std::fs::write(&path, text).map_err(|err| {
            Failure::new(format!(
                "failed to write {}: {}",
                path.display(),
                crate::files::os_error(&err)
            ))
        })?;
        Ok(PinFile(path))
    }
}

impl Drop for PinFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `apt-mark manual` on the requested packages, as the module does after every install
/// outside check mode; a missing apt-mark only warns.
fn mark_manual(apt: &Apt, names: &[String]) -> Result<(), Failure> {
    if names.is_empty() {
        return Ok(());
    }
    let Some(apt_mark) = system::find_program("apt-mark") else {
        apt.warn("Could not find apt-mark binary, not marking package(s) as manually installed.");
        return Ok(());
    };
    let line = format!("{} manual {}", apt_mark.display(), names.join(" "));
    let output = apt.run_line(&line);
    if output.rc != 0 {
        return Err(Failure::new(format!("'{line}' failed: {}", output.stderr))
            .with("stdout", output.stdout.as_str())
            .with("stderr", output.stderr.as_str())
            .with("rc", Value::Int(output.rc)));
    }
    Ok(())
}

/// Expands shell patterns in package names against the names in apt's cache, as the
/// module does with fnmatch. A pattern without `:` selects native packages only.
pub fn expand_wildcards(apt: &Apt, packages: &[String]) -> Result<Vec<String>, Failure> {
    let mut expanded = Vec::new();
    let mut known: Option<Vec<String>> = None;
    for package in packages {
        let (name, rest) = super::split_spec(package);
        if !name.contains(['*', '?', '[', ']', '!']) {
            expanded.push(package.clone());
            continue;
        }
        let names = match &known {
            Some(names) => names,
            None => known.insert(known_packages(apt)?),
        };
        let matches: Vec<&String> = names
            .iter()
            .filter(|candidate| name.contains(':') || !candidate.contains(':'))
            .filter(|candidate| crate::find::fnmatch(name, candidate))
            .collect();
        if matches.is_empty() {
            return Err(Failure::new(format!(
                "No package(s) matching '{name}' available"
            )));
        }
        expanded.extend(
            matches
                .into_iter()
                .map(|matched| format!("{matched}{rest}")),
        );
    }
    Ok(expanded)
}

/// Lists every package name in apt's cache and dpkg's database, sorted.
fn known_packages(apt: &Apt) -> Result<Vec<String>, Failure> {
    let apt_cache = system::bin_path("apt-cache")?;
    let output = apt.run(vec![apt_cache, "pkgnames".into()]);
    let mut names: Vec<String> = output.stdout.lines().map(str::to_string).collect();
    names.extend(
        cache::dpkg_packages(apt, &[])
            .into_iter()
            .map(|package| package.name),
    );
    names.sort();
    names.dedup();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_specs_split() {
        assert_eq!(split_package("curl"), ("curl", None, None));
        assert_eq!(split_package("curl=7.*"), ("curl", Some("="), Some("7.*")));
        assert_eq!(
            split_package("curl>=7.0"),
            ("curl", Some(">="), Some("7.0"))
        );
    }
}
