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

use std::sync::{Arc, Mutex};

use super::database::{DatabaseArgs, FreshDatabase};
use super::replicas::{Replica, kill_claimant};
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
    /// Cap the target's steps in flight (`concurrency` of the target; by default none: the
    /// service starts as many as keep its rate limiter busy)
    #[arg(long)]
    pub concurrency: Option<u32>,
    /// Also run a Terraform-style client for real against a second, identical sandbox org
    #[arg(long)]
    pub real_terraform: bool,
    /// Targets (each its own sandbox org at the same rate), each given the same job at once
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub targets: u32,
    /// Run the service as this many real `flowsmith serve` child processes on one database
    /// (more than one needs `--postgres`), each with the target's whole budget configured
    /// (they share it through the database) and otherwise default settings; the job is
    /// posted to one of them. Prints each replica's peak memory
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=8))]
    pub replicas: Option<u32>,
    /// With `--replicas`: SIGKILL the replica that claimed the job this many seconds after
    /// the job was created (another takes it over once its lease, 30 s by default, expired)
    #[arg(long, requires = "replicas")]
    pub kill_after_secs: Option<f64>,
    #[command(flatten)]
    pub database: DatabaseArgs,
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

/// The least time any client needs, whatever its rate: a caller's Architect job may start
/// only once the module's ended (`job` seconds after its upload at the earliest), runs
/// `job` seconds, and is seen done by a poll; the callers' polls are spaced at the rate.
pub fn dependency_floor(callers: usize, job: f64, per_minute: u32) -> f64 {
    let spacing = 60.0 / f64::from(per_minute.max(1));
    2.0 * job + callers.saturating_sub(1) as f64 * spacing
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
    let concurrency = a.concurrency.map_or(
        "the service's default (none: steps follow the limiter)".to_owned(),
        |c| c.to_string(),
    );
    println!(
        "provision: 1 module + {} callers, org and target at {}/min per token, latency {} ms, Architect job {} ms, concurrency cap {concurrency}",
        a.callers, a.rate_limit, a.latency_ms, a.job_duration_ms
    );

    // The org, and the service with a target at the same limit.
    let org_options = orgs_options(&a);
    let mut orgs = Vec::new();
    for _ in 0..a.targets {
        orgs.push(
            sandbox::spawn_local(org_options.clone())
                .await
                .map_err(|e| format!("sandbox: {e}"))?,
        );
    }
    let db = FreshDatabase::create(&a.database).await?;
    println!("database: {}", db.describe().await);
    if let Some(n) = a.replicas {
        let r = with_replicas(&a, n, &db, &orgs).await;
        db.remove().await;
        return r;
    }
    let mut settings = Settings {
        listen: ([127, 0, 0, 1], 0).into(),
        database_url: db.url().to_owned(),
        ..Default::default()
    };
    for (i, (org, _)) in orgs.iter().enumerate() {
        settings.targets.push(TargetConfig {
            name: target_name(i),
            api_base_url: org.clone(),
            login_base_url: org.clone(),
            client_id: sandbox::DEFAULT_CLIENT_ID.into(),
            client_secret: sandbox::DEFAULT_CLIENT_SECRET.to_owned().into(),
            rate_limit_per_minute: a.rate_limit,
            concurrency: a.concurrency,
        });
    }
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
    let http = reqwest::Client::new();
    let stored = store_templates(&http, &base).await;
    let result = match stored {
        Ok(()) => {
            let bases = [base.clone()];
            let jobs = orgs.iter().enumerate().map(|(i, (org, _))| {
                let (http, bases, target) = (&http, &bases, target_name(i));
                async move { drive(http, bases, org, &target, a.callers, None).await }
            });
            futures::future::join_all(jobs).await
        }
        Err(e) => vec![Err(e)],
    };
    let _ = stop.send(());
    let _ = server.await;
    db.remove().await;
    let mut ok = true;
    for (i, m) in result.into_iter().enumerate() {
        if a.targets > 1 {
            println!("--- target {} of {}", i + 1, a.targets);
        }
        // One Terraform-style run serves them all: the orgs are alike.
        let real = a.real_terraform && i == 0;
        ok &= report(&a, m?, org_options.clone(), real).await?;
    }
    Ok(ok)
}

/// The job on `n` replica processes (target `default`, the first org only).
async fn with_replicas(
    a: &ProvisionArgs,
    n: u32,
    db: &FreshDatabase,
    orgs: &[(String, sandbox::Sandbox)],
) -> Result<bool, String> {
    if a.targets > 1 {
        return Err("--replicas runs one target".into());
    }
    let org = &orgs[0].0;
    let mut replicas = Vec::new();
    for _ in 0..n {
        replicas.push(Replica::spawn(db.url(), org, a.rate_limit, n)?);
    }
    let bases: Vec<String> = replicas.iter().map(|r| r.base.clone()).collect();
    println!(
        "replicas: {n} `flowsmith serve` processes (pids {:?}), default settings, FLOWSMITH_REPLICAS={n}, rate_limit_per_minute {} each",
        replicas.iter().map(Replica::pid).collect::<Vec<_>>(),
        a.rate_limit
    );
    let replicas = std::sync::Arc::new(std::sync::Mutex::new(replicas));
    let http = reqwest::Client::new();
    store_templates(&http, &bases[0]).await?;
    let kill = a
        .kill_after_secs
        .map(|s| (Duration::from_secs_f64(s.max(0.0)), replicas.clone()));
    let m = drive(&http, &bases, org, "default", a.callers, kill).await?;
    for (i, r) in replicas
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .enumerate()
    {
        println!("replica {i}: peak memory (VmHWM) {:.1} MB", r.peak_mb());
    }
    report(a, m, orgs_options(a), a.real_terraform).await
}

/// The orgs' options (all alike).
fn orgs_options(a: &ProvisionArgs) -> SandboxOptions {
    SandboxOptions {
        queues: vec!["General".into()],
        rate_limit: a.rate_limit,
        latency_ms: a.latency_ms,
        job_duration_ms: a.job_duration_ms,
        ..Default::default()
    }
}

/// The name of the bench's `i`th target.
fn target_name(i: usize) -> String {
    if i == 0 {
        "bench".to_owned()
    } else {
        format!("bench-{}", i + 1)
    }
}

/// Stores the module and the caller templates.
async fn store_templates(http: &reqwest::Client, base: &str) -> Result<(), String> {
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
    Ok(())
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

/// Provisions the module and `callers` callers in one job into `target` (the org at
/// `org`) and waits for it to end; then reads the org's counters and flows.
async fn drive(
    http: &reqwest::Client,
    bases: &[String],
    org: &str,
    target: &str,
    callers: usize,
    kill: Option<(Duration, Arc<Mutex<Vec<Replica>>>)>,
) -> Result<Measured, String> {
    let base = bases.first().ok_or("no service")?;
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
        .json(&json!({"target": target, "flows": list}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let created: Value = r.json().await.map_err(|e| e.to_string())?;
    let id = created["id"]
        .as_str()
        .ok_or_else(|| format!("job not accepted: {created}"))?
        .to_owned();
    if let Some((after, replicas)) = kill {
        let id = id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            match kill_claimant(&replicas, &id).await {
                Some(i) => println!(
                    "replica {i} (the job's runner) SIGKILLed {:.1} s after the job was created",
                    after.as_secs_f64()
                ),
                None => println!("no replica claimed the job: nothing killed"),
            }
        });
    }
    // Sparingly: these are flowsmith requests, not Genesys ones. Any replica that answers.
    let mut last_error = String::new();
    let job = loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut j = None;
        for b in bases {
            match flowsmith_sandbox::loadgen::fetch_json(http.get(format!("{b}/v1/jobs/{id}")))
                .await
            {
                Ok(v) => {
                    j = Some(v);
                    break;
                }
                Err(e) => last_error = e,
            }
        }
        let Some(j): Option<Value> = j else {
            if wall.elapsed() > Duration::from_secs(3600) {
                return Err(format!("no replica answers: {last_error}"));
            }
            continue;
        };
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
/// Each step's start and end, seconds after the job was created (`FLOWSMITH_BENCH_TIMELINE`).
fn print_timeline(job: &Value) {
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

async fn report(
    a: &ProvisionArgs,
    m: Measured,
    org_options: SandboxOptions,
    real_terraform: bool,
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
        print_timeline(&job);
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
    let rate_bound = flows as f64 * REQUESTS_PER_FLOW * 60.0 / per_minute;
    let floor = dependency_floor(a.callers, job_duration.as_secs_f64(), a.rate_limit);
    let bound = rate_bound.max(floor);
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
        "bound: the larger of {flows} flows × 2 requests at {}/min = {rate_bound:.1} s (the {requests} requests made take {requests_bound:.1} s) and the dependency floor 2 × {:.1} s job + {} caller polls spaced at the rate = {floor:.1} s: {bound:.1} s; makespan ÷ bound {:.3} (÷ the rate bound alone {:.3})",
        a.rate_limit,
        job_duration.as_secs_f64(),
        a.callers,
        makespan / bound,
        makespan / rate_bound
    );
    println!(
        "Terraform-style schedule (simulated event by event from the measured per-call latency {:.1} ms and the {} ms job: 10 resources in parallel, module first, each registers + uploads, polls every 15 s until done, reads the flow back; same limiter): {tf:.1} s, {tf_requests} requests; Terraform-style ÷ flowsmith {:.2}",
        call * 1000.0,
        a.job_duration_ms,
        tf / makespan
    );
    let mut ok = job["status"] == JobStatus::Succeeded.as_str() && in_org_flows == flows as u64;
    let mut real = None;
    if real_terraform {
        let r = real_terraform_run(&in_org, org_options, flows, makespan).await?;
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
async fn real_terraform_run(
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
    fn the_dependency_floor_is_two_jobs_and_the_callers_polls() {
        // 300/min, 8 s jobs: 16 s of jobs and 39 polls 0.2 s apart.
        assert!((dependency_floor(40, 8.0, 300) - 23.8).abs() < 1e-9);
        assert!((dependency_floor(40, 2.0, 1200) - 5.95).abs() < 1e-9);
        // Below the rate bound where the rate decides (300/min, 2 s: 16.4 s).
        assert!(dependency_floor(40, 2.0, 300) < 41.0 * 2.0 * 60.0 / 300.0);
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
