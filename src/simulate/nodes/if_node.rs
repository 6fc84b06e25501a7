//! If: the first branch whose condition is true, else the default; no default is an error.
//! A condition on NOT_SET is false.

use super::super::LimitError;
use super::super::eval::{CExpr, EvalError, V, eval};
use super::super::machine::{Cx, Step};
use super::super::program::Builder;
use super::Kind;
use crate::template::model::Branch;

pub(in crate::simulate) struct If<'a> {
    branches: Vec<(CExpr<'a>, usize)>,
    default: Option<usize>,
}

pub(super) fn build<'a>(
    b: &mut Builder<'a, '_>,
    branches: &'a [Branch],
    default: &Option<String>,
) -> Kind<'a> {
    Kind::If(resolve(b, branches, default))
}

/// The branches (a branch whose target is not a node is left out) and the default.
pub(super) fn resolve<'a>(
    b: &mut Builder<'a, '_>,
    branches: &'a [Branch],
    default: &Option<String>,
) -> If<'a> {
    If {
        branches: branches
            .iter()
            .filter_map(|br| {
                let t = b.target(br.target.as_str())?;
                Some((b.expr(&br.condition), t))
            })
            .collect(),
        default: b.at(default),
    }
}

pub(super) fn step(cx: &mut Cx<'_, '_, '_>, k: &If<'_>) -> Result<Step, LimitError> {
    for (cond, target) in &k.branches {
        match eval(cond, cx.vars, cx.m.limits.max_value_bytes) {
            Ok(Some(V::B(true))) => return Ok(Step::Go(*target)),
            Ok(Some(V::B(false)) | None) => {}
            Ok(Some(other)) => {
                return Ok(Step::Fail(format!("condition is not a boolean: {other:?}")));
            }
            Err(EvalError::Fail(e)) => return Ok(Step::Fail(e)),
            Err(EvalError::TooLong(len)) => return Err(cx.too_long(len)),
        }
    }
    Ok(match k.default {
        Some(d) => Step::Go(d),
        None => Step::Fail("no condition is true and there is no default".into()),
    })
}
