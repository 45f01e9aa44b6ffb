//! Failures part-way: the checkpoint stays, what was acknowledged is kept, and the next run
//! converges with no duplicate and no loss.

use std::time::Duration;

use importer_svc::run::run_once;
use importer_svc::shutdown::stop_pair;
use importer_svc::sync::destination::DestinationError;
use importer_svc::sync::SyncError;

use crate::fake_api::UploadFault;
use crate::harness::{on_both_backends, Scenario, TestState};

async fn a_batch_failing_mid_run_fails_the_run_and_the_rerun_converges(db: &TestState) {
    let s = Scenario::new(db);
    s.source.set_incremental(true);
    s.source.put_many(2);
    s.run().await.unwrap();
    let checkpoint = s.state.watermark(s.source.name_ref()).await.unwrap();
    for i in 3..=6 {
        s.source.put(&format!("e{i}"), "2026-11-09", 60);
    }
    // The first run made one upload; this run's second upload is the API's third call.
    s.api.fault_at(3, UploadFault::Unavailable);

    let err = s.run().await.unwrap_err();

    assert!(
        matches!(
            err,
            SyncError::Destination(DestinationError::Unavailable(_))
        ),
        "{err:?}"
    );
    assert_eq!(
        s.state.watermark(s.source.name_ref()).await.unwrap(),
        checkpoint
    );
    assert_eq!(s.api.live("contractor-tracker").len(), 4);
    assert_eq!(
        s.state
            .known_entries(s.source.name_ref())
            .await
            .unwrap()
            .len(),
        4
    );
    let failed = &s.state.recent_runs(1).await.unwrap()[0];
    assert_eq!(failed.outcome, "failed");
    assert_eq!(failed.summary["created"], 2);

    let calls = s.api.upload_calls();
    let rerun = s.run().await.unwrap();

    assert_eq!(
        s.api.upload_calls() - calls,
        1,
        "only the failed batch is sent again"
    );
    assert_eq!((rerun.counts.skipped, rerun.counts.created), (2, 2));
    assert_eq!(s.api.live("contractor-tracker").len(), 6);
    assert_eq!(s.api.max_creations(), 1);
    assert_eq!(
        s.state.watermark(s.source.name_ref()).await.unwrap(),
        Some(s.source.clock())
    );
}
on_both_backends!(
    a_batch_failing_mid_run_fails_the_run_and_the_rerun_converges,
    a_batch_failing_mid_run_fails_the_run_and_the_rerun_converges_sqlite,
    a_batch_failing_mid_run_fails_the_run_and_the_rerun_converges_postgres
);

/// What a SIGKILL between the upload and the state write leaves: the API holds the batch, the
/// state does not know it.
async fn a_batch_applied_but_never_acknowledged_ends_exact_after_a_rerun(db: &TestState) {
    let s = Scenario::new(db);
    s.source.put_many(4);
    s.api.fault_at(1, UploadFault::LoseResponse);

    assert!(s.run().await.is_err());
    assert_eq!(s.api.live("contractor-tracker").len(), 2);
    assert!(s
        .state
        .known_entries(s.source.name_ref())
        .await
        .unwrap()
        .is_empty());

    let rerun = s.run().await.unwrap();

    assert_eq!((rerun.counts.unchanged, rerun.counts.created), (2, 2));
    assert_eq!(s.api.live("contractor-tracker").len(), 4);
    assert_eq!(s.api.max_creations(), 1);
    let known = s.state.known_entries(s.source.name_ref()).await.unwrap();
    let api = s.api.live("contractor-tracker");
    assert!(known
        .iter()
        .all(|(id, k)| k.entry_id == Some(api[id.as_ref()].id)));
}
on_both_backends!(
    a_batch_applied_but_never_acknowledged_ends_exact_after_a_rerun,
    a_batch_applied_but_never_acknowledged_ends_exact_after_a_rerun_sqlite,
    a_batch_applied_but_never_acknowledged_ends_exact_after_a_rerun_postgres
);

async fn a_refused_batch_fails_the_run_with_the_apis_message(db: &TestState) {
    let s = Scenario::new(db);
    s.source.put_many(2);
    s.api.fault_at(1, UploadFault::Refused);

    let err = s.run().await.unwrap_err();

    assert_eq!(
        err.to_string(),
        "the API refused the request (413): too many entries"
    );
    assert!(s
        .state
        .known_entries(s.source.name_ref())
        .await
        .unwrap()
        .is_empty());
}
on_both_backends!(
    a_refused_batch_fails_the_run_with_the_apis_message,
    a_refused_batch_fails_the_run_with_the_apis_message_sqlite,
    a_refused_batch_fails_the_run_with_the_apis_message_postgres
);

async fn a_source_that_cannot_be_read_fails_the_run_and_sends_nothing(db: &TestState) {
    let s = Scenario::new(db);
    s.source.put_many(2);
    s.source.fail_reads(Some("connection refused"));

    let err = s.run().await.unwrap_err();

    assert_eq!(
        err.to_string(),
        "reading the source: the source system is unavailable: connection refused"
    );
    assert_eq!(s.api.upload_calls(), 0);
}
on_both_backends!(
    a_source_that_cannot_be_read_fails_the_run_and_sends_nothing,
    a_source_that_cannot_be_read_fails_the_run_and_sends_nothing_sqlite,
    a_source_that_cannot_be_read_fails_the_run_and_sends_nothing_postgres
);

async fn a_stop_lets_the_batches_in_flight_finish_then_ends_the_run(db: &TestState) {
    let s = Scenario::new(db);
    assert_eq!(s.settings.uploads_in_flight, 2);
    // Three batches of two: the first two go out together, the third waits for an answer.
    s.source.put_many(6);
    let gate = s.api.hold_uploads();
    let (handle, stop) = stop_pair();
    let deps = s.deps(true, stop);
    let run = tokio::spawn(async move { run_once(&deps).await });

    s.api.upload_started.notified().await;
    handle.stop();
    gate.add_permits(2);
    let result = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .unwrap()
        .unwrap();

    assert!(matches!(result, Err(SyncError::Interrupted)), "{result:?}");
    assert_eq!(s.api.upload_calls(), 2, "no upload starts after the stop");
    assert_eq!(s.api.live("contractor-tracker").len(), 4);
    assert_eq!(
        s.state
            .known_entries(s.source.name_ref())
            .await
            .unwrap()
            .len(),
        4,
        "both acknowledged batches are remembered"
    );
    assert_eq!(
        s.state.recent_runs(1).await.unwrap()[0].outcome,
        "interrupted"
    );
}
on_both_backends!(
    a_stop_lets_the_batches_in_flight_finish_then_ends_the_run,
    a_stop_lets_the_batches_in_flight_finish_then_ends_the_run_sqlite,
    a_stop_lets_the_batches_in_flight_finish_then_ends_the_run_postgres
);
