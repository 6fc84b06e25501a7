//! `flowsmith bench service`: the real binary under HTTP load while it provisions.
//!
//! Starts this executable as `flowsmith serve` on a fresh database (a child process, so its
//! memory is its own), targeting an in-process sandbox; seeds stored templates and finished
//! jobs; starts a real provisioning job so the worker is busy during the load; then measures
//! `GET /v1/jobs/{id}`, `GET /v1/templates/{name}` and `POST /v1/templates` at fixed rates
//! (open loop) and prints p50/p99/throughput/errors and the child's peak and resident memory.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use futures::StreamExt;
use serde_json::{Value, json};

use flowsmith_sandbox::loadgen::{self, LoadReport};
use flowsmith_sandbox::{self as sandbox, SandboxOptions};

use super::database::{DatabaseArgs, FreshDatabase};

/// Read latency target at the measured rate (p99).
const READ_P99_TARGET: Duration = Duration::from_millis(10);
/// Memory target of the service process.
const MEMORY_TARGET_MB: f64 = 100.0;

#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// Seconds of load per measured endpoint.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Requests per second of the read measurements (open loop).
    #[arg(long, default_value_t = 2000)]
    pub rate: u32,
    /// Requests per second of the `POST /v1/templates` measurement (open loop).
    #[arg(long, default_value_t = 500)]
    pub write_rate: u32,
    /// Stored templates seeded before the load.
    #[arg(long, default_value_t = 10_000)]
    pub templates: usize,
    /// Finished (dry-run) jobs seeded before the load.
    #[arg(long, default_value_t = 1_000)]
    pub jobs: usize,
    /// Callers of the provisioning job that runs during the load (plus its module).
    #[arg(long, default_value_t = 50)]
    pub callers: usize,
    /// How long the sandbox's Architect jobs take, milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub job_ms: u64,
    /// `RUST_LOG` of the service, e.g. `warn` (default: the service's own default, info);
    /// `flowsmith::app=info` is added so the start-up line still gives the port.
    #[arg(long)]
    pub log: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// The service child process.
struct ServiceProcess {
    child: Child,
    base: String,
    log_lines: Arc<AtomicU64>,
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `VmHWM` (peak) and `VmRSS` (now) of a process, in MB.
fn memory_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn spawn_service(db: &str, sandbox: &str, log: Option<&str>) -> Result<ServiceProcess, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current executable: {e}"))?;
    let mut cmd = Command::new(exe);
    for (k, _) in std::env::vars() {
        if k.starts_with("FLOWSMITH_") || k.starts_with("GENESYS_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    if let Some(filter) = log {
        // The start-up line (info, from flowsmith::app) gives the port: keep it.
        cmd.env("RUST_LOG", format!("{filter},flowsmith::app=info"));
    }
    let mut child = cmd
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", db])
        .env("GENESYS_CLIENT_ID", sandbox::DEFAULT_CLIENT_ID)
        .env("GENESYS_CLIENT_SECRET", sandbox::DEFAULT_CLIENT_SECRET)
        .env("GENESYS_ENVIRONMENT", sandbox)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the service: {e}"))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let log_lines = Arc::new(AtomicU64::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn({
        let log_lines = log_lines.clone();
        move || {
            // Keeps draining stderr so the service never blocks on a full pipe.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log_lines.fetch_add(1, Ordering::Relaxed);
                if line.contains("flowsmith listening")
                    && let Some(i) = line.find("addr=")
                {
                    let addr: String = line[i + 5..]
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ':'))
                        .collect();
                    let _ = tx.send(addr);
                }
            }
        }
    });
    let mut svc = ServiceProcess {
        child,
        base: String::new(),
        log_lines,
    };
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .map_err(|_| "the service printed no listening line".to_owned())?;
    svc.base = format!("http://{addr}");
    Ok(svc)
}

/// Sends `bodies` as `POST base+path` with `concurrency` in flight; the number that failed.
async fn post_all(
    http: &reqwest::Client,
    url: &str,
    bodies: impl Iterator<Item = Value>,
    concurrency: usize,
) -> usize {
    futures::stream::iter(bodies)
        .map(|b| {
            let req = http.post(url).json(&b);
            async move { req.send().await.is_ok_and(|r| r.status().is_success()) }
        })
        .buffer_unordered(concurrency)
        .filter(|ok| futures::future::ready(!ok))
        .count()
        .await
}

fn line(what: &str, r: &LoadReport, target: Option<Duration>, pid: u32) {
    let (hwm, rss) = memory_mb(pid);
    println!("{what}: {r}; service memory after: peak {hwm:.1} MB, resident {rss:.1} MB");
    if let Some(t) = target {
        println!(
            "  p99 ratio to the {} ms target: {:.2}; throughput {:.0} req/s",
            t.as_millis(),
            r.p99.as_secs_f64() / t.as_secs_f64(),
            r.rps
        );
    }
}

async fn job_status(http: &reqwest::Client, base: &str, id: &str) -> String {
    let j: Value = match http.get(format!("{base}/v1/jobs/{id}")).send().await {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    format!(
        "{} ({}/{} steps done)",
        j["status"].as_str().unwrap_or("?"),
        j["progress"]["done"],
        j["progress"]["total"]
    )
}

pub async fn run(a: ServiceArgs) -> bool {
    let db = match FreshDatabase::create(&a.database).await {
        Ok(db) => db,
        Err(e) => {
            println!("{e}");
            return false;
        }
    };
    println!("database: {}", db.describe().await);
    let ok = measure(&a, db.url()).await;
    // After `measure`: the service process has been stopped.
    db.remove().await;
    ok
}

/// Seeds templates and finished dry-run jobs, then starts the provisioning job that runs
/// during the load; answers its id.
async fn seed(
    http: &reqwest::Client,
    base: &str,
    sandbox_url: &str,
    a: &ServiceArgs,
    pid: u32,
) -> Option<String> {
    // Seed: templates, finished jobs, and the job that runs during the load.
    let t0 = Instant::now();
    let failed = post_all(
        http,
        &format!("{base}/v1/templates"),
        (0..a.templates as u64).map(super::seed_sized),
        16,
    )
    .await;
    println!(
        "seeded {} templates in {:.1?} ({failed} failed)",
        a.templates,
        t0.elapsed()
    );
    let module: Value = serde_json::from_str(include_str!(
        "../../../tests/fixtures/seed_shared_module.json"
    ))
    .unwrap_or_default();
    let inbound: Value = serde_json::from_str(include_str!(
        "../../../tests/fixtures/seed_inbound_flow.json"
    ))
    .unwrap_or_default();
    let module_name = module["name"].as_str().unwrap_or_default().to_owned();
    let inbound_name = inbound["name"].as_str().unwrap_or_default().to_owned();
    let failed = post_all(
        http,
        &format!("{base}/v1/templates"),
        [module, inbound].into_iter(),
        1,
    )
    .await;
    if failed > 0 {
        println!("cannot store the seed templates");
        return None;
    }
    let t0 = Instant::now();
    let n_templates = a.templates.max(1) as u64;
    let failed = post_all(
        http,
        &format!("{base}/v1/jobs"),
        (0..a.jobs as u64).map(|n| {
            json!({"target": "default", "dry_run": true,
                   "flows": [{"template": format!("bench_module_{}", n % n_templates)}]})
        }),
        8,
    )
    .await;
    println!(
        "seeded {} finished dry-run jobs in {:.1?} ({failed} failed)",
        a.jobs,
        t0.elapsed()
    );
    let queues: Value = match http
        .get(format!("{sandbox_url}/sandbox/queues"))
        .send()
        .await
    {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let general = queues
        .as_array()
        .and_then(|qs| qs.iter().find(|q| q["name"] == "General"))
        .and_then(|q| q["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    let mut flows = vec![json!({"template": module_name})];
    for i in 0..a.callers {
        flows.push(
            json!({"template": inbound_name, "name": format!("Bench_Inbound_{i}"),
                          "params": {"queue_id": general}}),
        );
    }
    let job: Value = match http
        .post(format!("{base}/v1/jobs"))
        .json(&json!({"target": "default", "flows": flows}))
        .send()
        .await
    {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let Some(job_id) = job["id"].as_str().map(str::to_owned) else {
        println!("the provisioning job was not accepted: {job}");
        return None;
    };
    let (hwm, rss) = memory_mb(pid);
    println!(
        "memory after seeding: peak {hwm:.1} MB, resident {rss:.1} MB; provisioning job {job_id} with {} steps started",
        a.callers + 1
    );

    Some(job_id)
}

/// The load: reads of a job and of templates at `rate`, writes of templates at
/// `write_rate`, then writes in a closed loop; true when no request failed.
async fn load(http: &reqwest::Client, base: &str, job_id: &str, a: &ServiceArgs, pid: u32) -> bool {
    let duration = Duration::from_secs(a.seconds.max(1));
    let n_templates = a.templates.max(1) as u64;
    // Measure.
    let mut ok = true;
    println!(
        "job during GET /v1/jobs/{{id}}: {}",
        job_status(http, base, job_id).await
    );
    let url = format!("{base}/v1/jobs/{job_id}");
    let c = http.clone();
    let r = loadgen::run_rate(a.rate, duration, move |_| c.get(&url)).await;
    line(
        &format!(
            "GET /v1/jobs/{{id}} ({} steps) at {} req/s",
            a.callers + 1,
            a.rate
        ),
        &r,
        Some(READ_P99_TARGET),
        pid,
    );
    ok &= r.errors == 0;
    println!(
        "job during GET /v1/templates/{{name}}: {}",
        job_status(http, base, job_id).await
    );
    let c = http.clone();
    let b = base.to_owned();
    let r = loadgen::run_rate(a.rate, duration, move |n| {
        // A fixed pseudo-random walk over the stored names.
        let i = n.wrapping_mul(2_654_435_761) % n_templates;
        c.get(format!("{b}/v1/templates/bench_module_{i}"))
    })
    .await;
    line(
        &format!(
            "GET /v1/templates/{{name}} (random among {}) at {} req/s",
            a.templates, a.rate
        ),
        &r,
        Some(READ_P99_TARGET),
        pid,
    );
    ok &= r.errors == 0;
    println!(
        "job during POST /v1/templates: {}",
        job_status(http, base, job_id).await
    );
    let c = http.clone();
    let url = format!("{base}/v1/templates");
    let r = loadgen::run_rate(a.write_rate, duration, move |n| {
        c.post(&url).json(&super::seed_sized(1_000_000 + n))
    })
    .await;
    line(
        &format!(
            "POST /v1/templates (new template each) at {} req/s",
            a.write_rate
        ),
        &r,
        None,
        pid,
    );
    ok &= r.errors == 0;
    let c = http.clone();
    let url = format!("{base}/v1/templates");
    let r = loadgen::run(8, duration, move |n| {
        c.post(&url).json(&super::seed_sized(2_000_000 + n))
    })
    .await;
    line("POST /v1/templates closed loop (maximum)", &r, None, pid);
    ok &= r.errors == 0;

    ok
}

/// The whole bench on the database at `db`.
async fn measure(a: &ServiceArgs, db: &str) -> bool {
    let (sandbox_url, _sandbox) = match sandbox::spawn_local(SandboxOptions {
        queues: vec!["General".into()],
        rate_limit: 0,
        job_duration_ms: a.job_ms,
        ..Default::default()
    })
    .await
    {
        Ok(s) => s,
        Err(e) => {
            println!("cannot start the sandbox: {e}");
            return false;
        }
    };
    let svc = match spawn_service(db, &sandbox_url, a.log.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            println!("{e}");
            return false;
        }
    };
    let pid = svc.child.id();
    let base = svc.base.clone();
    println!(
        "service: {} (pid {pid}), RUST_LOG={}, target `default` = sandbox {sandbox_url} (Architect jobs {} ms, client limit 300 req/min)",
        std::env::current_exe().map_or_else(|_| "?".into(), |p| p.display().to_string()),
        a.log.as_deref().unwrap_or("(service default: info)"),
        a.job_ms
    );
    let (hwm, rss) = memory_mb(pid);
    println!("memory at start: peak {hwm:.1} MB, resident {rss:.1} MB");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .unwrap_or_default();

    let Some(job_id) = seed(&http, &base, &sandbox_url, a, pid).await else {
        return false;
    };
    let ok = load(&http, &base, &job_id, a, pid).await;
    let (hwm, rss) = memory_mb(pid);
    println!(
        "memory at the end: peak {hwm:.1} MB (ratio to the {MEMORY_TARGET_MB:.0} MB target: {:.2}), resident {rss:.1} MB",
        hwm / MEMORY_TARGET_MB
    );
    println!(
        "job at the end: {}; service log lines: {}",
        job_status(&http, &base, &job_id).await,
        svc.log_lines.load(Ordering::Relaxed)
    );
    drop(svc);
    ok
}
