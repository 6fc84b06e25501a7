//! Route: transfer the call to a queue (ends the flow).

use serde_json::Value;

use super::NodeIn;
use crate::template::model::NodeKind;
use crate::template::model::QueueRef;
use crate::validate::rules::Rules;
use crate::validate::validator::{Validator, at};

pub(super) const RULES: Rules = Rules {
    properties: &["queueId", "queueName", "skillRequirements", "priority"],
    terminal: true,
    leaves_call: true,
    ..Rules::PLAIN
};

impl Validator<'_> {
    pub(super) fn route(&mut self, n: NodeIn<'_>) -> Option<NodeKind> {
        let NodeIn { props, pat, .. } = n;
        let queue = self
            .one_of(
                props,
                pat,
                ["queueId", "queueName"],
                ("Route", "invalid_route_queue"),
                "give exactly one of them",
            )
            .map(|q| q.map_or_else(QueueRef::Name, QueueRef::Id));
        let skat = at(pat, "skillRequirements");
        let mut skills = Vec::new();
        match props.get("skillRequirements") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                for (i, s) in a.iter().enumerate() {
                    match s {
                        Value::String(s) => skills.push(s.clone()),
                        v => self.wrong_type(
                            &at(&skat, &i.to_string()),
                            "a skill requirement must be a string (a skill name)",
                            v,
                        ),
                    }
                }
            }
            Some(v) => self.wrong_type(
                &skat,
                "'skillRequirements' must be an array of skill names",
                v,
            ),
        }
        let priority = self.opt_int(props, "priority", pat);
        Some(NodeKind::Route {
            queue: queue?,
            skills,
            priority,
        })
    }
}
