//! HTTP routes. Each resource's module has a `router()`; [`api_router`] merges them behind the
//! gateway-assertion check, and the health and OpenAPI routes stay outside it.
//!
//! - `health`: liveness and readiness probes.
//! - `metrics`: the Prometheus metrics.
//! - `entries`: the /v1 entry resource (upload, create, list, get, patch, delete).
//! - `weeks`: the submission and approval workflow, and the approvals queue.
//! - `compat`: the Auth0 sample's routes over the same ledger.
//! - `openapi`: the generated OpenAPI 3.1 document.
//! - `detached`: requests that may write run in a task the client's connection cannot cancel.

pub mod compat;
mod detached;
pub mod entries;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod weeks;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Router;
use timesheet_domain::api::EntryResponse;
use timesheet_domain::{Entry, ProblemType};

use crate::error::ApiError;
use crate::state::AppState;

/// The routes that need a caller: all data routes, and the fallback, so that even an unknown
/// path is answered 401 to a request without an assertion.
pub fn api_router(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(entries::router())
        .merge(weeks::router())
        .merge(compat::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state,
            crate::extract::authenticate,
        ))
        // Outermost, so authentication and the handler run in the detached task together.
        .layer(axum::middleware::from_fn(detached::run_writes_to_their_end))
}

async fn not_found() -> ApiError {
    ApiError::with_detail(ProblemType::NotFound, "no such resource")
}

async fn method_not_allowed() -> ApiError {
    ApiError::of(ProblemType::MethodNotAllowed)
}

/// An entry as JSON with its `ETag`, and `Location` when it was just created.
pub fn entry_response(status: axum::http::StatusCode, entry: &Entry, location: bool) -> Response {
    let mut response = (status, axum::Json(EntryResponse::from(entry))).into_response();
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&entry.etag()) {
        headers.insert(header::ETAG, etag);
    }
    if location {
        if let Ok(loc) = HeaderValue::from_str(&format!("/v1/timesheets/entries/{}", entry.id)) {
            headers.insert(header::LOCATION, loc);
        }
    }
    response
}
