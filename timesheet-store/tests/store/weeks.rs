//! Weeks: saving a status moves the week's entries with it; the approvals queue.

use std::collections::HashSet;
use std::sync::Arc;

use timesheet_domain::{EntryStatus, IsoWeek, WeekStatus};
use timesheet_store::{Store, Week};

use crate::harness::*;

async fn saving_a_week_moves_its_live_entries_to_the_week_status(store: Arc<dyn Store>) {
    let t = tenant("exampleco");
    let w = add_worker(&store, &t, "c-77").await;
    let ids = write(
        &store,
        &t,
        "tracker",
        vec![
            insert(w, entry("2026-11-23", 60, None)), // Monday of W48
            insert(w, entry("2026-11-29", 30, None)), // Sunday of W48
            insert(w, entry("2026-11-25", 45, None)), // W48, deleted below
            insert(w, entry("2026-11-30", 15, None)), // Monday of W49
        ],
    )
    .await;
    let mut tx = store.begin(&t).await.unwrap();
    tx.delete_entry(ids[2], "ana", now()).await.unwrap();
    let key = (w, IsoWeek::parse("2026-W48").unwrap());
    assert_eq!(tx.week(key).await.unwrap(), None, "an open week has no row");

    let at = now();
    let saved = tx.save_week(&submitted(w, "2026-W48"), at).await.unwrap();
    assert_eq!(tx.week(key).await.unwrap().as_ref(), Some(&saved));
    tx.commit().await.unwrap();

    assert_eq!(saved.status, WeekStatus::Submitted);
    assert_eq!(
        (saved.entries, saved.minutes),
        (2, 90),
        "live entries of the week only"
    );
    assert_eq!(saved.worker_external_id, ext("c-77"));
    for id in &ids[..2] {
        let e = store.get_entry(&t, *id).await.unwrap().unwrap();
        assert_eq!(e.status, EntryStatus::Submitted);
        assert_eq!(e.version, 2);
        assert_eq!(e.updated_at, at);
        assert_eq!(e.updated_by, "ana");
    }
    let tombstone = store.get_entry(&t, ids[2]).await.unwrap().unwrap();
    assert_eq!(
        (tombstone.status, tombstone.version),
        (EntryStatus::Open, 2)
    );
    let next_week = store.get_entry(&t, ids[3]).await.unwrap().unwrap();
    assert_eq!(
        (next_week.status, next_week.version),
        (EntryStatus::Open, 1)
    );

    // Approving bumps the entries once more and records the decision.
    let approved = Week {
        status: WeekStatus::Approved,
        decided_at: Some(now()),
        decided_by: Some("boss".into()),
        ..saved.clone()
    };
    let mut tx = store.begin(&t).await.unwrap();
    let stored = tx.save_week(&approved, now()).await.unwrap();
    // Saving the same status again changes no entry.
    let again = tx.save_week(&approved, now()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(stored, again);
    assert_eq!(stored.decided_by.as_deref(), Some("boss"));
    let e = store.get_entry(&t, ids[0]).await.unwrap().unwrap();
    assert_eq!((e.status, e.version), (EntryStatus::Approved, 3));
    assert_eq!(e.updated_by, "boss");
}
on_both_backends!(
    saving_a_week_moves_its_live_entries_to_the_week_status,
    saving_a_week_moves_its_live_entries_to_the_week_status_sqlite,
    saving_a_week_moves_its_live_entries_to_the_week_status_postgres
);

async fn approved_weeks_and_the_queue_list_weeks_by_status(store: Arc<dyn Store>) {
    let t = tenant("exampleco");
    let ana = add_worker(&store, &t, "c-77").await;
    let bo = add_worker(&store, &t, "c-78").await;
    let w48 = IsoWeek::parse("2026-W48").unwrap();
    let w49 = IsoWeek::parse("2026-W49").unwrap();
    let mut tx = store.begin(&t).await.unwrap();
    let first = tx
        .save_week(&submitted(bo, "2026-W48"), now())
        .await
        .unwrap();
    let second = tx
        .save_week(&submitted(ana, "2026-W49"), now())
        .await
        .unwrap();
    let approved = Week {
        status: WeekStatus::Approved,
        decided_at: Some(now()),
        decided_by: Some("boss".into()),
        ..submitted(ana, "2026-W48")
    };
    tx.save_week(&approved, now()).await.unwrap();

    let asked = [(ana, w48), (ana, w49), (bo, w48), (bo, w49)];
    let found = tx.approved_weeks(&asked).await.unwrap();
    assert_eq!(found, HashSet::from([(ana, w48)]));
    assert!(tx.approved_weeks(&[]).await.unwrap().is_empty());
    tx.commit().await.unwrap();

    let queue = store
        .list_weeks(&t, WeekStatus::Submitted, 10)
        .await
        .unwrap();
    assert_eq!(
        queue,
        vec![first.clone(), second],
        "oldest submission first"
    );
    assert_eq!(queue[0].worker_external_id, ext("c-78"));
    let one = store
        .list_weeks(&t, WeekStatus::Submitted, 1)
        .await
        .unwrap();
    assert_eq!(one, vec![first]);
    let done = store
        .list_weeks(&t, WeekStatus::Approved, 10)
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    assert!(store
        .list_weeks(&t, WeekStatus::Rejected, 10)
        .await
        .unwrap()
        .is_empty());
}
on_both_backends!(
    approved_weeks_and_the_queue_list_weeks_by_status,
    approved_weeks_and_the_queue_list_weeks_by_status_sqlite,
    approved_weeks_and_the_queue_list_weeks_by_status_postgres
);
