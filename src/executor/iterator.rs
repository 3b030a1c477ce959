//! The play iterator: which task each host runs next, as ansible-core's `PlayIterator`
//! and the linear strategy decide it.
//!
//! A play compiles to a tree of blocks whose leaves are task slots. Each host walks the
//! tree with its own cursor, entering `rescue` and `always` sections when a task fails.
//! The linear strategy runs hosts in lockstep: of the tasks the hosts want next, it runs
//! the first one in the play's global task order, and the hosts that want another task
//! wait. The iterator is a pure state machine: it runs nothing and is tested on its own.

use std::sync::Arc;

use crate::playbook::{Block, Item, Task};

/// Index of a task slot in [`PlayProgram::slots`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotId(pub usize);

/// The blocks, roles and includes that enclose a task, innermost last.
#[derive(Debug)]
pub struct Scope {
    pub kind: ScopeKind,
    pub parent: Option<Arc<Scope>>,
}

#[derive(Debug)]
pub enum ScopeKind {
    /// A block written in a task list, an `import_tasks`, or a role.
    Block(Arc<Block>),
    /// The tasks an `include_tasks` or `include_role` brought in for some hosts.
    Include(Arc<IncludeScope>),
}

/// The include task whose file was included, with its templated parameters.
#[derive(Debug)]
pub struct IncludeScope {
    pub task: Arc<Task>,
    pub task_scope: Option<Arc<Scope>>,
    /// Variables the include passes to the included tasks (`vars:` and role params).
    pub vars: crate::Map,
    pub role: Option<Arc<crate::playbook::RoleInstance>>,
    /// The tasks file as the include task named it, after templating; empty for a role.
    pub target: String,
}

impl Scope {
    /// Enclosing scopes from the outermost to this one.
    pub fn chain(self: &Arc<Scope>) -> Vec<Arc<Scope>> {
        let mut chain = Vec::new();
        let mut current = Some(self.clone());
        while let Some(scope) = current {
            current = scope.parent.clone();
            chain.push(scope);
        }
        chain.reverse();
        chain
    }
}

/// A task occurrence in the play.
#[derive(Debug)]
pub struct TaskSlot {
    pub id: SlotId,
    pub task: Arc<Task>,
    pub scope: Option<Arc<Scope>>,
    /// Set for the `meta: flush_handlers` the engine adds after each section.
    pub implicit_flush: bool,
}

/// A node of the compiled tree.
#[derive(Clone, Debug)]
pub enum Node {
    Task(SlotId),
    Block(Arc<BlockNode>),
}

#[derive(Debug)]
pub struct BlockNode {
    pub body: Vec<Node>,
    pub rescue: Vec<Node>,
    pub always: Vec<Node>,
}

/// A play's tasks: the slots, the tree, and the global order used by the lockstep.
#[derive(Debug, Default)]
pub struct PlayProgram {
    pub slots: Vec<Arc<TaskSlot>>,
    pub root: Vec<Node>,
    /// Slots in play order; included slots are inserted after their include.
    order: Vec<SlotId>,
    /// Where the lockstep search for the next task starts.
    cursor: usize,
    /// How many included slots follow each include slot in `order`.
    included_after: std::collections::HashMap<SlotId, usize>,
}

impl PlayProgram {
    /// Compiles task sections into one program, with an implicit `flush_handlers` after
    /// each section as ansible-core's `Play.compile` adds them (pre_tasks; roles and
    /// tasks together; post_tasks).
    ///
    /// `setup`, when given, is the implicit `Gathering Facts` task, which runs first.
    ///
    /// With `force_handlers`, each of the three parts is the body of a block whose
    /// `always` is the flush, as ansible-core compiles such a play: a host that fails
    /// still runs the handlers notified so far.
    pub fn compile(
        sections: &[&[Item]],
        flush_task: &Arc<Task>,
        setup: Option<&Arc<Task>>,
        force_handlers: bool,
    ) -> PlayProgram {
        let mut program = PlayProgram::default();
        if let Some(setup) = setup {
            let slot = program.add_slot(setup.clone(), None, false);
            program.root.push(Node::Task(slot));
        }
        let flush_after = [0, 2, 3];
        let mut part = Vec::new();
        for (index, section) in sections.iter().enumerate() {
            part.extend(program.compile_items(section, None));
            if flush_after.contains(&index) {
                let flush = Node::Task(program.add_slot(flush_task.clone(), None, true));
                if force_handlers {
                    program.root.push(Node::Block(Arc::new(BlockNode {
                        body: std::mem::take(&mut part),
                        rescue: Vec::new(),
                        always: vec![flush],
                    })));
                } else {
                    program.root.append(&mut part);
                    program.root.push(flush);
                }
            }
        }
        program.root.append(&mut part);
        program.order = (0..program.slots.len()).map(SlotId).collect();
        program
    }

    fn add_slot(
        &mut self,
        task: Arc<Task>,
        scope: Option<Arc<Scope>>,
        implicit_flush: bool,
    ) -> SlotId {
        let id = SlotId(self.slots.len());
        self.slots.push(Arc::new(TaskSlot {
            id,
            task,
            scope,
            implicit_flush,
        }));
        id
    }

    /// Compiles items under `scope` into nodes, creating their slots.
    pub fn compile_items(&mut self, items: &[Item], scope: Option<&Arc<Scope>>) -> Vec<Node> {
        items
            .iter()
            .map(|item| match item {
                Item::Task(task) => Node::Task(self.add_slot(task.clone(), scope.cloned(), false)),
                Item::Block(block) => {
                    let inner = Arc::new(Scope {
                        kind: ScopeKind::Block(block.clone()),
                        parent: scope.cloned(),
                    });
                    Node::Block(Arc::new(BlockNode {
                        body: self.compile_items(&block.block, Some(&inner)),
                        rescue: self.compile_items(&block.rescue, Some(&inner)),
                        always: self.compile_items(&block.always, Some(&inner)),
                    }))
                }
            })
            .collect()
    }

    /// Compiles included items and places their slots after `after` in the global
    /// order, behind the slots earlier inclusions of the same task placed there.
    pub fn compile_included(
        &mut self,
        items: &[Item],
        scope: &Arc<Scope>,
        after: SlotId,
    ) -> Vec<Node> {
        let first = self.slots.len();
        let nodes = self.compile_items(items, Some(scope));
        let added: Vec<SlotId> = (first..self.slots.len()).map(SlotId).collect();
        let already = self.included_after.get(&after).copied().unwrap_or(0);
        let position = self
            .order
            .iter()
            .position(|id| *id == after)
            .map_or(self.order.len(), |p| p + 1 + already);
        let count = added.len();
        self.order.splice(position..position, added);
        *self.included_after.entry(after).or_default() += count;
        nodes
    }

    pub fn slot(&self, id: SlotId) -> &Arc<TaskSlot> {
        &self.slots[id.0]
    }

    /// Picks the task the linear strategy runs next: the first slot, in global order
    /// from the cursor on, that one of the `wanted` slots is. Returns `None` when no
    /// host wants a task.
    pub fn next_lockstep(&mut self, wanted: &[SlotId]) -> Option<SlotId> {
        if wanted.is_empty() {
            return None;
        }
        for _round in 0..2 {
            while self.cursor < self.order.len() {
                let id = self.order[self.cursor];
                self.cursor += 1;
                if wanted.contains(&id) {
                    return Some(id);
                }
            }
            self.cursor = 0;
        }
        // Every wanted slot is in the order, so this is unreachable in practice; fall
        // back to the lowest slot rather than stalling.
        wanted.iter().min().copied()
    }
}

/// Which list of a block a cursor is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Body,
    Rescue,
    Always,
}

#[derive(Clone, Debug)]
struct Frame {
    block: Arc<BlockNode>,
    section: Section,
    index: usize,
    /// A failure in this block that `rescue` has not handled yet.
    failed: bool,
}

/// Where one host is in the play.
#[derive(Clone, Debug)]
pub struct HostState {
    frames: Vec<Frame>,
    /// The host failed and no rescue handled it; it runs no more tasks.
    pub failed: bool,
    /// Counts rescues that completed.
    pub rescued: u32,
}

impl HostState {
    pub fn new(program: &PlayProgram) -> HostState {
        let root = Arc::new(BlockNode {
            body: program.root.clone(),
            rescue: Vec::new(),
            always: Vec::new(),
        });
        HostState {
            frames: vec![Frame {
                block: root,
                section: Section::Body,
                index: 0,
                failed: false,
            }],
            failed: false,
            rescued: 0,
        }
    }

    /// Returns the host's next task without moving past it.
    pub fn peek(&self) -> Option<SlotId> {
        self.clone().advance()
    }

    /// Moves to the host's next task and returns it; `None` when the host is done.
    pub fn advance(&mut self) -> Option<SlotId> {
        loop {
            if self.failed {
                return None;
            }
            let frame = self.frames.last_mut()?;
            let list = match frame.section {
                Section::Body => &frame.block.body,
                Section::Rescue => &frame.block.rescue,
                Section::Always => &frame.block.always,
            };
            if let Some(node) = list.get(frame.index).cloned() {
                frame.index += 1;
                match node {
                    Node::Task(slot) => return Some(slot),
                    Node::Block(block) => self.frames.push(Frame {
                        block,
                        section: Section::Body,
                        index: 0,
                        failed: false,
                    }),
                }
                continue;
            }
            self.finish_section();
        }
    }

    /// Moves on when the current section of the innermost block has no more tasks.
    fn finish_section(&mut self) {
        let Some(frame) = self.frames.last_mut() else {
            return;
        };
        match frame.section {
            Section::Body | Section::Rescue => {
                if frame.section == Section::Rescue {
                    // The rescue section ran to its end: the failure is handled.
                    frame.failed = false;
                    self.rescued += 1;
                }
                if frame.block.always.is_empty() {
                    self.pop_frame();
                } else {
                    frame.section = Section::Always;
                    frame.index = 0;
                }
            }
            Section::Always => self.pop_frame(),
        }
    }

    fn pop_frame(&mut self) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        if frame.failed {
            self.fail_in_current();
        }
    }

    /// Tells whether a failure now is handled by a `rescue`: whether one of the blocks
    /// the host is in runs its body and has a rescue section, as ansible-core's
    /// `is_any_block_rescuing`. An inner block's `always` may run first.
    pub fn any_block_rescuing(&self) -> bool {
        self.frames
            .iter()
            .any(|frame| frame.section == Section::Body && !frame.block.rescue.is_empty())
    }

    /// Records that the task the host just ran failed (and was not ignored).
    pub fn mark_failed(&mut self) {
        self.fail_in_current();
    }

    fn fail_in_current(&mut self) {
        let Some(frame) = self.frames.last_mut() else {
            self.failed = true;
            return;
        };
        match frame.section {
            Section::Body if !frame.block.rescue.is_empty() => {
                frame.section = Section::Rescue;
                frame.index = 0;
                frame.failed = true;
            }
            Section::Body | Section::Rescue => {
                frame.failed = true;
                if frame.block.always.is_empty() {
                    self.pop_failed_frame();
                } else {
                    frame.section = Section::Always;
                    frame.index = 0;
                }
            }
            Section::Always => {
                frame.failed = true;
                self.pop_failed_frame();
            }
        }
    }

    fn pop_failed_frame(&mut self) {
        self.frames.pop();
        if self.frames.is_empty() {
            self.failed = true;
        } else {
            self.fail_in_current();
        }
    }

    /// Inserts included nodes to run next, as ansible-core's `add_tasks`.
    pub fn insert(&mut self, nodes: Vec<Node>) {
        if nodes.is_empty() {
            return;
        }
        self.frames.push(Frame {
            block: Arc::new(BlockNode {
                body: nodes,
                rescue: Vec::new(),
                always: Vec::new(),
            }),
            section: Section::Body,
            index: 0,
            failed: false,
        });
    }

    /// Forgets the failures the host's open blocks carry, as `meta: clear_host_errors`
    /// does: a host in an `always` section after a failure goes on when it ends. A host
    /// that already left the play stays out of it.
    pub fn clear_errors(&mut self) {
        for frame in &mut self.frames {
            frame.failed = false;
        }
    }

    /// Tells whether the host's next task is in a `rescue` or `always` section of its
    /// innermost block, where ansible-core 2.16's `any_errors_fatal` check lets it go on.
    pub fn continues_in_rescue_or_always(&self) -> bool {
        let mut next = self.clone();
        if next.advance().is_none() {
            return false;
        }
        next.frames
            .last()
            .is_some_and(|frame| matches!(frame.section, Section::Rescue | Section::Always))
    }

    /// Stops the host, as `meta: end_host` or an unreachable host does.
    pub fn end(&mut self) {
        self.frames.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::{BlockKind, Inherited};
    use crate::source::{SourceFile, Span};

    fn span() -> Span {
        Span::new(SourceFile::new("test.yml", ""), 1, 1)
    }

    fn task(name: &str) -> Item {
        Item::Task(Arc::new(Task {
            span: span(),
            name: Some(name.to_string()),
            action: "debug".to_string(),
            args: crate::Map::new(),
            inherited: Inherited::default(),
            keywords: Vec::new(),
            loop_lookup: None,
            implicit: false,
        }))
    }

    fn block(body: Vec<Item>, rescue: Vec<Item>, always: Vec<Item>) -> Item {
        Item::Block(Arc::new(Block {
            span: span(),
            kind: BlockKind::Explicit,
            name: None,
            block: body,
            rescue,
            always,
            inherited: Inherited::default(),
        }))
    }

    fn flush() -> Arc<Task> {
        match task("flush") {
            Item::Task(task) => task,
            Item::Block(_) => unreachable!(),
        }
    }

    fn name(program: &PlayProgram, slot: SlotId) -> String {
        program.slot(slot).task.name.clone().unwrap_or_default()
    }

    /// Runs one host to the end, failing the tasks named in `fail`.
    fn run(program: &PlayProgram, fail: &[&str]) -> (Vec<String>, HostState) {
        let mut state = HostState::new(program);
        let mut ran = Vec::new();
        while let Some(slot) = state.advance() {
            let task = name(program, slot);
            if fail.contains(&task.as_str()) {
                state.mark_failed();
            }
            ran.push(task);
        }
        (ran, state)
    }

    #[test]
    fn sections_get_flushes() {
        let tasks = [task("a")];
        let program = PlayProgram::compile(&[&tasks, &[], &[], &[]], &flush(), None, false);
        let (ran, state) = run(&program, &[]);
        assert_eq!(ran, ["a", "flush", "flush", "flush"]);
        assert!(!state.failed);
    }

    #[test]
    fn rescue_handles_failure() {
        let tasks = [
            block(vec![task("a"), task("b")], vec![task("r")], vec![task("z")]),
            task("after"),
        ];
        let program = PlayProgram::compile(&[&[], &[], &tasks, &[]], &flush(), None, false);
        let (ran, state) = run(&program, &["a"]);
        assert_eq!(ran, ["flush", "a", "r", "z", "after", "flush", "flush"]);
        assert!(!state.failed);
        assert_eq!(state.rescued, 1);
    }

    #[test]
    fn always_runs_then_host_fails() {
        let tasks = [
            block(vec![task("a"), task("b")], vec![], vec![task("z")]),
            task("after"),
        ];
        let program = PlayProgram::compile(&[&[], &[], &tasks, &[]], &flush(), None, false);
        let (ran, state) = run(&program, &["a"]);
        assert_eq!(ran, ["flush", "a", "z"]);
        assert!(state.failed);
    }

    #[test]
    fn failing_rescue_runs_always_and_fails() {
        let tasks = [
            block(vec![task("a")], vec![task("r")], vec![task("z")]),
            task("after"),
        ];
        let program = PlayProgram::compile(&[&[], &[], &tasks, &[]], &flush(), None, false);
        let (ran, state) = run(&program, &["a", "r"]);
        assert_eq!(ran, ["flush", "a", "r", "z"]);
        assert!(state.failed);
    }

    #[test]
    fn nested_failure_reaches_outer_rescue() {
        let inner = block(vec![task("a")], vec![], vec![task("inner-always")]);
        let tasks = [block(vec![inner, task("b")], vec![task("r")], vec![])];
        let program = PlayProgram::compile(&[&[], &[], &tasks, &[]], &flush(), None, false);
        let (ran, state) = run(&program, &["a"]);
        assert_eq!(ran, ["flush", "a", "inner-always", "r", "flush", "flush"]);
        assert!(!state.failed);
    }

    #[test]
    fn lockstep_picks_earliest_in_play_order() {
        let tasks = [block(vec![task("a")], vec![task("r")], vec![]), task("b")];
        let mut program = PlayProgram::compile(&[&[], &[], &tasks, &[]], &flush(), None, false);
        let mut one = HostState::new(&program);
        let mut two = HostState::new(&program);
        // Both run the first flush and `a`; `a` fails on host one only.
        for _ in 0..2 {
            let wanted = [one.peek().unwrap(), two.peek().unwrap()];
            let next = program.next_lockstep(&wanted).unwrap();
            assert_eq!(one.advance(), Some(next));
            assert_eq!(two.advance(), Some(next));
        }
        one.mark_failed();
        // Host one wants `r`, host two wants `b`: `r` comes first in the play.
        let wanted = [one.peek().unwrap(), two.peek().unwrap()];
        let next = program.next_lockstep(&wanted).unwrap();
        assert_eq!(name(&program, next), "r");
    }

    #[test]
    fn included_tasks_run_after_include() {
        let tasks = [task("include"), task("b")];
        let mut program = PlayProgram::compile(&[&[], &[], &tasks, &[]], &flush(), None, false);
        let mut state = HostState::new(&program);
        assert_eq!(name(&program, state.advance().unwrap()), "flush");
        let include = state.advance().unwrap();
        let scope = Arc::new(Scope {
            kind: ScopeKind::Include(Arc::new(IncludeScope {
                task: program.slot(include).task.clone(),
                task_scope: None,
                vars: crate::Map::new(),
                role: None,
                target: "x.yml".to_string(),
            })),
            parent: None,
        });
        let nodes = program.compile_included(&[task("x"), task("y")], &scope, include);
        state.insert(nodes);
        let rest: Vec<String> = std::iter::from_fn(|| state.advance())
            .map(|s| name(&program, s))
            .collect();
        assert_eq!(rest, ["x", "y", "b", "flush", "flush"]);
    }
}
