//! Trace context: each API request is an `http.request` span under the caller's span and carries
//! that span as `traceparent`; a token request is an `oauth.token` span. Spans go to an
//! in-process OTLP receiver, as they would to a collector.

use std::time::Duration;

use serde_json::json;
use service_telemetry::testing::{OtlpReceiver, ReceivedSpan};
use service_telemetry::{build_subscriber, set_global_propagator, TelemetryConfig};
use timesheet_client::{ApiClient, ListQuery};
use tracing::instrument::WithSubscriber as _;
use tracing::Instrument as _;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const WAIT: Duration = Duration::from_secs(10);
const ENTRIES: &str = "/v1/timesheets/entries";

async fn api_with_one_empty_page() -> MockServer {
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ENTRIES))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [], "next": null})))
        .mount(&api)
        .await;
    api
}

fn span<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

#[tokio::test]
async fn a_request_carries_its_own_client_span_as_traceparent_under_the_callers_span() {
    // Arrange
    let receiver = OtlpReceiver::start().await.unwrap();
    let mut telemetry = TelemetryConfig::new("client-test");
    telemetry.otlp_endpoint = Some(receiver.endpoint());
    let (dispatch, guard) = build_subscriber(&telemetry, std::io::sink).unwrap();
    set_global_propagator();
    let idp = spawn_idp(DAY).await;
    let api = api_with_one_empty_page().await;
    let client = ApiClient::new(&config(&api.uri(), &idp)).unwrap();

    // Act
    let caller = tracing::dispatcher::with_default(&dispatch, || tracing::info_span!("caller"));
    client
        .list_entries(&ListQuery::default())
        .instrument(caller)
        .with_subscriber(dispatch)
        .await
        .unwrap();
    guard.flush().unwrap();

    // Assert: caller → http.request (client span) → the API got it as traceparent.
    let spans = receiver.wait_for(WAIT, |s| s.len() >= 3).await;
    let caller = span(&spans, "caller");
    let request = span(&spans, "http.request");
    let token = span(&spans, "oauth.token");
    assert_eq!(request.parent_span_id.as_ref(), Some(&caller.span_id));
    assert_eq!(request.trace_id, caller.trace_id);
    assert_eq!(request.kind, ReceivedSpan::KIND_CLIENT);
    assert_eq!(request.attribute("http.request.method"), Some("GET"));
    assert_eq!(request.attribute("url.template"), Some(ENTRIES));
    assert_eq!(request.attribute("http.response.status_code"), Some("200"));
    assert_eq!(token.parent_span_id.as_ref(), Some(&caller.span_id));
    let sent = received(&api, ENTRIES).await;
    assert_eq!(sent.len(), 1);
    let traceparent = header(&sent[0], "traceparent").expect("a traceparent header");
    assert_eq!(
        traceparent,
        format!("00-{}-{}-01", caller.trace_id, request.span_id)
    );
    // The token endpoint is not sent our trace: it is a third party's.
    let token_requests = received(&idp, TOKEN_PATH).await;
    assert!(header(&token_requests[0], "traceparent").is_none());
}

#[tokio::test]
async fn without_tracing_no_traceparent_is_sent() {
    // Arrange: a subscriber that only logs, as in an application that does not trace.
    let (dispatch, _guard) =
        build_subscriber(&TelemetryConfig::new("client-test"), std::io::sink).unwrap();
    set_global_propagator();
    let idp = spawn_idp(DAY).await;
    let api = api_with_one_empty_page().await;
    let client = ApiClient::new(&config(&api.uri(), &idp)).unwrap();

    // Act
    let caller = tracing::dispatcher::with_default(&dispatch, || tracing::info_span!("caller"));
    client
        .list_entries(&ListQuery::default())
        .instrument(caller)
        .with_subscriber(dispatch)
        .await
        .unwrap();

    // Assert
    let sent = received(&api, ENTRIES).await;
    assert!(header(&sent[0], "traceparent").is_none());
}
