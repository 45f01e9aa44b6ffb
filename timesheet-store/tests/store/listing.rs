//! `list_entries`: keyset pagination and every filter.

use std::collections::HashSet;
use std::sync::Arc;

use timesheet_domain::{EntryId, EntryStatus};
use timesheet_store::{Cursor, EntryFilter, Page, PageRequest, Store};

use crate::harness::*;

async fn all_pages(
    store: &Arc<dyn Store>,
    t: &timesheet_domain::TenantId,
    filter: &EntryFilter,
    limit: u32,
    mut between_pages: impl AsyncFnMut(usize),
) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_entries(t, filter, &PageRequest { cursor, limit })
            .await
            .unwrap();
        cursor = page.next;
        pages.push(page);
        if cursor.is_none() {
            return pages;
        }
        between_pages(pages.len()).await;
    }
}

async fn keyset_pages_return_every_entry_once_in_order(store: Arc<dyn Store>) {
    let t = tenant("exampleco");
    let w = add_worker(&store, &t, "c-77").await;
    let ids = write(
        &store,
        &t,
        "tracker",
        (0..250)
            .map(|i| insert(w, entry("2026-11-23", 1 + i % 5, None)))
            .collect(),
    )
    .await;

    let pages = all_pages(&store, &t, &EntryFilter::default(), 100, async |_| {}).await;

    let sizes: Vec<usize> = pages.iter().map(|p| p.entries.len()).collect();
    assert_eq!(sizes, vec![100, 100, 50]);
    assert_eq!(pages[0].next, Some(Cursor::Id(pages[0].entries[99].id)));
    let seen: Vec<EntryId> = pages
        .iter()
        .flat_map(|p| p.entries.iter().map(|e| e.id))
        .collect();
    assert_eq!(seen, ids, "every entry once, in id (creation) order");
}
on_both_backends!(
    keyset_pages_return_every_entry_once_in_order,
    keyset_pages_return_every_entry_once_in_order_sqlite,
    keyset_pages_return_every_entry_once_in_order_postgres
);

async fn keyset_pages_stay_stable_while_entries_are_inserted_between_pages(store: Arc<dyn Store>) {
    let t = tenant("exampleco");
    let w = add_worker(&store, &t, "c-77").await;
    let ids = write(
        &store,
        &t,
        "tracker",
        (0..250)
            .map(|_| insert(w, entry("2026-11-23", 10, None)))
            .collect(),
    )
    .await;

    let mut added = Vec::new();
    let pages = all_pages(&store, &t, &EntryFilter::default(), 100, async |_| {
        let more = write(
            &store,
            &t,
            "tracker",
            (0..20)
                .map(|_| insert(w, entry("2026-11-24", 10, None)))
                .collect(),
        )
        .await;
        added.extend(more);
    })
    .await;

    let seen: Vec<EntryId> = pages
        .iter()
        .flat_map(|p| p.entries.iter().map(|e| e.id))
        .collect();
    let unique: HashSet<&EntryId> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no entry twice");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "in order");
    assert_eq!(&seen[..250], &ids[..], "the first 250 entries, each once");
    assert_eq!(&seen[250..], &added[..], "then the ones added meanwhile");
}
on_both_backends!(
    keyset_pages_stay_stable_while_entries_are_inserted_between_pages,
    keyset_pages_stay_stable_while_entries_are_inserted_between_pages_sqlite,
    keyset_pages_stay_stable_while_entries_are_inserted_between_pages_postgres
);

async fn updated_since_pages_follow_the_order_of_changes(store: Arc<dyn Store>) {
    let t = tenant("exampleco");
    let w = add_worker(&store, &t, "c-77").await;
    let since = now();
    let ids = write(
        &store,
        &t,
        "tracker",
        (0..5)
            .map(|_| insert(w, entry("2026-11-23", 10, None)))
            .collect(),
    )
    .await;
    // The first entry changes last, so a sync sees it last.
    let mut tx = store.begin(&t).await.unwrap();
    tx.delete_entry(ids[0], "ana", now()).await.unwrap();
    tx.commit().await.unwrap();

    let filter = EntryFilter {
        updated_since: Some(since),
        ..EntryFilter::default()
    };
    let pages = all_pages(&store, &t, &filter, 2, async |_| {}).await;

    assert_eq!(pages.len(), 3);
    let first = &pages[0].entries[1];
    assert_eq!(
        pages[0].next,
        Some(Cursor::Updated(first.updated_at, first.id))
    );
    let seen: Vec<EntryId> = pages
        .iter()
        .flat_map(|p| p.entries.iter().map(|e| e.id))
        .collect();
    assert_eq!(seen, vec![ids[1], ids[2], ids[3], ids[4], ids[0]]);

    let later = EntryFilter {
        updated_since: Some(now()),
        ..EntryFilter::default()
    };
    let page = store
        .list_entries(
            &t,
            &later,
            &PageRequest {
                cursor: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert!(page.entries.is_empty());
    assert_eq!(page.next, None);
}
on_both_backends!(
    updated_since_pages_follow_the_order_of_changes,
    updated_since_pages_follow_the_order_of_changes_sqlite,
    updated_since_pages_follow_the_order_of_changes_postgres
);

async fn every_filter_narrows_the_list(store: Arc<dyn Store>) {
    let t = tenant("exampleco");
    let ana = add_worker(&store, &t, "c-77").await;
    let bo = add_worker(&store, &t, "c-78").await;
    let mut other_project = entry("2026-11-25", 10, Some("ct-3"));
    other_project.project = project("OTHER");
    let tracker = write(
        &store,
        &t,
        "tracker",
        vec![
            insert(ana, entry("2026-11-23", 10, Some("ct-1"))), // W48, submitted below
            insert(ana, entry("2026-12-01", 10, Some("ct-2"))), // W49
            insert(bo, other_project),
        ],
    )
    .await;
    let since = now();
    let harvest = write(
        &store,
        &t,
        "harvest",
        vec![insert(bo, entry("2026-11-30", 10, Some("ct-1")))],
    )
    .await;
    let mut tx = store.begin(&t).await.unwrap();
    tx.save_week(&submitted(ana, "2026-W48"), since)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let ids = |filter: EntryFilter| {
        let store = store.clone();
        let t = t.clone();
        async move {
            let page = store
                .list_entries(
                    &t,
                    &filter,
                    &PageRequest {
                        cursor: None,
                        limit: 100,
                    },
                )
                .await
                .unwrap();
            page.entries.iter().map(|e| e.id).collect::<Vec<_>>()
        }
    };
    let none = EntryFilter::default;
    assert_eq!(ids(none()).await.len(), 4);
    assert_eq!(
        ids(EntryFilter {
            worker: Some(ext("c-78")),
            ..none()
        })
        .await,
        vec![tracker[2], harvest[0]]
    );
    assert_eq!(
        ids(EntryFilter {
            worker_id: Some(ana),
            ..none()
        })
        .await,
        vec![tracker[0], tracker[1]]
    );
    assert_eq!(
        ids(EntryFilter {
            project: Some(project("OTHER")),
            ..none()
        })
        .await,
        vec![tracker[2]]
    );
    assert_eq!(
        ids(EntryFilter {
            status: Some(EntryStatus::Submitted),
            ..none()
        })
        .await,
        vec![tracker[0]]
    );
    assert_eq!(
        ids(EntryFilter {
            from: Some(date("2026-11-25")),
            to: Some(date("2026-11-30")),
            ..none()
        })
        .await,
        vec![tracker[2], harvest[0]],
        "from and to are inclusive"
    );
    assert_eq!(
        ids(EntryFilter {
            source: Some(source("harvest")),
            ..none()
        })
        .await,
        vec![harvest[0]]
    );
    assert_eq!(
        ids(EntryFilter {
            external_id: Some(ext("ct-1")),
            ..none()
        })
        .await,
        vec![tracker[0], harvest[0]]
    );
    assert_eq!(
        ids(EntryFilter {
            external_id: Some(ext("ct-1")),
            source: Some(source("tracker")),
            ..none()
        })
        .await,
        vec![tracker[0]]
    );
    // Writes after `since`: the harvest entry, and ana's W48 entry whose status changed.
    let mut changed = ids(EntryFilter {
        updated_since: Some(since),
        ..none()
    })
    .await;
    changed.sort();
    assert_eq!(changed, vec![tracker[0], harvest[0]]);
    assert!(ids(EntryFilter {
        worker: Some(ext("nobody")),
        ..none()
    })
    .await
    .is_empty());
}
on_both_backends!(
    every_filter_narrows_the_list,
    every_filter_narrows_the_list_sqlite,
    every_filter_narrows_the_list_postgres
);
