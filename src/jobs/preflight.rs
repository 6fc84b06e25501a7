//! The job preflight: before a job publishes anything, every org object its flows name is
//! looked up once per kind; the missing ones (and data action inputs/outputs or table
//! columns the org's objects do not declare) fail the job with one error naming each
//! object and the flows and nodes that use it. The check here is pure; [`inventory`] reads
//! the org (read-only listings), for the worker before a job's first publish and for the
//! submitter when it plans a dry run, so both report the same error.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::plan::{self, StepContext};
use crate::genesys::{DataActionInfo, DataTableInfo, GenesysClient, GenesysError};
use crate::template::{OrgObjectKind, OrgObjectRef};

/// One flow a job provisions, as its step holds it.
pub struct StepFlow<'a> {
    pub flow_name: &'a str,
    pub document: &'a Value,
    pub params: &'a Map<String, Value>,
    pub context: &'a StepContext,
}

/// Every org object the flows name, each paired with its flow's name. A flow whose
/// template cannot be prepared is skipped: its step fails on its own, with its reason.
pub fn uses<'a>(flows: impl IntoIterator<Item = StepFlow<'a>>) -> Vec<(String, OrgObjectRef)> {
    let mut out = Vec::new();
    for f in flows {
        let Ok((flow, _)) = plan::prepare(f.document, f.params, f.context) else {
            continue;
        };
        for r in crate::template::org_objects(&flow) {
            out.push((f.flow_name.to_owned(), r));
        }
    }
    out
}

/// Reads what the org has of each kind the uses name: one listing (every page) per kind.
pub async fn inventory(
    client: &GenesysClient,
    uses: &[(String, OrgObjectRef)],
) -> Result<Inventory, GenesysError> {
    let mut inv = Inventory::default();
    for kind in kinds(uses) {
        match kind {
            OrgObjectKind::DataAction => inv.data_actions = client.data_actions().await?,
            OrgObjectKind::DataTable => inv.data_tables = client.data_tables().await?,
            OrgObjectKind::ScheduleGroup => {
                inv.schedule_groups = client.schedule_group_names().await?
            }
            OrgObjectKind::Prompt => inv.prompts = client.prompt_names().await?,
            OrgObjectKind::Queue => inv.queues = client.queue_names().await?,
        }
    }
    Ok(inv)
}

/// What the org has, per kind (only the kinds the job's flows name are fetched).
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub data_actions: Vec<DataActionInfo>,
    pub data_tables: Vec<DataTableInfo>,
    pub schedule_groups: Vec<String>,
    pub prompts: Vec<String>,
    pub queues: Vec<String>,
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn has(names: &[String], n: &str) -> bool {
    names.iter().any(|x| eq(x, n))
}

/// A readable name of the object ("data action 'Customer DB/Verify PIN'").
fn describe(r: &OrgObjectRef) -> String {
    let kind = match r.kind {
        OrgObjectKind::DataAction => "data action",
        OrgObjectKind::DataTable => "data table",
        OrgObjectKind::ScheduleGroup => "schedule group",
        OrgObjectKind::Prompt => "prompt",
        OrgObjectKind::Queue => "queue",
    };
    match &r.integration {
        Some(i) => format!("{kind} '{i}/{}'", r.name),
        None => format!("{kind} '{}'", r.name),
    }
}

/// What is wrong with one use of an object, if anything.
fn problem(r: &OrgObjectRef, inv: &Inventory) -> Option<String> {
    let what = describe(r);
    match r.kind {
        OrgObjectKind::DataAction => {
            let integration = r.integration.as_deref().unwrap_or_default();
            let Some(a) = inv
                .data_actions
                .iter()
                .find(|a| eq(&a.category, integration) && eq(&a.name, &r.name))
            else {
                return Some(format!("{what} is missing"));
            };
            let mut bad: Vec<String> = r
                .inputs
                .iter()
                .filter(|i| !has(&a.inputs, i))
                .map(|i| format!("input '{i}'"))
                .collect();
            bad.extend(
                r.outputs
                    .iter()
                    .filter(|o| !has(&a.outputs, o))
                    .map(|o| format!("output '{o}'")),
            );
            (!bad.is_empty()).then(|| format!("{what} does not declare {}", bad.join(", ")))
        }
        OrgObjectKind::DataTable => {
            let Some(t) = inv.data_tables.iter().find(|t| eq(&t.name, &r.name)) else {
                return Some(format!("{what} is missing"));
            };
            let bad: Vec<String> = r
                .outputs
                .iter()
                .filter(|c| !has(&t.columns, c))
                .map(|c| format!("'{c}'"))
                .collect();
            (!bad.is_empty()).then(|| format!("{what} has no column {}", bad.join(", ")))
        }
        OrgObjectKind::ScheduleGroup => {
            (!has(&inv.schedule_groups, &r.name)).then(|| format!("{what} is missing"))
        }
        OrgObjectKind::Prompt => {
            (!has(&inv.prompts, &r.name)).then(|| format!("{what} is missing"))
        }
        OrgObjectKind::Queue => (!has(&inv.queues, &r.name)).then(|| format!("{what} is missing")),
    }
}

/// One error for the whole job, or `None` when every object resolves. `uses` pairs each
/// flow name with an object it names; a problem is listed once with every use.
pub fn check(uses: &[(String, OrgObjectRef)], inv: &Inventory) -> Option<String> {
    let mut problems: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (flow, r) in uses {
        if let Some(p) = problem(r, inv) {
            problems
                .entry(p)
                .or_default()
                .push(format!("flow '{flow}' node '{}' ({})", r.node, r.pointer));
        }
    }
    if problems.is_empty() {
        return None;
    }
    let lines: Vec<String> = problems
        .into_iter()
        .map(|(p, used)| format!("{p}; used by {}", used.join(", ")))
        .collect();
    Some(format!(
        "org objects missing before the first publish ({}): {}",
        lines.len(),
        lines.join("; ")
    ))
}

/// Which kinds the uses need fetched.
pub fn kinds(uses: &[(String, OrgObjectRef)]) -> Vec<OrgObjectKind> {
    let mut k: Vec<OrgObjectKind> = uses.iter().map(|(_, r)| r.kind).collect();
    k.sort();
    k.dedup();
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(kind: OrgObjectKind, integration: Option<&str>, name: &str, node: &str) -> OrgObjectRef {
        OrgObjectRef {
            kind,
            integration: integration.map(str::to_owned),
            name: name.into(),
            inputs: vec!["pin".into()],
            outputs: vec![],
            node: node.into(),
            pointer: format!("/draft/nodes/{node}/properties/x"),
        }
    }

    #[test]
    fn one_error_lists_each_missing_object_with_its_uses() {
        let uses = vec![
            (
                "Main".to_owned(),
                r(OrgObjectKind::Queue, None, "Sales", "q1"),
            ),
            (
                "Auth".to_owned(),
                r(OrgObjectKind::DataAction, Some("CRM"), "Verify", "v"),
            ),
            (
                "Other".to_owned(),
                r(OrgObjectKind::Queue, None, "Sales", "q2"),
            ),
            (
                "Main".to_owned(),
                r(OrgObjectKind::Prompt, None, "Welcome", "p"),
            ),
        ];
        let inv = Inventory {
            prompts: vec!["welcome".into()],
            data_actions: vec![DataActionInfo {
                category: "crm".into(),
                name: "Verify".into(),
                inputs: vec![],
                outputs: vec![],
            }],
            ..Default::default()
        };
        let e = check(&uses, &inv).unwrap();
        assert!(e.contains("(2)"), "{e}");
        assert!(e.contains("data action 'CRM/Verify' does not declare input 'pin'; used by flow 'Auth' node 'v'"), "{e}");
        assert!(e.contains("queue 'Sales' is missing; used by flow 'Main' node 'q1' (/draft/nodes/q1/properties/x), flow 'Other' node 'q2'"), "{e}");
        let inv = Inventory {
            queues: vec!["SALES".into()],
            data_actions: vec![DataActionInfo {
                category: "CRM".into(),
                name: "verify".into(),
                inputs: vec!["pin".into()],
                outputs: vec![],
            }],
            ..inv
        };
        assert_eq!(check(&uses, &inv), None);
        assert_eq!(kinds(&uses).len(), 3);
    }
}
