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

/// Branch nesting depth: beyond it an inbound flow moves the next node to a reusable task,
/// and a module is refused (modules are small; Archy files stay narrow).
pub const MAX_NESTING: usize = 24;

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

impl<'g> Structurer<'g> {
    fn new(g: &'g Graph, mode: Mode) -> Result<Self, StructureError> {
        let real = g.shape.len();
        let n = real + 1;
        let end_shape = match mode {
            Mode::Tasks => Shape::Close,
            Mode::Sequence { .. } => Shape::Return,
        };
        let mut shape = g.shape.clone();
        shape.push(end_shape);
        let mut succ: Vec<Vec<usize>> = g
            .exits
            .iter()
            .map(|ex| ex.iter().map(|e| e.unwrap_or(real)).collect())
            .collect();
        succ.push(Vec::new());

        // Iterative DFS: postorder and back edges (edges to a node on the stack).
        let mut order = Vec::with_capacity(n);
        let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
        let mut back_edges: Vec<(usize, usize, usize)> = Vec::new();
        let mut stack: Vec<(usize, usize)> = vec![(g.start, 0)];
        state[g.start] = 1;
        while let Some(&mut (v, ref mut k)) = stack.last_mut() {
            if *k < succ[v].len() {
                let w = succ[v][*k];
                let exit = *k;
                *k += 1;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => back_edges.push((v, exit, w)),
                    _ => {}
                }
            } else {
                state[v] = 2;
                order.push(v);
                stack.pop();
            }
        }
        order.reverse();
        let mut rpo_index = vec![UNREACHED; n];
        for (i, &v) in order.iter().enumerate() {
            rpo_index[v] = i;
        }

        // Dominators (Cooper, Harvey, Kennedy: "A Simple, Fast Dominance Algorithm").
        let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (v, ss) in succ.iter().enumerate() {
            if rpo_index[v] == UNREACHED {
                continue;
            }
            for &w in ss {
                preds[w].push(v);
            }
        }
        let mut idom = vec![UNREACHED; n];
        idom[g.start] = g.start;
        let mut changed = true;
        while changed {
            changed = false;
            for &v in order.iter().skip(1) {
                let mut new = UNREACHED;
                for &p in &preds[v] {
                    if idom[p] == UNREACHED {
                        continue;
                    }
                    new = if new == UNREACHED {
                        p
                    } else {
                        intersect(&idom, &rpo_index, p, new)
                    };
                }
                if new != idom[v] {
                    idom[v] = new;
                    changed = true;
                }
            }
        }

        let mut back_target = vec![false; n];
        let mut is_back = std::collections::HashSet::new();
        for &(u, exit, h) in &back_edges {
            back_target[h] = true;
            is_back.insert((u, exit));
            if matches!(mode, Mode::Sequence { .. }) && !dominates(&idom, &rpo_index, h, u) {
                return Err(StructureError {
                    from: u,
                    exit,
                    reason: Reason::Irreducible,
                });
            }
        }
        let mut fwd_preds = vec![0u32; n];
        for (v, ss) in succ.iter().enumerate() {
            if rpo_index[v] == UNREACHED {
                continue;
            }
            for (k, &w) in ss.iter().enumerate() {
                if !is_back.contains(&(v, k)) {
                    fwd_preds[w] += 1;
                }
            }
        }

        // Natural loops, innermost first (inner headers come later in reverse postorder).
        let mut loop_of: Vec<Option<usize>> = vec![None; n];
        let mut loop_parent: HashMap<usize, Option<usize>> = HashMap::new();
        if matches!(mode, Mode::Sequence { .. }) {
            let mut headers: Vec<usize> = (0..n).filter(|&h| back_target[h]).collect();
            headers.sort_by_key(|&h| std::cmp::Reverse(rpo_index[h]));
            for &h in &headers {
                loop_parent.insert(h, None);
                let mut work: Vec<usize> = back_edges
                    .iter()
                    .filter(|&&(_, _, t)| t == h)
                    .map(|&(u, _, _)| u)
                    .collect();
                let mut seen = std::collections::HashSet::new();
                seen.insert(h);
                while let Some(v) = work.pop() {
                    if !seen.insert(v) {
                        continue;
                    }
                    if loop_of[v].is_some() {
                        // A node of an inner loop: that loop's header belongs to this one.
                        let top = outermost(&loop_of, &loop_parent, v);
                        if top == h {
                            continue;
                        }
                        if loop_parent.get(&top) == Some(&None) {
                            loop_parent.insert(top, Some(h));
                        }
                        if top != v && !seen.insert(top) {
                            continue;
                        }
                        work.extend(preds[top].iter().copied());
                    } else {
                        loop_of[v] = Some(h);
                        work.extend(preds[v].iter().copied());
                    }
                }
                loop_of[h] = Some(h);
            }
        }

        let mut dom_children: Vec<Vec<usize>> = vec![Vec::new(); n];
        for v in 0..n {
            if idom[v] != UNREACHED && idom[v] != v {
                dom_children[idom[v]].push(v);
            }
        }
        let mut is_task = vec![false; n];
        if mode == Mode::Tasks {
            is_task[g.start] = true;
            for (v, &b) in back_target.iter().enumerate() {
                if b && !matches!(shape[v], Shape::Close | Shape::Place) {
                    is_task[v] = true;
                }
            }
            // A place's exits are entered from the place: tasks from the outset, so no
            // branch takes one as its merge.
            for v in 0..real {
                if shape[v] == Shape::Place {
                    for &w in &succ[v] {
                        if w != real && shape[w] != Shape::Place {
                            is_task[w] = true;
                        }
                    }
                }
            }
        }
        Ok(Structurer {
            g,
            mode,
            n,
            shape,
            succ,
            rpo_index,
            dom_children,
            fwd_preds,
            back_target,
            loop_of,
            loop_parent,
            loop_follow: HashMap::new(),
            is_task,
            queue: VecDeque::new(),
            queued: vec![false; n],
            preds,
            copies: vec![0; n],
            extra: 0,
            stamp: vec![0; n],
            generation: 0,
        })
    }

    fn end(&self) -> usize {
        self.n - 1
    }

    fn run(&mut self) -> Result<Structured, StructureError> {
        let start = self.g.start;
        let top = Ctx {
            lp: None,
            syntactic: None,
        };
        let mut tasks = Vec::new();
        match self.mode {
            Mode::Sequence { .. } => {
                let mut out = Vec::new();
                self.emit(start, None, top, (start, 0), 0, true, &mut out)?;
                tasks.push((start, out));
            }
            Mode::Tasks => {
                self.queued[start] = true;
                self.queue.push_back(start);
                while let Some(t) = self.queue.pop_front() {
                    let mut out = Vec::new();
                    self.emit(t, None, top, (t, 0), 0, true, &mut out)?;
                    tasks.push((t, out));
                }
            }
        }
        Ok(Structured { tasks })
    }

    /// Whether `v` is in the body of the loop headed by `h`.
    fn in_body(&self, h: usize, v: usize) -> bool {
        let mut cur = self.loop_of[v];
        while let Some(c) = cur {
            if c == h {
                return true;
            }
            cur = self.loop_parent.get(&c).copied().flatten();
        }
        false
    }

    fn is_header(&self, v: usize) -> bool {
        matches!(self.mode, Mode::Sequence { .. }) && self.back_target[v]
    }

    fn class(&self, v: usize) -> usize {
        if self.shape[v] == Shape::Return {
            self.end()
        } else {
            v
        }
    }

    /// Emits the code from `n` until control reaches `follow` (which then runs by falling
    /// through). `first`: `n` is emitted here even if it is a task or entered twice.
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        mut n: usize,
        follow: Option<usize>,
        ctx: Ctx,
        mut via: (usize, usize),
        depth: usize,
        mut first: bool,
        out: &mut Block,
    ) -> Result<(), StructureError> {
        let err = |via: (usize, usize), reason| StructureError {
            from: via.0,
            exit: via.1,
            reason,
        };
        loop {
            if Some(n) == follow && !first {
                return Ok(());
            }
            let sh = self.shape[n];
            // Leaving or restarting the current loop.
            if let Some(h) = ctx.lp
                && !first
            {
                if n == h {
                    return Err(err(via, Reason::NestedContinue));
                }
                if !self.in_body(h, n) && sh != Shape::Close {
                    if ctx.syntactic != ctx.lp {
                        return Err(err(via, Reason::LoopExit));
                    }
                    let x = self.loop_follow[&h];
                    if self.class(n) != x {
                        let parent = self.loop_parent.get(&h).copied().flatten();
                        let inner = Ctx {
                            lp: parent,
                            syntactic: Some(h),
                        };
                        let f = (x != self.end()).then_some(x);
                        self.emit(n, f, inner, via, depth + 1, false, out)?;
                        if out.last().is_some_and(|s| closes(s, &self.shape)) {
                            return Ok(());
                        }
                    }
                    out.push(Stmt::LoopExit(h));
                    return Ok(());
                }
            }
            if self.mode == Mode::Tasks
                && !first
                && !matches!(sh, Shape::Close | Shape::Place)
                && (self.is_task[n] || self.fwd_preds[n] >= 2 || depth >= MAX_NESTING)
            {
                if !self.is_task[n] {
                    self.is_task[n] = true;
                }
                self.queue_task(n);
                out.push(Stmt::Jump(n));
                return Ok(());
            }
            if let Mode::Sequence { .. } = self.mode
                && depth > MAX_NESTING
            {
                return Err(err(via, Reason::TooDeep));
            }
            // Entering a loop.
            if self.is_header(n) && (ctx.lp != Some(n) || !first) {
                let x = self.loop_continuation(n, follow)?;
                self.loop_follow.insert(n, x);
                let body_ctx = Ctx {
                    lp: Some(n),
                    syntactic: Some(n),
                };
                let mut body = Vec::new();
                self.emit(n, Some(n), body_ctx, via, depth + 1, true, &mut body)?;
                out.push(Stmt::Loop(n, body));
                if Some(x) == follow {
                    return Ok(());
                }
                if x == self.end() {
                    if follow.is_some() {
                        return Err(err(via, Reason::EndNotLast));
                    }
                    return Ok(());
                }
                via = (n, 0);
                n = x;
                first = false;
                continue;
            }
            if n == self.end() {
                if sh == Shape::Return && follow.is_some() {
                    return Err(err(via, Reason::EndNotLast));
                }
                out.push(Stmt::End);
                return Ok(());
            }
            self.count_copy(n, via)?;
            match sh {
                Shape::Close => {
                    out.push(Stmt::Node(n, Vec::new()));
                    return Ok(());
                }
                Shape::Place => {
                    out.push(Stmt::Node(n, Vec::new()));
                    for k in 0..self.succ[n].len() {
                        let t = self.succ[n][k];
                        if t != self.end() {
                            self.queue_task(t);
                        }
                    }
                    return Ok(());
                }
                Shape::Return => {
                    if follow.is_some() {
                        return Err(err(via, Reason::EndNotLast));
                    }
                    out.push(Stmt::Node(n, Vec::new()));
                    return Ok(());
                }
                Shape::Linear => {
                    out.push(Stmt::Node(n, Vec::new()));
                    via = (n, 0);
                    n = self.succ[n][0];
                    first = false;
                }
                Shape::Branch => {
                    let merge = self.choose_merge(n, follow, ctx);
                    let bf = merge.or(follow);
                    let mut blocks = Vec::with_capacity(self.succ[n].len());
                    for k in 0..self.succ[n].len() {
                        let t = self.succ[n][k];
                        let mut b = Vec::new();
                        self.emit(t, bf, ctx, (n, k), depth + 1, false, &mut b)?;
                        blocks.push(b);
                    }
                    out.push(Stmt::Node(n, blocks));
                    match merge {
                        Some(m) => {
                            via = (n, 0);
                            n = m;
                            first = true;
                        }
                        None => return Ok(()),
                    }
                }
            }
        }
    }

    /// Queues the task of `n` once. A node may also have been emitted inline (a merge
    /// whose region a task boundary cut): its task is then a second copy, which is correct.
    fn queue_task(&mut self, n: usize) {
        if !self.queued[n] {
            self.queued[n] = true;
            self.queue.push_back(n);
        }
    }

    fn count_copy(&mut self, n: usize, via: (usize, usize)) -> Result<(), StructureError> {
        self.copies[n] = self.copies[n].saturating_add(1);
        if self.copies[n] > 1
            && let Mode::Sequence { budget } = self.mode
            && !matches!(self.shape[n], Shape::Close | Shape::Return)
        {
            self.extra += 1;
            if self.extra > budget {
                return Err(StructureError {
                    from: via.0,
                    exit: via.1,
                    reason: Reason::OverBudget,
                });
            }
        }
        Ok(())
    }

    fn next_generation(&mut self) -> u32 {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        self.generation
    }

    /// The merge of branching node `b`, if one is valid here: among the nodes `b`
    /// immediately dominates that are entered twice, the first (in reverse postorder) that
    /// every path from `b` reaches or closes before.
    fn choose_merge(&mut self, b: usize, follow: Option<usize>, ctx: Ctx) -> Option<usize> {
        let mut cands: Vec<usize> = self.dom_children[b]
            .iter()
            .copied()
            .filter(|&v| {
                self.fwd_preds[v] >= 2
                    && v != self.end()
                    && !matches!(self.shape[v], Shape::Close | Shape::Return | Shape::Place)
                    && Some(v) != follow
                    && !(self.mode == Mode::Tasks && self.is_task[v])
                    && ctx.lp.is_none_or(|h| v != h && self.in_body(h, v))
            })
            .collect();
        cands.sort_by_key(|&v| self.rpo_index[v]);
        let from = self.succ[b].clone();
        cands.into_iter().find(|&m| {
            self.paths_reach(&from, m, follow, ctx, false)
                && (self.mode != Mode::Tasks || self.preds_inside(b, m))
        })
    }

    /// Tasks mode, right after [`Self::paths_reach`]: whether every edge into `m` comes from
    /// `b` or a node that traversal went through (no entry from another task).
    fn preds_inside(&self, b: usize, m: usize) -> bool {
        self.preds[m].iter().all(|&p| {
            p == b || (self.stamp[p] == self.generation && !self.is_task[p] && !self.back_target[p])
        })
    }

    /// Whether every path from `from` reaches `m` or closes before it could reach `follow`,
    /// the start of the current loop, or (unless `end_ok`) an End of a module.
    fn paths_reach(
        &mut self,
        from: &[usize],
        m: usize,
        follow: Option<usize>,
        ctx: Ctx,
        end_ok: bool,
    ) -> bool {
        let gen_ = self.next_generation();
        let mut work: Vec<usize> = from.to_vec();
        while let Some(v) = work.pop() {
            if v == m || self.stamp[v] == gen_ {
                continue;
            }
            self.stamp[v] = gen_;
            if Some(v) == follow {
                return false;
            }
            match self.shape[v] {
                Shape::Close | Shape::Place => continue,
                Shape::Return => {
                    if end_ok {
                        continue;
                    }
                    return false;
                }
                _ => {}
            }
            if self.mode == Mode::Tasks && (self.is_task[v] || self.back_target[v]) {
                continue;
            }
            if let Some(h) = ctx.lp {
                if v == h {
                    return false;
                }
                if !self.in_body(h, v) {
                    continue;
                }
            }
            work.extend(self.succ[v].iter().copied());
        }
        true
    }

    /// The node after loop `h` (`end()` = the end of the flow): the nearest node all
    /// leaving paths reach.
    fn loop_continuation(
        &mut self,
        h: usize,
        follow: Option<usize>,
    ) -> Result<usize, StructureError> {
        let mut targets: Vec<usize> = Vec::new();
        let mut first_edge = None;
        for v in 0..self.n {
            if !self.in_body(h, v) {
                continue;
            }
            for (k, &w) in self.succ[v].iter().enumerate() {
                if self.in_body(h, w) || matches!(self.shape[w], Shape::Close | Shape::Place) {
                    continue;
                }
                first_edge.get_or_insert((v, k));
                let c = self.class(w);
                if !targets.contains(&c) {
                    targets.push(c);
                }
            }
        }
        let outer = Ctx {
            lp: self.loop_parent.get(&h).copied().flatten(),
            syntactic: self.loop_parent.get(&h).copied().flatten(),
        };
        match targets.as_slice() {
            [] => return Ok(follow.unwrap_or(self.end())),
            [t] => return Ok(*t),
            _ => {}
        }
        // Candidates: nodes reachable from the targets outside the loop, nearest first.
        let gen_ = self.next_generation();
        let mut cands = Vec::new();
        let mut work = targets.clone();
        while let Some(v) = work.pop() {
            if self.stamp[v] == gen_ || self.in_body(h, v) {
                continue;
            }
            self.stamp[v] = gen_;
            if !matches!(self.shape[v], Shape::Return | Shape::Close | Shape::Place) {
                cands.push(v);
            }
            if Some(v) == follow {
                continue;
            }
            work.extend(self.succ[v].iter().copied());
        }
        cands.sort_by_key(|&v| self.rpo_index[v]);
        for c in cands {
            if self.paths_reach(&targets, c, follow, outer, false) {
                return Ok(c);
            }
        }
        if follow.is_none() && self.paths_reach(&targets, self.end(), None, outer, true) {
            return Ok(self.end());
        }
        let (from, exit) = first_edge.unwrap_or((h, 0));
        Err(StructureError {
            from,
            exit,
            reason: Reason::LoopExit,
        })
    }
}

fn closes(s: &Stmt, shape: &[Shape]) -> bool {
    match s {
        Stmt::Node(i, _) => matches!(shape[*i], Shape::Close | Shape::Place),
        Stmt::LoopExit(_) | Stmt::Jump(_) => true,
        Stmt::End | Stmt::Loop(..) => false,
    }
}

fn intersect(idom: &[usize], rpo: &[usize], mut a: usize, mut b: usize) -> usize {
    while a != b {
        while rpo[a] > rpo[b] {
            a = idom[a];
        }
        while rpo[b] > rpo[a] {
            b = idom[b];
        }
    }
    a
}

/// Whether `d` dominates `v` (both reachable).
fn dominates(idom: &[usize], rpo: &[usize], d: usize, mut v: usize) -> bool {
    if rpo[v] == UNREACHED || rpo[d] == UNREACHED {
        return false;
    }
    loop {
        if v == d {
            return true;
        }
        let p = idom[v];
        if p == v || p == UNREACHED {
            return false;
        }
        v = p;
    }
}

/// The outermost loop header whose loop (as found so far) contains `v`, or `v`.
fn outermost(loop_of: &[Option<usize>], parent: &HashMap<usize, Option<usize>>, v: usize) -> usize {
    let Some(mut h) = loop_of[v] else {
        return v;
    };
    while let Some(Some(p)) = parent.get(&h) {
        h = *p;
    }
    h
}

#[cfg(test)]
mod tests {
    use super::Shape::{Branch as B, Close as C, Linear as L, Return as R};
    use super::Stmt::{End, Jump, Loop, LoopExit};
    use super::*;

    fn g(nodes: &[(Shape, &[Option<usize>])]) -> Graph {
        Graph {
            shape: nodes.iter().map(|n| n.0).collect(),
            exits: nodes.iter().map(|n| n.1.to_vec()).collect(),
            start: 0,
        }
    }

    fn n(i: usize) -> Stmt {
        Stmt::Node(i, Vec::new())
    }

    fn br(i: usize, blocks: Vec<Block>) -> Stmt {
        Stmt::Node(i, blocks)
    }

    const SEQ: Mode = Mode::Sequence {
        budget: MODULE_DUPLICATION_BUDGET,
    };

    fn seq(graph: &Graph) -> Block {
        let s = structure(graph, SEQ).unwrap();
        assert_eq!(s.tasks.len(), 1);
        s.tasks.into_iter().next().unwrap().1
    }

    #[test]
    fn if_merge_diamond_continues_after_the_branch() {
        let graph = g(&[
            (B, &[Some(1), Some(2)]),
            (L, &[Some(3)]),
            (L, &[Some(3)]),
            (L, &[Some(4)]),
            (R, &[]),
        ]);
        assert_eq!(
            seq(&graph),
            vec![br(0, vec![vec![n(1)], vec![n(2)]]), n(3), n(4)]
        );
    }

    #[test]
    fn same_target_twice_gives_empty_outputs() {
        let graph = g(&[(B, &[Some(1), Some(1)]), (L, &[None])]);
        assert_eq!(seq(&graph), vec![br(0, vec![vec![], vec![]]), n(1), End]);
    }

    #[test]
    fn a_closing_branch_does_not_block_the_merge() {
        // 0 -> {1, 2}; 1 -> {Close 5, 3}; 2 -> 3; 3 -> End.
        let graph = g(&[
            (B, &[Some(1), Some(2)]),
            (B, &[Some(5), Some(3)]),
            (L, &[Some(3)]),
            (L, &[Some(4)]),
            (R, &[]),
            (C, &[]),
        ]);
        assert_eq!(
            seq(&graph),
            vec![
                br(0, vec![vec![br(1, vec![vec![n(5)], vec![]])], vec![n(2)]]),
                n(3),
                n(4)
            ]
        );
    }

    #[test]
    fn an_end_on_one_side_duplicates_the_shared_tail() {
        // 0 -> {1, 2}; 1 -> {End, 2}; 2 -> 3 -> End: 2 cannot follow 0 (the End would run it).
        let graph = g(&[
            (B, &[Some(1), Some(2)]),
            (B, &[Some(4), Some(2)]),
            (L, &[Some(3)]),
            (L, &[Some(4)]),
            (R, &[]),
        ]);
        assert_eq!(
            seq(&graph),
            vec![br(
                0,
                vec![
                    vec![br(1, vec![vec![n(4)], vec![n(2), n(3), n(4)]])],
                    vec![n(2), n(3), n(4)]
                ]
            )]
        );
        let tight = structure(&graph, Mode::Sequence { budget: 1 }).unwrap_err();
        assert_eq!(tight.reason, Reason::OverBudget);
    }

    /// PIN asked three times: 0 Set → 1 Gather → ok? 3 → End : 4 count+1 → 5 tries left?
    /// → 6 Say wrong → back to 1 : 8 Say bye → End; Gather failure → 5.
    #[test]
    fn pin_retry_becomes_a_loop_left_by_loop_exit() {
        let graph = g(&[
            (L, &[Some(1)]),
            (B, &[Some(2), Some(5)]),
            (B, &[Some(3), Some(4)]),
            (L, &[Some(7)]),
            (L, &[Some(5)]),
            (B, &[Some(6), Some(8)]),
            (L, &[Some(1)]),
            (R, &[]),
            (L, &[Some(7)]),
        ]);
        assert_eq!(
            seq(&graph),
            vec![
                n(0),
                Loop(
                    1,
                    vec![
                        br(
                            1,
                            vec![
                                vec![br(2, vec![vec![n(3), n(7), LoopExit(1)], vec![n(4)]])],
                                vec![]
                            ]
                        ),
                        br(5, vec![vec![n(6)], vec![n(8), n(7), LoopExit(1)]]),
                    ]
                ),
            ]
        );
    }

    #[test]
    fn loop_exits_meeting_at_a_node_continue_after_the_loop() {
        // 0 Gather -> {1, 2}; 1 -> 3; 2 Branch -> {0, 3}; 3 -> End.
        let graph = g(&[
            (B, &[Some(1), Some(2)]),
            (L, &[Some(3)]),
            (B, &[Some(0), Some(3)]),
            (L, &[Some(4)]),
            (R, &[]),
        ]);
        assert_eq!(
            seq(&graph),
            vec![
                Loop(
                    0,
                    vec![br(
                        0,
                        vec![
                            vec![n(1), LoopExit(0)],
                            vec![br(2, vec![vec![], vec![LoopExit(0)]])]
                        ]
                    )]
                ),
                n(3),
                n(4)
            ]
        );
    }

    #[test]
    fn end_inside_a_loop_leaves_it() {
        let graph = g(&[(B, &[Some(1), Some(2)]), (R, &[]), (L, &[Some(0)])]);
        assert_eq!(
            seq(&graph),
            vec![Loop(0, vec![br(0, vec![vec![LoopExit(0)], vec![n(2)]])])]
        );
    }

    #[test]
    fn nested_loops() {
        // outer 0 -> {1, 5}; inner 1 -> {2, 3}; 2 -> 1; 3 -> 0; 5 -> 6 End.
        let graph = g(&[
            (B, &[Some(1), Some(5)]),
            (B, &[Some(2), Some(3)]),
            (L, &[Some(1)]),
            (L, &[Some(0)]),
            (C, &[]),
            (L, &[Some(6)]),
            (R, &[]),
        ]);
        assert_eq!(
            seq(&graph),
            vec![
                Loop(
                    0,
                    vec![br(
                        0,
                        vec![
                            vec![
                                Loop(1, vec![br(1, vec![vec![n(2)], vec![LoopExit(1)]])]),
                                n(3)
                            ],
                            vec![LoopExit(0)]
                        ]
                    )]
                ),
                n(5),
                n(6)
            ]
        );
    }

    #[test]
    fn disconnect_inside_a_loop_needs_no_loop_exit() {
        let graph = g(&[(B, &[Some(1), Some(0)]), (C, &[])]);
        assert_eq!(
            seq(&graph),
            vec![Loop(0, vec![br(0, vec![vec![n(1)], vec![]])])]
        );
    }

    #[test]
    fn irreducible_cycle_is_refused_at_the_second_entry() {
        // 0 -> {1, 2}; 1 -> 2; 2 -> 1: the cycle 1-2 has two entries.
        let graph = g(&[(B, &[Some(1), Some(2)]), (L, &[Some(2)]), (L, &[Some(1)])]);
        let e = structure(&graph, SEQ).unwrap_err();
        assert_eq!(e.reason, Reason::Irreducible);
        assert_eq!((e.from, e.exit), (2, 0));
        // Inbound flows jump between tasks instead.
        let t = structure(&graph, Mode::Tasks).unwrap();
        assert!(t.tasks.len() >= 2, "{t:?}");
    }

    #[test]
    fn leaving_a_loop_towards_end_and_a_node_is_refused_when_something_follows() {
        // 0 Branch -> {1, 4}; loop 1 -> {2 End, 3}; 3 -> {1, 4}; 4 -> 5 End... and 2 is End:
        // the loop is left to End and to 4, so 4 cannot follow the loop.
        let graph = g(&[
            (B, &[Some(1), Some(4)]),
            (B, &[Some(2), Some(3)]),
            (R, &[]),
            (B, &[Some(1), Some(4)]),
            (L, &[Some(5)]),
            (R, &[]),
        ]);
        // Structurable: the loop continuation is the end; 4 is repeated inside the loop.
        let s = seq(&graph);
        assert!(matches!(s[0], Stmt::Node(0, _)), "{s:?}");
    }

    #[test]
    fn tasks_mode_merges_instead_of_jumping() {
        // The seed caller: call → check → yes: route (failure falls through) / no → goodbye.
        let graph = g(&[
            (L, &[Some(1)]),
            (B, &[Some(2), Some(3)]),
            (L, &[Some(3)]),
            (L, &[Some(4)]),
            (C, &[]),
        ]);
        let s = structure(&graph, Mode::Tasks).unwrap();
        assert_eq!(
            s.tasks,
            vec![(0, vec![n(0), br(1, vec![vec![n(2)], vec![]]), n(3), n(4)])]
        );
    }

    #[test]
    fn tasks_mode_jumps_back_to_a_cycle_start() {
        let graph = g(&[(L, &[Some(1)]), (B, &[Some(2), Some(1)]), (C, &[])]);
        let s = structure(&graph, Mode::Tasks).unwrap();
        assert_eq!(
            s.tasks,
            vec![
                (0, vec![n(0), Jump(1)]),
                (1, vec![br(1, vec![vec![n(2)], vec![Jump(1)]])])
            ]
        );
    }

    #[test]
    fn a_place_closes_the_path_and_its_exits_become_tasks() {
        // start → branch: (a) place, (b) node 3 → place. The place runs 2 (which goes back
        // to the place) and 3, which the branch also reaches: a task, never a merge.
        let graph = g(&[
            (B, &[Some(1), Some(3)]),
            (Shape::Place, &[Some(2), Some(3)]),
            (L, &[Some(1)]),
            (L, &[Some(1)]),
        ]);
        let s = structure(&graph, Mode::Tasks).unwrap();
        assert_eq!(
            s.tasks,
            vec![
                (0, vec![br(0, vec![vec![n(1)], vec![Jump(3)]])]),
                (2, vec![n(2), n(1)]),
                (3, vec![n(3), n(1)]),
            ]
        );
    }

    #[test]
    fn tasks_mode_empty_exit_ends_the_call() {
        let graph = g(&[(B, &[Some(1), None]), (L, &[None])]);
        let s = structure(&graph, Mode::Tasks).unwrap();
        assert_eq!(
            s.tasks,
            vec![(0, vec![br(0, vec![vec![n(1), End], vec![End]])])]
        );
    }

    #[test]
    fn deep_nesting_is_bounded() {
        // A chain of 200 branches that each close on one side.
        let mut nodes: Vec<(Shape, Vec<Option<usize>>)> = Vec::new();
        for i in 0..200 {
            nodes.push((B, vec![Some(200), Some(i + 1)]));
        }
        nodes.push((C, vec![]));
        let graph = Graph {
            shape: nodes.iter().map(|n| n.0).collect(),
            exits: nodes.into_iter().map(|n| n.1).collect(),
            start: 0,
        };
        let t = structure(&graph, Mode::Tasks).unwrap();
        assert!(t.tasks.len() > 1);
        let e = structure(&graph, SEQ).unwrap_err();
        assert_eq!(e.reason, Reason::TooDeep);
    }
}
