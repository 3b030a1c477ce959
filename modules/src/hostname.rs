//! The `hostname` module on Linux: `hostnamectl` where systemd manages the host (or with
//! `use: systemd`/`debian`), else `/etc/hostname` as the Debian strategy does.

use crate::dispatch::ModuleOptions;
use crate::files::Failure;
use crate::spec::{Kind, ModuleSpec, OptionSpec, Params};
use crate::system;
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "hostname",
    &[
        OptionSpec::new("name", Kind::Str).required(),
        OptionSpec::new("use", Kind::Str).choices(&[
            "alpine", "debian", "freebsd", "generic", "macos", "macosx", "darwin", "openbsd",
            "openrc", "redhat", "sles", "solaris", "systemd",
        ]),
    ],
);

/// How the host name is read and written.
enum Strategy {
    /// `hostnamectl`, for the transient and the static name.
    Systemd(String),
    /// `/etc/hostname` is the permanent name and also stands for the current one.
    File,
}

impl Strategy {
    fn choose(params: &Params) -> Result<Strategy, Failure> {
        match params.str("use") {
            Some("systemd" | "debian") => Ok(Strategy::Systemd(system::bin_path("hostnamectl")?)),
            // NOTE: the other strategies of ansible-core (RedHat, OpenRC, BSDs, ...) are
            // not implemented.
            Some(other) => Err(Failure::new(format!(
                "rplay's hostname module does not implement the '{other}' strategy"
            ))),
            None if system::is_systemd_managed() => {
                Ok(Strategy::Systemd(system::bin_path("hostnamectl")?))
            }
            None => Ok(Strategy::File),
        }
    }

    fn current(&self, options: &ModuleOptions) -> Result<String, Failure> {
        match self {
            Strategy::Systemd(command) => hostnamectl(command, &["--transient", "status"], options),
            Strategy::File => self.permanent(options),
        }
    }

    fn permanent(&self, options: &ModuleOptions) -> Result<String, Failure> {
        match self {
            Strategy::Systemd(command) => hostnamectl(command, &["--static", "status"], options),
            Strategy::File => {
                if !std::path::Path::new(HOSTNAME_FILE).is_file() {
                    return Ok(String::new());
                }
                std::fs::read_to_string(HOSTNAME_FILE)
                    .map(|text| text.trim().to_string())
                    .map_err(|err| {
                        Failure::new(format!(
                            "failed to read hostname: {}",
                            crate::files::os_error(&err)
                        ))
                    })
            }
        }
    }

    fn set_current(&self, name: &str, options: &ModuleOptions) -> Result<(), Failure> {
        match self {
            Strategy::Systemd(command) => {
                check_length(name)?;
                hostnamectl(command, &["--transient", "set-hostname", name], options).map(|_| ())
            }
            Strategy::File => Ok(()),
        }
    }

    fn set_permanent(&self, name: &str, options: &ModuleOptions) -> Result<(), Failure> {
        match self {
            Strategy::Systemd(command) => {
                check_length(name)?;
                let args = ["--pretty", "--static", "set-hostname", name];
                hostnamectl(command, &args, options).map(|_| ())
            }
            Strategy::File => std::fs::write(HOSTNAME_FILE, format!("{name}\n")).map_err(|err| {
                Failure::new(format!(
                    "failed to update hostname: {}",
                    crate::files::os_error(&err)
                ))
            }),
        }
    }

    /// Updates both names; systemd gets the permanent one first, as ansible-core does.
    fn update(&self, name: &str, options: &ModuleOptions) -> Result<bool, Failure> {
        let mut changed = false;
        let order: [bool; 2] = match self {
            Strategy::Systemd(_) => [true, false],
            Strategy::File => [false, true],
        };
        for permanent in order {
            let current = if permanent {
                self.permanent(options)?
            } else {
                self.current(options)?
            };
            if current == name {
                continue;
            }
            changed = true;
            if options.check_mode {
                continue;
            }
            if permanent {
                self.set_permanent(name, options)?;
            } else {
                self.set_current(name, options)?;
            }
        }
        Ok(changed)
    }
}

const HOSTNAME_FILE: &str = "/etc/hostname";

fn check_length(name: &str) -> Result<(), Failure> {
    if name.chars().count() > 64 {
        return Err(Failure::new(
            "name cannot be longer than 64 characters on systemd servers, try a shorter name",
        ));
    }
    Ok(())
}

fn hostnamectl(command: &str, args: &[&str], options: &ModuleOptions) -> Result<String, Failure> {
    let mut argv = vec![command.to_string()];
    argv.extend(args.iter().map(|arg| arg.to_string()));
    let output = system::run(&argv, options);
    if output.rc != 0 {
        return Err(Failure::new(format!(
            "Command failed rc={}, out={}, err={}",
            output.rc, output.stdout, output.stderr
        )));
    }
    Ok(output.stdout.trim().to_string())
}

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    match run_checked(params, options) {
        Ok(result) => result,
        Err(failure) => failure.into_result(),
    }
}

fn run_checked(params: &Params, options: &ModuleOptions) -> Result<Map, Failure> {
    let name = params.string("name").unwrap_or_default();
    let strategy = Strategy::choose(params)?;
    let current = strategy.current(options)?;
    let permanent = strategy.permanent(options)?;
    let changed = strategy.update(&name, options)?;
    let before = if name != current { current } else { permanent };
    let fqdn = fqdn();
    let mut facts = Map::new();
    let short = name.split('.').next().unwrap_or_default();
    facts.insert(Value::from("ansible_hostname"), Value::from(short));
    facts.insert(Value::from("ansible_nodename"), Value::from(name.as_str()));
    facts.insert(Value::from("ansible_fqdn"), Value::from(fqdn.as_str()));
    let domain = fqdn.split_once('.').map_or("", |(_, domain)| domain);
    facts.insert(Value::from("ansible_domain"), Value::from(domain));
    let mut result = Map::new();
    result.insert(Value::from("changed"), Value::Bool(changed));
    result.insert(Value::from("name"), Value::from(name.as_str()));
    result.insert(Value::from("ansible_facts"), Value::map(facts));
    if changed {
        let mut diff = Map::new();
        diff.insert(
            Value::from("after"),
            Value::from(format!("hostname = {name}\n")),
        );
        diff.insert(
            Value::from("before"),
            Value::from(format!("hostname = {before}\n")),
        );
        result.insert(Value::from("diff"), Value::map(diff));
    }
    Ok(result)
}

/// Python's `socket.getfqdn()`: the first name with a dot among the host name's entry
/// in `/etc/hosts`, else the host name.
///
/// NOTE: only `/etc/hosts` is consulted; Python asks the resolver, which may also use DNS.
fn fqdn() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_string();
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    fqdn_from_hosts(&host, &hosts)
}

fn fqdn_from_hosts(host: &str, hosts: &str) -> String {
    for line in hosts.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let names: Vec<&str> = line.split_whitespace().skip(1).collect();
        if names.contains(&host) {
            return names
                .iter()
                .find(|name| name.contains('.'))
                .unwrap_or(&host)
                .to_string();
        }
    }
    host.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fqdn_from_hosts_file() {
        let hosts = "127.0.0.1 localhost\n127.0.1.1 node1.cluster.local node1\n";
        assert_eq!(fqdn_from_hosts("node1", hosts), "node1.cluster.local");
        assert_eq!(fqdn_from_hosts("other", hosts), "other");
        assert_eq!(fqdn_from_hosts("localhost", hosts), "localhost");
    }
}
