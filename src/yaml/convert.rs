//! The last step of loading: the object arena becomes a tree of [`Node`]s.

use std::sync::Arc;

use super::object::{Data, Object, ObjectId};
use super::{Node, NodeKind, Problem, MAX_DEPTH};
use crate::source::{SourceFile, Span};
use crate::Value;

/// Most nodes one document may expand to once aliases are copied, unless it has more
/// objects than that to begin with, so that a few lines of nested aliases cannot
/// exhaust memory.
const MAX_EXPANDED_NODES: usize = 1_000_000;

/// How many times its own size a larger document may grow through aliases.
const MAX_EXPANSION_FACTOR: usize = 10;

/// Converts the object `root` and everything under it.
pub(super) fn to_node(
    objects: &[Object],
    file: &Arc<SourceFile>,
    root: ObjectId,
) -> Result<Node, Problem> {
    let mut converter = Converter {
        objects,
        file,
        visiting: vec![false; objects.len()],
        budget: MAX_EXPANDED_NODES.max(objects.len() * MAX_EXPANSION_FACTOR),
    };
    converter.node(root, 0)
}

/// Turns the object arena into a tree of nodes, copying objects reached through more
/// than one alias.
struct Converter<'o> {
    objects: &'o [Object],
    file: &'o Arc<SourceFile>,
    /// Collections on the path from the root, to detect a collection inside itself.
    visiting: Vec<bool>,
    /// Nodes left before the document counts as too large.
    budget: usize,
}

impl Converter<'_> {
    fn node(&mut self, object: ObjectId, depth: usize) -> Result<Node, Problem> {
        let Object { mark, data } = &self.objects[object];
        if depth > MAX_DEPTH {
            return Err(Problem::new(
                format!("collections are nested more than {MAX_DEPTH} levels deep"),
                *mark,
            ));
        }
        if self.budget == 0 {
            return Err(Problem::new(
                format!(
                    "the document expands to more than {MAX_EXPANDED_NODES} nodes through aliases"
                ),
                *mark,
            ));
        }
        self.budget -= 1;
        let span = Span::new(self.file.clone(), mark.line, mark.column);
        let kind = match data {
            Data::Null => NodeKind::Scalar(Value::Null),
            Data::Bool(value) => NodeKind::Scalar(Value::Bool(*value)),
            Data::Int(value) => NodeKind::Scalar(Value::Int(*value)),
            // NOTE: Value has no arbitrary-precision integer, so an int outside i64 is
            // kept as its decimal text.
            Data::BigInt(text) => NodeKind::Scalar(Value::Str(text.clone())),
            Data::Float(value) => NodeKind::Scalar(Value::Float(*value)),
            Data::Str(text) | Data::Timestamp(text) => {
                super::loaded_text::record(text);
                NodeKind::Scalar(Value::Str(text.clone()))
            }
            Data::Unsafe(text) => NodeKind::Scalar(Value::Unsafe(text.clone())),
            // NOTE: Value has no bytes type; `!!binary` data becomes text, with invalid
            // UTF-8 replaced.
            Data::Binary(bytes) => {
                NodeKind::Scalar(Value::str(String::from_utf8_lossy(bytes).as_ref()))
            }
            Data::Vault(text) => NodeKind::Vault(text.clone()),
            Data::Seq(items) => NodeKind::Seq(self.collection(object, items, depth)?),
            &Data::Pair(key, value) => {
                NodeKind::Seq(self.collection(object, &[key, value], depth)?)
            }
            Data::Map(entries) => {
                self.enter(object)?;
                let mut nodes = Vec::with_capacity(entries.len());
                for &(key, value) in entries {
                    nodes.push((self.node(key, depth + 1)?, self.node(value, depth + 1)?));
                }
                self.visiting[object] = false;
                NodeKind::Map(nodes)
            }
            // A set becomes a mapping to nulls, as YAML writes it.
            Data::Set(items) => {
                self.enter(object)?;
                let mut nodes = Vec::with_capacity(items.len());
                for &item in items {
                    let key = self.node(item, depth + 1)?;
                    let null = Node {
                        kind: NodeKind::Scalar(Value::Null),
                        span: key.span.clone(),
                    };
                    nodes.push((key, null));
                }
                self.visiting[object] = false;
                NodeKind::Map(nodes)
            }
        };
        Ok(Node { kind, span })
    }

    fn collection(
        &mut self,
        object: ObjectId,
        items: &[ObjectId],
        depth: usize,
    ) -> Result<Vec<Node>, Problem> {
        self.enter(object)?;
        let nodes = items
            .iter()
            .map(|&item| self.node(item, depth + 1))
            .collect::<Result<Vec<_>, _>>()?;
        self.visiting[object] = false;
        Ok(nodes)
    }

    fn enter(&mut self, object: ObjectId) -> Result<(), Problem> {
        if std::mem::replace(&mut self.visiting[object], true) {
            return Err(Problem::new(
                "found a collection that contains itself through an alias, which rplay cannot represent",
                self.objects[object].mark,
            ));
        }
        Ok(())
    }
}
