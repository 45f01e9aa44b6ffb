//! Writes the database refuses by a constraint: each is a 409 problem naming what clashes,
//! never a 500, and leaves nothing behind. The service does not check first; these tests
//! provoke the constraint itself, on both databases.

use reqwest::Method;
use serde_json::{json, Value};
use timesheet_domain::{ProblemType, Scope};

use crate::helpers::{admin, days_ago, entry_body, user, TestApp, OTHER_TENANT, TENANT};

fn with_external_id(worker: &str, minutes: u32, external_id: &str) -> Value {
    let mut body = entry_body(worker, &days_ago(3), minutes);
    body["external_id"] = json!(external_id);
    body
}

async fn a_second_entry_with_the_same_external_id_is_409_conflict(app: TestApp) {
    // Arrange
    app.create_entry(&admin(), with_external_id("w-x", 60, "api-1"))
        .await
        .assert_status(201);

    // Act
    let response = app
        .create_entry(&admin(), with_external_id("w-x", 30, "api-1"))
        .await;

    // Assert
    let problem = response.assert_problem(ProblemType::Conflict);
    assert_eq!(response.status, 409);
    let detail = problem.detail.unwrap_or_default();
    assert!(detail.contains("\"api-1\""), "{detail}");
    let stored = app.all_entries("worker=w-x").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].minutes, 60);
}
api_test!(a_second_entry_with_the_same_external_id_is_409_conflict);

async fn the_external_id_of_a_deleted_entry_stays_taken(app: TestApp) {
    // Arrange
    let first = app
        .create_entry(&admin(), with_external_id("w-y", 60, "api-2"))
        .await
        .entry();
    app.delete_entry(&admin(), &first.id.to_string(), None)
        .await
        .assert_status(204);

    // Act
    let response = app
        .create_entry(&admin(), with_external_id("w-y", 60, "api-2"))
        .await;

    // Assert
    response.assert_problem(ProblemType::Conflict);
    assert!(app.all_entries("worker=w-y").await.is_empty());
}
api_test!(the_external_id_of_a_deleted_entry_stays_taken);

async fn an_idempotent_create_that_conflicts_saves_nothing_and_frees_its_key(app: TestApp) {
    // Arrange
    app.create_entry(&admin(), with_external_id("w-z", 60, "api-3"))
        .await
        .assert_status(201);
    let clashing = with_external_id("w-z", 30, "api-3");
    let send = |body: Value| {
        app.call(Method::POST, "/v1/timesheets/entries", &admin())
            .idempotency_key("clash")
            .json(&body)
            .send()
    };

    // Act
    let first = send(clashing.clone()).await;
    let retry = send(clashing).await;

    // Assert: the retry runs again (no replay of the refusal, no key left in flight).
    first.assert_problem(ProblemType::Conflict);
    retry.assert_problem(ProblemType::Conflict);
    assert_eq!(retry.header("idempotent-replayed"), None);
    let stored = app.all_entries("worker=w-z").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].minutes, 60);
}
api_test!(an_idempotent_create_that_conflicts_saves_nothing_and_frees_its_key);

async fn external_ids_are_unique_per_tenant_only(app: TestApp) {
    // Arrange
    let scopes = [Scope::CreateTimesheets, Scope::ReadTimesheets];
    let ours = user(TENANT, "w-t", &scopes);
    let theirs = user(OTHER_TENANT, "w-t", &scopes);
    let body = json!({"date": days_ago(3), "project": "STOREZERO", "minutes": 60,
        "external_id": "api-4"});

    // Act
    let first = app.create_entry(&ours, body.clone()).await;
    let second = app.create_entry(&theirs, body).await;

    // Assert
    first.assert_status(201);
    second.assert_status(201);
}
api_test!(external_ids_are_unique_per_tenant_only);
