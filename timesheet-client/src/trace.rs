//! The client's spans and the W3C `traceparent` on its requests.
//!
//! Each HTTP request to the API is one client span, `http.request` (method, route template,
//! status; never the URL with its ids or query), child of whatever span the caller is in (the
//! importer's `importer.batch`). Its context goes out as `traceparent`, so the gateway's request
//! span becomes its child and one trace runs from the caller down to the SQL. Each request to
//! the token endpoint is under one `oauth.token` span.
//!
//! The context is written by OpenTelemetry's *global* propagator, which the application
//! installs along with its exporter (`service_telemetry::init` installs W3C trace context).
//! Without one, or without an OpenTelemetry layer in the subscriber, nothing is added: the
//! client neither depends on an exporter nor makes trace ids up.

use opentelemetry::propagation::Injector;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use tracing::field::Empty;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use url::Url;

/// The span of one HTTP request to the API. `route` is the path template
/// (`/v1/timesheets/entries/{id}`), never the raw path, which would hold ids. The span keeps
/// the name `http.request` (method and route are attributes), so that every request of the
/// client is found by one name whatever it calls.
pub(crate) fn http_request_span(method: &Method, route: &'static str, url: &Url) -> Span {
    tracing::info_span!(
        "http.request",
        otel.kind = "client",
        otel.status_code = Empty,
        http.request.method = %method,
        url.template = route,
        server.address = url.host_str().unwrap_or_default(),
        server.port = url.port_or_known_default(),
        http.response.status_code = Empty,
        error.type = Empty,
    )
}

/// The span of one token request (with its retries); cache hits make none.
pub(crate) fn token_span(token_url: &Url) -> Span {
    tracing::info_span!(
        "oauth.token",
        otel.kind = "client",
        otel.status_code = Empty,
        oauth.grant_type = "client_credentials",
        server.address = token_url.host_str().unwrap_or_default(),
        error.type = Empty,
    )
}

/// Records the answer's status; 4xx and 5xx mark the span as failed, as OpenTelemetry's HTTP
/// conventions have it for client spans (a 401 that the client then renews the token after
/// shows as the failed first of two requests, which is what happened).
pub(crate) fn record_status(span: &Span, status: u16) {
    span.record("http.response.status_code", status);
    if status >= 400 {
        span.record("otel.status_code", "ERROR");
        span.record("error.type", status);
    }
}

/// Marks a span as failed with a low-cardinality `kind` (`timeout`, `connect`, `status`…).
pub(crate) fn record_failure(span: &Span, kind: &'static str) {
    span.record("otel.status_code", "ERROR");
    span.record("error.type", kind);
}

/// Writes `span`'s context into `headers` through the global propagator. Returns whether a
/// `traceparent` was written (false without tracing).
pub(crate) fn inject(span: &Span, headers: &mut HeaderMap) -> bool {
    let cx = span.context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&cx, &mut HeaderInjector(headers));
    });
    headers.contains_key("traceparent")
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // The propagator writes ASCII names and values; anything else is skipped rather than
        // failing a request over its trace context.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}
