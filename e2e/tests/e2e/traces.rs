//! Traces through the running stack: the services export to an OTLP receiver in the test, and
//! each request is one trace from its caller down to the SQL, every parent link checked.
//!
//! An import: `importer.run` → `importer.batch` → `http.request` (the client's span, sent as
//! `traceparent`) → the gateway's `request` → its `upstream` → timesheet-svc's `request` →
//! `db.query`. A read by the shared client from this test: the test's own span →
//! `http.request` → the same path. Services are told apart by `service.name`.

use std::time::Duration;

use service_telemetry::testing::{OtlpReceiver, ReceivedSpan};
use service_telemetry::{build_subscriber, set_global_propagator, TelemetryConfig};
use timesheet_client::{ApiClient, AuthConfig, Config, ListQuery};
use tracing::instrument::WithSubscriber as _;
use tracing::Instrument as _;

use crate::harness::{describe, Db, TestStack};

/// How long the spans of one request may take to arrive. Services export every 500 ms (set by
/// devstack), but on SQLite timesheet-svc's request span can end late: sqlx's SQLite worker
/// keeps the last statement's span for a while. So the test waits for what it expects rather
/// than sleeping.
const DEADLINE: Duration = Duration::from_secs(60);

const IMPORTER: &str = "importer-svc";
const GATEWAY: &str = "gateway";
const SVC: &str = "timesheet-svc";

/// A request's path below the client span that sent it.
struct Path<'a> {
    gateway: &'a ReceivedSpan,
    upstream: &'a ReceivedSpan,
    svc: &'a ReceivedSpan,
    queries: Vec<&'a ReceivedSpan>,
}

/// The span of `service` whose parent is `parent` and which `is` accepts.
fn child<'a>(
    spans: &'a [ReceivedSpan],
    parent: &ReceivedSpan,
    service: &str,
    is: impl Fn(&ReceivedSpan) -> bool,
) -> Option<&'a ReceivedSpan> {
    spans.iter().find(|s| {
        s.parent_span_id.as_deref() == Some(parent.span_id.as_str())
            && s.service_name == service
            && is(s)
    })
}

/// client span → gateway server span → gateway `upstream` → svc server span → `db.query`s,
/// each found by its parent's span id: a broken link leaves the path incomplete.
fn path_below<'a>(spans: &'a [ReceivedSpan], client: &ReceivedSpan) -> Option<Path<'a>> {
    let gateway = child(spans, client, GATEWAY, |s| {
        s.kind == ReceivedSpan::KIND_SERVER
    })?;
    let upstream = child(spans, gateway, GATEWAY, |s| s.name == "upstream")?;
    let svc = child(spans, upstream, SVC, |s| {
        s.kind == ReceivedSpan::KIND_SERVER
    })?;
    let queries: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| {
            s.name == "db.query" && s.parent_span_id.as_deref() == Some(svc.span_id.as_str())
        })
        .collect();
    (!queries.is_empty()).then_some(Path {
        gateway,
        upstream,
        svc,
        queries,
    })
}

/// The import's spans: its run, the batch, the client's request and the path below it.
struct Import<'a> {
    run: &'a ReceivedSpan,
    batch: &'a ReceivedSpan,
    token: &'a ReceivedSpan,
    request: &'a ReceivedSpan,
    path: Path<'a>,
}

fn import(spans: &[ReceivedSpan]) -> Option<Import<'_>> {
    let run = spans
        .iter()
        .find(|s| s.service_name == IMPORTER && s.name == "importer.run")?;
    let batch = child(spans, run, IMPORTER, |s| s.name == "importer.batch")?;
    let token = child(spans, batch, IMPORTER, |s| s.name == "oauth.token")?;
    let request = child(spans, batch, IMPORTER, |s| s.name == "http.request")?;
    let path = path_below(spans, request)?;
    Some(Import {
        run,
        batch,
        token,
        request,
        path,
    })
}

/// The read's spans: the client's request under the test's span, and the path below it.
fn read<'a>(spans: &'a [ReceivedSpan], root: &str) -> Option<(&'a ReceivedSpan, Path<'a>)> {
    let root = spans
        .iter()
        .find(|s| s.service_name == "e2e" && s.name == root)?;
    let request = child(spans, root, "e2e", |s| s.name == "http.request")?;
    Some((request, path_below(spans, request)?))
}

fn assert_one_trace(trace_id: &str, path: &Path<'_>, spans: &[ReceivedSpan]) {
    for span in [path.gateway, path.upstream, path.svc]
        .into_iter()
        .chain(path.queries.iter().copied())
    {
        assert_eq!(span.trace_id, trace_id, "{span:#?} is in another trace");
    }
    // Nobody on the path started a trace of their own for an API request.
    for span in spans {
        let is_api_server_span = span.kind == ReceivedSpan::KIND_SERVER
            && (span.service_name == GATEWAY
                || span
                    .attribute("http.route")
                    .is_some_and(|r| r.starts_with("/v1/")));
        assert!(
            !is_api_server_span || span.parent_span_id.is_some(),
            "a root server span: {span:#?}"
        );
    }
}

fn db_system(db: Db) -> &'static str {
    match db {
        Db::Sqlite => "sqlite",
        Db::Postgres => "postgresql",
    }
}

async fn an_import_and_a_read_are_each_one_trace_from_the_caller_down_to_the_database(db: Db) {
    // Arrange: the stack exports to a receiver in this test; so does this test's own client.
    let receiver = OtlpReceiver::start().await.unwrap();
    let endpoint = receiver.endpoint();
    let stack = TestStack::start_with(db, |spec| spec.otlp_endpoint = Some(endpoint)).await;
    let mut telemetry = TelemetryConfig::new("e2e");
    telemetry.otlp_endpoint = Some(receiver.endpoint());
    let (dispatch, guard) = build_subscriber(&telemetry, std::io::sink).unwrap();
    set_global_propagator();
    let mut auth = AuthConfig::new(
        stack.env("TOKEN_URL").parse().unwrap(),
        stack.env("READER_CLIENT_ID"),
    );
    auth.client_secret = Some(stack.env("READER_CLIENT_SECRET").into());
    auth.audience = Some(stack.env("AUDIENCE"));
    let mut config = Config::new(stack.env("GATEWAY_URL").parse().unwrap(), auth);
    config.ca_cert = Some(stack.env("CA_CERT").into());
    let reader = ApiClient::new(&config).unwrap();

    // Act 1: a one-shot import (it exits as soon as it is done: its spans must still leave).
    let run = stack.importer(&["run", "--json"]).await;
    assert_eq!(run.status.code(), Some(0), "{}", describe(&run));
    let spans = receiver.wait_for(DEADLINE, |s| import(s).is_some()).await;

    // Assert 1: importer.run → importer.batch → http.request → gateway → upstream → svc → SQL.
    let Some(i) = import(&spans) else {
        panic!("the import's trace is incomplete; received {spans:#?}");
    };
    assert_eq!(i.run.parent_span_id, None, "the run is the root");
    assert_eq!(i.run.attribute("importer.outcome"), Some("success"));
    assert_eq!(i.batch.trace_id, i.run.trace_id);
    assert_eq!(i.token.trace_id, i.run.trace_id);
    assert_eq!(i.request.trace_id, i.run.trace_id);
    assert_eq!(i.request.kind, ReceivedSpan::KIND_CLIENT);
    assert_eq!(i.request.attribute("http.request.method"), Some("POST"));
    assert_eq!(
        i.request.attribute("url.template"),
        Some("/v1/timesheets/upload")
    );
    assert_eq!(
        i.request.attribute("http.response.status_code"),
        Some("200")
    );
    assert_eq!(
        i.path.svc.attribute("http.route"),
        Some("/v1/timesheets/upload")
    );
    assert_eq!(
        i.path.queries[0].attribute("db.system"),
        Some(db_system(db))
    );
    assert_one_trace(&i.run.trace_id, &i.path, &spans);

    // Act 2: a read by the shared client, inside a span of this test.
    let root = tracing::dispatcher::with_default(&dispatch, || tracing::info_span!("e2e.read"));
    let query = ListQuery {
        source: Some("contractor-tracker".parse().unwrap()),
        limit: Some(5),
        ..ListQuery::default()
    };
    let page = reader
        .list_entries(&query)
        .instrument(root)
        .with_subscriber(dispatch)
        .await
        .unwrap();
    assert_eq!(page.data.len(), 5);
    guard.flush().unwrap();
    let spans = receiver
        .wait_for(DEADLINE, |s| read(s, "e2e.read").is_some())
        .await;

    // Assert 2: the test's span → http.request → gateway → upstream → svc → SQL, one trace,
    // and not the import's.
    let Some((request, path)) = read(&spans, "e2e.read") else {
        panic!("the read's trace is incomplete; received {spans:#?}");
    };
    assert_ne!(request.trace_id, i.run.trace_id);
    assert_eq!(request.attribute("http.request.method"), Some("GET"));
    assert_eq!(
        request.attribute("url.template"),
        Some("/v1/timesheets/entries")
    );
    assert_eq!(
        path.svc.attribute("http.route"),
        Some("/v1/timesheets/entries")
    );
    assert_eq!(path.queries[0].attribute("db.system"), Some(db_system(db)));
    assert_one_trace(&request.trace_id, &path, &spans);
    stack.finish().await;
}
e2e_test!(an_import_and_a_read_are_each_one_trace_from_the_caller_down_to_the_database);
