//! Reads PostgreSQL rows into the shared row structs of [`crate::stored`]. PostgreSQL has
//! native uuid, date and timestamptz types, so nothing needs re-encoding.

use sqlx::postgres::PgRow;
use sqlx::Row;

use super::map_err;
use crate::stored::{EntryRow, ExistingRow, IdempotencyRow, WeekRow};
use crate::StoreError;

fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).map_err(map_err)
}

pub(super) fn entry_row(row: &PgRow) -> Result<EntryRow, StoreError> {
    Ok(EntryRow {
        entry_id: get(row, "entry_id")?,
        worker_id: get(row, "worker_id")?,
        worker_external_id: get(row, "worker_external_id")?,
        worker_kind: get(row, "worker_kind")?,
        worker_name: get(row, "worker_name")?,
        work_date: get(row, "work_date")?,
        project_code: get(row, "project_code")?,
        minutes: i64::from(get::<i32>(row, "minutes")?),
        notes: get(row, "notes")?,
        billable: get(row, "billable")?,
        source: get(row, "source")?,
        external_id: get(row, "external_id")?,
        status: get(row, "status")?,
        version: get(row, "version")?,
        created_at: get(row, "created_at")?,
        created_by: get(row, "created_by")?,
        updated_at: get(row, "updated_at")?,
        updated_by: get(row, "updated_by")?,
        deleted_at: get(row, "deleted_at")?,
    })
}

pub(super) fn existing_row(row: &PgRow) -> Result<ExistingRow, StoreError> {
    Ok(ExistingRow {
        entry_id: get(row, "entry_id")?,
        worker_id: get(row, "worker_id")?,
        work_date: get(row, "work_date")?,
        project_code: get(row, "project_code")?,
        minutes: i64::from(get::<i32>(row, "minutes")?),
        notes: get(row, "notes")?,
        billable: get(row, "billable")?,
        status: get(row, "status")?,
        version: get(row, "version")?,
        deleted: get(row, "deleted")?,
        external_id: get(row, "external_id")?,
    })
}

pub(super) fn week_row(row: &PgRow) -> Result<WeekRow, StoreError> {
    Ok(WeekRow {
        worker_id: get(row, "worker_id")?,
        worker_external_id: get(row, "external_id")?,
        iso_week: get(row, "iso_week")?,
        status: get(row, "status")?,
        entries: i64::from(get::<i32>(row, "entries")?),
        minutes: i64::from(get::<i32>(row, "minutes")?),
        submitted_at: get(row, "submitted_at")?,
        submitted_by: get(row, "submitted_by")?,
        decided_at: get(row, "decided_at")?,
        decided_by: get(row, "decided_by")?,
        reason: get(row, "reason")?,
    })
}

pub(super) fn idempotency_row(row: &PgRow) -> Result<IdempotencyRow, StoreError> {
    Ok(IdempotencyRow {
        request_hash: get(row, "request_hash")?,
        state: get(row, "state")?,
        response_status: get::<Option<i32>>(row, "response_status")?.map(i64::from),
        response_headers: get(row, "response_headers")?,
        response_body: get(row, "response_body")?,
        created_at: get(row, "created_at")?,
    })
}
