//! Workers and project codes, upserted from uploads.

use std::collections::HashMap;

use sqlx::{PgConnection, Row};
use time::OffsetDateTime;
use timesheet_domain::{ExternalId, ProjectCode, TenantId, WorkerId, WorkerRef};
use uuid::Uuid;

use super::{map_err, statement};
use crate::statement::InSpan as _;
use crate::stored::corrupt;
use crate::StoreError;

pub(super) async fn upsert_workers(
    conn: &mut PgConnection,
    tenant: &TenantId,
    workers: &[WorkerRef],
    now: OffsetDateTime,
) -> Result<HashMap<ExternalId, WorkerId>, StoreError> {
    // The latest mention of a worker wins, as if the batch were applied item by item; and
    // PostgreSQL refuses to upsert one row twice in a statement.
    let mut unique: HashMap<&ExternalId, &WorkerRef> = HashMap::new();
    for worker in workers {
        unique.insert(&worker.external_id, worker);
    }
    if unique.is_empty() {
        return Ok(HashMap::new());
    }
    let n = unique.len();
    let (mut ids, mut externals, mut kinds, mut names, mut emails) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for worker in unique.into_values() {
        ids.push(WorkerId::generate().as_uuid());
        externals.push(worker.external_id.as_ref());
        kinds.push(worker.kind.as_str());
        names.push(worker.name.as_ref().map(AsRef::<str>::as_ref));
        emails.push(worker.email.as_ref().map(AsRef::<str>::as_ref));
    }
    // A name or e-mail the upload leaves out is kept. Only changed workers are written: an
    // `on conflict do update` that rewrites unchanged rows leaves a dead row version per worker
    // per upload, which piles up (and slows every later upsert) while any transaction is open.
    // Unchanged workers are read from the statement's snapshot instead; under the tenant lock
    // nobody else writes them meanwhile.
    let rows = sqlx::query(
        "with input as ( \
             select * from unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[]) \
                 as u (worker_id, external_id, kind, name, email) \
         ), written as ( \
             insert into worker (worker_id, tenant_id, external_id, kind, name, email, \
                 created_at, updated_at) \
             select i.worker_id, $1, i.external_id, i.kind, i.name, i.email, $2, $2 \
             from input i \
             on conflict (tenant_id, external_id) do update set \
                 kind = excluded.kind, \
                 name = coalesce(excluded.name, worker.name), \
                 email = coalesce(excluded.email, worker.email), \
                 updated_at = excluded.updated_at \
             where (worker.kind, worker.name, worker.email) is distinct from \
                 (excluded.kind, coalesce(excluded.name, worker.name), \
                  coalesce(excluded.email, worker.email)) \
             returning external_id, worker_id \
         ) \
         select external_id, worker_id from written \
         union all \
         select w.external_id, w.worker_id from input i \
         cross join lateral ( \
             select external_id, worker_id from worker \
             where tenant_id = $1 and external_id = i.external_id \
         ) w \
         where not exists (select 1 from written x where x.external_id = i.external_id)",
    )
    .bind(tenant.as_ref())
    .bind(now)
    .bind(&ids)
    .bind(&externals)
    .bind(&kinds)
    .bind(&names)
    .bind(&emails)
    .fetch_all(&mut *conn)
    .in_span(statement("INSERT", "worker"))
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|row| {
            let external: &str = row.try_get("external_id").map_err(map_err)?;
            let id: Uuid = row.try_get("worker_id").map_err(map_err)?;
            let external =
                ExternalId::parse(external).map_err(|err| corrupt("worker.external_id", err))?;
            Ok((external, WorkerId::from_uuid(id)))
        })
        .collect()
}

pub(super) async fn upsert_projects(
    conn: &mut PgConnection,
    tenant: &TenantId,
    codes: &[ProjectCode],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let mut unique: Vec<&str> = codes.iter().map(AsRef::as_ref).collect();
    unique.sort_unstable();
    unique.dedup();
    if unique.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into project (tenant_id, code, created_at) \
         select $1, u.code, $2 from unnest($3::text[]) as u (code) \
         on conflict (tenant_id, code) do nothing",
    )
    .bind(tenant.as_ref())
    .bind(now)
    .bind(&unique)
    .execute(&mut *conn)
    .in_span(statement("INSERT", "project"))
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(super) async fn worker_id(
    conn: &mut PgConnection,
    tenant: &TenantId,
    external_id: &ExternalId,
) -> Result<Option<WorkerId>, StoreError> {
    let id: Option<Uuid> = sqlx::query_scalar(
        "select worker_id from worker where tenant_id = $1 and external_id = $2",
    )
    .bind(tenant.as_ref())
    .bind(external_id.as_ref())
    .fetch_optional(&mut *conn)
    .in_span(statement("SELECT", "worker"))
    .await
    .map_err(map_err)?;
    Ok(id.map(WorkerId::from_uuid))
}
