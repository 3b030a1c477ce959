//! Reads the run's vault secrets from password files and scripts, as ansible-core
//! 2.18's `CLI.setup_vault_secrets` does.
//!
//! Each source is a vault id, `LABEL@SOURCE` or `SOURCE`: the `vault_identity_list`
//! setting first, then `--vault-id`, then `--vault-password-file` and the
//! `vault_password_file` setting labelled with `vault_identity`. A source that fails
//! warns. When no source gives a secret, the error of the last failure stops the run.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::VaultSecrets;

/// The secrets read, with what went wrong on the way.
#[derive(Debug, Default)]
pub struct LoadedSecrets {
    pub secrets: VaultSecrets,
    /// Warnings for the sources that gave no secret, in their order.
    pub warnings: Vec<String>,
    /// The error of the last source that failed. It stops the run when no source gave
    /// a secret.
    pub error: Option<String>,
}

/// Reads the secret of each vault id in `ids`, a relative source taken relative to
/// `cwd`.
///
/// NOTE: ansible-core prompts for the sources `prompt` and `prompt_ask_vault_pass`
/// (`--ask-vault-password`); rplay skips them.
pub fn load_secrets(ids: &[String], cwd: &Path) -> LoadedSecrets {
    let mut loaded = LoadedSecrets::default();
    for id in ids {
        // ansible-core's `split_vault_id` splits at the first `@`.
        let (label, source) = match id.split_once('@') {
            Some((label, source)) => (label, source),
            None => ("None", id.as_str()),
        };
        if source == "prompt" || source == "prompt_ask_vault_pass" {
            continue;
        }
        match read_secret(label, &crate::config::normalize(&cwd.join(source))) {
            Ok(secret) => loaded.secrets.0.push(secret),
            Err(failure) => {
                loaded.warnings.push(format!(
                    "{} ({label}): {}",
                    failure.stage(),
                    failure.message()
                ));
                loaded.error = Some(failure.message().to_string());
            }
        }
    }
    if !loaded.secrets.is_empty() {
        loaded.error = None;
    }
    loaded
}

/// A failure of one source to give a secret.
enum SourceFailure {
    /// The source does not exist.
    Missing(String),
    /// The file or script gave no usable secret.
    Unusable(String),
}

impl SourceFailure {
    fn stage(&self) -> &'static str {
        match self {
            SourceFailure::Missing(_) => "Error getting vault password file",
            SourceFailure::Unusable(_) => "Error in vault password file loading",
        }
    }

    fn message(&self) -> &str {
        match self {
            SourceFailure::Missing(message) | SourceFailure::Unusable(message) => message,
        }
    }
}

/// Reads the secret of one source: the stripped text of a file, or the standard
/// output of an executable.
fn read_secret(label: &str, path: &Path) -> Result<Vec<u8>, SourceFailure> {
    let path_text = path.display();
    if !path.exists() {
        return Err(SourceFailure::Missing(format!(
            "The vault password file {path_text} was not found"
        )));
    }
    let executable = path
        .metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0);
    let secret = if !executable {
        let data = std::fs::read(path).map_err(|err| {
            SourceFailure::Unusable(format!(
                "Could not read vault password file {path_text}: {err}"
            ))
        })?;
        let secret = strip_newlines(data.trim_ascii());
        require_secret(secret, &format!("from file ({path_text})"))?
    } else if is_client_script(path) {
        run_client_script(path, label)?
    } else {
        run_script(path)?
    };
    Ok(secret)
}

/// Runs a password script with no arguments and takes its standard output. Its
/// standard input and error stay the terminal's, so that it can prompt.
fn run_script(path: &Path) -> Result<Vec<u8>, SourceFailure> {
    let path_text = path.display();
    let output = Command::new(path)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|err| SourceFailure::Unusable(not_runnable(path, &err)))?;
    if !output.status.success() {
        // ansible-core does not capture the standard error, so its message shows None.
        return Err(SourceFailure::Unusable(format!(
            "Vault password script {path_text} returned non-zero ({}): None",
            exit_code(&output.status)
        )));
    }
    require_secret(
        strip_newlines(&output.stdout),
        &format!("from script ({path_text})"),
    )
}

/// Runs a client script (`NAME-client` or `NAME-client.EXT`) with `--vault-id LABEL`,
/// capturing its standard output and error. Its standard input stays the terminal's.
fn run_client_script(path: &Path, label: &str) -> Result<Vec<u8>, SourceFailure> {
    let path_text = path.display();
    let output = Command::new(path)
        .args(["--vault-id", label])
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|err| SourceFailure::Unusable(not_runnable(path, &err)))?;
    let stderr = python_bytes_repr(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(2) => {
            return Err(SourceFailure::Unusable(format!(
                "Vault password client script {path_text} did not find a secret for vault-id={label}: {stderr}"
            )))
        }
        _ => {
            return Err(SourceFailure::Unusable(format!(
                "Vault password client script {path_text} returned non-zero ({}) when getting secret for vault-id={label}: {stderr}",
                exit_code(&output.status)
            )))
        }
    }
    require_secret(
        strip_newlines(&output.stdout),
        &format!("from client script ({path_text})"),
    )
}

fn not_runnable(path: &Path, error: &std::io::Error) -> String {
    format!(
        "Problem running vault password script {} ({error}). If this is not a script, remove the executable bit from the file.",
        path.display()
    )
}

/// Python's `returncode`: the exit status, or minus the signal that ended the process.
fn exit_code(status: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|signal| -signal))
        .unwrap_or(-1)
}

/// Tells whether a script takes `--vault-id`, as ansible-core's `script_is_client`
/// decides from the name without its extension.
fn is_client_script(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Python's `os.path.splitext`: dots that lead the name start no extension.
    let stem_start = name.len() - name.trim_start_matches('.').len();
    let stem = match name[stem_start..].rfind('.') {
        Some(dot) => &name[..stem_start + dot],
        None => &name,
    };
    stem.ends_with("-client")
}

/// Python's `bytes.strip(b'\r\n')`.
fn strip_newlines(data: &[u8]) -> Vec<u8> {
    let newline = |byte: &u8| matches!(byte, b'\r' | b'\n');
    let start = data.iter().position(|b| !newline(b)).unwrap_or(data.len());
    let end = data
        .iter()
        .rposition(|b| !newline(b))
        .map_or(start, |i| i + 1);
    data[start..end].to_vec()
}

fn require_secret(secret: Vec<u8>, source: &str) -> Result<Vec<u8>, SourceFailure> {
    if secret.is_empty() {
        return Err(SourceFailure::Unusable(format!(
            "Invalid vault password was provided {source}"
        )));
    }
    Ok(secret)
}

/// Python's `repr` of a `bytes` value, as a message built with `%s` shows it.
fn python_bytes_repr(data: &[u8]) -> String {
    let mut text = String::from("b'");
    for &byte in data {
        match byte {
            b'\\' => text.push_str("\\\\"),
            b'\'' => text.push_str("\\'"),
            b'\n' => text.push_str("\\n"),
            b'\r' => text.push_str("\\r"),
            b'\t' => text.push_str("\\t"),
            0x20..=0x7e => text.push(byte as char),
            _ => text.push_str(&format!("\\x{byte:02x}")),
        }
    }
    text.push('\'');
    text
}

/// Lists the vault ids of the run in ansible-core's order: `vault_identity_list`,
/// `--vault-id`, then each password file labelled with `vault_identity`.
pub fn vault_ids(
    identity_list: &[String],
    cli_ids: &[String],
    password_files: &[PathBuf],
    identity: &str,
) -> Vec<String> {
    identity_list
        .iter()
        .chain(cli_ids)
        .cloned()
        .chain(
            password_files
                .iter()
                .map(|file| format!("{identity}@{}", file.display())),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_scripts_by_name() {
        assert!(is_client_script(Path::new("/x/pass-client")));
        assert!(is_client_script(Path::new("/x/pass-client.py")));
        assert!(!is_client_script(Path::new("/x/pass-client.d/script")));
        assert!(!is_client_script(Path::new("/x/client")));
    }

    #[test]
    fn missing_file_warns_unless_another_gives_secret() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pass"), "  pw1 \n").unwrap();
        let ids = ["default@nope".to_string(), "default@pass".to_string()];
        let loaded = load_secrets(&ids, dir.path());
        assert_eq!(loaded.secrets.0, [b"pw1".to_vec()]);
        assert_eq!(loaded.error, None);
        assert_eq!(
            loaded.warnings,
            [format!(
                "Error getting vault password file (default): The vault password file {}/nope was not found",
                dir.path().display()
            )]
        );
        let loaded = load_secrets(&ids[..1], dir.path());
        assert!(loaded.secrets.is_empty());
        assert_eq!(
            loaded.error,
            Some(format!(
                "The vault password file {}/nope was not found",
                dir.path().display()
            ))
        );
    }

    #[test]
    fn executable_file_runs() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("pass.sh");
        std::fs::write(&script, "#!/bin/sh\necho pw2\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let loaded = load_secrets(&["pass.sh".to_string()], dir.path());
        assert_eq!(loaded.secrets.0, [b"pw2".to_vec()]);
    }

    #[test]
    fn empty_file_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("empty"), "\n\n").unwrap();
        let loaded = load_secrets(&["default@empty".to_string()], dir.path());
        assert_eq!(
            loaded.error,
            Some(format!(
                "Invalid vault password was provided from file ({}/empty)",
                dir.path().display()
            ))
        );
    }
}
