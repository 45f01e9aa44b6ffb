//! Time entries: the reads the batch planner needs and the set-based writes it decides.

use std::collections::{HashMap, HashSet};

use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use time::OffsetDateTime;
use timesheet_domain::{
    DayKey, Entry, EntryId, ExistingEntry, ExternalId, SourceName, TenantId, WorkDate, WorkerId,
};

use super::codec::{self, date, entry_id, micros, uuid, worker_id};
use super::{map_err, statement, MAX_VARIABLES};
use crate::statement::InSpan as _;
use crate::stored::{self, ENTRY_COLUMNS, ENTRY_FROM};
use crate::{EntryWrite, StoreError, WriteKind};

pub(super) async fn entry(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    id: EntryId,
) -> Result<Option<Entry>, StoreError> {
    let sql =
        format!("select {ENTRY_COLUMNS} {ENTRY_FROM} where t.tenant_id = ? and t.entry_id = ?");
    let row = sqlx::query(&sql)
        .bind(tenant.as_ref())
        .bind(entry_id(id))
        .fetch_optional(&mut *conn)
        .in_span(statement("SELECT", "time_entry"))
        .await
        .map_err(map_err)?;
    row.map(|row| codec::entry_row(&row)?.into_entry(tenant))
        .transpose()
}

pub(super) async fn by_external_id(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    source: &SourceName,
    external_ids: &[ExternalId],
) -> Result<HashMap<ExternalId, ExistingEntry>, StoreError> {
    if external_ids.is_empty() {
        return Ok(HashMap::new());
    }
    // One JSON array parameter, however many ids: no variable limit, one cached statement.
    let ids: Vec<&str> = external_ids.iter().map(AsRef::as_ref).collect();
    let ids = serde_json::to_string(&ids).map_err(|err| stored::corrupt("external ids", err))?;
    let rows = sqlx::query(
        "select entry_id, worker_id, work_date, project_code, minutes, notes, billable, status, \
         version, deleted_at is not null as deleted, external_id \
         from time_entry \
         where tenant_id = ? and source = ? and external_id in (select value from json_each(?))",
    )
    .bind(tenant.as_ref())
    .bind(source.as_ref())
    .bind(ids)
    .fetch_all(&mut *conn)
    .in_span(statement("SELECT", "time_entry"))
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|row| codec::existing_row(row)?.into_existing())
        .collect()
}

pub(super) async fn day_totals(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    days: &[DayKey],
) -> Result<HashMap<DayKey, u32>, StoreError> {
    if days.is_empty() {
        return Ok(HashMap::new());
    }
    // A day asked for twice must not be summed twice.
    let unique: HashSet<&DayKey> = days.iter().collect();
    let pairs: Vec<[String; 2]> = unique
        .iter()
        .map(|(worker, day)| [worker_id(*worker), day.to_string()])
        .collect();
    let pairs = serde_json::to_string(&pairs).map_err(|err| stored::corrupt("days", err))?;
    // The asked-for days drive the query, one index range each; a correlated subquery sums
    // a day without sorting the whole result for a GROUP BY. Days without entries come back
    // as NULL and are skipped here: filtering in SQL would make SQLite run the sum twice.
    let rows = sqlx::query(
        "select json_extract(d.value, '$[0]') as worker_id, \
             json_extract(d.value, '$[1]') as work_date, \
             (select sum(t.minutes) from time_entry t \
              where t.tenant_id = ?2 \
                and t.worker_id = json_extract(d.value, '$[0]') \
                and t.work_date = json_extract(d.value, '$[1]') \
                and t.deleted_at is null) as minutes \
         from json_each(?1) d",
    )
    .bind(pairs)
    .bind(tenant.as_ref())
    .fetch_all(&mut *conn)
    .in_span(statement("SELECT", "time_entry"))
    .await
    .map_err(map_err)?;
    let mut totals = HashMap::with_capacity(rows.len());
    for row in rows {
        let worker: &str = row.try_get("worker_id").map_err(map_err)?;
        let day: &str = row.try_get("work_date").map_err(map_err)?;
        let minutes: Option<i64> = row.try_get("minutes").map_err(map_err)?;
        let Some(minutes) = minutes else { continue };
        totals.insert(
            (
                WorkerId::from_uuid(uuid(worker)?),
                WorkDate::from_date(date(day)?),
            ),
            stored::count("minutes", minutes)?,
        );
    }
    Ok(totals)
}

const INSERT_COLUMNS: usize = 16;
const UPDATE_COLUMNS: usize = 10;

pub(super) async fn write_entries(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    source: &SourceName,
    writes: &[EntryWrite],
    actor: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let now = micros(now);
    let (inserts, updates): (Vec<&EntryWrite>, Vec<&EntryWrite>) =
        writes.iter().partition(|w| w.kind == WriteKind::Insert);
    for chunk in inserts.chunks(MAX_VARIABLES / INSERT_COLUMNS) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "insert into time_entry (entry_id, tenant_id, worker_id, work_date, project_code, \
             minutes, notes, billable, source, external_id, status, version, created_at, \
             created_by, updated_at, updated_by) ",
        );
        query.push_values(chunk, |mut row, w| {
            row.push_bind(entry_id(w.id))
                .push_bind(tenant.as_ref())
                .push_bind(worker_id(w.worker))
                .push_bind(w.entry.date.to_string())
                .push_bind(w.entry.project.as_ref())
                .push_bind(i64::from(w.entry.minutes.get()))
                .push_bind(w.entry.notes.as_ref())
                .push_bind(w.entry.billable)
                .push_bind(source.as_ref())
                .push_bind(w.entry.external_id.as_ref().map(|e| e.as_ref().to_owned()))
                .push_bind("open")
                .push_bind(w.version)
                .push_bind(now)
                .push_bind(actor)
                .push_bind(now)
                .push_bind(actor);
        });
        query
            .build()
            .execute(&mut *conn)
            .in_span(statement("INSERT", "time_entry"))
            .await
            .map_err(map_err)?;
    }
    for chunk in updates.chunks((MAX_VARIABLES - 5) / UPDATE_COLUMNS) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "with u (entry_id, worker_id, work_date, project_code, minutes, notes, billable, \
             external_id, version, revive) as (",
        );
        query.push_values(chunk, |mut row, w| {
            row.push_bind(entry_id(w.id))
                .push_bind(worker_id(w.worker))
                .push_bind(w.entry.date.to_string())
                .push_bind(w.entry.project.as_ref())
                .push_bind(i64::from(w.entry.minutes.get()))
                .push_bind(w.entry.notes.as_ref())
                .push_bind(w.entry.billable)
                .push_bind(w.entry.external_id.as_ref().map(|e| e.as_ref().to_owned()))
                .push_bind(w.version)
                .push_bind(w.kind == WriteKind::Revive);
        });
        // A revived tombstone starts over as open; an update keeps its week's status.
        query
            .push(
                ") update time_entry set worker_id = u.worker_id, work_date = u.work_date, \
                 project_code = u.project_code, minutes = u.minutes, notes = u.notes, \
                 billable = u.billable, external_id = u.external_id, version = u.version, \
                 status = case when u.revive then 'open' else time_entry.status end, \
                 deleted_at = case when u.revive then null else time_entry.deleted_at end, \
                 source = ",
            )
            .push_bind(source.as_ref())
            .push(", updated_at = ")
            .push_bind(now)
            .push(", updated_by = ")
            .push_bind(actor)
            .push(" from u where time_entry.tenant_id = ")
            .push_bind(tenant.as_ref())
            .push(" and time_entry.entry_id = u.entry_id");
        let done = query
            .build()
            .execute(&mut *conn)
            .in_span(statement("UPDATE", "time_entry"))
            .await
            .map_err(map_err)?;
        stored::check_all_written(done.rows_affected(), chunk.len())?;
    }
    Ok(())
}

pub(super) async fn delete_entry(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    id: EntryId,
    actor: &str,
    now: OffsetDateTime,
) -> Result<Option<i64>, StoreError> {
    let now = micros(now);
    sqlx::query_scalar(
        "update time_entry set deleted_at = ?, updated_at = ?, updated_by = ?, \
         version = version + 1 \
         where tenant_id = ? and entry_id = ? and deleted_at is null \
         returning version",
    )
    .bind(now)
    .bind(now)
    .bind(actor)
    .bind(tenant.as_ref())
    .bind(entry_id(id))
    .fetch_optional(&mut *conn)
    .in_span(statement("UPDATE", "time_entry"))
    .await
    .map_err(map_err)
}
