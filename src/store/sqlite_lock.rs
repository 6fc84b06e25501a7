//! One replica per SQLite file: `serve` holds an exclusive advisory lock on `<db>.lock`,
//! beside the database, for as long as it runs.
//!
//! SQLite's own locking keeps the file consistent under two processes, but two flowsmith
//! processes on one file would each run a worker, each keep its own rate limiter and its
//! own event signals, and followers on one would not hear the other's events. Replicas
//! share a PostgreSQL database instead; a second process on the same SQLite file is refused
//! at start-up, with a message saying so.
//!
//! The lock is `flock(2)` (through `std::fs::File::try_lock`, so no crate is needed): the
//! OS releases it when the process exits in any way, SIGKILL included, so a crash never
//! leaves a stale lock behind. The lock file itself stays (it is empty); deleting it while
//! a process runs would let a second one in, so it is never removed.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "database file {db} is in use by another flowsmith process (it holds the lock {lock}): \
         SQLite serves one replica. Stop the other process, or run several replicas on \
         PostgreSQL (FLOWSMITH_DATABASE_URL=postgres://...; see \"Running several replicas\" \
         in the README)"
    )]
    InUse { db: PathBuf, lock: PathBuf },
    #[error("cannot lock {lock} (beside the database file {db}): {source}")]
    Io {
        db: PathBuf,
        lock: PathBuf,
        source: std::io::Error,
    },
}

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct SqliteFileLock {
    _file: File,
    path: PathBuf,
}

/// `<db>.lock`: the database's file name with `.lock` appended.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

impl SqliteFileLock {
    /// Takes the lock of the database file `db`, or says who has it. Never waits.
    pub fn acquire(db: &Path) -> Result<SqliteFileLock, LockError> {
        let lock = lock_path(db);
        let io = |source| LockError::Io {
            db: db.to_owned(),
            lock: lock.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(SqliteFileLock {
                _file: file,
                path: lock,
            }),
            Err(TryLockError::WouldBlock) => Err(LockError::InUse {
                db: db.to_owned(),
                lock,
            }),
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_file_is_refused_until_the_first_is_dropped() {
        // Arrange
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("f.db");
        let first = SqliteFileLock::acquire(&db).unwrap();
        assert_eq!(first.path(), dir.path().join("f.db.lock"));

        // Act: a second open file description, as another process would have.
        let second = SqliteFileLock::acquire(&db);

        // Assert
        let err = second.unwrap_err();
        assert!(matches!(err, LockError::InUse { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains(&db.display().to_string()), "{msg}");
        assert!(msg.contains("PostgreSQL"), "{msg}");
        drop(first);
        SqliteFileLock::acquire(&db).expect("free again once dropped");
        // Another database in the same directory has its own lock.
        let _other = SqliteFileLock::acquire(&dir.path().join("g.db")).unwrap();
    }

    #[test]
    fn a_missing_directory_is_an_io_error_naming_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("nope").join("f.db");
        let err = SqliteFileLock::acquire(&db).unwrap_err();
        assert!(matches!(err, LockError::Io { .. }), "{err}");
        assert!(err.to_string().contains("f.db.lock"), "{err}");
    }
}
