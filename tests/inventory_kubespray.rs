//! Kubespray's lab inventory with the `group_vars/` of Kubespray's sample inventory,
//! assembled in a temporary directory. Skipped unless `KUBESPRAY_DIR` names a
//! Kubespray checkout; compared with `ansible-inventory` when the oracle virtualenv
//! (`ANSIBLE_VENV`, default `/tmp/ansible-venv`) exists.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rplay::inventory::{self, HostQuery, LoadOptions};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Returns the lab inventory from the shared reference files when present, else the
/// repository's copy of its hosts and groups.
fn lab_inventory() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../shared/reference/testhosts/kubespray-overrides/inventory.ini");
    if shared.exists() {
        shared
    } else {
        root.join("fixtures/kubespray/inventory.ini")
    }
}

#[allow(clippy::print_stderr)]
#[test]
fn kubespray_lab_inventory() {
    let Some(kubespray) = std::env::var_os("KUBESPRAY_DIR").map(PathBuf::from) else {
        eprintln!("skipped: KUBESPRAY_DIR is not set");
        return;
    };
    let probe = rplay::source::SourceFile::new("probe.yml", "a: 1\n");
    if rplay::yaml::load(probe).is_err() {
        eprintln!("skipped: the YAML loader is not available yet");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    copy_dir(
        &kubespray.join("inventory/sample/group_vars"),
        &work.path().join("group_vars"),
    );
    std::fs::copy(lab_inventory(), work.path().join("inventory.ini")).unwrap();

    let started = Instant::now();
    let options = LoadOptions {
        cwd: work.path().to_path_buf(),
        ..LoadOptions::default()
    };
    let inventory = inventory::load(&["inventory.ini".to_string()], &options).unwrap();
    let mut warnings = Vec::new();
    let hosts = inventory
        .get_hosts("all", &HostQuery::default(), &mut warnings)
        .unwrap();
    for host in &hosts {
        inventory.host_vars(*host, &[]).unwrap();
    }
    let elapsed = started.elapsed();
    eprintln!("loaded Kubespray's inventory and group_vars in {elapsed:?}");
    // Milliseconds in practice; the bound leaves room for unoptimised test builds
    // on a busy machine.
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");

    let names: Vec<&str> = hosts.iter().map(|h| &*inventory.host(*h).name).collect();
    assert_eq!(names, ["test-2", "test-3", "test-1"]);
    let test1 = inventory.host_id("test-1").unwrap();
    let vars = inventory.host_vars(test1, &[]).unwrap();
    assert_eq!(
        vars.get("ansible_user").and_then(|v| v.as_str()),
        Some("root")
    );
    assert!(
        vars.get("etcd_data_dir").is_some(),
        "group_vars/all/etcd.yml was not read"
    );

    compare_with_ansible(work.path());
}

/// Compares `rplay inventory --list` and `--graph --vars` with ansible-inventory's.
#[allow(clippy::print_stderr)]
fn compare_with_ansible(dir: &Path) {
    let venv = std::env::var_os("ANSIBLE_VENV")
        .map_or_else(|| PathBuf::from("/tmp/ansible-venv"), PathBuf::from);
    let oracle = venv.join("bin/ansible-inventory");
    if !oracle.exists() {
        eprintln!("skipped the comparison: {} not found", oracle.display());
        return;
    }
    for args in [
        &["--list"][..],
        &["--graph", "--vars"],
        &["--host", "test-1"],
    ] {
        let run = |program: &Path, prefix: &[&str]| {
            Command::new(program)
                .args(prefix)
                .args(["-i", "inventory.ini"])
                .args(args)
                .current_dir(dir)
                .env_remove("ANSIBLE_CONFIG")
                .output()
                .unwrap()
        };
        let expected = run(&oracle, &[]);
        let actual = run(Path::new(env!("CARGO_BIN_EXE_rplay")), &["inventory"]);
        assert_eq!(
            String::from_utf8_lossy(&actual.stdout),
            String::from_utf8_lossy(&expected.stdout),
            "rplay inventory {args:?} differs from ansible-inventory"
        );
    }
}
