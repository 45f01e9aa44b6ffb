//! `Idempotency-Key` on `POST /v1/timesheets/entries`.

use reqwest::Method;
use serde_json::json;
use timesheet_domain::{ProblemType, Scope};

use crate::helpers::{admin, days_ago, entry_body, user, TestApp, TENANT};

async fn a_replayed_request_returns_the_same_response_and_stores_one_entry(app: TestApp) {
    // Arrange
    let body = entry_body("w-idem", &days_ago(3), 60);
    let first = app
        .call(Method::POST, "/v1/timesheets/entries", &admin())
        .idempotency_key("key-1")
        .json(&body)
        .send()
        .await;
    first.assert_status(201);

    // Act
    let replay = app
        .call(Method::POST, "/v1/timesheets/entries", &admin())
        .idempotency_key("key-1")
        .json(&body)
        .send()
        .await;

    // Assert
    replay.assert_status(201);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        first.header("idempotent-replayed"),
        None,
        "the first response is no replay"
    );
    assert_eq!(
        replay.json(),
        first.json(),
        "the replay carries the same body"
    );
    assert_eq!(replay.entry().id, first.entry().id);
    assert_eq!(replay.header("location"), first.header("location"));
    assert_eq!(replay.header("etag"), first.header("etag"));
    assert_eq!(
        app.all_entries("worker=w-idem").await.len(),
        1,
        "only one entry is stored"
    );
}
api_test!(a_replayed_request_returns_the_same_response_and_stores_one_entry);

async fn reusing_a_key_with_another_body_is_422_and_stores_nothing_more(app: TestApp) {
    // Arrange
    let first = app
        .call(Method::POST, "/v1/timesheets/entries", &admin())
        .idempotency_key("key-2")
        .json(&entry_body("w-idem", &days_ago(3), 60))
        .send()
        .await;
    first.assert_status(201);

    // Act
    let reused = app
        .call(Method::POST, "/v1/timesheets/entries", &admin())
        .idempotency_key("key-2")
        .json(&entry_body("w-idem", &days_ago(3), 61))
        .send()
        .await;

    // Assert
    reused.assert_problem(ProblemType::IdempotencyKeyReused);
    let stored = app.all_entries("worker=w-idem").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].minutes, 60);
}
api_test!(reusing_a_key_with_another_body_is_422_and_stores_nothing_more);

async fn different_keys_create_different_entries(app: TestApp) {
    // Arrange
    let body = entry_body("w-keys", &days_ago(3), 60);

    // Act
    let mut ids = Vec::new();
    for key in ["key-a", "key-b"] {
        let response = app
            .call(Method::POST, "/v1/timesheets/entries", &admin())
            .idempotency_key(key)
            .json(&body)
            .send()
            .await;
        response.assert_status(201);
        ids.push(response.entry().id);
    }

    // Assert
    assert_ne!(ids[0], ids[1]);
    assert_eq!(app.all_entries("worker=w-keys").await.len(), 2);
}
api_test!(different_keys_create_different_entries);

async fn the_same_key_from_two_people_does_not_collide(app: TestApp) {
    // Arrange
    let scopes = [Scope::CreateTimesheets, Scope::ReadTimesheets];
    let alice = user(TENANT, "auth0|alice", &scopes);
    let bob = user(TENANT, "auth0|bob", &scopes);
    let body = json!({"date": days_ago(2), "project": "STOREZERO", "minutes": 30});

    // Act
    let a = app
        .call(Method::POST, "/v1/timesheets/entries", &alice)
        .idempotency_key("shared")
        .json(&body)
        .send()
        .await;
    let b = app
        .call(Method::POST, "/v1/timesheets/entries", &bob)
        .idempotency_key("shared")
        .json(&body)
        .send()
        .await;

    // Assert
    a.assert_status(201);
    b.assert_status(201);
    assert_eq!(b.header("idempotent-replayed"), None);
    assert_eq!(a.entry().worker.external_id, "auth0|alice");
    assert_eq!(b.entry().worker.external_id, "auth0|bob");
}
api_test!(the_same_key_from_two_people_does_not_collide);

async fn concurrent_requests_with_one_key_store_one_entry(app: TestApp) {
    // Arrange
    let body = entry_body("w-race", &days_ago(3), 60);

    // Act
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let app = app.clone();
            let body = body.clone();
            tokio::spawn(async move {
                app.call(Method::POST, "/v1/timesheets/entries", &admin())
                    .idempotency_key("race")
                    .json(&body)
                    .send()
                    .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let response = task.await.expect("the request task");
        if response.status == 409 {
            response.assert_problem(ProblemType::IdempotencyKeyInUse);
        }
        statuses.push(response.status);
    }

    // Assert
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "statuses {statuses:?}"
    );
    assert!(statuses.contains(&201));
    assert_eq!(app.all_entries("worker=w-race").await.len(), 1);
}
api_test!(concurrent_requests_with_one_key_store_one_entry);

async fn unusable_idempotency_keys_are_refused_without_a_5xx(app: TestApp) {
    let long = "k".repeat(5000);
    for key in ["", "   ", long.as_str()] {
        // Act
        let response = app
            .call(Method::POST, "/v1/timesheets/entries", &admin())
            .idempotency_key(key)
            .json(&entry_body("w-badkey", &days_ago(3), 10))
            .send()
            .await;

        // Assert
        assert!(
            matches!(response.status, 201 | 400 | 422),
            "key of {} chars: {} {}",
            key.len(),
            response.status,
            response.body
        );
        if response.status != 201 {
            response.problem();
        }
    }
}
api_test!(unusable_idempotency_keys_are_refused_without_a_5xx);
