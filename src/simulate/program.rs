//! The [`Builder`] a node kind's `build` resolves against: node ids of the flow being
//! built to indices, variables to slots, and the modules a Flow node adds.

use std::collections::{BTreeMap, HashMap};

use super::Prog;
use super::eval::{CExpr, CSeg};
use crate::compile::menu::Plan;
use crate::template::expr::Expr;
use crate::template::model::{Flow, Segment, Text};

/// What a node kind's `build` resolves against: the program being built (flow `p`), its
/// node index, and the modules a Flow node may add.
pub(super) struct Builder<'a, 'b> {
    pub(super) progs: &'b mut Vec<Prog<'a>>,
    pub(super) p: usize,
    pub(super) index: HashMap<&'a str, usize>,
    pub(super) modules: &'a BTreeMap<String, Flow>,
    pub(super) by_name: &'b mut HashMap<&'a str, usize>,
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
