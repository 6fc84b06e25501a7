//! The validated model of one flow: what the compiler and the simulator read, so what is
//! simulated is what is deployed. Built only by [`super::validate`] from a document with no
//! errors, with parameters already substituted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::expr::Expr;

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

/// Variable and parameter types of the template language.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum VarType {
    String,
    Integer,
    Boolean,
}

impl VarType {
    pub fn parse(s: &str) -> Option<VarType> {
        match s {
            "string" => Some(VarType::String),
            "integer" => Some(VarType::Integer),
            "boolean" => Some(VarType::Boolean),
            _ => None,
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
    /// Id of the start node.
    pub start: String,
    /// Nodes by id.
    pub nodes: BTreeMap<String, Node>,
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
        if let NodeKind::If { branches, default } = &self.kind {
            out.extend(branches.iter().map(|b| b.target.as_str()));
            out.extend(default.as_deref());
        }
        out.extend(self.next.as_deref());
        out.extend(self.on_error.as_deref());
        let mut seen = std::collections::BTreeSet::new();
        out.retain(|id| seen.insert(*id));
        out
    }
}

/// Text with `{var}` and `{Node.digits}` interpolations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text(pub Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Var(VarRef),
}

impl Text {
    pub fn literal(s: impl Into<String>) -> Text {
        Text(vec![Segment::Literal(s.into())])
    }

    /// The variables this text reads.
    pub fn vars(&self) -> impl Iterator<Item = &VarRef> {
        self.0.iter().filter_map(|s| match s {
            Segment::Var(v) => Some(v),
            Segment::Literal(_) => None,
        })
    }
}

/// A variable reference. Gather results are flow variables named `<Node>_digits`, so
/// `{GatherInput.digits}` and `{GatherInput_digits}` name the same variable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarRef(pub String);

impl VarRef {
    pub fn digits_of(node: &str) -> VarRef {
        VarRef(format!("{node}_digits"))
    }

    pub fn name(&self) -> &str {
        &self.0
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
            NodeKind::Say { .. } => "Say",
            NodeKind::Gather { .. } => "Gather",
            NodeKind::Set { .. } => "Set",
            NodeKind::If { .. } => "If",
            NodeKind::Route { .. } => "Route",
            NodeKind::CallModule { .. } => "Flow",
            NodeKind::End { .. } => "End",
            NodeKind::Disconnect => "Disconnect",
        }
    }
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueRef {
    /// A Genesys queue id, resolved to its name at provisioning time.
    Id(String),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleRef {
    /// A template (and Genesys flow) name.
    Name(String),
    /// A literal Genesys flow id, resolved in the org at run time.
    Id(String),
}
