//! Deletions in the source reach the API, only as far as the read's coverage proves them, and
//! never in bulk by accident.

use importer_svc::report::RunOutcome;
use importer_svc::sync::SyncError;

use crate::fake_source::CoverageMode;
use crate::harness::{on_both_backends, Scenario, TestState};

async fn a_row_gone_from_a_complete_read_is_deleted_once(db: &TestState) {
    let s = Scenario::new(db);
    s.source.put_many(5);
    s.run().await.unwrap();
    let gone_id = s.api.live("contractor-tracker")["e4"].id;

    s.source.remove("e4");
    let report = s.run().await.unwrap();

    assert_eq!((report.counts.deleted, s.api.delete_calls()), (1, 1));
    let live = s.api.live("contractor-tracker");
    assert_eq!(live.len(), 4);
    assert!(live.values().all(|e| e.id != gone_id));
    let known = s.state.known_entries(s.source.name_ref()).await.unwrap();
    assert!(!known.contains_key(&crate::fake_source::ext("e4")));

    // Remembered as gone: nothing more to do.
    let again = s.run().await.unwrap();
    assert_eq!((again.counts.deleted, s.api.delete_calls()), (0, 1));
}
on_both_backends!(
    a_row_gone_from_a_complete_read_is_deleted_once,
    a_row_gone_from_a_complete_read_is_deleted_once_sqlite,
    a_row_gone_from_a_complete_read_is_deleted_once_postgres
);

async fn a_window_deletes_only_what_vanished_inside_it(db: &TestState) {
    let s = Scenario::new(db);
    s.source.set_incremental(true);
    s.source.put("old", "2026-10-01", 60);
    s.source.put("in1", "2026-11-10", 60);
    s.source.put("in2", "2026-11-11", 60);
    s.source.put("in3", "2026-11-12", 60);
    s.source
        .set_coverage(CoverageMode::Window("2026-11-01", "2026-11-30"));
    s.run().await.unwrap();

    // Both vanish; only the one dated inside the window can be proven gone.
    s.source.remove("in2");
    s.source.remove("old");
    let report = s.run().await.unwrap();

    assert_eq!((report.counts.deleted, s.api.delete_calls()), (1, 1));
    let live = s.api.live("contractor-tracker");
    assert!(!live.contains_key("in2"));
    assert!(live.contains_key("old"));
    assert_eq!(live.len(), 3);
}
on_both_backends!(
    a_window_deletes_only_what_vanished_inside_it,
    a_window_deletes_only_what_vanished_inside_it_sqlite,
    a_window_deletes_only_what_vanished_inside_it_postgres
);

async fn an_unknown_coverage_deletes_nothing(db: &TestState) {
    let s = Scenario::new(db);
    s.source.put_many(4);
    s.run().await.unwrap();

    s.source.set_coverage(CoverageMode::Unknown);
    s.source.remove("e1");
    let report = s.run().await.unwrap();

    assert_eq!((report.counts.deleted, s.api.delete_calls()), (0, 0));
    assert_eq!(s.api.live("contractor-tracker").len(), 4);
}
on_both_backends!(
    an_unknown_coverage_deletes_nothing,
    an_unknown_coverage_deletes_nothing_sqlite,
    an_unknown_coverage_deletes_nothing_postgres
);

async fn a_row_that_turned_invalid_is_reported_but_not_deleted(db: &TestState) {
    let s = Scenario::new(db);
    s.source.put_many(4);
    s.run().await.unwrap();

    // e2's row is still in the file, but no longer parses.
    s.source.remove("e2");
    s.source.add_bad_row("fake.csv:3", Some("e2"), "date");
    let report = s.run().await.unwrap();

    assert_eq!(report.outcome, RunOutcome::Partial);
    assert_eq!((report.counts.rejected, report.counts.deleted), (1, 0));
    assert_eq!(report.counts.rejections[0].location, "fake.csv:3");
    assert_eq!(report.counts.rejections[0].field.as_deref(), Some("date"));
    assert_eq!(s.api.delete_calls(), 0);
    assert!(s.api.live("contractor-tracker").contains_key("e2"));
}
on_both_backends!(
    a_row_that_turned_invalid_is_reported_but_not_deleted,
    a_row_that_turned_invalid_is_reported_but_not_deleted_sqlite,
    a_row_that_turned_invalid_is_reported_but_not_deleted_postgres
);

async fn the_valve_refuses_a_mass_deletion_and_changes_nothing(db: &TestState) {
    let s = Scenario::new(db);
    s.source.put_many(10);
    s.run().await.unwrap();
    let calls = s.api.upload_calls();

    // An empty export: everything would go.
    s.source.remove_all();
    let err = s.run().await.unwrap_err();

    assert!(matches!(err, SyncError::MassDeletion(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("refusing to delete 10 of 10 known entries (more than 50%)"),
        "{err}"
    );
    assert_eq!((s.api.delete_calls(), s.api.upload_calls()), (0, calls));
    assert_eq!(s.api.live("contractor-tracker").len(), 10);
    let runs = s.state.recent_runs(1).await.unwrap();
    assert_eq!(runs[0].outcome, "failed");

    // Half is within the valve.
    for i in 1..=5 {
        s.source.put(&format!("e{i}"), "2026-11-02", 60);
    }
    let report = s.run().await.unwrap();
    assert_eq!(report.counts.deleted, 5);
}
on_both_backends!(
    the_valve_refuses_a_mass_deletion_and_changes_nothing,
    the_valve_refuses_a_mass_deletion_and_changes_nothing_sqlite,
    the_valve_refuses_a_mass_deletion_and_changes_nothing_postgres
);

async fn the_valve_can_be_opened_by_configuration(db: &TestState) {
    let mut s = Scenario::new(db);
    s.source.put_many(3);
    s.run().await.unwrap();

    s.settings.max_delete_fraction = 1.0;
    s.source.remove_all();
    let report = s.run().await.unwrap();

    assert_eq!(report.counts.deleted, 3);
    assert!(s.api.live("contractor-tracker").is_empty());
}
on_both_backends!(
    the_valve_can_be_opened_by_configuration,
    the_valve_can_be_opened_by_configuration_sqlite,
    the_valve_can_be_opened_by_configuration_postgres
);
