//! SetLanguage: the call's language from here on. `language` is a language tag (`fr-fr`,
//! any case, stored lower case) or an expression of the template language giving one
//! (recognised by its braces, quotes or call: `{caller_language}`).

use serde_json::Value;

use super::NodeIn;
use crate::template::model::{Language, NodeKind, VarType, is_language_tag};
use crate::validate::rules::Rules;
use crate::validate::validator::{Typed, Validator, at};

pub(super) const RULES: Rules = Rules {
    properties: &["language"],
    uncompiled_on_error: Some("setLanguage"),
    ..Rules::PLAIN
};

/// Does a `language` value mean an expression rather than a tag?
fn is_expression(s: &str) -> bool {
    s.contains(['{', '\'', '"', '('])
}

impl Validator<'_> {
    pub(super) fn set_language(&mut self, n: NodeIn<'_>) -> Option<NodeKind> {
        let NodeIn { props, pat, p, .. } = n;
        let lat = at(pat, "language");
        let s = match props.get("language") {
            None | Some(Value::Null) => {
                self.error_hint(
                    "missing_property",
                    lat,
                    "SetLanguage nodes need 'language'",
                    "a language tag such as fr-fr, or an expression such as {caller_language}",
                );
                return None;
            }
            Some(Value::String(s)) => s.trim(),
            Some(v) => {
                self.wrong_type(&lat, "'language' must be a string", v);
                return None;
            }
        };
        if is_expression(s) {
            let e = self.parse_expr(s, &lat)?;
            self.expr_reads(&e, &lat, p, 0);
            p.typed.push(Typed {
                expr: e.clone(),
                at: lat,
                want: VarType::String,
                what: "SetLanguage",
            });
            return Some(NodeKind::SetLanguage {
                language: Language::Expr(e),
            });
        }
        if !is_language_tag(s) {
            self.error_hint(
                "invalid_value",
                lat,
                format!("'{s}' is not a language tag"),
                "write a language and region such as fr-fr or en-us, or an expression such as \
                 {caller_language}",
            );
            return None;
        }
        Some(NodeKind::SetLanguage {
            language: Language::Literal(s.to_ascii_lowercase()),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::template::model::{Language, NodeKind};
    use crate::validate::{NoModules, Report, validate};

    fn module_with(language: Value, extra: Value) -> Value {
        let mut doc = json!({
            "name": "Lang", "type": "module",
            "inputs": {"lang": {"type": "string"}, "count": {"type": "integer"}},
            "draft": {"startNode": "L", "nodes": {
                "L": {"id": "L", "type": "SetLanguage", "properties": {"language": language},
                      "onComplete": {"nextNode": "E"}},
                "E": {"id": "E", "type": "End"}}}
        });
        if let (Some(d), Some(e)) = (doc.as_object_mut(), extra.as_object()) {
            d.extend(e.clone());
        }
        doc
    }

    fn errors(r: &Report) -> Vec<(&str, &str)> {
        r.findings
            .iter()
            .filter(|f| f.is_error())
            .map(|f| (f.code.as_str(), f.pointer.as_str()))
            .collect()
    }

    fn language(r: &Report) -> &Language {
        match &r.flow.as_ref().unwrap().nodes["L"].kind {
            NodeKind::SetLanguage { language } => language,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_tag_is_stored_lower_case_and_an_expression_parsed() {
        let r = validate(&module_with(json!("FR-fr"), json!({})), &NoModules);
        assert!(errors(&r).is_empty(), "{:?}", r.findings);
        assert_eq!(language(&r), &Language::Literal("fr-fr".into()));
        let r = validate(&module_with(json!("{lang}"), json!({})), &NoModules);
        assert!(errors(&r).is_empty(), "{:?}", r.findings);
        assert!(matches!(language(&r), Language::Expr(_)));
    }

    #[test]
    fn bad_languages_are_refused_with_pointers() {
        let at = "/draft/nodes/L/properties/language";
        for (value, code) in [
            (json!("french"), "invalid_value"),
            (json!("f"), "invalid_value"),
            (json!(42), "invalid_type"),
            (json!(null), "missing_property"),
            (json!("{lang"), "expression_syntax"),
            (json!("{count}"), "expression_type"),
        ] {
            let r = validate(&module_with(value.clone(), json!({})), &NoModules);
            let e = errors(&r);
            assert!(
                e.iter().any(|(c, p)| *c == code && *p == at),
                "{value}: {:?}",
                r.findings
            );
        }
    }

    #[test]
    fn compatible_flow_types_are_checked_with_pointers() {
        let ok = json!({"compatibleFlowTypes": ["inqueuecall", "InboundCall"]});
        let r = validate(&module_with(json!("en-us"), ok), &NoModules);
        assert!(errors(&r).is_empty(), "{:?}", r.findings);
        assert_eq!(r.flow.unwrap().compatible_flow_types, ["inqueuecall"]);
        let bad = json!({"compatibleFlowTypes": ["inqueuecall", "outboundcall", "inqueuecall"]});
        let r = validate(&module_with(json!("en-us"), bad), &NoModules);
        assert_eq!(
            errors(&r),
            [
                ("invalid_value", "/compatibleFlowTypes/1"),
                ("invalid_value", "/compatibleFlowTypes/2")
            ]
        );
        let r = validate(
            &module_with(
                json!("en-us"),
                json!({"compatibleFlowTypes": "inqueuecall"}),
            ),
            &NoModules,
        );
        assert_eq!(errors(&r), [("invalid_type", "/compatibleFlowTypes")]);
    }
}
