//! The validated model of one flow: what the compiler and the simulator read, so what is
//! simulated is what is deployed. Built only by [`crate::validate`] from a document with no
//! errors, with parameters already substituted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::expr::Expr;
pub use super::types::{Segment, Text, VarRef, VarType};

/// The two flow kinds flowsmith provisions.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum FlowType {
    /// A Genesys common module (`commonModule`): called by other flows, returns to them.
    Module,
    /// A Genesys inbound call flow (`inboundCall`).
    Inbound,
}

impl FlowType {
    /// Accepts the spec's names and aliases, case-insensitively.
    pub fn parse(s: &str) -> Option<FlowType> {
        match s.to_ascii_lowercase().as_str() {
            "module" | "commonmodule" => Some(FlowType::Module),
            "inbound" | "inboundcall" => Some(FlowType::Inbound),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FlowType::Module => "module",
            FlowType::Inbound => "inbound",
        }
    }
}

/// A validated flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// The template name (default Genesys flow name).
    pub name: String,
    /// The type the flow is provisioned as.
    pub flow_type: FlowType,
    pub description: Option<String>,
    /// Genesys division name ("Home" by default).
    pub division: String,
    /// Default language, e.g. "en-us" (lower-cased).
    pub language: String,
    /// What an inbound call hears first (`initialGreeting`); `None`: silence.
    pub greeting: Option<String>,
    /// Flow types besides `inboundcall` that may call the flow compiled as a common module
    /// (the template's `compatibleFlowTypes`, lower case, without `inboundcall`).
    pub compatible_flow_types: Vec<String>,
    /// Module input variables (empty for inbound flows).
    pub inputs: BTreeMap<String, VarType>,
    /// Module output variables (for a module whose document has no `outputs`: every Set
    /// variable). For an inbound-typed document this is also every Set variable, because a
    /// seed inbound document that another template's Flow node calls is provisioned as a
    /// common module (spec section 3); an inbound flow that nobody calls ignores it.
    pub outputs: BTreeMap<String, VarType>,
    /// Every flow variable the flow reads or writes, with its type: Set variables, Gather
    /// results (`<Node>_digits`), module inputs/outputs, and outputs mapped back from
    /// called modules.
    pub variables: BTreeMap<String, VarType>,
    /// Variables' initial values (the document's `initialValues`: what an import carries of
    /// Archy's `initialValue`, `{lit: …}` or `{exp: …}` as written), by variable name. The
    /// compiled declaration starts the variable with it.
    pub initial_values: BTreeMap<String, serde_json::Value>,
    /// Id of the start node.
    pub start: String,
    /// Nodes by id.
    pub nodes: BTreeMap<String, Node>,
}

impl Flow {
    /// An inbound flow in the Home division, in en-us, with no greeting, no description
    /// and no module interface (fixtures and the benchmark flow).
    pub fn inbound(
        name: &str,
        start: &str,
        variables: BTreeMap<String, VarType>,
        nodes: BTreeMap<String, Node>,
    ) -> Flow {
        Flow {
            name: name.into(),
            flow_type: FlowType::Inbound,
            description: None,
            division: "Home".into(),
            language: "en-us".into(),
            greeting: None,
            compatible_flow_types: Vec::new(),
            inputs: BTreeMap::new(),
            outputs: BTreeMap::new(),
            variables,
            initial_values: BTreeMap::new(),
            start: start.into(),
            nodes,
        }
    }
}

/// One node with its exits resolved to node ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    pub kind: NodeKind,
    /// `onComplete.nextNode` (for Gather: digits collected; for Flow: module returned).
    pub next: Option<String>,
    /// `onError.nextNode`, or the seed's `onComplete.onError`.
    pub on_error: Option<String>,
}

impl Node {
    /// Every node id this node can move to, in a stable order (If branches first, then
    /// default, then next, then on_error), without duplicates.
    pub fn successors(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        match &self.kind {
            NodeKind::If { branches, default } | NodeKind::Switch { branches, default } => {
                out.extend(branches.iter().map(|b| b.target.as_str()));
                out.extend(default.as_deref());
            }
            NodeKind::Menu { choices, .. } => {
                out.extend(choices.iter().map(|c| c.target.as_str()));
            }
            NodeKind::Schedule { exits, .. } => {
                out.extend(exits.values().map(String::as_str));
            }
            NodeKind::DataAction { on_timeout, .. } => out.extend(on_timeout.as_deref()),
            NodeKind::TableLookup { on_not_found, .. } => out.extend(on_not_found.as_deref()),
            NodeKind::Archy(a) => out.extend(a.exits.iter().map(|(_, t)| t.as_str())),
            _ => {}
        }
        out.extend(self.next.as_deref());
        out.extend(self.on_error.as_deref());
        let mut seen = std::collections::BTreeSet::new();
        out.retain(|id| seen.insert(*id));
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Say {
        text: Text,
        language: Option<String>,
        beep: bool,
    },
    Gather {
        prompt: Text,
        min_digits: u32,
        max_digits: u32,
        timeout_seconds: Option<u32>,
        inter_digit_timeout_seconds: Option<u32>,
        language: Option<String>,
        /// The variable receiving the digits: `<Node>_digits`.
        into: VarRef,
    },
    Set {
        assignments: Vec<Assignment>,
    },
    If {
        branches: Vec<Branch>,
        default: Option<String>,
    },
    Route {
        queue: QueueRef,
        skills: Vec<String>,
        priority: Option<i64>,
    },
    CallModule {
        module: ModuleRef,
        /// Module input variable → value expression in the caller.
        inputs: Vec<(String, Expr)>,
        /// Module output variable → caller variable.
        outputs: Vec<(String, VarRef)>,
        /// Accepted for the seed, not deployable (Genesys has no call timeout).
        timeout_seconds: Option<u32>,
    },
    /// A `Say` node with `promptName`: plays an Architect prompt (an org object).
    PlayPrompt {
        prompt: String,
    },
    /// A DTMF menu. Exits: each choice; `on_error` after `repeat` rounds without a valid
    /// choice.
    Menu {
        prompt: Prompt,
        choices: Vec<MenuChoice>,
        /// How many times the prompt is played before giving up (default 2).
        repeat: u32,
        timeout_seconds: Option<u32>,
    },
    /// A Genesys data action call. Exits: `next` on success, `on_error` on failure,
    /// `on_timeout` on timeout (falls back to `on_error` when absent).
    DataAction {
        integration: String,
        action: String,
        /// Action input name → text.
        inputs: Vec<(String, Text)>,
        /// Action output name → flow variable.
        outputs: Vec<(String, VarRef)>,
        timeout_seconds: Option<u32>,
        on_timeout: Option<String>,
    },
    /// A data table row look-up by key. Exits: `next` when found, `on_not_found`, `on_error`.
    TableLookup {
        table: String,
        key: Text,
        /// Column → flow variable.
        outputs: Vec<(String, VarRef)>,
        on_not_found: Option<String>,
    },
    /// The first case whose expression is true, else the default.
    Switch {
        branches: Vec<Branch>,
        default: Option<String>,
    },
    /// Participant data (attributes on the conversation, e.g. for the agent screen).
    SetParticipantData {
        attributes: Vec<(String, Text)>,
    },
    /// Reads participant data attributes into flow variables (unset when absent).
    GetParticipantData {
        attributes: Vec<(String, VarRef)>,
    },
    /// Branches by the state of a schedule group; absent states go to `next`.
    Schedule {
        group: String,
        exits: BTreeMap<ScheduleState, String>,
    },
    /// Transfers the call to a queue's voicemail; `on_error` when the transfer fails.
    Voicemail {
        queue: String,
    },
    /// An Archy action flowsmith does not model, kept as written (an import's pass-through):
    /// compiled back verbatim with each branch's actions in place of `outputs.<name>.actions`;
    /// the simulator passes it through `next` with a "not simulated" transcript line.
    Archy(Box<ArchyAction>),
    /// Sets the call's language (text-to-speech and prompts) for the rest of the call.
    SetLanguage {
        language: Language,
    },
    /// End of the flow: a module returns to its caller, an inbound flow disconnects.
    End {
        end_type: Option<String>,
    },
    Disconnect,
}

impl NodeKind {
    /// The node type name as written in documents.
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeKind::Say { .. } | NodeKind::PlayPrompt { .. } => "Say",
            NodeKind::Menu { .. } => "Menu",
            NodeKind::DataAction { .. } => "DataAction",
            NodeKind::TableLookup { .. } => "TableLookup",
            NodeKind::Switch { .. } => "Switch",
            NodeKind::SetParticipantData { .. } => "SetParticipantData",
            NodeKind::GetParticipantData { .. } => "GetParticipantData",
            NodeKind::Schedule { .. } => "Schedule",
            NodeKind::Voicemail { .. } => "Voicemail",
            NodeKind::SetLanguage { .. } => "SetLanguage",
            NodeKind::Gather { .. } => "Gather",
            NodeKind::Set { .. } => "Set",
            NodeKind::If { .. } => "If",
            NodeKind::Route { .. } => "Route",
            NodeKind::CallModule { .. } => "Flow",
            NodeKind::Archy(_) => "Archy",
            NodeKind::End { .. } => "End",
            NodeKind::Disconnect => "Disconnect",
        }
    }
}

/// A pass-through Archy action (see [`NodeKind::Archy`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ArchyAction {
    /// The action's type, e.g. `setScreenPop`.
    pub action: String,
    /// The action's body as written, without the `actions` of its branching outputs.
    pub body: serde_json::Value,
    /// Branching output name (`yes`, `success`, ...) → the node its actions start at, in
    /// the order written.
    pub exits: Vec<(String, String)>,
    /// Flow variables the action names (without the `Flow.`/`Common.` prefix) → their Archy
    /// declaration kind (`stringVariable`, `queueVariable`, ...).
    pub variables: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub var: VarRef,
    pub ty: VarType,
    pub value: SetValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    /// A text template; for integer and boolean variables it is parsed at run time.
    Text(Text),
    /// An expression of the template language.
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    pub condition: Expr,
    pub target: String,
}

/// The language a SetLanguage node sets.
#[derive(Debug, Clone, PartialEq)]
pub enum Language {
    /// A language tag, lower case (`fr-fr`).
    Literal(String),
    /// An expression of the template language giving the tag at run time.
    Expr(Expr),
}

/// Is `s` a language tag as Genesys writes them: a 2-3 letter language, then region or
/// script subtags (`en-us`, `fr-fr`, `zh-hant-tw`), case-insensitive.
pub fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let lang_ok = parts
        .next()
        .is_some_and(|l| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic()));
    lang_ok
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueRef {
    /// A Genesys queue id, resolved to its name at provisioning time.
    Id(String),
    Name(String),
}

/// A Flow node's outputs as `(module output, caller variable)`: its explicit `outputs`, else
/// each of the module's outputs (`module_outputs`) into the variable of the same name.
pub fn output_mapping<I: IntoIterator<Item = String>>(
    outputs: &[(String, VarRef)],
    module_outputs: impl FnOnce() -> I,
) -> Vec<(String, String)> {
    if outputs.is_empty() {
        module_outputs()
            .into_iter()
            .map(|k| (k.clone(), k))
            .collect()
    } else {
        outputs
            .iter()
            .map(|(k, v)| (k.clone(), v.name().to_owned()))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleRef {
    /// A template (and Genesys flow) name.
    Name(String),
    /// A literal Genesys flow id, resolved in the org at run time.
    Id(String),
}

/// What a Menu plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// Text-to-speech.
    Text(Text),
    /// An Architect prompt, by name.
    Named(String),
}

/// One menu choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuChoice {
    /// `0`-`9`, `*` or `#`.
    pub digit: char,
    pub target: String,
    pub label: Option<String>,
}

pub use crate::calls::ScheduleState;

/// The kinds of org object a flow names (real Archy files name them, never use ids).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OrgObjectKind {
    DataAction,
    DataTable,
    ScheduleGroup,
    Prompt,
    Queue,
}

/// One org object a flow names, with where.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub struct OrgObjectRef {
    pub kind: OrgObjectKind,
    /// For data actions, the integration (category) name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration: Option<String>,
    /// The object's name (for data actions, the action name).
    pub name: String,
    /// For data actions, the inputs and outputs the flow maps.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub inputs: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub outputs: Vec<String>,
    /// The node that names it.
    pub node: String,
    /// JSON pointer to the naming property in the template document.
    pub pointer: String,
}

/// Every org object the flow names (data actions, data tables, schedule groups, prompts,
/// queues by name), in node order. Queues given by id are not listed: they are resolved
/// to names at provisioning time.
pub fn org_objects(flow: &Flow) -> Vec<OrgObjectRef> {
    let mut out = Vec::new();
    for n in flow.nodes.values() {
        let at = |prop: &str| super::pointer(["draft", "nodes", n.id.as_str(), "properties", prop]);
        let simple = |kind, name: &str, prop: &str| OrgObjectRef {
            kind,
            integration: None,
            name: name.to_owned(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            node: n.id.clone(),
            pointer: at(prop),
        };
        match &n.kind {
            NodeKind::PlayPrompt { prompt } => {
                out.push(simple(OrgObjectKind::Prompt, prompt, "promptName"))
            }
            NodeKind::Menu {
                prompt: Prompt::Named(p),
                ..
            } => out.push(simple(OrgObjectKind::Prompt, p, "promptName")),
            NodeKind::DataAction {
                integration,
                action,
                inputs,
                outputs,
                ..
            } => out.push(OrgObjectRef {
                integration: Some(integration.clone()),
                inputs: inputs.iter().map(|(k, _)| k.clone()).collect(),
                outputs: outputs.iter().map(|(k, _)| k.clone()).collect(),
                ..simple(OrgObjectKind::DataAction, action, "action")
            }),
            NodeKind::TableLookup { table, outputs, .. } => out.push(OrgObjectRef {
                outputs: outputs.iter().map(|(k, _)| k.clone()).collect(),
                ..simple(OrgObjectKind::DataTable, table, "table")
            }),
            NodeKind::Schedule { group, .. } => {
                out.push(simple(OrgObjectKind::ScheduleGroup, group, "scheduleGroup"))
            }
            NodeKind::Voicemail { queue } => out.push(simple(OrgObjectKind::Queue, queue, "queue")),
            NodeKind::Route {
                queue: QueueRef::Name(q),
                ..
            } => out.push(simple(OrgObjectKind::Queue, q, "queueName")),
            _ => {}
        }
    }
    out
}
