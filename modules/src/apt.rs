//! The `apt` module (and `package` where apt is the package manager): cache updates
//! with `cache_valid_time`, `state: present`, `latest` and `absent` (with `purge` and
//! `autoremove`) of named packages, wildcard names, `=` and `>=` version specs, and
//! `autoremove`/`autoclean` on their own, through `dpkg-query`, `apt-cache` and
//! `apt-get`.
//!
//! NOTE: ansible-core reads the package cache through python-apt; rplay runs the apt
//! tools instead. `deb`, `upgrade`, `clean`, `default_release`, `build-dep`, `fixed`
//! and `name: '*'` with `state: latest` are not implemented and fail.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::dispatch::ModuleOptions;
use crate::files::Failure;
use crate::spec::{Default, Elements, Kind, ModuleSpec, OptionSpec, Params};
use crate::system::{self, Output};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "apt",
    &[
        OptionSpec::new("state", Kind::Str)
            .default(Default::Str("present"))
            .choices(&["absent", "build-dep", "fixed", "latest", "present"]),
        OptionSpec::new("update_cache", Kind::Bool).aliases(&["update-cache"]),
        OptionSpec::new("update_cache_retries", Kind::Int).default(Default::Int(5)),
        OptionSpec::new("update_cache_retry_max_delay", Kind::Int).default(Default::Int(12)),
        OptionSpec::new("cache_valid_time", Kind::Int).default(Default::Int(0)),
        OptionSpec::new("purge", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("package", Kind::List(Elements::Str)).aliases(&["pkg", "name"]),
        OptionSpec::new("deb", Kind::Path),
        OptionSpec::new("default_release", Kind::Str).aliases(&["default-release"]),
        OptionSpec::new("install_recommends", Kind::Bool).aliases(&["install-recommends"]),
        OptionSpec::new("force", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("upgrade", Kind::Str)
            .choices(&["dist", "full", "no", "safe", "yes"])
            .default(Default::Str("no")),
        OptionSpec::new("dpkg_options", Kind::Str).default(Default::Str(DPKG_OPTIONS)),
        OptionSpec::new("autoremove", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("autoclean", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("fail_on_autoremove", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("policy_rc_d", Kind::Int),
        OptionSpec::new("only_upgrade", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("force_apt_get", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("clean", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("allow_unauthenticated", Kind::Bool)
            .default(Default::Bool(false))
            .aliases(&["allow-unauthenticated"]),
        OptionSpec::new("allow_downgrade", Kind::Bool)
            .default(Default::Bool(false))
            .aliases(&["allow-downgrade", "allow_downgrades", "allow-downgrades"]),
        OptionSpec::new("allow_change_held_packages", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("lock_timeout", Kind::Int).default(Default::Int(60)),
    ],
)
.mutually_exclusive(&[&["deb", "package", "upgrade"]])
.required_one_of(&[&["autoremove", "deb", "package", "update_cache", "upgrade"]]);

const DPKG_OPTIONS: &str = "force-confdef,force-confold";
const UPDATE_STAMP: &str = "/var/lib/apt/periodic/update-success-stamp";
const LISTS_DIR: &str = "/var/lib/apt/lists";

/// Prepares a `package` task's arguments for `apt`: `use` goes, as the action drops it.
pub fn package_args(args: &mut Map) -> Result<(), String> {
    let backend = args
        .shift_remove("use")
        .map(|value| crate::pyrepr::str(&value))
        .unwrap_or_else(|| "auto".into());
    let apt_host = system::find_program("apt-get").is_some();
    match backend.as_str() {
        "apt" => Ok(()),
        "auto" if apt_host => Ok(()),
        // NOTE: ansible-core runs the host's package manager module; rplay has apt only.
        _ => Err("rplay runs the package action only with apt".into()),
    }
}

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    match run_checked(params, options) {
        Ok(result) => result,
        Err(failure) => failure.into_result(),
    }
}

struct Apt<'a> {
    params: &'a Params,
    options: &'a ModuleOptions,
    environment: Vec<(&'static str, String)>,
}

impl Apt<'_> {
    fn run(&self, argv: Vec<String>) -> Output {
        let extra: Vec<(&str, &str)> = self
            .environment
            .iter()
            .map(|(key, value)| (*key, value.as_str()))
            .collect();
        system::run_with(&argv, self.options, &extra)
    }
}

fn run_checked(params: &Params, options: &ModuleOptions) -> Result<Map, Failure> {
    let unsupported = [
        ("deb", params.get("deb").is_some()),
        ("clean", params.flag("clean")),
        (
            "upgrade",
            params.str("upgrade").is_some_and(|upgrade| upgrade != "no"),
        ),
        ("default_release", params.get("default_release").is_some()),
    ];
    if let Some((option, _)) = unsupported.iter().find(|(_, used)| *used) {
        return Err(Failure::new(format!(
            "rplay's apt module does not implement '{option}' yet"
        )));
    }
    let state = params.string("state").unwrap_or_default();
    if !matches!(state.as_str(), "present" | "latest" | "absent") {
        return Err(Failure::new(format!(
            "rplay's apt module does not implement state={state} yet"
        )));
    }
    let locale = system::best_parsable_locale(options);
    let mut environment = vec![
        ("DEBIAN_FRONTEND", "noninteractive".to_string()),
        ("DEBIAN_PRIORITY", "critical".to_string()),
    ];
    for key in ["LANG", "LC_ALL", "LC_MESSAGES", "LC_CTYPE", "LANGUAGE"] {
        environment.push((key, locale.clone()));
    }
    let apt = Apt {
        params,
        options,
        environment,
    };
    let (updated, update_time) = update_cache(&apt)?;
    let packages: Vec<String> = params
        .strings("package")
        .into_iter()
        .filter(|package| package != "*")
        .map(|package| package.trim().to_string())
        .collect();
    let all_installed = params
        .strings("package")
        .iter()
        .any(|package| package == "*");
    if state == "latest" && all_installed {
        return Err(Failure::new(if packages.is_empty() {
            "rplay's apt module does not implement name='*' with state=latest yet"
        } else {
            "unable to install additional packages when upgrading all installed packages"
        }));
    }
    if let Some(package) = packages
        .iter()
        .find(|package| package.matches('=').count() > 1)
    {
        return Err(Failure::new(format!("invalid package spec: {package}")));
    }
    if packages.is_empty() {
        for (option, operation) in [("autoclean", "autoclean"), ("autoremove", "autoremove")] {
            if params.flag(option) {
                return cleanup(&apt, operation);
            }
        }
    }
    if params.get("package").is_none() {
        let mut result = Map::new();
        result.insert(Value::from("changed"), Value::Bool(updated));
        result.insert(Value::from("cache_updated"), Value::Bool(updated));
        result.insert(Value::from("cache_update_time"), Value::Int(update_time));
        return Ok(result);
    }
    let packages = expand_wildcards(&apt, &packages)?;
    if state == "absent" {
        return remove(&apt, &packages);
    }
    let (success, mut result) = install(&apt, &packages, state == "latest")?;
    result.insert(Value::from("cache_updated"), Value::Bool(updated));
    result.insert(Value::from("cache_update_time"), Value::Int(update_time));
    if !success {
        result.insert(Value::from("failed"), Value::Bool(true));
    }
    Ok(result)
}

/// Returns the cache's modification time: the update stamp's, else the lists directory's,
/// else 0.
fn cache_mtime() -> i64 {
    [UPDATE_STAMP, LISTS_DIR]
        .iter()
        .find_map(|path| std::fs::metadata(path).ok())
        .and_then(|meta| meta.modified().ok())
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |age| age.as_secs() as i64)
}

/// Runs `apt-get update` when `update_cache` or `cache_valid_time` is set and the cache is
/// older than `cache_valid_time` seconds. Returns whether it was updated, and its time.
fn update_cache(apt: &Apt) -> Result<(bool, i64), Failure> {
    let before = cache_mtime();
    let valid_time = apt.params.int("cache_valid_time").unwrap_or(0);
    let wanted = apt.params.flag("update_cache") || valid_time != 0;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |age| age.as_secs() as i64);
    if !wanted || before + valid_time >= now {
        return Ok((false, before));
    }
    if apt.options.check_mode {
        return Ok((true, before));
    }
    let retries = apt.params.int("update_cache_retries").unwrap_or(5).max(0);
    let mut error = String::new();
    let apt_get = system::bin_path("apt-get")?;
    for attempt in 0..retries {
        let output = apt.run(vec![apt_get.clone(), "update".into(), "-q".into()]);
        if output.rc == 0 {
            let after = cache_mtime();
            return Ok((after != before, after));
        }
        error = output.stderr.trim().to_string();
        if attempt + 1 < retries {
            let max_delay = apt.params.int("update_cache_retry_max_delay").unwrap_or(12);
            let delay = (1i64 << attempt.min(20)).min(max_delay).max(0) as u64;
            std::thread::sleep(std::time::Duration::from_secs(delay));
        }
    }
    if error.is_empty() {
        error = "unknown reason".into();
    }
    Err(Failure::new(format!(
        "Failed to update apt cache after {retries} retries: {error}"
    )))
}

/// Returns the installed version of a package, or `None` when dpkg has it not installed.
fn installed_version(apt: &Apt, name: &str) -> Option<String> {
    let dpkg_query = system::find_program("dpkg-query")?;
    let output = apt.run(vec![
        dpkg_query.display().to_string(),
        "-W".into(),
        "-f=${db:Status-Abbrev}\t${Version}".into(),
        name.into(),
    ]);
    if output.rc != 0 {
        return None;
    }
    let (status, version) = output.stdout.lines().next()?.split_once('\t')?;
    status.starts_with("ii").then(|| version.to_string())
}

/// Returns the candidate version `apt-cache policy` reports, or `None` when apt has no
/// such package.
fn candidate_version(apt: &Apt, name: &str) -> Result<Option<String>, Failure> {
    let apt_cache = system::bin_path("apt-cache")?;
    let output = apt.run(vec![apt_cache, "policy".into(), name.into()]);
    Ok(output
        .stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("Candidate:"))
        .map(|candidate| candidate.trim().to_string())
        .filter(|candidate| candidate != "(none)"))
}

/// Installs what is missing (or outdated, for `latest`) and returns `(success, result)`.
fn install(apt: &Apt, packages: &[String], latest: bool) -> Result<(bool, Map), Failure> {
    let mut to_install = Vec::new();
    let mut names = Vec::new();
    for package in packages {
        let (name, version) = match package.split_once('=') {
            Some((name, version)) if !name.ends_with('>') => {
                (name.to_string(), Some(version.to_string()))
            }
            Some((name, minimum)) => {
                let name = name.trim_end_matches('>').to_string();
                names.push(name.clone());
                if let Some(package) = minimum_version_request(apt, &name, minimum, latest)? {
                    to_install.push(package);
                }
                continue;
            }
            None => (package.clone(), None),
        };
        names.push(name.clone());
        let installed = installed_version(apt, &name);
        let candidate = candidate_version(apt, &name)?;
        if installed.is_none() && candidate.is_none() {
            return Err(Failure::new(format!(
                "No package matching '{name}' is available"
            )));
        }
        let needed = match (&installed, &version) {
            (None, _) => true,
            (Some(current), Some(version)) => !glob_match(version, current),
            (Some(current), None) => latest && candidate.as_ref().is_some_and(|c| c != current),
        };
        if needed {
            to_install.push(match version {
                Some(version) => format!("{name}={version}"),
                None => name,
            });
        }
    }
    let mut result = Map::new();
    let mut success = true;
    if to_install.is_empty() {
        result.insert(Value::from("changed"), Value::Bool(false));
    } else {
        let output = apt.run(install_command(apt, &to_install)?);
        if output.rc != 0 {
            success = false;
            result.insert(
                Value::from("msg"),
                Value::from(format!(
                    "'apt-get install {}' failed: {}",
                    to_install.join(" "),
                    output.stderr
                )),
            );
            result.insert(Value::from("stdout"), Value::from(output.stdout.as_str()));
            result.insert(Value::from("stderr"), Value::from(output.stderr.as_str()));
            result.insert(Value::from("rc"), Value::Int(output.rc));
        } else {
            result.insert(Value::from("changed"), Value::Bool(true));
            result.insert(Value::from("stdout"), Value::from(output.stdout.as_str()));
            result.insert(Value::from("stderr"), Value::from(output.stderr.as_str()));
            // NOTE: ansible-core parses the simulated transaction into `diff` in diff
            // mode; rplay returns an empty one.
            result.insert(Value::from("diff"), Value::empty_map());
        }
    }
    if !apt.options.check_mode {
        mark_manual(apt, &names)?;
    }
    Ok((success, result))
}

fn install_command(apt: &Apt, packages: &[String]) -> Result<Vec<String>, Failure> {
    let params = apt.params;
    let mut argv = vec![system::bin_path("apt-get")?, "-y".into()];
    for option in params.string("dpkg_options").unwrap_or_default().split(',') {
        argv.extend(["-o".into(), format!("Dpkg::Options::=--{option}")]);
    }
    if params.flag("only_upgrade") {
        argv.push("--only-upgrade".into());
    }
    if params.flag("force") {
        argv.push("--force-yes".into());
    }
    if params.flag("fail_on_autoremove") {
        argv.push("--no-remove".into());
    }
    if apt.options.check_mode {
        argv.push("--simulate".into());
    }
    argv.push("install".into());
    argv.extend(packages.iter().cloned());
    match params.get("install_recommends").and_then(Value::as_bool) {
        Some(true) => argv.extend(["-o".into(), "APT::Install-Recommends=yes".into()]),
        Some(false) => argv.extend(["-o".into(), "APT::Install-Recommends=no".into()]),
        None => {}
    }
    for (option, flag) in [
        ("allow_unauthenticated", "--allow-unauthenticated"),
        ("allow_downgrade", "--allow-downgrades"),
        ("allow_change_held_packages", "--allow-change-held-packages"),
    ] {
        if params.flag(option) {
            argv.push(flag.into());
        }
    }
    Ok(argv)
}

/// `apt-mark manual` on the requested packages, as the module does after every install.
fn mark_manual(apt: &Apt, names: &[String]) -> Result<(), Failure> {
    if names.is_empty() {
        return Ok(());
    }
    let Some(apt_mark) = system::find_program("apt-mark") else {
        return Ok(());
    };
    let mut argv = vec![apt_mark.display().to_string(), "manual".into()];
    argv.extend(names.iter().cloned());
    let output = apt.run(argv.clone());
    if output.rc != 0 {
        return Err(
            Failure::new(format!("'{}' failed: {}", argv.join(" "), output.stderr))
                .with("stdout", output.stdout.as_str())
                .with("stderr", output.stderr.as_str())
                .with("rc", Value::Int(output.rc)),
        );
    }
    Ok(())
}

/// dpkg's view of a package: its status abbreviation (`ii`, `rc`, ...) and version.
fn dpkg_status(apt: &Apt, name: &str) -> Option<(String, String)> {
    let dpkg_query = system::find_program("dpkg-query")?;
    let output = apt.run(vec![
        dpkg_query.display().to_string(),
        "-W".into(),
        "-f=${db:Status-Abbrev}\t${Version}\n".into(),
        name.into(),
    ]);
    if output.rc != 0 {
        return None;
    }
    let (status, version) = output.stdout.lines().next()?.split_once('\t')?;
    Some((status.trim().to_string(), version.to_string()))
}

/// Whether dpkg still lists files of the package (`/var/lib/dpkg/info/NAME.list`), as
/// a removed package with configuration files left does; only `purge` removes them.
fn has_files(name: &str) -> bool {
    let info = std::path::Path::new("/var/lib/dpkg/info");
    let arch = std::fs::read_dir(info)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .find(|file| {
            file.strip_suffix(".list").is_some_and(|stem| {
                stem == name || stem.split_once(':').is_some_and(|(n, _)| n == name)
            })
        });
    arch.and_then(|file| std::fs::metadata(info.join(file)).ok())
        .is_some_and(|meta| meta.len() > 0)
}

/// `dpkg --compare-versions LEFT OP RIGHT`.
fn version_holds(apt: &Apt, left: &str, op: &str, right: &str) -> bool {
    let Some(dpkg) = system::find_program("dpkg") else {
        return false;
    };
    let argv = vec![
        dpkg.display().to_string(),
        "--compare-versions".into(),
        left.into(),
        op.into(),
        right.into(),
    ];
    apt.run(argv).rc == 0
}

/// The argument `apt-get install` needs for `NAME>=MINIMUM`, or `None` when the
/// installed version already satisfies it (and, for `latest`, is the candidate).
fn minimum_version_request(
    apt: &Apt,
    name: &str,
    minimum: &str,
    latest: bool,
) -> Result<Option<String>, Failure> {
    let installed = installed_version(apt, name);
    let candidate = candidate_version(apt, name)?;
    if let Some(current) = &installed {
        let satisfied = version_holds(apt, current, "ge", minimum);
        let newer = candidate
            .as_ref()
            .is_some_and(|candidate| candidate != current);
        if satisfied && !(latest && newer) {
            return Ok(None);
        }
    }
    match candidate {
        Some(candidate) if version_holds(apt, &candidate, "ge", minimum) => {
            Ok(Some(format!("{name}={candidate}")))
        }
        _ => Err(Failure::new(format!(
            "No package matching '{name}' is available"
        ))),
    }
}

/// Expands shell patterns in package names against the package names apt knows, as
/// the module does with fnmatch; a pattern without `:` selects native packages only.
fn expand_wildcards(apt: &Apt, packages: &[String]) -> Result<Vec<String>, Failure> {
    let mut expanded = Vec::new();
    let mut known: Option<Vec<String>> = None;
    for package in packages {
        let (name, rest) = split_spec(package);
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

/// Splits `NAME=VERSION` or `NAME>=VERSION` into the name and the rest.
fn split_spec(package: &str) -> (&str, &str) {
    match package.find('=') {
        Some(at) if package[..at].ends_with('>') => package.split_at(at - 1),
        Some(at) => package.split_at(at),
        None => (package, ""),
    }
}

/// Every package name in apt's cache and dpkg's database, sorted.
fn known_packages(apt: &Apt) -> Result<Vec<String>, Failure> {
    let apt_cache = system::bin_path("apt-cache")?;
    let output = apt.run(vec![apt_cache, "pkgnames".into()]);
    let mut names: Vec<String> = output.stdout.lines().map(str::to_string).collect();
    if let Some(dpkg_query) = system::find_program("dpkg-query") {
        let output = apt.run(vec![
            dpkg_query.display().to_string(),
            "-W".into(),
            "-f=${Package}\n".into(),
        ]);
        names.extend(output.stdout.lines().map(str::to_string));
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// The dpkg options as the module writes them into its command lines.
fn dpkg_option_args(apt: &Apt) -> Vec<String> {
    let options = apt.params.string("dpkg_options").unwrap_or_default();
    options
        .split(',')
        .flat_map(|option| ["-o".to_string(), format!("Dpkg::Options::=--{option}")])
        .collect()
}

/// `state: absent`: `apt-get remove` of the installed packages (with `purge`, also of
/// those only their configuration files are left of).
fn remove(apt: &Apt, packages: &[String]) -> Result<Map, Failure> {
    let params = apt.params;
    let purge = params.flag("purge");
    let mut to_remove = Vec::new();
    for package in packages {
        let (name, rest) = split_spec(package);
        let Some((status, version)) = dpkg_status(apt, name) else {
            continue;
        };
        // The second letter is the current state: `n` not installed, `c` only its
        // configuration files left.
        let installed = !matches!(status.get(1..2), None | Some("n" | "c"));
        let version_matches = match rest.strip_prefix(">=") {
            Some(minimum) => version_holds(apt, &version, "ge", minimum),
            None => match rest.strip_prefix('=') {
                Some(wanted) => glob_match(wanted, &version),
                None => true,
            },
        };
        let installed_version = installed && version_matches;
        if installed_version || (purge && has_files(name)) {
            to_remove.push(package.clone());
        }
    }
    let mut result = Map::new();
    if to_remove.is_empty() {
        result.insert(Value::from("changed"), Value::Bool(false));
        return Ok(result);
    }
    let mut argv = vec![system::bin_path("apt-get")?, "-q".into(), "-y".into()];
    argv.extend(dpkg_option_args(apt));
    for (used, flag) in [
        (purge, "--purge"),
        (params.flag("force"), "--force-yes"),
        (params.flag("autoremove"), "--auto-remove"),
        (apt.options.check_mode, "--simulate"),
        (
            params.flag("allow_change_held_packages"),
            "--allow-change-held-packages",
        ),
    ] {
        if used {
            argv.push(flag.into());
        }
    }
    argv.push("remove".into());
    argv.extend(to_remove.iter().cloned());
    let output = apt.run(argv);
    if output.rc != 0 {
        let quoted: Vec<String> = to_remove.iter().map(|name| format!("'{name}'")).collect();
        return Err(Failure::new(format!(
            "'apt-get remove {}' failed: {}",
            quoted.join(" "),
            output.stderr
        ))
        .with("stdout", output.stdout.as_str())
        .with("stderr", output.stderr.as_str())
        .with("rc", Value::Int(output.rc)));
    }
    result.insert(Value::from("changed"), Value::Bool(true));
    result.insert(Value::from("stdout"), Value::from(output.stdout.as_str()));
    result.insert(Value::from("stderr"), Value::from(output.stderr.as_str()));
    // NOTE: ansible-core parses the simulated transaction into `diff` in diff mode;
    // rplay returns an empty one.
    result.insert(Value::from("diff"), Value::empty_map());
    Ok(result)
}

/// `autoremove` or `autoclean` without packages: `apt-get OPERATION`, changed when apt
/// removed or deleted something.
fn cleanup(apt: &Apt, operation: &str) -> Result<Map, Failure> {
    let params = apt.params;
    let mut argv = vec![system::bin_path("apt-get")?, "-y".into()];
    argv.extend(dpkg_option_args(apt));
    if params.flag("purge") {
        argv.push("--purge".into());
    }
    if params.flag("force") {
        argv.push("--force-yes".into());
    }
    argv.push(operation.into());
    if apt.options.check_mode {
        argv.push("--simulate".into());
    }
    let output = apt.run(argv);
    if output.rc != 0 {
        return Err(
            Failure::new(format!("'apt-get {operation}' failed: {}", output.stderr))
                .with("stdout", output.stdout.as_str())
                .with("stderr", output.stderr.as_str())
                .with("rc", Value::Int(output.rc)),
        );
    }
    let marker = if operation == "autoremove" {
        "The following packages will be REMOVED"
    } else {
        "Del "
    };
    let mut result = Map::new();
    result.insert(
        Value::from("changed"),
        Value::Bool(output.stdout.contains(marker)),
    );
    result.insert(Value::from("stdout"), Value::from(output.stdout.as_str()));
    result.insert(Value::from("stderr"), Value::from(output.stderr.as_str()));
    result.insert(Value::from("diff"), Value::empty_map());
    Ok(result)
}

/// `fnmatch` with `*` and `?`, for version specs such as `1.2*`.
fn glob_match(pattern: &str, text: &str) -> bool {
    fn matches(pattern: &[char], text: &[char]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some(('*', rest)) => (0..=text.len()).any(|skip| matches(rest, &text[skip..])),
            Some(('?', rest)) => !text.is_empty() && matches(rest, &text[1..]),
            Some((c, rest)) => text.first() == Some(c) && matches(rest, &text[1..]),
        }
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    matches(&pattern, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_globs() {
        assert!(glob_match("1.2*", "1.2.3-1"));
        assert!(glob_match("1.2.3-1", "1.2.3-1"));
        assert!(!glob_match("1.3*", "1.2.3-1"));
    }

    #[test]
    fn spec_names_alias() {
        let mut args = Map::new();
        args.insert(Value::from("name"), Value::from("curl,git"));
        let params = SPEC.validate(&args).unwrap();
        assert_eq!(params.strings("package"), ["curl", "git"]);
        assert!(params.values.contains_key("name"));
    }
}
