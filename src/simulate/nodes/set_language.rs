//! SetLanguage: the call's language becomes the tag, or the expression's value (NOT_SET or
//! a failing expression enters the flow's error handling; setLanguage has no failure path,
//! so onError is not followed). Every later transcript line carries the language.

use super::super::LimitError;
use super::super::eval::{CExpr, EvalError, V, eval};
use super::super::machine::{Cx, Step};
use super::super::program::Builder;
use super::Kind;
use crate::template::model::Language;

pub(in crate::simulate) enum SetLanguage<'a> {
    Literal(&'a str),
    Expr(CExpr<'a>),
}

pub(super) fn build<'a>(b: &mut Builder<'a, '_>, language: &'a Language) -> Kind<'a> {
    Kind::SetLanguage(match language {
        Language::Literal(tag) => SetLanguage::Literal(tag),
        Language::Expr(e) => SetLanguage::Expr(b.expr(e)),
    })
}

pub(super) fn step(cx: &mut Cx<'_, '_, '_>, k: &SetLanguage<'_>) -> Result<Step, LimitError> {
    let tag = match k {
        SetLanguage::Literal(tag) => (*tag).to_owned(),
        SetLanguage::Expr(e) => match eval(e, cx.vars, cx.m.limits.max_value_bytes) {
            // The validator typed the expression a string.
            Ok(Some(V::S(s))) => s.into_owned(),
            Ok(Some(V::I(i))) => i.to_string(),
            Ok(Some(V::B(b))) => b.to_string(),
            Ok(None) => return Ok(Step::Fail("setLanguage to a value that is NOT_SET".into())),
            Err(EvalError::Fail(e)) => return Ok(Step::Fail(e)),
            Err(EvalError::TooLong(len)) => return Err(cx.too_long(len)),
        },
    };
    cx.m.language = Some(tag);
    Ok(cx.at.next())
}
