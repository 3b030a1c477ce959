//! The `service_facts` module on Linux: SysV services from `service --status-all` and
//! systemd services from `systemctl`, as `ansible_facts.services`.

use crate::dispatch::ModuleOptions;
use crate::spec::{ModuleSpec, Params};
use crate::system::{self, Output};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new("service_facts", &[]);

/// Unit states that override what `list-unit-files` reports.
const BAD_STATES: &[&str] = &["not-found", "masked", "failed"];

/// One service of the facts, in the key order ansible-core writes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Service {
    name: String,
    state: String,
    status: Option<String>,
    source: &'static str,
}

impl Service {
    fn value(&self) -> Value {
        let mut map = Map::new();
        map.insert(Value::from("name"), Value::from(self.name.as_str()));
        map.insert(Value::from("state"), Value::from(self.state.as_str()));
        if let Some(status) = &self.status {
            map.insert(Value::from("status"), Value::from(status.as_str()));
        }
        map.insert(Value::from("source"), Value::from(self.source));
        Value::map(map)
    }
}

/// Services by name, in the order they were found; a later entry replaces an earlier one
/// in place, as a Python dict does.
#[derive(Default)]
struct Services(Vec<Service>);

impl Services {
    fn insert(&mut self, service: Service) {
        match self.0.iter_mut().find(|known| known.name == service.name) {
            Some(known) => *known = service,
            None => self.0.push(service),
        }
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Service> {
        self.0.iter_mut().find(|known| known.name == name)
    }
}

pub fn run(_params: &Params, options: &ModuleOptions) -> Map {
    let locale = system::best_parsable_locale(options);
    let runner = |argv: Vec<String>| {
        system::run_with(&argv, options, &[("LANG", &locale), ("LC_ALL", &locale)])
    };
    let mut warnings = Vec::new();
    let mut services = Services::default();
    list_sysv(&runner, &mut services, &mut warnings);
    if system::is_systemd_managed() {
        if let Some(systemctl) = systemctl_path() {
            list_units(&runner, &systemctl, &mut services, &mut warnings);
            list_unit_files(&runner, &systemctl, &mut services, &mut warnings);
        }
    }
    let mut result = Map::new();
    if services.0.is_empty() {
        result.insert(Value::from("skipped"), Value::Bool(true));
        result.insert(Value::from("msg"), Value::from("Failed to find any services. This can be due to privileges or some other configuration issue."));
    } else {
        let mut map = Map::new();
        for service in &services.0 {
            map.insert(Value::from(service.name.as_str()), service.value());
        }
        let mut facts = Map::new();
        facts.insert(Value::from("services"), Value::map(map));
        result.insert(Value::from("ansible_facts"), Value::map(facts));
    }
    if !warnings.is_empty() {
        result.insert(
            Value::from("warnings"),
            Value::list(warnings.into_iter().map(Value::from).collect()),
        );
    }
    result
}

fn systemctl_path() -> Option<String> {
    system::find_program("systemctl")
        .or_else(|| {
            ["/usr/bin/systemctl", "/usr/local/bin/systemctl"]
                .iter()
                .map(std::path::PathBuf::from)
                .find(|path| path.is_file())
        })
        .map(|path| path.display().to_string())
}

/// `service --status-all`, where `service` exists and neither chkconfig nor OpenRC does.
///
/// NOTE: the upstart, chkconfig and OpenRC listings of ansible-core are not implemented.
fn list_sysv(
    run: &dyn Fn(Vec<String>) -> Output,
    services: &mut Services,
    warnings: &mut Vec<String>,
) {
    let Some(service) = system::find_program("service") else {
        return;
    };
    if system::find_program("chkconfig").is_some() || system::find_program("rc-status").is_some() {
        return;
    }
    let output = run(vec![service.display().to_string(), "--status-all".into()]);
    if output.rc == 4 && !std::path::Path::new("/etc/init.d").exists() {
        return;
    }
    if output.rc != 0 {
        warnings.push(format!(
            "Unable to query 'service' tool ({}): {}",
            output.rc, output.stderr
        ));
    }
    for service in parse_status_all(&output.stdout) {
        services.insert(service);
    }
}

/// Lines ` [ + ]  name` (running) and ` [ - ]  name` (stopped).
fn parse_status_all(text: &str) -> Vec<Service> {
    let mut found = Vec::new();
    for line in text.split('\n') {
        let rest = line.trim_start_matches(char::is_whitespace);
        let Some(rest) = rest.strip_prefix("[ ") else {
            continue;
        };
        let mut chars = rest.chars();
        let state = match chars.next() {
            Some('+') => "running",
            Some('-') => "stopped",
            _ => continue,
        };
        let Some(after) = chars.as_str().strip_prefix(" ]") else {
            continue;
        };
        let name = after.trim_start_matches(char::is_whitespace);
        if name.is_empty() || name.len() == after.len() {
            continue;
        }
        found.push(Service {
            name: name.to_string(),
            state: state.into(),
            status: None,
            source: "sysv",
        });
    }
    found
}

fn list_units(
    run: &dyn Fn(Vec<String>) -> Output,
    systemctl: &str,
    services: &mut Services,
    warnings: &mut Vec<String>,
) {
    let args = [
        "list-units",
        "--no-pager",
        "--type",
        "service",
        "--all",
        "--plain",
    ];
    let mut argv = vec![systemctl.to_string()];
    argv.extend(args.iter().map(|arg| arg.to_string()));
    let output = run(argv);
    if output.rc != 0 {
        warnings.push(format!(
            "Could not list units from systemd: {}",
            output.stderr
        ));
        return;
    }
    for service in parse_units(&output.stdout) {
        services.insert(service);
    }
}

fn parse_units(text: &str) -> Vec<Service> {
    let mut found = Vec::new();
    for line in text.split('\n').filter(|line| line.contains(".service")) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 4 {
            continue;
        }
        let before_description = &fields[..fields.len() - 1];
        let status = BAD_STATES
            .iter()
            .find(|bad| before_description.contains(bad))
            .map_or(fields[2], |bad| *bad);
        found.push(Service {
            name: fields[0].to_string(),
            state: if fields[3] == "running" {
                "running"
            } else {
                "stopped"
            }
            .into(),
            status: Some(status.to_string()),
            source: "systemd",
        });
    }
    found
}

fn list_unit_files(
    run: &dyn Fn(Vec<String>) -> Output,
    systemctl: &str,
    services: &mut Services,
    warnings: &mut Vec<String>,
) {
    let args = [
        "list-unit-files",
        "--no-pager",
        "--type",
        "service",
        "--all",
    ];
    let mut argv = vec![systemctl.to_string()];
    argv.extend(args.iter().map(|arg| arg.to_string()));
    let output = run(argv);
    if output.rc != 0 {
        warnings.push(format!(
            "Could not get unit files data from systemd: {}",
            output.stderr
        ));
        return;
    }
    for line in output
        .stdout
        .split('\n')
        .filter(|line| line.contains(".service"))
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(name), Some(status)) = (fields.first(), fields.get(1)) else {
            continue;
        };
        match services.get_mut(name) {
            Some(known) => {
                if !known
                    .status
                    .as_deref()
                    .is_some_and(|s| BAD_STATES.contains(&s))
                {
                    known.status = Some(status.to_string());
                }
            }
            None => {
                let shown = run(vec![
                    systemctl.to_string(),
                    "show".into(),
                    name.to_string(),
                    "--property=ActiveState".into(),
                ]);
                let state = if shown.rc == 0 && !shown.stdout.is_empty() {
                    shown
                        .stdout
                        .replace("ActiveState=", "")
                        .trim_end()
                        .to_string()
                } else {
                    "unknown".into()
                };
                services.insert(Service {
                    name: name.to_string(),
                    state,
                    status: Some(status.to_string()),
                    source: "systemd",
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_all_parsed() {
        let found = parse_status_all(" [ + ]  ssh\n [ - ]  procps\n [ ? ]  hwclock.sh\n");
        let names: Vec<(&str, &str)> = found
            .iter()
            .map(|service| (service.name.as_str(), service.state.as_str()))
            .collect();
        assert_eq!(names, [("ssh", "running"), ("procps", "stopped")]);
    }

    #[test]
    fn units_parsed() {
        let text = "UNIT LOAD ACTIVE SUB DESCRIPTION\nssh.service loaded active running OpenBSD Secure Shell server\nfoo.service not-found inactive dead foo.service\n";
        let found = parse_units(text);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].state, "running");
        assert_eq!(found[0].status.as_deref(), Some("active"));
        assert_eq!(found[1].state, "stopped");
        assert_eq!(found[1].status.as_deref(), Some("not-found"));
    }
}
