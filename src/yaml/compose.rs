//! Composition: saphyr-parser's events become a graph of raw nodes, one arena per
//! document, as PyYAML's composer builds its node graph before anything is constructed.
//!
//! Scalars get their tag here (explicit, or resolved from a plain scalar's text). An
//! alias is the id of the node its anchor names, so an anchored node can have several
//! parents.
//!
//! saphyr follows YAML 1.2 and libyaml YAML 1.1. This module also applies the rules
//! where libyaml is stricter or reports other positions. These cover anchor names,
//! duplicate anchors, `%YAML` versions and unknown directives, content after `...`
//! without `---`, empty implicit keys, keys spanning lines in flow mappings, plain
//! scalars in flow collections, and the positions of block scalars and indentless
//! sequences.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, StrInput, Tag as EventTag};

use super::resolve::{resolve_plain, Tag};
use super::tabs::{EventKind, TabChecker};
use super::text::SourceText;
use super::{Mark, Problem, MAX_DEPTH, REWRITTEN_CONTENT};

/// Index of a node in its document's arena.
pub(super) type NodeId = usize;

pub(super) struct RawNode<'a> {
    pub mark: Mark,
    pub kind: RawKind<'a>,
}

pub(super) enum RawKind<'a> {
    Scalar {
        value: Cow<'a, str>,
        tag: Tag,
    },
    Seq {
        tag: Tag,
        items: Vec<NodeId>,
    },
    Map {
        tag: Tag,
        pairs: Vec<(NodeId, NodeId)>,
    },
}

impl RawKind<'_> {
    pub(super) fn tag(&self) -> &Tag {
        match self {
            RawKind::Scalar { tag, .. } | RawKind::Seq { tag, .. } | RawKind::Map { tag, .. } => {
                tag
            }
        }
    }

    /// PyYAML's node id, used in its error messages.
    pub(super) fn kind_name(&self) -> &'static str {
        match self {
            RawKind::Scalar { .. } => "scalar",
            RawKind::Seq { .. } => "sequence",
            RawKind::Map { .. } => "mapping",
        }
    }
}

/// One composed document.
pub(super) struct Document<'a> {
    pub nodes: Vec<RawNode<'a>>,
    pub root: NodeId,
}

/// Start and end of an event, 1-based.
#[derive(Clone, Copy, Debug)]
pub(super) struct EventSpan {
    pub start: Mark,
    pub end: Mark,
}

/// Pulls documents out of a YAML stream, one at a time.
pub(super) struct Composer<'a> {
    parser: Parser<'a, StrInput<'a>>,
    source: SourceText<'a>,
    tabs: Option<TabChecker>,
    /// Whether the last document ended with `...`, after which libyaml needs `---`.
    explicit_end: bool,
    /// The line of the last document's end; directives for the next one come after it.
    last_end_line: u32,
    substitutions: &'a [(char, char)],
    rewritten: &'a [Mark],
}

impl<'a> Composer<'a> {
    /// `substitutions` pairs placeholder characters in `text` with the characters
    /// they stand for in scalars, and `rewritten` lists, in order, where white space
    /// was rewritten: a scalar that contains one of them fails with
    /// [`REWRITTEN_CONTENT`].
    pub(super) fn new(
        text: &'a str,
        substitutions: &'a [(char, char)],
        rewritten: &'a [Mark],
    ) -> Composer<'a> {
        Composer {
            parser: Parser::new_from_str(text),
            source: SourceText::new(text),
            substitutions,
            rewritten,
            tabs: text.contains('\t').then(TabChecker::default),
            explicit_end: false,
            last_end_line: 0,
        }
    }

    /// Composes the next document, or returns `None` at the end of the stream.
    pub(super) fn next_document(&mut self) -> Result<Option<Document<'a>>, Problem> {
        loop {
            let (event, span) = self.next_event()?;
            match event {
                Event::StreamStart => self.check_stream_start()?,
                Event::Nothing => {}
                Event::StreamEnd => {
                    self.check_tabs_until_end()?;
                    return Ok(None);
                }
                Event::DocumentStart(explicit) => {
                    if explicit {
                        self.check_directives(span.start)?;
                    } else if self.explicit_end {
                        return Err(Problem::new(
                            "did not find expected <document start>",
                            span.start,
                        ));
                    }
                    return self.compose_document().map(Some);
                }
                _ => return Err(Problem::new("expected the start of a document", span.start)),
            }
        }
    }

    fn next_event(&mut self) -> Result<(Event<'a>, EventSpan), Problem> {
        match self.parser.next_event() {
            None => {
                let end = Mark::default();
                Ok((Event::StreamEnd, EventSpan { start: end, end }))
            }
            Some(Ok((event, span))) => Ok((
                event,
                EventSpan {
                    start: Mark::from_marker(span.start),
                    end: Mark::from_marker(span.end),
                },
            )),
            Some(Err(error)) => Err(scan_problem(&error)),
        }
    }

    /// libyaml rejects `...` before the first document.
    fn check_stream_start(&mut self) -> Result<(), Problem> {
        let text = self.source.text().trim_start_matches('\u{feff}');
        for (index, line) in text.lines().enumerate() {
            let content = line.trim_start_matches([' ', '\t']);
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let is_end = line
                .strip_prefix("...")
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']));
            if is_end {
                let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
                return Err(Problem::new(
                    "while parsing a block node, did not find expected node content",
                    Mark { line, column: 1 },
                ));
            }
            break;
        }
        Ok(())
    }

    /// Checks the directives between the last document and this `---` as libyaml does:
    /// only `%YAML` 1.1 or 1.2 and `%TAG` (saphyr ignores other names and versions).
    fn check_directives(&mut self, document_start: Mark) -> Result<(), Problem> {
        for line in self.last_end_line + 1..document_start.line {
            let text = self.source.line(line).trim_start_matches('\u{feff}');
            let Some(directive) = text.strip_prefix('%') else {
                continue;
            };
            let mut words = directive.split([' ', '\t']).filter(|w| !w.is_empty());
            let name = words.next().unwrap_or("");
            match name {
                "TAG" => {}
                "YAML" if matches!(words.next(), Some("1.1" | "1.2")) => {}
                "YAML" => {
                    return Err(Problem::new(
                        "found incompatible YAML document",
                        Mark { line, column: 1 },
                    ))
                }
                _ => {
                    let column = u32::try_from(name.chars().count() + 2).unwrap_or(u32::MAX);
                    return Err(Problem::new(
                        "while scanning a directive, found unknown directive name",
                        Mark { line, column },
                    ));
                }
            }
        }
        Ok(())
    }

    fn compose_document(&mut self) -> Result<Document<'a>, Problem> {
        let mut builder = DocumentBuilder::default();
        loop {
            let (event, span) = self
                .next_event()
                .map_err(|problem| problem.with_flow(builder.in_flow()))?;
            if event_has_tag(&event) {
                self.source.check_tag_separator(span.start)?;
            }
            let kind = self.event_kind(&event, span);
            if let Some(tabs) = &mut self.tabs {
                tabs.before_event(&mut self.source, &builder.context(), kind, span)?;
            }
            match event {
                Event::DocumentEnd => {
                    self.explicit_end = self.source.rest_at(span.start).starts_with("...");
                    self.last_end_line = span.start.line;
                    break;
                }
                Event::Scalar(value, style, anchor, tag) => {
                    self.add_scalar(&mut builder, value, style, anchor, tag.as_deref(), span)?;
                }
                Event::SequenceStart(anchor, tag) => {
                    let mark = match builder.pending_key() {
                        Some(key) if anchor == 0 && tag.is_none() => {
                            let key_column = builder.nodes[key].mark.column;
                            self.source
                                .indentless_sequence_start(span.start, key_column)
                        }
                        _ => span.start,
                    };
                    let kind = RawKind::Seq {
                        tag: collection_tag(tag.as_deref(), Tag::Seq),
                        items: Vec::new(),
                    };
                    self.open_collection(&mut builder, kind, anchor, mark)?;
                }
                Event::MappingStart(anchor, tag) => {
                    let kind = RawKind::Map {
                        tag: collection_tag(tag.as_deref(), Tag::Map),
                        pairs: Vec::new(),
                    };
                    self.open_collection(&mut builder, kind, anchor, span.start)?;
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    builder.stack.pop();
                }
                Event::Alias(anchor) => {
                    self.source.check_alias_name(span.start)?;
                    let Some(&target) = builder.anchors.get(&anchor) else {
                        return Err(Problem::new("found undefined alias", span.start));
                    };
                    builder.attach(target);
                }
                Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) => {
                    return Err(Problem::new("expected the end of the document", span.start));
                }
                Event::Nothing => {}
            }
            if let Some(tabs) = &mut self.tabs {
                tabs.after_event(&builder.context(), kind, span);
            }
        }
        let root = builder
            .root
            .ok_or_else(|| Problem::new("found an empty document", Mark::default()))?;
        Ok(Document {
            nodes: builder.nodes,
            root,
        })
    }

    fn event_kind(&mut self, event: &Event<'_>, span: EventSpan) -> EventKind {
        match event {
            // An empty plain scalar is an implied null: nothing was scanned.
            Event::Scalar(value, ScalarStyle::Plain, ..) if value.is_empty() => EventKind::Other,
            Event::Scalar(_, ScalarStyle::Plain, ..) => EventKind::PlainScalar,
            Event::Scalar(value, ScalarStyle::Literal | ScalarStyle::Folded, ..) => {
                EventKind::BlockScalar {
                    empty: value.is_empty(),
                }
            }
            Event::Scalar(..) => EventKind::QuotedScalar,
            Event::SequenceStart(..) | Event::MappingStart(..)
                if matches!(self.source.after_properties(span.start), Some('[' | '{')) =>
            {
                EventKind::FlowCollectionStart
            }
            Event::SequenceEnd | Event::MappingEnd
                if self.source.rest_at(span.start).starts_with([']', '}']) =>
            {
                EventKind::FlowCollectionEnd
            }
            _ => EventKind::Other,
        }
    }

    fn add_scalar(
        &mut self,
        builder: &mut DocumentBuilder<'a>,
        mut value: Cow<'a, str>,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&EventTag>,
        span: EventSpan,
    ) -> Result<(), Problem> {
        let first_rewrite = self.rewritten.partition_point(|mark| *mark < span.start);
        if self
            .rewritten
            .get(first_rewrite)
            .is_some_and(|mark| *mark < span.end)
        {
            return Err(Problem::new(REWRITTEN_CONTENT, span.start));
        }
        for &(placeholder, original) in self.substitutions {
            if value.contains(placeholder) {
                value = Cow::Owned(value.replace(placeholder, original.encode_utf8(&mut [0; 4])));
            }
        }
        let is_block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
        let mut mark = span.start;
        if is_block && builder.stack.is_empty() && !value.is_empty() && span.start.column == 1 {
            // libyaml indents block scalar content by at least one column.
            return Err(Problem::new(
                "did not find expected <document start>",
                span.start,
            ));
        }
        if style == ScalarStyle::Plain && builder.in_flow() && !value.is_empty() {
            self.check_flow_plain_scalar(span)?;
        }
        if is_block {
            if anchor == 0 && tag.is_none() {
                mark = self
                    .source
                    .block_scalar_header(mark, value.is_empty())
                    .unwrap_or(mark);
            }
            if value.ends_with('\n') && self.saphyr_added_final_line_break(span) {
                // libyaml adds no final line break that the input does not have.
                value.to_mut().pop();
            }
        }
        if builder.is_key_position() && anchor == 0 && tag.is_none() {
            self.check_implicit_key(builder, &value, style, span)?;
        }
        let kind = RawKind::Scalar {
            tag: scalar_tag(&value, style, tag),
            value,
        };
        self.add_node(builder, kind, anchor, mark)?;
        Ok(())
    }

    /// Applies libyaml's rules for plain scalars in flow collections, where saphyr
    /// accepts more: `|` and `>` cannot start one, a `:` at its start is a value
    /// indicator, and a `:` right before `,?[]{}` is an error.
    fn check_flow_plain_scalar(&mut self, span: EventSpan) -> Result<(), Problem> {
        match self.source.after_properties(span.start) {
            Some('|' | '>') => return Err(Problem::new(
                "while scanning for the next token, found character that cannot start any token",
                span.start,
            )),
            Some(':') => {
                return Err(Problem::new(
                    "while parsing a flow node, did not find expected node content",
                    span.start,
                ))
            }
            _ => {}
        }
        let mut after = self.source.rest_of_line(span.end).chars();
        if after.next() == Some(':') && after.next().is_some_and(|c| ",?[]{}".contains(c)) {
            return Err(Problem::new(
                "while scanning a plain scalar, found unexpected ':'",
                span.end,
            ));
        }
        Ok(())
    }

    /// Tells whether saphyr ended a block scalar with a line break the input lacks. A
    /// scalar at the end of input without a final line break gets one from saphyr,
    /// unless its last line is blank and shorter than the content's indentation.
    fn saphyr_added_final_line_break(&mut self, span: EventSpan) -> bool {
        let text = self.source.text();
        if text.ends_with(['\n', '\r']) {
            return false;
        }
        let last_line = self.source.line_count();
        let last_line_text = self.source.line(last_line);
        let last_line_length = last_line_text.chars().count();
        let at_end = span.end.line == last_line && span.end.column as usize > last_line_length
            || span.end.line > last_line;
        let indent = (span.start.column as usize).saturating_sub(1);
        let short_blank_line =
            last_line_text.chars().all(|c| c == ' ') && last_line_length < indent;
        at_end && !short_blank_line
    }

    /// libyaml needs a key before `:` (saphyr reads `: b` as an empty key). A key with a
    /// value in a flow mapping must be on one line unless it follows `?`.
    fn check_implicit_key(
        &mut self,
        builder: &DocumentBuilder<'a>,
        value: &str,
        style: ScalarStyle,
        span: EventSpan,
    ) -> Result<(), Problem> {
        let empty_plain = value.is_empty() && style == ScalarStyle::Plain;
        if empty_plain && self.source.rest_at(span.start).starts_with(':') {
            let explicit = self.source.previous_significant(span.start) == Some('?');
            if !explicit {
                let problem = if builder.in_flow() {
                    "while parsing a flow node, did not find expected node content"
                } else {
                    "while parsing a block mapping, did not find expected key"
                };
                return Err(Problem::new(problem, span.start));
            }
        }
        if builder.in_flow() && span.end.line > span.start.line {
            let explicit = self.source.previous_significant(span.start) == Some('?');
            let before_value = self
                .source
                .rest_of_line(span.end)
                .trim_start_matches([' ', '\t'])
                .starts_with(':');
            if !explicit && before_value {
                return Err(Problem::new(
                    "while parsing a flow mapping, did not find expected ',' or '}'",
                    span.end,
                ));
            }
        }
        Ok(())
    }

    fn open_collection(
        &mut self,
        builder: &mut DocumentBuilder<'a>,
        kind: RawKind<'a>,
        anchor: usize,
        mark: Mark,
    ) -> Result<(), Problem> {
        let flow =
            builder.in_flow() || matches!(self.source.after_properties(mark), Some('[' | '{'));
        let id = self.add_node(builder, kind, anchor, mark)?;
        if builder.stack.len() >= MAX_DEPTH {
            return Err(Problem::new(
                format!("collections are nested more than {MAX_DEPTH} levels deep"),
                mark,
            ));
        }
        builder.stack.push(OpenCollection {
            node: id,
            pending_key: None,
            flow,
        });
        Ok(())
    }

    fn add_node(
        &mut self,
        builder: &mut DocumentBuilder<'a>,
        kind: RawKind<'a>,
        anchor: usize,
        mark: Mark,
    ) -> Result<NodeId, Problem> {
        let id = builder.nodes.len();
        builder.nodes.push(RawNode { mark, kind });
        if anchor != 0 {
            let name = self.source.anchor_name(mark)?;
            if let Some(first) = builder.anchor_names.insert(name, mark) {
                return Err(Problem::new(
                    format!(
                        "found duplicate anchor '{name}'; first occurrence at line {}, column {}, second occurrence",
                        first.line, first.column
                    ),
                    mark,
                ));
            }
            builder.anchors.insert(anchor, id);
        }
        builder.attach(id);
        Ok(id)
    }

    fn check_tabs_until_end(&mut self) -> Result<(), Problem> {
        match &mut self.tabs {
            Some(tabs) => tabs.at_stream_end(&mut self.source),
            None => Ok(()),
        }
    }
}

struct OpenCollection {
    node: NodeId,
    /// In a mapping, the key waiting for its value.
    pending_key: Option<NodeId>,
    /// Whether this collection or one around it is in flow style (`[...]`, `{...}`).
    flow: bool,
}

#[derive(Default)]
struct DocumentBuilder<'a> {
    nodes: Vec<RawNode<'a>>,
    root: Option<NodeId>,
    /// Open collections, innermost last.
    stack: Vec<OpenCollection>,
    /// saphyr's anchor ids to the nodes they name.
    anchors: HashMap<usize, NodeId>,
    anchor_names: HashMap<&'a str, Mark>,
}

/// The parser's position in the collection tree, for the tab rules.
pub(super) struct Context {
    /// Whether the parser is inside a flow collection.
    pub in_flow: bool,
    /// libyaml's indentation: the column (0-based) of the innermost block collection,
    /// or -1 at the top level.
    pub indent: i64,
}

impl DocumentBuilder<'_> {
    fn in_flow(&self) -> bool {
        self.stack.last().is_some_and(|open| open.flow)
    }

    /// Returns the key waiting for its value in the innermost open mapping.
    fn pending_key(&self) -> Option<NodeId> {
        self.stack.last().and_then(|open| open.pending_key)
    }

    /// Tells whether the next node is a mapping key.
    fn is_key_position(&self) -> bool {
        self.stack.last().is_some_and(|open| {
            open.pending_key.is_none() && matches!(self.nodes[open.node].kind, RawKind::Map { .. })
        })
    }

    fn context(&self) -> Context {
        let indent = self
            .stack
            .iter()
            .rev()
            .find(|open| !open.flow)
            .map_or(-1, |open| self.block_column(open.node));
        Context {
            in_flow: self.in_flow(),
            indent,
        }
    }

    /// Returns the 0-based column of a block collection: its first key or its first `-`.
    fn block_column(&self, node: NodeId) -> i64 {
        let column = match &self.nodes[node].kind {
            RawKind::Map { pairs, .. } => {
                pairs.first().map(|&(key, _)| self.nodes[key].mark.column)
            }
            _ => None,
        };
        i64::from(column.unwrap_or(self.nodes[node].mark.column)) - 1
    }

    /// Adds `child` to the innermost open collection, or makes it the root.
    fn attach(&mut self, child: NodeId) {
        let Some(open) = self.stack.last_mut() else {
            self.root = Some(child);
            return;
        };
        match &mut self.nodes[open.node].kind {
            RawKind::Seq { items, .. } => items.push(child),
            RawKind::Map { pairs, .. } => match open.pending_key.take() {
                Some(key) => pairs.push((key, child)),
                None => open.pending_key = Some(child),
            },
            RawKind::Scalar { .. } => {}
        }
    }
}

/// Returns the tag of a scalar event as libyaml and PyYAML's C composer set it. A plain
/// scalar without a tag, or any scalar with the non-specific tag `!`, is resolved from
/// its text, except the empty node after a lone `!`, which is a string. Other untagged
/// scalars are strings.
fn scalar_tag(value: &str, style: ScalarStyle, tag: Option<&EventTag>) -> Tag {
    match tag.map(full_tag_name) {
        None if style == ScalarStyle::Plain => resolve_plain(value),
        None => Tag::Str,
        Some(name) if name == "!" => {
            if style == ScalarStyle::Plain && value.is_empty() {
                Tag::Str
            } else {
                resolve_plain(value)
            }
        }
        Some(name) => Tag::from_name(&name),
    }
}

fn event_has_tag(event: &Event<'_>) -> bool {
    matches!(
        event,
        Event::Scalar(_, _, _, Some(_))
            | Event::SequenceStart(_, Some(_))
            | Event::MappingStart(_, Some(_))
    )
}

fn collection_tag(tag: Option<&EventTag>, default: Tag) -> Tag {
    match tag.map(full_tag_name) {
        None => default,
        Some(name) if name == "!" => default,
        Some(name) => Tag::from_name(&name),
    }
}

/// saphyr splits a tag into the prefix its handle stands for and the suffix.
fn full_tag_name(tag: &EventTag) -> String {
    format!("{}{}", tag.handle, tag.suffix)
}

fn scan_problem(error: &ScanError) -> Problem {
    Problem::new(error.info(), Mark::from_marker(*error.marker()))
}
