//! `list_entries`: filtered, keyset-paginated entry lists.

use sqlx::{PgConnection, Postgres, QueryBuilder};
use timesheet_domain::TenantId;

use super::codec;
use super::{map_err, statement};
use crate::statement::InSpan as _;
use crate::stored::{ENTRY_COLUMNS, ENTRY_FROM};
use crate::{Cursor, EntryFilter, Page, PageRequest, StoreError};

pub(super) async fn list_entries(
    conn: &mut PgConnection,
    tenant: &TenantId,
    filter: &EntryFilter,
    page: &PageRequest,
) -> Result<Page, StoreError> {
    let mut query = QueryBuilder::<Postgres>::new(format!("select {ENTRY_COLUMNS} {ENTRY_FROM}"));
    query
        .push(" where t.tenant_id = ")
        .push_bind(tenant.as_ref());
    if let Some(worker) = &filter.worker {
        query
            .push(" and k.external_id = ")
            .push_bind(worker.as_ref());
    }
    if let Some(worker) = filter.worker_id {
        query
            .push(" and t.worker_id = ")
            .push_bind(worker.as_uuid());
    }
    if let Some(project) = &filter.project {
        query
            .push(" and t.project_code = ")
            .push_bind(project.as_ref());
    }
    if let Some(status) = filter.status {
        query.push(" and t.status = ").push_bind(status.as_str());
    }
    if let Some(from) = filter.from {
        query.push(" and t.work_date >= ").push_bind(from.date());
    }
    if let Some(to) = filter.to {
        query.push(" and t.work_date <= ").push_bind(to.date());
    }
    if let Some(source) = &filter.source {
        query.push(" and t.source = ").push_bind(source.as_ref());
    }
    if let Some(external_id) = &filter.external_id {
        query
            .push(" and t.external_id = ")
            .push_bind(external_id.as_ref());
    }
    match filter.updated_since {
        // A sync must see deletions, so tombstones are included.
        Some(since) => query.push(" and t.updated_at >= ").push_bind(since),
        None => query.push(" and t.deleted_at is null"),
    };
    match page.cursor {
        Some(Cursor::Id(after)) => query.push(" and t.entry_id > ").push_bind(after.as_uuid()),
        Some(Cursor::Updated(at, after)) => query
            .push(" and (t.updated_at, t.entry_id) > (")
            .push_bind(at)
            .push(", ")
            .push_bind(after.as_uuid())
            .push(")"),
        None => &mut query,
    };
    if filter.updated_since.is_some() {
        query.push(" order by t.updated_at, t.entry_id");
    } else {
        query.push(" order by t.entry_id");
    }
    let limit = page.limit.max(1);
    // One row more than asked says whether there is a next page.
    query.push(" limit ").push_bind(i64::from(limit) + 1);
    let rows = query
        .build()
        .fetch_all(&mut *conn)
        .in_span(statement("SELECT", "time_entry"))
        .await
        .map_err(map_err)?;
    let entries = rows
        .iter()
        .map(|row| codec::entry_row(row)?.into_entry(tenant))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(crate::stored::cut_page(
        entries,
        limit,
        filter.updated_since.is_some(),
    ))
}
