//! Planning a provisioning job (spec section 6): pure, no I/O. The API layer fetches the
//! template versions and this target's flow records; [`plan`] instantiates, validates and
//! compiles every flow, resolves the module each Flow node calls, and decides each step's
//! action by comparing hashes with the flow records.
//!
//! **Queues and hashes.** Route `queueId`s are resolved to queue names only at run time
//! (`GET /api/v2/routing/queues/{id}`), so the plan compiles with the id standing in for the
//! name. That plan-time YAML's hash is the step's `plan_hash`; a successful step stores it in
//! the flow record next to the hash of the YAML actually deployed. `unchanged` compares plan
//! hash with plan hash (like with like). The consequence: renaming a queue in Genesys is not a
//! change flowsmith detects by itself; provisioning a new template version or params is.
//! The same holds for a module called by literal `flowId` that is not in this target's flow
//! records: its flow name is looked up at run time (`GET /api/v2/flows/{id}`).
//!
//! [`plan`] runs in phases, each in its own file: read the requested flows (here), tell
//! modules from callers ([`as_module`]), plan the module steps (`modules.rs`), then the
//! callers of this job (`callers.rs`), then the recorded callers a changed module must
//! republish (`cascade.rs`), then the deletes (`deletes.rs`), and annotate every step with
//! the plan's read of the org (`annotate.rs`).

mod annotate;
mod callers;
mod cascade;
mod decide;
mod deletes;
mod modules;
mod prepare;
mod request;
mod resolve;
mod step;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

pub use super::model::Action;
pub use prepare::{called_flow_names, compile_step, module_ids, prepare, queue_ids};
pub use request::{Drift, FlowRequest, JobRequest, OnLocked};
pub use resolve::{refine_unresolved, unresolved_name};
pub use step::{
    ModuleIo, ModuleSpec, Plan, PlannedStep, RecordSource, StepContext, TemplateSource,
};

use crate::template::{self, Finding, FlowType, pointer};
use crate::templates::as_module::as_module;
use resolve::{Available, Call, calls_of, recorded_modules};

/// A requested flow, instantiated with its parameters.
struct Item<'a> {
    /// Its index in `req.flows`.
    i: usize,
    src: &'a TemplateSource,
    /// The Genesys flow name.
    name: String,
    params: Map<String, Value>,
    inst: Value,
    calls: Vec<(String, Call)>,
}

/// What the phases of [`plan`] share: the request, the target's records, the modules Flow
/// nodes can resolve to, and the plan so far.
struct Planner<'a> {
    req: &'a JobRequest,
    records: &'a [RecordSource],
    /// Modules recorded in the target, by template name.
    available: BTreeMap<String, Available>,
    /// This job's modules, by template name (filled by the module phase).
    in_job: BTreeMap<String, Available>,
    steps: Vec<PlannedStep>,
    warnings: Vec<Finding>,
}

/// Plans a job. `templates[i]` is the template version of `req.flows[i]` (`None`: not
/// found); `records` are the target's flow records. Errors are findings pointing into the
/// request; a 422.
pub fn plan(
    req: &JobRequest,
    templates: &[Option<TemplateSource>],
    records: &[RecordSource],
) -> Result<Plan, Vec<Finding>> {
    let items = read_flows(req, templates)?;
    let (module_items, caller_items) = split_modules(&items, records);
    let mut planner = Planner {
        req,
        records,
        available: recorded_modules(records),
        in_job: BTreeMap::new(),
        steps: Vec::new(),
        warnings: Vec::new(),
    };
    planner.plan_modules(&module_items)?;
    planner.plan_callers(&caller_items)?;
    planner.plan_cascade()?;
    let Planner {
        mut steps,
        warnings,
        ..
    } = planner;
    deletes::plan_deletes(req, records, &mut steps)?;
    annotate::annotate(req, records, &mut steps);
    Ok(Plan { steps, warnings })
}

/// Phase 1: names, templates and parameters of the requested flows, each instantiated.
fn read_flows<'a>(
    req: &JobRequest,
    templates: &'a [Option<TemplateSource>],
) -> Result<Vec<Item<'a>>, Vec<Finding>> {
    let mut errors: Vec<Finding> = Vec::new();
    if req.flows.is_empty() && req.delete.is_empty() {
        errors.push(Finding::error(
            "invalid_request",
            "/flows",
            "a job needs at least one flow to provision or delete",
        ));
    }
    let mut items: Vec<Item<'_>> = Vec::new();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    let mut known_names: BTreeMap<(&str, i64), BTreeSet<String>> = BTreeMap::new();
    for (i, f) in req.flows.iter().enumerate() {
        let Some(src) = templates.get(i).and_then(Option::as_ref) else {
            errors.push(unknown_template(i, f));
            continue;
        };
        let name = f.name.clone().unwrap_or_else(|| src.name.clone());
        let name_at = if f.name.is_some() {
            format!("/flows/{i}/name")
        } else {
            format!("/flows/{i}/template")
        };
        if let Some(problem) = template::name_problem(&name) {
            errors.push(Finding::error(
                "invalid_name",
                &name_at,
                format!("Genesys would reject the flow name: {problem}"),
            ));
        }
        // A parameter the template does not know is a typo, not something to ignore. (The
        // names a version knows are read from its document once per request.)
        let known = known_names
            .entry((src.name.as_str(), src.version))
            .or_insert_with(|| template::params::known_names(&src.document));
        errors.extend(template::params::unknown_parameters(
            &f.params,
            known,
            &format!("/flows/{i}/params"),
        ));
        if let Some(first) = names.insert(name.clone(), i) {
            errors.push(
                Finding::error(
                    "duplicate_flow_name",
                    &name_at,
                    format!("flow name '{name}' is also provisioned by /flows/{first}"),
                )
                .with_hint("give each flow its own `name`"),
            );
        }
        // A template version with the same parameters as an earlier flow's (forty callers
        // of one template) instantiates to the same document: copied, not redone.
        let same = items.iter().find(|it| {
            it.src.name == src.name && it.src.version == src.version && it.params == f.params
        });
        if let Some(it) = same {
            let (inst, calls) = (it.inst.clone(), it.calls.clone());
            items.push(Item {
                i,
                src,
                name,
                params: f.params.clone(),
                calls,
                inst,
            });
            continue;
        }
        match template::instantiate(&src.document, &f.params, false) {
            Ok(inst) => items.push(Item {
                i,
                src,
                name,
                params: f.params.clone(),
                calls: calls_of(&inst),
                inst,
            }),
            Err(fs) => errors.extend(fs.into_iter().map(|f| relocate(i, src, f))),
        }
    }
    if errors.is_empty() {
        Ok(items)
    } else {
        Err(errors)
    }
}

/// The finding of a requested template (or version) that is not stored.
fn unknown_template(i: usize, f: &FlowRequest) -> Finding {
    let (at, what) = match f.version {
        Some(v) => (
            format!("/flows/{i}/version"),
            format!("template '{}' has no version {v}", f.template),
        ),
        None => (
            format!("/flows/{i}/template"),
            format!("no template named '{}'", f.template),
        ),
    };
    Finding::error("unknown_template", at, what)
}

/// Phase 2: which job flows are modules ([`as_module`]): those a Flow node of this job
/// names, those whose template says so, and those recorded as a module in this target.
/// Returns (modules, callers), each in request order.
fn split_modules<'i, 'a>(
    items: &'i [Item<'a>],
    records: &[RecordSource],
) -> (Vec<&'i Item<'a>>, Vec<&'i Item<'a>>) {
    let mut callers: BTreeMap<&str, &str> = BTreeMap::new();
    for it in items {
        for (_, call) in &it.calls {
            if let Call::Name(n) = call {
                callers.entry(n.as_str()).or_insert(it.src.name.as_str());
            }
        }
    }
    items.iter().partition(|it| {
        let recorded = records.iter().any(|r| {
            r.flow_type == FlowType::Module && (r.name == it.name || r.template_name == it.src.name)
        });
        let called_by = callers.get(it.src.name.as_str()).copied();
        as_module(template::header(&it.inst).flow_type, called_by, recorded).is_some()
    })
}

impl Planner<'_> {
    /// The record of a flow of this name and type.
    fn record(&self, name: &str, ty: FlowType) -> Option<&RecordSource> {
        self.records
            .iter()
            .find(|r| r.name == name && r.flow_type == ty)
    }
}

/// Moves a finding about template `src` into the request's coordinates (`/flows/<i>/...`).
fn relocate(i: usize, src: &TemplateSource, f: Finding) -> Finding {
    let param = if matches!(f.code.as_str(), "missing_parameter" | "parameter_type") {
        f.message.split('\'').nth(1).map(str::to_owned)
    } else {
        None
    };
    let pointer_in_template = if f.pointer.is_empty() {
        "/"
    } else {
        &f.pointer
    };
    let message = format!(
        "{} (template '{}' version {}, at {})",
        f.message, src.name, src.version, pointer_in_template
    );
    Finding {
        pointer: match param {
            Some(p) => format!("/flows/{i}{}", pointer(["params", p.as_str()])),
            None => format!("/flows/{i}"),
        },
        message,
        ..f
    }
}

fn node_pointer(i: usize, node: &str, prop: &str) -> String {
    format!(
        "/flows/{i}{}",
        pointer(["draft", "nodes", node, "properties", prop])
    )
}

#[cfg(test)]
mod tests;
