//! Faults of the org while a job runs: a 429 storm, 20% of 5xx answers, tokens that expire
//! mid-job. Each job must end `succeeded` with exactly one flow (and one published version)
//! per name in the org. Every test has a target of its own name, so the client's counters in
//! the process-wide `/metrics` are its own.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use flowsmith::config::{Settings, TargetConfig};
use flowsmith_sandbox::{self as sandbox, SandboxOptions};
use reqwest::Client;
use serde_json::{Value, json};

use crate::helpers::*;

async fn org_with(opts: SandboxOptions) -> Org {
    let (base, _sandbox) = sandbox::spawn_local(SandboxOptions {
        queues: vec!["General".into()],
        ..opts
    })
    .await
    .expect("sandbox starts");
    Org {
        base,
        http: Client::new(),
    }
}

/// The service with one target `name` at `rate_limit_per_minute` pointing at `org`.
async fn app_for(org: &Org, dir: &tempfile::TempDir, name: &str, rate: u32) -> TestApp {
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: crate::db::database_url(&dir.path().join("flowsmith.db")),
        ..Settings::default()
    };
    settings.targets.push(TargetConfig {
        name: name.into(),
        api_base_url: org.base.clone(),
        login_base_url: org.base.clone(),
        client_id: sandbox::DEFAULT_CLIENT_ID.into(),
        client_secret: sandbox::DEFAULT_CLIENT_SECRET.to_owned().into(),
        rate_limit_per_minute: rate,
        concurrency: Some(4),
    });
    let app = spawn_app_with(settings, fast_worker()).await;
    store_seed(&app).await;
    app
}

/// The module and `callers` inbound flows `Caller_01`.. on queue General.
async fn request(org: &Org, target: &str, callers: usize) -> Value {
    let general = org.queue_id("General").await;
    let mut flows = vec![json!({"template": MODULE})];
    flows.extend((1..=callers).map(|i| {
        json!({"template": CALLER, "name": format!("Caller_{i:02}"), "params": {"queue_id": general}})
    }));
    json!({"target": target, "flows": flows})
}

/// One flow per (name, type), `expected` of them, each with exactly one version (published
/// once: nothing was provisioned twice), and the job's steps name those flows.
async fn assert_provisioned_once(org: &Org, job: &Value, expected: usize) {
    assert_eq!(job["status"], "succeeded", "{job:#}");
    let flows = org.flows().await;
    let keys: BTreeSet<(String, String)> = flows
        .iter()
        .map(|f| (f["name"].to_string(), f["type"].to_string()))
        .collect();
    assert_eq!(keys.len(), flows.len(), "duplicate flows: {flows:#?}");
    assert_eq!(flows.len(), expected, "{flows:#?}");
    for f in &flows {
        assert_eq!(f["versions"].as_array().unwrap().len(), 1, "{f:#}");
        assert_eq!(f["publishedVersion"], "1.0", "{f:#}");
        let s = step(job, f["name"].as_str().unwrap());
        assert_eq!(s["flow_id"], f["id"], "{s:#}");
        assert_eq!(s["published_version"], "1.0", "{s:#}");
    }
}

/// A counter of this process's `/metrics` for one target (0 when absent).
async fn metric(app: &TestApp, name: &str, target: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    let prefix = format!("{name}{{target=\"{target}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

fn by_status(counters: &Value, status: u16) -> u64 {
    counters["byStatus"][status.to_string()]
        .as_u64()
        .unwrap_or(0)
}

/// The org allows 30 requests per 2 s window per token (Genesys: per 60 s; the sandbox's
/// window is shortened so the test takes seconds), the target believes it may send 6,000 a
/// minute: the job (17 flows at two requests each, ~37 requests) runs into a 429, pauses the
/// target for `Retry-After` (the rest of the org's fixed window), and finishes.
#[tokio::test]
async fn a_429_storm_pauses_the_target_and_the_job_still_succeeds() {
    // Arrange
    let target = "storm";
    // The job sends about 40 rate-limited requests (17 flows). 25 per 12 s window: the 26th
    // comes inside the first window however slow the machine, and what is left after the
    // pause (with the few retried) fits in the second, so there is one storm, not a race
    // between the machine's speed and the window.
    let org = org_with(SandboxOptions {
        rate_limit: 25,
        rate_window_secs: 12,
        latency_ms: 5,
        job_duration_ms: 100,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_for(&org, &dir, target, 6_000).await;
    let started = Instant::now();

    // Act
    let job = app.submit(&request(&org, target, 16).await).await;
    let job = app
        .wait_terminal(job["id"].as_str().unwrap(), Duration::from_secs(150))
        .await;

    // Assert: 429s were served and received (the same number), nothing was duplicated.
    let counters = org.admin("/sandbox/counters").await;
    let served = counters["rateLimited"].as_u64().unwrap();
    assert!(served > 0, "{counters:#}");
    let received = metric(&app, "flowsmith_genesys_rate_limited_total", target).await;
    assert_eq!(received as u64, served, "{counters:#}");
    // The first 429 pauses the whole target: at most the requests already in flight (one
    // per concurrent step) see one too, there is no storm of retries.
    assert!(served <= 4, "{counters:#}");
    assert_provisioned_once(&org, &job, 17).await;
    println!(
        "429 storm: {served} answered 429, job {} in {:.1?}",
        job["status"],
        started.elapsed()
    );
}

/// One in five Platform API answers is a 502/503 for the whole job: retried, never duplicated.
#[tokio::test]
async fn a_fifth_of_answers_5xx_the_job_succeeds_without_duplicates() {
    let target = "flaky";
    let org = org_with(SandboxOptions {
        rate_limit: 0,
        error_rate: 0.2,
        job_duration_ms: 100,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_for(&org, &dir, target, 100_000).await;

    let job = app.submit(&request(&org, target, 10).await).await;
    let job = app.wait_terminal(job["id"].as_str().unwrap(), LONG).await;

    let counters = org.admin("/sandbox/counters").await;
    let errors = by_status(&counters, 502) + by_status(&counters, 503);
    assert!(errors > 0, "{counters:#}");
    assert_provisioned_once(&org, &job, 11).await;
    println!(
        "5xx: {errors} of {} answers were 502/503",
        counters["total"]
    );
}

/// Every token is revoked while steps run (twice): the next call gets a 401, the client
/// fetches a new token and carries on.
#[tokio::test]
async fn tokens_expired_mid_job_are_refreshed_and_the_job_succeeds() {
    let target = "expiry";
    let org = org_with(SandboxOptions {
        rate_limit: 0,
        job_duration_ms: 300,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_for(&org, &dir, target, 100_000).await;

    let job = app.submit(&request(&org, target, 6).await).await;
    let id = job["id"].as_str().unwrap().to_owned();
    for idx in [0, 1] {
        app.wait_for(&id, LONG, |j| j["steps"][idx]["genesys_job_id"].is_string())
            .await;
        let r = org
            .http
            .post(format!("{}/sandbox/tokens/expire", org.base))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    let job = app.wait_terminal(&id, LONG).await;

    let counters = org.admin("/sandbox/counters").await;
    assert!(by_status(&counters, 401) >= 1, "{counters:#}");
    let tokens = metric(&app, "flowsmith_genesys_token_refreshes_total", target).await;
    assert!(tokens >= 2.0, "token requests: {tokens}");
    assert_provisioned_once(&org, &job, 7).await;
}

/// Tokens that live one second: the client refreshes them ahead of expiry during the job.
#[tokio::test]
async fn short_lived_tokens_are_refreshed_during_the_job() {
    let target = "shortlived";
    let org = org_with(SandboxOptions {
        rate_limit: 0,
        job_duration_ms: 500,
        token_ttl: 1,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_for(&org, &dir, target, 100_000).await;

    let job = app.submit(&request(&org, target, 6).await).await;
    let job = app.wait_terminal(job["id"].as_str().unwrap(), LONG).await;

    let tokens = metric(&app, "flowsmith_genesys_token_refreshes_total", target).await;
    assert!(tokens >= 2.0, "token requests: {tokens}");
    assert_provisioned_once(&org, &job, 7).await;
}
