//! The `package_facts` module: the installed packages as `ansible_facts.packages`, after
//! ansible-core 2.18's. rplay reads the `apt` manager's packages from dpkg's database
//! (`dpkg-query`) and their origins from `apt-cache policy`, and the `rpm` manager's
//! from `rpm -qa`, where ansible-core uses the Python bindings of apt and rpm. The other
//! managers run the same programs as ansible-core's (`pacman`, `pkg`, `qlist`, `apk`,
//! `pkg_info`) and read their output as it does.

mod cli;
mod dpkg;

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
/// from a set of classes, so its order changes from run to run. rplay tries apt before
/// rpm because it reads both without Python bindings: on a Debian host with the `rpm`
/// program, ansible-core normally finds no rpm bindings and goes on to apt.
const MANAGERS: &[Manager] = &[
    Manager::Library("apt", &["apt", "apt-get", "aptitude"]),
    Manager::Library("rpm", &["rpm"]),
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

/// The way ansible-core finds a package manager.
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

    /// Finds the manager's program, or returns the message of ansible-core's exception
    /// when the manager is not usable.
    fn program(self) -> Result<String, String> {
        match self {
            Manager::Library(name, programs) => {
                // ansible-core then imports the library, or respawns under a Python
                // that has it; rplay reads the manager's database itself.
                programs
                    .iter()
                    .find_map(|program| system::find_program(program))
                    .map(|path| path.display().to_string())
                    .ok_or_else(|| missing_python_library(name))
            }
            Manager::Program(_, program) => {
                system::bin_path(program).map_err(|failure| failure.msg)
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
        let program = match manager.program() {
            Ok(program) => program,
            Err(reason) => {
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
        };
        found += 1;
        match list_packages(manager.name(), &program, options) {
            Ok(listed) => packages.extend(group_by_name(listed, manager.name())),
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

/// Groups a manager's packages by name as `PkgMgr.get_packages` does: a list per name,
/// with `source` (the manager's name) added to each package that lacks one.
fn group_by_name(listed: Vec<Map>, manager: &str) -> Map {
    let mut packages = Map::new();
    for mut package in listed {
        if !package.contains_key("source") {
            package.insert(Value::from("source"), Value::from(manager));
        }
        let name = package.get("name").cloned().unwrap_or(Value::Null);
        let entry = packages
            .entry(name)
            .or_insert_with(|| Value::list(Vec::new()));
        if let Some(list) = entry.as_list_mut() {
            list.push(Value::map(package));
        }
    }
    packages
}

/// Builds one package's details, keys in the given order.
pub(super) fn details<const N: usize>(fields: [(&str, Value); N]) -> Map {
    fields
        .into_iter()
        .map(|(key, value)| (Value::from(key), value))
        .collect()
}

/// Lists the packages of one manager with its `program`; the error is the text of
/// ansible-core's exception.
fn list_packages(
    manager: &str,
    program: &str,
    options: &ModuleOptions,
) -> Result<Vec<Map>, String> {
    let run = |args: &[&str]| {
        let mut argv = vec![program.to_string()];
        argv.extend(args.iter().map(|arg| arg.to_string()));
        system::run(&argv, options)
    };
    // `rc=N : ERR`, as the managers' exceptions word a failed listing.
    let listing = |output: Output, fail_on_stderr: bool| {
        if output.rc != 0 || (fail_on_stderr && !output.stderr.is_empty()) {
            Err(format!(
                "Unable to list packages rc={} : {}",
                output.rc, output.stderr
            ))
        } else {
            Ok(output.stdout)
        }
    };
    match manager {
        "apt" => dpkg::apt_packages(options),
        "rpm" => cli::rpm_packages(run(&["-qa", "--qf", cli::RPM_FORMAT])),
        "pacman" => {
            let locale = system::best_parsable_locale(options);
            let argv = [program.to_string(), "-Qi".to_string()];
            let output = system::run_with(&argv, options, &[("LC_ALL", &locale)]);
            let text = listing(output, true)?;
            let mut blocks: Vec<&str> = text.split("\n\n").collect();
            blocks.pop();
            Ok(blocks.into_iter().map(cli::pacman_details).collect())
        }
        "pkg" => {
            let text = listing(run(&["query", cli::PKG_FORMAT]), true)?;
            Ok(text.lines().map(cli::pkg_details).collect())
        }
        "portage" => {
            let line = format!("{program} -Iv | xargs -n 1024 qatom");
            let output = system::run(&["/bin/sh".to_string(), "-c".to_string(), line], options);
            let text = listing(output, false)?;
            Ok(text.lines().map(cli::portage_details).collect())
        }
        "apk" => {
            let text = listing(run(&["info", "-v"]), false)?;
            Ok(text.lines().map(cli::apk_details).collect())
        }
        _ => {
            let text = listing(run(&["-a"]), true)?;
            Ok(text.lines().map(cli::pkg_info_details).collect())
        }
    }
}
