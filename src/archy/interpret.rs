//! An interpreter of the Archy YAML subset flowsmith writes: places a call through a
//! published flow file and the common modules it calls, as Genesys would run them.
//!
//! Semantics follow the evidence (`../shared/reference/archy-evidence.md`), not the compiler:
//! - an action list runs in order; the outputs of a branching action (`collectInput`,
//!   `decision`, `transferToAcd`) **merge back**: a path that neither ends nor jumps goes on
//!   with the next action after the branching action;
//! - `disconnect` ends the call; `transferToAcd` ends it routed (the sandbox's queues never
//!   refuse a transfer); `jumpToTask` goes to the task its absolute `targetTaskRef` names and
//!   does not come back; a task's list that runs out ends the call (a published task always
//!   ends with a closing action);
//! - `loop` sets `currentIndex` to 0, 1, … and runs `outputs.loop.actions` at most
//!   `loopCount` times; `loopExit` leaves the innermost loop and the list goes on after it;
//! - `callCommonModule` runs the **published** module's `startUpTaskActions` in the module's
//!   own variables (inputs evaluated in the caller, `noValue` = NOT_SET); when its list runs
//!   out the module returns and its outputs are copied to the caller's variables;
//! - a menu (`startUpRef`, `jumpToMenu` or `menuTask` → `jumpToMenu`) plays its audio and takes
//!   the next caller input up to `repeatCount` times (the menu's, else the flow's, else 3);
//!   one digit that is a choice's `dtmf` runs the choice (`menuDisconnect`,
//!   `menuTransferToAcd`, `menuJumpToTask`, `menuTask`); after the repeats the
//!   `defaultChildMenuRef` choice runs, else the call disconnects (what is not settled by
//!   evidence: `compile::unverified::MENU_BEHAVIOUR`);
//! - `collectInput` plays its prompt and takes the next caller input: digits of an accepted
//!   length go to `inputData` and `outputs.success`; no input, a timeout or another length
//!   take `outputs.failure`;
//! - a value never set is NOT_SET: every comparison with it is false, `IsSet` tells, and
//!   arithmetic or `and`/`or`/`not` on it is an error;
//! - an error (an expression that fails, a module that is not published) enters the flow's
//!   error handling, by default a disconnect: the call ends with outcome `error`;
//! - at most [`MAX_ACTIONS`] actions run per call (every action counts, jumps and loop
//!   iterations included; entering a task does not); past it the call ends `step_limit`
//!   (error handling: disconnect).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde_yaml_ng::{Mapping, Value};

pub use crate::calls::MAX_ACTIONS;
use crate::calls::{
    DataActionAnswer, Outcome, OutcomeKind, ScheduleState, SimInput, SimOrg, TranscriptLine,
};

/// What a call did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Call {
    pub outcome: Outcome,
    pub transcript: Vec<TranscriptLine>,
    /// The entry flow's variables that are set at the end of the call, without the `Flow.`
    /// prefix.
    #[schema(value_type = Object)]
    pub variables: BTreeMap<String, serde_json::Value>,
    /// Actions run.
    pub actions: usize,
    /// Participant data set during the call.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub participant_data: BTreeMap<String, String>,
}

/// The published flows a call can reach: common modules by flow name.
pub trait Published {
    fn module(&self, name: &str) -> Option<Value>;
}

impl Published for BTreeMap<String, Value> {
    fn module(&self, name: &str) -> Option<Value> {
        self.get(name).cloned()
    }
}

/// The org objects a call reaches besides modules: a simulation's `org` ([`SimOrg`], answers
/// in order) or the sandbox's own objects (answers chosen by input).
pub trait OrgObjects {
    /// The answer of data action `integration`/`action` to `inputs` (NOT_SET is `None`);
    /// `nth` is how many times this call ran the action before. `None`: no such action.
    fn data_action(
        &self,
        integration: &str,
        action: &str,
        inputs: &BTreeMap<String, Option<String>>,
        nth: usize,
    ) -> Option<DataActionAnswer>;
    /// The row of `table` with `key`: `None` when the org has no such table, `Some(None)`
    /// when the table has no such row.
    fn table_row(
        &self,
        table: &str,
        key: &str,
    ) -> Option<Option<BTreeMap<String, serde_json::Value>>>;
    /// What the schedule group evaluates to now; `None` when the org has no such group.
    fn schedule_group(&self, group: &str) -> Option<ScheduleState>;
    /// Whether the org has the user prompt `Prompt.<name>`.
    fn has_prompt(&self, name: &str) -> bool;
    /// Participant data the call starts with.
    fn participant_data(&self) -> BTreeMap<String, String>;
}

impl OrgObjects for SimOrg {
    fn data_action(
        &self,
        integration: &str,
        action: &str,
        _inputs: &BTreeMap<String, Option<String>>,
        nth: usize,
    ) -> Option<DataActionAnswer> {
        let answers = self.data_actions.get(&format!("{integration}/{action}"))?;
        answers.get(nth).or_else(|| answers.last()).cloned()
    }

    fn table_row(
        &self,
        table: &str,
        key: &str,
    ) -> Option<Option<BTreeMap<String, serde_json::Value>>> {
        self.data_tables
            .get(table)
            .map(|rows| rows.get(key).cloned())
    }

    fn schedule_group(&self, group: &str) -> Option<ScheduleState> {
        self.schedule_groups.get(group).copied()
    }

    /// A simulation's org has no prompt list: every prompt plays (as the simulator does).
    fn has_prompt(&self, _name: &str) -> bool {
        true
    }

    fn participant_data(&self) -> BTreeMap<String, String> {
        self.participant_data.clone()
    }
}

/// Places a call through `entry` (a parsed flow file).
pub fn call(
    entry: &Value,
    modules: &dyn Published,
    inputs: &[SimInput],
    max_actions: usize,
) -> Call {
    call_with_org(entry, modules, inputs, max_actions, &SimOrg::default())
}

/// [`call`] in an org holding `org`'s objects: `callData` takes the data action's answer
/// to its inputs, `dataTableLookup` reads the table's rows, `evaluateScheduleGroup` the
/// group's state, a user prompt must exist, and participant data starts as
/// `org.participant_data()`. An object the org lacks is an error naming it.
pub fn call_with_org(
    entry: &Value,
    modules: &dyn Published,
    inputs: &[SimInput],
    max_actions: usize,
    org: &dyn OrgObjects,
) -> Call {
    let mut m = Machine {
        org,
        answers_used: HashMap::new(),
        participant: org.participant_data(),
        participant_set: BTreeMap::new(),
        modules,
        inputs,
        next_input: 0,
        transcript: Vec::new(),
        actions: 0,
        max_actions,
        frames: Vec::new(),
    };
    let end = m.run_entry(entry);
    let variables = m
        .frames
        .first()
        .map(|f| {
            f.vars
                .iter()
                .filter_map(|(k, v)| {
                    let name = k.split_once('.').map_or(k.as_str(), |(_, n)| n);
                    Some((name.to_owned(), to_json(v.as_ref()?)))
                })
                .collect()
        })
        .unwrap_or_default();
    Call {
        outcome: end,
        transcript: m.transcript,
        variables,
        actions: m.actions,
        participant_data: m.participant_set,
    }
}

// ---------------------------------------------------------------------------------------
// Values and expressions.

#[derive(Debug, Clone, PartialEq)]
enum Val {
    S(String),
    I(i64),
    B(bool),
}

/// An org value as a string variable; null is NOT_SET (as the simulator reads it).
fn json_val(v: &serde_json::Value) -> Option<Val> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(Val::S(s.clone())),
        other => Some(Val::S(other.to_string())),
    }
}

fn to_json(v: &Val) -> serde_json::Value {
    match v {
        Val::S(s) => serde_json::Value::String(s.clone()),
        Val::I(i) => serde_json::Value::from(*i),
        Val::B(b) => serde_json::Value::Bool(*b),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
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
enum Ex {
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

fn parse(s: &str) -> Result<Ex, String> {
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

type Vars = HashMap<String, Option<Val>>;

fn truth(v: Option<Val>, what: &str) -> Result<bool, String> {
    match v {
        Some(Val::B(b)) => Ok(b),
        None => Err(format!("'{what}' on a NOT_SET value")),
        Some(other) => Err(format!("'{what}' needs a boolean, got {other:?}")),
    }
}

fn text_of(v: &Val) -> Cow<'_, str> {
    match v {
        Val::S(s) => Cow::Borrowed(s),
        Val::I(i) => Cow::Owned(i.to_string()),
        Val::B(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
    }
}

fn eval(e: &Ex, vars: &Vars) -> Result<Option<Val>, String> {
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
            if f == "Append" {
                // NOT_SET appends as nothing, as the simulator's text interpolation does.
                let mut s = String::new();
                for a in args {
                    if let Some(v) = eval(a, vars)? {
                        s.push_str(&text_of(&v));
                    }
                }
                return Ok(Some(Val::S(s)));
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

/// Converts a value to the type of the statement or variable it is assigned to.
fn coerce(v: Val, ty: &str) -> Result<Val, String> {
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

// ---------------------------------------------------------------------------------------
// The machine.

fn get<'a>(m: &'a Mapping, key: &str) -> Option<&'a Value> {
    m.get(Value::String(key.to_owned()))
}

fn map(v: Option<&Value>) -> Option<&Mapping> {
    match v {
        Some(Value::Mapping(m)) => Some(m),
        _ => None,
    }
}

fn string(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    }
}

/// How an action list ended.
enum Signal {
    /// Ran out: the enclosing list goes on (merge-back).
    Continue,
    /// `jumpToTask` with its target reference.
    Jump(String),
    LoopExit,
    /// The call ended.
    End(Outcome),
}

struct Frame {
    flow: String,
    vars: Vars,
}

struct Machine<'a> {
    org: &'a dyn OrgObjects,
    answers_used: HashMap<String, usize>,
    participant: BTreeMap<String, String>,
    participant_set: BTreeMap<String, String>,
    modules: &'a dyn Published,
    inputs: &'a [SimInput],
    next_input: usize,
    transcript: Vec<TranscriptLine>,
    actions: usize,
    max_actions: usize,
    frames: Vec<Frame>,
}

/// The root key and root mapping of a flow file.
fn root(doc: &Value) -> Option<(&str, &Mapping)> {
    let Value::Mapping(top) = doc else {
        return None;
    };
    let (k, v) = top.iter().next()?;
    Some((k.as_str()?, map(Some(v))?))
}

/// Declared variables with their initial values.
fn declare(root: &Mapping, vars: &mut Vars) {
    let Some(Value::Sequence(decls)) = get(root, "variables") else {
        return;
    };
    for d in decls {
        let Some((kind, body)) = map(Some(d)).and_then(|m| m.iter().next()) else {
            continue;
        };
        let Some(body) = map(Some(body)) else {
            continue;
        };
        let Some(name) = string(get(body, "name")) else {
            continue;
        };
        let ty = match kind.as_str() {
            Some("integerVariable") => "integer",
            Some("booleanVariable") => "boolean",
            _ => "string",
        };
        let init = map(get(body, "initialValue"))
            .and_then(|iv| get(iv, "lit"))
            .and_then(|l| match l {
                Value::Number(n) => n.as_i64().map(Val::I),
                Value::Bool(b) => Some(Val::B(*b)),
                Value::String(s) => coerce(Val::S(s.clone()), ty).ok(),
                _ => None,
            });
        vars.insert(name, init);
    }
}

impl Machine<'_> {
    fn outcome(
        &self,
        kind: OutcomeKind,
        node: &str,
        queue: Option<String>,
        msg: Option<String>,
    ) -> Outcome {
        Outcome {
            kind,
            queue,
            node: node.to_owned(),
            flow: self
                .frames
                .last()
                .map(|f| f.flow.clone())
                .unwrap_or_default(),
            message: msg,
        }
    }

    fn error(&self, node: &str, msg: String) -> Signal {
        Signal::End(self.outcome(OutcomeKind::Error, node, None, Some(msg)))
    }

    fn run_entry(&mut self, doc: &Value) -> Outcome {
        let Some((root_key, root)) = root(doc) else {
            return self.bad("the flow file has no flow type key");
        };
        let mut vars = Vars::new();
        declare(root, &mut vars);
        self.frames.push(Frame {
            flow: string(get(root, "name")).unwrap_or_default(),
            vars,
        });
        self.greeting(root);
        if let Some(Value::Sequence(actions)) = get(root, "startUpTaskActions") {
            return match self.list(actions) {
                Signal::End(o) => o,
                Signal::Jump(r) => self.bad(&format!("jumpToTask '{r}' in a start-up sequence")),
                Signal::LoopExit => self.bad("loopExit outside a loop"),
                Signal::Continue => self.outcome(OutcomeKind::Disconnected, "", None, None),
            };
        }
        let Some(mut target) = string(get(root, "startUpRef")) else {
            return self.bad("no startUpRef");
        };
        loop {
            let task = match place(doc, root_key, &target) {
                Some(Place::Task(t)) => t,
                Some(Place::Menu(m)) => match self.menu(root, m) {
                    Signal::End(o) => return o,
                    Signal::Jump(r) => {
                        target = r;
                        continue;
                    }
                    Signal::LoopExit => return self.bad("loopExit outside a loop"),
                    Signal::Continue => {
                        let name = string(get(m, "name")).unwrap_or_default();
                        return self.outcome(OutcomeKind::Disconnected, &name, None, None);
                    }
                },
                None => return self.bad(&format!("unable to resolve '{target}'")),
            };
            let name = string(get(task, "name")).unwrap_or_default();
            let Some(Value::Sequence(actions)) = get(task, "actions") else {
                return self.bad(&format!("task '{name}' has no actions"));
            };
            match self.list(actions) {
                Signal::End(o) => return o,
                Signal::Jump(r) => target = r,
                Signal::LoopExit => return self.bad("loopExit outside a loop"),
                // Published tasks end with a closing action; a list that runs out ends the call.
                Signal::Continue => {
                    return self.outcome(OutcomeKind::Disconnected, &name, None, None);
                }
            }
        }
    }

    /// The flow's `initialGreeting` plays before the start task (not an action);
    /// `ToAudioBlank(..)` is silence.
    fn greeting(&mut self, root: &Mapping) {
        let Some(g) = get(root, "initialGreeting") else {
            return;
        };
        let silent = map(Some(g))
            .and_then(|m| string(get(m, "exp")))
            .is_some_and(|e| e.trim_start().starts_with("ToAudioBlank("));
        if silent {
            return;
        }
        // A greeting that cannot be evaluated plays nothing (it is not an action).
        if let Ok(text) = self.audio(Some(g)) {
            self.line("initialGreeting", "Greeting", Some(text), None);
        }
    }

    fn bad(&self, msg: &str) -> Outcome {
        self.outcome(OutcomeKind::Error, "", None, Some(msg.to_owned()))
    }

    fn list(&mut self, actions: &[Value]) -> Signal {
        for a in actions {
            match self.action(a) {
                Signal::Continue => {}
                other => return other,
            }
        }
        Signal::Continue
    }

    fn branch(&mut self, body: &Mapping, output: &str) -> Signal {
        match map(get(body, "outputs"))
            .and_then(|o| map(get(o, output)))
            .and_then(|o| get(o, "actions"))
        {
            Some(Value::Sequence(actions)) => self.list(actions),
            _ => Signal::Continue,
        }
    }

    fn vars(&self) -> &Vars {
        &self.frames.last().expect("a frame runs").vars
    }

    fn set(&mut self, var: &str, v: Option<Val>) {
        if let Some(f) = self.frames.last_mut() {
            f.vars.insert(var.to_owned(), v);
        }
    }

    fn expression(&self, v: Option<&Value>) -> Result<Option<Val>, String> {
        let m = map(v).ok_or("missing value")?;
        if let Some(e) = get(m, "exp") {
            let s = string(Some(e)).ok_or("exp must be a string")?;
            return eval(&parse(&s)?, self.vars());
        }
        if let Some(l) = get(m, "lit") {
            return Ok(match l {
                Value::Number(n) => n.as_i64().map(Val::I),
                Value::Bool(b) => Some(Val::B(*b)),
                Value::String(s) => Some(Val::S(s.clone())),
                _ => return Err("unsupported literal".into()),
            });
        }
        if get(m, "noValue").is_some() {
            return Ok(None);
        }
        Err("expected exp, lit or noValue".into())
    }

    fn audio(&self, v: Option<&Value>) -> Result<String, String> {
        let m = map(v).ok_or("missing audio")?;
        if let Some(t) = get(m, "tts") {
            return string(Some(t)).ok_or_else(|| "tts must be a string".into());
        }
        if let Some(p) = string(get(m, "prompt")) {
            let (space, name) = p.split_once('.').unwrap_or(("", p.as_str()));
            // System prompts (`PromptSystem.`) are in every org; user prompts must exist.
            if space == "Prompt" && !self.org.has_prompt(name) {
                return Err(format!("prompt 'Prompt.{name}' is not in the org"));
            }
            return Ok(format!("[prompt {name}]"));
        }
        Ok(self
            .expression(v)?
            .map(|v| text_of(&v).into_owned())
            .unwrap_or_default())
    }

    fn action(&mut self, a: &Value) -> Signal {
        let Some((kind, body)) = map(Some(a)).and_then(|m| m.iter().next()) else {
            return self.error("", "an action must be a mapping".into());
        };
        let kind = kind.as_str().unwrap_or_default();
        let empty = Mapping::new();
        let body = map(Some(body)).unwrap_or(&empty);
        let name = string(get(body, "name")).unwrap_or_default();
        if self.actions >= self.max_actions {
            return Signal::End(self.outcome(
                OutcomeKind::StepLimit,
                &name,
                None,
                Some(format!(
                    "{} actions ran: the flow's error handling disconnects the call",
                    self.max_actions
                )),
            ));
        }
        self.actions += 1;
        match kind {
            "playAudio" => match self.audio(get(body, "audio")) {
                Ok(text) => {
                    self.line(&name, "Say", Some(text), None);
                    Signal::Continue
                }
                Err(e) => self.error(&name, e),
            },
            "collectInput" => {
                let prompt = match self.audio(get(body, "inputAudio")) {
                    Ok(t) => t,
                    Err(e) => return self.error(&name, e),
                };
                let digits = map(get(body, "digits"));
                let (min, max) = match digits {
                    Some(d) => match (get(d, "exact"), map(get(d, "range"))) {
                        (Some(Value::Number(n)), _) => {
                            let n = n.as_u64().unwrap_or(1) as usize;
                            (n, n)
                        }
                        (_, Some(r)) => (
                            get(r, "min").and_then(Value::as_u64).unwrap_or(1) as usize,
                            get(r, "max").and_then(Value::as_u64).unwrap_or(1) as usize,
                        ),
                        _ => (1, 1),
                    },
                    None => (1, 1),
                };
                let input = self.inputs.get(self.next_input).cloned();
                self.next_input += 1;
                let ok = match input {
                    Some(SimInput::Digits(d)) => {
                        self.line(&name, "Gather", Some(prompt), Some(d.clone()));
                        if (min..=max).contains(&d.chars().count()) {
                            match map(get(body, "inputData")).and_then(|m| string(get(m, "var"))) {
                                Some(var) => self.set(&var, Some(Val::S(d))),
                                None => return self.error(&name, "no inputData variable".into()),
                            }
                            true
                        } else {
                            false
                        }
                    }
                    _ => {
                        self.line(&name, "Gather", Some(prompt), None);
                        false
                    }
                };
                self.branch(body, if ok { "success" } else { "failure" })
            }
            "decision" => {
                let cond = self.expression(get(body, "condition"));
                match cond {
                    Ok(Some(Val::B(true))) => self.branch(body, "yes"),
                    Ok(Some(Val::B(false)) | None) => self.branch(body, "no"),
                    Ok(Some(other)) => {
                        self.error(&name, format!("condition is not a boolean: {other:?}"))
                    }
                    Err(e) => self.error(&name, e),
                }
            }
            "updateData" => {
                let Some(Value::Sequence(statements)) = get(body, "statements") else {
                    return Signal::Continue;
                };
                for s in statements {
                    let Some((ty, st)) = map(Some(s)).and_then(|m| m.iter().next()) else {
                        continue;
                    };
                    let ty = ty.as_str().unwrap_or("string");
                    let Some(st) = map(Some(st)) else { continue };
                    let Some(var) = string(get(st, "variable")) else {
                        return self.error(&name, "a statement without a variable".into());
                    };
                    match self
                        .expression(get(st, "value"))
                        .and_then(|v| v.map(|v| coerce(v, ty)).transpose())
                    {
                        Ok(v) => self.set(&var, v),
                        Err(e) => return self.error(&name, e),
                    }
                }
                Signal::Continue
            }
            "transferToAcd" => {
                let queue = map(get(body, "targetQueue"))
                    .and_then(|q| map(get(q, "lit")))
                    .and_then(|l| string(get(l, "name")));
                Signal::End(self.outcome(OutcomeKind::Routed, &name, queue, None))
            }
            "disconnect" => Signal::End(self.outcome(OutcomeKind::Disconnected, &name, None, None)),
            "jumpToTask" => match string(get(body, "targetTaskRef")) {
                Some(r) => Signal::Jump(r),
                None => self.error(&name, "jumpToTask without targetTaskRef".into()),
            },
            "jumpToMenu" => match string(get(body, "targetMenuRef")) {
                Some(r) => Signal::Jump(r),
                None => self.error(&name, "jumpToMenu without targetMenuRef".into()),
            },
            "loopExit" => Signal::LoopExit,
            "loop" => {
                let count = match self.expression(get(body, "loopCount")) {
                    Ok(Some(Val::I(n))) => n.max(0),
                    Ok(other) => {
                        return self
                            .error(&name, format!("loopCount is not an integer: {other:?}"));
                    }
                    Err(e) => return self.error(&name, e),
                };
                let index = map(get(body, "currentIndex")).and_then(|m| string(get(m, "var")));
                for i in 0..count {
                    if let Some(var) = &index {
                        self.set(var, Some(Val::I(i)));
                    }
                    if i > 0 {
                        // Each further iteration runs the loop action again.
                        if self.actions >= self.max_actions {
                            return Signal::End(self.outcome(
                                OutcomeKind::StepLimit,
                                &name,
                                None,
                                Some(format!(
                                    "{} actions ran: the flow's error handling disconnects the call",
                                    self.max_actions
                                )),
                            ));
                        }
                        self.actions += 1;
                    }
                    match self.branch(body, "loop") {
                        Signal::Continue => {}
                        Signal::LoopExit => break,
                        other => return other,
                    }
                }
                Signal::Continue
            }
            "callCommonModule" => self.call_module(&name, body),
            "switch" => self.switch(&name, body),
            "setParticipantData" | "getParticipantData" => self.participant_data(kind, &name, body),
            "callData" => self.call_data(&name, body),
            "dataTableLookup" => self.table_lookup(&name, body),
            "evaluateScheduleGroup" => {
                let group = map(get(body, "scheduleGroup"))
                    .and_then(|g| map(get(g, "lit")))
                    .and_then(|l| string(get(l, "name")))
                    .unwrap_or_default();
                match self.org.schedule_group(&group) {
                    Some(state) => self.branch(body, state.as_str()),
                    None => {
                        self.error(&name, format!("schedule group {group:?} is not in the org"))
                    }
                }
            }
            "transferToVoicemail" => {
                let queue = map(get(body, "destination"))
                    .and_then(|d| map(get(d, "queue")))
                    .and_then(|q| map(get(q, "targetQueue")))
                    .and_then(|q| map(get(q, "lit")))
                    .and_then(|l| string(get(l, "name")));
                Signal::End(self.outcome(OutcomeKind::Voicemail, &name, queue, None))
            }
            other => self.error(&name, format!("the interpreter does not run '{other}'")),
        }
    }

    /// A menu (see `compile::unverified::MENU_BEHAVIOUR`): entering it counts as an action;
    /// it plays its audio and takes the next caller input up to `repeatCount` times; one
    /// digit that is a choice's `dtmf` runs that choice (an action); anything else plays it
    /// again; after the repeats the default choice (`defaultChildMenuRef`) runs, else the
    /// call disconnects.
    fn menu(&mut self, root: &Mapping, menu: &Mapping) -> Signal {
        let name = string(get(menu, "name")).unwrap_or_default();
        if let Some(s) = self.count_action(&name) {
            return s;
        }
        let options = choices(menu);
        for _ in 0..repeat_count(root, menu).max(1) {
            let text = match self.audio(get(menu, "audio")) {
                Ok(t) => t,
                Err(e) => return self.error(&name, e),
            };
            let input = self.inputs.get(self.next_input).cloned();
            self.next_input += 1;
            let digits = match input {
                Some(SimInput::Digits(d)) => Some(d),
                _ => None,
            };
            self.line(&name, "Menu", Some(text), digits.clone());
            let Some(d) = digits.filter(|d| d.chars().count() == 1) else {
                continue;
            };
            let dtmf = format!("digit_{d}");
            if let Some(&(kind, body)) = options
                .iter()
                .find(|(_, b)| string(get(b, "dtmf")).as_deref() == Some(dtmf.as_str()))
            {
                return self.choice(kind, body);
            }
        }
        let default = string(get(menu, "defaultChildMenuRef")).and_then(|r| {
            let r = r.strip_prefix("./choices/")?;
            let (kind, id) = r.strip_suffix(']')?.split_once('[')?;
            options
                .iter()
                .copied()
                .find(|(k, b)| *k == kind && string(get(b, "refId")).as_deref() == Some(id))
        });
        match default {
            Some((kind, body)) => self.choice(kind, body),
            None => Signal::End(self.outcome(OutcomeKind::Disconnected, &name, None, None)),
        }
    }

    /// Runs a menu choice (one action).
    fn choice(&mut self, kind: &str, body: &Mapping) -> Signal {
        let name = string(get(body, "name")).unwrap_or_default();
        if let Some(s) = self.count_action(&name) {
            return s;
        }
        match kind {
            "menuDisconnect" => {
                Signal::End(self.outcome(OutcomeKind::Disconnected, &name, None, None))
            }
            "menuTransferToAcd" => {
                let queue = map(get(body, "targetQueue"))
                    .and_then(|q| map(get(q, "lit")))
                    .and_then(|l| string(get(l, "name")));
                Signal::End(self.outcome(OutcomeKind::Routed, &name, queue, None))
            }
            "menuJumpToTask" => match string(get(body, "targetTaskRef")) {
                Some(r) => Signal::Jump(r),
                None => self.error(&name, "menuJumpToTask without targetTaskRef".into()),
            },
            "menuTask" => match map(get(body, "task")).and_then(|t| get(t, "actions")) {
                Some(Value::Sequence(actions)) => match self.list(actions) {
                    // A task that runs out ends the call, as a reusable task does.
                    Signal::Continue => {
                        Signal::End(self.outcome(OutcomeKind::Disconnected, &name, None, None))
                    }
                    other => other,
                },
                _ => self.error(&name, "menuTask without task actions".into()),
            },
            other => self.error(&name, format!("the interpreter does not run '{other}'")),
        }
    }

    /// Counts one action; past the limit, the signal that ends the call.
    fn count_action(&mut self, name: &str) -> Option<Signal> {
        if self.actions >= self.max_actions {
            return Some(Signal::End(self.outcome(
                OutcomeKind::StepLimit,
                name,
                None,
                Some(format!(
                    "{} actions ran: the flow's error handling disconnects the call",
                    self.max_actions
                )),
            )));
        }
        self.actions += 1;
        None
    }

    fn call_module(&mut self, name: &str, body: &Mapping) -> Signal {
        let Some((module, spec)) = map(get(body, "commonModule")).and_then(|m| m.iter().next())
        else {
            return self.error(name, "callCommonModule names no module".into());
        };
        let module = module.as_str().unwrap_or_default().to_owned();
        let spec = map(Some(spec)).and_then(|s| map(get(s, "ver_latestPublished")));
        let Some(doc) = self.modules.module(&module) else {
            return self.error(name, format!("common module '{module}' is not published"));
        };
        let Some((_, mroot)) = root(&doc) else {
            return self.error(name, format!("common module '{module}' has no root"));
        };
        let mut vars = Vars::new();
        declare(mroot, &mut vars);
        if let Some(inputs) = spec.and_then(|s| map(get(s, "inputs"))) {
            for (k, v) in inputs {
                let Some(k) = k.as_str() else { continue };
                match self.expression(Some(v)) {
                    Ok(val) => {
                        vars.insert(k.to_owned(), val);
                    }
                    Err(e) => return self.error(name, e),
                }
            }
        }
        let Some(Value::Sequence(actions)) = get(mroot, "startUpTaskActions") else {
            return self.error(
                name,
                format!("common module '{module}' has no startUpTaskActions"),
            );
        };
        self.frames.push(Frame {
            flow: string(get(mroot, "name")).unwrap_or(module.clone()),
            vars,
        });
        let signal = self.list(actions);
        match signal {
            Signal::Continue => {}
            Signal::End(o) => return Signal::End(o),
            Signal::Jump(_) | Signal::LoopExit => {
                let s = self.error(
                    name,
                    "jumpToTask or loopExit escaped a common module".into(),
                );
                return s;
            }
        }
        let Some(frame) = self.frames.pop() else {
            return Signal::Continue;
        };
        if let Some(outputs) = spec.and_then(|s| map(get(s, "outputs"))) {
            for (k, v) in outputs {
                let (Some(k), Some(target)) =
                    (k.as_str(), map(Some(v)).and_then(|m| string(get(m, "var"))))
                else {
                    continue;
                };
                let val = frame.vars.get(k).cloned().flatten();
                self.set(&target, val);
            }
        }
        Signal::Continue
    }

    fn switch(&mut self, name: &str, body: &Mapping) -> Signal {
        let Some(first) = map(get(body, "evaluate")).and_then(|e| map(get(e, "firstTrue"))) else {
            return self.error(name, "switch without evaluate.firstTrue".into());
        };
        if let Some(Value::Sequence(cases)) = get(first, "cases") {
            for c in cases {
                let Some(case) = map(Some(c)).and_then(|c| map(get(c, "case"))) else {
                    continue;
                };
                match self.expression(get(case, "value")) {
                    Ok(Some(Val::B(true))) => {
                        return match get(case, "actions") {
                            Some(Value::Sequence(a)) => self.list(a),
                            _ => Signal::Continue,
                        };
                    }
                    Ok(Some(Val::B(false)) | None) => {}
                    Ok(Some(other)) => {
                        return self.error(name, format!("case is not a boolean: {other:?}"));
                    }
                    Err(e) => return self.error(name, e),
                }
            }
        }
        match map(get(first, "default")).and_then(|d| get(d, "actions")) {
            Some(Value::Sequence(a)) => self.list(a),
            _ => Signal::Continue,
        }
    }

    fn participant_data(&mut self, kind: &str, name: &str, body: &Mapping) -> Signal {
        let Some(Value::Sequence(attrs)) = get(body, "attributes") else {
            return Signal::Continue;
        };
        for a in attrs {
            let Some(attr) = map(Some(a)).and_then(|a| map(get(a, "attribute"))) else {
                continue;
            };
            let key = map(get(attr, "name"))
                .and_then(|n| string(get(n, "lit")))
                .unwrap_or_default();
            if kind == "setParticipantData" {
                match self.expression(get(attr, "value")) {
                    Ok(v) => {
                        let v = v.map(|v| text_of(&v).into_owned()).unwrap_or_default();
                        self.participant.insert(key.clone(), v.clone());
                        self.participant_set.insert(key, v);
                    }
                    Err(e) => return self.error(name, e),
                }
            } else if let Some(var) = string(get(attr, "variable")) {
                let v = self.participant.get(&key).map(|v| Val::S(v.clone()));
                self.set(&var, v);
            }
        }
        Signal::Continue
    }

    fn call_data(&mut self, name: &str, body: &Mapping) -> Signal {
        let found = map(get(body, "category"))
            .and_then(|c| c.iter().next())
            .and_then(|(integration, spec)| {
                let (action, contract) = map(get(map(Some(spec))?, "dataAction"))?.iter().next()?;
                Some((
                    integration.as_str()?.to_owned(),
                    action.as_str()?.to_owned(),
                    map(Some(contract))?,
                ))
            });
        let Some((integration, action, contract)) = found else {
            return self.error(name, "callData names no data action".into());
        };
        let key = format!("{integration}/{action}");
        let mut values = BTreeMap::new();
        if let Some(inputs) = map(get(contract, "inputs")) {
            for (k, v) in inputs {
                match self.expression(Some(v)) {
                    Ok(v) => {
                        if let Some(k) = k.as_str() {
                            values.insert(k.to_owned(), v.map(|v| text_of(&v).into_owned()));
                        }
                    }
                    Err(e) => return self.error(name, e),
                }
            }
        }
        let used = self.answers_used.entry(key.clone()).or_default();
        let answer = self.org.data_action(&integration, &action, &values, *used);
        *used += 1;
        match answer {
            None => self.error(name, format!("data action {key:?} is not in the org")),
            Some(DataActionAnswer::Outputs { outputs }) => {
                self.line(name, "DataAction", Some(format!("{key}: success")), None);
                if let Some(success) = map(get(contract, "successOutputs")) {
                    for (k, v) in success {
                        let (Some(k), Some(var)) =
                            (k.as_str(), map(Some(v)).and_then(|v| string(get(v, "var"))))
                        else {
                            continue;
                        };
                        self.set(&var, outputs.get(k).and_then(json_val));
                    }
                }
                self.branch(body, "success")
            }
            Some(DataActionAnswer::Error { error }) => {
                self.line(
                    name,
                    "DataAction",
                    Some(format!("{key}: failure: {error}")),
                    None,
                );
                self.branch(body, "failure")
            }
            Some(DataActionAnswer::Timeout { .. }) => {
                self.line(name, "DataAction", Some(format!("{key}: timeout")), None);
                self.branch(body, "timeout")
            }
        }
    }

    fn table_lookup(&mut self, name: &str, body: &Mapping) -> Signal {
        let Some((table, spec)) = map(get(body, "dataTable")).and_then(|t| t.iter().next()) else {
            return self.error(name, "dataTableLookup names no table".into());
        };
        let table = table.as_str().unwrap_or_default().to_owned();
        let key = match self.expression(get(body, "lookupValue")) {
            Ok(v) => v.map(|v| text_of(&v).into_owned()).unwrap_or_default(),
            Err(e) => return self.error(name, e),
        };
        let Some(row) = self.org.table_row(&table, &key) else {
            return self.error(name, format!("data table {table:?} is not in the org"));
        };
        let Some(row) = row else {
            return self.branch(body, "notFound");
        };
        if let Some(found) = map(Some(spec)).and_then(|s| map(get(s, "foundOutputs"))) {
            for (col, v) in found {
                let (Some(col), Some(var)) = (
                    col.as_str(),
                    map(Some(v)).and_then(|v| string(get(v, "var"))),
                ) else {
                    continue;
                };
                self.set(&var, row.get(col).and_then(json_val));
            }
        }
        self.branch(body, "found")
    }

    fn line(&mut self, node: &str, ty: &str, text: Option<String>, digits: Option<String>) {
        let flow = self
            .frames
            .last()
            .map(|f| f.flow.clone())
            .unwrap_or_default();
        self.transcript.push(TranscriptLine {
            flow,
            node: node.to_owned(),
            node_type: ty.to_owned(),
            text,
            digits,
        });
    }
}

/// A reusable task or a menu of the flow.
enum Place<'a> {
    Task(&'a Mapping),
    Menu(&'a Mapping),
}

/// The task (`/inboundCall/tasks/task[X]`) or menu (`/inboundCall/menus/menu[X]`) an
/// absolute reference names (`./` from the root, as `startUpRef` may write it).
fn place<'a>(doc: &'a Value, root_key: &str, r: &str) -> Option<Place<'a>> {
    let (_, root) = root(doc)?;
    let rest = r
        .strip_prefix(&format!("/{root_key}/"))
        .or_else(|| r.strip_prefix("./"))?;
    let find = |list: &str, item: &str, ref_id: &str| {
        let Some(Value::Sequence(items)) = get(root, list) else {
            return None;
        };
        items.iter().find_map(|t| {
            let inner = map(map(Some(t)).and_then(|m| get(m, item)))?;
            (string(get(inner, "refId")).as_deref() == Some(ref_id)).then_some(inner)
        })
    };
    if let Some(id) = rest.strip_prefix("tasks/task[") {
        return find("tasks", "task", id.strip_suffix(']')?).map(Place::Task);
    }
    let id = rest.strip_prefix("menus/menu[")?.strip_suffix(']')?;
    find("menus", "menu", id).map(Place::Menu)
}

/// A menu's choices: (choice type, body).
fn choices(menu: &Mapping) -> Vec<(&str, &Mapping)> {
    match get(menu, "choices") {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|c| {
                let (k, v) = map(Some(c))?.iter().next()?;
                Some((k.as_str()?, map(Some(v))?))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `repeatCount` of the menu, else of the flow's `settingsMenu`, else Genesys's default, 3
/// (Genesys help, "Configure default menu settings").
fn repeat_count(root: &Mapping, menu: &Mapping) -> i64 {
    let of = |m: &Mapping| {
        map(get(m, "settingsMenu"))
            .and_then(|s| map(get(s, "repeatCount")))
            .and_then(|r| get(r, "lit"))
            .and_then(Value::as_i64)
    };
    of(menu).or_else(|| of(root)).unwrap_or(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(y: &str) -> Value {
        serde_yaml_ng::from_str(y).unwrap()
    }

    fn digits(d: &[&str]) -> Vec<SimInput> {
        d.iter().map(|s| SimInput::parse(s).unwrap()).collect()
    }

    const MODULE: &str = r#"
commonModule:
  name: Pin
  variables:
    - stringVariable: {name: Common.pin, initialValue: {noValue: true}, isInput: false, isOutput: true}
    - stringVariable: {name: Common.greeting, initialValue: {noValue: true}, isInput: true, isOutput: false}
    - integerVariable: {name: Common.i, initialValue: {noValue: true}}
  startUpTaskActions:
    - playAudio: {name: Hello, audio: {exp: 'ToAudioTTS(Append("Hi ", Common.greeting))'}}
    - loop:
        name: Tries
        currentIndex: {var: Common.i}
        loopCount: {lit: 3}
        outputs:
          loop:
            actions:
              - collectInput:
                  name: Ask
                  inputData: {var: Common.pin}
                  digits: {exact: 4}
                  inputAudio: {tts: PIN please}
                  outputs:
                    success:
                      actions:
                        - loopExit: {name: Got it}
              - playAudio: {name: Again, audio: {tts: Try again}}
"#;

    const CALLER: &str = r#"
inboundCall:
  name: Main
  startUpRef: "/inboundCall/tasks/task[Start]"
  variables:
    - stringVariable: {name: Flow.pin, initialValue: {noValue: true}}
  tasks:
    - task:
        name: Start
        refId: Start
        actions:
          - callCommonModule:
              name: Get PIN
              commonModule:
                Pin:
                  ver_latestPublished:
                    inputs: {Common.greeting: {exp: '"caller"'}}
                    outputs: {Common.pin: {var: Flow.pin}}
          - decision:
              name: Has PIN?
              condition: {exp: IsSet(Flow.pin)}
              outputs:
                "yes":
                  actions:
                    - transferToAcd: {name: Xfer, targetQueue: {lit: {name: General}}}
          - jumpToTask: {name: To bye, targetTaskRef: "/inboundCall/tasks/task[Bye]"}
    - task:
        name: Bye
        refId: Bye
        actions:
          - playAudio: {name: Bye, audio: {tts: Goodbye}}
          - disconnect: {name: End}
"#;

    fn modules() -> BTreeMap<String, Value> {
        [("Pin".to_owned(), doc(MODULE))].into_iter().collect()
    }

    /// A corpus-shaped menu (SimpleFinancialIvr_v2-0.yaml): the flow-level `repeatCount`
    /// applies when the menu's own is `noValue`.
    const MENU: &str = r#"
inboundCall:
  name: Menus
  startUpRef: "/inboundCall/menus/menu[Main]"
  settingsMenu: {repeatCount: {lit: 3}}
  menus:
    - menu:
        name: Main
        refId: Main
        audio: {tts: Press 1 or 2}
        settingsMenu: {repeatCount: {noValue: true}}
        choices:
          - menuTransferToAcd: {name: Sales, dtmf: digit_1, targetQueue: {lit: {name: Sales}}}
          - menuJumpToTask: {name: Help, refId: Help_1, dtmf: digit_2, targetTaskRef: "/inboundCall/tasks/task[Help]"}
        defaultChildMenuRef: "./choices/menuJumpToTask[Help_1]"
  tasks:
    - task:
        name: Help
        refId: Help
        actions:
          - playAudio: {name: HelpSay, audio: {tts: Help}}
          - disconnect: {name: Bye}
"#;

    #[test]
    fn menus_take_a_digit_repeat_and_fall_back_to_the_default_choice() {
        let d = doc(MENU);
        let no_modules = BTreeMap::new();
        let run = |i: &[&str]| call(&d, &no_modules, &digits(i), 100);
        let c = run(&["1"]);
        assert_eq!(c.outcome.kind, OutcomeKind::Routed);
        assert_eq!(c.outcome.queue.as_deref(), Some("Sales"));
        // Entering the menu and the choice are actions.
        assert_eq!(c.actions, 2);
        let c = run(&["7", "12", "1"]);
        assert_eq!(c.outcome.kind, OutcomeKind::Routed, "{c:?}");
        assert_eq!(c.transcript.len(), 3);
        assert!(c.transcript.iter().all(|l| l.node_type == "Menu"));
        // Three plays without a choice: the default choice jumps to the task.
        let c = run(&["timeout", "9", "timeout", "1"]);
        assert_eq!(c.outcome.kind, OutcomeKind::Disconnected, "{c:?}");
        assert_eq!(c.outcome.node, "Bye");
        assert_eq!(c.transcript.len(), 4);
        assert_eq!(c.transcript[3].text.as_deref(), Some("Help"));
        // Without a default choice the call ends at the menu.
        let d = doc(&MENU.replace(
            "        defaultChildMenuRef: \"./choices/menuJumpToTask[Help_1]\"\n",
            "",
        ));
        let c = call(&d, &no_modules, &digits(&[]), 100);
        assert_eq!(c.outcome.kind, OutcomeKind::Disconnected);
        assert_eq!(c.outcome.node, "Main");
        assert_eq!(c.transcript.len(), 3);
        // Action limit: entering the menu counts.
        let c = call(&doc(MENU), &no_modules, &digits(&["1"]), 1);
        assert_eq!(c.outcome.kind, OutcomeKind::StepLimit);
    }

    #[test]
    fn a_loop_in_a_module_retries_and_outputs_merge_back() {
        let c = call(
            &doc(CALLER),
            &modules(),
            &digits(&["12", "1234"]),
            MAX_ACTIONS,
        );
        assert_eq!(c.outcome.kind, OutcomeKind::Routed, "{c:#?}");
        assert_eq!(c.outcome.queue.as_deref(), Some("General"));
        assert_eq!(c.variables["pin"], "1234");
        let lines: Vec<(&str, &str, Option<&str>)> = c
            .transcript
            .iter()
            .map(|l| (l.flow.as_str(), l.node.as_str(), l.text.as_deref()))
            .collect();
        assert_eq!(
            lines,
            vec![
                ("Pin", "Hello", Some("Hi caller")),
                ("Pin", "Ask", Some("PIN please")),
                ("Pin", "Again", Some("Try again")),
                ("Pin", "Ask", Some("PIN please")),
            ]
        );
    }

    #[test]
    fn loop_count_runs_out_and_the_list_goes_on() {
        let c = call(&doc(CALLER), &modules(), &[], MAX_ACTIONS);
        assert_eq!(c.outcome.kind, OutcomeKind::Disconnected);
        assert_eq!(c.outcome.node, "End");
        assert!(!c.variables.contains_key("pin"));
        assert_eq!(c.transcript.iter().filter(|l| l.node == "Ask").count(), 3);
        assert_eq!(
            c.transcript.last().unwrap().text.as_deref(),
            Some("Goodbye")
        );
    }

    #[test]
    fn an_unpublished_module_enters_error_handling() {
        let c = call(&doc(CALLER), &BTreeMap::new(), &[], MAX_ACTIONS);
        assert_eq!(c.outcome.kind, OutcomeKind::Error);
        assert_eq!(c.outcome.node, "Get PIN");
    }

    #[test]
    fn the_action_limit_ends_a_runaway_call() {
        let y = r#"
inboundCall:
  name: Spin
  startUpRef: "/inboundCall/tasks/task[A]"
  tasks:
    - task:
        name: A
        refId: A
        actions:
          - jumpToTask: {name: Again, targetTaskRef: "/inboundCall/tasks/task[A]"}
"#;
        let c = call(&doc(y), &BTreeMap::new(), &[], MAX_ACTIONS);
        assert_eq!(c.outcome.kind, OutcomeKind::StepLimit);
        assert_eq!(c.actions, MAX_ACTIONS);
    }

    #[test]
    fn expressions_follow_not_set_semantics() {
        let mut vars = Vars::new();
        vars.insert("Flow.n".into(), Some(Val::I(2)));
        vars.insert("Flow.u".into(), None);
        let ev = |s: &str| eval(&parse(s).unwrap(), &vars);
        assert_eq!(ev("Flow.n - (1 - 2) > 2").unwrap(), Some(Val::B(true)));
        assert_eq!(ev("Flow.u == \"1\"").unwrap(), Some(Val::B(false)));
        assert_eq!(
            ev("not IsSet(Flow.u) and true").unwrap(),
            Some(Val::B(true))
        );
        assert_eq!(
            ev("(true or false) and not (Flow.n == 1)").unwrap(),
            Some(Val::B(true))
        );
        assert_eq!(
            ev(r#"Append("a\"", ToString(Flow.n), Flow.u)"#).unwrap(),
            Some(Val::S("a\"2".into()))
        );
        assert!(ev("Flow.u + 1").is_err());
        assert!(ev("ToInt(\"x\")").is_err());
        assert_eq!(ev("-(-Flow.n)").unwrap(), Some(Val::I(2)));
        assert!(parse(&"(".repeat(500)).is_err());
    }
}
