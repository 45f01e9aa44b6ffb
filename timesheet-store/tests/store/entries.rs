//! Writing entries: workers, the round trip of every field, batches, updates, revivals,
//! tombstones and day totals.

use std::sync::Arc;

use timesheet_domain::{EntryStatus, Minutes, Notes, WorkerKind};
use timesheet_store::{
    constraint, EntryFilter, EntryWrite, PageRequest, Store, StoreError, WriteKind,
};

use crate::harness::*;

async fn migrations_can_run_twice(store: Arc<dyn Store>) {
    // connect() already migrated once.
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
}
on_both_backends!(
    migrations_can_run_twice,
    migrations_can_run_twice_sqlite,
    migrations_can_run_twice_postgres
);

async fn upserting_workers_keeps_their_ids_and_refreshes_their_names(store: Arc<dyn Store>) {
    let t = tenant("exampleco");
    let mut tx = store.begin(&t).await.unwrap();
    let first = tx
        .upsert_workers(&[worker("c-77", Some("Ana")), worker("c-78", None)], now())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut renamed = worker("c-77", Some("Ana Silva"));
    renamed.kind = WorkerKind::Employee;
    let mut tx = store.begin(&t).await.unwrap();
    let second = tx
        .upsert_workers(
            &[renamed, worker("c-78", None), worker("c-79", None)],
            now(),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(first.len(), 2);
    assert_eq!(second.len(), 3);
    assert_eq!(first[&ext("c-77")], second[&ext("c-77")]);
    assert_eq!(first[&ext("c-78")], second[&ext("c-78")]);
    assert_eq!(
        store.worker_id(&t, &ext("c-79")).await.unwrap(),
        Some(second[&ext("c-79")])
    );
    assert_eq!(store.worker_id(&t, &ext("nobody")).await.unwrap(), None);

    let id = write(
        &store,
        &t,
        "tracker",
        vec![insert(second[&ext("c-77")], entry("2026-11-23", 60, None))],
    )
    .await;
    let stored = store.get_entry(&t, id[0]).await.unwrap().unwrap();
    assert_eq!(stored.worker.name.as_deref(), Some("Ana Silva"));
    assert_eq!(stored.worker.kind, WorkerKind::Employee);
}
on_both_backends!(
    upserting_workers_keeps_their_ids_and_refreshes_their_names,
    upserting_workers_keeps_their_ids_and_refreshes_their_names_sqlite,
    upserting_workers_keeps_their_ids_and_refreshes_their_names_postgres
);

/// Rewriting an unchanged row leaves a dead row version behind on PostgreSQL; uploads name the
/// same workers again and again, so unchanged workers must not be written at all.
#[tokio::test]
async fn upserting_unchanged_workers_writes_no_new_row_versions_postgres() {
    use sqlx::Connection as _;
    let db = crate::harness::TestDb::postgres().await;
    let t = tenant("exampleco");
    let upsert = |workers: Vec<timesheet_domain::WorkerRef>| {
        let store = db.store.clone();
        let t = t.clone();
        async move {
            let mut tx = store.begin(&t).await.unwrap();
            let ids = tx.upsert_workers(&workers, now()).await.unwrap();
            tx.commit().await.unwrap();
            ids
        }
    };
    let xmins = || async {
        let url = db.postgres_url().unwrap();
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let rows: Vec<(String, String)> =
            sqlx::query_as("select external_id, xmin::text from worker order by external_id")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        rows
    };
    let first = upsert(vec![worker("c-1", Some("Ana")), worker("c-2", Some("Bo"))]).await;
    let before = xmins().await;

    let again = upsert(vec![worker("c-1", Some("Ana")), worker("c-2", None)]).await;
    let unchanged = xmins().await;
    let renamed = upsert(vec![
        worker("c-1", Some("Ana Silva")),
        worker("c-2", Some("Bo")),
    ])
    .await;
    let after_rename = xmins().await;

    assert_eq!(first, again, "the same ids come back for unchanged workers");
    assert_eq!(first, renamed);
    assert_eq!(before, unchanged, "unchanged workers were rewritten");
    assert_ne!(
        before[0].1, after_rename[0].1,
        "a renamed worker is written"
    );
    assert_eq!(before[1].1, after_rename[1].1, "an unchanged one is not");
    db.finish().await;
}

async fn an_entry_reads_back_exactly_as_written(store: Arc<dyn Store>) {
    let t = tenant("exampleco");
    let w = add_worker(&store, &t, "c-77").await;
    let mut new = entry("2026-11-23", 450, Some("ct-1842"));
    // Tabs, newlines, backslashes and look-alikes of escapes travel as they are.
    new.notes = Notes::parse("line one\nline two — ünïcode\ttab \\ back\\slash \\N \\.").unwrap();
    new.billable = false;
    let write = insert(w, new.clone());
    let at = now();
    let mut tx = store.begin(&t).await.unwrap();
    tx.upsert_projects(&[new.project.clone()], at)
        .await
        .unwrap();
    tx.write_entries(
        &source("contractor-tracker"),
        std::slice::from_ref(&write),
        "importer@clients",
        at,
    )
    .await
    .unwrap();
    let inside = tx.entry(write.id).await.unwrap().unwrap();
    tx.commit().await.unwrap();

    let stored = store.get_entry(&t, write.id).await.unwrap().unwrap();
    assert_eq!(stored, inside);
    assert_eq!(stored.id, write.id);
    assert_eq!(stored.tenant, t);
    assert_eq!(stored.worker.id, w);
    assert_eq!(stored.worker.external_id, ext("c-77"));
    assert_eq!(stored.worker.kind, WorkerKind::Contractor);
    assert_eq!(stored.worker.name.as_deref(), Some("Ana Silva"));
    assert_eq!(stored.date, new.date);
    assert_eq!(stored.project, new.project);
    assert_eq!(stored.minutes, new.minutes);
    assert_eq!(stored.notes, new.notes);
    assert!(!stored.billable);
    assert_eq!(stored.source, source("contractor-tracker"));
    assert_eq!(stored.external_id, Some(ext("ct-1842")));
    assert_eq!(stored.status, EntryStatus::Open);
    assert_eq!(stored.version, 1);
    assert_eq!(stored.created_at, at);
    assert_eq!(stored.created_by, "importer@clients");
    assert_eq!(stored.updated_at, at);
    assert_eq!(stored.updated_by, "importer@clients");
    assert_eq!(stored.deleted_at, None);
    assert_eq!(
        store
            .get_entry(&t, timesheet_domain::EntryId::generate())
            .await
            .unwrap(),
        None
    );
}
on_both_backends!(
    an_entry_reads_back_exactly_as_written,
    an_entry_reads_back_exactly_as_written_sqlite,
    an_entry_reads_back_exactly_as_written_postgres
);

async fn a_batch_of_a_thousand_entries_is_written_in_one_call(store: Arc<dyn Store>) {
    let t = tenant("exampleco");
    let w = add_worker(&store, &t, "c-77").await;
    let writes: Vec<EntryWrite> = (0..1000)
        .map(|i| {
            let day = format!("2026-{:02}-{:02}", 1 + i % 12, 1 + i % 28);
            insert(w, entry(&day, 1 + i % 60, Some(&format!("ct-{i}"))))
        })
        .collect();
    write(&store, &t, "tracker", writes.clone()).await;

    let ids: Vec<_> = (0..1000).map(|i| ext(&format!("ct-{i}"))).collect();
    let mut tx = store.begin(&t).await.unwrap();
    let existing = tx
        .entries_by_external_id(&source("tracker"), &ids)
        .await
        .unwrap();
    let other_source = tx
        .entries_by_external_id(&source("harvest"), &ids)
        .await
        .unwrap();
    drop(tx);
    assert_eq!(existing.len(), 1000);
    assert!(other_source.is_empty());
    let ct7 = &existing[&ext("ct-7")];
    assert_eq!(ct7.id, writes[7].id);
    assert_eq!(ct7.minutes, writes[7].entry.minutes);
    assert_eq!(ct7.version, 1);
    assert!(!ct7.deleted);

    let page = store
        .list_entries(
            &t,
            &EntryFilter::default(),
            &PageRequest {
                cursor: None,
                limit: 1000,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.entries.len(), 1000);
    assert_eq!(page.next, None);
}
on_both_backends!(
    a_batch_of_a_thousand_entries_is_written_in_one_call,
    a_batch_of_a_thousand_entries_is_written_in_one_call_sqlite,
    a_batch_of_a_thousand_entries_is_written_in_one_call_postgres
);

async fn updates_keep_the_status_and_revivals_reopen_tombstones(store: Arc<dyn Store>) {
    let t = tenant("exampleco");
    let w = add_worker(&store, &t, "c-77").await;
    let kept = insert(w, entry("2026-11-23", 60, Some("ct-1")));
    let gone = insert(w, entry("2026-11-24", 60, Some("ct-2")));
    write(&store, &t, "tracker", vec![kept.clone(), gone.clone()]).await;

    // Submit the week, so the kept entry is no longer open; delete the other one.
    let mut tx = store.begin(&t).await.unwrap();
    tx.save_week(&submitted(w, "2026-W48"), now())
        .await
        .unwrap();
    assert_eq!(
        tx.delete_entry(gone.id, "ana", now()).await.unwrap(),
        Some(3)
    );
    tx.commit().await.unwrap();
    let before = store.get_entry(&t, kept.id).await.unwrap().unwrap();
    assert_eq!(before.status, EntryStatus::Submitted);
    assert_eq!(before.version, 2);

    let mut tx = store.begin(&t).await.unwrap();
    let existing = tx
        .entries_by_external_id(&source("tracker"), &[ext("ct-1"), ext("ct-2")])
        .await
        .unwrap();
    assert!(!existing[&ext("ct-1")].deleted);
    assert!(existing[&ext("ct-2")].deleted);
    let at = now();
    let mut changed = kept.entry.clone();
    changed.minutes = Minutes::new(90).unwrap();
    changed.notes = Notes::parse("changed").unwrap();
    let mut back = gone.entry.clone();
    back.minutes = Minutes::new(30).unwrap();
    let writes = [
        EntryWrite {
            id: kept.id,
            worker: w,
            entry: changed,
            version: 3,
            kind: WriteKind::Update,
        },
        EntryWrite {
            id: gone.id,
            worker: w,
            entry: back,
            version: 4,
            kind: WriteKind::Revive,
        },
    ];
    tx.write_entries(&source("tracker"), &writes, "importer-2", at)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let updated = store.get_entry(&t, kept.id).await.unwrap().unwrap();
    assert_eq!(updated.minutes.get(), 90);
    assert_eq!(updated.notes.as_ref(), "changed");
    assert_eq!(updated.version, 3);
    assert_eq!(
        updated.status,
        EntryStatus::Submitted,
        "an update keeps the status"
    );
    assert_eq!(updated.created_at, before.created_at);
    assert_eq!(updated.created_by, "importer");
    assert_eq!(updated.updated_at, at);
    assert_eq!(updated.updated_by, "importer-2");

    let revived = store.get_entry(&t, gone.id).await.unwrap().unwrap();
    assert_eq!(revived.minutes.get(), 30);
    assert_eq!(revived.version, 4);
    assert_eq!(revived.deleted_at, None);
    assert_eq!(revived.status, EntryStatus::Open, "a revival reopens");
    assert_eq!(revived.updated_by, "importer-2");
}
on_both_backends!(
    updates_keep_the_status_and_revivals_reopen_tombstones,
    updates_keep_the_status_and_revivals_reopen_tombstones_sqlite,
    updates_keep_the_status_and_revivals_reopen_tombstones_postgres
);

async fn updating_an_entry_that_is_not_there_fails(store: Arc<dyn Store>) {
    let t = tenant("exampleco");
    let w = add_worker(&store, &t, "c-77").await;
    let mut ghost = insert(w, entry("2026-11-23", 60, None));
    ghost.kind = WriteKind::Update;
    let mut tx = store.begin(&t).await.unwrap();
    let err = tx
        .write_entries(&source("api"), &[ghost], "ana", now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Internal(_)), "{err:?}");
}
on_both_backends!(
    updating_an_entry_that_is_not_there_fails,
    updating_an_entry_that_is_not_there_fails_sqlite,
    updating_an_entry_that_is_not_there_fails_postgres
);

async fn a_second_entry_with_the_same_source_and_external_id_is_a_named_conflict(
    store: Arc<dyn Store>,
) {
    let t = tenant("exampleco");
    let w = add_worker(&store, &t, "c-77").await;
    write(
        &store,
        &t,
        "tracker",
        vec![insert(w, entry("2026-11-23", 60, Some("ct-1")))],
    )
    .await;
    // Entries without an external id may repeat, and other sources have their own ids.
    write(
        &store,
        &t,
        "tracker",
        vec![
            insert(w, entry("2026-11-23", 60, None)),
            insert(w, entry("2026-11-23", 60, None)),
        ],
    )
    .await;
    write(
        &store,
        &t,
        "harvest",
        vec![insert(w, entry("2026-11-23", 60, Some("ct-1")))],
    )
    .await;

    let mut tx = store.begin(&t).await.unwrap();
    let err = tx
        .write_entries(
            &source("tracker"),
            &[insert(w, entry("2026-11-24", 60, Some("ct-1")))],
            "importer",
            now(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict(constraint::TIME_ENTRY_SOURCE_EXTERNAL_ID_KEY)
        ),
        "{err:?}"
    );
}
on_both_backends!(
    a_second_entry_with_the_same_source_and_external_id_is_a_named_conflict,
    a_second_entry_with_the_same_source_and_external_id_is_a_named_conflict_sqlite,
    a_second_entry_with_the_same_source_and_external_id_is_a_named_conflict_postgres
);
