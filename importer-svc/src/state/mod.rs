//! The importer's own memory: per-entry digests and API ids, checkpoints (watermarks) per
//! source, the runs it made, and the run lock that keeps two runs from overlapping.
//!
//! Two backends behind [`StateStore`]: an embedded SQLite file (the default, one host) and
//! PostgreSQL (when several hosts may run the job). [`open`] picks one from the URL and migrates.
//! The state is a cache of what the API already holds: losing it costs one full re-upload that
//! the API answers with "unchanged", never a duplicate.

pub mod lock;
mod postgres;
mod sqlite;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use timesheet_domain::{ExternalId, SourceName, WorkDate};
use uuid::Uuid;

pub use lock::{LockError, LockHolder, RunLock};
pub use postgres::PgState;
pub use sqlite::SqliteState;

/// `[state]`.
#[derive(Debug, Clone, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
pub struct StateConfig {
    /// `sqlite://path` (default `sqlite://.importer/state.db`) or `postgres://…` when several
    /// hosts may run the job. A secret: a PostgreSQL URL may carry a password.
    #[garde(custom(lasting_url))]
    pub url: SecretString,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self {
            url: SecretString::from("sqlite://.importer/state.db"),
        }
    }
}

/// A URL [`open`] takes, of a database that outlives the process. The value is never echoed:
/// it may carry a password.
fn lasting_url(url: &SecretString, _: &()) -> garde::Result {
    let url = url.expose_secret();
    if url.starts_with("sqlite:") {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(garde::Error::new(
                "an in-memory database cannot keep state between runs",
            ));
        }
    } else if !(url.starts_with("postgres:") || url.starts_with("postgresql:")) {
        return Err(garde::Error::new(
            "must start with sqlite:// or postgres://",
        ));
    }
    Ok(())
}

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The URL or the file name is unusable.
    #[error("state configuration: {0}")]
    Config(String),
    /// The database cannot be reached or answered with an error.
    #[error("state database unavailable: {0}")]
    Unavailable(String),
    /// The database holds something this version does not understand.
    #[error("state database holds an unexpected value: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StateError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
                Self::Corrupt(err.to_string())
            }
            other => Self::Unavailable(other.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StateError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        Self::Unavailable(format!("migrating: {err}"))
    }
}

/// Whether the API accepted the entry's current content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    Imported,
    /// The API rejected this content; it is not sent again until the source row changes.
    Rejected,
}

impl EntryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Imported => "imported",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, StateError> {
        match raw {
            "imported" => Ok(Self::Imported),
            "rejected" => Ok(Self::Rejected),
            other => Err(StateError::Corrupt(format!("entry status {other:?}"))),
        }
    }
}

/// What the state remembers of one source entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownEntry {
    /// The entry's id in the API; `None` when the API never accepted it.
    pub entry_id: Option<Uuid>,
    /// Digest of the content last sent (see `sync::digest`).
    pub digest: String,
    pub work_date: WorkDate,
    pub status: EntryStatus,
}

/// One row to write after an acknowledged batch.
#[derive(Debug, Clone)]
pub struct EntryWrite {
    pub external_id: ExternalId,
    pub known: KnownEntry,
}

/// A finished (or failed) run, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    pub run_id: Uuid,
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    /// `success`, `partial`, `failed` or `interrupted`.
    pub outcome: String,
    /// The run report as JSON.
    pub summary: serde_json::Value,
}

/// A source's checkpoint: there is one for every source that completed a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    pub source: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub watermark: Option<OffsetDateTime>,
    /// When the last completed run of the source finished.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Entries the state knows for the source (imported or rejected).
    pub entries: u64,
}

/// The importer's state. Every write method is one transaction.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// `sqlite` or `postgres`, for messages.
    fn backend(&self) -> &'static str;

    /// Closes the database connections, waiting until each is closed. Call it when done, before
    /// the process exits: SQLite's connection threads may still hold the tracing span of the
    /// last statement they ran (sqlx hands each command the caller's span), which would keep
    /// the run's span open past the exporter's shutdown and lose it. Later calls fail.
    async fn close(&self);

    /// Takes the run lock without waiting. [`LockError::Held`] names the holder when known.
    async fn try_lock(&self, holder: &LockHolder) -> Result<RunLock, LockError>;

    /// The source's watermark, `None` before its first complete run (or for sources without one).
    async fn watermark(&self, source: &SourceName) -> Result<Option<OffsetDateTime>, StateError>;

    /// Everything the state knows of the source's entries.
    async fn known_entries(
        &self,
        source: &SourceName,
    ) -> Result<HashMap<ExternalId, KnownEntry>, StateError>;

    /// Upserts the rows of one acknowledged batch, in one transaction.
    async fn save_entries(
        &self,
        source: &SourceName,
        rows: &[EntryWrite],
    ) -> Result<(), StateError>;

    /// Forgets entries (deleted in the API, or never accepted and gone from the source).
    async fn forget_entries(
        &self,
        source: &SourceName,
        external_ids: &[ExternalId],
    ) -> Result<(), StateError>;

    /// Records a completed run and marks the source's checkpoint as reached, moving its
    /// watermark to `watermark` when that is `Some` (keeping the previous one otherwise), in one
    /// transaction.
    async fn complete_run(
        &self,
        run: &RunRecord,
        watermark: Option<OffsetDateTime>,
    ) -> Result<(), StateError>;

    /// Records a run that did not complete; the checkpoint stays where it was.
    async fn record_run(&self, run: &RunRecord) -> Result<(), StateError>;

    /// The latest runs, newest first.
    async fn recent_runs(&self, limit: u32) -> Result<Vec<RunRecord>, StateError>;

    /// Every source's checkpoint, by source name.
    async fn checkpoints(&self) -> Result<Vec<Checkpoint>, StateError>;
}

/// Opens the state named by `url` (`sqlite://path` or `postgres://…`), creating and migrating
/// it as needed.
pub async fn open(url: &str) -> Result<Arc<dyn StateStore>, StateError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteState::open(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PgState::open(url).await?))
    } else {
        Err(StateError::Config(
            "the state URL must start with sqlite:// or postgres://".to_owned(),
        ))
    }
}

/// Microseconds since the Unix epoch: how SQLite stores instants, exact and sortable.
pub(crate) fn to_micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_micros(micros: i64) -> Result<OffsetDateTime, StateError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|err| StateError::Corrupt(format!("instant {micros}: {err}")))
}

/// Instants truncated to the microsecond both backends keep, so a value reads back equal.
pub fn truncate_to_micros(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000)
        .unwrap_or(at)
}
