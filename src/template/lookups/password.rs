//! The `password` lookup: a password kept in a file on the controller, generated at
//! random on first use.
//!
//! A term is `PATH [length=N] [chars=SPEC,...] [seed=S]`. A relative path is taken from
//! the templar's base directory, as Ansible's `path_dwim` does. When the file exists, its
//! first part (before ` salt=`) is the password; otherwise a password is generated and
//! written there (mode 0600, missing directories 0700) with a trailing newline.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{failure, Request};
use crate::template::error::TemplateError;
use crate::template::filters::random::Source;
use crate::template::vars::Context;
use crate::Value;

const DEFAULT_LENGTH: usize = 20;
const DEFAULT_CHARS: [&str; 3] = ["ascii_letters", "digits", ".,:-_"];
const VALID_PARAMS: [&str; 5] = ["length", "encrypt", "chars", "ident", "seed"];

/// Serialises reading and writing password files, so hosts templated at the same time
/// share one generated password (Ansible takes a lock file for the same purpose).
static FILES: Mutex<()> = Mutex::new(());

/// The parameters of one term.
struct Term {
    path: String,
    length: usize,
    chars: Vec<String>,
    seed: Option<String>,
}

pub fn password(context: &Context, request: &Request) -> Result<Vec<Value>, TemplateError> {
    let mut values = Vec::new();
    for text in request.term_texts() {
        let term = parse_term(&text)?;
        let path = resolve(context.templar().base_dir(), &term.path);
        values.push(Value::from(read_or_create(&path, &term)?));
    }
    Ok(values)
}

fn parse_term(text: &str) -> Result<Term, TemplateError> {
    let (path, params) = text.split_once(' ').unwrap_or((text, ""));
    let mut term = Term {
        path: path.to_owned(),
        length: DEFAULT_LENGTH,
        chars: DEFAULT_CHARS.iter().map(|c| (*c).to_owned()).collect(),
        seed: None,
    };
    // NOTE: values are split on spaces; Ansible's `parse_kv` also accepts quoted values
    // with spaces in them.
    for word in params.split_whitespace() {
        let Some((key, value)) = word.split_once('=') else {
            return Err(failure(
                "Unrecognized value after key=value parameters given to password lookup",
            ));
        };
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        match key {
            "length" => {
                term.length = value.parse().map_err(|_| {
                    failure(format!(
                        "Invalid type for configuration option length: {value}"
                    ))
                })?;
            }
            "chars" => term.chars = split_chars(value),
            "seed" => term.seed = Some(value.to_owned()),
            "encrypt" | "ident" => {
                return Err(failure(format!(
                    "the password lookup's {key} parameter is not supported by rplay"
                )));
            }
            _ if !VALID_PARAMS.contains(&key) => {
                return Err(failure(format!(
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
    let mut text = String::new();
    for spec in specs {
        text.push_str(match spec.as_str() {
            "ascii_letters" => "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "ascii_lowercase" => "abcdefghijklmnopqrstuvwxyz",
            "ascii_uppercase" => "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "digits" => "0123456789",
            "hexdigits" => "0123456789abcdefABCDEF",
            "octdigits" => "01234567",
            "punctuation" => "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
            other => other,
        });
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

fn read_or_create(path: &Path, term: &Term) -> Result<String, TemplateError> {
    let _guard = FILES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // `/dev/null` gives a fresh password on every use and keeps none.
    let dev_null = path == Path::new("/dev/null");
    if path.exists() && !dev_null {
        let content = std::fs::read_to_string(path)
            .map_err(|err| failure(format!("could not read {}: {err}", path.display())))?;
        let content = content.trim_end();
        let password = content.rsplit_once(" salt=").map_or(content, |(p, _)| p);
        return Ok(password.to_owned());
    }
    let password = generate(term)?;
    if !dev_null {
        write_file(path, &password)
            .map_err(|err| failure(format!("could not write {}: {err}", path.display())))?;
    }
    Ok(password)
}

/// NOTE: with `seed`, Ansible draws from Python's Mersenne Twister; rplay's seeded
/// passwords are repeatable too, but they are other strings.
fn generate(term: &Term) -> Result<String, TemplateError> {
    let chars = candidate_chars(&term.chars);
    if chars.is_empty() {
        return Err(failure("password lookup: no characters to choose from"));
    }
    let mut source = Source::new(term.seed.as_deref());
    Ok((0..term.length)
        .map(|_| chars[source.below(chars.len() as u64) as usize])
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

    #[test]
    fn password_file_is_created_then_reused() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("credentials/token.creds");
        let term = parse_term("credentials/token.creds length=16 chars=digits").expect("parses");
        let first = read_or_create(&path, &term).expect("created");
        assert_eq!(first.len(), 16);
        assert!(first.chars().all(|c| c.is_ascii_digit()), "{first}");
        let stored = std::fs::read_to_string(&path).expect("written");
        assert_eq!(stored, format!("{first}\n"));
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(read_or_create(&path, &term).expect("read"), first);
    }

    #[test]
    fn password_file_salt_is_not_part_of_password() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("p");
        std::fs::write(&path, "secret salt=abcd\n").expect("written");
        let term = parse_term("p").expect("parses");
        assert_eq!(read_or_create(&path, &term).expect("read"), "secret");
    }

    #[test]
    fn password_chars_comma_escape() {
        assert_eq!(split_chars("digits,,"), vec![",", "digits"]);
        assert_eq!(candidate_chars(&split_chars("ab,'\"")), vec!['a', 'b']);
    }
}
