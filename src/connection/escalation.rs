//! Privilege escalation: the `sudo` and `su` command lines ansible-core's become
//! plugins build, and the password prompts they answer.

use std::sync::LazyLock;

use regex::Regex;
use rplay_modules::command::shell_quote;

use super::ConnectionError;

/// The users ansible-core treats as privileged (`admin_users` of the sh shell plugin):
/// becoming them needs no change to the permissions of rplay's files.
const ADMIN_USERS: &[&str] = &["root"];

/// The words for "Password" that ansible-core's su plugin recognises in a prompt
/// (`prompt_l10n`'s default).
const SU_PROMPT_WORDS: &[&str] = &[
    "Password",
    "암호",
    "パスワード",
    "Adgangskode",
    "Contraseña",
    "Contrasenya",
    "Hasło",
    "Heslo",
    "Jelszó",
    "Lösenord",
    "Mật khẩu",
    "Mot de passe",
    "Parola",
    "Parool",
    "Pasahitza",
    "Passord",
    "Passwort",
    "Salasana",
    "Sandi",
    "Senha",
    "Wachtwoord",
    "ססמה",
    "Лозинка",
    "Парола",
    "Пароль",
    "गुप्तशब्द",
    "शब्दकूट",
    "సంకేతపదము",
    "හස්පදය",
    "密码",
    "密碼",
    "口令",
];

/// su's password prompt at the start of a line, as ansible-core matches it: an optional
/// `user's `, one of the words, then a colon (ASCII or full width).
static SU_PROMPT: LazyLock<Regex> = LazyLock::new(|| {
    let words: Vec<String> = SU_PROMPT_WORDS
        .iter()
        .map(|word| format!(r"(\w+'s )?{}", regex::escape(word)))
        .collect();
    Regex::new(&format!("(?i)^(?:{}) ?(:|：) ?", words.join("|")))
        .expect("the su prompt pattern is valid")
});

/// Privilege escalation for a task: who the agent runs as and how it gets there.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Become {
    /// `sudo` or `su`.
    pub method: String,
    pub user: String,
    /// `become_exe`; the method's own name when unset.
    pub exe: Option<String>,
    /// `become_flags`. sudo's default is `-H -S -n`, and su has no default flags.
    pub flags: String,
    pub password: Option<String>,
}

/// Prints everything but the password, which must never reach a log.
impl std::fmt::Debug for Become {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Become")
            .field("method", &self.method)
            .field("user", &self.user)
            .field("exe", &self.exe)
            .field("flags", &self.flags)
            .field("password", &self.password.as_ref().map(|_| "********"))
            .finish()
    }
}

/// The password prompt a become command may print on standard error before the
/// command itself runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordPrompt {
    /// sudo's prompt, which rplay sets with `-p` to a text unique to the run.
    Exact(String),
    /// su's own, localised prompt.
    Su,
}

impl PasswordPrompt {
    /// Counts the prompts in `stderr`. A prompt still waiting for its answer is the end
    /// of the text.
    pub fn count(&self, stderr: &str) -> usize {
        match self {
            PasswordPrompt::Exact(prompt) => stderr.matches(prompt.as_str()).count(),
            PasswordPrompt::Su => stderr
                .split('\n')
                .filter(|line| SU_PROMPT.is_match(line))
                .count(),
        }
    }

    /// True when `stderr` ends with a prompt, that is one still waiting for input.
    pub fn is_waiting(&self, stderr: &str) -> bool {
        match self {
            PasswordPrompt::Exact(prompt) => stderr.ends_with(prompt.as_str()),
            PasswordPrompt::Su => {
                let last_line = stderr.rsplit('\n').next().unwrap_or_default();
                SU_PROMPT.is_match(last_line)
            }
        }
    }
}

impl Become {
    /// True when the become user is neither privileged nor the login user, so that it
    /// cannot read the login user's files (ansible-core's `_is_become_unprivileged`).
    pub fn is_unprivileged(&self, login_user: &str) -> bool {
        !self.user.is_empty()
            && !ADMIN_USERS.contains(&self.user.as_str())
            && self.user != login_user
    }

    /// Wraps `command` so that it runs as the become user, and returns the password
    /// prompt to watch for on standard error. As ansible-core does, a sudo password drops
    /// `-n` from sudo's flags and sets a prompt of its own; su always may prompt.
    pub fn wrap(&self, command: &str) -> Result<(String, Option<PasswordPrompt>), ConnectionError> {
        match self.method.as_str() {
            "sudo" => Ok(self.wrap_sudo(command)),
            "su" => Ok(self.wrap_su(command)),
            other => Err(ConnectionError::Become(format!(
                "the become method '{other}' is not supported by rplay yet; use sudo or su"
            ))),
        }
    }

    fn wrap_sudo(&self, command: &str) -> (String, Option<PasswordPrompt>) {
        let exe = self.exe.as_deref().unwrap_or("sudo");
        let user = shell_quote(&self.user);
        if self.password.is_none() {
            return (format!("{exe} {} -u {user} {command}", self.flags), None);
        }
        let flags: Vec<&str> = self
            .flags
            .split_whitespace()
            .filter(|flag| *flag != "-n" && *flag != "--non-interactive")
            .collect();
        let prompt = format!("[sudo via rplay, key={}] password:", prompt_key());
        let command = format!(
            "{exe} {} -p {} -u {user} {command}",
            flags.join(" "),
            shell_quote(&prompt)
        );
        (command, Some(PasswordPrompt::Exact(prompt)))
    }

    /// `su FLAGS USER -c COMMAND`, with the command quoted as one word for the become
    /// user's shell.
    fn wrap_su(&self, command: &str) -> (String, Option<PasswordPrompt>) {
        let exe = self.exe.as_deref().unwrap_or("su");
        let command = format!(
            "{exe} {} {} -c {}",
            self.flags,
            shell_quote(&self.user),
            shell_quote(command)
        );
        (command, Some(PasswordPrompt::Su))
    }

    /// Ansible's message for a password that the become command rejected.
    pub fn incorrect_password(&self) -> ConnectionError {
        ConnectionError::Become(format!("Incorrect {} password", self.method))
    }

    /// Ansible's message for a prompt without a password to answer it.
    pub fn missing_password(&self) -> ConnectionError {
        ConnectionError::Become(format!("Missing {} password", self.method))
    }
}

/// Returns a random-looking key that makes the password prompt unique to this run.
fn prompt_key() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos()),
    );
    format!("{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escalation(method: &str, user: &str, password: Option<&str>) -> Become {
        Become {
            method: method.into(),
            user: user.into(),
            exe: None,
            flags: if method == "sudo" {
                "-H -S -n".into()
            } else {
                String::new()
            },
            password: password.map(str::to_owned),
        }
    }

    #[test]
    fn su_quotes_command_as_one_word() {
        let (command, prompt) = escalation("su", "bob", None)
            .wrap("'/var/tmp/a b/rplay' agent")
            .unwrap();
        assert_eq!(
            command,
            "su  bob -c ''\"'\"'/var/tmp/a b/rplay'\"'\"' agent'"
        );
        assert_eq!(prompt, Some(PasswordPrompt::Su));
    }

    #[test]
    fn sudo_without_password_keeps_flags() {
        let (command, prompt) = escalation("sudo", "bob", None).wrap("id").unwrap();
        assert_eq!(command, "sudo -H -S -n -u bob id");
        assert_eq!(prompt, None);
    }

    #[test]
    fn sudo_with_password_sets_prompt() {
        let (command, prompt) = escalation("sudo", "bob", Some("pw")).wrap("id").unwrap();
        let Some(PasswordPrompt::Exact(prompt)) = prompt else {
            panic!("expected sudo's prompt");
        };
        assert!(command.starts_with("sudo -H -S -p '[sudo via rplay, key="));
        assert!(command.ends_with("-u bob id"));
        assert!(prompt.ends_with("] password:"));
    }

    #[test]
    fn su_prompt_matches_localised_lines() {
        let prompt = PasswordPrompt::Su;
        assert!(prompt.is_waiting("Password: "));
        assert!(prompt.is_waiting("warning\nbob's Passwort:"));
        assert!(prompt.is_waiting("Пароль："));
        assert!(!prompt.is_waiting("Password: \nsu: Authentication failure\n"));
        assert_eq!(prompt.count("Password: \nPassword: "), 2);
    }

    #[test]
    fn unprivileged_excludes_root_and_login_user() {
        assert!(escalation("sudo", "bob", None).is_unprivileged("root"));
        assert!(!escalation("sudo", "root", None).is_unprivileged("alice"));
        assert!(!escalation("sudo", "alice", None).is_unprivileged("alice"));
    }
}
