//! The one error type of every handler, rendered as RFC 9457 problem+json.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use timesheet_domain::{Problem, ProblemType, ValidationError};
use timesheet_store::{constraint, StoreError};

use crate::metrics::DbFailure;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Why a request failed. Client errors carry what the client needs to fix; server errors carry
/// their cause for the log, never for the response body.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A client error with its problem (4xx).
    #[error("{}", .0.title)]
    Problem(Box<Problem>),
    /// The database refused the write by one of its constraints (409): the request clashes
    /// with stored data, or with a request that ran at the same moment.
    #[error("{}", .problem.title)]
    Conflict {
        problem: Box<Problem>,
        #[source]
        source: StoreError,
    },
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
            Self::Problem(p) | Self::Conflict { problem: p, .. } => {
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
        match err {
            StoreError::Unavailable(_) => Self::Unavailable(err),
            StoreError::Conflict(name) => Self::Conflict {
                problem: Box::new(conflict_problem(name)),
                source: err,
            },
            _ => Self::Internal(anyhow::Error::new(err)),
        }
    }
}

/// The problem of a write refused by the constraint `name` when the query's caller said
/// nothing more precise ([`OnConstraint`]). Every constraint is a client's conflict, never a
/// 500: the database enforces uniqueness, and the code does not check first.
fn conflict_problem(name: &'static str) -> Problem {
    match name {
        constraint::TIME_ENTRY_SOURCE_EXTERNAL_ID_KEY => Problem::new(ProblemType::Conflict)
            .with_detail("an entry with this external_id exists (a deleted entry keeps its id)"),
        constraint::IDEMPOTENCY_KEY_PKEY => Problem::new(ProblemType::IdempotencyKeyInUse),
        // Generated ids that collided, or rows another request wrote at the same moment: the
        // same request sent again succeeds.
        _ => Problem::new(ProblemType::Conflict)
            .with_detail("another request changed the same data at the same time; retry"),
    }
}

/// realworld-axum-sqlx's `on_constraint`: at the query that may violate a named constraint,
/// the problem to answer with, said where the values that clash are known.
pub trait OnConstraint<T> {
    /// A violation of `name` becomes a 409 with `problem`; any other error converts as usual.
    fn on_constraint(self, name: &'static str, problem: impl FnOnce() -> Problem) -> ApiResult<T>;
}

impl<T> OnConstraint<T> for Result<T, StoreError> {
    fn on_constraint(self, name: &'static str, problem: impl FnOnce() -> Problem) -> ApiResult<T> {
        self.map_err(|err| match err {
            StoreError::Conflict(violated) if violated == name => ApiError::Conflict {
                problem: Box::new(problem()),
                source: err,
            },
            other => ApiError::from(other),
        })
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
            Self::Conflict { problem, source } => {
                tracing::info!(error = %source, "write refused by a constraint");
                problem_response(*problem)
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_constraint_violation_is_a_409_problem_never_a_500() {
        for name in [
            constraint::WORKER_PKEY,
            constraint::WORKER_TENANT_EXTERNAL_ID_KEY,
            constraint::WORKER_TENANT_WORKER_KEY,
            constraint::PROJECT_PKEY,
            constraint::TIME_ENTRY_PKEY,
            constraint::TIME_ENTRY_SOURCE_EXTERNAL_ID_KEY,
            constraint::WEEK_PKEY,
            constraint::IDEMPOTENCY_KEY_PKEY,
        ] {
            let err = ApiError::from(StoreError::Conflict(name));
            assert_eq!(err.status(), StatusCode::CONFLICT, "{name}");
            assert!(
                std::error::Error::source(&err).is_some(),
                "{name} lost its cause"
            );
            let response = err.into_response();
            assert_eq!(response.status(), StatusCode::CONFLICT, "{name}");
            assert_eq!(
                response.headers().get(header::CONTENT_TYPE),
                Some(&HeaderValue::from_static(PROBLEM_JSON)),
                "{name}"
            );
        }
    }

    #[test]
    fn on_constraint_names_the_clash_and_leaves_other_errors_alone() {
        let refused: Result<(), StoreError> = Err(StoreError::Conflict(
            constraint::TIME_ENTRY_SOURCE_EXTERNAL_ID_KEY,
        ));
        let err = refused
            .on_constraint(constraint::TIME_ENTRY_SOURCE_EXTERNAL_ID_KEY, || {
                Problem::new(ProblemType::Conflict).with_detail("external_id x-1 is taken")
            })
            .unwrap_err();
        assert!(matches!(&err, ApiError::Conflict { problem, .. }
            if problem.detail.as_deref() == Some("external_id x-1 is taken")));

        let other: Result<(), StoreError> = Err(StoreError::Conflict(constraint::WEEK_PKEY));
        let err = other
            .on_constraint(constraint::TIME_ENTRY_SOURCE_EXTERNAL_ID_KEY, || {
                unreachable!("another constraint")
            })
            .unwrap_err();
        assert_eq!(err.status(), StatusCode::CONFLICT);
    }
}
