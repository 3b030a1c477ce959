use super::*;

/// Builds `pkg/`, `pkg/bin/` and `pkg/bin/tool` (mode 0700) as a tar.gz.
fn containerd_like_archive(dir: &Path) -> PathBuf {
    let path = dir.join("pkg.tar.gz");
    let file = fs::File::create(&path).unwrap();
    let encoder = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    for (name, mode) in [("pkg/", 0o755), ("pkg/bin/", 0o755)] {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(mode);
        header.set_mtime(1_700_000_000);
        header.set_size(0);
        builder.append_data(&mut header, name, io_empty()).unwrap();
    }
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o700);
    header.set_mtime(1_700_000_000);
    header.set_size(5);
    builder
        .append_data(&mut header, "pkg/bin/tool", &b"tool\n"[..])
        .unwrap();
    builder.into_inner().unwrap().finish().unwrap();
    path
}

fn io_empty() -> &'static [u8] {
    &[]
}

fn run_unarchive(args: &[(&str, Value)]) -> Map {
    let mut map = Map::new();
    for (key, value) in args {
        map.insert(Value::from(*key), value.clone());
    }
    crate::dispatch::run_module("unarchive", &map, &ModuleOptions::default())
}

#[test]
fn strip_components_then_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let archive = containerd_like_archive(dir.path());
    let dest = dir.path().join("out");
    fs::create_dir(&dest).unwrap();
    let args = [
        ("src", Value::from(archive.display().to_string())),
        ("dest", Value::from(dest.display().to_string())),
        ("remote_src", Value::Bool(true)),
        ("mode", Value::from("0755")),
        ("list_files", Value::Bool(true)),
        (
            "extra_opts",
            Value::list(vec![Value::from("--strip-components=1")]),
        ),
    ];
    let first = run_unarchive(&args);
    assert_eq!(first.get("changed"), Some(&Value::Bool(true)), "{first:?}");
    assert_eq!(first.get("handler"), Some(&Value::from("TgzArchive")));
    let files: Vec<&str> = match first.get("files") {
        Some(Value::List(items)) => items.iter().filter_map(Value::as_str).collect(),
        other => panic!("files missing: {other:?}"),
    };
    assert_eq!(files, ["", "bin/", "bin/tool"]);
    assert_eq!(fs::read(dest.join("bin/tool")).unwrap(), b"tool\n");
    let mode = fs::metadata(dest.join("bin/tool")).unwrap().permissions();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.mode() & 0o7777, 0o755);

    let second = run_unarchive(&args);
    assert_eq!(
        second.get("changed"),
        Some(&Value::Bool(false)),
        "{second:?}"
    );
    assert!(second.get("extract_results").is_none());
}

#[test]
fn missing_dest_is_action_failure() {
    let dir = tempfile::tempdir().unwrap();
    let archive = containerd_like_archive(dir.path());
    let result = run_unarchive(&[
        ("src", Value::from(archive.display().to_string())),
        ("dest", Value::from("/nonexistent/rplay-dest")),
        ("remote_src", Value::Bool(true)),
    ]);
    assert_eq!(
        result.get("msg"),
        Some(&Value::from(
            "dest '/nonexistent/rplay-dest' must be an existing dir"
        ))
    );
    assert_eq!(result.get("failed"), Some(&Value::Bool(true)));
}
