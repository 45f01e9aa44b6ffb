//! The PostgreSQL backend: the production store, shared by many replicas of the service.
//!
//! Write transactions of a tenant are serialised by a transaction-level advisory lock on the
//! tenant, taken right after `BEGIN`; other tenants and all reads go on in parallel. Every
//! set-based statement binds whole arrays and expands them with `UNNEST`, so a batch is one
//! round trip per statement whatever its size, and the statement text (cached prepared by sqlx)
//! never changes with the row count.

mod codec;
mod entries;
mod idempotency;
mod list;
mod tx;
mod weeks;
mod workers;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use timesheet_domain::{Entry, EntryId, ExternalId, TenantId, WeekStatus, WorkerId};

use crate::statement::InSpan as _;
use crate::{
    constraint, Backend, EntryFilter, IdempotencyStart, Page, PageRequest, Store, StoreError,
    StoreOptions, StoreTx, Week,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The PostgreSQL store. Open it with [`PgStore::open`] (or [`crate::connect`], which also
/// migrates).
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Builds the pool for `url` without connecting: connections are made on first use, so a
    /// service can start while PostgreSQL is away and every call reports
    /// [`StoreError::Unavailable`] until it returns. Fails only on a malformed URL
    /// ([`StoreError::Config`]).
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let connect = PgConnectOptions::from_str(url)
            .map_err(|err| StoreError::Config {
                reason: "invalid PostgreSQL URL".to_owned(),
                source: Some(err),
            })?
            // sqlx keeps statements prepared for the life of a connection, and PostgreSQL would
            // keep a generic plan made while a table was small (or never analysed: bulk loads
            // outrun autovacuum) for good. Planning per execution costs well under a
            // millisecond and follows the table as it grows.
            .options([("plan_cache_mode", "force_custom_plan")]);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_lazy_with(connect);
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|err| crate::error::from_migrate(err, is_unavailable))
    }

    fn pool_status(&self) -> crate::PoolStatus {
        crate::PoolStatus {
            open: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1")
            .execute(&self.pool)
            .in_span(statement("SELECT", ""))
            .await
            .map(drop)
            .map_err(map_err)
    }

    async fn begin(&self, tenant: &TenantId) -> Result<Box<dyn StoreTx>, StoreError> {
        let mut tx = self
            .pool
            .begin()
            .in_span(statement("BEGIN", ""))
            .await
            .map_err(map_err)?;
        // Released by COMMIT or ROLLBACK, so a dropped transaction cannot leak it. The prefix
        // keeps the key space apart from any other advisory lock user of the database.
        sqlx::query("select pg_advisory_xact_lock(hashtextextended('timesheet-tenant:' || $1, 0))")
            .bind(tenant.as_ref())
            .execute(&mut *tx)
            .in_span(statement("SELECT", "pg_advisory_xact_lock"))
            .await
            .map_err(map_err)?;
        Ok(Box::new(tx::PgTx::new(tx, tenant.clone())))
    }

    async fn get_entry(&self, tenant: &TenantId, id: EntryId) -> Result<Option<Entry>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        entries::entry(&mut conn, tenant, id).await
    }

    async fn list_entries(
        &self,
        tenant: &TenantId,
        filter: &EntryFilter,
        page: &PageRequest,
    ) -> Result<Page, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        list::list_entries(&mut conn, tenant, filter, page).await
    }

    async fn list_weeks(
        &self,
        tenant: &TenantId,
        status: WeekStatus,
        limit: u32,
    ) -> Result<Vec<Week>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        weeks::list_weeks(&mut conn, tenant, status, limit).await
    }

    async fn worker_id(
        &self,
        tenant: &TenantId,
        external_id: &ExternalId,
    ) -> Result<Option<WorkerId>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        workers::worker_id(&mut conn, tenant, external_id).await
    }

    async fn idempotency_start(
        &self,
        tenant: &TenantId,
        subject: &str,
        key: &str,
        request_hash: &[u8],
        stale_after: Duration,
    ) -> Result<IdempotencyStart, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        idempotency::start(&mut conn, tenant, subject, key, request_hash, stale_after).await
    }

    async fn idempotency_release(
        &self,
        tenant: &TenantId,
        subject: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        idempotency::release(&mut conn, tenant, subject, key).await
    }
}

/// The span of one PostgreSQL statement (see [`crate::statement`]).
fn statement(operation: &'static str, table: &'static str) -> tracing::Span {
    crate::statement::span(crate::statement::POSTGRES, operation, table)
}

/// The one place PostgreSQL errors become [`StoreError`]s.
pub(crate) fn map_err(err: sqlx::Error) -> StoreError {
    if is_unavailable(&err) {
        return StoreError::Unavailable(err);
    }
    if let sqlx::Error::Database(db) = &err {
        if db.code().as_deref() == Some(UNIQUE_VIOLATION) {
            if let Some(name) = db.constraint().and_then(constraint::by_name) {
                return StoreError::Conflict(name);
            }
        }
    }
    StoreError::Internal(err)
}

const UNIQUE_VIOLATION: &str = "23505";

/// Whether the server could not be reached, is going away or is out of resources: temporary,
/// worth a retry (SQLSTATE classes 08 and 53, and 57P01-57P03).
fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // 08: connection exceptions; 53: out of resources; 57P0x: shutting down or starting up;
        // 3D000: the database is gone (dropped or not restored yet) — the service cannot work
        // until an operator fixes it, which is "unavailable", not a bug in the request.
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08")
                || code.starts_with("53")
                || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "3D000")
        }),
        _ => false,
    }
}
