//! Switch: `switch` with `evaluate.firstTrue`, one case per branch, the default after
//! them [corpus: `shared/reference/archy-catalogue.json`].

use super::if_node;
use crate::compile::Compiler;
use crate::compile::structure::{Block, Shape};
use crate::compile::yaml::Y;
use crate::template::model::{Branch, Node};

/// Each case's node, then the default (as an If's conditions).
pub(super) fn shape_and_exits<'f>(
    branches: &'f [Branch],
    default: &'f Option<String>,
) -> (Shape, Vec<Option<&'f str>>) {
    if_node::shape_and_exits(branches, default)
}

pub(super) fn reads(branches: &[Branch], f: &mut dyn FnMut(&str)) {
    if_node::reads(branches, f);
}

pub(super) fn emit(
    c: &mut Compiler<'_>,
    n: &Node,
    branches: &[Branch],
    blocks: &[Block],
    out: &mut Vec<Y>,
) {
    let names = c.names();
    let conds: Vec<String> = branches.iter().map(|b| names.expr(&b.condition)).collect();
    out.push(c.first_true_switch(n.id.clone(), conds, blocks));
}
