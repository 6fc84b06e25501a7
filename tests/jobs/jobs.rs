use serde_json::{Value, json};

use crate::helpers::*;

async fn setup(job_ms: u64) -> (Org, tempfile::TempDir, TestApp) {
    let org = spawn_org(job_ms).await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(&org, dir.path(), fast_worker()).await;
    store_seed(&app).await;
    (org, dir, app)
}

#[tokio::test]
async fn seed_composition_is_provisioned_then_unchanged_then_cascaded() {
    // Arrange
    let (org, _dir, app) = setup(100).await;
    let request = seed_request(&org).await;

    // Act
    let resp = app.post("/v1/jobs", &request).await;
    assert_eq!(resp.status().as_u16(), 202);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = resp.json().await.unwrap();
    assert_eq!(
        location,
        format!("/v1/jobs/{}", created["id"].as_str().unwrap())
    );
    let job = app
        .wait_terminal(created["id"].as_str().unwrap(), LONG)
        .await;

    // Assert: the job and the org agree.
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert_eq!(job["progress"]["succeeded"], 3);
    assert!(
        job["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "inbound_as_module")
    );
    assert_eq!(steps(&job)[0]["flow_name"], MODULE);
    assert_eq!(steps(&job)[0]["flow_type"], "module");
    for s in steps(&job) {
        assert_eq!(s["action"], "create");
        assert!(s["flow_id"].as_str().is_some(), "{s:#}");
        assert!(s["published_version"].as_str().is_some(), "{s:#}");
        assert!(s["genesys_job_id"].as_str().is_some(), "{s:#}");
    }
    let flows = org.flows().await;
    let modules: Vec<&Value> = flows
        .iter()
        .filter(|f| f["type"] == "COMMONMODULE")
        .collect();
    let callers: Vec<&Value> = flows
        .iter()
        .filter(|f| f["type"] == "INBOUNDCALL")
        .collect();
    assert_eq!(
        (modules.len(), callers.len(), flows.len()),
        (1, 2, 3),
        "{flows:#?}"
    );
    assert_eq!(modules[0]["name"], MODULE);
    assert_eq!(modules[0]["id"], step(&job, MODULE)["flow_id"]);
    for c in &callers {
        assert!(c["publishedVersion"].as_str().is_some());
        let latest = c["versions"].as_array().unwrap().last().unwrap();
        assert!(latest["yaml"].as_str().unwrap().contains(MODULE));
        assert_eq!(c["id"], step(&job, c["name"].as_str().unwrap())["flow_id"]);
    }
    // The deployed caller YAML names its queue, resolved from the id.
    let yaml = app
        .get("/v1/flows/org/Inbound_Flow_B/yaml")
        .await
        .text()
        .await
        .unwrap();
    assert!(yaml.contains("Billing"), "{yaml}");
    let records: Value = app.get("/v1/flows?target=org").await.json().await.unwrap();
    assert_eq!(records["items"].as_array().unwrap().len(), 3);
    let modules_only: Value = app
        .get("/v1/flows?target=org&type=module")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(modules_only["items"][0]["name"], MODULE);

    // Act: the same request again.
    let registered = org.jobs_registered().await;
    let again = app.submit(&request).await;
    let again = app.wait_terminal(again["id"].as_str().unwrap(), LONG).await;

    // Assert: nothing changes, no Architect job.
    assert_eq!(again["status"], "succeeded");
    assert!(
        steps(&again).iter().all(|s| s["action"] == "unchanged"),
        "{again:#}"
    );
    assert_eq!(again["progress"]["unchanged"], 3);
    assert_eq!(
        step(&again, MODULE)["flow_id"],
        step(&job, MODULE)["flow_id"]
    );
    assert_eq!(org.jobs_registered().await, registered);

    // Act: a changed module, provisioned alone.
    let mut module = fixture("seed_shared_module.json");
    module["draft"]["nodes"]["SayHello"]["properties"]["sayText"] =
        json!("Welcome back. Press 1 for English.");
    app.store(&module).await;
    let cascade = app
        .submit(&json!({"target": TARGET, "flows": [{"template": MODULE}]}))
        .await;
    let cascade = app
        .wait_terminal(cascade["id"].as_str().unwrap(), LONG)
        .await;

    // Assert: both callers republished by themselves.
    assert_eq!(cascade["status"], "succeeded", "{cascade:#}");
    assert_eq!(step(&cascade, MODULE)["action"], "update");
    assert_eq!(step(&cascade, "Inbound_Flow_A")["action"], "republish");
    assert_eq!(step(&cascade, "Inbound_Flow_B")["action"], "republish");
    let flows = org.flows().await;
    assert_eq!(flows.len(), 3);
    for f in &flows {
        assert_eq!(f["versions"].as_array().unwrap().len(), 2, "{f:#}");
    }
}

/// Callers register their Architect jobs while the module's job runs and upload once it
/// succeeded (the sandbox refuses a caller whose module is not published); the published
/// versions are then read in one request: two Platform API requests per flow plus polls.
#[tokio::test]
async fn callers_register_while_the_module_publishes_and_versions_are_read_in_one_batch() {
    let (org, _dir, app) = setup(1500).await;
    let job = app.submit(&seed_request(&org).await).await;
    let id = job["id"].as_str().unwrap();

    let early = app
        .wait_for(id, LONG, |j| {
            step(j, MODULE)["state"] == "running"
                && steps(j).iter().all(|s| s["genesys_job_id"].is_string())
        })
        .await;
    assert!(step(&early, CALLER)["flow_id"].is_null(), "{early:#}");
    let job = app.wait_terminal(id, LONG).await;

    assert_eq!(job["status"], "succeeded", "{job:#}");
    for s in steps(&job) {
        assert_eq!(s["published_version"], "1.0", "{s:#}");
    }
    let records: Value = app.get("/v1/flows?target=org").await.json().await.unwrap();
    let items = records["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(
        items.iter().all(|r| r["published_version"] == "1.0"),
        "{records:#}"
    );
    let counters = org.admin("/sandbox/counters").await;
    let endpoint = |e: &str| counters["endpoints"][e]["total"].as_u64().unwrap_or(0);
    assert_eq!(endpoint("POST /api/v2/flows/jobs"), 3, "{counters:#}");
    assert_eq!(endpoint("GET /api/v2/flows"), 1, "{counters:#}");
    assert_eq!(endpoint("GET /api/v2/flows/{flowId}"), 0, "{counters:#}");
}

#[tokio::test]
async fn dry_run_plans_without_calling_genesys() {
    let (org, _dir, app) = setup(100).await;
    let mut request = seed_request(&org).await;
    request["dry_run"] = json!(true);
    let job = app.submit(&request).await;
    assert_eq!(job["status"], "succeeded");
    assert!(job["dry_run"].as_bool().unwrap());
    assert!(
        steps(&job)
            .iter()
            .all(|s| s["state"] == "skipped" && s["action"] == "create")
    );
    assert_eq!(org.jobs_registered().await, 0);
    assert!(org.flows().await.is_empty());
    let retry = app
        .post(
            &format!("/v1/jobs/{}/retry", job["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(retry.status().as_u16(), 409);
}

#[tokio::test]
async fn idempotency_key_replays_and_conflicts() {
    let (org, _dir, app) = setup(100).await;
    let mut request = seed_request(&org).await;
    request["dry_run"] = json!(true);
    let post = |body: Value, key: &'static str| {
        let app = &app;
        async move {
            app.http
                .post(app.url("/v1/jobs"))
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let first = post(request.clone(), "k-1").await;
    assert_eq!(first.status().as_u16(), 202);
    let first: Value = first.json().await.unwrap();
    let replay = post(request.clone(), "k-1").await;
    assert_eq!(replay.status().as_u16(), 200);
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["id"], first["id"]);

    request["description"] = json!("something else");
    let conflict = post(request, "k-1").await;
    assert_eq!(conflict.status().as_u16(), 422);
    let p: Value = conflict.json().await.unwrap();
    assert_eq!(p["errors"][0]["code"], "idempotency_key_reused");
    let list: Value = app.get("/v1/jobs").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn unplannable_requests_are_422_naming_the_culprit() {
    let (org, _dir, app) = setup(100).await;
    let mut request = seed_request(&org).await;

    request["target"] = json!("nowhere");
    let p: Value = app.post("/v1/jobs", &request).await.json().await.unwrap();
    assert_eq!(p["status"], 422);
    assert_eq!(p["errors"][0]["pointer"], "/target");

    request["target"] = json!(TARGET);
    request["flows"][1]["params"] = json!({});
    let p: Value = app.post("/v1/jobs", &request).await.json().await.unwrap();
    assert_eq!(p["status"], 422);
    assert_eq!(p["errors"][0]["code"], "missing_parameter");
    assert_eq!(p["errors"][0]["pointer"], "/flows/1/params/queue_id");

    let caller_alone =
        json!({"target": TARGET, "flows": [{"template": CALLER, "params": {"queue_id": "q"}}]});
    let p: Value = app
        .post("/v1/jobs", &caller_alone)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p["status"], 422, "{p:#}");
    assert_eq!(p["errors"][0]["code"], "module_unresolved");
    assert_eq!(
        p["errors"][0]["pointer"],
        "/flows/0/draft/nodes/CallShared/properties/flowName"
    );
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("CallShared")
    );

    // The hint names the stored module when the call is only left out of the job...
    assert_eq!(
        p["errors"][0]["hint"],
        format!("add template '{MODULE}' to this job's flows")
    );
    // ...and the closest stored template when the called one is not stored at all.
    let mut typo = fixture("seed_inbound_flow.json");
    typo["name"] = json!("Typo_Flow");
    typo["draft"]["nodes"]["CallShared"]["properties"]["flowName"] =
        json!("Shared_Module_Language_Selekt");
    app.store(&typo).await;
    let typo_alone = json!({"target": TARGET, "flows": [{"template": "Typo_Flow", "params": {"queue_id": "q"}}]});
    let p: Value = app
        .post("/v1/jobs", &typo_alone)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p["errors"][0]["code"], "module_unresolved", "{p:#}");
    assert_eq!(
        p["errors"][0]["hint"],
        format!("no template 'Shared_Module_Language_Selekt' is stored; did you mean '{MODULE}'?")
    );

    let unknown_field = json!({"target": TARGET, "flows": [], "bogus": 1});
    let p: Value = app
        .post("/v1/jobs", &unknown_field)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p["status"], 422);

    let no_publish = json!({"target": TARGET, "flows": [{"template": MODULE}], "publish": false});
    let p: Value = app
        .post("/v1/jobs", &no_publish)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p["errors"][0]["pointer"], "/publish");
    assert_eq!(org.jobs_registered().await, 0);
}

#[tokio::test]
async fn cancel_stops_scheduling_and_the_job_ends_cancelled() {
    let (org, _dir, app) = setup(1500).await;
    let job = app.submit(&seed_request(&org).await).await;
    let id = job["id"].as_str().unwrap();
    // Cancel while the module step runs: its callers never start.
    app.wait_for(id, LONG, |j| j["steps"][0]["state"] == "running")
        .await;
    let r = app.post(&format!("/v1/jobs/{id}/cancel"), &json!({})).await;
    assert_eq!(r.status().as_u16(), 202);
    let job = app.wait_terminal(id, LONG).await;
    assert_eq!(job["status"], "cancelled", "{job:#}");
    assert_eq!(step(&job, MODULE)["state"], "succeeded");
    assert_eq!(step(&job, "Inbound_Flow_A")["state"], "cancelled");
    assert_eq!(job["progress"]["cancelled"], 2);
    let again = app.post(&format!("/v1/jobs/{id}/cancel"), &json!({})).await;
    assert_eq!(again.status().as_u16(), 409);
    // A cancelled job can be retried: the rest is provisioned.
    let r = app.post(&format!("/v1/jobs/{id}/retry"), &json!({})).await;
    assert_eq!(r.status().as_u16(), 202);
    let job = app.wait_terminal(id, LONG).await;
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert_eq!(org.flows().await.len(), 3);
}

#[tokio::test]
async fn architect_failures_skip_callers_and_retry_succeeds() {
    let (org, _dir, app) = setup(50).await;
    org.faults(json!({"job_failure_rate": 1.0})).await;
    let job = app.submit(&seed_request(&org).await).await;
    let id = job["id"].as_str().unwrap();
    let job = app.wait_terminal(id, LONG).await;
    assert_eq!(job["status"], "failed", "{job:#}");
    let module = step(&job, MODULE);
    assert_eq!(module["state"], "failed");
    assert_eq!(module["error"]["kind"], "architect_job_failed");
    assert!(
        module["error"]["messages"][0]["text"]
            .as_str()
            .unwrap()
            .contains("exit code: 107")
    );
    assert!(module["error"]["genesys_job_id"].as_str().is_some());
    for caller in ["Inbound_Flow_A", "Inbound_Flow_B"] {
        let s = step(&job, caller);
        assert_eq!(s["state"], "skipped");
        assert_eq!(s["error"]["kind"], "dependency_failed");
    }
    // A running or succeeded job cannot be retried; a failed one can.
    org.faults(json!({"job_failure_rate": 0.0})).await;
    let r = app.post(&format!("/v1/jobs/{id}/retry"), &json!({})).await;
    assert_eq!(r.status().as_u16(), 202);
    let job = app.wait_terminal(id, LONG).await;
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert!(job["attempt"].as_i64().unwrap() >= 2);
    assert_eq!(org.flows().await.len(), 3);
    let r = app.post(&format!("/v1/jobs/{id}/retry"), &json!({})).await;
    assert_eq!(r.status().as_u16(), 409);
}

#[tokio::test]
async fn an_unknown_queue_fails_the_job_in_the_preflight_before_any_publish() {
    let (org, _dir, app) = setup(50).await;
    let lonely = json!({
        "name": "Lonely_Route",
        "type": "inbound",
        "parameters": {"queue": {"type": "string", "required": true}},
        "draft": {"startNode": "R", "nodes": {
            "R": {"id": "R", "type": "Route", "properties": {"queueName": "{{queue}}"},
                  "onError": {"nextNode": "Bye"}},
            "Bye": {"id": "Bye", "type": "Disconnect"}
        }}
    });
    app.store(&lonely).await;
    let mut request = seed_request(&org).await;
    request["flows"]
        .as_array_mut()
        .unwrap()
        .push(json!({"template": "Lonely_Route", "params": {"queue": "No Such Queue"}}));
    let job = app.submit(&request).await;
    let job = app.wait_terminal(job["id"].as_str().unwrap(), LONG).await;
    assert_eq!(job["status"], "failed");
    let error = job["error"].as_str().unwrap();
    assert!(
        error.contains("queue 'No Such Queue' is missing; used by flow 'Lonely_Route' node 'R'"),
        "{job:#}"
    );
    for f in [MODULE, "Inbound_Flow_A", "Inbound_Flow_B", "Lonely_Route"] {
        assert_eq!(step(&job, f)["state"], "pending", "{f}");
    }
    assert_eq!(org.jobs_registered().await, 0);
    // Once the queue exists, a retry publishes everything.
    org.admin_post("/sandbox/queues", json!({"name": "No Such Queue"}))
        .await;
    let r = app
        .post(
            &format!("/v1/jobs/{}/retry", job["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 202, "{}", r.text().await.unwrap());
    let job = app.wait_terminal(job["id"].as_str().unwrap(), LONG).await;
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert_eq!(org.flows().await.len(), 4);
}

/// Flows a job leaves `unchanged` (created succeeded) do not skip the preflight of the
/// flows it does publish; a dry run of the same request reports the same error.
#[tokio::test]
async fn the_preflight_runs_when_some_flows_are_unchanged() {
    let (org, _dir, app) = setup(50).await;
    let request = seed_request(&org).await;
    let first = app.submit(&request).await;
    let first = app.wait_terminal(first["id"].as_str().unwrap(), LONG).await;
    assert_eq!(first["status"], "succeeded", "{first:#}");
    let registered = org.jobs_registered().await;
    app.store(&json!({
        "name": "Lonely_Route",
        "type": "inbound",
        "draft": {"startNode": "R", "nodes": {
            "R": {"id": "R", "type": "Route", "properties": {"queueName": "No Such Queue"},
                  "onError": {"nextNode": "Bye"}},
            "Bye": {"id": "Bye", "type": "Disconnect"}
        }}
    }))
    .await;
    let mut request = request;
    request["flows"]
        .as_array_mut()
        .unwrap()
        .push(json!({"template": "Lonely_Route"}));
    let mut dry = request.clone();
    dry["dry_run"] = json!(true);
    let dry = app.submit(&dry).await;
    let job = app.submit(&request).await;
    assert_eq!(step(&job, MODULE)["action"], "unchanged", "{job:#}");
    let job = app.wait_terminal(job["id"].as_str().unwrap(), LONG).await;
    assert_eq!(job["status"], "failed", "{job:#}");
    let error = job["error"].as_str().unwrap();
    assert!(
        error.contains("queue 'No Such Queue' is missing; used by flow 'Lonely_Route' node 'R'"),
        "{job:#}"
    );
    assert_eq!(step(&job, "Lonely_Route")["state"], "pending", "{job:#}");
    assert_eq!(
        org.jobs_registered().await,
        registered,
        "nothing was published"
    );
    assert_eq!(dry["status"], "failed", "{dry:#}");
    assert_eq!(dry["error"].as_str(), Some(error), "{dry:#}");
}

#[tokio::test]
async fn events_stream_replays_and_closes_after_the_final_event() {
    let (org, _dir, app) = setup(50).await;
    let job = app.submit(&seed_request(&org).await).await;
    let id = job["id"].as_str().unwrap().to_owned();
    // Follow live from the start: the stream ends by itself after the job's last event.
    let live = tokio::time::timeout(
        LONG,
        app.http
            .get(app.url(&format!("/v1/jobs/{id}/events")))
            .send(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        live.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let body = tokio::time::timeout(LONG, live.text())
        .await
        .unwrap()
        .unwrap();
    for kind in [
        "job.created",
        "job.started",
        "step.started",
        "step.registered",
        "step.succeeded",
        "job.succeeded",
    ] {
        assert!(
            body.contains(&format!("event: {kind}")),
            "{kind} missing in {body}"
        );
    }
    assert_eq!(body.matches("event: step.succeeded").count(), 3);
    // Replay after an event id: only the later ones.
    let last: Value = app.job(&id).await;
    assert_eq!(last["status"], "succeeded");
    let tail = app
        .http
        .get(app.url(&format!("/v1/jobs/{id}/events")))
        .header("Last-Event-ID", "2")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!tail.contains("event: job.created"));
    assert!(tail.contains("event: job.succeeded"));
    let missing = app.get("/v1/jobs/nope/events").await;
    assert_eq!(missing.status().as_u16(), 404);
}

#[tokio::test]
async fn job_lists_filter_and_page() {
    let (org, _dir, app) = setup(50).await;
    let mut request = seed_request(&org).await;
    request["dry_run"] = json!(true);
    for _ in 0..3 {
        app.submit(&request).await;
    }
    let page: Value = app
        .get("/v1/jobs?page_size=2&status=succeeded&target=org")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let token = page["next_page_token"].as_str().unwrap();
    let rest: Value = app
        .get(&format!("/v1/jobs?page_size=2&page_token={token}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest.get("next_page_token").is_none());
    let bad = app.get("/v1/jobs?status=weird").await;
    assert_eq!(bad.status().as_u16(), 422);
    let none: Value = app
        .get("/v1/jobs?status=failed")
        .await
        .json()
        .await
        .unwrap();
    assert!(none["items"].as_array().unwrap().is_empty());
}

/// Before its first publish, a job resolves every org object its flows name: two missing
/// queues fail the job with one error naming each and the flow and node that uses it, and
/// nothing is published (not even the module, which names nothing missing).
#[tokio::test]
async fn preflight_fails_the_job_before_any_publish_when_objects_are_missing() {
    let org = spawn_org(50).await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(&org, dir.path(), fast_worker()).await;
    let example = |f: &str| -> Value {
        let p = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("examples")
            .join(f);
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    app.store(&example("language_select.json")).await;
    app.store(&example("support_line.json")).await;
    let job = app
        .submit(&json!({
            "target": TARGET,
            "flows": [
                {"template": "Language_Select"},
                {"template": "Support_Line", "params": {"billing_queue": "Billing_Missing", "support_queue": "Support_Missing"}},
            ]
        }))
        .await;
    let job = app.wait_terminal(job["id"].as_str().unwrap(), LONG).await;
    assert_eq!(job["status"], "failed", "{job:#}");
    let error = job["error"].as_str().unwrap();
    assert!(error.contains("(2)"), "{error}");
    assert!(
        error.contains("queue 'Billing_Missing' is missing; used by flow 'Support_Line' node 'ToBilling' (/draft/nodes/ToBilling/properties/queueName)"),
        "{error}"
    );
    assert!(
        error.contains("queue 'Support_Missing' is missing"),
        "{error}"
    );
    assert_eq!(org.jobs_registered().await, 0);
    assert!(org.flows().await.is_empty());
}

/// The contact-centre examples (examples/authenticate.json, business_hours.json,
/// language_select.json, main_line.json) provision through one job: against an org without
/// the data action and schedule group they name, a dry run reports the preflight's error
/// and the real job fails with the same error, listing both with their flows and nodes,
/// and nothing is published; once the objects of examples/sandbox-org.json are created
/// through the admin API, a dry run succeeds and a retry publishes all four.
#[tokio::test]
async fn the_contact_centre_examples_provision_once_their_org_objects_exist() {
    let org = spawn_org(30).await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(&org, dir.path(), fast_worker()).await;
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("examples");
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(root.join(f)).unwrap()).unwrap()
    };
    for f in [
        "language_select.json",
        "business_hours.json",
        "authenticate.json",
        "main_line.json",
    ] {
        app.store(&read(f)).await;
    }
    let request = json!({
        "target": TARGET,
        "flows": [
            {"template": "Language_Select"},
            {"template": "Business_Hours"},
            {"template": "Authenticate"},
            {"template": "Main_Line"},
        ]
    });
    let mut dry_request = request.clone();
    dry_request["dry_run"] = json!(true);
    let dry = app.submit(&dry_request).await;
    assert_eq!(dry["status"], "failed", "{dry:#}");
    let dry_error = dry["error"]
        .as_str()
        .expect("the dry run names the missing objects");
    assert!(
        steps(&dry).iter().all(|s| s["state"] == "skipped"),
        "{dry:#}"
    );

    let job = app.submit(&request).await;
    let id = job["id"].as_str().unwrap().to_owned();
    let job = app.wait_terminal(&id, LONG).await;
    assert_eq!(job["status"], "failed", "{job:#}");
    let error = job["error"].as_str().unwrap();
    assert_eq!(
        error, dry_error,
        "a dry run reports what the real job fails on"
    );
    assert!(
        error.contains("data action 'Customer DB/Verify PIN' is missing; used by flow 'Authenticate' node 'Verify' (/draft/nodes/Verify/properties/action)"),
        "{error}"
    );
    assert!(
        error.contains("schedule group 'Customer Care Hours' is missing; used by flow 'Business_Hours' node 'Evaluate'"),
        "{error}"
    );
    assert!(org.flows().await.is_empty());

    let objects = read("sandbox-org.json");
    for a in objects["dataActions"].as_array().unwrap() {
        org.admin_post("/sandbox/data-actions", a.clone()).await;
    }
    for g in objects["scheduleGroups"].as_array().unwrap() {
        org.admin_post("/sandbox/schedule-groups", g.clone()).await;
    }
    let dry = app.submit(&dry_request).await;
    assert_eq!(dry["status"], "succeeded", "{dry:#}");
    assert!(dry["error"].is_null(), "{dry:#}");
    let r = app.post(&format!("/v1/jobs/{id}/retry"), &json!({})).await;
    assert_eq!(r.status().as_u16(), 202);
    let job = app.wait_terminal(&id, LONG).await;
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert_eq!(org.flows().await.len(), 4);
}
