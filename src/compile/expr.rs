//! Translation of template texts and expressions into Genesys expression strings.

use std::collections::BTreeMap;

use super::unverified;
use crate::template::expr::{BinOp, Expr};
use crate::template::model::{Segment, Text, VarRef, VarType};

/// The canonical name of a variable: `{Node.digits}` and `{Node_digits}` are the same.
pub fn canonical(name: &str) -> std::borrow::Cow<'_, str> {
    match name.strip_suffix(".digits") {
        Some(node) => format!("{node}_digits").into(),
        None => name.into(),
    }
}

/// Sanitises a name into `[A-Za-z0-9_]`, starting with a letter or `_`.
pub fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    if name.chars().next().is_none_or(|c| c.is_ascii_digit()) {
        out.push('_');
    }
    out.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        }
    }));
    out
}

/// Resolves template variables to Genesys variable names within one flow.
pub struct Names<'a> {
    pub prefix: &'static str,
    pub types: &'a BTreeMap<String, VarType>,
}

impl Names<'_> {
    pub fn var_name(&self, name: &str) -> String {
        format!("{}{}", self.prefix, sanitize(&canonical(name)))
    }

    pub fn var(&self, v: &VarRef) -> String {
        self.var_name(v.name())
    }

    pub fn type_of(&self, v: &VarRef) -> VarType {
        self.types
            .get(canonical(v.name()).as_ref())
            .copied()
            .unwrap_or(VarType::String)
    }

    /// A string-valued Genesys expression for a text template.
    pub fn text(&self, t: &Text) -> String {
        let parts: Vec<String> =
            t.0.iter()
                .filter(|s| !matches!(s, Segment::Literal(l) if l.is_empty()))
                .map(|s| match s {
                    Segment::Literal(l) => unverified::string_literal(l),
                    Segment::Var(v) => match self.type_of(v) {
                        VarType::String => self.var(v),
                        _ => format!("ToString({})", self.var(v)),
                    },
                })
                .collect();
        match parts.len() {
            0 => "\"\"".to_owned(),
            1 => parts.into_iter().next().unwrap_or_default(),
            _ => format!("Append({})", parts.join(", ")),
        }
    }

    /// A Genesys expression for a template-language expression.
    pub fn expr(&self, e: &Expr) -> String {
        let mut out = String::new();
        self.write(&mut out, e, Dialect::Genesys);
        out
    }

    /// Writes `e`; the two dialects differ only in how literals and variables are spelt.
    fn write(&self, out: &mut String, e: &Expr, d: Dialect) {
        match e {
            Expr::Str(s) => match d {
                Dialect::Genesys => out.push_str(&unverified::string_literal(s)),
                Dialect::Source => {
                    out.push('\'');
                    out.push_str(&s.replace('\'', "\\'"));
                    out.push('\'');
                }
            },
            Expr::Int(i) => out.push_str(&i.to_string()),
            Expr::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Expr::Var(v) => match d {
                Dialect::Genesys => out.push_str(&self.var(v)),
                Dialect::Source => {
                    out.push('{');
                    out.push_str(v.name());
                    out.push('}');
                }
            },
            Expr::Not(inner) => {
                out.push_str("not ");
                self.write_operand(out, inner, PREC_UNARY, d);
            }
            Expr::Neg(inner) => {
                out.push('-');
                // `-(-x)`, never `--x`.
                self.write_operand(out, inner, PREC_UNARY + 1, d);
            }
            Expr::Binary(op, l, r) => {
                let p = prec(*op);
                self.write_operand(out, l, p, d);
                out.push(' ');
                out.push_str(op.symbol());
                out.push(' ');
                // Right operands of equal precedence are parenthesised: a - (b - c).
                self.write_operand(out, r, p + 1, d);
            }
            Expr::Call(f, args) => {
                out.push_str(f.name());
                out.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.write(out, a, d);
                }
                out.push(')');
            }
        }
    }

    /// Writes `e`, in parentheses when it binds less tightly than `min`.
    fn write_operand(&self, out: &mut String, e: &Expr, min: u8, d: Dialect) {
        let own = match e {
            Expr::Binary(op, ..) => prec(*op),
            Expr::Not(_) | Expr::Neg(_) => PREC_UNARY,
            _ => u8::MAX,
        };
        if own < min {
            out.push('(');
            self.write(out, e, d);
            out.push(')');
        } else {
            self.write(out, e, d);
        }
    }
}

/// Which language an expression is written in.
#[derive(Clone, Copy)]
enum Dialect {
    /// Genesys expressions (`Flow.x == "1"`).
    Genesys,
    /// The template language (`{x} == '1'`), for diagram labels.
    Source,
}

const PREC_UNARY: u8 = 10;

fn prec(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And => 2,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 3,
        BinOp::Add | BinOp::Sub => 4,
    }
}

/// The template-language source of an expression (diagram labels).
pub fn source(e: &Expr) -> String {
    let names = Names {
        prefix: "",
        types: &EMPTY,
    };
    let mut out = String::new();
    names.write(&mut out, e, Dialect::Source);
    out
}

static EMPTY: BTreeMap<String, VarType> = BTreeMap::new();

/// Calls `f` with every variable an expression reads.
pub(super) fn vars(e: &Expr, f: &mut dyn FnMut(&str)) {
    match e {
        Expr::Var(v) => f(v.name()),
        Expr::Not(a) | Expr::Neg(a) => vars(a, f),
        Expr::Binary(_, a, b) => {
            vars(a, f);
            vars(b, f);
        }
        Expr::Call(_, args) => args.iter().for_each(|a| vars(a, f)),
        Expr::Str(_) | Expr::Int(_) | Expr::Bool(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::expr::Func;

    /// The variable types of the tests: `n` is an integer.
    static TYPES: std::sync::LazyLock<BTreeMap<String, VarType>> =
        std::sync::LazyLock::new(|| BTreeMap::from([("n".to_owned(), VarType::Integer)]));

    /// Names under `prefix`, with the tests' [`TYPES`].
    fn names(prefix: &'static str) -> Names<'static> {
        Names {
            prefix,
            types: &TYPES,
        }
    }

    fn v(n: &str) -> Expr {
        Expr::Var(VarRef(n.into()))
    }
    fn bin(op: BinOp, l: Expr, r: Expr) -> Expr {
        Expr::Binary(op, Box::new(l), Box::new(r))
    }

    #[test]
    fn translates_with_minimal_parentheses() {
        let names = names("Flow.");
        let e = bin(
            BinOp::Or,
            bin(
                BinOp::And,
                bin(BinOp::Eq, v("a.digits"), Expr::Str("1\"".into())),
                Expr::Not(Box::new(Expr::Call(Func::IsSet, vec![v("b c")]))),
            ),
            bin(
                BinOp::Gt,
                bin(
                    BinOp::Sub,
                    v("n"),
                    bin(BinOp::Sub, Expr::Int(1), Expr::Int(2)),
                ),
                Expr::Int(0),
            ),
        );
        assert_eq!(
            names.expr(&e),
            r#"Flow.a_digits == "1\"" and not IsSet(Flow.b_c) or Flow.n - (1 - 2) > 0"#
        );
        let e2 = bin(
            BinOp::And,
            bin(BinOp::Or, Expr::Bool(true), Expr::Bool(false)),
            Expr::Not(Box::new(bin(BinOp::Eq, v("x"), Expr::Int(1)))),
        );
        assert_eq!(names.expr(&e2), "(true or false) and not (Flow.x == 1)");
        assert_eq!(source(&e2), "(true or false) and not ({x} == 1)");
    }

    #[test]
    fn texts_become_append() {
        let names = names("Common.");
        let t = Text(vec![
            Segment::Literal("Hello ".into()),
            Segment::Var(VarRef("name".into())),
            Segment::Literal(", you are ".into()),
            Segment::Var(VarRef("n".into())),
        ]);
        assert_eq!(
            names.text(&t),
            r#"Append("Hello ", Common.name, ", you are ", ToString(Common.n))"#
        );
        assert_eq!(names.text(&Text::default()), "\"\"");
        assert_eq!(
            names.text(&Text(vec![Segment::Var(VarRef("G.digits".into()))])),
            "Common.G_digits"
        );
    }

    #[test]
    fn sanitises() {
        assert_eq!(sanitize("a-b.c"), "a_b_c");
        assert_eq!(sanitize("1x"), "_1x");
        assert_eq!(sanitize(""), "_");
        assert_eq!(sanitize("é"), "_");
    }
}
