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
}

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
