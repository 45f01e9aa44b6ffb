//! Logs and traces: structured log lines (JSON by default, pretty at a terminal on request),
//! filtered by `RUST_LOG` or `log.filter`, and, when `telemetry.otlp_endpoint` (or
//! `OTEL_EXPORTER_OTLP_ENDPOINT`) is set, spans exported over OTLP/HTTP (see `service-telemetry`).
//!
//! Every request runs in one server span ([`request_span`]) that continues the gateway's
//! `traceparent`, carries the request id, route and status, and is the parent of the store's
//! `db.query` spans; each log line of a request can be found by its request id, and by its
//! `trace_id` when tracing is on.

use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::response::Response;
use service_telemetry::{Guard, TelemetryConfig, TelemetryError};
use tracing::field::Empty;
use tracing::Span;

/// `service.name` of this service's spans.
pub const SERVICE_NAME: &str = "timesheet-svc";

/// The header that carries a request's id: set by the gateway (or here, when absent), echoed in
/// the response, recorded on the request span and bound into the gateway's assertion.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Installs the global subscriber for `config` (with the standard environment overrides).
/// Keep the guard until the server has drained: dropping it exports the last spans.
///
/// Fails on an unusable telemetry configuration, or when a subscriber is already installed (a
/// second call; tests may ignore that).
pub fn init(config: &TelemetryConfig) -> Result<Guard, TelemetryError> {
    service_telemetry::init(config)
}

/// The span of one request, made by the trace layer before the handler runs (and after routing,
/// so the route template is known). A `traceparent` from the gateway makes it a child of the
/// gateway's upstream span, so one trace runs from the importer down to the SQL.
pub fn request_span(request: &Request) -> Span {
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let method = request.method().as_str();
    let span = tracing::info_span!(
        "request",
        otel.kind = "server",
        // `GET /v1/timesheets/entries/{id}`: the name OpenTelemetry expects for a server span.
        otel.name = %format!("{method} {}", route.unwrap_or("unmatched")),
        otel.status_code = Empty,
        method,
        path = request.uri().path(),
        request_id = id,
        tenant = Empty,
        http.request.method = method,
        http.route = route,
        http.response.status_code = Empty,
    );
    service_telemetry::set_parent_from_headers(&span, request.headers());
    span
}

/// Records the response on the request span; a 5xx marks the span as failed.
pub fn record_response(response: &Response, latency: Duration, span: &Span) {
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    tracing::debug!(
        status = status.as_u16(),
        latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        "finished processing request"
    );
}
