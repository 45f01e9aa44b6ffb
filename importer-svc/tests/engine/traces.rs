//! A run's spans, exported to an in-process OTLP receiver: one `importer.run` root with its
//! outcome and counts, and one `importer.batch` child per upload with its size and answers.

use std::time::Duration;

use service_telemetry::testing::{OtlpReceiver, ReceivedSpan};
use service_telemetry::{build_subscriber, TelemetryConfig};
use tracing::instrument::WithSubscriber as _;

use crate::harness::{Scenario, TestState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_one_trace_with_a_span_per_batch_under_the_run() {
    // Arrange
    let receiver = OtlpReceiver::start().await.unwrap();
    let mut telemetry = TelemetryConfig::new(importer_svc::telemetry::SERVICE_NAME);
    telemetry.otlp_endpoint = Some(receiver.endpoint());
    let (dispatch, guard) = build_subscriber(&telemetry, std::io::sink).unwrap();
    let db = TestState::sqlite().await;
    let s = Scenario::new(&db);
    s.source.put_many(5);

    // Act: batch_size 2, so 2 + 2 + 1.
    let report = s.run().with_subscriber(dispatch).await.unwrap();
    guard.flush().unwrap();

    // Assert
    let spans = receiver
        .wait_for(Duration::from_secs(10), |s| s.len() >= 4)
        .await;
    let run: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.name == "importer.run").collect();
    assert_eq!(run.len(), 1, "{spans:#?}");
    let run = run[0];
    assert_eq!(run.service_name, "importer-svc");
    assert_eq!(run.parent_span_id, None);
    assert_eq!(run.attribute("importer.outcome"), Some("success"));
    assert_eq!(run.attribute("importer.created"), Some("5"));
    assert_eq!(run.attribute("importer.source"), Some("contractor-tracker"));
    let batches: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.name == "importer.batch")
        .collect();
    assert_eq!(batches.len(), 3, "{spans:#?}");
    let mut sizes: Vec<&str> = batches
        .iter()
        .map(|b| b.attribute("importer.batch.size").unwrap())
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, ["1", "2", "2"]);
    for batch in &batches {
        assert_eq!(batch.parent_span_id.as_ref(), Some(&run.span_id));
        assert_eq!(batch.trace_id, run.trace_id);
        assert_eq!(
            batch.attribute("importer.batch.created"),
            batch.attribute("importer.batch.size")
        );
    }
    assert_eq!(report.counts.created, 5);
    db.finish().await;
}
