//! Gather: collect digits into `{Node.digits}`, or into the flow variable `variable` names
//! (an imported `collectInput` keeps the variable its flow reads).

use super::NodeIn;
use crate::template::expr::is_var_name;
use crate::template::model::NodeKind;
use crate::template::model::{VarRef, VarType};
use crate::validate::rules::Rules;
use crate::validate::validator::Write;
use crate::validate::validator::{PNode, Validator, at};

/// Largest Gather `maxDigits` (spec section 3): no simulated input may be longer.
pub(crate) const MAX_DIGITS_LIMIT: i64 = 32;

/// Gather `maxDigits` when the document does not say: one digit (a menu choice).
const DEFAULT_MAX_DIGITS: u32 = 1;

pub(super) const RULES: Rules = Rules {
    properties: &[
        "promptText",
        "maxDigits",
        "minDigits",
        "timeoutSeconds",
        "interDigitTimeoutSeconds",
        "promptLanguage",
        "variable",
    ],
    accepts_silently: |key, _| key == "promptGender",
    leaves_loops: true,
    ..Rules::PLAIN
};

impl Validator<'_> {
    pub(super) fn gather(&mut self, n: NodeIn<'_>) -> Option<NodeKind> {
        let NodeIn { props, pat, p, .. } = n;
        let prompt = self.text_prop(props, "promptText", pat, p, false);
        let max = self.opt_int(props, "maxDigits", pat);
        let min = self.opt_int(props, "minDigits", pat);
        let max_digits = max.unwrap_or(i64::from(DEFAULT_MAX_DIGITS));
        let min_digits = min.unwrap_or(1);
        let mut ok = true;
        if !(1..=MAX_DIGITS_LIMIT).contains(&max_digits) {
            ok = false;
            self.error_hint(
                "gather_digits",
                at(pat, "maxDigits"),
                format!("maxDigits is {max_digits}; it must be between 1 and 32"),
                "Genesys collects 1 to 32 digits",
            );
        }
        if min_digits < 1 || (ok && min_digits > max_digits) {
            ok = false;
            self.error_hint(
                "gather_digits",
                if min.is_some() { at(pat, "minDigits") } else { at(pat, "maxDigits") },
                format!("minDigits is {min_digits}; it must be at least 1 and at most maxDigits ({max_digits})"),
                format!("maxDigits defaults to {DEFAULT_MAX_DIGITS} and minDigits to 1"),
            );
        }
        let timeout_seconds = self.opt_seconds(props, "timeoutSeconds", pat);
        let inter_digit_timeout_seconds = self.opt_seconds(props, "interDigitTimeoutSeconds", pat);
        let language = self.opt_str(props, "promptLanguage", pat);
        let into = match self.opt_str(props, "variable", pat) {
            Some(v) => {
                let name = v.trim_start_matches('{').trim_end_matches('}');
                ok &= self.var_name(name, &at(pat, "variable"), "the Gather variable");
                VarRef(name.to_owned())
            }
            None => self.digits_var(p, "Gather", "result").0,
        };
        p.success_writes.push(Write {
            var: into.clone(),
            ty: Some(VarType::String),
            at: p.at.clone(),
        });
        if !ok {
            return None;
        }
        Some(NodeKind::Gather {
            prompt: prompt?,
            min_digits: min_digits as u32,
            max_digits: max_digits as u32,
            timeout_seconds,
            inter_digit_timeout_seconds,
            language,
            into,
        })
    }

    /// The variable `<Node>_digits` of a Gather or a Menu (`ty`) node, the node's `what`,
    /// and false after a finding when the node id makes no variable name.
    pub(super) fn digits_var(&mut self, p: &PNode, ty: &str, what: &str) -> (VarRef, bool) {
        let into = VarRef::digits_of(&p.key);
        let ok = is_var_name(into.name());
        if !ok {
            self.error_hint(
                "invalid_variable_name",
                p.at.clone(),
                format!(
                    "the {ty} {what} variable '{}' is not a valid Genesys variable name",
                    into.name()
                ),
                format!("{ty} node ids become variable names: use letters, digits and '_'"),
            );
        }
        (into, ok)
    }
}
