//! Which module a Flow node calls: one of this job's flows, a module recorded in the
//! target, or (a literal flow id) a flow looked up in the org at run time.

use std::collections::BTreeMap;

use serde_json::Value;

use super::node_pointer;
use super::request::JobRequest;
use super::step::{ModuleSpec, RecordSource};
use crate::template::{Finding, FlowType};

/// A Flow node's reference, read from an instantiated document.
#[derive(Debug, Clone)]
pub(super) enum Call {
    Name(String),
    Id(String),
}

/// The Flow nodes of a document: (node id, what it calls).
pub(super) fn calls_of(doc: &Value) -> Vec<(String, Call)> {
    let Some(nodes) = doc.pointer("/draft/nodes").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (id, n) in nodes {
        if n.get("type").and_then(Value::as_str) != Some("Flow") {
            continue;
        }
        let prop = |k: &str| {
            n.pointer(&format!("/properties/{k}"))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        if let Some(name) = prop("flowName") {
            out.push((id.clone(), Call::Name(name)));
        } else if let Some(fid) = prop("flowId") {
            out.push((id.clone(), Call::Id(fid)));
        }
    }
    out
}

/// A module that Flow nodes can resolve to: in this job, or recorded in the target.
#[derive(Debug, Clone)]
pub(super) struct Available {
    pub(super) spec: ModuleSpec,
    /// The step of this job that provisions it.
    pub(super) step: Option<usize>,
}

/// A module recorded in the target, with the interface it was recorded with.
fn recorded(r: &RecordSource) -> Available {
    let io = r.interface.clone().unwrap_or_default();
    Available {
        spec: ModuleSpec {
            flow_name: r.name.clone(),
            declared_type: Some(FlowType::Module),
            inputs: io.inputs,
            outputs: io.outputs,
            resolve_id: None,
        },
        step: None,
    }
}

/// The modules recorded in the target, by template name (prefer the flow named like its
/// template when a template is deployed under several names).
pub(super) fn recorded_modules(records: &[RecordSource]) -> BTreeMap<String, Available> {
    let mut available: BTreeMap<String, Available> = BTreeMap::new();
    for r in records.iter().filter(|r| r.flow_type == FlowType::Module) {
        let prefer = r.name == r.template_name;
        if prefer || !available.contains_key(&r.template_name) {
            available.insert(r.template_name.clone(), recorded(r));
        }
    }
    available
}

/// Finds the module a Flow node calls: in this job, in the records, or (a literal flow id)
/// in the org at run time.
pub(super) fn resolve(
    call: &Call,
    in_job: &BTreeMap<String, Available>,
    available: &BTreeMap<String, Available>,
    records: &[RecordSource],
) -> Option<(String, Available)> {
    match call {
        Call::Name(t) => in_job
            .get(t)
            .or_else(|| available.get(t))
            .map(|a| (t.clone(), a.clone())),
        Call::Id(fid) => {
            let key = format!("id:{fid}");
            if let Some(r) = records
                .iter()
                .find(|r| r.flow_id.as_deref() == Some(fid) && r.flow_type == FlowType::Module)
            {
                // The same flow provisioned again by this job: wait for that step.
                if let Some(a) = in_job.values().find(|a| a.spec.flow_name == r.name) {
                    return Some((key, a.clone()));
                }
                return Some((key, recorded(r)));
            }
            Some((
                key,
                Available {
                    spec: ModuleSpec {
                        flow_name: fid.clone(),
                        declared_type: None,
                        inputs: BTreeMap::new(),
                        outputs: BTreeMap::new(),
                        resolve_id: Some(fid.clone()),
                    },
                    step: None,
                },
            ))
        }
    }
}

pub(super) fn unresolved(req: &JobRequest, i: usize, node: &str, call: &Call) -> Finding {
    let t = match call {
        Call::Name(t) | Call::Id(t) => t,
    };
    Finding::error(
        "module_unresolved",
        node_pointer(i, node, "flowName"),
        format!(
            "node '{node}' calls module '{t}', which is neither in this job nor provisioned in target '{}'",
            req.target
        ),
    )
    .with_hint(add_hint(t))
}

fn add_hint(t: &str) -> String {
    format!("add template '{t}' to this job's flows")
}

/// The module name of an [`unresolved`] finding whose hint is still the plain one.
pub fn unresolved_name(f: &Finding) -> Option<&str> {
    if f.code != "module_unresolved" {
        return None;
    }
    f.hint
        .as_deref()?
        .strip_prefix("add template '")?
        .strip_suffix("' to this job's flows")
}

/// Names the closest stored template in the hint of an [`unresolved`] finding whose module
/// is not stored at all (`stored`: every stored template name): a typo is likelier there
/// than a flow left out of the job.
pub fn refine_unresolved(f: &mut Finding, stored: &[String]) {
    let Some(t) = unresolved_name(f).map(str::to_owned) else {
        return;
    };
    if stored.contains(&t) {
        return;
    }
    f.hint = Some(match crate::templates::check::module_hint(&t, stored) {
        Some(h) => format!("no template '{t}' is stored; {h}"),
        None => format!(
            "no template '{t}' is stored: store it, then {}",
            add_hint(&t)
        ),
    });
}
