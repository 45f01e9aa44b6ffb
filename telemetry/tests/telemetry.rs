//! service-telemetry against a real OTLP/HTTP receiver on loopback: what is exported, with which
//! parents, and what log lines carry.
//!
//! Run: `cargo test -p service-telemetry`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io;
use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use opentelemetry::trace::TraceContextExt as _;
use serde_json::Value;
use service_telemetry::testing::{CapturedLines, OtlpReceiver, ReceivedSpan};
use service_telemetry::{
    build_subscriber, extract, inject, set_parent_from_headers, trace_id, Guard, LogFormat,
    TelemetryConfig,
};
use tracing::Dispatch;

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
const WAIT: Duration = Duration::from_secs(10);

fn traceparent(flags: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "traceparent",
        HeaderValue::from_str(&format!("00-{CALLER_TRACE}-{CALLER_SPAN}-{flags}")).unwrap(),
    );
    headers
}

/// The JSON log lines written so far, parsed.
fn json(lines: &CapturedLines) -> Vec<Value> {
    lines
        .text()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn config(receiver: Option<&OtlpReceiver>) -> TelemetryConfig {
    let mut config = TelemetryConfig::new("telemetry-test");
    config.otlp_endpoint = receiver.map(OtlpReceiver::endpoint);
    config
}

fn subscriber(config: &TelemetryConfig) -> (Dispatch, Guard, CapturedLines) {
    let lines = CapturedLines::default();
    let writer = lines.clone();
    let (dispatch, guard) = build_subscriber(config, move || writer.clone()).unwrap();
    (dispatch, guard, lines)
}

fn named<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

#[tokio::test]
async fn a_span_is_exported_with_the_service_name_and_its_attributes() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let (dispatch, guard, _) = subscriber(&config(Some(&receiver)));

    tracing::dispatcher::with_default(&dispatch, || {
        let span = tracing::info_span!("work", otel.kind = "server", http.route = "/things/{id}");
        span.in_scope(|| tracing::info!("working"));
    });
    guard.flush().unwrap();

    let spans = receiver.wait_for(WAIT, |s| !s.is_empty()).await;
    let work = named(&spans, "work");
    assert_eq!(work.service_name, "telemetry-test");
    assert_eq!(work.kind, ReceivedSpan::KIND_SERVER);
    assert_eq!(work.attribute("http.route"), Some("/things/{id}"));
    assert_eq!(work.parent_span_id, None);
    assert_eq!(work.trace_id.len(), 32);
}

#[tokio::test]
async fn a_server_span_continues_the_callers_traceparent_and_children_follow_it() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let (dispatch, guard, _) = subscriber(&config(Some(&receiver)));

    let continued = tracing::dispatcher::with_default(&dispatch, || {
        let request = tracing::info_span!("request");
        let continued = set_parent_from_headers(&request, &traceparent("01"));
        request.in_scope(|| tracing::info_span!("db.query").in_scope(|| {}));
        continued
    });
    guard.flush().unwrap();

    assert!(continued);
    let spans = receiver.wait_for(WAIT, |s| s.len() >= 2).await;
    let request = named(&spans, "request");
    let query = named(&spans, "db.query");
    assert_eq!(request.trace_id, CALLER_TRACE);
    assert_eq!(request.parent_span_id.as_deref(), Some(CALLER_SPAN));
    assert_eq!(query.trace_id, CALLER_TRACE);
    assert_eq!(query.parent_span_id.as_ref(), Some(&request.span_id));
}

#[tokio::test]
async fn inject_writes_the_current_span_and_extract_reads_it_back() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let (dispatch, _guard, _) = subscriber(&config(Some(&receiver)));

    let (headers, span_trace) = tracing::dispatcher::with_default(&dispatch, || {
        let span = tracing::info_span!("outgoing");
        set_parent_from_headers(&span, &traceparent("01"));
        let mut headers = HeaderMap::new();
        assert!(span.in_scope(|| inject(&mut headers)));
        (headers, trace_id(&span))
    });

    let value = headers["traceparent"].to_str().unwrap();
    let parts: Vec<&str> = value.split('-').collect();
    assert_eq!(parts[0], "00");
    assert_eq!(parts[1], CALLER_TRACE);
    assert_ne!(
        parts[2], CALLER_SPAN,
        "the outgoing parent is our span, not the caller's"
    );
    assert_eq!(parts[3], "01");
    assert_eq!(span_trace.as_deref(), Some(CALLER_TRACE));
    assert!(
        !headers.contains_key("tracestate"),
        "empty tracestate is left out"
    );
    let cx = extract(&headers);
    let span = cx.span();
    let read = span.span_context();
    assert!(read.is_remote() && read.is_sampled());
    assert_eq!(read.trace_id().to_string(), CALLER_TRACE);
    assert_eq!(read.span_id().to_string(), parts[2]);
}

#[test]
fn without_tracing_inject_leaves_headers_alone_and_nothing_continues() {
    let (dispatch, guard, _) = subscriber(&config(None));
    assert!(!guard.is_exporting());
    tracing::dispatcher::with_default(&dispatch, || {
        let span = tracing::info_span!("request");
        assert!(!set_parent_from_headers(&span, &traceparent("01")));
        let mut headers = traceparent("01");
        assert!(!span.in_scope(|| inject(&mut headers)));
        assert_eq!(headers, traceparent("01"));
        assert_eq!(trace_id(&span), None);
    });
    assert!(!extract(&HeaderMap::new()).span().span_context().is_valid());
}

#[tokio::test]
async fn json_log_lines_inside_a_traced_span_carry_its_trace_and_span_id() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let (dispatch, guard, lines) = subscriber(&config(Some(&receiver)));

    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info!("before");
        let request = tracing::info_span!("request", request_id = "r-1");
        set_parent_from_headers(&request, &traceparent("01"));
        request.in_scope(|| {
            tracing::info!(answer = 42, "inside");
            tracing::info_span!("db.query").in_scope(|| tracing::warn!("deeper"));
        });
    });
    guard.flush().unwrap();

    let spans = receiver.wait_for(WAIT, |s| s.len() >= 2).await;
    let lines = json(&lines);
    let line = |message: &str| {
        lines
            .iter()
            .find(|l| l["message"] == message)
            .unwrap_or_else(|| panic!("no line {message:?} in {lines:?}"))
    };
    assert!(line("before").get("trace_id").is_none());
    let inside = line("inside");
    assert_eq!(inside["trace_id"], CALLER_TRACE);
    assert_eq!(inside["span_id"], named(&spans, "request").span_id.as_str());
    assert_eq!(inside["answer"], 42);
    assert_eq!(inside["span"]["request_id"], "r-1");
    let deeper = line("deeper");
    assert_eq!(deeper["trace_id"], CALLER_TRACE);
    assert_eq!(
        deeper["span_id"],
        named(&spans, "db.query").span_id.as_str()
    );
}

#[tokio::test]
async fn pretty_lines_lead_with_the_trace_id() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let mut config = config(Some(&receiver));
    config.log_format = LogFormat::Pretty;
    let (dispatch, _guard, lines) = subscriber(&config);

    tracing::dispatcher::with_default(&dispatch, || {
        let request = tracing::info_span!("request");
        set_parent_from_headers(&request, &traceparent("01"));
        request.in_scope(|| tracing::info!("inside"));
    });

    let text = lines.text();
    assert!(
        text.starts_with(&format!("trace_id={CALLER_TRACE} span_id=")),
        "{text}"
    );
    assert!(text.contains("inside"), "{text}");
}

#[test]
fn without_tracing_lines_are_plain_json_without_ids() {
    let (dispatch, _guard, lines) = subscriber(&config(None));
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info_span!("request").in_scope(|| tracing::info!("inside"));
        tracing::debug!("filtered out at info");
    });
    let lines = json(&lines);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["message"], "inside");
    assert!(lines[0].get("trace_id").is_none());
}

#[tokio::test]
async fn sampling_applies_to_new_traces_while_a_sampled_caller_is_followed() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let mut config = config(Some(&receiver));
    config.sampling_ratio = 0.0;
    let (dispatch, guard, _) = subscriber(&config);

    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info_span!("new-trace").in_scope(|| {});
        let followed = tracing::info_span!("followed");
        set_parent_from_headers(&followed, &traceparent("01"));
        followed.in_scope(|| {});
        let declined = tracing::info_span!("declined");
        set_parent_from_headers(&declined, &traceparent("00"));
        declined.in_scope(|| {});
    });
    guard.flush().unwrap();

    let spans = receiver.wait_for(WAIT, |s| !s.is_empty()).await;
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["followed"]);
}

#[tokio::test]
async fn dropping_the_guard_exports_the_spans_still_queued() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let (dispatch, guard, _) = subscriber(&config(Some(&receiver)));
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info_span!("last-words").in_scope(|| {});
    });

    drop(guard);

    let spans = receiver.spans();
    assert_eq!(named(&spans, "last-words").service_name, "telemetry-test");
}

#[test]
fn an_unusable_configuration_is_refused_before_anything_is_built() {
    let mut config = config(None);
    config.otlp_endpoint = Some("collector:4318".to_owned());
    let err = build_subscriber(&config, io::sink).err().unwrap();
    assert!(err.to_string().starts_with("otlp_endpoint:"), "{err}");
}

/// What the `log` bridge does for every `log_enabled!` (sqlx: after every query): ask the
/// dispatcher whether a record is enabled, then send nothing.
fn ask_without_sending(level: log::Level, target: &str) -> bool {
    let metadata = log::Metadata::builder().level(level).target(target).build();
    log::Log::enabled(&tracing_log::LogTracer::new(), &metadata)
}

#[test]
fn an_enabled_check_that_sends_nothing_does_not_swallow_the_next_line() {
    // Debug for one target lifts the global maximum to debug, so the bridge's check reaches the
    // filters (at plain `info` the `log` crate itself says no first).
    let mut config = config(None);
    config.filter = "info,some_other_crate=debug".to_owned();
    let (dispatch, _guard, lines) = subscriber(&config);
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info!("before");
        assert!(!ask_without_sending(log::Level::Debug, "sqlx::query"));
        tracing::info!("after");
    });
    let messages: Vec<Value> = json(&lines)
        .into_iter()
        .map(|l| l["message"].clone())
        .collect();
    assert_eq!(messages, ["before", "after"], "{}", lines.text());
}

#[tokio::test]
async fn an_enabled_check_that_sends_nothing_does_not_drop_the_next_span() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let mut config = config(Some(&receiver));
    config.filter = "warn,some_other_crate=debug".to_owned();
    let (dispatch, guard, _lines) = subscriber(&config);
    tracing::dispatcher::with_default(&dispatch, || {
        assert!(!ask_without_sending(log::Level::Debug, "sqlx::query"));
        tracing::info_span!("kept").in_scope(|| {});
    });
    drop(guard);
    named(&receiver.spans(), "kept");
}
