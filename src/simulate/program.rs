//! The pre-resolved program of a call: every flow it can reach (the entry flow, then each
//! module a Flow node names, once), with node ids resolved to indices and variables to
//! slots, so that a step does no lookup by name.

use std::collections::{BTreeMap, HashMap};

use super::eval::{CExpr, CSeg};
use super::nodes::{self, Kind};
use crate::compile::canonical;
use crate::compile::menu::Plan;
use crate::template::expr::Expr;
use crate::template::model::{Flow, FlowType, Segment, Text};

pub(super) struct PNode<'a> {
    pub(super) id: &'a str,
    pub(super) type_name: &'static str,
    pub(super) kind: Kind<'a>,
    pub(super) next: Option<usize>,
    pub(super) on_error: Option<usize>,
}

pub(super) struct Prog<'a> {
    pub(super) flow: &'a Flow,
    pub(super) nodes: Vec<PNode<'a>>,
    pub(super) start: Option<usize>,
    pub(super) slot_names: Vec<String>,
    slots: HashMap<String, usize>,
}

impl<'a> Prog<'a> {
    fn new(flow: &'a Flow) -> Prog<'a> {
        Prog {
            flow,
            nodes: Vec::new(),
            start: None,
            slot_names: Vec::new(),
            slots: HashMap::new(),
        }
    }

    fn slot(&mut self, name: &str) -> usize {
        let name = canonical(name);
        if let Some(&s) = self.slots.get(name.as_ref()) {
            return s;
        }
        let s = self.slot_names.len();
        self.slot_names.push(name.clone().into_owned());
        self.slots.insert(name.into_owned(), s);
        s
    }
}

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

/// What a node kind's `build` resolves against: the program being built (flow `p`), its
/// node index, and the modules a Flow node may add.
pub(super) struct Builder<'a, 'b> {
    progs: &'b mut Vec<Prog<'a>>,
    p: usize,
    index: HashMap<&'a str, usize>,
    modules: &'a BTreeMap<String, Flow>,
    by_name: &'b mut HashMap<&'a str, usize>,
    /// Menus of an inbound entry flow compiled as `menus` entries (they store no digits).
    pub(super) menu_entries: HashMap<&'a str, Plan>,
}

impl<'a> Builder<'a, '_> {
    /// The index of an optional exit; `None` when absent or not a node of the flow.
    pub(super) fn at(&self, id: &Option<String>) -> Option<usize> {
        id.as_deref().and_then(|i| self.target(i))
    }

    /// The index of node `id` of the flow being built.
    pub(super) fn target(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The slot of a variable of the flow being built.
    pub(super) fn slot(&mut self, name: &str) -> usize {
        self.progs[self.p].slot(name)
    }

    /// The slot of a variable of program `prog` (a called module).
    pub(super) fn slot_in(&mut self, prog: usize, name: &str) -> usize {
        self.progs[prog].slot(name)
    }

    /// The flow of program `prog`.
    pub(super) fn flow_of(&self, prog: usize) -> &'a Flow {
        self.progs[prog].flow
    }

    /// The program of module `name` (added on first use), `None` when it is not available.
    pub(super) fn module(&mut self, name: &str) -> Option<usize> {
        let (k, f) = self.modules.get_key_value(name)?;
        let progs = &mut *self.progs;
        Some(*self.by_name.entry(k.as_str()).or_insert_with(|| {
            progs.push(Prog::new(f));
            progs.len() - 1
        }))
    }

    pub(super) fn text(&mut self, t: &'a Text) -> Vec<CSeg<'a>> {
        t.0.iter()
            .map(|s| match s {
                Segment::Literal(l) => CSeg::Lit(l),
                Segment::Var(v) => CSeg::Var(self.slot(v.name())),
            })
            .collect()
    }

    pub(super) fn expr(&mut self, e: &'a Expr) -> CExpr<'a> {
        match e {
            Expr::Str(s) => CExpr::Str(s),
            Expr::Int(i) => CExpr::Int(*i),
            Expr::Bool(b) => CExpr::Bool(*b),
            Expr::Var(v) => CExpr::Var(self.slot(v.name())),
            Expr::Not(a) => CExpr::Not(Box::new(self.expr(a))),
            Expr::Neg(a) => CExpr::Neg(Box::new(self.expr(a))),
            Expr::Binary(op, a, b) => {
                CExpr::Bin(*op, Box::new(self.expr(a)), Box::new(self.expr(b)))
            }
            Expr::Call(f, args) => CExpr::Call(*f, args.iter().map(|a| self.expr(a)).collect()),
        }
    }
}
