//! The `community.general.modprobe` module: loads or unloads a kernel module and keeps it
//! in `/etc/modules-load.d` and its options in `/etc/modprobe.d` when `persistent` is set.

use std::path::{Path, PathBuf};

use crate::dispatch::ModuleOptions;
use crate::files::Failure;
use crate::spec::{Default, Kind, ModuleSpec, OptionSpec, Params};
use crate::system;
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "modprobe",
    &[
        OptionSpec::new("name", Kind::Str).required(),
        OptionSpec::new("state", Kind::Str)
            .default(Default::Str("present"))
            .choices(&["absent", "present"]),
        OptionSpec::new("params", Kind::Str).default(Default::Str("")),
        OptionSpec::new("persistent", Kind::Str)
            .default(Default::Str("disabled"))
            .choices(&["disabled", "present", "absent"]),
    ],
);

const MODULES_LOAD_DIR: &str = "/etc/modules-load.d";
const PARAMETERS_DIR: &str = "/etc/modprobe.d";

struct Modprobe<'a> {
    options: &'a ModuleOptions,
    command: String,
    name: String,
    params: String,
    state: String,
    changed: bool,
    warnings: Vec<String>,
    /// `^ *NAME *(comment)?$`: the module's line in a modules-load.d file.
    module_line: fancy_regex::Regex,
    /// `^options NAME key=value (comment)?$`, capturing `key=value`.
    options_line: fancy_regex::Regex,
}

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    let mut modprobe = match Modprobe::new(params, options) {
        Ok(modprobe) => modprobe,
        Err(failure) => return failure.into_result(),
    };
    let outcome = modprobe.apply(params.str("persistent").unwrap_or("disabled"));
    let mut result = match outcome {
        Ok(()) => modprobe.result(),
        Err(failure) => {
            let mut result = failure.into_result();
            for (key, value) in modprobe.result() {
                result.entry(key).or_insert(value);
            }
            result
        }
    };
    if !modprobe.warnings.is_empty() {
        let warnings = modprobe
            .warnings
            .iter()
            .map(|w| Value::from(w.as_str()))
            .collect();
        result.insert(Value::from("warnings"), Value::list(warnings));
    }
    result
}

impl<'a> Modprobe<'a> {
    fn new(params: &Params, options: &'a ModuleOptions) -> Result<Modprobe<'a>, Failure> {
        let command = system::bin_path("modprobe")?;
        let name = params.string("name").unwrap_or_default();
        let escaped = fancy_regex::escape(&name);
        let compile = |pattern: String| {
            fancy_regex::Regex::new(&pattern).map_err(|err| Failure::new(err.to_string()))
        };
        Ok(Modprobe {
            options,
            command,
            params: params.string("params").unwrap_or_default(),
            state: params.string("state").unwrap_or_default(),
            module_line: compile(format!(r"^ *{escaped} *(?:[#;].*)?\n?\z"))?,
            options_line: compile(format!(r"^options {escaped} (\w+=\S+) *(?:[#;].*)?\n?\z"))?,
            name,
            changed: false,
            warnings: Vec::new(),
        })
    }

    fn result(&self) -> Map {
        let mut result = Map::new();
        result.insert(Value::from("changed"), Value::Bool(self.changed));
        result.insert(Value::from("name"), Value::from(self.name.as_str()));
        result.insert(Value::from("params"), Value::from(self.params.as_str()));
        result.insert(Value::from("state"), Value::from(self.state.as_str()));
        result
    }

    fn apply(&mut self, persistent: &str) -> Result<(), Failure> {
        if self.state == "present" && !self.loaded()? {
            self.load()?;
        } else if self.state == "absent" && self.loaded()? {
            self.unload()?;
        }
        let persistently = self.loaded_persistently();
        let permanent = self.permanent_params();
        let params_set = self.desired_params() == permanent;
        if persistent == "present" && !(persistently && params_set) {
            if !persistently {
                self.write_if_live(
                    &Path::new(MODULES_LOAD_DIR).join(format!("{}.conf", self.name)),
                    &format!("{}\n", self.name),
                );
                self.changed = true;
            }
            if !params_set {
                self.comment_out(&self.options_line.clone(), &files_in(PARAMETERS_DIR));
                let content: Vec<String> = self
                    .params
                    .split_whitespace()
                    .map(|param| format!("options {} {param}", self.name))
                    .collect();
                let path = Path::new(PARAMETERS_DIR).join(format!("{}.conf", self.name));
                self.write_if_live(&path, &(content.join("\n") + "\n"));
                self.changed = true;
            }
        } else if persistent == "absent" && (persistently || !permanent.is_empty()) {
            if persistently {
                self.comment_out(&self.module_line.clone(), &files_in(MODULES_LOAD_DIR));
                self.changed = true;
            }
            if !permanent.is_empty() {
                self.comment_out(&self.options_line.clone(), &files_in(PARAMETERS_DIR));
                self.changed = true;
            }
        }
        Ok(())
    }

    fn params_words(&self) -> Result<Vec<String>, Failure> {
        crate::command::split_command(&self.params).map_err(Failure::new)
    }

    fn failure(&self, output: &system::Output) -> Failure {
        Failure::new(output.stderr.clone())
            .with("rc", Value::Int(output.rc))
            .with("stdout", output.stdout.as_str())
            .with("stderr", output.stderr.as_str())
    }

    fn load(&mut self) -> Result<(), Failure> {
        let mut argv = vec![self.command.clone()];
        if self.options.check_mode {
            argv.push("-n".into());
        }
        argv.push(self.name.clone());
        argv.extend(self.params_words()?);
        let output = system::run(&argv, self.options);
        if output.rc != 0 {
            return Err(self.failure(&output));
        }
        if self.options.check_mode || self.loaded()? {
            self.changed = true;
            return Ok(());
        }
        let mut probe = vec![
            self.command.clone(),
            "-n".into(),
            "--first-time".into(),
            self.name.clone(),
        ];
        probe.extend(self.params_words()?);
        let output = system::run(&probe, self.options);
        if output.rc != 0 {
            self.warnings.push(output.stderr);
        }
        Ok(())
    }

    fn unload(&mut self) -> Result<(), Failure> {
        let mut argv = vec![self.command.clone(), "-r".into(), self.name.clone()];
        if self.options.check_mode {
            argv.push("-n".into());
        }
        let output = system::run(&argv, self.options);
        if output.rc != 0 {
            return Err(self.failure(&output));
        }
        self.changed = true;
        Ok(())
    }

    /// Returns whether `/proc/modules` lists the module, or the kernel has it built in.
    fn loaded(&self) -> Result<bool, Failure> {
        let loaded_name = format!("{} ", self.name.replace('-', "_"));
        let modules = read_text("/proc/modules")?;
        if modules.lines().any(|line| line.starts_with(&loaded_name)) {
            return Ok(true);
        }
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let builtin = format!("/lib/modules/{}/modules.builtin", release.trim());
        let suffix = format!("/{}.ko", self.name);
        Ok(read_text(&builtin)?
            .lines()
            .any(|line| line.trim_end().ends_with(&suffix)))
    }

    fn loaded_persistently(&self) -> bool {
        files_in(MODULES_LOAD_DIR).iter().any(|file| {
            file_lines(file)
                .iter()
                .any(|line| self.module_line.is_match(line).unwrap_or(false))
        })
    }

    fn desired_params(&self) -> std::collections::BTreeSet<String> {
        self.params.split_whitespace().map(str::to_string).collect()
    }

    fn permanent_params(&self) -> std::collections::BTreeSet<String> {
        let mut params = std::collections::BTreeSet::new();
        for file in files_in(PARAMETERS_DIR) {
            for line in file_lines(&file) {
                if let Ok(Some(captures)) = self.options_line.captures(&line) {
                    if let Some(param) = captures.get(1) {
                        params.insert(param.as_str().to_string());
                    }
                }
            }
        }
        params
    }

    fn write_if_live(&self, path: &Path, content: &str) {
        if !self.options.check_mode {
            // NOTE: write errors are ignored here; the Python module raises on them.
            // It also writes in place, where rplay replaces the file atomically.
            let _ = crate::files::atomic_write(path, content.as_bytes());
        }
    }

    /// Comments out the matching lines of each file. The module joins the kept lines,
    /// which still end in newlines, with newlines, and rplay writes the same bytes.
    fn comment_out(&self, pattern: &fancy_regex::Regex, files: &[PathBuf]) {
        for file in files {
            let mut lines = file_lines(file);
            let mut changed = false;
            for line in &mut lines {
                if pattern.is_match(line).unwrap_or(false) {
                    line.insert(0, '#');
                    changed = true;
                }
            }
            if changed && !self.options.check_mode {
                let _ = crate::files::atomic_write(file, lines.join("\n").as_bytes());
            }
        }
    }
}

/// The text of a file, or the module's failure with Python's `OSError` message.
fn read_text(path: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|err| {
        let code = err.raw_os_error().unwrap_or(0);
        let message = format!("{}: '{path}'", crate::files::os_error(&err));
        let class = if code == 2 {
            "FileNotFoundError"
        } else {
            "OSError"
        };
        Failure::new(message.clone()).with(
            "exception",
            format!("Traceback (most recent call last):\n{class}: {message}\n"),
        )
    })
}

/// The regular files of a directory, in directory order as `os.listdir` gives them.
fn files_in(dir: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect()
}

/// A file's lines with their line ends, as Python's `readlines`.
fn file_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.split_inclusive('\n').map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modprobe(params: &str) -> Modprobe<'static> {
        static OPTIONS: std::sync::OnceLock<ModuleOptions> = std::sync::OnceLock::new();
        let name = "br_netfilter".to_string();
        let escaped = fancy_regex::escape(&name);
        Modprobe {
            options: OPTIONS.get_or_init(ModuleOptions::default),
            command: "modprobe".into(),
            params: params.into(),
            state: "present".into(),
            module_line: fancy_regex::Regex::new(&format!(r"^ *{escaped} *(?:[#;].*)?\n?\z"))
                .unwrap(),
            options_line: fancy_regex::Regex::new(&format!(
                r"^options {escaped} (\w+=\S+) *(?:[#;].*)?\n?\z"
            ))
            .unwrap(),
            name,
            changed: false,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn line_patterns() {
        let probe = modprobe("a=1");
        assert!(probe.module_line.is_match("br_netfilter\n").unwrap());
        assert!(probe
            .module_line
            .is_match("  br_netfilter # kube\n")
            .unwrap());
        assert!(!probe.module_line.is_match("#br_netfilter\n").unwrap());
        let captures = probe
            .options_line
            .captures("options br_netfilter a=1\n")
            .unwrap()
            .unwrap();
        assert_eq!(captures.get(1).unwrap().as_str(), "a=1");
    }

    #[test]
    fn commented_lines_keep_line_ends() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k8s.conf");
        std::fs::write(&file, "overlay\nbr_netfilter\n").unwrap();
        let probe = modprobe("");
        probe.comment_out(&probe.module_line.clone(), std::slice::from_ref(&file));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "overlay\n\n#br_netfilter\n"
        );
    }
}
