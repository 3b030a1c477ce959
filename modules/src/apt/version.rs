//! Debian versions and relationship fields, as python-apt's `apt_pkg.version_compare`,
//! `apt_pkg.check_dep` and `apt_pkg.parse_depends` read them (Debian Policy 5.6.12 and
//! 7.1).

use std::cmp::Ordering;

/// Compares two Debian versions: the epoch as a number, then the upstream version and
/// the revision with dpkg's `verrevcmp` (`~` sorts before everything, even the end).
pub fn compare(left: &str, right: &str) -> Ordering {
    let (left_epoch, left) = split_epoch(left);
    let (right_epoch, right) = split_epoch(right);
    let (left_upstream, left_revision) = split_revision(left);
    let (right_upstream, right_revision) = split_revision(right);
    left_epoch
        .cmp(&right_epoch)
        .then_with(|| compare_part(left_upstream, right_upstream))
        .then_with(|| compare_part(left_revision, right_revision))
}

fn split_epoch(version: &str) -> (u64, &str) {
    match version.split_once(':') {
        Some((epoch, rest)) if epoch.bytes().all(|byte| byte.is_ascii_digit()) => {
            (epoch.parse().unwrap_or(0), rest)
        }
        _ => (0, version),
    }
}

fn split_revision(version: &str) -> (&str, &str) {
    version.rsplit_once('-').unwrap_or((version, ""))
}

/// Returns a character's weight in dpkg's ordering of the non-digit parts: letters first,
/// then other characters, with `~` lowest and the end of the string between them.
fn weight(byte: Option<u8>) -> i32 {
    match byte {
        None => 0,
        Some(byte) if byte.is_ascii_digit() => 0,
        Some(byte) if byte.is_ascii_alphabetic() => i32::from(byte),
        Some(b'~') => -1,
        Some(byte) => i32::from(byte) + 256,
    }
}

fn compare_part(left: &str, right: &str) -> Ordering {
    let (left, right) = (left.as_bytes(), right.as_bytes());
    let (mut i, mut j) = (0, 0);
    let digit = |text: &[u8], at: usize| text.get(at).is_some_and(u8::is_ascii_digit);
    while i < left.len() || j < right.len() {
        while (i < left.len() && !digit(left, i)) || (j < right.len() && !digit(right, j)) {
            let (a, b) = (weight(left.get(i).copied()), weight(right.get(j).copied()));
            if a != b {
                return a.cmp(&b);
            }
            i += 1;
            j += 1;
        }
        while left.get(i) == Some(&b'0') {
            i += 1;
        }
        while right.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_difference = Ordering::Equal;
        while digit(left, i) && digit(right, j) {
            if first_difference == Ordering::Equal {
                first_difference = left[i].cmp(&right[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(left, i) {
            return Ordering::Greater;
        }
        if digit(right, j) {
            return Ordering::Less;
        }
        if first_difference != Ordering::Equal {
            return first_difference;
        }
    }
    Ordering::Equal
}

/// Tells whether `version` satisfies the relation `operator target`, as
/// `apt_pkg.check_dep` decides it. An empty operator is an unversioned relation, always
/// satisfied, and the obsolete `<` and `>` mean `<=` and `>=`.
pub fn satisfies(version: &str, operator: &str, target: &str) -> bool {
    if operator.is_empty() {
        return true;
    }
    let order = compare(version, target);
    match operator {
        "<" | "<=" => order != Ordering::Greater,
        "<<" => order == Ordering::Less,
        ">" | ">=" => order != Ordering::Less,
        ">>" => order == Ordering::Greater,
        "=" => order == Ordering::Equal,
        "!=" => order != Ordering::Equal,
        _ => false,
    }
}

/// One alternative of a relationship field: `name (operator version)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// The package name as written, with any `:arch` qualifier.
    pub name: String,
    pub version: String,
    /// The operator in Debian notation (`<<`, `<=`, `=`, `>=`, `>>`), or "".
    pub operator: String,
}

impl Relation {
    /// Returns the package name without its `:arch` qualifier.
    pub fn package(&self) -> &str {
        self.name.split(':').next().unwrap_or_default()
    }

    /// Returns the operator in python-apt's mathematical notation (`<`, `<=`, `=`, `>=`, `>`).
    pub fn math_operator(&self) -> &str {
        match self.operator.as_str() {
            "<<" => "<",
            ">>" => ">",
            operator => operator,
        }
    }
}

/// Parses a relationship field (`a (>= 1) | b, c`) into groups of alternatives, as
/// `apt_pkg.parse_depends(text, False)` does: names keep their `:arch` qualifier, `<`
/// and `>` become `<=` and `>=`, architecture and build-profile restrictions are
/// dropped.
///
/// NOTE: python-apt drops alternatives whose architecture restriction excludes the
/// host's architecture; rplay keeps them.
pub fn parse_relations(text: &str) -> Vec<Vec<Relation>> {
    text.split(',')
        .map(str::trim)
        .filter(|group| !group.is_empty())
        .map(|group| group.split('|').filter_map(parse_relation).collect())
        .collect()
}

fn parse_relation(text: &str) -> Option<Relation> {
    let text = text.trim();
    let name_end = text
        .find(|c: char| c.is_whitespace() || "([<".contains(c))
        .unwrap_or(text.len());
    let name = &text[..name_end];
    if name.is_empty() {
        return None;
    }
    let rest = text[name_end..].trim_start();
    let (operator, version) = match rest.strip_prefix('(') {
        Some(inner) => {
            let inner = inner.split(')').next().unwrap_or_default().trim();
            let split = inner
                .find(|c: char| !"<>=!".contains(c))
                .unwrap_or(inner.len());
            let operator = match &inner[..split] {
                "<" => "<=",
                ">" => ">=",
                operator => operator,
            };
            (operator.to_string(), inner[split..].trim().to_string())
        }
        None => (String::new(), String::new()),
    };
    Some(Relation {
        name: name.to_string(),
        version,
        operator,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_orders_like_dpkg() {
        let ascending = [
            "1.0~rc1", "1.0", "1.0-1", "1.0-1+b1", "1.0a", "1.0.1", "1.1", "1.10", "1:0.1",
        ];
        for pair in ascending.windows(2) {
            assert_eq!(compare(pair[0], pair[1]), Ordering::Less, "{pair:?}");
            assert_eq!(compare(pair[1], pair[0]), Ordering::Greater, "{pair:?}");
        }
        assert_eq!(compare("1.0-0", "1.0"), Ordering::Equal);
        assert_eq!(compare("01.2", "1.2"), Ordering::Equal);
        assert_eq!(compare("5.2.15-2+b13", "5.0"), Ordering::Greater);
    }

    #[test]
    fn satisfies_operators() {
        assert!(satisfies("2.0", "", ""));
        assert!(satisfies("2.0", ">=", "2.0"));
        assert!(!satisfies("2.0", ">>", "2.0"));
        assert!(satisfies("1.0", "<<", "2.0"));
        assert!(satisfies("2.0", "<", "2.0"));
        assert!(!satisfies("2.0", "=", "1.0"));
    }

    #[test]
    fn parse_relations_groups() {
        let groups = parse_relations("a (>= 1.0) | b, c:any [amd64], d (<< 2)");
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0][0].name, "a");
        assert_eq!(groups[0][0].operator, ">=");
        assert_eq!(groups[0][0].version, "1.0");
        assert_eq!(groups[0][1].name, "b");
        assert_eq!(groups[0][1].operator, "");
        assert_eq!(groups[1][0].name, "c:any");
        assert_eq!(groups[1][0].package(), "c");
        assert_eq!(groups[2][0].math_operator(), "<");
        assert_eq!(parse_relations("x (< 1)")[0][0].operator, "<=");
    }
}
