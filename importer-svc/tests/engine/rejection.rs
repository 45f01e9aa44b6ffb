//! Rows the API rejects are reported once (exit 2), not re-sent while they stay the same, and
//! sent again as soon as the source row changes.

use importer_svc::command::{run_outcome, Outcome};
use importer_svc::report::RunOutcome;
use importer_svc::state::EntryStatus;

use crate::fake_source::ext;
use crate::harness::{on_both_backends, Scenario, TestState};

async fn an_api_rejection_is_reported_once_and_resent_only_when_the_row_changes(db: &TestState) {
    let s = Scenario::new(db);
    s.source.put_many(4);
    s.api.reject("e3");

    let first = s.run().await.unwrap();
    assert_eq!(first.outcome, RunOutcome::Partial);
    assert_eq!((first.counts.created, first.counts.rejected), (3, 1));
    let rejection = &first.counts.rejections[0];
    assert_eq!(rejection.external_id.as_deref(), Some("e3"));
    assert_eq!(rejection.field.as_deref(), Some("minutes"));
    assert_eq!(rejection.message, "minutes: too many for the day");
    assert!(rejection.location.starts_with("fake.csv:"));
    assert_eq!(run_outcome(&Ok(first)), Outcome::Rejected);

    // Unchanged: not sent again, not reported again.
    let calls = s.api.upload_calls();
    let second = s.run().await.unwrap();
    assert_eq!(s.api.upload_calls(), calls);
    assert_eq!(
        (second.counts.rejected, second.counts.still_rejected),
        (0, 1)
    );
    assert_eq!(second.outcome, RunOutcome::Success);
    assert_eq!(run_outcome(&Ok(second)), Outcome::Success);

    // Fixed at the source: sent again, accepted.
    s.api.stop_rejecting("e3");
    s.source.put("e3", "2026-11-05", 30);
    let third = s.run().await.unwrap();
    assert_eq!((third.counts.created, third.counts.still_rejected), (1, 0));
    assert!(s.api.live("contractor-tracker").contains_key("e3"));
    let known = s.state.known_entries(s.source.name_ref()).await.unwrap();
    assert_eq!(known[&ext("e3")].status, EntryStatus::Imported);
}
on_both_backends!(
    an_api_rejection_is_reported_once_and_resent_only_when_the_row_changes,
    an_api_rejection_is_reported_once_and_resent_only_when_the_row_changes_sqlite,
    an_api_rejection_is_reported_once_and_resent_only_when_the_row_changes_postgres
);

async fn a_rejected_edit_keeps_the_entry_the_api_holds_and_its_deletion_still_works(
    db: &TestState,
) {
    let s = Scenario::new(db);
    s.source.put_many(4);
    s.run().await.unwrap();
    let id = s.api.live("contractor-tracker")["e2"].id;

    s.api.reject("e2");
    s.source.put("e2", "2026-11-04", 1000);
    let report = s.run().await.unwrap();
    assert_eq!(report.counts.rejected, 1);
    let known = s.state.known_entries(s.source.name_ref()).await.unwrap();
    assert_eq!(known[&ext("e2")].status, EntryStatus::Rejected);
    assert_eq!(known[&ext("e2")].entry_id, Some(id));

    s.source.remove("e2");
    let report = s.run().await.unwrap();
    assert_eq!(report.counts.deleted, 1);
    assert!(!s.api.live("contractor-tracker").contains_key("e2"));
}
on_both_backends!(
    a_rejected_edit_keeps_the_entry_the_api_holds_and_its_deletion_still_works,
    a_rejected_edit_keeps_the_entry_the_api_holds_and_its_deletion_still_works_sqlite,
    a_rejected_edit_keeps_the_entry_the_api_holds_and_its_deletion_still_works_postgres
);

async fn malformed_source_rows_are_reported_and_the_rest_imported(db: &TestState) {
    let s = Scenario::new(db);
    s.source.put_many(3);
    s.source.add_bad_row("timesheet.csv:7", None, "minutes");

    let report = s.run().await.unwrap();

    assert_eq!(
        (
            report.counts.read,
            report.counts.created,
            report.counts.rejected
        ),
        (4, 3, 1)
    );
    assert_eq!(report.counts.rejections[0].location, "timesheet.csv:7");
    assert_eq!(report.outcome, RunOutcome::Partial);
    assert_eq!(run_outcome(&Ok(report)), Outcome::Rejected);
}
on_both_backends!(
    malformed_source_rows_are_reported_and_the_rest_imported,
    malformed_source_rows_are_reported_and_the_rest_imported_sqlite,
    malformed_source_rows_are_reported_and_the_rest_imported_postgres
);
