//! The `slurp` module: a file's content, base64-encoded.

use base64::Engine as _;

use crate::dispatch::ModuleOptions;
use crate::files::Failure;
use crate::spec::{Kind, ModuleSpec, OptionSpec, Params};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "slurp",
    &[OptionSpec::new("src", Kind::Path)
        .required()
        .aliases(&["path"])],
);

pub fn run(params: &Params, _options: &ModuleOptions) -> Map {
    let source = params.string("src").unwrap_or_default();
    let data = match std::fs::read(&source) {
        Ok(data) => data,
        Err(err) => {
            let message = match err.raw_os_error() {
                Some(2) => format!("file not found: {source}"),
                Some(13) => format!("file is not readable: {source}"),
                Some(21) => format!("source is a directory and must be a file: {source}"),
                // Python's OSError text names the file: `[Errno 20] Not a directory: 'path'`.
                _ => format!(
                    "unable to slurp file: {}: {}",
                    crate::files::os_error(&err),
                    crate::pyrepr::str_repr(&source)
                ),
            };
            return Failure::new(message).into_result();
        }
    };
    let mut result = Map::new();
    result.insert(
        Value::from("content"),
        Value::from(base64::engine::general_purpose::STANDARD.encode(data)),
    );
    result.insert(Value::from("source"), Value::from(source));
    result.insert(Value::from("encoding"), Value::from("base64"));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slurp(path: String) -> Map {
        let mut args = Map::new();
        args.insert(Value::from("path"), Value::from(path));
        run(&SPEC.validate(&args).unwrap(), &ModuleOptions::default())
    }

    #[test]
    fn encodes_content_and_reports_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "hi\n").unwrap();
        let result = slurp(path.display().to_string());
        assert_eq!(result.get("content"), Some(&Value::from("aGkK")));
        let missing = slurp(dir.path().join("x").display().to_string());
        assert!(crate::pyrepr::str(missing.get("msg").unwrap()).starts_with("file not found: "));
        let directory = slurp(dir.path().display().to_string());
        assert!(crate::pyrepr::str(directory.get("msg").unwrap())
            .starts_with("source is a directory and must be a file: "));
    }

    #[test]
    fn other_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "hi\n").unwrap();
        let below_file = file.join("x").display().to_string();
        let result = slurp(below_file.clone());
        assert_eq!(
            result.get("msg"),
            Some(&Value::from(format!(
                "unable to slurp file: [Errno 20] Not a directory: '{below_file}'"
            )))
        );
    }
}
