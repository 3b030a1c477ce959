//! The OpenSSH client options rplay's own SSH transport honours, read from the words of
//! `ssh_args`, `ssh_common_args` and `ssh_extra_args`.

use std::path::PathBuf;
use std::time::Duration;

/// What the option words of one connection ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshOptions {
    /// `StrictHostKeyChecking`: `Some(false)` for `no`/`off`, `Some(true)` for the
    /// values that check.
    pub strict_host_key_checking: Option<bool>,
    pub user_known_hosts_file: Option<PathBuf>,
    pub connect_timeout: Option<Duration>,
    /// `ConnectionAttempts`: how many times to try to connect.
    pub connection_attempts: Option<u32>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub identity_files: Vec<PathBuf>,
}

/// Options that change nothing for rplay's transport: connection sharing (rplay keeps
/// one connection per host anyway), compression, logging, keep-alives and the
/// authentication preferences it follows on its own.
const HARMLESS: &[&str] = &[
    "controlmaster",
    "controlpersist",
    "controlpath",
    "loglevel",
    "serveraliveinterval",
    "serveralivecountmax",
    "tcpkeepalive",
    "compression",
    "identitiesonly",
    "preferredauthentications",
    "kbdinteractiveauthentication",
    "passwordauthentication",
    "pubkeyauthentication",
    "gssapiauthentication",
    "batchmode",
    "forwardagent",
    "hashknownhosts",
    "addkeystoagent",
    "checkhostip",
    "visualhostkey",
    "updatehostkeys",
    "globalknownhostsfile",
];

/// Why option words cannot be used by rplay's own client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshWordsError {
    /// An option only the OpenSSH client honours (a proxy, port forwarding...): the
    /// connection needs the OpenSSH transport.
    #[error("{0}")]
    Unsupported(String),
    /// A malformed option or value.
    #[error("{0}")]
    Invalid(String),
}

/// Reads OpenSSH command-line words into [`SshOptions`]. As in OpenSSH, the first value
/// given for an option wins. An option rplay cannot honour (a proxy, port forwarding, an
/// unknown flag) is an error naming it, never ignored. `~/` in paths is left for the
/// caller to expand.
pub fn parse_ssh_words(words: &[String]) -> Result<SshOptions, SshWordsError> {
    let mut options = SshOptions::default();
    let mut index = 0;
    while index < words.len() {
        let word = &words[index];
        index += 1;
        let Some(flag) = word.strip_prefix('-').filter(|rest| !rest.is_empty()) else {
            return Err(SshWordsError::Invalid(format!(
                "unexpected word '{word}' in the ssh arguments"
            )));
        };
        let (letter, attached) = flag.split_at(1);
        match letter {
            // Compression, and the verbosity or quiet flags: no effect here.
            "C" | "q" | "v" | "4" | "T" | "n" if attached.chars().all(|c| "CqvT4n".contains(c)) => {
            }
            "o" | "p" | "l" | "i" => {
                let value = if attached.is_empty() {
                    let value = words.get(index).ok_or_else(|| {
                        SshWordsError::Invalid(format!("ssh option -{letter} needs a value"))
                    })?;
                    index += 1;
                    value.as_str()
                } else {
                    attached
                };
                match letter {
                    "o" => apply_option(&mut options, value)?,
                    "p" => set_once(
                        &mut options.port,
                        parse_port(value).map_err(SshWordsError::Invalid)?,
                    ),
                    "l" => set_once(&mut options.user, value.to_string()),
                    _ => options.identity_files.push(PathBuf::from(value)),
                }
            }
            _ => {
                return Err(SshWordsError::Unsupported(format!(
                    "the ssh argument '{word}' is not supported by rplay's SSH transport"
                )))
            }
        }
    }
    Ok(options)
}

/// Applies one `-o Key=Value` (or `Key Value`) option.
fn apply_option(options: &mut SshOptions, text: &str) -> Result<(), SshWordsError> {
    let (key, value) = text
        .split_once('=')
        .or_else(|| text.split_once(char::is_whitespace))
        .map(|(k, v)| (k.trim(), v.trim()))
        .ok_or_else(|| SshWordsError::Invalid(format!("ssh option '-o {text}' has no value")))?;
    let invalid = SshWordsError::Invalid;
    let lower = key.to_ascii_lowercase();
    match lower.as_str() {
        "stricthostkeychecking" => {
            let check = !matches!(value.to_ascii_lowercase().as_str(), "no" | "off");
            set_once(&mut options.strict_host_key_checking, check);
        }
        "userknownhostsfile" => {
            let first = value.split_whitespace().next().unwrap_or(value);
            set_once(&mut options.user_known_hosts_file, PathBuf::from(first));
        }
        "connecttimeout" => {
            let seconds: u64 = value
                .parse()
                .map_err(|_| invalid(format!("invalid ConnectTimeout '{value}'")))?;
            set_once(&mut options.connect_timeout, Duration::from_secs(seconds));
        }
        "connectionattempts" => {
            let attempts: u32 = value
                .parse()
                .map_err(|_| invalid(format!("invalid ConnectionAttempts '{value}'")))?;
            set_once(&mut options.connection_attempts, attempts.max(1));
        }
        "port" => set_once(&mut options.port, parse_port(value).map_err(invalid)?),
        "user" => set_once(&mut options.user, value.to_string()),
        "identityfile" => options.identity_files.push(PathBuf::from(value)),
        other if HARMLESS.contains(&other) => {}
        _ => {
            return Err(SshWordsError::Unsupported(format!(
                "the ssh option '{key}' is not supported by rplay's SSH transport"
            )))
        }
    }
    Ok(())
}

/// Keeps the first value an option gets, as OpenSSH does.
fn set_once<T>(slot: &mut Option<T>, value: T) {
    if slot.is_none() {
        *slot = Some(value);
    }
}

fn parse_port(text: &str) -> Result<u16, String> {
    text.parse()
        .map_err(|_| format!("invalid ssh port '{text}'"))
}

/// Expands a leading `~/` to `home`, the controller user's home directory.
pub fn expand_home(path: &str, home: Option<&str>) -> String {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => format!("{}/{rest}", home.trim_end_matches('/')),
        _ => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SshOptions, SshWordsError> {
        let words = rplay_modules::command::split_command(text).unwrap();
        parse_ssh_words(&words)
    }

    #[test]
    fn lab_inventory_args() {
        let options =
            parse("-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR")
                .unwrap();
        assert_eq!(options.strict_host_key_checking, Some(false));
        assert_eq!(
            options.user_known_hosts_file,
            Some(PathBuf::from("/dev/null"))
        );
    }

    #[test]
    fn kubespray_ssh_args() {
        let options = parse("-o ControlMaster=auto -o ControlPersist=30m -o ConnectionAttempts=100 -o UserKnownHostsFile=/dev/null").unwrap();
        assert_eq!(options.connection_attempts, Some(100));
    }

    #[test]
    fn ansible_default_ssh_args() {
        let options = parse("-C -o ControlMaster=auto -o ControlPersist=60s").unwrap();
        assert_eq!(options, SshOptions::default());
    }

    #[test]
    fn attached_and_separate_values() {
        let options = parse("-oPort=2222 -p 2200 -l admin -i /k -o ConnectTimeout=5").unwrap();
        assert_eq!(options.port, Some(2222));
        assert_eq!(options.user.as_deref(), Some("admin"));
        assert_eq!(options.identity_files, vec![PathBuf::from("/k")]);
        assert_eq!(options.connect_timeout, Some(Duration::from_secs(5)));
    }

    #[test]
    fn first_value_wins() {
        let options =
            parse("-o StrictHostKeyChecking=no -o StrictHostKeyChecking=yes -o User=a -l b")
                .unwrap();
        assert_eq!(options.strict_host_key_checking, Some(false));
        assert_eq!(options.user.as_deref(), Some("a"));
    }

    #[test]
    fn home_expansion() {
        assert_eq!(expand_home("~/.ssh/id", Some("/root/")), "/root/.ssh/id");
        assert_eq!(expand_home("/k", Some("/root")), "/k");
        assert_eq!(expand_home("~/k", None), "~/k");
    }

    #[test]
    fn proxy_options_are_rejected() {
        let err = parse("-o ProxyCommand='ssh -W %h:%p bastion'").unwrap_err();
        assert!(
            matches!(&err, SshWordsError::Unsupported(m) if m.contains("ProxyCommand")),
            "{err}"
        );
        let err = parse("-J bastion").unwrap_err();
        assert!(
            matches!(&err, SshWordsError::Unsupported(m) if m.contains("-J")),
            "{err}"
        );
        let err = parse("-o ConnectTimeout=soon").unwrap_err();
        assert!(matches!(err, SshWordsError::Invalid(_)));
    }
}
