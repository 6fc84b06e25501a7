//! Identical jobs submitted at once, without an `Idempotency-Key`: all are planned before any
//! runs, so all plan `create`. Jobs run one at a time per target, and each step checks when it
//! starts (a caller again once its modules ended) whether an earlier job already deployed the
//! same content: only the first job publishes.

use futures::future::join_all;
use serde_json::Value;

use crate::helpers::*;

async fn submit_all(app: &TestApp, bodies: &[Value]) -> Vec<String> {
    let answers = join_all(bodies.iter().map(|b| app.post("/v1/jobs", b))).await;
    let mut ids = Vec::new();
    for r in answers {
        assert_eq!(r.status(), 202);
        let job: Value = r.json().await.unwrap();
        ids.push(job["id"].as_str().unwrap().to_owned());
    }
    ids
}

#[tokio::test]
async fn twenty_identical_jobs_at_once_publish_each_flow_once() {
    // Arrange
    let org = spawn_org(100).await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(&org, dir.path(), fast_worker()).await;
    store_seed(&app).await;
    let body = seed_request(&org).await;

    // Act
    let ids = submit_all(&app, &vec![body; 20]).await;
    let mut jobs = Vec::new();
    for id in &ids {
        jobs.push(app.wait_terminal(id, LONG).await);
    }

    // Assert: one flow per name with one version, from three Architect jobs in all.
    let flows = org.flows().await;
    assert_eq!(flows.len(), 3, "{flows:#?}");
    for f in &flows {
        assert_eq!(f["versions"].as_array().unwrap().len(), 1, "{f:#}");
    }
    // Three Architect jobs did the publishing; a caller whose step started while its
    // module's step was still being checked registers one more, then finds its content
    // deployed once the module ended and abandons it (never uploaded, it publishes nothing).
    let registered = org.jobs_registered().await;
    assert!((3..=3 + 2 * 19).contains(&registered), "{registered}");
    // Every job succeeded; one published, the others found everything deployed (at plan
    // time, or when their steps ran: then the step says so).
    let mut publishers = 0;
    let mut noted = 0;
    for job in &jobs {
        assert_eq!(job["status"], "succeeded", "{job:#}");
        match job["progress"]["succeeded"].as_u64() {
            Some(3) => publishers += 1,
            Some(0) => assert_eq!(job["progress"]["unchanged"], 3, "{job:#}"),
            _ => panic!("{job:#}"),
        }
        for s in steps(job) {
            if s["note"]["kind"] == "unchanged_at_run_time" {
                noted += 1;
                assert_eq!(s["action"], "unchanged", "{s:#}");
                assert_eq!(s["published_version"], "1.0", "{s:#}");
                assert!(
                    s["note"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("already had"),
                    "{s:#}"
                );
            }
        }
    }
    assert_eq!(publishers, 1);
    assert!(noted > 0, "no step was found deployed at run time");
}

#[tokio::test]
async fn a_flow_an_earlier_job_deployed_with_other_content_is_still_published() {
    // Arrange: two jobs for the same flow name with different queues, both planned before
    // the first one runs.
    let org = spawn_org(300).await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(&org, dir.path(), fast_worker()).await;
    store_seed(&app).await;
    let general = org.queue_id("General").await;
    let billing = org.queue_id("Billing").await;
    let body = |queue: &str| {
        serde_json::json!({
            "target": TARGET,
            "flows": [
                {"template": MODULE},
                {"template": CALLER, "name": "Line", "params": {"queue_id": queue}},
            ]
        })
    };

    // Act: one after the other (jobs run in the order they were created), without waiting.
    let first = app.submit(&body(&general)).await;
    let second = app.submit(&body(&billing)).await;
    let ids = [
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
    ];
    let first = app.wait_terminal(ids[0], LONG).await;
    let second = app.wait_terminal(ids[1], LONG).await;

    // Assert: the module once, the line twice (the second content is not the first).
    assert_eq!(first["status"], "succeeded", "{first:#}");
    assert_eq!(second["status"], "succeeded", "{second:#}");
    let flows = org.flows().await;
    let versions = |name: &str| {
        flows
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["versions"].as_array().unwrap().len())
    };
    assert_eq!(versions(MODULE), Some(1), "{flows:#?}");
    assert_eq!(versions("Line"), Some(2), "{flows:#?}");
    let line = step(&second, "Line");
    assert_ne!(line["action"], "unchanged", "{line:#}");
    assert_eq!(line["published_version"], "2.0", "{line:#}");
    let record = app
        .get("/v1/flows/org/Line")
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(record["job_id"], ids[1], "{record:#}");
}
