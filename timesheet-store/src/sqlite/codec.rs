//! How SQLite holds what it has no type for: UUIDs as lowercase hyphenated text, dates as
//! `YYYY-MM-DD` text, instants as integer microseconds since the Unix epoch (UTC). Also reads
//! rows into the shared row structs of [`crate::stored`].

use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use time::{Date, OffsetDateTime};
use timesheet_domain::{EntryId, WorkDate, WorkerId};
use uuid::Uuid;

use super::map_err;
use crate::stored::{corrupt, EntryRow, ExistingRow, IdempotencyRow, WeekRow};
use crate::StoreError;

/// Microseconds since the epoch; sub-microsecond precision is dropped, as PostgreSQL does.
pub(super) fn micros(at: OffsetDateTime) -> i64 {
    let micros = at.unix_timestamp_nanos().div_euclid(1_000);
    // Every OffsetDateTime (years -9999..=9999) fits in i64 microseconds.
    i64::try_from(micros).unwrap_or(i64::MAX)
}

pub(super) fn instant(micros: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|err| corrupt("timestamp", err))
}

fn opt_instant(micros: Option<i64>) -> Result<Option<OffsetDateTime>, StoreError> {
    micros.map(instant).transpose()
}

pub(super) fn uuid_text(id: Uuid) -> String {
    id.hyphenated().to_string()
}

pub(super) fn entry_id(id: EntryId) -> String {
    uuid_text(id.as_uuid())
}

pub(super) fn worker_id(id: WorkerId) -> String {
    uuid_text(id.as_uuid())
}

pub(super) fn date_text(date: Date) -> String {
    WorkDate::from_date(date).to_string()
}

pub(super) fn uuid(raw: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(raw).map_err(|err| corrupt("uuid", err))
}

pub(super) fn date(raw: &str) -> Result<Date, StoreError> {
    WorkDate::parse(raw)
        .map(WorkDate::date)
        .map_err(|err| corrupt("work_date", err))
}

fn get<'r, T>(row: &'r SqliteRow, column: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(column).map_err(map_err)
}

pub(super) fn entry_row(row: &SqliteRow) -> Result<EntryRow, StoreError> {
    Ok(EntryRow {
        entry_id: uuid(get(row, "entry_id")?)?,
        worker_id: uuid(get(row, "worker_id")?)?,
        worker_external_id: get(row, "worker_external_id")?,
        worker_kind: get(row, "worker_kind")?,
        worker_name: get(row, "worker_name")?,
        work_date: date(get(row, "work_date")?)?,
        project_code: get(row, "project_code")?,
        minutes: get(row, "minutes")?,
        notes: get(row, "notes")?,
        billable: get(row, "billable")?,
        source: get(row, "source")?,
        external_id: get(row, "external_id")?,
        status: get(row, "status")?,
        version: get(row, "version")?,
        created_at: instant(get(row, "created_at")?)?,
        created_by: get(row, "created_by")?,
        updated_at: instant(get(row, "updated_at")?)?,
        updated_by: get(row, "updated_by")?,
        deleted_at: opt_instant(get(row, "deleted_at")?)?,
    })
}

pub(super) fn existing_row(row: &SqliteRow) -> Result<ExistingRow, StoreError> {
    Ok(ExistingRow {
        entry_id: uuid(get(row, "entry_id")?)?,
        worker_id: uuid(get(row, "worker_id")?)?,
        work_date: date(get(row, "work_date")?)?,
        project_code: get(row, "project_code")?,
        minutes: get(row, "minutes")?,
        notes: get(row, "notes")?,
        billable: get(row, "billable")?,
        status: get(row, "status")?,
        version: get(row, "version")?,
        deleted: get(row, "deleted")?,
        external_id: get(row, "external_id")?,
    })
}

pub(super) fn week_row(row: &SqliteRow) -> Result<WeekRow, StoreError> {
    Ok(WeekRow {
        worker_id: uuid(get(row, "worker_id")?)?,
        worker_external_id: get(row, "external_id")?,
        iso_week: get(row, "iso_week")?,
        status: get(row, "status")?,
        entries: get(row, "entries")?,
        minutes: get(row, "minutes")?,
        submitted_at: opt_instant(get(row, "submitted_at")?)?,
        submitted_by: get(row, "submitted_by")?,
        decided_at: opt_instant(get(row, "decided_at")?)?,
        decided_by: get(row, "decided_by")?,
        reason: get(row, "reason")?,
    })
}

pub(super) fn idempotency_row(row: &SqliteRow) -> Result<IdempotencyRow, StoreError> {
    Ok(IdempotencyRow {
        request_hash: get(row, "request_hash")?,
        state: get(row, "state")?,
        response_status: get(row, "response_status")?,
        response_headers: get(row, "response_headers")?,
        response_body: get(row, "response_body")?,
        created_at: instant(get(row, "created_at")?)?,
    })
}
