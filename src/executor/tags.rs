//! `--tags` and `--skip-tags` selection, with the special tags `always`, `never`,
//! `tagged`, `untagged` and `all`, as ansible-core 2.18's `Taggable.evaluate_tags`.

use std::collections::BTreeSet;

/// The tags selected on the command line (and `[tags]` in ansible.cfg).
#[derive(Clone, Debug)]
pub struct TagSelection {
    only: BTreeSet<String>,
    skip: BTreeSet<String>,
}

impl TagSelection {
    /// Builds the selection from repeated, comma-separated `--tags` and `--skip-tags`
    /// values; no `--tags` means `all`.
    pub fn new(only: &[String], skip: &[String]) -> TagSelection {
        let split = |values: &[String]| -> BTreeSet<String> {
            values
                .iter()
                .flat_map(|value| value.split(','))
                .map(str::trim)
                .filter(|tag| !tag.is_empty())
                .map(str::to_string)
                .collect()
        };
        let mut only = split(only);
        if only.is_empty() {
            only.insert("all".to_string());
        }
        TagSelection {
            only,
            skip: split(skip),
        }
    }

    /// Decides whether an object with these (already templated) tags runs.
    pub fn should_run(&self, tags: &BTreeSet<String>) -> bool {
        let untagged = tags.is_empty();
        let has = |tag: &str| tags.contains(tag);
        let intersects = |set: &BTreeSet<String>| {
            if untagged {
                set.contains("untagged")
            } else {
                !tags.is_disjoint(set)
            }
        };
        let mut run = true;
        if !self.only.is_empty() {
            run = has("always")
                || (self.only.contains("all") && !has("never"))
                || intersects(&self.only)
                || (self.only.contains("tagged") && !untagged && !has("never"));
        }
        if run && !self.skip.is_empty() {
            if self.skip.contains("all") {
                if !has("always") || self.skip.contains("always") {
                    run = false;
                }
            } else if intersects(&self.skip) || (self.skip.contains("tagged") && !untagged) {
                run = false;
            }
        }
        run
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_runs_all_but_never() {
        let selection = TagSelection::new(&[], &[]);
        assert!(selection.should_run(&tags(&[])));
        assert!(selection.should_run(&tags(&["a"])));
        assert!(!selection.should_run(&tags(&["never"])));
        assert!(selection.should_run(&tags(&["never", "always"])));
    }

    #[test]
    fn only_tags_select_and_always_runs() {
        let selection = TagSelection::new(&["preinstall,download".into()], &[]);
        assert!(selection.should_run(&tags(&["download"])));
        assert!(selection.should_run(&tags(&["always"])));
        assert!(!selection.should_run(&tags(&["etcd"])));
        assert!(!selection.should_run(&tags(&[])));
    }

    #[test]
    fn untagged_and_tagged() {
        let untagged = TagSelection::new(&["untagged".into()], &[]);
        assert!(untagged.should_run(&tags(&[])));
        assert!(!untagged.should_run(&tags(&["a"])));
        let tagged = TagSelection::new(&["tagged".into()], &[]);
        assert!(tagged.should_run(&tags(&["a"])));
        assert!(!tagged.should_run(&tags(&["never"])));
    }

    #[test]
    fn skip_tags() {
        let selection = TagSelection::new(&[], &["a".into()]);
        assert!(!selection.should_run(&tags(&["a", "b"])));
        assert!(selection.should_run(&tags(&["b"])));
        let skip_all = TagSelection::new(&[], &["all".into()]);
        assert!(skip_all.should_run(&tags(&["always"])));
        assert!(!skip_all.should_run(&tags(&["b"])));
    }
}
