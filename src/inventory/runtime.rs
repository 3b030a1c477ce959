//! Inventory changes made while a playbook runs: the `add_host` and `group_by`
//! actions, as ansible-core's `InventoryManager.add_dynamic_host` and
//! `add_dynamic_group` apply them.

use super::model::{HostId, Inventory};
use super::vars::combine_vars;
use super::InventoryError;
use crate::Map;

impl Inventory {
    /// Applies an `add_host` result: adds the host (directly to `all`, so it comes
    /// first in `all`'s order) unless it exists, merges `host_vars` into its
    /// variables, and adds it to each of `groups`, creating missing groups. Returns
    /// whether anything changed, which is the task's `changed`.
    ///
    /// The caller has already split `name:port` and turned the port into
    /// `ansible_ssh_port`, as Ansible's action plugin does.
    pub fn add_dynamic_host(
        &mut self,
        name: &str,
        groups: &[String],
        host_vars: &Map,
    ) -> Result<bool, InventoryError> {
        let mut changed = false;
        let host = match self.host_id(name) {
            Some(host) => host,
            None => {
                changed = true;
                let all = self.all_group();
                self.add_host(name, Some(all), None)?
            }
        };
        let mut current = self.host(host).vars.clone();
        current = combine_vars(current, &self.host_magic_vars(host));
        let differs = host_vars
            .iter()
            .any(|(key, value)| current.get(key) != Some(value));
        if differs {
            let vars = combine_vars(self.host(host).vars.clone(), host_vars);
            self.host_mut(host).vars = vars;
            changed = true;
        }
        for group in groups {
            let id = match self.group_id(group) {
                Some(id) => id,
                None => {
                    changed = true;
                    self.add_group(group)?
                }
            };
            changed |= self.add_host_to_group(id, host);
        }
        if changed {
            self.reconcile()?;
        }
        Ok(changed)
    }

    /// Applies a `group_by` result for `host`: creates `group` and `parents` when
    /// missing, makes `group` a child of each parent and adds the host to `group`.
    /// Returns the `changed` Ansible reports, which reflects only the last step
    /// that could change something.
    pub fn add_dynamic_group(
        &mut self,
        host: HostId,
        group: &str,
        parents: &[String],
    ) -> Result<bool, InventoryError> {
        let mut changed = false;
        let group = self.add_group(group)?;
        let mut parent_ids = Vec::new();
        for parent in parents {
            if self.group_id(parent).is_none() {
                changed = true;
            }
            parent_ids.push(self.add_group(parent)?);
        }
        for parent in parent_ids {
            if self.add_child_group(parent, group)? {
                changed = true;
            }
        }
        // Ansible assigns rather than accumulates here, so an existing member
        // reports the earlier steps' result only when both checks are skipped.
        if !self.group_hosts(group).contains(&host) {
            changed = self.add_host_to_group(group, host);
        }
        if !self.host(host).groups.contains(&group) {
            changed = self.add_host_to_group(group, host);
        }
        if changed {
            self.reconcile()?;
        }
        Ok(changed)
    }

    /// Looks up the host a `group_by` result belongs to, as Ansible does: by name, or
    /// the implicit localhost when the name is that host's.
    pub fn dynamic_group_host(&self, name: &str) -> Result<HostId, InventoryError> {
        if let Some(host) = self.host_id(name) {
            return Ok(host);
        }
        if let Some(localhost) = self
            .get_host("localhost")
            .filter(|h| &*self.host(*h).name == name)
        {
            return Ok(localhost);
        }
        Err(InventoryError::UnknownMember {
            name: name.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{HostQuery, LoadOptions};
    use crate::Value;

    fn inventory_from(hosts: &str) -> Inventory {
        crate::inventory::load(&[hosts.to_string()], &LoadOptions::default()).unwrap()
    }

    fn names(inventory: &Inventory, pattern: &str) -> Vec<String> {
        let mut warnings = Vec::new();
        inventory
            .list_hosts(pattern, &HostQuery::default(), &mut warnings)
            .unwrap()
    }

    #[test]
    fn added_host_comes_first_in_all() {
        let mut inventory = inventory_from("a,b,");
        let mut vars = Map::new();
        vars.insert(Value::str("x"), Value::Int(1));
        assert!(inventory
            .add_dynamic_host("new", &["fresh".to_string()], &vars)
            .unwrap());
        assert_eq!(names(&inventory, "all"), ["new", "a", "b"]);
        assert_eq!(names(&inventory, "fresh"), ["new"]);
        assert!(names(&inventory, "ungrouped").iter().all(|h| h != "new"));
        assert!(!inventory
            .add_dynamic_host("new", &["fresh".to_string()], &vars)
            .unwrap());
    }

    #[test]
    fn added_host_without_groups_is_ungrouped() {
        let mut inventory = inventory_from("a,");
        inventory
            .add_dynamic_host("lone", &[], &Map::new())
            .unwrap();
        assert_eq!(names(&inventory, "ungrouped"), ["a", "lone"]);
    }

    #[test]
    fn group_by_creates_parents() {
        let mut inventory = inventory_from("a,b,");
        let a = inventory.dynamic_group_host("a").unwrap();
        assert!(inventory
            .add_dynamic_group(a, "os_debian", &["linux".to_string()])
            .unwrap());
        assert_eq!(names(&inventory, "linux"), ["a"]);
        assert_eq!(names(&inventory, "ungrouped"), ["b"]);
        let groups = inventory.host_magic_vars(a);
        assert_eq!(
            groups.get("group_names"),
            Some(&Value::list(vec![
                Value::str("linux"),
                Value::str("os_debian")
            ]))
        );
        assert!(!inventory
            .add_dynamic_group(a, "os_debian", &["linux".to_string()])
            .unwrap());
    }

    /// The groups an ansible-core 2.18 play printed after `add_host: {name: new,
    /// groups: fresh, x: 1}` twice, `add_host: {name: lone}` and `group_by: {key:
    /// os_debian, parents: linux}` twice on host `a` of `-i a,b,`.
    #[test]
    fn runtime_changes_match_ansible() {
        let mut inventory = inventory_from("a,b,");
        let mut vars = Map::new();
        vars.insert(Value::str("x"), Value::Int(1));
        let fresh = ["fresh".to_string()];
        assert!(inventory.add_dynamic_host("new", &fresh, &vars).unwrap());
        assert!(!inventory.add_dynamic_host("new", &fresh, &vars).unwrap());
        inventory
            .add_dynamic_host("lone", &[], &Map::new())
            .unwrap();
        let a = inventory.dynamic_group_host("a").unwrap();
        let linux = ["linux".to_string()];
        assert!(inventory.add_dynamic_group(a, "os_debian", &linux).unwrap());
        assert!(!inventory.add_dynamic_group(a, "os_debian", &linux).unwrap());
        assert_eq!(names(&inventory, "all"), ["new", "lone", "b", "a"]);
        assert_eq!(names(&inventory, "ungrouped"), ["b", "lone"]);
        assert_eq!(names(&inventory, "fresh"), ["new"]);
        assert_eq!(names(&inventory, "linux"), ["a"]);
    }
}
