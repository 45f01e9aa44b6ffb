//! Conditional-request and idempotency headers.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use timesheet_domain::{ProblemType, ValidationError};

use crate::error::ApiError;

/// `If-Match`, when sent: the ETags the client last saw. `*` matches any current version.
#[derive(Debug, Clone, Default)]
pub struct IfMatch(Option<Vec<String>>);

impl IfMatch {
    /// PATCH needs it: 428 if absent.
    pub fn required(&self) -> Result<&[String], ApiError> {
        self.0.as_deref().ok_or_else(|| {
            ApiError::with_detail(
                ProblemType::PreconditionRequired,
                "send If-Match with the ETag of the version you read",
            )
        })
    }

    /// Checks `current` against the header: passes when absent (optional use), when `*`, or when
    /// one of the listed tags equals it; otherwise 412.
    pub fn check(&self, current: &str) -> Result<(), ApiError> {
        match &self.0 {
            None => Ok(()),
            Some(tags) if tags.iter().any(|t| t == "*" || t == current) => Ok(()),
            Some(_) => Err(ApiError::with_detail(
                ProblemType::PreconditionFailed,
                format!("the entry's current ETag is {current}"),
            )),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut tags = Vec::new();
        let mut present = false;
        for value in parts.headers.get_all(axum::http::header::IF_MATCH) {
            present = true;
            let value = value
                .to_str()
                .map_err(|_| ApiError::from(ValidationError::new("If-Match", "must be ASCII")))?;
            // Weak tags never match for If-Match (RFC 9110 strong comparison).
            tags.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty() && !t.starts_with("W/"))
                    .map(str::to_owned),
            );
        }
        Ok(Self(present.then_some(tags)))
    }
}

/// `Idempotency-Key`, when sent: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, Default)]
pub struct IdempotencyKey(pub Option<String>);

pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(IDEMPOTENCY_KEY_HEADER) else {
            return Ok(Self(None));
        };
        let bad = || {
            ValidationError::new(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            )
        };
        let value = value.to_str().map_err(|_| bad())?;
        if value.is_empty() || value.len() > 255 || !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad().into());
        }
        Ok(Self(Some(value.to_owned())))
    }
}
