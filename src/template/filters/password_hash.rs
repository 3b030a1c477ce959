//! `password_hash`: a crypt(3) hash of a password, as ansible-core 2.18 makes it
//! through passlib 1.7.

use minijinja::value::{Value as JValue, ValueKind};
use minijinja::{Environment, Error, State};

use super::crypt::{self, HASH64};
use super::{add, ansible, filter_error, python_type_error, Args, Undefined};
use crate::template::methods::python_type_name;
use crate::template::pyrepr::py_str;

pub fn register(env: &mut Environment<'static>) {
    add(
        env,
        ansible("password_hash"),
        Undefined::Reject,
        password_hash,
    );
}

/// A crypt scheme that `password_hash` supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Md5Crypt,
    Sha256Crypt,
    Sha512Crypt,
}

impl Scheme {
    /// Resolves a `hashtype`: Ansible's short name or passlib's scheme name.
    ///
    /// NOTE: ansible-core also passes any other passlib scheme name (`sha1_crypt`,
    /// `pbkdf2_sha256`, ...) on to passlib with a deprecation warning, and supports
    /// `blowfish` (bcrypt). rplay rejects those as passlib rejects an unknown name.
    fn from_hashtype(hashtype: &str) -> Option<Scheme> {
        match hashtype {
            "md5" | "md5_crypt" => Some(Scheme::Md5Crypt),
            "sha256" | "sha256_crypt" => Some(Scheme::Sha256Crypt),
            "sha512" | "sha512_crypt" => Some(Scheme::Sha512Crypt),
            _ => None,
        }
    }

    /// passlib's name, which its error messages use.
    fn name(self) -> &'static str {
        match self {
            Scheme::Md5Crypt => "md5_crypt",
            Scheme::Sha256Crypt => "sha256_crypt",
            Scheme::Sha512Crypt => "sha512_crypt",
        }
    }

    fn ident(self) -> &'static str {
        match self {
            Scheme::Md5Crypt => "1",
            Scheme::Sha256Crypt => "5",
            Scheme::Sha512Crypt => "6",
        }
    }

    /// The longest salt and the length of a generated one: both 8 for MD5-crypt and 16
    /// for SHA-crypt.
    fn max_salt_size(self) -> usize {
        match self {
            Scheme::Md5Crypt => 8,
            Scheme::Sha256Crypt | Scheme::Sha512Crypt => 16,
        }
    }

    /// The rounds when none are given: ansible-core passes glibc's defaults to passlib
    /// (535,000 and 656,000), so that the hash is the same with either library.
    /// MD5-crypt has a fixed count.
    fn implicit_rounds(self) -> Option<u64> {
        match self {
            Scheme::Md5Crypt => None,
            Scheme::Sha256Crypt => Some(535_000),
            Scheme::Sha512Crypt => Some(656_000),
        }
    }
}

/// The rounds that SHA-crypt leaves out of its hash string.
const SHA_DEFAULT_ROUNDS: u64 = 5_000;
const SHA_MIN_ROUNDS: u64 = 1_000;
const SHA_MAX_ROUNDS: u64 = 999_999_999;

/// A failure of passlib's `hash`, which ansible-core wraps as "Could not hash the
/// secret." and then again in a filter error, so the message appears twice.
fn hash_error(passlib_message: &str) -> Error {
    let message = format!("Could not hash the secret.. {passlib_message}");
    filter_error(format!("{message}. {message}"))
}

/// `password | password_hash(hashtype='sha512', salt=None, salt_size=None,
/// rounds=None, ident=None)`: the crypt string of `password`.
///
/// Without a salt, a random one of `salt_size` characters is generated (the scheme's
/// maximum when `salt_size` is not given). `ident` only applies to bcrypt, so it is
/// ignored here as ansible-core ignores it for these schemes.
fn password_hash(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let hashtype = match args.get(0, "hashtype") {
        Some(value) => py_str(value).unwrap_or_default(),
        None => "sha512".to_owned(),
    };
    let Some(scheme) = Scheme::from_hashtype(&hashtype) else {
        let message = format!("passlib does not support '{hashtype}' algorithm");
        return Err(filter_error(format!("{message}. {message}")));
    };
    let salt = present(args.get(1, "salt"))
        .map(|value| py_str(value).unwrap_or_default())
        .map(|salt| check_salt(scheme, salt))
        .transpose()?;
    let salt_size = present(args.get(2, "salt_size"))
        .map(|value| integer_option(value, "salt_size"))
        .transpose()?;
    let rounds = present(args.get(3, "rounds"))
        .map(|value| rounds_option(scheme, value))
        .transpose()?;

    let password = match args.value.kind() {
        ValueKind::String => args.value.as_str().unwrap_or_default().as_bytes().to_vec(),
        ValueKind::Bytes => args.value.as_bytes().unwrap_or_default().to_vec(),
        _ => {
            let message = format!(
                "secret must be unicode or bytes, not {}",
                python_type_name(&args.value)
            );
            return Err(python_type_error(message));
        }
    };
    let salt = match salt {
        Some(salt) => salt,
        None => random_salt(scheme, salt_size)?,
    };
    let rounds = rounds.or(scheme.implicit_rounds());
    Ok(JValue::from(format_hash(scheme, &password, &salt, rounds)))
}

/// The argument unless it is missing or false in Python's sense (`None`, `''`, `0`),
/// which ansible-core and passlib treat as not given.
fn present(value: Option<&JValue>) -> Option<&JValue> {
    value.filter(|value| value.is_true())
}

/// Checks a given salt as passlib does: crypt's base64 characters only, and no longer
/// than the scheme allows.
fn check_salt(scheme: Scheme, salt: String) -> Result<String, Error> {
    if !salt.bytes().all(|byte| HASH64.contains(&byte)) {
        return Err(hash_error(&format!(
            "invalid characters in {} salt",
            scheme.name()
        )));
    }
    if salt.len() > scheme.max_salt_size() {
        return Err(hash_error(&format!(
            "salt too large ({} requires <= {} chars)",
            scheme.name(),
            scheme.max_salt_size()
        )));
    }
    Ok(salt)
}

/// An integer option as passlib reads it: an integer, or text that Python's `int()`
/// parses.
fn integer_option(value: &JValue, name: &str) -> Result<i64, Error> {
    if value.kind() == ValueKind::Bool {
        return Ok(i64::from(value.is_true()));
    }
    if let Ok(number) = i64::try_from(value.clone()) {
        if value.is_integer() {
            return Ok(number);
        }
    }
    if let Some(text) = value.as_str() {
        return text
            .trim()
            .replace('_', "")
            .parse::<i64>()
            .map_err(|_| hash_error(&format!("invalid literal for int() with base 10: '{text}'")));
    }
    Err(python_type_error(format!(
        "{name} must be integer, not {}",
        python_type_name(value)
    )))
}

/// `rounds`, which MD5-crypt does not take and SHA-crypt takes from 1,000 to
/// 999,999,999.
fn rounds_option(scheme: Scheme, value: &JValue) -> Result<u64, Error> {
    if scheme == Scheme::Md5Crypt {
        return Err(python_type_error(
            "MinimalHandler.using() got an unexpected keyword argument 'rounds'",
        ));
    }
    let rounds = integer_option(value, "min_desired_rounds")?;
    let name = scheme.name();
    if rounds < SHA_MIN_ROUNDS as i64 {
        return Err(hash_error(&format!(
            "{name}: min_desired_rounds ({rounds}) is too low, must be at least {SHA_MIN_ROUNDS}"
        )));
    }
    if rounds > SHA_MAX_ROUNDS as i64 {
        return Err(hash_error(&format!(
            "{name}: min_desired_rounds ({rounds}) is too large, cannot be more than {SHA_MAX_ROUNDS}"
        )));
    }
    Ok(rounds as u64)
}

/// A salt of `size` random characters of crypt's base64, the scheme's maximum by
/// default, from the operating system's random source.
fn random_salt(scheme: Scheme, size: Option<i64>) -> Result<String, Error> {
    let max = scheme.max_salt_size();
    let size = match size {
        None => max,
        Some(size) if size < 0 => {
            return Err(hash_error(&format!(
                "{}: salt_size ({size}) below min_salt_size (0)",
                scheme.name()
            )))
        }
        Some(size) if size as u64 > max as u64 => {
            return Err(hash_error(&format!(
                "{}: salt_size ({size}) above max_salt_size ({max})",
                scheme.name()
            )))
        }
        Some(size) => size as usize,
    };
    let mut bytes = vec![0u8; size];
    getrandom::getrandom(&mut bytes)
        .map_err(|err| filter_error(format!("cannot generate a salt: {err}")))?;
    // 64 divides 256, so taking six bits of each byte keeps the choice uniform.
    Ok(bytes
        .iter()
        .map(|byte| char::from(HASH64[usize::from(byte & 0x3f)]))
        .collect())
}

/// The full crypt string, in the form passlib writes it: SHA-crypt names its rounds
/// unless they are the specification's default of 5,000.
fn format_hash(scheme: Scheme, password: &[u8], salt: &str, rounds: Option<u64>) -> String {
    let ident = scheme.ident();
    if scheme == Scheme::Md5Crypt {
        let checksum = crypt::md5_crypt(password, salt.as_bytes());
        return format!("${ident}${salt}${checksum}");
    }
    let rounds = rounds.unwrap_or(SHA_DEFAULT_ROUNDS);
    // `rounds_option` and `implicit_rounds` keep rounds below 10^9.
    let count = u32::try_from(rounds).unwrap_or(u32::MAX);
    let checksum = if scheme == Scheme::Sha256Crypt {
        crypt::sha256_crypt(password, salt.as_bytes(), count)
    } else {
        crypt::sha512_crypt(password, salt.as_bytes(), count)
    };
    if rounds == SHA_DEFAULT_ROUNDS {
        format!("${ident}${salt}${checksum}")
    } else {
        format!("${ident}$rounds={rounds}${salt}${checksum}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_matches_passlib() {
        // Made with passlib 1.7.4: sha512_crypt.using(salt="abc", rounds=...).hash("pw")
        // and md5_crypt.using(salt="abc").hash("pw").
        assert_eq!(
            format_hash(Scheme::Sha512Crypt, b"pw", "abc", Some(5000)),
            "$6$abc$MtSdWSZbhct2oe.SOqOUM2M/GA/uj5.vyVtJgRHgKi9uqXuWuJqOYE7H/YlsYGVg/YYzDV0xt3fEIwYt580.5."
        );
        assert_eq!(
            format_hash(Scheme::Sha512Crypt, b"pw", "abc", Some(656_000)),
            "$6$rounds=656000$abc$oJ6Ey3u3wVR6Q0uOYFyGkLVV0cqCW77IHxP2bL/9FYdgL1DMFJHjFifLRDOWCmEflCPivXM0nb/cPz8bjR7E2/"
        );
        assert_eq!(
            format_hash(Scheme::Md5Crypt, b"pw", "abc", None),
            "$1$abc$Kb85XxsXB.VXinPhbS4431"
        );
    }

    #[test]
    fn random_salt_has_requested_size() {
        let salt = random_salt(Scheme::Sha512Crypt, None).unwrap();
        assert_eq!(salt.len(), 16);
        assert!(salt.bytes().all(|byte| HASH64.contains(&byte)));
        assert_eq!(random_salt(Scheme::Md5Crypt, None).unwrap().len(), 8);
        assert_eq!(random_salt(Scheme::Md5Crypt, Some(4)).unwrap().len(), 4);
        assert!(random_salt(Scheme::Md5Crypt, Some(9)).is_err());
        assert!(random_salt(Scheme::Sha256Crypt, Some(-1)).is_err());
    }

    #[test]
    fn random_salts_differ() {
        let first = random_salt(Scheme::Sha512Crypt, None).unwrap();
        let second = random_salt(Scheme::Sha512Crypt, None).unwrap();
        assert_ne!(first, second);
    }
}
