//! `deb=`: installing package files, after the module's `install_deb` and python-apt's
//! `DebPackage.check`. Each file is checked against the installed packages (version,
//! architecture, conflicts, packages it would break, dependencies), its missing
//! dependencies are installed with apt-get, then the files with `dpkg -i`.

use std::io::Write;

use super::cache::{self, DpkgPackage, Policy};
use super::version::{self, Relation};
use super::{install, Apt};
use crate::files::Failure;
use crate::{Map, Value};

/// Installs the comma-separated package files `debs` (or the one file at a URL) and
/// returns the module's result.
pub fn install_debs(apt: &Apt, debs: &str) -> Result<Map, Failure> {
    // The download lives in the module's temporary directory, removed at the end.
    let mut _download = None;
    let mut debs = debs.to_string();
    if debs.contains("://") {
        let (directory, path) = fetch_file(apt, &debs)?;
        _download = Some(directory);
        debs = path;
    }
    let params = apt.params;
    let mut dependencies = Vec::new();
    let mut files = Vec::new();
    for file in debs.split(',') {
        let Some(missing) = check_file(apt, file)? else {
            continue;
        };
        dependencies.extend(missing);
        files.push(file.to_string());
    }

    let mut retvals = Map::new();
    let mut changed = false;
    if !dependencies.is_empty() {
        let request = install::Request {
            packages: &dependencies,
            upgrade: false,
            default_release: None,
            install_recommends: params.get("install_recommends").and_then(Value::as_bool),
            force: false,
            dpkg_options: apt.dpkg_options(),
            build_dep: false,
            fixed: false,
            autoremove: false,
            fail_on_autoremove: params.flag("fail_on_autoremove"),
            only_upgrade: false,
            allow_unauthenticated: params.flag("allow_unauthenticated"),
            allow_downgrade: params.flag("allow_downgrade"),
            allow_change_held_packages: params.flag("allow_change_held_packages"),
        };
        let (success, data) = install::install(apt, &request)?;
        if !success {
            let mut failed = data;
            failed.insert(Value::from("failed"), Value::Bool(true));
            return Ok(failed);
        }
        changed = data.get("changed").is_some_and(Value::is_truthy);
        retvals = data;
    }

    let text = |key: &str| retvals.get(key).map(crate::pyrepr::str);
    let mut result = Map::new();
    if files.is_empty() {
        result.insert(Value::from("changed"), Value::Bool(changed));
        result.insert(
            Value::from("stdout"),
            Value::from(text("stdout").unwrap_or_default()),
        );
        result.insert(
            Value::from("stderr"),
            Value::from(text("stderr").unwrap_or_default()),
        );
        let diff = retvals
            .get("diff")
            .cloned()
            .unwrap_or_else(|| Value::from(""));
        result.insert(Value::from("diff"), diff);
        return Ok(result);
    }

    let mut options: Vec<String> = params
        .string("dpkg_options")
        .unwrap_or_default()
        .split(',')
        .map(|option| format!("--{option}"))
        .collect();
    if apt.check_mode() {
        options.push("--simulate".into());
    }
    if params.flag("force") {
        options.push("--force-all".into());
    }
    let line = format!("dpkg {} -i {}", options.join(" "), files.join(" "));
    let output = apt.run_with_policy(&line)?;
    let stdout = text("stdout").unwrap_or_default() + &output.stdout;
    let stderr = text("stderr").unwrap_or_default() + &output.stderr;
    // The module parses dpkg's output into the diff also outside diff mode.
    let diff = match retvals.get("diff") {
        Some(Value::Map(diff)) if diff.contains_key("prepared") => {
            let mut diff = (**diff).clone();
            let prepared = diff
                .get("prepared")
                .map(crate::pyrepr::str)
                .unwrap_or_default();
            diff.insert(
                Value::from("prepared"),
                Value::from(format!("{prepared}\n\n{}", output.stdout)),
            );
            Value::map(diff)
        }
        Some(diff) => diff.clone(),
        None => super::parse_diff(&output.stdout),
    };
    if output.rc != 0 {
        return Err(Failure::new(format!("{line} failed"))
            .with("stdout", stdout)
            .with("stderr", stderr));
    }
    result.insert(Value::from("changed"), Value::Bool(true));
    result.insert(Value::from("stdout"), Value::from(stdout));
    result.insert(Value::from("stderr"), Value::from(stderr));
    result.insert(Value::from("diff"), diff);
    Ok(result)
}

/// Checks one package file and returns the packages apt must install first, or `None`
/// when its version is installed already. It fails as the module does when the file
/// cannot be installed.
fn check_file(apt: &Apt, file: &str) -> Result<Option<Vec<String>>, Failure> {
    let control = read_control(apt, file)
        .map_err(|error| Failure::new(format!("Unable to install package: {error}")))?;
    let field = |name: &str| control_field(&control, name).unwrap_or_default();
    let (name, deb_version) = (field("Package"), field("Version"));
    let foreign = foreign_architectures(apt);
    let key = if foreign.is_empty() {
        name.clone()
    } else {
        format!("{name}:{}", field("Architecture"))
    };
    let installed = cache::dpkg_packages(apt, &[]);
    let mut check = DebCheck::new(apt, &control, installed, foreign)?;
    if let Some(current) = check.current_version(&key) {
        if version::compare(&deb_version, &current).is_eq() {
            return Ok(None);
        }
    }
    if !check.check() {
        let params = apt.params;
        let downgrade = check.failure.contains("later version") && params.flag("allow_downgrade");
        if !params.flag("force") && !downgrade {
            return Err(Failure::new(check.failure));
        }
    }
    let mut missing = check.need;
    if apt.params.flag("install_recommends") {
        missing.extend(field("Recommends").split_whitespace().map(str::to_string));
    }
    Ok(Some(missing))
}

type Control = Vec<(String, String)>;

fn control_field(control: &Control, name: &str) -> Option<String> {
    control
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.clone())
}

/// Reads the control fields of a package file with `dpkg-deb -f`. A file that cannot
/// be opened gets python-apt's message.
///
/// NOTE: for a file that is not a package, the message is dpkg-deb's, not python-apt's.
fn read_control(apt: &Apt, file: &str) -> Result<Control, String> {
    if let Err(err) = std::fs::File::open(file) {
        let code = err.raw_os_error().unwrap_or(0);
        return Err(format!(
            "E:Could not open file {file} - open ({code}: {})",
            crate::files::strerror(&err)
        ));
    }
    let dpkg_deb = crate::system::bin_path("dpkg-deb").map_err(|failure| failure.msg)?;
    let output = apt.run(vec![dpkg_deb, "-f".into(), file.into()]);
    if output.rc != 0 {
        return Err(output.stderr.trim_end().to_string());
    }
    let mut control: Control = Vec::new();
    for line in output.stdout.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = control.last_mut() {
                value.push('\n');
                value.push_str(line);
            }
        } else if let Some((key, value)) = line.split_once(':') {
            control.push((key.to_string(), value.trim().to_string()));
        }
    }
    Ok(control)
}

/// Lists the architectures dpkg accepts besides the native one.
fn foreign_architectures(apt: &Apt) -> Vec<String> {
    let Some(dpkg) = crate::system::find_program("dpkg") else {
        return Vec::new();
    };
    let output = apt.run(vec![
        dpkg.display().to_string(),
        "--print-foreign-architectures".into(),
    ]);
    output
        .stdout
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// python-apt's `DebPackage.check` for one file, on dpkg's database and apt-cache.
struct DebCheck<'a> {
    apt: &'a Apt<'a>,
    control: &'a Control,
    /// The package's name, with `:ARCH` for a foreign architecture.
    pkgname: String,
    /// The foreign architecture of the file, if it has one.
    multiarch: Option<String>,
    foreign: Vec<String>,
    installed: Vec<DpkgPackage>,
    /// apt-cache's view of the names the file's relations mention.
    policies: Vec<(String, Policy)>,
    /// The packages apt must install, as python-apt marks them.
    need: Vec<String>,
    conflicts: Vec<String>,
    failure: String,
}

impl<'a> DebCheck<'a> {
    fn new(
        apt: &'a Apt<'a>,
        control: &'a Control,
        installed: Vec<DpkgPackage>,
        foreign: Vec<String>,
    ) -> Result<DebCheck<'a>, Failure> {
        let mut names: Vec<String> = Vec::new();
        for field in ["Depends", "Pre-Depends", "Conflicts"] {
            for group in
                version::parse_relations(&control_field(control, field).unwrap_or_default())
            {
                for relation in group {
                    if !names.iter().any(|name| name == relation.package()) {
                        names.push(relation.package().to_string());
                    }
                }
            }
        }
        let policies = cache::policies(apt, &names, &[])?;
        Ok(DebCheck {
            apt,
            control,
            pkgname: control_field(control, "Package").unwrap_or_default(),
            multiarch: None,
            foreign,
            installed,
            policies,
            need: Vec::new(),
            conflicts: Vec::new(),
            failure: String::new(),
        })
    }

    fn field(&self, name: &str) -> String {
        control_field(self.control, name).unwrap_or_default()
    }

    fn relations(&self, field: &str) -> Vec<Vec<Relation>> {
        version::parse_relations(&self.field(field))
    }

    /// Finds the installed package `name` (`NAME` or `NAME:ARCH`). The `all` and the
    /// native architecture are the same package to apt.
    fn current(&self, name: &str) -> Option<&DpkgPackage> {
        let native = self.apt.native_arch();
        let (name, arch) = match name.split_once(':') {
            Some((name, arch)) if arch != "any" => (name, Some(arch)),
            Some((name, _)) => (name, None),
            None => (name, None),
        };
        let same_arch = |package_arch: &str| match arch {
            None | Some("all") => package_arch == native || package_arch == "all",
            Some(arch) if arch == native => package_arch == native || package_arch == "all",
            Some(arch) => package_arch == arch,
        };
        self.installed.iter().find(|package| {
            package.name == name && package.is_current() && same_arch(&package.arch)
        })
    }

    fn current_version(&self, name: &str) -> Option<String> {
        self.current(name).map(|package| package.version.clone())
    }

    fn policy(&self, name: &str) -> Option<&Policy> {
        let name = name.split(':').next().unwrap_or_default();
        self.policies
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, policy)| policy)
    }

    /// Returns python-apt's `name in cache`: the package is in apt's cache, with versions.
    fn is_real(&self, name: &str) -> bool {
        self.policy(name).is_some_and(Policy::is_real)
    }

    /// Lists the packages whose candidate provides the virtual package `name`. The list
    /// is empty for a real or unknown package, for which `is_virtual_package` is false.
    fn virtual_providers(&self, name: &str) -> Vec<String> {
        if self.policy(name).is_none_or(Policy::is_real) {
            return Vec::new();
        }
        cache::providers(self.apt, name).unwrap_or_default()
    }

    /// Lists the installed packages whose `Provides` names `name`.
    ///
    /// NOTE: python-apt looks for the candidate versions that provide it, and rplay
    /// reads the installed versions' `Provides`.
    fn installed_providers(&self, name: &str) -> Vec<&DpkgPackage> {
        self.installed
            .iter()
            .filter(|package| package.is_current())
            .filter(|package| {
                version::parse_relations(&package.provides)
                    .iter()
                    .flatten()
                    .any(|provided| provided.package() == name)
            })
            .collect()
    }

    /// `_maybe_append_multiarch_suffix`, for a file of a foreign architecture.
    ///
    /// NOTE: python-apt also leaves the name alone for `Multi-Arch: foreign` and
    /// architecture-independent candidates; rplay only for virtual packages.
    fn with_multiarch(&self, name: &str) -> String {
        match &self.multiarch {
            Some(arch) if !name.contains(':') && self.virtual_providers(name).is_empty() => {
                format!("{name}:{arch}")
            }
            _ => name.to_string(),
        }
    }

    fn check(&mut self) -> bool {
        let Some(arch) = control_field(self.control, "Architecture") else {
            self.failure = "No Architecture field in the package".into();
            return false;
        };
        if arch != "all" && arch != self.apt.native_arch() {
            if self.foreign.contains(&arch) {
                self.pkgname = format!("{}:{arch}", self.pkgname);
                self.multiarch = Some(arch.clone());
            } else {
                self.failure = format!(
                    "Wrong architecture '{arch}' -- Run dpkg --add-architecture to add it and update afterwards"
                );
                return false;
            }
        }
        if self.installed_is_newer(&arch) && self.current(&self.pkgname).is_some() {
            self.failure = "A later version is already installed".into();
            return false;
        }
        self.failure.clear();
        self.check_conflicts()
            && self.check_breaks_existing_packages()
            && self.satisfy_depends()
            && self.check_conflicts()
    }

    /// `compare_to_version_in_cache() == VERSION_OUTDATED`.
    fn installed_is_newer(&self, arch: &str) -> bool {
        let key = format!("{}:{arch}", self.field("Package"));
        self.current_version(&key)
            .is_some_and(|installed| version::compare(&installed, &self.field("Version")).is_gt())
    }

    fn check_conflicts(&mut self) -> bool {
        let mut ok = true;
        for group in self.relations("Conflicts") {
            for relation in &group {
                let name = self.with_multiarch(&relation.name);
                if !self.is_real(&name) {
                    for provider in self.virtual_providers(&name) {
                        if provider != self.pkgname && self.single_conflict(&provider, relation) {
                            self.conflicts.push(provider);
                        }
                    }
                    continue;
                }
                if self.single_conflict(&name, relation) {
                    self.conflicts.push(name);
                }
            }
            if !self.conflicts.is_empty() {
                ok = false;
            }
        }
        ok
    }

    /// The version of `name` that is installed, or that apt will install for this file.
    fn present_version(&self, name: &str) -> Option<String> {
        self.current_version(name).or_else(|| {
            self.need
                .iter()
                .any(|needed| needed == name)
                .then(|| {
                    self.policy(name)
                        .and_then(|policy| policy.candidate.clone())
                })
                .flatten()
        })
    }

    fn single_conflict(&mut self, name: &str, relation: &Relation) -> bool {
        let Some(present) = self.present_version(name) else {
            return false;
        };
        let conflicts = version::satisfies(&present, &relation.operator, &relation.version);
        if conflicts && !self.replaces(name, present.as_str()) {
            self.failure
                .push_str(&format!("Conflicts with the installed package '{name}'"));
            return true;
        }
        false
    }

    /// `replaces_real_pkg`: the file's `Replaces` names the package in a version that
    /// matches.
    fn replaces(&self, name: &str, present: &str) -> bool {
        self.relations("Replaces").iter().flatten().any(|replaced| {
            replaced.name == name
                && version::satisfies(present, &replaced.operator, &replaced.version)
        })
    }

    /// `check_breaks_existing_packages`: an installed package that depends on another
    /// version of this one, or conflicts with this version or what it provides.
    fn check_breaks_existing_packages(&mut self) -> bool {
        let deb_version = self.field("Version");
        let deb_arch = self.field("Architecture");
        let provides: Vec<String> = self
            .relations("Provides")
            .into_iter()
            .filter_map(|group| group.into_iter().next().map(|relation| relation.name))
            .collect();
        let native = self.apt.native_arch().to_string();
        let mut installed: Vec<&DpkgPackage> = self
            .installed
            .iter()
            .filter(|package| package.is_current())
            .collect();
        installed.sort_by(|a, b| a.name.cmp(&b.name));
        for package in installed {
            let depends = format!("{}, {}", package.pre_depends, package.depends);
            for relation in version::parse_relations(&depends).iter().flatten() {
                if relation.package() == self.pkgname
                    && !version::satisfies(&deb_version, &relation.operator, &relation.version)
                {
                    self.failure = format!(
                        "Breaks existing package '{}' dependency {} ({} {})",
                        package.name,
                        relation.package(),
                        relation.math_operator(),
                        relation.version
                    );
                    return false;
                }
            }
            for conflict in version::parse_relations(&package.conflicts)
                .iter()
                .flatten()
            {
                let target_arch = match conflict.name.split_once(':') {
                    Some((_, arch)) => arch.to_string(),
                    None if package.arch == "all" => native.clone(),
                    None => package.arch.clone(),
                };
                if conflict.package() == self.pkgname
                    && target_arch == deb_arch
                    && version::satisfies(&deb_version, &conflict.operator, &conflict.version)
                {
                    self.failure = format!(
                        "Breaks existing package '{}' conflict: {} ({} {})",
                        package.name,
                        conflict.package(),
                        conflict.math_operator(),
                        conflict.version
                    );
                    return false;
                }
                if provides.iter().any(|name| name == conflict.package())
                    && self.pkgname != package.name
                {
                    self.failure = format!(
                        "Breaks existing package '{}' that conflict: '{}'. But the '{}' provides it via: '{}'",
                        package.name,
                        conflict.package(),
                        self.field("Package"),
                        provides.join(",")
                    );
                    return false;
                }
            }
        }
        true
    }

    /// `_satisfy_depends`: every group of `Depends` and `Pre-Depends` is satisfied by an
    /// installed package, or one alternative can be installed from apt's sources.
    ///
    /// NOTE: python-apt then marks those packages in its cache and fails when apt cannot
    /// resolve them; rplay leaves that to apt-get.
    fn satisfy_depends(&mut self) -> bool {
        let mut groups = self.relations("Depends");
        groups.extend(self.relations("Pre-Depends"));
        for group in groups {
            if !self.group_satisfied(&group) && !self.satisfy_group(&group) {
                return false;
            }
        }
        true
    }

    fn group_satisfied(&self, group: &[Relation]) -> bool {
        group.iter().any(|relation| {
            let name = self.with_multiarch(&relation.name);
            if !self.is_real(&name) {
                return self
                    .virtual_providers(&name)
                    .iter()
                    .any(|provider| self.current(provider).is_some());
            }
            let installed = self.current_version(&name).is_some_and(|current| {
                version::satisfies(&current, &relation.operator, &relation.version)
            });
            installed
                || (relation.operator.is_empty()
                    && !self.installed_providers(relation.package()).is_empty())
        })
    }

    fn satisfy_group(&mut self, group: &[Relation]) -> bool {
        for relation in group {
            let mut name = self.with_multiarch(&relation.name);
            if !self.is_real(&name) {
                let providers = self.virtual_providers(&name);
                if providers.len() != 1 {
                    continue;
                }
                name = providers[0].clone();
            }
            let candidate = match self
                .policy(&name)
                .and_then(|policy| policy.candidate.clone())
            {
                Some(candidate) => candidate,
                None => match cache::policy(self.apt, &name, &[]) {
                    Ok(Some(Policy {
                        candidate: Some(candidate),
                        ..
                    })) => candidate,
                    _ => continue,
                },
            };
            if !version::satisfies(&candidate, &relation.operator, &relation.version) {
                continue;
            }
            self.need.push(name);
            return true;
        }
        self.failure.push_str(&format!(
            "Dependency is not satisfiable: {}\n",
            unsatisfiable_text(group)
        ));
        false
    }
}

/// Writes the alternatives of a group as python-apt's message lists them. It adds each
/// alternative's version only when the last alternative has one, because it tests
/// the loop variables its search left behind.
fn unsatisfiable_text(group: &[Relation]) -> String {
    let versioned = group
        .last()
        .is_some_and(|last| !last.version.is_empty() && !last.operator.is_empty());
    group
        .iter()
        .map(|relation| {
            if versioned {
                format!(
                    "{} ({} {})",
                    relation.name, relation.operator, relation.version
                )
            } else {
                relation.name.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// ansible-core's `fetch_file`: downloads `url` into the module's temporary directory,
/// as a file named after the URL with 8 random characters before its extension.
fn fetch_file(apt: &Apt, url: &str) -> Result<(crate::get_url::TempDir, String), Failure> {
    let failed = |reason: String| Failure::new(format!("Failure downloading {url}, {reason}"));
    // With pipelining, no action made `remote_tmp` before the module, so the module
    // creates it for its temporary directory, with a warning.
    if let (true, Some(remote_tmp)) = (apt.options.pipelining, &apt.options.remote_tmp) {
        let base = crate::spec::expand_path(remote_tmp);
        if let Some(warning) = crate::workdir::create_base(&base) {
            apt.warn(warning.into_text());
        }
    }
    let directory = crate::get_url::TempDir::create(apt.options)
        .map_err(|err| failed(crate::files::os_error(&err)))?;
    let path_part = crate::http::pyurl::urlparse(url, "")
        .map(|parsed| parsed.path)
        .unwrap_or_default();
    let basename = path_part.rsplit('/').next().unwrap_or_default();
    let (prefix, extension) = split_multiext(basename);
    let path = directory.0.join(format!(
        "{prefix}{}{extension}",
        crate::files::random_name(8)
    ));

    let mut client = crate::http::Client::from_params(apt.params, &apt.options.environment);
    client.http_agent = Some("ansible-httpget".into());
    let request = crate::http::Request {
        method: "GET".into(),
        url: url.to_string(),
        headers: Vec::new(),
        body: None,
        timeout: std::time::Duration::from_secs(10),
        force: false,
        modified_since: None,
    };
    let mut fetched = crate::http::fetch(&client, &request).map_err(|result| {
        failed(
            result
                .get("msg")
                .map(crate::pyrepr::str)
                .unwrap_or_default(),
        )
    })?;
    let status = fetched.status();
    let Some(body) = fetched.body.as_mut().filter(|_| status < 400) else {
        return Err(failed(fetched.msg()));
    };
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut file| {
            std::io::copy(body, &mut file)?;
            file.flush()
        });
    if let Err(err) = written {
        return Err(failed(crate::http::os_error_text(&err)));
    }
    Ok((directory, path.display().to_string()))
}

/// ansible-core's `_split_multiext(name, count=2)`: up to two final extensions of 3 or
/// 4 characters (with the dot) split off, each removed with `str.rstrip`, which strips
/// any of its characters, not the suffix.
fn split_multiext(name: &str) -> (String, String) {
    let suffixes: Vec<String> = if name.ends_with('.') {
        Vec::new()
    } else {
        name.trim_start_matches('.')
            .split('.')
            .skip(1)
            .map(|part| format!(".{part}"))
            .collect()
    };
    let mut name = name.to_string();
    let mut extension = String::new();
    for suffix in suffixes.iter().rev().take(2) {
        if !(3..=4).contains(&suffix.chars().count()) {
            break;
        }
        extension = format!("{suffix}{extension}");
        name = name.trim_end_matches(|c| suffix.contains(c)).to_string();
    }
    (name, extension)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiext_like_ansible() {
        assert_eq!(
            split_multiext("rplay-plain_1.0_all.deb"),
            ("rplay-plain_1.0_all".to_string(), ".deb".to_string())
        );
        assert_eq!(
            split_multiext("archive.tar.gz"),
            ("archive".to_string(), ".tar.gz".to_string())
        );
        // rstrip removes any of the suffix's characters.
        assert_eq!(
            split_multiext("web.deb"),
            ("w".to_string(), ".deb".to_string())
        );
        assert_eq!(
            split_multiext("noext"),
            ("noext".to_string(), String::new())
        );
    }

    #[test]
    fn unsatisfiable_text_quirk() {
        let groups = version::parse_relations("a (>= 1.0) | b");
        assert_eq!(unsatisfiable_text(&groups[0]), "a|b");
        let groups = version::parse_relations("a | b (= 2)");
        assert_eq!(unsatisfiable_text(&groups[0]), "a ( )|b (= 2)");
    }
}
