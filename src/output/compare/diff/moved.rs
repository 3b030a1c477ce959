//! Tasks that ran on another host in each log.
//!
//! A `run_once` task runs on the first host of the play's order. Kubespray fills its group
//! `k8s_cluster` with `group_by`, and ansible-core adds the hosts to the group in the
//! order in which their results arrive. So that order changes from run to run, and with
//! it the host of every `run_once` task of a play on `k8s_cluster`.
//!
//! A task with lines for exactly one host on each side, a different host, and lines that
//! compare equal apart from the host is reported as moved. The recap then counts the
//! results on other hosts, so the rows of the hosts that such tasks connect are compared
//! by their sums when each row alone differs.

use std::collections::{BTreeMap, BTreeSet};

use super::{Differ, Location, MovedTask};
use crate::output::compare::parse::{HostLine, RecapRow};

impl Differ {
    /// Returns the moved task when A's lines are all for one host, B's for another, and
    /// they compare equal.
    pub(super) fn moved_task(
        &self,
        location: &Location,
        by_host_a: &BTreeMap<&str, Vec<&HostLine>>,
        by_host_b: &BTreeMap<&str, Vec<&HostLine>>,
    ) -> Option<MovedTask> {
        let (Some((host_a, lines_a)), Some((host_b, lines_b))) =
            (single_entry(by_host_a), single_entry(by_host_b))
        else {
            return None;
        };
        if host_a == host_b {
            return None;
        }
        // ansible-core prints no `-> DELEGATE` when a host delegates to itself, so
        // `[test-1]` in A and `[test-2 -> test-1(ADDRESS)]` in B ran on the same machine.
        let (lines_a, lines_b) = (
            without_common_target(host_a, lines_a, host_b, lines_b),
            without_common_target(host_b, lines_b, host_a, lines_a),
        );
        let (lines_a, lines_b): (Vec<&HostLine>, Vec<&HostLine>) =
            (lines_a.iter().collect(), lines_b.iter().collect());
        let mut scratch = Differ::default();
        scratch.host_lines(location, &lines_a, &lines_b);
        if !scratch.differences.is_empty() {
            return None;
        }
        Some(MovedTask {
            location: location.clone(),
            host_a: host_a.to_string(),
            host_b: host_b.to_string(),
            a_line: lines_a[0].line,
            b_line: lines_b[0].line,
        })
    }

    /// Finds the recap counters compared by their sums, per host: in each group of hosts
    /// that moved tasks connect, where every row of the group is on both sides, the
    /// counters whose sums over the group are equal.
    pub(super) fn counters_summed_in_recap(
        &self,
        a: &[RecapRow],
        b: &[RecapRow],
    ) -> BTreeMap<String, BTreeSet<usize>> {
        let mut summed: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
        for group in connected_hosts(&self.moved) {
            let rows = |recap: &[RecapRow]| -> Option<Vec<[u64; 7]>> {
                group
                    .iter()
                    .map(|host| {
                        let row = recap.iter().find(|row| &row.host == host)?;
                        Some(row.counters().map(|(_, count)| count))
                    })
                    .collect()
            };
            let (Some(rows_a), Some(rows_b)) = (rows(a), rows(b)) else {
                continue;
            };
            let (sums_a, sums_b) = (column_sums(&rows_a), column_sums(&rows_b));
            let equal: BTreeSet<usize> = (0..sums_a.len())
                .filter(|column| sums_a[*column] == sums_b[*column])
                .collect();
            for host in group {
                summed.insert(host, equal.clone());
            }
        }
        summed
    }
}

/// Copies `lines` of `host`, without their delegation when every line of both hosts ran
/// on one machine: the host itself or the host it delegated to.
fn without_common_target(
    host: &str,
    lines: &[&HostLine],
    other_host: &str,
    other_lines: &[&HostLine],
) -> Vec<HostLine> {
    let targets = |host: &str, lines: &[&HostLine]| -> BTreeSet<String> {
        lines
            .iter()
            .map(|line| match &line.delegated_to {
                Some(delegate) => delegate_name(delegate).to_string(),
                None => host.to_string(),
            })
            .collect()
    };
    let (own, other) = (targets(host, lines), targets(other_host, other_lines));
    let common = own.len() == 1 && own == other;
    lines
        .iter()
        .map(|line| HostLine {
            delegated_to: if common {
                None
            } else {
                line.delegated_to.clone()
            },
            ..(*line).clone()
        })
        .collect()
}

/// Returns the host name of a delegation label, `test-1` for `test-1(10.0.0.11)`.
fn delegate_name(label: &str) -> &str {
    match label.split_once('(') {
        Some((name, _)) if label.ends_with(')') => name,
        _ => label,
    }
}

fn single_entry<'m, 'a>(
    map: &'m BTreeMap<&'a str, Vec<&'a HostLine>>,
) -> Option<(&'a str, &'m [&'a HostLine])> {
    if map.len() != 1 {
        return None;
    }
    map.iter()
        .next()
        .map(|(host, lines)| (*host, lines.as_slice()))
}

/// Groups the hosts that moved tasks connect (a task moved from test-3 to test-2 and
/// another from test-2 to test-1 make one group of three).
fn connected_hosts(moved: &[MovedTask]) -> Vec<BTreeSet<String>> {
    let mut groups: Vec<BTreeSet<String>> = Vec::new();
    for task in moved {
        let pair = [task.host_a.clone(), task.host_b.clone()];
        let (joined, mut rest): (Vec<_>, Vec<_>) = groups
            .into_iter()
            .partition(|group| pair.iter().any(|host| group.contains(host)));
        let mut merged: BTreeSet<String> = pair.into_iter().collect();
        for group in joined {
            merged.extend(group);
        }
        rest.push(merged);
        groups = rest;
    }
    groups
}

fn column_sums(rows: &[[u64; 7]]) -> [u64; 7] {
    let mut sums = [0; 7];
    for row in rows {
        for (sum, count) in sums.iter_mut().zip(row) {
            *sum += count;
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delegate_name_drops_address() {
        assert_eq!(delegate_name("test-1(10.253.4.11)"), "test-1");
        assert_eq!(delegate_name("test-1"), "test-1");
    }

    fn moved(host_a: &str, host_b: &str) -> MovedTask {
        MovedTask {
            location: Location::default(),
            host_a: host_a.into(),
            host_b: host_b.into(),
            a_line: 1,
            b_line: 1,
        }
    }

    #[test]
    fn connected_hosts_merge_chains() {
        let groups = connected_hosts(&[
            moved("test-3", "test-2"),
            moved("alpha", "beta"),
            moved("test-2", "test-1"),
        ]);
        let names: Vec<Vec<&str>> = groups
            .iter()
            .map(|group| group.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(
            names,
            [vec!["alpha", "beta"], vec!["test-1", "test-2", "test-3"]]
        );
    }
}
