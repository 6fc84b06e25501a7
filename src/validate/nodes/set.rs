//! Set: assign variables, each from text or an expression of a declared type.

use serde_json::{Map, Value};

use super::NodeIn;
use crate::template::model::{Assignment, NodeKind, Segment, SetValue, Text, VarRef, VarType};
use crate::validate::rules::Rules;
use crate::validate::validator::{PNode, Typed, Validator, Write, at, ty_name};

pub(super) const RULES: Rules = Rules {
    properties: &["setVars"],
    uncompiled_on_error: Some("updateData"),
    ..Rules::PLAIN
};

impl Validator<'_> {
    pub(super) fn set(&mut self, n: NodeIn<'_>) -> Option<NodeKind> {
        let NodeIn { props, pat, p, .. } = n;
        let sat = at(pat, "setVars");
        let vars = match props.get("setVars") {
            Some(Value::Array(a)) => a,
            None | Some(Value::Null) => {
                self.error(
                    "missing_property",
                    sat,
                    "Set nodes need 'setVars': [{key, value}]",
                );
                return None;
            }
            Some(v) => {
                self.wrong_type(&sat, "'setVars' must be an array of {key, value}", v);
                return None;
            }
        };
        let mut assignments = Vec::new();
        let mut ok = true;
        for (i, item) in vars.iter().enumerate() {
            let iat = at(&sat, &i.to_string());
            match self.assignment(item, &iat, p, i) {
                Some(a) => assignments.push(a),
                None => ok = false,
            }
        }
        ok.then_some(NodeKind::Set { assignments })
    }

    /// One `setVars` entry `{key, value: {type, value | expression}}`, the `index`th of the
    /// node (reads in it come after the node's first `index` writes).
    fn assignment(
        &mut self,
        item: &Value,
        iat: &str,
        p: &mut PNode,
        index: usize,
    ) -> Option<Assignment> {
        let Some(obj) = item.as_object() else {
            self.wrong_type(
                iat,
                "a setVars entry must be an object {key, value: {type, value}}",
                item,
            );
            return None;
        };
        self.unknown_fields(obj, iat, &["key", "value"], "a setVars entry");
        let kat = at(iat, "key");
        let key = self.assignment_key(obj, &kat);
        let vat = at(iat, "value");
        let Some(val) = obj.get("value").and_then(Value::as_object) else {
            match obj.get("value") {
                None | Some(Value::Null) => self.error(
                    "missing_field",
                    vat,
                    "a setVars entry needs 'value': {type, value}",
                ),
                Some(v) => self.wrong_type(
                    &vat,
                    "'value' must be an object {type, value | expression}",
                    v,
                ),
            }
            return None;
        };
        self.unknown_fields(val, &vat, &["type", "value", "expression"], "a Set value");
        let ty = self.assignment_type(val, &at(&vat, "type"));
        let value = self.assignment_value(val, &vat, ty, p, index);
        let key = key?;
        p.writes.push(Write {
            var: VarRef(key.clone()),
            ty,
            at: kat,
        });
        Some(Assignment {
            var: VarRef(key),
            ty: ty?,
            value: value?,
        })
    }

    /// The variable an entry sets (its `key`, at `kat`).
    fn assignment_key(&mut self, obj: &Map<String, Value>, kat: &str) -> Option<String> {
        match obj.get("key") {
            Some(Value::String(k)) => {
                let valid = self.var_name(k, kat, "Set variable");
                valid.then(|| k.clone())
            }
            None | Some(Value::Null) => {
                self.error(
                    "missing_field",
                    kat.to_owned(),
                    "a setVars entry needs a 'key' (the variable name)",
                );
                None
            }
            Some(v) => {
                self.wrong_type(kat, "'key' must be a string", v);
                None
            }
        }
    }

    /// The declared `type` of a Set value (at `tat`).
    fn assignment_type(&mut self, val: &Map<String, Value>, tat: &str) -> Option<VarType> {
        match val.get("type") {
            Some(Value::String(t)) => match VarType::parse(t) {
                Some(t) => Some(t),
                None => {
                    self.error_hint(
                        "invalid_value",
                        tat.to_owned(),
                        format!("unknown Set type '{t}'"),
                        "use string, integer or boolean",
                    );
                    None
                }
            },
            None | Some(Value::Null) => {
                self.error_hint(
                    "missing_field",
                    tat.to_owned(),
                    "a Set value needs a 'type'",
                    "use string, integer or boolean",
                );
                None
            }
            Some(v) => {
                self.wrong_type(tat, "'type' must be a string", v);
                None
            }
        }
    }

    /// Exactly one of a Set value's `value` (text) and `expression`, with its reads and,
    /// for an expression, its type to check against `ty`.
    fn assignment_value(
        &mut self,
        val: &Map<String, Value>,
        vat: &str,
        ty: Option<VarType>,
        p: &mut PNode,
        index: usize,
    ) -> Option<SetValue> {
        let literal = val.get("value").filter(|v| !v.is_null());
        let expression = val.get("expression").filter(|v| !v.is_null());
        match (literal, expression) {
            (Some(_), Some(_)) | (None, None) => {
                self.error_hint(
                    "invalid_set_value",
                    vat.to_owned(),
                    if literal.is_some() {
                        "a Set value has both 'value' and 'expression'"
                    } else {
                        "a Set value needs 'value' (text) or 'expression'"
                    },
                    "give exactly one of 'value' and 'expression'",
                );
                None
            }
            (Some(lit), None) => {
                let lat = at(vat, "value");
                let text = match lit {
                    Value::String(s) => self.parse_text(s, &lat),
                    Value::Number(n) if n.is_i64() => Some(Text::literal(n.to_string())),
                    Value::Bool(b) => Some(Text::literal(b.to_string())),
                    v => {
                        self.wrong_type(&lat, "'value' must be a string", v);
                        None
                    }
                };
                if let (Some(t), Some(ty)) = (&text, ty) {
                    self.text_reads(t, &lat, p, index);
                    self.check_set_text(t, ty, &lat);
                }
                text.map(SetValue::Text)
            }
            (None, Some(e)) => {
                let eat = at(vat, "expression");
                let parsed = self.value_expr(e, &eat, "'expression' must be a string");
                if let Some(e) = &parsed {
                    self.expr_reads(e, &eat, p, index);
                    if let Some(ty) = ty {
                        p.typed.push(Typed {
                            expr: e.clone(),
                            at: eat.clone(),
                            want: ty,
                            what: "Set",
                        });
                    }
                }
                parsed.map(SetValue::Expr)
            }
        }
    }

    /// An integer or boolean Set with a text value: a literal of the type, or exactly one
    /// `{var}` interpolation (parsed at run time).
    fn check_set_text(&mut self, t: &Text, ty: VarType, lat: &str) {
        let ok = match (ty, t.0.as_slice()) {
            (VarType::String, _) => true,
            (_, [Segment::Var(_)]) => true,
            (VarType::Integer, [Segment::Literal(s)]) => s.trim().parse::<i64>().is_ok(),
            (VarType::Boolean, [Segment::Literal(s)]) => {
                matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "false")
            }
            _ => false,
        };
        if !ok {
            let shown: String =
                t.0.iter()
                    .map(|s| match s {
                        Segment::Literal(l) => l.clone(),
                        Segment::Var(v) => format!("{{{}}}", v.name()),
                    })
                    .collect();
            self.error_hint(
                "set_type_mismatch",
                lat,
                format!("{shown:?} is not a valid {} value", ty_name(ty)),
                match ty {
                    VarType::Integer => {
                        "write a whole number such as \"0\", or exactly one {variable}"
                    }
                    _ => "write \"true\" or \"false\", or exactly one {variable}",
                },
            );
        }
    }
}
