//! A YAML writer that reproduces the output of `yaml.dump` as ansible-core 2.18 calls
//! it. Ansible's dumper is `CSafeDumper` when PyYAML has its libyaml binding, so the
//! rules are libyaml's emitter (0.2.6 in the oracle, with PyYAML 6.0.4): scalar
//! analysis, scalar style choice, simple keys, indentation and folding of long scalars
//! at 80 columns. The implicit resolvers that decide whether a string may be written
//! plain are PyYAML's (`yaml/resolver.py`).
//!
//! NOTE: a controller whose PyYAML lacks libyaml falls back to PyYAML's own emitter,
//! which writes some strings differently (emoji, NEL, empty keys); rplay follows libyaml.

use std::sync::LazyLock;

use regex::Regex;

/// A node of the representation graph that `yaml.dump` builds before emitting.
pub enum Node {
    Scalar(Scalar),
    Sequence(Vec<Node>),
    Mapping(Vec<(Node, Node)>),
}

/// A scalar's text and whether it represents a Python `str`. Other scalars (numbers,
/// booleans, `None`) resolve to their own tag when plain, so they are always plain.
pub struct Scalar {
    pub text: String,
    pub is_str: bool,
}

/// The `default_flow_style` argument of `yaml.dump`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FlowStyle {
    /// `None`: a collection is written inline when all its items are scalars.
    Leaves,
    /// `False`: only empty collections are written inline.
    Never,
    /// `True`: every collection is written inline.
    Always,
}

/// The arguments of `yaml.dump` that change the layout.
pub struct DumpOptions {
    /// `indent`; libyaml uses 2 for a value outside 2..=9.
    pub indent: usize,
    /// `width`: the column after which scalars and flow collections are folded.
    /// `None` is PyYAML's default, which libyaml turns into 80; a negative width
    /// means no limit.
    pub width: Option<i64>,
    pub flow_style: FlowStyle,
}

/// Writes one document holding `root`, as `yaml.dump` does with an implicit start.
pub fn dump(root: &Node, options: &DumpOptions) -> String {
    let mut emitter = Emitter::new(options);
    emitter.emit_node(root, Context::default());
    emitter.write_indent();
    emitter.out
}

/// The position of the node being written, as libyaml tracks it.
#[derive(Clone, Copy, Default)]
struct Context {
    mapping: bool,
    simple_key: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
}

struct Emitter {
    out: String,
    column: usize,
    indent: Option<usize>,
    indents: Vec<Option<usize>>,
    whitespace: bool,
    indention: bool,
    flow_level: usize,
    best_indent: usize,
    best_width: usize,
    flow_style: FlowStyle,
    simple_key_context: bool,
}

impl Emitter {
    fn new(options: &DumpOptions) -> Self {
        let best_indent = if (2..=9).contains(&options.indent) {
            options.indent
        } else {
            2
        };
        // libyaml replaces a width of at most twice the indentation with 80.
        let best_width = match options.width {
            None => 80,
            Some(width) if width < 0 => usize::MAX,
            Some(width) if width as u64 <= 2 * best_indent as u64 => 80,
            Some(width) => usize::try_from(width).unwrap_or(usize::MAX),
        };
        Self {
            out: String::new(),
            column: 0,
            indent: None,
            indents: Vec::new(),
            whitespace: true,
            indention: true,
            flow_level: 0,
            best_indent,
            best_width,
            flow_style: options.flow_style,
            simple_key_context: false,
        }
    }

    fn emit_node(&mut self, node: &Node, context: Context) {
        self.simple_key_context = context.simple_key;
        match node {
            Node::Scalar(scalar) => self.emit_scalar(scalar),
            Node::Sequence(items) => {
                if self.flow_level > 0 || items.is_empty() || self.is_flow(node) {
                    self.emit_flow_sequence(items);
                } else {
                    self.emit_block_sequence(items, context);
                }
            }
            Node::Mapping(pairs) => {
                if self.flow_level > 0 || pairs.is_empty() || self.is_flow(node) {
                    self.emit_flow_mapping(pairs);
                } else {
                    self.emit_block_mapping(pairs);
                }
            }
        }
    }

    /// Returns whether the representer marks a non-empty collection as flow style.
    fn is_flow(&self, node: &Node) -> bool {
        let is_scalar = |node: &Node| matches!(node, Node::Scalar(_));
        match self.flow_style {
            FlowStyle::Always => true,
            FlowStyle::Never => false,
            FlowStyle::Leaves => match node {
                Node::Sequence(items) => items.iter().all(is_scalar),
                Node::Mapping(pairs) => pairs.iter().all(|(k, v)| is_scalar(k) && is_scalar(v)),
                Node::Scalar(_) => false,
            },
        }
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        self.indent = match self.indent {
            None if flow => Some(self.best_indent),
            None => Some(0),
            Some(indent) if !indentless => Some(indent + self.best_indent),
            Some(indent) => Some(indent),
        };
    }

    fn decrease_indent(&mut self) {
        self.indent = self.indents.pop().flatten();
    }

    fn emit_flow_sequence(&mut self, items: &[Node]) {
        self.write_indicator("[", true, true, false);
        self.increase_indent(true, false);
        self.flow_level += 1;
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.column > self.best_width {
                self.write_indent();
            }
            self.emit_node(item, Context::default());
        }
        self.flow_level -= 1;
        self.decrease_indent();
        self.write_indicator("]", false, false, false);
    }

    fn emit_flow_mapping(&mut self, pairs: &[(Node, Node)]) {
        self.write_indicator("{", true, true, false);
        self.increase_indent(true, false);
        self.flow_level += 1;
        let value_context = Context {
            mapping: true,
            simple_key: false,
        };
        for (i, (key, value)) in pairs.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.column > self.best_width {
                self.write_indent();
            }
            if is_simple_key(key) {
                self.emit_node(key, simple_key_context());
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, false);
                self.emit_node(key, value_context);
                if self.column > self.best_width {
                    self.write_indent();
                }
                self.write_indicator(":", true, false, false);
            }
            self.emit_node(value, value_context);
        }
        self.flow_level -= 1;
        self.decrease_indent();
        self.write_indicator("}", false, false, false);
    }

    fn emit_block_sequence(&mut self, items: &[Node], context: Context) {
        // A sequence that is a mapping's value starts at the key's column.
        let indentless = context.mapping && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.emit_node(item, Context::default());
        }
        self.decrease_indent();
    }

    fn emit_block_mapping(&mut self, pairs: &[(Node, Node)]) {
        self.increase_indent(false, false);
        let value_context = Context {
            mapping: true,
            simple_key: false,
        };
        for (key, value) in pairs {
            self.write_indent();
            if is_simple_key(key) {
                self.emit_node(key, simple_key_context());
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.emit_node(key, value_context);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.emit_node(value, value_context);
        }
        self.decrease_indent();
    }

    fn emit_scalar(&mut self, scalar: &Scalar) {
        let analysis = ScalarAnalysis::of(&scalar.text);
        let style = self.choose_scalar_style(scalar, &analysis);
        let allow_breaks = !self.simple_key_context;
        self.increase_indent(true, false);
        match style {
            ScalarStyle::Plain => self.write_plain(&scalar.text, allow_breaks),
            ScalarStyle::SingleQuoted => self.write_single_quoted(&scalar.text, allow_breaks),
            ScalarStyle::DoubleQuoted => self.write_double_quoted(&scalar.text, allow_breaks),
        }
        self.decrease_indent();
    }

    fn choose_scalar_style(&self, scalar: &Scalar, analysis: &ScalarAnalysis) -> ScalarStyle {
        let plain_allowed = if self.flow_level > 0 {
            analysis.flow_plain_allowed
        } else {
            analysis.block_plain_allowed
        };
        let empty_needs_quotes =
            scalar.text.is_empty() && (self.flow_level > 0 || self.simple_key_context);
        let plain_implicit = !scalar.is_str || resolves_to_str(&scalar.text);
        if plain_allowed && !empty_needs_quotes && plain_implicit {
            ScalarStyle::Plain
        } else if analysis.single_quoted_allowed {
            ScalarStyle::SingleQuoted
        } else {
            ScalarStyle::DoubleQuoted
        }
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// Writes a line break found in a scalar: `\n` as a newline, the other YAML
    /// breaks (NEL, LS, PS) as themselves.
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in indicator.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn write_plain(&mut self, text: &str, allow_breaks: bool) {
        let chars: Vec<char> = text.chars().collect();
        if !self.whitespace && (!chars.is_empty() || self.flow_level > 0) {
            self.put(' ');
        }
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            let next = chars.get(i + 1).copied();
            if c == ' ' {
                if allow_breaks && !spaces && self.column > self.best_width && next != Some(' ') {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single_quoted(&mut self, text: &str, allow_breaks: bool) {
        let chars: Vec<char> = text.chars().collect();
        self.write_indicator("'", true, false, false);
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            let next = chars.get(i + 1).copied();
            if c == ' ' {
                let inner = i != 0 && i + 1 != chars.len();
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && inner
                    && next != Some(' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                // One line break inside single quotes reads back as a space, so a
                // newline is written as an empty line.
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        if breaks {
            self.write_indent();
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, text: &str, allow_breaks: bool) {
        let chars: Vec<char> = text.chars().collect();
        self.write_indicator("\"", true, false, false);
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\' {
                self.write_escape(c);
                spaces = false;
            } else if c == ' ' {
                let inner = i != 0 && i + 1 != chars.len();
                if allow_breaks && !spaces && self.column > self.best_width && inner {
                    self.write_indent();
                    // A space that starts a continuation line would be dropped when
                    // read back, so the next one is escaped.
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_escape(&mut self, c: char) {
        self.put('\\');
        let short = match c {
            '\0' => Some('0'),
            '\x07' => Some('a'),
            '\x08' => Some('b'),
            '\t' => Some('t'),
            '\n' => Some('n'),
            '\x0b' => Some('v'),
            '\x0c' => Some('f'),
            '\r' => Some('r'),
            '\x1b' => Some('e'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            '\u{85}' => Some('N'),
            '\u{a0}' => Some('_'),
            '\u{2028}' => Some('L'),
            '\u{2029}' => Some('P'),
            _ => None,
        };
        if let Some(short) = short {
            self.put(short);
            return;
        }
        let code = c as u32;
        let (prefix, width) = match code {
            0..=0xff => ('x', 2),
            0x100..=0xffff => ('u', 4),
            _ => ('U', 8),
        };
        self.put(prefix);
        for c in format!("{code:0width$X}").chars() {
            self.put(c);
        }
    }
}

fn simple_key_context() -> Context {
    Context {
        mapping: true,
        simple_key: true,
    }
}

/// libyaml's `check_simple_key`: a key is written inline before `:` when it is a
/// one-line scalar of at most 128 bytes or an empty collection.
fn is_simple_key(key: &Node) -> bool {
    match key {
        Node::Scalar(scalar) => {
            !ScalarAnalysis::of(&scalar.text).multiline && scalar.text.len() <= 128
        }
        Node::Sequence(items) => items.is_empty(),
        Node::Mapping(pairs) => pairs.is_empty(),
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank_or_end(c: Option<char>) -> bool {
    c.is_none_or(|c| c == ' ' || c == '\t' || c == '\0' || is_break(c))
}

/// libyaml's `IS_PRINTABLE`. It is narrower than YAML's printable set: the tab, NEL
/// and characters outside the Basic Multilingual Plane (emoji) count as special, so
/// strings holding them are double-quoted and the characters escaped.
fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\x20'..='\x7e' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        && c != '\u{feff}'
}

/// The properties of a scalar that decide which styles can write it faithfully
/// (libyaml's `yaml_emitter_analyze_scalar`, with `allow_unicode=True`).
struct ScalarAnalysis {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
}

/// Character classes found while scanning a scalar.
#[derive(Default)]
struct ScalarFeatures {
    block_indicators: bool,
    flow_indicators: bool,
    line_breaks: bool,
    special_characters: bool,
    tab_characters: bool,
    leading_space: bool,
    leading_break: bool,
    trailing_space: bool,
    trailing_break: bool,
    break_space: bool,
    space_break: bool,
}

impl ScalarAnalysis {
    fn of(text: &str) -> Self {
        if text.is_empty() {
            return Self {
                multiline: false,
                flow_plain_allowed: false,
                block_plain_allowed: true,
                single_quoted_allowed: true,
            };
        }
        let found = ScalarFeatures::scan(text);
        let mut analysis = Self {
            multiline: found.line_breaks,
            flow_plain_allowed: true,
            block_plain_allowed: true,
            single_quoted_allowed: true,
        };
        if found.leading_space
            || found.leading_break
            || found.trailing_space
            || found.trailing_break
        {
            analysis.flow_plain_allowed = false;
            analysis.block_plain_allowed = false;
        }
        if found.break_space
            || found.space_break
            || found.tab_characters
            || found.special_characters
        {
            analysis.flow_plain_allowed = false;
            analysis.block_plain_allowed = false;
            analysis.single_quoted_allowed = false;
        }
        if found.line_breaks {
            analysis.flow_plain_allowed = false;
            analysis.block_plain_allowed = false;
        }
        if found.flow_indicators {
            analysis.flow_plain_allowed = false;
        }
        if found.block_indicators {
            analysis.block_plain_allowed = false;
        }
        analysis
    }
}

impl ScalarFeatures {
    fn scan(text: &str) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let mut found = Self::default();
        if text.starts_with("---") || text.starts_with("...") {
            found.block_indicators = true;
            found.flow_indicators = true;
        }
        let mut preceded_by_whitespace = true;
        let mut previous_space = false;
        let mut previous_break = false;
        let last = chars.len() - 1;
        for (i, &c) in chars.iter().enumerate() {
            let followed_by_whitespace = is_blank_or_end(chars.get(i + 1).copied());
            found.note_indicator(c, i == 0, preceded_by_whitespace, followed_by_whitespace);
            if !is_printable(c) {
                found.special_characters = true;
            }
            if c == '\t' {
                found.tab_characters = true;
            }
            if is_break(c) {
                found.line_breaks = true;
            }
            if c == ' ' {
                found.leading_space |= i == 0;
                found.trailing_space |= i == last;
                found.break_space |= previous_break;
                previous_space = true;
                previous_break = false;
            } else if is_break(c) {
                found.leading_break |= i == 0;
                found.trailing_break |= i == last;
                found.space_break |= previous_space;
                previous_space = false;
                previous_break = true;
            } else {
                previous_space = false;
                previous_break = false;
            }
            preceded_by_whitespace = is_blank_or_end(Some(c));
        }
        found
    }

    fn note_indicator(&mut self, c: char, first: bool, preceded: bool, followed: bool) {
        if first {
            if "#,[]{}&*!|>'\"%@`".contains(c) {
                self.flow_indicators = true;
                self.block_indicators = true;
            }
            if c == '?' || c == ':' {
                self.flow_indicators = true;
                self.block_indicators |= followed;
            }
            if c == '-' && followed {
                self.flow_indicators = true;
                self.block_indicators = true;
            }
        } else {
            if ",?[]{}".contains(c) {
                self.flow_indicators = true;
            }
            if c == ':' {
                self.flow_indicators = true;
                self.block_indicators |= followed;
            }
            if c == '#' && preceded {
                self.flow_indicators = true;
                self.block_indicators = true;
            }
        }
    }
}

/// PyYAML's implicit resolvers (`Resolver.add_implicit_resolver` in `resolver.py`).
static IMPLICIT_RESOLVERS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // bool
        r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
        // float
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        // int
        r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
        // merge
        r"^(?:<<)$",
        // null
        r"^(?:~|null|Null|NULL|)$",
        // timestamp
        r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
        // value
        r"^(?:=)$",
        // yaml
        r"^(?:!|&|\*)$",
    ]
    .iter()
    .filter_map(|pattern| Regex::new(pattern).ok())
    .collect()
});

/// Whether `text`, written plain, reads back as a string: no implicit resolver
/// matches it. Python's `$` also matches before a final newline, hence the strip.
fn resolves_to_str(text: &str) -> bool {
    let text = text.strip_suffix('\n').unwrap_or(text);
    !IMPLICIT_RESOLVERS.iter().any(|re| re.is_match(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(text: &str) -> Node {
        Node::Scalar(Scalar {
            text: text.into(),
            is_str: true,
        })
    }

    fn options(indent: usize, flow_style: FlowStyle) -> DumpOptions {
        DumpOptions {
            indent,
            width: None,
            flow_style,
        }
    }

    #[test]
    fn resolver_distinguishes_floats_from_addresses() {
        assert!(resolves_to_str("10.0.0.1"));
        assert!(resolves_to_str("1.2.3"));
        assert!(resolves_to_str("0o17"));
        assert!(!resolves_to_str("1.2"));
        assert!(!resolves_to_str("0777"));
        assert!(!resolves_to_str("1:20"));
        assert!(!resolves_to_str(""));
    }

    #[test]
    fn flow_quotes_colons_and_commas() {
        let node = Node::Sequence(vec![string("2001:db8::1"), string("a,b"), string("x")]);
        assert_eq!(
            dump(&node, &options(2, FlowStyle::Leaves)),
            "['2001:db8::1', 'a,b', x]\n"
        );
    }

    #[test]
    fn block_writes_addresses_plain() {
        let node = Node::Sequence(vec![string("10.0.0.1:6443")]);
        assert_eq!(
            dump(&node, &options(4, FlowStyle::Never)),
            "- 10.0.0.1:6443\n"
        );
    }
}
