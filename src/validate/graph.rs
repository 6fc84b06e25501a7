//! The node graph: the start node, every exit's target, and what the start reaches.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::nodes;
use super::validator::{PNode, Validator};
use crate::findings::did_you_mean_within;
use crate::template::Finding;

/// The graph of the parsed nodes, by their index.
pub(super) struct Graph {
    /// Each node's successors: (index, through the error exit).
    pub(super) succ: Vec<Vec<(usize, bool)>>,
    /// The start node, when it names a parsed node.
    pub(super) start: Option<usize>,
    /// Whether the start reaches each node (all false without a start).
    pub(super) reached: Vec<bool>,
}

impl Validator<'_> {
    /// The graph of `pnodes` (parsed from `nodes`) from `start`, with findings for a start
    /// or an exit that names no node, a node with no exit, and nodes the start cannot reach.
    pub(super) fn graph(
        &mut self,
        pnodes: &[PNode],
        nodes: &Map<String, Value>,
        start: Option<&str>,
    ) -> Graph {
        let index: HashMap<&str, usize> = pnodes
            .iter()
            .enumerate()
            .map(|(i, p)| (p.key.as_str(), i))
            .collect();
        let start = start.and_then(|s| self.start_node(s, &index, nodes));
        let succ = self.edges(pnodes, &index, nodes);
        let reached = self.reachable(pnodes, &succ, start);
        Graph {
            succ,
            start,
            reached,
        }
    }

    fn start_node(
        &mut self,
        s: &str,
        index: &HashMap<&str, usize>,
        nodes: &Map<String, Value>,
    ) -> Option<usize> {
        let ix = index.get(s).copied();
        if ix.is_none() && !nodes.contains_key(s) {
            let hint =
                did_you_mean_within(s, nodes.keys().map(String::as_str), &mut self.hint_work)
                    .map(|k| format!("did you mean '{k}'?"))
                    .unwrap_or_else(|| "name one of the nodes".into());
            self.error_hint(
                "unknown_start_node",
                "/draft/startNode",
                format!("startNode '{s}' names no node"),
                hint,
            );
        }
        ix
    }

    /// Each node's successors; findings for a node with no exit (in node order), then for
    /// each exit that names no node.
    fn edges(
        &mut self,
        pnodes: &[PNode],
        index: &HashMap<&str, usize>,
        nodes: &Map<String, Value>,
    ) -> Vec<Vec<(usize, bool)>> {
        let mut succ: Vec<Vec<(usize, bool)>> = vec![Vec::new(); pnodes.len()];
        let mut bad_targets = Vec::new();
        for (i, p) in pnodes.iter().enumerate() {
            for (target, tat, is_err) in &p.exits {
                match index.get(target.as_str()) {
                    Some(&j) => succ[i].push((j, *is_err)),
                    None if nodes.contains_key(target) => {} // exists but unusable (reported)
                    None => bad_targets.push((target.clone(), tat.clone(), p.key.clone())),
                }
            }
            if p.exits.is_empty() && !nodes::rules(&p.ty).terminal {
                self.error_hint(
                    "no_exit",
                    p.at.clone(),
                    format!(
                        "{} node '{}' has no exit: the call would stop here",
                        p.ty, p.key
                    ),
                    "set onComplete.nextNode, or end the path with an End or Disconnect node",
                );
            }
        }
        for (target, tat, from) in bad_targets {
            let hint = did_you_mean_within(
                &target,
                nodes.keys().map(String::as_str),
                &mut self.hint_work,
            )
            .map(|k| format!("did you mean '{k}'?"))
            .unwrap_or_else(|| "name one of the nodes of /draft/nodes".into());
            self.error_hint(
                "unknown_next_node",
                tat,
                format!("Invalid Flow Definition: node '{from}' moves to '{target}', which is not a node"),
                hint,
            );
        }
        succ
    }

    /// What `start` reaches, with a warning for each node it does not.
    fn reachable(
        &mut self,
        pnodes: &[PNode],
        succ: &[Vec<(usize, bool)>],
        start: Option<usize>,
    ) -> Vec<bool> {
        let mut reached = vec![false; pnodes.len()];
        let Some(s) = start else {
            return reached;
        };
        let mut stack = vec![s];
        reached[s] = true;
        while let Some(n) = stack.pop() {
            for &(m, _) in &succ[n] {
                if !reached[m] {
                    reached[m] = true;
                    stack.push(m);
                }
            }
        }
        for (i, p) in pnodes.iter().enumerate() {
            if !reached[i] {
                self.findings.push(
                    Finding::warning(
                        "unreachable_node",
                        p.at.clone(),
                        format!(
                            "node '{}' cannot be reached from startNode '{}'",
                            p.key, pnodes[s].key
                        ),
                    )
                    .with_hint("connect it or remove it"),
                );
            }
        }
        reached
    }
}
