//! Small system collectors: `cmdline`, `dns`, `loadavg`, `ssh_pub_keys`, `pkg_mgr`,
//! `service_mgr` and `systemd`.

use std::path::Path;

use super::platform::fact;
use super::util::{file_content, map, run, set, strings};
use crate::{Map, Value};

/// `cmdline` and `proc_cmdline`: `/proc/cmdline` as a mapping; `proc_cmdline` keeps
/// every value of a repeated key as a list.
pub fn collect_cmdline(facts: &mut Map) {
    let Some(data) = file_content("/proc/cmdline") else {
        return;
    };
    let mut cmdline = Map::new();
    let mut proc_cmdline = Map::new();
    for piece in split_keeping_quotes(&data) {
        let (key, value) = match piece.split_once('=') {
            Some((key, value)) => (key, Value::from(value)),
            None => (piece.as_str(), Value::Bool(true)),
        };
        let key = Value::from(key);
        cmdline.insert(key.clone(), value.clone());
        match (proc_cmdline.get_mut(&key), value) {
            (Some(Value::List(values)), value @ Value::Str(_)) => {
                std::sync::Arc::make_mut(values).push(value)
            }
            (Some(existing), value @ Value::Str(_)) if !matches!(existing, Value::Bool(_)) => {
                *existing = Value::list(vec![existing.clone(), value]);
            }
            (_, value) => {
                proc_cmdline.insert(key, value);
            }
        }
    }
    set(facts, "cmdline", Value::map(cmdline));
    set(facts, "proc_cmdline", Value::map(proc_cmdline));
}

/// Python's `shlex.split(text, posix=False)`: words split on whitespace, with quoted
/// parts (quotes kept) joined to their word.
fn split_keeping_quotes(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) => {
                word.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => {
                word.push(c);
                quote = Some(c);
            }
            None if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            None => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// `dns`: `/etc/resolv.conf`.
pub fn collect_dns(facts: &mut Map) {
    let mut dns = Map::new();
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    for line in text.lines() {
        if line.starts_with('#') || line.starts_with(';') || line.trim().is_empty() {
            continue;
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        match tokens[0] {
            "nameserver" => {
                let entry = dns
                    .entry(Value::from("nameservers"))
                    .or_insert_with(|| Value::list(Vec::new()));
                if let Some(list) = entry.as_list_mut() {
                    list.extend(tokens[1..].iter().map(|t| Value::from(*t)));
                }
            }
            "domain" if tokens.len() > 1 => {
                dns.insert(Value::from("domain"), Value::from(tokens[1]));
            }
            "search" | "sortlist" => {
                dns.insert(Value::from(tokens[0]), strings(&tokens[1..]));
            }
            "options" => {
                let options: Map = tokens[1..]
                    .iter()
                    .map(|option| match option.split_once(':') {
                        Some((key, value)) if !value.is_empty() => {
                            (Value::from(key), Value::from(value))
                        }
                        Some((key, _)) => (Value::from(key), Value::Bool(true)),
                        None => (Value::from(*option), Value::Bool(true)),
                    })
                    .collect();
                dns.insert(Value::from("options"), Value::map(options));
            }
            _ => {}
        }
    }
    set(facts, "dns", Value::map(dns));
}

/// `loadavg`: `getloadavg(3)`, as Python's `os.getloadavg()`.
pub fn collect_loadavg(facts: &mut Map) {
    let mut loads = [0f64; 3];
    // SAFETY: the buffer holds the 3 values requested.
    let count = unsafe { libc::getloadavg(loads.as_mut_ptr(), 3) };
    if count != 3 {
        return;
    }
    let loadavg = map([
        ("1m", Value::Float(loads[0])),
        ("5m", Value::Float(loads[1])),
        ("15m", Value::Float(loads[2])),
    ]);
    set(facts, "loadavg", Value::map(loadavg));
}

/// `ssh_pub_keys`: the host's public keys, from the first directory holding each.
pub fn collect_ssh_pub_keys(facts: &mut Map) {
    for dir in ["/etc/ssh", "/etc/openssh", "/etc"] {
        for algorithm in ["dsa", "rsa", "ecdsa", "ed25519"] {
            let name = format!("ssh_host_key_{algorithm}_public");
            if facts.contains_key(name.as_str()) {
                continue;
            }
            let Some(data) = file_content(format!("{dir}/ssh_host_{algorithm}_key.pub")) else {
                continue;
            };
            let mut words = data.split_whitespace();
            if let (Some(keytype), Some(key)) = (words.next(), words.next()) {
                set(facts, &name, key);
                set(facts, &format!("{name}_keytype"), keytype);
            }
        }
    }
}

/// Package managers by executable, in ansible-core 2.18's `PKG_MGRS` order.
const PACKAGE_MANAGERS: &[(&str, &str)] = &[
    ("/usr/bin/rpm-ostree", "atomic_container"),
    ("/usr/bin/yum", "yum"),
    ("/usr/bin/dnf", "dnf"),
    ("/usr/bin/dnf5", "dnf5"),
    ("/usr/bin/apt-get", "apt"),
    ("/usr/bin/zypper", "zypper"),
    ("/usr/sbin/urpmi", "urpmi"),
    ("/usr/bin/pacman", "pacman"),
    ("/bin/opkg", "opkg"),
    ("/usr/pkg/bin/pkgin", "pkgin"),
    ("/opt/local/bin/pkgin", "pkgin"),
    ("/opt/tools/bin/pkgin", "pkgin"),
    ("/opt/local/bin/port", "macports"),
    ("/usr/local/bin/brew", "homebrew"),
    ("/opt/homebrew/bin/brew", "homebrew"),
    ("/sbin/apk", "apk"),
    ("/usr/sbin/pkg", "pkgng"),
    ("/usr/sbin/swlist", "swdepot"),
    ("/usr/bin/emerge", "portage"),
    ("/usr/sbin/pkgadd", "svr4pkg"),
    ("/usr/bin/pkg", "pkg5"),
    ("/usr/bin/xbps-install", "xbps"),
    ("/usr/local/sbin/pkg", "pkgng"),
    ("/usr/bin/swupd", "swupd"),
    ("/usr/sbin/sorcery", "sorcery"),
    ("/usr/bin/installp", "installp"),
    ("/QOpenSys/pkgs/bin/yum", "yum"),
];

/// `pkg_mgr`: the package manager, decided by the OS family first.
pub fn collect_pkg_mgr(facts: &mut Map) {
    let family = fact(facts, "os_family").unwrap_or_default().to_string();
    let mut name = PACKAGE_MANAGERS
        .iter()
        .filter(|(path, _)| Path::new(path).exists())
        .map(|(_, name)| *name)
        .next_back()
        .unwrap_or("unknown")
        .to_string();
    if family == "RedHat" {
        name = if Path::new("/usr/bin/dnf").exists() {
            "dnf".into()
        } else {
            "yum".into()
        };
    } else if family == "Debian" {
        name = if Path::new("/usr/bin/rpm").exists() && !Path::new("/usr/bin/dpkg").exists() {
            "apt_rpm".into()
        } else {
            "apt".into()
        };
    } else if family == "Altlinux" {
        name = "apt_rpm".into();
    }
    set(facts, "pkg_mgr", name.as_str());
}

/// Whether systemd runs this host: one of its runtime directories exists.
pub fn systemd_managed() -> bool {
    Path::new("/sbin/init").exists()
        && [
            "/run/systemd/system/",
            "/dev/.run/systemd/",
            "/dev/.systemd/",
        ]
        .iter()
        .any(|dir| Path::new(dir).exists())
}

/// `service_mgr`: the init system, from the name of process 1.
pub fn collect_service_mgr(facts: &mut Map) {
    let mut process_one = file_content("/proc/1/comm");
    if process_one.is_none() {
        process_one = std::fs::read_link("/sbin/init")
            .ok()
            .map(|target| target.to_string_lossy().into_owned());
    }
    let process_one = process_one
        .map(|name| {
            Path::new(&name)
                .file_name()
                .map(|base| base.to_string_lossy().trim().to_string())
                .unwrap_or_default()
        })
        .filter(|name| name != "init" && !name.ends_with("sh"));
    let name = match process_one.as_deref() {
        Some("procd") => "openwrt_init".to_string(),
        Some("runit-init") => "runit".to_string(),
        Some("svscan") => "svc".to_string(),
        Some("openrc-init") => "openrc".to_string(),
        Some(other) => other.to_string(),
        None if systemd_managed() => "systemd".to_string(),
        None if Path::new("/sbin/openrc").exists() => "openrc".to_string(),
        None if Path::new("/etc/init.d/").exists() => "sysvinit".to_string(),
        None => "service".to_string(),
    };
    set(facts, "service_mgr", name.as_str());
}

/// `systemd`: `systemctl --version` on hosts systemd runs.
pub fn collect_systemd(facts: &mut Map) {
    if !systemd_managed() {
        return;
    }
    let Some(output) = run("systemctl", &["--version"]).filter(|output| output.rc == 0) else {
        return;
    };
    let features = output.stdout.split('\n').nth(1).unwrap_or_default();
    let version = output
        .stdout
        .split(' ')
        .nth(1)
        .and_then(|word| word.trim().parse::<i64>().ok());
    let Some(version) = version else {
        return;
    };
    let systemd = map([
        ("features", Value::from(features)),
        ("version", Value::Int(version)),
    ]);
    set(facts, "systemd", Value::map(systemd));
}
