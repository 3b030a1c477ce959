//! `vault` and `unvault`: Ansible Vault's AES256 format (vault 1.1 and 1.2).
//!
//! The key material is PBKDF2-HMAC-SHA256 of the secret with the salt, 10,000 rounds,
//! 80 bytes: the AES-256 key, the HMAC-SHA256 key and the 16-byte initial counter. The
//! plaintext is PKCS#7-padded and encrypted in CTR mode. The payload is the hex of salt,
//! HMAC and ciphertext on three lines, hexlified once more and wrapped at 80 columns
//! after the `$ANSIBLE_VAULT;VERSION;AES256[;VAULT_ID]` header.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;

use aes::Aes256;
use ctr::cipher::{KeyIvInit, StreamCipher};
use minijinja::value::{Object, ObjectRepr, Value as JValue};
use minijinja::{Environment, Error, State};
use ring::{hmac, pbkdf2};

use super::{add, ansible, filter_error, python_type_error, Args, Undefined};
use crate::template::methods::python_type_name;
use crate::template::pyrepr::py_str;
use crate::template::vault_values::LockedVault;

const HEADER: &str = "$ANSIBLE_VAULT";
const ROUNDS: u32 = 10_000;
const KEY_LENGTH: usize = 32;
const IV_LENGTH: usize = 16;
const BLOCK_SIZE: usize = 16;

pub fn register(env: &mut Environment<'static>) {
    add(env, ansible("vault"), Undefined::Reject, vault);
    add(env, ansible("unvault"), Undefined::Reject, unvault);
}

/// The vault passwords of the run (`--vault-password-file`, `--vault-id`), which the
/// `file` and `template` lookups use to decrypt vaulted files.
#[derive(Clone, Default)]
pub struct VaultSecrets(pub Vec<Vec<u8>>);

/// Shows how many secrets there are, never the secrets themselves.
impl fmt::Debug for VaultSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VaultSecrets({} secrets)", self.0.len())
    }
}

impl VaultSecrets {
    /// Decrypts `text` when it is vault text, trying each secret in turn. Text that is
    /// not vault text is returned as it is.
    pub fn decrypt_text(&self, text: String) -> Result<String, String> {
        if !text.trim_start().starts_with(HEADER) {
            return Ok(text);
        }
        // NOTE: ansible-core fails here when it has no secret; rplay leaves the vault
        // text as it is.
        if self.0.is_empty() {
            return Ok(text);
        }
        for secret in &self.0 {
            if let Ok(plaintext) = decrypt(&text, secret) {
                return Ok(String::from_utf8_lossy(&plaintext).into_owned());
            }
        }
        Err("Decryption failed (no vault secrets were found that could decrypt)".into())
    }
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
    let plaintext = decrypt(&text, secret.as_bytes())
        .map_err(|reason| wrapped_error("Unable to decrypt", &reason))?;
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

/// The AES key, the HMAC key and the initial counter derived from the secret.
struct Keys {
    cipher: [u8; KEY_LENGTH],
    mac: [u8; KEY_LENGTH],
    counter: [u8; IV_LENGTH],
}

fn derive_keys(secret: &[u8], salt: &[u8]) -> Keys {
    let mut derived = [0u8; 2 * KEY_LENGTH + IV_LENGTH];
    let rounds = NonZeroU32::new(ROUNDS).expect("the round count is not zero");
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        rounds,
        salt,
        secret,
        &mut derived,
    );
    let mut keys = Keys {
        cipher: [0; KEY_LENGTH],
        mac: [0; KEY_LENGTH],
        counter: [0; IV_LENGTH],
    };
    keys.cipher.copy_from_slice(&derived[..KEY_LENGTH]);
    keys.mac
        .copy_from_slice(&derived[KEY_LENGTH..2 * KEY_LENGTH]);
    keys.counter.copy_from_slice(&derived[2 * KEY_LENGTH..]);
    keys
}

fn apply_ctr(keys: &Keys, data: &mut [u8]) {
    let mut cipher = ctr::Ctr128BE::<Aes256>::new_from_slices(&keys.cipher, &keys.counter)
        .expect("key and counter have AES-256-CTR's lengths");
    cipher.apply_keystream(data);
}

fn sign(keys: &Keys, ciphertext: &[u8]) -> hmac::Tag {
    let key = hmac::Key::new(hmac::HMAC_SHA256, &keys.mac);
    hmac::sign(&key, ciphertext)
}

/// Encrypts `plaintext` into vault text with its header, as `VaultLib.encrypt` does.
pub fn encrypt(plaintext: &[u8], secret: &[u8], salt: &[u8], vault_id: &str) -> String {
    let keys = derive_keys(secret, salt);
    let padding = BLOCK_SIZE - plaintext.len() % BLOCK_SIZE;
    let mut ciphertext = plaintext.to_vec();
    ciphertext.extend(std::iter::repeat_n(padding as u8, padding));
    apply_ctr(&keys, &mut ciphertext);
    let tag = sign(&keys, &ciphertext);
    let payload = format!("{}\n{}\n{}", hex(salt), hex(tag.as_ref()), hex(&ciphertext));
    let body = hex(payload.as_bytes());
    // Vault 1.2 carries the vault id; ansible-core writes 1.1 without one.
    let mut lines = vec![if vault_id.is_empty() || vault_id == "default" {
        format!("{HEADER};1.1;AES256")
    } else {
        format!("{HEADER};1.2;AES256;{vault_id}")
    }];
    lines.extend(
        body.as_bytes()
            .chunks(80)
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned()),
    );
    lines.push(String::new());
    lines.join("\n")
}

/// Decrypts vault text. The error is the reason ansible-core gives.
pub fn decrypt(text: &str, secret: &[u8]) -> Result<Vec<u8>, String> {
    let mut lines = text.trim().lines();
    let header = lines.next().unwrap_or_default();
    let cipher_name = header.split(';').nth(2).unwrap_or_default().trim();
    if cipher_name != "AES256" {
        return Err(format!(
            "Vault format unhexlify error: unsupported cipher {cipher_name}"
        ));
    }

    let body: String = lines.map(str::trim).collect();
    let payload = unhex(&body).ok_or("Vault format unhexlify error: Odd-length string")?;
    let payload = String::from_utf8_lossy(&payload).into_owned();
    let parts: Vec<&str> = payload.splitn(3, '\n').collect();
    let [salt, tag, ciphertext] = parts[..] else {
        return Err("Vault format unhexlify error: not enough values to unpack".into());
    };
    let invalid = || "Vault format unhexlify error: Non-hexadecimal digit found".to_string();
    let salt = unhex(salt).ok_or_else(invalid)?;
    let tag = unhex(tag).ok_or_else(invalid)?;
    let mut data = unhex(ciphertext).ok_or_else(invalid)?;

    let keys = derive_keys(secret, &salt);
    let key = hmac::Key::new(hmac::HMAC_SHA256, &keys.mac);
    if hmac::verify(&key, &data, &tag).is_err() {
        return Err("Decryption failed (no vault secrets were found that could decrypt)".into());
    }

    apply_ctr(&keys, &mut data);
    let padding = data.last().copied().unwrap_or(0) as usize;
    if padding == 0 || padding > BLOCK_SIZE || padding > data.len() {
        return Err("Invalid padding bytes.".into());
    }
    data.truncate(data.len() - padding);
    Ok(data)
}

/// Python's `type(value)` as `%s` prints it: `<class 'int'>`.
fn python_class(value: &JValue) -> String {
    format!("<class '{}'>", python_type_name(value))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vault text of ansible-core's `filter_encryption` target for `secret` with
    /// the secret `test` and the salt `7`.
    const SALTED: &str = "$ANSIBLE_VAULT;1.2;AES256;filter_default\n33370a34333734353636633035656232613935353432656132646533346233326431346232616261\n6133383034376566366261316365633931356133633337396363370a376664386236313834326561\n6338373864623763613165366636633031303739\n";

    #[test]
    fn encrypt_matches_ansible_with_salt() {
        assert_eq!(encrypt(b"secret", b"test", b"7", "filter_default"), SALTED);
    }

    #[test]
    fn decrypt_reverses_encrypt() {
        assert_eq!(decrypt(SALTED, b"test").unwrap(), b"secret");
        assert!(decrypt(SALTED, b"wrong").is_err());
    }
}
