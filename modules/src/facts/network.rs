//! `network`: interfaces from `/sys/class/net` and `ip addr`, the default routes from
//! `ip route get`, and the locally reachable addresses; also the `fibre_channel_wwn`,
//! `iscsi` and `nvme` initiator names.
//!
//! NOTE: `ethtool` features and timestamping are not read (the lab image has no
//! ethtool); Fibre Channel WWNs are always empty.

use std::net::Ipv4Addr;
use std::path::Path;

use super::util::{file_content, map, run_path, set, strings};
use crate::{Map, Value};

const IPV4_PROBE: &str = "8.8.8.8";
const IPV6_PROBE: &str = "2404:6800:400a:800::1012";

pub fn collect(facts: &mut Map) {
    let Some(ip) = super::util::bin_path("ip") else {
        return;
    };
    let mut default_ipv4 = default_route(&ip, "-4", IPV4_PROBE);
    let mut default_ipv6 = default_route(&ip, "-6", IPV6_PROBE);
    let mut interfaces: indexmap::IndexMap<String, Map> = indexmap::IndexMap::new();
    let mut all_ipv4 = Vec::new();
    let mut all_ipv6 = Vec::new();
    let devices = std::fs::read_dir("/sys/class/net")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.path().is_dir())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for device in &devices {
        let info = sysfs_interface(device);
        let macaddress = info
            .get("macaddress")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string();
        interfaces.insert(device.clone(), info);
        let mut context = AddressContext {
            device,
            macaddress: &macaddress,
            interfaces: &mut interfaces,
            default_ipv4: &mut default_ipv4,
            default_ipv6: &mut default_ipv6,
            all_ipv4: &mut all_ipv4,
            all_ipv6: &mut all_ipv6,
        };
        let ip_output = |args: &[&str]| run_path(&ip, args).filter(|output| output.rc == 0);
        let primary = ip_output(&["addr", "show", "primary", "dev", device])
            .or_else(|| ip_output(&["addr", "show", "dev", device]));
        if let Some(output) = primary {
            context.parse(&output.stdout, false);
        }
        if let Some(output) = ip_output(&["addr", "show", "secondary", "dev", device]) {
            context.parse(&output.stdout, true);
        }
    }
    let names: Vec<String> = interfaces
        .keys()
        .map(|name| name.replace(':', "_"))
        .collect();
    set(facts, "interfaces", strings(&names));
    for (name, info) in interfaces {
        set(facts, &name.replace(':', "_"), Value::map(info));
    }
    set(facts, "default_ipv4", Value::map(default_ipv4));
    set(facts, "default_ipv6", Value::map(default_ipv6));
    set(facts, "all_ipv4_addresses", strings(&all_ipv4));
    set(facts, "all_ipv6_addresses", strings(&all_ipv6));
    set(facts, "locally_reachable_ips", locally_reachable(&ip));
}

/// `interface`, `address` and `gateway` of the route to a public address.
fn default_route(ip: &Path, family: &str, probe: &str) -> Map {
    let mut route = Map::new();
    let Some(output) = run_path(ip, &[family, "route", "get", probe]) else {
        return route;
    };
    let words: Vec<&str> = output
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    if words.first() != Some(&probe) {
        return route;
    }
    for pair in words.windows(2) {
        match pair[0] {
            "dev" => set(&mut route, "interface", pair[1]),
            "src" => set(&mut route, "address", pair[1]),
            "via" if pair[1] != probe => set(&mut route, "gateway", pair[1]),
            _ => {}
        }
    }
    route
}

/// `/sys/class/net` type numbers and ansible-core's names for them.
fn interface_type(number: &str) -> &'static str {
    match number {
        "1" => "ether",
        "32" => "infiniband",
        "512" => "ppp",
        "772" => "loopback",
        "65534" => "tunnel",
        _ => "unknown",
    }
}

/// An interface's facts from `/sys/class/net/DEVICE`.
fn sysfs_interface(device: &str) -> Map {
    let path = Path::new("/sys/class/net").join(device);
    let read = |name: &str| file_content(path.join(name));
    let exists = |name: &str| path.join(name).exists();
    let mut info = map([("device", Value::from(device))]);
    if let Some(mac) = read("address").filter(|mac| mac != "00:00:00:00:00:00") {
        set(&mut info, "macaddress", mac.as_str());
    }
    if let Some(mtu) = read("mtu").and_then(|mtu| mtu.parse::<i64>().ok()) {
        set(&mut info, "mtu", Value::Int(mtu));
    }
    if exists("operstate") {
        set(
            &mut info,
            "active",
            Value::Bool(read("operstate").as_deref() != Some("down")),
        );
    }
    if let Ok(module) = std::fs::canonicalize(path.join("device/driver/module")) {
        if let Some(name) = module.file_name() {
            set(&mut info, "module", name.to_string_lossy().as_ref());
        }
    }
    if let Some(kind) = read("type") {
        set(&mut info, "type", interface_type(&kind));
    }
    if exists("bridge") {
        set(&mut info, "type", "bridge");
        let members = std::fs::read_dir(path.join("brif"))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        set(&mut info, "interfaces", strings(&members));
        if let Some(id) = read("bridge/bridge_id") {
            set(&mut info, "id", id.as_str());
        }
        if exists("bridge/stp_state") {
            set(
                &mut info,
                "stp",
                Value::Bool(read("bridge/stp_state").as_deref() == Some("1")),
            );
        }
    }
    if exists("bonding") {
        set(&mut info, "type", "bonding");
        let slaves = read("bonding/slaves").unwrap_or_default();
        set(&mut info, "slaves", strings(slaves.split_whitespace()));
        for key in ["mode", "miimon", "lacp_rate"] {
            let value = read(&format!("bonding/{key}")).unwrap_or_default();
            set(
                &mut info,
                key,
                value.split_whitespace().next().unwrap_or_default(),
            );
        }
        if let Some(primary) = read("bonding/primary") {
            set(&mut info, "primary", primary.as_str());
            if exists("bonding/all_slaves_active") {
                let active = read("bonding/all_slaves_active").as_deref() == Some("1");
                set(&mut info, "all_slaves_active", Value::Bool(active));
            }
        }
    }
    if exists("bonding_slave") {
        let perm = read("bonding_slave/perm_hwaddr").unwrap_or_default();
        set(&mut info, "perm_macaddress", perm.as_str());
    }
    if let Ok(target) = std::fs::read_link(path.join("device")) {
        if let Some(name) = target.file_name() {
            set(&mut info, "pciid", name.to_string_lossy().as_ref());
        }
    }
    if let Some(speed) = read("speed").and_then(|speed| speed.parse::<i64>().ok()) {
        set(&mut info, "speed", Value::Int(speed));
    }
    if let Some(flags) = read("flags") {
        let flags = i64::from_str_radix(flags.trim_start_matches("0x"), 16).unwrap_or(0);
        set(&mut info, "promisc", Value::Bool(flags & 0x100 > 0));
    }
    info
}

/// State shared while parsing one device's `ip addr` output.
struct AddressContext<'a> {
    device: &'a str,
    macaddress: &'a str,
    interfaces: &'a mut indexmap::IndexMap<String, Map>,
    default_ipv4: &'a mut Map,
    default_ipv6: &'a mut Map,
    all_ipv4: &'a mut Vec<String>,
    all_ipv6: &'a mut Vec<String>,
}

impl AddressContext<'_> {
    fn parse(&mut self, output: &str, secondary: bool) {
        for line in output.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.first() {
                Some(&"inet") if words.len() > 1 => self.inet(&words, secondary),
                Some(&"inet6") if words.len() > 3 => self.inet6(&words),
                _ => {}
            }
        }
    }

    fn device_info(&mut self) -> &mut Map {
        self.interfaces.entry(self.device.to_string()).or_default()
    }

    fn inet(&mut self, words: &[&str], secondary: bool) {
        let (address, prefix) = words[1].split_once('/').unwrap_or((words[1], "32"));
        let broadcast = if words.len() > 3 && words[2] == "brd" {
            words[3]
        } else {
            ""
        };
        let Ok(parsed) = address.parse::<Ipv4Addr>() else {
            return;
        };
        let length: u32 = prefix.parse().unwrap_or(32).min(32);
        let mask = if length == 0 {
            0
        } else {
            u32::MAX << (32 - length)
        };
        let netmask = Ipv4Addr::from(mask).to_string();
        let network = Ipv4Addr::from(u32::from(parsed) & mask).to_string();
        let entry = || {
            Value::map(map([
                ("address", Value::from(address)),
                ("broadcast", Value::from(broadcast)),
                ("netmask", Value::from(netmask.as_str())),
                ("network", Value::from(network.as_str())),
                ("prefix", Value::from(prefix)),
            ]))
        };
        let label = words.last().copied().unwrap_or_default().to_string();
        if label != self.device {
            self.interfaces.insert(label.clone(), Map::new());
        }
        let labelled = self.interfaces.entry(label.clone()).or_default();
        if !secondary && !labelled.contains_key("ipv4") {
            set(labelled, "ipv4", entry());
        } else {
            push(labelled, "ipv4_secondaries", entry());
        }
        if secondary {
            let own_label = label == self.device;
            let device = self.device_info();
            if !device.contains_key("ipv4_secondaries") {
                set(device, "ipv4_secondaries", Value::list(Vec::new()));
            }
            if !own_label {
                push(device, "ipv4_secondaries", entry());
            }
        }
        if self.default_ipv4.get("address").and_then(Value::as_str) == Some(address) {
            let device = self
                .interfaces
                .get(self.device)
                .cloned()
                .unwrap_or_default();
            let defaults = &mut *self.default_ipv4;
            set(defaults, "broadcast", broadcast);
            set(defaults, "netmask", netmask.as_str());
            set(defaults, "network", network.as_str());
            set(defaults, "prefix", prefix);
            set(defaults, "macaddress", self.macaddress);
            set(
                defaults,
                "mtu",
                device.get("mtu").cloned().unwrap_or_default(),
            );
            set(
                defaults,
                "type",
                device.get("type").cloned().unwrap_or("unknown".into()),
            );
            set(defaults, "alias", label.as_str());
        }
        if !address.starts_with("127.") {
            self.all_ipv4.push(address.to_string());
        }
    }

    fn inet6(&mut self, words: &[&str]) {
        let (address, prefix, scope) = if words[2] == "peer" && words.len() > 5 {
            let prefix = words[3].split_once('/').map(|p| p.1).unwrap_or_default();
            (words[1], prefix, words[5])
        } else {
            let (address, prefix) = words[1].split_once('/').unwrap_or((words[1], ""));
            (address, prefix, words[3])
        };
        let entry = map([
            ("address", Value::from(address)),
            ("prefix", Value::from(prefix)),
            ("scope", Value::from(scope)),
        ]);
        push(self.device_info(), "ipv6", Value::map(entry));
        if self.default_ipv6.get("address").and_then(Value::as_str) == Some(address) {
            let device = self
                .interfaces
                .get(self.device)
                .cloned()
                .unwrap_or_default();
            let defaults = &mut *self.default_ipv6;
            set(defaults, "prefix", prefix);
            set(defaults, "scope", scope);
            set(defaults, "macaddress", self.macaddress);
            set(
                defaults,
                "mtu",
                device.get("mtu").cloned().unwrap_or_default(),
            );
            set(
                defaults,
                "type",
                device.get("type").cloned().unwrap_or("unknown".into()),
            );
        }
        if address != "::1" {
            self.all_ipv6.push(address.to_string());
        }
    }
}

fn push(info: &mut Map, key: &str, value: Value) {
    let list = info
        .entry(Value::from(key))
        .or_insert_with(|| Value::list(Vec::new()));
    if let Some(items) = list.as_list_mut() {
        items.push(value);
    }
}

/// Addresses of the `local` routing table, by family.
fn locally_reachable(ip: &Path) -> Value {
    let mut ipv4: Vec<String> = Vec::new();
    let mut ipv6: Vec<String> = Vec::new();
    for family in ["-4", "-6"] {
        let Some(output) = run_path(ip, &[family, "route", "show", "table", "local"]) else {
            continue;
        };
        if output.rc != 0 {
            continue;
        }
        for line in output.stdout.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.len() < 2 || words[0] != "local" {
                continue;
            }
            let list = if words[1].contains(':') {
                &mut ipv6
            } else {
                &mut ipv4
            };
            if !list.iter().any(|known| known == words[1]) {
                list.push(words[1].to_string());
            }
        }
    }
    Value::map(map([("ipv4", strings(&ipv4)), ("ipv6", strings(&ipv6))]))
}

/// `fibre_channel_wwn`, `iscsi` and `nvme`: initiator names.
pub fn collect_initiators(facts: &mut Map, subsets: &[&str]) {
    if subsets.contains(&"fibre_channel_wwn") {
        set(facts, "fibre_channel_wwn", Value::list(Vec::new()));
    }
    if subsets.contains(&"iscsi") {
        let name = super::util::file_lines("/etc/iscsi/initiatorname.iscsi")
            .iter()
            .find_map(|line| {
                let line = line.trim();
                line.strip_prefix("InitiatorName=")
                    .map(|v| v.trim().to_string())
            })
            .unwrap_or_default();
        set(facts, "iscsi_iqn", name.as_str());
    }
    if subsets.contains(&"nvme") {
        let name = file_content("/etc/nvme/hostnqn").unwrap_or_default();
        set(facts, "hostnqn", name.as_str());
    }
}
