//! A fresh database for each test: a SQLite file in the test's directory, or, when
//! `FLOWSMITH_TEST_POSTGRES_URL` names a PostgreSQL cluster (an admin URL, e.g. the one
//! `scripts/pg-test-cluster start` prints), a new database on that cluster. The same
//! integration tests so run on both backends (`scripts/test` runs them twice).
#![allow(dead_code)]

use std::path::Path;

use sqlx::{Connection, Executor, PgConnection};

/// The admin URL of the PostgreSQL cluster the tests run on, when they do.
pub const POSTGRES_ENV: &str = "FLOWSMITH_TEST_POSTGRES_URL";

pub fn postgres_admin_url() -> Option<String> {
    std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty())
}

/// The URL of the test's database, named by the SQLite file it would be (`db_file`, in the
/// test's temporary directory). On PostgreSQL the first call creates a database and notes
/// its URL beside that file (`<db_file>.postgres-url`), so a test that restarts the service
/// or reopens the store after it stopped finds the same database again.
pub fn database_url(db_file: &Path) -> String {
    let Some(admin) = postgres_admin_url() else {
        return sqlite_url(db_file);
    };
    let mut noted = db_file.as_os_str().to_owned();
    noted.push(".postgres-url");
    if let Ok(url) = std::fs::read_to_string(&noted) {
        return url;
    }
    let url = fresh_postgres_database(&admin);
    std::fs::write(&noted, &url).expect("note the test database's URL");
    url
}

/// A SQLite URL whatever the environment says: for tests of SQLite's own behaviour (its
/// file, WAL, disk-full simulation, read-only file, URL parsing).
pub fn sqlite_url(db_file: &Path) -> String {
    format!("sqlite://{}", db_file.display())
}

/// A new database on the test cluster, for a test that only makes sense on PostgreSQL.
/// Without the cluster the test is skipped (`None`), except under CI (`CI=true`), where
/// that is a failure: CI must run it. (`scripts/test` runs it in its PostgreSQL pass and
/// says so to its SQLite pass with `FLOWSMITH_TEST_POSTGRES_LATER=1`.)
pub fn postgres_only(test: &str) -> Option<String> {
    match postgres_admin_url() {
        Some(admin) => Some(fresh_postgres_database(&admin)),
        None => {
            let later = std::env::var("FLOWSMITH_TEST_POSTGRES_LATER").is_ok_and(|v| v == "1");
            assert!(
                later || std::env::var("CI").map_or(true, |v| v != "true"),
                "{test} needs PostgreSQL: set {POSTGRES_ENV} (scripts/pg-test-cluster start prints it)"
            );
            eprintln!("{test}: skipped, {POSTGRES_ENV} is not set");
            None
        }
    }
}

/// `CREATE DATABASE "<prefix><uuid>"` on the cluster; its URL. The prefix is
/// `FLOWSMITH_TEST_DB_PREFIX` (`scripts/test` gives each run its own and drops the run's
/// databases afterwards), else `t_`. Runs on a thread of its own, so it works inside and
/// outside an async runtime.
pub fn fresh_postgres_database(admin: &str) -> String {
    let prefix = std::env::var("FLOWSMITH_TEST_DB_PREFIX").unwrap_or_else(|_| "t_".into());
    let name = format!("{prefix}{}", uuid::Uuid::new_v4().simple());
    let mut url = url::Url::parse(admin).expect("the admin URL parses");
    url.set_path(&format!("/{name}"));
    let admin = admin.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            let mut c = PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("{POSTGRES_ENV}={admin}: {e}"));
            c.execute(format!("CREATE DATABASE \"{name}\"").as_str())
                .await
                .expect("CREATE DATABASE");
            c.close().await.ok();
        })
    })
    .join()
    .expect("the database is created");
    url.to_string()
}

/// Runs one statement with text arguments on the test database at `url` (either backend),
/// behind the service's back; the rows it changed.
pub async fn execute(url: &str, sql: &str, args: &[&str]) -> u64 {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.expect("connect");
        let mut q = sqlx::query(sql);
        for a in args {
            q = q.bind(*a);
        }
        let n = q.execute(&pool).await.expect(sql).rows_affected();
        pool.close().await;
        n
    } else {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        let mut q = sqlx::query(sql);
        for a in args {
            q = q.bind(*a);
        }
        let n = q.execute(&pool).await.expect(sql).rows_affected();
        pool.close().await;
        n
    }
}
