//! The `apt` module (and `package` where apt is the package manager), after
//! ansible-core 2.18's. It updates the cache with `cache_valid_time`, and handles the
//! states `present`, `latest`, `absent`, `fixed` and `build-dep` of named packages
//! (wildcards and `=`/`>=` version specs). It installs `.deb` files from a path or a
//! URL, and has `upgrade`, `autoremove`, `autoclean`, `clean`, `default_release` and
//! `policy_rc_d`.
//!
//! ansible-core reads the package cache through python-apt. rplay asks `dpkg-query`
//! and `apt-cache` instead and runs the same `apt-get`, `aptitude` and `dpkg` command
//! lines, built as the module builds them, so its messages name the same commands.

mod cache;
mod deb;
mod install;
mod version;

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
/// The summary apt-get prints when a transaction changes nothing.
const APT_GET_ZERO: &str = "\n0 upgraded, 0 newly installed, 0 to remove";
const APTITUDE_ZERO: &str = "\n0 packages upgraded, 0 newly installed, 0 to remove";
const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

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
    let apt = Apt::new(params, options);
    let mut result = match run_checked(&apt) {
        Ok(result) => result,
        Err(failure) => failure.into_result(),
    };
    let warnings = apt.warnings.take();
    if !warnings.is_empty() {
        let warnings = warnings.into_iter().map(Value::from).collect();
        result.insert(Value::from("warnings"), Value::list(warnings));
    }
    result
}

/// One apt task: its parameters, the environment its commands run with and what it
/// found out about the host.
struct Apt<'a> {
    params: &'a Params,
    options: &'a ModuleOptions,
    environment: Vec<(&'static str, String)>,
    native_arch: std::cell::OnceCell<String>,
    /// The module's `warn` calls, which every result carries.
    warnings: std::cell::RefCell<Vec<String>>,
}

impl<'a> Apt<'a> {
    fn new(params: &'a Params, options: &'a ModuleOptions) -> Apt<'a> {
        let locale = system::best_parsable_locale(options);
        let mut environment = vec![
            ("DEBIAN_FRONTEND", "noninteractive".to_string()),
            ("DEBIAN_PRIORITY", "critical".to_string()),
        ];
        for key in ["LANG", "LC_ALL", "LC_MESSAGES", "LC_CTYPE", "LANGUAGE"] {
            environment.push((key, locale.clone()));
        }
        Apt {
            params,
            options,
            environment,
            native_arch: std::cell::OnceCell::new(),
            warnings: std::cell::RefCell::new(Vec::new()),
        }
    }

    fn warn(&self, warning: impl Into<String>) {
        self.warnings.borrow_mut().push(warning.into());
    }

    fn run(&self, argv: Vec<String>) -> Output {
        let extra: Vec<(&str, &str)> = self
            .environment
            .iter()
            .map(|(key, value)| (*key, value.as_str()))
            .collect();
        system::run_with(&argv, self.options, &extra)
    }

    /// Runs a command line as `run_command` runs a string: split as `shlex.split` does.
    fn run_line(&self, line: &str) -> Output {
        match crate::command::split_command(line) {
            Ok(argv) => self.run(argv),
            Err(message) => Output {
                rc: 257,
                stdout: String::new(),
                stderr: message,
            },
        }
    }

    fn check_mode(&self) -> bool {
        self.options.check_mode
    }

    /// Returns the `-o APT::Default-Release=...` option for apt-cache, in place of the
    /// module's setting it in python-apt's configuration before opening the cache.
    fn release_options(&self) -> Vec<String> {
        match self
            .params
            .str("default_release")
            .filter(|release| !release.is_empty())
        {
            Some(release) => vec!["-o".into(), format!("APT::Default-Release={release}")],
            None => Vec::new(),
        }
    }

    /// `dpkg --print-architecture` (python-apt's `APT::Architecture`).
    fn native_arch(&self) -> &str {
        self.native_arch.get_or_init(|| {
            let Some(dpkg) = system::find_program("dpkg") else {
                return String::new();
            };
            let output = self.run(vec![
                dpkg.display().to_string(),
                "--print-architecture".into(),
            ]);
            output.stdout.trim().to_string()
        })
    }

    /// Returns the module's `dpkg_options` as the `-o "Dpkg::Options::=--X"` words of a
    /// command line.
    fn dpkg_options(&self) -> String {
        expand_dpkg_options(&self.params.string("dpkg_options").unwrap_or_default())
    }

    /// Runs `line` with `/usr/sbin/policy-rc.d` set up as `policy_rc_d` requests.
    fn run_with_policy(&self, line: &str) -> Result<Output, Failure> {
        let policy = PolicyRcD::enter(self.params.int("policy_rc_d"))?;
        let output = self.run_line(line);
        policy.exit()?;
        Ok(output)
    }
}

/// `expand_dpkg_options`: each comma-separated option as `-o "Dpkg::Options::=--X"`.
fn expand_dpkg_options(options: &str) -> String {
    options
        .split(',')
        .map(|option| format!("-o \"Dpkg::Options::=--{option}\""))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `flag` when `on`, else "", as the module fills the slots of its command lines.
fn flag(on: bool, flag: &str) -> &str {
    if on {
        flag
    } else {
        ""
    }
}

fn run_checked(apt: &Apt) -> Result<Map, Failure> {
    let params = apt.params;
    let has_packages = !params.strings("package").is_empty();
    let has_deb = params.str("deb").is_some_and(|deb| !deb.is_empty());
    if params.flag("clean") {
        let cleaned = apt_clean(apt)?;
        if !has_packages && params.str("upgrade") == Some("no") && !has_deb {
            return Ok(cleaned);
        }
    }
    let upgrade = params.str("upgrade").filter(|mode| *mode != "no");
    let use_apt_get = params.flag("force_apt_get") || system::find_program("aptitude").is_none();

    let update_requested =
        params.flag("update_cache") || params.int("cache_valid_time").unwrap_or(0) != 0;
    let (updated, update_time) = update_cache(apt)?;
    if update_requested && !has_packages && upgrade.is_none() && !has_deb {
        let mut result = Map::new();
        result.insert(Value::from("changed"), Value::Bool(updated));
        result.insert(Value::from("cache_updated"), Value::Bool(updated));
        result.insert(Value::from("cache_update_time"), Value::Int(update_time));
        return Ok(result);
    }
    if let Some(mode) = upgrade {
        return run_upgrade(apt, mode, use_apt_get);
    }
    let state = params.string("state").unwrap_or_default();
    if has_deb {
        if state != "present" {
            return Err(Failure::new("deb only supports state=present"));
        }
        return deb::install_debs(apt, &params.string("deb").unwrap_or_default());
    }

    let requested = params.strings("package");
    let packages: Vec<String> = requested
        .iter()
        .filter(|package| *package != "*")
        .map(|package| package.trim().to_string())
        .collect();
    let all_installed = requested.iter().any(|package| package == "*");
    if state == "latest" && all_installed {
        if !packages.is_empty() {
            return Err(Failure::new(
                "unable to install additional packages when upgrading all installed packages",
            ));
        }
        return run_upgrade(apt, "yes", use_apt_get);
    }
    if let Some(package) = packages
        .iter()
        .find(|package| package.matches('=').count() > 1)
    {
        return Err(Failure::new(format!("invalid package spec: {package}")));
    }
    if packages.is_empty() {
        for operation in ["autoclean", "autoremove"] {
            if params.flag(operation) {
                return cleanup(apt, operation);
            }
        }
    }
    if state == "absent" {
        return remove(apt, &packages);
    }
    let request = install::Request::from_state(apt, &state, &packages);
    let (success, mut result) = install::install(apt, &request)?;
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
/// A failed attempt is retried after a growing delay, with the module's warnings.
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
    if apt.check_mode() {
        return Ok((true, before));
    }
    let retries = apt.params.int("update_cache_retries").unwrap_or(5).max(0);
    let max_delay = apt.params.int("update_cache_retry_max_delay").unwrap_or(12) as f64;
    let mut error: Option<String> = None;
    let apt_get = system::bin_path("apt-get")?;
    for attempt in 0..retries {
        let output = apt.run(vec![apt_get.clone(), "update".into(), "-q".into()]);
        let Some(text) = update_error(&output) else {
            let after = cache_mtime();
            return Ok((after != before, after));
        };
        apt.warn(format!(
            "Failed to update cache after {} retries due to {text}, retrying",
            attempt + 1
        ));
        error = Some(text);
        let randomize = f64::from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |time| time.subsec_millis()),
        ) / 1000.0;
        let mut delay = 2f64.powi(attempt.min(60) as i32) + randomize;
        if delay > max_delay {
            delay = max_delay + randomize;
        }
        std::thread::sleep(std::time::Duration::from_secs_f64(delay.max(0.0)));
        apt.warn(format!(
            "Sleeping for {} seconds, before attempting to refresh the cache again",
            round_half_even(delay)
        ));
    }
    let error = error.unwrap_or_else(|| "unknown reason".into());
    Err(Failure::new(format!(
        "Failed to update apt cache after {retries} retries: {error}"
    )))
}

/// Returns the error of a failed `apt-get update` run, or `None`. apt-get exits 0 when an index
/// could not be fetched, but python-apt's update raises `FetchFailedException` then,
/// whose text is empty (apt prints its `W:` lines itself). Another failure has
/// apt-get's messages.
fn update_error(output: &Output) -> Option<String> {
    let fetch_failed = output.stderr.lines().any(|line| {
        let text = line
            .strip_prefix("W: ")
            .or_else(|| line.strip_prefix("E: "))
            .unwrap_or_default();
        text.starts_with("Failed to fetch ")
            || text.starts_with("Some index files failed to download")
    });
    match (output.rc, fetch_failed) {
        (0, false) => None,
        (0, true) => Some(String::new()),
        _ => Some(output.stderr.trim_end().to_string()),
    }
}

/// Python's `round` on a float: halves go to the even neighbour.
fn round_half_even(value: f64) -> i64 {
    let floor = value.floor();
    let fraction = value - floor;
    let rounded = if fraction > 0.5 || (fraction == 0.5 && floor % 2.0 != 0.0) {
        floor + 1.0
    } else {
        floor
    };
    rounded as i64
}

/// Cuts apt's output as the module's `parse_diff` does. The diff starts after `Reading
/// state information...` (or aptitude's `Resolving dependencies...`) and ends with the
/// `N upgraded` line. Without a marker, it starts at the beginning or runs to the end.
fn parse_diff(output: &str) -> Value {
    let lines: Vec<&str> = output.lines().collect();
    let start = lines
        .iter()
        .position(|line| *line == "Resolving dependencies...")
        .or_else(|| {
            lines
                .iter()
                .position(|line| *line == "Reading state information...")
        })
        .map_or(0, |at| at + 1);
    let end = lines
        .iter()
        .position(|line| is_upgraded_line(line))
        .map_or(lines.len() + 1, |at| at + 1);
    let prepared = lines
        .get(start..end.min(lines.len()))
        .unwrap_or_default()
        .join("\n");
    let mut diff = Map::new();
    diff.insert(Value::from("prepared"), Value::from(prepared));
    Value::map(diff)
}

/// `re.match('[0-9]+ (packages )?upgraded', line)`.
fn is_upgraded_line(line: &str) -> bool {
    let rest = line.trim_start_matches(|c: char| c.is_ascii_digit());
    rest.len() < line.len()
        && (rest.starts_with(" upgraded") || rest.starts_with(" packages upgraded"))
}

/// Returns the diff of a command's output: parsed in diff mode, else empty.
fn output_diff(apt: &Apt, output: &str) -> Value {
    if apt.options.diff {
        parse_diff(output)
    } else {
        Value::empty_map()
    }
}

/// `clean: true`: `apt-get clean`, which the module runs even in check mode. Returns
/// the result of a task with nothing else to do.
fn apt_clean(apt: &Apt) -> Result<Map, Failure> {
    let output = apt.run(vec!["apt-get".into(), "clean".into()]);
    let diff = output_diff(apt, &output.stdout);
    if output.rc != 0 {
        return Err(Failure::new("apt-get clean failed")
            .with("stdout", output.stdout.as_str())
            .with("rc", Value::Int(output.rc)));
    }
    if !output.stderr.is_empty() {
        return Err(
            Failure::new(format!("apt-get clean failed: {}", output.stderr))
                .with("stdout", output.stdout.as_str())
                .with("rc", Value::Int(output.rc)),
        );
    }
    let mut result = Map::new();
    result.insert(Value::from("changed"), Value::Bool(true));
    result.insert(Value::from("msg"), Value::from(output.stdout.as_str()));
    result.insert(Value::from("stdout"), Value::from(output.stdout.as_str()));
    result.insert(Value::from("stderr"), Value::from(output.stderr.as_str()));
    result.insert(Value::from("diff"), diff);
    Ok(result)
}

/// `upgrade: dist|full|safe|yes` (and `name: '*'` with `latest`): apt-get's
/// `dist-upgrade` or `upgrade --with-new-pkgs`, or aptitude's `full-upgrade` or
/// `safe-upgrade` where aptitude exists and `force_apt_get` is off.
///
/// NOTE: ansible-core stops aptitude's `safe-upgrade` when it prompts; rplay gives it
/// no input, so a prompt reads end of file.
fn run_upgrade(apt: &Apt, mode: &str, use_apt_get: bool) -> Result<Map, Failure> {
    let params = apt.params;
    let autoremove = flag(params.flag("autoremove"), "--auto-remove");
    let check_arg = flag(apt.check_mode(), "--simulate");
    let aptitude = system::find_program("aptitude").map(|path| path.display().to_string());
    let (program, command) = match (mode, use_apt_get) {
        ("dist", _) | ("full", true) => ("apt-get", format!("dist-upgrade {autoremove}")),
        ("full", false) => ("aptitude", "full-upgrade".to_string()),
        (_, true) => ("apt-get", format!("upgrade --with-new-pkgs {autoremove}")),
        (_, false) => ("aptitude", "safe-upgrade".to_string()),
    };
    let with_apt_get = program == "apt-get";
    let force_yes = match (params.flag("force"), with_apt_get) {
        (false, _) => "",
        (true, true) => "--force-yes",
        (true, false) => "--assume-yes --allow-untrusted",
    };
    let fail_on_autoremove = match (params.flag("fail_on_autoremove"), with_apt_get) {
        (true, true) => "--no-remove",
        (true, false) => {
            apt.warn("APTITUDE does not support '--no-remove', ignoring the 'fail_on_autoremove' parameter.");
            ""
        }
        (false, _) => "",
    };
    let allow_unauthenticated = flag(
        params.flag("allow_unauthenticated"),
        "--allow-unauthenticated",
    );
    let allow_downgrade = match (params.flag("allow_downgrade"), with_apt_get) {
        (true, true) => "--allow-downgrades",
        (true, false) => {
            apt.warn("APTITUDE does not support '--allow-downgrades', ignoring the 'allow_downgrade' parameter.");
            ""
        }
        (false, _) => "",
    };
    let program_path = if with_apt_get {
        system::bin_path("apt-get")?
    } else {
        aptitude.clone().unwrap_or_default()
    };
    let mut line = format!(
        "{program_path} -y {} {force_yes} {fail_on_autoremove} {allow_unauthenticated} {allow_downgrade} {check_arg} {command}",
        apt.dpkg_options()
    );
    if let Some(release) = params
        .str("default_release")
        .filter(|release| !release.is_empty())
    {
        line.push_str(&format!(" -t '{release}'"));
    }
    let output = apt.run_with_policy(&line)?;
    let diff = output_diff(apt, &output.stdout);
    if output.rc != 0 {
        return Err(Failure::new(format!(
            "'{program_path} {command}' failed: {}",
            output.stderr
        ))
        .with("stdout", output.stdout.as_str())
        .with("rc", Value::Int(output.rc)));
    }
    let zero = if with_apt_get {
        APT_GET_ZERO
    } else {
        APTITUDE_ZERO
    };
    let mut result = Map::new();
    let changed = !output.stdout.contains(zero);
    result.insert(Value::from("changed"), Value::Bool(changed));
    result.insert(Value::from("msg"), Value::from(output.stdout.as_str()));
    result.insert(Value::from("stdout"), Value::from(output.stdout.as_str()));
    result.insert(Value::from("stderr"), Value::from(output.stderr.as_str()));
    if changed {
        result.insert(Value::from("diff"), diff);
    }
    Ok(result)
}

/// `state: absent`: `apt-get remove` of the installed packages (with `purge`, also of
/// those only their configuration files are left of).
fn remove(apt: &Apt, packages: &[String]) -> Result<Map, Failure> {
    let params = apt.params;
    let purge = params.flag("purge");
    let packages = install::expand_wildcards(apt, packages)?;
    let mut to_remove = Vec::new();
    for package in &packages {
        let (name, rest) = split_spec(package);
        let Some(dpkg) = cache::dpkg_package(apt, name) else {
            continue;
        };
        let version_matches = match rest.strip_prefix(">=") {
            Some(minimum) => version::satisfies(&dpkg.version, ">=", minimum),
            None => match rest.strip_prefix('=') {
                Some(wanted) => crate::find::fnmatch(wanted, &dpkg.version),
                None => true,
            },
        };
        let installed_version = dpkg.is_installed() && version_matches;
        if installed_version || (purge && has_files(name)) {
            to_remove.push(format!("'{package}'"));
        }
    }
    let mut result = Map::new();
    if to_remove.is_empty() {
        result.insert(Value::from("changed"), Value::Bool(false));
        return Ok(result);
    }
    let packages = to_remove.join(" ");
    let line = format!(
        "{} -q -y {} {} {} {} {} {} remove {packages}",
        system::bin_path("apt-get")?,
        apt.dpkg_options(),
        flag(purge, "--purge"),
        flag(params.flag("force"), "--force-yes"),
        flag(params.flag("autoremove"), "--auto-remove"),
        flag(apt.check_mode(), "--simulate"),
        flag(
            params.flag("allow_change_held_packages"),
            "--allow-change-held-packages"
        ),
    );
    let output = apt.run_with_policy(&line)?;
    let diff = output_diff(apt, &output.stdout);
    if output.rc != 0 {
        return Err(Failure::new(format!(
            "'apt-get remove {packages}' failed: {}",
            output.stderr
        ))
        .with("stdout", output.stdout.as_str())
        .with("stderr", output.stderr.as_str())
        .with("rc", Value::Int(output.rc)));
    }
    result.insert(Value::from("changed"), Value::Bool(true));
    result.insert(Value::from("stdout"), Value::from(output.stdout.as_str()));
    result.insert(Value::from("stderr"), Value::from(output.stderr.as_str()));
    result.insert(Value::from("diff"), diff);
    Ok(result)
}

/// Returns whether dpkg still lists files of the package (`/var/lib/dpkg/info/NAME.list`), as
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

/// Splits `NAME=VERSION` or `NAME>=VERSION` into the name and the rest.
fn split_spec(package: &str) -> (&str, &str) {
    match package.find('=') {
        Some(at) if package[..at].ends_with('>') => package.split_at(at - 1),
        Some(at) => package.split_at(at),
        None => (package, ""),
    }
}

/// `autoremove` or `autoclean` without packages: `apt-get OPERATION`, changed when apt
/// removed or deleted something.
fn cleanup(apt: &Apt, operation: &str) -> Result<Map, Failure> {
    let params = apt.params;
    let line = format!(
        "{} -y {} {} {} {operation} {}",
        system::bin_path("apt-get")?,
        apt.dpkg_options(),
        flag(params.flag("purge"), "--purge"),
        flag(params.flag("force"), "--force-yes"),
        flag(apt.check_mode(), "--simulate"),
    );
    let output = apt.run_with_policy(&line)?;
    let diff = output_diff(apt, &output.stdout);
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
    result.insert(Value::from("diff"), diff);
    Ok(result)
}

/// `policy_rc_d`: while apt or dpkg runs, `/usr/sbin/policy-rc.d` exits with this code
/// (101 keeps packages from starting services). An existing one is moved aside into a
/// temporary directory and put back afterwards.
struct PolicyRcD {
    active: bool,
    backup_dir: Option<std::path::PathBuf>,
}

impl PolicyRcD {
    fn enter(code: Option<i64>) -> Result<PolicyRcD, Failure> {
        let Some(code) = code else {
            return Ok(PolicyRcD {
                active: false,
                backup_dir: None,
            });
        };
        let path = std::path::Path::new(POLICY_RC_D);
        let mut backup_dir = None;
        if path.exists() {
            let dir = std::env::temp_dir().join(format!("ansible{}", crate::files::random_name(8)));
            let moved =
                std::fs::create_dir(&dir).and_then(|()| move_file(path, &dir.join("policy-rc.d")));
            if moved.is_err() {
                return Err(Failure::new(format!(
                    "Fail to move {POLICY_RC_D} to {}",
                    dir.display()
                )));
            }
            backup_dir = Some(dir);
        }
        let written = std::fs::write(path, format!("#!/bin/sh\nexit {code}\n")).and_then(|()| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        });
        if written.is_err() {
            return Err(Failure::new(format!(
                "Failed to create or chmod {POLICY_RC_D}"
            )));
        }
        Ok(PolicyRcD {
            active: true,
            backup_dir,
        })
    }

    fn exit(self) -> Result<(), Failure> {
        if !self.active {
            return Ok(());
        }
        let path = std::path::Path::new(POLICY_RC_D);
        match &self.backup_dir {
            Some(dir) => {
                let backup = dir.join("policy-rc.d");
                move_file(&backup, path)
                    .and_then(|()| std::fs::remove_dir(dir))
                    .map_err(|_| {
                        Failure::new(format!(
                            "Fail to move back {} to {POLICY_RC_D}",
                            backup.display()
                        ))
                    })
            }
            None => std::fs::remove_file(path).map_err(|_| {
                Failure::new(format!(
                    "Fail to remove {POLICY_RC_D} (after package manipulation)"
                ))
            }),
        }
    }
}

/// `shutil.move`: a rename, or a copy and delete across filesystems.
fn move_file(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to)?;
    std::fs::remove_file(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_names_alias() {
        let mut args = Map::new();
        args.insert(Value::from("name"), Value::from("curl,git"));
        let params = SPEC.validate(&args).unwrap();
        assert_eq!(params.strings("package"), ["curl", "git"]);
        assert!(params.values.contains_key("name"));
    }

    #[test]
    fn dpkg_options_expand() {
        assert_eq!(
            expand_dpkg_options(DPKG_OPTIONS),
            "-o \"Dpkg::Options::=--force-confdef\" -o \"Dpkg::Options::=--force-confold\""
        );
    }

    #[test]
    fn parse_diff_between_markers() {
        let output = "Reading package lists...\nBuilding dependency tree...\nReading state information...\nThe following NEW packages will be installed:\n  rplay-tool\n0 upgraded, 1 newly installed, 0 to remove and 1 not upgraded.\nInst rplay-tool (1.0)\n";
        let diff = parse_diff(output);
        assert_eq!(
            diff.get("prepared").and_then(Value::as_str),
            Some("The following NEW packages will be installed:\n  rplay-tool\n0 upgraded, 1 newly installed, 0 to remove and 1 not upgraded.")
        );
        let plain = parse_diff("Del rplay-hello 0.9 [628 B]\n");
        assert_eq!(
            plain.get("prepared").and_then(Value::as_str),
            Some("Del rplay-hello 0.9 [628 B]")
        );
    }

    #[test]
    fn update_errors() {
        let fetch_failed = Output {
            rc: 0,
            stdout: String::new(),
            stderr: "W: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving 'deb.debian.org'\nW: Some index files failed to download. They have been ignored, or old ones used instead.\n".into(),
        };
        assert_eq!(update_error(&fetch_failed).as_deref(), Some(""));
        let fine = Output {
            rc: 0,
            stdout: "Reading package lists...\n".into(),
            stderr: "W: https://example.invalid/ does not have a Release file.\n".into(),
        };
        assert_eq!(update_error(&fine), None);
        let locked = Output {
            rc: 100,
            stdout: String::new(),
            stderr: "E: Could not get lock /var/lib/apt/lists/lock.\n".into(),
        };
        assert!(update_error(&locked).is_some());
    }

    #[test]
    fn python_round() {
        assert_eq!(round_half_even(0.5), 0);
        assert_eq!(round_half_even(1.5), 2);
        assert_eq!(round_half_even(2.5), 2);
        assert_eq!(round_half_even(12.7), 13);
    }

    #[test]
    fn upgraded_line() {
        assert!(is_upgraded_line("2 upgraded, 0 newly installed"));
        assert!(is_upgraded_line("0 packages upgraded, 1 newly installed"));
        assert!(!is_upgraded_line("upgraded"));
        assert!(!is_upgraded_line("Calculating upgrade..."));
    }
}
