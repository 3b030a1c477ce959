//! The connection variables ansible-core adds to a task's variables when the host's own
//! variables lack them: `ansible_host` set to the inventory name, `ansible_timeout`,
//! `ansible_pipelining` and the like. They are not host variables: `hostvars` never
//! shows them, and a `loop` expression, evaluated before them, cannot read them.
//!
//! ansible-core 2.18 adds two slightly different sets. `PlayContext.update_vars` fills
//! the variables of `when` and of the task's arguments, with the `ansible_ssh_*` aliases.
//! The connection plugin's `update_vars` fills the variables of the action,
//! `changed_when`, `failed_when` and `until`, without the aliases but with
//! `ansible_shell_type`.

use super::context::TaskContext;
use super::Executor;
use crate::playbook::value_text;
use crate::template::Variables;
use crate::vars::HostVars;
use crate::{Map, Value};

/// The set of ansible-core's connection variables that a task stage reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ConnectionVarsStage {
    /// `when` and the task's arguments: the play context's variables.
    Arguments,
    /// The action and the conditions on its result: the connection plugin's variables.
    Action,
}

/// ansible-core's `module_compression` default; rplay has no such setting.
const MODULE_COMPRESSION: &str = "ZIP_DEFLATED";

/// ansible-core's `executable` default, the shell modules run under.
const SHELL_EXECUTABLE: &str = "/bin/sh";

impl Executor<'_> {
    /// Returns `vars` with the connection variables of `stage` below all others, so
    /// that a variable the host defines keeps its value.
    ///
    /// NOTE: ansible-core leaves them out of `vars`; rplay's `vars` lists them.
    pub(super) fn with_connection_vars(
        &self,
        context: &TaskContext,
        host: &str,
        vars: &HostVars,
        stage: ConnectionVarsStage,
    ) -> HostVars {
        vars.with_defaults(self.connection_vars(context, host, vars, stage))
    }

    fn connection_vars(
        &self,
        context: &TaskContext,
        host: &str,
        vars: &HostVars,
        stage: ConnectionVarsStage,
    ) -> Map {
        // A delegated task connects with the delegate's variables.
        let delegation = self
            .delegations
            .get(host)
            .filter(|delegation| delegation.name != host);
        // Values stay raw: the variables template them when a template reads them.
        let source = |names: &[&str]| -> Option<Value> {
            names.iter().find_map(|name| {
                let value = match delegation {
                    Some(delegation) => delegation.inventory_vars.get(*name).cloned(),
                    None => vars.get(name),
                }?;
                (!value.is_null()).then_some(value)
            })
        };
        let defaults = &self.options.connection;
        let name = delegation.map_or(host, |delegation| delegation.name.as_str());

        let connection = match source(&["ansible_connection"])
            .and_then(|value| self.templar.template(&value, vars).ok())
            .map(|value| value_text(&value))
        {
            Some(connection) if connection != "smart" => connection,
            _ => match defaults.transport.as_str() {
                "smart" => "ssh".to_string(),
                transport => transport.to_string(),
            },
        };
        let address =
            source(&["ansible_host", "ansible_ssh_host"]).unwrap_or_else(|| Value::from(name));
        let port = source(&["ansible_port", "ansible_ssh_port"])
            .or_else(|| defaults.remote_port.map(|port| Value::Int(i64::from(port))));
        let user = source(&["ansible_user", "ansible_ssh_user"])
            .or_else(|| self.remote_user_keyword(context, vars))
            .or_else(|| defaults.configured_remote_user.clone().map(Value::from));
        let pipelining = source(&["ansible_pipelining", "ansible_ssh_pipelining"])
            .and_then(|value| self.templar.template(&value, vars).ok())
            .map_or(self.options.pipelining, |value| {
                super::task::truthy_keyword(&value)
            });
        let timeout = source(&["ansible_timeout", "ansible_ssh_timeout"])
            .unwrap_or_else(|| Value::Int(defaults.timeout as i64));
        let private_key = source(&["ansible_private_key_file", "ansible_ssh_private_key_file"])
            .or_else(|| {
                defaults
                    .private_key
                    .as_ref()
                    .map(|path| Value::from(path.display().to_string()))
            });
        let shell_executable =
            source(&["ansible_shell_executable"]).unwrap_or_else(|| Value::from(SHELL_EXECUTABLE));

        let mut added = Map::new();
        let mut add = |names: &[&str], value: Option<Value>| {
            let Some(value) = value else {
                return;
            };
            let names = match stage {
                ConnectionVarsStage::Arguments => names,
                ConnectionVarsStage::Action => &names[..1],
            };
            for name in names {
                added.insert(Value::from(*name), value.clone());
            }
        };
        add(&["ansible_connection"], Some(Value::from(connection)));
        add(
            &["ansible_module_compression"],
            Some(Value::from(MODULE_COMPRESSION)),
        );
        add(&["ansible_shell_executable"], Some(shell_executable));
        add(&["ansible_host", "ansible_ssh_host"], Some(address));
        add(&["ansible_user", "ansible_ssh_user"], user);
        add(&["ansible_port", "ansible_ssh_port"], port);
        add(
            &["ansible_pipelining", "ansible_ssh_pipelining"],
            Some(Value::Bool(pipelining)),
        );
        add(&["ansible_timeout", "ansible_ssh_timeout"], Some(timeout));
        add(
            &["ansible_private_key_file", "ansible_ssh_private_key_file"],
            private_key,
        );
        if stage == ConnectionVarsStage::Action {
            add(&["ansible_shell_type"], Some(Value::from("sh")));
        }
        added
    }

    /// Returns the task's `remote_user` keyword, templated, or `None` when it is unset,
    /// null or invalid.
    fn remote_user_keyword(&self, context: &TaskContext, vars: &HostVars) -> Option<Value> {
        let keyword = context.keyword("remote_user")?;
        let value = self.templar.template(&keyword.value, vars).ok()?;
        (!value.is_null()).then_some(value)
    }
}
