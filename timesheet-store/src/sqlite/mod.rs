//! The SQLite backend: the embedded, single-node store.
//!
//! One file, two pools. The writer pool has exactly one connection and every write transaction
//! starts with `BEGIN IMMEDIATE` on it, so writes are serialised in the process (that is the
//! tenant write lock, held for all tenants at once) and never fail half-way on a lock upgrade.
//! The reader pool serves the [`Store`] read methods; in WAL mode readers never wait for the
//! writer.

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
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use timesheet_domain::{Entry, EntryId, ExternalId, TenantId, WeekStatus, WorkerId};

use crate::statement::InSpan as _;
use crate::{
    constraint, Backend, EntryFilter, IdempotencyStart, Page, PageRequest, Store, StoreError,
    StoreOptions, StoreTx, Week,
};

/// SQLite allows at most this many bound variables in one statement.
const MAX_VARIABLES: usize = 32_766;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a statement waits for another process's lock on the file before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite store. Open it with [`SqliteStore::open`] (or [`crate::connect`], which also
/// migrates).
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// In memory, `reader` is a clone of `writer`: one pool, counted once in metrics.
    shared_pool: bool,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database file named by `url` (`sqlite://path.db`).
    /// `sqlite::memory:` works too, on a single connection that reads and writes. Does not
    /// migrate. Fails with [`StoreError::Config`] on a malformed URL and
    /// [`StoreError::Unavailable`] when the file cannot be opened.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::from_str(url)
            .map_err(|err| StoreError::Config {
                reason: "invalid SQLite URL".to_owned(),
                source: Some(err),
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL loses at most the last commits on power loss, never integrity.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // An in-memory database lives and dies with its one connection, and every other
        // connection would see a different, empty one: keep the writer's connection forever
        // and read through it too. For tests and tools; the service uses a file.
        if is_in_memory(url) {
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(map_err)?;
            let reader = writer.clone();
            return Ok(Self {
                writer,
                reader,
                shared_pool: true,
            });
        }
        // The writer connects first so that the file exists and is in WAL mode before any
        // reader opens it.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect.clone())
            .await
            .map_err(map_err)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(map_err)?;
        Ok(Self {
            writer,
            reader,
            shared_pool: false,
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR
            .run(&self.writer)
            .await
            .map_err(|err| crate::error::from_migrate(err, is_unavailable))
    }

    fn pool_status(&self) -> crate::PoolStatus {
        let idle = |pool: &SqlitePool| u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
        let max = |pool: &SqlitePool| pool.options().get_max_connections();
        // In memory, reader and writer are one pool: count it once.
        if self.shared_pool {
            return crate::PoolStatus {
                open: self.writer.size(),
                idle: idle(&self.writer),
                max: max(&self.writer),
            };
        }
        crate::PoolStatus {
            open: self.writer.size() + self.reader.size(),
            idle: idle(&self.writer) + idle(&self.reader),
            max: max(&self.writer) + max(&self.reader),
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1")
            .execute(&self.reader)
            .in_span(statement("SELECT", ""))
            .await
            .map(drop)
            .map_err(map_err)
    }

    async fn begin(&self, tenant: &TenantId) -> Result<Box<dyn StoreTx>, StoreError> {
        let tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .in_span(statement("BEGIN", ""))
            .await
            .map_err(map_err)?;
        Ok(Box::new(tx::SqliteTx::new(tx, tenant.clone())))
    }

    async fn get_entry(&self, tenant: &TenantId, id: EntryId) -> Result<Option<Entry>, StoreError> {
        let mut conn = self.reader.acquire().await.map_err(map_err)?;
        entries::entry(&mut conn, tenant, id).await
    }

    async fn list_entries(
        &self,
        tenant: &TenantId,
        filter: &EntryFilter,
        page: &PageRequest,
    ) -> Result<Page, StoreError> {
        let mut conn = self.reader.acquire().await.map_err(map_err)?;
        list::list_entries(&mut conn, tenant, filter, page).await
    }

    async fn list_weeks(
        &self,
        tenant: &TenantId,
        status: WeekStatus,
        limit: u32,
    ) -> Result<Vec<Week>, StoreError> {
        let mut conn = self.reader.acquire().await.map_err(map_err)?;
        weeks::list_weeks(&mut conn, tenant, status, limit).await
    }

    async fn worker_id(
        &self,
        tenant: &TenantId,
        external_id: &ExternalId,
    ) -> Result<Option<WorkerId>, StoreError> {
        let mut conn = self.reader.acquire().await.map_err(map_err)?;
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
        // On the writer: the claim must be committed before the request's own transaction.
        idempotency::start(
            &self.writer,
            tenant,
            subject,
            key,
            request_hash,
            stale_after,
        )
        .await
    }

    async fn idempotency_release(
        &self,
        tenant: &TenantId,
        subject: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        idempotency::release(&self.writer, tenant, subject, key).await
    }
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// The span of one SQLite statement (see [`crate::statement`]).
fn statement(operation: &'static str, table: &'static str) -> tracing::Span {
    crate::statement::span(crate::statement::SQLITE, operation, table)
}

/// The one place SQLite errors become [`StoreError`]s.
pub(crate) fn map_err(err: sqlx::Error) -> StoreError {
    if is_unavailable(&err) {
        return StoreError::Unavailable(err);
    }
    if let sqlx::Error::Database(db) = &err {
        let code = db.code().and_then(|code| code.parse::<i32>().ok());
        if matches!(
            code,
            Some(SQLITE_CONSTRAINT_UNIQUE | SQLITE_CONSTRAINT_PRIMARYKEY)
        ) {
            if let Some(name) = constraint::by_sqlite_message(db.message()) {
                return StoreError::Conflict(name);
            }
        }
    }
    StoreError::Internal(err)
}

/// Whether the file could not be reached or stayed locked: temporary, worth a retry.
fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            // The primary result code is the low byte of the extended one.
            let primary = db
                .code()
                .and_then(|code| code.parse::<i32>().ok())
                .map(|code| code & 0xff);
            matches!(primary, Some(SQLITE_BUSY | SQLITE_LOCKED))
                || db.message().contains("database is locked")
        }
        _ => false,
    }
}

const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
const SQLITE_CONSTRAINT_PRIMARYKEY: i32 = 1555;
const SQLITE_CONSTRAINT_UNIQUE: i32 = 2067;
