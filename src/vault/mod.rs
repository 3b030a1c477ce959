//! Ansible Vault: the run's vault secrets, and decryption of vault text in `!vault`
//! values and in files that `ansible-vault encrypt` encrypted whole.
//!
//! ansible-core 2.18 decrypts a whole file wherever its `DataLoader` reads one: vars
//! files, inventory sources, playbooks and task files ([`VaultSecrets::decrypt_data`]),
//! and the controller files of `copy`, `template`, `assemble`, `script` and
//! `unarchive` ([`VaultSecrets::decrypt_real_file`]). The two differ only in the
//! message for a run without any vault secret.

pub mod cipher;
pub mod password_files;

use std::fmt;
use std::path::{Path, PathBuf};

use cipher::{CipherError, Envelope, DECRYPTION_FAILED, HEADER};

/// The vault passwords of the run (`--vault-id`, `--vault-password-file` and the
/// settings that give password files), tried in turn on each vault text.
///
/// ansible-core tries the secret whose label matches a vault 1.2 header first and then
/// the others (`vault_id_match` is false by default), so the labels change which secret
/// decrypts, never whether one does. rplay keeps no labels.
///
/// NOTE: with `vault_id_match = True`, ansible-core tries only the secrets whose label
/// matches; rplay does not read that setting and tries every secret.
#[derive(Clone, Default)]
pub struct VaultSecrets(pub Vec<Vec<u8>>);

/// Shows how many secrets there are, never the secrets themselves.
impl fmt::Debug for VaultSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VaultSecrets({} secrets)", self.0.len())
    }
}

/// A failure to decrypt vault text, with ansible-core's message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// The run has no vault secret (`VaultLib.decrypt`).
    #[error("Attempting to decrypt but no vault secrets found")]
    NoSecrets,
    /// The run has no vault secret to decrypt a controller file (`get_real_file`).
    #[error("A vault password or secret must be specified to decrypt {}", .0.display())]
    NoSecretsForFile(PathBuf),
    /// No secret decrypts the text of the file, if any.
    #[error("{DECRYPTION_FAILED}{}", on_file(.0))]
    NoMatchingSecret(Option<PathBuf>),
    /// The vault text is malformed (`AnsibleVaultFormatError`).
    ///
    /// NOTE: ansible-core also prints the warning "There was a vault format error in
    /// PATH: MESSAGE" before it raises this error; rplay does not.
    #[error("{0}")]
    Format(String),
    /// The header names a cipher other than AES256.
    #[error("{0} cipher could not be found")]
    UnknownCipher(String),
}

fn on_file(path: &Option<PathBuf>) -> String {
    match path {
        Some(path) => format!(" on {}", path.display()),
        None => String::new(),
    }
}

impl VaultError {
    /// Returns the Python class of ansible-core's exception, for the messages that
    /// name it.
    pub fn python_class(&self) -> &'static str {
        match self {
            VaultError::NoSecrets | VaultError::NoMatchingSecret(_) => {
                "ansible.parsing.vault.AnsibleVaultError"
            }
            VaultError::NoSecretsForFile(_) => "ansible.errors.AnsibleParserError",
            VaultError::Format(_) => "ansible.parsing.vault.AnsibleVaultFormatError",
            VaultError::UnknownCipher(_) => "ansible.errors.AnsibleError",
        }
    }
}

/// Tells whether `data` is vault text as ansible-core's `is_encrypted` decides: ASCII
/// that starts with `$ANSIBLE_VAULT`, with no white space before it.
pub fn is_encrypted(data: &[u8]) -> bool {
    data.is_ascii() && data.starts_with(HEADER.as_bytes())
}

/// Tells whether a file starts with `$ANSIBLE_VAULT`, as `is_encrypted_file` decides
/// from the file's first bytes alone.
pub fn is_encrypted_file(data: &[u8]) -> bool {
    data.starts_with(HEADER.as_bytes())
}

impl VaultSecrets {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Decrypts vault text with the first secret that fits, as `VaultLib.decrypt`
    /// does. `path` names the file the text comes from, for the messages.
    pub fn decrypt(&self, text: &str, path: Option<&Path>) -> Result<Vec<u8>, VaultError> {
        let format_error = |error: CipherError| match error {
            CipherError::UnknownCipher(name) => VaultError::UnknownCipher(name),
            CipherError::Format(message) => VaultError::Format(message),
            CipherError::WrongSecret => VaultError::NoMatchingSecret(path.map(Path::to_path_buf)),
        };
        cipher::check_cipher(text).map_err(format_error)?;
        if self.is_empty() {
            return Err(VaultError::NoSecrets);
        }
        let envelope = Envelope::parse(text).map_err(format_error)?;
        for secret in &self.0 {
            match envelope.decrypt(secret) {
                Ok(plaintext) => return Ok(plaintext),
                Err(CipherError::WrongSecret) => continue,
                Err(error) => return Err(format_error(error)),
            }
        }
        Err(VaultError::NoMatchingSecret(path.map(Path::to_path_buf)))
    }

    /// Returns the content of a data file as `DataLoader._get_file_contents` does:
    /// decrypted when it is vault text, else as it is.
    pub fn decrypt_data(&self, data: Vec<u8>, path: &Path) -> Result<Vec<u8>, VaultError> {
        if !is_encrypted(&data) {
            return Ok(data);
        }
        self.decrypt(&String::from_utf8_lossy(&data), Some(path))
    }

    /// Returns the content of a controller file that an action sends, as
    /// `DataLoader.get_real_file(path, decrypt=True)` does: decrypted when the file
    /// starts with the vault header, else as it is.
    pub fn decrypt_real_file(&self, data: Vec<u8>, path: &Path) -> Result<Vec<u8>, VaultError> {
        if !is_encrypted_file(&data) {
            return Ok(data);
        }
        if self.is_empty() {
            return Err(VaultError::NoSecretsForFile(path.to_path_buf()));
        }
        self.decrypt(&String::from_utf8_lossy(&data), Some(path))
    }
}

/// The text of a data file, decrypted when the file is vault-encrypted.
pub struct FileText {
    pub text: String,
    /// The file's vault text as it is on disk, for an encrypted file.
    pub vault_text: Option<String>,
}

/// A failure to read a data file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Vault(#[from] VaultError),
}

/// Reads a data file as ansible-core's `DataLoader` does: its text, decrypted with
/// `secrets` when it is vault text. Text that is not UTF-8 fails as an I/O error.
pub fn read_data_file(path: &Path, secrets: &VaultSecrets) -> Result<FileText, ReadError> {
    let data = std::fs::read(path)?;
    if !is_encrypted(&data) {
        return Ok(FileText {
            text: utf8(data)?,
            vault_text: None,
        });
    }
    let vault_text = String::from_utf8_lossy(&data).into_owned();
    let plaintext = secrets.decrypt_data(data, path)?;
    Ok(FileText {
        text: utf8(plaintext)?,
        vault_text: Some(vault_text),
    })
}

fn utf8(data: Vec<u8>) -> Result<String, std::io::Error> {
    String::from_utf8(data).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(passwords: &[&str]) -> VaultSecrets {
        VaultSecrets(passwords.iter().map(|p| p.as_bytes().to_vec()).collect())
    }

    fn encrypted(plaintext: &str, password: &str, vault_id: &str) -> Vec<u8> {
        cipher::encrypt(plaintext.as_bytes(), password.as_bytes(), b"salt", vault_id).into_bytes()
    }

    #[test]
    fn data_decrypts_with_any_secret() {
        let path = Path::new("/v.yml");
        let data = encrypted("a: 1\n", "two", "prod");
        let decrypted = secrets(&["one", "two"]).decrypt_data(data, path).unwrap();
        assert_eq!(decrypted, b"a: 1\n");
    }

    #[test]
    fn plain_data_stays() {
        let path = Path::new("/v.yml");
        let data = b"  $ANSIBLE_VAULT;1.1;AES256\n".to_vec();
        assert_eq!(secrets(&[]).decrypt_data(data.clone(), path).unwrap(), data);
    }

    #[test]
    fn data_errors_as_ansible_words_them() {
        let path = Path::new("/v.yml");
        let data = encrypted("a: 1\n", "right", "");
        let error = secrets(&[]).decrypt_data(data.clone(), path).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Attempting to decrypt but no vault secrets found"
        );
        let error = secrets(&["wrong"]).decrypt_data(data, path).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Decryption failed (no vault secrets were found that could decrypt) on /v.yml"
        );
    }

    #[test]
    fn real_file_without_secret_names_file() {
        let path = Path::new("/files/s.txt");
        let data = encrypted("s\n", "right", "");
        let error = secrets(&[]).decrypt_real_file(data, path).unwrap_err();
        assert_eq!(
            error.to_string(),
            "A vault password or secret must be specified to decrypt /files/s.txt"
        );
    }

    #[test]
    fn format_error_has_no_path() {
        let path = Path::new("/bad.yml");
        let data = b"$ANSIBLE_VAULT;1.1;AES256\nzz12\n".to_vec();
        let error = secrets(&["x"]).decrypt_data(data, path).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Vault format unhexlify error: Non-hexadecimal digit found"
        );
    }
}
