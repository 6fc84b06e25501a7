//! Releases against the sandbox: someone changes flows in Architect (with a second OAuth
//! client, through the Platform API), flowsmith sees it, repairs it, rolls back, retires
//! flows and respects locks.

use std::time::{Duration, Instant};

use flowsmith_sandbox::{self as sandbox, SandboxOptions};
use reqwest::Client;
use serde_json::{Value, json};

use crate::helpers::*;

const INBOUND_B: &str = "Inbound_Flow_B";

/// A person in Architect: another OAuth client of the same org.
struct Person {
    base: String,
    http: Client,
    token: String,
}

impl Person {
    async fn login(org: &Org) -> Person {
        let http = Client::new();
        let t: Value = http
            .post(format!("{}/oauth/token", org.base))
            .basic_auth("architect", Some("architect-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Person {
            base: org.base.clone(),
            http,
            token: t["access_token"].as_str().unwrap().to_owned(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    /// Publishes a YAML file through the Architect job API, as Archy would.
    async fn publish(&self, yaml: &str) {
        let reg: Value = self
            .call(reqwest::Method::POST, "/api/v2/flows/jobs")
            .await
            .json()
            .await
            .unwrap();
        let mut put = self.http.put(reg["presignedUrl"].as_str().unwrap());
        for (k, v) in reg["headers"].as_object().unwrap() {
            put = put.header(k.as_str(), v.as_str().unwrap());
        }
        assert!(
            put.body(yaml.to_owned())
                .send()
                .await
                .unwrap()
                .status()
                .is_success()
        );
        let path = format!("/api/v2/flows/jobs/{}", reg["id"].as_str().unwrap());
        let start = Instant::now();
        loop {
            let j: Value = self
                .call(reqwest::Method::GET, &path)
                .await
                .json()
                .await
                .unwrap();
            match j["status"].as_str() {
                Some("Success") => return,
                Some("Failure") => panic!("the person's publish failed: {j:#}"),
                _ => {}
            }
            assert!(start.elapsed() < LONG, "the person's publish did not end");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn action(&self, action: &str, flow_id: &str) {
        let r = self
            .call(
                reqwest::Method::POST,
                &format!("/api/v2/flows/actions/{action}?flow={flow_id}"),
            )
            .await;
        assert!(r.status().is_success(), "{action}: {:?}", r.text().await);
    }

    async fn delete(&self, flow_id: &str) {
        let r = self
            .call(reqwest::Method::DELETE, &format!("/api/v2/flows/{flow_id}"))
            .await;
        assert_eq!(r.status().as_u16(), 204, "{:?}", r.text().await);
    }
}

async fn org_with_a_person() -> Org {
    let (base, _sandbox) = sandbox::spawn_local(SandboxOptions {
        queues: vec!["General".into(), "Billing".into()],
        clients: vec![
            format!(
                "{}:{}",
                sandbox::DEFAULT_CLIENT_ID,
                sandbox::DEFAULT_CLIENT_SECRET
            ),
            "architect:architect-secret".into(),
        ],
        job_duration_ms: 50,
        rate_limit: 100_000,
        ..Default::default()
    })
    .await
    .expect("sandbox starts");
    Org {
        base,
        http: Client::new(),
    }
}

async fn setup() -> (Org, tempfile::TempDir, TestApp, Value) {
    let org = org_with_a_person().await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(&org, dir.path(), fast_worker()).await;
    store_seed(&app).await;
    let request = seed_request(&org).await;
    let job = app.submit(&request).await;
    let job = app.wait_terminal(job["id"].as_str().unwrap(), LONG).await;
    assert_eq!(job["status"], "succeeded", "{job:#}");
    (org, dir, app, job)
}

/// The sandbox's flow named `name`.
async fn org_flow(org: &Org, name: &str) -> Option<Value> {
    org.flows().await.into_iter().find(|f| f["name"] == name)
}

/// The YAML of the sandbox flow's published version.
async fn published_yaml(org: &Org, name: &str) -> String {
    let f = org_flow(org, name).await.expect("flow in the org");
    let v = f["publishedVersion"].clone();
    f["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == v)
        .and_then(|x| x["yaml"].as_str())
        .unwrap()
        .to_owned()
}

async fn drift(app: &TestApp) -> Vec<Value> {
    let r = app.get(&format!("/v1/targets/{TARGET}/drift")).await;
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(v["checked_at"].as_str().is_some());
    v["flows"].as_array().unwrap().clone()
}

fn state_of<'a>(flows: &'a [Value], name: &str) -> &'a Value {
    &flows
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {flows:#?}"))["state"]
}

async fn change_module(app: &TestApp, text: &str) {
    let mut module = fixture("seed_shared_module.json");
    module["draft"]["nodes"]["SayHello"]["properties"]["sayText"] = json!(text);
    app.store(&module).await;
}

async fn run(app: &TestApp, body: Value) -> Value {
    let job = app.submit(&body).await;
    app.wait_terminal(job["id"].as_str().unwrap(), LONG).await
}

fn has_warning(step: &Value, code: &str) -> bool {
    step["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["code"] == code)
}

#[tokio::test]
async fn a_flow_republished_elsewhere_is_reported_and_repaired() {
    // Arrange: someone publishes their own edit of flow A.
    let (org, _dir, app, seed) = setup().await;
    let ours = published_yaml(&org, CALLER).await;
    let person = Person::login(&org).await;
    person
        .publish(&format!("{ours}\n# edited in Architect\n"))
        .await;
    assert_ne!(published_yaml(&org, CALLER).await, ours);

    // Act + Assert: the drift report says so.
    let flows = drift(&app).await;
    assert_eq!(
        state_of(&flows, CALLER),
        "published_elsewhere",
        "{flows:#?}"
    );
    assert_eq!(state_of(&flows, INBOUND_B), "in_sync");
    assert_eq!(state_of(&flows, MODULE), "in_sync");
    let a = flows.iter().find(|f| f["name"] == CALLER).unwrap();
    assert_ne!(a["org_version"], a["recorded_version"]);
    // (The gauge is process-wide and other tests share the target name: only its presence.)
    assert!(
        app.get("/metrics")
            .await
            .text()
            .await
            .unwrap()
            .contains(&format!("flowsmith_drifted_flows{{target=\"{TARGET}\"}}"))
    );

    // A dry run of the same request plans flow A again and says why.
    let mut request = seed_request(&org).await;
    request["dry_run"] = json!(true);
    let dry = run(&app, request.clone()).await;
    assert_eq!(step(&dry, CALLER)["action"], "update", "{dry:#}");
    assert!(has_warning(step(&dry, CALLER), "published_elsewhere"));
    assert_eq!(step(&dry, INBOUND_B)["action"], "unchanged");

    // The next job repairs it.
    request["dry_run"] = json!(false);
    let job = run(&app, request).await;
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert_eq!(step(&job, CALLER)["action"], "update");
    assert_eq!(published_yaml(&org, CALLER).await, ours);
    assert_ne!(
        step(&job, CALLER)["published_version"],
        step(&seed, CALLER)["published_version"]
    );
    let flows = drift(&app).await;
    assert!(flows.iter().all(|f| f["state"] == "in_sync"), "{flows:#?}");
}

#[tokio::test]
async fn a_flow_deleted_in_the_org_is_recreated() {
    // Arrange
    let (org, _dir, app, seed) = setup().await;
    let person = Person::login(&org).await;
    let old_id = step(&seed, INBOUND_B)["flow_id"]
        .as_str()
        .unwrap()
        .to_owned();
    person.delete(&old_id).await;

    // Act
    let flows = drift(&app).await;
    let job = run(&app, seed_request(&org).await).await;

    // Assert
    assert_eq!(state_of(&flows, INBOUND_B), "deleted");
    assert_eq!(job["status"], "succeeded", "{job:#}");
    let b = step(&job, INBOUND_B);
    assert_eq!(b["action"], "create", "{job:#}");
    assert!(has_warning(b, "deleted_in_org"));
    let f = org_flow(&org, INBOUND_B).await.expect("recreated");
    assert_ne!(f["id"], old_id);
    assert_eq!(b["flow_id"], f["id"]);
    assert_eq!(step(&job, CALLER)["action"], "unchanged");
}

#[tokio::test]
async fn rollback_of_a_module_change_restores_the_module_and_republishes_its_callers() {
    // Arrange: a job that changes the module (and republishes both callers).
    let (org, _dir, app, seed) = setup().await;
    let module_before = published_yaml(&org, MODULE).await;
    let callers_before = (
        published_yaml(&org, CALLER).await,
        published_yaml(&org, INBOUND_B).await,
    );
    change_module(&app, "Welcome back. Press 1 for English.").await;
    let change = run(
        &app,
        json!({"target": TARGET, "flows": [{"template": MODULE}]}),
    )
    .await;
    assert_eq!(change["status"], "succeeded", "{change:#}");
    assert_ne!(published_yaml(&org, MODULE).await, module_before);

    // Act
    let r = app
        .post(
            &format!("/v1/jobs/{}/rollback", change["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 202);
    let created: Value = r.json().await.unwrap();
    let rollback = app
        .wait_terminal(created["id"].as_str().unwrap(), LONG)
        .await;

    // Assert: the module has its old file again, and its callers were published after it.
    assert_eq!(rollback["status"], "succeeded", "{rollback:#}");
    assert_eq!(steps(&rollback)[0]["flow_name"], MODULE);
    assert_eq!(step(&rollback, MODULE)["action"], "update");
    assert_eq!(step(&rollback, CALLER)["action"], "republish");
    assert_eq!(step(&rollback, INBOUND_B)["action"], "republish");
    assert_eq!(published_yaml(&org, MODULE).await, module_before);
    assert_eq!(
        (
            published_yaml(&org, CALLER).await,
            published_yaml(&org, INBOUND_B).await
        ),
        callers_before
    );
    for name in [MODULE, CALLER, INBOUND_B] {
        let f = org_flow(&org, name).await.unwrap();
        assert_eq!(f["versions"].as_array().unwrap().len(), 3, "{f:#}");
    }
    // The history lists all three releases of the module, newest first.
    let h: Value = app
        .get(&format!("/v1/flows/{TARGET}/{MODULE}/history"))
        .await
        .json()
        .await
        .unwrap();
    let jobs: Vec<&str> = h["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["job_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        jobs,
        [
            rollback["id"].as_str().unwrap(),
            change["id"].as_str().unwrap(),
            seed["id"].as_str().unwrap()
        ]
    );
    assert_eq!(h["releases"][0]["yaml"], module_before);

    // Rolling back the seed job (which created every flow) leaves them in place: 409.
    let r = app
        .post(
            &format!("/v1/jobs/{}/rollback", seed["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 409);
    let p: Value = r.json().await.unwrap();
    assert!(
        p["detail"].as_str().unwrap().contains("leaves it in place"),
        "{p:#}"
    );
}

#[tokio::test]
async fn a_module_with_callers_is_refused_and_deleting_all_orders_callers_first() {
    // Arrange
    let (org, _dir, app, _seed) = setup().await;

    // Act: retire the module alone.
    let r = app
        .http
        .delete(app.url(&format!("/v1/flows/{TARGET}/{MODULE}")))
        .send()
        .await
        .unwrap();

    // Assert: 409 naming both callers; nothing deleted.
    assert_eq!(r.status().as_u16(), 409);
    let p: Value = r.json().await.unwrap();
    let message = p["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains(CALLER) && message.contains(INBOUND_B),
        "{p:#}"
    );
    // The request has no body: the finding points at it as a whole.
    assert_eq!(p["errors"][0]["pointer"], "", "{p:#}");
    assert_eq!(org.flows().await.len(), 3);

    // Act: the module and its callers in one request.
    let job = run(
        &app,
        json!({"target": TARGET, "flows": [], "delete": [MODULE, CALLER, INBOUND_B]}),
    )
    .await;

    // Assert: callers first, the module after them; the org and the records are empty.
    assert_eq!(job["status"], "succeeded", "{job:#}");
    let s = steps(&job);
    assert!(s.iter().all(|x| x["action"] == "delete"));
    assert_eq!(s[2]["flow_name"], MODULE);
    assert_eq!(s[2]["depends_on"], json!([0, 1]));
    assert!(org.flows().await.is_empty());
    let records: Value = app.get("/v1/flows").await.json().await.unwrap();
    assert!(
        records["items"].as_array().unwrap().is_empty(),
        "{records:#}"
    );
}

#[tokio::test]
async fn a_locked_flow_fails_by_default_and_waits_or_unlocks_on_request() {
    // Arrange: someone checks flow A out.
    let (org, _dir, app, seed) = setup().await;
    let person = Person::login(&org).await;
    let a_id = step(&seed, CALLER)["flow_id"].as_str().unwrap().to_owned();
    person.action("checkout", &a_id).await;
    let versions = |f: Value| f["versions"].as_array().unwrap().len();

    // Act + Assert: by default the step fails naming the holder; B is republished.
    change_module(&app, "Version two.").await;
    let failed = run(
        &app,
        json!({"target": TARGET, "flows": [{"template": MODULE}]}),
    )
    .await;
    assert_eq!(failed["status"], "failed", "{failed:#}");
    let a = step(&failed, CALLER);
    assert_eq!(a["state"], "failed");
    assert_eq!(a["error"]["kind"], "flow_locked");
    assert!(
        a["error"]["message"]
            .as_str()
            .unwrap()
            .contains("architect"),
        "{a:#}"
    );
    assert!(has_warning(a, "flow_locked"));
    assert_eq!(step(&failed, INBOUND_B)["state"], "succeeded");
    assert_eq!(versions(org_flow(&org, CALLER).await.unwrap()), 1);

    // `unlock`: unlocked first, said so, published.
    change_module(&app, "Version three.").await;
    let unlocked = run(
        &app,
        json!({"target": TARGET, "flows": [{"template": MODULE}], "on_locked": "unlock"}),
    )
    .await;
    assert_eq!(unlocked["status"], "succeeded", "{unlocked:#}");
    assert_eq!(step(&unlocked, CALLER)["note"]["kind"], "unlocked");
    let a = org_flow(&org, CALLER).await.unwrap();
    assert!(a["lockedBy"].is_null());
    assert_eq!(versions(a), 2);

    // `wait`: the step waits while the flow is checked out, and goes on once it is not.
    person.action("checkout", &a_id).await;
    change_module(&app, "Version four.").await;
    let waiting = app
        .submit(&json!({"target": TARGET, "flows": [{"template": MODULE}], "on_locked": "wait"}))
        .await;
    let id = waiting["id"].as_str().unwrap();
    let seen = app
        .wait_for(id, LONG, |j| {
            step(j, CALLER)["state"] == "running" && step(j, INBOUND_B)["state"] == "succeeded"
        })
        .await;
    assert_eq!(seen["status"], "running");
    assert_eq!(versions(org_flow(&org, CALLER).await.unwrap()), 2);
    person.action("checkin", &a_id).await;
    let done = app.wait_terminal(id, LONG).await;
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert!(step(&done, CALLER)["note"].is_null());
    assert_eq!(versions(org_flow(&org, CALLER).await.unwrap()), 3);
}

/// A caller whose cascaded republish failed still runs the old module in the org. Resending
/// the request (its module now unchanged) publishes that caller again, and only that one.
#[tokio::test]
async fn a_caller_left_behind_by_a_failed_cascade_is_republished_by_the_next_job() {
    // Arrange: flow A is checked out while the module changes, so its republish fails.
    let (org, _dir, app, seed) = setup().await;
    let person = Person::login(&org).await;
    let a_id = step(&seed, CALLER)["flow_id"].as_str().unwrap().to_owned();
    person.action("checkout", &a_id).await;
    change_module(&app, "Version two.").await;
    let request = json!({"target": TARGET, "flows": [{"template": MODULE}]});
    let failed = run(&app, request.clone()).await;
    assert_eq!(failed["status"], "failed", "{failed:#}");
    assert_eq!(step(&failed, CALLER)["state"], "failed");
    assert_eq!(step(&failed, INBOUND_B)["state"], "succeeded");
    person.action("checkin", &a_id).await;
    let versions = |f: Value| f["versions"].as_array().unwrap().len();
    assert_eq!(versions(org_flow(&org, CALLER).await.unwrap()), 1);

    // Act: the same request again.
    let again = run(&app, request.clone()).await;

    // Assert: the module is unchanged, A is republished, B (current) is not in the job.
    assert_eq!(again["status"], "succeeded", "{again:#}");
    let all = steps(&again);
    let names: Vec<&str> = all
        .iter()
        .map(|s| s["flow_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [MODULE, CALLER], "{again:#}");
    assert_eq!(step(&again, MODULE)["action"], "unchanged");
    assert_eq!(step(&again, CALLER)["action"], "republish");
    assert_eq!(versions(org_flow(&org, CALLER).await.unwrap()), 2);

    // And then there is nothing left to do.
    let third = run(&app, request).await;
    assert_eq!(third["status"], "succeeded", "{third:#}");
    assert_eq!(steps(&third).len(), 1, "{third:#}");
    assert_eq!(step(&third, MODULE)["action"], "unchanged");
}

#[tokio::test]
async fn the_periodic_drift_check_moves_the_gauge() {
    // Arrange: a target of its own name (the gauge is process-wide), checked every second.
    const NAME: &str = "drift-periodic";
    let org = org_with_a_person().await;
    let dir = tempfile::tempdir().unwrap();
    let db_url = crate::db::database_url(&dir.path().join("flowsmith.db"));
    let mut settings = settings_for(&org, &db_url);
    settings.targets[0].name = NAME.into();
    settings.drift_check_interval_secs = 1;
    let app = spawn_app_with(settings, fast_worker()).await;
    store_seed(&app).await;
    let mut request = seed_request(&org).await;
    request["target"] = json!(NAME);
    let job = run(&app, request).await;
    assert_eq!(job["status"], "succeeded", "{job:#}");
    let gauge = |text: String| {
        let prefix = format!("flowsmith_drifted_flows{{target=\"{NAME}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_owned()))
    };

    // Act: someone deletes a flow; no one asks for a drift report.
    Person::login(&org)
        .await
        .delete(step(&job, INBOUND_B)["flow_id"].as_str().unwrap())
        .await;

    // Assert: the periodic check notices.
    let start = Instant::now();
    loop {
        let text = app.get("/metrics").await.text().await.unwrap();
        if gauge(text).as_deref() == Some("1") {
            break;
        }
        assert!(start.elapsed() < LONG, "the gauge never reached 1");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn release_routes_answer_bad_input_with_clear_problems() {
    // Arrange
    let org = org_with_a_person().await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(&org, dir.path(), fast_worker()).await;
    store_seed(&app).await;
    let problem = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let p: Value = r.json().await.unwrap();
        (status, p)
    };

    // Act + Assert: an unknown on_locked value points at the field.
    let (status, p) = problem(
        app.post(
            "/v1/jobs",
            &json!({"target": TARGET, "flows": [{"template": MODULE}], "on_locked": "force"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{p:#}");
    assert!(p.to_string().contains("on_locked"), "{p:#}");

    // Deleting a flow flowsmith never recorded: 422 in a job, 404 on the flow's route.
    let (status, p) = problem(
        app.post(
            "/v1/jobs",
            &json!({"target": TARGET, "flows": [], "delete": ["Nope"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{p:#}");
    assert_eq!(p["errors"][0]["code"], "unknown_flow");
    assert_eq!(p["errors"][0]["pointer"], "/delete/0");
    let r = app
        .http
        .delete(app.url(&format!("/v1/flows/{TARGET}/Nope")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let r = app
        .http
        .delete(app.url(&format!("/v1/flows/{TARGET}/Nope?on_locked=sideways")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);

    // Unknown job, flow and target.
    let r = app.post("/v1/jobs/nope/rollback", &json!({})).await;
    assert_eq!(r.status().as_u16(), 404);
    let r = app.get(&format!("/v1/flows/{TARGET}/Nope/history")).await;
    assert_eq!(r.status().as_u16(), 404);
    let r = app.get("/v1/targets/nope/drift").await;
    assert_eq!(r.status().as_u16(), 404);

    // A dry run changed nothing: there is nothing to roll back.
    let mut request = seed_request(&org).await;
    request["dry_run"] = json!(true);
    let dry = run(&app, request).await;
    let r = app
        .post(
            &format!("/v1/jobs/{}/rollback", dry["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 409);
}

#[tokio::test]
async fn pruning_old_jobs_keeps_every_flows_history_whole() {
    // Arrange: the seed job, then the same request again (every step `unchanged`).
    let (org, _dir, app, seed) = setup().await;
    let again = run(&app, seed_request(&org).await).await;
    assert_eq!(again["status"], "succeeded", "{again:#}");
    assert!(steps(&again).iter().all(|s| s["action"] == "unchanged"));
    let history = |name: &'static str| {
        let app = &app;
        async move {
            let h: Value = app
                .get(&format!("/v1/flows/{TARGET}/{name}/history"))
                .await
                .json()
                .await
                .unwrap();
            h
        }
    };
    let before = (history(MODULE).await, history(CALLER).await);
    assert_eq!(before.0["releases"].as_array().unwrap().len(), 1);

    // Act: a retention that makes both jobs old, in batches of one job with a long pause
    // after each: the pass prunes the older job, then waits, and stops at shutdown.
    use flowsmith::jobs::retention::{Pacing, prune};
    let end = "9999-12-31T00:00:00.000Z";
    let stop = tokio_util::sync::CancellationToken::new();
    let slow = Pacing {
        batch_jobs: 1,
        pause: Duration::from_secs(3600),
    };
    let pass = tokio::spawn({
        let (store, stop) = (app.db().clone(), stop.clone());
        async move { prune(&store, end, slow, &stop).await }
    });
    let pruned_event = |id: String| {
        let store = app.db().clone();
        async move {
            let events = store.job_events(&id, 0, 1000).await.unwrap();
            events.iter().any(|e| e.kind == "job.pruned")
        }
    };
    let (seed_id, again_id) = (
        seed["id"].as_str().unwrap().to_owned(),
        again["id"].as_str().unwrap().to_owned(),
    );
    let start = Instant::now();
    while !pruned_event(seed_id.clone()).await {
        assert!(
            start.elapsed() < LONG,
            "the first batch did not prune the seed job"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let paused = !pruned_event(again_id.clone()).await;
    stop.cancel();
    let first = tokio::time::timeout(LONG, pass)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // The rest with no pause, then once more: nothing left.
    let quick = Pacing {
        batch_jobs: 1,
        pause: Duration::ZERO,
    };
    let go = tokio_util::sync::CancellationToken::new();
    let rest = prune(app.db(), end, quick, &go).await.unwrap();
    let twice = prune(app.db(), end, quick, &go).await.unwrap();

    // Assert: one job a batch, the second only after shutdown ended the pause; each job
    // pruned once; the steps that changed nothing and all but the last event are gone; the
    // releases and the histories are as they were.
    assert!(paused, "the pass pruned the second job without pausing");
    assert_eq!((first.jobs, first.steps), (1, 0), "{first:?}");
    assert_eq!((rest.jobs, rest.steps), (1, 3), "{rest:?}");
    assert!(first.events > 0 && rest.events > 0, "{first:?} {rest:?}");
    assert_eq!(twice.jobs, 0);
    assert_eq!((history(MODULE).await, history(CALLER).await), before);
    let kept = app.job(seed["id"].as_str().unwrap()).await;
    assert_eq!(steps(&kept).len(), 3, "{kept:#}");
    let unchanged = app.job(again["id"].as_str().unwrap()).await;
    assert_eq!(unchanged["status"], "succeeded");
    assert!(steps(&unchanged).is_empty(), "{unchanged:#}");
}

#[tokio::test]
async fn the_composition_colours_each_flow_by_its_state_in_the_org() {
    // Arrange: the seed deployed; someone deletes flow B; a template never deployed.
    let (org, _dir, app, job) = setup().await;
    Person::login(&org)
        .await
        .delete(step(&job, INBOUND_B)["flow_id"].as_str().unwrap())
        .await;
    let mut never = fixture("seed_inbound_flow.json");
    never["name"] = json!("Never_Line");
    app.store(&never).await;

    // Act
    let r = app.get(&format!("/v1/targets/{TARGET}/composition")).await;
    assert_eq!(r.status().as_u16(), 200);
    let c: Value = r.json().await.unwrap();

    // Assert: callers first (by name), then the module they call.
    let flows = c["flows"].as_array().unwrap();
    let names: Vec<&str> = flows.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, [CALLER, INBOUND_B, "Never_Line", MODULE], "{c:#}");
    let states: Vec<&str> = flows.iter().map(|f| f["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["in_sync", "deleted", "never_deployed", "in_sync"]);
    assert_eq!(flows[0]["calls"], json!([MODULE]));
    assert_eq!(flows[2]["calls"], json!([MODULE]));
    assert_eq!(flows[3]["type"], "module");
    assert_eq!(flows[0]["template"], CALLER);

    // The same as SVG: every flow named, filled with its state's colour.
    let r = app
        .http
        .get(app.url(&format!("/v1/targets/{TARGET}/composition")))
        .header("accept", "image/svg+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    let svg = r.text().await.unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let nodes: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("node"))
        .collect();
    assert_eq!(nodes.len(), 4);
    let deleted = nodes
        .iter()
        .find(|n| n.descendants().any(|t| t.text() == Some(INBOUND_B)))
        .unwrap();
    assert!(
        deleted
            .descendants()
            .any(|r| r.attribute("fill") == Some("#f4a9a9"))
    );
    let r = app.get("/v1/targets/nowhere/composition?format=svg").await;
    assert_eq!(r.status().as_u16(), 404);
    let r = app
        .get(&format!("/v1/targets/{TARGET}/composition?format=png"))
        .await;
    assert_eq!(r.status().as_u16(), 422);
}
