//! Transactions: rollback on drop, one writer per tenant at a time, and how an unreachable
//! database fails.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use timesheet_store::{connect, EntryWrite, PgStore, Store, StoreError, StoreOptions};

use crate::harness::*;

async fn a_transaction_dropped_without_commit_leaves_nothing(store: Arc<dyn Store>) {
    let t = tenant("exampleco");
    let mut tx = store.begin(&t).await.unwrap();
    let ids = tx
        .upsert_workers(&[worker("c-77", None)], now())
        .await
        .unwrap();
    let write = insert(ids[&ext("c-77")], entry("2026-11-23", 60, None));
    tx.write_entries(&source("api"), std::slice::from_ref(&write), "ana", now())
        .await
        .unwrap();
    assert!(
        tx.entry(write.id).await.unwrap().is_some(),
        "visible inside"
    );
    drop(tx);

    assert_eq!(store.get_entry(&t, write.id).await.unwrap(), None);
    assert_eq!(store.worker_id(&t, &ext("c-77")).await.unwrap(), None);
    // The rollback released the lock: the next transaction starts and sees nothing either.
    let mut tx = store.begin(&t).await.unwrap();
    assert_eq!(tx.entry(write.id).await.unwrap(), None);
    tx.commit().await.unwrap();
}
on_both_backends!(
    a_transaction_dropped_without_commit_leaves_nothing,
    a_transaction_dropped_without_commit_leaves_nothing_sqlite,
    a_transaction_dropped_without_commit_leaves_nothing_postgres
);

async fn a_second_transaction_of_a_tenant_waits_for_the_first_to_commit(store: Arc<dyn Store>) {
    let t = tenant("exampleco");
    let w = add_worker(&store, &t, "c-77").await;
    let first_committed = Arc::new(AtomicBool::new(false));

    let mut first = store.begin(&t).await.unwrap();
    let write = insert(w, entry("2026-11-23", 60, None));
    first
        .write_entries(&source("api"), std::slice::from_ref(&write), "ana", now())
        .await
        .unwrap();

    let second = tokio::spawn({
        let (store, t, flag) = (store.clone(), t.clone(), first_committed.clone());
        async move {
            let mut tx = store.begin(&t).await.unwrap();
            // Set before the first commit, so reading it false would mean we did not wait.
            let waited = flag.load(Ordering::SeqCst);
            let seen = tx.entry(write.id).await.unwrap();
            tx.commit().await.unwrap();
            (waited, seen.is_some())
        }
    });
    // Give the second transaction every chance to (wrongly) start early; correctness does
    // not depend on this pause, only the chance of catching a bug does.
    tokio::time::sleep(Duration::from_millis(300)).await;
    first_committed.store(true, Ordering::SeqCst);
    first.commit().await.unwrap();

    let (waited, saw_first_write) = second.await.unwrap();
    assert!(
        waited,
        "the second begin returned before the first transaction committed"
    );
    assert!(
        saw_first_write,
        "the second transaction sees what the first committed"
    );
}
on_both_backends!(
    a_second_transaction_of_a_tenant_waits_for_the_first_to_commit,
    a_second_transaction_of_a_tenant_waits_for_the_first_to_commit_sqlite,
    a_second_transaction_of_a_tenant_waits_for_the_first_to_commit_postgres
);

fn closed_port_options() -> StoreOptions {
    StoreOptions {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(1),
    }
}

const CLOSED_PORT_URL: &str = "postgres://postgres@127.0.0.1:1/postgres";

#[tokio::test]
async fn a_postgres_store_behind_a_closed_port_is_unavailable_within_the_acquire_timeout() {
    let store = PgStore::open(CLOSED_PORT_URL, &closed_port_options())
        .await
        .expect("opening is lazy and does not connect");
    let started = Instant::now();
    let err = store.ping().await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    let err = store.begin(&tenant("exampleco")).await.err().unwrap();
    assert!(err.is_unavailable(), "{err:?}");
}

#[tokio::test]
async fn connecting_to_a_closed_port_reports_unavailable_rather_than_a_broken_migration() {
    let err = connect(CLOSED_PORT_URL, &closed_port_options())
        .await
        .err()
        .unwrap();
    assert!(err.is_unavailable(), "{err:?}");
}

#[tokio::test]
async fn connecting_with_an_unknown_scheme_is_a_configuration_error() {
    let err = connect("mysql://localhost/db", &StoreOptions::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::Config { .. }), "{err:?}");
}

#[tokio::test]
async fn an_in_memory_sqlite_store_keeps_its_data_between_transactions() {
    let store = connect("sqlite::memory:", &options()).await.unwrap();
    let t = tenant("exampleco");
    let w = add_worker(&store, &t, "c-77").await;
    let ids = write(
        &store,
        &t,
        "api",
        vec![insert(w, entry("2026-11-23", 60, None))],
    )
    .await;
    assert!(store.get_entry(&t, ids[0]).await.unwrap().is_some());
}

/// A write whose future is dropped half-way (a client gone mid-upload, a timeout) must leave its
/// pooled connection fit for the next transaction. A `COPY` abandoned this way once left the
/// server's answer unread, and every later statement on that connection read the answer meant
/// for the one before: writes reported as committed were lost. One connection, so the next
/// transaction is sure to get the one the dropped write used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_dropped_half_way_leaves_the_connection_fit_for_the_next_postgres() {
    use sqlx::Connection as _;
    let db = TestDb::postgres().await;
    let url = db.postgres_url().unwrap();
    let single = StoreOptions {
        max_connections: 1,
        ..options()
    };
    let store = connect(&url, &single).await.unwrap();
    let t = tenant("exampleco");
    let w = add_worker(&store, &t, "c-77").await;

    // Batches of 1,000 cut off after 0, 0.3, 0.6, ... ms: some before their insert, some in
    // the middle of it, the last ones after their commit.
    let mut cut = 0;
    for attempt in 0..40u64 {
        let writes: Vec<EntryWrite> = (0..1000)
            .map(|i| insert(w, entry("2026-11-23", 1, Some(&format!("x-{attempt}-{i}")))))
            .collect();
        let store = store.clone();
        let t = t.clone();
        let write = async move {
            let mut tx = store.begin(&t).await.unwrap();
            tx.write_entries(&source("tracker"), &writes, "importer", now())
                .await
                .unwrap();
            tx.commit().await.unwrap();
        };
        if tokio::time::timeout(Duration::from_micros(300 * attempt), write)
            .await
            .is_err()
        {
            cut += 1;
        }
    }
    assert!(cut > 0, "no write was cut off: the test proves nothing");

    // The connection works as before: a write is committed and reads back exactly.
    for n in 0..3 {
        let external = format!("after-{n}");
        let ids = write(
            &store,
            &t,
            "tracker",
            vec![insert(w, entry("2026-11-24", 60, Some(&external)))],
        )
        .await;
        let stored = store.get_entry(&t, ids[0]).await.unwrap().unwrap();
        assert_eq!(stored.external_id, Some(ext(&external)));
    }
    // Every cut-off batch is stored whole or not at all.
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "select split_part(external_id, '-', 2), count(*) from time_entry \
         where external_id like 'x-%' group by 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for (attempt, count) in counts {
        assert_eq!(count, 1000, "batch {attempt} is stored in part");
    }
    drop(store);
    db.finish().await;
}
