//! The HTTP surface.
//!
//! - `token`: `POST /oauth/token` (client credentials).
//! - `discovery`: the JWKS and the OpenID configuration.
//! - `admin`: key rotation, user tokens, stats and the fault switch, behind the admin token.

pub mod admin;
pub mod discovery;
pub mod token;

use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/token", post(token::issue_token))
        .route("/.well-known/jwks.json", get(discovery::jwks))
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/healthz", get(healthz))
        .merge(admin::router())
}

/// Liveness: the process serves requests.
async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}
