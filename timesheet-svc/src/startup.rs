//! Building and running the service: connect the store, bind the listener (port 0 works, for
//! tests), assemble the router with its layers, serve until told to stop, then drain.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use secrecy::ExposeSecret;
use timesheet_domain::{Problem, ProblemType};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::error::{problem_response, PROBLEM_JSON};
use crate::metrics::{track_requests, Metrics};
use crate::routes;
use crate::state::AppState;
use crate::telemetry::{self, REQUEST_ID_HEADER};

/// Uploads of 1,000 entries with long notes fit well within this; anything larger is a 413.
const BODY_LIMIT_BYTES: usize = 8 * 1024 * 1024;

pub struct Application {
    listener: TcpListener,
    router: Router,
    shutdown_timeout: Duration,
}

impl Application {
    /// Connects and migrates the store, loads the gateway keys and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let verifier = config.assertion.verifier()?;
        let store =
            timesheet_store::connect(config.database_url.expose_secret(), &config.store_options())
                .await
                .context("opening the database")?;
        let state = AppState {
            store,
            verifier: Arc::new(verifier),
            window: config.date_window,
            idempotency_stale: config.idempotency_stale,
            metrics: Arc::new(Metrics::new().context("registering metrics")?),
        };
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .with_context(|| format!("binding {}", config.listen_addr))?;
        Ok(Self {
            listener,
            router: router(state, config.request_timeout),
            shutdown_timeout: config.shutdown_timeout,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until `shutdown` completes, then stops accepting and lets in-flight requests
    /// finish for at most the configured shutdown timeout.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (draining_tx, draining_rx) = tokio::sync::oneshot::channel::<()>();
        let serve = axum::serve(self.listener, self.router).with_graceful_shutdown(async move {
            shutdown.await;
            let _ = draining_tx.send(());
        });
        let timeout = self.shutdown_timeout;
        tokio::select! {
            result = serve => result,
            () = async move {
                let _ = draining_rx.await;
                tokio::time::sleep(timeout).await;
            } => {
                tracing::warn!("shutdown timeout reached with requests still in flight");
                Ok(())
            }
        }
    }
}

/// Applies migrations and returns (the `migrate` subcommand).
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    timesheet_store::connect(config.database_url.expose_secret(), &config.store_options())
        .await
        .context("migrating the database")?;
    tracing::info!("migrations applied");
    Ok(())
}

/// The whole HTTP surface with its layers. Public so tests can drive it without a socket.
///
/// Layers, outermost first: a request id is set (or kept from the gateway) and echoed; a span
/// per request records it (continuing the gateway's trace, see `telemetry`); panics become 500
/// problems; every error response without a body becomes a problem; slow requests are cut at
/// the timeout; bodies are bounded; each request is counted and timed by its route template
/// (innermost, where axum knows the matched route).
pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    Router::new()
        .merge(routes::health::router())
        .merge(routes::openapi::router())
        .merge(routes::metrics::router())
        .merge(routes::api_router(state.clone()))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            track_requests,
        ))
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            request_timeout,
        ))
        .layer(axum::middleware::from_fn(problem_for_bare_errors))
        .layer(CatchPanicLayer::custom(|_| {
            problem_response(Problem::new(ProblemType::Internal))
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(telemetry::request_span)
                .on_response(telemetry::record_response),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Responses that axum or tower produce on their own (timeouts, 405s, 413s) have no problem
/// body; give them one, so that every error of this API has the same shape.
async fn problem_for_bare_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return response;
    }
    let kind = match status {
        StatusCode::NOT_FOUND => ProblemType::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ProblemType::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ProblemType::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ProblemType::UnsupportedMediaType,
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::REQUEST_TIMEOUT => {
            ProblemType::ServiceUnavailable
        }
        s if s.is_server_error() => ProblemType::Internal,
        _ => ProblemType::MalformedRequest,
    };
    let mut problem = Problem::new(kind);
    problem.status = status.as_u16();
    let mut rebuilt = problem_response(problem);
    if let Some(retry) = response.headers().get(header::RETRY_AFTER) {
        rebuilt
            .headers_mut()
            .insert(header::RETRY_AFTER, retry.clone());
    } else if status == StatusCode::SERVICE_UNAVAILABLE {
        rebuilt
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    rebuilt.into_response()
}
