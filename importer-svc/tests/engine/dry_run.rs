//! `--dry-run` reads, validates and plans, and changes nothing anywhere.

use importer_svc::report::{Planned, RunOutcome};
use importer_svc::sync::SyncError;

use crate::harness::{on_both_backends, Scenario, TestState};

async fn a_dry_run_reports_the_plan_and_changes_nothing(db: &TestState) {
    let s = Scenario::new(db);
    s.source.put_many(5);
    s.source.add_bad_row("fake.csv:9", None, "date");

    let first = s.dry_run().await.unwrap();

    assert!(first.dry_run);
    assert_eq!(
        first.planned,
        Some(Planned {
            new: 5,
            changed: 0,
            to_delete: 0
        })
    );
    assert_eq!(
        (
            first.counts.read,
            first.counts.rejected,
            first.counts.created
        ),
        (6, 1, 0)
    );
    assert_eq!(first.outcome, RunOutcome::Partial);
    assert_eq!(s.api.upload_calls() + s.api.delete_calls(), 0);
    assert!(s
        .state
        .known_entries(s.source.name_ref())
        .await
        .unwrap()
        .is_empty());
    assert!(s.state.recent_runs(10).await.unwrap().is_empty());

    // After a real run: an edit and a deletion, planned but not carried out.
    s.run().await.unwrap();
    let known = s.state.known_entries(s.source.name_ref()).await.unwrap();
    let runs = s.state.recent_runs(10).await.unwrap().len();
    s.source.put("e1", "2026-11-20", 90);
    s.source.remove("e2");
    let calls = s.api.upload_calls();

    let second = s.dry_run().await.unwrap();

    assert_eq!(
        second.planned,
        Some(Planned {
            new: 0,
            changed: 1,
            to_delete: 1
        })
    );
    assert_eq!(second.counts.skipped, 3);
    assert_eq!((s.api.upload_calls(), s.api.delete_calls()), (calls, 0));
    assert_eq!(
        s.state.known_entries(s.source.name_ref()).await.unwrap(),
        known
    );
    assert_eq!(s.state.recent_runs(10).await.unwrap().len(), runs);
    assert_eq!(s.api.live("contractor-tracker").len(), 5);
}
on_both_backends!(
    a_dry_run_reports_the_plan_and_changes_nothing,
    a_dry_run_reports_the_plan_and_changes_nothing_sqlite,
    a_dry_run_reports_the_plan_and_changes_nothing_postgres
);

async fn a_dry_run_takes_the_lock_too(db: &TestState) {
    let s = Scenario::new(db);
    let other = db.reopen().await;
    let held = other
        .try_lock(&importer_svc::state::LockHolder::current())
        .await
        .unwrap();

    let result = s.dry_run().await;

    assert!(
        result.as_ref().is_err_and(SyncError::is_locked),
        "{result:?}"
    );
    held.release().await;
}
on_both_backends!(
    a_dry_run_takes_the_lock_too,
    a_dry_run_takes_the_lock_too_sqlite,
    a_dry_run_takes_the_lock_too_postgres
);

async fn a_dry_run_of_a_mass_deletion_fails_like_the_real_run_would(db: &TestState) {
    let s = Scenario::new(db);
    s.source.put_many(4);
    s.run().await.unwrap();
    s.source.remove_all();

    let err = s.dry_run().await.unwrap_err();

    assert!(matches!(err, SyncError::MassDeletion(_)), "{err:?}");
    assert_eq!(s.api.delete_calls(), 0);
}
on_both_backends!(
    a_dry_run_of_a_mass_deletion_fails_like_the_real_run_would,
    a_dry_run_of_a_mass_deletion_fails_like_the_real_run_would_sqlite,
    a_dry_run_of_a_mass_deletion_fails_like_the_real_run_would_postgres
);
