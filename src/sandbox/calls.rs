//! Calls placed through the sandbox org's **published** flows with the Archy interpreter
//! ([`crate::archy::interpret`]): what a caller would hear, in what the org would run.

use serde::Deserialize;
use serde_yaml_ng::Value;

use super::state::State;
use crate::archy::interpret::{self, Call, MAX_ACTIONS, Published};
use crate::simulate::SimInput;

/// Body of `POST /sandbox/calls`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CallRequest {
    /// Name of the published flow the call enters (an inbound, in-queue or outbound flow).
    pub flow: String,
    /// Caller inputs for the flow's `collectInput` actions, in order: digits or `timeout`.
    #[serde(default)]
    pub inputs: Vec<String>,
    /// Action limit (default and maximum: Genesys's 10,000 per call).
    pub max_actions: Option<usize>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallError {
    #[error("inputs/{index}: {value:?} is neither digits (0-9, *, #) nor 'timeout'")]
    BadInput { index: usize, value: String },
    #[error("maxActions must be between 1 and {MAX_ACTIONS}")]
    BadLimit,
    #[error("no published flow named '{0}' that a call can enter")]
    NoFlow(String),
}

/// The published modules of the org, by flow name (case-insensitive, as Genesys names are).
struct Modules(Vec<(String, Value)>);

impl Published for Modules {
    fn module(&self, name: &str) -> Option<Value> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

/// The entry flow's published file and every published module, read under the lock.
pub fn snapshot(st: &State, flow: &str) -> Result<(Value, impl Published + use<>), CallError> {
    let published = |f: &super::state::FlowRec| {
        f.published_version()
            .and_then(|v| v.yaml.as_deref())
            .and_then(|y| serde_yaml_ng::from_str::<Value>(y).ok())
    };
    let entry = ["INBOUNDCALL", "INQUEUECALL", "OUTBOUNDCALL"]
        .into_iter()
        .find_map(|t| st.find_flow(flow, t).and_then(published))
        .ok_or_else(|| CallError::NoFlow(flow.to_owned()))?;
    let modules = st
        .flows
        .values()
        .filter(|f| f.flow_type == "COMMONMODULE")
        .filter_map(|f| Some((f.name.clone(), published(f)?)))
        .collect();
    Ok((entry, Modules(modules)))
}

/// Checks the request and runs the call.
pub fn place(req: &CallRequest, entry: &Value, modules: &dyn Published) -> Result<Call, CallError> {
    let inputs = req
        .inputs
        .iter()
        .enumerate()
        .map(|(index, s)| {
            SimInput::parse(s).ok_or_else(|| CallError::BadInput {
                index,
                value: s.clone(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let max = req.max_actions.unwrap_or(MAX_ACTIONS);
    if max == 0 || max > MAX_ACTIONS {
        return Err(CallError::BadLimit);
    }
    Ok(interpret::call(entry, modules, &inputs, max))
}
