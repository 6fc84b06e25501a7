//! Crash safety: a service killed mid-job leaves its lease to expire; the next start reclaims
//! the job, resumes its steps and finishes it with no duplicate flow and no lost record.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn an_expired_lease_is_reclaimed_and_the_job_finishes() {
    // Arrange: Architect jobs slow enough to crash in the middle of one.
    let org = spawn_org(1200).await;
    let dir = tempfile::tempdir().unwrap();
    let mut first = spawn_app(&org, dir.path(), fast_worker()).await;
    store_seed(&first).await;
    let job = first.submit(&seed_request(&org).await).await;
    let id = job["id"].as_str().unwrap().to_owned();
    first
        .wait_for(&id, LONG, |j| j["steps"][0]["genesys_job_id"].is_string())
        .await;

    // Act: kill it, then start again on the same database.
    first.crash().await;
    let second = spawn_app(&org, dir.path(), fast_worker()).await;
    let job = second.wait_terminal(&id, LONG).await;

    // Assert
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert!(job["attempt"].as_i64().unwrap() >= 2, "{job:#}");
    let flows = org.flows().await;
    assert_eq!(flows.len(), 3, "no duplicates: {flows:#?}");
    let in_org: BTreeMap<String, String> = flows
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let records: Value = second
        .get("/v1/flows?target=org")
        .await
        .json()
        .await
        .unwrap();
    let recorded: BTreeMap<String, String> = records["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["flow_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(in_org, recorded);
    for f in &flows {
        let published = f["publishedVersion"].as_str().unwrap();
        let r = records["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == f["name"])
            .unwrap();
        assert_eq!(r["published_version"], published);
    }
}

#[tokio::test]
async fn a_graceful_stop_gives_the_lease_back_and_a_restart_resumes() {
    let org = spawn_org(1200).await;
    let dir = tempfile::tempdir().unwrap();
    let mut opts = fast_worker();
    opts.lease = std::time::Duration::from_secs(300);
    let mut first = spawn_app(&org, dir.path(), opts.clone()).await;
    store_seed(&first).await;
    let job = first.submit(&seed_request(&org).await).await;
    let id = job["id"].as_str().unwrap().to_owned();
    first
        .wait_for(&id, LONG, |j| j["steps"][0]["genesys_job_id"].is_string())
        .await;
    first.stop().await;
    // A long lease would block a crashed job for minutes; a released one resumes at once.
    let second = spawn_app(&org, dir.path(), opts).await;
    let job = second
        .wait_terminal(&id, std::time::Duration::from_secs(30))
        .await;
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert_eq!(org.flows().await.len(), 3);
}

/// A step succeeded but its published version is read later, with the job's others: a crash
/// in between leaves the step `succeeded` without a version (and the API says so by leaving
/// it out); the resumed job reads it before it finishes.
#[tokio::test]
async fn a_version_not_yet_read_at_a_crash_is_read_by_the_resumed_job() {
    let org = spawn_org(1200).await;
    let dir = tempfile::tempdir().unwrap();
    let mut first = spawn_app(&org, dir.path(), fast_worker()).await;
    store_seed(&first).await;
    let job = first.submit(&seed_request(&org).await).await;
    let id = job["id"].as_str().unwrap().to_owned();
    let seen = first
        .wait_for(&id, LONG, |j| {
            step(j, MODULE)["state"] == "succeeded"
                && steps(j).iter().any(|s| s["state"] == "running")
        })
        .await;
    let module = step(&seen, MODULE);
    assert!(module["flow_id"].is_string(), "{module:#}");
    assert!(module.get("published_version").is_none(), "{module:#}");

    first.crash().await;
    let second = spawn_app(&org, dir.path(), fast_worker()).await;
    let job = second.wait_terminal(&id, LONG).await;

    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert!(job["attempt"].as_i64().unwrap() >= 2, "{job:#}");
    let flows = org.flows().await;
    assert_eq!(flows.len(), 3, "no duplicates: {flows:#?}");
    let records: Value = second
        .get("/v1/flows?target=org")
        .await
        .json()
        .await
        .unwrap();
    let items = records["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{records:#}");
    // What Genesys says is published (a caller interrupted between its upload and that
    // checkpoint is uploaded again, so not always "1.0"), in the steps and the records.
    for f in &flows {
        let published = f["publishedVersion"].as_str().unwrap();
        assert_eq!(
            step(&job, f["name"].as_str().unwrap())["published_version"],
            published
        );
        let r = items.iter().find(|r| r["name"] == f["name"]).unwrap();
        assert_eq!(r["published_version"], published, "{r:#}");
    }
    assert_eq!(step(&job, MODULE)["published_version"], "1.0");
}

/// A stored `depends_on` that does not decode must not read as "waits for nothing": that
/// would let a caller publish before its module. The resumed job fails naming the row, and
/// no caller reaches the org.
#[tokio::test]
async fn a_corrupt_depends_on_fails_the_job_instead_of_publishing_the_callers() {
    // Arrange: a job killed while its module's Architect job runs (callers not uploaded).
    let org = spawn_org(1200).await;
    let dir = tempfile::tempdir().unwrap();
    let mut first = spawn_app(&org, dir.path(), fast_worker()).await;
    store_seed(&first).await;
    let job = first.submit(&seed_request(&org).await).await;
    let id = job["id"].as_str().unwrap().to_owned();
    first
        .wait_for(&id, LONG, |j| j["steps"][0]["genesys_job_id"].is_string())
        .await;
    first.crash().await;
    let url = crate::db::database_url(&dir.path().join("flowsmith.db"));
    let corrupted = crate::db::execute(
        &url,
        "UPDATE job_steps SET depends_on = 'x' WHERE job_id = $1 AND idx > 0",
        &[&id],
    )
    .await;
    assert_eq!(corrupted, 2);

    // Act: a new start resumes the job.
    let second = spawn_app(&org, dir.path(), fast_worker()).await;
    let deadline = Instant::now() + LONG;
    let listed = loop {
        let page: Value = second.get("/v1/jobs").await.json().await.unwrap();
        let item = page["items"][0].clone();
        if item["status"] == "failed" {
            break item;
        }
        assert!(Instant::now() < deadline, "job not failed: {page:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // Assert: failed with an error naming the row; the view of the corrupt job is a 500
    // (logged), never steps without dependencies; no caller in the org.
    let error = listed["error"].as_str().unwrap();
    assert!(error.contains("job_steps.depends_on"), "{error}");
    assert!(error.contains(&format!("job {id} step 1")), "{error}");
    let view = second.get(&format!("/v1/jobs/{id}")).await;
    assert_eq!(view.status(), 500);
    let names: Vec<String> = org
        .flows()
        .await
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with("Inbound_Flow")),
        "a caller was published: {names:?}"
    );
}
