//! Persistence: SQLite through sqlx, with embedded migrations.
//!
//! Reads go through a pool; writes go through a second pool of exactly one connection and
//! always start with `BEGIN IMMEDIATE`, so writers queue in the process (fairly, without
//! SQLite's sleep-and-retry busy handler) and never fail with "database is locked".
//! SQL is kept portable to Postgres (TEXT timestamps, no SQLite-only syntax).

pub mod flows;
pub mod jobs;
mod templates;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

pub use flows::{FlowFilter, FlowRecordRow, RecordWithDocument};
pub use jobs::{
    CancelOutcome, Claimed, CreateOutcome, EventRow, JobFilter, JobRow, NewJob, NewStep,
    RetryOutcome, StateCounts, StepRow, StepSuccess,
};
pub use templates::{DeleteOutcome, ListFilter, NewTemplate, StoreOutcome, TemplateRow};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
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
}

/// Current time as stored: RFC 3339 UTC with milliseconds (sorts as text).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Store {
    /// Opens (creating if missing) the database and runs the embedded migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
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
            .acquire_timeout(Duration::from_secs(30))
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
        Ok(Store { read, write })
    }

    /// Starts a write transaction with `BEGIN IMMEDIATE`.
    pub async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.write.begin_with("BEGIN IMMEDIATE").await
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

    /// Closes both pools, checkpointing the WAL.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}
