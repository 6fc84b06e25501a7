//! Adopting an org's flows (`POST /v1/targets/{target}/adoptions`): list the org's inbound
//! call flows and common modules, pick the ones asked for, find which modules each caller
//! calls (Genesys dependency tracking), and store a job with one `adopt` step per flow,
//! modules first, each caller waiting for the modules it calls. The worker runs the steps
//! (`worker/adopt.rs`): export, import, store, record.
//!
//! A caller whose module is neither adopted by this job nor recorded by flowsmith is
//! reported (a warning of the job naming it); its step then fails with `module_not_adopted`
//! rather than guessing the module's interface. A flow flowsmith already records is left
//! alone (a warning): adopting it again would replace its template with an import.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::model::{Action, JobStatus, StepState};
use super::plan::{ModuleSpec, OnLocked, StepContext};
use super::releases::ReleaseError;
use super::submit::{Submit, SubmitError};
use crate::genesys::{FlowInfo, GenesysError};
use crate::store::{CreateOutcome, JobRow, NewJob, NewStep};
use crate::template::{Finding, FlowType};

/// The most flows one adoption may name.
pub const MAX_NAMED: usize = 1000;

/// `POST /v1/targets/{target}/adoptions`: the flows to adopt, by name, or all of them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdoptionRequest {
    /// Names of inbound call flows and common modules of the org.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<String>,
    /// Every published inbound call flow and common module of the org.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The request's own rules: names or `all`, not both; no empty or repeated name.
pub fn check_request(req: &AdoptionRequest) -> Vec<Finding> {
    let mut errors = Vec::new();
    match (req.flows.is_empty(), req.all) {
        (true, false) => errors.push(Finding::error(
            "invalid_request",
            "/flows",
            "name the flows to adopt, or set all to true",
        )),
        (false, true) => errors.push(Finding::error(
            "invalid_request",
            "/all",
            "give flows or all, not both",
        )),
        _ => {}
    }
    if req.flows.len() > MAX_NAMED {
        errors.push(Finding::error(
            "too_many_flows",
            "/flows",
            format!("at most {MAX_NAMED} flows per adoption"),
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, n) in req.flows.iter().enumerate() {
        if n.trim().is_empty() {
            errors.push(Finding::error(
                "invalid_name",
                format!("/flows/{i}"),
                "a flow name cannot be empty",
            ));
        } else if !seen.insert(n.as_str()) {
            errors.push(Finding::error(
                "duplicate_flow_name",
                format!("/flows/{i}"),
                format!("'{n}' is named twice"),
            ));
        }
    }
    errors
}

/// A flow of the org to adopt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub info: FlowInfo,
    pub flow_type: FlowType,
    /// Where the request names it (`/flows/i`, or `/all`).
    pub at: String,
}

/// Picks the flows to adopt from the org's listing (pure): named ones must exist and be
/// published (else errors); with `all`, unpublished ones are left out with a warning; flows
/// flowsmith already records are left out with a warning.
pub fn select(
    req: &AdoptionRequest,
    org: &[(FlowInfo, FlowType)],
    recorded: &BTreeSet<String>,
) -> Result<(Vec<Candidate>, Vec<Finding>), Vec<Finding>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut picked: Vec<(String, &FlowInfo, FlowType)> = Vec::new();
    if req.all {
        for (f, ty) in org {
            picked.push(("/all".to_owned(), f, *ty));
        }
    } else {
        for (i, name) in req.flows.iter().enumerate() {
            let at = format!("/flows/{i}");
            let found: Vec<&(FlowInfo, FlowType)> =
                org.iter().filter(|(f, _)| &f.name == name).collect();
            match found.as_slice() {
                [] => errors.push(
                    Finding::error(
                        "unknown_flow",
                        &at,
                        format!("the org has no inbound call flow or common module named '{name}'"),
                    )
                    .with_hint("names are matched exactly; GET /v1/targets/{target}/drift lists what flowsmith knows"),
                ),
                [(f, ty)] if f.published_version.is_none() => errors.push(Finding::error(
                    "not_published",
                    &at,
                    format!("'{name}' ({}) has no published version to adopt", ty.as_str()),
                )),
                [(f, ty)] => picked.push((at, f, *ty)),
                _ => errors.push(Finding::error(
                    "ambiguous_flow",
                    &at,
                    format!("the org has an inbound call flow and a common module named '{name}'"),
                )),
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = Vec::new();
    for (at, f, ty) in picked {
        if f.published_version.is_none() {
            warnings.push(Finding::warning(
                "not_published",
                &at,
                format!(
                    "'{}' ({}) has no published version: not adopted",
                    f.name,
                    ty.as_str()
                ),
            ));
        } else if recorded.contains(&f.name) {
            warnings.push(Finding::warning(
                "already_managed",
                &at,
                format!(
                    "flowsmith already records '{}' in this target: not adopted again",
                    f.name
                ),
            ));
        } else {
            out.push(Candidate {
                info: f.clone(),
                flow_type: ty,
                at,
            });
        }
    }
    out.sort_by(|a, b| {
        (a.flow_type != FlowType::Module, &a.info.name)
            .cmp(&(b.flow_type != FlowType::Module, &b.info.name))
    });
    Ok((out, warnings))
}

/// The job's steps (modules first, then callers, each waiting for the module steps of this
/// job it calls) and a warning per module a caller calls that is neither adopted here nor
/// recorded. `calls` maps a caller's name to the modules it calls; `recorded_modules` are
/// the modules flowsmith records in the target.
pub fn steps(
    picked: &[Candidate],
    calls: &BTreeMap<String, BTreeSet<String>>,
    recorded_modules: &BTreeSet<String>,
) -> (Vec<NewStep>, Vec<Finding>) {
    let mut warnings = Vec::new();
    let module_step: BTreeMap<&str, usize> = picked
        .iter()
        .enumerate()
        .filter(|(_, c)| c.flow_type == FlowType::Module)
        .map(|(i, c)| (c.info.name.as_str(), i))
        .collect();
    let mut out = Vec::with_capacity(picked.len());
    for c in picked {
        let mut depends_on = Vec::new();
        let mut modules = BTreeMap::new();
        if c.flow_type == FlowType::Inbound {
            for m in calls.get(&c.info.name).into_iter().flatten() {
                match module_step.get(m.as_str()) {
                    Some(&i) => depends_on.push(i),
                    None if recorded_modules.contains(m) => {}
                    None => warnings.push(
                        Finding::warning(
                            "module_not_adopted",
                            &c.at,
                            format!(
                                "'{}' calls the common module '{m}', which is neither adopted by this job nor recorded by flowsmith: its step will fail",
                                c.info.name
                            ),
                        )
                        .with_hint(format!("adopt '{m}' with it")),
                    ),
                }
                modules.insert(
                    m.clone(),
                    ModuleSpec {
                        flow_name: m.clone(),
                        declared_type: Some(FlowType::Module),
                        inputs: BTreeMap::new(),
                        outputs: BTreeMap::new(),
                        resolve_id: None,
                    },
                );
            }
        }
        let context = StepContext {
            as_type: c.flow_type,
            modules,
            org_flow_id: Some(c.info.id.clone()),
            drift: None,
            locked_by: None,
            on_locked: OnLocked::Fail,
        };
        out.push(NewStep {
            flow_name: c.info.name.clone(),
            template_name: c.info.name.clone(),
            template_version: 0,
            flow_type: c.flow_type,
            action: Action::Adopt,
            state: StepState::Pending,
            depends_on: serde_json::to_string(&depends_on).unwrap_or_else(|_| "[]".into()),
            yaml: String::new(),
            plan_hash: String::new(),
            params: "{}".into(),
            context: serde_json::to_string(&context).unwrap_or_else(|_| "{}".into()),
            warnings: "[]".into(),
            flow_id: Some(c.info.id.clone()),
            published_version: c.info.published_version.clone(),
            error: None,
        });
    }
    (out, warnings)
}

/// Plans and stores an adoption job.
pub async fn adopt(
    submit: &Submit<'_>,
    target: &str,
    req: &AdoptionRequest,
    request_id: Option<String>,
) -> Result<JobRow, ReleaseError> {
    let client = submit
        .clients
        .get(target)
        .ok_or_else(|| ReleaseError::NotFound(format!("no target named '{target}'")))?;
    let errors = check_request(req);
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    let org_err = |source: GenesysError| ReleaseError::Org {
        target: target.to_owned(),
        source,
    };
    let mut org: Vec<(FlowInfo, FlowType)> = Vec::new();
    for ty in [FlowType::Module, FlowType::Inbound] {
        let flows = client.list_flows(ty).await.map_err(org_err)?;
        org.extend(flows.into_iter().map(|f| (f, ty)));
    }
    let records = submit.store.records_for_planning(target).await?;
    let recorded: BTreeSet<String> = records.iter().map(|r| r.record.name.clone()).collect();
    let recorded_modules: BTreeSet<String> = records
        .iter()
        .filter(|r| r.record.flow_type == FlowType::Module)
        .map(|r| r.record.name.clone())
        .collect();
    let (picked, mut warnings) = select(req, &org, &recorded).map_err(invalid)?;
    // Which modules each caller calls: the consumers of every published module.
    let mut calls: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if picked.iter().any(|c| c.flow_type == FlowType::Inbound) {
        for (m, _) in org
            .iter()
            .filter(|(f, ty)| *ty == FlowType::Module && f.published_version.is_some())
        {
            for consumer in client.consuming_flows(&m.id).await.map_err(org_err)? {
                calls
                    .entry(consumer.name)
                    .or_default()
                    .insert(m.name.clone());
            }
        }
    }
    let (steps, step_warnings) = steps(&picked, &calls, &recorded_modules);
    warnings.extend(step_warnings);
    let request = json!({ "adopt": req }).to_string();
    let job =
        NewJob {
            id: uuid::Uuid::now_v7().to_string(),
            target: target.to_owned(),
            status: if steps.is_empty() {
                JobStatus::Succeeded
            } else {
                JobStatus::Queued
            },
            error: None,
            dry_run: false,
            description: Some(req.description.clone().unwrap_or_else(|| {
                format!("adoption of {} flow(s) of target {target}", steps.len())
            })),
            request_hash: hex::encode(Sha256::digest(request.as_bytes())),
            request,
            plan: json!({ "warnings": warnings }).to_string(),
            idempotency_key: None,
            request_id,
            steps,
        };
    match submit.store.create_job(&job).await? {
        CreateOutcome::Created(row) | CreateOutcome::Existing(row) => {
            submit.signals.job_queued();
            tracing::info!(job_id = %row.id, target, steps = job.steps.len(), "adoption planned");
            Ok(row)
        }
    }
}

fn invalid(errors: Vec<Finding>) -> ReleaseError {
    ReleaseError::Submit(SubmitError::Invalid {
        detail: format!(
            "the adoption cannot be planned: {} problem(s)",
            errors.len()
        ),
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(id: &str, name: &str, published: bool) -> FlowInfo {
        FlowInfo {
            id: id.into(),
            name: name.into(),
            flow_type: String::new(),
            published_version: published.then(|| "1.0".to_owned()),
            locked_by: None,
        }
    }

    fn org() -> Vec<(FlowInfo, FlowType)> {
        vec![
            (flow("m", "Lang", true), FlowType::Module),
            (flow("x", "Draft", false), FlowType::Module),
            (flow("c", "Caller", true), FlowType::Inbound),
            (flow("o", "Other", true), FlowType::Inbound),
        ]
    }

    #[test]
    fn a_request_names_flows_or_all() {
        assert!(!check_request(&AdoptionRequest::default()).is_empty());
        let both = AdoptionRequest {
            flows: vec!["a".into()],
            all: true,
            ..Default::default()
        };
        assert_eq!(check_request(&both)[0].pointer, "/all");
        let twice = AdoptionRequest {
            flows: vec!["a".into(), "a".into(), " ".into()],
            ..Default::default()
        };
        let e = check_request(&twice);
        assert_eq!(e[0].pointer, "/flows/1");
        assert_eq!(e[1].pointer, "/flows/2");
    }

    #[test]
    fn all_takes_published_flows_modules_first_and_skips_recorded_ones() {
        let req = AdoptionRequest {
            all: true,
            ..Default::default()
        };
        let recorded: BTreeSet<String> = ["Other".to_owned()].into();
        let (picked, warnings) = select(&req, &org(), &recorded).unwrap();
        let names: Vec<&str> = picked.iter().map(|c| c.info.name.as_str()).collect();
        assert_eq!(names, ["Lang", "Caller"]);
        let codes: Vec<&str> = warnings.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(codes, ["not_published", "already_managed"]);
    }

    #[test]
    fn named_flows_must_exist_and_be_published() {
        let req = AdoptionRequest {
            flows: vec!["Caller".into(), "Nope".into(), "Draft".into()],
            ..Default::default()
        };
        let e = select(&req, &org(), &BTreeSet::new()).unwrap_err();
        let got: Vec<(&str, &str)> = e
            .iter()
            .map(|f| (f.code.as_str(), f.pointer.as_str()))
            .collect();
        assert_eq!(
            got,
            [("unknown_flow", "/flows/1"), ("not_published", "/flows/2")]
        );
    }

    #[test]
    fn callers_wait_for_their_modules_and_an_unadopted_module_is_reported() {
        let req = AdoptionRequest {
            flows: vec!["Caller".into(), "Lang".into(), "Other".into()],
            ..Default::default()
        };
        let (picked, _) = select(&req, &org(), &BTreeSet::new()).unwrap();
        let calls: BTreeMap<String, BTreeSet<String>> = [
            ("Caller".to_owned(), ["Lang".to_owned()].into()),
            ("Other".to_owned(), ["Gone".to_owned()].into()),
        ]
        .into();
        let (planned, warnings) = steps(&picked, &calls, &BTreeSet::new());
        let order: Vec<(&str, &str)> = planned
            .iter()
            .map(|s| (s.flow_name.as_str(), s.depends_on.as_str()))
            .collect();
        assert_eq!(order, [("Lang", "[]"), ("Caller", "[0]"), ("Other", "[]")]);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].code, "module_not_adopted");
        assert_eq!(warnings[0].pointer, "/flows/2");
        // A module flowsmith records already is no warning and no dependency.
        let recorded: BTreeSet<String> = ["Gone".to_owned()].into();
        let (_, warnings) = steps(&picked, &calls, &recorded);
        assert!(warnings.is_empty());
        assert!(planned.iter().all(|s| s.action == Action::Adopt));
    }
}
