//! The database refusing writes mid-job. The disk is "filled" with SQLite's own page limit
//! (`Store::simulate_disk_full`), so the writes fail with real `SQLITE_FULL` errors that roll
//! their transactions back, as on a full disk. While it lasts, writes answer 503 with
//! `Retry-After` and `/readyz` says why; the worker holds the job where it is. Once there is
//! room again everything carries on by itself: nothing lost, nothing provisioned twice.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::*;

const FAULTS: &str = "flowsmith_store_write_faults_total";

/// The seed module under another name with forty announcements before its menu: a document
/// of several pages, which a full database cannot take.
fn big_template() -> Value {
    let mut doc = fixture("seed_shared_module.json");
    doc["name"] = json!("Big_Module");
    let mut next = doc["draft"]["startNode"].as_str().unwrap().to_owned();
    let nodes = doc["draft"]["nodes"].as_object_mut().unwrap();
    for i in (0..40).rev() {
        let id = format!("Intro_{i:02}");
        nodes.insert(
            id.clone(),
            json!({
                "id": id,
                "type": "Say",
                "properties": {
                    "sayText": format!("Announcement {i} of forty, read before the language menu."),
                    "sayLanguage": "en-US",
                    "sayGender": "female"
                },
                "onComplete": {"nextNode": next, "onError": "Exit"},
                "onError": {"nextNode": "Exit"}
            }),
        );
        next = id;
    }
    doc["draft"]["startNode"] = json!(next);
    doc
}

#[tokio::test]
async fn a_full_disk_mid_job_answers_503_and_the_job_finishes_by_itself_once_there_is_room() {
    // Arrange: a job under way (its module step has an Architect job).
    let org = spawn_org(300).await;
    let dir = tempfile::tempdir().unwrap();
    // SQLite whatever the environment says: the full disk is SQLite's own page limit.
    let url = crate::db::sqlite_url(&dir.path().join("flowsmith.db"));
    let mut app = spawn_app_with(settings_for(&org, &url), fast_worker()).await;
    store_seed(&app).await;
    let job = app.submit(&seed_request(&org).await).await;
    let id = job["id"].as_str().unwrap().to_owned();
    app.wait_for(&id, LONG, |j| j["steps"][0]["genesys_job_id"].is_string())
        .await;
    let faults_before = app.counter(FAULTS, "fault=\"full\"").await;

    // Act: the disk fills up.
    app.simulate_disk_full(true).await;
    let refused = app.post("/v1/templates", &big_template()).await;
    let ready = app.get("/readyz").await;

    // Assert: the write is refused with 503 and Retry-After, readiness says why, reads work.
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "5");
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(
        problem["type"], "/problems/storage-unavailable",
        "{problem}"
    );
    assert!(
        problem["detail"].as_str().unwrap().contains("disk is full"),
        "{problem}"
    );
    assert_eq!(ready.status(), 503);
    let why = ready.text().await.unwrap();
    assert!(why.contains("refuses writes (full)"), "{why}");
    assert_eq!(app.get("/v1/templates/Inbound_Flow_A").await.status(), 200);
    assert_eq!(app.get("/v1/templates/Big_Module").await.status(), 404);

    // The worker runs into the full disk too (the module's success needs a new flow record)
    // and waits: the job stays running, no step fails.
    let started = Instant::now();
    while app.counter(FAULTS, "fault=\"full\"").await < faults_before + 3.0 {
        assert!(
            started.elapsed() < LONG,
            "the worker never ran into the full disk"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let waiting = app.job(&id).await;
    assert_eq!(waiting["status"], "running", "{waiting:#}");
    assert!(
        steps(&waiting).iter().all(|s| s["state"] != "failed"),
        "{waiting:#}"
    );
    assert_eq!(app.get("/readyz").await.status(), 503);

    // Act: room again.
    app.simulate_disk_full(false).await;

    // Assert: the job finishes by itself, each flow provisioned once, and writes work.
    let done = app.wait_terminal(&id, LONG).await;
    assert_eq!(done["status"], "succeeded", "{done:#}");
    let flows = org.flows().await;
    assert_eq!(flows.len(), 3, "{flows:#?}");
    for f in &flows {
        assert_eq!(f["versions"].as_array().unwrap().len(), 1, "{f:#}");
        let s = step(&done, f["name"].as_str().unwrap());
        assert_eq!(s["flow_id"], f["id"], "{s:#}");
        assert_eq!(s["published_version"], "1.0", "{s:#}");
    }
    assert_eq!(
        org.jobs_registered().await,
        3,
        "no Architect job was repeated"
    );
    assert_eq!(app.get("/readyz").await.status(), 200);
    let stored = app.post("/v1/templates", &big_template()).await;
    assert_eq!(stored.status(), 201);
    let flows = app
        .get("/v1/flows?target=org")
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(flows["items"].as_array().unwrap().len(), 3, "{flows:#}");

    // Nothing lost: every template is there and the file is sound.
    for name in [MODULE, CALLER, "Big_Module"] {
        let r = app.get(&format!("/v1/templates/{name}")).await;
        assert_eq!(r.status(), 200, "{name}");
    }
    app.stop().await;
    let url = format!("sqlite://{}", dir.path().join("flowsmith.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    pool.close().await;
}
