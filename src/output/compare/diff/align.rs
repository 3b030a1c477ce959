//! Matching of two sequences: in order (plays, tasks, a host's lines) with Myers' diff,
//! or regardless of order (messages, `included:` lines) as multisets.

use std::collections::BTreeMap;

use similar::{capture_diff_slices, Algorithm, DiffTag};

/// An element of two sequences after alignment.
pub(super) enum Aligned<'a, T> {
    Both((usize, &'a T), (usize, &'a T)),
    OnlyA(usize, &'a T),
    OnlyB(usize, &'a T),
}

/// Aligns two sequences on a key with Myers' diff, keeping the order of both.
pub(super) fn align<'a, T, K: Eq + std::hash::Hash + Ord>(
    a: &'a [T],
    b: &'a [T],
    key: impl Fn(&T) -> K,
) -> Vec<Aligned<'a, T>> {
    let keys_a: Vec<K> = a.iter().map(&key).collect();
    let keys_b: Vec<K> = b.iter().map(&key).collect();
    let mut aligned = Vec::new();
    for op in capture_diff_slices(Algorithm::Myers, &keys_a, &keys_b) {
        let (tag, range_a, range_b) = op.as_tag_tuple();
        if tag == DiffTag::Equal {
            for (index_a, index_b) in range_a.zip(range_b) {
                aligned.push(Aligned::Both(
                    (index_a, &a[index_a]),
                    (index_b, &b[index_b]),
                ));
            }
            continue;
        }
        aligned.extend(range_a.map(|index| Aligned::OnlyA(index, &a[index])));
        aligned.extend(range_b.map(|index| Aligned::OnlyB(index, &b[index])));
    }
    aligned
}

/// Splits two collections into the elements without a partner of equal key on the other
/// side, regardless of order; each keeps its own order.
pub(super) fn unmatched<'a, T, K: Ord>(
    a: &'a [T],
    b: &'a [T],
    key: impl Fn(&T) -> K,
) -> (Vec<&'a T>, Vec<&'a T>) {
    let mut remaining: BTreeMap<K, Vec<usize>> = BTreeMap::new();
    for (index, element) in b.iter().enumerate() {
        remaining.entry(key(element)).or_default().push(index);
    }
    let mut only_a = Vec::new();
    for element in a {
        let partner = remaining
            .get_mut(&key(element))
            .and_then(|indices| (!indices.is_empty()).then(|| indices.remove(0)));
        if partner.is_none() {
            only_a.push(element);
        }
    }
    let mut left: Vec<usize> = remaining.into_values().flatten().collect();
    left.sort_unstable();
    (only_a, left.into_iter().map(|index| &b[index]).collect())
}
