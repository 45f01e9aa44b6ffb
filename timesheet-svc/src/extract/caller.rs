//! Identity in: the gateway assertion becomes the request's [`Principal`].
//!
//! [`authenticate`] runs as a middleware in front of every data route: a request without a valid
//! assertion is answered 401 before any handler (and so any query) runs. Handlers then take a
//! [`Caller`], which cannot exist without that check having passed.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use identity_assertion::RequestBinding;
use timesheet_domain::{Principal, ProblemType, Scope};

use crate::error::ApiError;
use crate::state::AppState;

/// The verified caller of this request.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    /// Succeeds if the caller holds `scope`; otherwise a 403 naming it.
    pub fn require(&self, scope: Scope) -> Result<&Principal, ApiError> {
        if self.0.has(scope) {
            Ok(&self.0)
        } else {
            Err(ApiError::with_detail(
                ProblemType::Forbidden,
                format!("this operation needs the scope {}", scope.as_str()),
            ))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Present only if `authenticate` ran and passed; a route mounted without it fails closed.
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::of(ProblemType::Unauthenticated))
    }
}

/// Middleware: verifies the assertion against this very request (method, path and query,
/// request id) and stores the [`Caller`] for the handlers.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    match verify(&state, request.method(), request.uri(), request.headers()) {
        Ok(principal) => {
            tracing::Span::current().record("tenant", principal.tenant.as_ref());
            request.extensions_mut().insert(Caller(principal));
            next.run(request).await
        }
        Err(reason) => {
            tracing::info!(%reason, "refused a request without a valid gateway assertion");
            ApiError::with_detail(
                ProblemType::Unauthenticated,
                "requests must come through the gateway",
            )
            .into_response()
        }
    }
}

fn verify(
    state: &AppState,
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &axum::http::HeaderMap,
) -> Result<Principal, identity_assertion::AssertionError> {
    use identity_assertion::AssertionError;
    let token = headers
        .get(identity_assertion::HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(AssertionError::Missing)?;
    let request_id = headers
        .get(crate::telemetry::REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let binding = RequestBinding {
        method: method.as_str().to_owned(),
        path_and_query: uri
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_else(|| uri.path().to_owned()),
        request_id: request_id.to_owned(),
    };
    state
        .verifier
        .verify(token, &binding, state.now().unix_timestamp())
}
