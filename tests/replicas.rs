//! Several `flowsmith serve` processes, as real child processes.
//!
//! - SQLite: a second process on the same database file is refused at start-up, and the lock
//!   is free again once the first is SIGKILLed.
//! - PostgreSQL (only with `FLOWSMITH_TEST_POSTGRES_URL`; under `CI=true` its absence is a
//!   failure): the database's notifications reach a replica's signals, also after the
//!   listening connection is cut.

#[path = "common/db.rs"]
mod db;
#[path = "common/service.rs"]
mod service;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
            panic!("still running after {limit:?}: a second replica was not refused");
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
    insert_queued_job(&pool, "job-1").await;
    tokio::time::timeout(SIGNAL_WITHIN, signals.queued())
        .await
        .expect("the worker is woken for a queued job");
    followers.borrow_and_update();

    // An event stored for a job wakes the followers.
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
