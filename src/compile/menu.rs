//! Inbound Menu nodes as Archy `menus` entries.
//!
//! Shapes, all in the corpus (`shared/reference/archy-catalogue.json`):
//! - `menus: [{menu: {name, refId, audio, settingsMenu, choices, defaultChildMenuRef}}]`,
//!   `startUpRef: /inboundCall/menus/menu[<refId>]` (simple-ivr-deploy-with-cx-as-code-blueprint
//!   `SimpleFinancialIvr_v2-0.yaml`, architect-flow-public-api-blueprint `archy_flow.yml`) and
//!   `jumpToMenu: {name, targetMenuRef: /inboundCall/menus/menu[<refId>]}`
//!   (dr-fallback-ivr `DR-Emergency-IVR.yaml`);
//! - `settingsMenu` with `listenForExtensionDialing: {lit: false}`, `menuSelectionTimeout:
//!   {lit: {seconds}}`, `repeatCount: {lit}` on the menu itself
//!   (process-participant-attributes-event-triggers-blueprint `EventOrchestrator_Flow.yaml`);
//! - choices `menuDisconnect` (every menu file), `menuTransferToAcd` (`SimpleFinancialIvr`),
//!   `menuJumpToTask` with `targetTaskRef` (`archy_flow.yml`, `EventOrchestrator_Flow.yaml`)
//!   and with `refId` named by the menu's `defaultChildMenuRef:
//!   ./choices/menuJumpToTask[<refId>]` (set-emergency-group-lambda-blueprint
//!   `main_flow.yaml`), `menuTask` with an inline `task.actions` (`DR-Emergency-IVR.yaml`);
//!   each with `dtmf: digit_N`, `globalDtmf: false`, `globalSpeechRecTerms: false`.
//!
//! What the evidence does not settle (how a wrong digit counts, what happens after the
//! repeats without a default choice, `digit_0`) is in [`super::unverified`]. A Menu the
//! shapes cannot express stays `collectInput` + `switch` (as in modules, which have no
//! menus): see [`entries`].

use std::collections::{HashMap, HashSet};

use super::yaml::{self, Y};
use super::{Compiler, lit, no_value, task_ref, unverified};
use crate::template::model::{Flow, FlowType, Node, NodeKind, Prompt, Text};

/// How one menu choice is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceKind {
    /// The choice's node is a Disconnect or an End: `menuDisconnect`.
    Disconnect,
    /// The choice's node is a Route with nothing after a failed transfer:
    /// `menuTransferToAcd`.
    TransferToAcd,
    /// The choice's node is another menu: `menuTask` whose task jumps to it.
    Menu,
    /// Anything else: `menuJumpToTask` to the node's reusable task.
    JumpToTask,
}

/// How an inbound Menu is written as a `menus` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One per choice, in order.
    pub choices: Vec<ChoiceKind>,
    /// The choice that runs after the repeats without a valid digit (the node's onError).
    pub default: Option<usize>,
}

/// The Menu nodes of a flow compiled as `ty` that become `menus` entries, and how, by node
/// id. A Menu not listed compiles to `collectInput` + `switch`: every Menu of a module
/// (modules have no menus), and in inbound flows a Menu whose `{Menu.digits}` is read, that
/// has a `*`/`#` choice, or whose onError is not also a choice's node (a menu's only failure
/// path is a default choice). Linear in the size of the flow.
pub fn entries(flow: &Flow, ty: FlowType) -> HashMap<&str, Plan> {
    if ty != FlowType::Inbound
        || !flow
            .nodes
            .values()
            .any(|n| matches!(n.kind, NodeKind::Menu { .. }))
    {
        return HashMap::new();
    }
    let read = digits_read(flow);
    let is_entry = |n: &Node| is_entry(flow, n, &read);
    flow.nodes
        .values()
        .filter(|n| is_entry(n))
        .filter_map(|n| {
            let NodeKind::Menu { choices, .. } = &n.kind else {
                return None;
            };
            let default = n
                .on_error
                .as_deref()
                .and_then(|e| choices.iter().position(|c| c.target == e));
            let kinds = choices
                .iter()
                .enumerate()
                .map(|(k, c)| {
                    let Some(t) = flow.nodes.get(&c.target) else {
                        return ChoiceKind::JumpToTask;
                    };
                    if Some(k) == default {
                        return ChoiceKind::JumpToTask;
                    }
                    match &t.kind {
                        NodeKind::Disconnect | NodeKind::End { .. } => ChoiceKind::Disconnect,
                        NodeKind::Route { .. } if t.on_error.is_none() && t.next.is_none() => {
                            ChoiceKind::TransferToAcd
                        }
                        NodeKind::Menu { .. } if is_entry(t) => ChoiceKind::Menu,
                        _ => ChoiceKind::JumpToTask,
                    }
                })
                .collect();
            Some((
                n.id.as_str(),
                Plan {
                    choices: kinds,
                    default,
                },
            ))
        })
        .collect()
}

fn is_entry(flow: &Flow, n: &Node, digits_read: &HashSet<String>) -> bool {
    let NodeKind::Menu { choices, .. } = &n.kind else {
        return false;
    };
    if choices
        .iter()
        .any(|c| unverified::menu_dtmf(c.digit).is_none())
    {
        return false;
    }
    if let Some(e) = n.on_error.as_deref() {
        let is_choice = choices.iter().any(|c| c.target == e);
        let to_menu = flow
            .nodes
            .get(e)
            .is_some_and(|t| matches!(t.kind, NodeKind::Menu { .. }));
        if !is_choice || to_menu {
            return false;
        }
    }
    !digits_read.contains(&n.id)
}

/// The nodes whose `{<node>.digits}` some node reads (a `menus` entry stores no digits).
fn digits_read(flow: &Flow) -> HashSet<String> {
    let mut names: Vec<&str> = Vec::new();
    let mut exprs: Vec<&crate::template::expr::Expr> = Vec::new();
    let mut texts: Vec<&Text> = Vec::new();
    for n in flow.nodes.values() {
        match &n.kind {
            NodeKind::Say { text, .. } => texts.push(text),
            NodeKind::Gather { prompt, .. } => texts.push(prompt),
            NodeKind::Set { assignments } => {
                for a in assignments {
                    match &a.value {
                        crate::template::model::SetValue::Text(t) => texts.push(t),
                        crate::template::model::SetValue::Expr(e) => exprs.push(e),
                    }
                }
            }
            NodeKind::If { branches, .. } | NodeKind::Switch { branches, .. } => {
                exprs.extend(branches.iter().map(|b| &b.condition));
            }
            NodeKind::CallModule { inputs, .. } => exprs.extend(inputs.iter().map(|(_, e)| e)),
            NodeKind::Menu {
                prompt: Prompt::Text(t),
                ..
            } => texts.push(t),
            NodeKind::DataAction { inputs, .. } => texts.extend(inputs.iter().map(|(_, t)| t)),
            NodeKind::TableLookup { key, .. } => texts.push(key),
            NodeKind::SetParticipantData { attributes } => {
                texts.extend(attributes.iter().map(|(_, t)| t));
            }
            _ => {}
        }
    }
    for t in texts {
        names.extend(t.vars().map(|v| v.name()));
    }
    let mut out = HashSet::new();
    let mut add = |name: &str| {
        if let Some(node) = super::canonical(name).strip_suffix("_digits") {
            out.insert(node.to_owned());
        }
    };
    names.into_iter().for_each(&mut add);
    for e in exprs {
        super::expr_vars(e, &mut add);
    }
    out
}

/// Absolute reference to a menu [corpus: `startUpRef` of `SimpleFinancialIvr_v2-0.yaml`,
/// `targetMenuRef` of `DR-Emergency-IVR.yaml`].
pub fn menu_ref(t: FlowType, ref_id: &str) -> String {
    format!("/{}/menus/menu[{ref_id}]", unverified::root_key(t))
}

impl Compiler<'_> {
    /// `jumpToMenu` to menu node `i`.
    pub(super) fn jump_to_menu(&self, i: usize) -> Y {
        Y::one(
            "jumpToMenu",
            Y::map([
                ("name", Y::s(format!("Jump to {}", self.nodes[i].id))),
                ("targetMenuRef", Y::s(menu_ref(self.ty, &self.ref_ids[i]))),
            ]),
        )
    }

    /// The `menus` entry of menu node `i`.
    pub(super) fn menu_entry(&mut self, i: usize, plan: &Plan, index: &HashMap<&str, usize>) -> Y {
        let n = self.nodes[i];
        let NodeKind::Menu {
            prompt,
            choices,
            repeat,
            timeout_seconds,
        } = &n.kind
        else {
            unreachable!("menu entries are planned for Menu nodes only");
        };
        let audio = match prompt {
            Prompt::Text(t) => self.audio(t),
            Prompt::Named(p) => Y::one("prompt", Y::s(unverified::user_prompt(p))),
        };
        let settings = Y::map([
            ("extensionDialingMaxDelay", no_value()),
            // Digits are menu choices, never extensions.
            ("listenForExtensionDialing", lit(Y::Bool(false))),
            ("menuSelectionTimeout", super::seconds(*timeout_seconds)),
            ("repeatCount", lit(Y::Int((*repeat).into()))),
        ]);
        let own_ref = self.ref_ids[i].clone();
        let default_ref = |d: char| format!("{own_ref}_choice_{d}");
        let mut list = Vec::with_capacity(choices.len());
        for (k, (c, kind)) in choices.iter().zip(&plan.choices).enumerate() {
            let Some(&t) = index.get(c.target.as_str()) else {
                continue;
            };
            let dtmf = unverified::menu_dtmf(c.digit).unwrap_or_default();
            let label = c
                .label
                .clone()
                .unwrap_or_else(|| format!("{} {}", n.id, c.digit));
            let mut e: Vec<(yaml::Key, Y)> = Vec::new();
            let common = |e: &mut Vec<(yaml::Key, Y)>| {
                e.push(("dtmf".into(), Y::s(dtmf.clone())));
                e.push(("globalDtmf".into(), Y::Bool(false)));
                e.push(("globalSpeechRecTerms".into(), Y::Bool(false)));
            };
            let key = match kind {
                ChoiceKind::Disconnect => {
                    // Named after the node, as its disconnect action would be.
                    e.push(("name".into(), Y::s(&self.nodes[t].id)));
                    common(&mut e);
                    "menuDisconnect"
                }
                ChoiceKind::TransferToAcd => {
                    e.push(("name".into(), Y::s(&self.nodes[t].id)));
                    common(&mut e);
                    let target = self.nodes[t];
                    e.extend(self.transfer_fields(target));
                    "menuTransferToAcd"
                }
                ChoiceKind::Menu => {
                    e.push(("name".into(), Y::s(label)));
                    common(&mut e);
                    e.push((
                        "task".into(),
                        Y::one("actions", Y::Seq(vec![self.jump_to_menu(t)])),
                    ));
                    "menuTask"
                }
                ChoiceKind::JumpToTask => {
                    e.push(("name".into(), Y::s(label)));
                    if plan.default == Some(k) {
                        e.push(("refId".into(), Y::s(default_ref(c.digit))));
                    }
                    common(&mut e);
                    e.push((
                        "targetTaskRef".into(),
                        Y::s(task_ref(self.ty, &self.ref_ids[t])),
                    ));
                    "menuJumpToTask"
                }
            };
            list.push(Y::one(key, Y::Map(e)));
        }
        let mut m: Vec<(yaml::Key, Y)> = vec![
            ("name".into(), Y::s(&n.id)),
            ("refId".into(), Y::s(&self.ref_ids[i])),
            ("audio".into(), audio),
            ("settingsMenu".into(), settings),
            ("choices".into(), Y::Seq(list)),
        ];
        if let Some(d) = plan.default {
            m.push((
                "defaultChildMenuRef".into(),
                Y::s(format!(
                    "./choices/menuJumpToTask[{}]",
                    default_ref(choices[d].digit)
                )),
            ));
        }
        Y::one("menu", Y::Map(m))
    }
}

#[cfg(test)]
mod tests;
