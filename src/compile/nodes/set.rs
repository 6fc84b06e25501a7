//! Set: one `updateData` with a typed statement per assignment. Archy's updateData has no
//! failure path, so an onError is not compiled.

use super::named_action;
use crate::compile::expr;
use std::collections::BTreeMap;

use crate::compile::expr::Names;
use crate::compile::yaml::Y;
use crate::compile::{Compiler, canonical, lit, literal_text};
use crate::template::model::{Assignment, Node, SetValue, Text, VarRef, VarType};

pub(super) fn reads(assignments: &[Assignment], f: &mut dyn FnMut(&str)) {
    for a in assignments {
        match &a.value {
            SetValue::Text(t) => t.vars().for_each(|v| f(v.name())),
            SetValue::Expr(e) => expr::vars(e, f),
        }
    }
}

pub(super) fn writes(assignments: &[Assignment], w: &mut dyn FnMut(&str, Option<VarType>)) {
    for a in assignments {
        w(a.var.name(), Some(a.ty));
    }
}

/// Every variable a Set assigns is an output of a template called as a module that
/// declares none (spec section 3).
pub(super) fn implicit_outputs(assignments: &[Assignment], out: &mut BTreeMap<String, VarType>) {
    for a in assignments {
        out.insert(canonical(a.var.name()).into_owned(), a.ty);
    }
}

pub(super) fn emit(c: &mut Compiler<'_>, n: &Node, assignments: &[Assignment], out: &mut Vec<Y>) {
    let names = c.names();
    let statements = assignments
        .iter()
        .map(|a| {
            let kind = match a.ty {
                VarType::String => "string",
                VarType::Integer => "integer",
                VarType::Boolean => "boolean",
            };
            Y::one(
                kind,
                Y::map([
                    ("variable", Y::s(names.var(&a.var))),
                    ("value", set_value(&names, a.ty, &a.value)),
                ]),
            )
        })
        .collect();
    out.push(named_action(
        "updateData",
        n,
        "statements",
        Y::Seq(statements),
    ));
}

/// The value of an assignment of type `ty`: a literal when the text is one, else an
/// expression converted to the type.
fn set_value(names: &Names<'_>, ty: VarType, v: &SetValue) -> Y {
    match v {
        SetValue::Expr(e) => Y::one("exp", Y::s(names.expr(e))),
        SetValue::Text(t) => match (ty, literal_text(t)) {
            (VarType::String, Some(s)) => lit(Y::s(s)),
            (VarType::Integer, Some(s)) => match s.trim().parse::<i64>() {
                Ok(i) => lit(Y::Int(i)),
                Err(_) => Y::one("exp", Y::s(format!("ToInt({})", names.text(t)))),
            },
            (VarType::Boolean, Some(s)) => match s.trim() {
                "true" => lit(Y::Bool(true)),
                "false" => lit(Y::Bool(false)),
                _ => Y::one("exp", Y::s(format!("ToBool({})", names.text(t)))),
            },
            (VarType::String, None) => Y::one("exp", Y::s(names.text(t))),
            (VarType::Integer, None) => match single_var(t) {
                Some(v) if names.type_of(v) == VarType::Integer => {
                    Y::one("exp", Y::s(names.var(v)))
                }
                _ => Y::one("exp", Y::s(format!("ToInt({})", names.text(t)))),
            },
            (VarType::Boolean, None) => match single_var(t) {
                Some(v) if names.type_of(v) == VarType::Boolean => {
                    Y::one("exp", Y::s(names.var(v)))
                }
                _ => Y::one("exp", Y::s(format!("ToBool({})", names.text(t)))),
            },
        },
    }
}

/// The variable when the text is exactly one interpolation.
fn single_var(t: &Text) -> Option<&VarRef> {
    match t.0.as_slice() {
        [crate::template::model::Segment::Var(v)] => Some(v),
        _ => None,
    }
}
