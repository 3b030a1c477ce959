//! `distribution` and `lsb`: the Linux distribution, from `/etc/os-release`,
//! `/etc/debian_version` and `lsb_release`.
//!
//! NOTE: ansible-core reads a list of release files through the `distro` package;
//! this reads `os-release` with Debian's special cases (the precise version from
//! `/etc/debian_version`) and maps the common `ID`s to ansible-core's names. Other
//! distributions get `os-release`'s values and no `distribution_file_*` facts.

use super::util::{file_content, file_lines, set};
use crate::{Map, Value};

/// ansible-core's distribution names for os-release `ID`s (the `distro` package's ids).
const NAMES: &[(&str, &str)] = &[
    ("debian", "Debian"),
    ("ubuntu", "Ubuntu"),
    ("raspbian", "Raspbian"),
    ("linuxmint", "Linux Mint"),
    ("kali", "Kali"),
    ("devuan", "Devuan"),
    ("centos", "CentOS"),
    ("rhel", "RedHat"),
    ("fedora", "Fedora"),
    ("rocky", "Rocky"),
    ("almalinux", "AlmaLinux"),
    ("ol", "OracleLinux"),
    ("amzn", "Amazon"),
    ("opensuse-leap", "openSUSE Leap"),
    ("opensuse-tumbleweed", "openSUSE Tumbleweed"),
    ("sles", "SLES"),
    ("arch", "Archlinux"),
    ("alpine", "Alpine"),
    ("flatcar", "Flatcar"),
    ("openEuler", "openEuler"),
    ("kylin", "Kylin Linux Advanced Server"),
];

/// ansible-core 2.18's `OS_FAMILY_MAP`, for the distributions named above and theirs.
const FAMILIES: &[(&str, &[&str])] = &[
    (
        "RedHat",
        &[
            "RedHat",
            "RHEL",
            "Fedora",
            "CentOS",
            "Scientific",
            "OracleLinux",
            "Amazon",
            "AlmaLinux",
            "Rocky",
            "openEuler",
            "Kylin Linux Advanced Server",
            "EulerOS",
            "CloudLinux",
            "Virtuozzo",
            "XenServer",
            "Alibaba",
            "TencentOS",
            "EuroLinux",
            "MIRACLE",
        ],
    ),
    (
        "Debian",
        &[
            "Debian",
            "Ubuntu",
            "Raspbian",
            "Neon",
            "KDE neon",
            "Linux Mint",
            "SteamOS",
            "Devuan",
            "Kali",
            "Cumulus Linux",
            "Pop!_OS",
            "Parrot",
            "Uos",
            "Deepin",
            "OSMC",
        ],
    ),
    (
        "Suse",
        &[
            "SuSE",
            "SLES",
            "SLED",
            "openSUSE",
            "openSUSE Tumbleweed",
            "SLES_SAP",
            "SUSE_LINUX",
            "openSUSE Leap",
            "SL-Micro",
        ],
    ),
    ("Archlinux", &["Archlinux", "Antergos", "Manjaro"]),
    ("Alpine", &["Alpine"]),
    ("Gentoo", &["Gentoo", "Funtoo"]),
];

/// Parses `KEY=value` lines, unquoting values.
fn os_release(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.trim().split_once('=')?;
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            Some((key.to_string(), value.to_string()))
        })
        .collect()
}

pub fn collect(facts: &mut Map) {
    let uname = super::platform::uname();
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    let fields = os_release(&text);
    let field = |key: &str| {
        fields
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let Some(id) = field("ID") else {
        set(facts, "distribution", uname.sysname.as_str());
        set(facts, "distribution_release", uname.release.as_str());
        set(facts, "distribution_version", uname.version.as_str());
        set(facts, "os_family", uname.sysname.as_str());
        return;
    };
    let name = NAMES
        .iter()
        .find(|(known, _)| *known == id)
        .map(|(_, name)| name.to_string())
        .unwrap_or_else(|| field("NAME").unwrap_or(id.clone()));
    let mut version = field("VERSION_ID").unwrap_or_default();
    let mut minor = version.split('.').nth(1).map(str::to_string);
    let mut release = field("VERSION_CODENAME")
        .or_else(|| field("UBUNTU_CODENAME"))
        .filter(|codename| !codename.is_empty())
        .unwrap_or_else(|| "NA".to_string());
    if name == "Debian" {
        // The `distro` package takes the most precise version, which is
        // /etc/debian_version's `12.15` rather than os-release's `12`.
        if let Some(debian) = file_content("/etc/debian_version") {
            if let Some((major, rest)) = debian.split_once('.') {
                let minor_digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                if major.chars().all(|c| c.is_ascii_digit()) && !minor_digits.is_empty() {
                    version = format!("{major}.{minor_digits}");
                    minor = Some(minor_digits);
                }
            }
        }
        if let Some(pretty) = field("PRETTY_NAME") {
            if let Some(codename) = pretty_release(&pretty) {
                release = codename;
            }
        }
        set(facts, "distribution_file_path", "/etc/os-release");
        set(facts, "distribution_file_variety", "Debian");
        set(facts, "distribution_file_parsed", Value::Bool(true));
    }
    let major = version.split('.').next().unwrap_or_default().to_string();
    set(facts, "distribution", name.as_str());
    set(facts, "distribution_release", release.as_str());
    set(facts, "distribution_version", version.as_str());
    set(facts, "distribution_major_version", major.as_str());
    if let Some(minor) = minor {
        set(facts, "distribution_minor_version", minor.as_str());
    }
    set(facts, "os_family", family(&name));
}

/// The word in parentheses of `PRETTY_NAME`: `bookworm` in `Debian GNU/Linux 12 (bookworm)`.
fn pretty_release(pretty: &str) -> Option<String> {
    let open = pretty.find('(')?;
    let close = pretty[open..].find(')')? + open;
    let inner = pretty[open + 1..close].trim();
    (!inner.is_empty()).then(|| inner.to_string())
}

fn family(name: &str) -> &str {
    FAMILIES
        .iter()
        .find(|(_, names)| names.contains(&name))
        .map(|(family, _)| *family)
        .unwrap_or(name)
}

/// `lsb`: `lsb_release -a`, else `/etc/lsb-release`.
pub fn collect_lsb(facts: &mut Map) {
    let mut lsb: Vec<(&str, String)> = Vec::new();
    let put = |lsb: &mut Vec<(&str, String)>, key: &'static str, value: &str| {
        lsb.retain(|(k, _)| *k != key);
        lsb.push((key, value.to_string()));
    };
    let output = super::util::run("lsb_release", &["-a"]).filter(|output| output.rc == 0);
    if let Some(output) = &output {
        for line in output.stdout.lines() {
            let Some((label, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match label {
                "LSB Version" | "Release" => put(&mut lsb, "release", value),
                "Distributor ID" => put(&mut lsb, "id", value),
                "Description" => put(&mut lsb, "description", value),
                "Codename" => put(&mut lsb, "codename", value),
                _ => {}
            }
        }
    }
    if lsb.is_empty() {
        for line in file_lines("/etc/lsb-release") {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim();
            match key {
                "DISTRIB_ID" => put(&mut lsb, "id", value),
                "DISTRIB_RELEASE" => put(&mut lsb, "release", value),
                "DISTRIB_DESCRIPTION" => put(&mut lsb, "description", value),
                "DISTRIB_CODENAME" => put(&mut lsb, "codename", value),
                _ => {}
            }
        }
    }
    if let Some((_, release)) = lsb.iter().find(|(key, _)| *key == "release") {
        let major = release.split('.').next().unwrap_or_default().to_string();
        lsb.push(("major_release", major));
    }
    let lsb: Map = lsb
        .into_iter()
        .map(|(key, value)| {
            let value = value.trim_matches(|c| c == '"' || c == '\'' || c == '\\');
            (Value::from(key), Value::from(value))
        })
        .collect();
    set(facts, "lsb", Value::map(lsb));
}
