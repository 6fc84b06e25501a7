//! The Genesys client over real HTTP: against the sandbox, and against a tiny scripted mock for
//! the answers the sandbox cannot produce on demand (a 429 with `Retry-After: 1`, 409s).

// Test code: a panic is a failed assertion, and a scenario may read top to bottom.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, post};
use flowsmith::config::TargetConfig;
use flowsmith::genesys::{
    self, ClientOptions, GenesysClient, GenesysError, JobStatus, RegisteredJob, RetryPolicy,
};
use flowsmith::template::FlowType;
use flowsmith_sandbox::{SandboxOptions, bench, spawn_local};
use secrecy::SecretString;
use serde_json::{Value, json};

const SECRET: &str = "sandbox-secret";

fn target(base: &str, secret: &str, rate: u32) -> TargetConfig {
    TargetConfig {
        name: "test".into(),
        api_base_url: base.into(),
        login_base_url: base.into(),
        client_id: "sandbox".into(),
        client_secret: SecretString::from(secret.to_owned()),
        rate_limit_per_minute: rate,
        concurrency: Some(4),
    }
}

fn fast_retries(max_attempts: u32) -> ClientOptions {
    ClientOptions {
        retry: RetryPolicy {
            base: Duration::from_millis(5),
            cap: Duration::from_millis(50),
            max_attempts,
        },
        ..ClientOptions::default()
    }
}

async fn sandbox(opts: SandboxOptions) -> String {
    spawn_local(SandboxOptions {
        job_duration_ms: 20,
        rate_limit: 0,
        ..opts
    })
    .await
    .unwrap()
    .0
}

async fn admin(base: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut req = reqwest::Client::new().request(method, format!("{base}{path}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap_or(Value::Null)
}

async fn counters(base: &str) -> Value {
    admin(base, reqwest::Method::GET, "/sandbox/counters", None).await
}

/// Sum of the sandbox's request counts over routes whose template satisfies `pick`.
fn counted(c: &Value, pick: impl Fn(&str) -> bool) -> u64 {
    c["endpoints"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(route, _)| pick(route))
        .map(|(_, v)| v["total"].as_u64().unwrap())
        .sum()
}

const MODULE: &str = r#"
commonModule:
  name: GT Module
  division: Home
  defaultLanguage: en-us
  settingsCommonModule:
    compatibleFlowTypes:
      - flowType: inboundcall
  variables:
    - stringVariable:
        name: Common.result
        initialValue:
          noValue: true
        isInput: false
        isOutput: true
  startUpTaskActions:
    - playAudio:
        name: Hello
        audio:
          tts: Hello.
"#;

const CALLER: &str = r#"
inboundCall:
  name: GT Caller
  division: Home
  defaultLanguage: en-us
  startUpRef: "/inboundCall/tasks/task[Main]"
  supportedLanguages:
    en-us:
      defaultLanguageSkill:
        noValue: true
  tasks:
    - task:
        name: Main
        refId: Main
        actions:
          - callCommonModule:
              name: CallModule
              commonModule:
                GT Module:
                  ver_latestPublished: {inputs: {}, outputs: {}}
          - transferToAcd: {name: Xfer, targetQueue: {lit: {name: General}}}
          - disconnect: {name: Bye}
"#;

/// Registers, uploads and polls one Architect job to its end.
async fn publish(
    c: &GenesysClient,
    yaml: &str,
) -> (RegisteredJob, flowsmith::genesys::ArchitectJob) {
    let job = c.register_job().await.unwrap();
    c.upload(&job, yaml).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = c.job(&job.id).await.unwrap();
        assert_eq!(state.id, job.id);
        if matches!(state.status, JobStatus::Success | JobStatus::Failure) {
            return (job, state);
        }
        assert!(Instant::now() < deadline, "job never finished: {state:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn architect_job_round_trip_and_reads() {
    let base = sandbox(SandboxOptions::default()).await;
    let c = GenesysClient::new(&target(&base, SECRET, 0)).unwrap();

    let (job, module_job) = publish(&c, MODULE).await;
    assert_eq!(module_job.status, JobStatus::Success, "{module_job:?}");
    let module_ref = module_job.flow.clone().expect("flow of a successful job");
    assert_eq!(module_ref.name, "GT Module");

    // The presigned URL is one-shot: S3's XML error becomes an Api error.
    match c.upload(&job, MODULE).await {
        Err(GenesysError::Api { status, code, .. }) => {
            assert_eq!(status, 403);
            assert_eq!(code, "AccessDenied");
        }
        other => panic!("{other:?}"),
    }

    let found = c
        .find_flow("GT Module", FlowType::Module)
        .await
        .unwrap()
        .expect("module found by name");
    assert_eq!(found.id, module_ref.id);
    assert_eq!(found.flow_type, "COMMONMODULE");
    assert!(
        c.find_flow("GT Module", FlowType::Inbound)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        c.find_flow("GT Mod", FlowType::Module)
            .await
            .unwrap()
            .is_none()
    );

    let flow = c.flow(&module_ref.id).await.unwrap().expect("flow by id");
    assert_eq!(flow.name, "GT Module");
    assert!(flow.published_version.is_some(), "{flow:?}");
    assert_eq!(flow.published_version, found.published_version);

    // Queue id of the seeded queue, read with a token of our own.
    let http = reqwest::Client::new();
    let token = bench::token(&http, &base, "sandbox", SECRET).await.unwrap();
    let queues: Value = http
        .get(format!("{base}/api/v2/routing/queues?name=General"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let queue_id = queues["entities"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        c.queue_name(&queue_id).await.unwrap().as_deref(),
        Some("General")
    );
    assert_eq!(
        c.queue_name("00000000-0000-0000-0000-000000000000")
            .await
            .unwrap(),
        None
    );

    // Nobody calls the module yet; then a caller is published.
    assert!(c.consuming_flows(&module_ref.id).await.unwrap().is_empty());
    let (_, caller_job) = publish(&c, CALLER).await;
    assert_eq!(caller_job.status, JobStatus::Success, "{caller_job:?}");
    let caller = caller_job.flow.unwrap();
    let consumers = c.consuming_flows(&module_ref.id).await.unwrap();
    assert_eq!(consumers.len(), 1, "{consumers:?}");
    assert_eq!(consumers[0].id, caller.id);
    assert_eq!(consumers[0].name, "GT Caller");
    let inbound = c
        .find_flow("GT Caller", FlowType::Inbound)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inbound.flow_type, "INBOUNDCALL");

    // Both flows in one batched read; an unknown id is simply absent.
    let before = c.stats().api_requests;
    let mut batch = c
        .flows_by_ids(&[
            module_ref.id.clone(),
            caller.id.clone(),
            "00000000-0000-0000-0000-000000000000".into(),
        ])
        .await
        .unwrap();
    assert_eq!(
        c.stats().api_requests,
        before + 1,
        "one request for the page"
    );
    batch.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(batch.len(), 2, "{batch:?}");
    assert_eq!(batch[0].name, "GT Caller");
    assert_eq!(batch[0].published_version, inbound.published_version);
    assert_eq!(batch[1].id, module_ref.id);
    assert_eq!(batch[1].published_version, flow.published_version);
    // More ids than a page: one request per page of ids.
    let many: Vec<String> = (0..genesys::IDS_PER_PAGE + 1)
        .map(|i| format!("00000000-0000-0000-0000-{i:012}"))
        .chain([caller.id.clone()])
        .collect();
    let before = c.stats().api_requests;
    let found = c.flows_by_ids(&many).await.unwrap();
    assert_eq!(c.stats().api_requests, before + 2);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, caller.id);

    // A failed job keeps its messages.
    let (_, bad) = publish(&c, &CALLER.replace("General", "No Such Queue")).await;
    assert_eq!(bad.status, JobStatus::Failure);
    assert!(!bad.messages.is_empty());
    assert!(bad.messages.iter().all(|m| m.kind == "Error"), "{bad:?}");

    // 404s: None for reads of one entity, an Api error with the correlation id for a job.
    assert_eq!(c.flow("nope").await.unwrap(), None);
    match c.job("nope").await {
        Err(GenesysError::Api {
            status,
            code,
            correlation_id,
            ..
        }) => {
            assert_eq!(status, 404);
            assert_eq!(code, "not.found");
            assert!(correlation_id.is_some_and(|c| !c.is_empty()));
        }
        other => panic!("{other:?}"),
    }

    // The client's counters agree with what the sandbox served.
    let s = c.stats();
    let served = counters(&base).await;
    assert_eq!(
        s.api_requests,
        counted(&served, |r| r.contains(" /api/v2")) - 1
    );
    assert_eq!(s.token_requests, 1);
    assert_eq!(
        s.uploads,
        counted(&served, |r| r.contains("/sandbox-uploads/"))
    );
    assert_eq!((s.rate_limited, s.retries), (0, 0));
}

#[tokio::test]
async fn expired_token_is_refreshed_once() {
    let base = sandbox(SandboxOptions::default()).await;
    let c = GenesysClient::new(&target(&base, SECRET, 0)).unwrap();
    assert_eq!(c.flow("nope").await.unwrap(), None);
    assert_eq!(c.stats().token_requests, 1);

    admin(&base, reqwest::Method::POST, "/sandbox/tokens/expire", None).await;
    assert!(c.find_flow("x", FlowType::Module).await.unwrap().is_none());
    let s = c.stats();
    assert_eq!(s.token_requests, 2);
    assert_eq!(s.api_requests, 3, "{s:?}");
    assert_eq!(s.retries, 1);
}

#[tokio::test]
async fn short_lived_tokens_are_refreshed_before_expiry() {
    let base = sandbox(SandboxOptions {
        token_ttl: 1,
        ..SandboxOptions::default()
    })
    .await;
    let c = GenesysClient::new(&target(&base, SECRET, 0)).unwrap();
    c.flow("nope").await.unwrap();
    // The 1 s token is refreshed 100 ms before it ends, so no call ever sees a 401.
    let deadline = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < deadline {
        c.flow("nope").await.unwrap();
    }
    let s = c.stats();
    assert!(s.token_requests >= 2, "{s:?}");
    assert_eq!(s.retries, 0, "{s:?}");
}

#[tokio::test]
async fn bad_secret_is_an_auth_error_without_the_secret() {
    let base = sandbox(SandboxOptions::default()).await;
    let wrong = "wrong-secret-Xy7";
    let c = GenesysClient::new(&target(&base, wrong, 0)).unwrap();
    let err = c.register_job().await.unwrap_err();
    assert!(matches!(err, GenesysError::Auth(_)), "{err:?}");
    assert!(!err.is_retryable());
    let text = format!("{err} {err:?} {c:?}");
    assert!(text.contains("invalid_client"), "{text}");
    assert!(!text.contains(wrong), "{text}");
    assert_eq!(c.stats().api_requests, 0);
    assert_eq!(c.stats().token_requests, 1);
}

#[tokio::test]
async fn limiter_at_the_org_rate_avoids_429s() {
    let base = sandbox(SandboxOptions::default()).await;
    admin(
        &base,
        reqwest::Method::PUT,
        "/sandbox/faults",
        Some(json!({"rate_limit": 600})),
    )
    .await;
    let c = GenesysClient::new(&target(&base, SECRET, 600)).unwrap();
    let start = Instant::now();
    let calls = (0..20).map(|_| c.flow("nope"));
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.unwrap(), None);
    }
    let elapsed = start.elapsed();
    // Evenly spaced (burst 1): 19 gaps of 60 s / 600.
    assert!(elapsed >= Duration::from_millis(1900), "{elapsed:?}");
    let served = counters(&base).await;
    assert_eq!(served["rateLimited"], 0, "{served}");
    assert_eq!(c.stats().rate_limited, 0);
    assert_eq!(c.stats().api_requests, 20);
}

#[tokio::test]
async fn transient_errors_are_retried() {
    let base = sandbox(SandboxOptions {
        error_rate: 0.3,
        ..SandboxOptions::default()
    })
    .await;
    let c = GenesysClient::with_options(&target(&base, SECRET, 0), fast_retries(10)).unwrap();
    for _ in 0..20 {
        assert_eq!(c.flow("nope").await.unwrap(), None);
    }
    let s = c.stats();
    assert!(s.retries > 0, "{s:?}");
    assert_eq!(s.api_requests, 20 + s.retries);
    let served = counters(&base).await;
    assert_eq!(s.api_requests, counted(&served, |r| r.contains(" /api/v2")));
}

#[tokio::test]
async fn persistent_errors_end_unavailable_after_the_attempt_cap() {
    let base = sandbox(SandboxOptions {
        error_rate: 1.0,
        ..SandboxOptions::default()
    })
    .await;
    let c = GenesysClient::with_options(&target(&base, SECRET, 0), fast_retries(4)).unwrap();
    let err = c.register_job().await.unwrap_err();
    assert!(matches!(err, GenesysError::Unavailable(_)), "{err:?}");
    assert!(err.is_retryable());
    let s = c.stats();
    assert_eq!((s.api_requests, s.retries), (4, 3), "{s:?}");
}

// ----- scripted mock ------------------------------------------------------------------

type Script = Arc<Mutex<(VecDeque<(u16, Vec<(&'static str, String)>)>, Vec<Instant>)>>;

/// A Genesys stand-in: `/oauth/token`, and any `/api/v2/...` answered from `script` (then 200
/// with a flow). Records when each API request arrived.
async fn mock(script: Vec<(u16, Vec<(&'static str, String)>)>) -> (String, Script) {
    async fn token() -> impl IntoResponse {
        axum::Json(json!({"access_token": "tok", "token_type": "bearer", "expires_in": 86400}))
    }
    async fn api(State(s): State<Script>) -> impl IntoResponse {
        let next = {
            let mut g = s.lock().unwrap();
            g.1.push(Instant::now());
            g.0.pop_front()
        };
        let mut headers = HeaderMap::new();
        headers.insert("inin-correlation-id", "corr-1".parse().unwrap());
        match next {
            None => (
                StatusCode::OK,
                headers,
                axum::Json(json!({"id": "f1", "name": "F", "type": "INBOUNDCALL"})),
            ),
            Some((status, extra)) => {
                for (k, v) in extra {
                    headers.insert(k, v.parse().unwrap());
                }
                let status = StatusCode::from_u16(status).unwrap();
                let body = json!({"message": "scripted", "code": "scripted.error", "status": status.as_u16(), "contextId": "ctx"});
                (status, headers, axum::Json(body))
            }
        }
    }
    let state: Script = Arc::new(Mutex::new((script.into(), Vec::new())));
    let app = Router::new()
        .route("/oauth/token", post(token))
        .route("/api/v2/{*rest}", any(api))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), state)
}

#[tokio::test]
async fn a_429_pauses_the_whole_target_for_retry_after() {
    let (base, script) = mock(vec![(429, vec![("retry-after", "1".into())])]).await;
    let c = Arc::new(GenesysClient::new(&target(&base, SECRET, 0)).unwrap());
    let start = Instant::now();
    let first = tokio::spawn({
        let c = c.clone();
        async move { c.flow("f1").await }
    });
    // Once the 429 has been seen, a second request waits for the same pause.
    while c.paused_for().is_none() {
        assert!(!first.is_finished());
        tokio::task::yield_now().await;
    }
    let paused = c.paused_for().unwrap();
    assert!(paused > Duration::from_millis(500), "{paused:?}");
    let second = c.flow("f1").await.unwrap().unwrap();
    assert_eq!(second.id, "f1");
    let first = first.await.unwrap().unwrap().unwrap();
    assert_eq!(first.flow_type, "INBOUNDCALL");
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    let arrivals = script.lock().unwrap().1.clone();
    assert_eq!(arrivals.len(), 3);
    for later in &arrivals[1..] {
        assert!(*later - arrivals[0] >= Duration::from_millis(990));
    }
    let s = c.stats();
    assert_eq!(
        (s.api_requests, s.rate_limited, s.retries),
        (3, 1, 1),
        "{s:?}"
    );
    assert_eq!(c.paused_for(), None);
}

#[tokio::test]
async fn a_429_without_retry_after_uses_the_ratelimit_reset() {
    let (base, _) = mock(vec![(429, vec![("inin-ratelimit-reset", "1".into())])]).await;
    let c = GenesysClient::new(&target(&base, SECRET, 0)).unwrap();
    let start = Instant::now();
    assert!(c.flow("f1").await.unwrap().is_some());
    assert!(start.elapsed() >= Duration::from_secs(1));
    assert_eq!(c.stats().rate_limited, 1);
}

#[tokio::test]
async fn too_long_a_429_pause_is_unavailable() {
    let (base, script) = mock(vec![(429, vec![("retry-after", "3600".into())])]).await;
    let c = GenesysClient::new(&target(&base, SECRET, 0)).unwrap();
    let err = c.flow("f1").await.unwrap_err();
    assert!(matches!(err, GenesysError::Unavailable(_)), "{err:?}");
    assert_eq!(script.lock().unwrap().1.len(), 1);
}

#[tokio::test]
async fn conflicts_are_retried_a_few_times() {
    let conflict = || (409u16, Vec::new());
    let (base, _) = mock(vec![conflict(), conflict()]).await;
    let c = GenesysClient::with_options(&target(&base, SECRET, 0), fast_retries(8)).unwrap();
    assert!(c.flow("f1").await.unwrap().is_some());
    assert_eq!(c.stats().retries, 2);

    let (base, _) = mock(vec![conflict(); 10]).await;
    let c = GenesysClient::with_options(&target(&base, SECRET, 0), fast_retries(8)).unwrap();
    match c.flow("f1").await {
        Err(GenesysError::Api {
            status,
            code,
            correlation_id,
            ..
        }) => {
            assert_eq!((status, code.as_str()), (409, "scripted.error"));
            assert_eq!(correlation_id.as_deref(), Some("corr-1"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.stats().api_requests, 4); // 1 + ClientOptions::default().conflict_retries
}

#[tokio::test]
async fn a_second_401_is_an_api_error() {
    let (base, _) = mock(vec![(401, Vec::new()), (401, Vec::new())]).await;
    let c = GenesysClient::new(&target(&base, SECRET, 0)).unwrap();
    match c.flow("f1").await {
        Err(GenesysError::Api { status: 401, .. }) => {}
        other => panic!("{other:?}"),
    }
    let s = c.stats();
    assert_eq!((s.api_requests, s.token_requests), (2, 2), "{s:?}");
}

/// The org-object listings read every page (100 per page) and the contracts, columns and
/// names the job preflight needs, from objects seeded with `--org`-style options and the
/// admin API.
#[tokio::test]
async fn org_object_listings_page_through_everything() {
    use flowsmith_sandbox::org::{PromptSpec, ScheduleGroupSpec, ScheduleState};
    let base = sandbox(SandboxOptions {
        prompts: (0..150)
            .map(|i| PromptSpec {
                name: format!("P{i:03}"),
            })
            .collect(),
        schedule_groups: vec![ScheduleGroupSpec {
            name: "Office Hours".into(),
            state: ScheduleState::Open,
        }],
        ..SandboxOptions::default()
    })
    .await;
    admin(
        &base,
        reqwest::Method::POST,
        "/sandbox/data-actions",
        Some(json!({"integration": "Customer DB", "name": "Verify PIN",
            "inputs": {"account": "string", "pin": "string"}, "outputs": {"valid": "boolean"}})),
    )
    .await;
    admin(
        &base,
        reqwest::Method::POST,
        "/sandbox/data-tables",
        Some(json!({"name": "Accounts", "key": "account", "columns": {"tier": "string"}})),
    )
    .await;
    let c = GenesysClient::new(&target(&base, SECRET, 0)).unwrap();
    let prompts = c.prompt_names().await.unwrap();
    assert_eq!(prompts.len(), 150);
    assert_eq!(prompts[149], "P149");
    assert_eq!(
        c.schedule_group_names().await.unwrap(),
        vec!["Office Hours"]
    );
    let actions = c.data_actions().await.unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].category, "Customer DB");
    assert_eq!(actions[0].inputs, vec!["account", "pin"]);
    assert_eq!(actions[0].outputs, vec!["valid"]);
    let tables = c.data_tables().await.unwrap();
    assert_eq!(tables[0].columns, vec!["tier"]);
    assert!(
        c.queue_names()
            .await
            .unwrap()
            .contains(&"General".to_owned())
    );
}
