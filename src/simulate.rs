//! Call simulator (spec section 8): runs a call through an inbound flow and the modules it
//! calls, on the same validated model the compiler reads, with Genesys' NOT_SET semantics.
//! It follows what Genesys does with the compiled files (the differential test in
//! `tests/fidelity.rs` runs both against the Archy interpreter, [`crate::archy::interpret`]).
//!
//! Semantics: Say adds a transcript line. Gather plays its prompt (a transcript line with the
//! digits entered) and takes the next input: digits within min..max go to onComplete with
//! `<Node>_digits` set; no input left, `timeout`, or a wrong length take onError, and without
//! an onError the flow ends there as at an End (Archy's `collectInput` failure output is
//! empty and the compiled flow ends). Set and If evaluate; a variable never set is NOT_SET,
//! every comparison with it is false, `IsSet` tells, and `+`/`and`/`or`/`not` on it is an
//! error. Text templates interpolate NOT_SET as the empty string; a text that is exactly one
//! `{var}` copies the value (NOT_SET stays NOT_SET), as the compiled `exp: Flow.var` does.
//! Flow runs the module in its own variable scope (inputs evaluated in the caller) and on the
//! module's End copies its outputs back (the explicit mapping, else every module output to
//! the same name). An error (an expression that fails, a module that is not available) enters
//! the flow's error handling, which disconnects: the call ends with `error` at the failing
//! node. The onError of Say, Set and Flow nodes is NOT followed: Archy's playAudio,
//! updateData and callCommonModule have no failure path (validation warns
//! `on_error_not_compiled`). Route ends `routed`; End in the entry flow and Disconnect end
//! `disconnected`; a node with no exit ends like End. `max_steps` (default: Genesys's limit of
//! [`crate::calls::MAX_ACTIONS`] actions per call) ends runaway loops with
//! `step_limit`; the simulator counts nodes, Genesys counts actions (a compiled jump is an
//! action too), so a runaway call may stop a few actions apart in the two.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use utoipa::ToSchema;

use crate::calls::ScheduleState;
pub use crate::calls::{DataActionAnswer, Outcome, OutcomeKind, SimInput, SimOrg, TranscriptLine};
use crate::compile::{canonical, effective_outputs};
use crate::template::expr::{BinOp, Expr, Func};
use crate::template::model::{
    Assignment, Flow, FlowType, ModuleRef, NodeKind, QueueRef, Segment, SetValue, Text, VarRef,
    VarType,
};

/// Default step limit: Genesys's limit of actions per call.
pub const DEFAULT_MAX_STEPS: usize = crate::calls::MAX_ACTIONS;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Simulation {
    pub outcome: Outcome,
    pub transcript: Vec<TranscriptLine>,
    /// The entry flow's variables that are set at the end of the call.
    pub variables: BTreeMap<String, serde_json::Value>,
    pub steps: usize,
    /// Participant data set during the call (SetParticipantData nodes).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub participant_data: BTreeMap<String, String>,
}

/// The bounds of one simulation: steps (an outcome, `step_limit`), and the memory and time
/// it may use (refusals, [`LimitError`]).
#[derive(Debug, Clone, Copy)]
pub struct SimLimits {
    pub max_steps: usize,
    /// Largest transcript, in bytes of its texts, digits and node ids.
    pub max_transcript_bytes: usize,
    /// Longest string value (variable, text, prompt) the call may produce, in bytes.
    pub max_value_bytes: usize,
    /// When the simulation must have finished.
    pub deadline: Option<std::time::Instant>,
}

impl SimLimits {
    /// The service defaults for `max_steps` steps.
    pub fn new(max_steps: usize) -> SimLimits {
        SimLimits {
            max_steps,
            max_transcript_bytes: 1024 * 1024,
            max_value_bytes: 64 * 1024,
            deadline: None,
        }
    }
}

/// Which limit stopped a simulation, and at which node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} in node {node:?} of {flow:?}")]
pub struct LimitError {
    /// The setting that bounds it (`max_value_bytes`, `max_transcript_bytes`,
    /// `request_work_ms`).
    pub setting: &'static str,
    pub what: String,
    pub node: String,
    pub flow: String,
}

/// Runs a call through `entry`, with `modules` (by template name) for its Flow nodes, under
/// the default [`SimLimits`]; a broken limit ends the call as an `error` saying so.
pub fn simulate(
    entry: &Flow,
    modules: &BTreeMap<String, Flow>,
    inputs: &[SimInput],
    max_steps: usize,
) -> Simulation {
    simulate_with_org(entry, modules, inputs, max_steps, &SimOrg::default())
}

/// [`simulate`] with the org objects the call meets.
pub fn simulate_with_org(
    entry: &Flow,
    modules: &BTreeMap<String, Flow>,
    inputs: &[SimInput],
    max_steps: usize,
    org: &SimOrg,
) -> Simulation {
    match simulate_limited_with_org(entry, modules, inputs, &SimLimits::new(max_steps), org) {
        Ok(s) => s,
        Err(e) => Simulation {
            outcome: Outcome {
                kind: OutcomeKind::Error,
                queue: None,
                message: Some(e.to_string()),
                node: e.node,
                flow: e.flow,
            },
            transcript: Vec::new(),
            variables: BTreeMap::new(),
            steps: 0,
            participant_data: BTreeMap::new(),
        },
    }
}

/// Runs a call under `limits`: values, transcript and time are bounded, and a simulation
/// that would pass them is refused, naming the limit and the node.
pub fn simulate_limited(
    entry: &Flow,
    modules: &BTreeMap<String, Flow>,
    inputs: &[SimInput],
    limits: &SimLimits,
) -> Result<Simulation, LimitError> {
    simulate_limited_with_org(entry, modules, inputs, limits, &SimOrg::default())
}

/// [`simulate_limited`] with the org objects the call meets.
pub fn simulate_limited_with_org(
    entry: &Flow,
    modules: &BTreeMap<String, Flow>,
    inputs: &[SimInput],
    limits: &SimLimits,
    org: &SimOrg,
) -> Result<Simulation, LimitError> {
    let progs = build(entry, modules);
    // The compiled flow plays its `initialGreeting` before the start task.
    let transcript = entry
        .greeting
        .iter()
        .map(|g| TranscriptLine {
            flow: entry.name.clone(),
            node: "initialGreeting".into(),
            node_type: "Greeting".into(),
            text: Some(g.clone()),
            digits: None,
        })
        .collect();
    Machine {
        progs: &progs,
        inputs,
        next_input: 0,
        transcript,
        // The greeting is part of the stored document, bounded by its size limit.
        transcript_bytes: 0,
        text_buf: String::new(),
        org,
        answers_used: HashMap::new(),
        participant: org.participant_data.clone(),
        participant_set: BTreeMap::new(),
        limits,
    }
    .run()
}

/// A flow that loops Set/If forever (for the step-rate benchmark).
pub fn bench_loop_flow() -> Flow {
    use crate::template::model::{Branch, Node};
    let n = |id: &str, kind: NodeKind, next: Option<&str>| {
        (
            id.to_owned(),
            Node {
                id: id.to_owned(),
                kind,
                next: next.map(str::to_owned),
                on_error: None,
            },
        )
    };
    let count = VarRef("count".into());
    let nodes = [
        n(
            "Init",
            NodeKind::Set {
                assignments: vec![Assignment {
                    var: count.clone(),
                    ty: VarType::Integer,
                    value: SetValue::Text(Text::literal("0")),
                }],
            },
            Some("Inc"),
        ),
        n(
            "Inc",
            NodeKind::Set {
                assignments: vec![Assignment {
                    var: count.clone(),
                    ty: VarType::Integer,
                    value: SetValue::Expr(Expr::Binary(
                        BinOp::Add,
                        Box::new(Expr::Var(count.clone())),
                        Box::new(Expr::Int(1)),
                    )),
                }],
            },
            Some("Check"),
        ),
        n(
            "Check",
            NodeKind::If {
                branches: vec![Branch {
                    condition: Expr::Binary(
                        BinOp::Lt,
                        Box::new(Expr::Var(count.clone())),
                        Box::new(Expr::Int(0)),
                    ),
                    target: "Done".into(),
                }],
                default: Some("Inc".into()),
            },
            None,
        ),
        n("Done", NodeKind::Disconnect, None),
    ]
    .into_iter()
    .collect();
    Flow {
        name: "Bench_Loop".into(),
        flow_type: FlowType::Inbound,
        description: None,
        division: "Home".into(),
        language: "en-us".into(),
        greeting: None,
        inputs: BTreeMap::new(),
        outputs: BTreeMap::new(),
        variables: [("count".to_owned(), VarType::Integer)]
            .into_iter()
            .collect(),
        start: "Init".into(),
        nodes,
    }
}

// ---------------------------------------------------------------------------------------
// Pre-resolved program: node ids → indices, variables → slots.

#[derive(Debug, Clone, PartialEq)]
enum Val {
    S(String),
    I(i64),
    B(bool),
}

#[derive(Debug)]
enum V<'a> {
    S(Cow<'a, str>),
    I(i64),
    B(bool),
}

impl V<'_> {
    fn into_val(self) -> Val {
        match self {
            V::S(s) => Val::S(s.into_owned()),
            V::I(i) => Val::I(i),
            V::B(b) => Val::B(b),
        }
    }
}

fn borrow(v: &Val) -> V<'_> {
    match v {
        Val::S(s) => V::S(Cow::Borrowed(s)),
        Val::I(i) => V::I(*i),
        Val::B(b) => V::B(*b),
    }
}

enum CExpr<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
    Var(usize),
    Not(Box<CExpr<'a>>),
    Neg(Box<CExpr<'a>>),
    Bin(BinOp, Box<CExpr<'a>>, Box<CExpr<'a>>),
    Call(Func, Vec<CExpr<'a>>),
}

enum CSeg<'a> {
    Lit(&'a str),
    Var(usize),
}

enum CSet<'a> {
    Text(Vec<CSeg<'a>>),
    Copy(usize),
    Expr(CExpr<'a>),
}

enum Kind<'a> {
    Say(Vec<CSeg<'a>>),
    Gather {
        prompt: Vec<CSeg<'a>>,
        min: usize,
        max: usize,
        into: usize,
    },
    Set(Vec<(usize, VarType, CSet<'a>)>),
    If(Vec<(CExpr<'a>, usize)>, Option<usize>),
    Route(&'a str),
    Call {
        module: Result<usize, String>,
        /// (module slot, caller expression)
        inputs: Vec<(usize, CExpr<'a>)>,
        /// (module slot, caller slot)
        outputs: Vec<(usize, usize)>,
    },
    End,
    Disconnect,
    PlayPrompt(&'a str),
    DataAction {
        key: String,
        inputs: Vec<Vec<CSeg<'a>>>,
        outputs: Vec<(&'a str, usize)>,
        on_timeout: Option<usize>,
    },
    TableLookup {
        table: &'a str,
        key: Vec<CSeg<'a>>,
        outputs: Vec<(&'a str, usize)>,
        on_not_found: Option<usize>,
    },
    SetParticipant(Vec<(&'a str, Vec<CSeg<'a>>)>),
    GetParticipant(Vec<(&'a str, usize)>),
    Schedule {
        group: &'a str,
        exits: BTreeMap<ScheduleState, usize>,
    },
    Voicemail(&'a str),
    Menu {
        /// Text to speech, or a named prompt.
        prompt: Result<Vec<CSeg<'a>>, &'a str>,
        choices: Vec<(char, usize)>,
        repeat: u32,
        /// `<Menu>_digits`; `None` for an inbound menu compiled as a `menus` entry, which
        /// stores no digits.
        into: Option<usize>,
    },
}

struct PNode<'a> {
    id: &'a str,
    type_name: &'static str,
    kind: Kind<'a>,
    next: Option<usize>,
    on_error: Option<usize>,
}

struct Prog<'a> {
    flow: &'a Flow,
    nodes: Vec<PNode<'a>>,
    start: Option<usize>,
    slot_names: Vec<String>,
    slots: HashMap<String, usize>,
}

impl Prog<'_> {
    fn slot(&mut self, name: &str) -> usize {
        let name = canonical(name);
        if let Some(&s) = self.slots.get(name.as_ref()) {
            return s;
        }
        let s = self.slot_names.len();
        self.slot_names.push(name.clone().into_owned());
        self.slots.insert(name.into_owned(), s);
        s
    }
}

fn build<'a>(entry: &'a Flow, modules: &'a BTreeMap<String, Flow>) -> Vec<Prog<'a>> {
    let new_prog = |flow: &'a Flow| Prog {
        flow,
        nodes: Vec::new(),
        start: None,
        slot_names: Vec::new(),
        slots: HashMap::new(),
    };
    let mut progs = vec![new_prog(entry)];
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    let mut p = 0;
    while p < progs.len() {
        let flow = progs[p].flow;
        let index: HashMap<&str, usize> = flow
            .nodes
            .keys()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        let at = |id: &Option<String>| id.as_deref().and_then(|i| index.get(i).copied());
        progs[p].start = index.get(flow.start.as_str()).copied();
        // The entry flow is compiled as its own type, called flows as modules.
        let menu_entries = crate::compile::menu::entries(
            flow,
            if p == 0 {
                flow.flow_type
            } else {
                FlowType::Module
            },
        );
        let mut nodes = Vec::with_capacity(flow.nodes.len());
        for node in flow.nodes.values() {
            let kind = match &node.kind {
                NodeKind::Say { text, .. } => Kind::Say(text_of(&mut progs[p], text)),
                NodeKind::Gather {
                    prompt,
                    min_digits,
                    max_digits,
                    into,
                    ..
                } => Kind::Gather {
                    prompt: text_of(&mut progs[p], prompt),
                    min: *min_digits as usize,
                    max: *max_digits as usize,
                    into: progs[p].slot(into.name()),
                },
                NodeKind::Set { assignments } => Kind::Set(
                    assignments
                        .iter()
                        .map(|a| {
                            let value = match &a.value {
                                SetValue::Text(t) => match t.0.as_slice() {
                                    [Segment::Var(v)] => CSet::Copy(progs[p].slot(v.name())),
                                    _ => CSet::Text(text_of(&mut progs[p], t)),
                                },
                                SetValue::Expr(e) => CSet::Expr(expr_of(&mut progs[p], e)),
                            };
                            (progs[p].slot(a.var.name()), a.ty, value)
                        })
                        .collect(),
                ),
                NodeKind::If { branches, default } => Kind::If(
                    branches
                        .iter()
                        .filter_map(|b| {
                            let t = index.get(b.target.as_str()).copied()?;
                            Some((expr_of(&mut progs[p], &b.condition), t))
                        })
                        .collect(),
                    at(default),
                ),
                NodeKind::Route { queue, .. } => Kind::Route(match queue {
                    QueueRef::Id(q) | QueueRef::Name(q) => q,
                }),
                NodeKind::CallModule {
                    module,
                    inputs,
                    outputs,
                    ..
                } => {
                    let target = match module {
                        ModuleRef::Name(n) => match modules.get_key_value(n) {
                            Some((k, f)) => Ok(*by_name.entry(k.as_str()).or_insert_with(|| {
                                progs.push(new_prog(f));
                                progs.len() - 1
                            })),
                            None => Err(format!("module {n:?} is not available")),
                        },
                        ModuleRef::Id(id) => Err(format!(
                            "module flow id {id:?} cannot be simulated (name the template)"
                        )),
                    };
                    match target {
                        Ok(m) => {
                            let ins = inputs
                                .iter()
                                .map(|(k, e)| (progs[m].slot(k), expr_of(&mut progs[p], e)))
                                .collect();
                            let mapping: Vec<(String, String)> = if outputs.is_empty() {
                                effective_outputs(progs[m].flow)
                                    .into_keys()
                                    .map(|k| (k.clone(), k))
                                    .collect()
                            } else {
                                outputs
                                    .iter()
                                    .map(|(k, v)| (k.clone(), v.name().to_owned()))
                                    .collect()
                            };
                            let outs = mapping
                                .iter()
                                .map(|(k, v)| (progs[m].slot(k), progs[p].slot(v)))
                                .collect();
                            Kind::Call {
                                module: Ok(m),
                                inputs: ins,
                                outputs: outs,
                            }
                        }
                        Err(e) => Kind::Call {
                            module: Err(e),
                            inputs: Vec::new(),
                            outputs: Vec::new(),
                        },
                    }
                }
                NodeKind::End { .. } => Kind::End,
                NodeKind::Disconnect => Kind::Disconnect,
                NodeKind::Switch { branches, default } => Kind::If(
                    branches
                        .iter()
                        .filter_map(|b| {
                            let t = index.get(b.target.as_str()).copied()?;
                            Some((expr_of(&mut progs[p], &b.condition), t))
                        })
                        .collect(),
                    at(default),
                ),
                NodeKind::PlayPrompt { prompt } => Kind::PlayPrompt(prompt),
                NodeKind::DataAction {
                    integration,
                    action,
                    inputs,
                    outputs,
                    on_timeout,
                    ..
                } => Kind::DataAction {
                    key: format!("{integration}/{action}"),
                    inputs: inputs
                        .iter()
                        .map(|(_, t)| text_of(&mut progs[p], t))
                        .collect(),
                    outputs: outputs
                        .iter()
                        .map(|(k, v)| (k.as_str(), progs[p].slot(v.name())))
                        .collect(),
                    on_timeout: at(on_timeout),
                },
                NodeKind::TableLookup {
                    table,
                    key,
                    outputs,
                    on_not_found,
                } => Kind::TableLookup {
                    table,
                    key: text_of(&mut progs[p], key),
                    outputs: outputs
                        .iter()
                        .map(|(k, v)| (k.as_str(), progs[p].slot(v.name())))
                        .collect(),
                    on_not_found: at(on_not_found),
                },
                NodeKind::SetParticipantData { attributes } => Kind::SetParticipant(
                    attributes
                        .iter()
                        .map(|(k, t)| (k.as_str(), text_of(&mut progs[p], t)))
                        .collect(),
                ),
                NodeKind::GetParticipantData { attributes } => Kind::GetParticipant(
                    attributes
                        .iter()
                        .map(|(k, v)| (k.as_str(), progs[p].slot(v.name())))
                        .collect(),
                ),
                NodeKind::Schedule { group, exits } => Kind::Schedule {
                    group,
                    exits: exits
                        .iter()
                        .filter_map(|(s, t)| Some((*s, index.get(t.as_str()).copied()?)))
                        .collect(),
                },
                NodeKind::Voicemail { queue } => Kind::Voicemail(queue),
                NodeKind::Menu {
                    prompt,
                    choices,
                    repeat,
                    ..
                } => Kind::Menu {
                    prompt: match prompt {
                        crate::template::model::Prompt::Text(t) => Ok(text_of(&mut progs[p], t)),
                        crate::template::model::Prompt::Named(n) => Err(n.as_str()),
                    },
                    choices: choices
                        .iter()
                        .filter_map(|c| Some((c.digit, index.get(c.target.as_str()).copied()?)))
                        .collect(),
                    repeat: *repeat,
                    into: (!menu_entries.contains_key(node.id.as_str()))
                        .then(|| progs[p].slot(VarRef::digits_of(&node.id).name())),
                },
            };
            nodes.push(PNode {
                id: &node.id,
                type_name: node.kind.type_name(),
                kind,
                next: at(&node.next),
                on_error: at(&node.on_error),
            });
        }
        progs[p].nodes = nodes;
        p += 1;
    }
    progs
}

fn text_of<'a>(p: &mut Prog<'a>, t: &'a Text) -> Vec<CSeg<'a>> {
    t.0.iter()
        .map(|s| match s {
            Segment::Literal(l) => CSeg::Lit(l),
            Segment::Var(v) => CSeg::Var(p.slot(v.name())),
        })
        .collect()
}

fn expr_of<'a>(p: &mut Prog<'a>, e: &'a Expr) -> CExpr<'a> {
    match e {
        Expr::Str(s) => CExpr::Str(s),
        Expr::Int(i) => CExpr::Int(*i),
        Expr::Bool(b) => CExpr::Bool(*b),
        Expr::Var(v) => CExpr::Var(p.slot(v.name())),
        Expr::Not(a) => CExpr::Not(Box::new(expr_of(p, a))),
        Expr::Neg(a) => CExpr::Neg(Box::new(expr_of(p, a))),
        Expr::Binary(op, a, b) => CExpr::Bin(*op, Box::new(expr_of(p, a)), Box::new(expr_of(p, b))),
        Expr::Call(f, args) => CExpr::Call(*f, args.iter().map(|a| expr_of(p, a)).collect()),
    }
}

// ---------------------------------------------------------------------------------------
// Evaluation.

type Vars = Vec<Option<Val>>;

/// Why an expression has no value: a runtime error of the flow (it takes onError), or a
/// string that would pass `max_value_bytes` (the simulation is refused).
#[derive(Debug)]
enum EvalError {
    Fail(String),
    TooLong(usize),
}

impl From<String> for EvalError {
    fn from(s: String) -> Self {
        EvalError::Fail(s)
    }
}

impl From<&str> for EvalError {
    fn from(s: &str) -> Self {
        EvalError::Fail(s.to_owned())
    }
}

fn eval<'a>(e: &'a CExpr<'a>, vars: &'a Vars, max: usize) -> Result<Option<V<'a>>, EvalError> {
    Ok(Some(match e {
        CExpr::Str(s) => V::S(Cow::Borrowed(s)),
        CExpr::Int(i) => V::I(*i),
        CExpr::Bool(b) => V::B(*b),
        CExpr::Var(s) => return Ok(vars[*s].as_ref().map(borrow)),
        CExpr::Not(a) => V::B(!truth(eval(a, vars, max)?, "not")?),
        CExpr::Neg(a) => match eval(a, vars, max)? {
            Some(V::I(i)) => V::I(i.checked_neg().ok_or("integer overflow")?),
            Some(_) => return Err("'-' needs an integer".into()),
            None => return Err("'-' on a NOT_SET value".into()),
        },
        CExpr::Bin(op, a, b) => match op {
            BinOp::And => {
                V::B(truth(eval(a, vars, max)?, "and")? && truth(eval(b, vars, max)?, "and")?)
            }
            BinOp::Or => {
                V::B(truth(eval(a, vars, max)?, "or")? || truth(eval(b, vars, max)?, "or")?)
            }
            BinOp::Add | BinOp::Sub => match (eval(a, vars, max)?, eval(b, vars, max)?) {
                (Some(V::I(x)), Some(V::I(y))) => V::I(
                    if *op == BinOp::Add {
                        x.checked_add(y)
                    } else {
                        x.checked_sub(y)
                    }
                    .ok_or("integer overflow")?,
                ),
                (Some(V::S(x)), Some(V::S(y))) if *op == BinOp::Add => {
                    if x.len() + y.len() > max {
                        return Err(EvalError::TooLong(x.len() + y.len()));
                    }
                    V::S(Cow::Owned(format!("{x}{y}")))
                }
                (None, _) | (_, None) => {
                    return Err(format!("'{}' on a NOT_SET value", op_char(*op)).into());
                }
                _ => return Err(format!("'{}' needs two integers", op_char(*op)).into()),
            },
            _ => {
                let (x, y) = match (eval(a, vars, max)?, eval(b, vars, max)?) {
                    (Some(x), Some(y)) => (x, y),
                    // Every comparison with NOT_SET is false.
                    _ => return Ok(Some(V::B(false))),
                };
                let ord = match (&x, &y) {
                    (V::S(x), V::S(y)) => x.as_ref().cmp(y.as_ref()),
                    (V::I(x), V::I(y)) => x.cmp(y),
                    (V::B(x), V::B(y)) if matches!(op, BinOp::Eq | BinOp::Ne) => x.cmp(y),
                    _ => return Err(format!("cannot compare {x:?} with {y:?}").into()),
                };
                V::B(match op {
                    BinOp::Eq => ord.is_eq(),
                    BinOp::Ne => ord.is_ne(),
                    BinOp::Lt => ord.is_lt(),
                    BinOp::Le => ord.is_le(),
                    BinOp::Gt => ord.is_gt(),
                    _ => ord.is_ge(),
                })
            }
        },
        CExpr::Call(f, args) => {
            let arg = match args.first() {
                Some(a) => eval(a, vars, max)?,
                None => return Err(EvalError::Fail("missing argument".into())),
            };
            match (f, arg) {
                (Func::IsSet, a) => V::B(a.is_some()),
                (Func::IsNotSetOrEmpty, a) => {
                    V::B(a.is_none() || matches!(&a, Some(V::S(s)) if s.is_empty()))
                }
                (_, None) => return Ok(None),
                (Func::ToString, Some(v)) => match v {
                    V::S(s) => V::S(s),
                    V::I(i) => V::S(Cow::Owned(i.to_string())),
                    V::B(b) => V::S(Cow::Borrowed(if b { "true" } else { "false" })),
                },
                (Func::ToInt, Some(v)) => match v {
                    V::I(i) => V::I(i),
                    V::S(s) => V::I(
                        s.trim()
                            .parse()
                            .map_err(|_| format!("ToInt: {s:?} is not an integer"))?,
                    ),
                    V::B(b) => V::I(b.into()),
                },
                (Func::Lower, Some(V::S(s))) => V::S(Cow::Owned(s.to_lowercase())),
                (Func::Upper, Some(V::S(s))) => V::S(Cow::Owned(s.to_uppercase())),
                (Func::Length, Some(V::S(s))) => V::I(s.chars().count() as i64),
                (f, Some(v)) => return Err(format!("{f:?} cannot take {v:?}").into()),
            }
        }
    }))
}

fn op_char(op: BinOp) -> char {
    if op == BinOp::Add { '+' } else { '-' }
}

fn truth(v: Option<V<'_>>, what: &str) -> Result<bool, String> {
    match v {
        Some(V::B(b)) => Ok(b),
        None => Err(format!("'{what}' on a NOT_SET value")),
        Some(other) => Err(format!("'{what}' needs a boolean, got {other:?}")),
    }
}

fn push_val(out: &mut String, v: &Val) {
    use std::fmt::Write as _;
    match v {
        Val::S(s) => out.push_str(s),
        Val::I(i) => {
            let _ = write!(out, "{i}");
        }
        Val::B(b) => out.push_str(if *b { "true" } else { "false" }),
    }
}

/// Fills `out` with the text; `Err(len)` as soon as it would pass `max` bytes.
fn interpolate(out: &mut String, segs: &[CSeg<'_>], vars: &Vars, max: usize) -> Result<(), usize> {
    out.clear();
    for s in segs {
        match s {
            CSeg::Lit(l) => out.push_str(l),
            CSeg::Var(v) => {
                if let Some(val) = &vars[*v] {
                    push_val(out, val);
                }
            }
        }
        if out.len() > max {
            return Err(out.len());
        }
    }
    Ok(())
}

/// Converts a value to the type of the variable it is assigned to.
fn coerce(v: Val, ty: VarType) -> Result<Val, String> {
    Ok(match (ty, v) {
        (VarType::String, Val::S(s)) => Val::S(s),
        (VarType::String, Val::I(i)) => Val::S(i.to_string()),
        (VarType::String, Val::B(b)) => Val::S(b.to_string()),
        (VarType::Integer, Val::I(i)) => Val::I(i),
        (VarType::Integer, Val::S(s)) => Val::I(
            s.trim()
                .parse()
                .map_err(|_| format!("{s:?} is not an integer"))?,
        ),
        (VarType::Boolean, Val::B(b)) => Val::B(b),
        (VarType::Boolean, Val::S(s)) if s.trim().eq_ignore_ascii_case("true") => Val::B(true),
        (VarType::Boolean, Val::S(s)) if s.trim().eq_ignore_ascii_case("false") => Val::B(false),
        (ty, v) => return Err(format!("{v:?} is not a {ty:?}")),
    })
}

/// An org value (data action output, table cell) as a flow string variable; null is NOT_SET.
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

// ---------------------------------------------------------------------------------------
// The machine.

struct Frame {
    prog: usize,
    vars: Vars,
    /// The Flow node of the caller frame that called this one.
    call_node: Option<usize>,
}

struct Machine<'p, 'a> {
    progs: &'p [Prog<'a>],
    inputs: &'p [SimInput],
    next_input: usize,
    transcript: Vec<TranscriptLine>,
    transcript_bytes: usize,
    text_buf: String,
    org: &'p SimOrg,
    /// Answers consumed per data action.
    answers_used: HashMap<String, usize>,
    /// The call's participant data.
    participant: BTreeMap<String, String>,
    /// Participant data set during the call.
    participant_set: BTreeMap<String, String>,
    limits: &'p SimLimits,
}

enum Step {
    Go(usize),
    /// The node finished and has no exit of its own: End semantics.
    End,
    Fail(String),
    Done(OutcomeKind, Option<String>),
}

impl<'a> Machine<'_, 'a> {
    fn limit(
        &self,
        prog: usize,
        node: &PNode<'_>,
        setting: &'static str,
        what: String,
    ) -> LimitError {
        LimitError {
            setting,
            what,
            node: node.id.to_owned(),
            flow: self.progs[prog].flow.name.clone(),
        }
    }

    fn too_long(&self, prog: usize, node: &PNode<'_>, len: usize) -> LimitError {
        self.limit(
            prog,
            node,
            "max_value_bytes",
            format!(
                "a string of {len} bytes would pass the limit of {} bytes (max_value_bytes)",
                self.limits.max_value_bytes
            ),
        )
    }

    /// Interpolates a text into `text_buf`, refusing one longer than `max_value_bytes`.
    fn text(
        &mut self,
        prog: usize,
        node: &PNode<'_>,
        t: &[CSeg<'_>],
        vars: &Vars,
    ) -> Result<(), LimitError> {
        interpolate(&mut self.text_buf, t, vars, self.limits.max_value_bytes)
            .map_err(|len| self.too_long(prog, node, len))
    }

    fn line(
        &mut self,
        prog: usize,
        node: &PNode<'_>,
        text: Option<String>,
        digits: Option<String>,
    ) -> Result<(), LimitError> {
        self.transcript_bytes += node.id.len()
            + text.as_ref().map_or(0, String::len)
            + digits.as_ref().map_or(0, String::len);
        if self.transcript_bytes > self.limits.max_transcript_bytes {
            return Err(self.limit(
                prog,
                node,
                "max_transcript_bytes",
                format!(
                    "the transcript would pass the limit of {} bytes (max_transcript_bytes)",
                    self.limits.max_transcript_bytes
                ),
            ));
        }
        self.transcript.push(TranscriptLine {
            flow: self.progs[prog].flow.name.clone(),
            node: node.id.to_owned(),
            node_type: node.type_name.to_owned(),
            text,
            digits,
        });
        Ok(())
    }

    fn run(mut self) -> Result<Simulation, LimitError> {
        let max_steps = self.limits.max_steps;
        let max_value = self.limits.max_value_bytes;
        let progs = self.progs;
        let mut stack = vec![Frame {
            prog: 0,
            vars: vec![None; progs[0].slot_names.len()],
            call_node: None,
        }];
        let mut steps = 0usize;
        let Some(mut cur) = progs[0].start else {
            return Ok(self.finish(
                &stack,
                steps,
                Outcome {
                    kind: OutcomeKind::Error,
                    queue: None,
                    node: progs[0].flow.start.clone(),
                    flow: progs[0].flow.name.clone(),
                    message: Some("the start node does not exist".into()),
                },
            ));
        };
        loop {
            let fi = stack.len() - 1;
            let pi = stack[fi].prog;
            let prog = &progs[pi];
            let node = &prog.nodes[cur];
            if steps >= max_steps {
                let o = outcome(prog, node, OutcomeKind::StepLimit, None, None);
                return Ok(self.finish(&stack, steps, o));
            }
            // The clock is read every 1024 steps: a step's own work is bounded by the value
            // limit, so the deadline is kept to within a few milliseconds.
            if steps.is_multiple_of(1024)
                && let Some(deadline) = self.limits.deadline
                && std::time::Instant::now() >= deadline
            {
                return Err(self.limit(
                    pi,
                    node,
                    "request_work_ms",
                    format!("the simulation ran out of time after {steps} steps (request_work_ms)"),
                ));
            }
            steps += 1;
            let step = match &node.kind {
                Kind::Say(t) => {
                    self.text(pi, node, t, &stack[fi].vars)?;
                    let text = self.text_buf.clone();
                    self.line(pi, node, Some(text), None)?;
                    node.next.map_or(Step::End, Step::Go)
                }
                Kind::Gather {
                    prompt,
                    min,
                    max,
                    into,
                } => {
                    self.text(pi, node, prompt, &stack[fi].vars)?;
                    let text = self.text_buf.clone();
                    let input = self.inputs.get(self.next_input);
                    self.next_input += 1;
                    match input {
                        Some(SimInput::Digits(d)) => {
                            self.line(pi, node, Some(text), Some(d.clone()))?;
                            if (*min..=*max).contains(&d.chars().count()) {
                                stack[fi].vars[*into] = Some(Val::S(d.clone()));
                                node.next.map_or(Step::End, Step::Go)
                            } else {
                                // Another length is a failed collection: the failure output.
                                node.on_error.map_or(Step::End, Step::Go)
                            }
                        }
                        Some(SimInput::Timeout) | None => {
                            self.line(pi, node, Some(text), None)?;
                            node.on_error.map_or(Step::End, Step::Go)
                        }
                    }
                }
                Kind::Set(assignments) => {
                    let mut failed = None;
                    for (slot, ty, value) in assignments {
                        let vars = &stack[fi].vars;
                        let v: Result<Option<Val>, String> = match value {
                            CSet::Copy(s) => Ok(vars[*s].clone()),
                            CSet::Text(t) => {
                                self.text(pi, node, t, vars)?;
                                Ok(Some(Val::S(self.text_buf.clone())))
                            }
                            CSet::Expr(e) => match eval(e, vars, max_value) {
                                Ok(v) => Ok(v.map(V::into_val)),
                                Err(EvalError::Fail(e)) => Err(e),
                                Err(EvalError::TooLong(len)) => {
                                    return Err(self.too_long(pi, node, len));
                                }
                            },
                        };
                        match v.and_then(|v| v.map(|v| coerce(v, *ty)).transpose()) {
                            // Upper() can lengthen a string: check what is stored too.
                            Ok(Some(Val::S(s))) if s.len() > max_value => {
                                return Err(self.too_long(pi, node, s.len()));
                            }
                            Ok(v) => stack[fi].vars[*slot] = v,
                            Err(e) => {
                                failed = Some(e);
                                break;
                            }
                        }
                    }
                    match failed {
                        Some(e) => Step::Fail(e),
                        None => node.next.map_or(Step::End, Step::Go),
                    }
                }
                Kind::If(branches, default) => {
                    let mut step = None;
                    for (cond, target) in branches {
                        match eval(cond, &stack[fi].vars, max_value) {
                            Ok(Some(V::B(true))) => {
                                step = Some(Step::Go(*target));
                                break;
                            }
                            Ok(Some(V::B(false)) | None) => {}
                            Ok(Some(other)) => {
                                step = Some(Step::Fail(format!(
                                    "condition is not a boolean: {other:?}"
                                )));
                                break;
                            }
                            Err(EvalError::Fail(e)) => {
                                step = Some(Step::Fail(e));
                                break;
                            }
                            Err(EvalError::TooLong(len)) => {
                                return Err(self.too_long(pi, node, len));
                            }
                        }
                    }
                    step.unwrap_or_else(|| match default {
                        Some(d) => Step::Go(*d),
                        None => Step::Fail("no condition is true and there is no default".into()),
                    })
                }
                Kind::Route(q) => Step::Done(OutcomeKind::Routed, Some((*q).to_owned())),
                Kind::Disconnect => Step::Done(OutcomeKind::Disconnected, None),
                Kind::End => Step::End,
                Kind::PlayPrompt(name) => {
                    self.line(pi, node, Some(format!("[prompt {name}]")), None)?;
                    node.next.map_or(Step::End, Step::Go)
                }
                Kind::DataAction {
                    key,
                    inputs,
                    outputs,
                    on_timeout,
                } => {
                    // Inputs are evaluated (as Genesys does before the call) but the
                    // simulated answer does not depend on them.
                    for t in inputs {
                        self.text(pi, node, t, &stack[fi].vars)?;
                    }
                    match self.answer(key) {
                        None => Step::Fail(format!(
                            "data action {key:?} is not in the simulation's org.data_actions"
                        )),
                        Some(DataActionAnswer::Outputs { outputs: got }) => {
                            self.line(pi, node, Some(format!("{key}: success")), None)?;
                            for (name, slot) in outputs {
                                stack[fi].vars[*slot] = got.get(*name).and_then(json_val);
                            }
                            node.next.map_or(Step::End, Step::Go)
                        }
                        Some(DataActionAnswer::Error { error }) => {
                            self.line(pi, node, Some(format!("{key}: failure: {error}")), None)?;
                            node.on_error.map_or(Step::End, Step::Go)
                        }
                        Some(DataActionAnswer::Timeout { .. }) => {
                            self.line(pi, node, Some(format!("{key}: timeout")), None)?;
                            on_timeout.or(node.on_error).map_or(Step::End, Step::Go)
                        }
                    }
                }
                Kind::TableLookup {
                    table,
                    key,
                    outputs,
                    on_not_found,
                } => {
                    self.text(pi, node, key, &stack[fi].vars)?;
                    match self.org.data_tables.get(*table) {
                        None => Step::Fail(format!(
                            "data table {table:?} is not in the simulation's org.data_tables"
                        )),
                        Some(rows) => match rows.get(self.text_buf.as_str()) {
                            Some(row) => {
                                for (col, slot) in outputs {
                                    stack[fi].vars[*slot] = row.get(*col).and_then(json_val);
                                }
                                node.next.map_or(Step::End, Step::Go)
                            }
                            None => on_not_found.map_or(Step::End, Step::Go),
                        },
                    }
                }
                Kind::SetParticipant(attrs) => {
                    for (k, t) in attrs {
                        self.text(pi, node, t, &stack[fi].vars)?;
                        self.participant
                            .insert((*k).to_owned(), self.text_buf.clone());
                        self.participant_set
                            .insert((*k).to_owned(), self.text_buf.clone());
                    }
                    node.next.map_or(Step::End, Step::Go)
                }
                Kind::GetParticipant(attrs) => {
                    for (k, slot) in attrs {
                        stack[fi].vars[*slot] = self.participant.get(*k).map(|v| Val::S(v.clone()));
                    }
                    node.next.map_or(Step::End, Step::Go)
                }
                Kind::Schedule { group, exits } => match self.org.schedule_groups.get(*group) {
                    None => Step::Fail(format!(
                        "schedule group {group:?} is not in the simulation's org.schedule_groups"
                    )),
                    Some(state) => exits
                        .get(state)
                        .copied()
                        .or(node.next)
                        .map_or(Step::End, Step::Go),
                },
                Kind::Voicemail(q) => Step::Done(OutcomeKind::Voicemail, Some((*q).to_owned())),
                Kind::Menu {
                    prompt,
                    choices,
                    repeat,
                    into,
                } => {
                    // As compiled: up to `repeat` one-digit collections; a failed one leaves
                    // "" in `<Menu>_digits`; then the choice, else the error exit.
                    let mut chosen = None;
                    for _ in 0..*repeat {
                        let text = match prompt {
                            Ok(t) => {
                                self.text(pi, node, t, &stack[fi].vars)?;
                                self.text_buf.clone()
                            }
                            Err(name) => format!("[prompt {name}]"),
                        };
                        let input = self.inputs.get(self.next_input).cloned();
                        self.next_input += 1;
                        let got = match input {
                            Some(SimInput::Digits(d)) if d.chars().count() == 1 => {
                                self.line(pi, node, Some(text), Some(d.clone()))?;
                                d
                            }
                            Some(SimInput::Digits(d)) => {
                                self.line(pi, node, Some(text), Some(d))?;
                                String::new()
                            }
                            Some(SimInput::Timeout) | None => {
                                self.line(pi, node, Some(text), None)?;
                                String::new()
                            }
                        };
                        let hit = choices
                            .iter()
                            .find(|(c, _)| got.chars().eq(std::iter::once(*c)));
                        if let Some(into) = into {
                            stack[fi].vars[*into] = Some(Val::S(got));
                        }
                        if let Some((_, t)) = hit {
                            chosen = Some(*t);
                            break;
                        }
                    }
                    match chosen {
                        Some(t) => Step::Go(t),
                        None => node.on_error.map_or(Step::End, Step::Go),
                    }
                }
                Kind::Call {
                    module,
                    inputs,
                    outputs: _,
                } => match module {
                    Err(e) => Step::Fail(e.clone()),
                    Ok(m) => match progs[*m].start {
                        None => Step::Fail("the module's start node does not exist".into()),
                        Some(start) => {
                            let mut vars: Vars = vec![None; progs[*m].slot_names.len()];
                            let mut failed = None;
                            for (slot, e) in inputs {
                                match eval(e, &stack[fi].vars, max_value) {
                                    Ok(v) => vars[*slot] = v.map(V::into_val),
                                    Err(EvalError::Fail(e)) => {
                                        failed = Some(e);
                                        break;
                                    }
                                    Err(EvalError::TooLong(len)) => {
                                        return Err(self.too_long(pi, node, len));
                                    }
                                }
                            }
                            match failed {
                                Some(e) => Step::Fail(e),
                                None => {
                                    stack.push(Frame {
                                        prog: *m,
                                        vars,
                                        call_node: Some(cur),
                                    });
                                    Step::Go(start)
                                }
                            }
                        }
                    },
                },
            };
            match step {
                Step::Go(n) => cur = n,
                Step::Done(kind, queue) => {
                    let o = outcome(prog, node, kind, queue, None);
                    return Ok(self.finish(&stack, steps, o));
                }
                Step::End => {
                    // Return from a module, or end the call.
                    let mut at = (pi, cur);
                    loop {
                        if stack.len() == 1 {
                            let (p, n) = at;
                            let o = outcome(
                                &progs[p],
                                &progs[p].nodes[n],
                                OutcomeKind::Disconnected,
                                None,
                                None,
                            );
                            return Ok(self.finish(&stack, steps, o));
                        }
                        let Some(frame) = stack.pop() else { break };
                        let call = frame.call_node.unwrap_or_default();
                        let top = stack.len() - 1;
                        let caller = &progs[stack[top].prog].nodes[call];
                        if let Kind::Call { outputs, .. } = &caller.kind {
                            for (m, c) in outputs {
                                stack[top].vars[*c] = frame.vars[*m].clone();
                            }
                        }
                        match caller.next {
                            Some(n) => {
                                cur = n;
                                break;
                            }
                            None => at = (stack[top].prog, call),
                        }
                    }
                }
                Step::Fail(message) => {
                    // The flow's error handling: the call is disconnected.
                    let o = outcome(prog, node, OutcomeKind::Error, None, Some(message));
                    return Ok(self.finish(&stack, steps, o));
                }
            }
        }
    }

    /// The next answer of a data action (the last one repeats); `None` when the org lacks it.
    fn answer(&mut self, key: &str) -> Option<DataActionAnswer> {
        let answers = self.org.data_actions.get(key)?;
        let used = self.answers_used.entry(key.to_owned()).or_default();
        let a = answers.get(*used).or_else(|| answers.last())?.clone();
        *used += 1;
        Some(a)
    }

    fn finish(self, stack: &[Frame], steps: usize, outcome: Outcome) -> Simulation {
        let entry = &self.progs[0];
        let variables = stack
            .first()
            .map(|f| {
                f.vars
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| Some((entry.slot_names[i].clone(), to_json(v.as_ref()?))))
                    .collect()
            })
            .unwrap_or_default();
        Simulation {
            outcome,
            transcript: self.transcript,
            variables,
            steps,
            participant_data: self.participant_set,
        }
    }
}

fn outcome(
    prog: &Prog<'_>,
    node: &PNode<'_>,
    kind: OutcomeKind,
    queue: Option<String>,
    message: Option<String>,
) -> Outcome {
    Outcome {
        kind,
        queue,
        node: node.id.to_owned(),
        flow: prog.flow.name.clone(),
        message,
    }
}

#[cfg(test)]
mod tests;
