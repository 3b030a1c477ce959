//! `user` and `env`: the identity and environment the module runs with.

use std::ffi::CStr;

use super::util::set;
use crate::{Map, Value};

/// A `passwd` entry.
struct Passwd {
    name: String,
    uid: u32,
    gid: u32,
    gecos: String,
    dir: String,
    shell: String,
}

/// Returns the name of the user with `uid`, from the password database.
pub fn user_name(uid: u32) -> Option<String> {
    passwd_by_uid(uid).map(|entry| entry.name)
}

/// Looks a user up by uid with `getpwuid_r(3)`.
fn passwd_by_uid(uid: u32) -> Option<Passwd> {
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: `entry` and `buffer` outlive the call, and on success the strings of
    // `entry` point into `buffer`, which is read before it is dropped.
    unsafe {
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            uid,
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        );
        if rc != 0 || found.is_null() {
            return None;
        }
        let text = |ptr: *const libc::c_char| {
            if ptr.is_null() {
                String::new()
            } else {
                CStr::from_ptr(ptr).to_string_lossy().into_owned()
            }
        };
        Some(Passwd {
            name: text(entry.pw_name),
            uid: entry.pw_uid,
            gid: entry.pw_gid,
            gecos: text(entry.pw_gecos),
            dir: text(entry.pw_dir),
            shell: text(entry.pw_shell),
        })
    }
}

pub fn collect(facts: &mut Map) {
    // SAFETY: getuid, geteuid and getgid take no arguments and always succeed (POSIX).
    let (uid, euid, gid) = unsafe { (libc::getuid(), libc::geteuid(), libc::getgid()) };
    let entry = passwd_by_uid(uid);
    // Python's `getpass.getuser()` reads LOGNAME, USER, LNAME and USERNAME first.
    let user_id = ["LOGNAME", "USER", "LNAME", "USERNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .or_else(|| entry.as_ref().map(|e| e.name.clone()))
        .unwrap_or_default();
    set(facts, "user_id", user_id.as_str());
    if let Some(entry) = entry {
        set(facts, "user_uid", Value::Int(entry.uid.into()));
        set(facts, "user_gid", Value::Int(entry.gid.into()));
        set(facts, "user_gecos", entry.gecos.as_str());
        set(facts, "user_dir", entry.dir.as_str());
        set(facts, "user_shell", entry.shell.as_str());
    }
    set(facts, "real_user_id", Value::Int(uid.into()));
    set(facts, "effective_user_id", Value::Int(euid.into()));
    set(facts, "real_group_id", Value::Int(gid.into()));
    // ansible-core 2.18 reports the real group id here too.
    set(facts, "effective_group_id", Value::Int(gid.into()));
}

/// `env`: the module's environment, with the task's `environment` set on top.
pub fn collect_env(facts: &mut Map, environment: &[(String, String)]) {
    let mut env: Map = std::env::vars_os()
        .map(|(key, value)| {
            (
                Value::from(key.to_string_lossy().as_ref()),
                Value::from(value.to_string_lossy().as_ref()),
            )
        })
        .collect();
    for (key, value) in environment {
        env.insert(Value::from(key.as_str()), Value::from(value.as_str()));
    }
    set(facts, "env", Value::map(env));
}
