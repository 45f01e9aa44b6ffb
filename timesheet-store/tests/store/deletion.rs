//! Deleting: tombstones, and the day totals that must not count them.

use std::sync::Arc;

use timesheet_store::{EntryFilter, PageRequest, Store};

use crate::harness::*;

async fn deleting_leaves_a_tombstone_that_only_updated_since_lists_show(store: Arc<dyn Store>) {
    let t = tenant("exampleco");
    let w = add_worker(&store, &t, "c-77").await;
    let since = now();
    let ids = write(
        &store,
        &t,
        "tracker",
        vec![
            insert(w, entry("2026-11-23", 60, None)),
            insert(w, entry("2026-11-23", 30, None)),
        ],
    )
    .await;

    let at = now();
    let mut tx = store.begin(&t).await.unwrap();
    assert_eq!(tx.delete_entry(ids[0], "ana", at).await.unwrap(), Some(2));
    assert_eq!(
        tx.delete_entry(ids[0], "ana", at).await.unwrap(),
        None,
        "already deleted"
    );
    assert_eq!(
        tx.delete_entry(timesheet_domain::EntryId::generate(), "ana", at)
            .await
            .unwrap(),
        None
    );
    tx.commit().await.unwrap();

    let tombstone = store.get_entry(&t, ids[0]).await.unwrap().unwrap();
    assert_eq!(tombstone.deleted_at, Some(at));
    assert_eq!(tombstone.updated_at, at);
    assert_eq!(tombstone.updated_by, "ana");
    assert_eq!(tombstone.version, 2);

    let all = PageRequest {
        cursor: None,
        limit: 100,
    };
    let plain = store
        .list_entries(&t, &EntryFilter::default(), &all)
        .await
        .unwrap();
    assert_eq!(
        plain.entries.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![ids[1]]
    );
    let sync = EntryFilter {
        updated_since: Some(since),
        ..EntryFilter::default()
    };
    let synced = store.list_entries(&t, &sync, &all).await.unwrap();
    assert_eq!(synced.entries.len(), 2);
    assert_eq!(
        synced.entries.last().map(|e| e.id),
        Some(ids[0]),
        "the deletion is the latest change"
    );
    assert_eq!(synced.entries.last().and_then(|e| e.deleted_at), Some(at));
}
on_both_backends!(
    deleting_leaves_a_tombstone_that_only_updated_since_lists_show,
    deleting_leaves_a_tombstone_that_only_updated_since_lists_show_sqlite,
    deleting_leaves_a_tombstone_that_only_updated_since_lists_show_postgres
);

async fn day_totals_sum_live_entries_and_skip_tombstones(store: Arc<dyn Store>) {
    let t = tenant("exampleco");
    let ana = add_worker(&store, &t, "c-77").await;
    let bo = add_worker(&store, &t, "c-78").await;
    let ids = write(
        &store,
        &t,
        "tracker",
        vec![
            insert(ana, entry("2026-11-23", 60, None)),
            insert(ana, entry("2026-11-23", 30, None)),
            insert(ana, entry("2026-11-23", 500, None)),
            insert(ana, entry("2026-11-24", 45, None)),
            insert(bo, entry("2026-11-23", 15, None)),
        ],
    )
    .await;
    let mut tx = store.begin(&t).await.unwrap();
    tx.delete_entry(ids[2], "ana", now()).await.unwrap();
    let d23 = (ana, date("2026-11-23"));
    let d24 = (ana, date("2026-11-24"));
    let d25 = (ana, date("2026-11-25"));
    let bo23 = (bo, date("2026-11-23"));
    let totals = tx.day_totals(&[d23, d24, d25, bo23, d23]).await.unwrap();
    assert_eq!(totals.get(&d23), Some(&90));
    assert_eq!(totals.get(&d24), Some(&45));
    assert_eq!(totals.get(&d25), None, "days without entries are absent");
    assert_eq!(totals.get(&bo23), Some(&15));
    assert!(tx.day_totals(&[]).await.unwrap().is_empty());
}
on_both_backends!(
    day_totals_sum_live_entries_and_skip_tombstones,
    day_totals_sum_live_entries_and_skip_tombstones_sqlite,
    day_totals_sum_live_entries_and_skip_tombstones_postgres
);
