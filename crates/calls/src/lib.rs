//! The call vocabulary shared by the simulator (`simulate`) and the Archy interpreter
//! (`archy::interpret`): what a caller enters, what the org objects
//! answer, how a call ends and what it heard. A leaf: it imports nothing from the crate, so
//! the emulator (sandbox, interpreter) can depend on it without depending on the service.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Genesys runs at most this many actions per flow invocation ("Maximum number of actions
/// in a flow", Genesys help); the call then enters error handling.
pub const MAX_ACTIONS: usize = 10_000;

/// One caller input for a Gather.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimInput {
    Digits(String),
    Timeout,
}

impl SimInput {
    /// `timeout` or digits (`0-9*#`).
    pub fn parse(s: &str) -> Option<SimInput> {
        if s.eq_ignore_ascii_case("timeout") {
            Some(SimInput::Timeout)
        } else if !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
        {
            Some(SimInput::Digits(s.to_owned()))
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Routed,
    /// Transferred to a queue's voicemail (a Voicemail node).
    Voicemail,
    Disconnected,
    Error,
    StepLimit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Outcome {
    pub kind: OutcomeKind,
    /// The queue (name, or id when the Route names a queue id) of a `routed` call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The node where the call ended.
    pub node: String,
    /// The template name of the flow that node belongs to.
    pub flow: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TranscriptLine {
    pub flow: String,
    pub node: String,
    #[serde(rename = "type")]
    pub node_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digits: Option<String>,
    /// The call's language when this line was heard, once a flow has set one
    /// (`SetLanguage`, `setLanguage`); absent before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// The org objects a simulated call meets (the simulation request's `org`): what each data
/// action answers (in order; the last answer repeats), data table rows, schedule group
/// states, and the participant data present when the call starts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimOrg {
    /// `"Integration/Action"` → its answers, consumed in order, the last repeats.
    #[serde(default)]
    pub data_actions: BTreeMap<String, Vec<DataActionAnswer>>,
    /// Table → key → column → value.
    #[serde(default)]
    pub data_tables: BTreeMap<String, BTreeMap<String, BTreeMap<String, serde_json::Value>>>,
    #[serde(default)]
    pub schedule_groups: BTreeMap<String, ScheduleState>,
    #[serde(default)]
    pub participant_data: BTreeMap<String, String>,
}

/// One answer of a data action: its outputs, an error, or a timeout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum DataActionAnswer {
    Outputs {
        outputs: BTreeMap<String, serde_json::Value>,
    },
    Error {
        error: String,
    },
    Timeout {
        timeout: bool,
    },
}

/// The states of a Genesys schedule group, as flowsmith's Schedule node and the
/// simulation `org.schedule_groups` name them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleState {
    Open,
    Closed,
    Holiday,
    Emergency,
}

impl ScheduleState {
    pub const ALL: [ScheduleState; 4] = [
        ScheduleState::Open,
        ScheduleState::Closed,
        ScheduleState::Holiday,
        ScheduleState::Emergency,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleState::Open => "open",
            ScheduleState::Closed => "closed",
            ScheduleState::Holiday => "holiday",
            ScheduleState::Emergency => "emergency",
        }
    }
}
