//! Module argument specs, validated as ansible-core 2.18's `AnsibleModule` validates them:
//! aliases, unsupported parameters, mutually exclusive sets, defaults, required options,
//! type conversion, choices and the cross-option checks, with its exact messages. Only
//! the first error is reported, as `AnsibleModule` reports it.

use crate::{Map, Value};

/// Placeholder ansible-core prints for the value of a `no_log` option.
pub const NO_LOG_PLACEHOLDER: &str = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER";

/// Type of an option, and of the elements of a list option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    /// Python's `bool`, from Ansible's boolean strings and `0`/`1`.
    Bool,
    Int,
    Float,
    /// A string with `$VAR` and `~` expanded.
    Path,
    /// A list; a string is split at commas.
    List(Elements),
    /// A mapping; a string is read as JSON or as `k=v` pairs.
    Dict,
    /// Any value, unconverted.
    Raw,
}

/// Type of a list option's elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elements {
    Any,
    Str,
    Int,
    Path,
    Dict,
}

/// An option's default, in a form a `const` spec can hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Default {
    None,
    Bool(bool),
    Int(i64),
    Str(&'static str),
    EmptyList,
    StrList(&'static [&'static str]),
    EmptyMap,
}

impl Default {
    pub fn value(self) -> Value {
        match self {
            Default::None => Value::Null,
            Default::Bool(flag) => Value::Bool(flag),
            Default::Int(number) => Value::Int(number),
            Default::Str(text) => Value::from(text),
            Default::EmptyList => Value::list(Vec::new()),
            Default::EmptyMap => Value::empty_map(),
            Default::StrList(items) => {
                Value::list(items.iter().map(|item| Value::from(*item)).collect())
            }
        }
    }
}

/// One option of a module's argument spec.
#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    pub name: &'static str,
    pub kind: Kind,
    pub default: Default,
    pub aliases: &'static [&'static str],
    pub choices: &'static [&'static str],
    pub required: bool,
    /// The value is replaced by [`NO_LOG_PLACEHOLDER`] in `invocation`.
    pub no_log: bool,
}

impl OptionSpec {
    pub const fn new(name: &'static str, kind: Kind) -> OptionSpec {
        OptionSpec {
            name,
            kind,
            default: Default::None,
            aliases: &[],
            choices: &[],
            required: false,
            no_log: false,
        }
    }

    pub const fn default(mut self, default: Default) -> OptionSpec {
        self.default = default;
        self
    }

    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> OptionSpec {
        self.aliases = aliases;
        self
    }

    pub const fn choices(mut self, choices: &'static [&'static str]) -> OptionSpec {
        self.choices = choices;
        self
    }

    pub const fn required(mut self) -> OptionSpec {
        self.required = true;
        self
    }

    pub const fn no_log(mut self) -> OptionSpec {
        self.no_log = true;
        self
    }
}

/// `required_if`: when `key` equals `value`, the options in `requirements` must be set
/// (all of them, or at least one when `any`).
#[derive(Debug, Clone, Copy)]
pub struct RequiredIf {
    pub key: &'static str,
    pub value: &'static str,
    pub requirements: &'static [&'static str],
    pub any: bool,
}

/// A module's argument spec with its module-level checks.
#[derive(Debug, Clone, Copy)]
pub struct ModuleSpec {
    pub module: &'static str,
    pub options: &'static [OptionSpec],
    /// `add_file_common_args`: the options of [`FILE_COMMON_OPTIONS`] not in `options`
    /// follow them.
    pub file_common: bool,
    pub mutually_exclusive: &'static [&'static [&'static str]],
    pub required_together: &'static [&'static [&'static str]],
    pub required_one_of: &'static [&'static [&'static str]],
    pub required_if: &'static [RequiredIf],
    /// `required_by`: when the key is set (not None), these options must be set too.
    pub required_by: &'static [(&'static str, &'static [&'static str])],
}

impl ModuleSpec {
    pub const fn new(module: &'static str, options: &'static [OptionSpec]) -> ModuleSpec {
        ModuleSpec {
            module,
            options,
            file_common: false,
            mutually_exclusive: &[],
            required_together: &[],
            required_one_of: &[],
            required_if: &[],
            required_by: &[],
        }
    }

    pub const fn file_common(mut self) -> ModuleSpec {
        self.file_common = true;
        self
    }

    pub const fn mutually_exclusive(mut self, sets: &'static [&'static [&'static str]]) -> Self {
        self.mutually_exclusive = sets;
        self
    }

    pub const fn required_together(mut self, sets: &'static [&'static [&'static str]]) -> Self {
        self.required_together = sets;
        self
    }

    pub const fn required_one_of(mut self, sets: &'static [&'static [&'static str]]) -> Self {
        self.required_one_of = sets;
        self
    }

    pub const fn required_if(mut self, rules: &'static [RequiredIf]) -> Self {
        self.required_if = rules;
        self
    }

    pub const fn required_by(
        mut self,
        rules: &'static [(&'static str, &'static [&'static str])],
    ) -> Self {
        self.required_by = rules;
        self
    }

    /// Returns every option, with the file options appended for `file_common` specs.
    pub fn all_options(&self) -> Vec<&'static OptionSpec> {
        let mut options: Vec<&'static OptionSpec> = self.options.iter().collect();
        if self.file_common {
            for common in FILE_COMMON_OPTIONS {
                if !self.options.iter().any(|option| option.name == common.name) {
                    options.push(common);
                }
            }
        }
        options
    }

    /// Validates `args` and returns the parameters the module runs with, or the first
    /// error message as `AnsibleModule` reports it.
    pub fn validate(&self, args: &Map) -> Result<Params, String> {
        self.validate_as(self.module, args)
    }

    /// [`ModuleSpec::validate`], naming the module `module` in messages (ansible-core
    /// names it as the task wrote the action).
    pub fn validate_as(&self, module: &str, args: &Map) -> Result<Params, String> {
        let options = self.all_options();
        let (internal, mut params): (Map, Map) = args
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .partition(|(key, _)| key.as_str().is_some_and(|key| key.starts_with("_ansible_")));
        let given = params.clone();
        apply_aliases(&options, &mut params);
        check_unsupported(module, &options, &params)?;
        check_mutually_exclusive(self.mutually_exclusive, &params)?;
        set_defaults(&options, &mut params, false);
        check_required(&options, &params)?;
        convert_types(&options, &mut params)?;
        check_choices(&options, &params)?;
        check_required_together(self.required_together, &params)?;
        check_required_one_of(self.required_one_of, &params)?;
        check_required_if(self.required_if, &params)?;
        check_required_by(self.required_by, &params)?;
        set_defaults(&options, &mut params, true);
        let no_log_values = options
            .iter()
            .filter(|option| option.no_log)
            .filter_map(|option| params.get(option.name))
            .filter(|value| value.is_truthy())
            .map(crate::pyrepr::str)
            .collect();
        Ok(Params {
            values: params,
            given,
            internal,
            no_log_values,
        })
    }
}

/// Options `add_file_common_args` adds, in ansible-core's order.
pub const FILE_COMMON_OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("mode", Kind::Raw),
    OptionSpec::new("owner", Kind::Str),
    OptionSpec::new("group", Kind::Str),
    OptionSpec::new("seuser", Kind::Str),
    OptionSpec::new("serole", Kind::Str),
    OptionSpec::new("selevel", Kind::Str),
    OptionSpec::new("setype", Kind::Str),
    OptionSpec::new("attributes", Kind::Str).aliases(&["attr"]),
    OptionSpec::new("unsafe_writes", Kind::Bool).default(Default::Bool(false)),
];

/// Validated parameters: every option of the spec, converted to its type, plus any alias
/// keys given (ansible-core keeps both in `invocation.module_args`).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub values: Map,
    /// The arguments as the task gave them, before aliases, conversion and defaults.
    pub given: Map,
    /// The `_ansible_*` keys: settings of the run and data rplay's action side sends
    /// (a controller file's bytes for `copy`), never shown in `invocation`.
    pub internal: Map,
    /// Texts of the `no_log` options' values, hidden wherever they appear in the result.
    pub no_log_values: Vec<String>,
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name).filter(|value| !value.is_null())
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name).map(crate::pyrepr::str)
    }

    /// A bool option's value; `false` when it is unset (None).
    pub fn flag(&self, name: &str) -> bool {
        self.get(name).and_then(Value::as_bool).unwrap_or(false)
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_i64)
    }

    /// A list option's items as text.
    pub fn strings(&self, name: &str) -> Vec<String> {
        self.get(name)
            .and_then(Value::as_list)
            .map(|items| items.iter().map(crate::pyrepr::str).collect())
            .unwrap_or_default()
    }

    /// Returns the parameters as `invocation.module_args` shows them, with `no_log`
    /// values hidden.
    pub fn module_args(&self, spec: &ModuleSpec) -> Map {
        let mut args = self.values.clone();
        for option in spec.all_options() {
            if !option.no_log {
                continue;
            }
            if let Some(value) = args.get_mut(option.name) {
                if !value.is_null() {
                    *value = Value::from(NO_LOG_PLACEHOLDER);
                }
            }
        }
        args
    }

    /// Hides the `no_log` values in `result` as ansible-core's `remove_values` does: a
    /// string equal to one becomes [`NO_LOG_PLACEHOLDER`], one containing it gets
    /// `********` in its place.
    pub fn hide_no_log_values(&self, result: Value) -> Value {
        if self.no_log_values.is_empty() {
            return result;
        }
        hide_values(result, &self.no_log_values)
    }

    /// Hides the `no_log` values in the keys of `result` and of the mappings it
    /// contains, as ansible-core's `sanitize_keys` does. Keys in `ignore_keys` and keys
    /// starting with `_ansible` stay as they are.
    pub fn sanitize_keys(&self, result: Map, ignore_keys: &[&str]) -> Map {
        sanitize_map_keys(&result, &self.no_log_values, ignore_keys)
    }
}

fn sanitize_map_keys(map: &Map, secrets: &[String], ignore_keys: &[&str]) -> Map {
    map.iter()
        .map(|(key, value)| {
            let keep = key
                .as_str()
                .is_none_or(|name| ignore_keys.contains(&name) || name.starts_with("_ansible"));
            let key = if keep {
                key.clone()
            } else {
                hide_values(key.clone(), secrets)
            };
            (key, sanitize_value_keys(value, secrets, ignore_keys))
        })
        .collect()
}

fn sanitize_value_keys(value: &Value, secrets: &[String], ignore_keys: &[&str]) -> Value {
    match value {
        Value::Map(map) => Value::map(sanitize_map_keys(map, secrets, ignore_keys)),
        Value::List(items) => Value::list(
            items
                .iter()
                .map(|item| sanitize_value_keys(item, secrets, ignore_keys))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn hide_values(value: Value, secrets: &[String]) -> Value {
    match value {
        Value::Str(_) | Value::Unsafe(_) => {
            let text = value.as_str().unwrap_or_default();
            if secrets.iter().any(|secret| secret == text) {
                return Value::from(NO_LOG_PLACEHOLDER);
            }
            let mut text = text.to_string();
            for secret in secrets {
                text = text.replace(secret.as_str(), "********");
            }
            Value::from(text)
        }
        Value::List(items) => Value::list(
            items
                .iter()
                .map(|item| hide_values(item.clone(), secrets))
                .collect(),
        ),
        Value::Map(map) => Value::map(
            map.iter()
                .map(|(key, item)| (key.clone(), hide_values(item.clone(), secrets)))
                .collect(),
        ),
        other => other,
    }
}

/// Copies each alias's value to its option, as ansible-core does; the alias key stays.
fn apply_aliases(options: &[&OptionSpec], params: &mut Map) {
    for option in options {
        for alias in option.aliases {
            if let Some(value) = params.get(*alias).cloned() {
                params.insert(Value::from(option.name), value);
            }
        }
    }
}

fn check_unsupported(module: &str, options: &[&OptionSpec], params: &Map) -> Result<(), String> {
    let legal = |key: &str| {
        options
            .iter()
            .any(|option| option.name == key || option.aliases.contains(&key))
    };
    let mut unsupported: Vec<String> = params
        .keys()
        .map(crate::pyrepr::str)
        .filter(|key| !legal(key))
        .collect();
    if unsupported.is_empty() {
        return Ok(());
    }
    unsupported.sort();
    let mut names: Vec<&str> = options.iter().map(|option| option.name).collect();
    names.sort_unstable();
    let mut aliases: Vec<&str> = options
        .iter()
        .flat_map(|option| option.aliases.iter().copied())
        .collect();
    aliases.sort_unstable();
    let mut supported = names.join(", ");
    if !aliases.is_empty() {
        supported.push_str(&format!(" ({})", aliases.join(", ")));
    }
    Err(format!(
        "Unsupported parameters for ({module}) module: {}. Supported parameters include: {supported}.",
        unsupported.join(", ")
    ))
}

fn count_present(terms: &[&str], params: &Map) -> usize {
    terms
        .iter()
        .filter(|term| params.contains_key(**term))
        .count()
}

fn check_mutually_exclusive(sets: &[&[&str]], params: &Map) -> Result<(), String> {
    let violated: Vec<String> = sets
        .iter()
        .filter(|set| count_present(set, params) > 1)
        .map(|set| set.join("|"))
        .collect();
    if violated.is_empty() {
        return Ok(());
    }
    Err(format!(
        "parameters are mutually exclusive: {}",
        violated.join(", ")
    ))
}

/// Adds the defaults of absent options: with `all` false only those that are not None.
fn set_defaults(options: &[&OptionSpec], params: &mut Map, all: bool) {
    for option in options {
        if params.contains_key(option.name) {
            continue;
        }
        if all || option.default != Default::None {
            params.insert(Value::from(option.name), option.default.value());
        }
    }
}

fn check_required(options: &[&OptionSpec], params: &Map) -> Result<(), String> {
    let mut missing: Vec<&str> = options
        .iter()
        .filter(|option| option.required && !params.contains_key(option.name))
        .map(|option| option.name)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    missing.sort_unstable();
    Err(format!(
        "missing required arguments: {}",
        missing.join(", ")
    ))
}

fn convert_types(options: &[&OptionSpec], params: &mut Map) -> Result<(), String> {
    for option in options {
        let Some(value) = params.get(option.name) else {
            continue;
        };
        if value.is_null() && !option.required && option.default == Default::None {
            continue;
        }
        let converted = convert(option.kind, value).map_err(|reason| {
            format!(
                "argument '{}' is of type {} and we were unable to convert to {}: {reason}",
                option.name,
                python_type(value),
                kind_name(option.kind)
            )
        })?;
        let converted = match (option.kind, &converted) {
            (Kind::List(elements), Value::List(items)) if elements != Elements::Any => {
                Value::list(convert_elements(option.name, elements, items)?)
            }
            _ => converted,
        };
        params.insert(Value::from(option.name), converted);
    }
    Ok(())
}

fn convert_elements(name: &str, elements: Elements, items: &[Value]) -> Result<Vec<Value>, String> {
    let kind = match elements {
        Elements::Any => Kind::Raw,
        Elements::Str => Kind::Str,
        Elements::Int => Kind::Int,
        Elements::Path => Kind::Path,
        Elements::Dict => Kind::Dict,
    };
    items
        .iter()
        .map(|item| {
            convert(kind, item).map_err(|reason| {
                format!(
                    "Elements value for option '{name}' is of type {} and we were unable to convert to {}: {reason}",
                    python_type(item),
                    kind_name(kind)
                )
            })
        })
        .collect()
}

/// Converts `value` to `kind`, or returns the reason ansible-core's type checker gives.
pub fn convert(kind: Kind, value: &Value) -> Result<Value, String> {
    match kind {
        Kind::Raw => Ok(value.clone()),
        Kind::Str => Ok(to_str(value)),
        Kind::Path => Ok(Value::from(expand_path(&crate::pyrepr::str(value)))),
        Kind::Bool => to_bool(value).map(Value::Bool),
        Kind::Int => to_int(value),
        Kind::Float => to_float(value),
        Kind::List(_) => to_list(value),
        Kind::Dict => to_dict(value),
    }
}

fn to_str(value: &Value) -> Value {
    match value {
        Value::Str(_) | Value::Unsafe(_) => value.clone(),
        other => Value::from(crate::pyrepr::str(other)),
    }
}

/// Ansible's boolean values as one run of ansible-core 2.18 printed them.
///
/// NOTE: ansible-core prints a Python set here, whose order changes with the hash seed.
const BOOLEANS_TEXT: &str =
    "0, 1, 'no', 'on', 'false', 'y', 't', 'n', 'off', '0', 'f', '1', 'yes', 'true'";

/// Reads a boolean as Ansible's `boolean(value, strict=True)`.
pub fn to_bool(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(flag) => Ok(*flag),
        Value::Int(1) => Ok(true),
        Value::Int(0) => Ok(false),
        Value::Float(number) if *number == 1.0 => Ok(true),
        Value::Float(number) if *number == 0.0 => Ok(false),
        Value::Str(_) | Value::Unsafe(_) => {
            let text = value.as_str().unwrap_or_default();
            match text.trim().to_lowercase().as_str() {
                "y" | "yes" | "on" | "1" | "true" | "t" => Ok(true),
                "n" | "no" | "off" | "0" | "false" | "f" => Ok(false),
                _ => Err(format!(
                    "The value '{text}' is not a valid boolean.  Valid booleans include: {BOOLEANS_TEXT}"
                )),
            }
        }
        Value::Int(_) | Value::Float(_) => Err(format!(
            "The value '{}' is not a valid boolean.  Valid booleans include: {BOOLEANS_TEXT}",
            crate::pyrepr::str(value)
        )),
        other => Err(format!(
            "{} cannot be converted to a bool",
            python_type(other)
        )),
    }
}

fn to_int(value: &Value) -> Result<Value, String> {
    match value {
        Value::Int(_) | Value::Bool(_) => return Ok(value.clone()),
        Value::Float(number) if number.fract() == 0.0 && number.is_finite() => {
            return Ok(Value::Int(*number as i64))
        }
        Value::Str(_) | Value::Unsafe(_) => {
            let text = value.as_str().unwrap_or_default().trim();
            if let Ok(number) = text.replace('_', "").parse::<i64>() {
                if !text.starts_with('_') && !text.ends_with('_') {
                    return Ok(Value::Int(number));
                }
            }
            if let Ok(number) = text.parse::<f64>() {
                if number.fract() == 0.0 && number.is_finite() && !text.contains("inf") {
                    return Ok(Value::Int(number as i64));
                }
            }
        }
        _ => {}
    }
    Err(format!(
        "\"{}\" cannot be converted to an int",
        crate::pyrepr::repr(value)
    ))
}

fn to_float(value: &Value) -> Result<Value, String> {
    let number = match value {
        Value::Float(number) => Some(*number),
        Value::Int(number) => Some(*number as f64),
        Value::Bool(flag) => Some(f64::from(u8::from(*flag))),
        Value::Str(_) | Value::Unsafe(_) => value.as_str().unwrap_or_default().trim().parse().ok(),
        _ => None,
    };
    number
        .map(Value::Float)
        .ok_or_else(|| format!("{} cannot be converted to a float", python_type(value)))
}

fn to_list(value: &Value) -> Result<Value, String> {
    match value {
        Value::List(_) => Ok(value.clone()),
        Value::Str(_) | Value::Unsafe(_) => Ok(Value::list(
            value
                .as_str()
                .unwrap_or_default()
                .split(',')
                .map(Value::from)
                .collect(),
        )),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
            Ok(Value::list(vec![Value::from(crate::pyrepr::str(value))]))
        }
        other => Err(format!(
            "{} cannot be converted to a list",
            python_type(other)
        )),
    }
}

fn to_dict(value: &Value) -> Result<Value, String> {
    let text = match value {
        Value::Map(_) => return Ok(value.clone()),
        Value::Str(_) | Value::Unsafe(_) => value.as_str().unwrap_or_default(),
        other => {
            return Err(format!(
                "{} cannot be converted to a dict",
                python_type(other)
            ))
        }
    };
    if text.starts_with('{') {
        // NOTE: ansible-core also tries Python's literal_eval here; rplay reads JSON only.
        return serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .map(Value::from)
            .filter(|parsed| parsed.as_map().is_some())
            .ok_or_else(|| "unable to evaluate string as dictionary".to_string());
    }
    if !text.contains('=') {
        return Err("dictionary requested, could not parse JSON or key=value".into());
    }
    let mut map = Map::new();
    for field in split_key_value_fields(text.trim()) {
        let Some((key, item)) = field.split_once('=') else {
            return Err(
                "unable to evaluate string in the \"key=value\" format as dictionary".into(),
            );
        };
        map.insert(Value::from(key), Value::from(item));
    }
    Ok(Value::map(map))
}

/// Splits `k1=v1, k2='v 2'` at unquoted commas and spaces, dropping quotes and escapes.
fn split_key_value_fields(text: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            field.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if quote.is_none() && (c == '\'' || c == '"') {
            quote = Some(c);
        } else if quote == Some(c) {
            quote = None;
        } else if quote.is_none() && (c == ',' || c == ' ') {
            if !field.is_empty() {
                fields.push(std::mem::take(&mut field));
            }
        } else {
            field.push(c);
        }
    }
    if !field.is_empty() {
        fields.push(field);
    }
    fields
}

/// Expands `$VAR`, `${VAR}` and a leading `~` or `~user`, as Python's
/// `os.path.expanduser(os.path.expandvars(path))`.
pub fn expand_path(path: &str) -> String {
    crate::ospath::expanduser(&crate::ospath::expandvars(path))
}

fn check_choices(options: &[&OptionSpec], params: &Map) -> Result<(), String> {
    for option in options {
        if option.choices.is_empty() {
            continue;
        }
        let Some(value) = params.get(option.name) else {
            continue;
        };
        let allowed = |item: &Value| {
            option
                .choices
                .iter()
                .any(|choice| *item == Value::from(*choice))
        };
        if let Some(items) = value.as_list() {
            let unmatched: Vec<String> = items
                .iter()
                .filter(|item| !allowed(item))
                .map(crate::pyrepr::str)
                .collect();
            if !unmatched.is_empty() {
                return Err(format!(
                    "value of {} must be one or more of: {}. Got no match for: {}",
                    option.name,
                    option.choices.join(", "),
                    unmatched.join(", ")
                ));
            }
        } else if !allowed(value) {
            return Err(format!(
                "value of {} must be one of: {}, got: {}",
                option.name,
                option.choices.join(", "),
                crate::pyrepr::str(value)
            ));
        }
    }
    Ok(())
}

fn check_required_together(sets: &[&[&str]], params: &Map) -> Result<(), String> {
    for set in sets {
        let present = count_present(set, params);
        if present > 0 && present < set.len() {
            return Err(format!(
                "parameters are required together: {}",
                set.join(", ")
            ));
        }
    }
    Ok(())
}

fn check_required_one_of(sets: &[&[&str]], params: &Map) -> Result<(), String> {
    for set in sets {
        if count_present(set, params) == 0 {
            return Err(format!(
                "one of the following is required: {}",
                set.join(", ")
            ));
        }
    }
    Ok(())
}

fn check_required_if(rules: &[RequiredIf], params: &Map) -> Result<(), String> {
    for rule in rules {
        let Some(value) = params.get(rule.key) else {
            continue;
        };
        // A rule on a bool option names its value as Python prints it (`True`).
        if *value != Value::from(rule.value) && crate::pyrepr::str(value) != rule.value {
            continue;
        }
        let missing: Vec<&str> = rule
            .requirements
            .iter()
            .filter(|name| !params.contains_key(**name))
            .copied()
            .collect();
        let enough_missing = if rule.any {
            missing.len() >= rule.requirements.len()
        } else {
            !missing.is_empty()
        };
        if !missing.is_empty() && enough_missing {
            return Err(format!(
                "{} is {} but {} of the following are missing: {}",
                rule.key,
                rule.value,
                if rule.any { "any" } else { "all" },
                missing.join(", ")
            ));
        }
    }
    Ok(())
}

fn check_required_by(rules: &[(&str, &[&str])], params: &Map) -> Result<(), String> {
    let is_set = |name: &str| params.get(name).is_some_and(|value| !value.is_null());
    for (key, required) in rules {
        if !is_set(key) {
            continue;
        }
        let missing: Vec<&str> = required
            .iter()
            .filter(|name| !is_set(name))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "missing parameter(s) required by '{key}': {}",
                missing.join(", ")
            ));
        }
    }
    Ok(())
}

/// Python's `type(value)` as printed: `<class 'str'>`.
fn python_type(value: &Value) -> String {
    let name = match value {
        Value::Str(_) | Value::Unsafe(_) => "str",
        other => other.type_name(),
    };
    format!("<class '{name}'>")
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Str => "str",
        Kind::Bool => "bool",
        Kind::Int => "int",
        Kind::Float => "float",
        Kind::Path => "path",
        Kind::List(_) => "list",
        Kind::Dict => "dict",
        Kind::Raw => "raw",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: &[&str] = &["absent", "present"];
    const SPEC: ModuleSpec = ModuleSpec::new(
        "demo",
        &[
            OptionSpec::new("path", Kind::Path)
                .required()
                .aliases(&["dest"]),
            OptionSpec::new("state", Kind::Str)
                .default(Default::Str("present"))
                .choices(STATES),
            OptionSpec::new("count", Kind::Int),
            OptionSpec::new("force", Kind::Bool).default(Default::Bool(false)),
            OptionSpec::new("names", Kind::List(Elements::Str)),
            OptionSpec::new("secret", Kind::Str).no_log(),
            OptionSpec::new("before", Kind::Str),
            OptionSpec::new("after", Kind::Str),
        ],
    )
    .mutually_exclusive(&[&["before", "after"]])
    .required_if(&[RequiredIf {
        key: "state",
        value: "absent",
        requirements: &["count"],
        any: false,
    }]);

    fn args(pairs: &[(&str, Value)]) -> Map {
        pairs
            .iter()
            .map(|(key, value)| (Value::from(*key), value.clone()))
            .collect()
    }

    fn error(pairs: &[(&str, Value)]) -> String {
        SPEC.validate(&args(pairs)).unwrap_err()
    }

    #[test]
    fn unsupported_lists_names_and_aliases() {
        assert_eq!(
            error(&[("path", Value::from("/x")), ("bogus", Value::Int(1))]),
            "Unsupported parameters for (demo) module: bogus. Supported parameters include: after, before, count, force, names, path, secret, state (dest)."
        );
    }

    #[test]
    fn required_and_choices_messages() {
        assert_eq!(error(&[]), "missing required arguments: path");
        assert_eq!(
            error(&[("path", Value::from("/x")), ("state", Value::from("gone"))]),
            "value of state must be one of: absent, present, got: gone"
        );
        assert_eq!(
            error(&[
                ("path", Value::from("/x")),
                ("before", Value::from("a")),
                ("after", Value::from("b"))
            ]),
            "parameters are mutually exclusive: before|after"
        );
        assert_eq!(
            error(&[
                ("path", Value::from("/x")),
                ("state", Value::from("absent"))
            ]),
            "state is absent but all of the following are missing: count"
        );
    }

    #[test]
    fn type_conversion_messages() {
        assert_eq!(
            error(&[("path", Value::from("/x")), ("count", Value::from("abc"))]),
            "argument 'count' is of type <class 'str'> and we were unable to convert to int: \"'abc'\" cannot be converted to an int"
        );
        assert!(error(&[("path", Value::from("/x")), ("force", Value::from("maybe"))])
            .starts_with("argument 'force' is of type <class 'str'> and we were unable to convert to bool: The value 'maybe' is not a valid boolean."));
    }

    #[test]
    fn params_in_module_args_order() {
        let params = SPEC
            .validate(&args(&[
                ("dest", Value::from("/x")),
                ("force", Value::from("yes")),
                ("count", Value::from("3")),
                ("names", Value::from("a,b")),
                ("secret", Value::from("hunter2")),
            ]))
            .unwrap();
        let keys: Vec<String> = params.values.keys().map(crate::pyrepr::str).collect();
        assert_eq!(
            keys,
            ["dest", "force", "count", "names", "secret", "path", "state", "before", "after"]
        );
        assert_eq!(params.get("force"), Some(&Value::Bool(true)));
        assert_eq!(params.get("count"), Some(&Value::Int(3)));
        assert_eq!(params.strings("names"), ["a", "b"]);
        let shown = params.module_args(&SPEC);
        assert_eq!(shown.get("secret"), Some(&Value::from(NO_LOG_PLACEHOLDER)));
        let hidden = params.hide_no_log_values(Value::from("pw hunter2!"));
        assert_eq!(hidden, Value::from("pw ********!"));
    }

    #[test]
    fn booleans_and_lists_convert() {
        assert_eq!(to_bool(&Value::from(" Off ")), Ok(false));
        assert_eq!(to_bool(&Value::Int(1)), Ok(true));
        assert!(to_bool(&Value::list(Vec::new())).is_err());
        assert_eq!(
            to_list(&Value::Int(5)).unwrap(),
            Value::list(vec![Value::from("5")])
        );
        assert_eq!(to_int(&Value::from("1.0")).unwrap(), Value::Int(1));
        assert!(to_int(&Value::from("1.5")).is_err());
    }

    #[test]
    fn dict_from_key_value_text() {
        let dict = to_dict(&Value::from("a=1, b='x y'")).unwrap();
        assert_eq!(dict.get("a"), Some(&Value::from("1")));
        assert_eq!(dict.get("b"), Some(&Value::from("x y")));
    }
}
