//! Preparing and compiling one step: instantiate, validate against the step's modules, and
//! compile (at plan time with queue ids standing in for names; again at run time).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::step::StepContext;
use crate::compile::{self, CompileContext, Compiled, ModuleTarget};
use crate::template::model::{Flow, NodeKind, QueueRef};
use crate::template::{self, Finding, ModuleInterface};
use crate::templates::check::{Modules, Params, accepted};

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
pub(super) fn validate_instantiated(
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

pub(super) enum PlanError {
    Findings(Vec<Finding>),
    Compile(compile::CompileError),
}

/// Validates and compiles a caller's instantiated document at plan time: the YAML and the
/// step's warnings (the validator's, then the compiler's).
pub(super) fn planned_caller(
    inst: &Value,
    name: &str,
    ctx: &StepContext,
) -> Result<(Compiled, Vec<Finding>), PlanError> {
    compiled_caller(validate_instantiated(inst, ctx), name, ctx)
}

/// [`planned_caller`] of a document already validated (`validated`, what
/// [`validate_instantiated`] answered).
pub(super) fn compiled_caller(
    validated: Result<(Flow, Vec<Finding>), Vec<Finding>>,
    name: &str,
    ctx: &StepContext,
) -> Result<(Compiled, Vec<Finding>), PlanError> {
    let (flow, mut warnings) = validated.map_err(PlanError::Findings)?;
    let compiled = compile_step(&flow, name, ctx, &BTreeMap::new(), &BTreeMap::new())
        .map_err(PlanError::Compile)?;
    warnings.extend(compiled.warnings.iter().cloned());
    Ok((compiled, warnings))
}
