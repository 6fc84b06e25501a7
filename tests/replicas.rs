//! Several `flowsmith serve` processes, as real child processes.
//!
//! - SQLite: a second process on the same database file is refused at start-up, and the lock
//!   is free again once the first is SIGKILLed.
//! - PostgreSQL (only with `FLOWSMITH_TEST_POSTGRES_URL`; under `CI=true` its absence is a
//!   failure): the database's notifications reach a replica's signals, also after the
//!   listening connection is cut; and two replicas provision a module and 40 callers while
//!   the one running the job is SIGKILLed again and again: the other takes over after the
//!   lease, the job succeeds with one flow per name, and event streams opened on replicas
//!   that stay up follow it to the end.

// Test code: a panic is a failed assertion, and a scenario may read top to bottom.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

#[path = "common/crash_job.rs"]
mod crash_job;
#[path = "common/db.rs"]
mod db;
#[path = "common/service.rs"]
mod service;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::Value;

use crash_job::{CrashOrg, get_json};
use service::{Service, serve_url};

/// Runs `cmd` to its end (at most `limit`), returning its exit status and stderr.
fn run_to_exit(mut cmd: Command, limit: Duration) -> (std::process::ExitStatus, String) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flowsmith starts");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}: start-up was not refused");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (status, err)
}

#[test]
fn a_second_replica_on_one_sqlite_file_is_refused_until_the_first_is_gone() {
    // Arrange: one process serving the file.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("flowsmith.db");
    // SQLite whatever the environment says: this is SQLite's rule.
    let serve = |db: &std::path::Path| serve_url(&db::sqlite_url(db));
    let mut first = Service::spawn(serve(&db));

    // Act: a second one on the same file.
    let (status, stderr) = run_to_exit(serve(&db), Duration::from_secs(30));

    // Assert: refused, naming the file and what to do instead.
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains(&db.display().to_string()), "{stderr}");
    assert!(
        stderr.contains("in use by another flowsmith process"),
        "{stderr}"
    );
    assert!(stderr.contains("PostgreSQL"), "{stderr}");
    assert!(
        first.child.try_wait().unwrap().is_none(),
        "the first process keeps running"
    );

    // A SIGKILLed process leaves no stale lock: the OS releases it.
    first.kill();
    let again = Service::spawn(serve(&db));
    assert!(again.addr.contains(':'));
}

/// A replica started before its PostgreSQL server (compose starts them together) waits for
/// it, saying so with the cause, and gives up after `FLOWSMITH_DATABASE_START_WAIT_SECS`
/// with an error naming the server (never the password). Needs no PostgreSQL: nothing
/// listens on the port.
#[test]
fn a_replica_waits_for_postgres_saying_why_then_gives_up_naming_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = serve_url(&format!(
        "postgres://flowsmith:hunter2@127.0.0.1:{port}/flowsmith"
    ));
    cmd.env("FLOWSMITH_DATABASE_START_WAIT_SECS", "2");

    let start = Instant::now();
    let (status, stderr) = run_to_exit(cmd, Duration::from_secs(20));
    let took = start.elapsed();

    assert!(!status.success(), "{stderr}");
    assert!(took >= Duration::from_secs(2), "{took:?}: {stderr}");
    assert!(took < Duration::from_secs(15), "{took:?}: {stderr}");
    assert!(
        stderr.contains("PostgreSQL does not accept connections yet"),
        "{stderr}"
    );
    assert!(stderr.contains("database_start_wait_secs"), "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

/// A database that does not exist will not appear by waiting: refused at once, by name.
#[tokio::test]
async fn a_missing_postgres_database_is_refused_at_once() {
    let Some(url) = db::postgres_only("a missing database") else {
        return;
    };
    let mut missing = url::Url::parse(&url).unwrap();
    missing.set_path("/flowsmith_no_such_database");
    let start = Instant::now();
    let opened =
        flowsmith::store::Store::open_waiting(missing.as_str(), Duration::from_secs(30)).await;
    let Err(err) = opened else {
        panic!("opened a database that does not exist");
    };
    let err = err.to_string();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "it waited: {err}"
    );
    assert!(err.contains("flowsmith_no_such_database"), "{err}");
    assert!(err.contains("does not exist"), "{err}");
}

#[tokio::test]
async fn several_replicas_on_one_sqlite_file_are_refused_at_start_up() {
    use flowsmith::app::Application;
    use flowsmith::config::Settings;

    let dir = tempfile::tempdir().unwrap();
    let base = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: db::sqlite_url(&dir.path().join("f.db")),
        ..Settings::default()
    };
    // Several replicas on one SQLite file.
    let err = Application::build(Settings {
        replicas: 2,
        ..base.clone()
    })
    .await
    .err()
    .expect("refused")
    .to_string();
    assert!(
        err.contains("FLOWSMITH_REPLICAS") && err.contains("PostgreSQL"),
        "{err}"
    );
}

/// How long a signal may take to arrive before the test fails.
const SIGNAL_WITHIN: Duration = Duration::from_secs(10);

async fn insert_queued_job(pool: &sqlx::PgPool, id: &str) {
    sqlx::query(
        "INSERT INTO jobs (id, target, status, request, plan, request_hash, created_at) \
         VALUES ($1, 'default', 'queued', '{}', '{}', 'h', '2026-01-01T00:00:00.000Z')",
    )
    .bind(id)
    .execute(pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn database_notifications_wake_a_replicas_followers_and_worker_also_after_a_reconnect() {
    use flowsmith::jobs::Signals;
    use flowsmith::jobs::replica_events::forward;

    let Some(url) = db::postgres_only("replica events") else {
        return;
    };
    // Arrange: the migrated database, and one replica's forwarding task.
    let store = flowsmith::store::Store::open(&url).await.expect("migrates");
    store.close().await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let signals = Signals::default();
    let mut followers = signals.subscribe();
    let stop = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(forward(url.clone(), signals.clone(), stop.clone()));
    // Listening: it signals everything once when it connects.
    tokio::time::timeout(SIGNAL_WITHIN, signals.queued())
        .await
        .expect("a signal once listening");
    followers.borrow_and_update();

    // Act + Assert: a job queued by "another replica" (plain SQL here) wakes the worker.
    let sent = Instant::now();
    insert_queued_job(&pool, "job-1").await;
    tokio::time::timeout(SIGNAL_WITHIN, signals.queued())
        .await
        .expect("the worker is woken for a queued job");
    println!(
        "a queued job reached the replica's worker {:.1?} after its INSERT was sent",
        sent.elapsed()
    );
    followers.borrow_and_update();

    // An event stored for a job wakes the followers.
    let sent = Instant::now();
    sqlx::query(
        "INSERT INTO job_events (job_id, seq, at, kind, data) \
         VALUES ('job-1', 1, '2026-01-01T00:00:00.000Z', 'job.started', '{}')",
    )
    .execute(&pool)
    .await
    .unwrap();
    tokio::time::timeout(SIGNAL_WITHIN, followers.changed())
        .await
        .expect("followers hear a stored event")
        .unwrap();
    println!(
        "a stored event reached the replica's followers {:.1?} after its INSERT was sent",
        sent.elapsed()
    );

    // The listening connection is cut: once it is back, everyone is told to look again
    // (what was sent meanwhile is lost), and later notifications arrive again.
    let cut: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
         AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(!cut.is_empty(), "the listening connection is visible");
    for pid in cut {
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .execute(&pool)
            .await
            .unwrap();
    }
    tokio::time::timeout(SIGNAL_WITHIN, signals.queued())
        .await
        .expect("a signal after reconnecting");
    insert_queued_job(&pool, "job-2").await;
    tokio::time::timeout(SIGNAL_WITHIN, signals.queued())
        .await
        .expect("notifications arrive after the reconnect");

    stop.cancel();
    tokio::time::timeout(SIGNAL_WITHIN, task)
        .await
        .expect("the task ends at shutdown")
        .unwrap();
    pool.close().await;
}

const CALLERS: usize = 40;
const KILLS: usize = 4;

/// One replica: `flowsmith serve` on the shared database, provisioning into the sandbox
/// at `org`, with a 1 s lease (a killed replica's job is taken over quickly), JSON logs
/// (the test reads who claimed what); the two lease the target's rate budget from the database.
fn replica(url: &str, org: &str) -> Service {
    replica_at(url, org, 12_000)
}

/// [`replica`] with the target's budget at `per_minute`.
fn replica_at(url: &str, org: &str, per_minute: u32) -> Service {
    let mut cmd = serve_url(url);
    cmd.env("GENESYS_CLIENT_ID", flowsmith_sandbox::DEFAULT_CLIENT_ID)
        .env(
            "GENESYS_CLIENT_SECRET",
            flowsmith_sandbox::DEFAULT_CLIENT_SECRET,
        )
        .env("GENESYS_ENVIRONMENT", org)
        .env("GENESYS_RATE_LIMIT_PER_MINUTE", per_minute.to_string())
        .env("FLOWSMITH_REPLICAS", "2")
        .env("FLOWSMITH_LEASE_SECS", "1")
        .env("FLOWSMITH_WORKER_POLL_MS", "50")
        .env("FLOWSMITH_LOG_FORMAT", "json");
    Service::spawn(cmd)
}

/// Whether `svc` logged claiming attempt `attempt` of job `id`.
fn claimed(svc: &Service, id: &str, attempt: i64) -> bool {
    svc.log_lines().iter().any(|l| {
        serde_json::from_str::<Value>(l).is_ok_and(|v| {
            v["message"] == "job claimed" && v["job_id"] == id && v["attempt"] == attempt
        })
    })
}

/// Which replica claimed attempt `attempt` of job `id` (its log says so; the log is read
/// in the background, so the line may come a moment after the database shows the claim).
async fn claimant(replicas: &[Service], id: &str, attempt: i64) -> usize {
    let start = Instant::now();
    loop {
        if let Some(i) = (0..replicas.len()).find(|&i| claimed(&replicas[i], id, attempt)) {
            return i;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no replica logged claiming attempt {attempt}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls the job on `svc` until `done` holds (at most `limit`).
async fn wait_job(
    http: &Client,
    svc: &Service,
    id: &str,
    limit: Duration,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let j = get_json(http, &svc.url(&format!("/v1/jobs/{id}"))).await;
        if done(&j) {
            return j;
        }
        assert!(start.elapsed() < limit, "{what} within {limit:?}: {j:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An event stream of the job opened on `svc`, read in the background until the server
/// ends it: its (id, event) pairs.
async fn follow(
    http: &Client,
    svc: &Service,
    id: &str,
) -> tokio::task::JoinHandle<Vec<(i64, String)>> {
    let mut r = http
        .get(svc.url(&format!("/v1/jobs/{id}/events")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::spawn(async move {
        let mut text = String::new();
        while let Ok(Some(chunk)) = r.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        text.split("\n\n")
            .filter_map(|block| {
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
                };
                Some((field("id:")?.parse().ok()?, field("event:")?))
            })
            .collect()
    })
}

/// What a stream that stayed open to the end must have seen: every event from the first,
/// in order, without a gap, ending with the job's success.
fn assert_complete(events: &[(i64, String)], last: i64, which: &str) {
    let ids: Vec<i64> = events.iter().map(|(i, _)| *i).collect();
    assert_eq!(ids, (1..=last).collect::<Vec<_>>(), "{which}: {events:?}");
    assert_eq!(events.last().unwrap().1, "job.succeeded", "{which}");
}

#[tokio::test]
async fn two_replicas_finish_a_job_whose_runner_is_sigkilled_again_and_again() {
    let Some(url) = db::postgres_only("two replicas") else {
        return;
    };
    // Arrange: one sandbox org, one database, two replicas.
    let started = Instant::now();
    let crash_org = CrashOrg::start().await;
    let (org, http) = (crash_org.base.clone(), crash_org.http.clone());
    let mut replicas = vec![replica(&url, &org), replica(&url, &org)];
    // Templates stored on one replica, the job submitted on the other.
    let (id, expected) = crash_org
        .submit(&replicas[0].url(""), &replicas[1].url(""), CALLERS)
        .await;

    // Act: each round, find the replica running the current attempt (from its log), open an
    // event stream on the other, let one to four steps end, SIGKILL the runner, wait for the
    // other to take over after the lease (the only worker left), then restart the killed one.
    // How many steps end in each round before its kill: random, reproducible with the seed.
    let seed: u64 = std::env::var("KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("replicas kill test seed: {seed} (rerun with KILL_SEED={seed})");
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    let mut attempt = 0;
    let mut streams = Vec::new();
    for k in 0..KILLS {
        let j = wait_job(
            &http,
            &replicas[0],
            &id,
            Duration::from_secs(20),
            "a claim",
            |j| j["status"] == "running" && j["attempt"].as_i64() > Some(attempt),
        )
        .await;
        attempt = j["attempt"].as_i64().unwrap();
        let runner = claimant(&replicas, &id, attempt).await;
        let survivor = 1 - runner;
        streams.push((k, survivor, follow(&http, &replicas[survivor], &id).await));
        // Some progress in this attempt before the kill, so that every round moves the job on.
        let before = j["progress"]["done"].as_u64().unwrap();
        let steps = rand::Rng::gen_range(&mut rng, 1..=4u64);
        wait_job(
            &http,
            &replicas[survivor],
            &id,
            Duration::from_secs(20),
            "progress",
            |j| {
                j["progress"]["done"].as_u64().unwrap() >= before + steps
                    || j["status"] != "running"
            },
        )
        .await;
        replicas[runner].kill();
        let taken = wait_job(
            &http,
            &replicas[survivor],
            &id,
            Duration::from_secs(20),
            "a takeover",
            |j| j["attempt"].as_i64() > Some(attempt) || j["status"] != "running",
        )
        .await;
        assert_eq!(
            taken["status"],
            "running",
            "the job ended before kill {}: {taken:#}",
            k + 1
        );
        println!(
            "kill {}/{KILLS}: replica {runner} ran attempt {attempt} ({} steps done); replica {survivor} took over as attempt {} after {:.1?}",
            k + 1,
            taken["progress"]["done"],
            taken["attempt"],
            started.elapsed()
        );
        replicas[runner] = replica(&url, &org);
    }
    // A stream on the restarted replica, which does not run the job: everything it gets
    // after its start comes from the other replica through the database.
    let last_runner = claimant(&replicas, &id, attempt + 1).await;
    let watcher = 1 - last_runner;
    streams.push((KILLS, watcher, follow(&http, &replicas[watcher], &id).await));
    let job = wait_job(
        &http,
        &replicas[watcher],
        &id,
        Duration::from_secs(45),
        "the end",
        |j| {
            matches!(
                j["status"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            )
        },
    )
    .await;

    // Assert: succeeded after the takeovers.
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert!(job["attempt"].as_i64().unwrap() > KILLS as i64, "{job:#}");
    // One flow per name in the org, and flow records that match it (read on both replicas).
    let on_both: Vec<String> = replicas.iter().map(|r| r.url("")).collect();
    crash_org.assert_provisioned_once(&expected, &on_both).await;
    for s in job["steps"].as_array().unwrap() {
        assert_eq!(s["state"], "succeeded", "{s:#}");
    }
    // Streams opened on replicas that stayed up to the end (the last round's survivor, and
    // the watcher) got every event up to the job's success; streams on replicas killed
    // later ended with their process.
    let mut complete = 0;
    let final_seq = {
        let mut r = http
            .get(replicas[0].url(&format!("/v1/jobs/{id}/events")))
            .send()
            .await
            .unwrap();
        let mut text = String::new();
        while let Some(chunk) = r.chunk().await.unwrap() {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        text.lines()
            .filter_map(|l| l.strip_prefix("id:")?.trim().parse::<i64>().ok())
            .max()
            .unwrap()
    };
    for (round, on, stream) in streams {
        let stayed_up = round + 1 >= KILLS;
        let events = tokio::time::timeout(Duration::from_secs(10), stream)
            .await
            .expect("the stream ends after the job's last event")
            .unwrap();
        if stayed_up {
            assert_complete(
                &events,
                final_seq,
                &format!("stream of round {round} on replica {on}"),
            );
            complete += 1;
        }
    }
    assert_eq!(complete, 2);
    println!(
        "{KILLS} kills, attempt {}, {} events, {} Architect jobs registered for {} flows, {:.1?} in all",
        job["attempt"],
        final_seq,
        crash_org.jobs_registered().await,
        expected.len(),
        started.elapsed()
    );
}

/// The org's Platform API requests so far (OAuth and uploads are not counted by Genesys).
async fn api_requests(http: &Client, org: &str) -> u64 {
    let c = get_json(http, &format!("{org}/sandbox/counters")).await;
    c["endpoints"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(route, _)| route.contains("/api/v2"))
        .map(|(_, v)| v["total"].as_u64().unwrap())
        .sum()
}

/// The most requests counted between two samples at most `window` apart (and at least
/// half of it), with the time between them.
fn busiest(samples: &[(Instant, u64)], window: Duration) -> Vec<(f64, u64)> {
    let mut out = Vec::new();
    for (i, &(t1, c1)) in samples.iter().enumerate() {
        for &(t2, c2) in &samples[i + 1..] {
            let d = t2 - t1;
            if d > window {
                break;
            }
            if d >= window / 2 {
                out.push((d.as_secs_f64(), c2 - c1));
            }
        }
    }
    out
}

/// Two replicas, one target budget of 600 requests a minute configured on each: the job
/// runs on one; first alone, it gets more than the half a static share would give it;
/// then both replicas also read the org for dry runs as fast as they are let. The org's
/// request count, sampled every 50 ms, never grows faster than the budget (evenly spaced,
/// 101 ms apart, plus two for the sampling), no request is refused with a 429, and the job
/// provisions one flow per name.
#[tokio::test]
async fn two_replicas_share_one_rate_budget_and_never_exceed_it() {
    let Some(url) = db::postgres_only("a shared rate budget") else {
        return;
    };
    const BUDGET: u32 = 600;
    // Arrange: one org, two replicas, a sampler of the org's counters.
    let crash_org = CrashOrg::start().await;
    let (org, http) = (crash_org.base.clone(), crash_org.http.clone());
    let replicas = [
        replica_at(&url, &org, BUDGET),
        replica_at(&url, &org, BUDGET),
    ];
    let samples = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = tokio_util::sync::CancellationToken::new();
    let sampler = tokio::spawn({
        let (http, org, samples, stop) = (http.clone(), org.clone(), samples.clone(), stop.clone());
        async move {
            while !stop.is_cancelled() {
                let n = api_requests(&http, &org).await;
                samples.lock().unwrap().push((Instant::now(), n));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });

    // Act: the job alone until 15 of its steps are done (the module's among them, so the
    // dry runs have a record to verify against the org) ...
    let (id, expected) = crash_org
        .submit(&replicas[0].url(""), &replicas[1].url(""), CALLERS)
        .await;
    wait_job(
        &http,
        &replicas[0],
        &id,
        Duration::from_secs(60),
        "15 steps",
        |j| j["progress"]["done"].as_u64().unwrap() >= 15 || j["status"] != "running",
    )
    .await;
    let alone = samples.lock().unwrap().clone();
    // ... then dry runs on both replicas, each reading the org, six at a time, to the end.
    let dry_runs = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut hammers = Vec::new();
    for i in 0..6 {
        let (http, base, stop, dry_runs) = (
            http.clone(),
            replicas[i % 2].url("/v1/jobs"),
            stop.clone(),
            dry_runs.clone(),
        );
        hammers.push(tokio::spawn(async move {
            while !stop.is_cancelled() {
                let r = http
                    .post(&base)
                    .json(&serde_json::json!({"target": "default", "dry_run": true,
                        "flows": [{"template": crash_job::MODULE}]}))
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "{:?}", r.text().await);
                dry_runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    let job = wait_job(
        &http,
        &replicas[0],
        &id,
        Duration::from_secs(120),
        "the end",
        |j| j["status"] != "running" && j["status"] != "queued",
    )
    .await;
    let before_dry_runs_ended = api_requests(&http, &org).await;
    stop.cancel();
    for h in hammers {
        h.await.unwrap();
    }
    sampler.await.unwrap();
    let samples = samples.lock().unwrap().clone();

    // Assert: never faster than the budget, in any window of 1 to 2 s or 3 to 6 s.
    let spacing = 60.0 / f64::from(BUDGET) + 0.001;
    for window in [Duration::from_secs(2), Duration::from_secs(6)] {
        for (secs, n) in busiest(&samples, window) {
            let allowed = (secs / spacing).floor() as u64 + 2;
            assert!(n <= allowed, "{n} requests in {secs:.2} s: over the budget");
        }
    }
    // Alone, the job's replica used more than half the budget (what a static share gave).
    let alone_best = busiest(&alone, Duration::from_secs(2))
        .into_iter()
        .map(|(secs, n)| n as f64 / secs)
        .fold(0.0, f64::max);
    assert!(
        alone_best > 0.6 * f64::from(BUDGET) / 60.0,
        "alone the job's replica sent at most {alone_best:.1} requests/s"
    );
    let counters = get_json(&http, &format!("{org}/sandbox/counters")).await;
    assert_eq!(counters["rateLimited"], 0, "{counters:#}");
    assert_eq!(job["status"], "succeeded", "{job:#}");
    let dry_runs = dry_runs.load(std::sync::atomic::Ordering::Relaxed);
    assert!(dry_runs > 0, "the other replica had work too");
    let on_both: Vec<String> = replicas.iter().map(|r| r.url("")).collect();
    crash_org.assert_provisioned_once(&expected, &on_both).await;
    println!(
        "shared budget: alone up to {alone_best:.1} requests/s of {:.1}; {dry_runs} dry runs beside the job; {before_dry_runs_ended} requests in {:.1} s; 0 × 429",
        f64::from(BUDGET) / 60.0,
        samples
            .last()
            .unwrap()
            .0
            .duration_since(samples[0].0)
            .as_secs_f64()
    );
}
