//! Bounded decoding of request documents (JSON or YAML) into a JSON value.
//!
//! Both formats are read through serde into one visitor that builds the value itself and,
//! while it does, enforces the document limits: nesting depth, size after YAML alias
//! expansion (an alias is replayed by the YAML deserialiser, so each replay is counted),
//! duplicate keys, and control characters in strings. Each refusal names the limit and the
//! JSON Pointer of the place. The visitor's own recursion is bounded by the depth limit
//! (and serde_json's and serde_yaml_ng's by their 128-level recursion limits).

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::findings::pointer;

/// The limits a document is read under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentLimits {
    /// Deepest nesting of arrays and objects (the top-level object is level 1).
    pub max_depth: usize,
    /// Largest document, in bytes of its JSON form, after YAML aliases are expanded.
    pub max_bytes: usize,
}

impl Default for DocumentLimits {
    fn default() -> Self {
        DocumentLimits {
            max_depth: 64,
            max_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Which limit a document broke, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("the document nests deeper than the limit of {limit} levels (max_document_depth)")]
    TooDeep { pointer: String, limit: usize },
    /// Found by YAML's first pass, which knows the position but not the path.
    #[error(
        "the document nests deeper than the limit of {limit} levels (max_document_depth) at line {line}, column {column}"
    )]
    TooDeepAt {
        line: u64,
        column: u64,
        limit: usize,
    },
    #[error(
        "the document is larger than the limit of {limit} bytes once YAML aliases are expanded (max_document_bytes)"
    )]
    TooLarge { pointer: String, limit: usize },
    #[error("duplicate key {key:?}")]
    DuplicateKey { pointer: String, key: String },
    #[error("{what} contains the control character {ch:?}")]
    ControlCharacter {
        pointer: String,
        what: &'static str,
        ch: char,
    },
}

impl LimitError {
    /// JSON Pointer of the place.
    pub fn pointer(&self) -> &str {
        match self {
            LimitError::TooDeep { pointer, .. }
            | LimitError::TooLarge { pointer, .. }
            | LimitError::DuplicateKey { pointer, .. }
            | LimitError::ControlCharacter { pointer, .. } => pointer,
            LimitError::TooDeepAt { .. } => "",
        }
    }

    /// Stable finding code.
    pub fn code(&self) -> &'static str {
        match self {
            LimitError::TooDeep { .. } | LimitError::TooDeepAt { .. } => "document_too_deep",
            LimitError::TooLarge { .. } => "document_too_large",
            LimitError::DuplicateKey { .. } => "duplicate_key",
            LimitError::ControlCharacter { .. } => "control_character",
        }
    }
}

/// The first control character a text must not contain: C0 controls other than tab,
/// newline and carriage return, DEL, and the C1 controls. NUL would be cut by C-based
/// tools; the others are invisible and never meant in a prompt or a name.
pub fn forbidden_control(s: &str) -> Option<char> {
    s.chars()
        .find(|&c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

struct State {
    limits: DocumentLimits,
    /// Bytes left of the size budget.
    budget: usize,
    /// Reference tokens of the place being read.
    path: Vec<String>,
    error: Option<LimitError>,
}

impl State {
    fn here(&self) -> String {
        pointer(&self.path)
    }

    fn fail<E: de::Error>(&mut self, e: LimitError) -> E {
        let msg = e.to_string();
        self.error.get_or_insert(e);
        E::custom(msg)
    }

    fn spend<E: de::Error>(&mut self, bytes: usize) -> Result<(), E> {
        match self.budget.checked_sub(bytes) {
            Some(left) => {
                self.budget = left;
                Ok(())
            }
            None => {
                let e = LimitError::TooLarge {
                    pointer: self.here(),
                    limit: self.limits.max_bytes,
                };
                Err(self.fail(e))
            }
        }
    }

    fn text<E: de::Error>(&mut self, s: &str, what: &'static str) -> Result<(), E> {
        self.spend(s.len() + 2)?;
        if let Some(ch) = forbidden_control(s) {
            let e = LimitError::ControlCharacter {
                pointer: self.here(),
                what,
                ch,
            };
            return Err(self.fail(e));
        }
        Ok(())
    }
}

/// Reads one value at nesting level `depth`.
struct Node<'s> {
    state: &'s RefCell<State>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl Node<'_> {
    fn enter<E: de::Error>(&self) -> Result<(), E> {
        let mut st = self.state.borrow_mut();
        if self.depth + 1 > st.limits.max_depth {
            let e = LimitError::TooDeep {
                pointer: st.here(),
                limit: st.limits.max_depth,
            };
            return Err(st.fail(e));
        }
        st.spend(2)
    }

    fn number<E: de::Error>(&self, n: Number) -> Result<Value, E> {
        self.state.borrow_mut().spend(8)?;
        Ok(Value::Number(n))
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.state.borrow_mut().spend(5)?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.number(v.into())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.number(v.into())
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        // Beyond 64 bits JSON gives a float; give YAML the same (see `visit_f64`).
        self.visit_f64(v as f64)
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        self.visit_f64(v as f64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        match Number::from_f64(v) {
            Some(n) => self.number(n),
            // NaN and infinities (YAML `.nan`, `.inf`) have no JSON form.
            None => {
                self.state.borrow_mut().spend(4)?;
                Ok(Value::Null)
            }
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.state.borrow_mut().text(v, "a string")?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.state.borrow_mut().text(&v, "a string")?;
        Ok(Value::String(v))
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.state.borrow_mut().spend(4)?;
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.enter()?;
        let mut out = Vec::new();
        loop {
            self.state.borrow_mut().path.push(out.len().to_string());
            let item = seq.next_element_seed(Node {
                state: self.state,
                depth: self.depth + 1,
            })?;
            self.state.borrow_mut().path.pop();
            match item {
                Some(v) => {
                    self.state.borrow_mut().spend(1)?;
                    out.push(v);
                }
                None => break,
            }
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.enter()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(Key)? {
            let mut st = self.state.borrow_mut();
            st.path.push(key.clone());
            st.text(&key, "a key")?;
            if out.contains_key(&key) {
                let e = LimitError::DuplicateKey {
                    pointer: st.here(),
                    key: super::excerpt(&key, 100).into_owned(),
                };
                return Err(st.fail(e));
            }
            drop(st);
            let v = map.next_value_seed(Node {
                state: self.state,
                depth: self.depth + 1,
            })?;
            self.state.borrow_mut().path.pop();
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// Reads a map key as a string (YAML keys may be numbers or booleans; JSON's are strings).
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = String;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok("null".to_owned())
    }
}

/// Why a body could not be decoded: a broken limit, or a syntax error (the message).
pub enum Decoded {
    Limit(LimitError),
    Syntax(String),
}

fn finish<E: fmt::Display>(state: RefCell<State>, r: Result<Value, E>) -> Result<Value, Decoded> {
    match (r, state.into_inner().error) {
        (_, Some(limit)) => Err(Decoded::Limit(limit)),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(Decoded::Syntax(e.to_string())),
    }
}

fn new_state(limits: DocumentLimits) -> RefCell<State> {
    RefCell::new(State {
        limits,
        budget: limits.max_bytes,
        path: Vec::new(),
        error: None,
    })
}

/// Decodes JSON under `limits`. Syntax errors keep serde_json's message (with the line and
/// column).
pub fn from_json(bytes: &[u8], limits: DocumentLimits) -> Result<Value, Decoded> {
    let state = new_state(limits);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let r = Node {
        state: &state,
        depth: 0,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    finish(state, r)
}

/// Where YAML nesting first passes `max` levels (1-based line and column), read as a stream
/// of events with libyaml, the parser serde_yaml_ng itself uses, stopping right there.
///
/// Why a first pass: serde_yaml_ng parses the whole text into events before its visitor
/// sees any, and libyaml checks every open flow level at each token, so 50,000 nested
/// `{a: ` take half a minute before the 128-level recursion limit is reached (measured:
/// 27 s for 200 KB). Stopping at `max` keeps that cost linear in the text. The same parser
/// is used so the two passes cannot disagree about the nesting.
#[expect(
    unsafe_code,
    reason = "libyaml's C-style API is the one way to stop parsing at a depth (see SAFETY)"
)]
fn yaml_too_deep(input: &[u8], max: usize) -> Option<(u64, u64)> {
    use std::mem::MaybeUninit;
    use unsafe_libyaml as unsafe_sys;
    // SAFETY: this follows libyaml's documented life cycle (initialize, set input, parse
    // events, delete each event, delete the parser), as serde_yaml_ng's own wrapper does.
    // `input` outlives the parser, which only reads it; every event is deleted before the
    // next one is parsed, and the parser is deleted on every path out of the loop.
    unsafe {
        let mut parser = MaybeUninit::<unsafe_sys::yaml_parser_t>::uninit();
        let parser = parser.as_mut_ptr();
        if unsafe_sys::yaml_parser_initialize(parser).fail {
            return None;
        }
        unsafe_sys::yaml_parser_set_encoding(parser, unsafe_sys::YAML_UTF8_ENCODING);
        unsafe_sys::yaml_parser_set_input_string(parser, input.as_ptr(), input.len() as u64);
        let mut depth = 0usize;
        let mut found = None;
        loop {
            let mut event = MaybeUninit::<unsafe_sys::yaml_event_t>::uninit();
            let event = event.as_mut_ptr();
            // A syntax error: the real pass stops at the same place and reports it.
            if unsafe_sys::yaml_parser_parse(parser, event).fail {
                break;
            }
            let kind = (*event).type_;
            let mark = (*event).start_mark;
            unsafe_sys::yaml_event_delete(event);
            match kind {
                unsafe_sys::YAML_SEQUENCE_START_EVENT | unsafe_sys::YAML_MAPPING_START_EVENT => {
                    depth += 1;
                    if depth > max {
                        found = Some((mark.line + 1, mark.column + 1));
                        break;
                    }
                }
                unsafe_sys::YAML_SEQUENCE_END_EVENT | unsafe_sys::YAML_MAPPING_END_EVENT => {
                    depth = depth.saturating_sub(1);
                }
                unsafe_sys::YAML_STREAM_END_EVENT => break,
                _ => {}
            }
        }
        unsafe_sys::yaml_parser_delete(parser);
        found
    }
}

/// Decodes YAML (one document) under `limits`.
pub fn from_yaml(bytes: &[u8], limits: DocumentLimits) -> Result<Value, Decoded> {
    if let Some((line, column)) = yaml_too_deep(bytes, limits.max_depth) {
        // The first pass knows the position, not the path: the pointer is a position.
        return Err(Decoded::Limit(LimitError::TooDeepAt {
            line,
            column,
            limit: limits.max_depth,
        }));
    }
    let state = new_state(limits);
    let de = serde_yaml_ng::Deserializer::from_slice(bytes);
    let r = Node {
        state: &state,
        depth: 0,
    }
    .deserialize(de);
    finish(state, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: DocumentLimits = DocumentLimits {
        max_depth: 8,
        max_bytes: 10_000,
    };

    fn limit(r: Result<Value, Decoded>) -> LimitError {
        match r {
            Err(Decoded::Limit(l)) => l,
            Err(Decoded::Syntax(s)) => panic!("syntax error {s}"),
            Ok(v) => panic!("accepted {v}"),
        }
    }

    #[test]
    fn reads_what_serde_json_reads() {
        let text = br#"{"a":[1,-2,3.5,"x",true,null,{"b":{}}],"c":"\u00e9"}"#;
        let v = from_json(text, SMALL).ok().unwrap();
        assert_eq!(v, serde_json::from_slice::<Value>(text).unwrap());
        let y = from_yaml(
            b"a: [1, -2, 3.5, x, true, null, {b: {}}]\nc: \"\\u00e9\"\n",
            SMALL,
        )
        .ok()
        .unwrap();
        assert_eq!(y, v);
    }

    #[test]
    fn depth_is_limited_with_a_pointer() {
        let deep = format!("{}1{}", "[".repeat(9), "]".repeat(9));
        let e = limit(from_json(deep.as_bytes(), SMALL));
        assert_eq!(e.code(), "document_too_deep");
        assert_eq!(e.pointer(), "/0/0/0/0/0/0/0/0");
        let e = limit(from_json(
            br#"{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{}}}}}}}}}"#,
            SMALL,
        ));
        assert_eq!(e.pointer(), "/a/b/c/d/e/f/g/h");
        let deep = format!("{}1{}", "[".repeat(9), "]".repeat(9));
        assert_eq!(
            limit(from_yaml(deep.as_bytes(), SMALL)).code(),
            "document_too_deep"
        );
        // Far beyond the parsers' own limits: still a clean refusal.
        let deep = "[".repeat(100_000);
        assert!(matches!(
            from_json(deep.as_bytes(), SMALL),
            Err(Decoded::Limit(_))
        ));
        assert!(matches!(
            from_yaml(deep.as_bytes(), SMALL),
            Err(Decoded::Limit(_))
        ));
    }

    #[test]
    fn deep_yaml_is_refused_quickly() {
        // Flow mappings are the slow case for libyaml (quadratic in the nesting).
        for doc in [
            "{a: ".repeat(50_000),
            "[".repeat(100_000),
            format!("{}x", "- ".repeat(100_000)),
        ] {
            let t = std::time::Instant::now();
            let e = limit(from_yaml(doc.as_bytes(), DocumentLimits::default()));
            assert_eq!(e.code(), "document_too_deep");
            assert!(
                t.elapsed() < std::time::Duration::from_secs(2),
                "{:?}",
                t.elapsed()
            );
        }
        // Nesting within the limit reads as before.
        let ok = format!("{}1{}", "[".repeat(60), "]".repeat(60));
        assert!(from_yaml(ok.as_bytes(), DocumentLimits::default()).is_ok());
    }

    #[test]
    fn yaml_aliases_count_once_per_use() {
        let mut doc = format!("a: &s \"{}\"\nb:\n", "x".repeat(1000));
        for _ in 0..20 {
            doc.push_str("  - *s\n");
        }
        let e = limit(from_yaml(doc.as_bytes(), SMALL));
        assert_eq!(e.code(), "document_too_large");
        assert!(e.pointer().starts_with("/b/"), "{}", e.pointer());
        assert!(from_yaml(doc.as_bytes(), DocumentLimits::default()).is_ok());
    }

    #[test]
    fn nested_aliases_cannot_grow_exponentially() {
        // "Billion laughs": each level aliases the one below ten times.
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let t = std::time::Instant::now();
        let r = from_yaml(doc.as_bytes(), DocumentLimits::default());
        assert!(matches!(
            r,
            Err(Decoded::Limit(_)) | Err(Decoded::Syntax(_))
        ));
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn duplicate_keys_and_control_characters_are_refused() {
        let e = limit(from_json(br#"{"a":{"k":1,"k":2}}"#, SMALL));
        assert_eq!((e.code(), e.pointer()), ("duplicate_key", "/a/k"));
        let e = limit(from_json(br#"{"a":["ok","x\u0000y"]}"#, SMALL));
        assert_eq!((e.code(), e.pointer()), ("control_character", "/a/1"));
        assert!(from_json(b"{\"a\":\"tab\\tnew\\nline\"}", SMALL).is_ok());
        let e = limit(from_yaml(b"a: 1\na: 2\n", SMALL));
        assert_eq!(e.code(), "duplicate_key");
    }

    #[test]
    fn huge_integers_read_the_same_in_json_and_yaml() {
        let j = from_json(br#"{"n":18446744073709551616}"#, SMALL)
            .ok()
            .unwrap();
        let y = from_yaml(b"n: 18446744073709551616\n", SMALL).ok().unwrap();
        assert_eq!(j, y);
    }
}
