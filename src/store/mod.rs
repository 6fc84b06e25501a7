//! Persistence through sqlx, with embedded migrations, on SQLite (embedded, the default) or
//! PostgreSQL (several replicas), chosen by the database URL.
//!
//! Every query is written once, as SQL text with `$N` placeholders that both databases
//! accept, and run through [`on_tx!`]/[`on_reads!`], which expand the same code for each
//! backend's connection type; rows decode with the same `FromRow` code on both. SQL that has
//! to differ is marked where it is. Integers are `INTEGER` in SQLite and `BIGINT` in
//! PostgreSQL (`i64` on both), booleans `INTEGER` and `BOOLEAN` (`bool` on both, written as
//! `TRUE`/`FALSE` in SQL), timestamps RFC 3339 text.
//!
//! SQLite: reads go through a pool; writes go through a second pool of exactly one
//! connection and always start with `BEGIN IMMEDIATE`, so writers queue in the process
//! (fairly, without SQLite's sleep-and-retry busy handler) and never fail with "database is
//! locked". PostgreSQL: one pool; writes that must not interleave (the claim of a job, the
//! changes of one job, the versions of one template) take a transaction-scoped advisory lock
//! ([`Lock`]) first, which serialises them across replicas as SQLite's single writer does.
//!
//! Every write goes through `Store::tracked`, which remembers whether the database is
//! refusing writes for a storage fault ([`fault`]); `/readyz` reports that, and probes.

/// Runs `$body` with `$c` bound to the connection of a [`Tx`], once per backend: the same
/// query code, type-checked against each driver.
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::store::Tx::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

/// Runs `$body` with `$p` bound to the reading pool of a [`Store`], once per backend.
/// A SQLite file that no longer opens fails the read first ([`fault::FileWatch`]).
macro_rules! on_reads {
    ($store:expr, |$p:ident| $body:expr) => {
        match $store.file_reachable() {
            Err(e) => Err(e),
            Ok(()) => match &$store.pools {
                $crate::store::Pools::Sqlite { read: $p, .. } => $body,
                $crate::store::Pools::Postgres($p) => $body,
            },
        }
    };
}

pub mod budget;
pub mod fault;
mod fenced;
pub mod flows;
pub mod jobs;
pub mod lease;
pub mod retention;
pub mod sqlite_lock;
mod templates;

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgPool, Postgres, Sqlite, SqlitePool, Transaction};

pub use crate::job_model::Corrupt;
pub use fault::{StorageFault, WriteFailure};

pub use flows::{FlowFilter, FlowRecordRow, RecordWithDocument};
pub use jobs::{
    CancelOutcome, CreateOutcome, EventRow, JobFilter, JobRow, NewJob, NewStep, ReleaseRow,
    RetryOutcome, StateCounts, StepCount, StepRow,
};
pub use lease::{Lease, LeaseError, StepStart, StepSuccess};
pub use templates::{
    DeleteOutcome, ListFilter, NewTemplate, StoreOutcome, TemplateRow,
    decode_document as decode_template_document,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "database URL {url:?}: expected a sqlite: URL such as sqlite://flowsmith.db or sqlite::memory:, \
         or a postgres: URL such as postgres://flowsmith@db.example/flowsmith"
    )]
    UnknownScheme { url: String },
    #[error("database URL {url:?}: {source}")]
    Url { url: String, source: sqlx::Error },
    #[error("cannot open the database: {0}")]
    Open(sqlx::Error),
    #[error(
        "PostgreSQL at {url} did not accept a connection within {waited_secs:.1} s \
         (database_start_wait_secs): {source}"
    )]
    Unreachable {
        url: String,
        waited_secs: f64,
        source: sqlx::Error,
    },
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:`: one file (or memory), one process.
    Sqlite,
    /// `postgres:` or `postgresql:`: one database, any number of replicas.
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The connections of a store.
#[derive(Clone, Debug)]
pub(crate) enum Pools {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

/// A write transaction on either backend; queries run on it through [`on_tx!`].
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// What a write transaction serialises on, across replicas (PostgreSQL advisory locks held
/// until the transaction ends; SQLite's `BEGIN IMMEDIATE` already serialises every write).
/// A transaction takes at most one of them besides [`Lock::Claims`], which comes first, so
/// two transactions never wait for each other in a cycle.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lock<'a> {
    /// Claiming a job: one claim at a time, so one job per target runs, in order.
    Claims,
    /// Every change of one job (its row, steps and events: event numbers are `MAX + 1`).
    Job(&'a str),
    /// The versions of one template name.
    Template(&'a str),
}

impl Lock<'_> {
    /// (class, key) of `pg_advisory_xact_lock(int4, int4)`; the key is `hashtext` of this.
    fn class_and_key(&self) -> (i32, &str) {
        match self {
            Lock::Claims => (1, ""),
            Lock::Job(id) => (2, id),
            Lock::Template(name) => (3, name),
        }
    }
}

impl Tx {
    /// Waits for `lock` (PostgreSQL); nothing to do on SQLite.
    pub(crate) async fn lock(&mut self, lock: Lock<'_>) -> Result<(), sqlx::Error> {
        if let Tx::Postgres(t) = self {
            let (class, key) = lock.class_and_key();
            sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                .bind(class)
                .bind(key)
                .execute(&mut **t)
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }
}

/// A row both backends decode: a `#[derive(FromRow)]` of the columns a query selects.
pub(crate) trait Row:
    for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
    + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
    + Send
    + Unpin
{
}

impl<T> Row for T where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin
{
}

/// `sql` with `keys` bound to `$1`, `$2`, ... in order.
fn keyed<'q, DB, T>(
    sql: &'q str,
    keys: &[&'q str],
) -> sqlx::query::QueryAs<'q, DB, T, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    T: for<'r> sqlx::FromRow<'r, DB::Row>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    keys.iter().fold(sqlx::query_as(sql), |q, k| q.bind(*k))
}

/// The statement `sql` with `keys` bound to `$1`, `$2`, ... in order.
fn keyed_statement<'q, DB>(
    sql: &'q str,
    keys: &[&'q str],
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    keys.iter().fold(sqlx::query(sql), |q, k| q.bind(*k))
}

impl Tx {
    /// Runs the statement `sql` with `keys` as its parameters: how many rows it changed.
    pub(crate) async fn execute(&mut self, sql: &str, keys: &[&str]) -> Result<u64, sqlx::Error> {
        on_tx!(self, |c| keyed_statement(sql, keys)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
    }

    /// The row `sql` selects with `keys` as its parameters, if any.
    pub(crate) async fn row<T: Row>(
        &mut self,
        sql: &str,
        keys: &[&str],
    ) -> Result<Option<T>, sqlx::Error> {
        on_tx!(self, |c| keyed(sql, keys).fetch_optional(c).await)
    }
}

impl Store {
    /// The row `sql` selects by a unique key (`keys` as its parameters), if any, on the
    /// reading pool: the first of [`Store::read_rows`].
    pub(crate) async fn read_row<T: Row>(
        &self,
        sql: &str,
        keys: &[&str],
    ) -> Result<Option<T>, sqlx::Error> {
        Ok(self.read_rows(sql, keys).await?.into_iter().next())
    }

    /// The rows `sql` selects with `keys` as its parameters, on the reading pool.
    pub(crate) async fn read_rows<T: Row>(
        &self,
        sql: &str,
        keys: &[&str],
    ) -> Result<Vec<T>, sqlx::Error> {
        on_reads!(self, |p| keyed(sql, keys).fetch_all(p).await)
    }
}

/// Whether an error is a unique violation (two replicas inserted the same key at once).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[derive(Clone, Debug)]
pub struct Store {
    pools: Pools,
    health: Arc<fault::WriteHealth>,
    /// One write probe at a time (concurrent readiness checks share its outcome).
    probing: Arc<tokio::sync::Mutex<()>>,
    /// A write was refused for a storage fault: the next write gets a freshly opened
    /// connection. (SQLite opens a file it may not write read-only, silently, and such a
    /// connection stays read-only after the file is writable again.)
    reopen_writer: Arc<AtomicBool>,
    /// Test hook: the disk is "full" (`Store::simulate_disk_full`); new write connections
    /// read it, so it stays false in the service.
    #[cfg_attr(not(any(test, feature = "test-hooks")), allow(dead_code))]
    disk_full: Arc<AtomicBool>,
    /// `max_page_count` before the simulation started (0: not read yet).
    #[cfg_attr(not(any(test, feature = "test-hooks")), allow(dead_code))]
    max_pages: Arc<AtomicU64>,
    /// A SQLite file's options for a fresh read-only connection: readiness opens one, since
    /// the pools' open connections keep working on a file that can no longer be opened.
    fresh: Option<SqliteConnectOptions>,
    /// The SQLite file, checked before every read and write.
    file: Option<Arc<fault::FileWatch>>,
}

/// A probe that takes longer counts as failed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Current time as stored: RFC 3339 UTC with milliseconds (sorts as text).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The backend a URL names; other schemes are refused (sqlx would open anything else as a
/// SQLite file name).
pub fn check_scheme(url: &str) -> Result<Backend, StoreError> {
    let scheme = url
        .split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    match scheme.as_str() {
        "sqlite" => Ok(Backend::Sqlite),
        "postgres" | "postgresql" => Ok(Backend::Postgres),
        _ => Err(StoreError::UnknownScheme { url: redacted(url) }),
    }
}

pub use crate::config::redacted;

/// The file a `sqlite:` URL names; `None` for an in-memory database or another scheme.
pub fn database_file(url: &str) -> Option<std::path::PathBuf> {
    if check_scheme(url).ok()? != Backend::Sqlite {
        return None;
    }
    if url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let opts = SqliteConnectOptions::from_str(url).ok()?;
    let file = opts.get_filename();
    (!file.as_os_str().is_empty()).then(|| file.to_path_buf())
}

impl Store {
    /// Opens (creating a SQLite file if missing) the database and runs the embedded
    /// migrations of its backend; a PostgreSQL server not up yet is waited for up to
    /// [`DEFAULT_START_WAIT`].
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_waiting(url, DEFAULT_START_WAIT).await
    }

    /// [`Store::open`], waiting up to `start_wait` for a PostgreSQL server that refuses
    /// connections (compose starts the database and the replicas together). Each refusal is
    /// logged with its cause; an error that waiting cannot mend (a wrong password, a missing
    /// database) fails at once.
    pub async fn open_waiting(url: &str, start_wait: Duration) -> Result<Store, StoreError> {
        Store::open_with(url, start_wait, DEFAULT_ACQUIRE_TIMEOUT).await
    }

    /// [`Store::open_waiting`], with requests waiting at most `acquire_timeout` for a
    /// connection (`database_acquire_timeout_ms`): past it they fail with
    /// `PoolTimedOut`, a storage fault (503), long before the request timeout.
    pub async fn open_with(
        url: &str,
        start_wait: Duration,
        acquire_timeout: Duration,
    ) -> Result<Store, StoreError> {
        let pools = match check_scheme(url)? {
            Backend::Sqlite => None,
            Backend::Postgres => Some(open_postgres(url, start_wait, acquire_timeout).await?),
        };
        let disk_full = Arc::new(AtomicBool::new(false));
        let reopen_writer = Arc::new(AtomicBool::new(false));
        let pools = match pools {
            Some(p) => p,
            None => open_sqlite(url, acquire_timeout, &disk_full, &reopen_writer).await?,
        };
        let file = database_file(url).map(|f| Arc::new(fault::FileWatch::new(f)));
        let fresh = database_file(url).map(|file| {
            SqliteConnectOptions::new()
                .filename(file)
                .read_only(true)
                .create_if_missing(false)
        });
        Ok(Store {
            pools,
            health: Arc::default(),
            probing: Arc::default(),
            reopen_writer,
            disk_full,
            max_pages: Arc::default(),
            fresh,
            file,
        })
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// The PostgreSQL pool, for what replicas share beyond the store (notifications).
    pub fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.pools {
            Pools::Postgres(p) => Some(p),
            Pools::Sqlite { .. } => None,
        }
    }

    /// `Err` (an I/O fault) while the SQLite file cannot be opened: see [`fault::FileWatch`].
    pub(crate) fn file_reachable(&self) -> Result<(), sqlx::Error> {
        self.file.as_ref().map_or(Ok(()), |f| f.check())
    }

    /// Starts a write transaction: `BEGIN IMMEDIATE` on SQLite.
    pub(crate) async fn begin(&self) -> Result<Tx, sqlx::Error> {
        self.file_reachable()?;
        match &self.pools {
            Pools::Sqlite { write, .. } => {
                Ok(Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?))
            }
            Pools::Postgres(p) => Ok(Tx::Postgres(p.begin().await?)),
        }
    }

    /// Starts a write transaction holding `lock`.
    pub(crate) async fn begin_locked(&self, lock: Lock<'_>) -> Result<Tx, sqlx::Error> {
        let mut tx = self.begin().await?;
        tx.lock(lock).await?;
        Ok(tx)
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

    /// A write that needs new space: a row of 32 KiB (eight SQLite pages) inserted and
    /// deleted in one committed transaction (its pages go to the WAL, as any write's would).
    async fn probe_write(&self) -> Result<(), sqlx::Error> {
        let r = async {
            let mut tx = self.begin().await?;
            on_tx!(&mut tx, |c| {
                sqlx::query("INSERT INTO write_probe (at, pad) VALUES ($1, $2)")
                    .bind(now())
                    .bind(vec![0u8; 32768])
                    .execute(&mut *c)
                    .await?;
                sqlx::query("DELETE FROM write_probe").execute(c).await?;
            });
            tx.commit().await
        }
        .await;
        self.health.observe_probe(&r);
        self.reopen_after_fault(&r);
        r
    }

    /// Test hook for storage faults (SQLite only): `true` makes the disk "full" for writes,
    /// `false` frees it. It is SQLite's own limit: the write connection's `max_page_count`
    /// is set to the database's size after a `VACUUM` (so no free page is left), and every
    /// write that needs a new page fails with `SQLITE_FULL` ("database or disk is full"),
    /// rolling its transaction back as a full disk does. Connections opened meanwhile get
    /// the limit too. Built for the crate's tests and with the feature `test-hooks` (which
    /// the integration tests turn on); the service itself has no such method.
    #[cfg(any(test, feature = "test-hooks"))]
    pub async fn simulate_disk_full(&self, full: bool) -> Result<(), sqlx::Error> {
        let Pools::Sqlite { write, .. } = &self.pools else {
            return Err(sqlx::Error::Configuration(
                "simulate_disk_full is a SQLite test hook".into(),
            ));
        };
        self.disk_full.store(full, Ordering::SeqCst);
        let mut conn = write.acquire().await?;
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

    /// Whether the database answers (readiness): a query on the pool (which waits at most
    /// the acquire timeout for a connection) and, for a SQLite file, a fresh connection
    /// reading its schema, so a file that went away or cannot be read is seen at once.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        if let Some(f) = &self.file {
            f.check_now()?;
        }
        on_reads!(self, |p| sqlx::query("SELECT 1")
            .execute(p)
            .await
            .map(|_| ()))?;
        if let Some(opts) = &self.fresh {
            let mut c = sqlx::SqliteConnection::connect_with(opts).await?;
            let read = sqlx::query("SELECT COUNT(*) FROM sqlite_master")
                .execute(&mut c)
                .await;
            let _ = c.close().await;
            read?;
        }
        Ok(())
    }

    /// Closes the pools; on SQLite the last connection to close checkpoints the WAL and
    /// removes it.
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { read, write } => {
                close_pool(read).await;
                close_pool(write).await;
            }
            Pools::Postgres(p) => p.close().await,
        }
    }
}

async fn open_sqlite(
    url: &str,
    acquire_timeout: Duration,
    disk_full: &Arc<AtomicBool>,
    reopen_writer: &Arc<AtomicBool>,
) -> Result<Pools, StoreError> {
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
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(acquire_timeout)
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
    sqlx::migrate!("./migrations/sqlite").run(&write).await?;
    let read = SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(acquire_timeout)
        .connect_with(opts.read_only(false))
        .await
        .map_err(StoreError::Open)?;
    Ok(Pools::Sqlite { read, write })
}

/// How long a request waits for a connection by default (`database_acquire_timeout_ms`).
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = crate::config::DEFAULT_DATABASE_ACQUIRE_TIMEOUT;

/// How long start-up waits for PostgreSQL by default (`database_start_wait_secs`).
pub const DEFAULT_START_WAIT: Duration = crate::config::DEFAULT_DATABASE_START_WAIT;

/// One pool for reads and writes. Replicas starting together migrate one at a time (sqlx
/// holds an advisory lock while it migrates).
async fn open_postgres(
    url: &str,
    start_wait: Duration,
    acquire_timeout: Duration,
) -> Result<Pools, StoreError> {
    let opts = PgConnectOptions::from_str(url).map_err(|source| StoreError::Url {
        url: redacted(url),
        source,
    })?;
    first_connection(&opts, &redacted(url), start_wait).await?;
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(acquire_timeout)
        .connect_with(opts)
        .await
        .map_err(StoreError::Open)?;
    sqlx::migrate!("./migrations/postgres").run(&pool).await?;
    Ok(Pools::Postgres(pool))
}

/// Connects once, retrying with a growing pause while the server refuses for a reason that
/// passes (not listening yet, starting up, out of connection slots) and `wait` allows. The
/// pool's own first connect would wait its whole acquire timeout in silence and then say
/// only "pool timed out".
async fn first_connection(
    opts: &PgConnectOptions,
    url: &str,
    wait: Duration,
) -> Result<(), StoreError> {
    let start = std::time::Instant::now();
    let mut pause = Duration::from_millis(200);
    loop {
        let left = wait
            .saturating_sub(start.elapsed())
            .max(Duration::from_millis(100));
        let attempt = match tokio::time::timeout(left, sqlx::PgConnection::connect_with(opts)).await
        {
            Ok(r) => r,
            Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {} ms", left.as_millis()),
            ))),
        };
        let e = match attempt {
            Ok(c) => {
                let _ = c.close().await;
                return Ok(());
            }
            Err(e) if !worth_waiting_for(&e) => return Err(StoreError::Open(e)),
            Err(e) => e,
        };
        let elapsed = start.elapsed();
        if elapsed >= wait {
            return Err(StoreError::Unreachable {
                url: url.to_owned(),
                waited_secs: elapsed.as_secs_f64(),
                source: e,
            });
        }
        // The last attempt falls on the deadline.
        let nap = pause.min(wait - elapsed);
        tracing::warn!(database = %url, error = %e, retry_in_ms = nap.as_millis() as u64, "PostgreSQL does not accept connections yet");
        tokio::time::sleep(nap).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// Whether a failed connect may succeed later by itself: an I/O error (the server is not
/// listening yet, or did not answer in time), or the server is starting up or shutting down
/// (SQLSTATE 57P03) or has no connection slot free (53300). A refused login or a missing database does not mend.
fn worth_waiting_for(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("57P03" | "53300")),
        _ => false,
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

    #[test]
    fn only_failures_that_pass_by_themselves_are_waited_for() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(worth_waiting_for(&sqlx::Error::Io(refused)));
        let no_answer = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert!(worth_waiting_for(&sqlx::Error::Io(no_answer)));
        assert!(!worth_waiting_for(&sqlx::Error::Configuration(
            "bad sslmode".into()
        )));
        assert!(!worth_waiting_for(&sqlx::Error::Protocol("x".into())));
    }

    /// Nothing listens on the port: start-up retries for the wait it is given, then names
    /// the server (without the password) and the cause.
    #[tokio::test]
    async fn an_unreachable_postgres_is_waited_for_then_named() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("postgres://flowsmith:hunter2@127.0.0.1:{port}/flowsmith");
        let start = std::time::Instant::now();
        let Err(e) = Store::open_waiting(&url, Duration::from_millis(700)).await else {
            panic!("opened a database nobody serves");
        };
        let took = start.elapsed();
        let text = e.to_string();
        assert!(matches!(e, StoreError::Unreachable { .. }), "{e:?}");
        assert!(took >= Duration::from_millis(500), "{took:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        assert!(text.contains("refused"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    async fn open(dir: &tempfile::TempDir) -> Store {
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        Store::open(&url).await.unwrap()
    }

    fn template<'a>(name: &'a str, document: &'a str) -> NewTemplate<'a> {
        NewTemplate {
            name,
            flow_type: crate::template::FlowType::Inbound,
            description: None,
            content_hash: document,
            document,
            warnings: "[]",
        }
    }

    #[tokio::test]
    async fn the_claim_reads_only_unfinished_jobs() {
        // A year of finished jobs must not be read on every wake of the worker: each search
        // of `jobs` seeks by status, in the plan SQLite makes with the real indexes.
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        let Pools::Sqlite { read, .. } = &store.pools else {
            unreachable!("a SQLite store")
        };
        let sql = format!("EXPLAIN QUERY PLAN {}", lease::claim_candidate_sql(2));
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(&sql)
            .bind("2026-12-06T00:00:00Z")
            .bind("a")
            .bind("b")
            .fetch_all(read)
            .await
            .unwrap();
        let searches: Vec<&str> = plan
            .iter()
            .map(|(.., d)| d.as_str())
            .filter(|d| d.contains("jobs"))
            .collect();
        assert!(!searches.is_empty(), "{plan:?}");
        for d in searches {
            assert!(
                d.starts_with("SEARCH") && d.contains("status"),
                "{d} in {plan:?}"
            );
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
        let Pools::Sqlite { read, write } = &store.pools else {
            unreachable!("a sqlite: URL")
        };
        close_pool(read).await;
        // A connection dropped just now is handed back by a spawned task; let it start (it
        // checks that the pool is open, then awaits a ping).
        let conn = write.acquire().await.unwrap();
        drop(conn);
        tokio::task::yield_now().await;

        // Act
        close_pool(write).await;

        // Assert: no connection left open, so the last close removed the WAL.
        assert_eq!(write.size(), 0);
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
    fn the_scheme_chooses_the_backend_and_others_are_refused() {
        assert_eq!(
            check_scheme("sqlite://flowsmith.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(check_scheme("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(
            check_scheme("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            check_scheme("PostgreSQL://h/db").unwrap(),
            Backend::Postgres
        );
        assert!(matches!(
            check_scheme("flowsmith.db"),
            Err(StoreError::UnknownScheme { .. })
        ));
        let msg = check_scheme("mysql://h/db").unwrap_err().to_string();
        assert!(msg.contains("expected a sqlite: URL"), "{msg}");
        assert!(msg.contains("or a postgres: URL"), "{msg}");
    }

    #[test]
    fn sqlite_migrations_are_the_files_existing_databases_ran() {
        // sqlx refuses to migrate a database whose applied migration's checksum differs
        // from the embedded one: the files moved to migrations/sqlite/ unchanged.
        let sums: Vec<(i64, String)> = sqlx::migrate!("./migrations/sqlite")
            .iter()
            .map(|m| (m.version, hex::encode(&m.checksum)))
            .collect();
        let expected: Vec<(i64, &str)> = SQLITE_CHECKSUMS.to_vec();
        assert_eq!(
            sums.iter()
                .map(|(v, s)| (*v, s.as_str()))
                .collect::<Vec<_>>()[..expected.len()],
            expected[..]
        );
    }

    /// SHA-384 of migrations 0001 to 0005 as released (before PostgreSQL).
    const SQLITE_CHECKSUMS: [(i64, &str); 5] = [
        (
            1,
            "3157e3faf6ab5c9880c47e4304ccec685cadbd059f6846733a5aebdff91c0b618719b71562407e86002faa79b77bedc7",
        ),
        (
            2,
            "63b34f6565a8d8248f56fa084f63af0c20a3d54a66be3fe8dc34f6912b261a70ae7c9326898a5e51f750b045ccb67440",
        ),
        (
            3,
            "db3c81380f1454e4dcb36cd595ba65557ad1f2982a7efa71250784dc4891092eb7dd3fa5106f9a9a38ef681baa4d5842",
        ),
        (
            4,
            "5744d00b8bab7171f74b9852379f6030e3e2fe7b20e4d5756b2446056804ff0626ea7dcaae46bbcdeac1adcc9da4cbcc",
        ),
        (
            5,
            "6997100b9592a2becd81aefa32104dcc4701c87adb89ebe284b7622f23b1606b184e37762c4120a6961a47ff62c6392d",
        ),
    ];

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
        assert_eq!(database_file("postgres://h/flowsmith.db"), None);
    }

    #[test]
    fn a_password_in_a_url_is_not_shown() {
        assert_eq!(
            redacted("postgres://flowsmith:s3cret@db:5432/flowsmith"),
            "postgres://flowsmith:***@db:5432/flowsmith"
        );
        assert_eq!(redacted("sqlite://flowsmith.db"), "sqlite://flowsmith.db");
        let e = check_scheme("mysql://u:s3cret@h/db")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("s3cret"), "{e}");
    }
}
