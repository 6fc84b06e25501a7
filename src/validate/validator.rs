//! The validator's state and the parsed form of a node it works on, with the helpers that
//! push findings.

use serde_json::Value;

use super::catalog::Catalog;
use crate::template::expr::Expr;
use crate::template::model::{NodeKind, VarRef, VarType};
use crate::template::{Finding, pointer};

/// A variable read, with where it is read.
pub(super) struct Read {
    pub(super) var: VarRef,
    pub(super) at: String,
    /// Inside `IsSet(...)`/`IsNotSetOrEmpty(...)`: not a use for read-before-write.
    pub(super) guarded: bool,
    /// For Set nodes: the number of this node's assignments executed before the read.
    pub(super) after_writes: usize,
}

/// A variable written, with where (the key or name that writes it) and its type if known.
pub(super) struct Write {
    pub(super) var: VarRef,
    pub(super) ty: Option<VarType>,
    pub(super) at: String,
}

/// An expression whose type is checked once every variable's type is known.
pub(super) struct Typed {
    pub(super) expr: Expr,
    pub(super) at: String,
    pub(super) want: VarType,
    pub(super) what: &'static str,
}

/// A node as parsed: its exits, what it reads and writes, and the expressions whose types
/// are checked once every variable's type is known.
pub(super) struct PNode {
    pub(super) key: String,
    pub(super) at: String,
    pub(super) ty: String,
    pub(super) kind: Option<NodeKind>,
    /// Every exit: (target, pointer of the target string, is the error exit).
    pub(super) exits: Vec<(String, String, bool)>,
    pub(super) next: Option<String>,
    pub(super) on_error: Option<String>,
    pub(super) reads: Vec<Read>,
    /// Written on every exit (Set assignments).
    pub(super) writes: Vec<Write>,
    /// Written on the success exit only (Gather digits, module outputs).
    pub(super) success_writes: Vec<Write>,
    /// A called module whose outputs are unknown (not in the catalog, or by flow id).
    pub(super) unverified_call: Option<String>,
    pub(super) typed: Vec<Typed>,
}

/// One document's validation: the findings so far and what it may look up.
pub(super) struct Validator<'a> {
    pub(super) findings: Vec<Finding>,
    pub(super) catalog: &'a dyn Catalog,
    /// What is left of [`crate::findings::HINT_WORK`] for this document.
    pub(super) hint_work: u64,
}

impl Validator<'_> {
    pub(super) fn error(&mut self, code: &str, at: impl Into<String>, msg: impl Into<String>) {
        self.findings.push(Finding::error(code, at, msg));
    }

    pub(super) fn error_hint(
        &mut self,
        code: &str,
        at: impl Into<String>,
        msg: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.findings
            .push(Finding::error(code, at, msg).with_hint(hint));
    }

    pub(super) fn warning(&mut self, code: &str, at: impl Into<String>, msg: impl Into<String>) {
        self.findings.push(Finding::warning(code, at, msg));
    }

    pub(super) fn wrong_type(&mut self, at: &str, what: &str, v: &Value) {
        self.error(
            "invalid_type",
            at,
            format!("{what}, found {}", json_kind(v)),
        );
    }
}

impl Typed {
    /// What the typed expression is, as a finding names it.
    pub(super) fn what_text(&self) -> String {
        match self.what {
            "If" => "an If condition".into(),
            "Set" => "the Set expression".into(),
            other => other.to_owned(),
        }
    }
}

pub(super) fn at(base: &str, key: &str) -> String {
    format!("{base}{}", pointer([key]))
}

pub(super) fn ty_name(t: VarType) -> &'static str {
    match t {
        VarType::String => "string",
        VarType::Integer => "integer",
        VarType::Boolean => "boolean",
    }
}

pub(super) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
