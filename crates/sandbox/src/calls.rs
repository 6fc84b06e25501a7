//! Calls placed through the sandbox org's **published** flows with the Archy interpreter
//! ([`crate::archy::interpret`]): what a caller would hear, in what the org would run.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::Deserialize;
use serde_yaml_ng::Value;

use super::org::Org;
use super::state::State;
use crate::archy::interpret::{self, Call, MAX_ACTIONS, Published};
use flowsmith_calls::SimInput;

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
    #[error("the published flow file is not readable YAML: {0}")]
    Unreadable(String),
}

/// The published modules of the org, by flow name (case-insensitive, as Genesys names are),
/// each parsed when a call first reaches it.
pub struct Modules {
    raw: Vec<(String, String)>,
    parsed: RefCell<HashMap<String, Option<Value>>>,
}

impl Published for Modules {
    fn module(&self, name: &str) -> Option<Value> {
        let key = name.to_lowercase();
        if let Some(v) = self.parsed.borrow().get(&key) {
            return v.clone();
        }
        let v = self
            .raw
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, y)| serde_yaml_ng::from_str::<Value>(y).ok());
        self.parsed.borrow_mut().insert(key, v.clone());
        v
    }
}

/// What a call needs, copied under the lock (parsing happens after it is released): the
/// entry flow's published file, every published module's, and the org's objects.
pub struct Snapshot {
    pub entry: String,
    pub modules: Modules,
    pub org: Org,
}

/// Copies what a call through `flow` needs.
pub fn snapshot(st: &State, flow: &str) -> Result<Snapshot, CallError> {
    let published = |f: &super::state::FlowRec| f.published_version().and_then(|v| v.yaml.clone());
    let entry = ["INBOUNDCALL", "INQUEUECALL", "OUTBOUNDCALL"]
        .into_iter()
        .find_map(|t| st.find_flow(flow, t).and_then(published))
        .ok_or_else(|| CallError::NoFlow(flow.to_owned()))?;
    let raw = st
        .flows
        .values()
        .filter(|f| f.flow_type == "COMMONMODULE")
        .filter_map(|f| Some((f.name.clone(), published(f)?)))
        .collect();
    Ok(Snapshot {
        entry,
        modules: Modules {
            raw,
            parsed: RefCell::new(HashMap::new()),
        },
        org: st.org.clone(),
    })
}

/// Checks the request and runs the call in the org's objects.
pub fn place(req: &CallRequest, snap: &Snapshot) -> Result<Call, CallError> {
    let Snapshot {
        entry,
        modules,
        org,
    } = snap;
    let entry: Value =
        serde_yaml_ng::from_str(entry).map_err(|e| CallError::Unreadable(e.to_string()))?;
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
    Ok(interpret::call_with_org(&entry, modules, &inputs, max, org))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::PromptSpec;
    use flowsmith_calls::OutcomeKind;

    const LINE: &str = r#"
inboundCall:
  name: Line
  startUpRef: "/inboundCall/tasks/task[Main]"
  tasks:
    - task:
        name: Main
        refId: Main
        actions:
          - playAudio: {name: System, audio: {prompt: PromptSystem.welcome}}
          - playAudio: {name: Hello, audio: {prompt: Prompt.Hello}}
          - disconnect: {name: Bye}
"#;

    fn place_in(org: Org) -> Call {
        let snap = Snapshot {
            entry: LINE.to_owned(),
            modules: Modules {
                raw: Vec::new(),
                parsed: RefCell::new(HashMap::new()),
            },
            org,
        };
        let req = CallRequest {
            flow: "Line".into(),
            inputs: Vec::new(),
            max_actions: None,
        };
        place(&req, &snap).unwrap()
    }

    /// System prompts are in every org; a user prompt must be one of the sandbox's.
    #[test]
    fn user_prompts_come_from_the_sandbox_org() {
        let call = place_in(Org::default());
        assert_eq!(call.outcome.kind, OutcomeKind::Error, "{call:?}");
        assert!(
            call.outcome
                .message
                .as_deref()
                .is_some_and(|m| m.contains("'Prompt.Hello' is not in the org")),
            "{call:?}"
        );
        let mut org = Org::default();
        org.add_prompt(PromptSpec {
            name: "hello".into(),
        });
        let call = place_in(org);
        assert_eq!(call.outcome.kind, OutcomeKind::Disconnected, "{call:?}");
        let said: Vec<_> = call
            .transcript
            .iter()
            .filter_map(|l| l.text.clone())
            .collect();
        assert_eq!(said, ["[prompt welcome]", "[prompt Hello]"]);
    }
}
