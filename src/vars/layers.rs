//! Variables as a stack of maps: a lookup searches from the highest-precedence layer
//! down, so building a task's variables costs a few reference-count increments instead
//! of merging every map (Kubespray's defaults alone hold about a thousand variables).

use std::collections::HashSet;
use std::sync::Arc;

use crate::{Map, Value};

/// Maps in precedence order, lowest first.
#[derive(Clone, Debug, Default)]
pub struct Layers {
    layers: Vec<Arc<Map>>,
}

impl Layers {
    pub fn new() -> Layers {
        Layers::default()
    }

    /// Adds a layer above the existing ones; empty maps are skipped.
    pub fn push(&mut self, layer: &Arc<Map>) {
        if !layer.is_empty() {
            self.layers.push(layer.clone());
        }
    }

    pub fn push_map(&mut self, layer: Map) {
        if !layer.is_empty() {
            self.layers.push(Arc::new(layer));
        }
    }

    /// Adds a layer below the existing ones, for values that apply only where no
    /// other layer has the name; an empty map is skipped.
    pub fn push_bottom(&mut self, layer: Map) {
        if !layer.is_empty() {
            self.layers.insert(0, Arc::new(layer));
        }
    }

    /// Adds every layer of `other` above the existing ones.
    pub fn extend(&mut self, other: &Layers) {
        self.layers.extend(other.layers.iter().cloned());
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.layers.iter().rev().find_map(|layer| layer.get(name))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Variable names in the order a merged Python dict would list them: each name at
    /// the position of its first appearance in the lowest layer that has it.
    pub fn names(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut names = Vec::new();
        for layer in &self.layers {
            for key in layer.keys() {
                if let Some(name) = key.as_str() {
                    if seen.insert(name.to_string()) {
                        names.push(name.to_string());
                    }
                }
            }
        }
        names
    }

    /// Merges every layer into one map, as Ansible's `combine_vars` with
    /// `hash_behaviour = replace`.
    pub fn flatten(&self) -> Map {
        let mut merged = Map::new();
        for layer in &self.layers {
            for (key, value) in layer.iter() {
                merged.insert(key.clone(), value.clone());
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, i64)]) -> Arc<Map> {
        Arc::new(
            pairs
                .iter()
                .map(|(k, v)| (Value::from(*k), Value::Int(*v)))
                .collect(),
        )
    }

    #[test]
    fn higher_layer_wins() {
        let mut layers = Layers::new();
        layers.push(&map(&[("a", 1), ("b", 1)]));
        layers.push(&map(&[("b", 2), ("c", 2)]));
        assert_eq!(layers.get("a"), Some(&Value::Int(1)));
        assert_eq!(layers.get("b"), Some(&Value::Int(2)));
        assert_eq!(layers.names(), ["a", "b", "c"]);
        assert_eq!(layers.flatten().get("b"), Some(&Value::Int(2)));
    }
}
