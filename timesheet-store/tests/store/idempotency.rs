//! Idempotency keys: claim, complete, replay, mismatch, in flight, stale takeover, release.

use std::sync::Arc;
use std::time::Duration;

use timesheet_store::{IdempotencyStart, Store, StoredResponse};

use crate::harness::*;

const FRESH: Duration = Duration::from_secs(60);

fn response() -> StoredResponse {
    StoredResponse {
        status: 201,
        headers: vec![
            ("location".into(), "/v1/timesheets/entries/0193".into()),
            ("etag".into(), "\"0193.1\"".into()),
        ],
        body: br#"{"id":"0193"}"#.to_vec(),
    }
}

async fn a_key_is_claimed_once_then_its_response_is_replayed(store: Arc<dyn Store>) {
    let t = tenant("exampleco");
    let start = |hash: &'static [u8]| {
        let (store, t) = (store.clone(), t.clone());
        async move {
            store
                .idempotency_start(&t, "ana", "key-1", hash, FRESH)
                .await
                .unwrap()
        }
    };
    assert_eq!(start(b"hash-a").await, IdempotencyStart::Started);
    assert_eq!(start(b"hash-a").await, IdempotencyStart::InFlight);
    assert_eq!(
        start(b"hash-b").await,
        IdempotencyStart::Mismatch,
        "even while in flight"
    );

    let mut tx = store.begin(&t).await.unwrap();
    tx.idempotency_complete("ana", "key-1", &response(), now())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(
        start(b"hash-a").await,
        IdempotencyStart::Completed(response())
    );
    assert_eq!(start(b"hash-b").await, IdempotencyStart::Mismatch);
    // Keys belong to their subject.
    let other = store
        .idempotency_start(&t, "bo", "key-1", b"hash-b", FRESH)
        .await
        .unwrap();
    assert_eq!(other, IdempotencyStart::Started);
}
on_both_backends!(
    a_key_is_claimed_once_then_its_response_is_replayed,
    a_key_is_claimed_once_then_its_response_is_replayed_sqlite,
    a_key_is_claimed_once_then_its_response_is_replayed_postgres
);

async fn a_stale_in_flight_key_is_taken_over(store: Arc<dyn Store>) {
    let t = tenant("exampleco");
    let claim = store
        .idempotency_start(&t, "ana", "key-1", b"h", FRESH)
        .await
        .unwrap();
    assert_eq!(claim, IdempotencyStart::Started);
    // Let the marker age past a tiny staleness limit.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let stale = Duration::from_millis(5);
    let retry = store
        .idempotency_start(&t, "ana", "key-1", b"h", stale)
        .await
        .unwrap();
    assert_eq!(retry, IdempotencyStart::Started);
    // The takeover renewed the marker: it is fresh again.
    let third = store
        .idempotency_start(&t, "ana", "key-1", b"h", FRESH)
        .await
        .unwrap();
    assert_eq!(third, IdempotencyStart::InFlight);
    // A different request never takes a key over, stale or not.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let other = store
        .idempotency_start(&t, "ana", "key-1", b"other", stale)
        .await
        .unwrap();
    assert_eq!(other, IdempotencyStart::Mismatch);
}
on_both_backends!(
    a_stale_in_flight_key_is_taken_over,
    a_stale_in_flight_key_is_taken_over_sqlite,
    a_stale_in_flight_key_is_taken_over_postgres
);

async fn a_released_key_can_be_claimed_again_but_a_completed_one_stays(store: Arc<dyn Store>) {
    let t = tenant("exampleco");
    assert_eq!(
        store
            .idempotency_start(&t, "ana", "key-1", b"h", FRESH)
            .await
            .unwrap(),
        IdempotencyStart::Started
    );
    store.idempotency_release(&t, "ana", "key-1").await.unwrap();
    assert_eq!(
        store
            .idempotency_start(&t, "ana", "key-1", b"h", FRESH)
            .await
            .unwrap(),
        IdempotencyStart::Started
    );

    // A completion whose transaction never commits is not kept.
    let mut tx = store.begin(&t).await.unwrap();
    tx.idempotency_complete("ana", "key-1", &response(), now())
        .await
        .unwrap();
    drop(tx);
    assert_eq!(
        store
            .idempotency_start(&t, "ana", "key-1", b"h", FRESH)
            .await
            .unwrap(),
        IdempotencyStart::InFlight
    );

    let mut tx = store.begin(&t).await.unwrap();
    tx.idempotency_complete("ana", "key-1", &response(), now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    store.idempotency_release(&t, "ana", "key-1").await.unwrap();
    assert_eq!(
        store
            .idempotency_start(&t, "ana", "key-1", b"h", FRESH)
            .await
            .unwrap(),
        IdempotencyStart::Completed(response()),
        "release only removes in-flight markers"
    );
}
on_both_backends!(
    a_released_key_can_be_claimed_again_but_a_completed_one_stays,
    a_released_key_can_be_claimed_again_but_a_completed_one_stays_sqlite,
    a_released_key_can_be_claimed_again_but_a_completed_one_stays_postgres
);
