//! `ansible.utils.ipaddr`, `ipv4`, `ipv6` and `ipwrap`, following the collection's
//! queries over netaddr's `IPNetwork`.

use std::net::{Ipv4Addr, Ipv6Addr};

use minijinja::value::{Value as JValue, ValueKind};
use minijinja::{Environment, Error, State};

use super::{add, filter_error, utils, Args, Undefined};
use crate::template::pyrepr::py_str;

pub fn register(env: &mut Environment<'static>) {
    add(env, utils("ipaddr"), Undefined::Reject, ipaddr_filter);
    add(env, utils("ipv4"), Undefined::Reject, ipv4_filter);
    add(env, utils("ipv6"), Undefined::Reject, ipv6_filter);
    add(env, utils("ipwrap"), Undefined::Reject, ipwrap_filter);
}

/// netaddr's `IPNetwork`: an address with a prefix length.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Net {
    ip: u128,
    prefix: u32,
    v6: bool,
}

/// Whether the input was written as an address or a network (`a/b`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Address,
    Network,
}

impl Net {
    fn width(self) -> u32 {
        if self.v6 {
            128
        } else {
            32
        }
    }

    fn host_bits(self) -> u32 {
        self.width() - self.prefix
    }

    /// The number of addresses, saturating at `u128::MAX` for `::/0`.
    fn size(self) -> u128 {
        1u128.checked_shl(self.host_bits()).unwrap_or(u128::MAX)
    }

    fn hostmask(self) -> u128 {
        self.size().wrapping_sub(1)
    }

    fn netmask(self) -> u128 {
        let all = if self.v6 {
            u128::MAX
        } else {
            u128::from(u32::MAX)
        };
        all & !self.hostmask()
    }

    fn network(self) -> u128 {
        self.ip & self.netmask()
    }

    fn last(self) -> u128 {
        self.network() | self.hostmask()
    }

    /// netaddr has no broadcast address for networks of one or two addresses.
    fn broadcast(self) -> Option<u128> {
        (self.host_bits() > 1).then(|| self.last())
    }

    fn format(self, ip: u128) -> String {
        if self.v6 {
            Ipv6Addr::from(ip).to_string()
        } else {
            Ipv4Addr::from(ip as u32).to_string()
        }
    }

    fn ip_text(self) -> String {
        self.format(self.ip)
    }

    fn cidr(self) -> String {
        format!("{}/{}", self.ip_text(), self.prefix)
    }

    fn contains(self, other: Net) -> bool {
        self.v6 == other.v6
            && other.prefix >= self.prefix
            && (other.network() & self.netmask()) == self.network()
    }
}

fn parse_ip(text: &str) -> Option<(u128, bool)> {
    if let Ok(v4) = text.parse::<Ipv4Addr>() {
        return Some((u128::from(u32::from(v4)), false));
    }
    text.parse::<Ipv6Addr>()
        .ok()
        .map(|v6| (u128::from(v6), true))
}

/// Parses what netaddr's `IPNetwork` accepts: an address, `address/prefix`, or an IPv4
/// `address/netmask` (or host mask).
fn parse_net(text: &str) -> Option<Net> {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let (ip, v6) = parse_ip(address)?;
    let width = if v6 { 128 } else { 32 };
    let prefix = match prefix {
        None => width,
        Some(prefix) if prefix.chars().all(|c| c.is_ascii_digit()) && !prefix.is_empty() => {
            let prefix: u32 = prefix.parse().ok()?;
            (prefix <= width).then_some(prefix)?
        }
        Some(mask) if !v6 => {
            let mask = u32::from(mask.parse::<Ipv4Addr>().ok()?);
            let ones = mask.leading_ones();
            if mask.count_ones() == ones {
                ones
            } else if (!mask).count_ones() == (!mask).leading_ones() {
                (!mask).leading_ones()
            } else {
                return None;
            }
        }
        Some(_) => return None,
    };
    Some(Net { ip, prefix, v6 })
}

/// Reads a filter input: a digit string is an integer address.
fn read_value(value: &str) -> Option<(Net, Kind)> {
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) {
        let number: u128 = value.parse().ok()?;
        let v6 = number > u128::from(u32::MAX);
        let prefix = if v6 { 128 } else { 32 };
        return Some((
            Net {
                ip: number,
                prefix,
                v6,
            },
            Kind::Address,
        ));
    }
    let net = parse_net(value)?;
    let kind = if value.contains('/') {
        Kind::Network
    } else {
        Kind::Address
    };
    Some((net, kind))
}

/// A query result: a value, or Python's `None`/`False` (both falsy in templates).
fn none() -> JValue {
    JValue::from(())
}

fn ipaddr(
    value: &JValue,
    query: &JValue,
    version: Option<u8>,
    alias: &str,
) -> Result<JValue, Error> {
    if value.kind() == ValueKind::Seq {
        let mut results = Vec::new();
        for item in value.try_iter().map_err(|e| filter_error(e.to_string()))? {
            let result = ipaddr(&item, query, version, alias)?;
            if result.is_true() {
                results.push(result);
            }
        }
        return Ok(JValue::from(results));
    }
    if !value.is_true() || value.kind() == ValueKind::Bool {
        return Ok(JValue::from(false));
    }
    let text = py_str(value).unwrap_or_default();
    let Some((net, kind)) = read_value(&text) else {
        return Ok(JValue::from(false));
    };
    let query_text = if query.is_none() {
        String::new()
    } else {
        py_str(query).unwrap_or_default()
    };
    if let Some(version) = version {
        let net_version = if net.v6 { 6 } else { 4 };
        if net_version != version {
            return Ok(JValue::from(false));
        }
    }
    if let Some(result) = named_query(net, kind, &query_text, &text)? {
        return Ok(result);
    }
    if let Some(range) = cidr_query(&query_text) {
        return Ok(if range.contains(net) {
            JValue::from(text)
        } else {
            none()
        });
    }
    if let Ok(index) = query_text.parse::<f64>() {
        return Ok(nth(net, kind, index as i128));
    }
    // The collection's fallback for an unknown query fails on `None + str` before it
    // can raise its own message.
    let _ = alias;
    Err(super::python_type_error(
        "unsupported operand type(s) for +: 'NoneType' and 'str'",
    ))
}

/// A query that is itself a network: the input passes when it lies inside it.
fn cidr_query(query: &str) -> Option<Net> {
    if query.is_empty() || query.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (net, kind) = read_value(query)?;
    // `ipaddr(query, 'network')` must be truthy: any parsable query is.
    let _ = kind;
    Some(Net {
        ip: net.network(),
        ..net
    })
}

fn nth(net: Net, kind: Kind, index: i128) -> JValue {
    if net.size() == 1 {
        return JValue::from(match kind {
            Kind::Address => net.ip_text(),
            Kind::Network => net.cidr(),
        });
    }
    let size = net.size() as i128;
    let offset = if index < 0 { size + index } else { index };
    if offset < 0 || offset >= size {
        return JValue::from(false);
    }
    JValue::from(format!(
        "{}/{}",
        net.format(net.network() + offset as u128),
        net.prefix
    ))
}

fn text(value: String) -> Option<JValue> {
    Some(JValue::from(value))
}

/// The named queries of `ipaddr`; `None` for a query that is not a name.
fn named_query(net: Net, kind: Kind, query: &str, value: &str) -> Result<Option<JValue>, Error> {
    let first_last = || match net.size() {
        2 => (net.network(), net.last()),
        _ => (net.network() + 1, net.last() - 1),
    };
    let result = match query {
        "" => text(match kind {
            Kind::Address => net.ip_text(),
            Kind::Network => net.cidr(),
        }),
        "address" | "ip" => {
            let keep =
                net.size() == 1 || net.ip != net.network() || net.broadcast().is_none() || net.v6;
            keep.then(|| JValue::from(net.ip_text()))
        }
        "net" => (net.size() > 1 && net.ip == net.network()).then(|| JValue::from(net.cidr())),
        "prefix" => Some(JValue::from(net.prefix)),
        "network" | "network_id" => text(net.format(net.network())),
        "netmask" => text(net.format(net.netmask())),
        "hostmask" | "wildcard" => text(net.format(net.hostmask())),
        "broadcast" => (net.size() > 2).then(|| JValue::from(net.format(net.last()))),
        "size" => Some(JValue::from(net.size())),
        "size_usable" => Some(JValue::from(match net.size() {
            1 => 0,
            2 => 2,
            size => size - 2,
        })),
        "subnet" | "network/prefix" => {
            text(format!("{}/{}", net.format(net.network()), net.prefix))
        }
        "cidr" => text(net.cidr()),
        "host" => {
            let keep = net.size() == 1 || net.ip != net.network() || net.broadcast().is_none();
            keep.then(|| JValue::from(net.cidr()))
        }
        "type" => text(if net.size() > 1 && net.ip == net.network() {
            "network".into()
        } else {
            "address".into()
        }),
        "version" => Some(JValue::from(if net.v6 { 6 } else { 4 })),
        "bool" => Some(JValue::from(true)),
        "int" => Some(match kind {
            Kind::Address => JValue::from(net.ip),
            Kind::Network => JValue::from(format!("{}/{}", net.ip, net.prefix)),
        }),
        "first_usable" | "last_usable" | "next_usable" | "previous_usable" | "range_usable" => {
            if kind == Kind::Address {
                return Err(filter_error("Not a network address"));
            }
            if net.size() <= 1 {
                None
            } else {
                let (first, last) = first_last();
                match query {
                    "first_usable" => text(net.format(first)),
                    "last_usable" => text(net.format(last)),
                    "next_usable" => (net.ip + 1 >= first && net.ip < last)
                        .then(|| JValue::from(net.format(net.ip + 1))),
                    "previous_usable" => (net.ip > first && net.ip - 1 <= last)
                        .then(|| JValue::from(net.format(net.ip - 1))),
                    _ => text(format!("{}-{}", net.format(first), net.format(last))),
                }
            }
        }
        "wrap" => text(if net.v6 {
            match kind {
                Kind::Address => format!("[{}]", net.ip_text()),
                Kind::Network => format!("[{}]/{}", net.ip_text(), net.prefix),
            }
        } else {
            value.to_owned()
        }),
        "ipv4" | "v4" => Some(if net.v6 {
            match net.ip {
                ip if ip >> 32 == 0xffff || ip >> 32 == 0 => JValue::from(format!(
                    "{}/{}",
                    Ipv4Addr::from(ip as u32),
                    net.prefix.saturating_sub(96)
                )),
                _ => JValue::from(false),
            }
        } else {
            JValue::from(value)
        }),
        "ipv6" | "v6" => Some(if net.v6 {
            JValue::from(value)
        } else {
            JValue::from(format!(
                "{}/{}",
                Ipv6Addr::from(0xffff_0000_0000u128 | net.ip),
                net.prefix + 96
            ))
        }),
        "private" => (!is_global(net)).then(|| JValue::from(value)),
        "public" => is_global(net).then(|| JValue::from(value)),
        "loopback" | "lo" => is_loopback(net).then(|| JValue::from(value)),
        "multicast" => is_multicast(net).then(|| JValue::from(value)),
        "unicast" => (!is_multicast(net)).then(|| JValue::from(value)),
        "link-local" => {
            let range = if net.v6 {
                "fe80::/10"
            } else {
                "169.254.0.0/16"
            };
            parse_net(range)
                .filter(|r| {
                    r.contains(Net {
                        prefix: net.width(),
                        ..net
                    })
                })
                .map(|_| JValue::from(value))
        }
        _ => return Ok(None),
    };
    Ok(Some(result.unwrap_or_else(none)))
}

fn in_any(net: Net, ranges: &[&str]) -> bool {
    let host = Net {
        prefix: net.width(),
        ..net
    };
    ranges
        .iter()
        .filter_map(|range| parse_net(range))
        .any(|range| range.contains(host))
}

// NOTE: netaddr's `is_global` consults IANA's special-purpose registries; this covers
// the private, shared, loopback, link-local and documentation ranges.
fn is_global(net: Net) -> bool {
    !in_any(
        net,
        &[
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "192.0.0.0/24",
            "192.0.2.0/24",
            "198.18.0.0/15",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "240.0.0.0/4",
            "0.0.0.0/8",
            "255.255.255.255/32",
            "fc00::/7",
            "fe80::/10",
            "::1/128",
            "::/128",
            "2001:db8::/32",
        ],
    )
}

fn is_loopback(net: Net) -> bool {
    in_any(net, &["127.0.0.0/8", "::1/128"])
}

fn is_multicast(net: Net) -> bool {
    in_any(net, &["224.0.0.0/4", "ff00::/8"])
}

fn check_type(value: &JValue, filter: &str) -> Result<(), Error> {
    match value.kind() {
        ValueKind::String | ValueKind::Seq | ValueKind::Bool | ValueKind::Number => Ok(()),
        _ => Err(filter_error(format!(
            "Unrecognized type <{}> for {filter} filter <value>",
            crate::template::methods::python_type_name(value)
        ))),
    }
}

fn ipaddr_filter(_: &mut State, args: &Args) -> Result<JValue, Error> {
    check_type(&args.value, "ipaddr")?;
    let query = args.get(0, "query").cloned().unwrap_or(JValue::from(""));
    let version = args
        .get(1, "version")
        .and_then(JValue::as_i64)
        .map(|v| v as u8);
    ipaddr(&args.value, &query, version.filter(|&v| v != 0), "ipaddr")
}

fn ipv4_filter(_: &mut State, args: &Args) -> Result<JValue, Error> {
    check_type(&args.value, "ipv4")?;
    let query = args.get(0, "query").cloned().unwrap_or(JValue::from(""));
    ipaddr(&args.value, &query, Some(4), "ipv4")
}

fn ipv6_filter(_: &mut State, args: &Args) -> Result<JValue, Error> {
    check_type(&args.value, "ipv6")?;
    let query = args.get(0, "query").cloned().unwrap_or(JValue::from(""));
    ipaddr(&args.value, &query, Some(6), "ipv6")
}

/// `ipwrap`: IPv6 addresses in brackets; other values unchanged.
fn ipwrap_filter(_: &mut State, args: &Args) -> Result<JValue, Error> {
    check_type(&args.value, "ipwrap")?;
    let query = args.get(0, "query").cloned().unwrap_or(JValue::from(""));
    let wrap = |item: &JValue| -> JValue {
        match ipaddr(item, &query, None, "ipwrap") {
            Ok(found) if found.is_true() => ipaddr(&found, &JValue::from("wrap"), None, "ipwrap")
                .unwrap_or_else(|_| item.clone()),
            _ => item.clone(),
        }
    };
    if args.value.kind() == ValueKind::Seq {
        let items: Vec<JValue> = args
            .value
            .try_iter()
            .map(|items| items.map(|item| wrap(&item)).collect())
            .unwrap_or_default();
        return Ok(JValue::from(items));
    }
    Ok(wrap(&args.value))
}
