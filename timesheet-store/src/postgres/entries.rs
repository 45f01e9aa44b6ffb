//! Time entries: the reads the batch planner needs and the set-based writes it decides.
//! Each function is one statement with array binds, whatever the number of rows.

use std::collections::{HashMap, HashSet};

use sqlx::{PgConnection, Row};
use time::{Date, OffsetDateTime};
use timesheet_domain::{
    DayKey, Entry, EntryId, ExistingEntry, ExternalId, SourceName, TenantId, WorkDate, WorkerId,
};
use uuid::Uuid;

use super::codec;
use super::{map_err, statement};
use crate::statement::InSpan as _;
use crate::stored::{self, ENTRY_COLUMNS, ENTRY_FROM};
use crate::{EntryWrite, StoreError, WriteKind};

pub(super) async fn entry(
    conn: &mut PgConnection,
    tenant: &TenantId,
    id: EntryId,
) -> Result<Option<Entry>, StoreError> {
    let sql =
        format!("select {ENTRY_COLUMNS} {ENTRY_FROM} where t.tenant_id = $1 and t.entry_id = $2");
    let row = sqlx::query(&sql)
        .bind(tenant.as_ref())
        .bind(id.as_uuid())
        .fetch_optional(&mut *conn)
        .in_span(statement("SELECT", "time_entry"))
        .await
        .map_err(map_err)?;
    row.map(|row| codec::entry_row(&row)?.into_entry(tenant))
        .transpose()
}

pub(super) async fn by_external_id(
    conn: &mut PgConnection,
    tenant: &TenantId,
    source: &SourceName,
    external_ids: &[ExternalId],
) -> Result<HashMap<ExternalId, ExistingEntry>, StoreError> {
    if external_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut ids: Vec<&str> = external_ids.iter().map(AsRef::as_ref).collect();
    ids.sort_unstable();
    ids.dedup();
    // One unique-index probe per id (the LIMIT keeps the planner from turning it into a scan,
    // whatever its statistics say: they are often stale right after a bulk load).
    let rows = sqlx::query(
        "select e.* from unnest($3::text[]) as x (external_id) \
         cross join lateral ( \
             select entry_id, worker_id, work_date, project_code, minutes, notes, billable, \
                 status, version, deleted_at is not null as deleted, external_id \
             from time_entry t \
             where t.tenant_id = $1 and t.source = $2 and t.external_id = x.external_id \
             limit 1) e",
    )
    .bind(tenant.as_ref())
    .bind(source.as_ref())
    .bind(&ids)
    .fetch_all(&mut *conn)
    .in_span(statement("SELECT", "time_entry"))
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|row| codec::existing_row(row)?.into_existing())
        .collect()
}

pub(super) async fn day_totals(
    conn: &mut PgConnection,
    tenant: &TenantId,
    days: &[DayKey],
) -> Result<HashMap<DayKey, u32>, StoreError> {
    // A day asked for twice must not be summed twice.
    let unique: HashSet<&DayKey> = days.iter().collect();
    if unique.is_empty() {
        return Ok(HashMap::new());
    }
    let (workers, dates): (Vec<Uuid>, Vec<Date>) = unique
        .iter()
        .map(|(worker, day)| (worker.as_uuid(), day.date()))
        .unzip();
    // One index range per day, as in entries_by_external_id.
    let rows = sqlx::query(
        "select d.worker_id, d.work_date, s.minutes \
         from unnest($2::uuid[], $3::date[]) as d (worker_id, work_date) \
         cross join lateral ( \
             select sum(t.minutes)::bigint as minutes from time_entry t \
             where t.tenant_id = $1 and t.worker_id = d.worker_id \
               and t.work_date = d.work_date and t.deleted_at is null) s \
         where s.minutes is not null",
    )
    .bind(tenant.as_ref())
    .bind(&workers)
    .bind(&dates)
    .fetch_all(&mut *conn)
    .in_span(statement("SELECT", "time_entry"))
    .await
    .map_err(map_err)?;
    let mut totals = HashMap::with_capacity(rows.len());
    for row in rows {
        let worker: Uuid = row.try_get("worker_id").map_err(map_err)?;
        let day: Date = row.try_get("work_date").map_err(map_err)?;
        let minutes: i64 = row.try_get("minutes").map_err(map_err)?;
        totals.insert(
            (WorkerId::from_uuid(worker), WorkDate::from_date(day)),
            stored::count("minutes", minutes)?,
        );
    }
    Ok(totals)
}

/// The columns of a batch, one array each, as `UNNEST` takes them.
#[derive(Default)]
struct Columns<'a> {
    entry_id: Vec<Uuid>,
    worker_id: Vec<Uuid>,
    work_date: Vec<Date>,
    project_code: Vec<&'a str>,
    minutes: Vec<i32>,
    notes: Vec<&'a str>,
    billable: Vec<bool>,
    external_id: Vec<Option<&'a str>>,
    version: Vec<i64>,
    revive: Vec<bool>,
}

impl<'a> Columns<'a> {
    fn push(&mut self, w: &'a EntryWrite) {
        self.entry_id.push(w.id.as_uuid());
        self.worker_id.push(w.worker.as_uuid());
        self.work_date.push(w.entry.date.date());
        self.project_code.push(w.entry.project.as_ref());
        // At most 1,440, so it always fits.
        self.minutes
            .push(i32::try_from(w.entry.minutes.get()).unwrap_or(i32::MAX));
        self.notes.push(w.entry.notes.as_ref());
        self.billable.push(w.entry.billable);
        self.external_id
            .push(w.entry.external_id.as_ref().map(AsRef::as_ref));
        self.version.push(w.version);
        self.revive.push(w.kind == WriteKind::Revive);
    }
}

pub(super) async fn write_entries(
    conn: &mut PgConnection,
    tenant: &TenantId,
    source: &SourceName,
    writes: &[EntryWrite],
    actor: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let mut inserts = Columns::default();
    let mut updates = Columns::default();
    for w in writes {
        match w.kind {
            WriteKind::Insert => inserts.push(w),
            WriteKind::Update | WriteKind::Revive => updates.push(w),
        }
    }
    // Every row must name a worker of this tenant, the check time_entry's foreign key once made
    // (see migration 0002): both statements join each row to its worker, and a count short of
    // the batch fails it.
    if !inserts.entry_id.is_empty() {
        // INSERT, not COPY: COPY costs PostgreSQL a little less per row, but sqlx cannot take
        // back a COPY whose future is dropped half-way (a client gone mid-upload): the server's
        // answer to the abandoned COPY is left unread and every later statement on that
        // pooled connection reads the answer meant for the one before.
        let done = sqlx::query(
            "insert into time_entry (entry_id, tenant_id, worker_id, work_date, project_code, \
             minutes, notes, billable, source, external_id, status, version, created_at, \
             created_by, updated_at, updated_by) \
             select u.entry_id, $1, u.worker_id, u.work_date, u.project_code, u.minutes, \
                 u.notes, u.billable, $2, u.external_id, 'open', u.version, $3, $4, $3, $4 \
             from unnest($5::uuid[], $6::uuid[], $7::date[], $8::text[], $9::int[], \
                 $10::text[], $11::boolean[], $12::text[], $13::bigint[]) \
                 as u (entry_id, worker_id, work_date, project_code, minutes, notes, billable, \
                 external_id, version) \
             where exists (select 1 from worker w \
                 where w.tenant_id = $1 and w.worker_id = u.worker_id)",
        )
        .bind(tenant.as_ref())
        .bind(source.as_ref())
        .bind(now)
        .bind(actor)
        .bind(&inserts.entry_id)
        .bind(&inserts.worker_id)
        .bind(&inserts.work_date)
        .bind(&inserts.project_code)
        .bind(&inserts.minutes)
        .bind(&inserts.notes)
        .bind(&inserts.billable)
        .bind(&inserts.external_id)
        .bind(&inserts.version)
        .execute(&mut *conn)
        .in_span(statement("INSERT", "time_entry"))
        .await
        .map_err(map_err)?;
        stored::check_all_written(done.rows_affected(), inserts.entry_id.len())?;
    }
    if !updates.entry_id.is_empty() {
        // A revived tombstone starts over as open; an update keeps its week's status.
        let done = sqlx::query(
            "update time_entry t set worker_id = u.worker_id, work_date = u.work_date, \
                 project_code = u.project_code, minutes = u.minutes, notes = u.notes, \
                 billable = u.billable, source = $2, external_id = u.external_id, \
                 version = u.version, updated_at = $3, updated_by = $4, \
                 status = case when u.revive then 'open' else t.status end, \
                 deleted_at = case when u.revive then null else t.deleted_at end \
             from unnest($5::uuid[], $6::uuid[], $7::date[], $8::text[], $9::int[], \
                 $10::text[], $11::boolean[], $12::text[], $13::bigint[], $14::boolean[]) \
                 as u (entry_id, worker_id, work_date, project_code, minutes, notes, billable, \
                 external_id, version, revive) \
             where t.tenant_id = $1 and t.entry_id = u.entry_id \
                 and exists (select 1 from worker w \
                     where w.tenant_id = $1 and w.worker_id = u.worker_id)",
        )
        .bind(tenant.as_ref())
        .bind(source.as_ref())
        .bind(now)
        .bind(actor)
        .bind(&updates.entry_id)
        .bind(&updates.worker_id)
        .bind(&updates.work_date)
        .bind(&updates.project_code)
        .bind(&updates.minutes)
        .bind(&updates.notes)
        .bind(&updates.billable)
        .bind(&updates.external_id)
        .bind(&updates.version)
        .bind(&updates.revive)
        .execute(&mut *conn)
        .in_span(statement("UPDATE", "time_entry"))
        .await
        .map_err(map_err)?;
        stored::check_all_written(done.rows_affected(), updates.entry_id.len())?;
    }
    Ok(())
}

pub(super) async fn delete_entry(
    conn: &mut PgConnection,
    tenant: &TenantId,
    id: EntryId,
    actor: &str,
    now: OffsetDateTime,
) -> Result<Option<i64>, StoreError> {
    sqlx::query_scalar(
        "update time_entry set deleted_at = $1, updated_at = $1, updated_by = $2, \
         version = version + 1 \
         where tenant_id = $3 and entry_id = $4 and deleted_at is null \
         returning version",
    )
    .bind(now)
    .bind(actor)
    .bind(tenant.as_ref())
    .bind(id.as_uuid())
    .fetch_optional(&mut *conn)
    .in_span(statement("UPDATE", "time_entry"))
    .await
    .map_err(map_err)
}
