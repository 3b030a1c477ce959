//! `gather_subset`: which collectors run, by ansible-core 2.18's rules.

/// Collectors in the order rplay runs them, with the facts each provides by name
/// (ansible-core's `_fact_ids`, which `gather_subset` accepts too).
const COLLECTORS: &[(&str, &[&str])] = &[
    (
        "platform",
        &[
            "system",
            "kernel",
            "kernel_version",
            "machine",
            "python_version",
            "architecture",
            "machine_id",
        ],
    ),
    (
        "distribution",
        &[
            "distribution_version",
            "distribution_release",
            "distribution_major_version",
            "os_family",
        ],
    ),
    ("lsb", &[]),
    ("selinux", &[]),
    ("apparmor", &[]),
    ("chroot", &["is_chroot"]),
    ("fips", &[]),
    ("python", &[]),
    (
        "caps",
        &["system_capabilities", "system_capabilities_enforced"],
    ),
    ("pkg_mgr", &[]),
    ("service_mgr", &[]),
    ("cmdline", &[]),
    ("date_time", &[]),
    ("env", &[]),
    ("loadavg", &[]),
    (
        "ssh_pub_keys",
        &[
            "ssh_host_pub_keys",
            "ssh_host_key_dsa_public",
            "ssh_host_key_rsa_public",
            "ssh_host_key_ecdsa_public",
            "ssh_host_key_ed25519_public",
        ],
    ),
    (
        "user",
        &[
            "user_id",
            "user_uid",
            "user_gid",
            "user_gecos",
            "user_dir",
            "user_shell",
            "real_user_id",
            "effective_user_id",
            "effective_group_ids",
        ],
    ),
    ("systemd", &[]),
    (
        "virtual",
        &[
            "virtualization_type",
            "virtualization_role",
            "virtualization_tech_guest",
            "virtualization_tech_host",
        ],
    ),
    (
        "hardware",
        &[
            "processor",
            "processor_cores",
            "processor_count",
            "mounts",
            "devices",
        ],
    ),
    (
        "network",
        &[
            "interfaces",
            "default_ipv4",
            "default_ipv6",
            "all_ipv4_addresses",
            "all_ipv6_addresses",
        ],
    ),
    ("dns", &[]),
    ("fibre_channel_wwn", &[]),
    ("iscsi", &[]),
    ("nvme", &[]),
    ("local", &[]),
    ("facter", &["facter"]),
    ("ohai", &[]),
];

/// The collector names, in the order they run.
pub const COLLECTION_ORDER: &[&str] = &[
    "platform",
    "distribution",
    "lsb",
    "selinux",
    "apparmor",
    "chroot",
    "fips",
    "python",
    "caps",
    "pkg_mgr",
    "service_mgr",
    "cmdline",
    "date_time",
    "env",
    "loadavg",
    "ssh_pub_keys",
    "user",
    "systemd",
    "virtual",
    "hardware",
    "network",
    "dns",
    "fibre_channel_wwn",
    "iscsi",
    "nvme",
    "local",
    "facter",
    "ohai",
];

/// ansible-core's `required_facts` of the Linux collectors.
const REQUIRES: &[(&str, &[&str])] = &[
    ("network", &["distribution", "platform"]),
    ("hardware", &["platform"]),
    ("service_mgr", &["platform", "distribution"]),
    ("pkg_mgr", &["distribution"]),
];

/// What `min` stands for: the setup module's `minimal_gather_subset`.
const MINIMAL: &[&str] = &[
    "apparmor",
    "caps",
    "cmdline",
    "date_time",
    "distribution",
    "dns",
    "env",
    "fips",
    "local",
    "lsb",
    "pkg_mgr",
    "platform",
    "python",
    "selinux",
    "service_mgr",
    "ssh_pub_keys",
    "user",
];

/// A `gather_subset` entry that names no collector.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("Bad subset '{subset}' given to Ansible. gather_subset options allowed: all, {allowed}")]
pub struct SubsetError {
    pub subset: String,
    pub allowed: String,
}

/// Every name `gather_subset` accepts besides `all` and `min`.
fn valid_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = COLLECTORS
        .iter()
        .flat_map(|(name, ids)| std::iter::once(*name).chain(ids.iter().copied()))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The collectors a name selects: the collector itself or those providing the fact.
fn collectors_for(name: &str) -> Vec<&'static str> {
    COLLECTORS
        .iter()
        .filter(|(collector, ids)| *collector == name || ids.contains(&name))
        .map(|(collector, _)| *collector)
        .collect()
}

/// Resolves a `gather_subset` list to collector names, as ansible-core's
/// `get_collector_names`: start from `min`, add each entry, remove the `!` ones
/// (`!all` keeps `min`, `!min` removes it), and keep what was named explicitly.
pub fn resolve_subsets(gather_subset: &[String]) -> Result<Vec<&'static str>, SubsetError> {
    let valid = valid_names();
    let mut added: Vec<&str> = Vec::new();
    let mut excluded: Vec<&str> = Vec::new();
    let mut explicit: Vec<&str> = Vec::new();
    let requested = if gather_subset.is_empty() {
        vec!["all".to_string()]
    } else {
        gather_subset.to_vec()
    };
    for subset in std::iter::once("min").chain(requested.iter().map(String::as_str)) {
        match subset {
            "min" => added.extend(MINIMAL),
            "all" => added.extend(&valid),
            "!min" => excluded.extend(MINIMAL),
            "!all" => excluded.extend(valid.iter().filter(|name| !MINIMAL.contains(name))),
            _ => {
                if let Some(name) = subset.strip_prefix('!') {
                    // Excluding a collector excludes the facts it provides too.
                    for (collector, ids) in COLLECTORS {
                        if *collector == name {
                            excluded.extend(ids.iter());
                        }
                    }
                    if let Some(known) = valid.iter().find(|known| **known == name) {
                        excluded.push(known);
                    }
                    continue;
                }
                let Some(known) = valid.iter().find(|known| **known == subset) else {
                    return Err(SubsetError {
                        subset: subset.to_string(),
                        allowed: valid.join(", "),
                    });
                };
                explicit.push(known);
                added.push(known);
            }
        }
    }
    if added.is_empty() {
        added.extend(&valid);
    }
    let names: Vec<&str> = added
        .into_iter()
        .filter(|name| !excluded.contains(name) || explicit.contains(name))
        .collect();
    let collectors = names.iter().flat_map(|name| collectors_for(name));
    let mut chosen: Vec<&'static str> = Vec::new();
    for collector in collectors {
        if !chosen.contains(&collector) {
            chosen.push(collector);
        }
    }
    // Collectors that read other collectors' facts bring them in, and ansible-core
    // returns the facts of those too.
    for (collector, requires) in REQUIRES {
        if chosen.contains(collector) {
            for required in *requires {
                if !chosen.contains(required) {
                    chosen.push(required);
                }
            }
        }
    }
    Ok(COLLECTION_ORDER
        .iter()
        .copied()
        .filter(|name| chosen.contains(name))
        .collect())
}
