//! Voicemail: `transferToVoicemail` to a queue (`destination.queue`) [corpus]. A failed
//! transfer falls through to the failure path, as for a Route's `transferToAcd`.

use super::named_action;
use crate::compile::exits::linear_failure_path;
use crate::compile::structure::Shape;
use crate::compile::yaml::Y;
use crate::compile::{lit, no_value};
use crate::template::model::Node;

pub(super) fn shape_and_exits(n: &Node) -> (Shape, Vec<Option<&str>>) {
    linear_failure_path(n)
}

pub(super) fn emit(n: &Node, queue: &str, out: &mut Vec<Y>) {
    out.push(named_action(
        "transferToVoicemail",
        n,
        "destination",
        Y::one(
            "queue",
            Y::map([
                ("targetQueue", lit(Y::one("name", Y::s(queue.to_owned())))),
                ("calleeName", no_value()),
            ]),
        ),
    ));
}
