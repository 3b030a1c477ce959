//! Compiling templates, with Ansible's undefined semantics patched into the bytecode,
//! and the cache of compiled templates keyed by source text.
//!
//! Jinja2 as Ansible configures it lets attribute access on an undefined value chain
//! (`a.b.c | default(x)` works) and words each failure after the lookup that produced the
//! undefined value. minijinja's strict mode fails on the first such access instead, and
//! its undefined value carries no message. After compiling, each attribute lookup
//! (`GetAttr`) and item lookup (`GetItem`) instruction is therefore swapped one-for-one
//! for a call of a reserved method name, which minijinja routes to the environment's
//! unknown-method callback (see `methods.rs`). The arithmetic operators are swapped the
//! same way, so they follow Python's rules and errors (see `operators.rs`) and strings get
//! Python's `%` formatting. Each swap keeps the stack effect: the receiver and its
//! operand, if any, are popped and one value is pushed.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use minijinja::machinery::{
    tokenize, CompiledTemplate, Instruction, Instructions, TemplateConfig, Token,
};
use minijinja::syntax::SyntaxConfig;
use minijinja::AutoEscape;
use self_cell::self_cell;

use super::error::{TemplateError, TemplateErrorKind};
use super::keywords::repeated_keyword_message;
use super::mutable::{MAKE_MUTABLE, MUTATING_METHODS};
use super::operators::{ADD, DIVIDE, FLOOR_DIVIDE, MULTIPLY, NEGATE, POWER, SUBTRACT};

/// Method name standing in for `GetItem`; the receiver is the container.
pub const GET_ITEM: &str = "\u{0}getitem";
/// Method name standing in for the `%` operator.
pub const MODULO: &str = "\u{0}mod";
/// Prefix of the method names standing in for `GetAttr(name)`.
pub const GET_ATTR_PREFIX: char = '\u{1}';

/// Whitespace and delimiter settings a template is compiled with.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Syntax {
    pub trim_blocks: bool,
    pub lstrip_blocks: bool,
    pub keep_trailing_newline: bool,
    pub block: (String, String),
    pub variable: (String, String),
    pub comment: (String, String),
}

impl Default for Syntax {
    /// Ansible's environment: Jinja2's delimiters with `trim_blocks` on.
    fn default() -> Syntax {
        Syntax {
            trim_blocks: true,
            lstrip_blocks: false,
            keep_trailing_newline: false,
            block: ("{%".into(), "%}".into()),
            variable: ("{{".into(), "}}".into()),
            comment: ("{#".into(), "#}".into()),
        }
    }
}

impl Syntax {
    fn config(&self) -> Result<SyntaxConfig, TemplateError> {
        SyntaxConfig::builder()
            .block_delimiters(self.block.0.clone(), self.block.1.clone())
            .variable_delimiters(self.variable.0.clone(), self.variable.1.clone())
            .comment_delimiters(self.comment.0.clone(), self.comment.1.clone())
            .trim_blocks(self.trim_blocks)
            .lstrip_blocks(self.lstrip_blocks)
            .keep_trailing_newline(self.keep_trailing_newline)
            .build()
            .map_err(|err| TemplateError::new(TemplateErrorKind::Syntax, err.to_string()))
    }
}

self_cell!(
    struct CompiledCell {
        owner: Arc<str>,
        #[covariant]
        dependent: CompiledTemplate,
    }
);

/// A compiled and patched template, owning its source text.
pub struct Compiled {
    cell: CompiledCell,
    /// Whether the template calls a mutating method. Its variables are then handed out
    /// as mutable copies (see `mutable.rs`).
    pub mutates: bool,
}

impl Compiled {
    pub fn template(&self) -> &CompiledTemplate<'_> {
        self.cell.borrow_dependent()
    }

    pub fn size_hint(&self) -> usize {
        self.template().buffer_size_hint
    }
}

/// Compiles `source` and applies the Ansible rewrite. A template that calls a mutating
/// method is compiled again with its `{% set %}` values made mutable.
pub fn compile(source: Arc<str>, syntax: &Syntax) -> Result<Compiled, TemplateError> {
    let compiled = compile_tolerant(source, syntax)?;
    let compiled_source: &str = compiled.cell.borrow_owner();
    if let Some(message) = repeated_keyword_message(compiled_source, syntax.config()?) {
        return Err(TemplateError::new(TemplateErrorKind::Syntax, message));
    }
    if !compiled.mutates {
        return Ok(compiled);
    }
    let source: &str = compiled.cell.borrow_owner();
    let Some(wrapped) = wrap_set_values(source, syntax) else {
        return Ok(compiled);
    };
    let mut rewritten = compile_tolerant(wrapped.into(), syntax)?;
    rewritten.mutates = true;
    Ok(rewritten)
}

/// Compiles `source`, retrying once with bare `for` tuples parenthesised.
fn compile_tolerant(source: Arc<str>, syntax: &Syntax) -> Result<Compiled, TemplateError> {
    match compile_exact(source.clone(), syntax) {
        Ok(compiled) => Ok(compiled),
        // Jinja2 accepts a bare tuple as a `for` iterable (`{% for s in "a", "b" %}`),
        // and minijinja's grammar does not. After a syntax error, such lists are put in
        // parentheses and the template is compiled again.
        Err(err) => match parenthesize_for_tuples(&source) {
            Some(rewritten) => compile_exact(rewritten.into(), syntax).map_err(|_| err),
            None => Err(err),
        },
    }
}

/// Wraps the value of each `{% set NAME = VALUE %}` in a call of [`MAKE_MUTABLE`], found
/// with minijinja's own lexer; `None` when there is none or lexing fails.
fn wrap_set_values(source: &str, syntax: &Syntax) -> Option<String> {
    let config = syntax.config().ok()?;
    let mut insertions: Vec<(usize, &str)> = Vec::new();
    let mut previous: Option<Token<'_>> = None;
    let mut in_set = false;
    let mut wrapping = false;
    for token in tokenize(source, false, config) {
        let (token, span) = token.ok()?;
        match &token {
            Token::Ident("set") if matches!(previous, Some(Token::BlockStart)) => in_set = true,
            Token::Assign if in_set && !wrapping => {
                wrapping = true;
                insertions.push((span.end_offset as usize, "("));
            }
            Token::BlockEnd => {
                if wrapping {
                    insertions.push((span.start_offset as usize, ")"));
                }
                in_set = false;
                wrapping = false;
            }
            _ => {}
        }
        previous = Some(token);
    }
    if insertions.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(source.len() + insertions.len() * 20);
    let mut copied = 0;
    for (offset, text) in insertions {
        out.push_str(&source[copied..offset]);
        if text == "(" {
            out.push(' ');
            out.push_str(MAKE_MUTABLE);
        }
        out.push_str(text);
        copied = offset;
    }
    out.push_str(&source[copied..]);
    Some(out)
}

/// Wraps the iterable of each `{% for ... in A, B %}` whose top level holds a comma in
/// parentheses; `None` when no statement needs it.
fn parenthesize_for_tuples(source: &str) -> Option<String> {
    static FOR: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(\{%[-+]?\s*for\s+[\w\s,()]+?\s+in\s+)(.+?)(\s*[-+]?%\})")
            .expect("valid regex")
    });
    let mut changed = false;
    let rewritten = FOR.replace_all(source, |caps: &regex::Captures<'_>| {
        let iterable = &caps[2];
        if has_top_level_comma(iterable)
            && !iterable.contains(" if ")
            && !iterable.ends_with("recursive")
        {
            changed = true;
            format!("{}({}){}", &caps[1], iterable, &caps[3])
        } else {
            caps[0].to_string()
        }
    });
    changed.then(|| rewritten.into_owned())
}

/// Tells whether `text` contains a comma outside brackets and quotes.
fn has_top_level_comma(text: &str) -> bool {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

fn compile_exact(source: Arc<str>, syntax: &Syntax) -> Result<Compiled, TemplateError> {
    let config = TemplateConfig {
        syntax_config: syntax.config()?,
        default_auto_escape: Arc::new(|_: &str| AutoEscape::None),
    };
    let mut mutates = false;
    let cell = CompiledCell::try_new(source, |source| {
        let mut template = CompiledTemplate::new("<string>", source, &config)?;
        mutates = rewrite(&mut template.instructions);
        for block in template.blocks.values_mut() {
            mutates |= rewrite(block);
        }
        Ok::<_, minijinja::Error>(template)
    })
    .map_err(|err| {
        TemplateError::new(
            TemplateErrorKind::Syntax,
            err.detail().map_or_else(|| err.to_string(), str::to_owned),
        )
    })?;
    Ok(Compiled { cell, mutates })
}

/// Applies the rewrite; returns whether the instructions call a mutating method.
fn rewrite(instructions: &mut Instructions<'_>) -> bool {
    let mut mutates = false;
    let mut index = 0;
    while let Some(instruction) = instructions.get_mut(index) {
        if let Instruction::CallMethod(name, _) = instruction {
            mutates |= MUTATING_METHODS.contains(name);
        }
        let replacement = match instruction {
            Instruction::GetAttr(name) => Some(Instruction::CallMethod(attr_method(name), Some(1))),
            Instruction::GetItem => Some(Instruction::CallMethod(GET_ITEM, Some(2))),
            Instruction::Rem => Some(Instruction::CallMethod(MODULO, Some(2))),
            Instruction::Add => Some(Instruction::CallMethod(ADD, Some(2))),
            Instruction::Sub => Some(Instruction::CallMethod(SUBTRACT, Some(2))),
            Instruction::Mul => Some(Instruction::CallMethod(MULTIPLY, Some(2))),
            Instruction::Div => Some(Instruction::CallMethod(DIVIDE, Some(2))),
            Instruction::IntDiv => Some(Instruction::CallMethod(FLOOR_DIVIDE, Some(2))),
            Instruction::Pow => Some(Instruction::CallMethod(POWER, Some(2))),
            Instruction::Neg => Some(Instruction::CallMethod(NEGATE, Some(1))),
            _ => None,
        };
        if let Some(replacement) = replacement {
            *instruction = replacement;
        }
        index += 1;
    }
    mutates
}

/// Interns the reserved method name for an attribute. Attribute names come from
/// template source, so the set stays as small as the identifiers the playbooks use.
fn attr_method(name: &str) -> &'static str {
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    let names = names.get_or_insert_with(HashSet::new);
    let key = format!("{GET_ATTR_PREFIX}{name}");
    if let Some(existing) = names.get(key.as_str()) {
        return existing;
    }
    let leaked: &'static str = Box::leak(key.into_boxed_str());
    names.insert(leaked);
    leaked
}

/// Compiled templates by syntax and source text, shared by all clones of a `Templar`.
#[derive(Default)]
pub struct TemplateCache {
    entries: RwLock<HashMap<Syntax, BySource>>,
}

type BySource = HashMap<Arc<str>, Arc<Compiled>>;

impl TemplateCache {
    /// Returns the compiled template for `source`, compiling it on first use.
    pub fn get(&self, source: &str, syntax: &Syntax) -> Result<Arc<Compiled>, TemplateError> {
        {
            let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(found) = entries.get(syntax).and_then(|by_text| by_text.get(source)) {
                return Ok(found.clone());
            }
        }
        let source: Arc<str> = Arc::from(source);
        let compiled = Arc::new(compile(source.clone(), syntax)?);
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        entries
            .entry(syntax.clone())
            .or_default()
            .insert(source, compiled.clone());
        Ok(compiled)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn bare_tuple_in_for_is_parenthesized() {
        let rewritten = super::parenthesize_for_tuples(
            "{% for scope in \"kube\", \"system\" %}{{ scope }}{% endfor %}",
        );
        assert_eq!(
            rewritten.as_deref(),
            Some("{% for scope in (\"kube\", \"system\") %}{{ scope }}{% endfor %}")
        );
        assert_eq!(
            super::parenthesize_for_tuples("{% for x in [1, 2] %}{% endfor %}"),
            None
        );
        assert_eq!(
            super::parenthesize_for_tuples("{% for k, v in d.items() %}{% endfor %}"),
            None
        );
    }

    use super::*;

    fn instructions(source: &str) -> Vec<String> {
        let compiled = compile(Arc::from(source), &Syntax::default()).expect("compiles");
        let template = compiled.template();
        let mut names = Vec::new();
        let mut index = 0;
        while let Some(instruction) = template.instructions.get(index) {
            names.push(format!("{instruction:?}"));
            index += 1;
        }
        names
    }

    /// The rewrite relies on minijinja's `CallMethod(name, Some(n))` taking the
    /// receiver plus operands from the stack, as `GetAttr`, `GetItem`, `Rem` and the
    /// other operators do. Re-check after every minijinja upgrade.
    #[test]
    fn rewrite_removes_operators() {
        let names = instructions("{{ -a + b - c * d / e // f ** g }}");
        for operator in ["Add", "Sub", "Mul", "Div", "IntDiv", "Pow", "Neg"] {
            assert!(names.iter().all(|n| n != operator), "{operator}: {names:?}");
        }
        let calls = names.iter().filter(|n| n.starts_with("CallMethod"));
        assert_eq!(calls.count(), 7, "{names:?}");
    }

    #[test]
    fn rewrite_removes_lookups() {
        let names = instructions("{{ a.b[c] % 2 }}{% for x in y.z %}{{ x['k'] }}{% endfor %}");
        assert!(names.iter().all(|n| !n.starts_with("GetAttr")), "{names:?}");
        assert!(names.iter().all(|n| !n.starts_with("GetItem")), "{names:?}");
        assert!(names.iter().all(|n| n != "Rem"), "{names:?}");
        let calls: Vec<&String> = names
            .iter()
            .filter(|n| n.starts_with("CallMethod"))
            .collect();
        assert_eq!(calls.len(), 5, "{names:?}");
    }

    #[test]
    fn attribute_method_names_are_interned() {
        assert!(std::ptr::eq(attr_method("kube"), attr_method("kube")));
        assert!(attr_method("kube").starts_with(GET_ATTR_PREFIX));
    }
}
