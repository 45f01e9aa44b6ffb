//! Worker weeks: their status, and the entries that follow it.

use std::collections::HashSet;

use sqlx::{PgConnection, Row};
use time::OffsetDateTime;
use timesheet_domain::{TenantId, WeekStatus, WorkerId};
use uuid::Uuid;

use super::codec;
use super::{map_err, statement};
use crate::statement::InSpan as _;
use crate::stored::{self, WEEK_COLUMNS, WEEK_FROM};
use crate::{StoreError, Week, WeekKey};

pub(super) async fn approved_weeks(
    conn: &mut PgConnection,
    tenant: &TenantId,
    weeks: &[WeekKey],
) -> Result<HashSet<WeekKey>, StoreError> {
    if weeks.is_empty() {
        return Ok(HashSet::new());
    }
    // One primary-key probe per week, whatever the statistics say (see entries.rs).
    let unique: HashSet<&WeekKey> = weeks.iter().collect();
    let (workers, iso_weeks): (Vec<Uuid>, Vec<String>) = unique
        .iter()
        .map(|(worker, week)| (worker.as_uuid(), week.to_string()))
        .unzip();
    let rows = sqlx::query(
        "select d.worker_id, d.iso_week \
         from unnest($2::uuid[], $3::text[]) as d (worker_id, iso_week) \
         cross join lateral ( \
             select 1 from week w \
             where w.tenant_id = $1 and w.worker_id = d.worker_id \
               and w.iso_week = d.iso_week and w.status = 'approved' \
             limit 1) a",
    )
    .bind(tenant.as_ref())
    .bind(&workers)
    .bind(&iso_weeks)
    .fetch_all(&mut *conn)
    .in_span(statement("SELECT", "week"))
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|row| {
            let worker: Uuid = row.try_get("worker_id").map_err(map_err)?;
            let week: &str = row.try_get("iso_week").map_err(map_err)?;
            Ok((WorkerId::from_uuid(worker), stored::iso_week(week)?))
        })
        .collect()
}

pub(super) async fn week(
    conn: &mut PgConnection,
    tenant: &TenantId,
    (worker, week): WeekKey,
) -> Result<Option<Week>, StoreError> {
    let sql = format!(
        "select {WEEK_COLUMNS} {WEEK_FROM} \
         where w.tenant_id = $1 and w.worker_id = $2 and w.iso_week = $3"
    );
    let row = sqlx::query(&sql)
        .bind(tenant.as_ref())
        .bind(worker.as_uuid())
        .bind(week.to_string())
        .fetch_optional(&mut *conn)
        .in_span(statement("SELECT", "week"))
        .await
        .map_err(map_err)?;
    row.map(|row| codec::week_row(&row)?.into_week())
        .transpose()
}

pub(super) async fn save_week(
    conn: &mut PgConnection,
    tenant: &TenantId,
    week: &Week,
    now: OffsetDateTime,
) -> Result<Week, StoreError> {
    let worker = week.worker.as_uuid();
    let iso_week = week.week.to_string();
    let status = week.status.as_str();
    sqlx::query(
        "insert into week (tenant_id, worker_id, iso_week, status, entries, minutes, \
         submitted_at, submitted_by, decided_at, decided_by, reason) \
         values ($1, $2, $3, $4, 0, 0, $5, $6, $7, $8, $9) \
         on conflict (tenant_id, worker_id, iso_week) do update set \
         status = excluded.status, submitted_at = excluded.submitted_at, \
         submitted_by = excluded.submitted_by, decided_at = excluded.decided_at, \
         decided_by = excluded.decided_by, reason = excluded.reason",
    )
    .bind(tenant.as_ref())
    .bind(worker)
    .bind(&iso_week)
    .bind(status)
    .bind(week.submitted_at)
    .bind(week.submitted_by.as_deref())
    .bind(week.decided_at)
    .bind(week.decided_by.as_deref())
    .bind(week.reason.as_deref())
    .execute(&mut *conn)
    .in_span(statement("INSERT", "week"))
    .await
    .map_err(map_err)?;

    let first = week.week.first_day();
    let last = week.week.last_day();
    sqlx::query(
        "update time_entry set status = $1, version = version + 1, updated_at = $2, \
         updated_by = $3 \
         where tenant_id = $4 and worker_id = $5 and work_date between $6 and $7 \
           and deleted_at is null and status <> $1",
    )
    .bind(status)
    .bind(now)
    .bind(stored::week_actor(week))
    .bind(tenant.as_ref())
    .bind(worker)
    .bind(first)
    .bind(last)
    .execute(&mut *conn)
    .in_span(statement("UPDATE", "time_entry"))
    .await
    .map_err(map_err)?;

    // Read back rather than echo the argument: the worker's external id is the stored one.
    sqlx::query(
        "update week set (entries, minutes) = ( \
             select count(*), coalesce(sum(minutes), 0) from time_entry \
             where tenant_id = $1 and worker_id = $2 and work_date between $3 and $4 \
               and deleted_at is null) \
         where tenant_id = $1 and worker_id = $2 and iso_week = $5",
    )
    .bind(tenant.as_ref())
    .bind(worker)
    .bind(first)
    .bind(last)
    .bind(&iso_week)
    .execute(&mut *conn)
    .in_span(statement("UPDATE", "week"))
    .await
    .map_err(map_err)?;
    self::week(conn, tenant, (week.worker, week.week))
        .await?
        .ok_or(StoreError::Internal(sqlx::Error::RowNotFound))
}

pub(super) async fn list_weeks(
    conn: &mut PgConnection,
    tenant: &TenantId,
    status: WeekStatus,
    limit: u32,
) -> Result<Vec<Week>, StoreError> {
    let sql = format!(
        "select {WEEK_COLUMNS} {WEEK_FROM} \
         where w.tenant_id = $1 and w.status = $2 \
         order by w.submitted_at, w.worker_id, w.iso_week limit $3"
    );
    let rows = sqlx::query(&sql)
        .bind(tenant.as_ref())
        .bind(status.as_str())
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .in_span(statement("SELECT", "week"))
        .await
        .map_err(map_err)?;
    rows.iter()
        .map(|row| codec::week_row(row)?.into_week())
        .collect()
}
