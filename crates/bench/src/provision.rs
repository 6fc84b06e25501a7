//! `flowsmith bench provision`: one job of a module and N callers, provisioned by an
//! in-process service into an in-process sandbox org with a per-token rate limit, realistic
//! latency and Architect job duration. Reports the makespan against the rate-limit bound
//! (two requests per flow ÷ allowed rate) and against a Terraform-style schedule of the same
//! flows, simulated and (with `--real-terraform`) run for real against a second, identical
//! in-process sandbox org.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{Value, json};

use flowsmith::app::Application;
use flowsmith::config::{Settings, TargetConfig};
use flowsmith::jobs::{JobStatus, WorkerOptions};
use flowsmith_sandbox::{self as sandbox, SandboxOptions};

use super::database::{DatabaseArgs, FreshDatabase};
use super::terraform;

const MODULE_DOC: &str = include_str!("../../../examples/language_select.json");
const CALLER_DOC: &str = include_str!("../../../examples/support_line.json");

/// Genesys requests a flow needs at best: register the Architect job and poll it once (the
/// published versions are read in batches of 100 flows).
const REQUESTS_PER_FLOW: f64 = 2.0;

#[derive(Debug, Clone, Args)]
pub struct ProvisionArgs {
    /// Inbound flows calling the module (the job has one more flow: the module)
    #[arg(long, default_value_t = 200)]
    pub callers: usize,
    /// Requests per minute per token, of the org and of the target alike
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: u32,
    /// Latency the sandbox adds to every API and OAuth request, milliseconds
    #[arg(long, default_value_t = 50)]
    pub latency_ms: u64,
    /// Time an Architect job takes in the sandbox, milliseconds
    #[arg(long, default_value_t = 2000)]
    pub job_duration_ms: u64,
    /// Steps in flight (default: what keeps the rate limiter busy, see `default_concurrency`)
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Also run a Terraform-style client for real against a second, identical sandbox org
    #[arg(long)]
    pub real_terraform: bool,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Steps in flight that keep the limiter busy, by Little's law: flows per second at the
/// rate limit × how long one flow is in flight (its Architect job, its calls' latency, and up
/// to one limiter slot per call).
pub fn busy_concurrency(rate_per_minute: u32, latency: Duration, job: Duration) -> f64 {
    let spacing = 60.0 / f64::from(rate_per_minute.max(1));
    let flows_per_sec = f64::from(rate_per_minute) / 60.0 / REQUESTS_PER_FLOW;
    let in_flight = job.as_secs_f64() + REQUESTS_PER_FLOW * (latency.as_secs_f64() + spacing);
    flows_per_sec * in_flight
}

/// The default steps in flight: the requests that fit in the time from the start until the
/// first callers' polls, so that the limiter always has a registration to send. Callers
/// registered while their module's job runs all upload when its success is seen (about
/// 1.25 jobs in, with the first job's growing polls) and poll a learnt wait later (about
/// 1.25 jobs again, the first job's overshoot); meanwhile only new registrations can use the
/// budget. Plus each flow's two requests (latency and limiter slot).
pub fn default_concurrency(rate_per_minute: u32, latency: Duration, job: Duration) -> usize {
    let spacing = 60.0 / f64::from(rate_per_minute.max(1));
    let requests_per_sec = f64::from(rate_per_minute) / 60.0;
    let window = 2.5 * job.as_secs_f64() + REQUESTS_PER_FLOW * (latency.as_secs_f64() + spacing);
    (requests_per_sec * window).ceil() as usize
}

/// Parameters of the Terraform-style schedule.
#[derive(Debug, Clone, Copy)]
pub struct TerraformModel {
    /// Resources applied in parallel (`terraform apply -parallelism`, default 10).
    pub parallelism: usize,
    /// Callers, created after the module they depend on.
    pub callers: usize,
    /// Round trip of one Platform API call, seconds.
    pub call: f64,
    /// Round trip of the presigned upload, seconds.
    pub upload: f64,
    /// Architect job duration, seconds (from the end of the upload).
    pub job: f64,
    /// Fixed wait before each job status poll, seconds.
    pub poll_every: f64,
    /// Spacing of Platform API calls at the rate limit, seconds (one token for the run).
    pub spacing: f64,
}

/// Simulates the schedule (event by event): each resource registers the job, uploads, then
/// sleeps `poll_every` and polls until the job is done, then reads the flow back; the module
/// first, then the callers `parallelism` at a time; API calls pass one limiter in request
/// order. Returns (makespan seconds, API requests).
pub fn terraform_schedule(m: &TerraformModel) -> (f64, u64) {
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Step {
        Register,
        Poll,
        Read,
    }
    // (time µs, sequence, flow, step, upload end µs)
    type Ev = Reverse<(u64, u64, usize, Step, u64)>;
    let us = |s: f64| (s * 1e6).round() as u64;
    let mut heap: BinaryHeap<Ev> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<Ev>, t: u64, flow: usize, step: Step, up: u64| {
        seq += 1;
        heap.push(Reverse((t, seq, flow, step, up)));
    };
    push(&mut heap, 0, 0, Step::Register, 0);
    let (mut free, mut requests, mut makespan) = (0u64, 0u64, 0u64);
    let mut next_caller = 1usize;
    while let Some(Reverse((t, _, flow, step, up))) = heap.pop() {
        let send = t.max(free);
        free = send + us(m.spacing);
        requests += 1;
        let reply = send + us(m.call);
        match step {
            Step::Register => {
                let upload_end = reply + us(m.upload);
                push(
                    &mut heap,
                    upload_end + us(m.poll_every),
                    flow,
                    Step::Poll,
                    upload_end,
                );
            }
            Step::Poll if reply >= up + us(m.job) => push(&mut heap, reply, flow, Step::Read, up),
            Step::Poll => push(&mut heap, reply + us(m.poll_every), flow, Step::Poll, up),
            Step::Read => {
                makespan = makespan.max(reply);
                // The module done: the callers start; a caller done: its slot takes the next.
                let slots = if flow == 0 { m.parallelism.max(1) } else { 1 };
                for _ in 0..slots {
                    if next_caller <= m.callers {
                        push(&mut heap, reply, next_caller, Step::Register, 0);
                        next_caller += 1;
                    }
                }
            }
        }
    }
    (makespan as f64 / 1e6, requests)
}

/// Platform API requests in the sandbox's counters: everything but OAuth and uploads.
fn api_requests(counters: &Value) -> u64 {
    counters["endpoints"]
        .as_object()
        .map(|eps| {
            eps.iter()
                .filter(|(route, _)| route.contains("/api/v2"))
                .map(|(_, v)| v["total"].as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

fn seconds_between(a: &Value, b: &Value) -> Option<f64> {
    let a = chrono::DateTime::parse_from_rfc3339(a.as_str()?).ok()?;
    let b = chrono::DateTime::parse_from_rfc3339(b.as_str()?).ok()?;
    Some((b - a).num_milliseconds() as f64 / 1000.0)
}

pub async fn run(a: ProvisionArgs) -> bool {
    match provision(a).await {
        Ok(ok) => ok,
        Err(e) => {
            println!("provision bench failed: {e}");
            false
        }
    }
}

async fn provision(a: ProvisionArgs) -> Result<bool, String> {
    let latency = Duration::from_millis(a.latency_ms);
    let job_duration = Duration::from_millis(a.job_duration_ms);
    let needed = busy_concurrency(a.rate_limit, latency, job_duration);
    let concurrency = a
        .concurrency
        .unwrap_or(default_concurrency(a.rate_limit, latency, job_duration))
        .max(1);
    println!(
        "provision: 1 module + {} callers, org and target at {}/min per token, latency {} ms, Architect job {} ms, concurrency {concurrency} (the limiter stays busy from {needed:.1})",
        a.callers, a.rate_limit, a.latency_ms, a.job_duration_ms
    );

    // The org, and the service with a target at the same limit.
    let org_options = SandboxOptions {
        queues: vec!["General".into()],
        rate_limit: a.rate_limit,
        latency_ms: a.latency_ms,
        job_duration_ms: a.job_duration_ms,
        ..Default::default()
    };
    let (org, _sandbox) = sandbox::spawn_local(org_options.clone())
        .await
        .map_err(|e| format!("sandbox: {e}"))?;
    let db = FreshDatabase::create(&a.database).await?;
    println!("database: {}", db.describe().await);
    let mut settings = Settings {
        listen: ([127, 0, 0, 1], 0).into(),
        database_url: db.url().to_owned(),
        ..Default::default()
    };
    settings.targets.push(TargetConfig {
        name: "bench".into(),
        api_base_url: org.clone(),
        login_base_url: org.clone(),
        client_id: sandbox::DEFAULT_CLIENT_ID.into(),
        client_secret: sandbox::DEFAULT_CLIENT_SECRET.to_owned().into(),
        rate_limit_per_minute: a.rate_limit,
        concurrency: concurrency as u32,
    });
    let app = match Application::build_with(settings, WorkerOptions::default()).await {
        Ok(app) => app,
        Err(e) => {
            db.remove().await;
            return Err(format!("service: {e}"));
        }
    };
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let result = drive(&reqwest::Client::new(), &base, &org, a.callers).await;
    let _ = stop.send(());
    let _ = server.await;
    db.remove().await;
    report(&a, result?, org_options).await
}

/// What one provisioning job left behind.
struct Measured {
    job: Value,
    counters: Value,
    in_org: Value,
    /// One local round trip to the org, seconds (beside its added latency).
    round_trip: f64,
    wall: Duration,
}

/// Stores the module and the caller, provisions the module and `callers` callers in one
/// job and waits for it to end; then reads the org's counters and flows.
async fn drive(
    http: &reqwest::Client,
    base: &str,
    org: &str,
    callers: usize,
) -> Result<Measured, String> {
    for doc in [MODULE_DOC, CALLER_DOC] {
        let r = http
            .post(format!("{base}/v1/templates"))
            .header("content-type", "application/json")
            .body(doc)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!(
                "storing a template: {}",
                r.text().await.unwrap_or_default()
            ));
        }
    }
    // Per-call latency as measured: the sandbox's added latency plus a local round trip
    // (admin routes get no added latency and are not counted).
    let t = Instant::now();
    for _ in 0..20 {
        http.get(format!("{org}/sandbox/faults"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
    }
    let round_trip = t.elapsed().as_secs_f64() / 20.0;

    let mut list = vec![json!({"template": "Language_Select"})];
    list.extend(
        (1..=callers)
            .map(|i| json!({"template": "Support_Line", "name": format!("Caller_{i:04}")})),
    );
    let wall = Instant::now();
    let r = http
        .post(format!("{base}/v1/jobs"))
        .json(&json!({"target": "bench", "flows": list}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let created: Value = r.json().await.map_err(|e| e.to_string())?;
    let id = created["id"]
        .as_str()
        .ok_or_else(|| format!("job not accepted: {created}"))?
        .to_owned();
    // Sparingly: these are flowsmith requests, not Genesys ones.
    let job = loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let j: Value =
            flowsmith_sandbox::loadgen::fetch_json(http.get(format!("{base}/v1/jobs/{id}")))
                .await?;
        if j["status"]
            .as_str()
            .and_then(|s| s.parse::<JobStatus>().ok())
            .is_some_and(JobStatus::is_terminal)
        {
            break j;
        }
        if wall.elapsed() > Duration::from_secs(3600) {
            return Err(format!("job not finished after an hour: {}", j["progress"]));
        }
    };
    let counters: Value =
        flowsmith_sandbox::loadgen::fetch_json(http.get(format!("{org}/sandbox/counters"))).await?;
    let in_org: Value =
        flowsmith_sandbox::loadgen::fetch_json(http.get(format!("{org}/sandbox/flows"))).await?;
    Ok(Measured {
        job,
        counters,
        in_org,
        round_trip,
        wall: wall.elapsed(),
    })
}

/// Prints the figures against the bound and the Terraform-style schedule (and, when asked,
/// a real Terraform-style run); true when the job and the org are as they should be.
async fn report(
    a: &ProvisionArgs,
    m: Measured,
    org_options: SandboxOptions,
) -> Result<bool, String> {
    let Measured {
        job,
        counters,
        in_org,
        round_trip,
        wall,
    } = m;
    let flows = a.callers + 1;
    let latency = Duration::from_millis(a.latency_ms);
    let job_duration = Duration::from_millis(a.job_duration_ms);
    let makespan =
        seconds_between(&job["created_at"], &job["finished_at"]).unwrap_or(wall.as_secs_f64());
    if std::env::var_os("FLOWSMITH_BENCH_TIMELINE").is_some() {
        for st in job["steps"].as_array().into_iter().flatten() {
            println!(
                "step {:>3} started {:>6.2} finished {:>6.2}",
                st["idx"],
                seconds_between(&job["created_at"], &st["started_at"]).unwrap_or(-1.0),
                seconds_between(&job["created_at"], &st["finished_at"]).unwrap_or(-1.0)
            );
        }
        println!(
            "job started {:?}",
            seconds_between(&job["created_at"], &job["started_at"])
        );
    }
    let requests = api_requests(&counters);
    let rate_limited = counters["rateLimited"].as_u64().unwrap_or(0);
    let by_endpoint: BTreeMap<String, u64> = counters["endpoints"]
        .as_object()
        .map(|eps| {
            eps.iter()
                .map(|(k, v)| (k.clone(), v["total"].as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    let per_minute = f64::from(a.rate_limit);
    let bound = flows as f64 * REQUESTS_PER_FLOW * 60.0 / per_minute;
    let requests_bound = requests as f64 * 60.0 / per_minute;
    let call = latency.as_secs_f64() + round_trip;
    let (tf, tf_requests) = terraform_schedule(&TerraformModel {
        parallelism: 10,
        callers: a.callers,
        call,
        upload: round_trip,
        job: job_duration.as_secs_f64(),
        poll_every: 15.0,
        spacing: 60.0 / f64::from(a.rate_limit) + 0.001,
    });
    let in_org_flows = in_org["total"].as_u64().unwrap_or(0);
    println!(
        "job {}: {} of {flows} steps succeeded; {in_org_flows} flows in the org",
        job["status"], job["progress"]["succeeded"]
    );
    println!("Genesys requests by endpoint: {by_endpoint:?}");
    println!(
        "makespan {makespan:.1} s (created → finished; {:.1} s wall from POST to seeing it done)",
        wall.as_secs_f64()
    );
    println!(
        "Platform API requests {requests} (OAuth and uploads excluded) = {:.2} per flow; 429s received: {rate_limited}",
        requests as f64 / flows as f64
    );
    println!(
        "bound: {flows} flows × 2 requests at {}/min = {bound:.1} s (the {requests} requests made take {requests_bound:.1} s); makespan ÷ bound {:.3}",
        a.rate_limit,
        makespan / bound
    );
    println!(
        "Terraform-style schedule (simulated event by event from the measured per-call latency {:.1} ms and the {} ms job: 10 resources in parallel, module first, each registers + uploads, polls every 15 s until done, reads the flow back; same limiter): {tf:.1} s, {tf_requests} requests; Terraform-style ÷ flowsmith {:.2}",
        call * 1000.0,
        a.job_duration_ms,
        tf / makespan
    );
    let mut ok = job["status"] == JobStatus::Succeeded.as_str() && in_org_flows == flows as u64;
    let mut real = None;
    if a.real_terraform {
        let r = real_terraform(&in_org, org_options, flows, makespan).await?;
        ok &= r.failed.is_empty() && r.flows == flows as u64;
        real = Some(r.makespan / makespan);
    }
    println!(
        "summary: makespan ÷ bound {:.3} | Terraform-style ÷ flowsmith {} (simulated {:.2}) | requests per flow {:.2} | 429s {rate_limited}",
        makespan / bound,
        real.map_or("not run (--real-terraform)".to_owned(), |r| format!(
            "{r:.2}"
        )),
        tf / makespan,
        requests as f64 / flows as f64,
    );
    Ok(ok)
}

/// Runs the Terraform-style client for real against a second, identical org and prints it.
async fn real_terraform(
    in_org: &Value,
    org_options: SandboxOptions,
    flows: usize,
    makespan: f64,
) -> Result<TerraformRun, String> {
    let r = run_terraform_style(in_org, org_options, flows).await?;
    println!(
        "Terraform-style client, run for real against a second identical sandbox org (10 in parallel, module first, register + upload, a poll every 15 s, then GET the flow): {:.1} s, {} requests = {:.2} per flow, {} × 429, {} of {flows} flows in its org{}; Terraform-style ÷ flowsmith {:.2}",
        r.makespan,
        r.requests,
        r.requests as f64 / flows as f64,
        r.rate_limited,
        r.flows,
        if r.failed.is_empty() {
            String::new()
        } else {
            format!("; failed: {:?}", r.failed)
        },
        r.makespan / makespan
    );
    Ok(r)
}

/// What the real Terraform-style run measured in its own org.
struct TerraformRun {
    makespan: f64,
    requests: u64,
    rate_limited: u64,
    flows: u64,
    failed: Vec<String>,
}

/// Applies the YAML flowsmith published (from the first org's versions) with a
/// Terraform-style client to a second org with the same options.
async fn run_terraform_style(
    first_org: &Value,
    options: SandboxOptions,
    flows: usize,
) -> Result<TerraformRun, String> {
    let mut module = None;
    let mut callers = Vec::new();
    for f in first_org["flows"].as_array().into_iter().flatten() {
        let r = terraform::Resource {
            name: f["name"].as_str().unwrap_or_default().to_owned(),
            yaml: f["versions"]
                .as_array()
                .and_then(|v| v.last())
                .and_then(|v| v["yaml"].as_str())
                .ok_or_else(|| format!("no YAML for flow {}", f["name"]))?
                .to_owned(),
        };
        if f["type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("COMMONMODULE"))
        {
            module = Some(r);
        } else {
            callers.push(r);
        }
    }
    let module = module.ok_or("the first org has no module")?;
    if callers.len() + 1 != flows {
        return Err(format!(
            "the first org has {} flows, not {flows}",
            callers.len() + 1
        ));
    }
    let (org, _sandbox) = sandbox::spawn_local(options)
        .await
        .map_err(|e| format!("second sandbox: {e}"))?;
    let applied = terraform::apply(&org, module, callers, 10, Duration::from_secs(15)).await?;
    let http = reqwest::Client::new();
    let counters: Value =
        flowsmith_sandbox::loadgen::fetch_json(http.get(format!("{org}/sandbox/counters"))).await?;
    let in_org: Value =
        flowsmith_sandbox::loadgen::fetch_json(http.get(format!("{org}/sandbox/flows"))).await?;
    Ok(TerraformRun {
        makespan: applied.makespan.as_secs_f64(),
        requests: api_requests(&counters),
        rate_limited: counters["rateLimited"].as_u64().unwrap_or(0),
        flows: in_org["total"].as_u64().unwrap_or(0),
        failed: applied.failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(callers: usize, spacing: f64) -> TerraformModel {
        TerraformModel {
            parallelism: 10,
            callers,
            call: 0.05,
            upload: 0.001,
            job: 2.0,
            poll_every: 15.0,
            spacing,
        }
    }

    #[test]
    fn terraform_schedule_is_waves_of_fifteen_seconds() {
        // Module alone, then 20 waves of 10 callers; each flow: register, upload, 15 s, one
        // poll, one read.
        let (t, requests) = terraform_schedule(&model(200, 0.0));
        assert_eq!(requests, 201 * 3);
        let per_flow = 0.05 + 0.001 + 15.0 + 0.05 + 0.05;
        assert!((t - 21.0 * per_flow).abs() < 0.01, "{t}");
    }

    #[test]
    fn terraform_schedule_honours_the_rate_limit_and_long_jobs() {
        // At 1 request/s the limiter, not the 15 s polls, bounds 30 flows.
        let (t, requests) = terraform_schedule(&model(29, 1.0));
        assert_eq!(requests, 90);
        assert!(t >= 89.0, "{t}");
        // A 20 s job needs two polls.
        let mut m = model(0, 0.0);
        m.job = 20.0;
        let (t, requests) = terraform_schedule(&m);
        assert_eq!(requests, 4);
        assert!(t > 30.0, "{t}");
    }

    #[test]
    fn busy_concurrency_by_littles_law() {
        // 300/min: 2.5 flows/s, each ~2 s job + 2 × (50 ms + 200 ms limiter slot).
        let c = busy_concurrency(300, Duration::from_millis(50), Duration::from_secs(2));
        assert!((c - 2.5 * 2.5).abs() < 0.05, "{c}");
        // 5 requests/s × (2.5 × 2 s + 2 × 250 ms).
        let d = default_concurrency(300, Duration::from_millis(50), Duration::from_secs(2));
        assert_eq!(d, 28);
    }

    #[test]
    fn api_requests_exclude_oauth_and_uploads() {
        let c = json!({"endpoints": {
            "POST /oauth/token": {"total": 2},
            "PUT /sandbox-uploads/{jobId}": {"total": 5},
            "POST /api/v2/flows/jobs": {"total": 5},
            "GET /api/v2/flows/jobs/{jobId}": {"total": 6},
        }});
        assert_eq!(api_requests(&c), 11);
    }
}
