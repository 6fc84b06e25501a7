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

    /// Exactly one of the string properties `[a, b]` of a node, non-empty: `Ok` with `a`'s
    /// value, `Err` with `b`'s; `None` after a finding `code` (of a `ty` node) for both or
    /// neither, `neither` the hint of the latter.
    pub(super) fn one_of(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        [a, b]: [&str; 2],
        (ty, code): (&str, &str),
        neither: &str,
    ) -> Option<Result<String, String>> {
        let va = self.opt_str(props, a, pat);
        let vb = self.opt_str(props, b, pat);
        match (va, vb) {
            (Some(v), None) if !v.trim().is_empty() => Some(Ok(v)),
            (None, Some(v)) if !v.trim().is_empty() => Some(Err(v)),
            (Some(_), Some(_)) => {
                self.error_hint(
                    code,
                    at(pat, b),
                    format!("a {ty} node has both {a} and {b}"),
                    "give exactly one of them",
                );
                None
            }
            _ => {
                self.error_hint(
                    code,
                    pat.to_owned(),
                    format!("a {ty} node needs a non-empty {a} or {b}"),
                    neither,
                );
                None
            }
        }
    }

    /// An expression property's value: a string to parse, an integer or a boolean; another
    /// value is a finding `what` at `eat`.
    pub(super) fn value_expr(&mut self, v: &Value, eat: &str, what: &str) -> Option<Expr> {
        match v {
            Value::String(s) => self.parse_expr(s, eat),
            Value::Number(n) if n.is_i64() => n.as_i64().map(Expr::Int),
            Value::Bool(b) => Some(Expr::Bool(*b)),
            v => {
                self.wrong_type(eat, what, v);
                None
            }
        }
    }

    /// Field `key` (at `fat`) of an object that needs it: `None` after a finding `need` when
    /// it is absent or null.
    pub(super) fn required<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        key: &str,
        fat: &str,
        need: &str,
    ) -> Option<&'v Value> {
        match obj.get(key) {
            None | Some(Value::Null) => {
                self.error("missing_field", fat, need);
                None
            }
            v => v,
        }
    }

    /// The object at `key` (pointer `kat`) of a map property: `Some(None)` when absent or
    /// null, `None` (with a finding) when not an object; `shape` is what it must look like.
    pub(super) fn object_prop<'v>(
        &mut self,
        props: &'v Map<String, Value>,
        key: &str,
        kat: &str,
        shape: &str,
    ) -> Option<Option<&'v Map<String, Value>>> {
        match props.get(key) {
            None | Some(Value::Null) => Some(None),
            Some(Value::Object(o)) => Some(Some(o)),
            Some(v) => {
                self.wrong_type(kat, &format!("'{key}' must be an object {shape}"), v);
                None
            }
        }
    }

    /// The `attributes` of a participant data node of type `ty`, which must name at least
    /// one (`shape` says what they look like).
    pub(super) fn nonempty_attributes<T>(
        &mut self,
        attributes: Vec<T>,
        pat: &str,
        ty: &str,
        shape: &str,
    ) -> Option<Vec<T>> {
        if attributes.is_empty() {
            self.error(
                "missing_property",
                at(pat, "attributes"),
                format!("{ty} nodes need 'attributes': {shape}"),
            );
            return None;
        }
        Some(attributes)
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
        let Some(obj) = self.object_prop(props, key, &mat, "{name: text}")? else {
            return Some(Vec::new());
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
        let Some(obj) = self.object_prop(props, key, &mat, "{name: variable}")? else {
            return Some(Vec::new());
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
