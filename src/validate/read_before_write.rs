//! Read-before-write: a forward must-be-assigned data-flow analysis (bitsets, intersection
//! at joins, worklist to a fixpoint), bounded in memory and time.

use std::collections::{BTreeSet, HashMap, VecDeque};

use super::declarations::Decls;
use super::validator::{PNode, Validator};
use crate::template::Finding;

/// Most bitset words the read-before-write analysis may hold per table (nodes × written
/// variables / 64): 2 Mi words is 16 MiB a table, three tables.
const MAX_DATAFLOW_WORDS: usize = 2 * 1024 * 1024;
/// Most word operations the analysis may spend before it gives up (with a warning): bounds
/// the validator's time on any document.
const MAX_DATAFLOW_WORK: u64 = 400_000_000;

/// Variable index by name, for the bitsets.
type VarIx<'a> = HashMap<&'a str, usize>;

fn set_bits<'v>(bits: &mut [u64], var_ix: &VarIx, vars: impl Iterator<Item = &'v str>) {
    for v in vars {
        if let Some(&i) = var_ix.get(v) {
            bits[i / 64] |= 1 << (i % 64);
        }
    }
}

/// What each node writes, `words` words a node: on every exit, and on the success exit
/// (which adds Gather digits and module outputs).
fn writes(pnodes: &[PNode], var_ix: &VarIx, words: usize) -> (Vec<u64>, Vec<u64>) {
    let n = pnodes.len();
    let mut gen_all = vec![0u64; n * words];
    let mut gen_ok = vec![0u64; n * words];
    for (i, p) in pnodes.iter().enumerate() {
        set_bits(
            &mut gen_all[i * words..(i + 1) * words],
            var_ix,
            p.writes.iter().map(|w| w.var.name()),
        );
        set_bits(
            &mut gen_ok[i * words..(i + 1) * words],
            var_ix,
            p.writes
                .iter()
                .chain(&p.success_writes)
                .map(|w| w.var.name()),
        );
    }
    (gen_all, gen_ok)
}

/// The variables assigned on every path into each node (the fixpoint), or `None` when the
/// work would exceed [`MAX_DATAFLOW_WORK`].
fn assigned_on_entry(
    succ: &[Vec<(usize, bool)>],
    (gen_all, gen_ok): (&[u64], &[u64]),
    words: usize,
    start: usize,
    at_start: &[u64],
) -> Option<Vec<u64>> {
    let n = succ.len();
    let mut budget = MAX_DATAFLOW_WORK;
    let mut input = vec![!0u64; n * words];
    let mut seen = vec![false; n];
    input[start * words..(start + 1) * words].copy_from_slice(at_start);
    seen[start] = true;
    let mut work = VecDeque::from([start]);
    let mut queued = vec![false; n];
    queued[start] = true;
    let mut out = vec![0u64; words];
    while let Some(i) = work.pop_front() {
        queued[i] = false;
        let cost = (2 * words * succ[i].len()) as u64;
        budget = budget.checked_sub(cost)?;
        for &(j, is_err) in &succ[i] {
            let gen_ = if is_err { gen_all } else { gen_ok };
            for w in 0..words {
                out[w] = input[i * words + w] | gen_[i * words + w];
            }
            let mut changed = !seen[j];
            seen[j] = true;
            for w in 0..words {
                let new = input[j * words + w] & out[w];
                if new != input[j * words + w] {
                    input[j * words + w] = new;
                    changed = true;
                }
            }
            if changed && !queued[j] {
                queued[j] = true;
                work.push_back(j);
            }
        }
    }
    Some(input)
}

impl Validator<'_> {
    /// Warns on reads that some path from the start reaches before any write.
    pub(super) fn read_before_write(
        &mut self,
        pnodes: &[PNode],
        succ: &[Vec<(usize, bool)>],
        reached: &[bool],
        start: usize,
        written: &BTreeSet<String>,
        module_inputs: &Decls,
    ) {
        let var_ix: VarIx = written
            .iter()
            .enumerate()
            .map(|(i, v)| (v.as_str(), i))
            .collect();
        let words = written.len().div_ceil(64).max(1);
        let n = pnodes.len();
        if n.saturating_mul(words) > MAX_DATAFLOW_WORDS {
            self.analysis_skipped(n, written.len());
            return;
        }
        let (gen_all, gen_ok) = writes(pnodes, &var_ix, words);
        let mut at_start = vec![0u64; words];
        set_bits(
            &mut at_start,
            &var_ix,
            module_inputs.keys().map(String::as_str),
        );
        let Some(input) = assigned_on_entry(succ, (&gen_all, &gen_ok), words, start, &at_start)
        else {
            self.analysis_skipped(n, written.len());
            return;
        };
        for (i, p) in pnodes.iter().enumerate() {
            if reached[i] {
                self.unassigned_reads(p, &input[i * words..(i + 1) * words], &var_ix);
            }
        }
    }

    fn analysis_skipped(&mut self, nodes: usize, variables: usize) {
        self.warning(
            "analysis_skipped",
            "/draft/nodes",
            format!(
                "read-before-write was not checked: {nodes} nodes and {variables} variables are more than the analysis takes"
            ),
        );
    }

    /// A warning for each unguarded read of `p` whose variable is not in `assigned` (the
    /// node's entry set) nor written by the node before the read.
    fn unassigned_reads(&mut self, p: &PNode, assigned: &[u64], var_ix: &VarIx) {
        for r in &p.reads {
            if r.guarded {
                continue;
            }
            let Some(&v) = var_ix.get(r.var.name()) else {
                continue;
            };
            let is_assigned = assigned[v / 64] & (1 << (v % 64)) != 0
                || p.writes[..r.after_writes.min(p.writes.len())]
                    .iter()
                    .any(|w| w.var == r.var);
            if !is_assigned {
                self.findings.push(
                    Finding::warning(
                        "read_before_write",
                        r.at.clone(),
                        format!(
                            "variable '{}' may be read before it is set: some path from the start reaches node '{}' without setting it",
                            r.var.name(),
                            p.key
                        ),
                    )
                    .with_hint(format!("set it on every path first, or test it with IsSet({{{}}})", r.var.name())),
                );
            }
        }
    }
}
