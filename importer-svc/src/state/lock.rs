//! The run lock: at most one run at a time per state, on every host that shares it.
//!
//! Both kinds are released by the operating system or the database when the holder dies, even
//! by SIGKILL, so a crashed run never leaves a lock behind that someone must clear by hand:
//! - SQLite: an OS file lock (`flock`) on `<state file>.lock`. The file also holds who took the
//!   lock, for the message a refused run prints; the content is advisory, the lock is not.
//! - PostgreSQL: a session advisory lock held by a connection dedicated to the run. Who holds
//!   it is written to the `run_lock` table.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sqlx::{Connection, PgConnection};
use time::OffsetDateTime;

use super::StateError;

/// Who holds the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

impl LockHolder {
    /// This process, now.
    pub fn current() -> Self {
        Self {
            pid: std::process::id(),
            host: hostname(),
            since: super::truncate_to_micros(OffsetDateTime::now_utc()),
        }
    }
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let since = self
            .since
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| self.since.to_string());
        write!(f, "since {since}, pid {}/{}", self.pid, self.host)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds the lock (its holder, when it could be read).
    #[error("another run is in progress{}", .0.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Held(Option<LockHolder>),
    #[error(transparent)]
    State(#[from] StateError),
}

/// A held run lock. Dropping it releases it too; [`RunLock::release`] does so at once and
/// tells the database.
#[derive(Debug)]
pub struct RunLock {
    inner: Held,
}

#[derive(Debug)]
enum Held {
    File {
        // The lock lives as long as this handle is open.
        _file: File,
    },
    Postgres {
        conn: PgConnection,
        key: i64,
    },
}

impl RunLock {
    pub(crate) fn postgres(conn: PgConnection, key: i64) -> Self {
        Self {
            inner: Held::Postgres { conn, key },
        }
    }

    /// Releases the lock now. For PostgreSQL the unlock is explicit, so that a run started
    /// right after this one (the next test, the next tick) never sees a lock whose session is
    /// still closing on the server.
    pub async fn release(self) {
        match self.inner {
            Held::File { _file } => drop(_file),
            Held::Postgres { mut conn, key } => {
                let unlocked = sqlx::query("select pg_advisory_unlock($1)")
                    .bind(key)
                    .execute(&mut conn)
                    .await;
                if let Err(err) = unlocked {
                    tracing::warn!(error = %err, "releasing the run lock; the session end releases it");
                }
                let _closed = conn.close().await;
            }
        }
    }
}

/// The lock file that goes with a SQLite state file.
pub fn lock_path(state_file: &Path) -> PathBuf {
    let mut name = state_file.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the file lock without waiting and writes `holder` into the file.
pub(crate) fn try_lock_file(path: &Path, holder: &LockHolder) -> Result<RunLock, LockError> {
    let io_err = |err: std::io::Error| {
        LockError::State(StateError::Unavailable(format!(
            "lock file {}: {err}",
            path.display()
        )))
    };
    // No truncate on open: the content belongs to whoever holds the lock.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_err)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut content = String::new();
            let holder = file
                .read_to_string(&mut content)
                .ok()
                .and_then(|_| serde_json::from_str::<LockHolder>(content.trim()).ok());
            return Err(LockError::Held(holder));
        }
        Err(TryLockError::Error(err)) => return Err(io_err(err)),
    }
    let record = serde_json::to_string(holder)
        .map_err(|err| LockError::State(StateError::Corrupt(err.to_string())))?;
    file.set_len(0).map_err(io_err)?;
    file.seek(SeekFrom::Start(0)).map_err(io_err)?;
    file.write_all(record.as_bytes()).map_err(io_err)?;
    file.flush().map_err(io_err)?;
    Ok(RunLock {
        inner: Held::File { _file: file },
    })
}

/// The host name, for the holder record; `unknown` when the system does not say.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_handle_is_refused_and_told_who_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db.lock");
        let holder = LockHolder::current();
        let lock = try_lock_file(&path, &holder).unwrap();

        let refused = try_lock_file(&path, &LockHolder::current()).unwrap_err();
        match &refused {
            LockError::Held(Some(found)) => assert_eq!(found, &holder),
            other => panic!("expected Held, got {other:?}"),
        }
        assert!(refused
            .to_string()
            .starts_with("another run is in progress (since "));

        drop(lock);
        assert!(try_lock_file(&path, &holder).is_ok());
    }

    #[test]
    fn the_lock_file_sits_next_to_the_state_file() {
        assert_eq!(
            lock_path(Path::new(".importer/state.db")),
            PathBuf::from(".importer/state.db.lock")
        );
    }
}
