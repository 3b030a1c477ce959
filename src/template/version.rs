//! Version comparison for the `version` test: Python's `LooseVersion` and
//! `StrictVersion`, semantic versions and PEP 440 versions.

use std::cmp::Ordering;

pub enum VersionError {
    /// The version text does not parse for the chosen scheme.
    Invalid(String),
    /// Two versions whose parts cannot be compared (a number against a word).
    Comparison(String),
}

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Number(u128),
    Word(String),
}

/// `LooseVersion`: runs of digits become numbers; runs of lowercase letters, and runs
/// of any other characters, stay text; dots separate.
fn loose_parts(text: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut current_kind = 0u8;
    let flush = |parts: &mut Vec<Part>, current: &mut String, kind: u8| {
        if current.is_empty() {
            return;
        }
        let part = if kind == 1 {
            current
                .parse()
                .map(Part::Number)
                .unwrap_or(Part::Word(current.clone()))
        } else {
            Part::Word(current.clone())
        };
        parts.push(part);
        current.clear();
    };
    for c in text.chars() {
        let kind = if c.is_ascii_digit() {
            1
        } else if c.is_ascii_lowercase() {
            2
        } else if c == '.' {
            0
        } else {
            3
        };
        if kind != current_kind || kind == 0 {
            flush(&mut parts, &mut current, current_kind);
        }
        current_kind = kind;
        if kind != 0 {
            current.push(c);
        }
    }
    flush(&mut parts, &mut current, current_kind);
    parts
}

fn compare_parts(
    a: &[Part],
    b: &[Part],
    a_text: &str,
    b_text: &str,
) -> Result<Ordering, VersionError> {
    for (x, y) in a.iter().zip(b.iter()) {
        let ordering = match (x, y) {
            (Part::Number(x), Part::Number(y)) => x.cmp(y),
            (Part::Word(x), Part::Word(y)) => x.cmp(y),
            _ => {
                return Err(VersionError::Comparison(format!(
                    "'<' not supported between instances of '{}' and '{}'",
                    kind_name(x),
                    kind_name(y)
                )))
            }
        };
        if ordering != Ordering::Equal {
            return Ok(ordering);
        }
    }
    let _ = (a_text, b_text);
    Ok(a.len().cmp(&b.len()))
}

fn kind_name(part: &Part) -> &'static str {
    match part {
        Part::Number(_) => "int",
        Part::Word(_) => "str",
    }
}

/// `StrictVersion`: `N.N[.N]` with an optional `aN`/`bN` pre-release.
type StrictKey = (Vec<u64>, Option<(char, u64)>);

fn strict_key(text: &str) -> Result<StrictKey, VersionError> {
    let invalid = || VersionError::Invalid(format!("invalid version number '{text}'"));
    let re = regex::Regex::new(r"^(\d+)\.(\d+)(\.(\d+))?([ab](\d+))?$").map_err(|_| invalid())?;
    let captures = re.captures(text).ok_or_else(invalid)?;
    let number = |i: usize| {
        captures
            .get(i)
            .map_or(Ok(0), |m| m.as_str().parse().map_err(|_| invalid()))
    };
    let release = vec![number(1)?, number(2)?, number(4)?];
    let pre = match captures.get(5) {
        Some(m) => Some((m.as_str().chars().next().unwrap_or('a'), number(6)?)),
        None => None,
    };
    Ok((release, pre))
}

/// Semantic versions: `MAJOR.MINOR.PATCH[-pre][+build]`.
fn semver_cmp(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let parse = |text: &str| -> Result<(Vec<u64>, Vec<String>), VersionError> {
        let invalid = || VersionError::Invalid(format!("invalid semantic version '{text}'"));
        let core = text.split('+').next().unwrap_or_default();
        let (release, pre) = match core.split_once('-') {
            Some((release, pre)) => (release, pre.split('.').map(str::to_owned).collect()),
            None => (core, Vec::new()),
        };
        let numbers: Result<Vec<u64>, _> = release.split('.').map(str::parse).collect();
        let numbers = numbers.map_err(|_| invalid())?;
        if numbers.len() != 3 {
            return Err(invalid());
        }
        Ok((numbers, pre))
    };
    let (ar, ap) = parse(a)?;
    let (br, bp) = parse(b)?;
    let release = ar.cmp(&br);
    if release != Ordering::Equal {
        return Ok(release);
    }
    Ok(match (ap.is_empty(), bp.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => {
            for (x, y) in ap.iter().zip(bp.iter()) {
                let ordering = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    _ => x.cmp(y),
                };
                if ordering != Ordering::Equal {
                    return Ok(ordering);
                }
            }
            ap.len().cmp(&bp.len())
        }
    })
}

/// The version schemes of the `version` test, in ansible-core's order.
pub const VERSION_TYPES: &[&str] = &["loose", "strict", "semver", "semantic", "pep440"];

/// Compares two versions under `kind` (`loose`, `strict`, `semver`/`semantic`, `pep440`).
pub fn compare_versions(a: &str, b: &str, kind: &str) -> Result<Ordering, VersionError> {
    match kind {
        "loose" => compare_parts(&loose_parts(a), &loose_parts(b), a, b),
        "strict" => {
            let (ar, ap) = strict_key(a)?;
            let (br, bp) = strict_key(b)?;
            Ok(ar.cmp(&br).then_with(|| match (ap, bp) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(x), Some(y)) => x.cmp(&y),
            }))
        }
        "semver" | "semantic" => semver_cmp(a, b),
        "pep440" => Ok(pep440_key(a)?.cmp(&pep440_key(b)?)),
        other => Err(VersionError::Invalid(format!(
            "Invalid version type ({other}). Must be one of loose, strict, semver, semantic, pep440"
        ))),
    }
}

/// A PEP 440 pre-, post- or development release marker as it sorts: `Before` sorts
/// ahead of every number and `After` behind it, for the parts a version lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Marker {
    Before,
    At(u8, u64),
    After,
}

/// A local version label part: a number sorts after any word.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum LocalPart {
    Word(String),
    Number(u64),
}

/// The sort key of a PEP 440 version: epoch, release without trailing zeros,
/// pre-release, post-release, development release and local label, ordered as the
/// specification orders them (`1.0.dev0 < 1.0a1 < 1.0 < 1.0.post1`).
type Pep440Key = (
    u64,
    Vec<u64>,
    Marker,
    Marker,
    Marker,
    Option<Vec<LocalPart>>,
);

/// Parses a version in the public PEP 440 grammar, with its normalisations: any case,
/// `alpha`/`beta`/`c`/`pre`/`preview` for `a`/`b`/`rc`, `rev`/`r` and `-N` for post
/// releases, optional separators and numbers. The error is that of Python's
/// `packaging` library.
fn pep440_key(text: &str) -> Result<Pep440Key, VersionError> {
    let invalid = || VersionError::Invalid(format!("Invalid version: '{text}'"));
    let pattern = regex::Regex::new(
        r"(?ix)^\s*v?
        (?:(?P<epoch>[0-9]+)!)?
        (?P<release>[0-9]+(?:\.[0-9]+)*)
        (?:[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?
        (?:-(?P<post_n1>[0-9]+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?)?
        (?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?
        (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
        \s*$",
    )
    .map_err(|_| invalid())?;
    let captures = pattern.captures(text).ok_or_else(invalid)?;
    let number = |name: &str| -> Result<Option<u64>, VersionError> {
        captures
            .name(name)
            .map(|m| m.as_str().parse().map_err(|_| invalid()))
            .transpose()
    };

    let epoch = number("epoch")?.unwrap_or(0);
    let mut release: Vec<u64> = captures["release"]
        .split('.')
        .map(|part| part.parse().map_err(|_| invalid()))
        .collect::<Result<_, _>>()?;
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }

    let pre = captures.name("pre_l").map(|label| {
        let rank = match label.as_str().to_ascii_lowercase().as_str() {
            "a" | "alpha" => 0,
            "b" | "beta" => 1,
            _ => 2,
        };
        (rank, number("pre_n"))
    });
    let post = if captures.name("post_n1").is_some() {
        Some(number("post_n1")?.unwrap_or(0))
    } else if captures.name("post_l").is_some() {
        Some(number("post_n2")?.unwrap_or(0))
    } else {
        None
    };
    let dev = match captures.name("dev_l") {
        Some(_) => Some(number("dev_n")?.unwrap_or(0)),
        None => None,
    };

    let pre = match (pre, post, dev) {
        (Some((rank, n)), _, _) => Marker::At(rank, n?.unwrap_or(0)),
        // A development release of a final version sorts before its pre-releases.
        (None, None, Some(_)) => Marker::Before,
        (None, _, _) => Marker::After,
    };
    let post = post.map_or(Marker::Before, |n| Marker::At(0, n));
    let dev = dev.map_or(Marker::After, |n| Marker::At(0, n));

    let local = captures.name("local").map(|local| {
        local
            .as_str()
            .split(['-', '_', '.'])
            .map(|part| match part.parse() {
                Ok(n) => LocalPart::Number(n),
                Err(_) => LocalPart::Word(part.to_ascii_lowercase()),
            })
            .collect()
    });
    Ok((epoch, release, pre, post, dev, local))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loose(a: &str, b: &str) -> Ordering {
        compare_versions(a, b, "loose")
            .ok()
            .unwrap_or(Ordering::Equal)
    }

    #[test]
    fn loose_versions() {
        assert_eq!(loose("1.10", "1.9"), Ordering::Greater);
        assert_eq!(loose("v1.32.0", "v1.31.9"), Ordering::Greater);
        assert_eq!(loose("2.18.0", "2.18"), Ordering::Greater);
        assert_eq!(loose("1.0", "1.0"), Ordering::Equal);
        assert!(compare_versions("1.a", "1.1", "loose").is_err());
    }

    fn pep440(a: &str, b: &str) -> Ordering {
        compare_versions(a, b, "pep440")
            .ok()
            .unwrap_or(Ordering::Equal)
    }

    #[test]
    fn pep440_release_order() {
        let ordered = [
            "1.0.dev0",
            "1.0a1",
            "1.0a2.dev1",
            "1.0a2",
            "1.0b1",
            "1.0rc1",
            "1.0",
            "1.0+local",
            "1.0.post1.dev0",
            "1.0.post1",
            "1.1",
            "1!0.1",
        ];
        for pair in ordered.windows(2) {
            assert_eq!(pep440(pair[0], pair[1]), Ordering::Less, "{pair:?}");
        }
    }

    #[test]
    fn pep440_normalises() {
        assert_eq!(pep440("2.14.0rc1", "2.14.0"), Ordering::Less);
        assert_eq!(pep440("1.0", "1.0.0"), Ordering::Equal);
        assert_eq!(pep440("1.0-alpha-1", "1.0a1"), Ordering::Equal);
        assert_eq!(pep440("1.0-1", "1.0.post1"), Ordering::Equal);
        assert_eq!(pep440("V1.0C1", "1.0rc1"), Ordering::Equal);
    }

    #[test]
    fn pep440_rejects() {
        assert!(compare_versions("nope", "1.0", "pep440").is_err());
        assert!(compare_versions("1.0-", "1.0", "pep440").is_err());
    }
}
