//! The delegation of [`crate::StoreTx`] to a backend's modules, shared by both backends.

/// The `StoreTx` impl of a backend's transaction type: each method hands its arguments, the
/// transaction and the tenant to the backend module of the same concern (`workers`, `entries`,
/// `weeks`, `idempotency`), which both backends name alike. One place for the delegation.
macro_rules! delegate_store_tx {
    ($ty:ident) => {
        #[async_trait::async_trait]
        impl $crate::StoreTx for $ty {
            async fn commit(self: Box<Self>) -> Result<(), $crate::StoreError> {
                self.tx
                    .commit()
                    .in_span(statement("COMMIT", ""))
                    .await
                    .map_err(map_err)
            }

            async fn upsert_workers(
                &mut self,
                workers: &[timesheet_domain::WorkerRef],
                now: time::OffsetDateTime,
            ) -> Result<std::collections::HashMap<timesheet_domain::ExternalId, timesheet_domain::WorkerId>, $crate::StoreError> {
                workers::upsert_workers(&mut self.tx, &self.tenant, workers, now).await
            }

            async fn upsert_projects(
                &mut self,
                codes: &[timesheet_domain::ProjectCode],
                now: time::OffsetDateTime,
            ) -> Result<(), $crate::StoreError> {
                workers::upsert_projects(&mut self.tx, &self.tenant, codes, now).await
            }

            async fn entries_by_external_id(
                &mut self,
                source: &timesheet_domain::SourceName,
                external_ids: &[timesheet_domain::ExternalId],
            ) -> Result<std::collections::HashMap<timesheet_domain::ExternalId, timesheet_domain::ExistingEntry>, $crate::StoreError> {
                entries::by_external_id(&mut self.tx, &self.tenant, source, external_ids).await
            }

            async fn entry(&mut self, id: timesheet_domain::EntryId) -> Result<Option<timesheet_domain::Entry>, $crate::StoreError> {
                entries::entry(&mut self.tx, &self.tenant, id).await
            }

            async fn day_totals(&mut self, days: &[timesheet_domain::DayKey]) -> Result<std::collections::HashMap<timesheet_domain::DayKey, u32>, $crate::StoreError> {
                entries::day_totals(&mut self.tx, &self.tenant, days).await
            }

            async fn approved_weeks(&mut self, weeks: &[$crate::WeekKey]) -> Result<std::collections::HashSet<$crate::WeekKey>, $crate::StoreError> {
                weeks::approved_weeks(&mut self.tx, &self.tenant, weeks).await
            }

            async fn write_entries(
                &mut self,
                source: &timesheet_domain::SourceName,
                writes: &[$crate::EntryWrite],
                actor: &str,
                now: time::OffsetDateTime,
            ) -> Result<(), $crate::StoreError> {
                entries::write_entries(&mut self.tx, &self.tenant, source, writes, actor, now).await
            }

            async fn delete_entry(
                &mut self,
                id: timesheet_domain::EntryId,
                actor: &str,
                now: time::OffsetDateTime,
            ) -> Result<Option<i64>, $crate::StoreError> {
                entries::delete_entry(&mut self.tx, &self.tenant, id, actor, now).await
            }

            async fn week(&mut self, key: $crate::WeekKey) -> Result<Option<$crate::Week>, $crate::StoreError> {
                weeks::week(&mut self.tx, &self.tenant, key).await
            }

            async fn save_week(&mut self, week: &$crate::Week, now: time::OffsetDateTime) -> Result<$crate::Week, $crate::StoreError> {
                weeks::save_week(&mut self.tx, &self.tenant, week, now).await
            }

            async fn idempotency_complete(
                &mut self,
                subject: &str,
                key: &str,
                response: &$crate::StoredResponse,
                now: time::OffsetDateTime,
            ) -> Result<(), $crate::StoreError> {
                idempotency::complete(&mut self.tx, &self.tenant, subject, key, response, now).await
            }
        }
    };
}
pub(crate) use delegate_store_tx;
