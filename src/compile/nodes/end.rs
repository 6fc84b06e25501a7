//! End: an inbound flow disconnects; a module returns by reaching the end of its action
//! list (see [`crate::compile::unverified::module_end`]).

use crate::compile::structure::Shape;
use crate::compile::{Compiler, disconnect, unverified, yaml::Y};
use crate::template::model::{FlowType, Node};

pub(super) fn shape_and_exits(ty: FlowType) -> (Shape, Vec<Option<&'static str>>) {
    match ty {
        FlowType::Module => (Shape::Return, Vec::new()),
        FlowType::Inbound => (Shape::Close, Vec::new()),
    }
}

pub(super) fn emit(c: &Compiler<'_>, n: &Node, out: &mut Vec<Y>) {
    let id = n.id.as_str();
    if c.ty == FlowType::Module {
        out.extend(unverified::module_end(id));
    } else {
        out.push(disconnect(id));
    }
}
