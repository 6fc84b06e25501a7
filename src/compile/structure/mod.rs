//! Structuring a node graph into Archy's structured control flow (pure logic).
//!
//! Archy has no goto inside an action list. What it has (archy-evidence.md, "Semantics"):
//! a branching action's outputs hold action lists, and a path that neither closes nor jumps
//! **merges back**: it continues with the next action after the branching action; a `loop`
//! runs its `outputs.loop.actions` again and again (at most `loopCount` times) and `loopExit`
//! leaves it, continuing after the loop action; closing actions (`disconnect`, `jumpToTask`)
//! end the path.
//!
//! The structurer turns a node graph into that form:
//! - a branching node's **merge** is a node it immediately dominates, entered by two or more
//!   edges, such that every path from the branch either reaches the merge or closes (never
//!   reaches the enclosing continuation, the start of the enclosing loop, or an End of a
//!   module first). Its branches are emitted up to the merge, and the merge follows the
//!   branching action; without a valid merge the branches run to the enclosing continuation;
//! - **[`Mode::Tasks`]** (inbound flows): the start, every target of a back edge and every
//!   node entered twice that is not a merge become reusable tasks, reached by a jump;
//! - **[`Mode::Sequence`]** (common modules: one action list, no tasks): a node entered twice
//!   that is not a merge is repeated (tail duplication) within a budget; a cycle must be a
//!   natural loop (its start dominates it) and becomes a `loop` whose body starts at the
//!   loop's start node; an edge back to the start ends the body (the next iteration starts);
//!   an edge leaving the loop runs its path inside the body up to the loop's continuation
//!   (the nearest node all leaving paths reach) and then `loopExit`; the continuation
//!   follows the loop action. A cycle with two entries, a jump back to the loop start from a
//!   place that other actions follow, or duplication over the budget has no such form and
//!   is a [`StructureError`] naming the edge.
//!
//! Every iteration of a loop runs at least one action (its start node), so with
//! [`LOOP_COUNT`] equal to Genesys's limit of 10,000 actions per call the call reaches the
//! action limit (and the flow's error handling) before the loop count can end a loop that
//! the template does not leave: the loop count never cuts short what the template means.

use std::collections::{HashMap, VecDeque};

/// How deep, in YAML levels below a task's (or a module's) action list, an action may
/// reach: beyond it an inbound flow moves the node to a reusable task, and a module is
/// refused (modules are small; Archy files stay narrow). Counted in YAML levels, not
/// branches, because an If of three conditions nests three `decision`s, a `switch` case sits
/// eight levels below its action and a module's Menu nests its retries: with the task
/// wrapper a file then stays within 128 levels, the most that `serde_yaml_ng`, the sandbox
/// and flowsmith's own import read (the corpus' deepest file has 32).
pub const MAX_NESTING: usize = 112;

/// YAML levels from an action to the actions of its `outputs` (`- x: {outputs: {o:
/// {actions: [- …]}}}`): a `decision`, a `loop`, most branching actions.
pub const OUTPUT_LEVELS: usize = 5;

/// How many node copies tail duplication may add to a common module (beyond one copy of
/// each node). Genesys gives common modules a lower size limit than other flows (Genesys
/// help, "Work with common module flows"), so duplication is kept small.
pub const MODULE_DUPLICATION_BUDGET: usize = 64;

/// `loopCount` of every compiled loop: Genesys's maximum number of actions per call (see
/// the module docs for why this cannot cut a loop short).
pub const LOOP_COUNT: i64 = 10_000;

/// The control-flow shape of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One exit; the action falls through to it.
    Linear,
    /// Several exits, one output each (collectInput, decision chain).
    Branch,
    /// Ends the call path (disconnect; an inbound End).
    Close,
    /// Ends the flow by reaching the end of the action list (a module's End).
    Return,
    /// Tasks mode: a place outside the task lists (an inbound menu). Reaching it closes the
    /// path (`jumpToMenu`); its exits are reached from the place itself, so each becomes a
    /// reusable task.
    Place,
}

/// The graph to structure. `exits[i]` lists node `i`'s exits in output order; `None` is an
/// exit the template leaves empty, which ends the flow like an End node.
#[derive(Debug, Clone)]
pub struct Graph {
    pub shape: Vec<Shape>,
    pub exits: Vec<Vec<Option<usize>>>,
    /// `levels[i][k]`: how many YAML levels below node `i`'s action the actions of exit `k`
    /// sit (used for [`Shape::Branch`] nodes; see [`MAX_NESTING`]).
    pub levels: Vec<Vec<usize>>,
    /// `own[i]`: how many YAML levels node `i`'s own actions reach below their place in the
    /// list, its exits' actions left out (see [`MAX_NESTING`]).
    pub own: Vec<usize>,
    /// `falls_through[i]`: node `i`'s last exit is where its other exits' actions go on
    /// when they end (a kept action with `outputs`: the action after it).
    pub falls_through: Vec<bool>,
    pub start: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Reusable tasks and jumps (inbound call flows).
    Tasks,
    /// One structured sequence (common modules), with this duplication budget.
    Sequence { budget: usize },
}

/// One statement of the structured program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stmt {
    /// Node `i`'s action; a [`Shape::Branch`] node has one block per exit.
    Node(usize, Vec<Block>),
    /// An empty exit: the flow ends (inbound: disconnect; module: nothing, it returns).
    End,
    /// A loop whose body starts at the header node.
    Loop(usize, Block),
    /// Leave the loop of this header.
    LoopExit(usize),
    /// Jump to the reusable task of this node.
    Jump(usize),
}

pub type Block = Vec<Stmt>;

/// The structured flow: in [`Mode::Tasks`] one block per task (the first is the start); in
/// [`Mode::Sequence`] exactly one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Structured {
    pub tasks: Vec<(usize, Block)>,
}

/// Why a graph has no structured form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A cycle entered at two places.
    Irreducible,
    /// A move back to the start of a loop that other actions would follow.
    NestedContinue,
    /// A path leaves a loop from a place where `loopExit` would leave the wrong loop.
    LoopExit,
    /// A module End that other actions would follow.
    EndNotLast,
    /// Tail duplication over the budget.
    OverBudget,
    /// Branches nested deeper than [`MAX_NESTING`].
    TooDeep,
}

/// A graph with no structured form, and the edge `(from, exit index)` that causes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the edge from node #{from} (exit {exit}) cannot be structured: {reason:?}")]
pub struct StructureError {
    pub from: usize,
    pub exit: usize,
    pub reason: Reason,
}

impl Reason {
    /// What is wrong, for people.
    pub fn message(self) -> &'static str {
        match self {
            Reason::Irreducible => {
                "this edge enters a cycle in the middle: a common module has only one action \
                 list, so a cycle must be a loop entered at its first node"
            }
            Reason::NestedContinue => {
                "this edge goes back to the start of a loop from a place that other actions \
                 follow; an Archy loop can only start over when its body ends"
            }
            Reason::LoopExit => {
                "this edge leaves a loop from inside a path that leaves an inner loop; \
                 Archy's loopExit leaves only the innermost loop"
            }
            Reason::EndNotLast => {
                "this edge reaches an End that other actions would follow; a common module \
                 returns only when its action list ends"
            }
            Reason::OverBudget => {
                "this edge joins paths that branches cannot merge, and repeating the shared \
                 part exceeds the duplication budget of a common module"
            }
            Reason::TooDeep => "branches nest too deeply for a common module",
        }
    }

    /// What to do about it.
    pub fn hint(self) -> &'static str {
        match self {
            Reason::Irreducible => {
                "make every cycle start at one node that all its other entries pass through"
            }
            Reason::NestedContinue => {
                "move the decision to retry to the end of the loop, or repeat the prompt \
                 through a counter checked at one place"
            }
            Reason::LoopExit => "leave the loops one at a time, through the inner loop's exit",
            Reason::EndNotLast => "end the paths at one End node after the branches merge",
            Reason::OverBudget => {
                "let the branches meet at one node right after the branch, or split the \
                 module in two"
            }
            Reason::TooDeep => "split the module, or let branches merge earlier",
        }
    }
}

/// Structures the graph.
pub fn structure(g: &Graph, mode: Mode) -> Result<Structured, StructureError> {
    let mut s = Structurer::new(g, mode)?;
    s.run()
}

#[derive(Clone, Copy)]
struct Ctx {
    /// The innermost loop the code belongs to.
    lp: Option<usize>,
    /// The innermost loop the code is written in (differs inside a leaving path).
    syntactic: Option<usize>,
}

struct Structurer<'g> {
    g: &'g Graph,
    mode: Mode,
    /// Node count including the virtual end node `n`.
    n: usize,
    shape: Vec<Shape>,
    succ: Vec<Vec<usize>>,
    rpo_index: Vec<usize>,
    dom_children: Vec<Vec<usize>>,
    fwd_preds: Vec<u32>,
    back_target: Vec<bool>,
    /// Innermost loop header of each node (Sequence mode).
    loop_of: Vec<Option<usize>>,
    loop_parent: HashMap<usize, Option<usize>>,
    /// Continuation of each loop (`n` = the end of the flow), set when it is emitted.
    loop_follow: HashMap<usize, usize>,
    is_task: Vec<bool>,
    queue: VecDeque<usize>,
    queued: Vec<bool>,
    preds: Vec<Vec<usize>>,
    copies: Vec<u32>,
    extra: usize,
    stamp: Vec<u32>,
    generation: u32,
}

const UNREACHED: usize = usize::MAX;

mod analysis;
mod emit;

#[cfg(test)]
mod tests;
