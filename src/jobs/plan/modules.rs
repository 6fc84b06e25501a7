//! Phase 3 of [`super::plan`]: the module steps of this job.

use std::collections::BTreeMap;

use super::decide::decide;
use super::prepare::{compile_step, validate_instantiated};
use super::resolve::Available;
use super::step::{ModuleIo, ModuleSpec, PlannedStep, StepContext};
use super::{Item, Planner, node_pointer, relocate};
use crate::compile::ModuleTarget;
use crate::template::{Finding, FlowType};

impl Planner<'_> {
    /// Validates and compiles each module of this job as a common module, records it in
    /// `in_job` for its callers, and plans its step. Fails with every module's errors.
    pub(super) fn plan_modules(&mut self, module_items: &[&Item<'_>]) -> Result<(), Vec<Finding>> {
        let mut errors: Vec<Finding> = Vec::new();
        for it in module_items {
            // Genesys modules cannot call modules.
            errors.extend(
                it.calls
                    .iter()
                    .map(|(node, _)| module_calls_module(it, node)),
            );
            if let Err(mut fs) = self.plan_module(it) {
                errors.append(&mut fs);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The step of one module.
    fn plan_module(&mut self, it: &Item<'_>) -> Result<(), Vec<Finding>> {
        let ctx = StepContext::of(FlowType::Module);
        let (flow, mut step_warnings) = validate_instantiated(&it.inst, &ctx).map_err(|fs| {
            fs.into_iter()
                .map(|f| relocate(it.i, it.src, f))
                .collect::<Vec<_>>()
        })?;
        if flow.flow_type == FlowType::Inbound {
            self.warnings.push(Finding::warning(
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
        let compiled = compile_step(&flow, &it.name, &ctx, &BTreeMap::new(), &BTreeMap::new())
            .map_err(|e| {
                vec![Finding::error(
                    e.code(),
                    format!("/flows/{}", it.i),
                    e.to_string(),
                )]
            })?;
        step_warnings.extend(compiled.warnings);
        let avail = Available {
            spec: ModuleSpec {
                flow_name: it.name.clone(),
                declared_type: Some(flow.flow_type),
                inputs: io.inputs.clone(),
                outputs: io.outputs.clone(),
                resolve_id: None,
            },
            step: Some(self.steps.len()),
        };
        // Prefer the flow named like its template when a template is provisioned under
        // several names.
        let prefer = it.name == it.src.name;
        if prefer || !self.in_job.contains_key(&it.src.name) {
            self.in_job.insert(it.src.name.clone(), avail);
        }
        let record = self.record(&it.name, FlowType::Module);
        let (action, flow_id, published) = decide(record, &compiled.content_hash, false);
        self.steps.push(PlannedStep {
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
        Ok(())
    }
}

fn module_calls_module(it: &Item<'_>, node: &str) -> Finding {
    Finding::error(
        "module_calls_module",
        node_pointer(it.i, node, "flowName"),
        format!(
            "'{}' is provisioned as a common module (other flows of this job call it), but its node '{node}' calls a module; Genesys modules cannot call modules",
            it.src.name
        ),
    )
    .with_hint("remove the Flow node from the module, or do not call this template")
}
