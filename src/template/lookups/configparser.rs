//! An INI reader with the rules of Python 3.11's `configparser.ConfigParser`, which the
//! `ini` lookup uses with its default settings: `=` and `:` as delimiters, `#` and `;`
//! starting whole-line comments, indented lines continuing a value (blank lines inside
//! it kept), a `DEFAULT` section whose options every section inherits, strict duplicate
//! checks, option names lowercased unless case-sensitive, and `%(name)s`
//! interpolation.

use indexmap::IndexMap;
use rplay_modules::pyrepr::str_repr;

use super::Raised;

const DEFAULT_SECTION: &str = "DEFAULT";
/// Python's `configparser.MAX_INTERPOLATION_DEPTH`.
const MAX_INTERPOLATION_DEPTH: usize = 10;
/// Python names a stream without a file name like this in its messages.
const SOURCE_NAME: &str = "<???>";

/// The options of one section. A value is kept as its lines, which are joined when it is
/// read; `None` is an option without a value (`allow_no_value`).
type Options = IndexMap<String, Option<Vec<String>>>;

/// The parser's settings for names and values, fixed when the parser is created.
pub struct Settings {
    pub case_sensitive: bool,
    pub allow_no_value: bool,
    pub interpolation: bool,
}

/// A failure to read the text.
pub enum ReadError {
    /// Python's `DuplicateOptionError`, with its message, which the `ini` lookup rewords.
    DuplicateOption(String),
    Other(Raised),
}

/// Python's `NoSectionError`, or an interpolation failure.
pub enum GetError {
    NoSection,
    Other(Raised),
}

pub struct ConfigParser {
    settings: Settings,
    defaults: Options,
    sections: IndexMap<String, Options>,
}

/// The section a line belongs to while the text is read.
#[derive(Clone)]
enum Section {
    Defaults,
    Named(String),
}

impl ConfigParser {
    pub fn new(settings: Settings) -> ConfigParser {
        ConfigParser {
            settings,
            defaults: Options::new(),
            sections: IndexMap::new(),
        }
    }

    /// Applies Python's `optionxform`.
    fn option_name(&self, name: &str) -> String {
        if self.settings.case_sensitive {
            name.to_owned()
        } else {
            name.to_lowercase()
        }
    }

    fn options_mut(&mut self, section: &Section) -> &mut Options {
        match section {
            Section::Defaults => &mut self.defaults,
            Section::Named(name) => self.sections.entry(name.clone()).or_default(),
        }
    }

    /// Reads `text` as `ConfigParser.read_file` does, adding to what earlier reads
    /// added. Lines that are not options are collected into one `ParsingError`.
    pub fn read(&mut self, text: &str) -> Result<(), ReadError> {
        // Sections and (section, option) pairs seen in this read, for the strict checks.
        let mut seen_sections: Vec<String> = Vec::new();
        let mut seen_options: Vec<(String, String)> = Vec::new();
        let mut section: Option<(Section, String)> = None;
        let mut option: Option<String> = None;
        let mut indent_level = 0;
        let mut bad_lines: Vec<String> = Vec::new();
        for (index, line) in text.split_inclusive('\n').enumerate() {
            let number = index + 1;
            let stripped = line.trim();
            let is_comment = stripped.starts_with('#') || stripped.starts_with(';');
            let value = if is_comment { "" } else { stripped };
            if value.is_empty() {
                if let (Some((current, _)), Some(name), false) = (&section, &option, is_comment) {
                    let current = current.clone();
                    if let Some(Some(lines)) = self.options_mut(&current).get_mut(name) {
                        lines.push(String::new());
                    }
                }
                continue;
            }
            let indent = line.chars().position(|c| !c.is_whitespace()).unwrap_or(0);
            let open_option = option.as_ref().filter(|name| !name.is_empty());
            if let (Some((current, _)), Some(name)) = (&section, open_option) {
                if indent > indent_level {
                    let current = current.clone();
                    match self.options_mut(&current).get_mut(name) {
                        Some(Some(lines)) => lines.push(value.to_owned()),
                        _ => {
                            return Err(ReadError::Other(Raised::Unhandled {
                                class: "AttributeError",
                                message: "'NoneType' object has no attribute 'append'".into(),
                            }))
                        }
                    }
                    continue;
                }
            }
            indent_level = indent;
            if let Some(header) = section_header(value) {
                if self.sections.contains_key(header) && seen_sections.iter().any(|s| s == header) {
                    return Err(ReadError::Other(Raised::Unhandled {
                        class: "configparser.DuplicateSectionError",
                        message: format!(
                            "While reading from {} [line {number:2}]: section {} already exists",
                            str_repr(SOURCE_NAME),
                            str_repr(header)
                        ),
                    }));
                }
                let current = if header == DEFAULT_SECTION && !self.sections.contains_key(header) {
                    Section::Defaults
                } else {
                    seen_sections.push(header.to_owned());
                    self.sections.entry(header.to_owned()).or_default();
                    Section::Named(header.to_owned())
                };
                section = Some((current, header.to_owned()));
                option = None;
                continue;
            }
            let Some((current, section_name)) = section.clone() else {
                return Err(ReadError::Other(Raised::Unhandled {
                    class: "configparser.MissingSectionHeaderError",
                    message: format!(
                        "File contains no section headers.\nfile: {}, line: {number}\n{}",
                        str_repr(SOURCE_NAME),
                        str_repr(line)
                    ),
                }));
            };
            let Some((name, parsed)) = split_option(value, self.settings.allow_no_value) else {
                bad_lines.push(format!("\n\t[line {number:2}]: {}", str_repr(line)));
                continue;
            };
            if name.is_empty() {
                bad_lines.push(format!("\n\t[line {number:2}]: {}", str_repr(line)));
            }
            let name = self.option_name(name.trim_end());
            let key = (section_name.clone(), name.clone());
            if seen_options.contains(&key) {
                return Err(ReadError::DuplicateOption(format!(
                    "While reading from {} [line {number:2}]: option {} in section {} already exists",
                    str_repr(SOURCE_NAME),
                    str_repr(&name),
                    str_repr(&section_name)
                )));
            }
            seen_options.push(key);
            let lines = parsed.map(|text| vec![text.trim().to_owned()]);
            self.options_mut(&current).insert(name.clone(), lines);
            option = Some(name);
        }
        if bad_lines.is_empty() {
            return Ok(());
        }
        Err(ReadError::Other(Raised::Unhandled {
            class: "configparser.ParsingError",
            message: format!(
                "Source contains parsing errors: {}{}",
                str_repr(SOURCE_NAME),
                bad_lines.concat()
            ),
        }))
    }

    /// Returns the value of `key` in `section` (or in `DEFAULT`), interpolated, as
    /// `ConfigParser.get`. `Ok(None)` is a missing option, `Ok(Some(None))` an option
    /// without a value.
    pub fn get(&self, section: &str, key: &str) -> Result<Option<Option<String>>, GetError> {
        let options = self.visible_options(section)?;
        let key = self.option_name(key);
        let Some(value) = options.get(&key) else {
            return Ok(None);
        };
        match value {
            None => Ok(Some(None)),
            Some(value) => self
                .interpolate(section, &key, value, &options)
                .map(|value| Some(Some(value)))
                .map_err(GetError::Other),
        }
    }

    /// Returns every option `section` inherits or sets, interpolated, as `ConfigParser.items`:
    /// those of `DEFAULT` first.
    pub fn items(&self, section: &str) -> Result<Vec<(String, Option<String>)>, GetError> {
        let options = self.visible_options(section)?;
        let mut items = Vec::new();
        for (name, value) in &options {
            let value = match value {
                None => None,
                Some(value) => Some(
                    self.interpolate(section, name, value, &options)
                        .map_err(GetError::Other)?,
                ),
            };
            items.push((name.clone(), value));
        }
        Ok(items)
    }

    /// Returns the options of `DEFAULT` overlaid with those of `section`, values joined.
    fn visible_options(&self, section: &str) -> Result<IndexMap<String, Option<String>>, GetError> {
        let own = match self.sections.get(section) {
            Some(own) => Some(own),
            None if section == DEFAULT_SECTION => None,
            None => return Err(GetError::NoSection),
        };
        let mut options: IndexMap<String, Option<String>> = IndexMap::new();
        for (name, lines) in self.defaults.iter().chain(own.into_iter().flatten()) {
            options.insert(name.clone(), lines.as_ref().map(|lines| join_lines(lines)));
        }
        Ok(options)
    }

    fn interpolate(
        &self,
        section: &str,
        option: &str,
        value: &str,
        options: &IndexMap<String, Option<String>>,
    ) -> Result<String, Raised> {
        if !self.settings.interpolation {
            return Ok(value.to_owned());
        }
        let raw = options
            .get(option)
            .cloned()
            .flatten()
            .unwrap_or_else(|| value.to_owned());
        let mut out = String::new();
        self.interpolate_some(section, option, &raw, value, options, 1, &mut out)?;
        Ok(out)
    }

    /// Python's `BasicInterpolation._interpolate_some`.
    #[allow(clippy::too_many_arguments)]
    fn interpolate_some(
        &self,
        section: &str,
        option: &str,
        raw: &str,
        mut rest: &str,
        options: &IndexMap<String, Option<String>>,
        depth: usize,
        out: &mut String,
    ) -> Result<(), Raised> {
        if depth > MAX_INTERPOLATION_DEPTH {
            return Err(Raised::Unhandled {
                class: "configparser.InterpolationDepthError",
                message: format!(
                    "Recursion limit exceeded in value substitution: option {} in section {} contains an interpolation key which cannot be substituted in {MAX_INTERPOLATION_DEPTH} steps. Raw value: {}",
                    str_repr(option),
                    str_repr(section),
                    str_repr(raw)
                ),
            });
        }
        while !rest.is_empty() {
            let Some(position) = rest.find('%') else {
                out.push_str(rest);
                return Ok(());
            };
            out.push_str(&rest[..position]);
            rest = &rest[position..];
            if let Some(after) = rest.strip_prefix("%%") {
                out.push('%');
                rest = after;
                continue;
            }
            if !rest.starts_with("%(") {
                return Err(syntax_error(format!(
                    "'%' must be followed by '%' or '(', found: {}",
                    str_repr(rest)
                )));
            }
            let reference = rest[2..]
                .find(')')
                .filter(|end| *end > 0 && rest[2 + end + 1..].starts_with('s'));
            let Some(end) = reference else {
                return Err(syntax_error(format!(
                    "bad interpolation variable reference {}",
                    str_repr(rest)
                )));
            };
            let name = self.option_name(&rest[2..2 + end]);
            rest = &rest[2 + end + 2..];
            let Some(Some(value)) = options.get(&name) else {
                return Err(Raised::Unhandled {
                    class: "configparser.InterpolationMissingOptionError",
                    message: format!(
                        "Bad value substitution: option {} in section {} contains an interpolation key {} which is not a valid option name. Raw value: {}",
                        str_repr(option),
                        str_repr(section),
                        str_repr(&name),
                        str_repr(raw)
                    ),
                });
            };
            if value.contains('%') {
                self.interpolate_some(section, option, raw, value, options, depth + 1, out)?;
            } else {
                out.push_str(value);
            }
        }
        Ok(())
    }
}

fn syntax_error(message: String) -> Raised {
    Raised::Unhandled {
        class: "configparser.InterpolationSyntaxError",
        message,
    }
}

/// Joins a value's lines as Python's `_join_multiline_values`.
fn join_lines(lines: &[String]) -> String {
    lines.join("\n").trim_end().to_owned()
}

/// Matches Python's `SECTCRE`: `[`, at least one character, and the last `]`.
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    (end > 0).then(|| &rest[..end])
}

/// Splits an option line as Python's `OPTCRE` (or `OPTCRE_NV` with `allow_no_value`):
/// the name up to the first `=` or `:`, and the value after it. Without a delimiter the
/// line is an option without a value when those are allowed, and invalid otherwise.
fn split_option(value: &str, allow_no_value: bool) -> Option<(&str, Option<&str>)> {
    match value.find(['=', ':']) {
        Some(position) => Some((
            value[..position].trim_end(),
            Some(value[position + 1..].trim_start()),
        )),
        None if allow_no_value => Some((value, None)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser(text: &str) -> ConfigParser {
        let mut parser = ConfigParser::new(Settings {
            case_sensitive: false,
            allow_no_value: false,
            interpolation: true,
        });
        assert!(parser.read(text).is_ok());
        parser
    }

    fn value(parser: &ConfigParser, section: &str, key: &str) -> Option<String> {
        match parser.get(section, key) {
            Ok(Some(value)) => value,
            _ => None,
        }
    }

    #[test]
    fn configparser_continuation_lines() {
        let parser = parser("[s]\nb = two\n  cont\n\n  more\n# c\nc: x\n");
        assert_eq!(
            value(&parser, "s", "b").as_deref(),
            Some("two\ncont\n\nmore")
        );
        assert_eq!(value(&parser, "s", "c").as_deref(), Some("x"));
    }

    #[test]
    fn configparser_defaults_and_interpolation() {
        let parser = parser("[s]\nA=1\nc=x%(a)s%%\n[DEFAULT]\nd=%(a)s\n");
        assert_eq!(value(&parser, "s", "c").as_deref(), Some("x1%"));
        assert_eq!(value(&parser, "s", "d").as_deref(), Some("1"));
        assert_eq!(value(&parser, "DEFAULT", "a"), None);
    }
}
