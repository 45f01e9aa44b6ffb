//! `/admin/*`: what tests and operators need beyond Auth0's public surface. Every endpoint takes
//! `Authorization: Bearer <admin_token>`; when no admin token is configured they all answer 404.
//!
//! - `GET /admin/keys`, `POST /admin/keys/rotate`, `POST /admin/keys/retire`: Auth0's two-step
//!   signing key rotation ("rotate", then "revoke").
//! - `POST /admin/tokens`: a user token, when `allow_user_tokens` is on (404 otherwise).
//! - `GET /admin/stats`: tokens issued per client.
//! - `GET|POST /admin/faults`: the fault switch.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::OAuthError;
use crate::fault::{FaultsRequest, FaultsResponse};
use crate::keys::KeyRing;
use crate::secret::secrets_match;
use crate::state::AppState;
use crate::stats::StatsResponse;
use crate::token::{self, Subject, TokenResponse};

/// Auth0's own upper bound for access token lifetimes (30 days).
const MAX_USER_TOKEN_LIFETIME_SECS: u64 = 30 * 24 * 3600;

/// The answer of the key endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysResponse {
    /// The `kid` that signs new tokens.
    pub current: String,
    /// Every `kid` in the JWKS (the current one included).
    pub published: Vec<String>,
    /// Keys unpublished by this call (retire only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<String>,
}

impl KeysResponse {
    fn of(ring: &KeyRing, retired: Vec<String>) -> Self {
        Self {
            current: ring.current().kid().to_owned(),
            published: ring
                .published()
                .iter()
                .map(|k| k.kid().to_owned())
                .collect(),
            retired,
        }
    }
}

/// `POST /admin/tokens`: a token for a person, so tests can exercise user-facing rules.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserTokenRequest {
    /// The user id, as given (`auth0|…`, or a worker's external id).
    pub sub: String,
    /// A configured API identifier.
    pub audience: String,
    /// Scopes of that API; they also go into `permissions`.
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub org_id: Option<String>,
    /// Seconds; defaults to `token_lifetime_secs`.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// The application the user signed in to; defaults to `dev-idp`.
    #[serde(default)]
    pub azp: Option<String>,
}

/// Proof that the request carries the admin token.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = OAuthError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, OAuthError> {
        let Some(expected) = &state.admin_token else {
            return Err(OAuthError::endpoint_disabled(
                "The admin endpoints are disabled (no admin_token configured)",
            ));
        };
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        match given {
            Some(token) if secrets_match(token, expected) => Ok(Admin),
            Some(_) => Err(OAuthError::invalid_token("The admin token is wrong")),
            None => Err(OAuthError::invalid_token(
                "A Bearer admin token is required",
            )),
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/keys", get(list_keys))
        .route("/admin/keys/rotate", post(rotate_keys))
        .route("/admin/keys/retire", post(retire_keys))
        .route("/admin/tokens", post(create_user_token))
        .route("/admin/stats", get(get_stats))
        .route("/admin/faults", get(get_faults).post(set_faults))
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, OAuthError> {
    serde_json::from_slice(body)
        .map_err(|err| OAuthError::invalid_request(format!("Invalid JSON body: {err}")))
}

fn no_store(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn list_keys(_: Admin, State(state): State<AppState>) -> Json<KeysResponse> {
    Json(KeysResponse::of(&state.keys.ring(), Vec::new()))
}

async fn rotate_keys(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<KeysResponse>, OAuthError> {
    let ring = state.keys.rotate().await.map_err(|err| {
        tracing::error!(error = %err, "key rotation failed");
        OAuthError::server_error()
    })?;
    Ok(Json(KeysResponse::of(&ring, Vec::new())))
}

async fn retire_keys(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<KeysResponse>, OAuthError> {
    let (ring, retired) = state.keys.retire().await.map_err(|err| {
        tracing::error!(error = %err, "retiring keys failed");
        OAuthError::server_error()
    })?;
    Ok(Json(KeysResponse::of(&ring, retired)))
}

async fn create_user_token(
    admin: Result<Admin, OAuthError>,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, OAuthError> {
    // Disabled means absent, whoever asks.
    if !state.allow_user_tokens {
        return Err(OAuthError::endpoint_disabled(
            "User tokens are disabled (allow_user_tokens = false)",
        ));
    }
    admin?;
    let request: UserTokenRequest = parse_json(&body)?;
    if request.sub.trim().is_empty() {
        return Err(OAuthError::invalid_request("sub must not be empty"));
    }
    let Some(api) = state.registry.api(&request.audience) else {
        return Err(OAuthError::invalid_request(format!(
            "audience {} is not a configured API",
            request.audience
        )));
    };
    if let Some(unknown) = request.scopes.iter().find(|s| !api.scopes.contains(s)) {
        return Err(OAuthError::invalid_request(format!(
            "{unknown} is not a scope of {}",
            api.identifier
        )));
    }
    let lifetime = request.expires_in.unwrap_or(state.token_lifetime_secs);
    if lifetime == 0 || lifetime > MAX_USER_TOKEN_LIFETIME_SECS {
        return Err(OAuthError::invalid_request(format!(
            "expires_in must be between 1 and {MAX_USER_TOKEN_LIFETIME_SECS}"
        )));
    }
    let ring = state.keys.ring();
    let subject = Subject {
        sub: request.sub.clone(),
        azp: request.azp.as_deref().unwrap_or("dev-idp"),
        audience: &api.identifier,
        scopes: &request.scopes,
        org_id: request.org_id.as_deref(),
        is_machine: false,
        with_permissions: true,
        lifetime_secs: lifetime,
    };
    let issued: TokenResponse = token::mint(
        ring.current(),
        &state.urls.issuer,
        &subject,
        timesheet_domain::unix_now(),
    )
    .map_err(|err| {
        tracing::error!(error = %err, "signing a user token failed");
        OAuthError::server_error()
    })?;
    state.stats.record_user_token();
    tracing::info!(sub = %request.sub, audience = %api.identifier, scope = %issued.scope, "user token minted");
    Ok(no_store(Json(issued)))
}

async fn get_stats(_: Admin, State(state): State<AppState>) -> Response {
    no_store(Json::<StatsResponse>(state.stats.snapshot()))
}

async fn get_faults(_: Admin, State(state): State<AppState>) -> Json<FaultsResponse> {
    Json(state.faults.current())
}

async fn set_faults(
    _: Admin,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<FaultsResponse>, OAuthError> {
    let request: FaultsRequest = parse_json(&body)?;
    let now = state.faults.apply(&request);
    tracing::warn!(token_endpoint = ?now.token_endpoint, jwks = ?now.jwks, "fault switches set");
    Ok(Json(now))
}
