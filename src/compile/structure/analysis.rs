//! Graph analysis before emitting: depth-first order and back edges, dominators, natural
//! loops (modules) and the nodes that start as reusable tasks (inbound flows).

use std::collections::{HashMap, HashSet, VecDeque};

use super::{Graph, Mode, Reason, Shape, StructureError, Structurer, UNREACHED};

/// Depth-first facts of a graph, from its start.
struct Dfs {
    /// Reverse postorder of the reachable nodes.
    order: Vec<usize>,
    /// Position of each node in `order` (`UNREACHED` when not reached).
    rpo_index: Vec<usize>,
    /// Edges `(from, exit, to)` to a node on the stack.
    back_edges: Vec<(usize, usize, usize)>,
}

/// Iterative DFS: postorder and back edges (edges to a node on the stack).
fn depth_first(succ: &[Vec<usize>], start: usize) -> Dfs {
    let n = succ.len();
    let mut order = Vec::with_capacity(n);
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    let mut back_edges: Vec<(usize, usize, usize)> = Vec::new();
    let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
    state[start] = 1;
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
    Dfs {
        order,
        rpo_index,
        back_edges,
    }
}

/// The predecessors of each node, over edges from reachable nodes.
fn predecessors(succ: &[Vec<usize>], rpo_index: &[usize]) -> Vec<Vec<usize>> {
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); succ.len()];
    for (v, ss) in succ.iter().enumerate() {
        if rpo_index[v] == UNREACHED {
            continue;
        }
        for &w in ss {
            preds[w].push(v);
        }
    }
    preds
}

/// Immediate dominators (Cooper, Harvey, Kennedy: "A Simple, Fast Dominance Algorithm").
fn dominators(dfs: &Dfs, preds: &[Vec<usize>], start: usize) -> Vec<usize> {
    let mut idom = vec![UNREACHED; preds.len()];
    idom[start] = start;
    let mut changed = true;
    while changed {
        changed = false;
        for &v in dfs.order.iter().skip(1) {
            let mut new = UNREACHED;
            for &p in &preds[v] {
                if idom[p] == UNREACHED {
                    continue;
                }
                new = if new == UNREACHED {
                    p
                } else {
                    intersect(&idom, &dfs.rpo_index, p, new)
                };
            }
            if new != idom[v] {
                idom[v] = new;
                changed = true;
            }
        }
    }
    idom
}

/// Back-edge targets and the number of forward edges into each node. In a module, a back
/// edge whose target does not dominate its source enters a cycle in the middle: refused.
fn classify_edges(
    succ: &[Vec<usize>],
    dfs: &Dfs,
    idom: &[usize],
    mode: Mode,
) -> Result<(Vec<bool>, Vec<u32>), StructureError> {
    let n = succ.len();
    let mut back_target = vec![false; n];
    let mut is_back = HashSet::new();
    for &(u, exit, h) in &dfs.back_edges {
        back_target[h] = true;
        is_back.insert((u, exit));
        if matches!(mode, Mode::Sequence { .. }) && !dominates(idom, &dfs.rpo_index, h, u) {
            return Err(StructureError {
                from: u,
                exit,
                reason: Reason::Irreducible,
            });
        }
    }
    let mut fwd_preds = vec![0u32; n];
    for (v, ss) in succ.iter().enumerate() {
        if dfs.rpo_index[v] == UNREACHED {
            continue;
        }
        for (k, &w) in ss.iter().enumerate() {
            if !is_back.contains(&(v, k)) {
                fwd_preds[w] += 1;
            }
        }
    }
    Ok((back_target, fwd_preds))
}

/// The loop nest of a module.
struct Loops {
    /// Innermost loop header of each node.
    loop_of: Vec<Option<usize>>,
    /// Each header's enclosing loop header.
    loop_parent: HashMap<usize, Option<usize>>,
}

/// Natural loops, innermost first (inner headers come later in reverse postorder).
fn natural_loops(dfs: &Dfs, preds: &[Vec<usize>], back_target: &[bool]) -> Loops {
    let n = preds.len();
    let mut loop_of: Vec<Option<usize>> = vec![None; n];
    let mut loop_parent: HashMap<usize, Option<usize>> = HashMap::new();
    let mut headers: Vec<usize> = (0..n).filter(|&h| back_target[h]).collect();
    headers.sort_by_key(|&h| std::cmp::Reverse(dfs.rpo_index[h]));
    for &h in &headers {
        loop_parent.insert(h, None);
        let mut work: Vec<usize> = dfs
            .back_edges
            .iter()
            .filter(|&&(_, _, t)| t == h)
            .map(|&(u, _, _)| u)
            .collect();
        let mut seen = HashSet::new();
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
    Loops {
        loop_of,
        loop_parent,
    }
}

/// The children of each node in the dominator tree.
fn dominator_tree(idom: &[usize]) -> Vec<Vec<usize>> {
    let mut dom_children: Vec<Vec<usize>> = vec![Vec::new(); idom.len()];
    for v in 0..idom.len() {
        if idom[v] != UNREACHED && idom[v] != v {
            dom_children[idom[v]].push(v);
        }
    }
    dom_children
}

/// Tasks mode: the nodes that are reusable tasks from the outset: the start, every cycle
/// start that is not a closing node, and the exits of a place.
fn initial_tasks(
    shape: &[Shape],
    succ: &[Vec<usize>],
    back_target: &[bool],
    start: usize,
) -> Vec<bool> {
    let n = shape.len();
    let real = n - 1;
    let mut is_task = vec![false; n];
    is_task[start] = true;
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
    is_task
}

impl<'g> Structurer<'g> {
    /// Analyses the graph with a virtual end node `n` (the target of empty exits).
    pub(super) fn new(g: &'g Graph, mode: Mode) -> Result<Self, StructureError> {
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

        let dfs = depth_first(&succ, g.start);
        let preds = predecessors(&succ, &dfs.rpo_index);
        let idom = dominators(&dfs, &preds, g.start);
        let (back_target, fwd_preds) = classify_edges(&succ, &dfs, &idom, mode)?;
        let loops = match mode {
            Mode::Sequence { .. } => natural_loops(&dfs, &preds, &back_target),
            Mode::Tasks => Loops {
                loop_of: vec![None; n],
                loop_parent: HashMap::new(),
            },
        };
        let is_task = match mode {
            Mode::Tasks => initial_tasks(&shape, &succ, &back_target, g.start),
            Mode::Sequence { .. } => vec![false; n],
        };
        Ok(Structurer {
            g,
            mode,
            n,
            shape,
            succ,
            rpo_index: dfs.rpo_index,
            dom_children: dominator_tree(&idom),
            fwd_preds,
            back_target,
            loop_of: loops.loop_of,
            loop_parent: loops.loop_parent,
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
