//! Loops a caller cannot leave: strongly connected components with no node that takes
//! input.

use super::nodes;
use super::validator::{PNode, Validator};
use crate::template::Finding;

impl Validator<'_> {
    /// Loops (strongly connected components, or self-loops) with no Gather node: a caller
    /// cannot leave them. A loop through a Flow node is not reported: the called module may
    /// gather input (the seed's language-menu retry pattern).
    pub(super) fn loops(&mut self, pnodes: &[PNode], succ: &[Vec<(usize, bool)>]) {
        for comp in sccs(succ) {
            let cyclic = comp.len() > 1 || succ[comp[0]].iter().any(|&(m, _)| m == comp[0]);
            if !cyclic
                || comp
                    .iter()
                    .any(|&i| nodes::rules(&pnodes[i].ty).leaves_loops)
            {
                continue;
            }
            let mut names: Vec<&str> = comp.iter().map(|&i| pnodes[i].key.as_str()).collect();
            names.sort();
            let first = comp
                .iter()
                .copied()
                .min_by_key(|&i| &pnodes[i].key)
                .unwrap_or(comp[0]);
            let shown = if names.len() > 10 {
                format!("{}, ...", names[..10].join(", "))
            } else {
                names.join(", ")
            };
            self.findings.push(
                Finding::warning(
                    "loop_without_gather",
                    pnodes[first].at.clone(),
                    format!("the loop through {shown} has no Gather node: a call that enters it can never leave"),
                )
                .with_hint("put a Gather node on the loop, or give it an exit"),
            );
        }
    }
}

/// Strongly connected components (iterative Tarjan).
fn sccs(succ: &[Vec<(usize, bool)>]) -> Vec<Vec<usize>> {
    let n = succ.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    let mut next = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut call: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut k)) = call.last_mut() {
            if *k < succ[v].len() {
                let w = succ[v][*k].0;
                *k += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                call.pop();
                if let Some(&(u, _)) = call.last() {
                    low[u] = low[u].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    out.push(comp);
                }
            }
        }
    }
    out
}
