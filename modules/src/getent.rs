//! The `getent` module: runs `getent DATABASE [KEY] [-s SERVICE]` and returns the
//! entries as `getent_DATABASE` facts, split as ansible-core 2.18's module splits them.

use crate::dispatch::ModuleOptions;
use crate::files::Failure;
use crate::spec::{Default, Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "getent",
    &[
        OptionSpec::new("database", Kind::Str).required(),
        OptionSpec::new("key", Kind::Str),
        OptionSpec::new("service", Kind::Str),
        OptionSpec::new("split", Kind::Str),
        OptionSpec::new("fail_key", Kind::Bool).default(Default::Bool(true)),
    ],
);

/// Databases whose fields are separated by colons when `split` is not given.
const COLON_DATABASES: &[&str] = &["passwd", "shadow", "group", "gshadow"];

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    match run_checked(params, options) {
        Ok(result) => result,
        Err(failure) => failure.into_result(),
    }
}

fn run_checked(params: &Params, options: &ModuleOptions) -> Result<Map, Failure> {
    let database = params.string("database").unwrap_or_default();
    let key = params.string("key");
    let getent = crate::system::bin_path("getent")?;
    let mut argv = vec![getent, database.clone()];
    if let Some(key) = &key {
        argv.push(key.clone());
    }
    if let Some(service) = params.string("service") {
        argv.push("-s".to_string());
        argv.push(service);
    }
    let split = params.string("split").or_else(|| {
        COLON_DATABASES
            .contains(&database.as_str())
            .then(|| ":".to_string())
    });
    let output = crate::system::run_with(&argv, options, &[]);
    let tree = format!("getent_{database}");
    let mut entries = Map::new();
    let message = match output.rc {
        0 => {
            let mut seen: Vec<(String, usize)> = Vec::new();
            for line in output.stdout.lines() {
                let fields = split_record(line, split.as_deref());
                let Some((first, rest)) = fields.split_first() else {
                    continue;
                };
                let rest = Value::list(rest.iter().map(|f| Value::from(f.as_str())).collect());
                let name = Value::from(first.as_str());
                match seen.iter_mut().find(|(seen_key, _)| seen_key == first) {
                    // A second entry for the same key turns the value into a list of
                    // entries, as the module does.
                    Some((_, count)) => {
                        let previous = entries.get(&name).cloned().unwrap_or(Value::Null);
                        let mut list = if *count == 1 {
                            vec![previous]
                        } else {
                            previous
                                .as_list()
                                .map(<[Value]>::to_vec)
                                .unwrap_or_default()
                        };
                        list.push(rest);
                        entries.insert(name, Value::list(list));
                        *count += 1;
                    }
                    None => {
                        entries.insert(name, rest);
                        seen.push((first.clone(), 1));
                    }
                }
            }
            return Ok(facts_result(&tree, entries, None));
        }
        1 => "Missing arguments, or database unknown.",
        2 => {
            let message = "One or more supplied key could not be found in the database.";
            if !params.flag("fail_key") {
                entries.insert(key.map(Value::from).unwrap_or(Value::Null), Value::Null);
                return Ok(facts_result(&tree, entries, Some(message)));
            }
            message
        }
        3 => "Enumeration not supported on this database.",
        _ => "Unexpected failure!",
    };
    Err(Failure::new(message))
}

/// Splits a line as Python's `str.split(sep)`: on whitespace runs without a separator.
fn split_record(line: &str, split: Option<&str>) -> Vec<String> {
    match split {
        Some(separator) if !separator.is_empty() => {
            line.split(separator).map(str::to_string).collect()
        }
        _ => line.split_whitespace().map(str::to_string).collect(),
    }
}

fn facts_result(tree: &str, entries: Map, message: Option<&str>) -> Map {
    let mut facts = Map::new();
    facts.insert(Value::from(tree), Value::map(entries));
    let mut result = Map::new();
    result.insert(Value::from("ansible_facts"), Value::map(facts));
    result.insert(Value::from("changed"), Value::Bool(false));
    if let Some(message) = message {
        result.insert(Value::from("msg"), Value::from(message));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_split_as_python() {
        assert_eq!(
            split_record("root:x:0:0:root:/root:/bin/bash", Some(":")),
            ["root", "x", "0", "0", "root", "/root", "/bin/bash"]
        );
        assert_eq!(
            split_record("ssh   22/tcp  # comment", None),
            ["ssh", "22/tcp", "#", "comment"]
        );
    }
}
