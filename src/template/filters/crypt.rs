//! The crypt(3) password hashes that `password_hash` produces: SHA-crypt (`$5$`, `$6$`)
//! as Ulrich Drepper's specification defines it, FreeBSD's MD5-crypt (`$1$`) and
//! OpenBSD's bcrypt (`$2b$`).
//!
//! Each function returns only the checksum part, in the scheme's own base64 alphabet;
//! the caller assembles the whole string.

use base64::Engine;
use blowfish::Blowfish;
use md5::Md5;
use sha2::{Digest, Sha256, Sha512};

/// crypt's base64 alphabet (`hash64`), in digit order.
pub const HASH64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// bcrypt's base64 alphabet: standard base64's bit order with another alphabet, and
/// no padding.
pub const BCRYPT64: &[u8; 64] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The text bcrypt encrypts 64 times with its key schedule.
const BCRYPT_TEXT: &[u8; 24] = b"OrpheanBeholderScryDoubt";

/// The maximum key length bcrypt uses, terminating NUL included.
const BCRYPT_MAX_KEY: usize = 72;

/// The fixed number of rounds of MD5-crypt.
const MD5_ROUNDS: usize = 1000;

/// The order in which SHA-512-crypt encodes its 64 digest bytes, three at a time. The
/// last group contains one byte and encodes to two characters.
const SHA512_ORDER: [[usize; 3]; 22] = [
    [0, 21, 42],
    [22, 43, 1],
    [44, 2, 23],
    [3, 24, 45],
    [25, 46, 4],
    [47, 5, 26],
    [6, 27, 48],
    [28, 49, 7],
    [50, 8, 29],
    [9, 30, 51],
    [31, 52, 10],
    [53, 11, 32],
    [12, 33, 54],
    [34, 55, 13],
    [56, 14, 35],
    [15, 36, 57],
    [37, 58, 16],
    [59, 17, 38],
    [18, 39, 60],
    [40, 61, 19],
    [62, 20, 41],
    [usize::MAX, usize::MAX, 63],
];

/// The same for SHA-256-crypt's 32 bytes. The last group contains two bytes and encodes
/// to three characters.
const SHA256_ORDER: [[usize; 3]; 11] = [
    [0, 10, 20],
    [21, 1, 11],
    [12, 22, 2],
    [3, 13, 23],
    [24, 4, 14],
    [15, 25, 5],
    [6, 16, 26],
    [27, 7, 17],
    [18, 28, 8],
    [9, 19, 29],
    [usize::MAX, 31, 30],
];

/// The same for MD5-crypt's 16 bytes. The last group contains one byte.
const MD5_ORDER: [[usize; 3]; 6] = [
    [0, 6, 12],
    [1, 7, 13],
    [2, 8, 14],
    [3, 9, 15],
    [4, 10, 5],
    [usize::MAX, usize::MAX, 11],
];

/// Computes the SHA-512-crypt checksum (86 characters) of `password`.
///
/// `salt` must already be valid: at most 16 characters of [`HASH64`]. `rounds` is used
/// as given; the caller checks it against the 1,000 to 999,999,999 range.
pub fn sha512_crypt(password: &[u8], salt: &[u8], rounds: u32) -> String {
    let digest = sha_crypt::<Sha512>(password, salt, rounds);
    encode(&digest, &SHA512_ORDER)
}

/// Computes the SHA-256-crypt checksum (43 characters) of `password`, with the same
/// preconditions as [`sha512_crypt`].
pub fn sha256_crypt(password: &[u8], salt: &[u8], rounds: u32) -> String {
    let digest = sha_crypt::<Sha256>(password, salt, rounds);
    encode(&digest, &SHA256_ORDER)
}

/// Computes the MD5-crypt checksum (22 characters) of `password`. `salt` must be at
/// most 8 characters of [`HASH64`].
pub fn md5_crypt(password: &[u8], salt: &[u8]) -> String {
    let alternate = Md5::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();

    let mut context = Md5::new()
        .chain_update(password)
        .chain_update(b"$1$")
        .chain_update(salt);
    add_repeated(&mut context, &alternate, password.len());
    // Each bit of the password's length, lowest first, adds a zero byte when set and
    // the password's first byte when clear.
    let mut length = password.len();
    while length > 0 {
        if length & 1 == 1 {
            context.update([0u8]);
        } else {
            context.update(&password[..1]);
        }
        length >>= 1;
    }
    let mut digest = context.finalize();

    for round in 0..MD5_ROUNDS {
        let mut context = Md5::new();
        if round % 2 == 1 {
            context.update(password);
        } else {
            context.update(digest);
        }
        if round % 3 != 0 {
            context.update(salt);
        }
        if round % 7 != 0 {
            context.update(password);
        }
        if round % 2 == 1 {
            context.update(digest);
        } else {
            context.update(password);
        }
        digest = context.finalize();
    }
    encode(&digest, &MD5_ORDER)
}

/// Computes the bcrypt checksum (31 characters) of `password` with a cost of
/// `2^cost` rounds (4 to 31). The `$2a$`, `$2y$` and `$2b$` variants end the key with a
/// NUL byte (`nul_terminated`); the original `$2$` does not.
pub fn bcrypt(password: &[u8], salt: &[u8; 16], cost: u32, nul_terminated: bool) -> String {
    let mut key = password.to_vec();
    if nul_terminated {
        key.push(0);
    }
    key.truncate(BCRYPT_MAX_KEY);
    if key.is_empty() {
        key.push(0);
    }

    let mut state = Blowfish::bc_init_state();
    state.salted_expand_key(salt, &key);
    for _ in 0..1u64 << cost {
        state.bc_expand_key(&key);
        state.bc_expand_key(salt);
    }

    let mut words: Vec<u32> = BCRYPT_TEXT
        .chunks(4)
        .map(|chunk| u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
        .collect();
    for pair in words.chunks_mut(2) {
        let mut block = [pair[0], pair[1]];
        for _ in 0..64 {
            block = state.bc_encrypt(block);
        }
        pair.copy_from_slice(&block);
    }
    let bytes: Vec<u8> = words.iter().flat_map(|word| word.to_be_bytes()).collect();
    // bcrypt drops the last byte of its 24-byte result.
    bcrypt64().encode(&bytes[..23])
}

/// Decodes a 22-character bcrypt salt into its 16 bytes, ignoring the four unused
/// bits of the last character as passlib does. `None` for other lengths or characters.
pub fn bcrypt_salt(text: &str) -> Option<[u8; 16]> {
    if text.len() != 22 {
        return None;
    }
    let bytes = bcrypt64().decode(text).ok()?;
    bytes.try_into().ok()
}

/// Encodes bytes in bcrypt's base64, as a salt is written in the hash string.
pub fn bcrypt64_text(bytes: &[u8]) -> String {
    bcrypt64().encode(bytes)
}

fn bcrypt64() -> base64::engine::GeneralPurpose {
    let config = base64::engine::GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true);
    base64::engine::GeneralPurpose::new(&base64::alphabet::BCRYPT, config)
}

/// Computes the SHA-crypt digest, steps 1 to 21 of the specification, for either hash.
fn sha_crypt<D: Digest + Clone>(password: &[u8], salt: &[u8], rounds: u32) -> Vec<u8> {
    let alternate = D::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();

    let mut context = D::new().chain_update(password).chain_update(salt);
    add_repeated(&mut context, &alternate, password.len());
    // Each bit of the password's length, lowest first, adds the alternate digest when
    // set and the password when clear.
    let mut length = password.len();
    while length > 0 {
        if length & 1 == 1 {
            context.update(&alternate);
        } else {
            context.update(password);
        }
        length >>= 1;
    }
    let intermediate = context.finalize();

    let mut password_digest = D::new();
    for _ in 0..password.len() {
        password_digest.update(password);
    }
    let p_bytes = repeat_to_length(&password_digest.finalize(), password.len());

    let mut salt_digest = D::new();
    for _ in 0..16 + usize::from(intermediate[0]) {
        salt_digest.update(salt);
    }
    let s_bytes = repeat_to_length(&salt_digest.finalize(), salt.len());

    let mut digest = intermediate.to_vec();
    for round in 0..rounds {
        let mut context = D::new();
        if round % 2 == 1 {
            context.update(&p_bytes);
        } else {
            context.update(&digest);
        }
        if round % 3 != 0 {
            context.update(&s_bytes);
        }
        if round % 7 != 0 {
            context.update(&p_bytes);
        }
        if round % 2 == 1 {
            context.update(&digest);
        } else {
            context.update(&p_bytes);
        }
        digest = context.finalize().to_vec();
    }
    digest
}

/// Adds `length` bytes to `context`: `block` repeated, the last copy cut short.
fn add_repeated<D: Digest>(context: &mut D, block: &[u8], length: usize) {
    let mut remaining = length;
    while remaining > 0 {
        let take = remaining.min(block.len());
        context.update(&block[..take]);
        remaining -= take;
    }
}

/// `block` repeated to exactly `length` bytes.
fn repeat_to_length(block: &[u8], length: usize) -> Vec<u8> {
    block.iter().copied().cycle().take(length).collect()
}

/// Encodes `digest` in crypt's base64, three bytes at a time in the order `groups`
/// gives. Each group is read as a 24-bit number, first byte highest, and written
/// lowest six bits first. `usize::MAX` marks a missing byte of the last group, which
/// then writes one character more than it has bytes.
fn encode(digest: &[u8], groups: &[[usize; 3]]) -> String {
    let mut text = String::with_capacity(groups.len() * 4);
    for group in groups {
        let mut word = 0u32;
        let mut present = 0;
        for &index in group {
            word <<= 8;
            if index != usize::MAX {
                word |= u32::from(digest[index]);
                present += 1;
            }
        }
        let characters = if present == 3 { 4 } else { present + 1 };
        for _ in 0..characters {
            text.push(char::from(HASH64[(word & 0x3f) as usize]));
            word >>= 6;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `$id$[rounds=N$]salt$checksum` into its rounds, salt and checksum.
    fn parts(hash: &str) -> (Option<u32>, &str, &str) {
        let fields: Vec<&str> = hash.split('$').collect();
        match fields.as_slice() {
            ["", _, rounds, salt, checksum] => {
                let rounds = rounds.strip_prefix("rounds=").and_then(|n| n.parse().ok());
                (rounds, salt, checksum)
            }
            ["", _, salt, checksum] => (None, salt, checksum),
            _ => panic!("not a crypt hash: {hash}"),
        }
    }

    /// Vectors made with Python 3.11's `crypt.crypt`, which calls glibc's crypt(3):
    /// password, then the resulting hash.
    const VECTORS: &[(&str, &str)] = &[
        ("", "$6$saltstring$kyGrqt6gmjAdtFLPrflEFifSYLCWWq1pyx95SvqinLDy2UHmj0sTF0MSLMwxPFZc3tu5kQckI8fks0zOPda3n1"),
        ("", "$5$saltstring$FdNfA4gXqvCeO6iZs7G/.wwwoywYZqo0l1pwmfWaBA7"),
        ("", "$6$rounds=1000$saltstring$CF.N.0BYYN72qUcyvvSEsw6BVOF30ljypIAf09OO9srNHWPxyxF8MeuK7MXWjGoVlM.3yAAk/owEEJQEYuWsY1"),
        ("", "$5$rounds=1234$saltstring$lPpT0iMCqSH4dP2SvfTPDkFwL/0ke0UAJYT/L8G.qQ0"),
        ("", "$1$saltstri$ciR2otLVXV8I9sOPWbLTc1"),
        ("a", "$6$ab$/PzCrRVMmcIPg399m0GjJEW7Is3nwj.HV3N4NLJLXwzwzPszJ55Jq.eFpjcqBciAH7lx4yAws1nleGIpiHDt91"),
        ("a", "$5$ab$WGOp4rrnVkzd41QtCddYFTEQ9dQil8O7VF2OXqtI3/7"),
        ("a", "$6$rounds=1000$ab$pH9NrVOL0TsWVTwIsERtoDA4KGRST7iElxHdzYlv/7kFsSbdAYpDolZo0lKEk6Fy/6qd4OKBdkihSYcXYWb/E0"),
        ("a", "$5$rounds=1234$ab$Qxz0Y9UeufJF3arWbzC73N0ajBYC7NKvYHAkMCkoch0"),
        ("a", "$1$ab$NM4FR4Dl/CzoTSJTd3YJ3."),
        ("Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"),
        ("Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"),
        ("Hello world!", "$6$rounds=1000$saltstring$Zu2Vknok2/f53APfN687ADnzeNBLcsEgTwvcBHMD2./07rZQAt8vsuKVufD15dyZh.LOLB/uZKf6I3GyON4bp/"),
        ("Hello world!", "$5$rounds=1234$saltstring$QVqYzw88BkqNN50UcLgdwR5i/24PGjaSp/227BCDq9/"),
        ("Hello world!", "$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1"),
        ("xxxxxxxxxxxxxxx", "$6$sixteencharsalt1$hSgPYOqlulo7SH7XOYYGJzqgdeQPbFKMEVKOyhiCXXDDmRMpZnvdHuWK4p2rf6InPPy4kUtnBS8R6nD2psjYz1"),
        ("xxxxxxxxxxxxxxx", "$5$sixteencharsalt1$847PfXIs0ca1tXKxE1fApAwYAK3WQgm.aN8EApQwwt0"),
        ("xxxxxxxxxxxxxxx", "$6$rounds=1000$sixteencharsalt1$6OENgUC9OA8jqMfRNCNzI8KD7L5Wl3LO9XHFk4rBFTvXzyqqzrGfyQiyW86EKovjS2mfiPE1aQxQwNVqPjv6L1"),
        ("xxxxxxxxxxxxxxx", "$5$rounds=1234$sixteencharsalt1$jWOL8qLH.4HEXBFcC2GUXjd/JkcwoGcn.TZeZJx1gV9"),
        ("xxxxxxxxxxxxxxx", "$1$sixteenc$Fxr8Aod5cuUi89Xeck6qc1"),
        ("yyyyyyyyyyyyyyyy", "$6$q$fSAIyPadCKJvi1wTmDbIP33o5CkPxBiOUFEQ67QKC8IJK69RbQEF2XGBwuCKai04w21tKz6BPAQDEcx5GAMZx0"),
        ("yyyyyyyyyyyyyyyy", "$5$q$viXdh.dL6RMZnSLQ4Dp6eY/Mtsrz6JMUV8gj1XiNW52"),
        ("yyyyyyyyyyyyyyyy", "$6$rounds=1000$q$nWj2HbSRtUhEd1L1jCcvEy.aUX6bxLECV92/nrjGJysn7u16fSehdU8IUo9T25jbuFVE5UFkWkxNnZ25/erh10"),
        ("yyyyyyyyyyyyyyyy", "$5$rounds=1234$q$uUsxcir.BNnYG2LlN5mcerqzFJzv69JdAk5sKRWEOc6"),
        ("yyyyyyyyyyyyyyyy", "$1$q$RsAYG/MwG2vcD20AOhJWT0"),
        ("zzzzzzzzzzzzzzzzz", "$6$./09AZaz$xkalFpSfYW7HcvYQoOnG9ZUt/xoeVI.mkQyp5UzP4i6lK8yXRUx2gOWQa9KHZDMauN.t0svfGgaq/6JWKleaV0"),
        ("zzzzzzzzzzzzzzzzz", "$5$./09AZaz$.EcIkhW10ggtdYhG8N.eeRsWOKqn3/jmWEe/1/whhc6"),
        ("zzzzzzzzzzzzzzzzz", "$6$rounds=1000$./09AZaz$dHD2022DMlmwCbsOGVx/YHRFqnCJIWgmvmkWAJ9fwkSpVOO93SrKFK.Jn.y0HKpJt8KqSG/.EMB1X4DcHATum."),
        ("zzzzzzzzzzzzzzzzz", "$5$rounds=1234$./09AZaz$wY/iZ1KZMwkQQm18oWRJFeHGQqKw9QuP/gx3ulB0TN4"),
        ("zzzzzzzzzzzzzzzzz", "$1$./09AZaz$QKiDz2X86O5AjrGn/3cmI."),
        ("ppppppppppppppppppppppppppppppp", "$6$s1$j1KxPXb0QbZ6kTa0o.7U2rOOXX3YWim3C9AXHHSQziwycU7ls11lQPTEnv1UJX6DhllCA1SdUsAm2vcpQswsx0"),
        ("ppppppppppppppppppppppppppppppp", "$5$s1$qT/0HalzNW2AjD8ElOHpFUEHjBPWJn9UIbpwi28joYD"),
        ("ppppppppppppppppppppppppppppppp", "$6$rounds=1000$s1$ala0CZSe71mg2ubgFGTEfIoPVPSID0a.NLdcunwu1ENb48xDUVb39MWrLxwk0buW1.b1awWZfbiWPztjGv74d0"),
        ("ppppppppppppppppppppppppppppppp", "$5$rounds=1234$s1$x4ErksdYXavbEGRlCs6Ggw2XKZURDKH2E.kRNIuXOR7"),
        ("ppppppppppppppppppppppppppppppp", "$1$s1$j9WdjfwSbuYfRgNC2O2zk0"),
        ("pppppppppppppppppppppppppppppppp", "$6$s2$sTYWNivhFkIFm5AgKquh/no4pROa/YoBETgREnpTEQs3nOH4hSdXxbZH3ehaZOa1sfONJDf/5lNd1Tj2YeUha0"),
        ("pppppppppppppppppppppppppppppppp", "$5$s2$Vy5R5NukCLjMUyEsndMEmBCwsUX1XbGyvwDQ1QsBTeA"),
        ("pppppppppppppppppppppppppppppppp", "$6$rounds=1000$s2$p.mo2mqwkTMXLVjFOvrx5T.0EwKCStrI/f314AkdF/Mmt3QsgrDdtDFvAGT9ssgzcawBVEcHP9bEvTDhqAyEt0"),
        ("pppppppppppppppppppppppppppppppp", "$5$rounds=1234$s2$uk3N/8CyB7rWNKVQ7mFnSo8PzJvGrAAuYaedJBrezJ7"),
        ("pppppppppppppppppppppppppppppppp", "$1$s2$0E0k0HMCUMZ9ge/Uh93Xc0"),
        ("ppppppppppppppppppppppppppppppppp", "$6$s3$x71Yl2/Amhqk2Z2OWdiJICTgnxdb6aU9reRsiWdIQHnVebRyNjInP.jGsuJLNkR.oc45Zg1MaQehnIV3NSfgM."),
        ("ppppppppppppppppppppppppppppppppp", "$5$s3$UznvWPHo6c2Rz0e70Zoy21Guq2KYfjoFGWX9ZX6a2w3"),
        ("ppppppppppppppppppppppppppppppppp", "$6$rounds=1000$s3$2L3UrHrldvZXXFsBXWy1KATLOFW7y8B1OuVRDq9IerCf9hQVQrPLWkC9Eu9MUCkYim1n7dNlbLtnARR2bhETe0"),
        ("ppppppppppppppppppppppppppppppppp", "$5$rounds=1234$s3$Ubqixd1Zn81GT/FvTDfBMnvr3o24U8985np6iKCKmD8"),
        ("ppppppppppppppppppppppppppppppppp", "$1$s3$9InjP4P/JjBrfcQEhv4Rs."),
        ("longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglong", "$6$salt$pvVvupKB70v5j2vIvmuO1B339OkYYoppNQBt6EKeZFZn3bL6VV6sU5nYNx.usWK1MMLQp4eO26B2iEGPrvPyU1"),
        ("longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglong", "$5$salt$bLjy1PmuY4xnv/XtfjPdg9r0jaVUvHMuzVxf7HNW9A4"),
        ("longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglong", "$6$rounds=1000$salt$gznkfdZ4613Nvr9uH5NNB0ca0aluVCgXTaYfoFlYGwR9tFXkbSzXfR6ZOOqrJ4wCWuiQe5.tpN5oC8ataB7Mv/"),
        ("longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglong", "$5$rounds=1234$salt$O3O3/clWKi5Lqmo0dUfqBJXs07SxxwusMGqZ0g89cvD"),
        ("longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglong", "$1$salt$IOPQJ5RimZvA8lK6H3lMi."),
        ("longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglong!", "$6$salt$PvizBb2fzEBX11zXq1Jdd8KPqf9iC20eM9QAS8FCENCNqI9nhpVckYB3GibGOTqaG31PFPwoJaGQRcylEUnfK."),
        ("longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglong!", "$5$salt$99S3ReJHj0KIPB4XpqSHDaz0qMlPyKSNMKU1m2aUmHC"),
        ("longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglong!", "$6$rounds=1000$salt$K1/SkpWyzxX4lbwQGWRs.ED9DzPpW6hdxPOKiruw.EqBiBMonnpkmjUKwXWJ5z5Bbgn/xClFdfmEdofs3wXUl0"),
        ("longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglong!", "$5$rounds=1234$salt$JFG5dzrUqsjQhVSvUzNKoCCYJAs2YMHVcX8dzvz2787"),
        ("longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglong!", "$1$salt$jM2XHShlbTYEl5T9p//jG/"),
        ("pässwörd", "$6$ABCdef$m0l7uW.kFSLvBYwSIVEWKvTS5HDghbBt9Kl9QxKqjsNRN35SotjEdVBv8Bvdgdan.dbvXa3ZFfs.4gRs/LA0O/"),
        ("pässwörd", "$5$ABCdef$de8pivjwQjH.y1lQZDlTy3WFsOIXlyX4Lu3c8FomLuB"),
        ("pässwörd", "$6$rounds=1000$ABCdef$u/OO3.TqmVNHCAm5HliNSLLjF/om.dxFyE1LiEvzssxgWkjH3wrf.VaHTNO7H8keCbRr4nJZkz2l9Gmpl0GJ0."),
        ("pässwörd", "$5$rounds=1234$ABCdef$YAGdiGw9oc9bIPZZowPYSi.mXuGHak8Nhhf05F6i833"),
        ("pässwörd", "$1$ABCdef$Str8dYHD.ga9B8QG7PUUc/"),
        ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "$6$x$O7igG6oA24wqdGY.fWyF5whCajEwFcrCMyOnVF5Afn1yQ33U9zQNZLxd.3FhRJ7SaqLK7jWL8sjUXPqB04sZm1"),
        ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "$5$x$sP6hKhjQt9DVBiIuN3/tJuT2dVV6XBPWD19TZ9fEUh4"),
        ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "$6$rounds=1000$x$fVLi8cEZxgYW8bX.UvkmZehAB8d8rZOZB5nLt2V29jlsd5G0kWjwYFywT0fuv24L477coyRxrQ3YTzl.lbg3K1"),
        ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "$5$rounds=1234$x$ysgTe8RVrqdjy92228OJgih5G1t0mAB7dHzIeBIzGz9"),
        ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "$1$x$7shOckpDJA24n044ecG39/"),
    ];

    /// Vectors made with passlib 1.7.4 (os_crypt backend):
    /// `bcrypt.using(ident=IDENT, rounds=4, salt="abcdefghijklmnopqrstuu").hash(PASSWORD)`.
    const BCRYPT_VECTORS: &[(&str, &str, &str)] = &[
        ("2", "", "byCG3zY1GIXMyxfivm.ClDiInHzxjiq"),
        ("2", "pw", "ow0Hojwm/Kj2YLbT8FWYVxz2Lh32ITG"),
        ("2", "pässwörd", "3EIilE7Xjwa.QSG9G9Ugz6f7vGhHFgu"),
        ("2b", "", "byCG3zY1GIXMyxfivm.ClDiInHzxjiq"),
        ("2b", "pw", "yvPXIbu7xe6/CED2DzX8z6Si09MlzlW"),
        ("2b", "pässwörd", "yx2n0Zzopyr9QuYTMCfOJJOj526QVoC"),
    ];

    #[test]
    fn bcrypt_matches_passlib_vectors() {
        let salt = bcrypt_salt("abcdefghijklmnopqrstuu").unwrap();
        for (ident, password, expected) in BCRYPT_VECTORS {
            let actual = bcrypt(password.as_bytes(), &salt, 4, *ident != "2");
            assert_eq!(actual, *expected, "ident {ident}, password {password:?}");
        }
        let long = |length| "x".repeat(length);
        assert_eq!(
            bcrypt(long(71).as_bytes(), &salt, 4, true),
            ".gc7UY/21CSNJGJg21jJzx9QiOpJ9bO"
        );
        for length in [72, 73] {
            assert_eq!(
                bcrypt(long(length).as_bytes(), &salt, 4, true),
                "bzadhGtS2zEF.gu0yd0opP6cVzb.e0i"
            );
        }
    }

    #[test]
    fn bcrypt_salt_ignores_unused_bits() {
        let salt = bcrypt_salt("abcdefghijklmnopqrstuv").unwrap();
        assert_eq!(bcrypt64_text(&salt), "abcdefghijklmnopqrstuu");
        assert_eq!(bcrypt_salt("abc"), None);
        assert_eq!(bcrypt_salt("aaaaaaaaaaaaaaaaaaaaa!"), None);
    }

    #[test]
    fn crypt_matches_glibc_vectors() {
        for (password, expected) in VECTORS {
            let (rounds, salt, checksum) = parts(expected);
            let actual = match &expected[..3] {
                "$6$" => sha512_crypt(password.as_bytes(), salt.as_bytes(), rounds.unwrap_or(5000)),
                "$5$" => sha256_crypt(password.as_bytes(), salt.as_bytes(), rounds.unwrap_or(5000)),
                "$1$" => md5_crypt(password.as_bytes(), salt.as_bytes()),
                other => panic!("unexpected prefix {other}"),
            };
            assert_eq!(actual, checksum, "password {password:?}, hash {expected}");
        }
    }
}
