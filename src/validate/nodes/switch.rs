//! Switch: an If whose branches are `cases`, parsed by [`Validator::if_node`](super::if_node).

use crate::validate::rules::Rules;

pub(super) const RULES: Rules = Rules {
    properties: &["cases", "defaultNextNode"],
    ..super::if_node::RULES
};
