//! Idempotency keys. The claim runs in its own short `BEGIN IMMEDIATE` transaction on the
//! writer, so read-then-decide cannot race another claim.

use std::time::Duration;

use sqlx::{SqliteConnection, SqlitePool};
use time::OffsetDateTime;
use timesheet_domain::TenantId;

use super::codec::{self, micros};
use super::{map_err, statement};
use crate::statement::InSpan as _;
use crate::stored::{headers_to_json, Claim};
use crate::{IdempotencyStart, StoreError, StoredResponse};

pub(super) async fn start(
    writer: &SqlitePool,
    tenant: &TenantId,
    subject: &str,
    key: &str,
    request_hash: &[u8],
    stale_after: Duration,
) -> Result<IdempotencyStart, StoreError> {
    let now = OffsetDateTime::now_utc();
    let mut tx = writer
        .begin_with("BEGIN IMMEDIATE")
        .in_span(statement("BEGIN", ""))
        .await
        .map_err(map_err)?;
    let inserted = sqlx::query(
        "insert into idempotency_key (tenant_id, subject, idem_key, request_hash, state, \
         created_at) values (?, ?, ?, ?, 'in_flight', ?) \
         on conflict (tenant_id, subject, idem_key) do nothing",
    )
    .bind(tenant.as_ref())
    .bind(subject)
    .bind(key)
    .bind(request_hash)
    .bind(micros(now))
    .execute(&mut *tx)
    .in_span(statement("INSERT", "idempotency_key"))
    .await
    .map_err(map_err)?
    .rows_affected();
    let outcome = if inserted == 1 {
        IdempotencyStart::Started
    } else {
        let row = sqlx::query(
            "select request_hash, state, response_status, response_headers, response_body, \
             created_at from idempotency_key \
             where tenant_id = ? and subject = ? and idem_key = ?",
        )
        .bind(tenant.as_ref())
        .bind(subject)
        .bind(key)
        .fetch_one(&mut *tx)
        .in_span(statement("SELECT", "idempotency_key"))
        .await
        .map_err(map_err)?;
        match codec::idempotency_row(&row)?.decide(request_hash, now, stale_after)? {
            Claim::Answer(answer) => answer,
            Claim::TakeOver => {
                take_over(&mut tx, tenant, subject, key, now).await?;
                IdempotencyStart::Started
            }
        }
    };
    tx.commit()
        .in_span(statement("COMMIT", ""))
        .await
        .map_err(map_err)?;
    Ok(outcome)
}

async fn take_over(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    subject: &str,
    key: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "update idempotency_key set created_at = ? \
         where tenant_id = ? and subject = ? and idem_key = ? and state = 'in_flight'",
    )
    .bind(micros(now))
    .bind(tenant.as_ref())
    .bind(subject)
    .bind(key)
    .execute(&mut *conn)
    .in_span(statement("UPDATE", "idempotency_key"))
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(super) async fn release(
    writer: &SqlitePool,
    tenant: &TenantId,
    subject: &str,
    key: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "delete from idempotency_key \
         where tenant_id = ? and subject = ? and idem_key = ? and state = 'in_flight'",
    )
    .bind(tenant.as_ref())
    .bind(subject)
    .bind(key)
    .execute(writer)
    .in_span(statement("DELETE", "idempotency_key"))
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(super) async fn complete(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    subject: &str,
    key: &str,
    response: &StoredResponse,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "update idempotency_key set state = 'completed', response_status = ?, \
         response_headers = ?, response_body = ?, completed_at = ? \
         where tenant_id = ? and subject = ? and idem_key = ? and state = 'in_flight'",
    )
    .bind(i64::from(response.status))
    .bind(headers_to_json(&response.headers)?)
    .bind(&response.body)
    .bind(micros(now))
    .bind(tenant.as_ref())
    .bind(subject)
    .bind(key)
    .execute(&mut *conn)
    .in_span(statement("UPDATE", "idempotency_key"))
    .await
    .map_err(map_err)?;
    if done.rows_affected() == 0 {
        // The marker was released or completed by someone else: the effects still commit,
        // but a retry will run again rather than replay.
        tracing::warn!(
            subject,
            "idempotency key completed without an in-flight marker"
        );
    }
    Ok(())
}
