//! The SQLite write transaction: a `BEGIN IMMEDIATE` on the single writer connection.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use sqlx::{Sqlite, Transaction};
use time::OffsetDateTime;
use timesheet_domain::{
    DayKey, Entry, EntryId, ExistingEntry, ExternalId, ProjectCode, SourceName, TenantId, WorkerId,
    WorkerRef,
};

use super::{entries, idempotency, map_err, weeks, workers};
use crate::{EntryWrite, StoreError, StoreTx, StoredResponse, Week, WeekKey};

/// Rolls back when dropped uncommitted (sqlx's [`Transaction`] does that).
pub(super) struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
    tenant: TenantId,
}

impl SqliteTx {
    pub(super) fn new(tx: Transaction<'static, Sqlite>, tenant: TenantId) -> Self {
        Self { tx, tenant }
    }
}

#[async_trait]
impl StoreTx for SqliteTx {
    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.tx.commit().await.map_err(map_err)
    }

    async fn upsert_workers(
        &mut self,
        workers: &[WorkerRef],
        now: OffsetDateTime,
    ) -> Result<HashMap<ExternalId, WorkerId>, StoreError> {
        workers::upsert_workers(&mut self.tx, &self.tenant, workers, now).await
    }

    async fn upsert_projects(
        &mut self,
        codes: &[ProjectCode],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        workers::upsert_projects(&mut self.tx, &self.tenant, codes, now).await
    }

    async fn entries_by_external_id(
        &mut self,
        source: &SourceName,
        external_ids: &[ExternalId],
    ) -> Result<HashMap<ExternalId, ExistingEntry>, StoreError> {
        entries::by_external_id(&mut self.tx, &self.tenant, source, external_ids).await
    }

    async fn entry(&mut self, id: EntryId) -> Result<Option<Entry>, StoreError> {
        entries::entry(&mut self.tx, &self.tenant, id).await
    }

    async fn day_totals(&mut self, days: &[DayKey]) -> Result<HashMap<DayKey, u32>, StoreError> {
        entries::day_totals(&mut self.tx, &self.tenant, days).await
    }

    async fn approved_weeks(&mut self, weeks: &[WeekKey]) -> Result<HashSet<WeekKey>, StoreError> {
        weeks::approved_weeks(&mut self.tx, &self.tenant, weeks).await
    }

    async fn write_entries(
        &mut self,
        source: &SourceName,
        writes: &[EntryWrite],
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        entries::write_entries(&mut self.tx, &self.tenant, source, writes, actor, now).await
    }

    async fn delete_entry(
        &mut self,
        id: EntryId,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Option<i64>, StoreError> {
        entries::delete_entry(&mut self.tx, &self.tenant, id, actor, now).await
    }

    async fn week(&mut self, key: WeekKey) -> Result<Option<Week>, StoreError> {
        weeks::week(&mut self.tx, &self.tenant, key).await
    }

    async fn save_week(&mut self, week: &Week, now: OffsetDateTime) -> Result<Week, StoreError> {
        weeks::save_week(&mut self.tx, &self.tenant, week, now).await
    }

    async fn idempotency_complete(
        &mut self,
        subject: &str,
        key: &str,
        response: &StoredResponse,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        idempotency::complete(&mut self.tx, &self.tenant, subject, key, response, now).await
    }
}
