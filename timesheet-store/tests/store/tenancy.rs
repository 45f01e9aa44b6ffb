//! Tenant isolation: nothing of one tenant is visible to, or changeable by, another.

use std::sync::Arc;
use std::time::Duration;

use timesheet_domain::IsoWeek;
use timesheet_store::{EntryFilter, IdempotencyStart, PageRequest, Store};

use crate::harness::*;

async fn another_tenant_cannot_see_or_delete_an_entry(store: Arc<dyn Store>) {
    let a = tenant("tenant-a");
    let b = tenant("tenant-b");
    let w = add_worker(&store, &a, "c-77").await;
    let ids = write(
        &store,
        &a,
        "tracker",
        vec![insert(w, entry("2026-11-23", 60, Some("ct-1")))],
    )
    .await;
    let id = ids[0];
    let all = PageRequest {
        cursor: None,
        limit: 100,
    };

    assert_eq!(store.get_entry(&b, id).await.unwrap(), None);
    let listed = store
        .list_entries(&b, &EntryFilter::default(), &all)
        .await
        .unwrap();
    assert!(listed.entries.is_empty());
    let synced = EntryFilter {
        updated_since: Some(time::OffsetDateTime::UNIX_EPOCH),
        ..EntryFilter::default()
    };
    assert!(store
        .list_entries(&b, &synced, &all)
        .await
        .unwrap()
        .entries
        .is_empty());
    let by_worker = EntryFilter {
        worker_id: Some(w),
        ..EntryFilter::default()
    };
    assert!(store
        .list_entries(&b, &by_worker, &all)
        .await
        .unwrap()
        .entries
        .is_empty());
    assert_eq!(store.worker_id(&b, &ext("c-77")).await.unwrap(), None);

    let mut tx = store.begin(&b).await.unwrap();
    assert_eq!(tx.entry(id).await.unwrap(), None);
    assert_eq!(tx.delete_entry(id, "mallory", now()).await.unwrap(), None);
    assert!(tx
        .entries_by_external_id(&source("tracker"), &[ext("ct-1")])
        .await
        .unwrap()
        .is_empty());
    assert!(tx
        .day_totals(&[(w, date("2026-11-23"))])
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        tx.week((w, IsoWeek::parse("2026-W48").unwrap()))
            .await
            .unwrap(),
        None
    );
    // The same external ids are free in another tenant.
    let theirs = tx
        .upsert_workers(&[worker("c-77", None)], now())
        .await
        .unwrap();
    assert_ne!(theirs[&ext("c-77")], w);
    tx.commit().await.unwrap();

    let still = store.get_entry(&a, id).await.unwrap().unwrap();
    assert_eq!((still.deleted_at, still.version), (None, 1));
    let listed = store
        .list_entries(&a, &EntryFilter::default(), &all)
        .await
        .unwrap();
    assert_eq!(listed.entries.len(), 1);

    let fresh = Duration::from_secs(60);
    assert_eq!(
        store
            .idempotency_start(&a, "ana", "k", b"x", fresh)
            .await
            .unwrap(),
        IdempotencyStart::Started
    );
    assert_eq!(
        store
            .idempotency_start(&b, "ana", "k", b"y", fresh)
            .await
            .unwrap(),
        IdempotencyStart::Started
    );
}
on_both_backends!(
    another_tenant_cannot_see_or_delete_an_entry,
    another_tenant_cannot_see_or_delete_an_entry_sqlite,
    another_tenant_cannot_see_or_delete_an_entry_postgres
);

async fn an_entry_cannot_name_another_tenants_worker(store: Arc<dyn Store>) {
    let a = tenant("tenant-a");
    let b = tenant("tenant-b");
    let theirs = add_worker(&store, &b, "c-99").await;
    let mine = add_worker(&store, &a, "c-77").await;

    // An insert naming tenant b's worker fails the whole write, and nothing of it is stored.
    let mut tx = store.begin(&a).await.unwrap();
    let writes = vec![
        insert(mine, entry("2026-11-23", 60, Some("ct-1"))),
        insert(theirs, entry("2026-11-23", 60, Some("ct-2"))),
    ];
    let refused = tx
        .write_entries(&source("tracker"), &writes, "mallory", now())
        .await;
    assert!(refused.is_err(), "{refused:?}");
    drop(tx);
    for w in &writes {
        assert_eq!(store.get_entry(&a, w.id).await.unwrap(), None);
    }

    // An update moving an entry to tenant b's worker fails too; the entry keeps its worker.
    let ids = write(
        &store,
        &a,
        "tracker",
        vec![insert(mine, entry("2026-11-24", 60, Some("ct-3")))],
    )
    .await;
    let mut moved = insert(theirs, entry("2026-11-24", 90, Some("ct-3")));
    moved.id = ids[0];
    moved.version = 2;
    moved.kind = timesheet_store::WriteKind::Update;
    let mut tx = store.begin(&a).await.unwrap();
    let refused = tx
        .write_entries(&source("tracker"), &[moved], "mallory", now())
        .await;
    assert!(refused.is_err(), "{refused:?}");
    drop(tx);
    let kept = store.get_entry(&a, ids[0]).await.unwrap().unwrap();
    assert_eq!(kept.worker.id, mine);
    assert_eq!(kept.minutes.get(), 60);
    assert_eq!(kept.version, 1);
}

on_both_backends!(
    an_entry_cannot_name_another_tenants_worker,
    an_entry_cannot_name_another_tenants_worker_sqlite,
    an_entry_cannot_name_another_tenants_worker_postgres
);
