//! The machine that runs a call: frames (one per flow being run), the action limit, the
//! transcript, and action lists with merge-back; each action runs in the file of its
//! family (see the module's documentation).

use std::collections::{BTreeMap, HashMap};

use serde_yaml_ng::{Mapping, Value};

use super::expr::{Env, Val, Vars, coerce, eval, parse, text_of};
use super::yaml::{Place, declare, get, map, place, root, string};
use super::{CallInfo, OrgObjects, Published};
use flowsmith_calls::{Outcome, OutcomeKind, SimInput, TranscriptLine};

/// How an action list ended.
pub(super) enum Signal {
    /// Ran out: the enclosing list goes on (merge-back).
    Continue,
    /// `jumpToTask` with its target reference.
    Jump(String),
    LoopExit,
    /// `endTask`: a common module's list ends here and the module returns.
    Return,
    /// The call ended.
    End(Outcome),
}

pub(super) struct Frame {
    pub(super) flow: String,
    pub(super) vars: Vars,
    /// The declared type of each variable (see [`declare`]).
    pub(super) types: HashMap<String, String>,
}

pub(super) struct Machine<'a> {
    pub(super) org: &'a dyn OrgObjects,
    pub(super) answers_used: HashMap<String, usize>,
    pub(super) participant: BTreeMap<String, String>,
    pub(super) participant_set: BTreeMap<String, String>,
    pub(super) modules: &'a dyn Published,
    pub(super) inputs: &'a [SimInput],
    pub(super) next_input: usize,
    pub(super) transcript: Vec<TranscriptLine>,
    pub(super) actions: usize,
    pub(super) max_actions: usize,
    pub(super) frames: Vec<Frame>,
    /// The call's language, once a `setLanguage` set it (every later transcript line
    /// carries it).
    pub(super) language: Option<String>,
    /// The entry flow's `defaultLanguage`: the language of a call no `setLanguage` set.
    pub(super) default_language: Option<String>,
    /// What the call carries (`Call.` built-ins, the time).
    pub(super) call: CallInfo,
}

impl Machine<'_> {
    pub(super) fn outcome(
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

    pub(super) fn error(&self, node: &str, msg: String) -> Signal {
        Signal::End(self.outcome(OutcomeKind::Error, node, None, Some(msg)))
    }

    pub(super) fn run_entry(&mut self, doc: &Value) -> Outcome {
        let Some((root_key, root)) = root(doc) else {
            return self.bad("the flow file has no flow type key");
        };
        self.default_language = string(get(root, "defaultLanguage"));
        let (vars, types) = self.declared(root);
        self.frames.push(Frame {
            flow: string(get(root, "name")).unwrap_or_default(),
            vars,
            types,
        });
        self.greeting(root);
        if let Some(Value::Sequence(actions)) = get(root, "startUpTaskActions") {
            return match self.list(actions) {
                Signal::End(o) => o,
                Signal::Jump(r) => self.bad(&format!("jumpToTask '{r}' in a start-up sequence")),
                Signal::LoopExit => self.bad("loopExit outside a loop"),
                // A module run as the entry: ending it ends the call.
                Signal::Continue | Signal::Return => {
                    self.outcome(OutcomeKind::Disconnected, "", None, None)
                }
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
                    Signal::Return => return self.bad("endTask outside a common module"),
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
            self.enter_task(task);
            match self.list(actions) {
                Signal::End(o) => return o,
                Signal::Jump(r) => target = r,
                Signal::LoopExit => return self.bad("loopExit outside a loop"),
                Signal::Return => return self.bad("endTask outside a common module"),
                // Published tasks end with a closing action; a list that runs out ends the call.
                Signal::Continue => {
                    return self.outcome(OutcomeKind::Disconnected, &name, None, None);
                }
            }
        }
    }

    /// The flow's `initialGreeting` plays before the start task (not an action);
    /// `ToAudioBlank(..)` is silence.
    pub(super) fn greeting(&mut self, root: &Mapping) {
        let Some(g) = get(root, "initialGreeting") else {
            return;
        };
        let silent = map(Some(g))
            .and_then(|m| string(get(m, "exp")))
            .is_some_and(|e| e.trim_start().starts_with("ToAudioBlank("));
        if silent {
            return;
        }
        // A greeting that cannot be evaluated plays nothing (it is not an action), nor does
        // one that is silence only (`AudioPlaybackOptions(ToAudioBlank(n), true)`).
        if let Ok(text) = self.audio(Some(g))
            && !text.is_empty()
        {
            self.line("initialGreeting", "Greeting", Some(text), None);
        }
    }

    /// The variables `scope` declares, with their types.
    pub(super) fn declared(&self, scope: &Mapping) -> (Vars, HashMap<String, String>) {
        let org = self.org;
        let mut vars = Vars::new();
        let mut types = HashMap::new();
        declare(scope, &mut vars, &mut types, &|q| org.queue(q));
        (vars, types)
    }

    /// Entering a task (re)declares its own `Task.` variables with their initial values
    /// [corpus: CacheExampleFlow.yaml, Trigger_proactive_callback_workflow.yaml].
    pub(super) fn enter_task(&mut self, task: &Mapping) {
        let (vars, types) = self.declared(task);
        if let Some(f) = self.frames.last_mut() {
            f.vars.extend(vars);
            f.types.extend(types);
        }
    }

    pub(super) fn bad(&self, msg: &str) -> Outcome {
        self.outcome(OutcomeKind::Error, "", None, Some(msg.to_owned()))
    }

    pub(super) fn list(&mut self, actions: &[Value]) -> Signal {
        for a in actions {
            match self.action(a) {
                Signal::Continue => {}
                other => return other,
            }
        }
        Signal::Continue
    }

    pub(super) fn branch(&mut self, body: &Mapping, output: &str) -> Signal {
        match map(get(body, "outputs"))
            .and_then(|o| map(get(o, output)))
            .and_then(|o| get(o, "actions"))
        {
            Some(Value::Sequence(actions)) => self.list(actions),
            _ => Signal::Continue,
        }
    }

    pub(super) fn vars(&self) -> &Vars {
        &self.frames.last().expect("a frame runs").vars
    }

    pub(super) fn set(&mut self, var: &str, v: Option<Val>) {
        if let Some(f) = self.frames.last_mut() {
            f.vars.insert(var.to_owned(), v);
        }
    }

    /// Assigns a value from outside the flow (a data action output, a table cell, a module
    /// output, participant data) converted to the variable's declared type.
    pub(super) fn set_typed(&mut self, var: &str, v: Option<Val>) -> Result<(), String> {
        let ty = self.frames.last().and_then(|f| f.types.get(var)).cloned();
        let v = match (v, ty) {
            (Some(v), Some(ty)) => {
                Some(coerce(v, &ty).map_err(|e| format!("assigning {var}: {e}"))?)
            }
            (v, _) => v,
        };
        self.set(var, v);
        Ok(())
    }

    pub(super) fn expression(&self, v: Option<&Value>) -> Result<Option<Val>, String> {
        let m = map(v).ok_or("missing value")?;
        if let Some(e) = get(m, "exp") {
            let s = string(Some(e)).ok_or("exp must be a string")?;
            let env = Env {
                vars: self.vars(),
                call: &self.call,
            };
            return eval(&parse(&s)?, &env);
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

    pub(super) fn audio(&self, v: Option<&Value>) -> Result<String, String> {
        let m = map(v).ok_or("missing audio")?;
        // Audio per language: the sequence of the call's language (set, else the flow's
        // default); without one, the audio's own `tts`/`exp`, else its first sequence
        // (assumed) [corpus: CI_CD_Test_Flow-INBOUNDCALL.yaml, 2445093_Lang-COMMONMODULE.yaml].
        if let Some(seqs) = map(get(m, "alternateSequences")) {
            let lang = self.language.as_ref().or(self.default_language.as_ref());
            let own = ["tts", "prompt", "exp", "lit"]
                .iter()
                .any(|k| get(m, k).is_some());
            return match lang.and_then(|l| get(seqs, l)) {
                Some(seq) => self.audio(Some(seq)),
                None if own => {
                    let mut rest = m.clone();
                    rest.remove("alternateSequences");
                    self.audio(Some(&Value::Mapping(rest)))
                }
                None => match seqs.iter().next() {
                    Some((_, seq)) => self.audio(Some(seq)),
                    None => Ok(String::new()),
                },
            };
        }
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

    /// Runs one action: counts it against the action limit, then runs it in the file of
    /// its family.
    pub(super) fn action(&mut self, a: &Value) -> Signal {
        let Some((kind, body)) = map(Some(a)).and_then(|m| m.iter().next()) else {
            return self.error("", "an action must be a mapping".into());
        };
        let kind = kind.as_str().unwrap_or_default();
        let empty = Mapping::new();
        let body = map(Some(body)).unwrap_or(&empty);
        let name = string(get(body, "name")).unwrap_or_default();
        if let Some(s) = self.count_action(&name) {
            return s;
        }
        let name = name.as_str();
        match kind {
            "playAudio" => self.play_audio(name, body),
            "collectInput" => self.collect_input(name, body),
            "decision" => self.decision(name, body),
            "switch" => self.switch(name, body),
            "loop" => self.run_loop(name, body),
            "loopExit" => Signal::LoopExit,
            "endTask" => Signal::Return,
            "jumpToTask" => self.jump(name, body, "jumpToTask", "targetTaskRef"),
            "jumpToMenu" => self.jump(name, body, "jumpToMenu", "targetMenuRef"),
            "updateData" => self.update_data(name, body),
            "setParticipantData" | "getParticipantData" => self.participant_data(kind, name, body),
            "transferToAcd" => self.transfer_to_acd(name, body),
            "transferToVoicemail" => self.transfer_to_voicemail(name, body),
            "disconnect" => self.disconnect(name),
            "callCommonModule" => self.call_module(name, body),
            "callData" => self.call_data(name, body),
            "dataTableLookup" => self.table_lookup(name, body),
            "evaluateScheduleGroup" => self.schedule_group(name, body),
            "setLanguage" => self.set_language(name, body),
            "findQueue" => self.find_queue(name, body),
            "setScreenPop" => self.screen_pop(name, body),
            "transferToFlow" | "transferToFlowSecure" => self.transfer_to_flow(kind, name, body),
            other => self.error(name, format!("the interpreter does not run '{other}'")),
        }
    }

    /// Counts one action; past the limit, the signal that ends the call.
    pub(super) fn count_action(&mut self, name: &str) -> Option<Signal> {
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

    pub(super) fn line(
        &mut self,
        node: &str,
        ty: &str,
        text: Option<String>,
        digits: Option<String>,
    ) {
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
            language: self.language.clone(),
        });
    }
}
