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
    // Most uploads name workers already stored, unchanged. Those are only read: an upsert
    // rewrites, or at least locks (`on conflict do update ... where` does), every row it
    // matches, which costs a row version or a lock record per worker per upload. Under the
    // tenant's lock nobody else writes workers between this read and the write below.
    let known = stored_workers(conn, tenant, unique.keys().copied()).await?;
    let mut ids = HashMap::with_capacity(unique.len());
    let mut writes: Vec<&WorkerRef> = Vec::new();
    for (external, worker) in unique {
        match known.get(external.as_ref()) {
            Some(stored) if !stored.changed_by(worker) => {
                ids.insert(external.clone(), stored.id);
            }
            _ => writes.push(worker),
        }
    }
    if !writes.is_empty() {
        ids.extend(write_workers(conn, tenant, &writes, now).await?);
    }
    Ok(ids)
}

/// A worker as stored, as far as an upload can change it.
struct StoredWorker {
    id: WorkerId,
    kind: String,
    name: Option<String>,
    email: Option<String>,
}

impl StoredWorker {
    /// Whether applying `upload` would change the row (a name or e-mail left out is kept).
    fn changed_by(&self, upload: &WorkerRef) -> bool {
        let differs = |stored: &Option<String>, sent: Option<&str>| {
            sent.is_some_and(|sent| stored.as_deref() != Some(sent))
        };
        self.kind != upload.kind.as_str()
            || differs(&self.name, upload.name.as_ref().map(AsRef::as_ref))
            || differs(&self.email, upload.email.as_ref().map(AsRef::as_ref))
    }
}

async fn stored_workers<'a>(
    conn: &mut PgConnection,
    tenant: &TenantId,
    externals: impl Iterator<Item = &'a ExternalId>,
) -> Result<HashMap<String, StoredWorker>, StoreError> {
    let externals: Vec<&str> = externals.map(AsRef::as_ref).collect();
    // One unique-index probe per id, as in entries::by_external_id.
    let rows = sqlx::query(
        "select w.* from unnest($2::text[]) as x (external_id) \
         cross join lateral ( \
             select external_id, worker_id, kind, name, email from worker \
             where tenant_id = $1 and external_id = x.external_id \
             limit 1) w",
    )
    .bind(tenant.as_ref())
    .bind(&externals)
    .fetch_all(&mut *conn)
    .in_span(statement("SELECT", "worker"))
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|row| {
            let external: String = row.try_get("external_id").map_err(map_err)?;
            let worker = StoredWorker {
                id: WorkerId::from_uuid(row.try_get("worker_id").map_err(map_err)?),
                kind: row.try_get("kind").map_err(map_err)?,
                name: row.try_get("name").map_err(map_err)?,
                email: row.try_get("email").map_err(map_err)?,
            };
            Ok((external, worker))
        })
        .collect()
}

/// Inserts new workers and updates changed ones; returns the ids of all of them.
async fn write_workers(
    conn: &mut PgConnection,
    tenant: &TenantId,
    workers: &[&WorkerRef],
    now: OffsetDateTime,
) -> Result<HashMap<ExternalId, WorkerId>, StoreError> {
    let n = workers.len();
    let (mut ids, mut externals, mut kinds, mut names, mut emails) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for worker in workers {
        ids.push(WorkerId::generate().as_uuid());
        externals.push(worker.external_id.as_ref());
        kinds.push(worker.kind.as_str());
        names.push(worker.name.as_ref().map(AsRef::<str>::as_ref));
        emails.push(worker.email.as_ref().map(AsRef::<str>::as_ref));
    }
    // A name or e-mail the upload leaves out is kept.
    let rows = sqlx::query(
        "insert into worker (worker_id, tenant_id, external_id, kind, name, email, \
             created_at, updated_at) \
         select u.worker_id, $1, u.external_id, u.kind, u.name, u.email, $2, $2 \
         from unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[]) \
             as u (worker_id, external_id, kind, name, email) \
         on conflict (tenant_id, external_id) do update set \
             kind = excluded.kind, \
             name = coalesce(excluded.name, worker.name), \
             email = coalesce(excluded.email, worker.email), \
             updated_at = excluded.updated_at \
         returning external_id, worker_id",
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
