//! Worker weeks: their status, and the entries that follow it.

use std::collections::HashSet;

use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;
use timesheet_domain::{TenantId, WeekStatus, WorkerId};

use super::codec::{self, date_text, micros, uuid, worker_id};
use super::{map_err, statement};
use crate::statement::InSpan as _;
use crate::stored::{self, WEEK_COLUMNS, WEEK_FROM};
use crate::{StoreError, Week, WeekKey};

pub(super) async fn approved_weeks(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    weeks: &[WeekKey],
) -> Result<HashSet<WeekKey>, StoreError> {
    if weeks.is_empty() {
        return Ok(HashSet::new());
    }
    let pairs: Vec<[String; 2]> = weeks
        .iter()
        .map(|(worker, week)| [worker_id(*worker), week.to_string()])
        .collect();
    let pairs = serde_json::to_string(&pairs).map_err(|err| stored::corrupt("weeks", err))?;
    let rows = sqlx::query(
        "select distinct w.worker_id, w.iso_week \
         from json_each(?) d cross join week w \
         where w.tenant_id = ? \
           and w.worker_id = json_extract(d.value, '$[0]') \
           and w.iso_week = json_extract(d.value, '$[1]') \
           and w.status = 'approved'",
    )
    .bind(pairs)
    .bind(tenant.as_ref())
    .fetch_all(&mut *conn)
    .in_span(statement("SELECT", "week"))
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|row| {
            let worker: &str = row.try_get("worker_id").map_err(map_err)?;
            let week: &str = row.try_get("iso_week").map_err(map_err)?;
            Ok((WorkerId::from_uuid(uuid(worker)?), stored::iso_week(week)?))
        })
        .collect()
}

pub(super) async fn week(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    (worker, week): WeekKey,
) -> Result<Option<Week>, StoreError> {
    let sql = format!(
        "select {WEEK_COLUMNS} {WEEK_FROM} \
         where w.tenant_id = ? and w.worker_id = ? and w.iso_week = ?"
    );
    let row = sqlx::query(&sql)
        .bind(tenant.as_ref())
        .bind(worker_id(worker))
        .bind(week.to_string())
        .fetch_optional(&mut *conn)
        .in_span(statement("SELECT", "week"))
        .await
        .map_err(map_err)?;
    row.map(|row| codec::week_row(&row)?.into_week())
        .transpose()
}

pub(super) async fn save_week(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    week: &Week,
    now: OffsetDateTime,
) -> Result<Week, StoreError> {
    let worker = worker_id(week.worker);
    let iso_week = week.week.to_string();
    let status = week.status.as_str();
    sqlx::query(
        "insert into week (tenant_id, worker_id, iso_week, status, entries, minutes, \
         submitted_at, submitted_by, decided_at, decided_by, reason) \
         values (?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?) \
         on conflict (tenant_id, worker_id, iso_week) do update set \
         status = excluded.status, submitted_at = excluded.submitted_at, \
         submitted_by = excluded.submitted_by, decided_at = excluded.decided_at, \
         decided_by = excluded.decided_by, reason = excluded.reason",
    )
    .bind(tenant.as_ref())
    .bind(&worker)
    .bind(&iso_week)
    .bind(status)
    .bind(week.submitted_at.map(micros))
    .bind(week.submitted_by.as_deref())
    .bind(week.decided_at.map(micros))
    .bind(week.decided_by.as_deref())
    .bind(week.reason.as_deref())
    .execute(&mut *conn)
    .in_span(statement("INSERT", "week"))
    .await
    .map_err(map_err)?;

    let first = date_text(week.week.first_day());
    let last = date_text(week.week.last_day());
    sqlx::query(
        "update time_entry set status = ?, version = version + 1, updated_at = ?, \
         updated_by = ? \
         where tenant_id = ? and worker_id = ? and work_date between ? and ? \
           and deleted_at is null and status <> ?",
    )
    .bind(status)
    .bind(micros(now))
    .bind(stored::week_actor(week))
    .bind(tenant.as_ref())
    .bind(&worker)
    .bind(&first)
    .bind(&last)
    .bind(status)
    .execute(&mut *conn)
    .in_span(statement("UPDATE", "time_entry"))
    .await
    .map_err(map_err)?;

    // Read back rather than echo the argument: the worker's external id is the stored one.
    sqlx::query(
        "update week set (entries, minutes) = ( \
             select count(*), coalesce(sum(minutes), 0) from time_entry \
             where tenant_id = ? and worker_id = ? and work_date between ? and ? \
               and deleted_at is null) \
         where tenant_id = ? and worker_id = ? and iso_week = ?",
    )
    .bind(tenant.as_ref())
    .bind(&worker)
    .bind(&first)
    .bind(&last)
    .bind(tenant.as_ref())
    .bind(&worker)
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
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    status: WeekStatus,
    limit: u32,
) -> Result<Vec<Week>, StoreError> {
    let sql = format!(
        "select {WEEK_COLUMNS} {WEEK_FROM} \
         where w.tenant_id = ? and w.status = ? \
         order by w.submitted_at, w.worker_id, w.iso_week limit ?"
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
