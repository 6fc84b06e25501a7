//! Calls placed through the sandbox org's **published** flows with the Archy interpreter
//! ([`crate::archy::interpret`]): what a caller would hear, in what the org would run.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::Deserialize;
use serde_yaml_ng::Value;

use super::org::Org;
use super::state::State;
use crate::archy::interpret::{self, Call, MAX_ACTIONS, OrgObjects, Published};
use flowsmith_calls::{DataActionAnswer, ScheduleState, SimInput};

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

/// The published flows of the org a call can reach (common modules first, then the flows a
/// `transferToFlow` can name), by flow name (case-insensitive, as Genesys names are), each
/// parsed when a call first reaches it.
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
/// entry flow's published file, every published module's (and other flow's), the org's
/// objects and its queues (name, id).
pub struct Snapshot {
    pub entry: String,
    pub modules: Modules,
    pub org: Org,
    pub queues: Vec<(String, String)>,
}

/// The org's objects and its queues: `findQueue` finds a queue of the sandbox (by name,
/// case-insensitive), a queue literal's `.id` is its id.
struct InOrg<'a> {
    org: &'a Org,
    queues: &'a [(String, String)],
}

impl OrgObjects for InOrg<'_> {
    fn data_action(
        &self,
        integration: &str,
        action: &str,
        inputs: &std::collections::BTreeMap<String, Option<String>>,
        nth: usize,
    ) -> Option<DataActionAnswer> {
        OrgObjects::data_action(self.org, integration, action, inputs, nth)
    }

    fn table_row(
        &self,
        table: &str,
        key: &str,
    ) -> Option<Option<std::collections::BTreeMap<String, serde_json::Value>>> {
        OrgObjects::table_row(self.org, table, key)
    }

    fn schedule_group(&self, group: &str) -> Option<ScheduleState> {
        OrgObjects::schedule_group(self.org, group)
    }

    fn has_prompt(&self, name: &str) -> bool {
        OrgObjects::has_prompt(self.org, name)
    }

    fn participant_data(&self) -> std::collections::BTreeMap<String, String> {
        OrgObjects::participant_data(self.org)
    }

    fn queue(&self, name: &str) -> Option<String> {
        self.queues
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, id)| id.clone())
    }
}

/// Copies what a call through `flow` needs.
pub fn snapshot(st: &State, flow: &str) -> Result<Snapshot, CallError> {
    let published = |f: &super::state::FlowRec| f.published_version().and_then(|v| v.yaml.clone());
    let entry = ["INBOUNDCALL", "INQUEUECALL", "OUTBOUNDCALL"]
        .into_iter()
        .find_map(|t| st.find_flow(flow, t).and_then(published))
        .ok_or_else(|| CallError::NoFlow(flow.to_owned()))?;
    let mut flows: Vec<_> = st.flows.values().collect();
    flows.sort_by_key(|f| f.flow_type != "COMMONMODULE");
    let raw = flows
        .into_iter()
        .filter_map(|f| Some((f.name.clone(), published(f)?)))
        .collect();
    let queues = st
        .queues
        .iter()
        .map(|q| (q.name.clone(), q.id.to_string()))
        .collect();
    Ok(Snapshot {
        entry,
        modules: Modules {
            raw,
            parsed: RefCell::new(HashMap::new()),
        },
        org: st.org.clone(),
        queues,
    })
}

/// Checks the request and runs the call in the org's objects.
pub fn place(req: &CallRequest, snap: &Snapshot) -> Result<Call, CallError> {
    let Snapshot {
        entry,
        modules,
        org,
        queues,
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
    let org = InOrg { org, queues };
    Ok(interpret::call_with_org(
        &entry, modules, &inputs, max, &org,
    ))
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
        place_flow(LINE, Vec::new(), org)
    }

    fn place_flow(entry: &str, raw: Vec<(String, String)>, org: Org) -> Call {
        let snap = Snapshot {
            entry: entry.to_owned(),
            modules: Modules {
                raw,
                parsed: RefCell::new(HashMap::new()),
            },
            org,
            queues: vec![("Support".into(), "5b0c…-support".into())],
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

    /// `findQueue` finds the sandbox's queues by name, with their ids; a transfer to a
    /// flow the org has published leaves the flow, to one it has not takes `failure`.
    #[test]
    fn calls_meet_the_sandboxs_queues_and_published_flows() {
        let flow = r#"
inboundCall:
  name: Find
  startUpRef: "/inboundCall/tasks/task[T]"
  tasks:
    - task:
        name: T
        refId: T
        variables:
          - queueVariable: {name: Task.Q, initialValue: {noValue: true}}
        actions:
          - findQueue:
              name: Find
              findName: {lit: support}
              findResult: {var: Task.Q}
              outputs:
                found:
                  actions:
                    - playAudio: {name: Id, audio: {exp: 'ToAudioTTS(Task.Q.id)'}}
          - transferToFlow:
              name: Onward
              targetFlow: {name: Other}
              outputs:
                failure:
                  actions:
                    - disconnect: {name: Failed}
"#;
        let call = place_flow(flow, Vec::new(), Org::default());
        assert_eq!(call.transcript[0].text.as_deref(), Some("5b0c…-support"));
        assert_eq!(call.outcome.kind, OutcomeKind::Disconnected, "{call:?}");
        assert_eq!(call.outcome.node, "Failed");
        let other = ("Other".to_owned(), "inboundCall: {name: Other}".to_owned());
        let call = place_flow(flow, vec![other], Org::default());
        assert_eq!(call.outcome.kind, OutcomeKind::Routed, "{call:?}");
        assert_eq!(call.outcome.node, "Onward");
    }
}
