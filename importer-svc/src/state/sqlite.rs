//! The embedded state: one SQLite file (WAL mode) and its lock file next to it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use time::OffsetDateTime;
use timesheet_domain::{ExternalId, SourceName, WorkDate};
use uuid::Uuid;

use super::lock::{lock_path, try_lock_file, LockError, LockHolder, RunLock};
use super::{
    from_micros, to_micros, Checkpoint, EntryStatus, EntryWrite, KnownEntry, RunRecord, StateError,
    StateStore,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a statement waits for another process (a `status` reading) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct SqliteState {
    pool: SqlitePool,
    lock_file: PathBuf,
}

impl SqliteState {
    /// Opens (creating file and directory if missing) and migrates the state at `url`
    /// (`sqlite://path/state.db`). In-memory databases are refused: they cannot carry state
    /// from one run to the next, nor hold a lock another process can see.
    pub async fn open(url: &str) -> Result<Self, StateError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|err| StateError::Config(format!("invalid SQLite URL: {err}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT);
        let file = options.get_filename().to_path_buf();
        if file.as_os_str().is_empty() || file.as_os_str() == ":memory:" || url.contains("memory") {
            return Err(StateError::Config(
                "the state must be a file: an in-memory database forgets everything".to_owned(),
            ));
        }
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|err| {
                StateError::Unavailable(format!("creating {}: {err}", dir.display()))
            })?;
        }
        // One connection: a run is the only writer, and the file lock keeps it so.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            lock_file: lock_path(&file),
        })
    }
}

#[async_trait]
impl StateStore for SqliteState {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn try_lock(&self, holder: &LockHolder) -> Result<RunLock, LockError> {
        try_lock_file(&self.lock_file, holder)
    }

    async fn watermark(&self, source: &SourceName) -> Result<Option<OffsetDateTime>, StateError> {
        let row = sqlx::query("select watermark from checkpoint where source = ?")
            .bind(source.as_ref())
            .fetch_optional(&self.pool)
            .await?;
        let micros = match row {
            Some(row) => row.try_get::<Option<i64>, _>(0)?,
            None => None,
        };
        match micros {
            Some(micros) => from_micros(micros).map(Some),
            None => Ok(None),
        }
    }

    async fn known_entries(
        &self,
        source: &SourceName,
    ) -> Result<HashMap<ExternalId, KnownEntry>, StateError> {
        let rows = sqlx::query(
            "select external_id, entry_id, digest, work_date, status from synced_entry \
             where source = ?",
        )
        .bind(source.as_ref())
        .fetch_all(&self.pool)
        .await?;
        let mut known = HashMap::with_capacity(rows.len());
        for row in rows {
            let external_id = ExternalId::parse(row.try_get::<&str, _>(0)?)
                .map_err(|err| StateError::Corrupt(format!("external id: {err}")))?;
            let entry_id = row
                .try_get::<Option<&str>, _>(1)?
                .map(Uuid::parse_str)
                .transpose()
                .map_err(|err| StateError::Corrupt(format!("entry id: {err}")))?;
            let work_date = WorkDate::parse(row.try_get::<&str, _>(3)?)
                .map_err(|err| StateError::Corrupt(format!("work date: {err}")))?;
            let entry = KnownEntry {
                entry_id,
                digest: row.try_get::<String, _>(2)?,
                work_date,
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
        let now = to_micros(OffsetDateTime::now_utc());
        let mut tx = self.pool.begin().await?;
        for row in rows {
            sqlx::query(
                "insert into synced_entry \
                 (source, external_id, entry_id, digest, work_date, status, updated_at) \
                 values (?, ?, ?, ?, ?, ?, ?) \
                 on conflict (source, external_id) do update set entry_id = excluded.entry_id, \
                 digest = excluded.digest, work_date = excluded.work_date, \
                 status = excluded.status, updated_at = excluded.updated_at",
            )
            .bind(source.as_ref())
            .bind(row.external_id.as_ref())
            .bind(row.known.entry_id.map(|id| id.to_string()))
            .bind(&row.known.digest)
            .bind(row.known.work_date.to_string())
            .bind(row.known.status.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn forget_entries(
        &self,
        source: &SourceName,
        external_ids: &[ExternalId],
    ) -> Result<(), StateError> {
        let mut tx = self.pool.begin().await?;
        for external_id in external_ids {
            sqlx::query("delete from synced_entry where source = ? and external_id = ?")
                .bind(source.as_ref())
                .bind(external_id.as_ref())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
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
            "insert into checkpoint (source, watermark, updated_at) values (?, ?, ?) \
             on conflict (source) do update set \
             watermark = coalesce(excluded.watermark, checkpoint.watermark), \
             updated_at = excluded.updated_at",
        )
        .bind(&run.source)
        .bind(watermark.map(to_micros))
        .bind(to_micros(run.finished_at))
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
             order by started_at desc, run_id desc limit ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(RunRecord {
                    run_id: Uuid::parse_str(row.try_get::<&str, _>(0)?)
                        .map_err(|err| StateError::Corrupt(format!("run id: {err}")))?,
                    source: row.try_get(1)?,
                    started_at: from_micros(row.try_get(2)?)?,
                    finished_at: from_micros(row.try_get(3)?)?,
                    outcome: row.try_get(4)?,
                    summary: serde_json::from_str(row.try_get::<&str, _>(5)?)
                        .map_err(|err| StateError::Corrupt(format!("run summary: {err}")))?,
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
                    watermark: row
                        .try_get::<Option<i64>, _>(1)?
                        .map(from_micros)
                        .transpose()?,
                    updated_at: from_micros(row.try_get(2)?)?,
                    entries: u64::try_from(row.try_get::<i64, _>(3)?).unwrap_or_default(),
                })
            })
            .collect()
    }
}

async fn insert_run(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    run: &RunRecord,
) -> Result<(), StateError> {
    sqlx::query(
        "insert into run (run_id, source, started_at, finished_at, outcome, summary) \
         values (?, ?, ?, ?, ?, ?)",
    )
    .bind(run.run_id.to_string())
    .bind(&run.source)
    .bind(to_micros(run.started_at))
    .bind(to_micros(run.finished_at))
    .bind(&run.outcome)
    .bind(run.summary.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
