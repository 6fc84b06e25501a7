//! Phase 4 of [`super::plan`]: the callers this job provisions.

use std::collections::BTreeSet;

use super::decide::{decide, published_before_its_modules};
use super::prepare::{PlanError, compiled_caller, validate_instantiated};
use super::resolve::{resolve, unresolved};
use super::step::{PlannedStep, StepContext};
use super::{Item, Planner, node_pointer, relocate};
use crate::template::model::Flow;
use crate::template::{Finding, FlowType};

/// A caller's validation: what [`validate_instantiated`] answered for its template version,
/// parameters and modules.
type Validated<'i> = (
    &'i Item<'i>,
    StepContext,
    Result<(Flow, Vec<Finding>), Vec<Finding>>,
);

impl Planner<'_> {
    /// Resolves the modules each caller calls, then validates, compiles and plans it. Once
    /// one caller has an error, the others are only resolved (their errors still count).
    pub(super) fn plan_callers(&mut self, caller_items: &[&Item<'_>]) -> Result<(), Vec<Finding>> {
        let mut errors: Vec<Finding> = Vec::new();
        // Callers of one template version with the same parameters and modules (forty
        // callers of one template, say) instantiate to the same document, so they validate
        // to the same flow: validated once, compiled under each name. (Validation was over
        // a third of planning such a job.)
        let mut validated: Vec<Validated<'_>> = Vec::new();
        for it in caller_items {
            let (ctx, deps) = self.resolve_calls(it, &mut errors);
            if !errors.is_empty() {
                continue;
            }
            let same = validated.iter().find(|(other, other_ctx, _)| {
                other.src.name == it.src.name
                    && other.src.version == it.src.version
                    && other.params == it.params
                    && *other_ctx == ctx
            });
            let checked = match same {
                Some((_, _, r)) => r.clone(),
                None => {
                    let r = validate_instantiated(&it.inst, &ctx);
                    validated.push((it, ctx.clone(), r.clone()));
                    r
                }
            };
            match compiled_caller(checked, &it.name, &ctx) {
                Ok((compiled, step_warnings)) => {
                    let record = self.record(&it.name, FlowType::Inbound);
                    let behind_its_modules = deps.iter().any(|&d| self.steps[d].action.changes())
                        || record.is_some_and(|r| published_before_its_modules(r, self.records));
                    let (action, flow_id, published) =
                        decide(record, &compiled.content_hash, behind_its_modules);
                    self.steps.push(PlannedStep {
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
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The step context of a caller (the modules its Flow nodes resolve to) and the module
    /// steps it waits for; an unresolved call is an error in `errors`.
    fn resolve_calls(
        &mut self,
        it: &Item<'_>,
        errors: &mut Vec<Finding>,
    ) -> (StepContext, BTreeSet<usize>) {
        let mut ctx = StepContext::of(FlowType::Inbound);
        let mut deps: BTreeSet<usize> = BTreeSet::new();
        for (node, call) in &it.calls {
            let Some((key, a)) = resolve(call, &self.in_job, &self.available, self.records) else {
                errors.push(unresolved(self.req, it.i, node, call));
                continue;
            };
            if a.spec.resolve_id.is_some() {
                self.warnings.push(Finding::warning(
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
        (ctx, deps)
    }
}
