//! The `ansible.posix.sysctl` module on Linux: a key in a sysctl file, the running value
//! through `sysctl -w`, and `sysctl -p` to reload the file.

use std::path::Path;

use crate::dispatch::ModuleOptions;
use crate::files::Failure;
use crate::spec::{Default, Kind, ModuleSpec, OptionSpec, Params, RequiredIf};
use crate::system::{self, Output};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "sysctl",
    &[
        OptionSpec::new("name", Kind::Str)
            .required()
            .aliases(&["key"]),
        OptionSpec::new("value", Kind::Str).aliases(&["val"]),
        OptionSpec::new("state", Kind::Str)
            .default(Default::Str("present"))
            .choices(&["present", "absent"]),
        OptionSpec::new("reload", Kind::Bool).default(Default::Bool(true)),
        OptionSpec::new("sysctl_set", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("ignoreerrors", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("sysctl_file", Kind::Path).default(Default::Str("/etc/sysctl.conf")),
    ],
)
.required_if(&[RequiredIf {
    key: "state",
    value: "present",
    requirements: &["value"],
    any: false,
}]);

/// sysctl's messages are parsed, so it runs in the C locale.
const C_LOCALE: &[(&str, &str)] = &[("LANG", "C"), ("LC_ALL", "C"), ("LC_MESSAGES", "C")];

/// Normalises `name` and `value` in place, as the module does to its parameters (so
/// `invocation.module_args` shows the normalised values). Blank values are kept for
/// `run` to reject.
pub fn normalise(params: &mut Params) {
    if let Some(name) = params.str("name").map(|name| name.trim().to_string()) {
        if !name.is_empty() {
            params.values.insert(Value::from("name"), Value::from(name));
        }
    }
    let blank = params.str("value") == Some("");
    if params.get("value").is_some() && !blank {
        let value = parse_value(params.str("value").unwrap_or_default());
        params
            .values
            .insert(Value::from("value"), Value::from(value));
    }
}

/// Booleans become `1`/`0`, other text is stripped.
fn parse_value(value: &str) -> String {
    match value.to_ascii_lowercase().as_str() {
        "y" | "yes" | "on" | "1" | "true" | "t" => "1".into(),
        "n" | "no" | "off" | "0" | "false" | "f" => "0".into(),
        _ => value.trim().to_string(),
    }
}

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    match run_checked(params, options) {
        Ok(changed) => {
            let mut result = Map::new();
            result.insert(Value::from("changed"), Value::Bool(changed));
            result
        }
        Err(failure) => failure.into_result(),
    }
}

/// The request with its derived file contents.
struct Sysctl<'a> {
    params: &'a Params,
    name: String,
    value: String,
    present: bool,
    file: String,
    command: String,
    options: &'a ModuleOptions,
}

fn run_checked(params: &Params, options: &ModuleOptions) -> Result<bool, Failure> {
    let present = params.str("state") == Some("present");
    let name = params.string("name").unwrap_or_default();
    if present && params.get("value").is_none() {
        return Err(Failure::new("value cannot be None"));
    }
    if name.is_empty() {
        return Err(Failure::new("name cannot be blank"));
    }
    if present && params.str("value") == Some("") {
        return Err(Failure::new("value cannot be blank"));
    }
    let sysctl = Sysctl {
        params,
        value: params.string("value").unwrap_or_default(),
        name,
        present,
        file: params.string("sysctl_file").unwrap_or_default(),
        command: system::bin_path("sysctl")?,
        options,
    };
    sysctl.apply()
}

impl Sysctl<'_> {
    fn apply(&self) -> Result<bool, Failure> {
        let running = self.running_value();
        let lines = self.read_file()?;
        let in_file = file_value(&lines, &self.name);
        let mut changed = false;
        let mut write_file = false;
        let mut set_running = false;
        match (&in_file, self.present) {
            (None, true) => (changed, write_file) = (true, true),
            (None, false) => {}
            (Some(value), false) if !value.is_empty() => (changed, write_file) = (true, true),
            (Some(value), _) if *value != self.value => (changed, write_file) = (true, true),
            (Some(_), _) => {
                if self.params.flag("reload") && !values_equal(running.as_deref(), &self.value) {
                    changed = true;
                }
            }
        }
        if self.params.flag("sysctl_set") && self.present {
            match &running {
                None => changed = true,
                Some(current) if !values_equal(Some(current), &self.value) => {
                    changed = true;
                    set_running = true;
                }
                Some(_) => {}
            }
        }
        if self.options.check_mode {
            return Ok(changed);
        }
        if set_running {
            self.set_running_value()?;
        }
        if write_file {
            self.write_file(&fixed_lines(
                &lines,
                &self.name,
                self.present.then_some(&self.value),
            ))?;
        }
        if changed && self.params.flag("reload") {
            self.reload()?;
        }
        Ok(changed)
    }

    fn run(&self, argv: Vec<String>) -> Output {
        system::run_with(&argv, self.options, C_LOCALE)
    }

    /// Returns the value `sysctl -e -n` prints, or `None` when it fails.
    fn running_value(&self) -> Option<String> {
        let output = self.run(vec![
            self.command.clone(),
            "-e".into(),
            "-n".into(),
            self.name.clone(),
        ]);
        (output.rc == 0).then_some(output.stdout)
    }

    fn set_running_value(&self) -> Result<(), Failure> {
        let value = if self.value.split_whitespace().next().is_some() {
            format!("\"{}\"", self.value)
        } else {
            self.value.clone()
        };
        // ansible.posix builds this as one command line and splits it with shlex.
        let mut line = format!("{} ", self.command);
        if self.params.flag("ignoreerrors") {
            line.push_str("-e");
        }
        line.push_str(&format!(" -w {}={value}", self.name));
        let argv = crate::command::split_command(&line).map_err(Failure::new)?;
        let output = self.run(argv);
        if output.rc != 0 || stderr_failed(&output.stderr) {
            return Err(Failure::new(format!(
                "setting {} failed: {}{}",
                self.name, output.stdout, output.stderr
            )));
        }
        Ok(())
    }

    fn reload(&self) -> Result<(), Failure> {
        let mut argv = vec![self.command.clone(), "-p".into(), self.file.clone()];
        if self.params.flag("ignoreerrors") {
            argv.insert(1, "-e".into());
        }
        let output = self.run(argv);
        if output.rc != 0 || stderr_failed(&output.stderr) {
            return Err(Failure::new(format!(
                "Failed to reload sysctl: {}{}",
                output.stdout, output.stderr
            )));
        }
        Ok(())
    }

    /// Reads the file's lines, stripped, or none when it is not a regular file.
    fn read_file(&self) -> Result<Vec<String>, Failure> {
        if !Path::new(&self.file).is_file() {
            return Ok(Vec::new());
        }
        let text = std::fs::read(&self.file).map_err(|err| {
            Failure::new(format!(
                "Failed to open {}: {}",
                self.file,
                crate::files::os_error(&err)
            ))
        })?;
        Ok(String::from_utf8_lossy(&text)
            .lines()
            .map(|line| line.trim().to_string())
            .collect())
    }

    fn write_file(&self, lines: &[String]) -> Result<(), Failure> {
        let dest = std::fs::canonicalize(&self.file).unwrap_or_else(|_| self.file.clone().into());
        let mut content = String::new();
        for line in lines {
            content.push_str(line.trim());
            content.push('\n');
        }
        crate::files::atomic_write(&dest, content.as_bytes()).map_err(|err| {
            Failure::new(format!(
                "Unable to make {} into to {}, failed final rename from temporary file: {}",
                dest.display(),
                dest.display(),
                crate::files::os_error(&err)
            ))
        })
    }
}

/// Splits a setting line at its first `=`; comments, blank lines and lines without `=`
/// are not settings.
fn setting(line: &str) -> Option<(&str, &str)> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
        return None;
    }
    let (key, value) = trimmed.split_once('=')?;
    Some((key.trim(), value.trim()))
}

/// Returns the last value the file gives `name`.
fn file_value(lines: &[String], name: &str) -> Option<String> {
    lines
        .iter()
        .rev()
        .filter_map(|line| setting(line))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

/// Rewrites the file's lines with `name` set to `value` (or removed when `None`). Each
/// key keeps its first line only, normalised to `key=value`, and a new key goes at the end.
fn fixed_lines(lines: &[String], name: &str, value: Option<&String>) -> Vec<String> {
    let mut seen: Vec<&str> = Vec::new();
    let mut fixed = Vec::new();
    for line in lines {
        let Some((key, current)) = setting(line) else {
            fixed.push(line.clone());
            continue;
        };
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        if key != name {
            fixed.push(format!("{key}={current}"));
        } else if let Some(value) = value {
            fixed.push(format!("{key}={value}"));
        }
    }
    if let (false, Some(value)) = (seen.contains(&name), value) {
        fixed.push(format!("{name}={value}"));
    }
    fixed
}

/// Compares two values word by word, as the module does.
fn values_equal(running: Option<&str>, wanted: &str) -> bool {
    let Some(running) = running else {
        return false;
    };
    running.split_whitespace().eq(wanted.split_whitespace())
}

/// sysctl can exit 0 after failing to set a key; these stderr lines mean it did.
fn stderr_failed(stderr: &str) -> bool {
    stderr.lines().any(|line| {
        line.strip_prefix("sysctl: setting key \"")
            .is_some_and(|rest| {
                rest.split_once("\": ").is_some_and(|(key, reason)| {
                    !key.contains('"')
                        && matches!(reason, "Invalid argument" | "Read-only file system")
                })
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(|line| line.trim().to_string()).collect()
    }

    #[test]
    fn values_normalised() {
        assert_eq!(parse_value("yes"), "1");
        assert_eq!(parse_value("False"), "0");
        assert_eq!(parse_value(" 10  20 "), "10  20");
    }

    #[test]
    fn file_lines_fixed() {
        let current =
            lines("# comment\nnet.ipv4.ip_forward = 0\nvm.swappiness=10\nnet.ipv4.ip_forward=1\n");
        assert_eq!(
            file_value(&current, "net.ipv4.ip_forward"),
            Some("1".into())
        );
        let value = "1".to_string();
        assert_eq!(
            fixed_lines(&current, "net.ipv4.ip_forward", Some(&value)),
            ["# comment", "net.ipv4.ip_forward=1", "vm.swappiness=10"]
        );
        assert_eq!(
            fixed_lines(&current, "vm.swappiness", None),
            ["# comment", "net.ipv4.ip_forward=0"]
        );
        assert_eq!(
            fixed_lines(&current, "kernel.pid_max", Some(&value))
                .last()
                .unwrap(),
            "kernel.pid_max=1"
        );
    }

    #[test]
    fn word_comparison() {
        assert!(values_equal(
            Some("4096\t87380\t6291456\n"),
            "4096 87380 6291456"
        ));
        assert!(!values_equal(Some("1\n"), "0"));
        assert!(!values_equal(None, "0"));
    }

    #[test]
    fn stderr_errors_detected() {
        assert!(stderr_failed(
            "sysctl: setting key \"vm.x\": Invalid argument\n"
        ));
        assert!(!stderr_failed(
            "sysctl: cannot stat /proc/sys/x: No such file or directory\n"
        ));
    }

    #[test]
    fn check_mode_on_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("99.conf");
        std::fs::write(&file, "net.ipv4.ip_forward=1\n").unwrap();
        let mut args = Map::new();
        args.insert(Value::from("name"), Value::from("net.ipv4.ip_forward"));
        args.insert(Value::from("value"), Value::from("yes"));
        args.insert(Value::from("reload"), Value::Bool(false));
        args.insert(
            Value::from("sysctl_file"),
            Value::from(file.display().to_string()),
        );
        let mut params = SPEC.validate(&args).unwrap();
        normalise(&mut params);
        assert_eq!(params.str("value"), Some("1"));
        let options = ModuleOptions {
            check_mode: true,
            ..ModuleOptions::default()
        };
        assert!(!run_checked(&params, &options).unwrap());
        params.values.insert(Value::from("value"), Value::from("0"));
        assert!(run_checked(&params, &options).unwrap());
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "net.ipv4.ip_forward=1\n"
        );
    }
}
