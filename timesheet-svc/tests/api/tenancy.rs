//! Tenant isolation: another tenant's data is invisible (404, never 403) and untouchable.

use reqwest::Method;
use serde_json::json;
use timesheet_domain::api::ItemStatus;
use timesheet_domain::{ProblemType, Scope, WeekStatus};

use crate::helpers::{
    admin, days_ago, etag_of, iso_week, item, machine, monday_weeks_ago, TestApp, OTHER_TENANT,
};

fn other_admin() -> timesheet_domain::Principal {
    machine(OTHER_TENANT, &Scope::ALL)
}

async fn another_tenants_entry_is_404_everywhere(app: TestApp) {
    // Arrange
    let entry = app.given_entry("w-t", &days_ago(3), 60).await;
    let id = entry.id.to_string();
    let etag = etag_of(&entry);

    // Act
    let get = app.get_entry(&other_admin(), &id).await;
    let patch = app
        .patch_entry(&other_admin(), &id, Some(&etag), json!({"minutes": 1}))
        .await;
    let delete = app.delete_entry(&other_admin(), &id, Some(&etag)).await;
    let compat_approve = app
        .request(
            Method::PUT,
            &format!("/approvals/{id}"),
            &other_admin(),
            None,
        )
        .await;

    // Assert
    get.assert_problem(ProblemType::NotFound);
    patch.assert_problem(ProblemType::NotFound);
    delete.assert_problem(ProblemType::NotFound);
    compat_approve.assert_problem(ProblemType::NotFound);
    assert_eq!(
        app.get_entry(&admin(), &id).await.entry(),
        entry,
        "the entry is untouched"
    );
}
api_test!(another_tenants_entry_is_404_everywhere);

async fn lists_never_show_another_tenants_entries(app: TestApp) {
    // Arrange
    app.given_entry("w-t", &days_ago(3), 60).await;
    app.given_upload("shared-source", vec![item("x-1", "w-t", &days_ago(4), 30)])
        .await;

    // Act
    let list = app.list_entries(&other_admin(), "").await;
    let by_source = app
        .list_entries(&other_admin(), "source=shared-source")
        .await;
    let synced = app
        .list_entries(&other_admin(), "updated_since=2000-01-01T00%3A00%3A00Z")
        .await;
    let compat = app
        .request(Method::GET, "/timesheets", &other_admin(), None)
        .await;

    // Assert
    for response in [list, by_source, synced] {
        response.assert_status(200);
        assert!(
            response.page().data.is_empty(),
            "{} leaks: {}",
            response.path,
            response.body
        );
    }
    compat.assert_status(200);
    assert_eq!(compat.json(), json!([]), "compat list leaks");
}
api_test!(lists_never_show_another_tenants_entries);

async fn the_same_source_and_external_id_in_two_tenants_are_two_entries(app: TestApp) {
    // Arrange
    let ours = app
        .given_upload("tracker", vec![item("ct-1", "w-t", &days_ago(3), 60)])
        .await;

    // Act
    let theirs = app
        .upload(
            &other_admin(),
            "tracker",
            vec![item("ct-1", "w-t", &days_ago(3), 90)],
        )
        .await;

    // Assert
    theirs.assert_status(200);
    let theirs = theirs.upload();
    assert_eq!(theirs.results[0].status, ItemStatus::Created, "{theirs:?}");
    assert_ne!(theirs.results[0].id, ours.results[0].id);
    let stored = app.all_entries_of_source("tracker").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].minutes, 60, "our entry is untouched");
}
api_test!(the_same_source_and_external_id_in_two_tenants_are_two_entries);

async fn another_tenant_cannot_move_our_weeks(app: TestApp) {
    // Arrange
    let monday = monday_weeks_ago(2);
    let week = iso_week(&monday);
    let entry = app.given_entry("w-t", &monday, 60).await;
    app.week_action(&admin(), "w-t", &week, "submit", None)
        .await
        .assert_status(200);

    // Act
    let approve = app
        .week_action(&other_admin(), "w-t", &week, "approve", None)
        .await;
    let queue = app.approvals(&other_admin()).await;

    // Assert
    assert!(
        matches!(approve.status, 404 | 409),
        "approve across tenants: {} {}",
        approve.status,
        approve.body
    );
    queue.assert_status(200);
    assert_eq!(queue.json()["data"], json!([]), "the approvals queue leaks");
    let ours = app.get_entry(&admin(), &entry.id.to_string()).await.entry();
    assert_eq!(
        ours.status,
        WeekStatus::Submitted,
        "our week was not decided by another tenant"
    );
}
api_test!(another_tenant_cannot_move_our_weeks);

async fn the_same_idempotency_key_in_two_tenants_does_not_replay_across_them(app: TestApp) {
    // Arrange: the same client subject and key in both tenants.
    let body = crate::helpers::entry_body("w-t", &days_ago(3), 60);
    let ours = app
        .call(Method::POST, "/v1/timesheets/entries", &admin())
        .idempotency_key("shared-key")
        .json(&body)
        .send()
        .await;
    ours.assert_status(201);

    // Act
    let theirs = app
        .call(Method::POST, "/v1/timesheets/entries", &other_admin())
        .idempotency_key("shared-key")
        .json(&body)
        .send()
        .await;

    // Assert
    theirs.assert_status(201);
    assert_eq!(
        theirs.header("idempotent-replayed"),
        None,
        "a response of another tenant was replayed"
    );
    assert_ne!(theirs.entry().id, ours.entry().id);
    app.get_entry(&other_admin(), &theirs.entry().id.to_string())
        .await
        .assert_status(200);
}
api_test!(the_same_idempotency_key_in_two_tenants_does_not_replay_across_them);

async fn week_actions_of_a_person_for_another_worker_are_refused(app: TestApp) {
    // Arrange
    let monday = monday_weeks_ago(2);
    let week = iso_week(&monday);
    let entry = app.given_entry("auth0|bob", &monday, 60).await;
    let alice = crate::helpers::user(
        crate::helpers::TENANT,
        "auth0|alice",
        &[Scope::CreateTimesheets, Scope::ReadTimesheets],
    );

    // Act
    let response = app
        .week_action(&alice, "auth0|bob", &week, "submit", None)
        .await;

    // Assert
    assert!(
        matches!(response.status, 403 | 404),
        "{} {}",
        response.status,
        response.body
    );
    let kind = if response.status == 403 {
        ProblemType::Forbidden
    } else {
        ProblemType::NotFound
    };
    response.assert_problem(kind);
    let stored = app.get_entry(&admin(), &entry.id.to_string()).await.entry();
    assert_eq!(stored.status, WeekStatus::Open);
}
api_test!(week_actions_of_a_person_for_another_worker_are_refused);
