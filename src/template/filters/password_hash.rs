//! `password_hash`: a crypt(3) hash of a password, as ansible-core 2.18 makes it
//! through passlib 1.7.

use minijinja::value::{Value as JValue, ValueKind};
use minijinja::{Environment, Error, State};

use super::crypt::{self, BCRYPT64, HASH64};
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
    Bcrypt,
}

impl Scheme {
    /// Resolves a `hashtype`: Ansible's short name or passlib's scheme name.
    ///
    /// NOTE: ansible-core also passes any other passlib scheme name (`sha1_crypt`,
    /// `pbkdf2_sha256`, ...) on to passlib with a deprecation warning. rplay rejects
    /// those as passlib rejects an unknown name.
    fn from_hashtype(hashtype: &str) -> Option<Scheme> {
        match hashtype {
            "md5" | "md5_crypt" => Some(Scheme::Md5Crypt),
            "sha256" | "sha256_crypt" => Some(Scheme::Sha256Crypt),
            "sha512" | "sha512_crypt" => Some(Scheme::Sha512Crypt),
            "blowfish" | "bcrypt" => Some(Scheme::Bcrypt),
            _ => None,
        }
    }

    /// Resolves passlib's name of a scheme.
    fn from_passlib_name(name: &str) -> Option<Scheme> {
        match name {
            "md5_crypt" | "sha256_crypt" | "sha512_crypt" | "bcrypt" => Scheme::from_hashtype(name),
            _ => None,
        }
    }

    /// passlib's name, which its error messages use.
    fn name(self) -> &'static str {
        match self {
            Scheme::Md5Crypt => "md5_crypt",
            Scheme::Sha256Crypt => "sha256_crypt",
            Scheme::Sha512Crypt => "sha512_crypt",
            Scheme::Bcrypt => "bcrypt",
        }
    }

    /// Returns the identifier between the first two `$`. For bcrypt it is the default,
    /// which `ident` may replace.
    fn ident(self) -> &'static str {
        match self {
            Scheme::Md5Crypt => "1",
            Scheme::Sha256Crypt => "5",
            Scheme::Sha512Crypt => "6",
            Scheme::Bcrypt => "2b",
        }
    }

    /// Returns the maximum salt length, which is also the length of a generated salt: 8
    /// for MD5-crypt, 16 for SHA-crypt, and exactly 22 for bcrypt.
    fn max_salt_size(self) -> usize {
        match self {
            Scheme::Md5Crypt => 8,
            Scheme::Sha256Crypt | Scheme::Sha512Crypt => 16,
            Scheme::Bcrypt => 22,
        }
    }

    fn salt_alphabet(self) -> &'static [u8; 64] {
        match self {
            Scheme::Bcrypt => BCRYPT64,
            _ => HASH64,
        }
    }

    /// Returns the rounds when none are given: ansible-core passes glibc's defaults to passlib
    /// (535,000 and 656,000 rounds, a cost of 12 for bcrypt), so that the hash is the
    /// same with either library. MD5-crypt has a fixed count.
    fn implicit_rounds(self) -> Option<u64> {
        match self {
            Scheme::Md5Crypt => None,
            Scheme::Sha256Crypt => Some(535_000),
            Scheme::Sha512Crypt => Some(656_000),
            Scheme::Bcrypt => Some(12),
        }
    }

    /// Returns the accepted range of `rounds` (bcrypt's is the base-2 logarithm of its
    /// rounds).
    fn rounds_range(self) -> (i64, i64) {
        match self {
            Scheme::Bcrypt => (BCRYPT_MIN_COST, BCRYPT_MAX_COST),
            _ => (SHA_MIN_ROUNDS as i64, SHA_MAX_ROUNDS as i64),
        }
    }
}

/// The rounds that SHA-crypt leaves out of its hash string.
const SHA_DEFAULT_ROUNDS: u64 = 5_000;
const SHA_MIN_ROUNDS: u64 = 1_000;
const SHA_MAX_ROUNDS: u64 = 999_999_999;
const BCRYPT_MIN_COST: i64 = 4;
const BCRYPT_MAX_COST: i64 = 31;

/// The bcrypt variants passlib writes. `2x` (crypt_blowfish's buggy variant) is only
/// ever verified, never produced.
const BCRYPT_IDENTS: &[&str] = &["2", "2a", "2y", "2b"];

/// Builds the error for a failure of passlib's `hash`, which ansible-core wraps as "Could not hash the
/// secret." and then again in a filter error, so the message appears twice.
fn hash_error(passlib_message: &str) -> Error {
    let message = format!("Could not hash the secret.. {passlib_message}");
    filter_error(format!("{message}. {message}"))
}

/// The other hash schemes of passlib 1.7 (`dir(passlib.hash)`), which ansible-core
/// hands to passlib although it does not document them.
const PASSLIB_SCHEMES: &[&str] = &[
    "apr_md5_crypt",
    "argon2",
    "atlassian_pbkdf2_sha1",
    "bcrypt_sha256",
    "bigcrypt",
    "bsd_nthash",
    "bsdi_crypt",
    "cisco_asa",
    "cisco_pix",
    "cisco_type7",
    "crypt16",
    "cta_pbkdf2_sha1",
    "des_crypt",
    "django_argon2",
    "django_bcrypt",
    "django_bcrypt_sha256",
    "django_des_crypt",
    "django_disabled",
    "django_pbkdf2_sha1",
    "django_pbkdf2_sha256",
    "django_salted_md5",
    "django_salted_sha1",
    "dlitz_pbkdf2_sha1",
    "fshp",
    "grub_pbkdf2_sha512",
    "hex_md4",
    "hex_md5",
    "hex_sha1",
    "hex_sha256",
    "hex_sha512",
    "htdigest",
    "ldap_bcrypt",
    "ldap_bsdi_crypt",
    "ldap_des_crypt",
    "ldap_hex_md5",
    "ldap_hex_sha1",
    "ldap_md5",
    "ldap_md5_crypt",
    "ldap_pbkdf2_sha1",
    "ldap_pbkdf2_sha256",
    "ldap_pbkdf2_sha512",
    "ldap_plaintext",
    "ldap_salted_md5",
    "ldap_salted_sha1",
    "ldap_salted_sha256",
    "ldap_salted_sha512",
    "ldap_sha1",
    "ldap_sha1_crypt",
    "ldap_sha256_crypt",
    "ldap_sha512_crypt",
    "lmhash",
    "msdcc",
    "msdcc2",
    "mssql2000",
    "mssql2005",
    "mysql323",
    "mysql41",
    "nthash",
    "oracle10",
    "oracle11",
    "pbkdf2_sha1",
    "pbkdf2_sha256",
    "pbkdf2_sha512",
    "phpass",
    "plaintext",
    "postgres_md5",
    "roundup_plaintext",
    "scram",
    "scrypt",
    "sha1_crypt",
    "sun_md5_crypt",
    "unix_disabled",
    "unix_fallback",
];

/// `password | password_hash(hashtype='sha512', salt=None, salt_size=None,
/// rounds=None, ident=None)`: the crypt string of `password`.
///
/// Without a salt, a random one of `salt_size` characters is generated (the scheme's
/// maximum when `salt_size` is not given). `ident` selects bcrypt's variant and is
/// ignored for the other schemes, as in ansible-core.
fn password_hash(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let hashtype = match args.get(0, "hashtype") {
        Some(value) => py_str(value).unwrap_or_default(),
        None => "sha512".to_owned(),
    };
    let Some(scheme) = Scheme::from_hashtype(&hashtype) else {
        if PASSLIB_SCHEMES.contains(&hashtype.as_str()) {
            // NOTE: ansible-core hashes with those of these schemes that need no other
            // arguments, and warns that it will stop doing so in 2.19.
            return Err(filter_error(format!(
                "{hashtype} is not in the list of supported passlib algorithms: md5, blowfish, sha256, sha512"
            )));
        }
        let message = format!("passlib does not support '{hashtype}' algorithm");
        return Err(filter_error(format!("{message}. {message}")));
    };
    let salt = present(args.get(1, "salt"))
        .map(|value| py_str(value).unwrap_or_default())
        .map(|salt| check_salt(scheme, salt))
        .transpose()?;
    let salt_size = present(args.get(2, "salt_size"))
        .map(salt_size_option)
        .transpose()?;
    let rounds = present(args.get(3, "rounds"))
        .map(|value| rounds_option(scheme, value))
        .transpose()?;
    let ident = match scheme {
        Scheme::Bcrypt => bcrypt_ident(present(args.get(4, "ident")))?,
        _ => scheme.ident().to_owned(),
    };

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
    Ok(JValue::from(format_hash(
        scheme, &ident, &password, &salt, rounds,
    )))
}

/// bcrypt's `ident`: one of [`BCRYPT_IDENTS`], `2b` when not given.
fn bcrypt_ident(value: Option<&JValue>) -> Result<String, Error> {
    let Some(value) = value else {
        return Ok(Scheme::Bcrypt.ident().to_owned());
    };
    let ident = py_str(value).unwrap_or_default();
    if BCRYPT_IDENTS.contains(&ident.as_str()) {
        Ok(ident)
    } else {
        Err(hash_error(&format!("invalid ident: '{ident}'")))
    }
}

/// Returns the argument unless it is missing or false in Python's sense (`None`, `''`, `0`),
/// which ansible-core and passlib treat as not given.
fn present(value: Option<&JValue>) -> Option<&JValue> {
    value.filter(|value| value.is_true())
}

/// Checks a given salt as passlib does: the scheme's base64 characters only, and no
/// longer than it allows. A bcrypt salt has exactly 22 characters, and the unused bits
/// of the last one are cleared.
fn check_salt(scheme: Scheme, salt: String) -> Result<String, Error> {
    checked_salt(scheme, salt).map_err(|message| hash_error(&message))
}

/// [`check_salt`] with passlib's message as the error.
fn checked_salt(scheme: Scheme, salt: String) -> Result<String, String> {
    if !salt
        .bytes()
        .all(|byte| scheme.salt_alphabet().contains(&byte))
    {
        return Err(format!("invalid characters in {} salt", scheme.name()));
    }
    if scheme == Scheme::Bcrypt {
        return match crypt::bcrypt_salt(&salt) {
            Some(bytes) => Ok(crypt::bcrypt64_text(&bytes)),
            None => {
                let size = if salt.len() < 22 { "small" } else { "large" };
                Err(format!(
                    "salt too {size} (bcrypt requires exactly 22 chars)"
                ))
            }
        };
    }
    if salt.len() > scheme.max_salt_size() {
        return Err(format!(
            "salt too large ({} requires <= {} chars)",
            scheme.name(),
            scheme.max_salt_size()
        ));
    }
    Ok(salt)
}

/// Returns the length of the salt the `password` lookup generates for `encrypt`: the scheme's
/// maximum, 8 for a scheme ansible-core has no data on.
pub(crate) fn lookup_salt_size(encrypt: &str) -> usize {
    Scheme::from_passlib_name(encrypt).map_or(8, Scheme::max_salt_size)
}

/// Returns the hash the `password` lookup returns for `encrypt` (a passlib scheme name) with a
/// given salt: ansible-core's `do_encrypt`, with the rounds `password_hash` uses by
/// default. `ident` only matters for bcrypt, `2b` when not given. The error is the
/// message of the error ansible-core raises.
pub(crate) fn lookup_hash(
    encrypt: &str,
    password: &str,
    salt: &str,
    ident: Option<&str>,
) -> Result<String, String> {
    let Some(scheme) = Scheme::from_passlib_name(encrypt) else {
        if PASSLIB_SCHEMES.contains(&encrypt) {
            // NOTE: ansible-core hashes with any scheme of passlib; rplay only with
            // these four.
            return Err(format!(
                "rplay cannot hash with passlib's '{encrypt}' scheme: md5_crypt, bcrypt, sha256_crypt and sha512_crypt are supported"
            ));
        }
        return Err(format!("passlib does not support '{encrypt}' algorithm"));
    };
    let hash_failure = |message: String| format!("Could not hash the secret.. {message}");
    let salt = checked_salt(scheme, salt.to_owned()).map_err(hash_failure)?;
    let ident = match (scheme, ident) {
        (Scheme::Bcrypt, Some(ident)) if !BCRYPT_IDENTS.contains(&ident) => {
            return Err(hash_failure(format!("invalid ident: '{ident}'")));
        }
        (Scheme::Bcrypt, Some(ident)) => ident,
        _ => scheme.ident(),
    };
    Ok(format_hash(
        scheme,
        ident,
        password.as_bytes(),
        &salt,
        scheme.implicit_rounds(),
    ))
}

/// Reads an integer option as passlib does: an integer, or text that Python's `int()`
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

/// `salt_size`, which ansible-core compares with the scheme's limits before passlib
/// reads it, so a list or dict fails that comparison.
fn salt_size_option(value: &JValue) -> Result<i64, Error> {
    if matches!(value.kind(), ValueKind::Seq | ValueKind::Map) {
        return Err(python_type_error(format!(
            "'<' not supported between instances of '{}' and 'int'",
            python_type_name(value)
        )));
    }
    integer_option(value, "salt_size")
}

/// `rounds`, which MD5-crypt does not take, SHA-crypt takes from 1,000 to
/// 999,999,999 and bcrypt from 4 to 31.
fn rounds_option(scheme: Scheme, value: &JValue) -> Result<u64, Error> {
    if scheme == Scheme::Md5Crypt {
        return Err(python_type_error(
            "MinimalHandler.using() got an unexpected keyword argument 'rounds'",
        ));
    }
    let rounds = integer_option(value, "min_desired_rounds")?;
    let name = scheme.name();
    let (min, max) = scheme.rounds_range();
    if rounds < min {
        return Err(hash_error(&format!(
            "{name}: min_desired_rounds ({rounds}) is too low, must be at least {min}"
        )));
    }
    if rounds > max {
        return Err(hash_error(&format!(
            "{name}: min_desired_rounds ({rounds}) is too large, cannot be more than {max}"
        )));
    }
    Ok(rounds as u64)
}

/// Generates a salt of `size` random characters of crypt's base64, the scheme's maximum
/// by default, from the operating system's random source. bcrypt's is 16 random bytes.
fn random_salt(scheme: Scheme, size: Option<i64>) -> Result<String, Error> {
    let max = scheme.max_salt_size();
    if scheme == Scheme::Bcrypt {
        if let Some(size) = size.filter(|size| *size != max as i64) {
            return Err(hash_error(&format!(
                "bcrypt: salt_size ({size}) must be exactly {max}"
            )));
        }
        let mut bytes = [0u8; 16];
        getrandom::getrandom(&mut bytes)
            .map_err(|err| filter_error(format!("cannot generate a salt: {err}")))?;
        return Ok(crypt::bcrypt64_text(&bytes));
    }
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

/// Builds the full crypt string in the form passlib writes it: SHA-crypt names its rounds
/// unless they are the specification's default of 5,000, and bcrypt always writes its
/// cost as two digits.
fn format_hash(
    scheme: Scheme,
    ident: &str,
    password: &[u8],
    salt: &str,
    rounds: Option<u64>,
) -> String {
    if scheme == Scheme::Bcrypt {
        let cost = rounds.unwrap_or(12) as u32;
        let salt_bytes = crypt::bcrypt_salt(salt).unwrap_or_default();
        let checksum = crypt::bcrypt(password, &salt_bytes, cost, ident != "2");
        return format!("${ident}${cost:02}${salt}{checksum}");
    }
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

    /// Renders `template` with rplay's environment and returns the error message.
    fn render_error(template: &str) -> String {
        let env = crate::template::environment::build();
        let error = env
            .render_str(template, ())
            .expect_err("the template fails");
        error
            .detail()
            .map(str::to_owned)
            .unwrap_or_else(|| error.to_string())
    }

    #[test]
    fn salt_size_list_fails_comparison() {
        // ansible-core 2.18.19 with passlib 1.7.4 on "hey" | password_hash(salt_size=[999]).
        assert_eq!(
            render_error("{{ 'hey' | password_hash(salt_size=[999]) }}"),
            "'<' not supported between instances of 'list' and 'int'"
        );
    }

    #[test]
    fn undocumented_passlib_scheme_rejected() {
        // ansible-core 2.18.19 with passlib 1.7.4 on "hey" | password_hash("msdcc").
        assert_eq!(
            render_error("{{ 'hey' | password_hash('msdcc') }}"),
            "msdcc is not in the list of supported passlib algorithms: md5, blowfish, sha256, sha512"
        );
    }

    #[test]
    fn format_matches_passlib() {
        // Made with passlib 1.7.4: sha512_crypt.using(salt="abc", rounds=...).hash("pw")
        // and md5_crypt.using(salt="abc").hash("pw").
        assert_eq!(
            format_hash(Scheme::Sha512Crypt, "6", b"pw", "abc", Some(5000)),
            "$6$abc$MtSdWSZbhct2oe.SOqOUM2M/GA/uj5.vyVtJgRHgKi9uqXuWuJqOYE7H/YlsYGVg/YYzDV0xt3fEIwYt580.5."
        );
        assert_eq!(
            format_hash(Scheme::Sha512Crypt, "6", b"pw", "abc", Some(656_000)),
            "$6$rounds=656000$abc$oJ6Ey3u3wVR6Q0uOYFyGkLVV0cqCW77IHxP2bL/9FYdgL1DMFJHjFifLRDOWCmEflCPivXM0nb/cPz8bjR7E2/"
        );
        assert_eq!(
            format_hash(Scheme::Md5Crypt, "1", b"pw", "abc", None),
            "$1$abc$Kb85XxsXB.VXinPhbS4431"
        );
    }

    #[test]
    fn bcrypt_format_matches_passlib() {
        // passlib 1.7.4: bcrypt.using(rounds=4, salt="abcdefghijklmnopqrstuv",
        // ident="2y").hash("pw"), whose last salt character is repaired to "u".
        let salt = check_salt(Scheme::Bcrypt, "abcdefghijklmnopqrstuv".into()).unwrap();
        assert_eq!(
            format_hash(Scheme::Bcrypt, "2y", b"pw", &salt, Some(4)),
            "$2y$04$abcdefghijklmnopqrstuuyvPXIbu7xe6/CED2DzX8z6Si09MlzlW"
        );
        assert_eq!(random_salt(Scheme::Bcrypt, None).unwrap().len(), 22);
        assert!(random_salt(Scheme::Bcrypt, Some(10)).is_err());
        assert!(check_salt(Scheme::Bcrypt, "abc".into()).is_err());
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
