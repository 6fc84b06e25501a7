//! Values and Archy expressions: a lexer, a precedence parser and an evaluator with
//! NOT_SET semantics (`None`): every comparison with it is false, arithmetic and
//! `and`/`or`/`not` on it are errors. Names are read in an [`Env`]: the flow's variables,
//! then the call's built-ins (`Call.Ani`, …), then member access on a variable
//! (`Task.Queue.id`). The functions are in [`builtins`].

use std::borrow::Cow;
use std::collections::HashMap;

use super::CallInfo;
mod builtins;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Val {
    S(String),
    I(i64),
    B(bool),
    /// A DateTime: milliseconds since the Unix epoch, UTC.
    Dt(i64),
    /// A Duration in milliseconds.
    Dur(i64),
    /// A queue: its name and the org's id for it (`None`: the org has no such queue).
    Queue {
        name: String,
        id: Option<String>,
    },
    /// A collection; an item may be NOT_SET.
    List(Vec<Option<Val>>),
}

/// An org value (a data action output, a table cell): null is NOT_SET, an array a
/// collection, anything else a string (as the simulator reads it); assigning it converts
/// it to the variable's type ([`convert`]).
pub(super) fn json_val(v: &serde_json::Value) -> Option<Val> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(Val::S(s.clone())),
        serde_json::Value::Array(items) => Some(Val::List(items.iter().map(json_val).collect())),
        other => Some(Val::S(other.to_string())),
    }
}

pub(super) fn to_json(v: &Val) -> serde_json::Value {
    match v {
        Val::S(s) => serde_json::Value::String(s.clone()),
        Val::I(i) => serde_json::Value::from(*i),
        Val::B(b) => serde_json::Value::Bool(*b),
        Val::Dt(_) | Val::Dur(_) => serde_json::Value::String(text_of(v).into_owned()),
        Val::Queue { name, id } => serde_json::json!({"name": name, "id": id}),
        Val::List(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|i| i.as_ref().map_or(serde_json::Value::Null, to_json))
                .collect(),
        ),
    }
}

/// What an expression reads: the running flow's variables and the call's built-ins.
pub(super) struct Env<'a> {
    pub(super) vars: &'a Vars,
    pub(super) call: &'a CallInfo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Ex {
    Str(String),
    Int(i64),
    Bool(bool),
    /// The literal `NOT_SET` [corpus: `ToAudio(NOT_SET)` in Terraform_Inbound_Flow_v1-0.yaml].
    NotSet,
    Var(String),
    /// `collection[index]` [corpus: `Flow.ConversationId[0]` in orbit-parked-call-retrieval.yaml].
    Index(Box<Ex>, Box<Ex>),
    Not(Box<Ex>),
    Neg(Box<Ex>),
    Bin(Op, Box<Ex>, Box<Ex>),
    Call(String, Vec<Ex>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Int(i64),
    Ident(String),
    Sym(&'static str),
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' {
            let mut t = String::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err(format!("unterminated string in {s:?}")),
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        match b.get(i + 1) {
                            Some('n') => t.push('\n'),
                            Some(&e) => t.push(e),
                            None => return Err(format!("dangling escape in {s:?}")),
                        }
                        i += 2;
                    }
                    Some(&ch) => {
                        t.push(ch);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(t));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let n: String = b[start..i].iter().collect();
            out.push(Tok::Int(
                n.parse().map_err(|_| format!("integer {n} out of range"))?,
            ));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_' || b[i] == '.') {
                i += 1;
            }
            out.push(Tok::Ident(b[start..i].iter().collect()));
        } else {
            let two: String = b[i..(i + 2).min(b.len())].iter().collect();
            let sym = match two.as_str() {
                "==" => Some("=="),
                "!=" => Some("!="),
                "<=" => Some("<="),
                ">=" => Some(">="),
                _ => None,
            };
            if let Some(sy) = sym {
                out.push(Tok::Sym(sy));
                i += 2;
                continue;
            }
            let sy = match c {
                '<' => "<",
                '>' => ">",
                '+' => "+",
                '-' => "-",
                '(' => "(",
                ')' => ")",
                ',' => ",",
                '[' => "[",
                ']' => "]",
                _ => return Err(format!("unexpected {c:?} in {s:?}")),
            };
            out.push(Tok::Sym(sy));
            i += 1;
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

/// Expressions nest at most this deep (the files are ours, but a published file is input).
const MAX_EXPR_DEPTH: usize = 200;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn binop(&self) -> Option<(Op, u8)> {
        Some(match self.peek()? {
            Tok::Ident(w) if w == "or" => (Op::Or, 1),
            Tok::Ident(w) if w == "and" => (Op::And, 2),
            Tok::Sym("==") => (Op::Eq, 3),
            Tok::Sym("!=") => (Op::Ne, 3),
            Tok::Sym("<") => (Op::Lt, 3),
            Tok::Sym("<=") => (Op::Le, 3),
            Tok::Sym(">") => (Op::Gt, 3),
            Tok::Sym(">=") => (Op::Ge, 3),
            Tok::Sym("+") => (Op::Add, 4),
            Tok::Sym("-") => (Op::Sub, 4),
            _ => return None,
        })
    }

    fn expr(&mut self, min: u8) -> Result<Ex, String> {
        self.depth += 1;
        if self.depth > MAX_EXPR_DEPTH {
            return Err("expression nested too deeply".into());
        }
        let mut left = self.unary()?;
        while let Some((op, p)) = self.binop() {
            if p < min {
                break;
            }
            self.pos += 1;
            let right = self.expr(p + 1)?;
            left = Ex::Bin(op, Box::new(left), Box::new(right));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn unary(&mut self) -> Result<Ex, String> {
        match self.peek().cloned() {
            Some(Tok::Ident(w)) if w == "not" => {
                self.pos += 1;
                self.depth += 1;
                if self.depth > MAX_EXPR_DEPTH {
                    return Err("expression nested too deeply".into());
                }
                // `not` binds tighter than the binary operators.
                let e = self.unary()?;
                self.depth -= 1;
                Ok(Ex::Not(Box::new(e)))
            }
            Some(Tok::Sym("-")) => {
                self.pos += 1;
                self.depth += 1;
                if self.depth > MAX_EXPR_DEPTH {
                    return Err("expression nested too deeply".into());
                }
                let e = self.unary()?;
                self.depth -= 1;
                Ok(Ex::Neg(Box::new(e)))
            }
            _ => {
                let mut e = self.primary()?;
                while self.peek() == Some(&Tok::Sym("[")) {
                    self.pos += 1;
                    let i = self.expr(0)?;
                    self.expect("]")?;
                    e = Ex::Index(Box::new(e), Box::new(i));
                }
                Ok(e)
            }
        }
    }

    fn primary(&mut self) -> Result<Ex, String> {
        let t = self.peek().cloned().ok_or("unexpected end of expression")?;
        self.pos += 1;
        match t {
            Tok::Str(s) => Ok(Ex::Str(s)),
            Tok::Int(i) => Ok(Ex::Int(i)),
            Tok::Sym("(") => {
                let e = self.expr(0)?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Ident(w) if w == "true" => Ok(Ex::Bool(true)),
            Tok::Ident(w) if w == "false" => Ok(Ex::Bool(false)),
            Tok::Ident(w) if w == "NOT_SET" => Ok(Ex::NotSet),
            Tok::Ident(w) => {
                if self.peek() == Some(&Tok::Sym("(")) {
                    self.pos += 1;
                    let mut args = Vec::new();
                    if self.peek() != Some(&Tok::Sym(")")) {
                        loop {
                            args.push(self.expr(0)?);
                            if self.peek() == Some(&Tok::Sym(",")) {
                                self.pos += 1;
                            } else {
                                break;
                            }
                        }
                    }
                    self.expect(")")?;
                    Ok(Ex::Call(w, args))
                } else if w.contains('.') {
                    Ok(Ex::Var(w))
                } else {
                    Err(format!("unknown name {w:?}"))
                }
            }
            Tok::Sym(s) => Err(format!("unexpected {s:?}")),
        }
    }

    fn expect(&mut self, sym: &'static str) -> Result<(), String> {
        if self.peek() == Some(&Tok::Sym(sym)) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected {sym:?}"))
        }
    }
}

pub(super) fn parse(s: &str) -> Result<Ex, String> {
    let mut p = Parser {
        toks: lex(s)?,
        pos: 0,
        depth: 0,
    };
    let e = p.expr(0)?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected text after the expression in {s:?}"));
    }
    Ok(e)
}

pub(super) type Vars = HashMap<String, Option<Val>>;

pub(super) fn truth(v: Option<Val>, what: &str) -> Result<bool, String> {
    match v {
        Some(Val::B(b)) => Ok(b),
        None => Err(format!("'{what}' on a NOT_SET value")),
        Some(other) => Err(format!("'{what}' needs a boolean, got {other:?}")),
    }
}

pub(super) fn text_of(v: &Val) -> Cow<'_, str> {
    match v {
        Val::S(s) => Cow::Borrowed(s),
        Val::I(i) => Cow::Owned(i.to_string()),
        Val::B(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Val::Dt(ms) => Cow::Owned(builtins::date_time_text(*ms)),
        Val::Dur(ms) => Cow::Owned(builtins::duration_text(*ms)),
        Val::Queue { name, .. } => Cow::Borrowed(name),
        Val::List(items) => Cow::Owned(
            items
                .iter()
                .map(|i| {
                    i.as_ref()
                        .map(|v| text_of(v).into_owned())
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(","),
        ),
    }
}

/// A name: a variable of the running flow, a call built-in, or a member of either
/// (`Task.Queue.id`: the longest prefix that is a variable, then its members).
fn lookup(name: &str, env: &Env) -> Result<Option<Val>, String> {
    let whole = |n: &str| match env.vars.get(n) {
        Some(v) => Some(v.clone()),
        None => env.call.builtin(n).map(Some),
    };
    if let Some(v) = whole(name) {
        return Ok(v);
    }
    let mut cut = name.len();
    while let Some(i) = name[..cut].rfind('.') {
        if let Some(mut v) = whole(&name[..i]) {
            for m in name[i + 1..].split('.') {
                v = member(v, m)?;
            }
            return Ok(v);
        }
        cut = i;
    }
    Err(format!("unknown variable {name}"))
}

/// A member of a value: a queue's `id` and `name`. A member of NOT_SET is NOT_SET
/// (assumed: no evidence on it; the corpus reads `.id` of queues its flow sets).
fn member(v: Option<Val>, m: &str) -> Result<Option<Val>, String> {
    match (v, m.to_ascii_lowercase().as_str()) {
        (None, _) => Ok(None),
        (Some(Val::Queue { id: Some(id), .. }), "id") => Ok(Some(Val::S(id))),
        (Some(Val::Queue { name, id: None }), "id") => {
            Err(format!("queue {name:?} is not in the org"))
        }
        (Some(Val::Queue { name, .. }), "name") => Ok(Some(Val::S(name))),
        (Some(other), m) => Err(format!("{other:?} has no member {m}")),
    }
}

pub(super) fn eval(e: &Ex, env: &Env) -> Result<Option<Val>, String> {
    Ok(Some(match e {
        Ex::Str(s) => Val::S(s.clone()),
        Ex::Int(i) => Val::I(*i),
        Ex::Bool(b) => Val::B(*b),
        Ex::NotSet => return Ok(None),
        Ex::Var(v) => return lookup(v, env),
        Ex::Index(c, i) => {
            return match (eval(c, env)?, eval(i, env)?) {
                (None, _) | (_, None) => Ok(None),
                (Some(c), Some(i)) => builtins::get_at(c, i),
            };
        }
        Ex::Not(a) => Val::B(!truth(eval(a, env)?, "not")?),
        Ex::Neg(a) => match eval(a, env)? {
            Some(Val::I(i)) => Val::I(i.checked_neg().ok_or("integer overflow")?),
            Some(_) => return Err("'-' needs an integer".into()),
            None => return Err("'-' on a NOT_SET value".into()),
        },
        Ex::Bin(Op::And, a, b) => {
            Val::B(truth(eval(a, env)?, "and")? && truth(eval(b, env)?, "and")?)
        }
        Ex::Bin(Op::Or, a, b) => Val::B(truth(eval(a, env)?, "or")? || truth(eval(b, env)?, "or")?),
        Ex::Bin(op @ (Op::Add | Op::Sub), a, b) => match (eval(a, env)?, eval(b, env)?) {
            (Some(Val::I(x)), Some(Val::I(y))) => Val::I(
                if *op == Op::Add {
                    x.checked_add(y)
                } else {
                    x.checked_sub(y)
                }
                .ok_or("integer overflow")?,
            ),
            (Some(Val::S(x)), Some(Val::S(y))) if *op == Op::Add => Val::S(x + &y),
            (None, _) | (_, None) => return Err("arithmetic on a NOT_SET value".into()),
            _ => return Err("arithmetic needs two integers".into()),
        },
        Ex::Bin(op, a, b) => {
            let (x, y) = match (eval(a, env)?, eval(b, env)?) {
                (Some(x), Some(y)) => (x, y),
                // Every comparison with NOT_SET is false.
                _ => return Ok(Some(Val::B(false))),
            };
            let ord = match (&x, &y) {
                (Val::S(x), Val::S(y)) => x.cmp(y),
                (Val::I(x), Val::I(y)) | (Val::Dt(x), Val::Dt(y)) | (Val::Dur(x), Val::Dur(y)) => {
                    x.cmp(y)
                }
                (Val::B(x), Val::B(y)) if matches!(op, Op::Eq | Op::Ne) => x.cmp(y),
                _ if matches!(op, Op::Eq | Op::Ne)
                    && std::mem::discriminant(&x) == std::mem::discriminant(&y) =>
                {
                    if x == y {
                        std::cmp::Ordering::Equal
                    } else {
                        std::cmp::Ordering::Less
                    }
                }
                _ => return Err(format!("cannot compare {x:?} with {y:?}")),
            };
            Val::B(match op {
                Op::Eq => ord.is_eq(),
                Op::Ne => ord.is_ne(),
                Op::Lt => ord.is_lt(),
                Op::Le => ord.is_le(),
                Op::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
        Ex::Call(f, args) => return builtins::call(f, args, env),
    }))
}

/// Converts a value to the type of the statement or variable it is assigned to: `string`,
/// `integer`, `boolean` convert as Archy's `ToString`/`ToInt`/`ToBool` do; `duration`,
/// `dateTime`, `queue` take their own kind (a string date-time converts); a collection type
/// (`stringCollection`, …) takes a collection and converts each item. Any other type keeps
/// the value (the interpreter does not model it).
pub(super) fn coerce(v: Val, ty: &str) -> Result<Val, String> {
    if let Some(item) = ty.strip_suffix("Collection") {
        return match v {
            Val::List(items) => Ok(Val::List(
                items
                    .into_iter()
                    .map(|i| i.map(|i| coerce(i, item)).transpose())
                    .collect::<Result<_, _>>()?,
            )),
            other => Err(format!("{other:?} is not a collection")),
        };
    }
    Ok(match (ty, v) {
        (_, Val::List(_)) if matches!(ty, "string" | "integer" | "boolean") => {
            return Err(format!("a collection is not a {ty}"));
        }
        ("string", Val::S(s)) => Val::S(s),
        ("string", v) => Val::S(text_of(&v).into_owned()),
        ("integer", Val::I(i)) => Val::I(i),
        ("integer", Val::S(s)) => Val::I(
            s.trim()
                .parse()
                .map_err(|_| format!("{s:?} is not an integer"))?,
        ),
        ("boolean", Val::B(b)) => Val::B(b),
        ("boolean", Val::S(s)) if s.trim().eq_ignore_ascii_case("true") => Val::B(true),
        ("boolean", Val::S(s)) if s.trim().eq_ignore_ascii_case("false") => Val::B(false),
        ("dateTime", Val::S(s)) => Val::Dt(builtins::parse_date_time(&s)?),
        ("dateTime", v @ Val::Dt(_))
        | ("duration", v @ Val::Dur(_))
        | ("queue", v @ Val::Queue { .. }) => v,
        ("integer" | "boolean" | "dateTime" | "duration" | "queue", v) => {
            return Err(format!("{v:?} is not a {ty}"));
        }
        (_, v) => v,
    })
}
