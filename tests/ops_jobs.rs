//! Operations of provisioning jobs: metrics that move when a job runs (with a 429 episode),
//! the request id carried from `POST /v1/jobs` into the job and its log lines, and the real
//! binary receiving SIGTERM in the middle of a job.

// Test code: a panic is a failed assertion, and a scenario may read top to bottom.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

#[path = "common/db.rs"]
mod db;
#[allow(dead_code)]
#[path = "jobs/helpers.rs"]
mod helpers;
#[path = "common/service.rs"]
mod service;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use flowsmith::app::Application;
use serde_json::{Value, json};

use helpers::*;

/// Sums the samples of `name` whose labels include every pair of `labels` (Prometheus text).
fn sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (n, rest) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            if n != name {
                return None;
            }
            let got: Vec<(&str, &str)> = rest
                .split("\",")
                .filter(|p| !p.is_empty())
                .filter_map(|p| {
                    let (k, v) = p.split_once("=\"")?;
                    Some((k, v.trim_end_matches('"')))
                })
                .collect();
            labels
                .iter()
                .all(|want| got.contains(want))
                .then(|| value.parse::<f64>().ok())
                .flatten()
        })
        .sum()
}

/// A pass-through proxy in front of the sandbox's `/api/v2` that answers the first
/// `POST /api/v2/flows/jobs` with `429 Retry-After: 1`, as Genesys does when a token's budget
/// is spent (the sandbox's own 429s wait for the end of a 60-second window).
#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    throttled: Arc<AtomicU32>,
}

async fn forward(State(p): State<Proxy>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    if parts.method == Method::POST
        && parts.uri.path() == "/api/v2/flows/jobs"
        && p.throttled
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "1".parse().unwrap());
        h.insert("inin-correlation-id", "proxy-429".parse().unwrap());
        let body = json!({"status": 429, "code": "too.many.requests.retry.after",
                          "message": "Rate limit exceeded the maximum. Retry the request in [1] seconds"});
        return (StatusCode::TOO_MANY_REQUESTS, h, axum::Json(body)).into_response();
    }
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let url = format!(
        "{}{}",
        p.upstream,
        parts.uri.path_and_query().map_or("/", |x| x.as_str())
    );
    let mut out = p.http.request(parts.method, url).body(body);
    for (k, v) in &parts.headers {
        if k != "host" && k != "content-length" {
            out = out.header(k, v);
        }
    }
    match out.send().await {
        Ok(r) => {
            let status = r.status();
            let mut headers = HeaderMap::new();
            for (k, v) in r.headers() {
                if k != "content-length" && k != "transfer-encoding" && k != "connection" {
                    headers.insert(k, v.clone());
                }
            }
            let bytes: Bytes = r.bytes().await.unwrap_or_default();
            (status, headers, bytes).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

async fn spawn_proxy(upstream: &str) -> (String, Arc<AtomicU32>) {
    let throttled = Arc::new(AtomicU32::new(0));
    let proxy = Proxy {
        upstream: upstream.to_owned(),
        http: reqwest::Client::new(),
        throttled: throttled.clone(),
    };
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), throttled)
}

#[tokio::test]
async fn a_provisioning_job_with_a_429_moves_the_job_step_and_genesys_metrics() {
    // Arrange: the sandbox behind a proxy that throttles once, under a target name no other
    // test uses (the recorder is process-wide).
    const T: &str = "metrics-org";
    let org = spawn_org(200).await;
    let (proxy, throttled) = spawn_proxy(&org.base).await;
    let dir = tempfile::tempdir().unwrap();
    let db_url = crate::db::database_url(&dir.path().join("flowsmith.db"));
    let mut settings = settings_for(&org, &db_url);
    settings.targets[0].name = T.into();
    settings.targets[0].api_base_url = proxy;
    let app = Application::build_with(settings, fast_worker())
        .await
        .unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    let http = reqwest::Client::new();
    let scrape = || {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let r = http.get(format!("{base}/metrics")).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };
    for doc in [
        fixture("seed_shared_module.json"),
        fixture("seed_inbound_flow.json"),
    ] {
        let r = http
            .post(format!("{base}/v1/templates"))
            .json(&doc)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    let mut request = seed_request(&org).await;
    request["target"] = json!(T);
    let before = scrape().await;

    // Act
    let r = http
        .post(format!("{base}/v1/jobs"))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let start = Instant::now();
    let job = loop {
        let j: Value = http
            .get(format!("{base}/v1/jobs/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if j["status"] != "queued" && j["status"] != "running" {
            break j;
        }
        assert!(start.elapsed() < LONG, "job did not finish: {j:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let after = scrape().await;

    // Assert
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert_eq!(
        throttled.load(Ordering::SeqCst),
        1,
        "the proxy served its 429"
    );
    let delta = |name: &str, labels: &[(&str, &str)]| {
        sum(&after, name, labels) - sum(&before, name, labels)
    };
    let t = ("target", T);
    assert_eq!(
        delta("flowsmith_jobs_total", &[t, ("status", "succeeded")]),
        1.0,
        "{after}"
    );
    assert_eq!(
        delta(
            "flowsmith_steps_total",
            &[t, ("action", "create"), ("outcome", "succeeded")]
        ),
        3.0,
        "{after}"
    );
    assert_eq!(
        delta(
            "flowsmith_step_duration_seconds_count",
            &[t, ("action", "create")]
        ),
        3.0,
        "{after}"
    );
    assert!(delta("flowsmith_step_duration_seconds_sum", &[t]) > 0.0);
    let requests = delta("flowsmith_genesys_requests_total", &[t]);
    // Per step at least: register, upload, one poll, the flow's published version.
    assert!(requests >= 12.0, "{requests} Genesys requests: {after}");
    assert_eq!(
        delta("flowsmith_genesys_requests_total", &[t, ("status", "429")]),
        1.0,
        "{after}"
    );
    assert_eq!(
        delta("flowsmith_genesys_rate_limited_total", &[t]),
        1.0,
        "{after}"
    );
    assert!(
        delta("flowsmith_genesys_token_refreshes_total", &[t]) >= 1.0,
        "{after}"
    );
    assert!(
        delta("flowsmith_genesys_limiter_wait_seconds_count", &[t]) >= requests - 1.0,
        "{after}"
    );
    // The gauges count this service's database only.
    assert!(after.contains("# TYPE flowsmith_jobs gauge"), "{after}");
    assert!(after.contains("# TYPE flowsmith_steps gauge"), "{after}");
    assert_eq!(
        sum(&before, "flowsmith_jobs", &[("state", "succeeded")]),
        0.0
    );
    assert_eq!(
        sum(&after, "flowsmith_jobs", &[("state", "succeeded")]),
        1.0
    );
    assert_eq!(sum(&after, "flowsmith_jobs", &[("state", "queued")]), 0.0);
    // The steps gauge counts unfinished jobs' steps only (the finished ones are
    // `flowsmith_steps_total`): this job's left it when it ended.
    assert_eq!(sum(&after, "flowsmith_steps", &[]), 0.0, "{after}");
    assert!(
        after.contains("flowsmith_steps{state=\"succeeded\"} 0"),
        "{after}"
    );
}

#[tokio::test]
async fn a_job_keeps_the_request_id_of_the_post_that_created_it() {
    // Arrange
    let org = spawn_org(50).await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(&org, dir.path(), fast_worker()).await;
    store_seed(&app).await;
    let request = seed_request(&org).await;

    // Act: one job with the caller's request id, one with the id the service makes up.
    let r = app
        .http
        .post(app.url("/v1/jobs"))
        .header("x-request-id", "rid-job-7f3a")
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let done = app.wait_terminal(id, LONG).await;
    let mut dry = request.clone();
    dry["dry_run"] = json!(true);
    let r = app.post("/v1/jobs", &dry).await;
    let generated = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let dry_job: Value = r.json().await.unwrap();

    // Assert
    assert_eq!(created["request_id"], "rid-job-7f3a");
    assert_eq!(done["request_id"], "rid-job-7f3a");
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert_eq!(dry_job["request_id"], generated.as_str());
    let listed: Value = app.get("/v1/jobs").await.json().await.unwrap();
    let item = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == id)
        .unwrap();
    assert_eq!(item["request_id"], "rid-job-7f3a");
}

mod binary {
    use super::*;
    use crate::service::{Service, serve_against};
    use std::path::Path;

    /// `flowsmith serve --log-format json` on port 0 on the given database, targeting `org`.
    fn start_service(db: &Path, org: &str) -> Service {
        let mut cmd = serve_against(db, org);
        cmd.args(["--log-format", "json"])
            .env("GENESYS_RATE_LIMIT_PER_MINUTE", "100000")
            .env("FLOWSMITH_WORKER_POLL_MS", "50");
        Service::spawn(cmd)
    }

    /// JSON log lines whose span list carries `request_id`.
    fn lines_with_request_id(svc: &Service, rid: &str) -> Vec<Value> {
        svc.log_lines()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| {
                v["spans"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|s| s["request_id"] == rid))
            })
            .collect()
    }

    async fn job(http: &reqwest::Client, svc: &Service, id: &str) -> Value {
        http.get(svc.url(&format!("/v1/jobs/{id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn sigterm_during_a_job_exits_zero_ends_event_streams_and_the_job_finishes_after_restart()
    {
        // Arrange: a sandbox whose Architect jobs take a second, the real binary targeting
        // it, and a job of the module and six callers.
        let org = spawn_org(1000).await;
        org.faults(json!({"rate_limit": 0})).await;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("flowsmith.db");
        let mut svc = start_service(&db, &org.base);
        let http = reqwest::Client::new();
        for doc in [
            fixture("seed_shared_module.json"),
            fixture("seed_inbound_flow.json"),
        ] {
            let r = http
                .post(svc.url("/v1/templates"))
                .json(&doc)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        }
        let queues: Value = http
            .get(format!("{}/api/v2/routing/queues", org.base))
            .bearer_auth(token(&org).await)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let general = queues["entities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["name"] == "General")
            .and_then(|q| q["id"].as_str())
            .unwrap()
            .to_owned();
        let callers = 6;
        let mut flows = vec![json!({"template": MODULE})];
        for i in 0..callers {
            flows.push(
                json!({"template": CALLER, "name": format!("Inbound_Sigterm_{i}"),
                              "params": {"queue_id": general}}),
            );
        }
        let r = http
            .post(svc.url("/v1/jobs"))
            .header("x-request-id", "rid-sigterm")
            .json(&json!({"target": "default", "flows": flows}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202, "{:?}", r.text().await);
        let id = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // An open event stream, read in the background until the server ends it.
        let mut events = http
            .get(svc.url(&format!("/v1/jobs/{id}/events")))
            .send()
            .await
            .unwrap();
        assert_eq!(events.status(), 200);
        let stream = tokio::spawn(async move {
            let mut text = String::new();
            while let Ok(Some(chunk)) = events.chunk().await {
                text.push_str(&String::from_utf8_lossy(&chunk));
            }
            text
        });
        let start = Instant::now();
        loop {
            let j = job(&http, &svc, &id).await;
            if j["progress"]["running"].as_u64().unwrap_or(0) >= 1 {
                break;
            }
            assert!(start.elapsed() < LONG, "no step started: {j:#}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        // Act: SIGTERM with a step running and an event stream open.
        svc.sigterm();
        let stopping = Instant::now();
        let exit = svc.wait(Duration::from_secs(20)).await;
        let stopped_in = stopping.elapsed();
        let streamed = tokio::time::timeout(Duration::from_secs(5), stream)
            .await
            .expect("the event stream ended")
            .unwrap();
        let first_log = svc.log_text();
        let first_lines = lines_with_request_id(&svc, "rid-sigterm");
        let interrupted = job_row_status(&db, &id).await;
        let mut svc = start_service(&db, &org.base);
        let start = Instant::now();
        let done = loop {
            let j = job(&http, &svc, &id).await;
            if !matches!(j["status"].as_str(), Some("queued" | "running")) {
                break j;
            }
            assert!(start.elapsed() < LONG, "job did not finish: {j:#}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let second_lines = lines_with_request_id(&svc, "rid-sigterm");
        svc.sigterm();
        assert_eq!(svc.wait(Duration::from_secs(20)).await.code(), Some(0));

        // Assert: a clean, quick exit (the event stream did not hold the drain)...
        assert_eq!(exit.code(), Some(0), "{first_log}");
        assert!(
            stopped_in < Duration::from_secs(10),
            "stopping took {stopped_in:?}: {first_log}"
        );
        assert!(streamed.contains("event: step.started"), "{streamed}");
        assert!(!streamed.contains("event: job.succeeded"), "{streamed}");
        for line in [
            "shutdown requested",
            "job worker stopped",
            "database closed",
        ] {
            assert!(first_log.contains(line), "missing {line:?}: {first_log}");
        }
        // ...the job was left running for the next start, which finished it...
        assert_eq!(interrupted, "running");
        assert_eq!(done["status"], "succeeded", "{done:#}");
        assert_eq!(done["request_id"], "rid-sigterm");
        assert_eq!(done["progress"]["succeeded"], callers + 1, "{done:#}");
        // ...with one flow per name in the org.
        let flows = org.flows().await;
        let mut names: Vec<&str> = flows.iter().filter_map(|f| f["name"].as_str()).collect();
        names.sort_unstable();
        let total = names.len();
        names.dedup();
        assert_eq!(total, names.len(), "duplicate flows: {flows:#?}");
        assert_eq!(total, callers as usize + 1, "{flows:#?}");
        // Both runs' job and step log lines carry the request id of the POST.
        for lines in [&first_lines, &second_lines] {
            assert!(
                lines.iter().any(|l| l["spans"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s["name"] == "step" && s["job_id"] == id.as_str())),
                "no step line with the request id: {lines:#?}"
            );
        }
        assert!(
            second_lines
                .iter()
                .any(|l| l["message"] == "job finished" && l["status"] == "succeeded"),
            "{second_lines:#?}"
        );
    }

    /// A client-credentials token of the sandbox (to read its queues as the API does).
    async fn token(org: &Org) -> String {
        let r: Value = org
            .http
            .post(format!("{}/oauth/token", org.base))
            .basic_auth(
                flowsmith_sandbox::DEFAULT_CLIENT_ID,
                Some(flowsmith_sandbox::DEFAULT_CLIENT_SECRET),
            )
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["access_token"].as_str().unwrap().to_owned()
    }

    /// The job's status as stored (the service is stopped).
    async fn job_row_status(db: &Path, id: &str) -> String {
        let store = flowsmith::store::Store::open(&crate::db::database_url(db))
            .await
            .unwrap();
        let s = store
            .job(id)
            .await
            .unwrap()
            .unwrap()
            .status
            .as_str()
            .to_owned();
        store.close().await;
        s
    }
}

/// Issue 23, item 4: a Genesys outage while a job polls must not slow later jobs (the wait
/// before a first poll is learnt from completed Architect jobs only). The real binary with
/// `FLOWSMITH_GENESYS_ATTEMPTS=1`: a failed poll is seen at once, so an outage of a few
/// seconds does to the worker's waits what minutes do with the default eight attempts.
mod outage {
    use super::*;
    use crate::service::{Service, serve_against};

    /// One `GET` of the org's counters: a route's answers with `status`.
    async fn answered(org: &Org, route: &str, status: &str) -> u64 {
        let c = org.admin("/sandbox/counters").await;
        if status == "5xx" {
            let by = &c["endpoints"][route]["byStatus"];
            return ["500", "502", "503"]
                .iter()
                .map(|s| by[*s].as_u64().unwrap_or(0))
                .sum();
        }
        c["endpoints"][route]["total"].as_u64().unwrap_or(0)
    }

    async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
        let start = Instant::now();
        while !check().await {
            assert!(start.elapsed() < LONG, "never happened: {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn submit(http: &reqwest::Client, svc: &Service, flows: Vec<Value>) -> String {
        let r = http
            .post(svc.url("/v1/jobs"))
            .json(&json!({"target": "default", "flows": flows}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202, "{:?}", r.text().await);
        r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn finished(http: &reqwest::Client, svc: &Service, id: &str) -> Value {
        let start = Instant::now();
        loop {
            let j: Value = http
                .get(svc.url(&format!("/v1/jobs/{id}")))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if !matches!(j["status"].as_str(), Some("queued" | "running")) {
                return j;
            }
            assert!(start.elapsed() < LONG, "job did not finish: {j:#}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn seconds(job: &Value) -> f64 {
        let at = |k: &str| chrono::DateTime::parse_from_rfc3339(job[k].as_str().unwrap()).unwrap();
        (at("finished_at") - at("created_at")).num_milliseconds() as f64 / 1000.0
    }

    /// A fresh org (1 s Architect jobs) and service at 300/min: a job of the module and 4
    /// callers (with `outage`, every `/api/v2` request answered 5xx from the callers'
    /// uploads until their polls failed 16 times: more than 5 s of
    /// waits), then the timed job: the module and 8 new
    /// callers. Answers the timed job's makespan (s) and the 5xx answers the org gave.
    async fn next_job_after(outage: bool) -> (f64, u64) {
        let org = spawn_org(1000).await;
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = serve_against(&dir.path().join("flowsmith.db"), &org.base);
        cmd.env("GENESYS_RATE_LIMIT_PER_MINUTE", "300")
            .env("FLOWSMITH_GENESYS_ATTEMPTS", "1")
            .env("FLOWSMITH_WORKER_POLL_MS", "50");
        let svc = Service::spawn(cmd);
        let http = reqwest::Client::new();
        for doc in [
            fixture("seed_shared_module.json"),
            fixture("seed_inbound_flow.json"),
        ] {
            let r = http
                .post(svc.url("/v1/templates"))
                .json(&doc)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        }
        let general = org.queue_id("General").await;
        let flows = |names: std::ops::Range<usize>| {
            let mut f = vec![json!({"template": MODULE})];
            f.extend(names.map(|i| {
                json!({"template": CALLER, "name": format!("Paced_{i:02}"), "params": {"queue_id": general}})
            }));
            f
        };
        let polls = "GET /api/v2/flows/jobs/{jobId}";
        let first = submit(&http, &svc, flows(0..4)).await;
        if outage {
            until("the 5 uploads", async || {
                answered(&org, "PUT /sandbox-uploads/{jobId}", "total").await >= 5
            })
            .await;
            org.faults(json!({"error_rate": 1.0})).await;
            until("16 failed polls", async || {
                answered(&org, polls, "5xx").await >= 16
            })
            .await;
            org.faults(json!({"error_rate": 0.0})).await;
        }
        let first = finished(&http, &svc, &first).await;
        assert_eq!(first["status"], "succeeded", "{first:#}");
        let next = submit(&http, &svc, flows(4..12)).await;
        let next = finished(&http, &svc, &next).await;
        assert_eq!(next["status"], "succeeded", "{next:#}");
        assert_eq!(next["progress"]["succeeded"], 8, "{next:#}");
        assert_eq!(next["progress"]["unchanged"], 1, "{next:#}");
        (seconds(&next), answered(&org, polls, "5xx").await)
    }

    #[tokio::test]
    async fn the_job_after_an_outage_is_paced_as_on_a_fresh_service() {
        // Arrange and act: the same two jobs on a service that never saw an outage, and on
        // one whose callers' polls met one.
        let (fresh, fresh_faults) = next_job_after(false).await;
        let (after, faults) = next_job_after(true).await;

        // Assert: the outage happened, and the next job was not slowed by it: within 1.2 x,
        // plus one Architect job (1 s) for a loaded machine, where one late poll costs that
        // much in a single sample (the fault this guards against made it 8 x).
        assert_eq!(fresh_faults, 0);
        assert!(faults >= 16, "{faults} failed polls");
        assert!(
            after <= 1.2 * fresh + 1.0,
            "the job after the outage took {after:.2} s, on a fresh service {fresh:.2} s"
        );
    }
}
