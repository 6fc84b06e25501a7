//! Persistence: SQLite through sqlx, with embedded migrations.
//!
//! Reads go through a pool; writes go through a second pool of exactly one connection and
//! always start with `BEGIN IMMEDIATE`, so writers queue in the process (fairly, without
//! SQLite's sleep-and-retry busy handler) and never fail with "database is locked".
//! SQL is kept portable to Postgres (TEXT timestamps, no SQLite-only syntax).
//!
//! Every write goes through `Store::tracked`, which remembers whether the database is
//! refusing writes for a storage fault ([`fault`]); `/readyz` reports that, and probes.

pub mod fault;
pub mod flows;
pub mod jobs;
pub mod sqlite_lock;
mod templates;

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Sqlite, SqlitePool, Transaction};

pub use fault::{StorageFault, WriteFailure};

pub use flows::{FlowFilter, FlowRecordRow, RecordWithDocument};
pub use jobs::{
    CancelOutcome, Claimed, CreateOutcome, EventRow, JobFilter, JobRow, NewJob, NewStep,
    ReleaseRow, RetryOutcome, StateCounts, StepRow, StepStart, StepSuccess,
};
pub use templates::{DeleteOutcome, ListFilter, NewTemplate, StoreOutcome, TemplateRow};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "database URL {url:?}: PostgreSQL is not supported yet; use a sqlite: URL such as sqlite://flowsmith.db"
    )]
    PostgresUnsupported { url: String },
    #[error(
        "database URL {url:?}: expected a sqlite: URL such as sqlite://flowsmith.db or sqlite::memory:"
    )]
    UnknownScheme { url: String },
    #[error("database URL {url:?}: {source}")]
    Url { url: String, source: sqlx::Error },
    #[error("cannot open the database: {0}")]
    Open(sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

#[derive(Clone, Debug)]
pub struct Store {
    read: SqlitePool,
    write: SqlitePool,
    health: Arc<fault::WriteHealth>,
    /// One write probe at a time (concurrent readiness checks share its outcome).
    probing: Arc<tokio::sync::Mutex<()>>,
    /// A write was refused for a storage fault: the next write gets a freshly opened
    /// connection. (SQLite opens a file it may not write read-only, silently, and such a
    /// connection stays read-only after the file is writable again.)
    reopen_writer: Arc<AtomicBool>,
    /// Test hook: the disk is "full" ([`Store::simulate_disk_full`]).
    disk_full: Arc<AtomicBool>,
    /// `max_page_count` before the simulation started (0: not read yet).
    max_pages: Arc<AtomicU64>,
}

/// A probe that takes longer counts as failed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Current time as stored: RFC 3339 UTC with milliseconds (sorts as text).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Refuses URLs that are not `sqlite:` ones: sqlx would open anything else as a file name.
pub fn check_scheme(url: &str) -> Result<(), StoreError> {
    let scheme = url
        .split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    match scheme.as_str() {
        "sqlite" => Ok(()),
        "postgres" | "postgresql" => Err(StoreError::PostgresUnsupported {
            url: url.to_owned(),
        }),
        _ => Err(StoreError::UnknownScheme {
            url: url.to_owned(),
        }),
    }
}

/// The file a `sqlite:` URL names; `None` for an in-memory database or another scheme.
pub fn database_file(url: &str) -> Option<std::path::PathBuf> {
    check_scheme(url).ok()?;
    if url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let opts = SqliteConnectOptions::from_str(url).ok()?;
    let file = opts.get_filename();
    (!file.as_os_str().is_empty()).then(|| file.to_path_buf())
}

impl Store {
    /// Opens (creating if missing) the database and runs the embedded migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        check_scheme(url)?;
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|source| StoreError::Url {
                url: url.to_owned(),
                source,
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode loses nothing on a process crash; only an OS crash or power
            // loss can drop the last commits. FULL would fsync every commit.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let disk_full = Arc::new(AtomicBool::new(false));
        let reopen_writer = Arc::new(AtomicBool::new(false));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .before_acquire({
                let reopen = reopen_writer.clone();
                move |_, _| {
                    let stale = reopen.swap(false, Ordering::SeqCst);
                    Box::pin(async move { Ok(!stale) })
                }
            })
            .after_connect({
                let disk_full = disk_full.clone();
                move |conn, _| {
                    let full = disk_full.load(Ordering::SeqCst);
                    Box::pin(async move {
                        if full {
                            sqlx::query("PRAGMA max_page_count = 1")
                                .execute(conn)
                                .await?;
                        }
                        Ok(())
                    })
                }
            })
            // When SQLite fails a statement or a COMMIT with SQLITE_FULL or SQLITE_IOERR it
            // may roll the whole transaction back by itself. sqlx does not know: the
            // transaction's drop sends a ROLLBACK, SQLite answers "no transaction is active",
            // and sqlx keeps counting the connection as inside a transaction, so every later
            // `BEGIN IMMEDIATE` on it fails ("begin_with at non-zero transaction depth") until
            // the process restarts. Such a connection is closed when it comes back; the pool
            // opens a fresh one for the next write. (The ping first lets the queued ROLLBACK
            // run, so an ordinary dropped transaction is not mistaken for one.)
            .after_release(|conn, _| {
                Box::pin(async move {
                    conn.ping().await?;
                    let clean = !conn.is_in_transaction();
                    if !clean {
                        tracing::warn!(
                            "closing a write connection whose transaction SQLite already ended \
                             after a refused write; the next write opens a new one"
                        );
                    }
                    Ok(clean)
                })
            })
            .connect_with(opts.clone())
            .await
            .map_err(StoreError::Open)?;
        sqlx::migrate!("./migrations").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts.read_only(false))
            .await
            .map_err(StoreError::Open)?;
        Ok(Store {
            read,
            write,
            health: Arc::default(),
            probing: Arc::default(),
            reopen_writer,
            disk_full,
            max_pages: Arc::default(),
        })
    }

    /// Starts a write transaction with `BEGIN IMMEDIATE`.
    pub async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.write.begin_with("BEGIN IMMEDIATE").await
    }

    /// Runs one write (a whole transaction) and records whether the database accepted it.
    async fn tracked<T>(
        &self,
        write: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, sqlx::Error> {
        let r = write.await;
        self.health.observe_write(&r);
        self.reopen_after_fault(&r);
        r
    }

    fn reopen_after_fault<T>(&self, r: &Result<T, sqlx::Error>) {
        if let Err(e) = r
            && StorageFault::of(e).is_some()
        {
            self.reopen_writer.store(true, Ordering::SeqCst);
        }
    }

    /// The last refused write, while no write has succeeded since.
    pub fn write_failure(&self) -> Option<WriteFailure> {
        self.health.failure()
    }

    /// Readiness of writes: `Ok` unless the last write was refused for a storage fault and a
    /// write probe is refused too. Probes run only while a refusal is recorded.
    pub async fn check_writes(&self) -> Result<(), WriteFailure> {
        let _one_at_a_time = self.probing.lock().await;
        let Some(failure) = self.health.failure() else {
            return Ok(());
        };
        match tokio::time::timeout(PROBE_TIMEOUT, self.probe_write()).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(self.health.failure().unwrap_or(failure)),
        }
    }

    /// A write that needs new space: a row of eight pages inserted and deleted in one
    /// committed transaction (its pages go to the WAL, as any write's would).
    async fn probe_write(&self) -> Result<(), sqlx::Error> {
        let r = async {
            let mut tx = self.begin_write().await?;
            sqlx::query("INSERT INTO write_probe (at, pad) VALUES ($1, zeroblob(32768))")
                .bind(now())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM write_probe")
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
        .await;
        self.health.observe_probe(&r);
        self.reopen_after_fault(&r);
        r
    }

    /// Test hook for storage faults: `true` makes the disk "full" for writes, `false` frees
    /// it. It is SQLite's own limit: the write connection's `max_page_count` is set to the
    /// database's size after a `VACUUM` (so no free page is left), and every write that needs
    /// a new page fails with `SQLITE_FULL` ("database or disk is full"), rolling its
    /// transaction back as a full disk does. Connections opened meanwhile get the limit too.
    #[doc(hidden)]
    pub async fn simulate_disk_full(&self, full: bool) -> Result<(), sqlx::Error> {
        self.disk_full.store(full, Ordering::SeqCst);
        let mut conn = self.write.acquire().await?;
        if self.max_pages.load(Ordering::SeqCst) == 0 {
            let max: i64 = sqlx::query_scalar("PRAGMA max_page_count")
                .fetch_one(&mut *conn)
                .await?;
            self.max_pages.store(max as u64, Ordering::SeqCst);
        }
        if full {
            sqlx::query("VACUUM").execute(&mut *conn).await?;
            sqlx::query("PRAGMA max_page_count = 1")
                .execute(&mut *conn)
                .await?;
        } else {
            let max = self.max_pages.load(Ordering::SeqCst);
            sqlx::query(&format!("PRAGMA max_page_count = {max}"))
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    pub fn reader(&self) -> &SqlitePool {
        &self.read
    }

    /// Whether the database answers (readiness).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.read)
            .await
            .map(|_| ())
    }

    /// Closes both pools; the last connection to close checkpoints the WAL and removes it.
    pub async fn close(&self) {
        close_pool(&self.read).await;
        close_pool(&self.write).await;
    }
}

/// Closes every connection of a pool. `Pool::close` alone can return with one left open: a
/// connection dropped just before is handed back by a spawned task that checks whether the
/// pool is closed *before* awaiting a ping; if `close` runs in between, it finds no idle
/// connection, waits for the permit, and the task then puts the connection in the idle queue
/// after all. That connection stayed open until the process exited, so the WAL was never
/// checkpointed and removed. Closing again until the pool is empty closes it. (sqlx issue
/// #3217, fixed upstream by PR #3952 after the 0.8.6 we use.)
async fn close_pool(pool: &SqlitePool) {
    loop {
        pool.close().await;
        if pool.size() == 0 {
            return;
        }
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn open(dir: &tempfile::TempDir) -> Store {
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        Store::open(&url).await.unwrap()
    }

    fn template<'a>(name: &'a str, document: &'a str) -> NewTemplate<'a> {
        NewTemplate {
            name,
            flow_type: "inbound",
            description: None,
            content_hash: document,
            document,
            warnings: "[]",
        }
    }

    #[tokio::test]
    async fn a_write_refused_for_a_full_disk_leaves_the_next_write_working() {
        // Arrange: a "full" disk (SQLite's own SQLITE_FULL, which rolls the transaction back).
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        store.store_template(template("small", "{}")).await.unwrap();
        store.simulate_disk_full(true).await.unwrap();
        let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(20_000));

        // Act
        let refused = store.store_template(template("big", &big)).await;
        let probe = store.check_writes().await;
        store.simulate_disk_full(false).await.unwrap();
        let after = store.store_template(template("big", &big)).await;

        // Assert: refused as a full disk, then the very next write works (before the fix it
        // failed with "begin_with at non-zero transaction depth" until a restart).
        let e = refused.err().expect("the full disk refuses the write");
        assert_eq!(StorageFault::of(&e), Some(StorageFault::Full), "{e}");
        assert_eq!(probe.unwrap_err().fault, StorageFault::Full);
        assert!(after.is_ok(), "{:?}", after.err());
        assert!(store.check_writes().await.is_ok());
        assert!(store.write_failure().is_none());
        assert!(store.latest_template("small").await.unwrap().is_some());
        store.close().await;
    }

    #[tokio::test]
    async fn closing_closes_a_connection_handed_back_while_the_pool_closes() {
        // Arrange: something written (so there is a WAL), the read pool closed.
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        store.store_template(template("t", "{}")).await.unwrap();
        close_pool(&store.read).await;
        // A connection dropped just now is handed back by a spawned task; let it start (it
        // checks that the pool is open, then awaits a ping).
        let conn = store.write.acquire().await.unwrap();
        drop(conn);
        tokio::task::yield_now().await;

        // Act
        close_pool(&store.write).await;

        // Assert: no connection left open, so the last close removed the WAL.
        assert_eq!(store.write.size(), 0);
        let wal = dir.path().join("t.db-wal");
        assert!(
            std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
            "WAL left behind"
        );
    }
}

#[cfg(test)]
mod url_tests {
    use super::*;

    #[test]
    fn only_sqlite_urls_are_accepted() {
        assert!(check_scheme("sqlite://flowsmith.db").is_ok());
        assert!(check_scheme("sqlite::memory:").is_ok());
        assert!(matches!(
            check_scheme("postgres://u@h/db"),
            Err(StoreError::PostgresUnsupported { .. })
        ));
        assert!(matches!(
            check_scheme("flowsmith.db"),
            Err(StoreError::UnknownScheme { .. })
        ));
        assert!(matches!(
            check_scheme("mysql://h/db"),
            Err(StoreError::UnknownScheme { .. })
        ));
        let msg = check_scheme("postgresql://h/db").unwrap_err().to_string();
        assert!(msg.contains("PostgreSQL is not supported"), "{msg}");
    }

    #[test]
    fn database_file_of_a_url() {
        assert_eq!(
            database_file("sqlite://data/f.db"),
            Some(std::path::PathBuf::from("data/f.db"))
        );
        assert_eq!(database_file("sqlite::memory:"), None);
        assert_eq!(database_file("sqlite://x.db?mode=memory"), None);
        assert_eq!(
            database_file("sqlite:///data/flowsmith.db"),
            Some(std::path::PathBuf::from("/data/flowsmith.db"))
        );
        assert_eq!(database_file("nonsense"), None);
    }
}
