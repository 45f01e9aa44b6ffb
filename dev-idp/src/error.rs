//! The one error shape of this issuer, as Auth0's Authentication API answers:
//! `{"error": "...", "error_description": "..."}` with Auth0's documented statuses (400
//! `invalid_request`, 401 `invalid_client`, 403 `unauthorized_client`/`access_denied`, 501
//! `unsupported_grant_type`, 503 `temporarily_unavailable`). Admin endpoints use the same shape
//! with RFC 6750's `invalid_token`.
//!
//! Descriptions never contain secrets, assertions or tokens: they are also logged.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    /// The `WWW-Authenticate` challenge (RFC 6749 5.2 when the client used HTTP Basic; RFC 6750
    /// on the admin endpoints).
    pub challenge: Option<&'static str>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            challenge: None,
        }
    }

    /// 400: a parameter is missing, repeated or malformed.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 401: the client could not be authenticated.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }

    /// 403: the client may not use this grant type.
    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "unauthorized_client", description)
    }

    /// 403: the client is authenticated but not authorised for what it asked.
    pub fn access_denied(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "access_denied", description)
    }

    /// 501, as Auth0 documents it for grant types it does not implement.
    pub fn unsupported_grant_type(grant_type: &str) -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            "unsupported_grant_type",
            format!("Unsupported grant type: {grant_type}"),
        )
    }

    /// 503 with `Retry-After`: the fault switch is on.
    pub fn temporarily_unavailable(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            description,
        )
    }

    /// 401 on the admin endpoints: the bearer admin token is missing or wrong.
    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self {
            challenge: Some("Bearer realm=\"dev-idp admin\", error=\"invalid_token\""),
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
        }
    }

    /// 404 for disabled endpoints (Auth0's `endpoint_disabled`).
    pub fn endpoint_disabled(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "endpoint_disabled", description)
    }

    /// 500: something on our side (the key store); the cause is logged, not sent.
    pub fn server_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "The issuer failed; see its log",
        )
    }

    pub fn with_challenge(mut self, challenge: &'static str) -> Self {
        self.challenge = Some(challenge);
        self
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = Body {
            error: self.error,
            error_description: &self.description,
        };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(challenge) = self.challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
