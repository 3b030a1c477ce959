//! Construction: a composed document becomes data, in the order and with the results of
//! Ansible's `AnsibleConstructor` on top of PyYAML's `SafeConstructor`.
//!
//! PyYAML builds collections in two steps: constructing a sequence or mapping returns an
//! empty object at once and queues the work of filling it, and the queue is drained
//! breadth-first after the root is built. Two visible results depend on that order:
//! duplicate-key warnings come out breadth-first, and `!unsafe` on a collection copies
//! its children while they may still be empty (`!unsafe [{a: 1}]` is `[{}]` in Ansible).
//! This module keeps that order with an arena of objects, then turns the arena into
//! [`Node`]s.

use std::collections::HashSet;
use std::sync::Arc;

use super::compose::{Document, NodeId, RawKind, RawNode};
use super::convert;
use super::object::{python_str, unhashable_type, Data, Entries, Object, ObjectId};
use super::resolve::Tag;
use super::scalar::{self, Integer};
use super::{Mark, Node, Problem, MAX_DEPTH};
use crate::source::SourceFile;

/// Constructs `document` and returns its root, appending duplicate-key warnings.
pub(super) fn construct_document(
    document: Document<'_>,
    file: &Arc<SourceFile>,
    warnings: &mut Vec<String>,
) -> Result<Node, Problem> {
    let Document { mut nodes, root } = document;
    let count = nodes.len();
    let file_name = file.path().display().to_string();
    let mut constructor = Constructor {
        nodes: &mut nodes,
        objects: Vec::with_capacity(count),
        constructed: vec![None; count],
        flattened: vec![false; count],
        flatten_depth: 0,
        constructing: Vec::new(),
        pending: Vec::new(),
        warnings,
        file_name: &file_name,
    };
    let root = constructor.construct_object(root)?;
    while !constructor.pending.is_empty() {
        let batch = std::mem::take(&mut constructor.pending);
        for (object, node) in batch {
            constructor.fill(object, node)?;
        }
    }
    convert::to_node(&constructor.objects, file, root)
}

struct Constructor<'c, 'a> {
    nodes: &'c mut Vec<RawNode<'a>>,
    objects: Vec<Object>,
    /// The object built for each node, so that aliases share it.
    constructed: Vec<Option<ObjectId>>,
    /// Mappings whose merge keys are applied: flattening them again changes nothing.
    flattened: Vec<bool>,
    /// How many `flatten_mapping` calls are running, one inside the other.
    flatten_depth: usize,
    /// Nodes whose constructor is running and has not returned an object yet.
    constructing: Vec<NodeId>,
    /// Collections returned empty, waiting to be filled: PyYAML's state generators.
    pending: Vec<(ObjectId, NodeId)>,
    warnings: &'c mut Vec<String>,
    file_name: &'c str,
}

impl Constructor<'_, '_> {
    fn add(&mut self, mark: Mark, data: Data) -> ObjectId {
        self.objects.push(Object { mark, data });
        self.objects.len() - 1
    }

    fn mark(&self, node: NodeId) -> Mark {
        self.nodes[node].mark
    }

    fn construct_object(&mut self, node: NodeId) -> Result<ObjectId, Problem> {
        if let Some(object) = self.constructed[node] {
            return Ok(object);
        }
        if self.constructing.contains(&node) {
            return Err(Problem::new(
                "found unconstructable recursive node",
                self.mark(node),
            ));
        }
        self.constructing.push(node);
        let object = self.dispatch(node);
        self.constructing.pop();
        let object = object?;
        self.constructed[node] = Some(object);
        Ok(object)
    }

    fn dispatch(&mut self, node: NodeId) -> Result<ObjectId, Problem> {
        let mark = self.mark(node);
        let tag = self.nodes[node].kind.tag().clone();
        let data = match tag {
            Tag::Seq | Tag::Omap | Tag::Pairs => return Ok(self.defer(node, Data::Seq(Vec::new()))),
            Tag::Map => return Ok(self.defer(node, Data::Map(Vec::new()))),
            Tag::Set => return Ok(self.defer(node, Data::Set(Vec::new()))),
            Tag::Unsafe => return self.construct_unsafe(node),
            Tag::Null => {
                self.scalar_node(node, 0)?;
                Data::Null
            }
            Tag::Str => Data::Str(self.scalar_text(node)?.into()),
            Tag::Vault => Data::Vault(self.scalar_text(node)?.into()),
            Tag::Bool => Data::Bool(self.convert(node, scalar::construct_bool)?),
            Tag::Float => Data::Float(self.convert(node, scalar::construct_float)?),
            Tag::Int => match self.convert(node, scalar::construct_int)? {
                Integer::Small(value) => Data::Int(value),
                Integer::Big(digits) => Data::BigInt(digits.into()),
            },
            Tag::Timestamp => {
                Data::Timestamp(self.convert(node, scalar::construct_timestamp)?.into())
            }
            Tag::Binary => Data::Binary(self.convert(node, scalar::construct_binary)?.into()),
            Tag::Merge | Tag::Value | Tag::Unknown(_) => {
                return Err(Problem::new(
                    format!(
                        "could not determine a constructor for the tag '{}'",
                        tag.name()
                    ),
                    mark,
                ))
            }
        };
        Ok(self.add(mark, data))
    }

    /// Returns an empty collection now and queues filling it.
    fn defer(&mut self, node: NodeId, empty: Data) -> ObjectId {
        let object = self.add(self.mark(node), empty);
        self.pending.push((object, node));
        object
    }

    /// PyYAML's `construct_scalar`: the node's text, or for a mapping, the text of the
    /// value under its `=` key. Returns the scalar node that contains the text.
    fn scalar_node(&self, node: NodeId, depth: usize) -> Result<NodeId, Problem> {
        match &self.nodes[node].kind {
            RawKind::Scalar { .. } => return Ok(node),
            RawKind::Map { pairs, .. } if depth < MAX_DEPTH => {
                let value_key = pairs
                    .iter()
                    .find(|(key, _)| *self.nodes[*key].kind.tag() == Tag::Value);
                if let Some(&(_, value)) = value_key {
                    return self.scalar_node(value, depth + 1);
                }
            }
            _ => {}
        }
        Err(Problem::new(
            format!(
                "expected a scalar node, but found {}",
                self.nodes[node].kind.kind_name()
            ),
            self.mark(node),
        ))
    }

    fn scalar_text(&self, node: NodeId) -> Result<&str, Problem> {
        let scalar = self.scalar_node(node, 0)?;
        match &self.nodes[scalar].kind {
            RawKind::Scalar { value, .. } => Ok(value),
            _ => Ok(""),
        }
    }

    fn convert<T>(
        &self,
        node: NodeId,
        construct: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, Problem> {
        let text = self.scalar_text(node)?;
        construct(text).map_err(|message| Problem::new(message, self.mark(node)))
    }

    /// Runs the deferred half of a collection constructor.
    fn fill(&mut self, object: ObjectId, node: NodeId) -> Result<(), Problem> {
        let tag = self.nodes[node].kind.tag().clone();
        let data = match tag {
            Tag::Map => Data::Map(self.construct_mapping(node)?),
            Tag::Set => {
                let entries = self.construct_mapping(node)?;
                Data::Set(entries.into_iter().map(|(key, _)| key).collect())
            }
            Tag::Omap | Tag::Pairs => Data::Seq(self.construct_pairs(node, &tag)?),
            _ => Data::Seq(self.construct_sequence(node)?),
        };
        self.objects[object].data = data;
        Ok(())
    }

    fn construct_sequence(&mut self, node: NodeId) -> Result<Vec<ObjectId>, Problem> {
        let RawKind::Seq { items, .. } = &self.nodes[node].kind else {
            return Err(self.wrong_kind(node, "a sequence node"));
        };
        let mut objects = Vec::with_capacity(items.len());
        for index in 0..items.len() {
            let item = match &self.nodes[node].kind {
                RawKind::Seq { items, .. } => items[index],
                _ => break,
            };
            objects.push(self.construct_object(item)?);
        }
        Ok(objects)
    }

    fn wrong_kind(&self, node: NodeId, expected: &str) -> Problem {
        Problem::new(
            format!(
                "expected {expected}, but found {}",
                self.nodes[node].kind.kind_name()
            ),
            self.mark(node),
        )
    }

    /// `!!omap` and `!!pairs`: a sequence of one-entry mappings, read as tuples.
    fn construct_pairs(&mut self, node: NodeId, tag: &Tag) -> Result<Vec<ObjectId>, Problem> {
        let what = if *tag == Tag::Omap {
            "an ordered map"
        } else {
            "pairs"
        };
        let RawKind::Seq { items, .. } = &self.nodes[node].kind else {
            let found = self.nodes[node].kind.kind_name();
            return Err(Problem::new(
                format!("while constructing {what}, expected a sequence, but found {found}"),
                self.mark(node),
            ));
        };
        let items = items.clone();
        let mut tuples = Vec::with_capacity(items.len());
        for item in items {
            let (key, value) = match &self.nodes[item].kind {
                RawKind::Map { pairs, .. } if pairs.len() == 1 => pairs[0],
                RawKind::Map { pairs, .. } => {
                    return Err(Problem::new(
                        format!(
                            "while constructing {what}, expected a single mapping item, but found {} items",
                            pairs.len()
                        ),
                        self.mark(item),
                    ))
                }
                other => {
                    return Err(Problem::new(
                        format!(
                            "while constructing {what}, expected a mapping of length 1, but found {}",
                            other.kind_name()
                        ),
                        self.mark(item),
                    ))
                }
            };
            let key = self.construct_object(key)?;
            let value = self.construct_object(value)?;
            tuples.push(self.add(self.mark(item), Data::Pair(key, value)));
        }
        Ok(tuples)
    }

    /// Ansible's `construct_mapping`: merge keys applied, then entries in order, where a
    /// key seen before warns and keeps its first position with the later value.
    fn construct_mapping(&mut self, node: NodeId) -> Result<Vec<(ObjectId, ObjectId)>, Problem> {
        if !matches!(self.nodes[node].kind, RawKind::Map { .. }) {
            return Err(self.wrong_kind(node, "a mapping node"));
        }
        self.flatten_mapping(node)?;
        let mark = self.mark(node);
        let pair_count = self.pairs(node).len();
        let mut entries = Entries::default();
        for index in 0..pair_count {
            let (key_node, value_node) = self.pairs(node)[index];
            let key = self.construct_object(key_node)?;
            if let Some(type_name) = unhashable_type(&self.objects[key].data) {
                return Err(Problem::new(
                    format!(
                        "while constructing a mapping, found unacceptable key (unhashable type: '{type_name}')"
                    ),
                    self.mark(key_node),
                ));
            }
            let existing = entries.find(&self.objects, key);
            if existing.is_some() {
                self.warn_duplicate_key(mark, key);
            }
            let value = self.construct_object(value_node)?;
            match existing {
                Some(position) => entries.pairs[position].1 = value,
                None => entries.push(&self.objects, key, value),
            }
        }
        Ok(entries.pairs)
    }

    fn pairs_mut(&mut self, node: NodeId) -> Option<&mut Vec<(NodeId, NodeId)>> {
        match &mut self.nodes[node].kind {
            RawKind::Map { pairs, .. } => Some(pairs),
            _ => None,
        }
    }

    fn pairs(&self, node: NodeId) -> &[(NodeId, NodeId)] {
        match &self.nodes[node].kind {
            RawKind::Map { pairs, .. } => pairs,
            _ => &[],
        }
    }

    fn warn_duplicate_key(&mut self, mapping: Mark, key: ObjectId) {
        let key = python_str(&self.objects, key);
        self.warnings.push(format!(
            "While constructing a mapping from {}, line {}, column {}, found a duplicate dict key ({key}). Using last defined value only.",
            self.file_name, mapping.line, mapping.column
        ));
    }

    /// PyYAML's `flatten_mapping`: removes `<<` entries and puts the entries of the
    /// mappings they name in front, and turns `=` keys into strings.
    ///
    /// As in PyYAML 6.0, merged entries are deduplicated by the identity of the key's
    /// text object, not by equality. The same node merged twice counts once, and so do
    /// equal keys whose text CPython keeps as one shared object (the empty string and
    /// one-character strings below U+0100). Other equal keys are all kept, so the last
    /// one wins and warns as a duplicate.
    fn flatten_mapping(&mut self, node: NodeId) -> Result<(), Problem> {
        if self.flattened[node] {
            return Ok(());
        }
        let special_keys = self
            .pairs(node)
            .iter()
            .any(|&(key, _)| matches!(self.nodes[key].kind.tag(), Tag::Merge | Tag::Value));
        if !special_keys {
            self.flattened[node] = true;
            return Ok(());
        }
        if self.flatten_depth >= MAX_DEPTH {
            return Err(Problem::new(
                format!("merge keys are nested more than {MAX_DEPTH} levels deep"),
                self.mark(node),
            ));
        }

        // As in PyYAML, each `<<` entry is removed before its mappings are flattened, so
        // a mapping that merges itself sees itself without that entry.
        self.flatten_depth += 1;
        let mut merged = Vec::new();
        let mut merged_keys = HashSet::new();
        let mut index = 0;
        while let Some(&(key, value)) = self.pairs(node).get(index) {
            match self.nodes[key].kind.tag() {
                Tag::Merge => {
                    if let Some(pairs) = self.pairs_mut(node) {
                        pairs.remove(index);
                    }
                    self.collect_merged(node, value, &mut merged, &mut merged_keys)?;
                }
                Tag::Value => {
                    set_tag(&mut self.nodes[key].kind, Tag::Str);
                    index += 1;
                }
                _ => index += 1,
            }
        }
        self.flatten_depth -= 1;

        if let Some(pairs) = self.pairs_mut(node).filter(|_| !merged.is_empty()) {
            merged.append(pairs);
            *pairs = merged;
        }
        self.flattened[node] = true;
        Ok(())
    }

    fn collect_merged(
        &mut self,
        node: NodeId,
        value: NodeId,
        merged: &mut Vec<(NodeId, NodeId)>,
        merged_keys: &mut HashSet<KeyIdentity>,
    ) -> Result<(), Problem> {
        let sources = match &self.nodes[value].kind {
            RawKind::Map { .. } => vec![value],
            RawKind::Seq { items, .. } => items.clone(),
            RawKind::Scalar { .. } => {
                return Err(self.merge_problem(
                    node,
                    "expected a mapping or list of mappings for merging, but found scalar",
                    value,
                ))
            }
        };
        for source in sources {
            if !matches!(self.nodes[source].kind, RawKind::Map { .. }) {
                let found = self.nodes[source].kind.kind_name();
                return Err(self.merge_problem(
                    node,
                    &format!("expected a mapping for merging, but found {found}"),
                    source,
                ));
            }
            self.flatten_mapping(source)?;
            for &(key, value) in self.pairs(source) {
                if merged_keys.insert(self.key_identity(key)) {
                    merged.push((key, value));
                }
            }
        }
        Ok(())
    }

    fn merge_problem(&self, mapping: NodeId, problem: &str, at: NodeId) -> Problem {
        let mapping = self.mark(mapping);
        Problem::new(
            format!(
                "while constructing a mapping (line {}, column {}), {problem}",
                mapping.line, mapping.column
            ),
            self.mark(at),
        )
    }

    fn key_identity(&self, key: NodeId) -> KeyIdentity {
        if let RawKind::Scalar { value, .. } = &self.nodes[key].kind {
            let mut chars = value.chars();
            match (chars.next(), chars.next()) {
                (None, _) => return KeyIdentity::SharedText(None),
                (Some(c), None) if u32::from(c) < 0x100 => return KeyIdentity::SharedText(Some(c)),
                _ => {}
            }
        }
        KeyIdentity::Node(key)
    }

    /// Ansible's `construct_yaml_unsafe`: the raw text of a scalar (never resolved), or
    /// a collection constructed at once and copied with every string marked unsafe.
    fn construct_unsafe(&mut self, node: NodeId) -> Result<ObjectId, Problem> {
        let mark = self.mark(node);
        let copy = match &self.nodes[node].kind {
            RawKind::Scalar { value, .. } => Data::Unsafe(value.as_ref().into()),
            RawKind::Seq { .. } => {
                let items = self.construct_sequence(node)?;
                let mut copies = Vec::with_capacity(items.len());
                for item in items {
                    copies.push(self.unsafe_copy(item, mark, 0)?);
                }
                Data::Seq(copies)
            }
            RawKind::Map { .. } => {
                let entries = self.construct_mapping(node)?;
                let mut copies = Vec::with_capacity(entries.len());
                for (key, value) in entries {
                    copies.push((
                        self.unsafe_copy(key, mark, 0)?,
                        self.unsafe_copy(value, mark, 0)?,
                    ));
                }
                Data::Map(copies)
            }
        };
        Ok(self.add(mark, copy))
    }

    /// Ansible's `wrap_var`: a copy of the object as it is now, with strings unsafe.
    /// Collections still waiting to be filled are copied empty.
    fn unsafe_copy(
        &mut self,
        object: ObjectId,
        mark: Mark,
        depth: usize,
    ) -> Result<ObjectId, Problem> {
        if depth > MAX_DEPTH {
            return Err(Problem::new(
                "found a recursive structure under !unsafe",
                mark,
            ));
        }
        let copy_mark = self.objects[object].mark;
        let copy = match &self.objects[object].data {
            Data::Str(text) => Data::Unsafe(text.clone()),
            Data::Seq(items) | Data::Set(items) => {
                let is_set = matches!(self.objects[object].data, Data::Set(_));
                let items = items.clone();
                let mut copies = Vec::with_capacity(items.len());
                for item in items {
                    copies.push(self.unsafe_copy(item, mark, depth + 1)?);
                }
                if is_set {
                    Data::Set(copies)
                } else {
                    Data::Seq(copies)
                }
            }
            Data::Map(entries) => {
                let entries = entries.clone();
                let mut copies = Vec::with_capacity(entries.len());
                for (key, value) in entries {
                    copies.push((
                        self.unsafe_copy(key, mark, depth + 1)?,
                        self.unsafe_copy(value, mark, depth + 1)?,
                    ));
                }
                Data::Map(copies)
            }
            &Data::Pair(key, value) => Data::Pair(
                self.unsafe_copy(key, mark, depth + 1)?,
                self.unsafe_copy(value, mark, depth + 1)?,
            ),
            _ => return Ok(object),
        };
        Ok(self.add(copy_mark, copy))
    }
}

fn set_tag(kind: &mut RawKind<'_>, new_tag: Tag) {
    match kind {
        RawKind::Scalar { tag, .. } | RawKind::Seq { tag, .. } | RawKind::Map { tag, .. } => {
            *tag = new_tag;
        }
    }
}

/// The identity `id(key_node.value)` distinguishes in PyYAML's merge deduplication.
#[derive(Hash, PartialEq, Eq)]
enum KeyIdentity {
    Node(NodeId),
    /// Text that CPython shares between all equal strings: `""` or one Latin-1 character.
    SharedText(Option<char>),
}
