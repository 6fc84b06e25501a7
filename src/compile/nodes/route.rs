//! Route: `transferToAcd` to a queue. It has no failure output: a failed transfer falls
//! through to the actions after it (the node's failure path), as exports do.

use crate::compile::exits::{ExitField, linear_failure_path};
use crate::compile::structure::Shape;
use crate::compile::yaml::{self, Y};
use crate::compile::{Compiler, lit, no_value};
use crate::template::model::{Node, NodeKind, QueueRef};

pub(super) fn shape_and_exits(n: &Node) -> (Shape, Vec<Option<&str>>) {
    linear_failure_path(n)
}

pub(super) fn exit_field(n: &Node) -> ExitField {
    if n.on_error.is_some() {
        ExitField::OnError
    } else {
        ExitField::Next
    }
}

pub(super) fn emit(c: &mut Compiler<'_>, n: &Node, out: &mut Vec<Y>) {
    let mut e: Vec<(yaml::Key, Y)> = vec![("name".into(), Y::s(n.id.as_str()))];
    e.extend(transfer_fields(c, n));
    out.push(Y::one("transferToAcd", Y::Map(e)));
}

/// The fields of a Route's transfer after its name (`transferToAcd` and the menu choice
/// `menuTransferToAcd` share them [corpus: SimpleFinancialIvr_v2-0.yaml]).
pub(super) fn transfer_fields(c: &mut Compiler<'_>, n: &Node) -> Vec<(yaml::Key, Y)> {
    let NodeKind::Route {
        queue,
        skills,
        priority,
    } = &n.kind
    else {
        return Vec::new();
    };
    let id = n.id.as_str();
    let qname = match queue {
        QueueRef::Name(q) => q.clone(),
        QueueRef::Id(q) => match c.ctx.queue_names.get(q) {
            Some(name) => name.clone(),
            None => {
                c.warn(
                    "queue_id_unresolved",
                    id,
                    "properties",
                    format!(
                        "queue id {q:?} is written as the queue name; it is \
                         resolved to a queue name at provisioning time"
                    ),
                );
                q.clone()
            }
        },
    };
    if !skills.is_empty() {
        c.warn(
            "skills_not_compiled",
            id,
            "properties",
            "skillRequirements are not compiled yet; the transfer uses the queue only".into(),
        );
    }
    vec![
        ("targetQueue".into(), lit(Y::one("name", Y::s(qname)))),
        ("priority".into(), lit(Y::Int(priority.unwrap_or(0)))),
        ("preferredAgents".into(), no_value()),
        ("languageSkill".into(), no_value()),
        (
            "failureOutputs".into(),
            Y::map([("errorType", no_value()), ("errorMessage", no_value())]),
        ),
    ]
}
