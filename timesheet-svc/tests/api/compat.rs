//! The Auth0 sample's surface, served over the same handlers.

use reqwest::Method;
use serde_json::{json, Value};
use timesheet_domain::api::EntryResponse;
use timesheet_domain::{ProblemType, WeekStatus};

use crate::helpers::{admin, days_ago, iso_week, monday_weeks_ago, TestApp};

fn sample(user_id: &str, date: &str) -> Value {
    json!({"user_id": user_id, "date": date, "project": "STOREZERO", "hours": 7.5})
}

async fn compat_post_timesheets_creates_an_entry_from_hours(app: TestApp) {
    // Arrange
    let date = days_ago(3);

    // Act
    let response = app
        .request(
            Method::POST,
            "/timesheets",
            &admin(),
            Some(sample("u-1", &date)),
        )
        .await;

    // Assert
    response.assert_status(201);
    let entry = response.entry();
    assert_eq!(entry.minutes, 450);
    assert_eq!(entry.worker.external_id, "u-1");
    assert_eq!(entry.date.to_string(), date);
    assert_eq!(
        app.get_entry(&admin(), &entry.id.to_string()).await.entry(),
        entry
    );
}
api_test!(compat_post_timesheets_creates_an_entry_from_hours);

async fn compat_upload_stores_one_sample_entry(app: TestApp) {
    // Act
    let response = app
        .request(
            Method::POST,
            "/timesheets/upload",
            &admin(),
            Some(sample("u-2", &days_ago(4))),
        )
        .await;

    // Assert
    response.assert_status(201);
    let entry = response.entry();
    assert_eq!(
        (entry.minutes, entry.worker.external_id.as_str()),
        (450, "u-2")
    );
    app.get_entry(&admin(), &entry.id.to_string())
        .await
        .assert_status(200);
}
api_test!(compat_upload_stores_one_sample_entry);

async fn compat_get_timesheets_lists_entries_as_an_array(app: TestApp) {
    // Arrange
    let a = app
        .request(
            Method::POST,
            "/timesheets",
            &admin(),
            Some(sample("u-1", &days_ago(3))),
        )
        .await
        .entry();
    let b = app
        .request(
            Method::POST,
            "/timesheets",
            &admin(),
            Some(sample("u-2", &days_ago(3))),
        )
        .await
        .entry();

    // Act
    let response = app
        .request(Method::GET, "/timesheets", &admin(), None)
        .await;

    // Assert
    response.assert_status(200);
    let list: Vec<EntryResponse> =
        serde_json::from_str(&response.body).expect("a JSON array of entries");
    let mut ids: Vec<_> = list.iter().map(|e| e.id).collect();
    ids.sort();
    let mut expected = vec![a.id, b.id];
    expected.sort();
    assert_eq!(ids, expected);
}
api_test!(compat_get_timesheets_lists_entries_as_an_array);

async fn compat_bad_samples_are_422(app: TestApp) {
    for (body, pointer) in [
        (
            json!({"user_id": "u-1", "date": days_ago(3), "project": "P", "hours": "abc"}),
            "/hours",
        ),
        (
            json!({"user_id": "u-1", "date": "2026-02-30", "project": "P", "hours": 1}),
            "/date",
        ),
        (
            json!({"date": days_ago(3), "project": "P", "hours": 1}),
            "/user_id",
        ),
    ] {
        // Act
        let response = app
            .request(Method::POST, "/timesheets", &admin(), Some(body))
            .await;

        // Assert
        response.assert_invalid_field(pointer);
    }
}
api_test!(compat_bad_samples_are_422);

async fn compat_put_approvals_approves_the_submitted_week_of_the_entry(app: TestApp) {
    // Arrange
    let monday = monday_weeks_ago(2);
    let entry = app
        .request(
            Method::POST,
            "/timesheets",
            &admin(),
            Some(sample("u-3", &monday)),
        )
        .await
        .entry();
    app.week_action(&admin(), "u-3", &iso_week(&monday), "submit", None)
        .await
        .assert_status(200);
    let queue = app.request(Method::GET, "/approvals", &admin(), None).await;
    queue.assert_status(200);
    assert!(
        queue.body.contains("u-3"),
        "the compat approvals list shows the week: {}",
        queue.body
    );

    // Act
    let response = app
        .request(
            Method::PUT,
            &format!("/approvals/{}", entry.id),
            &admin(),
            None,
        )
        .await;

    // Assert
    response.assert_status(200);
    let stored = app.get_entry(&admin(), &entry.id.to_string()).await.entry();
    assert_eq!(stored.status, WeekStatus::Approved);
}
api_test!(compat_put_approvals_approves_the_submitted_week_of_the_entry);

async fn compat_put_approvals_on_an_unsubmitted_or_unknown_entry_is_refused(app: TestApp) {
    // Arrange
    let entry = app
        .request(
            Method::POST,
            "/timesheets",
            &admin(),
            Some(sample("u-4", &days_ago(3))),
        )
        .await
        .entry();

    // Act
    let open = app
        .request(
            Method::PUT,
            &format!("/approvals/{}", entry.id),
            &admin(),
            None,
        )
        .await;
    let unknown = app
        .request(
            Method::PUT,
            &format!("/approvals/{}", uuid::Uuid::now_v7()),
            &admin(),
            None,
        )
        .await;

    // Assert
    open.assert_problem(ProblemType::InvalidTransition);
    unknown.assert_problem(ProblemType::NotFound);
}
api_test!(compat_put_approvals_on_an_unsubmitted_or_unknown_entry_is_refused);
