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

/// A `switch` (`evaluate.firstTrue`): each case's actions sit at `switch`, `evaluate`,
/// `firstTrue`, `cases`, the item, `case`, `actions` (8 levels below the action); the
/// default's at `firstTrue`, `default`, `actions` (6). Shared with a module's Menu.
pub(super) fn exit_levels(exits: usize) -> Vec<usize> {
    (0..exits)
        .map(|k| if k + 1 < exits { 8 } else { 6 })
        .collect()
}
