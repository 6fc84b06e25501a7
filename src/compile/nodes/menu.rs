//! Menu. An inbound Menu that the corpus shapes can express is an Archy `menus` entry:
//! a place reached by `jumpToMenu` (or `startUpRef`), whose choices run reusable tasks
//! ([`crate::compile::structure::Shape::Place`]). Every other Menu (every Menu of a
//! module, which has no menus, and those [`entries`] leaves out) is `collectInput` +
//! `switch`.
//!
//! `menus` shapes, all in the corpus (`shared/reference/archy-catalogue.json`):
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
//! repeats without a default choice, `digit_0`) is in [`crate::compile::unverified`].

use std::collections::{HashMap, HashSet};

use super::route::transfer_fields;
use crate::compile::structure::{Block, Shape};
use crate::compile::yaml::{self, Y};
use crate::compile::{Compiler, archy, canonical, lit, no_value, seconds, task_ref, unverified};
use crate::template::expr::{BinOp, Expr};
use crate::template::model::{Flow, FlowType, MenuChoice, Node, NodeKind, Prompt, VarRef, VarType};

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
    let mut out = HashSet::new();
    let mut add = |name: &str| {
        if let Some(node) = canonical(name).strip_suffix("_digits") {
            out.insert(node.to_owned());
        }
    };
    for n in flow.nodes.values() {
        super::reads(n, &mut add);
    }
    out
}

/// Absolute reference to a menu [corpus: `startUpRef` of `SimpleFinancialIvr_v2-0.yaml`,
/// `targetMenuRef` of `DR-Emergency-IVR.yaml`].
pub fn menu_ref(t: FlowType, ref_id: &str) -> String {
    format!("/{}/menus/menu[{ref_id}]", archy::root_key(t))
}

/// A `menus` entry is a place: its choices that run tasks or other menus are its exits.
/// Otherwise each choice's node, then the error exit.
pub(super) fn shape_and_exits<'f>(
    n: &'f Node,
    choices: &'f [MenuChoice],
    plan: Option<&Plan>,
) -> (Shape, Vec<Option<&'f str>>) {
    if let Some(plan) = plan {
        return (
            Shape::Place,
            choices
                .iter()
                .zip(&plan.choices)
                .filter(|(_, k)| matches!(k, ChoiceKind::JumpToTask | ChoiceKind::Menu))
                .map(|(c, _)| Some(c.target.as_str()))
                .collect(),
        );
    }
    (
        Shape::Branch,
        choices
            .iter()
            .map(|c| Some(c.target.as_str()))
            .chain(std::iter::once(n.on_error.as_deref()))
            .collect(),
    )
}

pub(super) fn reads(prompt: &Prompt, f: &mut dyn FnMut(&str)) {
    if let Prompt::Text(t) = prompt {
        t.vars().for_each(|v| f(v.name()));
    }
}

/// `<Node>_digits`, unless the menu is a `menus` entry (which stores no digits).
pub(super) fn writes(c: &Compiler<'_>, i: usize, w: &mut dyn FnMut(&str, Option<VarType>)) {
    if !c.menus.contains_key(&i) {
        w(&format!("{}_digits", c.nodes[i].id), Some(VarType::String));
    }
}

fn audio(c: &Compiler<'_>, prompt: &Prompt) -> Y {
    match prompt {
        Prompt::Text(t) => c.audio(t),
        Prompt::Named(p) => Y::one("prompt", Y::s(unverified::user_prompt(p))),
    }
}

impl Compiler<'_> {
    /// `jumpToMenu` to menu node `i`.
    pub(in crate::compile) fn jump_to_menu(&self, i: usize) -> Y {
        Y::one(
            "jumpToMenu",
            Y::map([
                ("name", Y::s(format!("Jump to {}", self.nodes[i].id))),
                ("targetMenuRef", Y::s(menu_ref(self.ty, &self.ref_ids[i]))),
            ]),
        )
    }

    /// The `menus` entry of menu node `i`.
    pub(in crate::compile) fn menu_entry(
        &mut self,
        i: usize,
        plan: &Plan,
        index: &HashMap<&str, usize>,
    ) -> Y {
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
        let settings = Y::map([
            ("extensionDialingMaxDelay", no_value()),
            // Digits are menu choices, never extensions.
            ("listenForExtensionDialing", lit(Y::Bool(false))),
            ("menuSelectionTimeout", seconds(*timeout_seconds)),
            ("repeatCount", lit(Y::Int((*repeat).into()))),
        ]);
        let mut list = Vec::with_capacity(choices.len());
        for (k, (c, kind)) in choices.iter().zip(&plan.choices).enumerate() {
            let Some(&t) = index.get(c.target.as_str()) else {
                continue;
            };
            list.push(self.menu_choice(i, c, *kind, t, plan.default == Some(k)));
        }
        let mut m: Vec<(yaml::Key, Y)> = vec![
            ("name".into(), Y::s(&n.id)),
            ("refId".into(), Y::s(&self.ref_ids[i])),
            ("audio".into(), audio(self, prompt)),
            ("settingsMenu".into(), settings),
            ("choices".into(), Y::Seq(list)),
        ];
        if let Some(d) = plan.default {
            m.push((
                "defaultChildMenuRef".into(),
                Y::s(format!(
                    "./choices/menuJumpToTask[{}]",
                    self.default_choice_ref(i, choices[d].digit)
                )),
            ));
        }
        Y::one("menu", Y::Map(m))
    }

    /// The `refId` of the default choice (digit `d`) of menu node `i`.
    fn default_choice_ref(&self, i: usize, d: char) -> String {
        format!("{}_choice_{d}", self.ref_ids[i])
    }

    /// Choice `c` of menu node `i`, written as `kind`, running node `t`.
    fn menu_choice(
        &mut self,
        i: usize,
        c: &MenuChoice,
        kind: ChoiceKind,
        t: usize,
        is_default: bool,
    ) -> Y {
        let dtmf = unverified::menu_dtmf(c.digit).unwrap_or_default();
        let label = c
            .label
            .clone()
            .unwrap_or_else(|| format!("{} {}", self.nodes[i].id, c.digit));
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
                e.extend(transfer_fields(self, target));
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
                if is_default {
                    e.push(("refId".into(), Y::s(self.default_choice_ref(i, c.digit))));
                }
                common(&mut e);
                e.push((
                    "targetTaskRef".into(),
                    Y::s(task_ref(self.ty, &self.ref_ids[t])),
                ));
                "menuJumpToTask"
            }
        };
        Y::one(key, Y::Map(e))
    }
}

/// A menu as corpus actions (in modules, which have no menus, and in inbound flows when
/// [`entries`] finds no `menus` shape for it): up to `repeat` `collectInput`s of one digit,
/// each after the first guarded by a `decision` that the digits so far are no choice (a
/// failed collection leaves `""`), then a `switch` on the digits: each choice, else the
/// error exit.
pub(super) fn emit(c: &mut Compiler<'_>, n: &Node, blocks: &[Block], out: &mut Vec<Y>) {
    let NodeKind::Menu {
        prompt,
        choices,
        repeat,
        timeout_seconds,
    } = &n.kind
    else {
        return;
    };
    let id = n.id.as_str();
    let into = VarRef::digits_of(id);
    let names = c.names();
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
    let attempt = Attempt {
        id,
        var: names.var(&into),
        audio: audio(c, prompt),
        timeout_seconds: *timeout_seconds,
        choices,
    };
    // Innermost retry first: try k runs only when tries 1..k left no choice.
    let mut retry: Vec<Y> = Vec::new();
    for k in (2..=*repeat).rev() {
        let mut yes = vec![attempt.action(k)];
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
    out.push(attempt.action(1));
    out.append(&mut retry);
    out.push(c.first_true_switch(format!("{id} choice"), cases, blocks));
}

/// YAML levels a Menu's own actions reach as a module writes it: a try reaches 11 (its
/// failure's `updateData` statement), and each retry nests one `decision` (5) deeper.
pub(super) fn own_levels(repeat: u32) -> usize {
    12 + 5 * usize::try_from(repeat.saturating_sub(1)).unwrap_or(usize::MAX / 8)
}

/// One try of a `collectInput` menu.
struct Attempt<'n> {
    id: &'n str,
    /// The digits variable.
    var: String,
    audio: Y,
    timeout_seconds: Option<u32>,
    choices: &'n [MenuChoice],
}

impl Attempt<'_> {
    /// Try `k`: one digit; a failed collection empties the digits.
    fn action(&self, k: u32) -> Y {
        let id = self.id;
        let failed = Y::one(
            "updateData",
            Y::map([
                ("name", Y::s(format!("{id} no input {k}"))),
                (
                    "statements",
                    Y::Seq(vec![Y::one(
                        "string",
                        Y::map([
                            ("variable", Y::s(self.var.clone())),
                            ("value", lit(Y::s(""))),
                        ]),
                    )]),
                ),
            ]),
        );
        let accepts = |d: char| lit(Y::Bool(self.choices.iter().any(|c| c.digit == d)));
        Y::one(
            "collectInput",
            Y::map([
                // Every try is named after the node: the transcript names it.
                ("name", Y::s(id)),
                ("inputData", Y::one("var", Y::s(self.var.clone()))),
                ("digits", Y::one("exact", Y::Int(1))),
                ("interDigitTimeout", no_value()),
                ("noEntryTimeout", seconds(self.timeout_seconds)),
                ("inputAudio", self.audio.clone()),
                ("acceptJustStar", accepts('*')),
                ("acceptJustPound", accepts('#')),
                ("verificationType", Y::s("none")),
                (
                    "outputs",
                    Y::one("failure", Y::one("actions", Y::Seq(vec![failed]))),
                ),
            ]),
        )
    }
}

#[cfg(test)]
mod tests;
