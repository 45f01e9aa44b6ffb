//! The one error type of every handler, rendered as RFC 9457 problem+json.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use timesheet_domain::{Problem, ProblemType, ValidationError};
use timesheet_store::StoreError;

use crate::metrics::DbFailure;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Why a request failed. Client errors carry what the client needs to fix; server errors carry
/// their cause for the log, never for the response body.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A client error with its problem (4xx).
    #[error("{}", .0.title)]
    Problem(Box<Problem>),
    /// The store cannot be reached: 503, the client may retry.
    #[error("store unavailable")]
    Unavailable(#[source] StoreError),
    /// A bug or broken data: 500 with a generic body.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn of(kind: ProblemType) -> Self {
        Self::problem(Problem::new(kind))
    }

    pub fn with_detail(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self::problem(Problem::new(kind).with_detail(detail))
    }

    pub fn problem(problem: Problem) -> Self {
        Self::Problem(Box::new(problem))
    }

    pub fn not_found() -> Self {
        Self::with_detail(ProblemType::NotFound, "no such entry")
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Problem(p) => {
                StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        Self::problem(Problem::validation(err))
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        if err.is_unavailable() {
            Self::Unavailable(err)
        } else {
            Self::Internal(anyhow::Error::new(err))
        }
    }
}

/// Renders `problem` with its status and content type.
pub fn problem_response(problem: Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
        body,
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Problem(problem) => problem_response(*problem),
            Self::Unavailable(cause) => {
                tracing::warn!(error = %cause, cause = ?std::error::Error::source(&cause), "store unavailable");
                let mut response = problem_response(
                    Problem::new(ProblemType::ServiceUnavailable)
                        .with_detail("the database is not reachable; retry shortly"),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response.extensions_mut().insert(DbFailure::Unavailable);
                response
            }
            Self::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error");
                let mut response = problem_response(Problem::new(ProblemType::Internal));
                if cause.downcast_ref::<StoreError>().is_some() {
                    response.extensions_mut().insert(DbFailure::Internal);
                }
                response
            }
        }
    }
}
