//! `flowsmith bench ...`: rerunnable benchmarks that print their figures next to the bound
//! they are judged against, as a ratio, in the same run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

pub mod database;
pub mod history;
pub mod import;
pub mod provision;
pub mod replicas;
pub mod terraform;
use serde_json::json;

use std::collections::BTreeMap;

use flowsmith::app::Application;
use flowsmith::compile::{self, CompileContext};
use flowsmith::config::Settings;
use flowsmith::simulate;
use flowsmith::template;
use flowsmith::validate::{self, NoModules};
use flowsmith_sandbox::loadgen;

pub mod service;

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchWhat,
}

#[derive(Debug, Subcommand)]
pub enum BenchWhat {
    /// Validation time of a generated template (target: 2,000 nodes under 20 ms).
    Validate {
        #[arg(long, default_value_t = 2000)]
        nodes: usize,
        #[arg(long, default_value_t = 50)]
        iterations: usize,
    },
    /// Compile time of a generated template (target: 2,000 nodes under 20 ms).
    Compile {
        #[arg(long, default_value_t = 2000)]
        nodes: usize,
        #[arg(long, default_value_t = 50)]
        iterations: usize,
    },
    /// Import time of a 4,800-line Archy export built from a corpus flow (target: under 1 s).
    Import {
        #[arg(long, default_value_t = 4800)]
        lines: usize,
        #[arg(long, default_value_t = 20)]
        iterations: usize,
    },
    /// Simulator speed on one core (target: at least 1,000,000 node steps per second).
    Simulate {
        #[arg(long, default_value_t = 20_000_000)]
        steps: usize,
    },
    /// Sustained `POST /v1/templates` throughput and latency against an in-process service
    /// on a fresh SQLite file (target: 1,000 requests/s, p99 under 20 ms).
    Templates {
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// The real service binary under HTTP load while it provisions: read p99 at 2,000 req/s
    /// (target under 10 ms) and peak memory (target under 100 MB).
    Service(service::ServiceArgs),
    /// One job of a module and N callers into a rate-limited sandbox org: makespan against
    /// the rate-limit bound and a Terraform-style schedule, requests per flow, 429s.
    Provision(provision::ProvisionArgs),
    /// A year of job history (200,000 jobs, 8 M steps, events) seeded in bulk SQL: start-up,
    /// size, `GET /v1/jobs`, history, drift and planning p50/p99 before and after the
    /// retention pass, and `GET /v1/jobs` during it (targets: start-up < 2 s, p99 < 50 ms).
    History(history::HistoryArgs),
    /// `GET /api/v2/flows/{id}` throughput of the sandbox with limits off.
    Sandbox {
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

pub async fn run(args: BenchArgs) -> std::process::ExitCode {
    let machine = machine();
    println!("machine: {machine}");
    let ok = match args.what {
        BenchWhat::Validate { nodes, iterations } => bench_validate(nodes, iterations),
        BenchWhat::Compile { nodes, iterations } => bench_compile(nodes, iterations),
        BenchWhat::Simulate { steps } => bench_simulate(steps),
        BenchWhat::Import { lines, iterations } => import::bench_import(lines, iterations),
        BenchWhat::Templates {
            concurrency,
            seconds,
        } => bench_templates(concurrency, Duration::from_secs(seconds)).await,
        BenchWhat::Service(a) => service::run(a).await,
        BenchWhat::Provision(a) => provision::run(a).await,
        BenchWhat::History(a) => history::run(a).await,
        BenchWhat::Sandbox {
            concurrency,
            seconds,
        } => {
            let r =
                flowsmith_sandbox::bench::get_flow_load(concurrency, Duration::from_secs(seconds))
                    .await;
            println!("sandbox GET /api/v2/flows/{{id}}: {r}");
            println!(
                "ratio to the Genesys per-token limit (300 req/min = 5 req/s): {:.0}x",
                r.rps / 5.0
            );
            r.errors == 0
        }
    };
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// CPU model and core count, for the figures' context.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let profile = if cfg!(debug_assertions) {
        "debug build"
    } else {
        "release build"
    };
    format!("{cpu}, {cores} cores, {profile}")
}

/// Times `f` `iterations` times; returns sorted durations.
pub fn time_runs(iterations: usize, mut f: impl FnMut()) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..iterations.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times
}

pub fn describe(times: &[Duration]) -> String {
    let median = times[times.len() / 2];
    format!(
        "min {:.2?}, median {:.2?}, max {:.2?} over {} runs",
        times[0],
        median,
        times[times.len() - 1],
        times.len()
    )
}

fn bench_validate(nodes: usize, iterations: usize) -> bool {
    let doc = template::generate_large(nodes);
    let report = validate::validate(&doc, &NoModules);
    if report.has_errors() {
        println!(
            "generated template does not validate: {:?}",
            report.findings
        );
        return false;
    }
    let times = time_runs(iterations, || {
        std::hint::black_box(validate::validate(&doc, &NoModules));
    });
    let median = times[times.len() / 2];
    println!("validate {nodes}-node template: {}", describe(&times));
    println!(
        "ratio of median to the 20 ms target: {:.3}",
        median.as_secs_f64() / 0.020
    );
    true
}

fn bench_compile(nodes: usize, iterations: usize) -> bool {
    let doc = template::generate_large(nodes);
    let Some(flow) = validate::validate(&doc, &NoModules).flow else {
        println!("generated template does not validate");
        return false;
    };
    let (modules, queues) = (BTreeMap::new(), BTreeMap::new());
    let ctx = CompileContext {
        flow_name: &flow.name,
        as_type: flow.flow_type,
        modules: &modules,
        queue_names: &queues,
    };
    let bytes = match compile::compile(&flow, &ctx) {
        Ok(c) => c.yaml.len(),
        Err(e) => {
            println!("generated template does not compile: {e}");
            return false;
        }
    };
    let times = time_runs(iterations, || {
        std::hint::black_box(compile::compile(&flow, &ctx).ok());
    });
    let median = times[times.len() / 2];
    println!(
        "compile {nodes}-node template ({bytes} bytes of YAML, hash included): {}",
        describe(&times)
    );
    println!(
        "ratio of median to the 20 ms target: {:.3}",
        median.as_secs_f64() / 0.020
    );
    true
}

fn bench_simulate(steps: usize) -> bool {
    let flow = simulate::bench_loop_flow();
    let modules = BTreeMap::new();
    // Single-threaded by construction: the simulator runs on this thread only.
    let t = Instant::now();
    let sim = simulate::simulate(&flow, &modules, &[], steps);
    let elapsed = t.elapsed();
    let rate = sim.steps as f64 / elapsed.as_secs_f64();
    println!(
        "simulate a Set/If loop: {} node steps in {elapsed:.2?} on one thread: {rate:.0} steps/s",
        sim.steps
    );
    println!(
        "ratio to the 1,000,000 steps/s target: {:.1}",
        rate / 1_000_000.0
    );
    true
}

/// A seed-sized module document with a distinct name.
fn seed_sized(n: u64) -> serde_json::Value {
    json!({
        "name": format!("bench_module_{n}"),
        "type": "module",
        "draft": {"startNode": "SayHello", "nodes": {
            "SayHello": {"id": "SayHello", "type": "Say",
                "properties": {"sayText": "Welcome. Press 1 for English.", "sayLanguage": "en-US"},
                "onComplete": {"nextNode": "GatherInput"}, "onError": {"nextNode": "Exit"}},
            "GatherInput": {"id": "GatherInput", "type": "Gather",
                "properties": {"promptText": "Press 1.", "maxDigits": 1, "timeoutSeconds": 10},
                "onComplete": {"nextNode": "SetResult"}, "onError": {"nextNode": "Exit"}},
            "SetResult": {"id": "SetResult", "type": "Set",
                "properties": {"setVars": [{"key": "shared_module_result",
                    "value": {"type": "string", "value": "{GatherInput.digits}"}}]},
                "onComplete": {"nextNode": "EndFlow"}},
            "EndFlow": {"id": "EndFlow", "type": "End", "properties": {"endType": "normal"}},
            "Exit": {"id": "Exit", "type": "End", "properties": {"endType": "normal"}}
        }, "edges": {}}
    })
}

async fn bench_templates(concurrency: usize, duration: Duration) -> bool {
    let dir = match tempfile_dir() {
        Ok(d) => d,
        Err(e) => {
            println!("cannot create a temporary directory: {e}");
            return false;
        }
    };
    let settings = Settings {
        listen: ([127, 0, 0, 1], 0).into(),
        database_url: format!("sqlite://{}", dir.join("bench.db").display()),
        ..Default::default()
    };
    let app = match Application::build(settings).await {
        Ok(a) => a,
        Err(e) => {
            println!("cannot start the service: {e}");
            return false;
        }
    };
    let url = format!("http://{}/v1/templates", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..50_000u64)
            .map(|n| serde_json::to_vec(&seed_sized(n)).unwrap_or_default())
            .collect(),
    );
    let client = reqwest::Client::new();
    let report = loadgen::run(concurrency, duration, move |n| {
        let body = bodies[(n as usize) % bodies.len()].clone();
        client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
    })
    .await;
    let _ = stop.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
    println!("POST /v1/templates (seed-sized module, new template each request): {report}");
    println!(
        "throughput ratio to the 1,000 req/s target: {:.2}; p99 ratio to the 20 ms target: {:.2}",
        report.rps / 1000.0,
        report.p99.as_secs_f64() / 0.020
    );
    report.errors == 0
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("flowsmith-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
