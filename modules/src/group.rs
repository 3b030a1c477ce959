//! The `group` module on Linux: `groupadd`, `groupmod` and `groupdel`, with ansible-core
//! 2.18's result keys.

use crate::dispatch::ModuleOptions;
use crate::files::Failure;
use crate::spec::{Default, Kind, ModuleSpec, OptionSpec, Params, RequiredIf};
use crate::system::{self, Accounts, Output};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "group",
    &[
        OptionSpec::new("state", Kind::Str)
            .default(Default::Str("present"))
            .choices(&["absent", "present"]),
        OptionSpec::new("name", Kind::Str).required(),
        OptionSpec::new("force", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("gid", Kind::Int),
        OptionSpec::new("system", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("local", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("non_unique", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("gid_min", Kind::Int),
        OptionSpec::new("gid_max", Kind::Int),
    ],
)
.required_if(&[RequiredIf {
    key: "non_unique",
    value: "True",
    requirements: &["gid"],
    any: false,
}]);

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    match run_checked(params, options, &Accounts::default()) {
        Ok(result) => result,
        Err(failure) => failure.into_result(),
    }
}

fn run_checked(
    params: &Params,
    options: &ModuleOptions,
    accounts: &Accounts,
) -> Result<Map, Failure> {
    let local = params.flag("local");
    if params.flag("force") && local {
        return Err(Failure::new(
            "force is not a valid option for local, force=True and local=True are mutually exclusive",
        ));
    }
    if local && params.get("gid_min").is_some() {
        return Err(Failure::new("'gid_min' can not be used with 'local'"));
    }
    if local && params.get("gid_max").is_some() {
        return Err(Failure::new("'gid_max' can not be used with 'local'"));
    }
    let name = params.string("name").unwrap_or_default();
    let state = params.string("state").unwrap_or_default();
    let mut result = Map::new();
    result.insert(Value::from("name"), Value::from(name.as_str()));
    result.insert(Value::from("state"), Value::from(state.as_str()));
    let existing = accounts.group(&name);
    let output = if state == "absent" {
        match existing {
            Some(_) if options.check_mode => return Ok(changed_only()),
            Some(_) => Some(delete(params, &name, options)?),
            None => None,
        }
    } else {
        match existing {
            None if options.check_mode => return Ok(changed_only()),
            None => Some(add(params, &name, options)?),
            Some(entry) => modify(params, &name, entry.gid, options)?,
        }
    };
    if let Some(output) = &output {
        if output.rc != 0 {
            return Err(Failure::new(output.stderr.clone()).with("name", name.as_str()));
        }
    }
    result.insert(Value::from("changed"), Value::Bool(output.is_some()));
    if let Some(output) = &output {
        if !output.stdout.is_empty() {
            result.insert(Value::from("stdout"), Value::from(output.stdout.as_str()));
        }
        if !output.stderr.is_empty() {
            result.insert(Value::from("stderr"), Value::from(output.stderr.as_str()));
        }
    }
    if let Some(entry) = accounts.group(&name) {
        result.insert(Value::from("system"), Value::Bool(params.flag("system")));
        result.insert(Value::from("gid"), Value::Int(entry.gid));
    }
    Ok(result)
}

fn changed_only() -> Map {
    let mut result = Map::new();
    result.insert(Value::from("changed"), Value::Bool(true));
    result
}

fn command(params: &Params, tool: &str) -> Result<Vec<String>, Failure> {
    let program = if params.flag("local") {
        format!("l{tool}")
    } else {
        tool.to_string()
    };
    Ok(vec![system::bin_path(&program)?])
}

fn delete(params: &Params, name: &str, options: &ModuleOptions) -> Result<Output, Failure> {
    let mut argv = command(params, "groupdel")?;
    if params.flag("force") {
        argv.push("-f".into());
    }
    argv.push(name.into());
    Ok(system::run(&argv, options))
}

fn add(params: &Params, name: &str, options: &ModuleOptions) -> Result<Output, Failure> {
    let mut argv = command(params, "groupadd")?;
    if params.flag("local") {
        check_gid_free(params, name)?;
    }
    if let Some(gid) = params.int("gid") {
        argv.extend(["-g".into(), gid.to_string()]);
        if params.flag("non_unique") {
            argv.push("-o".into());
        }
    }
    if params.flag("system") {
        argv.push("-r".into());
    }
    for (key, option) in [("GID_MIN", "gid_min"), ("GID_MAX", "gid_max")] {
        if let Some(value) = params.int(option) {
            argv.extend(["-K".into(), format!("{key}={value}")]);
        }
    }
    argv.push(name.into());
    Ok(system::run(&argv, options))
}

/// Changes the gid when it differs; `None` when nothing changes.
fn modify(
    params: &Params,
    name: &str,
    current_gid: i64,
    options: &ModuleOptions,
) -> Result<Option<Output>, Failure> {
    let mut argv = command(params, "groupmod")?;
    if params.flag("local") {
        check_gid_free(params, name)?;
    }
    match params.int("gid") {
        Some(gid) if gid != current_gid => {
            argv.extend(["-g".into(), gid.to_string()]);
            if params.flag("non_unique") {
                argv.push("-o".into());
            }
        }
        _ => return Ok(None),
    }
    if options.check_mode {
        return Ok(Some(Output::default()));
    }
    argv.push(name.into());
    Ok(Some(system::run(&argv, options)))
}

fn check_gid_free(params: &Params, name: &str) -> Result<(), Failure> {
    let Some(gid) = params.int("gid").filter(|gid| *gid != 0) else {
        return Ok(());
    };
    match Accounts::default()
        .groups()
        .into_iter()
        .find(|group| group.gid == gid && group.name != name)
    {
        Some(other) => Err(Failure::new(format!(
            "GID '{gid}' already exists with group '{}'",
            other.name
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, Value)]) -> Params {
        let mut args = Map::new();
        for (key, value) in pairs {
            args.insert(Value::from(*key), value.clone());
        }
        SPEC.validate(&args).unwrap()
    }

    fn temp_accounts() -> (tempfile::TempDir, Accounts) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/group"), "root:x:0:\nkube:x:2001:\n").unwrap();
        let accounts = Accounts {
            root: dir.path().to_path_buf(),
        };
        (dir, accounts)
    }

    #[test]
    fn existing_group_unchanged() {
        let (_dir, accounts) = temp_accounts();
        let params = params(&[("name", Value::from("kube")), ("gid", Value::Int(2001))]);
        let result = run_checked(&params, &ModuleOptions::default(), &accounts).unwrap();
        assert_eq!(result.get("changed"), Some(&Value::Bool(false)));
        assert_eq!(result.get("gid"), Some(&Value::Int(2001)));
        assert_eq!(result.get("system"), Some(&Value::Bool(false)));
    }

    #[test]
    fn check_mode_reports_change_only() {
        let (_dir, accounts) = temp_accounts();
        let options = ModuleOptions {
            check_mode: true,
            ..ModuleOptions::default()
        };
        let add = params(&[("name", Value::from("etcd"))]);
        let result = run_checked(&add, &options, &accounts).unwrap();
        assert_eq!(result, changed_only());
        let regid = params(&[("name", Value::from("kube")), ("gid", Value::Int(3000))]);
        let result = run_checked(&regid, &options, &accounts).unwrap();
        assert_eq!(result.get("changed"), Some(&Value::Bool(true)));
        let absent = params(&[
            ("name", Value::from("gone")),
            ("state", Value::from("absent")),
        ]);
        let result = run_checked(&absent, &options, &accounts).unwrap();
        assert_eq!(result.get("changed"), Some(&Value::Bool(false)));
        assert!(result.get("gid").is_none());
    }

    #[test]
    fn non_unique_requires_gid() {
        let mut args = Map::new();
        args.insert(Value::from("name"), Value::from("x"));
        args.insert(Value::from("non_unique"), Value::Bool(true));
        let message = SPEC.validate(&args).unwrap_err();
        assert_eq!(
            message,
            "non_unique is True but all of the following are missing: gid"
        );
    }
}
