//! Storage for the timesheet domain.
//!
//! What it is: the [`Store`] trait the service programs against, its two backends (SQLite, the
//! embedded single-node default, and PostgreSQL, the production store), their migrations, and
//! [`connect`], which picks the backend from the database URL.
//!
//! What it is not: it holds no business rule. Rules live in `timesheet-domain` (the batch
//! planner, `check_change`); the store reads what the rules need and writes what they decided,
//! inside one transaction ([`StoreTx`]) that holds the tenant's write lock.
//!
//! Concurrency: every write transaction of a tenant is serialised (PostgreSQL: a transaction-level
//! advisory lock on the tenant; SQLite: one writer connection), so the 24-hour rule and the
//! created/updated/unchanged classification are exact under concurrent uploads. Reads never wait.

pub mod constraint;
mod error;
mod model;
mod postgres;
mod sqlite;
mod statement;
mod stored;
mod tx_delegation;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use timesheet_domain::{
    DayKey, Entry, EntryId, ExistingEntry, ExternalId, ProjectCode, SourceName, TenantId, WorkerId,
    WorkerRef,
};

pub use error::StoreError;
pub use model::{
    Cursor, EntryFilter, EntryWrite, IdempotencyStart, Page, PageRequest, StoredResponse, Week,
    WeekKey, WriteKind,
};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How busy the connection pools are, for metrics. SQLite counts its writer and readers together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections open now (idle and in use).
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

impl PoolStatus {
    pub fn in_use(&self) -> u32 {
        self.open.saturating_sub(self.idle)
    }
}

/// Pool settings. Defaults suit the embedded single-node setup.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// How long a request waits for a connection before the store reports `Unavailable`.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

/// Opens the store named by `database_url` (`sqlite://…` or `postgres://…`/`postgresql://…`)
/// and runs its migrations. PostgreSQL pools connect lazily, so a service can start while the
/// database is briefly away and recover when it returns; migrations, though, need it up.
pub async fn connect(
    database_url: &str,
    options: &StoreOptions,
) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = if database_url.starts_with("sqlite:") {
        Arc::new(sqlite::SqliteStore::open(database_url, options).await?)
    } else if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        Arc::new(postgres::PgStore::open(database_url, options).await?)
    } else {
        return Err(StoreError::Config {
            reason: format!(
                "database URL must start with sqlite:// or postgres://, got {:?}",
                database_url.split(':').next().unwrap_or_default()
            ),
            source: None,
        });
    };
    store.migrate().await?;
    Ok(store)
}

/// Reads and transactions of the timesheet domain. Every method is scoped by a tenant: there is
/// no way to read or write across tenants.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Applies pending migrations (idempotent).
    async fn migrate(&self) -> Result<(), StoreError>;

    /// A cheap round trip, for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The pools' occupancy right now; no I/O.
    fn pool_status(&self) -> PoolStatus;

    /// Opens a write transaction holding the tenant's write lock. Dropping it without
    /// [`StoreTx::commit`] rolls back.
    async fn begin(&self, tenant: &TenantId) -> Result<Box<dyn StoreTx>, StoreError>;

    /// One entry by id, tombstones included (the caller decides what a tombstone means).
    async fn get_entry(&self, tenant: &TenantId, id: EntryId) -> Result<Option<Entry>, StoreError>;

    /// A page of entries matching `filter`.
    ///
    /// Without `updated_since`: live entries only, ordered by id (creation order).
    /// With `updated_since`: entries *and tombstones* with `updated_at >= since`, ordered by
    /// (`updated_at`, id), so that a sync sees deletions. The cursor is the last row's sort key,
    /// so pages stay stable while others write.
    async fn list_entries(
        &self,
        tenant: &TenantId,
        filter: &EntryFilter,
        page: &PageRequest,
    ) -> Result<Page, StoreError>;

    /// Weeks in `status`, oldest submission first (the approvals queue).
    async fn list_weeks(
        &self,
        tenant: &TenantId,
        status: timesheet_domain::WeekStatus,
        limit: u32,
    ) -> Result<Vec<Week>, StoreError>;

    /// A worker's id by external id.
    async fn worker_id(
        &self,
        tenant: &TenantId,
        external_id: &ExternalId,
    ) -> Result<Option<WorkerId>, StoreError>;

    /// Claims an idempotency key for `(tenant, subject, key)`: the first caller gets `Started`
    /// (a committed in-flight marker); later callers get the stored response, `InFlight`, or
    /// `Mismatch` when the request hash differs. An in-flight marker older than `stale_after`
    /// is taken over (its request died before committing anything).
    async fn idempotency_start(
        &self,
        tenant: &TenantId,
        subject: &str,
        key: &str,
        request_hash: &[u8],
        stale_after: Duration,
    ) -> Result<IdempotencyStart, StoreError>;

    /// Removes an in-flight marker whose request failed without committing, so a retry may run.
    async fn idempotency_release(
        &self,
        tenant: &TenantId,
        subject: &str,
        key: &str,
    ) -> Result<(), StoreError>;
}

/// A write transaction of one tenant. All set-based: each method is one statement (or a fixed
/// few) whatever the number of rows.
#[async_trait]
pub trait StoreTx: Send {
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;

    /// Inserts unknown workers and refreshes kind/name/email of known ones (by external id);
    /// returns the id of every worker given.
    async fn upsert_workers(
        &mut self,
        workers: &[WorkerRef],
        now: OffsetDateTime,
    ) -> Result<HashMap<ExternalId, WorkerId>, StoreError>;

    /// Records project codes not seen before.
    async fn upsert_projects(
        &mut self,
        codes: &[ProjectCode],
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Stored entries (tombstones included) of `source` with these external ids.
    async fn entries_by_external_id(
        &mut self,
        source: &SourceName,
        external_ids: &[ExternalId],
    ) -> Result<HashMap<ExternalId, ExistingEntry>, StoreError>;

    /// One entry by id, read inside the transaction (tombstones included).
    async fn entry(&mut self, id: EntryId) -> Result<Option<Entry>, StoreError>;

    /// Minutes of live entries for each worker-day asked for (absent days are 0).
    async fn day_totals(&mut self, days: &[DayKey]) -> Result<HashMap<DayKey, u32>, StoreError>;

    /// Which of these worker-weeks are approved.
    async fn approved_weeks(&mut self, weeks: &[WeekKey]) -> Result<HashSet<WeekKey>, StoreError>;

    /// Inserts new entries and updates (or revives) stored ones, as the planner decided.
    async fn write_entries(
        &mut self,
        source: &SourceName,
        writes: &[EntryWrite],
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Turns a live entry into a tombstone (`deleted_at`, version + 1). Returns the new version,
    /// or `None` if there is no live entry with this id.
    async fn delete_entry(
        &mut self,
        id: EntryId,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Option<i64>, StoreError>;

    /// A worker's week, if it has left `open`.
    async fn week(&mut self, key: WeekKey) -> Result<Option<Week>, StoreError>;

    /// Stores a week's new state and sets every live entry of that worker and week to the same
    /// status (bumping their versions). Returns the week as stored, with its entry count and
    /// minutes filled in.
    async fn save_week(&mut self, week: &Week, now: OffsetDateTime) -> Result<Week, StoreError>;

    /// Saves the response of an idempotent request in the same transaction as its effects.
    async fn idempotency_complete(
        &mut self,
        subject: &str,
        key: &str,
        response: &StoredResponse,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}
