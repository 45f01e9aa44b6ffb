//! Tracing: every SQL statement runs in a `db.query` span, child of whatever span the caller is
//! in, saying which database and which operation; exported to an OTLP receiver on loopback.

use std::sync::Arc;
use std::time::Duration;

use service_telemetry::testing::{OtlpReceiver, ReceivedSpan};
use service_telemetry::{build_subscriber, span_id, trace_id, TelemetryConfig};
use timesheet_store::{Backend, Store};
use tracing::Instrument as _;

use crate::harness::*;

async fn each_statement_runs_in_a_span_below_the_callers(store: Arc<dyn Store>) {
    let receiver = OtlpReceiver::start().await.unwrap();
    let mut config = TelemetryConfig::new("store-test");
    config.otlp_endpoint = Some(receiver.endpoint());
    let (dispatch, guard) = build_subscriber(&config, std::io::sink).unwrap();
    let t = tenant("exampleco");

    let (caller_trace, caller_span) = {
        // The test body runs on this thread; the subscriber is this thread's only.
        let _scope = tracing::dispatcher::set_default(&dispatch);
        let caller = tracing::info_span!("caller");
        let ids = (trace_id(&caller).unwrap(), span_id(&caller).unwrap());
        async {
            let mut tx = store.begin(&t).await.unwrap();
            tx.upsert_workers(&[worker("c-77", None)], now())
                .await
                .unwrap();
            tx.commit().await.unwrap();
            store.worker_id(&t, &ext("c-77")).await.unwrap();
        }
        .instrument(caller)
        .await;
        ids
    };
    guard.flush().unwrap();
    let expected_count = match store.backend() {
        Backend::Sqlite => 4,
        Backend::Postgres => 6,
    };
    // Only the statements' spans are awaited: the caller's ends whenever sqlx lets go of it
    // (SQLite's connection worker may keep the span it was last handed for a while).
    let spans = receiver
        .wait_for(Duration::from_secs(10), |s| {
            s.iter().filter(|s| s.name == "db.query").count() >= expected_count
        })
        .await;

    let statements: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.name == "db.query").collect();
    let described: Vec<String> = statements
        .iter()
        .map(|s| {
            let table = s.attribute("db.collection.name").unwrap_or("-");
            format!("{} {table}", s.attribute("db.operation").unwrap_or("?"))
        })
        .collect();
    let (system, expected) = match store.backend() {
        Backend::Sqlite => (
            "sqlite",
            vec!["BEGIN -", "INSERT worker", "COMMIT -", "SELECT worker"],
        ),
        Backend::Postgres => (
            "postgresql",
            vec![
                "BEGIN -",
                "SELECT pg_advisory_xact_lock",
                // the stored workers first: only new or changed ones are written
                "SELECT worker",
                "INSERT worker",
                "COMMIT -",
                "SELECT worker",
            ],
        ),
    };
    assert_eq!(described, expected);
    for statement in statements {
        assert_eq!(statement.attribute("db.system"), Some(system));
        assert_eq!(statement.kind, ReceivedSpan::KIND_CLIENT);
        assert_eq!(statement.trace_id, caller_trace);
        assert_eq!(statement.parent_span_id.as_ref(), Some(&caller_span));
    }
}
on_both_backends!(
    each_statement_runs_in_a_span_below_the_callers,
    each_statement_runs_in_a_span_below_the_callers_sqlite,
    each_statement_runs_in_a_span_below_the_callers_postgres
);
