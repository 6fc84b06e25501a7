//! Values, expressions and texts of a running call: NOT_SET is `None`, every comparison
//! with it is false, arithmetic and logic on it are errors, a text interpolates it as "".

use std::borrow::Cow;

use crate::template::expr::{BinOp, Func};
use crate::template::model::VarType;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Val {
    S(String),
    I(i64),
    B(bool),
}

#[derive(Debug)]
pub(super) enum V<'a> {
    S(Cow<'a, str>),
    I(i64),
    B(bool),
}

impl V<'_> {
    pub(super) fn into_val(self) -> Val {
        match self {
            V::S(s) => Val::S(s.into_owned()),
            V::I(i) => Val::I(i),
            V::B(b) => Val::B(b),
        }
    }
}

fn borrow(v: &Val) -> V<'_> {
    match v {
        Val::S(s) => V::S(Cow::Borrowed(s)),
        Val::I(i) => V::I(*i),
        Val::B(b) => V::B(*b),
    }
}

pub(super) enum CExpr<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
    Var(usize),
    Not(Box<CExpr<'a>>),
    Neg(Box<CExpr<'a>>),
    Bin(BinOp, Box<CExpr<'a>>, Box<CExpr<'a>>),
    Call(Func, Vec<CExpr<'a>>),
}

pub(super) enum CSeg<'a> {
    Lit(&'a str),
    Var(usize),
}

pub(super) enum CSet<'a> {
    Text(Vec<CSeg<'a>>),
    Copy(usize),
    Expr(CExpr<'a>),
}

pub(super) type Vars = Vec<Option<Val>>;

/// Why an expression has no value: a runtime error of the flow (it takes onError), or a
/// string that would pass `max_value_bytes` (the simulation is refused).
#[derive(Debug)]
pub(super) enum EvalError {
    Fail(String),
    TooLong(usize),
}

impl From<String> for EvalError {
    fn from(s: String) -> Self {
        EvalError::Fail(s)
    }
}

impl From<&str> for EvalError {
    fn from(s: &str) -> Self {
        EvalError::Fail(s.to_owned())
    }
}

pub(super) fn eval<'a>(
    e: &'a CExpr<'a>,
    vars: &'a Vars,
    max: usize,
) -> Result<Option<V<'a>>, EvalError> {
    Ok(Some(match e {
        CExpr::Str(s) => V::S(Cow::Borrowed(s)),
        CExpr::Int(i) => V::I(*i),
        CExpr::Bool(b) => V::B(*b),
        CExpr::Var(s) => return Ok(vars[*s].as_ref().map(borrow)),
        CExpr::Not(a) => V::B(!truth(eval(a, vars, max)?, "not")?),
        CExpr::Neg(a) => match eval(a, vars, max)? {
            Some(V::I(i)) => V::I(i.checked_neg().ok_or("integer overflow")?),
            Some(_) => return Err("'-' needs an integer".into()),
            None => return Err("'-' on a NOT_SET value".into()),
        },
        CExpr::Bin(op, a, b) => match op {
            BinOp::And => {
                V::B(truth(eval(a, vars, max)?, "and")? && truth(eval(b, vars, max)?, "and")?)
            }
            BinOp::Or => {
                V::B(truth(eval(a, vars, max)?, "or")? || truth(eval(b, vars, max)?, "or")?)
            }
            BinOp::Add | BinOp::Sub => match (eval(a, vars, max)?, eval(b, vars, max)?) {
                (Some(V::I(x)), Some(V::I(y))) => V::I(
                    if *op == BinOp::Add {
                        x.checked_add(y)
                    } else {
                        x.checked_sub(y)
                    }
                    .ok_or("integer overflow")?,
                ),
                (Some(V::S(x)), Some(V::S(y))) if *op == BinOp::Add => {
                    if x.len() + y.len() > max {
                        return Err(EvalError::TooLong(x.len() + y.len()));
                    }
                    V::S(Cow::Owned(format!("{x}{y}")))
                }
                (None, _) | (_, None) => {
                    return Err(format!("'{}' on a NOT_SET value", op_char(*op)).into());
                }
                _ => return Err(format!("'{}' needs two integers", op_char(*op)).into()),
            },
            _ => {
                let (x, y) = match (eval(a, vars, max)?, eval(b, vars, max)?) {
                    (Some(x), Some(y)) => (x, y),
                    // Every comparison with NOT_SET is false.
                    _ => return Ok(Some(V::B(false))),
                };
                let ord = match (&x, &y) {
                    (V::S(x), V::S(y)) => x.as_ref().cmp(y.as_ref()),
                    (V::I(x), V::I(y)) => x.cmp(y),
                    (V::B(x), V::B(y)) if matches!(op, BinOp::Eq | BinOp::Ne) => x.cmp(y),
                    _ => return Err(format!("cannot compare {x:?} with {y:?}").into()),
                };
                V::B(match op {
                    BinOp::Eq => ord.is_eq(),
                    BinOp::Ne => ord.is_ne(),
                    BinOp::Lt => ord.is_lt(),
                    BinOp::Le => ord.is_le(),
                    BinOp::Gt => ord.is_gt(),
                    _ => ord.is_ge(),
                })
            }
        },
        CExpr::Call(f, args) => {
            let arg = match args.first() {
                Some(a) => eval(a, vars, max)?,
                None => return Err(EvalError::Fail("missing argument".into())),
            };
            match (f, arg) {
                (Func::IsSet, a) => V::B(a.is_some()),
                (Func::IsNotSetOrEmpty, a) => {
                    V::B(a.is_none() || matches!(&a, Some(V::S(s)) if s.is_empty()))
                }
                (_, None) => return Ok(None),
                (Func::ToString, Some(v)) => match v {
                    V::S(s) => V::S(s),
                    V::I(i) => V::S(Cow::Owned(i.to_string())),
                    V::B(b) => V::S(Cow::Borrowed(if b { "true" } else { "false" })),
                },
                (Func::ToInt, Some(v)) => match v {
                    V::I(i) => V::I(i),
                    V::S(s) => V::I(
                        s.trim()
                            .parse()
                            .map_err(|_| format!("ToInt: {s:?} is not an integer"))?,
                    ),
                    V::B(b) => V::I(b.into()),
                },
                (Func::Lower, Some(V::S(s))) => V::S(Cow::Owned(s.to_lowercase())),
                (Func::Upper, Some(V::S(s))) => V::S(Cow::Owned(s.to_uppercase())),
                (Func::Length, Some(V::S(s))) => V::I(s.chars().count() as i64),
                (f, Some(v)) => return Err(format!("{f:?} cannot take {v:?}").into()),
            }
        }
    }))
}

fn op_char(op: BinOp) -> char {
    if op == BinOp::Add { '+' } else { '-' }
}

fn truth(v: Option<V<'_>>, what: &str) -> Result<bool, String> {
    match v {
        Some(V::B(b)) => Ok(b),
        None => Err(format!("'{what}' on a NOT_SET value")),
        Some(other) => Err(format!("'{what}' needs a boolean, got {other:?}")),
    }
}

fn push_val(out: &mut String, v: &Val) {
    use std::fmt::Write as _;
    match v {
        Val::S(s) => out.push_str(s),
        Val::I(i) => {
            let _ = write!(out, "{i}");
        }
        Val::B(b) => out.push_str(if *b { "true" } else { "false" }),
    }
}

/// Fills `out` with the text; `Err(len)` as soon as it would pass `max` bytes.
pub(super) fn interpolate(
    out: &mut String,
    segs: &[CSeg<'_>],
    vars: &Vars,
    max: usize,
) -> Result<(), usize> {
    out.clear();
    for s in segs {
        match s {
            CSeg::Lit(l) => out.push_str(l),
            CSeg::Var(v) => {
                if let Some(val) = &vars[*v] {
                    push_val(out, val);
                }
            }
        }
        if out.len() > max {
            return Err(out.len());
        }
    }
    Ok(())
}

/// Converts a value to the type of the variable it is assigned to.
pub(super) fn coerce(v: Val, ty: VarType) -> Result<Val, String> {
    Ok(match (ty, v) {
        (VarType::String, Val::S(s)) => Val::S(s),
        (VarType::String, Val::I(i)) => Val::S(i.to_string()),
        (VarType::String, Val::B(b)) => Val::S(b.to_string()),
        (VarType::Integer, Val::I(i)) => Val::I(i),
        (VarType::Integer, Val::S(s)) => Val::I(
            s.trim()
                .parse()
                .map_err(|_| format!("{s:?} is not an integer"))?,
        ),
        (VarType::Boolean, Val::B(b)) => Val::B(b),
        (VarType::Boolean, Val::S(s)) if s.trim().eq_ignore_ascii_case("true") => Val::B(true),
        (VarType::Boolean, Val::S(s)) if s.trim().eq_ignore_ascii_case("false") => Val::B(false),
        (ty, v) => return Err(format!("{v:?} is not a {ty:?}")),
    })
}

/// An org value (data action output, table cell) as a flow string variable; null is NOT_SET.
pub(super) fn json_val(v: &serde_json::Value) -> Option<Val> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(Val::S(s.clone())),
        other => Some(Val::S(other.to_string())),
    }
}

pub(super) fn to_json(v: &Val) -> serde_json::Value {
    match v {
        Val::S(s) => serde_json::Value::String(s.clone()),
        Val::I(i) => serde_json::Value::from(*i),
        Val::B(b) => serde_json::Value::Bool(*b),
    }
}
