//! Behaviour of the public API on small documents. The differential tests under
//! `tests/yaml/` compare whole files with Ansible's loader.

use super::*;

fn load_str(text: &str) -> Loaded {
    load(SourceFile::new("/play/vars.yml", text)).unwrap_or_else(|err| panic!("{err}: {text:?}"))
}

fn root(text: &str) -> Node {
    load_str(text).documents.remove(0)
}

#[test]
fn plain_yes_is_bool_and_quoted_is_str() {
    let node = root("a: yes\nb: 'yes'\nc: y\nd: 0644\ne: 1:30\n");
    assert_eq!(node.get("a").unwrap().to_value(), Value::Bool(true));
    assert_eq!(node.get("b").unwrap().as_str(), Some("yes"));
    assert_eq!(node.get("c").unwrap().as_str(), Some("y"));
    assert_eq!(node.get("d").unwrap().to_value(), Value::Int(0o644));
    assert_eq!(node.get("e").unwrap().to_value(), Value::Int(90));
}

#[test]
fn positions_are_ansibles() {
    let node = root("top:\n  key: value\n  text: |\n    line\nlist:\n- a\n");
    assert_eq!((node.span.line, node.span.column), (1, 1));
    let inner = node.get("top").unwrap();
    assert_eq!((inner.span.line, inner.span.column), (2, 3));
    let value = inner.get("key").unwrap();
    assert_eq!((value.span.line, value.span.column), (2, 8));
    // A block scalar starts at its indicator, an unindented sequence at its first `-`.
    let text = inner.get("text").unwrap();
    assert_eq!((text.span.line, text.span.column), (3, 9));
    let list = node.get("list").unwrap();
    assert_eq!((list.span.line, list.span.column), (6, 1));
}

#[test]
fn duplicate_key_warns_as_ansible() {
    let loaded = load_str("x:\n  a: 1\n  a: 2\n");
    assert_eq!(
        loaded.warnings,
        ["While constructing a mapping from /play/vars.yml, line 2, column 3, found a duplicate dict key (a). Using last defined value only."]
    );
    let entries = loaded.documents[0].get("x").unwrap().as_map().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0.span.line, 2);
    assert_eq!(entries[0].1.to_value(), Value::Int(2));
}

#[test]
fn equal_keys_of_other_types_are_duplicates() {
    let loaded = load_str("1: a\n1.0: b\ntrue: c\n");
    assert_eq!(loaded.warnings.len(), 2);
    assert!(loaded.warnings[1].contains("duplicate dict key (True)"));
    let entries = loaded.documents[0].as_map().unwrap();
    assert_eq!(entries[0].0.to_value(), Value::Int(1));
    assert_eq!(entries[0].1.as_str(), Some("c"));
}

#[test]
fn merge_keys_come_first_and_explicit_keys_win() {
    let node = root("base: &b {x: 1, y: 2}\nm:\n  z: 0\n  <<: *b\n  x: 3\n");
    let merged = node.get("m").unwrap();
    let keys: Vec<&str> = merged
        .as_map()
        .unwrap()
        .iter()
        .filter_map(|(key, _)| key.as_str())
        .collect();
    assert_eq!(keys, ["x", "y", "z"]);
    assert_eq!(merged.get("x").unwrap().to_value(), Value::Int(3));
}

#[test]
fn unsafe_and_vault_tags() {
    let node = root("a: !unsafe '{{ x }}'\nb: !unsafe 12\nc: !unsafe [[1], y]\nv: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n");
    assert_eq!(
        node.get("a").unwrap().to_value(),
        Value::unsafe_str("{{ x }}")
    );
    assert_eq!(node.get("b").unwrap().to_value(), Value::unsafe_str("12"));
    // Ansible copies an !unsafe collection before its nested collections are filled.
    let copied = node.get("c").unwrap().to_value();
    assert_eq!(
        copied,
        Value::list(vec![Value::list(vec![]), Value::unsafe_str("y")])
    );
    assert!(
        matches!(&node.get("v").unwrap().kind, NodeKind::Vault(text) if text.starts_with("$ANSIBLE_VAULT"))
    );
}

#[test]
fn python_only_types_become_text() {
    let node = root("d: 2001-12-14\nt: 2001-12-14 21:59:43.10 -5\nbig: 0x1_0000_0000_0000_0000\n");
    assert_eq!(node.get("d").unwrap().as_str(), Some("2001-12-14"));
    assert_eq!(
        node.get("t").unwrap().as_str(),
        Some("2001-12-14 21:59:43.100000-05:00")
    );
    assert_eq!(
        node.get("big").unwrap().as_str(),
        Some("18446744073709551616")
    );
}

#[test]
fn documents_of_a_stream() {
    assert!(load_str("").documents.is_empty());
    assert!(load_str("# only a comment\n").documents.is_empty());
    assert_eq!(load_str("---\n").documents.len(), 1);
    assert_eq!(load_str("a\n---\nb\n").documents.len(), 2);
    assert!(load_str("a\n---\nb\n").into_single().is_err());
    assert!(load_str("").into_single().unwrap().is_none());
}

#[test]
fn load_data_reads_json_first() {
    let loaded = load_data(SourceFile::new("x.json", "{\"a\": 1e3, \"a\": 2}")).unwrap();
    assert!(loaded.warnings.is_empty());
    assert_eq!(
        loaded.documents[0].get("a").unwrap().to_value(),
        Value::Int(2)
    );
    let loaded = load_data(SourceFile::new("x.json", "{\"r\": 1e3}")).unwrap();
    assert_eq!(
        loaded.documents[0].get("r").unwrap().to_value(),
        Value::Float(1000.0)
    );
    let yaml = load_data(SourceFile::new("x.yml", "r: 1e3\n")).unwrap();
    assert_eq!(yaml.documents[0].get("r").unwrap().as_str(), Some("1e3"));
}

#[test]
fn load_data_takes_one_document() {
    let two = load_data(SourceFile::new("x.yml", "a: 1\n---\nb: 2\n")).unwrap_err();
    assert_eq!(two.span.map(|span| span.line), Some(3));
    assert!(load_data(SourceFile::new("x.yml", "---\n"))
        .unwrap()
        .documents
        .is_empty());
}

#[test]
fn errors_point_at_the_problem() {
    let cases = [
        ("a: [1, 2\n", 2),
        ("a: !foo x\n", 1),
        ("a: *missing\n", 1),
        ("a: &x 1\nb: &x 2\n", 2),
        ("- \ta\n", 1),
        ("a: \"x\x07\"\n", 1),
    ];
    for (text, line) in cases {
        let err = load(SourceFile::new("bad.yml", text)).unwrap_err();
        assert_eq!(
            err.span.as_ref().map(|span| span.line),
            Some(line),
            "{text:?}: {err}"
        );
    }
}

#[test]
fn deep_nesting_is_an_error() {
    let flow = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    assert!(load(SourceFile::new("deep.yml", flow)).is_err());
    let block: String = (0..2000)
        .map(|depth| format!("{}- \n", "  ".repeat(depth)))
        .collect();
    assert!(load(SourceFile::new("deep.yml", block)).is_err());
}

#[test]
fn alias_expansion_is_bounded() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..9 {
        let previous = format!("*a{}", level - 1);
        let items = [previous.as_str(); 10].join(", ");
        text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
    }
    assert!(load(SourceFile::new("laughs.yml", text)).is_err());
}

#[test]
fn flow_lines_at_block_indentation_load() {
    // PyYAML 6 reads each of these; saphyr rejects the lines at column 1.
    let node = root("a: {\n  x: 1\n}\nb: {\nx: 2}\nc:\n  d: [\n1, 2\n]\n");
    let a = node.get("a").unwrap();
    assert_eq!(a.get("x").unwrap().to_value(), Value::Int(1));
    let b = node.get("b").unwrap();
    assert_eq!(b.get("x").unwrap().to_value(), Value::Int(2));
    let d = node.get("c").unwrap().get("d").unwrap();
    assert_eq!(
        d.to_value(),
        Value::list(vec![Value::Int(1), Value::Int(2)])
    );
}
