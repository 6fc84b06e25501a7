//! Disconnect: ends the call.

use crate::compile::structure::Shape;
use crate::compile::{disconnect, yaml::Y};
use crate::template::model::Node;

pub(super) fn shape_and_exits() -> (Shape, Vec<Option<&'static str>>) {
    (Shape::Close, Vec::new())
}

pub(super) fn emit(n: &Node, out: &mut Vec<Y>) {
    out.push(disconnect(&n.id));
}
