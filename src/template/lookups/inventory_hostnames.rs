//! The `inventory_hostnames` lookup: the names of the hosts that host patterns match.
//!
//! As ansible-core 2.18's plugin does, the lookup rebuilds an inventory from the `groups`
//! variable alone (each group a flat list of hosts, in that variable's order) and
//! resolves the terms as one list of patterns in it. A pattern that fails, such as an
//! invalid regular expression or a subscript out of range, makes the result empty.

use crate::inventory::{GroupNameTransform, HostQuery, Inventory, PatternMismatch};
use crate::template::pyrepr::py_str;
use crate::template::vars::Context;
use crate::Value;

use super::Request;

pub fn inventory_hostnames(context: &Context, request: &Request) -> Vec<Value> {
    let inventory = inventory_from_groups(context.raw("groups"));
    let patterns: Vec<String> = request
        .terms
        .iter()
        .map(|term| py_str(term).unwrap_or_default())
        .collect();
    let query = HostQuery {
        mismatch: pattern_mismatch(),
        ..HostQuery::default()
    };
    let mut warnings = Vec::new();
    let found = inventory.get_hosts_from_patterns(&patterns, &query, &mut warnings);
    for warning in warnings {
        super::warn(warning);
    }
    match found {
        Ok(hosts) => hosts
            .into_iter()
            .map(|id| Value::from(&*inventory.host(id).name))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Reads `HOST_PATTERN_MISMATCH`, which decides whether a pattern that matches nothing
/// warns (the default), fails the lookup (which then returns nothing) or is ignored.
fn pattern_mismatch() -> PatternMismatch {
    let setting = super::config::loaded_config()
        .0
        .as_ref()
        .and_then(|config| config.str("HOST_PATTERN_MISMATCH").map(str::to_owned));
    match setting.as_deref() {
        Some("error") => PatternMismatch::Error,
        Some("ignore") => PatternMismatch::Ignore,
        _ => PatternMismatch::Warning,
    }
}

fn inventory_from_groups(groups: Option<Value>) -> Inventory {
    let mut inventory = Inventory::new(GroupNameTransform::Ignore);
    let Some(Value::Map(groups)) = groups else {
        return inventory;
    };
    for (group, hosts) in groups.iter() {
        let Some(group) = group.as_str() else {
            continue;
        };
        let Ok(group) = inventory.add_group(group) else {
            continue;
        };
        for host in hosts.as_list().unwrap_or_default() {
            let name = rplay_modules::pyrepr::str(host);
            let _ = inventory.add_host(&name, Some(group), None);
        }
    }
    inventory
}
