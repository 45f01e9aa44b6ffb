//! `GET /metrics`: the service's Prometheus metrics, with the pool gauges read at scrape time.
//! Internal like the rest of the service; the gateway does not route it.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics_text))
}

/// Prometheus text format; a failure to render is a 500 with the cause logged.
async fn metrics_text(State(state): State<AppState>) -> Response {
    match state.metrics.render(state.store.pool_status()) {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            )],
            text,
        )
            .into_response(),
        Err(err) => ApiError::Internal(anyhow::Error::new(err)).into_response(),
    }
}
