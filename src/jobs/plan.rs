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

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::compile::{self, CompileContext, Compiled, ModuleTarget};
use crate::template::model::{Flow, NodeKind, QueueRef, VarType};
use crate::template::{self, Finding, FlowType, ModuleInterface, pointer};
use crate::templates::as_module::as_module;
use crate::templates::check::{Modules, Params, accepted};

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

pub use super::model::Action;
use super::model::caller_behind_module;

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
    /// When the record was last written (see [`caller_behind_module`]).
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
    fn of(as_type: FlowType) -> StepContext {
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

/// A Flow node's reference, read from an instantiated document.
#[derive(Debug, Clone)]
enum Call {
    Name(String),
    Id(String),
}

/// The Flow nodes of a document: (node id, what it calls).
fn calls_of(doc: &Value) -> Vec<(String, Call)> {
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

/// The modules that validation of a step sees: their interfaces.
fn step_modules(ctx: &StepContext) -> Modules {
    Modules::from_interfaces(
        ctx.modules
            .iter()
            .filter(|(k, _)| !k.starts_with("id:"))
            .map(|(k, m)| {
                (
                    k.clone(),
                    ModuleInterface {
                        name: k.clone(),
                        declared_type: m.declared_type,
                        inputs: m.inputs.clone(),
                        outputs: m.outputs.clone(),
                        calls_modules: false,
                    },
                )
            }),
    )
}

/// Validates an instantiated document against the step's modules: the flow and its
/// warnings, or the errors.
fn validate_instantiated(
    inst: &Value,
    ctx: &StepContext,
) -> Result<(Flow, Vec<Finding>), Vec<Finding>> {
    let report = step_modules(ctx).check(inst, Params::Samples);
    accepted(report).map_err(|findings| findings.into_iter().filter(Finding::is_error).collect())
}

/// Instantiates and validates a template document for a step (what the worker does before
/// compiling with real queue names). Returns the model and the warnings.
pub fn prepare(
    doc: &Value,
    params: &Map<String, Value>,
    ctx: &StepContext,
) -> Result<(Flow, Vec<Finding>), Vec<Finding>> {
    let inst = template::instantiate(doc, params, false)?;
    validate_instantiated(&inst, ctx)
}

/// The Route queue ids of a flow (resolved to names at run time).
pub fn queue_ids(flow: &Flow) -> BTreeSet<String> {
    flow.nodes
        .values()
        .filter_map(|n| match &n.kind {
            NodeKind::Route {
                queue: QueueRef::Id(id),
                ..
            } => Some(id.clone()),
            _ => None,
        })
        .collect()
}

/// The module flow ids of a step resolved at run time.
pub fn module_ids(ctx: &StepContext) -> Vec<String> {
    ctx.modules
        .values()
        .filter_map(|m| m.resolve_id.clone())
        .collect()
}

/// Compiles a prepared flow. `queue_names` maps queue ids to names (empty at plan time: the
/// id stands in); `resolved` maps run-time module flow ids to their flow names.
pub fn compile_step(
    flow: &Flow,
    flow_name: &str,
    ctx: &StepContext,
    queue_names: &BTreeMap<String, String>,
    resolved: &BTreeMap<String, String>,
) -> Result<Compiled, compile::CompileError> {
    let modules: BTreeMap<String, ModuleTarget> = ctx
        .modules
        .iter()
        .map(|(k, m)| {
            let flow_name = m
                .resolve_id
                .as_ref()
                .and_then(|id| resolved.get(id))
                .cloned()
                .unwrap_or_else(|| m.flow_name.clone());
            (
                k.clone(),
                ModuleTarget {
                    flow_name,
                    outputs: m.outputs.clone(),
                    inputs: m.inputs.clone(),
                },
            )
        })
        .collect();
    compile::compile(
        flow,
        &CompileContext {
            flow_name,
            as_type: ctx.as_type,
            modules: &modules,
            queue_names,
        },
    )
}

/// Flow names of the modules a step calls (after run-time resolution).
pub fn called_flow_names(ctx: &StepContext, resolved: &BTreeMap<String, String>) -> Vec<String> {
    let mut names: Vec<String> = ctx
        .modules
        .values()
        .map(|m| {
            m.resolve_id
                .as_ref()
                .and_then(|id| resolved.get(id))
                .cloned()
                .unwrap_or_else(|| m.flow_name.clone())
        })
        .collect();
    names.sort();
    names.dedup();
    names
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

/// A module that Flow nodes can resolve to: in this job, or recorded in the target.
#[derive(Debug, Clone)]
struct Available {
    spec: ModuleSpec,
    step: Option<usize>,
}

/// Plans a job. `templates[i]` is the template version of `req.flows[i]` (`None`: not
/// found); `records` are the target's flow records. Errors are findings pointing into the
/// request; a 422.
pub fn plan(
    req: &JobRequest,
    templates: &[Option<TemplateSource>],
    records: &[RecordSource],
) -> Result<Plan, Vec<Finding>> {
    let mut errors: Vec<Finding> = Vec::new();
    let mut warnings: Vec<Finding> = Vec::new();
    if req.flows.is_empty() && req.delete.is_empty() {
        errors.push(Finding::error(
            "invalid_request",
            "/flows",
            "a job needs at least one flow to provision or delete",
        ));
    }

    // 1. Names, templates and parameters.
    struct Item<'a> {
        i: usize,
        src: &'a TemplateSource,
        name: String,
        params: Map<String, Value>,
        inst: Value,
        calls: Vec<(String, Call)>,
    }
    let mut items: Vec<Item<'_>> = Vec::new();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for (i, f) in req.flows.iter().enumerate() {
        let Some(src) = templates.get(i).and_then(Option::as_ref) else {
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
            errors.push(Finding::error("unknown_template", at, what));
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
        // A parameter the template does not know is a typo, not something to ignore.
        errors.extend(template::params::unknown_parameters(
            &f.params,
            &template::params::known_names(&src.document),
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
    if !errors.is_empty() {
        return Err(errors);
    }

    // 2. Which job flows are modules ([`as_module`]): those a Flow node of this job names,
    // those whose template says so, and those recorded as a module in this target.
    let mut callers: BTreeMap<&str, &str> = BTreeMap::new();
    for it in &items {
        for (_, call) in &it.calls {
            if let Call::Name(n) = call {
                callers.entry(n.as_str()).or_insert(it.src.name.as_str());
            }
        }
    }
    let is_module = |it: &Item<'_>| {
        let recorded = records.iter().any(|r| {
            r.flow_type == FlowType::Module && (r.name == it.name || r.template_name == it.src.name)
        });
        let called_by = callers.get(it.src.name.as_str()).copied();
        as_module(template::header(&it.inst).flow_type, called_by, recorded).is_some()
    };
    let (module_items, caller_items): (Vec<&Item<'_>>, Vec<&Item<'_>>) =
        items.iter().partition(|it| is_module(it));

    let mut steps: Vec<PlannedStep> = Vec::new();
    // Modules by template name (this job first, then records; prefer the flow named like its
    // template when a template is deployed under several names).
    let mut available: BTreeMap<String, Available> = BTreeMap::new();
    for r in records.iter().filter(|r| r.flow_type == FlowType::Module) {
        let prefer = r.name == r.template_name;
        if prefer || !available.contains_key(&r.template_name) {
            let io = r.interface.clone().unwrap_or_default();
            available.insert(
                r.template_name.clone(),
                Available {
                    spec: ModuleSpec {
                        flow_name: r.name.clone(),
                        declared_type: Some(FlowType::Module),
                        inputs: io.inputs,
                        outputs: io.outputs,
                        resolve_id: None,
                    },
                    step: None,
                },
            );
        }
    }
    let record_by_name =
        |name: &str, ty: FlowType| records.iter().find(|r| r.name == name && r.flow_type == ty);

    // 3. Module steps.
    let mut in_job: BTreeMap<String, Available> = BTreeMap::new();
    for it in &module_items {
        for (node, _) in &it.calls {
            errors.push(
                Finding::error(
                    "module_calls_module",
                    node_pointer(it.i, node, "flowName"),
                    format!(
                        "'{}' is provisioned as a common module (other flows of this job call it), but its node '{node}' calls a module; Genesys modules cannot call modules",
                        it.src.name
                    ),
                )
                .with_hint("remove the Flow node from the module, or do not call this template"),
            );
        }
        let ctx = StepContext::of(FlowType::Module);
        let (flow, mut step_warnings) = match validate_instantiated(&it.inst, &ctx) {
            Ok(v) => v,
            Err(fs) => {
                errors.extend(fs.into_iter().map(|f| relocate(it.i, it.src, f)));
                continue;
            }
        };
        if flow.flow_type == FlowType::Inbound {
            warnings.push(Finding::warning(
                "inbound_as_module",
                format!("/flows/{}/template", it.i),
                format!(
                    "template '{}' is of type inbound, but Flow nodes of this job call it: it is provisioned as a common module",
                    it.src.name
                ),
            ));
        }
        let target = ModuleTarget::of(&flow, &it.name);
        let io = ModuleIo {
            inputs: target.inputs.clone(),
            outputs: target.outputs.clone(),
        };
        let compiled = match compile_step(&flow, &it.name, &ctx, &BTreeMap::new(), &BTreeMap::new())
        {
            Ok(c) => c,
            Err(e) => {
                errors.push(Finding::error(
                    e.code(),
                    format!("/flows/{}", it.i),
                    e.to_string(),
                ));
                continue;
            }
        };
        step_warnings.extend(compiled.warnings);
        let idx = steps.len();
        let avail = Available {
            spec: ModuleSpec {
                flow_name: it.name.clone(),
                declared_type: Some(flow.flow_type),
                inputs: io.inputs.clone(),
                outputs: io.outputs.clone(),
                resolve_id: None,
            },
            step: Some(idx),
        };
        let prefer = it.name == it.src.name;
        if prefer || !in_job.contains_key(&it.src.name) {
            in_job.insert(it.src.name.clone(), avail);
        }
        let record = record_by_name(&it.name, FlowType::Module);
        let (action, flow_id, published) = decide(record, &compiled.content_hash, false);
        steps.push(PlannedStep {
            flow_name: it.name.clone(),
            template_name: it.src.name.clone(),
            template_version: it.src.version,
            flow_type: FlowType::Module,
            action,
            depends_on: Vec::new(),
            yaml: compiled.yaml,
            plan_hash: compiled.content_hash,
            params: it.params.clone(),
            context: ctx,
            interface: Some(io),
            warnings: step_warnings,
            flow_id,
            published_version: published,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let changed_module = |step: Option<usize>, steps: &[PlannedStep]| {
        step.is_some_and(|s| steps[s].action.changes())
    };

    // 4. Callers of this job.
    for it in &caller_items {
        let mut ctx = StepContext::of(FlowType::Inbound);
        let mut deps: BTreeSet<usize> = BTreeSet::new();
        for (node, call) in &it.calls {
            match resolve(call, &in_job, &available, records) {
                Some((key, a)) => {
                    if a.spec.resolve_id.is_some() {
                        warnings.push(Finding::warning(
                            "module_resolved_at_run_time",
                            node_pointer(it.i, node, "flowId"),
                            format!(
                                "node '{node}' calls flow id '{}', which is not in this target's flow records: it must exist in the org as a published common module when the step runs",
                                a.spec.flow_name
                            ),
                        ));
                    }
                    deps.extend(a.step);
                    ctx.modules.insert(key, a.spec);
                }
                None => errors.push(unresolved(req, it.i, node, call)),
            }
        }
        if !errors.is_empty() {
            continue;
        }
        match planned_caller(&it.inst, &it.name, &ctx) {
            Ok((compiled, step_warnings)) => {
                let record = record_by_name(&it.name, FlowType::Inbound);
                let behind_its_modules = deps.iter().any(|d| changed_module(Some(*d), &steps))
                    || record.is_some_and(|r| published_before_its_modules(r, records));
                let (action, flow_id, published) =
                    decide(record, &compiled.content_hash, behind_its_modules);
                steps.push(PlannedStep {
                    flow_name: it.name.clone(),
                    template_name: it.src.name.clone(),
                    template_version: it.src.version,
                    flow_type: FlowType::Inbound,
                    action,
                    depends_on: deps.into_iter().collect(),
                    yaml: compiled.yaml,
                    plan_hash: compiled.content_hash,
                    params: it.params.clone(),
                    context: ctx,
                    interface: None,
                    warnings: step_warnings,
                    flow_id,
                    published_version: published,
                });
            }
            Err(PlanError::Findings(fs)) => {
                errors.extend(fs.into_iter().map(|f| relocate(it.i, it.src, f)))
            }
            Err(PlanError::Compile(e)) => errors.push(Finding::error(
                e.code(),
                format!("/flows/{}", it.i),
                e.to_string(),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // 5. Cascade: recorded callers of the modules this job changes.
    let changed: BTreeMap<&str, usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.flow_type == FlowType::Module && s.action.changes())
        .map(|(i, s)| (s.flow_name.as_str(), i))
        .collect();
    // A caller recorded before one of its modules' records (its cascaded republish failed,
    // or the module was provisioned with cascade false) is republished by any job that
    // provisions a module it calls, changed or not: otherwise it would stay on the old
    // module for good.
    let provisioned_modules: BTreeSet<&str> = steps
        .iter()
        .filter(|s| s.flow_type == FlowType::Module)
        .map(|s| s.flow_name.as_str())
        .collect();
    let in_request: BTreeSet<String> = steps.iter().map(|s| s.flow_name.clone()).collect();
    let mut cascaded: Vec<PlannedStep> = Vec::new();
    let mut not_cascaded: Vec<String> = Vec::new();
    for r in records {
        if r.flow_type != FlowType::Inbound || in_request.contains(&r.name) {
            continue;
        }
        let calls_changed = r.calls.iter().any(|c| changed.contains_key(c.as_str()));
        let stale = r
            .calls
            .iter()
            .any(|c| provisioned_modules.contains(c.as_str()))
            && published_before_its_modules(r, records);
        if !calls_changed && !stale {
            continue;
        }
        if !req.cascade {
            not_cascaded.push(r.name.clone());
            continue;
        }
        let fail = |msg: String| {
            Finding::error("cascade_failed", "/cascade", msg)
                .with_hint("provision that caller explicitly in this job, or set cascade to false")
        };
        let Some(doc) = &r.document else {
            errors.push(fail(format!(
                "recorded caller '{}' must be republished, but template '{}' version {} is gone",
                r.name, r.template_name, r.template_version
            )));
            continue;
        };
        let inst = match template::instantiate(doc, &r.params, false) {
            Ok(v) => v,
            Err(fs) => {
                errors.push(fail(format!(
                    "recorded caller '{}' cannot be instantiated again: {}",
                    r.name,
                    fs.first().map(|f| f.message.as_str()).unwrap_or("?")
                )));
                continue;
            }
        };
        let mut ctx = StepContext::of(FlowType::Inbound);
        let mut deps: BTreeSet<usize> = BTreeSet::new();
        let mut ok = true;
        for (node, call) in calls_of(&inst) {
            match resolve(&call, &in_job, &available, records) {
                Some((key, a)) => {
                    deps.extend(a.step);
                    ctx.modules.insert(key, a.spec);
                }
                None => {
                    ok = false;
                    errors.push(fail(format!(
                        "recorded caller '{}': node '{node}' calls a module that cannot be resolved any more",
                        r.name
                    )));
                }
            }
        }
        if !ok {
            continue;
        }
        match planned_caller(&inst, &r.name, &ctx) {
            Ok((compiled, step_warnings)) => cascaded.push(PlannedStep {
                flow_name: r.name.clone(),
                template_name: r.template_name.clone(),
                template_version: r.template_version,
                flow_type: FlowType::Inbound,
                action: Action::Republish,
                depends_on: deps.into_iter().collect(),
                yaml: compiled.yaml,
                plan_hash: compiled.content_hash,
                params: r.params.clone(),
                context: ctx,
                interface: None,
                warnings: step_warnings,
                flow_id: None,
                published_version: None,
            }),
            Err(_) => errors.push(fail(format!(
                "recorded caller '{}' no longer validates against the new module",
                r.name
            ))),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if !not_cascaded.is_empty() {
        warnings.push(
            Finding::warning(
                "callers_not_republished",
                "/cascade",
                format!(
                    "cascade is false: {} keep the previous snapshot of the modules this job changes",
                    not_cascaded.join(", ")
                ),
            )
            .with_hint("republish them, or run the job with cascade true"),
        );
    }
    steps.extend(cascaded);
    plan_deletes(req, records, &mut steps)?;
    annotate(req, records, &mut steps);
    Ok(Plan { steps, warnings })
}

/// Delete steps for `req.delete`, callers first: a module's delete waits for the deletes of
/// the recorded callers in the same job. A name without a record, or one also provisioned by
/// this job, is an error.
fn plan_deletes(
    req: &JobRequest,
    records: &[RecordSource],
    steps: &mut Vec<PlannedStep>,
) -> Result<(), Vec<Finding>> {
    let mut errors = Vec::new();
    let mut targets: Vec<(usize, &RecordSource)> = Vec::new();
    for (i, name) in req.delete.iter().enumerate() {
        let at = format!("/delete/{i}");
        if steps.iter().any(|s| &s.flow_name == name) {
            errors.push(Finding::error(
                "delete_and_provision",
                at,
                format!("flow '{name}' is both provisioned and deleted by this job"),
            ));
        } else if targets.iter().any(|(_, r)| &r.name == name) {
            errors.push(Finding::error(
                "duplicate_flow_name",
                at,
                format!("flow '{name}' is listed twice"),
            ));
        } else if let Some(r) = records.iter().find(|r| &r.name == name) {
            targets.push((i, r));
        } else {
            errors.push(
                Finding::error(
                    "unknown_flow",
                    at,
                    format!(
                        "flowsmith has no record of a flow named '{name}' in target '{}'",
                        req.target
                    ),
                )
                .with_hint("GET /v1/flows lists the flows flowsmith provisioned"),
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Callers (inbound) first, then modules, each module after its callers' deletes.
    targets.sort_by_key(|(_, r)| r.flow_type == FlowType::Module);
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, r) in targets {
        let depends_on = if r.flow_type == FlowType::Module {
            records
                .iter()
                .filter(|c| c.calls.contains(&r.name))
                .filter_map(|c| index.get(c.name.as_str()).copied())
                .collect()
        } else {
            Vec::new()
        };
        index.insert(r.name.as_str(), steps.len());
        let mut context = StepContext::of(r.flow_type);
        context.org_flow_id = r.flow_id.clone();
        steps.push(PlannedStep {
            flow_name: r.name.clone(),
            template_name: r.template_name.clone(),
            template_version: r.template_version,
            flow_type: r.flow_type,
            action: Action::Delete,
            depends_on,
            yaml: String::new(),
            plan_hash: r.plan_hash.clone(),
            params: r.params.clone(),
            context,
            interface: None,
            warnings: Vec::new(),
            flow_id: None,
            published_version: None,
        });
    }
    Ok(())
}

/// What the plan's read of the org says about each step: the recorded flow id, why a
/// recorded flow is planned again, and who holds it checked out.
fn annotate(req: &JobRequest, records: &[RecordSource], steps: &mut [PlannedStep]) {
    for (idx, step) in steps.iter_mut().enumerate() {
        step.context.on_locked = req.on_locked;
        let Some(r) = records
            .iter()
            .find(|r| r.name == step.flow_name && r.flow_type == step.flow_type)
        else {
            continue;
        };
        let at = format!("/steps/{idx}");
        step.context.org_flow_id = r.flow_id.clone();
        if step.action.changes()
            && step.action != Action::Delete
            && let Some(d) = &r.drift
        {
            step.context.drift = Some(d.clone());
            step.warnings.push(d.finding(&step.flow_name, &at));
        }
        if step.action.changes()
            && r.drift != Some(Drift::Deleted)
            && let Some(holder) = &r.locked_by
        {
            step.context.locked_by = Some(holder.clone());
            step.warnings.push(Finding::warning(
                "flow_locked",
                &at,
                format!(
                    "flow '{}' is checked out by {holder}; on_locked is {}",
                    step.flow_name,
                    match req.on_locked {
                        OnLocked::Fail =>
                            "fail: the step fails unless the lock is gone when it runs",
                        OnLocked::Wait => "wait: the step waits for the lock to go",
                        OnLocked::Unlock => "unlock: the step unlocks the flow first",
                    }
                ),
            ));
        }
    }
}

enum PlanError {
    Findings(Vec<Finding>),
    Compile(compile::CompileError),
}

fn planned_caller(
    inst: &Value,
    name: &str,
    ctx: &StepContext,
) -> Result<(Compiled, Vec<Finding>), PlanError> {
    let (flow, mut warnings) = validate_instantiated(inst, ctx).map_err(PlanError::Findings)?;
    let compiled = compile_step(&flow, name, ctx, &BTreeMap::new(), &BTreeMap::new())
        .map_err(PlanError::Compile)?;
    warnings.extend(compiled.warnings.iter().cloned());
    Ok((compiled, warnings))
}

/// The action for a flow given its record and plan hash.
fn decide(
    record: Option<&RecordSource>,
    plan_hash: &str,
    module_changed: bool,
) -> (Action, Option<String>, Option<String>) {
    match record {
        None
        | Some(RecordSource {
            drift: Some(Drift::Deleted),
            ..
        }) => (Action::Create, None, None),
        Some(r)
            if r.plan_hash != plan_hash || r.published_version.is_none() || r.drift.is_some() =>
        {
            (Action::Update, None, None)
        }
        Some(_) if module_changed => (Action::Republish, None, None),
        Some(r) => (
            Action::Unchanged,
            r.flow_id.clone(),
            r.published_version.clone(),
        ),
    }
}

/// Whether a recorded caller was written before the current record of a module it calls:
/// the org runs it against that module's previous version until it is published again.
fn published_before_its_modules(caller: &RecordSource, records: &[RecordSource]) -> bool {
    caller.flow_type == FlowType::Inbound
        && records.iter().any(|m| {
            m.flow_type == FlowType::Module
                && caller.calls.contains(&m.name)
                && caller_behind_module(&caller.updated_at, &m.updated_at)
        })
}

/// Finds the module a Flow node calls: in this job, in the records, or (a literal flow id)
/// in the org at run time.
fn resolve(
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
                let io = r.interface.clone().unwrap_or_default();
                return Some((
                    key,
                    Available {
                        spec: ModuleSpec {
                            flow_name: r.name.clone(),
                            declared_type: Some(FlowType::Module),
                            inputs: io.inputs,
                            outputs: io.outputs,
                            resolve_id: None,
                        },
                        step: None,
                    },
                ));
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

fn unresolved(req: &JobRequest, i: usize, node: &str, call: &Call) -> Finding {
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
    .with_hint(format!("add template '{t}' to this job's flows"))
}

#[cfg(test)]
mod tests;
