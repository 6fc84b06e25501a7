use std::path::Path;
use std::time::{Duration, Instant};

use flowsmith::app::Application;
use flowsmith::config::{Settings, TargetConfig};
use flowsmith::jobs::WorkerOptions;
use flowsmith_sandbox::{self as sandbox, SandboxOptions};
use reqwest::{Client, Response};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TARGET: &str = "org";

/// A sandbox org on its own port (it outlives service restarts).
pub struct Org {
    pub base: String,
    pub http: Client,
}

pub async fn spawn_org(job_duration_ms: u64) -> Org {
    let (base, _sandbox) = sandbox::spawn_local(SandboxOptions {
        queues: vec!["General".into(), "Billing".into()],
        job_duration_ms,
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

impl Org {
    pub async fn admin(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn admin_post(&self, path: &str, body: Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }

    pub async fn faults(&self, patch: Value) {
        let r = self
            .http
            .put(format!("{}/sandbox/faults", self.base))
            .json(&patch)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    pub async fn queue_id(&self, name: &str) -> String {
        let qs = self.admin("/sandbox/queues").await;
        qs.as_array()
            .unwrap()
            .iter()
            .find(|q| q["name"] == name)
            .and_then(|q| q["id"].as_str())
            .unwrap()
            .to_owned()
    }

    pub async fn flows(&self) -> Vec<Value> {
        self.admin("/sandbox/flows").await["flows"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Architect jobs registered so far.
    pub async fn jobs_registered(&self) -> u64 {
        self.admin("/sandbox/counters").await["endpoints"]["POST /api/v2/flows/jobs"]["total"]
            .as_u64()
            .unwrap_or(0)
    }
}

/// Short leases and fast retries, so crash and retry tests are quick.
pub fn fast_worker() -> WorkerOptions {
    WorkerOptions {
        lease: Duration::from_secs(2),
        heartbeat: Duration::from_millis(400),
        poll_interval: Duration::from_millis(50),
        first_poll: Duration::from_millis(50),
        max_poll: Duration::from_millis(500),
        retry_backoff: Duration::from_millis(50),
        max_rate_limit_retries: 1,
        registered_timeout: Duration::from_secs(5),
        store_retry_first: Duration::from_millis(50),
        store_retry_max: Duration::from_millis(400),
        ..WorkerOptions::default()
    }
}

pub struct TestApp {
    pub base: String,
    pub http: Client,
    db: flowsmith::store::Store,

    stop: Option<oneshot::Sender<()>>,
    pub handle: Option<JoinHandle<std::io::Result<()>>>,
}

pub fn settings_for(org: &Org, db_url: &str) -> Settings {
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: db_url.to_owned(),
        ..Settings::default()
    };
    settings.targets.push(TargetConfig {
        name: TARGET.into(),
        api_base_url: org.base.clone(),
        login_base_url: org.base.clone(),
        client_id: sandbox::DEFAULT_CLIENT_ID.into(),
        client_secret: sandbox::DEFAULT_CLIENT_SECRET.to_owned().into(),
        rate_limit_per_minute: 100_000,
        concurrency: Some(4),
    });
    settings
}

pub async fn spawn_app(org: &Org, dir: &Path, opts: WorkerOptions) -> TestApp {
    let db_url = crate::db::database_url(&dir.join("flowsmith.db"));
    spawn_app_with(settings_for(org, &db_url), opts).await
}

/// The service with explicit settings (e.g. a target of its own name and rate limit).
pub async fn spawn_app_with(settings: Settings, opts: WorkerOptions) -> TestApp {
    let app = Application::build_with(settings, opts)
        .await
        .expect("service starts");
    let base = format!("http://{}", app.local_addr());
    let db = app.store();
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    TestApp {
        base,
        http: Client::new(),
        db,

        stop: Some(tx),
        handle: Some(handle),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn store(&self, doc: &Value) {
        let r = self.post("/v1/templates", doc).await;
        assert!(r.status().is_success(), "{:?}", r.text().await);
    }

    /// POST /v1/jobs expecting 202; returns the job.
    pub async fn submit(&self, body: &Value) -> Value {
        let r = self.post("/v1/jobs", body).await;
        let status = r.status().as_u16();
        let job: Value = r.json().await.unwrap();
        assert_eq!(status, 202, "{job}");
        job
    }

    pub async fn job(&self, id: &str) -> Value {
        self.get(&format!("/v1/jobs/{id}"))
            .await
            .json()
            .await
            .unwrap()
    }

    /// Polls the job until its status is final (or panics after `timeout`).
    pub async fn wait_terminal(&self, id: &str, timeout: Duration) -> Value {
        let start = Instant::now();
        loop {
            let j = self.job(id).await;
            if matches!(
                j["status"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            ) {
                return j;
            }
            assert!(start.elapsed() < timeout, "job did not finish: {j:#}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls the job until `pred` holds.
    pub async fn wait_for(
        &self,
        id: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = Instant::now();
        loop {
            let j = self.job(id).await;
            if pred(&j) {
                return j;
            }
            assert!(start.elapsed() < timeout, "condition not reached: {j:#}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.unwrap().unwrap();
        }
    }

    /// The service's database handle (for work the service does in the background).
    pub fn db(&self) -> &flowsmith::store::Store {
        &self.db
    }

    /// Fills (`true`) or frees the service's "disk": see `Store::simulate_disk_full`.
    pub async fn simulate_disk_full(&self, full: bool) {
        self.db.simulate_disk_full(full).await.unwrap();
    }

    /// A counter of this process's `/metrics` with exactly these labels (0 when absent).
    pub async fn counter(&self, name: &str, labels: &str) -> f64 {
        let text = self.get("/metrics").await.text().await.unwrap();
        let prefix = format!("{name}{{{labels}}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// Kills the service abruptly: its future (API and worker) is dropped mid-flight.
    /// Drops the service mid-flight, as a crash would. A dead process also loses its SQLite
    /// connections, and with them any write lock a cancelled transaction still holds (its
    /// rollback would only run when the pool is next used): close them too.
    pub async fn crash(&mut self) {
        if let Some(h) = self.handle.take() {
            h.abort();
            let _ = h.await;
        }
        self.db.close().await;
    }
}

pub fn fixture(name: &str) -> Value {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub const MODULE: &str = "Shared_Module_Language_Select";
pub const CALLER: &str = "Inbound_Flow_A";

/// Stores the seed module and inbound templates.
pub async fn store_seed(app: &TestApp) {
    app.store(&fixture("seed_shared_module.json")).await;
    app.store(&fixture("seed_inbound_flow.json")).await;
}

/// The seed job: the module, then the inbound template as flows A and B.
pub async fn seed_request(org: &Org) -> Value {
    let general = org.queue_id("General").await;
    let billing = org.queue_id("Billing").await;
    json!({
        "target": TARGET,
        "flows": [
            {"template": MODULE},
            {"template": CALLER, "name": "Inbound_Flow_A", "params": {"queue_id": general}},
            {"template": CALLER, "name": "Inbound_Flow_B", "params": {"queue_id": billing}},
        ]
    })
}

pub fn steps(job: &Value) -> Vec<Value> {
    job["steps"].as_array().cloned().unwrap_or_default()
}

pub fn step<'a>(job: &'a Value, flow: &str) -> &'a Value {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["flow_name"] == flow)
        .unwrap_or_else(|| panic!("no step for {flow}: {job:#}"))
}

pub const LONG: Duration = Duration::from_secs(60);
