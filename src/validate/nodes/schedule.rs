//! Schedule: branch on a schedule group's state (open, closed, holiday, emergency).

use super::NodeIn;
use crate::template::model::NodeKind;
use crate::template::model::ScheduleState;
use crate::validate::rules::Rules;
use crate::validate::validator::{Validator, at};

pub(super) const RULES: Rules = Rules {
    properties: &["scheduleGroup", "open", "closed", "holiday", "emergency"],
    uncompiled_on_error: Some("evaluateScheduleGroup"),
    ..Rules::PLAIN
};

impl Validator<'_> {
    pub(super) fn schedule(&mut self, n: NodeIn<'_>) -> Option<NodeKind> {
        let NodeIn { props, pat, p, .. } = n;
        let group = self.object_name(props, "scheduleGroup", pat, "Schedule");
        let mut exits = std::collections::BTreeMap::new();
        for s in ScheduleState::ALL {
            if let Some(t) = self.opt_str(props, s.as_str(), pat) {
                p.exits.push((t.clone(), at(pat, s.as_str()), false));
                exits.insert(s, t);
            }
        }
        Some(NodeKind::Schedule {
            group: group?,
            exits,
        })
    }
}
