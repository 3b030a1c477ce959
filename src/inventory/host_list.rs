//! Comma-separated host lists given as `-i host1,host2:2222,`.

use super::address::parse_address;
use super::model::Inventory;
use super::InventoryError;

/// Adds each listed host to `ungrouped`; a `host:port` entry sets `ansible_port`.
/// Entries that are not valid addresses are kept whole, and ranges are not expanded.
pub(crate) fn parse(inventory: &mut Inventory, list: &str) -> Result<(), InventoryError> {
    let ungrouped = inventory.ungrouped_group();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (host, port) = parse_address(entry, false).unwrap_or_else(|| (entry.to_string(), None));
        if inventory.host_id(&host).is_none() {
            inventory.add_host(&host, Some(ungrouped), port)?;
        }
    }
    Ok(())
}
