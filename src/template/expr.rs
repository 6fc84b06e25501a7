//! The small expression language of spec section 3 (If conditions, Set expressions):
//! literals, `{var}` references, `+ -` on integers, comparisons, `and or not`, parentheses
//! and a few functions. Parse errors carry byte offsets into the source text.

use super::model::VarRef;

/// Functions of the template language (all exist in Genesys expressions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    IsSet,
    IsNotSetOrEmpty,
    ToString,
    ToInt,
    Lower,
    Upper,
    Length,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Str(String),
    Int(i64),
    Bool(bool),
    Var(VarRef),
    Not(Box<Expr>),
    /// Unary minus.
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
}

/// A syntax error at a byte offset of the expression text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at offset {offset}")]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

/// Parses an expression. (Implementation pending.)
pub fn parse(_src: &str) -> Result<Expr, ParseError> {
    Err(ParseError {
        offset: 0,
        message: "expression parser not implemented".into(),
    })
}
