//! `hardware`: processors, memory, DMI, block devices, uptime, LVM and mounts, read
//! from `/proc` and `/sys` as ansible-core 2.18's Linux collector reads them.
//!
//! NOTE: LVM volumes are not read: hosts with `vgs` report `lvm: N/A` only when not
//! root in ansible-core, and always here. Partition UUIDs and `sg_inq` serials are
//! not read either.

use std::collections::BTreeMap;
use std::path::Path;

use super::platform::fact;
use super::util::{file_content, file_lines, map, run, set, strings};
use crate::{Map, Value};

pub fn collect(facts: &mut Map) {
    collect_cpu(facts);
    collect_memory(facts);
    collect_dmi(facts);
    collect_devices(facts);
    if let Some(uptime) = file_content("/proc/uptime") {
        let seconds = uptime.split(' ').next().unwrap_or_default();
        if let Ok(seconds) = seconds.parse::<f64>() {
            set(facts, "uptime_seconds", Value::Int(seconds as i64));
        }
    }
    set(facts, "lvm", "N/A");
    collect_mounts(facts);
}

fn collect_cpu(facts: &mut Map) {
    let lines = file_lines("/proc/cpuinfo");
    if lines.is_empty() {
        return;
    }
    let mut processor = Vec::new();
    let (mut count, mut vendor_ids, mut model_names, mut processors) = (0i64, 0, 0, 0i64);
    let mut sockets: Vec<(String, i64)> = Vec::new();
    let mut cores: Vec<(String, i64)> = Vec::new();
    let (mut physical_id, mut core_id) = (String::from("0"), String::from("0"));
    for line in &lines {
        let (key, value) = match line.split_once(':') {
            Some((key, value)) => (key.trim(), value.trim()),
            None => (line.trim(), ""),
        };
        match key {
            "flags" => set(facts, "flags", strings(value.split_whitespace())),
            "model name" | "Processor" | "vendor_id" | "cpu" | "Vendor" | "processor" => {
                processor.push(Value::from(value));
                match key {
                    "vendor_id" => vendor_ids += 1,
                    "model name" => model_names += 1,
                    "processor" => processors += 1,
                    _ => {}
                }
                count += 1;
            }
            "physical id" => {
                physical_id = value.to_string();
                if !sockets.iter().any(|(id, _)| *id == physical_id) {
                    sockets.push((physical_id.clone(), 1));
                }
            }
            "core id" => {
                core_id = value.to_string();
                if !sockets.iter().any(|(id, _)| *id == core_id) {
                    upsert(&mut cores, &core_id, 1);
                }
            }
            "cpu cores" => upsert(&mut sockets, &physical_id, value.parse().unwrap_or(0)),
            "siblings" => upsert(&mut cores, &core_id, value.parse().unwrap_or(0)),
            _ => {}
        }
    }
    if vendor_ids > 0 && vendor_ids == model_names {
        count = vendor_ids;
    }
    let architecture = fact(facts, "architecture").unwrap_or_default();
    if ["armv", "aarch", "ppc"]
        .iter()
        .any(|p| architecture.starts_with(p))
    {
        count = processors;
    }
    set(facts, "processor", Value::list(processor));
    let socket_count = if sockets.is_empty() {
        count
    } else {
        sockets.len() as i64
    };
    let per_socket = sockets
        .first()
        .map(|s| s.1)
        .filter(|n| *n != 0)
        .unwrap_or(1);
    let threads = match cores.first() {
        Some((_, siblings)) => python_round(*siblings as f64 / per_socket as f64),
        None => python_round(1.0 / per_socket as f64),
    };
    set(facts, "processor_count", Value::Int(socket_count));
    set(facts, "processor_cores", Value::Int(per_socket));
    set(facts, "processor_threads_per_core", Value::Int(threads));
    set(
        facts,
        "processor_vcpus",
        Value::Int(threads * socket_count * per_socket),
    );
    set(
        facts,
        "processor_nproc",
        Value::Int(affinity_cpus().unwrap_or(processors)),
    );
}

fn upsert(entries: &mut Vec<(String, i64)>, key: &str, value: i64) {
    match entries.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = value,
        None => entries.push((key.to_string(), value)),
    }
}

/// Python's `round()` of a non-negative number: halves go to the even neighbour.
fn python_round(value: f64) -> i64 {
    let rounded = value.round();
    if (value - value.trunc() - 0.5).abs() < f64::EPSILON && rounded as i64 % 2 != 0 {
        return rounded as i64 - 1;
    }
    rounded as i64
}

/// The CPUs this process may run on, as `os.sched_getaffinity(0)`.
fn affinity_cpus() -> Option<i64> {
    // SAFETY: `set` is plain data that sched_getaffinity fills.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        Some(libc::CPU_COUNT(&set) as i64)
    }
}

fn collect_memory(facts: &mut Map) {
    let mut stats: BTreeMap<String, i64> = BTreeMap::new();
    for line in file_lines("/proc/meminfo") {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let kib: i64 = rest
            .trim()
            .split(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if matches!(key, "MemTotal" | "SwapTotal" | "MemFree" | "SwapFree") {
            set(
                facts,
                &format!("{}_mb", key.to_lowercase()),
                Value::Int(kib / 1024),
            );
        }
        if matches!(
            key,
            "MemTotal" | "SwapTotal" | "MemFree" | "SwapFree" | "Buffers" | "Cached" | "SwapCached"
        ) {
            stats.insert(key.to_lowercase(), kib / 1024);
        }
    }
    if stats.is_empty() {
        return;
    }
    let get = |key: &str| stats.get(key).copied();
    let value = |v: Option<i64>| v.map(Value::Int).unwrap_or(Value::Null);
    let real_used = get("memtotal").zip(get("memfree")).map(|(t, f)| t - f);
    let nocache_free = match (get("cached"), get("memfree"), get("buffers")) {
        (Some(c), Some(f), Some(b)) => Some(c + f + b),
        _ => None,
    };
    let nocache_used = get("memtotal").zip(nocache_free).map(|(t, f)| t - f);
    let swap_used = get("swaptotal").zip(get("swapfree")).map(|(t, f)| t - f);
    let memory = map([
        (
            "real",
            Value::map(map([
                ("total", value(get("memtotal"))),
                ("used", value(real_used)),
                ("free", value(get("memfree"))),
            ])),
        ),
        (
            "nocache",
            Value::map(map([
                ("free", value(nocache_free)),
                ("used", value(nocache_used)),
            ])),
        ),
        (
            "swap",
            Value::map(map([
                ("total", value(get("swaptotal"))),
                ("free", value(get("swapfree"))),
                ("used", value(swap_used)),
                ("cached", value(get("swapcached"))),
            ])),
        ),
    ]);
    set(facts, "memory_mb", Value::map(memory));
}

/// DMI facts and their files under `/sys/devices/virtual/dmi/id`.
const DMI_FILES: &[(&str, &str)] = &[
    ("bios_date", "bios_date"),
    ("bios_vendor", "bios_vendor"),
    ("bios_version", "bios_version"),
    ("board_asset_tag", "board_asset_tag"),
    ("board_name", "board_name"),
    ("board_serial", "board_serial"),
    ("board_vendor", "board_vendor"),
    ("board_version", "board_version"),
    ("chassis_asset_tag", "chassis_asset_tag"),
    ("chassis_serial", "chassis_serial"),
    ("chassis_vendor", "chassis_vendor"),
    ("chassis_version", "chassis_version"),
    ("form_factor", "chassis_type"),
    ("product_name", "product_name"),
    ("product_serial", "product_serial"),
    ("product_uuid", "product_uuid"),
    ("product_version", "product_version"),
    ("system_vendor", "sys_vendor"),
];

/// SMBIOS chassis types, by number.
const FORM_FACTORS: &[&str] = &[
    "Unknown",
    "Other",
    "Unknown",
    "Desktop",
    "Low Profile Desktop",
    "Pizza Box",
    "Mini Tower",
    "Tower",
    "Portable",
    "Laptop",
    "Notebook",
    "Hand Held",
    "Docking Station",
    "All In One",
    "Sub Notebook",
    "Space-saving",
    "Lunch Box",
    "Main Server Chassis",
    "Expansion Chassis",
    "Sub Chassis",
    "Bus Expansion Chassis",
    "Peripheral Chassis",
    "RAID Chassis",
    "Rack Mount Chassis",
    "Sealed-case PC",
    "Multi-system",
    "CompactPCI",
    "AdvancedTCA",
    "Blade",
    "Blade Enclosure",
    "Tablet",
    "Convertible",
    "Detachable",
    "IoT Gateway",
    "Embedded PC",
    "Mini PC",
    "Stick PC",
];

/// DMI facts from sysfs.
///
/// NOTE: without `/sys/devices/virtual/dmi`, ansible-core runs `dmidecode`; this
/// reports `NA` for every DMI fact then.
fn collect_dmi(facts: &mut Map) {
    let base = Path::new("/sys/devices/virtual/dmi/id");
    let present = base.join("product_name").exists();
    for (key, file) in DMI_FILES {
        let data = if present {
            file_content(base.join(file))
        } else {
            None
        };
        let value = match (data, *key) {
            (Some(data), "form_factor") => match data.parse::<usize>() {
                Ok(number) if number < FORM_FACTORS.len() => FORM_FACTORS[number].to_string(),
                _ => format!("unknown ({data})"),
            },
            (Some(data), _) => data,
            (None, _) => "NA".to_string(),
        };
        set(facts, key, value.as_str());
    }
}

/// ansible-core's `bytes_to_human`: two decimals and the largest binary unit that fits.
pub fn bytes_to_human(size: f64) -> String {
    const UNITS: &[(&str, u32)] = &[
        ("Y", 80),
        ("Z", 70),
        ("E", 60),
        ("P", 50),
        ("T", 40),
        ("G", 30),
        ("M", 20),
        ("K", 10),
    ];
    for (unit, shift) in UNITS {
        let limit = 2f64.powi(*shift as i32);
        if size >= limit {
            return format!("{:.2} {unit}B", size / limit);
        }
    }
    format!("{size:.2} Bytes")
}

/// Names in a directory, in the order the kernel lists them (as `os.listdir`).
fn list_dir(path: impl AsRef<Path>) -> Vec<String> {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `link name -> sorted link names` for the symlinks of a `/dev/disk/by-*` directory,
/// keyed by the device they point to.
fn device_links(dir: &str) -> BTreeMap<String, Vec<String>> {
    let mut links: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in list_dir(dir) {
        if let Ok(target) = std::fs::read_link(Path::new(dir).join(&entry)) {
            let device = target
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            links.entry(device).or_default().push(entry);
        }
    }
    for names in links.values_mut() {
        names.sort();
        names.dedup();
    }
    links
}

fn links_value(links: &BTreeMap<String, Vec<String>>) -> Value {
    Value::map(
        links
            .iter()
            .map(|(device, names)| (Value::from(device.as_str()), strings(names)))
            .collect(),
    )
}

fn collect_devices(facts: &mut Map) {
    let blocks = match std::fs::read_dir("/sys/block") {
        Ok(_) => list_dir("/sys/block"),
        Err(_) => return,
    };
    let mut masters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for block in &blocks {
        for slave in list_dir(format!("/sys/block/{block}/slaves")) {
            masters.entry(slave).or_default().push(block.clone());
        }
    }
    let all_links = [
        ("ids", device_links("/dev/disk/by-id")),
        ("uuids", device_links("/dev/disk/by-uuid")),
        ("labels", device_links("/dev/disk/by-label")),
        ("masters", masters),
    ];
    let device_links_fact: Map = all_links
        .iter()
        .map(|(kind, links)| (Value::from(*kind), links_value(links)))
        .collect();
    let links_of = |name: &str| -> Value {
        Value::map(
            all_links
                .iter()
                .map(|(kind, links)| {
                    let names = links.get(name).cloned().unwrap_or_default();
                    (Value::from(*kind), strings(names))
                })
                .collect(),
        )
    };
    let mut devices = Map::new();
    for block in &blocks {
        let sysdir = format!("/sys/block/{block}");
        let virtual_device = if std::fs::read_link(&sysdir).is_ok() {
            1
        } else if list_dir(&sysdir).iter().any(|name| name.contains("device")) {
            0
        } else {
            1
        };
        let mut device = Map::new();
        set(&mut device, "virtual", Value::Int(virtual_device));
        set(&mut device, "links", links_of(block));
        for key in ["vendor", "model", "sas_address", "sas_device_handle"] {
            let value = file_content(format!("{sysdir}/device/{key}"));
            set(
                &mut device,
                key,
                value.map(Value::from).unwrap_or(Value::Null),
            );
        }
        if let Some(serial) = file_content(format!("{sysdir}/device/serial")) {
            set(&mut device, "serial", serial.as_str());
        }
        let text = |path: &str| file_content(format!("{sysdir}/{path}"));
        let optional = |value: Option<String>| value.map(Value::from).unwrap_or(Value::Null);
        set(&mut device, "removable", optional(text("removable")));
        let discard = if text("queue/discard_max_hw_bytes").as_deref() == Some("0") {
            Some("0".to_string())
        } else {
            text("queue/discard_granularity")
        };
        set(&mut device, "support_discard", optional(discard));
        set(
            &mut device,
            "partitions",
            Value::map(partitions(block, &sysdir, &links_of)),
        );
        set(
            &mut device,
            "rotational",
            optional(text("queue/rotational")),
        );
        let scheduler = text("queue/scheduler")
            .and_then(|s| {
                let open = s.find('[')?;
                let close = s.rfind(']')?;
                (close > open).then(|| s[open + 1..close].to_string())
            })
            .unwrap_or_default();
        set(&mut device, "scheduler_mode", scheduler.as_str());
        let sector_size = text("queue/logical_block_size")
            .or_else(|| text("queue/hw_sector_size"))
            .unwrap_or_else(|| "512".to_string());
        let sectors = text("size")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
            * 512
            / sector_size.parse::<i64>().unwrap_or(512).max(1);
        set(&mut device, "sectorsize", sector_size.as_str());
        set(&mut device, "sectors", Value::Int(sectors));
        let bytes = sectors as f64 * sector_size.parse::<f64>().unwrap_or(512.0);
        set(&mut device, "size", bytes_to_human(bytes));
        set(&mut device, "host", "");
        set(&mut device, "holders", holders(&sysdir));
        devices.insert(Value::from(block.as_str()), Value::map(device));
    }
    set(facts, "device_links", Value::map(device_links_fact));
    set(facts, "devices", Value::map(devices));
}

fn partitions(block: &str, sysdir: &str, links_of: &dyn Fn(&str) -> Value) -> Map {
    let mut partitions = Map::new();
    for folder in list_dir(sysdir) {
        let Some(rest) = folder.strip_prefix(block) else {
            continue;
        };
        let digits = rest.strip_prefix('p').unwrap_or(rest);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let part_dir = format!("{sysdir}/{folder}");
        let mut part = Map::new();
        set(&mut part, "links", links_of(&folder));
        let start = file_content(format!("{part_dir}/start")).unwrap_or_else(|| "0".into());
        set(&mut part, "start", start.as_str());
        let sector_size = file_content(format!("{part_dir}/queue/logical_block_size"))
            .or_else(|| file_content(format!("{part_dir}/queue/hw_sector_size")))
            .unwrap_or_else(|| "512".into());
        let size: i64 = file_content(format!("{part_dir}/size"))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let sectors = size * 512 / sector_size.parse::<i64>().unwrap_or(512).max(1);
        set(&mut part, "sectorsize", sector_size.as_str());
        set(&mut part, "sectors", Value::Int(sectors));
        let bytes = sectors as f64 * sector_size.parse::<f64>().unwrap_or(512.0);
        set(&mut part, "size", bytes_to_human(bytes));
        set(&mut part, "uuid", Value::Null);
        set(&mut part, "holders", holders(&part_dir));
        partitions.insert(Value::from(folder.as_str()), Value::map(part));
    }
    partitions
}

/// Device-mapper devices built on this one, by their `dm/name`.
fn holders(sysdir: &str) -> Value {
    let names: Vec<String> = list_dir(format!("{sysdir}/holders"))
        .into_iter()
        .filter(|folder| folder.starts_with("dm-"))
        .map(|folder| file_content(format!("{sysdir}/holders/{folder}/dm/name")).unwrap_or(folder))
        .collect();
    strings(names)
}

/// Undoes the octal escapes of `/proc/mounts` (`\040` for a space).
fn unescape_octal(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4].iter().all(|b| b.is_ascii_digit())
        {
            if let Ok(code) = u32::from_str_radix(&field[i + 1..i + 4], 8) {
                if let Some(c) = char::from_u32(code) {
                    out.push(c);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(field[i..].chars().next().unwrap_or_default());
        i += field[i..].chars().next().map(char::len_utf8).unwrap_or(1);
    }
    out
}

/// Mount points that `findmnt` shows as bind mounts (a `[subdir]` source).
fn bind_mounts() -> Vec<String> {
    let Some(output) =
        run("findmnt", &["--list", "--noheadings", "--notruncate"]).filter(|output| output.rc == 0)
    else {
        return Vec::new();
    };
    output
        .stdout
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() >= 2 && fields[1].ends_with(']')).then(|| fields[0].to_string())
        })
        .collect()
}

/// Filesystem UUIDs by device path, from `lsblk`.
fn lsblk_uuids() -> BTreeMap<String, String> {
    let args = [
        "--list",
        "--noheadings",
        "--paths",
        "--output",
        "NAME,UUID",
        "--exclude",
        "2",
    ];
    let Some(output) = run("lsblk", &args).filter(|output| output.rc == 0) else {
        return BTreeMap::new();
    };
    output
        .stdout
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            Some((fields.next()?.to_string(), fields.next()?.to_string()))
        })
        .collect()
}

fn collect_mounts(facts: &mut Map) {
    let table = if Path::new("/etc/mtab").exists() {
        "/etc/mtab"
    } else {
        "/proc/mounts"
    };
    let binds = bind_mounts();
    let uuids = lsblk_uuids();
    // ansible-core keys its results by mount point, so a later entry for the same
    // mount point replaces an earlier one.
    let mut mounts: indexmap::IndexMap<String, Map> = indexmap::IndexMap::new();
    for line in file_lines(table) {
        let fields: Vec<String> = line.split_whitespace().map(unescape_octal).collect();
        if fields.len() < 4 {
            continue;
        }
        let (device, mount, fstype, options) = (&fields[0], &fields[1], &fields[2], &fields[3]);
        let remote = device.contains(":/");
        if (!device.starts_with('/') && !device.starts_with('\\') && !remote) || fstype == "none" {
            continue;
        }
        let number = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let mut options = options.clone();
        let quoted_bind = options
            .find("bind")
            .is_some_and(|at| options[at..].contains('"'));
        if binds.contains(mount) && !quoted_bind {
            options.push_str(",bind");
        }
        let mut info = map([
            ("mount", Value::from(mount.as_str())),
            ("device", Value::from(device.as_str())),
            ("fstype", Value::from(fstype.as_str())),
            ("options", Value::from(options)),
            ("dump", Value::Int(number(4))),
            ("passno", Value::Int(number(5))),
        ]);
        add_mount_size(&mut info, mount);
        let uuid = uuids
            .get(device.as_str())
            .cloned()
            .unwrap_or_else(|| "N/A".into());
        set(&mut info, "uuid", uuid.as_str());
        mounts.shift_remove(mount.as_str());
        mounts.insert(mount.clone(), info);
    }
    let list = mounts.into_values().map(Value::map).collect();
    set(facts, "mounts", Value::list(list));
}

/// Adds `statvfs(3)` sizes, as ansible-core's `get_mount_size`.
fn add_mount_size(info: &mut Map, mount: &str) {
    let Ok(path) = std::ffi::CString::new(mount) else {
        return;
    };
    // SAFETY: `stats` is plain data that statvfs fills when it returns 0.
    let stats = unsafe {
        let mut stats: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(path.as_ptr(), &mut stats) != 0 {
            return;
        }
        stats
    };
    let int = |v: u64| Value::Int(v as i64);
    let frsize = stats.f_frsize as u64;
    set(info, "size_total", int(frsize * stats.f_blocks as u64));
    set(info, "size_available", int(frsize * stats.f_bavail as u64));
    set(info, "block_size", int(stats.f_bsize as u64));
    set(info, "block_total", int(stats.f_blocks as u64));
    set(info, "block_available", int(stats.f_bavail as u64));
    set(
        info,
        "block_used",
        int(stats.f_blocks as u64 - stats.f_bavail as u64),
    );
    set(info, "inode_total", int(stats.f_files as u64));
    set(info, "inode_available", int(stats.f_favail as u64));
    set(
        info,
        "inode_used",
        int(stats.f_files as u64 - stats.f_favail as u64),
    );
}
