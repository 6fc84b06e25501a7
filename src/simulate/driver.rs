//! The two passes of a simulation: [`build`] pre-resolves the entry flow and the modules
//! it calls into programs, [`run`] takes one node step at a time until the call ends; both
//! call into the node kind's file (through [`super::nodes`]) for each node.

use std::collections::{BTreeMap, HashMap};

use super::machine::{At, Frame, Machine, Step, outcome};
use super::nodes::{self, flow};
use super::program::Builder;
use super::{LimitError, PNode, Prog, Simulation};
use crate::calls::{Outcome, OutcomeKind};
use crate::template::model::{Flow, FlowType};

/// Resolves `entry` and, breadth first, every module its Flow nodes (and theirs) name.
pub(super) fn build<'a>(entry: &'a Flow, modules: &'a BTreeMap<String, Flow>) -> Vec<Prog<'a>> {
    let mut progs = vec![Prog::new(entry)];
    let mut by_name: HashMap<&'a str, usize> = HashMap::new();
    let mut p = 0;
    while p < progs.len() {
        let flow = progs[p].flow;
        let index: HashMap<&'a str, usize> = flow
            .nodes
            .keys()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        progs[p].start = index.get(flow.start.as_str()).copied();
        // The entry flow is compiled as its own type, called flows as modules.
        let menu_entries = crate::compile::menu::entries(
            flow,
            if p == 0 {
                flow.flow_type
            } else {
                FlowType::Module
            },
        );
        let mut b = Builder {
            progs: &mut progs,
            p,
            index,
            modules,
            by_name: &mut by_name,
            menu_entries,
        };
        let nodes = flow
            .nodes
            .values()
            .map(|node| PNode {
                id: &node.id,
                type_name: node.kind.type_name(),
                kind: nodes::build(&mut b, node),
                next: b.at(&node.next),
                on_error: b.at(&node.on_error),
            })
            .collect();
        progs[p].nodes = nodes;
        p += 1;
    }
    progs
}

/// Runs the call from the entry flow's start node until it ends.
pub(super) fn run(mut m: Machine<'_, '_>) -> Result<Simulation, LimitError> {
    let progs = m.progs;
    let mut stack = vec![Frame::new(&progs[0], 0, None)];
    let mut steps = 0usize;
    let Some(mut cur) = progs[0].start else {
        return Ok(m.finish(
            &stack,
            steps,
            Outcome {
                kind: OutcomeKind::Error,
                queue: None,
                node: progs[0].flow.start.clone(),
                flow: progs[0].flow.name.clone(),
                message: Some("the start node does not exist".into()),
            },
        ));
    };
    loop {
        let pi = stack[stack.len() - 1].prog;
        let at = At {
            prog: pi,
            node: &progs[pi].nodes[cur],
        };
        if let Some(o) = m.out_of_steps(at, steps)? {
            return Ok(m.finish(&stack, steps, o));
        }
        steps += 1;
        let ended = match nodes::step(&mut m, at, &mut stack, cur)? {
            Step::Go(n) => {
                cur = n;
                continue;
            }
            Step::Done(kind, queue) => outcome(progs, at, kind, queue, None),
            // Return from a module, or end the call.
            Step::End => match flow::return_to_caller(progs, &mut stack, at) {
                Ok(n) => {
                    cur = n;
                    continue;
                }
                Err(end) => outcome(progs, end, OutcomeKind::Disconnected, None, None),
            },
            // The flow's error handling: the call is disconnected.
            Step::Fail(message) => outcome(progs, at, OutcomeKind::Error, None, Some(message)),
        };
        return Ok(m.finish(&stack, steps, ended));
    }
}
