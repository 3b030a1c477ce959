//! `vault` and `unvault`: encrypt and decrypt text with a secret of their own, in
//! Ansible Vault's AES256 format (see [`crate::vault::cipher`]).

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Object, ObjectRepr, Value as JValue};
use minijinja::{Environment, Error, State};

use super::{add, ansible, filter_error, python_type_error, Args, Undefined};
use crate::template::methods::python_type_name;
use crate::template::pyrepr::py_str;
use crate::template::vault_values::LockedVault;
use crate::vault::cipher::{encrypt, HEADER};
use crate::vault::VaultSecrets;

pub fn register(env: &mut Environment<'static>) {
    add(env, ansible("vault"), Undefined::Reject, vault);
    add(env, ansible("unvault"), Undefined::Reject, unvault);
}

/// Vault text that `vault(..., wrap_object=True)` returns: ansible-core's
/// `AnsibleVaultEncryptedUnicode`, which prints as the vault text.
#[derive(Debug)]
pub struct EncryptedText(pub String);

impl Object for EncryptedText {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn vault(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let secret = text_argument(args.get(0, "secret"), |class| {
        format!("Secret passed is required to be a string, instead we got: {class}")
    })?;
    let Some(data) = args.value.as_str() else {
        return Err(python_type_error(format!(
            "Can only vault strings, instead we got: {}",
            python_class(&args.value)
        )));
    };
    let vault_id = match args.get(2, "vault_id") {
        Some(id) => py_str(id).unwrap_or_default(),
        None => "filter_default".into(),
    };
    let salt = match args.get(1, "salt").filter(|salt| !salt.is_none()) {
        Some(salt) => py_str(salt).unwrap_or_default().into_bytes(),
        None => random_salt()?,
    };
    if salt.is_empty() {
        return Err(wrapped_error(
            "Unable to encrypt",
            "Empty or invalid salt passed to encrypt()",
        ));
    }
    let text = encrypt(data.as_bytes(), secret.as_bytes(), &salt, &vault_id);
    if args.bool_arg(3, "wrap_object", false) {
        return Ok(JValue::from_object(EncryptedText(text)));
    }
    Ok(JValue::from(text))
}

fn unvault(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let secret = text_argument(args.get(0, "secret"), |class| {
        format!("Secret passed is required to be as string, instead we got: {class}")
    })?;
    let locked = args.value.downcast_object_ref::<LockedVault>();
    let text = match args.value.downcast_object_ref::<EncryptedText>() {
        Some(encrypted) => encrypted.0.clone(),
        None if locked.is_some() => locked.map(|vault| vault.text.clone()).unwrap_or_default(),
        None => match args.value.as_str() {
            Some(text) => text.to_owned(),
            None => {
                return Err(python_type_error(format!(
                    "Vault should be in the form of a string, instead we got: {}",
                    python_class(&args.value)
                )))
            }
        },
    };
    if !text.trim_start().starts_with(HEADER) {
        return Ok(JValue::from(text));
    }
    let plaintext = VaultSecrets(vec![secret.into_bytes()])
        .decrypt(&text, None)
        .map_err(|error| wrapped_error("Unable to decrypt", &error.to_string()))?;
    Ok(JValue::from(
        String::from_utf8_lossy(&plaintext).into_owned(),
    ))
}

/// Builds the filter's `AnsibleFilterError` with the vault error as `orig_exc`, whose
/// text ansible-core appends to the message.
fn wrapped_error(action: &str, reason: &str) -> Error {
    filter_error(format!("{action}: {reason}. {reason}"))
}

/// Reads the secret, which must be a string.
fn text_argument(
    value: Option<&JValue>,
    message: impl Fn(&str) -> String,
) -> Result<String, Error> {
    let value = value.cloned().unwrap_or(JValue::UNDEFINED);
    match value.as_str() {
        Some(text) => Ok(text.to_owned()),
        None => Err(python_type_error(message(&python_class(&value)))),
    }
}

/// Returns 32 random bytes, as `os.urandom(32)` does for ansible-core's salt.
fn random_salt() -> Result<Vec<u8>, Error> {
    let mut salt = vec![0u8; 32];
    getrandom::getrandom(&mut salt)
        .map_err(|err| wrapped_error("Unable to encrypt", &err.to_string()))?;
    Ok(salt)
}

/// Python's `type(value)` as `%s` prints it: `<class 'int'>`.
fn python_class(value: &JValue) -> String {
    format!("<class '{}'>", python_type_name(value))
}
