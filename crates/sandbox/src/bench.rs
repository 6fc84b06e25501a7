//! `flowsmith bench sandbox`: how many `GET /api/v2/flows/{id}` the sandbox serves per second
//! with limits, latency and faults off. Also small client helpers (token, publish a flow file).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SandboxOptions, spawn_local};
use crate::loadgen::{self, LoadReport};

/// A client-credentials token from the sandbox at `base`.
pub async fn token(
    http: &reqwest::Client,
    base: &str,
    id: &str,
    secret: &str,
) -> Result<String, String> {
    let resp = http
        .post(format!("{base}/oauth/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let v: Value = resp.json().await.map_err(|e| e.to_string())?;
    v["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("token request failed with {status}: {v}"))
}

/// Runs an Architect job for `yaml` (register, upload, poll) and returns the final job state.
pub async fn run_job(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    yaml: &str,
    timeout: Duration,
) -> Result<Value, String> {
    let reg: Value = crate::loadgen::fetch_json(
        http.post(format!("{base}/api/v2/flows/jobs"))
            .bearer_auth(token),
    )
    .await?;
    let url = reg["presignedUrl"]
        .as_str()
        .ok_or_else(|| format!("no presignedUrl in {reg}"))?;
    let mut put = http.put(url).body(yaml.to_owned());
    for (k, v) in reg["headers"].as_object().into_iter().flatten() {
        put = put.header(k.as_str(), v.as_str().unwrap_or_default());
    }
    let up = put.send().await.map_err(|e| e.to_string())?;
    if !up.status().is_success() {
        return Err(format!("upload refused: {}", up.status()));
    }
    let id = reg["id"].as_str().unwrap_or_default();
    let deadline = Instant::now() + timeout;
    loop {
        let job: Value = crate::loadgen::fetch_json(
            http.get(format!("{base}/api/v2/flows/jobs/{id}?expand=messages"))
                .bearer_auth(token),
        )
        .await?;
        if matches!(job["status"].as_str(), Some("Success" | "Failure")) {
            return Ok(job);
        }
        if Instant::now() > deadline {
            return Err(format!("job {id} did not finish: {job}"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

const BENCH_FLOW: &str = r#"inboundCall:
  name: Bench Flow
  defaultLanguage: en-us
  startUpRef: "/inboundCall/tasks/task[Main]"
  tasks:
    - task:
        name: Main
        refId: Main
        actions:
          - disconnect:
              name: Disconnect
"#;

/// Starts a sandbox with limits, latency and faults off, publishes one flow through the job
/// API, then loads `GET /api/v2/flows/{id}` with `concurrency` closed-loop workers.
pub async fn get_flow_load(concurrency: usize, duration: Duration) -> LoadReport {
    let opts = SandboxOptions {
        rate_limit: 0,
        latency_ms: 0,
        error_rate: 0.0,
        job_duration_ms: 0,
        job_failure_rate: 0.0,
        ..SandboxOptions::default()
    };
    let (base, _sandbox) = spawn_local(opts).await.expect("start the sandbox");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency.max(1))
        .build()
        .expect("http client");
    let tok = token(&http, &base, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        .await
        .expect("token");
    let job = run_job(&http, &base, &tok, BENCH_FLOW, Duration::from_secs(10))
        .await
        .expect("job");
    let flow_id = job["flow"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("job did not publish: {job}"))
        .to_owned();
    let url = format!("{base}/api/v2/flows/{flow_id}");
    loadgen::run(concurrency, duration, move |_| {
        http.get(&url).bearer_auth(&tok)
    })
    .await
}
