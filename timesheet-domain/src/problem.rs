//! RFC 9457 problem details: the one error format of the whole API, gateway included.

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// Every kind of problem the API reports. The URI, title and status of each are the contract;
/// clients may branch on `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemType {
    MalformedRequest,
    ValidationError,
    UnsupportedMediaType,
    PayloadTooLarge,
    DayLimitExceeded,
    WeekLocked,
    DuplicateInBatch,
    NotFound,
    MethodNotAllowed,
    Unauthenticated,
    Forbidden,
    PreconditionRequired,
    PreconditionFailed,
    IdempotencyKeyReused,
    IdempotencyKeyInUse,
    InvalidTransition,
    Conflict,
    RateLimited,
    BadGateway,
    GatewayTimeout,
    ServiceUnavailable,
    Internal,
}

impl ProblemType {
    pub const BASE_URI: &'static str = "https://api.exampleco.com/problems/";

    pub fn slug(self) -> &'static str {
        match self {
            Self::MalformedRequest => "malformed-request",
            Self::ValidationError => "validation-error",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::PayloadTooLarge => "payload-too-large",
            Self::DayLimitExceeded => "day-limit-exceeded",
            Self::WeekLocked => "week-locked",
            Self::DuplicateInBatch => "duplicate-in-batch",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::PreconditionRequired => "precondition-required",
            Self::PreconditionFailed => "precondition-failed",
            Self::IdempotencyKeyReused => "idempotency-key-reused",
            Self::IdempotencyKeyInUse => "idempotency-key-in-use",
            Self::InvalidTransition => "invalid-transition",
            Self::Conflict => "conflict",
            Self::RateLimited => "rate-limited",
            Self::BadGateway => "bad-gateway",
            Self::GatewayTimeout => "gateway-timeout",
            Self::ServiceUnavailable => "service-unavailable",
            Self::Internal => "internal-error",
        }
    }

    pub fn uri(self) -> String {
        format!("{}{}", Self::BASE_URI, self.slug())
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::MalformedRequest => "The request body is not well-formed",
            Self::ValidationError => "The request has invalid fields",
            Self::UnsupportedMediaType => "The request body must be application/json",
            Self::PayloadTooLarge => "The request is too large",
            Self::DayLimitExceeded => "A worker cannot log more than 24 hours on one day",
            Self::WeekLocked => "The week is approved and cannot change",
            Self::DuplicateInBatch => "The external id appears earlier in the same batch",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Unauthenticated => "Authentication is required",
            Self::Forbidden => "Not allowed",
            Self::PreconditionRequired => "If-Match is required",
            Self::PreconditionFailed => "The entry has changed since it was read",
            Self::IdempotencyKeyReused => "The Idempotency-Key was used with another request",
            Self::IdempotencyKeyInUse => "A request with this Idempotency-Key is in progress",
            Self::InvalidTransition => "The week is not in a state that allows this",
            Self::Conflict => "The request conflicts with stored data",
            Self::RateLimited => "Too many requests",
            Self::BadGateway => "The upstream service is unreachable",
            Self::GatewayTimeout => "The upstream service did not answer in time",
            Self::ServiceUnavailable => "The service is temporarily unavailable",
            Self::Internal => "Internal error",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            Self::MalformedRequest => 400,
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::WeekLocked
            | Self::IdempotencyKeyInUse
            | Self::InvalidTransition
            | Self::Conflict => 409,
            Self::PreconditionFailed => 412,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::ValidationError
            | Self::DayLimitExceeded
            | Self::DuplicateInBatch
            | Self::IdempotencyKeyReused => 422,
            Self::PreconditionRequired => 428,
            Self::RateLimited => 429,
            Self::Internal => 500,
            Self::BadGateway => 502,
            Self::ServiceUnavailable => 503,
            Self::GatewayTimeout => 504,
        }
    }
}

/// One invalid input, located by a JSON Pointer (RFC 6901) into the request body or naming a
/// query parameter or header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub pointer: String,
    pub detail: String,
}

impl From<ValidationError> for FieldError {
    fn from(err: ValidationError) -> Self {
        let pointer = if err.field.is_empty() {
            String::new()
        } else {
            format!("/{}", err.field)
        };
        Self {
            pointer,
            detail: err.reason,
        }
    }
}

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    pub fn new(kind: ProblemType) -> Self {
        Self {
            problem_type: kind.uri(),
            title: kind.title().to_owned(),
            status: kind.status(),
            detail: None,
            instance: None,
            errors: Vec::new(),
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_errors(mut self, errors: impl IntoIterator<Item = FieldError>) -> Self {
        self.errors.extend(errors);
        self
    }

    /// A 422 naming the invalid field.
    pub fn validation(err: ValidationError) -> Self {
        let detail = err.to_string();
        Self::new(ProblemType::ValidationError)
            .with_detail(detail)
            .with_errors([FieldError::from(err)])
    }

    /// Whether this problem is of `kind` (compares the type URI).
    pub fn is(&self, kind: ProblemType) -> bool {
        self.problem_type == kind.uri()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_problems_point_at_the_field() {
        let p = Problem::validation(ValidationError::new("entries/3/minutes", "too many"));
        assert_eq!(p.status, 422);
        assert_eq!(p.errors[0].pointer, "/entries/3/minutes");
        assert!(p.is(ProblemType::ValidationError));
        let json = serde_json::to_value(&p).unwrap_or_default();
        assert_eq!(
            json["type"],
            "https://api.exampleco.com/problems/validation-error"
        );
    }
}
