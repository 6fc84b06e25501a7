//! An interpreter of the Archy YAML subset flowsmith writes: places a call through a
//! published flow file and the common modules it calls, as Genesys would run them.
//!
//! Semantics follow the evidence (`../shared/reference/archy-evidence.md`), not the compiler:
//! - an action list runs in order; the outputs of a branching action (`collectInput`,
//!   `decision`, `transferToAcd`) **merge back**: a path that neither ends nor jumps goes on
//!   with the next action after the branching action;
//! - `disconnect` ends the call; `transferToAcd` ends it routed (the sandbox's queues never
//!   refuse a transfer); `jumpToTask` goes to the task its absolute `targetTaskRef` names and
//!   does not come back; a task's list that runs out ends the call (a published task always
//!   ends with a closing action);
//! - `loop` sets `currentIndex` to 0, 1, … and runs `outputs.loop.actions` at most
//!   `loopCount` times; `loopExit` leaves the innermost loop and the list goes on after it;
//! - `callCommonModule` runs the **published** module's `startUpTaskActions` in the module's
//!   own variables (inputs evaluated in the caller, `noValue` = NOT_SET); when its list runs
//!   out the module returns and its outputs are copied to the caller's variables;
//! - a menu (`startUpRef`, `jumpToMenu` or `menuTask` → `jumpToMenu`) plays its audio and takes
//!   the next caller input up to `repeatCount` times (the menu's, else the flow's, else 3);
//!   one digit that is a choice's `dtmf` runs the choice (`menuDisconnect`,
//!   `menuTransferToAcd`, `menuJumpToTask`, `menuTask`); after the repeats the
//!   `defaultChildMenuRef` choice runs, else the call disconnects (what is not settled by
//!   evidence: `compile::unverified::MENU_BEHAVIOUR`);
//! - `collectInput` plays its prompt and takes the next caller input: digits of an accepted
//!   length go to `inputData` and `outputs.success`; no input, a timeout or another length
//!   take `outputs.failure`;
//! - `setLanguage` sets the call's language (modules included: it is the call's); every
//!   later transcript line carries it;
//! - a value never set is NOT_SET: every comparison with it is false, `IsSet` tells, and
//!   arithmetic or `and`/`or`/`not` on it is an error;
//! - a task's own variables are (re)declared when it is entered; values are strings,
//!   integers, booleans, date-times, durations, queues (`.id`, `.name`) and collections, and
//!   a value from outside the flow (a data action output, a table cell, a module output)
//!   converts to its variable's declared type;
//! - `Call.` built-ins and `GetCurrentDateTimeUtc()` read the call's fixed values
//!   ([`CallInfo`], from [`OrgObjects::call_info`]); `findQueue` asks the org
//!   ([`OrgObjects::queue`]); `setScreenPop` changes nothing the caller hears;
//!   `transferToFlow(Secure)` leaves the flow when the target is published, else takes
//!   `outputs.failure`;
//! - an error (an expression that fails, a module that is not published) enters the flow's
//!   error handling, by default a disconnect: the call ends with outcome `error`;
//! - at most [`MAX_ACTIONS`] actions run per call (every action counts, jumps and loop
//!   iterations included; entering a task does not); past it the call ends `step_limit`
//!   (error handling: disconnect).
//!
//! Where things are: [`machine`] runs action lists (tasks, the start-up sequence, the
//! action limit) and dispatches each action to the file of its family ([`audio`],
//! [`control`], [`data`], [`transfer`], [`modules`], [`org`], [`menus`]); [`expr`] parses
//! and evaluates expressions (its functions in `expr::builtins`); [`yaml`] reads the flow file.

mod audio;
mod control;
mod data;
mod expr;
mod machine;
mod menus;
mod modules;
mod org;
mod transfer;
mod yaml;

use std::collections::{BTreeMap, HashMap};

use serde_yaml_ng::Value;

use expr::to_json;
pub use flowsmith_calls::MAX_ACTIONS;
use flowsmith_calls::{DataActionAnswer, Outcome, ScheduleState, SimInput, SimOrg, TranscriptLine};
use machine::Machine;

/// What a call did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Call {
    pub outcome: Outcome,
    pub transcript: Vec<TranscriptLine>,
    /// The entry flow's variables that are set at the end of the call, without the `Flow.`
    /// prefix.
    #[schema(value_type = Object)]
    pub variables: BTreeMap<String, serde_json::Value>,
    /// Actions run.
    pub actions: usize,
    /// Participant data set during the call.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub participant_data: BTreeMap<String, String>,
}

/// What the call itself carries, read by the `Call.` built-ins and `GetCurrentDateTimeUtc()`:
/// fixed values (the org can set them, [`OrgObjects::call_info`]), so that two runs of one
/// call see the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    /// `Call.Ani`: the caller's address, with its `tel:` scheme [corpus:
    /// `Replace(Call.Ani, "tel:", "")` in Trigger_proactive_callback_workflow.yaml].
    pub ani: String,
    /// `Call.CalledAddress` and `Call.CalledAddressOriginal`: the number dialled, E.164
    /// without a scheme [corpus: `Call.CalledAddressOriginal == "+12345679226"` in
    /// CI_CD_Test_Flow-INBOUNDCALL.yaml].
    pub called_address: String,
    /// `Call.RemoteName`: the caller's name.
    pub remote_name: String,
    /// `Call.ConversationId`.
    pub conversation_id: String,
    /// The time the call runs at, milliseconds since the Unix epoch (UTC).
    pub now_ms: i64,
}

impl Default for CallInfo {
    fn default() -> Self {
        Self {
            ani: "tel:+13175550100".into(),
            called_address: "+13175550199".into(),
            remote_name: "Sandbox Caller".into(),
            conversation_id: "00000000-0000-4000-8000-000000000001".into(),
            // 2024-01-01T12:00:00Z
            now_ms: 1_704_110_400_000,
        }
    }
}

impl CallInfo {
    /// The `Call.` built-in `name` (matched without regard to case [corpus: `Call.ani` in
    /// orbit-parked-call-retrieval.yaml beside `Call.Ani` elsewhere]); `None` when it is not one.
    fn builtin(&self, name: &str) -> Option<expr::Val> {
        let v = match name.to_ascii_lowercase().as_str() {
            "call.ani" => &self.ani,
            "call.calledaddress" | "call.calledaddressoriginal" => &self.called_address,
            "call.remotename" => &self.remote_name,
            "call.conversationid" => &self.conversation_id,
            _ => return None,
        };
        Some(expr::Val::S(v.clone()))
    }
}

/// The published flows a call can reach by name: common modules, and the flows a
/// `transferToFlow`/`transferToFlowSecure` names.
pub trait Published {
    fn module(&self, name: &str) -> Option<Value>;
}

impl Published for BTreeMap<String, Value> {
    fn module(&self, name: &str) -> Option<Value> {
        self.get(name).cloned()
    }
}

/// The org objects a call reaches besides modules: a simulation's `org` ([`SimOrg`], answers
/// in order) or the sandbox's own objects (answers chosen by input).
pub trait OrgObjects {
    /// The answer of data action `integration`/`action` to `inputs` (NOT_SET is `None`);
    /// `nth` is how many times this call ran the action before. `None`: no such action.
    fn data_action(
        &self,
        integration: &str,
        action: &str,
        inputs: &BTreeMap<String, Option<String>>,
        nth: usize,
    ) -> Option<DataActionAnswer>;
    /// The row of `table` with `key`: `None` when the org has no such table, `Some(None)`
    /// when the table has no such row.
    fn table_row(
        &self,
        table: &str,
        key: &str,
    ) -> Option<Option<BTreeMap<String, serde_json::Value>>>;
    /// What the schedule group evaluates to now; `None` when the org has no such group.
    fn schedule_group(&self, group: &str) -> Option<ScheduleState>;
    /// Whether the org has the user prompt `Prompt.<name>`.
    fn has_prompt(&self, name: &str) -> bool;
    /// Participant data the call starts with.
    fn participant_data(&self) -> BTreeMap<String, String>;
    /// The id of queue `name`; `None` when the org has no such queue (`findQueue` takes
    /// `notFound`). By default every queue exists, with a stand-in id made from its name:
    /// a simulation's org and the sandbox's calls name queues by name only.
    fn queue(&self, name: &str) -> Option<String> {
        Some(format!("queue:{name}"))
    }
    /// What the call carries (`Call.Ani`, the time, …).
    fn call_info(&self) -> CallInfo {
        CallInfo::default()
    }
}

impl OrgObjects for SimOrg {
    fn data_action(
        &self,
        integration: &str,
        action: &str,
        _inputs: &BTreeMap<String, Option<String>>,
        nth: usize,
    ) -> Option<DataActionAnswer> {
        let answers = self.data_actions.get(&format!("{integration}/{action}"))?;
        answers.get(nth).or_else(|| answers.last()).cloned()
    }

    fn table_row(
        &self,
        table: &str,
        key: &str,
    ) -> Option<Option<BTreeMap<String, serde_json::Value>>> {
        self.data_tables
            .get(table)
            .map(|rows| rows.get(key).cloned())
    }

    fn schedule_group(&self, group: &str) -> Option<ScheduleState> {
        self.schedule_groups.get(group).copied()
    }

    /// A simulation's org has no prompt list: every prompt plays (as the simulator does).
    fn has_prompt(&self, _name: &str) -> bool {
        true
    }

    fn participant_data(&self) -> BTreeMap<String, String> {
        self.participant_data.clone()
    }
}

/// Places a call through `entry` (a parsed flow file).
pub fn call(
    entry: &Value,
    modules: &dyn Published,
    inputs: &[SimInput],
    max_actions: usize,
) -> Call {
    call_with_org(entry, modules, inputs, max_actions, &SimOrg::default())
}

/// [`call`] in an org holding `org`'s objects: `callData` takes the data action's answer
/// to its inputs, `dataTableLookup` reads the table's rows, `evaluateScheduleGroup` the
/// group's state, a user prompt must exist, and participant data starts as
/// `org.participant_data()`. An object the org lacks is an error naming it.
pub fn call_with_org(
    entry: &Value,
    modules: &dyn Published,
    inputs: &[SimInput],
    max_actions: usize,
    org: &dyn OrgObjects,
) -> Call {
    let mut m = Machine {
        org,
        answers_used: HashMap::new(),
        participant: org.participant_data(),
        participant_set: BTreeMap::new(),
        modules,
        inputs,
        next_input: 0,
        transcript: Vec::new(),
        actions: 0,
        max_actions,
        frames: Vec::new(),
        language: None,
        default_language: None,
        call: org.call_info(),
    };
    let end = m.run_entry(entry);
    let variables = m
        .frames
        .first()
        .map(|f| {
            f.vars
                .iter()
                .filter_map(|(k, v)| {
                    let name = k.split_once('.').map_or(k.as_str(), |(_, n)| n);
                    Some((name.to_owned(), to_json(v.as_ref()?)))
                })
                .collect()
        })
        .unwrap_or_default();
    Call {
        outcome: end,
        transcript: m.transcript,
        variables,
        actions: m.actions,
        participant_data: m.participant_set,
    }
}

#[cfg(test)]
mod tests;
