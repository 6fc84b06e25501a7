//! Pieces of Archy actions that several node kinds share: literals, timeouts, audio,
//! outputs, a `switch` on first-true cases, jumps and the closing `disconnect`.

use super::structure::Block;
use super::yaml::{self, Y};
use super::{Compiler, archy};
use crate::template::model::{FlowType, Segment, Text};

pub(super) fn lit(v: Y) -> Y {
    Y::one("lit", v)
}

pub(super) fn no_value() -> Y {
    Y::one("noValue", Y::Bool(true))
}

pub(super) fn seconds(s: Option<u32>) -> Y {
    match s {
        Some(s) => lit(Y::one("seconds", Y::Int(s.into()))),
        None => no_value(),
    }
}

pub(super) fn disconnect(name: &str) -> Y {
    Y::one("disconnect", Y::one("name", Y::s(name)))
}

/// Absolute reference to a task: `/<root>/tasks/task[<refId>]` [corpus: every jump and
/// `startUpRef` of the published files; a relative `./tasks/...` inside an action resolves
/// from the action's own place].
pub(super) fn task_ref(t: FlowType, ref_id: &str) -> String {
    format!("/{}/tasks/task[{ref_id}]", archy::root_key(t))
}

/// A move to a reusable task: `jumpToTask: {name, targetTaskRef}` with an absolute
/// reference [corpus: digital-bot and message files; `menuJumpToTask` in
/// architect-flow-public-api-blueprint `archy_flow.yml`].
pub(super) fn jump_to_task(name: &str, target: &str) -> Y {
    Y::one(
        "jumpToTask",
        Y::map([("name", Y::s(name)), ("targetTaskRef", Y::s(target))]),
    )
}

/// The text when it has no interpolation.
pub(super) fn literal_text(t: &Text) -> Option<String> {
    let mut s = String::new();
    for seg in &t.0 {
        match seg {
            Segment::Literal(l) => s.push_str(l),
            Segment::Var(_) => return None,
        }
    }
    Some(s)
}

/// The `outputs` of an action from its named blocks, leaving out empty ones (`None` when
/// all are empty).
pub(super) fn outputs(named: Vec<(&'static str, Vec<Y>)>) -> Option<Y> {
    let o: Vec<(yaml::Key, Y)> = named
        .into_iter()
        .filter(|(_, b)| !b.is_empty())
        .map(|(k, b)| (k.into(), Y::one("actions", Y::Seq(b))))
        .collect();
    (!o.is_empty()).then_some(Y::Map(o))
}

impl Compiler<'_> {
    /// The audio of a text: TTS when literal, else an expression.
    pub(super) fn audio(&self, t: &Text) -> Y {
        match literal_text(t) {
            Some(s) => Y::one("tts", Y::s(s)),
            None => Y::one("exp", Y::s(format!("ToAudioTTS({})", self.names().text(t)))),
        }
    }

    /// A string-valued `exp`/`lit` for a text.
    pub(super) fn text_value(&self, t: &Text) -> Y {
        match literal_text(t) {
            Some(s) => lit(Y::s(s)),
            None => Y::one("exp", Y::s(self.names().text(t))),
        }
    }

    /// `switch` named `name` whose case `k` is condition `conds[k]` running block `k`; the
    /// block after the cases is the default.
    pub(super) fn first_true_switch(
        &mut self,
        name: String,
        conds: Vec<String>,
        blocks: &[Block],
    ) -> Y {
        let count = conds.len();
        let mut cases = Vec::with_capacity(count);
        for (k, c) in conds.into_iter().enumerate() {
            let actions = self.block_at(blocks, k);
            cases.push(Y::one(
                "case",
                Y::Map(vec![
                    ("value".into(), Y::one("exp", Y::s(c))),
                    ("actions".into(), Y::Seq(actions)),
                ]),
            ));
        }
        let default = self.block_at(blocks, count);
        let mut first: Vec<(yaml::Key, Y)> = vec![("cases".into(), Y::Seq(cases))];
        if !default.is_empty() {
            first.push(("default".into(), Y::one("actions", Y::Seq(default))));
        }
        Y::one(
            "switch",
            Y::map([
                ("name", Y::s(name)),
                ("evaluate", Y::one("firstTrue", Y::Map(first))),
            ]),
        )
    }
}
