use super::*;

fn subsets(names: &[&str]) -> Vec<&'static str> {
    let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
    resolve_subsets(&names).unwrap_or_default()
}

#[test]
fn subset_all_selects_every_collector() {
    let all = subsets(&["all"]);
    assert!(all.contains(&"hardware"));
    assert!(all.contains(&"network"));
    assert!(all.contains(&"virtual"));
}

#[test]
fn subset_not_all_keeps_min() {
    let chosen = subsets(&["!all"]);
    assert!(chosen.contains(&"distribution"));
    assert!(!chosen.contains(&"hardware"));
    assert!(!chosen.contains(&"network"));
}

#[test]
fn subset_not_all_not_min_keeps_explicit() {
    let chosen = subsets(&["!all", "!min", "network"]);
    assert_eq!(chosen, vec!["platform", "distribution", "network"]);
}

#[test]
fn subset_fact_name_selects_collector() {
    let chosen = subsets(&["!all", "!min", "processor"]);
    assert_eq!(chosen, vec!["platform", "hardware"]);
}

#[test]
fn subset_unknown_is_rejected() {
    let err = resolve_subsets(&["bogus".to_string()]).unwrap_err();
    assert!(err
        .to_string()
        .starts_with("Bad subset 'bogus' given to Ansible"));
}

#[test]
fn filter_adds_ansible_prefix() {
    let filter = vec!["distribution*".to_string()];
    assert!(matches_filter("ansible_distribution_version", &filter));
    assert!(!matches_filter("ansible_os_family", &filter));
    assert!(matches_filter("ansible_os_family", &[]));
}

#[test]
fn fnmatch_classes() {
    assert!(fnmatch("ansible_eth0", "ansible_eth[0-9]"));
    assert!(!fnmatch("ansible_ethx", "ansible_eth[!x]"));
    assert!(fnmatch("abc", "a?c"));
}

#[test]
fn bytes_to_human_units() {
    assert_eq!(hardware::bytes_to_human(0.0), "0.00 Bytes");
    assert_eq!(
        hardware::bytes_to_human(256.0 * 1024f64.powi(3)),
        "256.00 GB"
    );
}

#[test]
fn setup_rejects_unknown_option() {
    let mut args = Map::new();
    args.insert(Value::from("bogus"), Value::from("x"));
    let err = SetupOptions::from_args(&args).unwrap_err();
    assert!(err.contains("Unsupported parameters for (setup) module: bogus"));
}
