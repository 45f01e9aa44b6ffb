//! `GET /.well-known/jwks.json` and `GET /.well-known/openid-configuration`, with a short
//! `Cache-Control` so a verifier notices a rotation within seconds without asking on every token.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::OAuthError;
use crate::state::AppState;

const CACHE_CONTROL: &str = "public, max-age=15";

fn cacheable(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    response
}

fn unavailable() -> Response {
    OAuthError::temporarily_unavailable("Keys are switched off (dev-idp fault switch)")
        .into_response()
}

/// Every published key (`kty`, `use`, `alg`, `kid`, `n`, `e`).
pub async fn jwks(State(state): State<AppState>) -> Response {
    if state.faults.is_jwks_down() {
        return unavailable();
    }
    cacheable(Json(state.keys.ring().jwks()))
}

/// OpenID Provider Metadata, limited to what this issuer does (Auth0 publishes more).
pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    if state.faults.is_jwks_down() {
        return unavailable();
    }
    let urls = &state.urls;
    cacheable(Json(json!({
        "issuer": urls.issuer,
        "token_endpoint": urls.token_endpoint,
        "jwks_uri": urls.jwks_uri,
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "RS384", "PS256"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": state.registry.all_scopes(),
        "claims_supported": [
            "iss", "sub", "aud", "iat", "exp", "azp", "gty", "scope", "jti", "org_id",
            "permissions"
        ],
    })))
}
