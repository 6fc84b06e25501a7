//! Call simulator (spec section 8): runs a call through an inbound flow and the modules it
//! calls, on the same validated model the compiler reads, with Genesys' NOT_SET semantics.
//! It follows what Genesys does with the compiled files (the differential test in
//! `tests/fidelity.rs` runs both against the Archy interpreter, `flowsmith_sandbox::archy::interpret`).
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

//!
//! Where things are: [`nodes`] holds one file per node kind (how the kind is pre-resolved
//! and what one step of it does), `nodes/mod.rs` only dispatches; [`driver`] builds the
//! program (this file's [`Prog`]: node ids → indices, variables → slots) and runs the call,
//! calling into `nodes` for each node; [`program`] is the builder a kind resolves against,
//! [`machine`] the running call (limits, transcript, frame stack) a kind steps on, [`eval`]
//! values, expressions and texts. Dependencies point down: `driver` → `nodes` →
//! `program`, `machine` → `eval`.

mod bench_flow;
mod driver;
mod eval;
mod machine;
mod nodes;
mod program;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use utoipa::ToSchema;

pub use crate::calls::{DataActionAnswer, Outcome, OutcomeKind, SimInput, SimOrg, TranscriptLine};
use crate::compile::canonical;
use crate::template::model::Flow;
pub use bench_flow::bench_loop_flow;
use nodes::Kind;

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
    /// What the call alone cannot explain, e.g. `module_not_stored`: a called module that
    /// is not stored (the call ends in an error there), with the closest stored name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::findings::Finding>,
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
            warnings: Vec::new(),
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
    let progs = driver::build(entry, modules);
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
            language: None,
        })
        .collect();
    driver::run(machine::Machine::new(
        &progs, inputs, limits, org, transcript,
    ))
}

/// A pre-resolved node: exits are node indices of its flow.
struct PNode<'a> {
    id: &'a str,
    type_name: &'static str,
    kind: Kind<'a>,
    next: Option<usize>,
    on_error: Option<usize>,
}

/// A pre-resolved flow: its nodes, start, and variable slots.
struct Prog<'a> {
    flow: &'a Flow,
    nodes: Vec<PNode<'a>>,
    start: Option<usize>,
    slot_names: Vec<String>,
    slots: HashMap<String, usize>,
}

impl<'a> Prog<'a> {
    fn new(flow: &'a Flow) -> Prog<'a> {
        Prog {
            flow,
            nodes: Vec::new(),
            start: None,
            slot_names: Vec::new(),
            slots: HashMap::new(),
        }
    }

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

#[cfg(test)]
mod tests;
