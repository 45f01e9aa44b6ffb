//! Traces: a request that arrives with the gateway's `traceparent` is exported as a server span
//! of that trace, child of the gateway's span, with a `db.query` span for each SQL statement
//! below it. Spans go to an OTLP/HTTP receiver on loopback, as they would to a collector.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use service_telemetry::testing::{OtlpReceiver, ReceivedSpan};
use service_telemetry::{build_subscriber, TelemetryConfig};
use timesheet_domain::Scope;

use crate::helpers::{days_ago, item, machine, spawn_app, Backend, TENANT};

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const GATEWAY_SPAN: &str = "b7ad6b7169203331";

/// On SQLite the request span itself can be exported late (sqlx's SQLite worker holds the
/// last statement's span context for a while, keeping its ancestors open), so this variant
/// proves what is exported at once: every statement span, in the gateway's trace, each with a
/// parent (the request span).
#[tokio::test]
async fn statements_on_sqlite_are_spans_of_the_gateways_trace() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let mut config = TelemetryConfig::new("timesheet-svc");
    config.otlp_endpoint = Some(receiver.endpoint());
    let (dispatch, guard) = build_subscriber(&config, std::io::sink).unwrap();
    let _scope = tracing::dispatcher::set_default(&dispatch);
    let (app, server) = spawn_app(Backend::Sqlite).await;
    let uploader = machine(TENANT, &[Scope::BatchUpload]);

    let response = app
        .call(Method::POST, "/v1/timesheets/upload", &uploader)
        .header("traceparent", &format!("00-{TRACE}-{GATEWAY_SPAN}-01"))
        .json(&json!({"source": "tracer", "entries": [item("t-1", "w-1", &days_ago(1), 60)]}))
        .send()
        .await;
    server.stop().await;
    guard.flush().unwrap();
    let spans = receiver
        .wait_for(Duration::from_secs(10), |spans| {
            spans
                .iter()
                .filter(|s| s.trace_id == TRACE && s.name == "db.query")
                .count()
                >= 3
        })
        .await;

    response.assert_status(200);
    let statements: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.trace_id == TRACE && s.name == "db.query")
        .collect();
    assert!(statements.len() >= 3, "{spans:#?}");
    for statement in statements {
        assert_eq!(statement.attribute("db.system"), Some("sqlite"));
        assert!(statement.parent_span_id.is_some(), "{statement:#?}");
        assert_ne!(
            statement.parent_span_id.as_deref(),
            Some(GATEWAY_SPAN),
            "below the request span"
        );
    }
}

#[tokio::test]
async fn a_request_continues_the_gateways_trace_down_to_each_statement_postgres() {
    a_request_continues_the_gateways_trace_down_to_each_statement(Backend::Postgres, "postgresql")
        .await;
}

async fn a_request_continues_the_gateways_trace_down_to_each_statement(
    backend: Backend,
    db_system: &str,
) {
    // Arrange: the subscriber is scoped to this thread, and `#[tokio::test]` runs the server's
    // tasks on this very thread, so only this test's spans reach this receiver.
    let receiver = OtlpReceiver::start().await.unwrap();
    let mut config = TelemetryConfig::new("timesheet-svc");
    config.otlp_endpoint = Some(receiver.endpoint());
    let (dispatch, guard) = build_subscriber(&config, std::io::sink).unwrap();
    let _scope = tracing::dispatcher::set_default(&dispatch);
    let (app, server) = spawn_app(backend).await;
    let uploader = machine(TENANT, &[Scope::BatchUpload]);

    // Act
    let response = app
        .call(Method::POST, "/v1/timesheets/upload", &uploader)
        .header("traceparent", &format!("00-{TRACE}-{GATEWAY_SPAN}-01"))
        .json(&json!({"source": "tracer", "entries": [item("t-1", "w-1", &days_ago(1), 60)]}))
        .send()
        .await;
    // The request span ends when the server has finished with the response, which can be just
    // after the client has it: stopping the server waits for that.
    server.stop().await;
    guard.flush().unwrap();
    let spans = receiver
        .wait_for(Duration::from_secs(10), |spans| {
            let ours = || spans.iter().filter(|s| s.trace_id == TRACE);
            ours().any(|s| s.name == "db.query")
                && ours().any(|s| s.kind == ReceivedSpan::KIND_SERVER)
        })
        .await;

    // Assert
    response.assert_status(200);
    let trace: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.trace_id == TRACE).collect();
    let request = trace
        .iter()
        .find(|s| s.kind == ReceivedSpan::KIND_SERVER)
        .unwrap_or_else(|| panic!("no server span in {trace:#?}"));
    assert_eq!(request.service_name, "timesheet-svc");
    assert_eq!(request.name, "POST /v1/timesheets/upload");
    assert_eq!(request.parent_span_id.as_deref(), Some(GATEWAY_SPAN));
    assert_eq!(
        request.attribute("http.route"),
        Some("/v1/timesheets/upload")
    );
    assert_eq!(request.attribute("http.response.status_code"), Some("200"));
    assert_eq!(request.attribute("tenant"), Some(TENANT));

    let statements: Vec<&&ReceivedSpan> = trace.iter().filter(|s| s.name == "db.query").collect();
    let operations: Vec<&str> = statements
        .iter()
        .filter_map(|s| s.attribute("db.operation"))
        .collect();
    for expected in ["BEGIN", "SELECT", "INSERT", "COMMIT"] {
        assert!(
            operations.contains(&expected),
            "{expected} not in {operations:?}"
        );
    }
    for statement in &statements {
        assert_eq!(statement.attribute("db.system"), Some(db_system));
        assert_eq!(statement.kind, ReceivedSpan::KIND_CLIENT);
        assert!(
            descends_from(statement, request, &trace),
            "{statement:#?} is not below the request span"
        );
    }
}

/// Whether `span`'s chain of parents, within `trace`, reaches `ancestor`.
fn descends_from(span: &ReceivedSpan, ancestor: &ReceivedSpan, trace: &[&ReceivedSpan]) -> bool {
    let mut parent = span.parent_span_id.as_deref();
    while let Some(id) = parent {
        if id == ancestor.span_id {
            return true;
        }
        parent = trace
            .iter()
            .find(|s| s.span_id == id)
            .and_then(|s| s.parent_span_id.as_deref());
    }
    false
}
