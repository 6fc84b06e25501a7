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
