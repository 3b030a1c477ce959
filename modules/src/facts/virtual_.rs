//! `virtual`: whether this host is a container or virtual machine, and which.
//!
//! NOTE: containers are detected as ansible-core 2.18 does (process 1's cgroups and
//! environment, `/run/systemd/container`, Docker's marker files, OpenVZ and Xen).
//! Virtual machines are detected from the DMI product and vendor names only;
//! ansible-core also reads `/proc/cpuinfo`, `lscpu`, `/dev/kvm` and more, so a host
//! it would report as a KVM host or an unusual hypervisor's guest reports `NA` here.

use std::path::Path;

use super::util::{file_content, file_lines, set, strings};
use crate::Map;

/// DMI names of hypervisors and the virtualization type ansible-core reports for them.
const DMI_GUESTS: &[(&str, &str)] = &[
    ("KVM", "kvm"),
    ("Standard PC", "kvm"),
    ("OpenStack", "openstack"),
    ("RHEV Hypervisor", "RHEV"),
    ("RHEV", "RHEV"),
    ("VMware", "VMware"),
    ("VirtualBox", "virtualbox"),
    ("Bochs", "kvm"),
    ("QEMU", "kvm"),
    ("Amazon EC2", "kvm"),
    ("Google", "kvm"),
    ("Microsoft Corporation", "VirtualPC"),
    ("Xen", "xen"),
    ("oVirt", "oVirt"),
    ("Parallels", "parallels"),
];

pub fn collect(facts: &mut Map) {
    let mut guest: Vec<String> = Vec::new();
    let mut host: Vec<String> = Vec::new();
    let mut found: Option<(String, &str)> = None;
    let add = |tech: &str, list: &mut Vec<String>| {
        if !list.iter().any(|t| t == tech) {
            list.push(tech.to_string());
        }
    };
    let first = |found: &mut Option<(String, &str)>, kind: &str, role: &'static str| {
        if found.is_none() {
            *found = Some((kind.to_string(), role));
        }
    };
    for line in file_lines("/proc/1/cgroup") {
        if line.contains("/docker/") || is_docker_scope(&line) {
            add("docker", &mut guest);
            first(&mut found, "docker", "guest");
        }
        if line.contains("/lxc/") || line.contains("/machine.slice/machine-lxc") {
            add("lxc", &mut guest);
            first(&mut found, "lxc", "guest");
        }
        if line.contains("/system.slice/containerd.service") {
            add("containerd", &mut guest);
            first(&mut found, "containerd", "guest");
        }
    }
    let environ = std::fs::read("/proc/1/environ").unwrap_or_default();
    for entry in String::from_utf8_lossy(&environ).split('\0') {
        if entry.contains("container=lxc") {
            add("lxc", &mut guest);
            first(&mut found, "lxc", "guest");
        }
        if entry.contains("container=podman") {
            add("podman", &mut guest);
            first(&mut found, "podman", "guest");
        }
        if entry
            .strip_prefix("container=")
            .is_some_and(|v| !v.is_empty())
        {
            add("container", &mut guest);
            first(&mut found, "container", "guest");
        }
    }
    if Path::new("/proc/vz").exists() && !Path::new("/proc/lve").exists() {
        let role = if Path::new("/proc/bc").exists() {
            add("openvz", &mut host);
            "host"
        } else {
            add("openvz", &mut guest);
            "guest"
        };
        found = Some(("openvz".to_string(), found.map(|f| f.1).unwrap_or(role)));
    }
    let systemd_container = file_content("/run/systemd/container");
    if let Some(name) = &systemd_container {
        add(name, &mut guest);
        first(&mut found, name, "guest");
    }
    if Path::new("/.dockerenv").exists() || Path::new("/.dockerinit").exists() {
        add("docker", &mut guest);
        first(&mut found, "docker", "guest");
    }
    let container_techs = ["docker", "lxc", "podman", "openvz", "containerd"];
    if systemd_container.is_some() || guest.iter().any(|t| container_techs.contains(&t.as_str())) {
        add("container", &mut guest);
    }
    if found.is_none() {
        let product = file_content("/sys/devices/virtual/dmi/id/product_name").unwrap_or_default();
        let vendor = file_content("/sys/devices/virtual/dmi/id/sys_vendor").unwrap_or_default();
        for (name, kind) in DMI_GUESTS {
            if product.starts_with(name) || vendor.starts_with(name) {
                add(kind, &mut guest);
                first(&mut found, kind, "guest");
            }
        }
    }
    let (kind, role) = found.unwrap_or_else(|| ("NA".to_string(), "NA"));
    set(facts, "virtualization_type", kind.as_str());
    set(facts, "virtualization_role", role);
    set(facts, "virtualization_tech_guest", strings(&guest));
    set(facts, "virtualization_tech_host", strings(&host));
}

/// Matches `/docker-<hex>.scope`, a Docker container's systemd scope.
fn is_docker_scope(line: &str) -> bool {
    line.split("/docker-").skip(1).any(|rest| {
        rest.split_once(".scope")
            .is_some_and(|(id, _)| !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()))
    })
}
