//! The `user` module on Linux: `useradd`, `usermod`, `userdel` and `chage`, with
//! ansible-core 2.18's result keys.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::dispatch::ModuleOptions;
use crate::files::Failure;
use crate::spec::{Default, Elements, Kind, ModuleSpec, OptionSpec, Params};
use crate::system::{self, Accounts, Output, PasswdEntry};
use crate::{Map, Value};

pub const SPEC: ModuleSpec = ModuleSpec::new(
    "user",
    &[
        OptionSpec::new("state", Kind::Str)
            .default(Default::Str("present"))
            .choices(&["absent", "present"]),
        OptionSpec::new("name", Kind::Str)
            .required()
            .aliases(&["user"]),
        OptionSpec::new("uid", Kind::Int),
        OptionSpec::new("non_unique", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("group", Kind::Str),
        OptionSpec::new("groups", Kind::List(Elements::Str)),
        OptionSpec::new("comment", Kind::Str),
        OptionSpec::new("home", Kind::Path),
        OptionSpec::new("shell", Kind::Path),
        OptionSpec::new("password", Kind::Str).no_log(),
        OptionSpec::new("login_class", Kind::Str),
        OptionSpec::new("password_expire_max", Kind::Int),
        OptionSpec::new("password_expire_min", Kind::Int),
        OptionSpec::new("password_expire_warn", Kind::Int),
        OptionSpec::new("hidden", Kind::Bool),
        OptionSpec::new("seuser", Kind::Str),
        OptionSpec::new("force", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("remove", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("create_home", Kind::Bool)
            .default(Default::Bool(true))
            .aliases(&["createhome"]),
        OptionSpec::new("skeleton", Kind::Str),
        OptionSpec::new("system", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("move_home", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("append", Kind::Bool).default(Default::Bool(false)),
        OptionSpec::new("generate_ssh_key", Kind::Bool),
        OptionSpec::new("ssh_key_bits", Kind::Int).default(Default::Int(0)),
        OptionSpec::new("ssh_key_type", Kind::Str).default(Default::Str("rsa")),
        OptionSpec::new("ssh_key_file", Kind::Path),
        // Its default, `ansible-generated on HOSTNAME`, is set by `default_args`.
        OptionSpec::new("ssh_key_comment", Kind::Str),
        OptionSpec::new("ssh_key_passphrase", Kind::Str).no_log(),
        OptionSpec::new("update_password", Kind::Str)
            .default(Default::Str("always"))
            .choices(&["always", "on_create"]),
        OptionSpec::new("expires", Kind::Float),
        OptionSpec::new("password_lock", Kind::Bool),
        OptionSpec::new("local", Kind::Bool),
        OptionSpec::new("profile", Kind::Str),
        OptionSpec::new("authorization", Kind::Str),
        OptionSpec::new("role", Kind::Str),
        OptionSpec::new("umask", Kind::Str),
        OptionSpec::new("password_expire_account_disable", Kind::Int),
        OptionSpec::new("uid_min", Kind::Int),
        OptionSpec::new("uid_max", Kind::Int),
    ],
);

/// Adds the defaults that depend on the target: `ssh_key_comment` names its host name.
pub fn default_args(args: &mut Map) {
    if !args.contains_key("ssh_key_comment") {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        args.insert(
            Value::from("ssh_key_comment"),
            Value::from(format!("ansible-generated on {}", host.trim())),
        );
    }
}

pub fn run(params: &Params, options: &ModuleOptions) -> Map {
    let accounts = Accounts::default();
    let mut warnings = Vec::new();
    let mut result = match run_checked(params, options, &accounts, &mut warnings) {
        Ok(result) => result,
        Err(failure) => failure.into_result(),
    };
    if !warnings.is_empty() {
        result.insert(
            Value::from("warnings"),
            Value::list(warnings.into_iter().map(Value::from).collect()),
        );
    }
    result
}

/// The user's request with the module's own derived values.
struct Request<'a> {
    params: &'a Params,
    name: String,
    /// `groups` joined with commas, as the module keeps it; `None` when not given.
    groups: Option<String>,
    home: Option<String>,
    local: bool,
}

impl Request<'_> {
    fn str(&self, name: &str) -> Option<String> {
        self.params.string(name)
    }

    fn tool(&self, name: &str) -> Result<String, Failure> {
        if self.local {
            system::bin_path(&format!("l{name}"))
        } else {
            system::bin_path(name)
        }
    }
}

fn run_checked(
    params: &Params,
    options: &ModuleOptions,
    accounts: &Accounts,
    warnings: &mut Vec<String>,
) -> Result<Map, Failure> {
    let local = params.flag("local");
    for option in ["umask", "uid_min", "uid_max"] {
        if local && params.get(option).is_some() {
            return Err(Failure::new(format!(
                "'{option}' can not be used with 'local'"
            )));
        }
    }
    if params.get("groups").is_none() && params.flag("append") {
        warnings.push("'append' is set, but no 'groups' are specified. Use 'groups' for appending new groups.This will change to an error in Ansible 2.14.".into());
    }
    if params.flag("generate_ssh_key") {
        // NOTE: key generation (ssh-keygen, fingerprint, public key) is not implemented.
        return Err(Failure::new(
            "rplay's user module cannot generate SSH keys yet",
        ));
    }
    if let Some(password) = params.str("password") {
        if password_looks_unhashed(password) {
            warnings.push("The input password appears not to have been hashed. The 'password' argument must be encrypted for this module to work properly.".into());
        }
    }
    let request = Request {
        params,
        name: params.string("name").unwrap_or_default(),
        groups: params
            .get("groups")
            .map(|_| params.strings("groups").join(",")),
        home: params.string("home"),
        local,
    };
    let state = params.string("state").unwrap_or_default();
    let mut result = Map::new();
    result.insert(Value::from("name"), Value::from(request.name.as_str()));
    result.insert(Value::from("state"), Value::from(state.as_str()));
    let output = if state == "absent" {
        remove(&request, options, accounts, &mut result)?
    } else {
        match present(&request, options, accounts, &mut result)? {
            Presence::Done(output) => output,
            Presence::CheckModeCreate => return Ok(changed_only()),
        }
    };
    if let Some(output) = &output {
        if output.rc != 0 {
            return Err(Failure::new(output.stderr.clone())
                .with("name", request.name.as_str())
                .with("rc", Value::Int(output.rc)));
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
    if state == "present" {
        if let Some(info) = accounts.user(&request.name) {
            report_account(&request, options, accounts, &info, &mut result)?;
        }
    }
    Ok(result)
}

fn changed_only() -> Map {
    let mut result = Map::new();
    result.insert(Value::from("changed"), Value::Bool(true));
    result
}

fn remove(
    request: &Request,
    options: &ModuleOptions,
    accounts: &Accounts,
    result: &mut Map,
) -> Result<Option<Output>, Failure> {
    if accounts.user(&request.name).is_none() {
        return Ok(None);
    }
    if options.check_mode {
        return Ok(Some(Output::default()));
    }
    let mut argv = vec![request.tool("userdel")?];
    if request.params.flag("force") && !request.local {
        argv.push("-f".into());
    }
    if request.params.flag("remove") {
        argv.push("-r".into());
    }
    argv.push(request.name.clone());
    let output = system::run(&argv, options);
    if output.rc != 0 {
        return Ok(Some(output));
    }
    result.insert(
        Value::from("force"),
        Value::Bool(request.params.flag("force")),
    );
    result.insert(
        Value::from("remove"),
        Value::Bool(request.params.flag("remove")),
    );
    Ok(Some(output))
}

enum Presence {
    Done(Option<Output>),
    CheckModeCreate,
}

fn present(
    request: &Request,
    options: &ModuleOptions,
    accounts: &Accounts,
    result: &mut Map,
) -> Result<Presence, Failure> {
    let output = match accounts.user(&request.name) {
        None if options.check_mode => return Ok(Presence::CheckModeCreate),
        None => {
            let create_home = request.params.flag("create_home");
            let needs_parents = create_home
                && request
                    .home
                    .as_deref()
                    .is_some_and(|home| !parent_is_dir(home));
            let output = create(request, options, accounts)?;
            if needs_parents {
                if let (Some(info), Some(home)) = (accounts.user(&request.name), &request.home) {
                    chown_tree(Path::new(home), info.uid, info.gid)?;
                }
            }
            result.insert(
                Value::from("system"),
                Value::Bool(request.params.flag("system")),
            );
            result.insert(Value::from("create_home"), Value::Bool(create_home));
            Some(output)
        }
        Some(info) => {
            let output = modify(request, options, accounts, &info)?;
            result.insert(
                Value::from("append"),
                Value::Bool(request.params.flag("append")),
            );
            result.insert(
                Value::from("move_home"),
                Value::Bool(request.params.flag("move_home")),
            );
            output
        }
    };
    if request.params.get("password").is_some() {
        result.insert(Value::from("password"), Value::from("NOT_LOGGING_PASSWORD"));
    }
    Ok(Presence::Done(output))
}

fn parent_is_dir(home: &str) -> bool {
    let parent = Path::new(home).parent().unwrap_or(Path::new(""));
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    parent.is_dir()
}

/// Adds the account's fields to the result, creates a missing home directory and
/// applies the password ageing options, as the module does after its main change.
fn report_account(
    request: &Request,
    options: &ModuleOptions,
    accounts: &Accounts,
    info: &PasswdEntry,
    result: &mut Map,
) -> Result<(), Failure> {
    result.insert(Value::from("uid"), Value::Int(info.uid));
    result.insert(Value::from("group"), Value::Int(info.gid));
    result.insert(Value::from("comment"), Value::from(info.gecos.as_str()));
    result.insert(Value::from("home"), Value::from(info.home.as_str()));
    result.insert(Value::from("shell"), Value::from(info.shell.as_str()));
    if let Some(groups) = &request.groups {
        result.insert(Value::from("groups"), Value::from(groups.as_str()));
    }
    let home = request.home.clone().unwrap_or_else(|| info.home.clone());
    if !Path::new(&home).exists() && request.params.flag("create_home") {
        if !options.check_mode {
            create_homedir(request, Path::new(&home))?;
            chown_tree(Path::new(&home), info.uid, info.gid)?;
        }
        result.insert(Value::from("changed"), Value::Bool(true));
    }
    if let Some(output) = set_password_expire(request, options, accounts)? {
        if output.rc != 0 {
            return Err(Failure::new(output.stderr)
                .with("name", request.name.as_str())
                .with("rc", Value::Int(output.rc)));
        }
        result.insert(Value::from("changed"), Value::Bool(true));
    }
    Ok(())
}

/// Builds the `useradd` command line; also returns the supplementary groups, which
/// `local: true` adds with `lgroupmod` instead.
fn useradd_command(
    request: &Request,
    accounts: &Accounts,
) -> Result<(Vec<String>, BTreeSet<String>), Failure> {
    let params = request.params;
    let mut argv = vec![request.tool("useradd")?];
    if let Some(uid) = params.int("uid") {
        argv.extend(["-u".into(), uid.to_string()]);
        if params.flag("non_unique") {
            argv.push("-o".into());
        }
    }
    if let Some(seuser) = request.str("seuser") {
        argv.extend(["-Z".into(), seuser]);
    }
    if let Some(group) = request.str("group") {
        if accounts.group_by_id_or_name(&group).is_none() {
            return Err(Failure::new(format!("Group {group} does not exist")));
        }
        argv.extend(["-g".into(), group]);
    } else if accounts.group_by_id_or_name(&request.name).is_some() {
        // A group named like the user exists: `-N` keeps useradd from creating one,
        // which would fail when USERGROUPS_ENAB is set.
        argv.push(if request.local { "-n" } else { "-N" }.into());
    }
    let groups = match request.groups.as_deref() {
        Some(groups) if !groups.is_empty() => {
            let groups = requested_groups(request, accounts, None)?;
            if !request.local {
                argv.extend(["-G".into(), join(&groups)]);
            }
            groups
        }
        _ => BTreeSet::new(),
    };
    if let Some(comment) = request.str("comment") {
        argv.extend(["-c".into(), comment]);
    }
    if let Some(home) = &request.home {
        if params.flag("create_home") && !parent_is_dir(home) {
            create_homedir(request, Path::new(home))?;
        }
        argv.extend(["-d".into(), home.clone()]);
    }
    if let Some(shell) = request.str("shell") {
        argv.extend(["-s".into(), shell]);
    }
    let expires = params.get("expires").and_then(float_value);
    if let (Some(expires), false) = (expires, request.local) {
        argv.push("-e".into());
        argv.push(if expires < 0.0 {
            String::new()
        } else {
            date_text(expires)
        });
    }
    if let Some(inactive) = params.int("password_expire_account_disable") {
        argv.extend(["-f".into(), inactive.to_string()]);
    }
    if let Some(password) = request.str("password") {
        argv.push("-p".into());
        if params.get("password_lock").and_then(Value::as_bool) == Some(true) {
            argv.push(format!("!{password}"));
        } else {
            argv.push(password);
        }
    }
    if params.flag("create_home") {
        if !request.local {
            argv.push("-m".into());
        }
        if let Some(skeleton) = request.str("skeleton") {
            argv.extend(["-k".into(), skeleton]);
        }
        if let Some(umask) = request.str("umask") {
            argv.extend(["-K".into(), format!("UMASK={umask}")]);
        }
    } else {
        argv.push("-M".into());
    }
    if params.flag("system") {
        argv.push("-r".into());
    }
    for (key, option) in [("UID_MIN", "uid_min"), ("UID_MAX", "uid_max")] {
        if let Some(value) = params.int(option) {
            argv.extend(["-K".into(), format!("{key}={value}")]);
        }
    }
    argv.push(request.name.clone());
    Ok((argv, groups))
}

fn create(
    request: &Request,
    options: &ModuleOptions,
    accounts: &Accounts,
) -> Result<Output, Failure> {
    let (argv, groups) = useradd_command(request, accounts)?;
    let mut output = system::run(&argv, options);
    if !request.local || output.rc != 0 {
        return Ok(output);
    }
    if let Some(expires) = request.params.get("expires").and_then(float_value) {
        let days = if expires < 0.0 {
            -1
        } else {
            (expires.floor() as i64).div_euclid(86_400)
        };
        let chage = system::bin_path("lchage")?;
        let step = system::run(
            &[chage, "-E".into(), days.to_string(), request.name.clone()],
            options,
        );
        if append_output(&mut output, step) {
            return Ok(output);
        }
    }
    let lgroupmod = system::bin_path("lgroupmod")?;
    for group in groups {
        let step = system::run(
            &[lgroupmod.clone(), "-M".into(), request.name.clone(), group],
            options,
        );
        if append_output(&mut output, step) {
            return Ok(output);
        }
    }
    Ok(output)
}

/// Adds a later command's output; returns true when it failed.
fn append_output(output: &mut Output, step: Output) -> bool {
    output.rc = step.rc;
    output.stdout.push_str(&step.stdout);
    output.stderr.push_str(&step.stderr);
    step.rc != 0
}

fn join(groups: &BTreeSet<String>) -> String {
    groups.iter().cloned().collect::<Vec<_>>().join(",")
}

/// Returns the requested supplementary groups as given, each checked to exist. With `primary`,
/// the group whose gid it is is dropped (`get_groups_set(remove_existing=True)`).
fn requested_groups(
    request: &Request,
    accounts: &Accounts,
    primary: Option<i64>,
) -> Result<BTreeSet<String>, Failure> {
    let mut groups = BTreeSet::new();
    for group in request.params.strings("groups") {
        let group = group.trim().to_string();
        if group.is_empty() {
            continue;
        }
        let Some(entry) = accounts.group_by_id_or_name(&group) else {
            return Err(Failure::new(format!("Group {group} does not exist")));
        };
        if primary != Some(entry.gid) {
            groups.insert(group);
        }
    }
    Ok(groups)
}

/// Returns the requested groups by name, as
/// `get_groups_set(remove_existing=False, names_only=True)`.
fn requested_group_names(
    request: &Request,
    accounts: &Accounts,
) -> Result<BTreeSet<String>, Failure> {
    let mut names = BTreeSet::new();
    for group in requested_groups(request, accounts, None)? {
        if let Some(entry) = accounts.group_by_id_or_name(&group) {
            names.insert(entry.name);
        }
    }
    Ok(names)
}

/// Runs the `usermod` call that brings the account to the request, or returns `None` when
/// the account matches.
fn modify(
    request: &Request,
    options: &ModuleOptions,
    accounts: &Accounts,
    info: &PasswdEntry,
) -> Result<Option<Output>, Failure> {
    let params = request.params;
    let mut argv = vec![request.tool("usermod")?];
    let (password, current_expires) = current_password(accounts, info);
    if let Some(uid) = params.int("uid").filter(|uid| *uid != info.uid) {
        argv.extend(["-u".into(), uid.to_string()]);
        if params.flag("non_unique") {
            argv.push("-o".into());
        }
    }
    if let Some(group) = request.str("group") {
        let Some(entry) = accounts.group_by_id_or_name(&group) else {
            return Err(Failure::new(format!("Group {group} does not exist")));
        };
        if entry.gid != info.gid {
            argv.extend(["-g".into(), entry.gid.to_string()]);
        }
    }
    let mut group_changes = GroupChanges::default();
    if let Some(groups) = &request.groups {
        group_changes = group_changes_for(request, accounts, groups)?;
        if let Some(flags) = &group_changes.usermod_args {
            if !request.local {
                argv.extend(flags.iter().cloned());
            }
        }
    }
    if let Some(comment) = request.str("comment").filter(|c| *c != info.gecos) {
        argv.extend(["-c".into(), comment]);
    }
    if let Some(home) = request.home.clone().filter(|home| *home != info.home) {
        argv.extend(["-d".into(), home]);
        if params.flag("move_home") {
            argv.push("-m".into());
        }
    }
    if let Some(shell) = request.str("shell").filter(|shell| *shell != info.shell) {
        argv.extend(["-s".into(), shell]);
    }
    let lexpires = expiry_change(request, current_expires, &mut argv);
    if let Some(inactive) = params.int("password_expire_account_disable") {
        argv.extend(["-f".into(), inactive.to_string()]);
    }
    let lock = params.get("password_lock").and_then(Value::as_bool);
    if lock == Some(true) && !password.starts_with('!') {
        argv.push("-L".into());
    } else if lock == Some(false) && password.starts_with('!') {
        argv.push("-U".into());
    }
    if let Some(new) = request.str("password") {
        let always = params.str("update_password") == Some("always");
        if always && password.trim_start_matches('!') != new.trim_start_matches('!') {
            argv.retain(|arg| arg != "-U" && arg != "-L");
            argv.push("-p".into());
            argv.push(if lock == Some(true) {
                format!("!{new}")
            } else {
                new
            });
        }
    }
    let mut output = None;
    if argv.len() > 1 {
        argv.push(request.name.clone());
        output = Some(if options.check_mode {
            Output::default()
        } else {
            system::run(&argv, options)
        });
    }
    if !request.local || output.as_ref().is_some_and(|output| output.rc != 0) {
        return Ok(output);
    }
    local_modify_steps(request, options, lexpires, group_changes, output)
}

/// Runs the `lchage` and `lgroupmod` calls of `local: true`.
fn local_modify_steps(
    request: &Request,
    options: &ModuleOptions,
    lexpires: Option<i64>,
    changes: GroupChanges,
    mut output: Option<Output>,
) -> Result<Option<Output>, Failure> {
    let mut steps = Vec::new();
    if let Some(days) = lexpires {
        steps.push(vec![
            system::bin_path("lchage")?,
            "-E".into(),
            days.to_string(),
            request.name.clone(),
        ]);
    }
    let lgroupmod = system::bin_path("lgroupmod")?;
    for (flag, groups) in [("-M", changes.local_add), ("-m", changes.local_remove)] {
        for group in groups {
            steps.push(vec![
                lgroupmod.clone(),
                flag.into(),
                request.name.clone(),
                group,
            ]);
        }
    }
    for step in steps {
        let step_output = if options.check_mode {
            Output::default()
        } else {
            system::run(&step, options)
        };
        let combined = output.get_or_insert_with(Output::default);
        if append_output(combined, step_output) {
            break;
        }
    }
    Ok(output)
}

#[derive(Default)]
struct GroupChanges {
    /// `-a -G list` or `-G list` for usermod, when the membership must change.
    usermod_args: Option<Vec<String>>,
    local_add: BTreeSet<String>,
    local_remove: BTreeSet<String>,
}

fn group_changes_for(
    request: &Request,
    accounts: &Accounts,
    groups: &str,
) -> Result<GroupChanges, Failure> {
    let append = request.params.flag("append");
    let current: BTreeSet<String> = accounts
        .groups()
        .into_iter()
        .filter(|group| group.members.contains(&request.name))
        .map(|group| group.name)
        .collect();
    let mut changes = GroupChanges::default();
    let wanted = if groups.is_empty() {
        if current.is_empty() || append {
            return Ok(changes);
        }
        BTreeSet::new()
    } else {
        let wanted = requested_group_names(request, accounts)?;
        let differing: BTreeSet<&String> = current.symmetric_difference(&wanted).collect();
        if differing.is_empty() {
            return Ok(changes);
        }
        if append && !wanted.iter().any(|group| differing.contains(group)) {
            return Ok(changes);
        }
        wanted
    };
    let mut args = Vec::new();
    if append && !groups.is_empty() {
        // NOTE: assumes usermod has `-a`, as shadow-utils' has had for years;
        // ansible-core checks `usermod --help` and falls back to `-A`.
        args.push("-a".to_string());
    }
    args.extend(["-G".to_string(), join(&wanted)]);
    changes.usermod_args = Some(args);
    changes.local_add = wanted.difference(&current).cloned().collect();
    if !append {
        changes.local_remove = current.difference(&wanted).cloned().collect();
    }
    Ok(changes)
}

/// Returns the password field (from shadow when passwd has a placeholder) and the expiry.
fn current_password(accounts: &Accounts, info: &PasswdEntry) -> (String, i64) {
    let shadow = accounts.shadow(&info.name);
    let expires = shadow.as_ref().map_or(-1, |(_, expires)| *expires);
    if info.password.len() <= 1 {
        (shadow.map(|(hash, _)| hash).unwrap_or_default(), expires)
    } else {
        (info.password.clone(), expires)
    }
}

/// Adds `-e` to `argv` when the expiry date differs; returns the days for `lchage` of
/// `local: true` instead.
fn expiry_change(request: &Request, current: i64, argv: &mut Vec<String>) -> Option<i64> {
    let expires = request.params.get("expires").and_then(float_value)?;
    if expires < 0.0 {
        if current < 0 {
            return None;
        }
        if request.local {
            return Some(-1);
        }
        argv.extend(["-e".into(), String::new()]);
        return None;
    }
    let wanted = crate::time::civil_from_days((expires.floor() as i64).div_euclid(86_400));
    if current >= 0 && crate::time::civil_from_days(current) == wanted {
        return None;
    }
    if request.local {
        return Some((expires.floor() as i64).div_euclid(86_400));
    }
    argv.extend(["-e".into(), date_text(expires)]);
    None
}

fn float_value(value: &Value) -> Option<f64> {
    match value {
        Value::Float(number) => Some(*number),
        Value::Int(number) => Some(*number as f64),
        _ => None,
    }
}

fn date_text(seconds: f64) -> String {
    let (year, month, day) =
        crate::time::civil_from_days((seconds.floor() as i64).div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}")
}

/// Runs `chage` when a password ageing option differs from the shadow entry.
fn set_password_expire(
    request: &Request,
    options: &ModuleOptions,
    accounts: &Accounts,
) -> Result<Option<Output>, Failure> {
    let shadow_fields = shadow_ageing(accounts, &request.name);
    let mut argv = Vec::new();
    for (option, flag, index) in [
        ("password_expire_min", "-m", 0),
        ("password_expire_max", "-M", 1),
        ("password_expire_warn", "-W", 2),
    ] {
        if let Some(value) = request.params.int(option) {
            if shadow_fields.is_some_and(|fields| fields[index] == value) {
                continue;
            }
            argv.extend([flag.to_string(), value.to_string()]);
        }
    }
    if argv.is_empty() {
        return Ok(None);
    }
    if options.check_mode {
        return Ok(Some(Output::default()));
    }
    let mut command = vec![system::bin_path("chage")?];
    command.extend(argv);
    command.push(request.name.clone());
    Ok(Some(system::run(&command, options)))
}

/// Reads the minimum, maximum and warning days of the shadow entry, -1 where empty.
fn shadow_ageing(accounts: &Accounts, name: &str) -> Option<[i64; 3]> {
    let text = std::fs::read_to_string(accounts.root.join("etc/shadow")).ok()?;
    let line = text
        .lines()
        .find(|line| line.split(':').next() == Some(name))?;
    let fields: Vec<&str> = line.split(':').collect();
    let day = |index: usize| fields.get(index).and_then(|f| f.parse().ok()).unwrap_or(-1);
    Some([day(3), day(4), day(5)])
}

/// Creates a home directory from the skeleton, with the mode `/etc/login.defs` sets.
fn create_homedir(request: &Request, path: &Path) -> Result<(), Failure> {
    if path.exists() {
        return Ok(());
    }
    let skeleton = PathBuf::from(
        request
            .str("skeleton")
            .unwrap_or_else(|| "/etc/skel".into()),
    );
    let created = if skeleton.exists() && skeleton != Path::new("/dev/null") {
        copy_tree(&skeleton, path)
    } else {
        std::fs::create_dir_all(path)
    };
    created.map_err(|err| Failure::new(crate::files::os_error(&err)))?;
    if let Ok(defs) = std::fs::read_to_string("/etc/login.defs") {
        let mode = home_mode(&defs);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|err| Failure::new(crate::files::os_error(&err)))?;
    }
    Ok(())
}

/// `HOME_MODE`, else the complement of `UMASK`, else 0755.
fn home_mode(defs: &str) -> u32 {
    let mut mode = 0o755;
    for line in defs.lines() {
        let mut words = line.split_whitespace();
        let (Some(key), Some(value), None) = (words.next(), words.next(), words.next()) else {
            continue;
        };
        if !value.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let Ok(number) = u32::from_str_radix(value, 8) else {
            continue;
        };
        match key {
            "HOME_MODE" => return number,
            "UMASK" => mode = 0o777 & !number,
            _ => {}
        }
    }
    mode
}

fn copy_tree(source: &Path, dest: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dest)?;
    for entry in std::fs::read_dir(source)? {
        let entry = entry?;
        let target = dest.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Gives a home directory and everything in it to the user (symlinks keep their owner).
fn chown_tree(path: &Path, uid: i64, gid: i64) -> Result<(), Failure> {
    let fail = |err: std::io::Error| Failure::new(crate::files::os_error(&err));
    let (uid, gid) = (uid as u32, gid as u32);
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(fail)?;
    let Ok(entries) = std::fs::read_dir(path) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let kind = entry.file_type().map_err(fail)?;
        if kind.is_dir() {
            chown_tree(&entry.path(), i64::from(uid), i64::from(gid))?;
        } else if !kind.is_symlink() {
            std::os::unix::fs::chown(entry.path(), Some(uid), Some(gid)).map_err(fail)?;
        }
    }
    Ok(())
}

/// `check_password_encrypted`: a value that does not look like a crypt(3) hash.
fn password_looks_unhashed(password: &str) -> bool {
    if ["*", "!", "*************"].contains(&password) {
        return false;
    }
    if password.contains([':', '*', '!']) || !password.contains('$') {
        return true;
    }
    let fields: Vec<&str> = password.split('$').collect();
    if fields.len() < 3 {
        return true;
    }
    let last = fields[fields.len() - 1];
    let bad_char = last
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '=')));
    let expected_length = match fields[1] {
        "1" => Some(22),
        "5" | "y" => Some(43),
        "6" => Some(86),
        _ => None,
    };
    bad_char || expected_length.is_some_and(|length| last.len() != length)
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
        let home = dir.path().join("home");
        std::fs::write(
            dir.path().join("etc/passwd"),
            format!(
                "deploy:x:2001:2001:Deploy user:{}:/bin/bash\n",
                home.display()
            ),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("etc/group"),
            "kube:x:2001:\netcd:x:990:deploy\ndocker:x:991:\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("etc/shadow"),
            "deploy:!:19000:0:99999:7:::\n",
        )
        .unwrap();
        std::fs::create_dir(&home).unwrap();
        let accounts = Accounts {
            root: dir.path().to_path_buf(),
        };
        (dir, accounts)
    }

    fn check_mode() -> ModuleOptions {
        ModuleOptions {
            check_mode: true,
            ..ModuleOptions::default()
        }
    }

    fn run_on(accounts: &Accounts, params: &Params, options: &ModuleOptions) -> Map {
        run_checked(params, options, accounts, &mut Vec::new()).unwrap()
    }

    #[test]
    fn matching_account_is_unchanged() {
        let (_dir, accounts) = temp_accounts();
        let params = params(&[
            ("name", Value::from("deploy")),
            ("uid", Value::Int(2001)),
            ("group", Value::from("kube")),
            ("groups", Value::list(vec![Value::from("etcd")])),
            ("shell", Value::from("/bin/bash")),
            ("comment", Value::from("Deploy user")),
            ("password_lock", Value::Bool(true)),
        ]);
        let result = run_on(&accounts, &params, &check_mode());
        assert_eq!(result.get("changed"), Some(&Value::Bool(false)));
        assert_eq!(result.get("groups"), Some(&Value::from("etcd")));
        assert_eq!(result.get("group"), Some(&Value::Int(2001)));
        assert_eq!(result.get("append"), Some(&Value::Bool(false)));
    }

    #[test]
    fn differing_groups_change() {
        let (_dir, accounts) = temp_accounts();
        let replace = params(&[
            ("name", Value::from("deploy")),
            ("groups", Value::list(vec![Value::from("docker")])),
        ]);
        let result = run_on(&accounts, &replace, &check_mode());
        assert_eq!(result.get("changed"), Some(&Value::Bool(true)));
        let append_present = params(&[
            ("name", Value::from("deploy")),
            ("groups", Value::list(vec![Value::from("etcd")])),
            ("append", Value::Bool(true)),
        ]);
        let result = run_on(&accounts, &append_present, &check_mode());
        assert_eq!(result.get("changed"), Some(&Value::Bool(false)));
    }

    #[test]
    fn missing_group_fails() {
        let (_dir, accounts) = temp_accounts();
        let params = params(&[
            ("name", Value::from("deploy")),
            ("groups", Value::list(vec![Value::from("nope")])),
        ]);
        let failure = run_checked(&params, &check_mode(), &accounts, &mut Vec::new()).unwrap_err();
        assert_eq!(failure.msg, "Group nope does not exist");
    }

    #[test]
    fn check_mode_create_and_remove() {
        let (_dir, accounts) = temp_accounts();
        let create = params(&[("name", Value::from("new"))]);
        assert_eq!(run_on(&accounts, &create, &check_mode()), changed_only());
        let remove = params(&[
            ("name", Value::from("deploy")),
            ("state", Value::from("absent")),
        ]);
        let result = run_on(&accounts, &remove, &check_mode());
        assert_eq!(result.get("changed"), Some(&Value::Bool(true)));
    }

    #[test]
    fn unhashed_password_detected() {
        assert!(password_looks_unhashed("secret"));
        assert!(!password_looks_unhashed("!"));
        let sha512 = format!("$6$salt${}", "a".repeat(86));
        assert!(!password_looks_unhashed(&sha512));
        assert!(password_looks_unhashed("$6$salt$short"));
    }

    #[test]
    fn home_mode_from_login_defs() {
        assert_eq!(home_mode("UMASK 022\n"), 0o755);
        assert_eq!(home_mode("UMASK 077\nHOME_MODE 0700\n"), 0o700);
        assert_eq!(home_mode("# nothing\n"), 0o755);
    }
}
