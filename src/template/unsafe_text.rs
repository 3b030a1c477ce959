//! Ansible's unsafe mark (`AnsibleUnsafeText`) on strings inside minijinja.
//!
//! minijinja's string value has one flag, `safe`, and rplay already uses it for
//! Ansible's `NativeJinjaText` (output of `string`, `to_json`, ...). The unsafe mark is
//! therefore kept by identity: an unsafe string enters a template as a heap-allocated
//! `Arc<str>`, and a registry records the address of that allocation. Clones of the
//! value share the allocation, so a string read back from a list or a map, or passed
//! through a filter unchanged (`default`, `first`, `sort`), is still recognised.
//!
//! A string built anew is plain text unless the code that builds it marks it again.
//! ansible-core 2.18's `AnsibleUnsafeText` wraps the results of `str` methods and of the
//! `+`, `*`, `%` operators and indexing, so `methods.rs` marks those results, and the
//! filter guard marks the output of the filters listed in [`KEEPS_MARK`].
//!
//! Each registry entry holds a `Weak` reference, which keeps the allocation itself
//! alive, so its address cannot be reused by another string while the entry exists.
//! Entries whose strings are gone are dropped when the registry grows.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use minijinja::value::{Value as JValue, ValueKind};

use super::{native_text, render};

/// Filters whose output keeps the unsafe mark of a string input in ansible-core 2.18,
/// because they build it with `str` methods or by indexing the string. Measured with
/// the oracle; filters not listed (`title`, `join`, `split`, `regex_replace`,
/// `b64encode`, `normpath`, `wordwrap`, ...) return plain `str`.
const KEEPS_MARK: &[&str] = &[
    "basename",
    "batch",
    "capitalize",
    "center",
    "dirname",
    "expanduser",
    "first",
    "format",
    "indent",
    "last",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "path_join",
    "quote",
    "random",
    "regex_escape",
    "reject",
    "replace",
    "reverse",
    "select",
    "slice",
    "sort",
    "splitext",
    "trim",
    "truncate",
    "unique",
    "upper",
    "urlencode",
    "urlsplit",
];

struct Registry {
    entries: HashMap<usize, Weak<str>>,
    /// Size at which dead entries are dropped next.
    prune_at: usize,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(|| {
    Mutex::new(Registry {
        entries: HashMap::new(),
        prune_at: 1024,
    })
});

fn address(text: &str) -> usize {
    text.as_ptr() as usize
}

/// Converts an unsafe string for a template and records it as unsafe.
pub fn mark(text: Arc<str>) -> JValue {
    let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    registry
        .entries
        .entry(address(&text))
        .or_insert_with(|| Arc::downgrade(&text));
    if registry.entries.len() >= registry.prune_at {
        registry.entries.retain(|_, weak| weak.strong_count() > 0);
        registry.prune_at = (registry.entries.len() * 2).max(1024);
    }
    JValue::from(text)
}

/// Tells whether `value` is a string marked unsafe.
pub fn is_unsafe(value: &JValue) -> bool {
    let Some(text) = value.as_str() else {
        return false;
    };
    // Only an evaluation that read an unsafe variable or ran a lookup can hold marked
    // strings, so every other one skips the lock.
    if !render::read_unsafe() {
        return false;
    }
    if value.is_safe() {
        return native_text::is_unsafe_text(value);
    }
    let registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    registry
        .entries
        .get(&address(text))
        .and_then(Weak::upgrade)
        .is_some_and(|found| found.len() == text.len())
}

/// Marks every string inside `value` unsafe: strings become marked copies, lists and
/// maps are rebuilt around them, other values are returned as they are.
pub fn mark_all(value: JValue) -> JValue {
    match value.kind() {
        ValueKind::String if !value.is_safe() => match value.as_str() {
            Some(text) if !is_unsafe(&value) => mark(Arc::from(text)),
            _ => value,
        },
        ValueKind::Seq => match value.try_iter() {
            Ok(items) => {
                let items: Vec<JValue> = items.map(mark_all).collect();
                if value.is_tuple() {
                    JValue::from(minijinja::value::Tuple::from(items))
                } else {
                    JValue::from(items)
                }
            }
            Err(_) => value,
        },
        _ => value,
    }
}

/// Applies the filter `name`'s effect on the unsafe mark: its output is marked when its
/// input string is unsafe and ansible-core's filter keeps the mark.
pub fn carry_through_filter(name: &str, input: &JValue, output: JValue) -> JValue {
    let short = name.rsplit('.').next().unwrap_or(name);
    if !KEEPS_MARK.contains(&short) || !is_unsafe(input) {
        return output;
    }
    mark_all(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_registers_allocation() {
        let text: Arc<str> = Arc::from("unsafe text");
        let marked = mark(text.clone());
        assert!(is_unsafe(&marked));
        assert!(is_unsafe(&marked.clone()));
        assert!(!is_unsafe(&JValue::from("unsafe text")));
        assert!(!is_unsafe(&JValue::from(Arc::<str>::from("unsafe text"))));
    }

    #[test]
    fn mark_all_rebuilds_lists() {
        let list = JValue::from(vec![JValue::from("a"), JValue::from(1)]);
        let marked = mark_all(list);
        let first = marked.get_item(&JValue::from(0)).unwrap();
        assert!(is_unsafe(&first));
        assert_eq!(marked.get_item(&JValue::from(1)).unwrap(), JValue::from(1));
    }

    #[test]
    fn unmarked_filters_return_plain_text() {
        let input = mark(Arc::from("x"));
        let output = carry_through_filter("title", &input, JValue::from("X"));
        assert!(!is_unsafe(&output));
        let output = carry_through_filter("ansible.builtin.basename", &input, "x".into());
        assert!(is_unsafe(&output));
    }
}
