//! Storage faults: the database refusing writes for a reason that may pass (a full disk, a
//! file made read-only or immutable, an I/O error, a lock held too long), and what the store
//! remembers of them for readiness.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a client should wait before retrying a write the database refused
/// (`Retry-After` of the 503).
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Why the database refused a write, when the cause is the storage and may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageFault {
    /// `SQLITE_FULL`: the disk (or the database's size limit) is full. PostgreSQL:
    /// SQLSTATE 53100 `disk_full`.
    Full,
    /// `SQLITE_READONLY`: the file or its directory cannot be written. PostgreSQL: 25006
    /// `read_only_sql_transaction` (a standby, or `default_transaction_read_only`).
    ReadOnly,
    /// `SQLITE_IOERR`, `SQLITE_CANTOPEN` or an I/O error: the storage failed the operation.
    /// PostgreSQL: class 58 (`io_error`, ...), class 08 and 57P01-57P03 (the connection or
    /// the server went away), or the connection lost.
    Io,
    /// `SQLITE_BUSY`/`SQLITE_LOCKED`, or no write connection within the acquire timeout.
    /// PostgreSQL: the rest of class 53 (out of memory, too many connections), 55P03
    /// `lock_not_available`, 40001/40P01 (serialization failure, deadlock).
    Busy,
}

impl StorageFault {
    /// The storage fault behind a database error, if it is one.
    pub fn of(e: &sqlx::Error) -> Option<StorageFault> {
        match e {
            sqlx::Error::Database(d) => {
                if let Some(pg) = d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                    return StorageFault::from_sqlstate(pg.code());
                }
                d.code()
                    .and_then(|c| c.parse::<i32>().ok())
                    .and_then(StorageFault::from_sqlite_code)
            }
            sqlx::Error::Io(_) => Some(StorageFault::Io),
            sqlx::Error::PoolTimedOut => Some(StorageFault::Busy),
            _ => None,
        }
    }

    /// From an SQLite (extended) result code: the primary code is its low byte.
    pub fn from_sqlite_code(code: i32) -> Option<StorageFault> {
        match code & 0xff {
            13 => Some(StorageFault::Full),
            8 => Some(StorageFault::ReadOnly),
            10 | 14 => Some(StorageFault::Io),
            5 | 6 => Some(StorageFault::Busy),
            _ => None,
        }
    }

    /// From a PostgreSQL SQLSTATE.
    pub fn from_sqlstate(code: &str) -> Option<StorageFault> {
        match code {
            "53100" => Some(StorageFault::Full),
            "25006" => Some(StorageFault::ReadOnly),
            "57P01" | "57P02" | "57P03" => Some(StorageFault::Io),
            "55P03" | "40001" | "40P01" => Some(StorageFault::Busy),
            c if c.starts_with("58") || c.starts_with("08") => Some(StorageFault::Io),
            c if c.starts_with("53") => Some(StorageFault::Busy),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StorageFault::Full => "full",
            StorageFault::ReadOnly => "read_only",
            StorageFault::Io => "io",
            StorageFault::Busy => "busy",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            StorageFault::Full => "the database's disk is full",
            StorageFault::ReadOnly => "the database file cannot be written",
            StorageFault::Io => "the database's storage failed an I/O operation",
            StorageFault::Busy => "the database is busy",
        }
    }
}

impl std::fmt::Display for StorageFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// The last refused write, while no write has succeeded since.
#[derive(Debug, Clone)]
pub struct WriteFailure {
    pub fault: StorageFault,
    /// The database's own message (for the log and `/readyz`; no paths in SQLite's texts).
    pub message: String,
    /// When writes started failing.
    pub since: Instant,
}

/// Whether writes currently work, as the last write (or write probe) found.
#[derive(Debug, Default)]
pub struct WriteHealth {
    failure: Mutex<Option<WriteFailure>>,
}

impl WriteHealth {
    /// Records a write the database refused (a storage fault; other errors say nothing
    /// about the storage). Successes do not clear it: a small write can fit where a larger
    /// one cannot, so only a probe that needs new space says writes work again.
    pub fn observe_write<T>(&self, r: &Result<T, sqlx::Error>) {
        if let Err(e) = r
            && let Some(fault) = StorageFault::of(e)
        {
            metrics::counter!(crate::metrics::names::STORE_WRITE_FAULTS, "fault" => fault.as_str())
                .increment(1);
            self.refused(fault, e);
        }
    }

    /// Records the outcome of a write probe: a success clears the fault.
    pub fn observe_probe<T>(&self, r: &Result<T, sqlx::Error>) {
        match r {
            Ok(_) => {
                if let Some(old) = self.lock().take() {
                    tracing::info!(
                        fault = old.fault.as_str(),
                        failing_ms = old.since.elapsed().as_millis() as u64,
                        "the database accepts writes again"
                    );
                }
            }
            Err(e) => {
                if let Some(fault) = StorageFault::of(e) {
                    self.refused(fault, e);
                }
            }
        }
    }

    fn refused(&self, fault: StorageFault, e: &sqlx::Error) {
        let mut f = self.lock();
        if f.is_none() {
            tracing::error!(fault = fault.as_str(), error = %e, "the database refuses writes");
        }
        let since = f.as_ref().map_or_else(Instant::now, |o| o.since);
        *f = Some(WriteFailure {
            fault,
            message: e.to_string(),
            since,
        });
    }

    pub fn failure(&self) -> Option<WriteFailure> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<WriteFailure>> {
        self.failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How long a look at the SQLite file stands for the requests after it.
pub const FILE_CHECK_EVERY: Duration = Duration::from_millis(250);

/// What a look at the SQLite file found wrong (`None`: nothing).
type Problem = Option<(std::io::ErrorKind, String)>;

/// The SQLite file the pools opened, watched by every read and write: the pools' open
/// connections keep working on a file that was moved away, deleted, replaced or made
/// unreadable (SQLite refuses a write to a moved file only at its commit), and would go on
/// answering from it. A path that no longer opens the same file is a storage fault
/// (`Io`: a 503 with `Retry-After`) for every request until it does again, as readiness
/// says. At most one look every [`FILE_CHECK_EVERY`] (an `open` and an `fstat`).
#[derive(Debug)]
pub struct FileWatch {
    path: std::path::PathBuf,
    /// (device, inode) of the file when the store opened it.
    identity: Option<(u64, u64)>,
    /// When the last look was, and what it found wrong.
    last: Mutex<Option<(Instant, Problem)>>,
}

impl FileWatch {
    pub fn new(path: std::path::PathBuf) -> FileWatch {
        let identity = std::fs::metadata(&path).ok().map(|m| identity_of(&m));
        FileWatch {
            path,
            identity,
            last: Mutex::new(None),
        }
    }

    /// `Err` (an I/O error, no path in its text) while the file cannot be opened or is not
    /// the one the store opened. A good look stands for [`FILE_CHECK_EVERY`]; while the
    /// file is missing every call looks again (it may be back).
    pub fn check(&self) -> Result<(), sqlx::Error> {
        self.check_with(false)
    }

    /// [`FileWatch::check`] without the last good look: readiness looks now, and the
    /// requests after it see what it found.
    pub fn check_now(&self) -> Result<(), sqlx::Error> {
        self.check_with(true)
    }

    fn check_with(&self, now: bool) -> Result<(), sqlx::Error> {
        let (recent, was_bad) = match &*self.lock() {
            Some((at, None)) => (!now && at.elapsed() < FILE_CHECK_EVERY, false),
            Some((_, Some(_))) => (false, true),
            None => (false, false),
        };
        if recent {
            return Ok(());
        }
        let found = self.look();
        match (&found, was_bad) {
            (Some((_, message)), false) => {
                tracing::error!(error = %message, "the SQLite file the service opened cannot be reached; requests answer 503");
            }
            (None, true) => tracing::info!("the SQLite file opens again"),
            _ => {}
        }
        *self.lock() = Some((Instant::now(), found.clone()));
        match found {
            None => Ok(()),
            Some((kind, message)) => Err(sqlx::Error::Io(std::io::Error::new(kind, message))),
        }
    }

    fn look(&self) -> Problem {
        match std::fs::File::open(&self.path).and_then(|f| f.metadata()) {
            Err(e) => Some((e.kind(), format!("the database file no longer opens: {e}"))),
            Ok(m) if self.identity.is_some_and(|id| id != identity_of(&m)) => Some((
                std::io::ErrorKind::NotFound,
                "the database file was replaced by another file".to_owned(),
            )),
            Ok(_) => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Problem)>> {
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(unix)]
fn identity_of(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn identity_of(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_codes_classify_by_their_primary_code() {
        // SQLITE_IOERR_WRITE (778) and SQLITE_READONLY_DBMOVED (1032) are extended codes.
        // Constraint violations (19) and corruption (11) are not passing faults of the storage.
        let cases = [
            (13, Some(StorageFault::Full)),
            (778, Some(StorageFault::Io)),
            (1032, Some(StorageFault::ReadOnly)),
            (5, Some(StorageFault::Busy)),
            (19, None),
            (11, None),
        ];
        for (code, fault) in cases {
            assert_eq!(StorageFault::from_sqlite_code(code), fault, "code {code}");
        }
    }

    #[test]
    fn postgres_sqlstates_classify_by_their_meaning() {
        // A unique violation (23505) or a syntax error (42601) is not a passing fault of the
        // storage.
        let cases = [
            ("53100", Some(StorageFault::Full)),
            ("53200", Some(StorageFault::Busy)),
            ("53300", Some(StorageFault::Busy)),
            ("58030", Some(StorageFault::Io)),
            ("08006", Some(StorageFault::Io)),
            ("57P01", Some(StorageFault::Io)),
            ("25006", Some(StorageFault::ReadOnly)),
            ("40P01", Some(StorageFault::Busy)),
            ("23505", None),
            ("42601", None),
        ];
        for (state, fault) in cases {
            assert_eq!(
                StorageFault::from_sqlstate(state),
                fault,
                "sqlstate {state}"
            );
        }
    }

    #[test]
    fn a_watched_file_that_is_moved_away_fails_every_check_until_it_is_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        std::fs::write(&path, b"x").unwrap();
        let w = FileWatch::new(path.clone());
        assert!(w.check().is_ok());
        let away = dir.path().join("away");
        std::fs::rename(&path, &away).unwrap();
        // A failure is never cached: the very next check sees it, and the one after.
        *w.lock() = None;
        for _ in 0..2 {
            let e = w.check().unwrap_err();
            assert!(e.to_string().contains("no longer opens"), "{e}");
            assert!(!e.to_string().contains("away"), "no path in {e}");
            assert_eq!(StorageFault::of(&e), Some(StorageFault::Io));
        }
        std::fs::rename(&away, &path).unwrap();
        assert!(w.check().is_ok());
        // Another file at the path is not the database the store opened.
        std::fs::write(dir.path().join("other"), b"y").unwrap();
        std::fs::rename(dir.path().join("other"), &path).unwrap();
        *w.lock() = None;
        let e = w.check().unwrap_err();
        assert!(e.to_string().contains("replaced"), "{e}");
    }

    #[test]
    fn only_a_probe_clears_the_fault_and_a_failure_keeps_its_start() {
        let h = WriteHealth::default();
        let busy = || -> Result<(), sqlx::Error> { Err(sqlx::Error::PoolTimedOut) };
        h.observe_write(&busy());
        let since = h.failure().unwrap().since;
        h.observe_write(&busy());
        assert_eq!(h.failure().unwrap().since, since);
        h.observe_write(&Err::<(), _>(sqlx::Error::RowNotFound));
        h.observe_write(&Ok(()));
        assert!(
            h.failure().is_some(),
            "a small write says nothing about room"
        );
        h.observe_probe(&busy());
        assert_eq!(h.failure().unwrap().since, since);
        h.observe_probe(&Ok(()));
        assert!(h.failure().is_none());
    }
}
