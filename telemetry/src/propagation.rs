//! W3C trace context over HTTP headers: [`inject`] writes the current span's `traceparent` (and
//! `tracestate`) into outgoing headers, [`extract`] reads a caller's, and
//! [`set_parent_from_headers`] makes a server span continue the caller's trace.
//!
//! These use the W3C propagator directly rather than the global one, so they behave the same
//! whether or not [`crate::init`] ran (tests with a scoped subscriber, libraries).

use http::HeaderMap;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";

/// Makes W3C trace context OpenTelemetry's global propagator, the one libraries that do not
/// depend on this crate (`timesheet-client`) inject with. [`crate::init`] calls it; a test that
/// builds its own subscriber calls it to have such libraries propagate. Idempotent.
pub fn set_global_propagator() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
}

/// Writes the current span's context into `headers` (replacing any `traceparent` and
/// `tracestate` there). Returns whether it did: without tracing, or outside any span, there is
/// no context and `headers` are left as they were.
pub fn inject(headers: &mut HeaderMap) -> bool {
    inject_span(&tracing::Span::current(), headers)
}

/// [`inject`] for `span` rather than the current one (Pingora hooks keep their span in the
/// request context instead of entering it).
pub fn inject_span(span: &tracing::Span, headers: &mut HeaderMap) -> bool {
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return false;
    }
    TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(headers));
    // An empty `tracestate` is allowed but says nothing; leave it out.
    if headers
        .get(TRACESTATE)
        .is_some_and(|value| value.is_empty())
    {
        headers.remove(TRACESTATE);
    }
    true
}

/// The caller's context from `traceparent`/`tracestate`. An absent or malformed `traceparent`
/// gives a context without a span (a new trace starts).
pub fn extract(headers: &HeaderMap) -> opentelemetry::Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

/// Makes `span` a child of the caller's span named in `headers`. Call it right after creating
/// the span, before it is entered (an entered span has started and keeps its parent). Returns
/// whether the span now continues the caller's trace: false without a valid `traceparent`,
/// without tracing, or when the span had already started.
pub fn set_parent_from_headers(span: &tracing::Span, headers: &HeaderMap) -> bool {
    let cx = extract(headers);
    if !cx.span().span_context().is_valid() {
        return false;
    }
    span.set_parent(cx).is_ok()
}

/// The trace id of `span` (32 lowercase hex digits), when it is traced.
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    let cx = span.context();
    let span = cx.span();
    let span_context = span.span_context();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// The span id of `span` (16 lowercase hex digits), when it is traced.
pub fn span_id(span: &tracing::Span) -> Option<String> {
    let cx = span.context();
    let span = cx.span();
    let span_context = span.span_context();
    span_context
        .is_valid()
        .then(|| span_context.span_id().to_string())
}
