//! Phase 5 of [`super::plan`]: the recorded callers of the modules this job changes are
//! republished, so that Genesys snapshots the new module into them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Planner;
use super::decide::published_before_its_modules;
use super::prepare::planned_caller;
use super::resolve::{calls_of, resolve};
use super::step::{PlannedStep, RecordSource, StepContext};
use crate::jobs::model::Action;
use crate::template::{self, Finding, FlowType};

impl Planner<'_> {
    /// Adds a republish step for each recorded caller that must pick up a module of this
    /// job (or, with `cascade` false, a warning naming them). Fails with every caller that
    /// cannot be republished.
    pub(super) fn plan_cascade(&mut self) -> Result<(), Vec<Finding>> {
        let mut errors: Vec<Finding> = Vec::new();
        let mut cascaded: Vec<PlannedStep> = Vec::new();
        let mut not_cascaded: Vec<String> = Vec::new();
        for r in self.callers_to_republish() {
            if !self.req.cascade {
                not_cascaded.push(r.name.clone());
                continue;
            }
            match self.republish(r) {
                Ok(step) => cascaded.push(step),
                Err(mut fs) => errors.append(&mut fs),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        if !not_cascaded.is_empty() {
            self.warnings.push(
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
        self.steps.extend(cascaded);
        Ok(())
    }

    /// The recorded callers, not in this job, that call a module this job changes. A caller
    /// recorded before one of its modules' records (its cascaded republish failed, or the
    /// module was provisioned with cascade false) is republished by any job that provisions
    /// a module it calls, changed or not: otherwise it would stay on the old module for good.
    fn callers_to_republish(&self) -> Vec<&'_ RecordSource> {
        let changed: BTreeMap<&str, usize> = self
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.flow_type == FlowType::Module && s.action.changes())
            .map(|(i, s)| (s.flow_name.as_str(), i))
            .collect();
        let provisioned_modules: BTreeSet<&str> = self
            .steps
            .iter()
            .filter(|s| s.flow_type == FlowType::Module)
            .map(|s| s.flow_name.as_str())
            .collect();
        let in_request: BTreeSet<&str> = self.steps.iter().map(|s| s.flow_name.as_str()).collect();
        self.records
            .iter()
            .filter(|r| r.flow_type == FlowType::Inbound && !in_request.contains(r.name.as_str()))
            .filter(|r| {
                let calls_changed = r.calls.iter().any(|c| changed.contains_key(c.as_str()));
                let stale = r
                    .calls
                    .iter()
                    .any(|c| provisioned_modules.contains(c.as_str()))
                    && published_before_its_modules(r, self.records);
                calls_changed || stale
            })
            .collect()
    }

    /// The republish step of a recorded caller: its recorded template version and params,
    /// against this job's modules.
    fn republish(&self, r: &RecordSource) -> Result<PlannedStep, Vec<Finding>> {
        let fail =
            |msg: String| {
                vec![Finding::error("cascade_failed", "/cascade", msg).with_hint(
                    "provision that caller explicitly in this job, or set cascade to false",
                )]
            };
        let Some(doc) = &r.document else {
            return Err(fail(format!(
                "recorded caller '{}' must be republished, but template '{}' version {} is gone",
                r.name, r.template_name, r.template_version
            )));
        };
        let inst = template::instantiate(doc, &r.params, false).map_err(|fs| {
            fail(format!(
                "recorded caller '{}' cannot be instantiated again: {}",
                r.name,
                fs.first().map(|f| f.message.as_str()).unwrap_or("?")
            ))
        })?;
        let (ctx, deps) = self.resolve_recorded_calls(r, &inst)?;
        let (compiled, step_warnings) = planned_caller(&inst, &r.name, &ctx).map_err(|_| {
            fail(format!(
                "recorded caller '{}' no longer validates against the new module",
                r.name
            ))
        })?;
        Ok(PlannedStep {
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
        })
    }

    /// The step context of a recorded caller and the module steps it waits for; every
    /// call that no longer resolves is an error.
    fn resolve_recorded_calls(
        &self,
        r: &RecordSource,
        inst: &Value,
    ) -> Result<(StepContext, BTreeSet<usize>), Vec<Finding>> {
        let mut ctx = StepContext::of(FlowType::Inbound);
        let mut deps: BTreeSet<usize> = BTreeSet::new();
        let mut errors = Vec::new();
        for (node, call) in calls_of(inst) {
            match resolve(&call, &self.in_job, &self.available, self.records) {
                Some((key, a)) => {
                    deps.extend(a.step);
                    ctx.modules.insert(key, a.spec);
                }
                None => errors.push(
                    Finding::error(
                        "cascade_failed",
                        "/cascade",
                        format!(
                            "recorded caller '{}': node '{node}' calls a module that cannot be resolved any more",
                            r.name
                        ),
                    )
                    .with_hint(
                        "provision that caller explicitly in this job, or set cascade to false",
                    ),
                ),
            }
        }
        // A module the record says it calls but no Flow node names (an imported call kept as
        // written): the republish still waits for that module's step of this job.
        for (i, s) in self.steps.iter().enumerate() {
            if s.flow_type == FlowType::Module && r.calls.contains(&s.flow_name) {
                deps.insert(i);
            }
        }
        if errors.is_empty() {
            Ok((ctx, deps))
        } else {
            Err(errors)
        }
    }
}
