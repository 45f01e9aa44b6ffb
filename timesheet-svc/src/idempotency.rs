//! `Idempotency-Key`: a retried request gets the first one's response instead of running twice.
//!
//! The route asks [`try_processing`] what to do ([`NextAction`]); when it is to run, the route
//! does the write, renders its response, saves it with [`save_response`] in the write's own
//! transaction and commits both together. A request that fails before committing frees its key
//! ([`release`]) so that a corrected retry may run.

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use timesheet_domain::{Principal, ProblemType};
use timesheet_store::{IdempotencyStart, StoreTx, StoredResponse};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// What the route does with a request that carries a key.
#[derive(Debug)]
pub enum NextAction {
    /// The key is claimed for this request: run it and save its response.
    StartProcessing,
    /// A request with this key already finished: answer with its response.
    ReturnSavedResponse(StoredResponse),
}

/// Claims `key` for the request `path` + `body` of `principal`. A key still in flight is 409,
/// a key used with another request 422.
pub async fn try_processing(
    state: &AppState,
    principal: &Principal,
    key: &str,
    path: &str,
    body: &str,
) -> ApiResult<NextAction> {
    let hash = Sha256::new()
        .chain_update(path.as_bytes())
        .chain_update([0])
        .chain_update(body.as_bytes())
        .finalize();
    let start = state
        .store
        .idempotency_start(
            &principal.tenant,
            principal.actor(),
            key,
            &hash,
            state.idempotency_stale,
        )
        .await?;
    match start {
        IdempotencyStart::Started => Ok(NextAction::StartProcessing),
        IdempotencyStart::Completed(saved) => Ok(NextAction::ReturnSavedResponse(saved)),
        IdempotencyStart::InFlight => Err(ApiError::of(ProblemType::IdempotencyKeyInUse)),
        IdempotencyStart::Mismatch => Err(ApiError::with_detail(
            ProblemType::IdempotencyKeyReused,
            "this Idempotency-Key was used with a different request; use a new key",
        )),
    }
}

/// Saves `response` as the answer to `key`, in `tx`: it commits with the request's effects.
pub async fn save_response(
    tx: &mut dyn StoreTx,
    state: &AppState,
    principal: &Principal,
    key: &str,
    response: &StoredResponse,
) -> ApiResult<()> {
    tx.idempotency_complete(principal.actor(), key, response, state.now())
        .await?;
    Ok(())
}

/// Frees `key` after its request failed without committing. A failure here only delays a
/// retry (the marker is taken over once stale), so it is logged, not returned.
pub async fn release(state: &AppState, principal: &Principal, key: &str) {
    if let Err(err) = state
        .store
        .idempotency_release(&principal.tenant, principal.actor(), key)
        .await
    {
        tracing::warn!(error = %err, "could not release an idempotency key");
    }
}

/// A saved response as sent: JSON with its saved headers, marked `Idempotent-Replayed` when it
/// answers a retry.
pub fn to_response(saved: StoredResponse, replayed: bool) -> Response {
    let status = StatusCode::from_u16(saved.status).unwrap_or(StatusCode::OK);
    let mut response = (status, saved.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replayed {
        headers.insert(
            HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static("true"),
        );
    }
    for (name, value) in saved.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}
