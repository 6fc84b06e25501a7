//! Schedule: `evaluateScheduleGroup`, one output per schedule state (see
//! [`crate::compile::archy::schedule_group`] and `schedule_output`); a state without
//! an exit goes to onComplete. Its onError is not compiled.

use std::collections::BTreeMap;

use crate::compile::structure::{Block, Shape};
use crate::compile::yaml::{self, Y};
use crate::compile::{Compiler, archy, no_value, outputs};
use crate::template::model::{Node, ScheduleState};

pub(super) fn shape_and_exits<'f>(
    n: &'f Node,
    exits: &'f BTreeMap<ScheduleState, String>,
) -> (Shape, Vec<Option<&'f str>>) {
    (
        Shape::Branch,
        ScheduleState::ALL
            .iter()
            .map(|s| exits.get(s).map(String::as_str).or(n.next.as_deref()))
            .collect(),
    )
}

pub(super) fn emit(
    c: &mut Compiler<'_>,
    n: &Node,
    group: &str,
    blocks: &[Block],
    out: &mut Vec<Y>,
) {
    let names = ScheduleState::ALL.map(archy::schedule_output);
    let b = names
        .iter()
        .enumerate()
        .map(|(k, name)| (*name, c.block_at(blocks, k)))
        .collect();
    let mut e: Vec<(yaml::Key, Y)> = vec![
        ("name".into(), Y::s(n.id.as_str())),
        ("inServiceSchedules".into(), no_value()),
        ("evaluate".into(), Y::one("now", Y::Bool(true))),
        ("scheduleGroup".into(), archy::schedule_group(group)),
    ];
    if let Some(o) = outputs(b) {
        e.push(("outputs".into(), o));
    }
    out.push(Y::one("evaluateScheduleGroup", Y::Map(e)));
}
