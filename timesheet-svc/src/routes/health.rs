//! Probes. `/healthz`: the process serves HTTP. `/readyz`: it can also reach its database, so a
//! load balancer should send it traffic.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Any failure to reach the database means "do not send me traffic": 503, whatever the cause.
async fn readyz(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    match state.store.ping().await {
        Ok(()) => Ok(Json(json!({"status": "ready"}))),
        Err(err) if err.is_unavailable() => Err(ApiError::from(err)),
        Err(err) => Err(ApiError::Unavailable(err)),
    }
}
