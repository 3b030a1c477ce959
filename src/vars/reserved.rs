//! Variable names that ansible-core 2.18 reserves: the attributes of plays, roles,
//! blocks and tasks, and the globals of its templating environment. A variable with
//! such a name still works, but ansible-core warns about it.

use crate::inventory::RESERVED_NAMES;

/// Returns the warnings ansible-core prints for the reserved names among `names`.
///
/// NOTE: ansible-core prints them in the order of a Python set, which varies from run
/// to run; rplay prints them sorted.
pub fn reserved_name_warnings<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut found: Vec<&str> = names
        .into_iter()
        // ansible-core adds `vars` itself, so it never warns about it.
        .filter(|name| RESERVED_NAMES.binary_search(name).is_ok())
        .collect();
    found.sort_unstable();
    found.dedup();
    found
        .into_iter()
        .map(|name| format!("Found variable using reserved name: {name}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_are_sorted() {
        assert!(RESERVED_NAMES.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn warnings_name_reserved_variables() {
        assert_eq!(
            reserved_name_warnings(["port", "listen_port", "vars", "name", "port"]),
            [
                "Found variable using reserved name: name",
                "Found variable using reserved name: port"
            ]
        );
    }
}
