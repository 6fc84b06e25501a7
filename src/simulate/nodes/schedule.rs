//! Schedule: the exit of the schedule group's state in the org, else `next`. A group the
//! org lacks is an error.

use std::collections::BTreeMap;

use super::super::machine::{Cx, Step};
use super::super::program::Builder;
use super::Kind;
use crate::calls::ScheduleState;

pub(in crate::simulate) struct Schedule<'a> {
    group: &'a str,
    exits: BTreeMap<ScheduleState, usize>,
}

pub(super) fn build<'a>(
    b: &mut Builder<'a, '_>,
    group: &'a str,
    exits: &BTreeMap<ScheduleState, String>,
) -> Kind<'a> {
    Kind::Schedule(Schedule {
        group,
        exits: exits
            .iter()
            .filter_map(|(s, t)| Some((*s, b.target(t.as_str())?)))
            .collect(),
    })
}

pub(super) fn step(cx: &Cx<'_, '_, '_>, k: &Schedule<'_>) -> Step {
    let group = k.group;
    match cx.m.org.schedule_groups.get(group) {
        None => Step::Fail(format!(
            "schedule group {group:?} is not in the simulation's org.schedule_groups"
        )),
        Some(state) => k
            .exits
            .get(state)
            .copied()
            .or(cx.at.node.next)
            .map_or(Step::End, Step::Go),
    }
}
