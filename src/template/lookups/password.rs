//! The `password` lookup: a password kept in a file on the controller, generated at
//! random on first use.
//!
//! A term is `PATH [length=N] [chars=SPEC,...] [seed=S] [encrypt=SCHEME] [ident=ID]`;
//! the same options may be given as keyword arguments, which parameters in the term
//! replace as a whole. A relative path is taken from the templar's base directory, as
//! Ansible's `path_dwim` does. The file contains `PASSWORD[ salt=SALT[ ident=ID]]`: when it
//! is missing, a password is generated and written there (mode 0600, missing
//! directories 0700) with a trailing newline. With `encrypt`, the lookup returns the
//! password's hash with the stored salt, and a salt (and bcrypt's `ident`) missing from
//! the file is generated and added to it.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use minijinja::value::{Value as JValue, ValueKind};

use super::{Raised, Request};
use crate::template::filters::mersenne::PyRandom;
use crate::template::filters::password_hash::{lookup_hash, lookup_salt_size};
use crate::template::filters::random::Source;
use crate::template::pyrepr::py_str;
use crate::template::vars::Context;
use crate::Value;

const DEFAULT_LENGTH: usize = 20;
const DEFAULT_CHARS: [&str; 3] = ["ascii_letters", "digits", ".,:-_"];
const VALID_PARAMS: [&str; 5] = ["length", "encrypt", "chars", "ident", "seed"];
/// The characters of a generated salt (Python's `ascii_letters + digits + './'`).
const SALT_CHARS: &[u8; 64] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./";

/// Serialises reading and writing password files, so hosts templated at the same time
/// share one generated password (Ansible takes a lock file for the same purpose).
static FILES: Mutex<()> = Mutex::new(());

/// The options of one term.
#[derive(Clone)]
struct Term {
    path: String,
    length: usize,
    chars: Vec<String>,
    seed: Option<String>,
    /// passlib's name of the hash scheme; `None` for an empty value too.
    encrypt: Option<String>,
    ident: Option<String>,
}

impl Term {
    fn new(path: &str) -> Term {
        Term {
            path: path.to_owned(),
            length: DEFAULT_LENGTH,
            chars: DEFAULT_CHARS.iter().map(|c| (*c).to_owned()).collect(),
            seed: None,
            encrypt: None,
            ident: None,
        }
    }
}

pub fn password(context: &Context, request: &Request) -> Result<Vec<Value>, Raised> {
    let mut values = Vec::new();
    for text in request.term_texts() {
        let term = parse_term(&text, request)?;
        let path = resolve(context.templar().base_dir(), &term.path);
        values.push(Value::from(lookup_one(&path, &term)?));
    }
    Ok(values)
}

/// Builds the `AnsibleError` the lookup raises, which Ansible reports as an unhandled
/// exception of the plugin.
fn ansible_error(message: impl Into<String>) -> Raised {
    Raised::ansible(message)
}

/// Reads the keyword arguments into the options of `path`.
///
/// NOTE: Ansible rejects a keyword argument the lookup does not know; rplay ignores it.
fn keyword_options(path: &str, request: &Request) -> Result<Term, Raised> {
    let mut term = Term::new(path);
    let text = |value: &JValue| py_str(value).unwrap_or_default();
    if let Some(value) = request.option("length").filter(|v| !v.is_none()) {
        term.length = match i64::try_from(value.clone()) {
            Ok(number) if value.is_integer() => usize::try_from(number).unwrap_or(0),
            _ => parse_length(&text(value))?,
        };
    }
    if let Some(value) = request.option("chars").filter(|v| !v.is_none()) {
        term.chars = match value.kind() {
            ValueKind::Seq => value
                .try_iter()
                .map(|items| items.map(|item| text(&item)).collect())
                .unwrap_or_default(),
            _ => text(value)
                .split(',')
                .map(|c| c.trim().to_owned())
                .collect(),
        };
    }
    term.seed = request.option("seed").filter(|v| !v.is_none()).map(text);
    term.encrypt = request.option("encrypt").filter(|v| !v.is_none()).map(text);
    term.ident = request.option("ident").filter(|v| !v.is_none()).map(text);
    Ok(term)
}

/// Reads `length` as the plugin's `integer` option; Ansible's message for a value that
/// is no integer names neither the value nor the cause.
fn parse_length(value: &str) -> Result<usize, Raised> {
    value.trim().parse().map_err(|_| {
        Raised::options(
            "Invalid type for configuration option plugin_type: lookup plugin: password setting: length (from Direct): ",
        )
    })
}

fn parse_term(text: &str, request: &Request) -> Result<Term, Raised> {
    let (path, params) = text.split_once(' ').unwrap_or((text, ""));
    if params.trim().is_empty() {
        return keyword_options(path, request);
    }
    // Ansible sets the term's parameters as the plugin's options anew, which drops the
    // keyword arguments.
    let mut term = Term::new(path);
    // NOTE: values are split on spaces; Ansible's `parse_kv` also accepts quoted values
    // with spaces in them.
    for word in params.split_whitespace() {
        let Some((key, value)) = word.split_once('=') else {
            return Err(ansible_error(
                "Unrecognized value after key=value parameters given to password lookup",
            ));
        };
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        match key {
            "length" => term.length = parse_length(value)?,
            "chars" => term.chars = split_chars(value),
            "seed" => term.seed = Some(value.to_owned()),
            "encrypt" => term.encrypt = Some(value.to_owned()),
            "ident" => term.ident = Some(value.to_owned()),
            _ if !VALID_PARAMS.contains(&key) => {
                return Err(ansible_error(format!(
                    "Unrecognized parameter(s) given to password lookup: {key}"
                )));
            }
            _ => {}
        }
    }
    Ok(term)
}

/// Splits a `chars` list on commas; `,,` stands for a comma itself.
fn split_chars(spec: &str) -> Vec<String> {
    let mut chars = Vec::new();
    if spec.contains(",,") {
        chars.push(",".to_owned());
    }
    let spec = spec.replace(",,", ",");
    chars.extend(spec.split(',').filter(|c| !c.is_empty()).map(str::to_owned));
    chars
}

/// The candidate characters: names of Python's `string` constants expand to their
/// value, anything else is taken literally; quotes are dropped.
fn candidate_chars(specs: &[String]) -> Vec<char> {
    const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    const WHITESPACE: &str = " \t\n\r\x0b\x0c";
    let mut text = String::new();
    for spec in specs {
        match spec.as_str() {
            "ascii_letters" => text.push_str(LETTERS),
            "ascii_lowercase" => text.push_str(&LETTERS[..26]),
            "ascii_uppercase" => text.push_str(&LETTERS[26..]),
            "digits" => text.push_str("0123456789"),
            "hexdigits" => text.push_str("0123456789abcdefABCDEF"),
            "octdigits" => text.push_str("01234567"),
            "punctuation" => text.push_str(PUNCTUATION),
            "whitespace" => text.push_str(WHITESPACE),
            "printable" => {
                text.push_str("0123456789");
                text.push_str(LETTERS);
                text.push_str(PUNCTUATION);
                text.push_str(WHITESPACE);
            }
            other => text.push_str(other),
        }
    }
    text.chars().filter(|c| *c != '"' && *c != '\'').collect()
}

fn resolve(base: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// Splits the file's content into password, salt and ident, at the last ` salt=` and
/// the last ` ident=` after it. An empty salt or ident counts as none.
fn parse_content(content: &str) -> (String, Option<String>, Option<String>) {
    let Some((password, rest)) = content.rsplit_once(" salt=") else {
        return (content.to_owned(), None, None);
    };
    let (salt, ident) = match rest.rsplit_once(" ident=") {
        Some((salt, ident)) => (salt, Some(ident)),
        None => (rest, None),
    };
    let present = |text: &str| Some(text.to_owned()).filter(|t| !t.is_empty());
    (password.to_owned(), present(salt), ident.and_then(present))
}

/// Reads the password file, or creates it, and returns the password or its hash.
fn lookup_one(path: &Path, term: &Term) -> Result<String, Raised> {
    let _guard = FILES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // `/dev/null` gives a fresh password on every use and keeps none.
    let dev_null = path == Path::new("/dev/null");
    let encrypt = term.encrypt.as_deref().filter(|e| !e.is_empty());
    let given_ident = term.ident.as_deref().filter(|i| !i.is_empty());
    let (password, mut salt, mut ident, mut changed) = if path.exists() && !dev_null {
        let content = std::fs::read_to_string(path)
            .map_err(|err| ansible_error(format!("could not read {}: {err}", path.display())))?;
        let (password, salt, ident) = parse_content(content.trim_end());
        (password, salt, ident, false)
    } else {
        (generate(term)?, None, None, true)
    };
    if let (Some(encrypt), None) = (encrypt, &salt) {
        changed = true;
        salt = Some(random_salt(lookup_salt_size(encrypt))?);
    }
    match (&ident, given_ident) {
        (None, _) => ident = given_ident.map(str::to_owned),
        // The message names the stored ident as the one provided, as Ansible's does.
        (Some(stored), Some(given)) if stored != given => {
            return Err(ansible_error(format!(
                "The ident parameter provided ({stored}) does not match the stored one ({given})."
            )));
        }
        _ => {}
    }
    if encrypt == Some("bcrypt") && ident.is_none() {
        ident = Some("2b".to_owned());
        changed = true;
    }
    if changed && !dev_null {
        let content = match (&salt, &ident) {
            (None, _) => password.clone(),
            (Some(salt), None) => format!("{password} salt={salt}"),
            (Some(salt), Some(ident)) => format!("{password} salt={salt} ident={ident}"),
        };
        write_file(path, &content)
            .map_err(|err| ansible_error(format!("could not write {}: {err}", path.display())))?;
    }
    match encrypt {
        Some(encrypt) => lookup_hash(
            encrypt,
            &password,
            salt.as_deref().unwrap_or_default(),
            ident.as_deref(),
        )
        .map_err(ansible_error),
        None => Ok(password),
    }
}

/// Generates the password: with `seed`, from Python's Mersenne Twister seeded as
/// Ansible seeds it, so the password is Ansible's.
fn generate(term: &Term) -> Result<String, Raised> {
    let chars = candidate_chars(&term.chars);
    if chars.is_empty() {
        return Err(ansible_error(
            "password lookup: no characters to choose from",
        ));
    }
    let bound = u32::try_from(chars.len())
        .map_err(|_| ansible_error("password lookup: too many characters to choose from"))?;
    Ok(match &term.seed {
        Some(seed) => {
            let mut random = PyRandom::from_text(seed);
            (0..term.length)
                .map(|_| chars[random.below(bound) as usize])
                .collect()
        }
        None => {
            let mut source = Source::new(None);
            (0..term.length)
                .map(|_| chars[source.below(u64::from(bound)) as usize])
                .collect()
        }
    })
}

/// Generates a salt of `size` characters from the operating system's random source.
fn random_salt(size: usize) -> Result<String, Raised> {
    let mut bytes = vec![0u8; size];
    getrandom::getrandom(&mut bytes)
        .map_err(|err| ansible_error(format!("cannot generate a salt: {err}")))?;
    // 64 divides 256, so taking six bits of each byte keeps the choice uniform.
    Ok(bytes
        .iter()
        .map(|byte| char::from(SALT_CHARS[usize::from(byte & 0x3f)]))
        .collect())
}

fn write_file(path: &Path, password: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    writeln!(file, "{password}")
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn no_options() -> Request {
        Request {
            terms: Vec::new(),
            options: Vec::new(),
            subdir: "files",
        }
    }

    fn term(text: &str) -> Term {
        parse_term(text, &no_options()).expect("parses")
    }

    #[test]
    fn password_file_is_created_then_reused() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("credentials/token.creds");
        let term = term("credentials/token.creds length=16 chars=digits");
        let first = lookup_one(&path, &term).expect("created");
        assert_eq!(first.len(), 16);
        assert!(first.chars().all(|c| c.is_ascii_digit()), "{first}");
        let stored = std::fs::read_to_string(&path).expect("written");
        assert_eq!(stored, format!("{first}\n"));
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(lookup_one(&path, &term).expect("read"), first);
    }

    #[test]
    fn password_file_salt_is_not_part_of_password() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("p");
        std::fs::write(&path, "secret salt=abcd\n").expect("written");
        assert_eq!(lookup_one(&path, &term("p")).expect("read"), "secret");
    }

    #[test]
    fn password_chars_comma_escape() {
        assert_eq!(split_chars("digits,,"), vec![",", "digits"]);
        assert_eq!(candidate_chars(&split_chars("ab,'\"")), vec!['a', 'b']);
    }

    #[test]
    fn seeded_password_is_pythons() {
        // ansible-core 2.18: lookup('password', '/dev/null seed=foo'), and with
        // `seed=bar chars=digits length=30`.
        let path = Path::new("/dev/null");
        let password = lookup_one(path, &term("/dev/null seed=foo")).expect("generated");
        assert_eq!(password, "6JUEsF6-,RiuGZDEWF4r");
        let digits = term("/dev/null seed=bar chars=digits length=30");
        assert_eq!(
            lookup_one(path, &digits).expect("generated"),
            "661627156690313339362252964120"
        );
    }

    #[test]
    fn encrypt_uses_the_stored_salt() {
        // Hashes from ansible-core 2.18 with passlib 1.7.4 for files holding
        // `secret salt=...`.
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("p");
        std::fs::write(&path, "secret salt=abcdefgh\n").expect("written");
        assert_eq!(
            lookup_one(&path, &term("p encrypt=md5_crypt")).expect("hashed"),
            "$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1"
        );
        assert_eq!(
            lookup_one(&path, &term("p encrypt=sha256_crypt ident=2a")).expect("hashed"),
            "$5$rounds=535000$abcdefgh$QXIhOR7fttJ4bdMfcw7BEvHVCsepCVESzLPmE9hth51"
        );
        assert_eq!(
            std::fs::read_to_string(&path).expect("kept"),
            "secret salt=abcdefgh\n"
        );
    }

    #[test]
    fn bcrypt_ident_is_added_to_the_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("p");
        std::fs::write(&path, "secret salt=abcdefghijklmnopqrstuv\n").expect("written");
        assert_eq!(
            lookup_one(&path, &term("p encrypt=bcrypt")).expect("hashed"),
            "$2b$12$abcdefghijklmnopqrstuuT1Iwu6o8Wx7BoOyIMHfgVJq6JO/IJhW"
        );
        assert_eq!(
            std::fs::read_to_string(&path).expect("rewritten"),
            "secret salt=abcdefghijklmnopqrstuv ident=2b\n"
        );
        let error = lookup_one(&path, &term("p encrypt=bcrypt ident=2a")).expect_err("differs");
        let Raised::Unhandled { message, .. } = error else {
            panic!("an AnsibleError");
        };
        assert_eq!(
            message,
            "The ident parameter provided (2b) does not match the stored one (2a)."
        );
    }

    #[test]
    fn missing_salt_is_generated_and_kept() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("p");
        let first = lookup_one(&path, &term("p encrypt=sha512_crypt")).expect("hashed");
        let stored = std::fs::read_to_string(&path).expect("written");
        let (password, salt) = stored.trim_end().split_once(" salt=").expect("salt");
        assert_eq!(password.len(), DEFAULT_LENGTH);
        assert_eq!(salt.len(), 16);
        assert!(
            first.starts_with(&format!("$6$rounds=656000${salt}$")),
            "{first}"
        );
        assert_eq!(
            lookup_one(&path, &term("p encrypt=sha512_crypt")).expect("again"),
            first
        );
        assert_eq!(
            lookup_one(&path, &term("p encrypt=")).expect("plain"),
            password
        );
    }
}
