//! Switch: `switch` with `evaluate.firstTrue`, one case per branch, the default after
//! them [corpus: `shared/reference/archy-catalogue.json`]. Its shape, exits and reads are
//! an If's ([`super::if_node`]).

use crate::compile::Compiler;
use crate::compile::structure::Block;
use crate::compile::yaml::Y;
use crate::template::model::{Branch, Node};

/// The `switch` action of the node.
pub(super) fn emit(c: &mut Compiler<'_>, n: &Node, branches: &[Branch], blocks: &[Block]) -> Y {
    let names = c.names();
    let conds: Vec<String> = branches.iter().map(|b| names.expr(&b.condition)).collect();
    c.first_true_switch(n.id.clone(), conds, blocks)
}
