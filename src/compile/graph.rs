//! The compiler's bridge to [`super::structure`]: a flow's node graph as shapes and exits
//! (each kind says its own in [`super::nodes`]), and walks over the structured result.

use std::collections::HashMap;

use super::exits::ExitField;
use super::structure::{self, Stmt};
use super::{CompileError, menu, nodes};
use crate::template::model::{Flow, FlowType, Node};

/// The exit field of exit number `exit` of a node, in the order [`structure_graph`] uses.
pub fn exit_field(n: &Node, exit: usize) -> ExitField {
    nodes::exit_field(n, exit)
}

/// The structurer's view of a flow compiled as `ty` (node indices follow `flow.nodes`).
pub fn structure_graph(flow: &Flow, ty: FlowType) -> Result<structure::Graph, CompileError> {
    let index: HashMap<&str, usize> = flow
        .nodes
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let start = *index
        .get(flow.start.as_str())
        .ok_or_else(|| CompileError::UnknownNode {
            node: "draft.startNode".into(),
            target: flow.start.clone(),
        })?;
    let menus = menu::entries(flow, ty);
    let mut shape = Vec::with_capacity(flow.nodes.len());
    let mut exits = Vec::with_capacity(flow.nodes.len());
    let mut levels = Vec::with_capacity(flow.nodes.len());
    let mut own = Vec::with_capacity(flow.nodes.len());
    let mut falls_through = Vec::with_capacity(flow.nodes.len());
    for n in flow.nodes.values() {
        let (sh, ex) = nodes::shape_and_exits(n, ty, &menus);
        let ex = ex
            .into_iter()
            .map(|t| {
                t.map(|t| {
                    index
                        .get(t)
                        .copied()
                        .ok_or_else(|| CompileError::UnknownNode {
                            node: n.id.clone(),
                            target: t.to_owned(),
                        })
                })
                .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (o, l) = nodes::nesting(n, ex.len());
        shape.push(sh);
        exits.push(ex);
        levels.push(l);
        own.push(o);
        falls_through.push(nodes::falls_through(n));
    }
    Ok(structure::Graph {
        shape,
        exits,
        levels,
        own,
        falls_through,
        start,
    })
}

/// The structured form of a flow compiled as `ty`.
pub fn structured(flow: &Flow, ty: FlowType) -> Result<structure::Structured, CompileError> {
    let graph = structure_graph(flow, ty)?;
    let mode = match ty {
        FlowType::Inbound => structure::Mode::Tasks,
        FlowType::Module => structure::Mode::Sequence {
            budget: structure::MODULE_DUPLICATION_BUDGET,
        },
    };
    structure::structure(&graph, mode).map_err(|e| CompileError::NotStructurable {
        node: flow
            .nodes
            .values()
            .nth(e.from)
            .map(|n| n.id.clone())
            .unwrap_or_default(),
        exit: e.exit,
        reason: e.reason,
    })
}

/// Calls `f` with every node a block runs or jumps to.
pub(super) fn collect_nodes(b: &[Stmt], f: &mut dyn FnMut(usize)) {
    for s in b {
        match s {
            Stmt::Node(i, blocks) => {
                f(*i);
                blocks.iter().for_each(|b| collect_nodes(b, f));
            }
            Stmt::Loop(_, body) => collect_nodes(body, f),
            Stmt::Jump(i) => f(*i),
            Stmt::End | Stmt::LoopExit(_) => {}
        }
    }
}

/// The header of every loop in a block (in order, with repeats).
pub(super) fn collect_loops(b: &[Stmt], out: &mut Vec<usize>) {
    for s in b {
        match s {
            Stmt::Node(_, blocks) => blocks.iter().for_each(|b| collect_loops(b, out)),
            Stmt::Loop(h, body) => {
                out.push(*h);
                collect_loops(body, out);
            }
            Stmt::End | Stmt::LoopExit(_) | Stmt::Jump(_) => {}
        }
    }
}
