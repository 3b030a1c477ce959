//! `platform`: system, kernel, machine, architecture, host names and machine id.

use std::ffi::CStr;

use super::util::{file_content, set};
use crate::{Map, Value};

/// The fields of `uname(2)`.
pub struct Uname {
    pub sysname: String,
    pub nodename: String,
    pub release: String,
    pub version: String,
    pub machine: String,
}

/// Calls `uname(2)`.
pub fn uname() -> Uname {
    // SAFETY: `utsname` is plain data, and uname fills it with NUL-terminated strings.
    let mut raw: libc::utsname = unsafe { std::mem::zeroed() };
    unsafe { libc::uname(&mut raw) };
    let field = |chars: &[libc::c_char]| {
        // SAFETY: the kernel terminates every field with NUL inside its array.
        unsafe { CStr::from_ptr(chars.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    Uname {
        sysname: field(&raw.sysname),
        nodename: field(&raw.nodename),
        release: field(&raw.release),
        version: field(&raw.version),
        machine: field(&raw.machine),
    }
}

pub fn collect(facts: &mut Map) {
    let uname = uname();
    set(facts, "system", uname.sysname.as_str());
    set(facts, "kernel", uname.release.as_str());
    set(facts, "kernel_version", uname.version.as_str());
    set(facts, "machine", uname.machine.as_str());
    if let Some(python) = super::python::interpreter() {
        set(facts, "python_version", python.version.as_str());
    }
    let fqdn = fqdn(&uname.nodename);
    set(facts, "fqdn", fqdn.as_str());
    let hostname = uname.nodename.split('.').next().unwrap_or_default();
    set(facts, "hostname", hostname);
    set(facts, "nodename", uname.nodename.as_str());
    let domain: Vec<&str> = fqdn.split('.').skip(1).collect();
    set(facts, "domain", domain.join("."));
    // The bits of this program, which is what Python's `platform.architecture()`
    // reports for the interpreter.
    let bits = (std::mem::size_of::<usize>() * 8).to_string();
    set(facts, "userspace_bits", bits.as_str());
    set(facts, "architecture", uname.machine.as_str());
    if uname.machine == "x86_64" {
        let userspace = if bits == "64" { "x86_64" } else { "i386" };
        set(facts, "userspace_architecture", userspace);
    }
    let machine_id =
        file_content("/var/lib/dbus/machine-id").or_else(|| file_content("/etc/machine-id"));
    if let Some(id) = machine_id {
        set(facts, "machine_id", id.lines().next().unwrap_or_default());
    }
}

/// Python's `socket.getfqdn()` for this host, resolved from `/etc/hosts`: the first
/// name containing a dot among the canonical name and aliases of the host's address,
/// else the canonical name, else `nodename`.
///
/// NOTE: only `/etc/hosts` is read; a name known only to DNS gives `nodename`.
fn fqdn(nodename: &str) -> String {
    let entries: Vec<(String, Vec<String>)> = super::util::file_lines("/etc/hosts")
        .iter()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or_default();
            let mut words = line.split_whitespace().map(str::to_string);
            let address = words.next()?;
            let names: Vec<String> = words.collect();
            (!names.is_empty()).then_some((address, names))
        })
        .collect();
    let lookup = if nodename.is_empty() {
        "localhost"
    } else {
        nodename
    };
    let Some((address, _)) = entries
        .iter()
        .find(|(_, names)| names.iter().any(|name| name == lookup))
    else {
        return nodename.to_string();
    };
    let Some((_, names)) = entries.iter().find(|(other, _)| other == address) else {
        return nodename.to_string();
    };
    names
        .iter()
        .find(|name| name.contains('.'))
        .unwrap_or(&names[0])
        .clone()
}

/// Returns a text fact that an earlier collector stored, for collectors that read it.
pub fn fact<'a>(facts: &'a Map, key: &str) -> Option<&'a str> {
    facts.get(key).and_then(Value::as_str)
}
