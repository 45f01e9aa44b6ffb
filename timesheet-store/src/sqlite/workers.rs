//! Workers and project codes, upserted from uploads.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use time::OffsetDateTime;
use timesheet_domain::{ExternalId, ProjectCode, TenantId, WorkerId, WorkerRef};

use super::codec::{micros, uuid, worker_id as worker_text};
use super::{map_err, statement, MAX_VARIABLES};
use crate::statement::InSpan as _;
use crate::stored::corrupt;
use crate::StoreError;

pub(super) async fn upsert_workers(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    workers: &[WorkerRef],
    now: OffsetDateTime,
) -> Result<HashMap<ExternalId, WorkerId>, StoreError> {
    // The latest mention of a worker wins, as if the batch were applied item by item.
    let mut unique: HashMap<&ExternalId, &WorkerRef> = HashMap::new();
    for worker in workers {
        unique.insert(&worker.external_id, worker);
    }
    let unique: Vec<&WorkerRef> = unique.into_values().collect();
    let now = micros(now);
    let mut ids = HashMap::with_capacity(unique.len());
    for chunk in unique.chunks(MAX_VARIABLES / 8) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "insert into worker (worker_id, tenant_id, external_id, kind, name, email, \
             created_at, updated_at) ",
        );
        query.push_values(chunk, |mut row, worker| {
            row.push_bind(worker_text(WorkerId::generate()))
                .push_bind(tenant.as_ref())
                .push_bind(worker.external_id.as_ref())
                .push_bind(worker.kind.as_str())
                .push_bind(worker.name.as_ref().map(|n| n.as_ref().to_owned()))
                .push_bind(worker.email.as_ref().map(|e| e.as_ref().to_owned()))
                .push_bind(now)
                .push_bind(now);
        });
        // A name or e-mail the upload leaves out is kept; updated_at moves only on a change.
        query.push(
            " on conflict (tenant_id, external_id) do update set \
             kind = excluded.kind, \
             name = coalesce(excluded.name, worker.name), \
             email = coalesce(excluded.email, worker.email), \
             updated_at = case when worker.kind is not excluded.kind \
                 or worker.name is not coalesce(excluded.name, worker.name) \
                 or worker.email is not coalesce(excluded.email, worker.email) \
                 then excluded.updated_at else worker.updated_at end \
             returning external_id, worker_id",
        );
        let rows = query
            .build()
            .fetch_all(&mut *conn)
            .in_span(statement("INSERT", "worker"))
            .await
            .map_err(map_err)?;
        for row in rows {
            let external: String = row.try_get("external_id").map_err(map_err)?;
            let id: String = row.try_get("worker_id").map_err(map_err)?;
            let external =
                ExternalId::parse(&external).map_err(|err| corrupt("worker.external_id", err))?;
            ids.insert(external, WorkerId::from_uuid(uuid(&id)?));
        }
    }
    Ok(ids)
}

pub(super) async fn upsert_projects(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    codes: &[ProjectCode],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let mut unique: Vec<&ProjectCode> = codes.iter().collect();
    unique.sort();
    unique.dedup();
    let now = micros(now);
    for chunk in unique.chunks(MAX_VARIABLES / 3) {
        let mut query =
            QueryBuilder::<Sqlite>::new("insert into project (tenant_id, code, created_at) ");
        query.push_values(chunk, |mut row, code| {
            row.push_bind(tenant.as_ref())
                .push_bind(code.as_ref())
                .push_bind(now);
        });
        query.push(" on conflict (tenant_id, code) do nothing");
        query
            .build()
            .execute(&mut *conn)
            .in_span(statement("INSERT", "project"))
            .await
            .map_err(map_err)?;
    }
    Ok(())
}

pub(super) async fn worker_id(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    external_id: &ExternalId,
) -> Result<Option<WorkerId>, StoreError> {
    let id: Option<String> =
        sqlx::query_scalar("select worker_id from worker where tenant_id = ? and external_id = ?")
            .bind(tenant.as_ref())
            .bind(external_id.as_ref())
            .fetch_optional(&mut *conn)
            .in_span(statement("SELECT", "worker"))
            .await
            .map_err(map_err)?;
    id.map(|id| uuid(&id).map(WorkerId::from_uuid)).transpose()
}
