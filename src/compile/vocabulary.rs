//! Archy actions for the IVR vocabulary of issue 10. Every shape here is in the corpus
//! (`shared/reference/archy-catalogue.json`): `switch` `evaluate.firstTrue`,
//! `setParticipantData`/`getParticipantData` `attributes[].attribute`, `callData`
//! (architect-flow-public-api-blueprint `archy_flow.yml`), `dataTableLookup`
//! (design-architect-flow-data-actions-for-resiliency `CacheExampleFlow.yaml`),
//! `transferToVoicemail` `destination.queue`, `playAudio` `audio.prompt`. What is not
//! (user prompt references) is in [`super::unverified`]. Inbound menus that a `menus` entry
//! can express are written by [`super::menu`]; the others, and every menu of a module
//! (modules have no menus), are `collectInput` + `switch` here.

use super::structure::Block;
use super::yaml::{self, Y};
use super::{Compiler, lit, no_value, unverified};
use crate::template::expr::{BinOp, Expr};
use crate::template::model::{MenuChoice, Node, NodeKind, Prompt, ScheduleState, Text, VarRef};

fn outputs(named: Vec<(&'static str, Vec<Y>)>) -> Option<Y> {
    let o: Vec<(yaml::Key, Y)> = named
        .into_iter()
        .filter(|(_, b)| !b.is_empty())
        .map(|(k, b)| (k.into(), Y::one("actions", Y::Seq(b))))
        .collect();
    (!o.is_empty()).then_some(Y::Map(o))
}

impl Compiler<'_> {
    /// A string-valued `exp`/`lit` for a text.
    fn text_value(&self, t: &Text) -> Y {
        match super::literal_text(t) {
            Some(s) => lit(Y::s(s)),
            None => Y::one("exp", Y::s(self.names().text(t))),
        }
    }

    /// A menu as corpus actions (in modules, which have no menus, and in inbound flows when
    /// [`super::menu::entries`] finds no `menus` shape for it): up to `repeat` `collectInput`s of one digit, each after the first guarded
    /// by a `decision` that the digits so far are no choice (a failed collection leaves
    /// `""`), then a `switch` on the digits: each choice, else the error exit.
    #[allow(clippy::too_many_arguments)]
    fn menu(
        &mut self,
        n: &Node,
        prompt: &Prompt,
        choices: &[MenuChoice],
        repeat: u32,
        timeout_seconds: Option<u32>,
        blocks: &[Block],
        out: &mut Vec<Y>,
    ) {
        let id = n.id.as_str();
        let into = VarRef::digits_of(id);
        let names = self.names();
        let var = names.var(&into);
        let audio = match prompt {
            Prompt::Text(t) => self.audio(t),
            Prompt::Named(p) => Y::one("prompt", Y::s(unverified::user_prompt(p))),
        };
        let is = |d: char| {
            Expr::Binary(
                BinOp::Eq,
                Box::new(Expr::Var(into.clone())),
                Box::new(Expr::Str(d.to_string())),
            )
        };
        let any = choices
            .iter()
            .map(|c| is(c.digit))
            .reduce(|a, b| Expr::Binary(BinOp::Or, Box::new(a), Box::new(b)))
            .unwrap_or(Expr::Bool(false));
        let no_choice = names.expr(&Expr::Not(Box::new(any)));
        let cases: Vec<String> = choices.iter().map(|c| names.expr(&is(c.digit))).collect();
        let attempt = |k: u32| {
            let failed = Y::one(
                "updateData",
                Y::map([
                    ("name", Y::s(format!("{id} no input {k}"))),
                    (
                        "statements",
                        Y::Seq(vec![Y::one(
                            "string",
                            Y::map([("variable", Y::s(var.clone())), ("value", lit(Y::s("")))]),
                        )]),
                    ),
                ]),
            );
            Y::one(
                "collectInput",
                Y::map([
                    (
                        "name",
                        // Every try is named after the node: the transcript names it.
                        Y::s(id),
                    ),
                    ("inputData", Y::one("var", Y::s(var.clone()))),
                    ("digits", Y::one("exact", Y::Int(1))),
                    ("interDigitTimeout", no_value()),
                    ("noEntryTimeout", super::seconds(timeout_seconds)),
                    ("inputAudio", audio.clone()),
                    (
                        "acceptJustStar",
                        lit(Y::Bool(choices.iter().any(|c| c.digit == '*'))),
                    ),
                    (
                        "acceptJustPound",
                        lit(Y::Bool(choices.iter().any(|c| c.digit == '#'))),
                    ),
                    ("verificationType", Y::s("none")),
                    (
                        "outputs",
                        Y::one("failure", Y::one("actions", Y::Seq(vec![failed]))),
                    ),
                ]),
            )
        };
        // Innermost retry first: try k runs only when tries 1..k left no choice.
        let mut retry: Vec<Y> = Vec::new();
        for k in (2..=repeat).rev() {
            let mut yes = vec![attempt(k)];
            yes.append(&mut retry);
            retry = vec![Y::one(
                "decision",
                Y::map([
                    ("name", Y::s(format!("{id} retry {k}"))),
                    ("condition", Y::one("exp", Y::s(no_choice.clone()))),
                    ("outputs", Y::one("yes", Y::one("actions", Y::Seq(yes)))),
                ]),
            )];
        }
        out.push(attempt(1));
        out.append(&mut retry);
        let mut case_list = Vec::new();
        for (k, c) in cases.into_iter().enumerate() {
            let actions = self.block_at(blocks, k);
            case_list.push(Y::one(
                "case",
                Y::Map(vec![
                    ("value".into(), Y::one("exp", Y::s(c))),
                    ("actions".into(), Y::Seq(actions)),
                ]),
            ));
        }
        let default = self.block_at(blocks, choices.len());
        let mut first: Vec<(yaml::Key, Y)> = vec![("cases".into(), Y::Seq(case_list))];
        if !default.is_empty() {
            first.push(("default".into(), Y::one("actions", Y::Seq(default))));
        }
        out.push(Y::one(
            "switch",
            Y::map([
                ("name", Y::s(format!("{id} choice"))),
                ("evaluate", Y::one("firstTrue", Y::Map(first))),
            ]),
        ));
    }

    /// The actions of a node of the IVR vocabulary, with its branches' blocks.
    pub(super) fn vocabulary(&mut self, n: &Node, blocks: &[Block], out: &mut Vec<Y>) {
        let id = n.id.as_str();
        match &n.kind {
            NodeKind::PlayPrompt { prompt } => {
                out.push(Y::one(
                    "playAudio",
                    Y::map([
                        ("name", Y::s(id)),
                        (
                            "audio",
                            Y::one("prompt", Y::s(unverified::user_prompt(prompt))),
                        ),
                    ]),
                ));
                self.ignored_on_error(n, "playAudio");
            }
            NodeKind::Switch { branches, .. } => {
                let names = self.names();
                let conds: Vec<String> =
                    branches.iter().map(|b| names.expr(&b.condition)).collect();
                let mut cases = Vec::new();
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
                let default = self.block_at(blocks, branches.len());
                let mut first: Vec<(yaml::Key, Y)> = vec![("cases".into(), Y::Seq(cases))];
                if !default.is_empty() {
                    first.push(("default".into(), Y::one("actions", Y::Seq(default))));
                }
                out.push(Y::one(
                    "switch",
                    Y::map([
                        ("name", Y::s(id)),
                        ("evaluate", Y::one("firstTrue", Y::Map(first))),
                    ]),
                ));
            }
            NodeKind::SetParticipantData { attributes } => {
                let attrs = attributes
                    .iter()
                    .map(|(k, t)| {
                        Y::one(
                            "attribute",
                            Y::map([
                                ("name", lit(Y::s(k.clone()))),
                                ("value", self.text_value(t)),
                            ]),
                        )
                    })
                    .collect();
                out.push(Y::one(
                    "setParticipantData",
                    Y::map([("name", Y::s(id)), ("attributes", Y::Seq(attrs))]),
                ));
                self.ignored_on_error(n, "setParticipantData");
            }
            NodeKind::GetParticipantData { attributes } => {
                let names = self.names();
                let attrs = attributes
                    .iter()
                    .map(|(k, v)| {
                        Y::one(
                            "attribute",
                            Y::map([
                                ("name", lit(Y::s(k.clone()))),
                                ("variable", Y::s(names.var(v))),
                            ]),
                        )
                    })
                    .collect();
                out.push(Y::one(
                    "getParticipantData",
                    Y::map([("name", Y::s(id)), ("attributes", Y::Seq(attrs))]),
                ));
                self.ignored_on_error(n, "getParticipantData");
            }
            NodeKind::DataAction {
                integration,
                action,
                inputs,
                outputs: outs,
                timeout_seconds,
                ..
            } => {
                let names = self.names();
                let ins: Vec<(yaml::Key, Y)> = inputs
                    .iter()
                    .map(|(k, t)| (k.clone().into(), self.text_value(t)))
                    .collect();
                let success: Vec<(yaml::Key, Y)> = outs
                    .iter()
                    .map(|(k, v)| (k.clone().into(), Y::one("var", Y::s(names.var(v)))))
                    .collect();
                let mut contract: Vec<(yaml::Key, Y)> = vec![("inputs".into(), Y::Map(ins))];
                if !success.is_empty() {
                    contract.push(("successOutputs".into(), Y::Map(success)));
                }
                let blocks3 = [
                    ("success", self.block_at(blocks, 0)),
                    ("failure", self.block_at(blocks, 1)),
                    ("timeout", self.block_at(blocks, 2)),
                ];
                // The corpus writes the timeout in minutes; seconds round up.
                let minutes = timeout_seconds.map_or(1, |s| s.div_ceil(60).max(1));
                let mut e: Vec<(yaml::Key, Y)> = vec![
                    ("name".into(), Y::s(id)),
                    ("processingPrompt".into(), no_value()),
                    (
                        "timeout".into(),
                        lit(Y::one("minutes", Y::Int(minutes.into()))),
                    ),
                    (
                        "category".into(),
                        Y::one(
                            integration.clone(),
                            Y::one("dataAction", Y::one(action.clone(), Y::Map(contract))),
                        ),
                    ),
                ];
                if let Some(o) = outputs(blocks3.into()) {
                    e.push(("outputs".into(), o));
                }
                out.push(Y::one("callData", Y::Map(e)));
            }
            NodeKind::TableLookup {
                table,
                key,
                outputs: outs,
                ..
            } => {
                let names = self.names();
                let found: Vec<(yaml::Key, Y)> = outs
                    .iter()
                    .map(|(k, v)| (k.clone().into(), Y::one("var", Y::s(names.var(v)))))
                    .collect();
                let key_exp = Y::one("exp", Y::s(names.text(key)));
                let mut e: Vec<(yaml::Key, Y)> = vec![
                    ("name".into(), Y::s(id)),
                    ("lookupValue".into(), key_exp),
                    (
                        "dataTable".into(),
                        Y::one(table.clone(), Y::one("foundOutputs", Y::Map(found))),
                    ),
                ];
                let b = vec![
                    ("found", self.block_at(blocks, 0)),
                    ("notFound", self.block_at(blocks, 1)),
                ];
                if let Some(o) = outputs(b) {
                    e.push(("outputs".into(), o));
                }
                out.push(Y::one("dataTableLookup", Y::Map(e)));
                self.ignored_on_error(n, "dataTableLookup");
            }
            NodeKind::Voicemail { queue } => {
                // A failed transfer falls through to the failure path, as for transferToAcd.
                out.push(Y::one(
                    "transferToVoicemail",
                    Y::map([
                        ("name", Y::s(id)),
                        (
                            "destination",
                            Y::one(
                                "queue",
                                Y::map([
                                    ("targetQueue", lit(Y::one("name", Y::s(queue.clone())))),
                                    ("calleeName", no_value()),
                                ]),
                            ),
                        ),
                    ]),
                ));
            }
            NodeKind::Schedule { group, .. } => {
                let names = ScheduleState::ALL.map(unverified::schedule_output);
                let b = names
                    .iter()
                    .enumerate()
                    .map(|(k, name)| (*name, self.block_at(blocks, k)))
                    .collect();
                let mut e: Vec<(yaml::Key, Y)> = vec![
                    ("name".into(), Y::s(id)),
                    ("inServiceSchedules".into(), no_value()),
                    ("evaluate".into(), Y::one("now", Y::Bool(true))),
                    ("scheduleGroup".into(), unverified::schedule_group(group)),
                ];
                if let Some(o) = outputs(b) {
                    e.push(("outputs".into(), o));
                }
                out.push(Y::one("evaluateScheduleGroup", Y::Map(e)));
                self.ignored_on_error(n, "evaluateScheduleGroup");
            }
            NodeKind::Menu {
                prompt,
                choices,
                repeat,
                timeout_seconds,
            } => self.menu(n, prompt, choices, *repeat, *timeout_seconds, blocks, out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
