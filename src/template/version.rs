//! Version comparison for the `version` test: Python's `LooseVersion` and
//! `StrictVersion`, and semantic versions.

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
        // NOTE: PEP 440 ordering of pre-, post- and dev-releases is approximated by the
        // loose scheme.
        "pep440" => compare_parts(&loose_parts(a), &loose_parts(b), a, b),
        other => Err(VersionError::Invalid(format!(
            "Invalid version type ({other}). Must be one of loose, strict, semver, semantic, pep440"
        ))),
    }
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
}
