//! The planner's inputs (template versions, flow records) and outputs (planned steps and the
//! context a step is compiled with again at run time).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::request::{Drift, OnLocked};
use crate::jobs::model::Action;
use crate::template::model::VarType;
use crate::template::{Finding, FlowType};

/// A stored template version, as the planner needs it.
#[derive(Debug, Clone)]
pub struct TemplateSource {
    pub name: String,
    pub version: i64,
    pub document: Value,
}

/// A module's variables, as recorded for callers planned later.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleIo {
    pub inputs: BTreeMap<String, VarType>,
    pub outputs: BTreeMap<String, VarType>,
}

/// A flow record of the job's target, with the template document it was provisioned from.
#[derive(Debug, Clone)]
pub struct RecordSource {
    pub name: String,
    /// module | inbound
    pub flow_type: FlowType,
    pub flow_id: Option<String>,
    pub template_name: String,
    pub template_version: i64,
    pub plan_hash: String,
    pub published_version: Option<String>,
    pub params: Map<String, Value>,
    pub interface: Option<ModuleIo>,
    /// Flow names of the modules it calls.
    pub calls: Vec<String>,
    /// The template version's document (for cascading republishes).
    pub document: Option<Value>,
    /// When the record was last written (see [`caller_behind_module`](crate::jobs::model::caller_behind_module)).
    pub updated_at: String,
    /// How the org differs from this record (`None`: in sync, or not read).
    pub drift: Option<Drift>,
    /// Who holds the flow checked out in the org, when the plan read it.
    pub locked_by: Option<String>,
}

/// A called module, as the compiler must see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleSpec {
    pub flow_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_type: Option<FlowType>,
    #[serde(default)]
    pub inputs: BTreeMap<String, VarType>,
    #[serde(default)]
    pub outputs: BTreeMap<String, VarType>,
    /// A literal Genesys flow id resolved in the org at run time (its name replaces
    /// `flow_name`, which holds the id until then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_id: Option<String>,
}

/// Everything needed to compile a step again (at run time, with queue names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepContext {
    pub as_type: FlowType,
    /// Template name (or `id:<flowId>`) → the module.
    #[serde(default)]
    pub modules: BTreeMap<String, ModuleSpec>,
    /// The flow's id in the org as recorded when planned (lock checks, deletes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_flow_id: Option<String>,
    /// The drift this step repairs (the run-time re-check does not skip it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
    /// Who held the flow checked out when the plan read the org.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_by: Option<String>,
    #[serde(default, skip_serializing_if = "OnLocked::is_fail")]
    pub on_locked: OnLocked,
}

impl StepContext {
    pub(super) fn of(as_type: FlowType) -> StepContext {
        StepContext {
            as_type,
            modules: BTreeMap::new(),
            org_flow_id: None,
            drift: None,
            locked_by: None,
            on_locked: OnLocked::Fail,
        }
    }
}

/// One planned step.
#[derive(Debug, Clone)]
pub struct PlannedStep {
    pub flow_name: String,
    pub template_name: String,
    pub template_version: i64,
    pub flow_type: FlowType,
    pub action: Action,
    /// Indices of the module steps it waits for.
    pub depends_on: Vec<usize>,
    pub yaml: String,
    pub plan_hash: String,
    pub params: Map<String, Value>,
    pub context: StepContext,
    /// For modules: inputs and outputs, recorded for later callers.
    pub interface: Option<ModuleIo>,
    pub warnings: Vec<Finding>,
    /// From the flow record, for `unchanged` steps.
    pub flow_id: Option<String>,
    pub published_version: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub steps: Vec<PlannedStep>,
    pub warnings: Vec<Finding>,
}
