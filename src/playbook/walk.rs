//! Walking a play's tasks in the order ansible-core compiles them, with the chain of
//! enclosing blocks each task inherits from.

use std::sync::Arc;

use super::ast::{Block, BlockKind, Inherited, Item, Play, RoleInstance, Task};

/// The blocks enclosing a task, outermost first.
#[derive(Default)]
pub struct Ancestry<'a> {
    pub blocks: Vec<&'a Block>,
}

impl<'a> Ancestry<'a> {
    /// The keyword sets a task inherits from, outermost first (the play's not included).
    pub fn inherited(&self) -> impl Iterator<Item = &'a Inherited> + '_ {
        self.blocks.iter().map(|block| &block.inherited)
    }

    /// The innermost role the task belongs to.
    pub fn role(&self) -> Option<&'a Arc<RoleInstance>> {
        self.blocks
            .iter()
            .rev()
            .find_map(|block| match &block.kind {
                BlockKind::Role(role) => Some(role),
                _ => None,
            })
    }
}

/// A play's sections in execution order: `pre_tasks`, `roles`, `tasks`, `post_tasks`.
pub fn sections(play: &Play) -> [&[Item]; 4] {
    [&play.pre_tasks, &play.roles, &play.tasks, &play.post_tasks]
}

/// Which lists of a block a walk enters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sections {
    /// `block`, `rescue` and `always`.
    All,
    /// Only `block`, as ansible-playbook's `--list-tasks` walks.
    BlockOnly,
}

/// Calls `visit` for every task of `items`, depth first, with its ancestry.
pub fn for_each_task<'a>(
    items: &'a [Item],
    sections: Sections,
    ancestry: &mut Ancestry<'a>,
    visit: &mut dyn FnMut(&'a Task, &Ancestry<'a>),
) {
    for item in items {
        match item {
            Item::Task(task) => visit(task, ancestry),
            Item::Block(block) => {
                ancestry.blocks.push(block);
                for_each_task(&block.block, sections, ancestry, visit);
                if sections == Sections::All {
                    for_each_task(&block.rescue, sections, ancestry, visit);
                    for_each_task(&block.always, sections, ancestry, visit);
                }
                ancestry.blocks.pop();
            }
        }
    }
}

/// The name ansible-core shows for a task: `role : name`, `name`, or the action.
/// An `include_role` task shows its own name, or `include_role : ROLE`.
pub fn task_display_name(task: &Task, role: Option<&RoleInstance>) -> String {
    if task.short_action() == "include_role" {
        return match &task.name {
            Some(name) => name.clone(),
            None => {
                let target = task
                    .args
                    .get("name")
                    .or_else(|| task.args.get("role"))
                    .map(super::value_text)
                    .unwrap_or_default();
                format!("{} : {target}", task.action)
            }
        };
    }
    match (role, &task.name) {
        (Some(role), Some(name)) => format!("{} : {name}", role.name),
        (None, Some(name)) => name.clone(),
        (Some(role), None) => format!("{} : {}", role.name, task.action),
        (None, None) => task.action.clone(),
    }
}
