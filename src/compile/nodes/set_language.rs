//! SetLanguage: `setLanguage` with the node's name and the language: a tag as the corpus
//! writes it ([`crate::compile::archy::set_language_literal`]), an expression as
//! [`crate::compile::unverified::set_language_expr`] guesses. Archy's action has no failure
//! path, so an onError is not compiled.

use crate::compile::yaml::{self, Y};
use crate::compile::{Compiler, archy, unverified};
use crate::template::model::{Language, Node};

pub(super) fn reads(language: &Language, f: &mut dyn FnMut(&str)) {
    if let Language::Expr(e) = language {
        e.vars().into_iter().for_each(|v| f(v.name()));
    }
}

pub(super) fn emit(c: &Compiler<'_>, n: &Node, language: &Language, out: &mut Vec<Y>) {
    let mut body: Vec<(yaml::Key, Y)> = vec![("name".into(), Y::s(n.id.as_str()))];
    body.extend(match language {
        Language::Literal(tag) => archy::set_language_literal(tag),
        Language::Expr(e) => unverified::set_language_expr(&c.names().expr(e)),
    });
    out.push(Y::one("setLanguage", Y::Map(body)));
}
