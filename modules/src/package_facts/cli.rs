//! The package listings of the managers other than apt, read from the programs
//! ansible-core runs (`rpm`, `pacman`, `pkg`, `qlist`, `apk`, `pkg_info`) as it reads
//! them. ansible-core reads rpm's database through its Python bindings; rplay runs
//! `rpm -qa` for the same fields.

use super::details;
use crate::system::Output;
use crate::{Map, Value};

/// The fields python-rpm's header gives ansible-core, as `rpm --qf` prints them.
pub(super) const RPM_FORMAT: &str = "%{NAME}\\t%{VERSION}\\t%{RELEASE}\\t%{EPOCH}\\t%{ARCH}\\n";

/// Reads `rpm -qa` in the database's order, as python-rpm's `dbMatch` walks it. A tag
/// the package lacks (`(none)`) is None, and the epoch is a number.
pub(super) fn rpm_packages(output: Output) -> Result<Vec<Map>, String> {
    if output.rc != 0 {
        return Err(format!("rc={} : {}", output.rc, output.stderr.trim_end()));
    }
    let tag = |text: &str| match text {
        "(none)" => Value::Null,
        text => Value::from(text),
    };
    let packages = output
        .stdout
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let [name, version, release, epoch, arch] = fields[..] else {
                return None;
            };
            let epoch = epoch.parse::<i64>().map_or(Value::Null, Value::Int);
            Some(details([
                ("name", tag(name)),
                ("version", tag(version)),
                ("release", tag(release)),
                ("epoch", epoch),
                ("arch", tag(arch)),
            ]))
        })
        .collect();
    Ok(packages)
}

/// Reads one package of `pacman -Qi`: `Key   : value` lines, where a line without a key
/// continues the previous value.
pub(super) fn pacman_details(block: &str) -> Map {
    let mut raw: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        match pacman_field(line) {
            Some((key, value)) => match raw.iter_mut().find(|(known, _)| *known == key) {
                Some(entry) => entry.1 = value.to_string(),
                None => raw.push((key.to_string(), value.to_string())),
            },
            None => {
                if let Some((_, value)) = raw.last_mut() {
                    value.push_str("  ");
                    value.push_str(line.trim_start());
                }
            }
        }
    }
    let field = |key: &str| {
        raw.iter()
            .find(|(known, _)| known == key)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    let provides = match field("Provides").as_str() {
        "None" => Value::Null,
        provided => Value::list(
            provided
                .split("  ")
                .map(|item| Value::from(item.split('=').next().unwrap_or_default()))
                .collect(),
        ),
    };
    details([
        ("name", Value::from(field("Name"))),
        ("version", Value::from(field("Version"))),
        ("arch", Value::from(field("Architecture"))),
        ("provides", provides),
    ])
}

/// Matches `([\w ]*[\w]) +: (.*)` at the start of a pacman line. The key contains
/// no colon, so the first colon ends it.
fn pacman_field(line: &str) -> Option<(&str, &str)> {
    let colon = line.find(':')?;
    let value = line[colon..].strip_prefix(": ")?;
    let head = &line[..colon];
    let key = head.trim_end_matches(' ');
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let valid = key.len() < head.len()
        && key.chars().all(|c| is_word(c) || c == ' ')
        && key.chars().last().is_some_and(is_word);
    valid.then_some((key, value))
}

/// The fields of `pkg query`, in the order of its format.
const PKG_FIELDS: [&str; 9] = [
    "name",
    "version",
    "origin",
    "installed",
    "automatic",
    "arch",
    "category",
    "prefix",
    "vital",
];
pub(super) const PKG_FORMAT: &str = "%n\t%v\t%R\t%t\t%a\t%q\t%o\t%p\t%V";

/// Reads one line of `pkg query`, converted as ansible-core's `PKG` converts it.
pub(super) fn pkg_details(line: &str) -> Map {
    let mut package: Map = PKG_FIELDS
        .iter()
        .zip(line.split('\t'))
        .map(|(key, value)| (Value::from(*key), Value::from(value)))
        .collect();
    let text = |package: &Map, key: &str| package.get(key).map(crate::pyrepr::str);
    if let Some(arch) = text(&package, "arch") {
        if let Some(short) = arch.split(':').nth(2) {
            package.insert(Value::from("arch"), Value::from(short));
        }
    }
    for flag in ["automatic", "vital"] {
        if let Some(value) = text(&package, flag) {
            let set = value.trim().parse::<i64>().is_ok_and(|number| number != 0);
            package.insert(Value::from(flag), Value::Bool(set));
        }
    }
    if let Some(category) = text(&package, "category") {
        let first = category.split('/').next().unwrap_or_default().to_string();
        package.insert(Value::from("category"), Value::from(first));
    }
    if let Some(mut version) = text(&package, "version") {
        match version.clone().split_once(',') {
            Some((plain, epoch)) => {
                version = plain.to_string();
                package.insert(Value::from("port_epoch"), Value::from(epoch));
            }
            None => {
                package.insert(Value::from("port_epoch"), Value::Int(0));
            }
        }
        let revision = match version.clone().split_once('_') {
            Some((plain, revision)) => {
                version = plain.to_string();
                revision.to_string()
            }
            None => "0".to_string(),
        };
        package.insert(Value::from("version"), Value::from(version));
        package.insert(Value::from("revision"), Value::from(revision));
    }
    package
}

/// Reads one line of `qatom`: its words as category, name, version and the rest.
pub(super) fn portage_details(line: &str) -> Map {
    const ATOMS: [&str; 7] = [
        "category",
        "name",
        "version",
        "ebuild_revision",
        "slots",
        "prefixes",
        "sufixes",
    ];
    ATOMS
        .iter()
        .zip(line.split_whitespace())
        .map(|(key, value)| (Value::from(*key), Value::from(value)))
        .collect()
}

/// Reads one line of `apk info -v`: `NAME-VERSION-RELEASE`.
pub(super) fn apk_details(line: &str) -> Map {
    let parts: Vec<&str> = line.rsplitn(3, '-').collect();
    match parts[..] {
        [release, version, name] => details([
            ("name", Value::from(name)),
            ("version", Value::from(version)),
            ("release", Value::from(release)),
        ]),
        _ => details([
            ("name", Value::from(line)),
            ("version", Value::from("")),
            ("release", Value::from("")),
        ]),
    }
}

/// Reads one line of `pkg_info -a`: `NAME-VERSION  description`.
pub(super) fn pkg_info_details(line: &str) -> Map {
    let first = line.split_whitespace().next().unwrap_or_default();
    match first.rsplit_once('-') {
        Some((name, version)) => details([
            ("name", Value::from(name)),
            ("version", Value::from(version)),
        ]),
        None => details([("name", Value::from(line)), ("version", Value::from(""))]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacman_block_fields() {
        let block = "Name            : linux\nVersion         : 6.1-1\nArchitecture    : x86_64\nProvides        : KSMBD-MODULE  VIRTUALBOX-GUEST-MODULES\n                  WIREGUARD-MODULE=1.0\nLicenses        : GPL2";
        let package = pacman_details(block);
        assert_eq!(package.get("name").and_then(Value::as_str), Some("linux"));
        assert_eq!(package.get("arch").and_then(Value::as_str), Some("x86_64"));
        let provides: Vec<String> = package
            .get("provides")
            .and_then(Value::as_list)
            .unwrap_or_default()
            .iter()
            .map(crate::pyrepr::str)
            .collect();
        assert_eq!(
            provides,
            [
                "KSMBD-MODULE",
                "VIRTUALBOX-GUEST-MODULES",
                "WIREGUARD-MODULE"
            ]
        );
        assert_eq!(pacman_field("Name  : x"), Some(("Name", "x")));
        assert_eq!(pacman_field("Name: x"), None);
        assert_eq!(pacman_field("   continued"), None);
    }

    #[test]
    fn pkg_query_conversions() {
        let package = pkg_details(
            "curl\t8.5.0_1,1\tftp/curl\t1700000000\t1\tFreeBSD:14:amd64\tftp/net\t/usr/local\t0",
        );
        assert_eq!(
            package.get("version").and_then(Value::as_str),
            Some("8.5.0")
        );
        assert_eq!(package.get("revision").and_then(Value::as_str), Some("1"));
        assert_eq!(package.get("port_epoch").and_then(Value::as_str), Some("1"));
        assert_eq!(package.get("arch").and_then(Value::as_str), Some("amd64"));
        assert_eq!(package.get("category").and_then(Value::as_str), Some("ftp"));
        assert_eq!(package.get("automatic"), Some(&Value::Bool(true)));
        assert_eq!(package.get("vital"), Some(&Value::Bool(false)));
        let plain =
            pkg_details("zsh\t5.9\tshells/zsh\t1\t0\tFreeBSD:14:amd64\tshells\t/usr/local\t0");
        assert_eq!(plain.get("port_epoch"), Some(&Value::Int(0)));
        assert_eq!(plain.get("revision").and_then(Value::as_str), Some("0"));
    }

    #[test]
    fn apk_and_pkg_info_lines() {
        let apk = apk_details("musl-1.2.4-r2");
        assert_eq!(apk.get("name").and_then(Value::as_str), Some("musl"));
        assert_eq!(apk.get("version").and_then(Value::as_str), Some("1.2.4"));
        assert_eq!(apk.get("release").and_then(Value::as_str), Some("r2"));
        let odd = apk_details("odd");
        assert_eq!(odd.get("name").and_then(Value::as_str), Some("odd"));
        assert_eq!(odd.get("version").and_then(Value::as_str), Some(""));
        let info = pkg_info_details("bash-5.2.15  GNU Project's Bourne Again SHell");
        assert_eq!(info.get("name").and_then(Value::as_str), Some("bash"));
        assert_eq!(info.get("version").and_then(Value::as_str), Some("5.2.15"));
    }

    #[test]
    fn rpm_query_lines() {
        let output = Output {
            rc: 0,
            stdout: "bash\t5.1.8\t9.el9\t(none)\tx86_64\ngpg-pubkey\tfd431d51\t4ae0493b\t(none)\t(none)\nperl-Time\t1.93\t1.el9\t1\tnoarch\n".into(),
            stderr: String::new(),
        };
        let packages = rpm_packages(output).unwrap();
        assert_eq!(packages.len(), 3);
        assert_eq!(packages[0].get("epoch"), Some(&Value::Null));
        assert_eq!(packages[1].get("arch"), Some(&Value::Null));
        assert_eq!(packages[2].get("epoch"), Some(&Value::Int(1)));
    }
}
