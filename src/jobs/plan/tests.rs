use super::*;
use serde_json::json;

fn module_doc() -> Value {
    serde_json::from_str(include_str!(
        "../../../tests/fixtures/seed_shared_module.json"
    ))
    .unwrap()
}

fn caller_doc() -> Value {
    serde_json::from_str(include_str!(
        "../../../tests/fixtures/seed_inbound_flow.json"
    ))
    .unwrap()
}

fn src(doc: Value, version: i64) -> TemplateSource {
    TemplateSource {
        name: doc["name"].as_str().unwrap().to_owned(),
        version,
        document: doc,
    }
}

fn flow(template: &str, name: Option<&str>, params: Value) -> FlowRequest {
    FlowRequest {
        template: template.into(),
        version: None,
        name: name.map(str::to_owned),
        params: params.as_object().cloned().unwrap_or_default(),
    }
}

fn seed_request() -> JobRequest {
    JobRequest {
        target: "sandbox".into(),
        flows: vec![
            flow("Shared_Module_Language_Select", None, json!({})),
            flow(
                "Inbound_Flow_A",
                Some("Inbound_Flow_A"),
                json!({"queue_id": "q-1"}),
            ),
            flow(
                "Inbound_Flow_A",
                Some("Inbound_Flow_B"),
                json!({"queue_id": "q-2"}),
            ),
        ],
        publish: true,
        dry_run: false,
        cascade: true,
        description: None,
        delete: Vec::new(),
        on_locked: OnLocked::Fail,
    }
}

fn seed_sources(module_version: i64) -> Vec<Option<TemplateSource>> {
    vec![
        Some(src(module_doc(), module_version)),
        Some(src(caller_doc(), 1)),
        Some(src(caller_doc(), 1)),
    ]
}

/// The flow records a successful run of `plan` leaves behind.
fn records_of(plan: &Plan) -> Vec<RecordSource> {
    plan.steps
        .iter()
        .enumerate()
        .map(|(i, s)| RecordSource {
            name: s.flow_name.clone(),
            flow_type: s.flow_type,
            flow_id: Some(format!("id-{i}")),
            template_name: s.template_name.clone(),
            template_version: s.template_version,
            plan_hash: s.plan_hash.clone(),
            published_version: Some("1.0".into()),
            // Written in step order, as the worker writes them.
            updated_at: format!("2026-12-03T10:00:0{i}.000Z"),
            params: s.params.clone(),
            interface: s.interface.clone(),
            calls: called_flow_names(&s.context, &BTreeMap::new()),
            document: Some(if s.flow_type == FlowType::Module {
                module_doc()
            } else {
                caller_doc()
            }),
            drift: None,
            locked_by: None,
        })
        .collect()
}

fn actions(plan: &Plan) -> Vec<(&str, Action)> {
    plan.steps
        .iter()
        .map(|s| (s.flow_name.as_str(), s.action))
        .collect()
}

#[test]
fn seed_composition_puts_the_module_first_and_callers_after_it() {
    let plan = plan(&seed_request(), &seed_sources(1), &[]).unwrap();
    assert_eq!(
        actions(&plan),
        [
            ("Shared_Module_Language_Select", Action::Create),
            ("Inbound_Flow_A", Action::Create),
            ("Inbound_Flow_B", Action::Create),
        ]
    );
    assert_eq!(plan.steps[0].flow_type, FlowType::Module);
    assert!(
        plan.steps[0].yaml.starts_with("commonModule:"),
        "{}",
        plan.steps[0].yaml
    );
    assert_eq!(plan.steps[1].depends_on, [0]);
    assert_eq!(plan.steps[2].depends_on, [0]);
    assert!(plan.steps[1].yaml.contains("Shared_Module_Language_Select"));
    assert!(plan.steps[1].yaml.contains("name: Inbound_Flow_A"));
    assert!(plan.steps[2].yaml.contains("name: Inbound_Flow_B"));
    assert_ne!(plan.steps[1].plan_hash, plan.steps[2].plan_hash);
    assert!(
        plan.warnings.iter().any(|w| w.code == "inbound_as_module"),
        "{:?}",
        plan.warnings
    );
    // The module's outputs are recorded for later callers.
    let io = plan.steps[0].interface.as_ref().unwrap();
    assert!(io.outputs.contains_key("shared_module_result"));
}

#[test]
fn callers_of_one_template_with_the_same_params_are_each_planned_as_themselves() {
    // Validated once for A and B (same template version, params and modules), not for C.
    let mut req = seed_request();
    req.flows[2].params = req.flows[1].params.clone();
    req.flows.push(flow(
        "Inbound_Flow_A",
        Some("Inbound_Flow_C"),
        json!({"queue_id": "q-3"}),
    ));
    let mut sources = seed_sources(1);
    sources.push(Some(src(caller_doc(), 1)));
    let shared = plan(&req, &sources, &[]).unwrap();
    let alone = |i: usize| {
        let one = JobRequest {
            flows: vec![req.flows[0].clone(), req.flows[i].clone()],
            ..seed_request()
        };
        plan(&one, &[sources[0].clone(), sources[i].clone()], &[])
            .unwrap()
            .steps
            .remove(1)
    };
    for (i, name) in [
        (1, "Inbound_Flow_A"),
        (2, "Inbound_Flow_B"),
        (3, "Inbound_Flow_C"),
    ] {
        let step = &shared.steps[i];
        let by_itself = alone(i);
        assert_eq!(step.flow_name, name);
        assert!(
            step.yaml.contains(&format!("name: {name}")),
            "{}",
            step.yaml
        );
        assert_eq!(step.yaml, by_itself.yaml, "{name}");
        assert_eq!(step.plan_hash, by_itself.plan_hash, "{name}");
        assert_eq!(step.warnings, by_itself.warnings, "{name}");
        assert_eq!(step.context, by_itself.context, "{name}");
    }
    assert!(shared.steps[3].yaml.contains("q-3"));
    assert!(!shared.steps[2].yaml.contains("q-3"));
}

#[test]
fn callers_listed_first_still_come_after_their_module() {
    let mut req = seed_request();
    req.flows.rotate_left(1);
    let mut sources = seed_sources(1);
    sources.rotate_left(1);
    let plan = plan(&req, &sources, &[]).unwrap();
    assert_eq!(plan.steps[0].flow_name, "Shared_Module_Language_Select");
    assert_eq!(plan.steps[2].depends_on, [0]);
}

#[test]
fn the_same_request_again_is_unchanged() {
    let first = plan(&seed_request(), &seed_sources(1), &[]).unwrap();
    let again = plan(&seed_request(), &seed_sources(1), &records_of(&first)).unwrap();
    assert!(
        again.steps.iter().all(|s| s.action == Action::Unchanged),
        "{:?}",
        actions(&again)
    );
    assert_eq!(again.steps[0].flow_id.as_deref(), Some("id-0"));
    assert_eq!(again.steps[0].published_version.as_deref(), Some("1.0"));
}

#[test]
fn a_changed_module_alone_republishes_its_recorded_callers() {
    let first = plan(&seed_request(), &seed_sources(1), &[]).unwrap();
    let records = records_of(&first);
    let mut doc = module_doc();
    doc["draft"]["nodes"]["SayHello"]["properties"]["sayText"] = json!("Hello again. Press 1.");
    let req = JobRequest {
        flows: vec![flow("Shared_Module_Language_Select", None, json!({}))],
        ..seed_request()
    };
    let plan2 = plan(&req, &[Some(src(doc.clone(), 2))], &records).unwrap();
    assert_eq!(
        actions(&plan2),
        [
            ("Shared_Module_Language_Select", Action::Update),
            ("Inbound_Flow_A", Action::Republish),
            ("Inbound_Flow_B", Action::Republish),
        ]
    );
    assert_eq!(plan2.steps[1].depends_on, [0]);
    assert_eq!(plan2.steps[2].params["queue_id"], "q-2");

    // Without cascade: a warning names the callers left behind.
    let req = JobRequest {
        cascade: false,
        ..req
    };
    let plan3 = plan(&req, &[Some(src(doc, 2))], &records).unwrap();
    assert_eq!(plan3.steps.len(), 1);
    assert!(
        plan3
            .warnings
            .iter()
            .any(|w| w.code == "callers_not_republished")
    );
}

#[test]
fn a_caller_in_the_job_with_a_changed_module_is_republished() {
    let first = plan(&seed_request(), &seed_sources(1), &[]).unwrap();
    let mut records = records_of(&first);
    records[0].plan_hash = "old".into();
    let again = plan(&seed_request(), &seed_sources(2), &records).unwrap();
    assert_eq!(
        actions(&again),
        [
            ("Shared_Module_Language_Select", Action::Update),
            ("Inbound_Flow_A", Action::Republish),
            ("Inbound_Flow_B", Action::Republish),
        ]
    );
}

/// A caller whose cascaded republish failed keeps a record older than its module's: the
/// next job that names it, or its module, publishes it again instead of calling it unchanged.
#[test]
fn a_caller_recorded_before_its_module_is_republished_by_the_next_job() {
    let first = plan(&seed_request(), &seed_sources(1), &[]).unwrap();
    let mut records = records_of(&first);
    // The module was written again later; Inbound_Flow_B's republish failed, A's succeeded.
    records[0].updated_at = "2026-12-03T11:00:00.000Z".into();
    records[1].updated_at = "2026-12-03T11:00:01.000Z".into();

    let again = plan(&seed_request(), &seed_sources(1), &records).unwrap();
    assert_eq!(
        actions(&again),
        [
            ("Shared_Module_Language_Select", Action::Unchanged),
            ("Inbound_Flow_A", Action::Unchanged),
            ("Inbound_Flow_B", Action::Republish),
        ]
    );
    assert_eq!(again.steps[2].depends_on, [0]);

    // The module alone, unchanged: its stale caller is cascaded, the current one is not.
    let req = JobRequest {
        flows: vec![flow("Shared_Module_Language_Select", None, json!({}))],
        ..seed_request()
    };
    let alone = plan(&req, &[Some(src(module_doc(), 1))], &records).unwrap();
    assert_eq!(
        actions(&alone),
        [
            ("Shared_Module_Language_Select", Action::Unchanged),
            ("Inbound_Flow_B", Action::Republish),
        ]
    );
    assert_eq!(alone.steps[1].params["queue_id"], "q-2");

    // Without cascade it is named in the warning instead.
    let req = JobRequest {
        cascade: false,
        ..req
    };
    let kept = plan(&req, &[Some(src(module_doc(), 1))], &records).unwrap();
    assert_eq!(kept.steps.len(), 1);
    let warning = kept
        .warnings
        .iter()
        .find(|w| w.code == "callers_not_republished")
        .expect("a warning");
    assert!(warning.message.contains("Inbound_Flow_B"), "{warning:?}");
    assert!(!warning.message.contains("Inbound_Flow_A"), "{warning:?}");
}

#[test]
fn a_caller_alone_finds_its_module_in_the_records() {
    let first = plan(&seed_request(), &seed_sources(1), &[]).unwrap();
    let records = records_of(&first);
    let req = JobRequest {
        flows: vec![flow(
            "Inbound_Flow_A",
            Some("Inbound_Flow_C"),
            json!({"queue_id": "q-3"}),
        )],
        ..seed_request()
    };
    let p = plan(&req, &[Some(src(caller_doc(), 1))], &records).unwrap();
    assert_eq!(actions(&p), [("Inbound_Flow_C", Action::Create)]);
    assert!(p.steps[0].depends_on.is_empty());
    assert_eq!(
        p.steps[0].context.modules["Shared_Module_Language_Select"].flow_name,
        "Shared_Module_Language_Select"
    );
}

#[test]
fn an_unresolved_module_names_the_node() {
    let req = JobRequest {
        flows: vec![flow("Inbound_Flow_A", None, json!({"queue_id": "q"}))],
        ..seed_request()
    };
    let errs = plan(&req, &[Some(src(caller_doc(), 1))], &[]).unwrap_err();
    assert_eq!(errs[0].code, "module_unresolved");
    assert_eq!(
        errs[0].pointer,
        "/flows/0/draft/nodes/CallShared/properties/flowName"
    );
    assert!(errs[0].message.contains("CallShared"));
}

#[test]
fn a_missing_parameter_points_at_the_params() {
    let mut req = seed_request();
    req.flows[1].params.clear();
    let errs = plan(&req, &seed_sources(1), &[]).unwrap_err();
    assert_eq!(errs[0].code, "missing_parameter");
    assert_eq!(errs[0].pointer, "/flows/1/params/queue_id");
}

#[test]
fn duplicate_flow_names_and_unknown_templates_are_refused() {
    let mut req = seed_request();
    req.flows[2].name = Some("Inbound_Flow_A".into());
    let errs = plan(&req, &seed_sources(1), &[]).unwrap_err();
    assert_eq!(errs[0].code, "duplicate_flow_name");
    assert_eq!(errs[0].pointer, "/flows/2/name");

    let errs = plan(&seed_request(), &[None, None, None], &[]).unwrap_err();
    assert_eq!(errs.len(), 3);
    assert_eq!(errs[0].pointer, "/flows/0/template");
}

#[test]
fn a_flow_id_is_resolved_at_run_time() {
    let mut doc = caller_doc();
    doc["draft"]["nodes"]["CallShared"]["properties"] = json!({"flowId": "3f1c-module", "outputs": {"shared_module_result": "shared_module_result"}});
    let req = JobRequest {
        flows: vec![flow("Inbound_Flow_A", None, json!({"queue_id": "q"}))],
        ..seed_request()
    };
    let p = plan(&req, &[Some(src(doc.clone(), 1))], &[]).unwrap();
    assert_eq!(module_ids(&p.steps[0].context), ["3f1c-module"]);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.code == "module_resolved_at_run_time")
    );
    // At run time the resolved name replaces the id.
    let (flow, _) = prepare(&doc, &req.flows[0].params, &p.steps[0].context).unwrap();
    let resolved = BTreeMap::from([("3f1c-module".to_owned(), "Real_Module".to_owned())]);
    let queues = BTreeMap::from([("q".to_owned(), "General".to_owned())]);
    let c = compile_step(
        &flow,
        "Inbound_Flow_A",
        &p.steps[0].context,
        &queues,
        &resolved,
    )
    .unwrap();
    assert!(c.yaml.contains("Real_Module"), "{}", c.yaml);
    assert!(c.yaml.contains("General"), "{}", c.yaml);
    assert_ne!(c.content_hash, p.steps[0].plan_hash);
}

#[test]
fn run_time_compile_without_queue_names_reproduces_the_plan_hash() {
    let p = plan(&seed_request(), &seed_sources(1), &[]).unwrap();
    let s = &p.steps[1];
    let (flow, _) = prepare(&caller_doc(), &s.params, &s.context).unwrap();
    assert_eq!(queue_ids(&flow).into_iter().collect::<Vec<_>>(), ["q-1"]);
    let c = compile_step(
        &flow,
        &s.flow_name,
        &s.context,
        &BTreeMap::new(),
        &BTreeMap::new(),
    )
    .unwrap();
    assert_eq!(c.content_hash, s.plan_hash);
}

#[test]
fn a_module_that_calls_a_module_is_refused() {
    // The caller template is itself called by another flow of the job.
    let mut outer = caller_doc();
    outer["name"] = json!("Outer");
    outer["draft"]["nodes"]["CallShared"]["properties"]["flowName"] = json!("Inbound_Flow_A");
    let mut req = seed_request();
    req.flows
        .push(flow("Outer", None, json!({"queue_id": "q"})));
    let mut sources = seed_sources(1);
    sources.push(Some(src(outer, 1)));
    let errs = plan(&req, &sources, &[]).unwrap_err();
    assert!(
        errs.iter().any(|e| e.code == "module_calls_module"),
        "{errs:?}"
    );
}

#[test]
fn drift_plans_a_recorded_flow_again_and_says_why() {
    let first = plan(&seed_request(), &seed_sources(1), &[]).unwrap();
    let mut records = records_of(&first);
    records[1].drift = Some(Drift::PublishedElsewhere {
        recorded_version: Some("1.0".into()),
        org_version: Some("2.0".into()),
    });
    records[2].drift = Some(Drift::Deleted);
    let p = plan(&seed_request(), &seed_sources(1), &records).unwrap();
    let actions: Vec<Action> = p.steps.iter().map(|s| s.action).collect();
    assert_eq!(actions, [Action::Unchanged, Action::Update, Action::Create]);
    assert!(
        p.steps[1]
            .warnings
            .iter()
            .any(|w| w.code == "published_elsewhere")
    );
    assert!(
        p.steps[2]
            .warnings
            .iter()
            .any(|w| w.code == "deleted_in_org")
    );
    assert_eq!(p.steps[1].context.drift, records[1].drift);
    assert_eq!(p.steps[0].context.drift, None);
}

#[test]
fn a_lock_seen_by_the_plan_is_carried_to_the_step() {
    let first = plan(&seed_request(), &seed_sources(1), &[]).unwrap();
    let mut records = records_of(&first);
    records[0].locked_by = Some("client x".into());
    records[1].locked_by = Some("client x".into());
    let mut req = seed_request();
    req.on_locked = OnLocked::Wait;
    let mut sources = seed_sources(2);
    let mut doc = module_doc();
    doc["draft"]["nodes"]["SayHello"]["properties"]["sayText"] = json!("Changed.");
    sources[0] = Some(src(doc, 2));
    let p = plan(&req, &sources, &records).unwrap();
    // The module changed (version 2), so it and its callers run; only locked flows warn.
    assert_eq!(p.steps[0].context.locked_by.as_deref(), Some("client x"));
    assert_eq!(p.steps[0].context.on_locked, OnLocked::Wait);
    assert!(p.steps[0].warnings.iter().any(|w| w.code == "flow_locked"));
    assert_eq!(p.steps[2].context.locked_by, None);
    assert_eq!(p.steps[2].context.org_flow_id.as_deref(), Some("id-2"));
}

#[test]
fn deletes_order_callers_before_their_module() {
    let first = plan(&seed_request(), &seed_sources(1), &[]).unwrap();
    let records = records_of(&first);
    let mut req = seed_request();
    req.flows.clear();
    req.delete = vec![
        "Shared_Module_Language_Select".into(),
        "Inbound_Flow_B".into(),
        "Inbound_Flow_A".into(),
    ];
    let p = plan(&req, &[], &records).unwrap();
    let order: Vec<&str> = p.steps.iter().map(|s| s.flow_name.as_str()).collect();
    assert_eq!(
        order,
        [
            "Inbound_Flow_B",
            "Inbound_Flow_A",
            "Shared_Module_Language_Select"
        ]
    );
    assert!(p.steps.iter().all(|s| s.action == Action::Delete));
    assert_eq!(p.steps[2].depends_on, [1, 0]);
    assert_eq!(p.steps[2].context.org_flow_id.as_deref(), Some("id-0"));
}

#[test]
fn a_delete_of_an_unknown_or_provisioned_flow_is_refused() {
    let first = plan(&seed_request(), &seed_sources(1), &[]).unwrap();
    let records = records_of(&first);
    let mut req = seed_request();
    req.delete = vec!["Inbound_Flow_A".into(), "Nope".into()];
    let errs = plan(&req, &seed_sources(1), &records).unwrap_err();
    let codes: Vec<(&str, &str)> = errs
        .iter()
        .map(|e| (e.code.as_str(), e.pointer.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            ("delete_and_provision", "/delete/0"),
            ("unknown_flow", "/delete/1")
        ]
    );
}
