//! A small, deterministic YAML emitter for Archy files: block style only, two-space
//! indentation, mappings in insertion order, and every string that a YAML 1.1 or 1.2 reader
//! could take for something else (`yes`, `no`, `on`, `null`, numbers, `:`/`#`, leading
//! indicators...) quoted. Genesys' own files quote the decision outputs `"yes"`/`"no"`.

use std::borrow::Cow;
use std::fmt::Write as _;

/// A mapping key: usually a static word, sometimes a computed name.
pub type Key = Cow<'static, str>;

/// A YAML value with ordered mappings.
#[derive(Debug, Clone, PartialEq)]
pub enum Y {
    Str(String),
    Int(i64),
    Bool(bool),
    /// A number that is not an integer, as written (only in kept Archy actions).
    Float(String),
    /// A null value (only in kept Archy actions).
    Null,
    Seq(Vec<Y>),
    Map(Vec<(Key, Y)>),
}

impl Y {
    pub fn s(s: impl Into<String>) -> Y {
        Y::Str(s.into())
    }

    /// A mapping from `(key, value)` pairs, in the given order.
    pub fn map<const N: usize>(entries: [(&'static str, Y); N]) -> Y {
        Y::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Cow::Borrowed(k), v))
                .collect(),
        )
    }

    /// `{key: value}`.
    pub fn one(key: impl Into<Key>, value: Y) -> Y {
        Y::Map(vec![(key.into(), value)])
    }
}

/// Serialises a value as a YAML document (no `---`), ending with a newline.
pub fn to_string(v: &Y) -> String {
    let mut out = String::with_capacity(4096);
    match v {
        Y::Map(entries) if !entries.is_empty() => write_map(&mut out, entries, 0, false),
        Y::Seq(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        other => {
            write_inline(&mut out, other);
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, mut n: usize) {
    const SPACES: &str = "                                                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

fn write_map(out: &mut String, entries: &[(Key, Y)], ind: usize, first_inline: bool) {
    for (i, (k, v)) in entries.iter().enumerate() {
        if !(i == 0 && first_inline) {
            indent(out, ind);
        }
        write_scalar(out, k);
        out.push(':');
        write_nested(out, v, ind, false);
    }
}

fn write_seq(out: &mut String, items: &[Y], ind: usize) {
    for item in items {
        indent(out, ind);
        out.push('-');
        write_nested(out, item, ind, true);
    }
}

/// A value after `key:` or (`in_seq`) after a sequence's `-`: a non-empty map or sequence
/// indented below (a map in a sequence starts on the dash's line), else inline.
fn write_nested(out: &mut String, v: &Y, ind: usize, in_seq: bool) {
    match v {
        Y::Map(e) if !e.is_empty() => {
            out.push(if in_seq { ' ' } else { '\n' });
            write_map(out, e, ind + 2, in_seq);
        }
        Y::Seq(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(out, items, ind + 2);
        }
        other => {
            out.push(' ');
            write_inline(out, other);
            out.push('\n');
        }
    }
}

/// Scalars and empty collections.
fn write_inline(out: &mut String, v: &Y) {
    match v {
        Y::Str(s) => write_scalar(out, s),
        Y::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Y::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Y::Float(f) => out.push_str(f),
        Y::Null => out.push_str("null"),
        Y::Seq(_) => out.push_str("[]"),
        Y::Map(_) => out.push_str("{}"),
    }
}

/// Words that some YAML reader (1.1 or 1.2) resolves to a boolean or null.
const RESERVED: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
];

/// Whether `s` must be quoted to read back as the same string.
pub fn needs_quotes(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return true;
    };
    if RESERVED.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        return true;
    }
    // Indicators, digits and signs at the start (numbers, .inf, -x, <<, =).
    if "-?:,[]{}#&*!|>'\"%@`<=+.0123456789".contains(first) || first.is_whitespace() {
        return true;
    }
    if s.ends_with(char::is_whitespace) {
        return true;
    }
    s.chars().any(|c| {
        matches!(
            c,
            ':' | '#' | ',' | '[' | ']' | '{' | '}' | '"' | '\'' | '\\' | '`'
        ) || c.is_control()
            || c == '\u{feff}'
            || c == '\u{85}'
            || c == '\u{2028}'
            || c == '\u{2029}'
    })
}

fn write_scalar(out: &mut String, s: &str) {
    if !needs_quotes(s) {
        out.push_str(s);
        return;
    }
    let plain_printable = !s
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{feff}' | '\u{85}' | '\u{2028}' | '\u{2029}'));
    if plain_printable && s.contains('"') && !s.contains('\n') {
        // Single quotes keep Genesys expressions readable: 'Append("a", Flow.b)'.
        out.push('\'');
        for c in s.chars() {
            if c == '\'' {
                out.push('\'');
            }
            out.push(c);
        }
        out.push('\'');
        return;
    }
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{feff}' | '\u{85}' | '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reparse(s: &str) -> serde_yaml_ng::Value {
        serde_yaml_ng::from_str(s).unwrap()
    }

    #[test]
    fn quotes_yes_no_and_friends() {
        let v = Y::Map(
            [
                "yes", "no", "on", "off", "true", "null", "12", "1.5", "a: b", "#x", "*a", "&a",
                "!a", "|", ">", "%", "@", "", " x", "x ",
            ]
            .iter()
            .map(|k| (Cow::Owned(k.to_string()), Y::s(*k)))
            .collect(),
        );
        let text = to_string(&v);
        assert!(
            text.starts_with("\"yes\": \"yes\"\n\"no\": \"no\"\n"),
            "{text}"
        );
        let back = reparse(&text);
        let m = back.as_mapping().unwrap();
        for (k, val) in m {
            assert_eq!(k.as_str(), val.as_str(), "{text}");
        }
        assert_eq!(m.len(), 20);
    }

    #[test]
    fn nested_layout() {
        let v = Y::map([
            (
                "a",
                Y::Seq(vec![
                    Y::map([("b", Y::Int(1)), ("c", Y::Bool(false))]),
                    Y::s("x"),
                ]),
            ),
            ("d", Y::Map(vec![])),
            ("e", Y::Seq(vec![Y::Seq(vec![Y::Int(2)])])),
            ("f", Y::s("Append(\"it's\", Flow.x)")),
        ]);
        let text = to_string(&v);
        assert_eq!(
            text,
            "a:\n  - b: 1\n    c: false\n  - x\nd: {}\ne:\n  -\n    - 2\nf: 'Append(\"it''s\", Flow.x)'\n"
        );
        let back = reparse(&text);
        assert_eq!(back["f"].as_str(), Some("Append(\"it's\", Flow.x)"));
        assert_eq!(back["e"][0][0].as_i64(), Some(2));
    }

    proptest! {
        #[test]
        fn any_string_round_trips(s in "\\PC*|[ -~\\n\\t]{0,12}") {
            let text = to_string(&Y::map([("k", Y::s(s.clone())), ("n", Y::one(s.clone(), Y::Int(1)))]));
            let back = reparse(&text);
            prop_assert_eq!(back["k"].as_str(), Some(s.as_str()), "{}", text);
            let inner = back["n"].as_mapping().unwrap();
            prop_assert_eq!(inner.keys().next().and_then(|k| k.as_str()), Some(s.as_str()));
        }
    }
}
