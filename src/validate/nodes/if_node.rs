//! If: branch on the first true condition, else `defaultNextNode`. Switch has the same
//! shape (see [`super::switch`]) and is parsed here.

use serde_json::{Map, Value};

use super::NodeIn;
use crate::template::expr::Expr;
use crate::template::model::{Branch, NodeKind, VarType};
use crate::validate::rules::Rules;
use crate::validate::validator::{PNode, Typed, Validator, at};

pub(super) const RULES: Rules = Rules {
    properties: &["conditions", "defaultNextNode"],
    ignores_exits: Some("use the conditions' nextNode and defaultNextNode"),
    ..Rules::PLAIN
};

impl Validator<'_> {
    /// An If node, or a Switch (the same shape, see [`super::switch`]).
    pub(super) fn if_node(&mut self, n: NodeIn<'_>) -> Option<NodeKind> {
        let NodeIn { props, pat, p, .. } = n;
        let (branches, default) = self.conditions(props, pat, p)?;
        Some(if p.ty == "Switch" {
            NodeKind::Switch { branches, default }
        } else {
            NodeKind::If { branches, default }
        })
    }

    /// The branches (`conditions`, or a Switch's `cases`) and `defaultNextNode` of an If or
    /// a Switch node, each target an exit of `p`.
    fn conditions(
        &mut self,
        props: &Map<String, Value>,
        pat: &str,
        p: &mut PNode,
    ) -> Option<(Vec<Branch>, Option<String>)> {
        let key = if p.ty == "Switch" {
            "cases"
        } else {
            "conditions"
        };
        let cat = at(pat, key);
        let conds: &[Value] = match props.get(key) {
            Some(Value::Array(a)) => a,
            None | Some(Value::Null) => &[],
            Some(v) => {
                self.wrong_type(
                    &cat,
                    "'conditions' must be an array of {expression, nextNode}",
                    v,
                );
                return None;
            }
        };
        if conds.is_empty() {
            self.error_hint(
                "if_without_conditions",
                if props.contains_key(key) {
                    cat.clone()
                } else {
                    pat.to_owned()
                },
                format!("{} node '{}' has no {key}", p.ty, p.key),
                "add conditions: [{\"expression\": \"{x} == '1'\", \"nextNode\": \"...\"}]",
            );
        }
        let mut branches = Vec::new();
        let mut ok = !conds.is_empty();
        for (i, c) in conds.iter().enumerate() {
            match self.condition(c, &at(&cat, &i.to_string()), p) {
                Some(b) => branches.push(b),
                None => ok = false,
            }
        }
        let default = self.opt_str(props, "defaultNextNode", pat);
        if let Some(d) = &default {
            p.exits.push((d.clone(), at(pat, "defaultNextNode"), false));
        }
        ok.then_some((branches, default))
    }

    /// One condition `{expression, nextNode}` (at `iat`): a boolean expression and a target.
    fn condition(&mut self, c: &Value, iat: &str, p: &mut PNode) -> Option<Branch> {
        let Some(c) = c.as_object() else {
            self.wrong_type(
                iat,
                "a condition must be an object {expression, nextNode}",
                c,
            );
            return None;
        };
        self.unknown_fields(c, iat, &["expression", "nextNode"], "a condition");
        let eat = at(iat, "expression");
        let e = match self.required(c, "expression", &eat, "a condition needs an 'expression'") {
            Some(Value::String(s)) => self.parse_expr(s, &eat),
            Some(Value::Bool(b)) => Some(Expr::Bool(*b)),
            Some(v) => {
                self.wrong_type(&eat, "'expression' must be a string", v);
                None
            }
            None => None,
        };
        if let Some(e) = &e {
            self.expr_reads(e, &eat, p, 0);
            p.typed.push(Typed {
                expr: e.clone(),
                at: eat.clone(),
                want: VarType::Boolean,
                what: "If",
            });
        }
        let nat = at(iat, "nextNode");
        let target = match self.required(c, "nextNode", &nat, "a condition needs a 'nextNode'") {
            Some(Value::String(t)) => Some(t.clone()),
            Some(v) => {
                self.wrong_type(&nat, "'nextNode' must be a string", v);
                None
            }
            None => None,
        };
        if let Some(t) = &target {
            p.exits.push((t.clone(), nat, false));
        }
        Some(Branch {
            condition: e?,
            target: target?,
        })
    }
}
