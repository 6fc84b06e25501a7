//! Values and Archy expressions: a lexer, a precedence parser and an evaluator with
//! NOT_SET semantics (`None`): every comparison with it is false, arithmetic and
//! `and`/`or`/`not` on it are errors.

use std::borrow::Cow;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Val {
    S(String),
    I(i64),
    B(bool),
}

/// An org value as a string variable; null is NOT_SET (as the simulator reads it).
pub(super) fn json_val(v: &serde_json::Value) -> Option<Val> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(Val::S(s.clone())),
        other => Some(Val::S(other.to_string())),
    }
}

pub(super) fn to_json(v: &Val) -> serde_json::Value {
    match v {
        Val::S(s) => serde_json::Value::String(s.clone()),
        Val::I(i) => serde_json::Value::from(*i),
        Val::B(b) => serde_json::Value::Bool(*b),
    }
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
    Var(String),
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
            _ => self.primary(),
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
    }
}

pub(super) fn eval(e: &Ex, vars: &Vars) -> Result<Option<Val>, String> {
    Ok(Some(match e {
        Ex::Str(s) => Val::S(s.clone()),
        Ex::Int(i) => Val::I(*i),
        Ex::Bool(b) => Val::B(*b),
        Ex::Var(v) => {
            return match vars.get(v) {
                Some(val) => Ok(val.clone()),
                None => Err(format!("unknown variable {v}")),
            };
        }
        Ex::Not(a) => Val::B(!truth(eval(a, vars)?, "not")?),
        Ex::Neg(a) => match eval(a, vars)? {
            Some(Val::I(i)) => Val::I(i.checked_neg().ok_or("integer overflow")?),
            Some(_) => return Err("'-' needs an integer".into()),
            None => return Err("'-' on a NOT_SET value".into()),
        },
        Ex::Bin(Op::And, a, b) => {
            Val::B(truth(eval(a, vars)?, "and")? && truth(eval(b, vars)?, "and")?)
        }
        Ex::Bin(Op::Or, a, b) => {
            Val::B(truth(eval(a, vars)?, "or")? || truth(eval(b, vars)?, "or")?)
        }
        Ex::Bin(op @ (Op::Add | Op::Sub), a, b) => match (eval(a, vars)?, eval(b, vars)?) {
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
            let (x, y) = match (eval(a, vars)?, eval(b, vars)?) {
                (Some(x), Some(y)) => (x, y),
                // Every comparison with NOT_SET is false.
                _ => return Ok(Some(Val::B(false))),
            };
            let ord = match (&x, &y) {
                (Val::S(x), Val::S(y)) => x.cmp(y),
                (Val::I(x), Val::I(y)) => x.cmp(y),
                (Val::B(x), Val::B(y)) if matches!(op, Op::Eq | Op::Ne) => x.cmp(y),
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
        Ex::Call(f, args) => {
            if let Some(r) = many_args(f, args, vars) {
                return r;
            }
            let [a] = args.as_slice() else {
                return Err(format!("{f} takes one argument"));
            };
            let v = eval(a, vars)?;
            match (f.as_str(), v) {
                ("IsSet", v) => Val::B(v.is_some()),
                ("IsNotSetOrEmpty", v) => {
                    Val::B(v.is_none() || matches!(&v, Some(Val::S(s)) if s.is_empty()))
                }
                (_, None) => return Ok(None),
                // Silence says nothing [corpus: call-park-agent-inbound-flow.yaml's menu].
                ("ToAudioBlank", Some(Val::I(_))) => Val::S(String::new()),
                ("ToAudioTTS" | "ToString", Some(v)) => Val::S(text_of(&v).into_owned()),
                ("ToInt", Some(v)) => match v {
                    Val::I(i) => Val::I(i),
                    Val::S(s) => Val::I(
                        s.trim()
                            .parse()
                            .map_err(|_| format!("ToInt: {s:?} is not an integer"))?,
                    ),
                    Val::B(b) => Val::I(b.into()),
                },
                ("ToBool", Some(v)) => match v {
                    Val::B(b) => Val::B(b),
                    Val::S(s) if s.trim().eq_ignore_ascii_case("true") => Val::B(true),
                    Val::S(s) if s.trim().eq_ignore_ascii_case("false") => Val::B(false),
                    other => return Err(format!("ToBool: {other:?} is not a boolean")),
                },
                ("Lower", Some(Val::S(s))) => Val::S(s.to_lowercase()),
                ("Upper", Some(Val::S(s))) => Val::S(s.to_uppercase()),
                ("Length", Some(Val::S(s))) => Val::I(s.chars().count() as i64),
                (f, Some(v)) => return Err(format!("{f} cannot take {v:?}")),
            }
        }
    }))
}

/// The functions of more than one argument: `Append`, and `AudioPlaybackOptions`, whose
/// options (barge-in) change nothing a transcript shows: the audio is its first argument
/// [corpus: menu audio of DR-Emergency-IVR.yaml]. `None` for any other function.
fn many_args(f: &str, args: &[Ex], vars: &Vars) -> Option<Result<Option<Val>, String>> {
    match (f, args) {
        ("Append", _) => {
            // NOT_SET appends as nothing, as the simulator's text interpolation does.
            let mut s = String::new();
            for a in args {
                match eval(a, vars) {
                    Ok(Some(v)) => s.push_str(&text_of(&v)),
                    Ok(None) => {}
                    Err(e) => return Some(Err(e)),
                }
            }
            Some(Ok(Some(Val::S(s))))
        }
        ("AudioPlaybackOptions", [a, _]) => Some(eval(a, vars)),
        _ => None,
    }
}

/// Converts a value to the type of the statement or variable it is assigned to.
pub(super) fn coerce(v: Val, ty: &str) -> Result<Val, String> {
    Ok(match (ty, v) {
        ("string", Val::S(s)) => Val::S(s),
        ("string", Val::I(i)) => Val::S(i.to_string()),
        ("string", Val::B(b)) => Val::S(b.to_string()),
        ("integer", Val::I(i)) => Val::I(i),
        ("integer", Val::S(s)) => Val::I(
            s.trim()
                .parse()
                .map_err(|_| format!("{s:?} is not an integer"))?,
        ),
        ("boolean", Val::B(b)) => Val::B(b),
        ("boolean", Val::S(s)) if s.trim().eq_ignore_ascii_case("true") => Val::B(true),
        ("boolean", Val::S(s)) if s.trim().eq_ignore_ascii_case("false") => Val::B(false),
        (ty, v) => return Err(format!("{v:?} is not a {ty}")),
    })
}
