//! `random`: a random element of a list, or a random number below an integer, and
//! `shuffle`.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use minijinja::value::{Value as JValue, ValueKind};
use minijinja::{Environment, Error, State};

use super::{add, ansible, filter_error, Args, Undefined};

pub fn register(env: &mut Environment<'static>) {
    add(env, ansible("random"), Undefined::Reject, random);
    add(env, ansible("shuffle"), Undefined::Reject, shuffle);
}

/// Ansible's `shuffle(seed=None)` (`randomize_list`): the items in a random order. A
/// value that is not a list comes back as it is.
///
/// NOTE: with `seed`, the order is repeatable but not the one Python's Mersenne Twister
/// gives.
fn shuffle(_: &mut State, args: &Args) -> Result<JValue, Error> {
    if !matches!(args.value.kind(), ValueKind::Seq | ValueKind::Iterable) {
        return Ok(args.value.clone());
    }
    let seed = args
        .get(0, "seed")
        .filter(|s| !s.is_none())
        .map(|s| s.to_string());
    let mut source = Source::new(seed.as_deref());
    let mut items: Vec<JValue> = args.value.try_iter()?.collect();
    for index in (1..items.len()).rev() {
        let other = source.below(index as u64 + 1) as usize;
        items.swap(index, other);
    }
    Ok(JValue::from(items))
}

/// `end | random(start=0, step=1, seed=None)` picks from `range(start, end, step)`; a
/// sequence picks one of its items.
///
/// NOTE: with `seed`, ansible-core's choice comes from Python's Mersenne Twister seeded
/// with that value. rplay's seeded choice is repeatable too, but it picks other values.
fn random(_: &mut State, args: &Args) -> Result<JValue, Error> {
    let seed = args
        .get(2, "seed")
        .filter(|s| !s.is_none())
        .map(|s| s.to_string());
    let mut source = Source::new(seed.as_deref());
    match args.value.kind() {
        ValueKind::Number => {
            let end = i64::try_from(args.value.clone())
                .map_err(|_| filter_error("random requires an integer end"))?;
            let start = int_arg(args, 0, "start", 0)?;
            let step = int_arg(args, 1, "step", 1)?;
            if step == 0 {
                return Err(filter_error("random: step must not be zero"));
            }
            let count = if step > 0 {
                (end - start + step - 1).div_euclid(step)
            } else {
                (start - end - step - 1).div_euclid(-step)
            };
            if count <= 0 {
                return Err(filter_error(format!(
                    "empty range for randrange() ({start}, {end}, {count})"
                )));
            }
            Ok(JValue::from(
                start + step * source.below(count as u64) as i64,
            ))
        }
        ValueKind::Seq | ValueKind::String | ValueKind::Map | ValueKind::Iterable => {
            let given = |index, name| args.get(index, name).is_some_and(JValue::is_true);
            if given(0, "start") || given(1, "step") {
                return Err(filter_error(
                    "start and step can only be used with integer values",
                ));
            }
            let items: Vec<JValue> = args.value.try_iter()?.collect();
            if items.is_empty() {
                return Err(filter_error("Cannot choose from an empty sequence"));
            }
            Ok(items[source.below(items.len() as u64) as usize].clone())
        }
        _ => Err(filter_error(
            "random can only be used on sequences and integers",
        )),
    }
}

fn int_arg(args: &Args, index: usize, name: &str, default: i64) -> Result<i64, Error> {
    match args.get(index, name) {
        Some(value) if !value.is_none() => i64::try_from(value.clone())
            .map_err(|_| filter_error(format!("random: {name} must be an integer"))),
        _ => Ok(default),
    }
}

/// Random numbers: from the process's hash keys, or repeatable from a seed.
pub(crate) struct Source {
    state: u64,
}

impl Source {
    pub(crate) fn new(seed: Option<&str>) -> Source {
        let mut hasher = match seed {
            // A fixed-key hasher makes a seeded source repeatable.
            Some(_) => {
                std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default(
                )
                .build_hasher()
            }
            None => RandomState::new().build_hasher(),
        };
        if let Some(seed) = seed {
            hasher.write(seed.as_bytes());
        }
        Source {
            state: hasher.finish() | 1,
        }
    }

    /// Returns a number in `0..bound`, by xorshift and rejection of the biased remainder.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        let limit = u64::MAX - u64::MAX % bound;
        loop {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            if self.state < limit {
                return self.state % bound;
            }
        }
    }
}
