//! The store on the test database's backend (SQLite by default, PostgreSQL when
//! `FLOWSMITH_TEST_POSTGRES_URL` is set), with two `Store`s on one database standing for two
//! replicas: what must stay unique or serialised across replicas does.

// Test code: a panic is a failed assertion, and a scenario may read top to bottom.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

#[path = "common/db.rs"]
mod db;

use std::collections::BTreeSet;
use std::time::Duration;

use flowsmith::jobs::{Action, JobStatus, StepState};
use flowsmith::store::{
    CreateOutcome, LeaseError, NewJob, NewStep, NewTemplate, Store, StoreOutcome,
};

/// Two replicas on one fresh test database.
async fn two_replicas(dir: &tempfile::TempDir) -> (Store, Store) {
    let url = db::database_url(&dir.path().join("flowsmith.db"));
    let a = Store::open(&url).await.unwrap();
    let b = Store::open(&url).await.unwrap();
    (a, b)
}

fn template<'a>(name: &'a str, document: &'a str) -> NewTemplate<'a> {
    NewTemplate {
        name,
        flow_type: flowsmith::template::FlowType::Module,
        description: None,
        content_hash: document,
        document,
        warnings: "[]",
    }
}

fn job(id: &str, target: &str, key: Option<&str>) -> NewJob {
    NewJob {
        id: id.into(),
        target: target.into(),
        status: JobStatus::Queued,
        error: None,
        dry_run: false,
        description: None,
        request: "{}".into(),
        plan: "{}".into(),
        idempotency_key: key.map(str::to_owned),
        request_hash: "h".into(),
        request_id: None,
        steps: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_storing_one_document_at_once_create_one_version() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_replicas(&dir).await;

    // Act: twenty stores of the same document, half on each replica, at once; then twenty
    // different documents under another name.
    let same = futures::future::join_all((0..20).map(|i| {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move { s.store_template(template("same", "{\"v\":1}")).await }
    }))
    .await;
    let docs: Vec<String> = (0..20).map(|i| format!("{{\"v\":{i}}}")).collect();
    let different = futures::future::join_all(docs.iter().enumerate().map(|(i, d)| {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move { s.store_template(template("many", d)).await }
    }))
    .await;

    // Assert: one version created, the others found it unchanged; twenty versions 1..=20.
    let created = same
        .into_iter()
        .map(|r| matches!(r.unwrap(), StoreOutcome::Created(_)))
        .filter(|c| *c)
        .count();
    assert_eq!(created, 1);
    assert_eq!(a.template_versions("same").await.unwrap().unwrap().len(), 1);
    for r in different {
        assert!(matches!(r.unwrap(), StoreOutcome::Created(_)));
    }
    let versions: Vec<i64> = b
        .template_versions("many")
        .await
        .unwrap()
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(versions, (1..=20).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_creating_jobs_with_one_idempotency_key_create_one_job() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_replicas(&dir).await;

    // Act: ten requests with the same key, each with its own job id, half on each replica.
    let outcomes = futures::future::join_all((0..10).map(|i| {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move {
            s.create_job(&job(&format!("job-{i}"), "org", Some("key-1")))
                .await
        }
    }))
    .await;

    // Assert: one created; every other request answered with that job.
    let mut created = Vec::new();
    let mut existing = BTreeSet::new();
    for o in outcomes {
        match o.expect("no request fails") {
            CreateOutcome::Created(j) => created.push(j.id),
            CreateOutcome::Existing(j) => {
                existing.insert(j.id);
            }
        }
    }
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(existing, BTreeSet::from([created[0].clone()]));
    let listed = a
        .list_jobs(&flowsmith::store::JobFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claims_on_two_replicas_run_one_job_per_target_in_order() {
    // Arrange: three jobs on each of two targets.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_replicas(&dir).await;
    for i in 1..=3 {
        for t in ["east", "west"] {
            a.create_job(&job(&format!("{t}-{i}"), t, None))
                .await
                .unwrap();
        }
    }
    let targets = vec!["east".to_owned(), "west".to_owned()];
    let lease = Duration::from_secs(60);

    // Act: rounds of eight claims at once, half on each replica; the jobs they got end,
    // and the next round claims again.
    let mut order = Vec::new();
    for _ in 0..3 {
        let round = futures::future::join_all((0..8).map(|i| {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            let targets = targets.clone();
            async move { s.claim_job(&format!("w{i}"), lease, &targets).await }
        }))
        .await;
        let leases: Vec<_> = round.into_iter().filter_map(|r| r.unwrap()).collect();

        // Assert: each round claims exactly one job per target, the oldest queued one.
        let mut got: Vec<String> = leases.iter().map(|l| l.job_id.clone()).collect();
        got.sort();
        order.push(got);
        for l in &leases {
            assert!(l.finish(JobStatus::Succeeded, None).await.is_ok());
        }
    }
    assert_eq!(
        order,
        vec![
            vec!["east-1", "west-1"],
            vec!["east-2", "west-2"],
            vec!["east-3", "west-3"]
        ]
    );
    assert!(
        b.claim_job("w", lease, &targets).await.unwrap().is_none(),
        "nothing left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lease_reclaimed_by_another_replica_fences_the_first_workers_writes() {
    // Arrange: replica A claims with a lease that expires at once.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_replicas(&dir).await;
    a.create_job(&job("j", "org", None)).await.unwrap();
    let targets = vec!["org".to_owned()];
    let first = a
        .claim_job("a", Duration::ZERO, &targets)
        .await
        .unwrap()
        .expect("claimed");

    // Act: replica B reclaims it once the lease has expired (timestamps have millisecond
    // resolution: B retries until the clock has moved past the lease).
    let second = loop {
        if let Some(l) = b
            .claim_job("b", Duration::from_secs(60), &targets)
            .await
            .unwrap()
        {
            break l;
        }
        tokio::task::yield_now().await;
    };

    // Assert: the first worker's writes no longer apply; the second's do.
    assert_eq!(second.attempt, first.attempt + 1);
    assert!(matches!(
        first.heartbeat(Duration::from_secs(60)).await,
        Err(LeaseError::Lost)
    ));
    assert!(matches!(
        first.finish(JobStatus::Failed, Some("late")).await,
        Err(LeaseError::Lost)
    ));
    assert!(second.finish(JobStatus::Succeeded, None).await.is_ok());
    let row = a.job("j").await.unwrap().unwrap();
    assert_eq!(row.status, JobStatus::Succeeded);
    assert_eq!(row.error, None);
}

fn step(idx: usize, action: Action, state: StepState) -> NewStep {
    NewStep {
        flow_name: format!("Flow_{idx}"),
        template_name: "T".into(),
        template_version: 1,
        flow_type: flowsmith::template::FlowType::Module,
        action,
        state,
        depends_on: "[]".into(),
        yaml: String::new(),
        plan_hash: "h".into(),
        params: "{}".into(),
        context: "{}".into(),
        warnings: "[]".into(),
        flow_id: None,
        published_version: None,
        error: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_step_gauges_count_the_steps_of_unfinished_jobs_on_every_replica() {
    // Arrange: on replica A, a queued job of three steps (one already unchanged) and a
    // finished dry run of two; on B, a claimed (running) job of one step.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_replicas(&dir).await;
    let mut queued = job("q", "org-1", None);
    queued.steps = vec![
        step(0, Action::Create, StepState::Pending),
        step(1, Action::Update, StepState::Pending),
        step(2, Action::Unchanged, StepState::Succeeded),
    ];
    let mut done = job("d", "org-1", None);
    done.status = JobStatus::Succeeded;
    done.dry_run = true;
    done.steps = vec![
        step(0, Action::Create, StepState::Skipped),
        step(1, Action::Unchanged, StepState::Succeeded),
    ];
    let mut running = job("r", "org-2", None);
    running.steps = vec![step(0, Action::Create, StepState::Pending)];
    for j in [&queued, &done] {
        a.create_job(j).await.unwrap();
    }
    b.create_job(&running).await.unwrap();
    let lease = b
        .claim_job("b", Duration::from_secs(60), &["org-2".to_owned()])
        .await
        .unwrap()
        .expect("claimed");
    assert_eq!(lease.job_id, "r");

    // Act
    let (on_a, on_b) = (
        a.state_counts().await.unwrap(),
        b.state_counts().await.unwrap(),
    );

    // Assert: both replicas read the same database; the finished job's steps are not there.
    for counts in [on_a, on_b] {
        let jobs: Vec<(&str, i64)> = counts.jobs.iter().map(|(s, n)| (s.as_str(), *n)).collect();
        assert_eq!(jobs, [("queued", 1), ("running", 1), ("succeeded", 1)]);
        let steps: Vec<(&str, i64)> = counts.steps.iter().map(|(s, n)| (s.as_str(), *n)).collect();
        assert_eq!(steps, [("pending", 3), ("succeeded", 1)]);
    }
}

/// PostgreSQL's migrations make the tables and columns SQLite's make (types mapped: INTEGER
/// is BIGINT, or BOOLEAN for the two flags; TEXT is TEXT; BLOB is BYTEA), and besides them
/// only [`POSTGRES_ONLY`].
/// Tables of replicas, which only PostgreSQL runs: the shared rate budget
/// (`migrations/postgres/0009_rate_budget.sql`).
const POSTGRES_ONLY: &[&str] = &["rate_budget"];

#[tokio::test]
async fn both_backends_migrate_to_the_same_tables_and_columns() {
    let Some(pg_url) = db::postgres_only("both_backends_migrate_to_the_same_tables_and_columns")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = db::sqlite_url(&dir.path().join("schema.db"));
    Store::open(&sqlite_url).await.unwrap().close().await;
    Store::open(&pg_url).await.unwrap().close().await;

    let sqlite = sqlx::SqlitePool::connect(&sqlite_url).await.unwrap();
    let lite: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT m.name, p.name, upper(p.type) FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' ORDER BY 1, 2",
    )
    .fetch_all(&sqlite)
    .await
    .unwrap();
    let pg = sqlx::PgPool::connect(&pg_url).await.unwrap();
    let all: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%' ORDER BY 1, 2",
    )
    .fetch_all(&pg)
    .await
    .unwrap();
    let (only, post): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|(t, _, _)| POSTGRES_ONLY.contains(&t.as_str()));
    let only_tables: BTreeSet<&str> = only.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(only_tables, POSTGRES_ONLY.iter().copied().collect());

    let names = |cols: &[(String, String, String)]| {
        cols.iter()
            .map(|(t, c, _)| format!("{t}.{c}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&lite), names(&post));
    assert!(lite.len() > 60, "{lite:?}");
    for ((t, c, lite_type), (_, _, pg_type)) in lite.iter().zip(&post) {
        let ok = match lite_type.as_str() {
            "INTEGER" => pg_type == "bigint" || pg_type == "boolean",
            "TEXT" => pg_type == "text",
            "BLOB" => pg_type == "bytea",
            _ => false,
        };
        assert!(
            ok,
            "{t}.{c}: {lite_type} in SQLite, {pg_type} in PostgreSQL"
        );
    }
    let flags: Vec<String> = post
        .iter()
        .filter(|(_, _, ty)| ty == "boolean")
        .map(|(t, c, _)| format!("{t}.{c}"))
        .collect();
    assert_eq!(flags, ["jobs.cancel_requested", "jobs.dry_run"]);
    sqlite.close().await;
    pg.close().await;
}
