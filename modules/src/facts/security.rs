//! Restrictive-environment collectors: `selinux`, `apparmor`, `fips`, `chroot` and
//! `caps`.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::util::{file_content, map, run, set, strings};
use crate::{Map, Value};

/// `selinux` from `/sys/fs/selinux`.
///
/// ansible-core needs Python's `selinux` bindings and reports
/// `selinux_python_present`; rplay reads the kernel's files, so it always can, and
/// reports `true` as ansible-core does on a host with the bindings.
/// NOTE: on an SELinux-enabled host only `status`, `mode` and `config_mode` are read
/// (ansible-core adds the policy version and type from libselinux).
pub fn collect_selinux(facts: &mut Map) {
    set(facts, "selinux_python_present", Value::Bool(true));
    let enforce = file_content("/sys/fs/selinux/enforce");
    let selinux = match enforce {
        None => map([("status", Value::from("disabled"))]),
        Some(enforce) => {
            let mode = if enforce == "1" {
                "enforcing"
            } else {
                "permissive"
            };
            let config_mode = super::util::file_lines("/etc/selinux/config")
                .iter()
                .find_map(|line| line.trim().strip_prefix("SELINUX=").map(str::to_string))
                .unwrap_or_else(|| "unknown".to_string());
            map([
                ("status", Value::from("enabled")),
                ("mode", Value::from(mode)),
                ("config_mode", Value::from(config_mode)),
            ])
        }
    };
    set(facts, "selinux", Value::map(selinux));
}

pub fn collect_apparmor(facts: &mut Map) {
    let status = if Path::new("/sys/kernel/security/apparmor").exists() {
        "enabled"
    } else {
        "disabled"
    };
    set(
        facts,
        "apparmor",
        Value::map(map([("status", Value::from(status))])),
    );
}

pub fn collect_fips(facts: &mut Map) {
    let enabled = file_content("/proc/sys/crypto/fips_enabled").as_deref() == Some("1");
    set(facts, "fips", Value::Bool(enabled));
}

/// `is_chroot`: `debian_chroot` is set, or `/` is not process 1's root.
pub fn collect_chroot(facts: &mut Map) {
    let chroot = if std::env::var_os("debian_chroot").is_some_and(|v| !v.is_empty()) {
        Value::Bool(true)
    } else {
        match (std::fs::metadata("/"), std::fs::metadata("/proc/1/root/.")) {
            (Ok(mine), Ok(init)) => {
                Value::Bool(mine.ino() != init.ino() || mine.dev() != init.dev())
            }
            // Without access to process 1's root, a root directory that is not the
            // filesystem's first inode is a chroot.
            (Ok(mine), Err(_)) => Value::Bool(mine.ino() != 2),
            _ => Value::Null,
        }
    };
    set(facts, "is_chroot", chroot);
}

/// `caps`: the `Current:` line of `capsh --print`.
pub fn collect_caps(facts: &mut Map) {
    let mut enforced = Value::from("N/A");
    let mut capabilities = Value::from("N/A");
    if let Some(output) = run("capsh", &["--print"]).filter(|output| output.rc == 0) {
        enforced = Value::from("NA");
        capabilities = Value::list(Vec::new());
        for line in output.stdout.lines() {
            let Some(rest) = line.strip_prefix("Current:") else {
                continue;
            };
            if rest.trim() == "=ep" {
                enforced = Value::from("False");
            } else {
                enforced = Value::from("True");
                let list = line.split('=').nth(1).unwrap_or_default();
                capabilities = strings(list.split(',').map(str::trim));
            }
        }
    }
    set(facts, "system_capabilities_enforced", enforced);
    set(facts, "system_capabilities", capabilities);
}
