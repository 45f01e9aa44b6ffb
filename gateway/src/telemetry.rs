//! Logs and traces of the gateway: log lines as `[log]` says (the access log and operational
//! logs share one stream, filtered by `log.filter`, or `RUST_LOG` which wins) and, when
//! `[telemetry]` names an OTLP endpoint, spans exported through `service-telemetry`.
//!
//! One request is one trace branch: a server span `request` (continuing the client's
//! `traceparent`, so the importer's trace goes on here), `jwt.verify` and `jwks.fetch` below it
//! (from `auth`), and a client span `upstream` for the proxied call, whose context — not the
//! client's — is what the service receives as `traceparent`.
//!
//! Pingora's hooks are separate calls, not one async call tree, so the spans live in the
//! request context ([`crate::ctx::RequestCtx`]) and are entered (or used as explicit parents)
//! by each hook; entering them across an `.await` would leak them into other requests.
//!
//! The per-request spans have their own target, [`SPAN_TARGET`], which the log filter turns off
//! ([`log_filter`]): they exist for traces, and the access line already says what they would add
//! to log lines. With no exporter, no layer wants them, so `tracing` does not create them at all
//! and the hot path pays a cached callsite check instead of a registry slot, fields formatted
//! as JSON (and re-parsed on every `record`) and a parse of those fields per access line.

use pingora::http::RequestHeader;
use service_telemetry::{
    Guard, LogConfig, TelemetryConfig, TelemetryError, TracingConfig, TRACEPARENT, TRACESTATE,
};
use tracing::field::Empty;
use tracing::Span;

use crate::forward::UpstreamConfig;

/// `service.name` of the gateway's spans.
pub const SERVICE_NAME: &str = "gateway";

/// Target of the per-request spans (`request`, `upstream`, `jwt.verify`). Not a module path,
/// so that no `gateway::…=level` directive a log filter holds reaches it by prefix.
pub const SPAN_TARGET: &str = "gateway_span";

/// Installs the global subscriber (and the exporter, with an endpoint). Keep the guard until
/// the server has stopped: dropping it exports the last spans.
///
/// The log filter is `log.filter` (which `GATEWAY_LOG` sets) through [`log_filter`].
/// `RUST_LOG`, when set, is used as written (service-telemetry's rule): a debugging override
/// that may log the spans too, at their cost.
///
/// Fails on an unusable endpoint or when a subscriber is already installed.
pub fn init(log: &LogConfig, tracing: &TracingConfig) -> Result<Guard, TelemetryError> {
    let mut config = TelemetryConfig::from_sections(SERVICE_NAME, log, tracing);
    config.filter = log_filter(&config.filter);
    service_telemetry::init(&config)
}

/// The log layer's filter: `filter` with the per-request spans turned off, unless it names
/// [`SPAN_TARGET`] itself (someone who wants them in log lines). The exporter has its own
/// filter, so traces keep every span.
pub fn log_filter(filter: &str) -> String {
    if filter.trim().is_empty() || filter.contains(SPAN_TARGET) {
        return filter.to_owned();
    }
    format!("{filter},{SPAN_TARGET}=off")
}

/// The server span of one request, continuing the client's trace when it sent a valid
/// `traceparent`. Made in `request_filter`, the first hook that sees the request; `route` is the
/// matched route pattern, which names the span (never the raw path, which holds ids). The name
/// is fixed when the span starts, so the route must be known here.
pub fn request_span(req: &RequestHeader, request_id: &str, route: Option<&str>) -> Span {
    let method = req.method.as_str();
    let span = tracing::info_span!(
        target: SPAN_TARGET,
        "request",
        otel.kind = "server",
        otel.name = %format!("{method} {}", route.unwrap_or("unlisted")),
        otel.status_code = Empty,
        http.request.method = method,
        url.path = req.uri.path(),
        request_id,
        http.route = route,
        tenant = Empty,
        http.response.status_code = Empty,
    );
    service_telemetry::set_parent_from_headers(&span, &req.headers);
    span
}

/// The client span of the proxied call, child of the request span.
pub fn upstream_span(parent: &Span, upstream: &UpstreamConfig) -> Span {
    tracing::info_span!(
        target: SPAN_TARGET,
        parent: parent,
        "upstream",
        otel.kind = "client",
        otel.status_code = Empty,
        server.address = %upstream.address.ip(),
        server.port = upstream.address.port(),
        http.response.status_code = Empty,
    )
}

/// Records a response status; a 5xx marks the span as failed.
pub fn record_status(span: &Span, status: u16) {
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
    }
}

/// Marks a span as failed (the upstream could not be reached or answered garbage).
pub fn record_failure(span: &Span) {
    span.record("otel.status_code", "ERROR");
}

/// Makes the upstream request carry the upstream span's context as `traceparent` (and its
/// `tracestate`), replacing what the client sent: the client's span is our parent, our span is
/// the service's. Does nothing when tracing is off, so the `traceparent` that
/// `forward::rewrite` set (the client's, or a new one) goes through unchanged.
pub fn propagate(upstream: &mut RequestHeader, span: &Span) -> pingora::Result<bool> {
    let mut headers = http::HeaderMap::new();
    if !service_telemetry::inject_span(span, &mut headers) {
        return Ok(false);
    }
    let _ = upstream.remove_header(TRACESTATE);
    for name in [TRACEPARENT, TRACESTATE] {
        if let Some(value) = headers.remove(name) {
            upstream.insert_header(name, value)?;
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Duration;

    use service_telemetry::build_subscriber;
    use service_telemetry::testing::CapturedLines;

    use super::*;

    // Not sampled: the caller decided not to record this trace, so nothing is exported here.
    const CLIENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

    fn upstream() -> UpstreamConfig {
        let ms = Duration::from_millis(100);
        UpstreamConfig {
            address: SocketAddr::from(([127, 0, 0, 1], 8080)),
            connect_timeout: ms,
            read_timeout: ms,
            write_timeout: ms,
            health_check_interval: ms,
        }
    }

    fn request() -> RequestHeader {
        let mut req = RequestHeader::build("GET", b"/v1/timesheets/entries", None).unwrap();
        req.insert_header("traceparent", CLIENT).unwrap();
        req.insert_header("tracestate", "vendor=client").unwrap();
        req
    }

    /// The gateway's subscriber with `filter`, JSON lines into `lines`.
    fn subscriber(
        filter: &str,
        otlp_endpoint: Option<&str>,
        lines: &CapturedLines,
    ) -> (tracing::Dispatch, service_telemetry::Guard) {
        let mut config = TelemetryConfig::new("gateway");
        config.filter = log_filter(filter);
        config.otlp_endpoint = otlp_endpoint.map(str::to_owned);
        let lines = lines.clone();
        build_subscriber(&config, move || lines.clone()).unwrap()
    }

    #[test]
    fn the_log_filter_turns_the_request_spans_off_unless_it_names_them() {
        assert_eq!(log_filter("info"), "info,gateway_span=off");
        assert_eq!(
            log_filter("warn,gateway=debug"),
            "warn,gateway=debug,gateway_span=off"
        );
        assert_eq!(
            log_filter("info,gateway_span=info"),
            "info,gateway_span=info"
        );
        assert_eq!(log_filter(""), "");
    }

    #[test]
    fn without_an_exporter_the_request_spans_are_not_created() {
        let lines = CapturedLines::default();
        let (dispatch, _guard) = subscriber("info", None, &lines);
        tracing::dispatcher::with_default(&dispatch, || {
            let span = request_span(&request(), "rid", Some("/v1/timesheets/entries"));
            assert!(span.is_disabled());
            assert!(upstream_span(&span, &upstream()).is_disabled());
            // Events still log, at the filter's level.
            span.in_scope(|| tracing::info!(target: "access", status = 200, "request"));
        });
        let text = lines.text();
        assert!(text.contains(r#""status":200"#), "{text}");
        assert!(!text.contains(r#""span""#), "{text}");
    }

    #[test]
    fn with_an_exporter_the_request_spans_exist_even_at_a_quiet_log_level() {
        let lines = CapturedLines::default();
        // Nothing listens here, and nothing is recorded to be sent (see CLIENT).
        let (dispatch, _guard) = subscriber("warn", Some("http://127.0.0.1:9"), &lines);
        tracing::dispatcher::with_default(&dispatch, || {
            let span = request_span(&request(), "rid", Some("/v1/timesheets/entries"));
            assert!(!span.is_disabled());
            assert!(!upstream_span(&span, &upstream()).is_disabled());
        });
    }

    #[test]
    fn without_tracing_the_forwarded_headers_are_left_alone() {
        let (dispatch, _guard) =
            build_subscriber(&TelemetryConfig::new("gateway"), std::io::sink).unwrap();
        tracing::dispatcher::with_default(&dispatch, || {
            let mut req = request();
            let span = request_span(&req, "rid", Some("/v1/timesheets/entries"));
            let up = upstream_span(&span, &upstream());
            assert!(!propagate(&mut req, &up).unwrap());
            assert_eq!(req.headers["traceparent"], CLIENT);
            assert_eq!(req.headers["tracestate"], "vendor=client");
        });
    }

    #[test]
    fn with_tracing_the_upstream_gets_our_span_in_the_clients_trace() {
        let mut config = TelemetryConfig::new("gateway");
        // Nothing listens here, and nothing is recorded to be sent (see CLIENT).
        config.otlp_endpoint = Some("http://127.0.0.1:9".to_owned());
        let (dispatch, _guard) = build_subscriber(&config, std::io::sink).unwrap();
        tracing::dispatcher::with_default(&dispatch, || {
            let mut req = request();
            let span = request_span(&req, "rid", Some("/v1/timesheets/entries"));
            let up = upstream_span(&span, &upstream());
            assert!(propagate(&mut req, &up).unwrap());
            let sent = req.headers["traceparent"].to_str().unwrap();
            let parts: Vec<&str> = sent.split('-').collect();
            assert_eq!(parts[1], "4bf92f3577b34da6a3ce929d0e0e4736");
            assert_ne!(parts[2], "00f067aa0ba902b7");
            assert_eq!(parts[3], "00", "the caller's sampling decision travels on");
            // The client's vendor entries travel on with the trace.
            assert_eq!(req.headers["tracestate"], "vendor=client");
            assert_eq!(req.headers.get_all("traceparent").iter().count(), 1);
        });
    }
}
