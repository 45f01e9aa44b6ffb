//! `status`: the last runs, newest first, and each source's checkpoint.

use importer_svc::status::StatusView;

use crate::fake_api::UploadFault;
use crate::harness::{on_both_backends, Scenario, TestState};

async fn status_lists_runs_newest_first_and_the_checkpoints(db: &TestState) {
    let s = Scenario::new(db);
    s.source.set_incremental(true);
    s.source.put_many(3);
    s.run().await.unwrap();
    s.source.put("e9", "2026-11-09", 60);
    s.api.fault_at(3, UploadFault::Unavailable);
    s.run().await.unwrap_err();

    let view = StatusView::load(s.state.as_ref(), 10).await.unwrap();

    let outcomes: Vec<_> = view.runs.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, vec!["failed", "success"]);
    assert_eq!(view.runs[1].summary["created"], 3);
    assert_eq!(view.checkpoints.len(), 1);
    let checkpoint = &view.checkpoints[0];
    assert_eq!(checkpoint.source, "contractor-tracker");
    assert_eq!(checkpoint.entries, 3);
    assert!(checkpoint.watermark.is_some());

    let table = view.render_table();
    assert!(table.contains("OUTCOME"), "{table}");
    assert!(table.contains("failed"), "{table}");
    assert!(table.contains("error: the API is unavailable"), "{table}");
    assert!(table.contains("contractor-tracker"), "{table}");
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["runs"][0]["outcome"], "failed");
    assert_eq!(json["checkpoints"][0]["entries"], 3);

    let limited = StatusView::load(s.state.as_ref(), 1).await.unwrap();
    assert_eq!(limited.runs.len(), 1);
}
on_both_backends!(
    status_lists_runs_newest_first_and_the_checkpoints,
    status_lists_runs_newest_first_and_the_checkpoints_sqlite,
    status_lists_runs_newest_first_and_the_checkpoints_postgres
);

async fn status_of_an_empty_state_says_so(db: &TestState) {
    let view = StatusView::load(db.state.as_ref(), 10).await.unwrap();
    assert!(view.runs.is_empty() && view.checkpoints.is_empty());
    let table = view.render_table();
    assert!(table.contains("No runs recorded yet."), "{table}");
}
on_both_backends!(
    status_of_an_empty_state_says_so,
    status_of_an_empty_state_says_so_sqlite,
    status_of_an_empty_state_says_so_postgres
);
