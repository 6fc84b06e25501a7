//! Set: evaluates its assignments in order, each converted to the variable's type; the
//! first that fails enters the flow's error handling (updateData has no failure path, so
//! onError is not followed).

use super::super::LimitError;
use super::super::eval::{CSet, EvalError, V, Val, coerce, eval};
use super::super::machine::{Cx, Step};
use super::super::program::Builder;
use super::Kind;
use crate::template::model::{Assignment, Segment, SetValue, VarType};

pub(in crate::simulate) struct Set<'a>(Vec<(usize, VarType, CSet<'a>)>);

pub(super) fn build<'a>(b: &mut Builder<'a, '_>, assignments: &'a [Assignment]) -> Kind<'a> {
    Kind::Set(Set(assignments
        .iter()
        .map(|a| {
            let value = match &a.value {
                // A text that is exactly one `{var}` copies the value (NOT_SET stays NOT_SET).
                SetValue::Text(t) => match t.0.as_slice() {
                    [Segment::Var(v)] => CSet::Copy(b.slot(v.name())),
                    _ => CSet::Text(b.text(t)),
                },
                SetValue::Expr(e) => CSet::Expr(b.expr(e)),
            };
            (b.slot(a.var.name()), a.ty, value)
        })
        .collect()))
}

pub(super) fn step(cx: &mut Cx<'_, '_, '_>, k: &Set<'_>) -> Result<Step, LimitError> {
    let max_value = cx.m.limits.max_value_bytes;
    for (slot, ty, value) in &k.0 {
        let v: Result<Option<Val>, String> = match value {
            CSet::Copy(s) => Ok(cx.vars[*s].clone()),
            CSet::Text(t) => Ok(Some(Val::S(cx.text(t)?.to_owned()))),
            CSet::Expr(e) => match eval(e, cx.vars, max_value) {
                Ok(v) => Ok(v.map(V::into_val)),
                Err(EvalError::Fail(e)) => Err(e),
                Err(EvalError::TooLong(len)) => return Err(cx.too_long(len)),
            },
        };
        match v.and_then(|v| v.map(|v| coerce(v, *ty)).transpose()) {
            // Upper() can lengthen a string: check what is stored too.
            Ok(Some(Val::S(s))) if s.len() > max_value => return Err(cx.too_long(s.len())),
            Ok(v) => cx.vars[*slot] = v,
            Err(e) => return Ok(Step::Fail(e)),
        }
    }
    Ok(cx.at.next())
}
