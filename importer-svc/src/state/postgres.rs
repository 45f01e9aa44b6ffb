//! The shared state: PostgreSQL, for when several hosts may run the job. The run lock is a
//! session advisory lock, so it spans hosts and dies with the session that holds it.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool, Row};
use time::OffsetDateTime;
use timesheet_domain::{ExternalId, SourceName, WorkDate};
use uuid::Uuid;

use super::lock::{LockError, LockHolder, RunLock};
use super::{Checkpoint, EntryStatus, EntryWrite, KnownEntry, RunRecord, StateError, StateStore};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The advisory lock key: "importer" in ASCII. Advisory locks are per database, so each state
/// database has its own run lock.
pub const RUN_LOCK_KEY: i64 = 0x696d_706f_7274_6572;

const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct PgState {
    pool: PgPool,
    // Never logged: it may carry a password.
    url: String,
}

impl PgState {
    /// Connects to and migrates the state at `url` (`postgres://…`).
    pub async fn open(url: &str) -> Result<Self, StateError> {
        let pool = PgPoolOptions::new()
            // A run reads and writes one statement at a time; the lock has its own connection.
            .max_connections(2)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            url: url.to_owned(),
        })
    }
}

#[async_trait]
impl StateStore for PgState {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn try_lock(&self, holder: &LockHolder) -> Result<RunLock, LockError> {
        let mut conn = PgConnection::connect(&self.url)
            .await
            .map_err(StateError::from)?;
        let taken: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
            .bind(RUN_LOCK_KEY)
            .fetch_one(&mut conn)
            .await
            .map_err(StateError::from)?;
        if !taken {
            let _closed = conn.close().await;
            let row = sqlx::query("select pid, host, since from run_lock where lock_key = $1")
                .bind(RUN_LOCK_KEY)
                .fetch_optional(&self.pool)
                .await
                .map_err(StateError::from)?;
            let holder = row
                .map(|row| {
                    Ok::<_, sqlx::Error>(LockHolder {
                        pid: u32::try_from(row.try_get::<i32, _>(0)?).unwrap_or_default(),
                        host: row.try_get(1)?,
                        since: row.try_get(2)?,
                    })
                })
                .transpose()
                .map_err(StateError::from)?;
            return Err(LockError::Held(holder));
        }
        sqlx::query(
            "insert into run_lock (lock_key, pid, host, since) values ($1, $2, $3, $4) \
             on conflict (lock_key) do update set pid = excluded.pid, host = excluded.host, \
             since = excluded.since",
        )
        .bind(RUN_LOCK_KEY)
        .bind(i32::try_from(holder.pid).unwrap_or(i32::MAX))
        .bind(&holder.host)
        .bind(holder.since)
        .execute(&mut conn)
        .await
        .map_err(StateError::from)?;
        Ok(RunLock::postgres(conn, RUN_LOCK_KEY))
    }

    async fn watermark(&self, source: &SourceName) -> Result<Option<OffsetDateTime>, StateError> {
        let watermark: Option<Option<OffsetDateTime>> =
            sqlx::query_scalar("select watermark from checkpoint where source = $1")
                .bind(source.as_ref())
                .fetch_optional(&self.pool)
                .await?;
        Ok(watermark.flatten())
    }

    async fn known_entries(
        &self,
        source: &SourceName,
    ) -> Result<HashMap<ExternalId, KnownEntry>, StateError> {
        let rows = sqlx::query(
            "select external_id, entry_id, digest, work_date, status from synced_entry \
             where source = $1",
        )
        .bind(source.as_ref())
        .fetch_all(&self.pool)
        .await?;
        let mut known = HashMap::with_capacity(rows.len());
        for row in rows {
            let external_id = ExternalId::parse(row.try_get::<&str, _>(0)?)
                .map_err(|err| StateError::Corrupt(format!("external id: {err}")))?;
            let entry = KnownEntry {
                entry_id: row.try_get::<Option<Uuid>, _>(1)?,
                digest: row.try_get(2)?,
                work_date: WorkDate::from_date(row.try_get::<time::Date, _>(3)?),
                status: EntryStatus::parse(row.try_get::<&str, _>(4)?)?,
            };
            known.insert(external_id, entry);
        }
        Ok(known)
    }

    async fn save_entries(
        &self,
        source: &SourceName,
        rows: &[EntryWrite],
    ) -> Result<(), StateError> {
        // One statement for the whole batch: arrays in, unnest on the server.
        let external_ids: Vec<&str> = rows.iter().map(|r| r.external_id.as_ref()).collect();
        let entry_ids: Vec<Option<Uuid>> = rows.iter().map(|r| r.known.entry_id).collect();
        let digests: Vec<&str> = rows.iter().map(|r| r.known.digest.as_str()).collect();
        let dates: Vec<time::Date> = rows.iter().map(|r| r.known.work_date.date()).collect();
        let statuses: Vec<&str> = rows.iter().map(|r| r.known.status.as_str()).collect();
        sqlx::query(
            "insert into synced_entry \
             (source, external_id, entry_id, digest, work_date, status, updated_at) \
             select $1, e.external_id, e.entry_id, e.digest, e.work_date, e.status, now() \
             from unnest($2::text[], $3::uuid[], $4::text[], $5::date[], $6::text[]) \
             as e(external_id, entry_id, digest, work_date, status) \
             on conflict (source, external_id) do update set entry_id = excluded.entry_id, \
             digest = excluded.digest, work_date = excluded.work_date, \
             status = excluded.status, updated_at = excluded.updated_at",
        )
        .bind(source.as_ref())
        .bind(&external_ids)
        .bind(&entry_ids)
        .bind(&digests)
        .bind(&dates)
        .bind(&statuses)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn forget_entries(
        &self,
        source: &SourceName,
        external_ids: &[ExternalId],
    ) -> Result<(), StateError> {
        let ids: Vec<&str> = external_ids.iter().map(AsRef::as_ref).collect();
        sqlx::query("delete from synced_entry where source = $1 and external_id = any($2)")
            .bind(source.as_ref())
            .bind(&ids)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn complete_run(
        &self,
        run: &RunRecord,
        watermark: Option<OffsetDateTime>,
    ) -> Result<(), StateError> {
        let mut tx = self.pool.begin().await?;
        insert_run(&mut tx, run).await?;
        sqlx::query(
            "insert into checkpoint (source, watermark, updated_at) values ($1, $2, $3) \
             on conflict (source) do update set \
             watermark = coalesce(excluded.watermark, checkpoint.watermark), \
             updated_at = excluded.updated_at",
        )
        .bind(&run.source)
        .bind(watermark)
        .bind(run.finished_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_run(&self, run: &RunRecord) -> Result<(), StateError> {
        let mut tx = self.pool.begin().await?;
        insert_run(&mut tx, run).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn recent_runs(&self, limit: u32) -> Result<Vec<RunRecord>, StateError> {
        let rows = sqlx::query(
            "select run_id, source, started_at, finished_at, outcome, summary from run \
             order by started_at desc, run_id desc limit $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(RunRecord {
                    run_id: row.try_get(0)?,
                    source: row.try_get(1)?,
                    started_at: row.try_get(2)?,
                    finished_at: row.try_get(3)?,
                    outcome: row.try_get(4)?,
                    summary: row.try_get(5)?,
                })
            })
            .collect()
    }

    async fn checkpoints(&self) -> Result<Vec<Checkpoint>, StateError> {
        let rows = sqlx::query(
            "select c.source, c.watermark, c.updated_at, \
             (select count(*) from synced_entry e where e.source = c.source) \
             from checkpoint c order by c.source",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(Checkpoint {
                    source: row.try_get(0)?,
                    watermark: row.try_get(1)?,
                    updated_at: row.try_get(2)?,
                    entries: u64::try_from(row.try_get::<i64, _>(3)?).unwrap_or_default(),
                })
            })
            .collect()
    }
}

async fn insert_run(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    run: &RunRecord,
) -> Result<(), StateError> {
    sqlx::query(
        "insert into run (run_id, source, started_at, finished_at, outcome, summary) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(run.run_id)
    .bind(&run.source)
    .bind(run.started_at)
    .bind(run.finished_at)
    .bind(&run.outcome)
    .bind(&run.summary)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
