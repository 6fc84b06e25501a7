//! Emitting the structured program: branches up to their merge, loops and their exits,
//! jumps to reusable tasks (or tail duplication in a module).

use super::{
    Block, Ctx, MAX_NESTING, Mode, OUTPUT_LEVELS, Reason, Shape, Stmt, StructureError, Structured,
    Structurer,
};

impl Structurer<'_> {
    fn end(&self) -> usize {
        self.n - 1
    }

    /// The YAML levels node `n`'s own actions reach (the virtual end: none).
    fn own(&self, n: usize) -> usize {
        self.g.own.get(n).copied().unwrap_or(0)
    }

    pub(super) fn run(&mut self) -> Result<Structured, StructureError> {
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
        loop {
            if Some(n) == follow && !first {
                return Ok(());
            }
            if !first && self.leaves_loop(n, ctx, via, depth, out)? {
                return Ok(());
            }
            if !first && self.jumps_to_task(n, depth, out) {
                return Ok(());
            }
            if let Mode::Sequence { .. } = self.mode
                && depth + self.own(n) > MAX_NESTING
            {
                return Err(err(via, Reason::TooDeep));
            }
            // Entering a loop.
            if self.is_header(n) && (ctx.lp != Some(n) || !first) {
                match self.emit_loop(n, follow, via, depth, out)? {
                    Some(x) => {
                        via = (n, 0);
                        n = x;
                        first = false;
                        continue;
                    }
                    None => return Ok(()),
                }
            }
            if n == self.end() {
                if self.shape[n] == Shape::Return && follow.is_some() {
                    return Err(err(via, Reason::EndNotLast));
                }
                out.push(Stmt::End);
                return Ok(());
            }
            self.count_copy(n, via)?;
            match self.emit_node(n, follow, ctx, via, depth, out)? {
                Some((next, next_first)) => {
                    via = (n, 0);
                    n = next;
                    first = next_first;
                }
                None => return Ok(()),
            }
        }
    }

    /// Inside loop `ctx.lp`, a move to node `n` that is not the loop's start: when `n` is
    /// outside the body (and not a closing node), the path to the loop's continuation and
    /// `loopExit`. Returns whether the path ended here.
    fn leaves_loop(
        &mut self,
        n: usize,
        ctx: Ctx,
        via: (usize, usize),
        depth: usize,
        out: &mut Block,
    ) -> Result<bool, StructureError> {
        let Some(h) = ctx.lp else {
            return Ok(false);
        };
        if n == h {
            return Err(err(via, Reason::NestedContinue));
        }
        if self.in_body(h, n) || self.shape[n] == Shape::Close {
            return Ok(false);
        }
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
                return Ok(true);
            }
        }
        out.push(Stmt::LoopExit(h));
        Ok(true)
    }

    /// Tasks mode: a move to a task, a node entered twice, or past the nesting limit
    /// becomes a jump to its reusable task. Returns whether it did.
    fn jumps_to_task(&mut self, n: usize, depth: usize, out: &mut Block) -> bool {
        if self.mode == Mode::Tasks
            && !matches!(self.shape[n], Shape::Close | Shape::Place)
            && (self.is_task[n] || self.fwd_preds[n] >= 2 || depth + self.own(n) >= MAX_NESTING)
        {
            self.is_task[n] = true;
            self.queue_task(n);
            out.push(Stmt::Jump(n));
            return true;
        }
        false
    }

    /// The loop headed by `h` and its body; returns the node after the loop, `None` when
    /// the path ends with the loop.
    fn emit_loop(
        &mut self,
        h: usize,
        follow: Option<usize>,
        via: (usize, usize),
        depth: usize,
        out: &mut Block,
    ) -> Result<Option<usize>, StructureError> {
        let x = self.loop_continuation(h, follow)?;
        self.loop_follow.insert(h, x);
        let body_ctx = Ctx {
            lp: Some(h),
            syntactic: Some(h),
        };
        let mut body = Vec::new();
        self.emit(
            h,
            Some(h),
            body_ctx,
            via,
            depth + OUTPUT_LEVELS,
            true,
            &mut body,
        )?;
        out.push(Stmt::Loop(h, body));
        // Every module End is the same place (the list's end), so a loop that goes on to
        // the end stops at a `follow` that is an End.
        if Some(x) == follow.map(|f| self.class(f)) {
            return Ok(None);
        }
        if x == self.end() {
            if follow.is_some() {
                return Err(err(via, Reason::EndNotLast));
            }
            return Ok(None);
        }
        Ok(Some(x))
    }

    /// Node `n`'s statement by its shape (a branch with its blocks); returns the node that
    /// runs next and whether it is emitted even if entered twice (a merge), `None` when
    /// the path ends here.
    fn emit_node(
        &mut self,
        n: usize,
        follow: Option<usize>,
        ctx: Ctx,
        via: (usize, usize),
        depth: usize,
        out: &mut Block,
    ) -> Result<Option<(usize, bool)>, StructureError> {
        match self.shape[n] {
            Shape::Close => {
                out.push(Stmt::Node(n, Vec::new()));
                Ok(None)
            }
            Shape::Place => {
                out.push(Stmt::Node(n, Vec::new()));
                for k in 0..self.succ[n].len() {
                    let t = self.succ[n][k];
                    if t != self.end() {
                        self.queue_task(t);
                    }
                }
                Ok(None)
            }
            Shape::Return => {
                if follow.is_some() {
                    return Err(err(via, Reason::EndNotLast));
                }
                out.push(Stmt::Node(n, Vec::new()));
                Ok(None)
            }
            Shape::Linear => {
                out.push(Stmt::Node(n, Vec::new()));
                Ok(Some((self.succ[n][0], false)))
            }
            Shape::Branch if self.g.falls_through.get(n).copied().unwrap_or(false) => {
                self.emit_fall_through(n, follow, ctx, depth, out)
            }
            Shape::Branch => {
                let merge = self.choose_merge(n, follow, ctx);
                let bf = merge.or(follow);
                let mut blocks = Vec::with_capacity(self.succ[n].len());
                for k in 0..self.succ[n].len() {
                    let t = self.succ[n][k];
                    let mut b = Vec::new();
                    let levels = self.g.levels[n].get(k).copied().unwrap_or(OUTPUT_LEVELS);
                    self.emit(t, bf, ctx, (n, k), depth + levels, false, &mut b)?;
                    blocks.push(b);
                }
                out.push(Stmt::Node(n, blocks));
                Ok(merge.map(|m| (m, true)))
            }
        }
    }

    /// A branch whose last exit `f` is where the others' actions go on when they end (a
    /// kept action with `outputs`): their blocks stop at `f`, which follows the action, so
    /// no other merge may be chosen (its code would sit after `f`'s and never run). When
    /// `f` is the flow's end, the blocks run to their own end.
    fn emit_fall_through(
        &mut self,
        n: usize,
        follow: Option<usize>,
        ctx: Ctx,
        depth: usize,
        out: &mut Block,
    ) -> Result<Option<(usize, bool)>, StructureError> {
        let last = self.succ[n].len() - 1;
        let f = self.succ[n][last];
        let to_end = f == self.end();
        let bf = match (to_end, self.mode) {
            (false, _) => Some(f),
            (true, Mode::Tasks) => None,
            (true, Mode::Sequence { .. }) => follow,
        };
        let mut blocks = Vec::with_capacity(last + 1);
        for k in 0..last {
            let t = self.succ[n][k];
            let mut b = Vec::new();
            let levels = self.g.levels[n].get(k).copied().unwrap_or(OUTPUT_LEVELS);
            self.emit(t, bf, ctx, (n, k), depth + levels, false, &mut b)?;
            blocks.push(b);
        }
        if to_end {
            let mut b = Vec::new();
            self.emit(f, follow, ctx, (n, last), depth, false, &mut b)?;
            blocks.push(b);
            out.push(Stmt::Node(n, blocks));
            return Ok(None);
        }
        blocks.push(Vec::new());
        out.push(Stmt::Node(n, blocks));
        // `f` is entered here as a merge when it is one; else as any node entered twice.
        let merge = self.is_merge(n, f, follow, ctx);
        Ok(Some((f, merge)))
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
            .filter(|&v| self.merge_candidate(v, follow, ctx))
            .collect();
        cands.sort_by_key(|&v| self.rpo_index[v]);
        cands
            .into_iter()
            .find(|&m| self.every_path_meets(b, m, follow, ctx))
    }

    /// Whether `m` is a valid merge of branching node `b` (see [`Self::choose_merge`]).
    fn is_merge(&mut self, b: usize, m: usize, follow: Option<usize>, ctx: Ctx) -> bool {
        self.dom_children[b].contains(&m)
            && self.merge_candidate(m, follow, ctx)
            && self.every_path_meets(b, m, follow, ctx)
    }

    fn merge_candidate(&self, v: usize, follow: Option<usize>, ctx: Ctx) -> bool {
        self.fwd_preds[v] >= 2
            && v != self.end()
            && !matches!(self.shape[v], Shape::Close | Shape::Return | Shape::Place)
            && Some(v) != follow
            && !(self.mode == Mode::Tasks && self.is_task[v])
            && ctx.lp.is_none_or(|h| v != h && self.in_body(h, v))
    }

    fn every_path_meets(&mut self, b: usize, m: usize, follow: Option<usize>, ctx: Ctx) -> bool {
        let from = self.succ[b].clone();
        self.paths_reach(&from, m, follow, ctx, false)
            && (self.mode != Mode::Tasks || self.preds_inside(b, m))
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

/// The error for the edge `via` (node, exit index).
fn err(via: (usize, usize), reason: Reason) -> StructureError {
    StructureError {
        from: via.0,
        exit: via.1,
        reason,
    }
}
