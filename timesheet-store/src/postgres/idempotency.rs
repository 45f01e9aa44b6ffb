//! Idempotency keys. Each step is one autocommit statement; a claim that races another
//! (the row vanishes, or someone else took a stale marker first) simply looks again.

use std::time::Duration;

use sqlx::PgConnection;
use time::OffsetDateTime;
use timesheet_domain::TenantId;

use super::codec;
use super::{map_err, statement};
use crate::statement::InSpan as _;
use crate::stored::{headers_to_json, Claim};
use crate::{IdempotencyStart, StoreError, StoredResponse};

/// Enough for any real interleaving of claim, release and takeover; after that the key is
/// reported busy rather than looping.
const ATTEMPTS: usize = 3;

pub(super) async fn start(
    conn: &mut PgConnection,
    tenant: &TenantId,
    subject: &str,
    key: &str,
    request_hash: &[u8],
    stale_after: Duration,
) -> Result<IdempotencyStart, StoreError> {
    for _ in 0..ATTEMPTS {
        let now = OffsetDateTime::now_utc();
        let inserted = sqlx::query(
            "insert into idempotency_key (tenant_id, subject, idem_key, request_hash, state, \
             created_at) values ($1, $2, $3, $4, 'in_flight', $5) \
             on conflict (tenant_id, subject, idem_key) do nothing",
        )
        .bind(tenant.as_ref())
        .bind(subject)
        .bind(key)
        .bind(request_hash)
        .bind(now)
        .execute(&mut *conn)
        .in_span(statement("INSERT", "idempotency_key"))
        .await
        .map_err(map_err)?
        .rows_affected();
        if inserted == 1 {
            return Ok(IdempotencyStart::Started);
        }
        let row = sqlx::query(
            "select request_hash, state, response_status, response_headers, response_body, \
             created_at from idempotency_key \
             where tenant_id = $1 and subject = $2 and idem_key = $3",
        )
        .bind(tenant.as_ref())
        .bind(subject)
        .bind(key)
        .fetch_optional(&mut *conn)
        .in_span(statement("SELECT", "idempotency_key"))
        .await
        .map_err(map_err)?;
        let Some(row) = row else {
            // Released between our insert and our read: try to claim it again.
            continue;
        };
        let row = codec::idempotency_row(&row)?;
        let seen = row.created_at;
        match row.decide(request_hash, now, stale_after)? {
            Claim::Answer(answer) => return Ok(answer),
            Claim::TakeOver => {
                // Only the marker we judged stale may be taken: if another request took it
                // over first, its created_at moved and this updates nothing.
                let taken = sqlx::query(
                    "update idempotency_key set created_at = $4 \
                     where tenant_id = $1 and subject = $2 and idem_key = $3 \
                       and state = 'in_flight' and created_at = $5",
                )
                .bind(tenant.as_ref())
                .bind(subject)
                .bind(key)
                .bind(now)
                .bind(seen)
                .execute(&mut *conn)
                .in_span(statement("UPDATE", "idempotency_key"))
                .await
                .map_err(map_err)?
                .rows_affected();
                if taken == 1 {
                    return Ok(IdempotencyStart::Started);
                }
            }
        }
    }
    Ok(IdempotencyStart::InFlight)
}

pub(super) async fn release(
    conn: &mut PgConnection,
    tenant: &TenantId,
    subject: &str,
    key: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "delete from idempotency_key \
         where tenant_id = $1 and subject = $2 and idem_key = $3 and state = 'in_flight'",
    )
    .bind(tenant.as_ref())
    .bind(subject)
    .bind(key)
    .execute(&mut *conn)
    .in_span(statement("DELETE", "idempotency_key"))
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(super) async fn complete(
    conn: &mut PgConnection,
    tenant: &TenantId,
    subject: &str,
    key: &str,
    response: &StoredResponse,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "update idempotency_key set state = 'completed', response_status = $4, \
         response_headers = $5, response_body = $6, completed_at = $7 \
         where tenant_id = $1 and subject = $2 and idem_key = $3 and state = 'in_flight'",
    )
    .bind(tenant.as_ref())
    .bind(subject)
    .bind(key)
    .bind(i32::from(response.status))
    .bind(headers_to_json(&response.headers)?)
    .bind(&response.body)
    .bind(now)
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
