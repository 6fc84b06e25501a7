//! What a job request asks for: the flows to provision or delete, and how a step treats a
//! locked flow; and [`Drift`], how the org differs from a flow record.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::template::Finding;

/// `POST /v1/jobs`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    /// A configured target (`GET /v1/targets`).
    pub target: String,
    /// The flows to provision; modules are ordered before their callers automatically.
    pub flows: Vec<FlowRequest>,
    /// Must be true: the Architect job API always publishes.
    #[serde(default = "yes")]
    pub publish: bool,
    /// Plan and store the job without changing the org. It only reads it: the recorded
    /// flows, and the org objects the flows name (the preflight; a missing one stores the
    /// dry run `failed` with the error the real job would fail with).
    #[serde(default)]
    pub dry_run: bool,
    /// Republish the recorded callers of every module this job changes (default true).
    #[serde(default = "yes")]
    pub cascade: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Flow names to retire: each is deleted in the org (`DELETE /api/v2/flows/{id}`) and
    /// its record removed. Callers are deleted before the modules they call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete: Vec<String>,
    /// A flow checked out (locked) by someone else when its step runs: `fail` the step
    /// naming the holder (default), `wait` for the lock to go (bounded), or `unlock` it first.
    #[serde(default, skip_serializing_if = "OnLocked::is_fail")]
    pub on_locked: OnLocked,
}

fn yes() -> bool {
    true
}

/// What a step does about a flow someone else holds checked out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnLocked {
    /// Fail the step, naming the user or client that holds the lock.
    #[default]
    Fail,
    /// Read the flow again until the lock is gone, up to a bound; then fail.
    Wait,
    /// Unlock first (`POST /api/v2/flows/actions/unlock`), and say so in the step.
    Unlock,
}

impl OnLocked {
    pub fn is_fail(&self) -> bool {
        *self == OnLocked::Fail
    }
}

/// How the org differs from a flow record, as the plan's read of the org found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Drift {
    /// The org's published version is not the one flowsmith recorded (someone published in
    /// Architect, or with another client).
    PublishedElsewhere {
        recorded_version: Option<String>,
        org_version: Option<String>,
    },
    /// The recorded flow id no longer exists in the org.
    Deleted,
}

impl Drift {
    /// The step warning that says why a recorded flow is planned again.
    pub fn finding(&self, flow: &str, at: &str) -> Finding {
        match self {
            Drift::PublishedElsewhere {
                recorded_version,
                org_version,
            } => Finding::warning(
                "published_elsewhere",
                at,
                format!(
                    "flow '{flow}' has published version {} in the org, not {} as flowsmith recorded: someone published it outside flowsmith; this step publishes flowsmith's file again",
                    org_version.as_deref().unwrap_or("none"),
                    recorded_version.as_deref().unwrap_or("none"),
                ),
            ),
            Drift::Deleted => Finding::warning(
                "deleted_in_org",
                at,
                format!(
                    "flow '{flow}' was deleted in the org outside flowsmith; this step creates it again"
                ),
            ),
        }
    }
}

/// One flow of a job request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowRequest {
    /// Template name.
    pub template: String,
    /// Template version (default: the latest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Genesys flow name (default: the template's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Values of the template's `{{parameters}}`.
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeMap<String, serde_json::Value>)]
    pub params: Map<String, Value>,
}
