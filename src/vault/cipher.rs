//! Ansible Vault's AES256 format (vault 1.1 and 1.2).
//!
//! The key material is PBKDF2-HMAC-SHA256 of the secret with the salt, 10,000 rounds,
//! 80 bytes: the AES-256 key, the HMAC-SHA256 key and the 16-byte initial counter. The
//! plaintext is PKCS#7-padded and encrypted in CTR mode. The payload is the hex of salt,
//! HMAC and ciphertext on three lines, hexlified once more and wrapped at 80 columns
//! after the `$ANSIBLE_VAULT;VERSION;AES256[;VAULT_ID]` header.

use std::num::NonZeroU32;

use aes::Aes256;
use ctr::cipher::{KeyIvInit, StreamCipher};
use ring::{hmac, pbkdf2};

/// The start of every vault text.
pub const HEADER: &str = "$ANSIBLE_VAULT";
const ROUNDS: u32 = 10_000;
const KEY_LENGTH: usize = 32;
const IV_LENGTH: usize = 16;
const BLOCK_SIZE: usize = 16;

/// ansible-core's message when none of the secrets decrypts the text.
pub const DECRYPTION_FAILED: &str =
    "Decryption failed (no vault secrets were found that could decrypt)";

/// A failure to decrypt vault text with one secret, in ansible-core's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CipherError {
    /// The text is malformed (ansible-core's `AnsibleVaultFormatError`), so no secret
    /// can decrypt it.
    Format(String),
    /// The header names a cipher other than AES256.
    UnknownCipher(String),
    /// The secret does not match: the HMAC differs, or the padding is invalid.
    WrongSecret,
}

impl CipherError {
    /// ansible-core's message for the error.
    pub fn message(&self) -> String {
        match self {
            CipherError::Format(message) => message.clone(),
            CipherError::UnknownCipher(name) => format!("{name} cipher could not be found"),
            CipherError::WrongSecret => DECRYPTION_FAILED.to_string(),
        }
    }
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

/// Vault text split into its parts, before any secret is tried.
pub struct Envelope {
    salt: Vec<u8>,
    /// The HMAC as hex, unhexlified only when a secret is tried, as ansible-core does.
    tag: String,
    ciphertext: Vec<u8>,
}

impl Envelope {
    /// Parses vault text as `parse_vaulttext_envelope` and `parse_vaulttext` do.
    pub fn parse(text: &str) -> Result<Envelope, CipherError> {
        check_cipher(text)?;
        let mut lines = text.trim().lines();
        lines.next();
        let body: String = lines.map(str::trim).collect();
        let payload = unhexlify(&body)?;
        let payload = String::from_utf8_lossy(&payload).into_owned();
        let parts: Vec<&str> = payload.splitn(3, '\n').collect();
        let [salt, tag, ciphertext] = parts[..] else {
            return Err(CipherError::Format(format!(
                "Vault vaulttext format error: not enough values to unpack (expected 3, got {})",
                parts.len()
            )));
        };
        Ok(Envelope {
            salt: unhexlify(salt)?,
            tag: tag.to_string(),
            ciphertext: unhexlify(ciphertext)?,
        })
    }

    /// Decrypts the ciphertext with `secret`.
    pub fn decrypt(&self, secret: &[u8]) -> Result<Vec<u8>, CipherError> {
        let keys = derive_keys(secret, &self.salt);
        let tag = unhexlify(&self.tag)?;
        let key = hmac::Key::new(hmac::HMAC_SHA256, &keys.mac);
        if hmac::verify(&key, &self.ciphertext, &tag).is_err() {
            return Err(CipherError::WrongSecret);
        }
        let mut data = self.ciphertext.clone();
        apply_ctr(&keys, &mut data);
        let padding = data.last().copied().unwrap_or(0) as usize;
        if padding == 0 || padding > BLOCK_SIZE || padding > data.len() {
            return Err(CipherError::WrongSecret);
        }
        data.truncate(data.len() - padding);
        Ok(data)
    }
}

/// Checks that the header of vault text names AES256, the only cipher ansible-core 2.18
/// accepts.
pub fn check_cipher(text: &str) -> Result<(), CipherError> {
    let header = text.trim().lines().next().unwrap_or_default();
    let cipher_name = header.split(';').nth(2).unwrap_or_default().trim();
    if cipher_name == "AES256" {
        Ok(())
    } else {
        Err(CipherError::UnknownCipher(cipher_name.to_string()))
    }
}

/// Decrypts vault text with one secret.
pub fn decrypt(text: &str, secret: &[u8]) -> Result<Vec<u8>, CipherError> {
    Envelope::parse(text)?.decrypt(secret)
}

/// Python's `binascii.unhexlify`, with the message of ansible-core's `_unhexlify`.
fn unhexlify(text: &str) -> Result<Vec<u8>, CipherError> {
    let failed =
        |reason: &str| CipherError::Format(format!("Vault format unhexlify error: {reason}"));
    if !text.len().is_multiple_of(2) {
        return Err(failed("Odd-length string"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| failed("Non-hexadecimal digit found"))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
        assert!(matches!(
            decrypt(SALTED, b"wrong"),
            Err(CipherError::WrongSecret)
        ));
    }

    #[test]
    fn malformed_text_is_format_error() {
        let message = |text: &str| decrypt(text, b"x").unwrap_err().message();
        assert_eq!(
            message("$ANSIBLE_VAULT;1.1;AES256\nzz12\n"),
            "Vault format unhexlify error: Non-hexadecimal digit found"
        );
        assert_eq!(
            message("$ANSIBLE_VAULT;1.1;AES256\n"),
            "Vault vaulttext format error: not enough values to unpack (expected 3, got 1)"
        );
        assert_eq!(
            message("$ANSIBLE_VAULT;1.1;AES999\n3132\n"),
            "AES999 cipher could not be found"
        );
    }
}
