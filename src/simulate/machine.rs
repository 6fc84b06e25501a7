//! The state of a running call a node step works on: the frame stack (one frame per flow
//! being run), the transcript, the limits, the caller's inputs and the org's answers. The
//! loop that takes one step at a time is [`super::driver::run`].

use std::collections::{BTreeMap, HashMap};

use super::eval::{CSeg, Val, Vars, interpolate, to_json};
use super::{LimitError, PNode, Prog, SimLimits, Simulation};
use crate::calls::{DataActionAnswer, Outcome, OutcomeKind, SimInput, SimOrg, TranscriptLine};
use crate::template::model::VarType;

/// One flow being run: the entry flow at the bottom, a called module above its caller.
pub(super) struct Frame {
    pub(super) prog: usize,
    pub(super) vars: Vars,
    /// The Flow node of the caller frame that called this one.
    pub(super) call_node: Option<usize>,
}

impl Frame {
    pub(super) fn new(prog: &Prog<'_>, index: usize, call_node: Option<usize>) -> Frame {
        let mut vars: Vars = vec![None; prog.slot_names.len()];
        // Literal initial values of the variables flowsmith models; an expression, or a
        // kind only kept Archy actions read (which are not simulated), starts unset.
        for (k, v) in &prog.flow.initial_values {
            let (Some(&slot), Some(lit)) = (prog.slots.get(k.as_str()), v.get("lit")) else {
                continue;
            };
            let val = match (prog.flow.variables.get(k), lit) {
                (Some(VarType::Integer), serde_json::Value::Number(n)) => n.as_i64().map(Val::I),
                (Some(VarType::Integer), serde_json::Value::String(t)) => {
                    t.parse().ok().map(Val::I)
                }
                (Some(VarType::Boolean), serde_json::Value::Bool(b)) => Some(Val::B(*b)),
                (Some(VarType::Boolean), serde_json::Value::String(t)) => {
                    t.parse().ok().map(Val::B)
                }
                (Some(VarType::String), serde_json::Value::String(t)) => Some(Val::S(t.clone())),
                (Some(VarType::String), serde_json::Value::Number(n)) => {
                    Some(Val::S(n.to_string()))
                }
                (Some(VarType::String), serde_json::Value::Bool(b)) => Some(Val::S(b.to_string())),
                _ => None,
            };
            if let Some(slot_val) = vars.get_mut(slot) {
                *slot_val = val;
            }
        }
        Frame {
            prog: index,
            vars,
            call_node,
        }
    }
}

/// The node a step runs, and the program (flow) it belongs to.
#[derive(Clone, Copy)]
pub(super) struct At<'n, 'a> {
    pub(super) prog: usize,
    pub(super) node: &'n PNode<'a>,
}

impl At<'_, '_> {
    /// The node's `next` exit, else End semantics.
    pub(super) fn next(self) -> Step {
        self.node.next.map_or(Step::End, Step::Go)
    }

    /// The node's `on_error` exit, else End semantics.
    pub(super) fn on_error(self) -> Step {
        self.node.on_error.map_or(Step::End, Step::Go)
    }
}

/// What one node step works on: the machine, the node and the variables of the frame
/// that runs it.
pub(super) struct Cx<'c, 'p, 'a> {
    pub(super) m: &'c mut Machine<'p, 'a>,
    pub(super) at: At<'c, 'a>,
    pub(super) vars: &'c mut Vars,
}

impl Cx<'_, '_, '_> {
    /// Interpolates a text ([`Machine::text`]) and returns it.
    pub(super) fn text(&mut self, t: &[CSeg<'_>]) -> Result<&str, LimitError> {
        self.m.text(self.at, t, self.vars)?;
        Ok(&self.m.text_buf)
    }

    /// Adds a transcript line for the node ([`Machine::line`]).
    pub(super) fn line(
        &mut self,
        text: Option<String>,
        digits: Option<String>,
    ) -> Result<(), LimitError> {
        self.m.line(self.at, text, digits)
    }

    /// The node's string of `len` bytes passes `max_value_bytes`.
    pub(super) fn too_long(&self, len: usize) -> LimitError {
        self.m.too_long(self.at, len)
    }
}

/// What a node step leads to.
pub(super) enum Step {
    Go(usize),
    /// The node finished and has no exit of its own: End semantics.
    End,
    Fail(String),
    Done(OutcomeKind, Option<String>),
}

pub(super) struct Machine<'p, 'a> {
    pub(super) progs: &'p [Prog<'a>],
    inputs: &'p [SimInput],
    next_input: usize,
    transcript: Vec<TranscriptLine>,
    transcript_bytes: usize,
    /// The last text interpolated by [`Machine::text`].
    pub(super) text_buf: String,
    pub(super) org: &'p SimOrg,
    /// Answers consumed per data action.
    answers_used: HashMap<String, usize>,
    /// The call's participant data.
    pub(super) participant: BTreeMap<String, String>,
    /// Participant data set during the call.
    pub(super) participant_set: BTreeMap<String, String>,
    pub(super) limits: &'p SimLimits,
    /// The call's language, once a SetLanguage node set it.
    pub(super) language: Option<String>,
}

impl<'p, 'a> Machine<'p, 'a> {
    /// A call about to start, with `transcript` (the greeting) already heard.
    pub(super) fn new(
        progs: &'p [Prog<'a>],
        inputs: &'p [SimInput],
        limits: &'p SimLimits,
        org: &'p SimOrg,
        transcript: Vec<TranscriptLine>,
    ) -> Machine<'p, 'a> {
        Machine {
            progs,
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
            language: None,
        }
    }

    fn limit(&self, at: At<'_, '_>, setting: &'static str, what: String) -> LimitError {
        LimitError {
            setting,
            what,
            node: at.node.id.to_owned(),
            flow: self.progs[at.prog].flow.name.clone(),
        }
    }

    pub(super) fn too_long(&self, at: At<'_, '_>, len: usize) -> LimitError {
        self.limit(
            at,
            "max_value_bytes",
            format!(
                "a string of {len} bytes would pass the limit of {} bytes (max_value_bytes)",
                self.limits.max_value_bytes
            ),
        )
    }

    /// Interpolates a text into `text_buf`, refusing one longer than `max_value_bytes`.
    pub(super) fn text(
        &mut self,
        at: At<'_, '_>,
        t: &[CSeg<'_>],
        vars: &Vars,
    ) -> Result<(), LimitError> {
        interpolate(&mut self.text_buf, t, vars, self.limits.max_value_bytes)
            .map_err(|len| self.too_long(at, len))
    }

    /// Adds a transcript line, refusing one that passes `max_transcript_bytes`.
    pub(super) fn line(
        &mut self,
        at: At<'_, '_>,
        text: Option<String>,
        digits: Option<String>,
    ) -> Result<(), LimitError> {
        self.transcript_bytes += at.node.id.len()
            + text.as_ref().map_or(0, String::len)
            + digits.as_ref().map_or(0, String::len);
        if self.transcript_bytes > self.limits.max_transcript_bytes {
            return Err(self.limit(
                at,
                "max_transcript_bytes",
                format!(
                    "the transcript would pass the limit of {} bytes (max_transcript_bytes)",
                    self.limits.max_transcript_bytes
                ),
            ));
        }
        self.transcript.push(TranscriptLine {
            flow: self.progs[at.prog].flow.name.clone(),
            node: at.node.id.to_owned(),
            node_type: at.node.type_name.to_owned(),
            text,
            digits,
            language: self.language.clone(),
        });
        Ok(())
    }

    /// The next caller input (`None` when none is left); each collection takes one.
    pub(super) fn take_input(&mut self) -> Option<&'p SimInput> {
        let input = self.inputs.get(self.next_input);
        self.next_input += 1;
        input
    }

    /// The next answer of a data action (the last one repeats); `None` when the org lacks it.
    pub(super) fn answer(&mut self, key: &str) -> Option<DataActionAnswer> {
        let answers = self.org.data_actions.get(key)?;
        let used = self.answers_used.entry(key.to_owned()).or_default();
        let a = answers.get(*used).or_else(|| answers.last())?.clone();
        *used += 1;
        Some(a)
    }

    /// Before a step: `step_limit` once `max_steps` ran, a refusal past the deadline.
    pub(super) fn out_of_steps(
        &self,
        at: At<'_, '_>,
        steps: usize,
    ) -> Result<Option<Outcome>, LimitError> {
        if steps >= self.limits.max_steps {
            return Ok(Some(outcome(
                self.progs,
                at,
                OutcomeKind::StepLimit,
                None,
                None,
            )));
        }
        // The clock is read every 1024 steps: a step's own work is bounded by the value
        // limit, so the deadline is kept to within a few milliseconds.
        if steps.is_multiple_of(1024)
            && let Some(deadline) = self.limits.deadline
            && std::time::Instant::now() >= deadline
        {
            return Err(self.limit(
                at,
                "request_work_ms",
                format!("the simulation ran out of time after {steps} steps (request_work_ms)"),
            ));
        }
        Ok(None)
    }

    pub(super) fn finish(self, stack: &[Frame], steps: usize, outcome: Outcome) -> Simulation {
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
            warnings: Vec::new(),
        }
    }
}

pub(super) fn outcome(
    progs: &[Prog<'_>],
    at: At<'_, '_>,
    kind: OutcomeKind,
    queue: Option<String>,
    message: Option<String>,
) -> Outcome {
    Outcome {
        kind,
        queue,
        node: at.node.id.to_owned(),
        flow: progs[at.prog].flow.name.clone(),
        message,
    }
}
