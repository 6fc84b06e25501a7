//! Reading a node's or the document's JSON fields: each reader pushes the finding for a
//! value of the wrong shape and returns what it could read.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::validator::{PNode, Read, Validator, Write, at};
use crate::template::Finding;
use crate::template::expr::{self, Expr, is_var_name};
use crate::template::model::{Text, VarRef, VarType};

impl Validator<'_> {
    pub(super) fn unknown_fields(
        &mut self,
        obj: &Map<String, Value>,
        base: &str,
        allowed: &[&str],
        what: &str,
    ) {
        for k in obj.keys() {
            if !allowed.contains(&k.as_str()) {
                self.error_hint(
                    "unknown_field",
                    at(base, k),
                    format!("unknown field '{k}' in {what}"),
                    format!("allowed fields: {}", allowed.join(", ")),
                );
            }
        }
    }

    /// An optional string field: `None` when absent or null.
    pub(super) fn opt_str(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        base: &str,
    ) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                self.wrong_type(&at(base, key), &format!("'{key}' must be a string"), v);
                None
            }
        }
    }

    pub(super) fn opt_int(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        base: &str,
    ) -> Option<i64> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_i64() {
                Some(n) => Some(n),
                None => {
                    self.wrong_type(&at(base, key), &format!("'{key}' must be an integer"), v);
                    None
                }
            },
        }
    }

    pub(super) fn opt_seconds(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        base: &str,
    ) -> Option<u32> {
        let n = self.opt_int(obj, key, base)?;
        match u32::try_from(n) {
            Ok(s) => Some(s),
            Err(_) => {
                self.error(
                    "invalid_value",
                    at(base, key),
                    format!("'{key}' must be 0 or more"),
                );
                None
            }
        }
    }

    pub(super) fn opt_bool(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        base: &str,
    ) -> Option<bool> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(v) => {
                self.wrong_type(&at(base, key), &format!("'{key}' must be true or false"), v);
                None
            }
        }
    }

    pub(super) fn var_name(&mut self, name: &str, at: &str, what: &str) -> bool {
        if is_var_name(name) {
            return true;
        }
        self.error_hint(
            "invalid_variable_name",
            at,
            format!("{what} '{name}' is not a valid Genesys variable name"),
            "use letters, digits and '_', not starting with a digit",
        );
        false
    }

    pub(super) fn parse_expr(&mut self, src: &str, at: &str) -> Option<Expr> {
        match expr::parse(src) {
            Ok(e) => Some(e),
            Err(e) => {
                self.findings.push(
                    Finding::error(
                        "expression_syntax",
                        at,
                        format!("{} at offset {} in {src:?}", e.message, e.offset),
                    )
                    .with_hint(format!(
                        "{src}\n{}^",
                        " ".repeat(src[..e.offset.min(src.len())].chars().count())
                    )),
                );
                None
            }
        }
    }

    pub(super) fn parse_text(&mut self, src: &str, at: &str) -> Option<Text> {
        match expr::parse_text(src) {
            Ok(t) => Some(t),
            Err(e) => {
                self.error_hint(
                    "text_syntax",
                    at,
                    format!("{} at offset {} in {src:?}", e.message, e.offset),
                    "write {name} or {Node.digits} to insert a variable",
                );
                None
            }
        }
    }

    pub(super) fn text_reads(
        &mut self,
        text: &Text,
        tat: &str,
        p: &mut PNode,
        after_writes: usize,
    ) {
        for v in text.vars() {
            p.reads.push(Read {
                var: v.clone(),
                at: tat.to_owned(),
                guarded: false,
                after_writes,
            });
        }
    }

    pub(super) fn expr_reads(&mut self, e: &Expr, eat: &str, p: &mut PNode, after_writes: usize) {
        let unguarded: BTreeSet<&VarRef> = e.unguarded_vars().into_iter().collect();
        for v in e.vars() {
            p.reads.push(Read {
                var: v.clone(),
                at: eat.to_owned(),
                guarded: !unguarded.contains(v),
                after_writes,
            });
        }
    }

    pub(super) fn text_prop(
        &mut self,
        props: &Map<String, Value>,
        key: &str,
        pat: &str,
        p: &mut PNode,
        required: bool,
    ) -> Option<Text> {
        let tat = at(pat, key);
        match props.get(key) {
            None | Some(Value::Null) if required => {
                self.error(
                    "missing_property",
                    tat,
                    format!("{} nodes need '{key}'", p.ty),
                );
                None
            }
            None | Some(Value::Null) => Some(Text::default()),
            Some(Value::String(s)) => {
                let t = self.parse_text(s, &tat)?;
                self.text_reads(&t, &tat, p, 0);
                Some(t)
            }
            Some(v) => {
                self.wrong_type(&tat, &format!("'{key}' must be a string"), v);
                None
            }
        }
    }

    /// A required, non-empty org object name.
    pub(super) fn object_name(
        &mut self,
        props: &Map<String, Value>,
        key: &str,
        pat: &str,
        ty: &str,
    ) -> Option<String> {
        match self.opt_str(props, key, pat) {
            Some(s) if !s.trim().is_empty() => Some(s),
            Some(_) => {
                self.error(
                    "invalid_value",
                    at(pat, key),
                    format!("'{key}' must not be empty"),
                );
                None
            }
            None if props.get(key).is_none_or(Value::is_null) => {
                self.error(
                    "missing_property",
                    at(pat, key),
                    format!("{ty} nodes need '{key}'"),
                );
                None
            }
            None => None,
        }
    }

    /// `{name: text}` maps (data action inputs, participant data attributes), in key order.
    pub(super) fn text_map(
        &mut self,
        props: &Map<String, Value>,
        key: &str,
        pat: &str,
        p: &mut PNode,
    ) -> Option<Vec<(String, Text)>> {
        let mat = at(pat, key);
        let obj = match props.get(key) {
            None | Some(Value::Null) => return Some(Vec::new()),
            Some(Value::Object(o)) => o,
            Some(v) => {
                self.wrong_type(
                    &mat,
                    &format!("'{key}' must be an object {{name: text}}"),
                    v,
                );
                return None;
            }
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (k, v) in obj {
            let vat = at(&mat, k);
            if k.trim().is_empty() {
                self.error("invalid_value", vat.clone(), "names must not be empty");
                ok = false;
            }
            match v {
                Value::String(s) => match self.parse_text(s, &vat) {
                    Some(t) => {
                        self.text_reads(&t, &vat, p, 0);
                        out.push((k.clone(), t));
                    }
                    None => ok = false,
                },
                Value::Number(_) | Value::Bool(_) => {
                    out.push((k.clone(), Text::literal(v.to_string())))
                }
                v => {
                    self.wrong_type(&vat, "a value must be text", v);
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// `{name: variable}` maps (outputs written to flow variables); each variable is a write
    /// on the success exit (`success`) or on every exit.
    pub(super) fn var_map(
        &mut self,
        props: &Map<String, Value>,
        key: &str,
        pat: &str,
        p: &mut PNode,
        success: bool,
    ) -> Option<Vec<(String, VarRef)>> {
        let mat = at(pat, key);
        let obj = match props.get(key) {
            None | Some(Value::Null) => return Some(Vec::new()),
            Some(Value::Object(o)) => o,
            Some(v) => {
                self.wrong_type(
                    &mat,
                    &format!("'{key}' must be an object {{name: variable}}"),
                    v,
                );
                return None;
            }
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (k, v) in obj {
            let vat = at(&mat, k);
            let Some(name) = v.as_str() else {
                self.wrong_type(&vat, "a variable must be a string", v);
                ok = false;
                continue;
            };
            let name = name.trim_start_matches('{').trim_end_matches('}');
            if k.trim().is_empty() || !self.var_name(name, &vat, "variable") {
                ok = false;
                continue;
            }
            let w = Write {
                var: VarRef(name.to_owned()),
                ty: Some(VarType::String),
                at: vat,
            };
            if success {
                p.success_writes.push(w);
            } else {
                p.writes.push(w);
            }
            out.push((k.clone(), VarRef(name.to_owned())));
        }
        ok.then_some(out)
    }
}
