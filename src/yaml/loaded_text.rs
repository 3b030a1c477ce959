//! The strings the YAML loader made, so templates can name their Python type.
//!
//! ansible-core's YAML loader returns `AnsibleUnicode`, a `str` subclass, and a template
//! that passes such a string through unchanged returns the same object, while text a
//! template builds is a plain `str`. `type_debug` and the deprecation message of a
//! non-boolean conditional name that type. rplay's strings share their allocation when
//! cloned, so the loader records the address of each string it makes and a template
//! value built from it (same allocation) is recognised. A registry entry holds a
//! `Weak` reference, which keeps the address from being reused while it exists.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

/// The kind of YAML node a string came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// A YAML string: `AnsibleUnicode`.
    Text,
    /// The payload of a `!vault` value: `AnsibleVaultEncryptedUnicode`.
    Vault,
}

struct Registry {
    entries: HashMap<usize, (Weak<str>, Origin)>,
    /// Size at which entries of dropped strings are removed next.
    prune_at: usize,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(|| {
    Mutex::new(Registry {
        entries: HashMap::new(),
        prune_at: 4096,
    })
});

/// Records a string the loader made, or a copy of one that stands for the same object.
pub fn record(text: &Arc<str>) {
    insert(text, Origin::Text);
}

/// Set once a `!vault` value is loaded, so runs without one never look vault text up.
static VAULT_LOADED: AtomicBool = AtomicBool::new(false);

/// Records the vault text of a `!vault` value.
pub(super) fn record_vault(text: &Arc<str>) {
    VAULT_LOADED.store(true, Ordering::Relaxed);
    insert(text, Origin::Vault);
}

fn insert(text: &Arc<str>, origin: Origin) {
    let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    registry
        .entries
        .insert(text.as_ptr() as usize, (Arc::downgrade(text), origin));
    if registry.entries.len() >= registry.prune_at {
        registry
            .entries
            .retain(|_, (weak, _)| weak.strong_count() > 0);
        registry.prune_at = (registry.entries.len() * 2).max(4096);
    }
}

fn origin_of(text: &str) -> Option<Origin> {
    let registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    let (weak, origin) = registry.entries.get(&(text.as_ptr() as usize))?;
    weak.upgrade()
        .is_some_and(|found| found.len() == text.len())
        .then_some(*origin)
}

/// Tells whether `text` is (a clone of) a string the YAML loader made.
pub fn is_loaded(text: &str) -> bool {
    origin_of(text) == Some(Origin::Text)
}

/// Tells whether any `!vault` value was loaded.
pub fn any_vault() -> bool {
    VAULT_LOADED.load(Ordering::Relaxed)
}

/// Tells whether `text` is (a clone of) the vault text of a `!vault` value, which
/// ansible-core decrypts wherever the value is used.
pub fn is_vault(text: &str) -> bool {
    VAULT_LOADED.load(Ordering::Relaxed) && origin_of(text) == Some(Origin::Vault)
}

/// Returns `text` as a string value, marked as loaded when its source was, as a
/// template that passes a loaded string through returns the same object.
pub fn copy_mark(loaded: bool, text: String) -> crate::Value {
    let text: Arc<str> = Arc::from(text);
    if loaded {
        record(&text);
    }
    crate::Value::Str(text)
}
