//! If: a chain of `decision`s, one per condition; each `no` output holds the next test and
//! the last one's holds the default.

use crate::compile::exits::ExitField;
use crate::compile::expr;
use crate::compile::structure::{Block, OUTPUT_LEVELS, Shape};
use crate::compile::yaml::{self, Y};
use crate::compile::{Compiler, outputs};
use crate::template::model::{Branch, Node};

/// Each condition's node, then the default (shared with Switch).
pub(super) fn shape_and_exits<'f>(
    branches: &'f [Branch],
    default: &'f Option<String>,
) -> (Shape, Vec<Option<&'f str>>) {
    (
        Shape::Branch,
        branches
            .iter()
            .map(|b| Some(b.target.as_str()))
            .chain(std::iter::once(default.as_deref()))
            .collect(),
    )
}

pub(super) fn exit_field(branches: &[Branch], exit: usize) -> ExitField {
    if exit < branches.len() {
        ExitField::Condition(exit)
    } else {
        ExitField::Default
    }
}

/// Condition `k`'s actions sit in the `yes` of the `k + 1`-th nested `decision`; the
/// default's in the `no` of the last.
pub(super) fn exit_levels(branches: &[Branch], exits: usize) -> Vec<usize> {
    (0..exits)
        .map(|k| OUTPUT_LEVELS * (k + 1).min(branches.len().max(1)))
        .collect()
}

/// The variables the conditions read (shared with Switch).
pub(super) fn reads(branches: &[Branch], f: &mut dyn FnMut(&str)) {
    for b in branches {
        expr::vars(&b.condition, f);
    }
}

pub(super) fn emit(
    c: &mut Compiler<'_>,
    n: &Node,
    branches: &[Branch],
    blocks: &[Block],
    out: &mut Vec<Y>,
) {
    let id = n.id.as_str();
    // Build from the last condition outwards: each "no" holds the next test.
    let mut no = c.block_at(blocks, branches.len());
    for (k, b) in branches.iter().enumerate().rev() {
        let yes = c.block_at(blocks, k);
        let name = if branches.len() == 1 {
            id.to_owned()
        } else {
            format!("{id} condition {}", k + 1)
        };
        let outputs = outputs(vec![("yes", yes), ("no", no)]);
        let condition = Y::one("exp", Y::s(c.names().expr(&b.condition)));
        let mut e: Vec<(yaml::Key, Y)> =
            vec![("name".into(), Y::s(name)), ("condition".into(), condition)];
        if let Some(o) = outputs {
            e.push(("outputs".into(), o));
        }
        no = vec![Y::one("decision", Y::Map(e))];
    }
    out.append(&mut no);
}
