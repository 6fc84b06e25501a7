//! Crash safety with the real binary: `flowsmith serve` is SIGKILLed many times at random
//! moments while it provisions a multi-flow job into a sandbox org, and restarted on the same
//! database each time. The job must still succeed with exactly one flow per name in the org
//! and flow records that match it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use flowsmith::sandbox::{self, SandboxOptions};
use rand::{Rng, SeedableRng};
use reqwest::Client;
use serde_json::{Value, json};

use crate::helpers::{MODULE, fixture};
use crate::service::{Service, serve_against};

/// `flowsmith serve` provisioning into the sandbox at `org`, with a 1 s lease so that a
/// killed process's job is reclaimed quickly.
fn start(org: &str, db: &Path) -> Service {
    let mut cmd = serve_against(db, org);
    cmd.env("GENESYS_RATE_LIMIT_PER_MINUTE", "6000")
        .env("FLOWSMITH_LEASE_SECS", "1")
        .env("FLOWSMITH_WORKER_POLL_MS", "50");
    Service::spawn(cmd)
}

async fn get_json(http: &Client, url: &str) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn sigkilled_many_times_the_real_binary_still_finishes_the_job_without_duplicates() {
    // Arrange: an org whose Architect jobs take a moment, and the binary pointed at it.
    let seed: u64 = std::env::var("KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("kill test seed: {seed} (rerun with KILL_SEED={seed})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (org, _sandbox) = sandbox::spawn_local(SandboxOptions {
        queues: vec!["General".into()],
        job_duration_ms: 300,
        latency_ms: 5,
        rate_limit: 100_000,
        ..Default::default()
    })
    .await
    .expect("sandbox starts");
    let http = Client::new();
    let general = get_json(&http, &format!("{org}/sandbox/queues")).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("flowsmith.db");
    let started = Instant::now();
    let mut svc = start(&org, &db);
    for doc in ["seed_shared_module.json", "seed_inbound_flow.json"] {
        let r = http
            .post(format!("{}/v1/templates", svc.url("")))
            .json(&fixture(doc))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{:?}", r.text().await);
    }
    let callers: Vec<String> = (1..=10).map(|i| format!("Caller_{i:02}")).collect();
    let mut flows = vec![json!({"template": MODULE})];
    flows.extend(callers.iter().map(
        |name| json!({"template": "Inbound_Flow_A", "name": name, "params": {"queue_id": general}}),
    ));
    let r = http
        .post(format!("{}/v1/jobs", svc.url("")))
        .json(&json!({"target": "default", "flows": flows}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Act: SIGKILL at a random moment 0–600 ms after each (re)start, and start again on the
    // same database.
    let kills = rng.gen_range(8..=12);
    for k in 0..kills {
        let after = Duration::from_millis(rng.gen_range(0..=600));
        tokio::time::sleep(after).await;
        svc.kill();
        println!("kill {}/{kills} after {after:?}", k + 1);
        svc = start(&org, &db);
    }
    let job = {
        let deadline = Instant::now() + Duration::from_secs(45);
        loop {
            let j = get_json(&http, &format!("{}/v1/jobs/{id}", svc.url(""))).await;
            if matches!(
                j["status"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            ) {
                break j;
            }
            assert!(
                Instant::now() < deadline,
                "job not finished: {j:#}\nlog: {:?}",
                svc.log_lines()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };

    // Assert: succeeded after reclaims, one flow per name, records agree with the org.
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert!(job["attempt"].as_i64().unwrap() >= 2, "{job:#}");
    let in_org = get_json(&http, &format!("{org}/sandbox/flows")).await["flows"]
        .as_array()
        .unwrap()
        .clone();
    let mut seen = BTreeSet::new();
    for f in &in_org {
        let key = (f["name"].to_string(), f["type"].to_string());
        assert!(seen.insert(key), "duplicate flow {f:#}");
    }
    let mut expected: BTreeSet<String> = callers.iter().cloned().collect();
    expected.insert(MODULE.to_owned());
    let names: BTreeSet<String> = in_org
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, expected);
    let org_by_name: BTreeMap<&str, &Value> = in_org
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f))
        .collect();
    let records = get_json(&http, &format!("{}/v1/flows?target=default", svc.url(""))).await;
    let records = records["items"].as_array().unwrap();
    assert_eq!(records.len(), expected.len(), "{records:#?}");
    for r in records {
        let f = org_by_name[r["name"].as_str().unwrap()];
        let latest = f["versions"].as_array().unwrap().last().unwrap()["id"].clone();
        assert_eq!(f["publishedVersion"], latest, "{f:#}");
        assert_eq!(r["flow_id"], f["id"], "{r:#}");
        assert_eq!(r["published_version"], latest, "{r:#}");
    }
    for s in job["steps"].as_array().unwrap() {
        assert_eq!(s["state"], "succeeded", "{s:#}");
        let f = org_by_name[s["flow_name"].as_str().unwrap()];
        assert_eq!(s["flow_id"], f["id"], "{s:#}");
        assert!(s["published_version"].is_string(), "{s:#}");
    }
    println!(
        "{kills} kills, attempt {}, {} Architect jobs registered for {} flows, {:.1?} in all",
        job["attempt"],
        get_json(&http, &format!("{org}/sandbox/counters")).await["endpoints"]["POST /api/v2/flows/jobs"]
            ["total"],
        expected.len(),
        started.elapsed()
    );
}
