//! Traces through the gateway: a request continues the client's `traceparent`, the upstream
//! receives the gateway's own span as its parent, and the spans (`request`, `jwt.verify`,
//! `upstream`, `jwks.fetch`) reach an OTLP/HTTP receiver on loopback, flushed when SIGTERM
//! stops the process.

use std::time::{Duration, Instant};

use serde_json::Value;
use service_telemetry::testing::{OtlpReceiver, ReceivedSpan};

use crate::utils::stack::{Stack, StackOptions, HOST_A};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";
const ROUTE: &str = "/v1/timesheets/entries";

/// Sends `GET /v1/timesheets/entries` (with `traceparent` if given) and returns the
/// `traceparent` the upstream received.
async fn forwarded_traceparent(stack: &Stack, traceparent: Option<&str>) -> String {
    let mut request = stack
        .client()
        .get(stack.url(HOST_A, ROUTE))
        .bearer_auth(stack.token_a("read:timesheets"));
    if let Some(value) = traceparent {
        request = request.header("traceparent", value);
    }
    let res = request.send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["headers"]["traceparent"].as_str().unwrap().to_owned()
}

fn parts(traceparent: &str) -> Vec<String> {
    traceparent.split('-').map(str::to_owned).collect()
}

fn one<'a>(spans: &[&'a ReceivedSpan], what: impl Fn(&ReceivedSpan) -> bool) -> &'a ReceivedSpan {
    let found: Vec<&&ReceivedSpan> = spans.iter().filter(|s| what(s)).collect();
    assert_eq!(found.len(), 1, "{spans:#?}");
    found[0]
}

#[tokio::test]
async fn a_traced_request_reaches_the_upstream_as_a_child_of_the_gateways_span() {
    // Arrange: the exporter's timer is far off, so spans can only arrive through the flush at
    // exit.
    let receiver = OtlpReceiver::start().await.unwrap();
    let mut stack = Stack::start(StackOptions {
        otlp_endpoint: Some(receiver.endpoint()),
        env: vec![("OTEL_BSP_SCHEDULE_DELAY", "600000".to_owned())],
        ..StackOptions::default()
    })
    .await;

    // Act
    let continued =
        forwarded_traceparent(&stack, Some(&format!("00-{TRACE}-{CLIENT_SPAN}-01"))).await;
    let fresh = forwarded_traceparent(&stack, None).await;
    stack.gateway.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(20);
    while stack.gateway.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "{}", stack.gateway.log_text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let spans = receiver.spans();

    // Assert: the upstream sees our trace with our span as its parent.
    let continued = parts(&continued);
    assert_eq!(continued[1], TRACE);
    assert_ne!(continued[2], CLIENT_SPAN);
    assert_eq!(continued[3], "01");
    let trace: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.trace_id == TRACE).collect();
    let request = one(&trace, |s| s.name == format!("GET {ROUTE}"));
    assert_eq!(request.service_name, "gateway");
    assert_eq!(request.kind, ReceivedSpan::KIND_SERVER);
    assert_eq!(request.parent_span_id.as_deref(), Some(CLIENT_SPAN));
    assert_eq!(request.attribute("http.route"), Some(ROUTE));
    assert_eq!(request.attribute("http.response.status_code"), Some("200"));
    assert_eq!(request.attribute("tenant"), Some("exampleco"));
    let verify = one(&trace, |s| s.name == "jwt.verify");
    assert_eq!(verify.parent_span_id.as_ref(), Some(&request.span_id));
    assert_eq!(verify.attribute("tenant"), Some("exampleco"));
    let upstream = one(&trace, |s| s.name == "upstream");
    assert_eq!(upstream.kind, ReceivedSpan::KIND_CLIENT);
    assert_eq!(upstream.parent_span_id.as_ref(), Some(&request.span_id));
    assert_eq!(
        upstream.span_id, continued[2],
        "the upstream's parent is our upstream span"
    );
    assert_eq!(upstream.attribute("http.response.status_code"), Some("200"));

    // Without a traceparent the gateway starts the trace.
    let fresh = parts(&fresh);
    let started: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.trace_id == fresh[1]).collect();
    let root = one(&started, |s| s.kind == ReceivedSpan::KIND_SERVER);
    assert_eq!(root.parent_span_id, None);
    assert_eq!(one(&started, |s| s.name == "upstream").span_id, fresh[2]);

    // Keys fetched at start are traced too, each fetch a trace of its own.
    assert!(
        spans
            .iter()
            .any(|s| s.name == "jwks.fetch" && s.attribute("tenant") == Some("exampleco")),
        "{spans:#?}"
    );
    // The access log line of the traced request carries its trace id.
    let log = stack.gateway.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("\"target\":\"access\"") && l.contains(TRACE)),
        "{log}"
    );
}
