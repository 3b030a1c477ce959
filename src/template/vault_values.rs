//! `!vault` values in templates and module arguments.
//!
//! ansible-core loads a `!vault` value as an `AnsibleVaultEncryptedUnicode`, which
//! decrypts itself wherever it is used as text: `{{ secret }}`, its length, its methods.
//! `type_debug` still names the class and the `vault_encrypted` test is true for it.
//! rplay hands templates the plaintext as a string and records the address of that
//! string, so that `type_debug` and the test recognise it. The plaintext of each vault
//! value is made once, and dropped with the value.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use std::fmt;

use minijinja::value::{Object, ObjectRepr, Value as JValue};

use super::error::{TemplateError, TemplateErrorKind};
use super::render;
use crate::vault::VaultSecrets;
use crate::yaml::loaded_text;
use crate::{Map, Value};

#[derive(Default)]
struct Plaintexts {
    /// By the address of the vault text: the vault text and its plaintext.
    by_vault: HashMap<usize, (Weak<str>, Arc<str>)>,
    /// The addresses of the plaintexts handed out.
    plaintexts: HashSet<usize>,
}

static PLAINTEXTS: LazyLock<Mutex<Plaintexts>> = LazyLock::new(Mutex::default);

/// Returns the plaintext of a `!vault` value for a template, or `None` for any other
/// string or outside an evaluation. A value that the run's secrets cannot decrypt is a
/// [`LockedVault`]: filters such as `unvault` take it with a secret of their own, and
/// printing it fails with ansible-core's message.
pub fn plaintext_value(text: &Arc<str>) -> Option<JValue> {
    if !loaded_text::is_vault(text) {
        return None;
    }
    let context = render::current_context()?;
    match plaintext(text, context.templar().vault_secrets()) {
        Ok(plaintext) => Some(JValue::from(plaintext)),
        Err(error) => Some(JValue::from_object(LockedVault {
            text: text.to_string(),
            error,
        })),
    }
}

/// A `!vault` value that the run's secrets cannot decrypt.
#[derive(Debug)]
pub struct LockedVault {
    /// The vault text.
    pub text: String,
    /// The error that using the value as text raises.
    pub error: TemplateError,
}

impl Object for LockedVault {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        render::poison(self.error.clone());
        f.write_str("")
    }
}

/// Decrypts a `!vault` value with the run's secrets, once.
pub fn plaintext(text: &Arc<str>, secrets: &VaultSecrets) -> Result<Arc<str>, TemplateError> {
    let key = text.as_ptr() as usize;
    {
        let plaintexts = PLAINTEXTS.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((vault, plaintext)) = plaintexts.by_vault.get(&key) {
            if vault
                .upgrade()
                .is_some_and(|found| Arc::ptr_eq(&found, text))
            {
                return Ok(plaintext.clone());
            }
        }
    }
    let decrypted = secrets
        .decrypt(text, None)
        .map_err(|error| vault_error(&error.to_string()))?;
    let decrypted: Arc<str> = Arc::from(String::from_utf8_lossy(&decrypted));
    let mut plaintexts = PLAINTEXTS.lock().unwrap_or_else(PoisonError::into_inner);
    if plaintexts.by_vault.len() >= 256 && plaintexts.by_vault.len().is_power_of_two() {
        let live: HashMap<usize, (Weak<str>, Arc<str>)> = plaintexts
            .by_vault
            .drain()
            .filter(|(_, (vault, _))| vault.strong_count() > 0)
            .collect();
        plaintexts.plaintexts = live
            .values()
            .map(|(_, plain)| plain.as_ptr() as usize)
            .collect();
        plaintexts.by_vault = live;
    }
    plaintexts.plaintexts.insert(decrypted.as_ptr() as usize);
    plaintexts
        .by_vault
        .insert(key, (Arc::downgrade(text), decrypted.clone()));
    Ok(decrypted)
}

/// Replaces the `!vault` values inside a module's arguments by their plaintext, as
/// ansible-core's JSON encoder does when it sends arguments to a module. Returns `None`
/// when there is none.
pub fn decrypt_arguments(args: &Map, secrets: &VaultSecrets) -> Result<Option<Map>, TemplateError> {
    if !loaded_text::any_vault() || !args.values().any(contains_vault) {
        return Ok(None);
    }
    let mut decrypted = Map::with_capacity(args.len());
    for (key, value) in args {
        decrypted.insert(key.clone(), decrypt_value(value, secrets)?);
    }
    Ok(Some(decrypted))
}

fn contains_vault(value: &Value) -> bool {
    match value {
        Value::Unsafe(text) => loaded_text::is_vault(text),
        Value::List(items) => items.iter().any(contains_vault),
        Value::Map(map) => map.values().any(contains_vault),
        _ => false,
    }
}

fn decrypt_value(value: &Value, secrets: &VaultSecrets) -> Result<Value, TemplateError> {
    Ok(match value {
        Value::Unsafe(text) if loaded_text::is_vault(text) => {
            Value::Unsafe(plaintext(text, secrets)?)
        }
        Value::List(items) => Value::list(
            items
                .iter()
                .map(|item| decrypt_value(item, secrets))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(map) => {
            let mut decrypted = Map::with_capacity(map.len());
            for (key, item) in map.iter() {
                decrypted.insert(key.clone(), decrypt_value(item, secrets)?);
            }
            Value::map(decrypted)
        }
        other => other.clone(),
    })
}

/// Tells whether `value` is a `!vault` value: its plaintext or a [`LockedVault`].
pub fn is_vault_value(value: &JValue) -> bool {
    if value.downcast_object_ref::<LockedVault>().is_some() {
        return true;
    }
    let Some(text) = value.as_str() else {
        return false;
    };
    let plaintexts = PLAINTEXTS.lock().unwrap_or_else(PoisonError::into_inner);
    plaintexts.plaintexts.contains(&(text.as_ptr() as usize))
}

fn vault_error(message: &str) -> TemplateError {
    TemplateError::new(TemplateErrorKind::Vault, message)
}
