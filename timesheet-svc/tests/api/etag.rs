//! Optimistic concurrency: ETags, `If-Match` on PATCH (required) and DELETE (optional).

use serde_json::json;
use timesheet_domain::ProblemType;

use crate::helpers::{admin, days_ago, etag_of, TestApp};

async fn patch_without_if_match_is_428_and_changes_nothing(app: TestApp) {
    // Arrange
    let entry = app.given_entry("w-e", &days_ago(3), 60).await;
    let id = entry.id.to_string();

    // Act
    let response = app
        .patch_entry(&admin(), &id, None, json!({"minutes": 90}))
        .await;

    // Assert
    response.assert_problem(ProblemType::PreconditionRequired);
    assert_eq!(app.get_entry(&admin(), &id).await.entry(), entry);
}
api_test!(patch_without_if_match_is_428_and_changes_nothing);

async fn patch_with_a_stale_if_match_is_412_and_changes_nothing(app: TestApp) {
    // Arrange
    let entry = app.given_entry("w-e", &days_ago(3), 60).await;
    let id = entry.id.to_string();
    let stale = etag_of(&entry);
    let first = app
        .patch_entry(&admin(), &id, Some(&stale), json!({"minutes": 70}))
        .await;
    first.assert_status(200);
    let current = first.entry();

    // Act
    let response = app
        .patch_entry(&admin(), &id, Some(&stale), json!({"minutes": 90}))
        .await;

    // Assert
    response.assert_problem(ProblemType::PreconditionFailed);
    assert_eq!(app.get_entry(&admin(), &id).await.entry(), current);
}
api_test!(patch_with_a_stale_if_match_is_412_and_changes_nothing);

async fn patch_with_the_current_etag_applies_and_bumps_the_version(app: TestApp) {
    // Arrange
    let entry = app.given_entry("w-e", &days_ago(3), 60).await;
    let id = entry.id.to_string();
    let new_date = days_ago(4);

    // Act
    let response = app
        .patch_entry(
            &admin(),
            &id,
            Some(&etag_of(&entry)),
            json!({"date": new_date, "project": "NEWPROJ", "hours": "2", "notes": "moved", "billable": true}),
        )
        .await;

    // Assert
    response.assert_status(200);
    let patched = response.entry();
    assert_eq!(patched.version, entry.version + 1);
    assert_eq!(response.header("etag"), Some(etag_of(&patched).as_str()));
    assert_eq!(patched.id, entry.id);
    assert_eq!(patched.date.to_string(), new_date);
    assert_eq!(
        (
            patched.project.as_str(),
            patched.minutes,
            patched.notes.as_str(),
            patched.billable
        ),
        ("NEWPROJ", 120, "moved", true)
    );
    assert!(patched.updated_at >= entry.updated_at);
    assert_eq!(patched.created_at, entry.created_at);
    let read = app.get_entry(&admin(), &id).await;
    assert_eq!(read.header("etag"), Some(etag_of(&patched).as_str()));
    assert_eq!(read.entry(), patched);
}
api_test!(patch_with_the_current_etag_applies_and_bumps_the_version);

async fn patch_validates_its_fields(app: TestApp) {
    // Arrange
    let entry = app.given_entry("w-e", &days_ago(3), 60).await;
    let id = entry.id.to_string();
    let etag = etag_of(&entry);
    let cases = [
        (json!({"minutes": 0}), "/minutes"),
        (json!({"minutes": 1441}), "/minutes"),
        (json!({"notes": "n".repeat(2001)}), "/notes"),
        (json!({"date": "2026-13-01"}), "/date"),
        (json!({"date": days_ago(-400)}), "/date"),
        (json!({"billable": 1}), "/billable"),
        (json!({"colour": "red"}), "/colour"),
    ];

    for (body, pointer) in cases {
        // Act
        let response = app.patch_entry(&admin(), &id, Some(&etag), body).await;

        // Assert
        response.assert_invalid_field(pointer);
    }
    let empty = app.patch_entry(&admin(), &id, Some(&etag), json!({})).await;
    empty.assert_problem(ProblemType::ValidationError);
    assert_eq!(app.get_entry(&admin(), &id).await.entry(), entry);
}
api_test!(patch_validates_its_fields);

async fn patch_that_breaks_the_day_limit_is_422(app: TestApp) {
    // Arrange
    let date = days_ago(3);
    app.given_entry("w-e", &date, 1000).await;
    let entry = app.given_entry("w-e", &date, 400).await;

    // Act
    let response = app
        .patch_entry(
            &admin(),
            &entry.id.to_string(),
            Some(&etag_of(&entry)),
            json!({"minutes": 441}),
        )
        .await;

    // Assert
    response.assert_problem(ProblemType::DayLimitExceeded);
    let fits = app
        .patch_entry(
            &admin(),
            &entry.id.to_string(),
            Some(&etag_of(&entry)),
            json!({"minutes": 440}),
        )
        .await;
    fits.assert_status(200);
}
api_test!(patch_that_breaks_the_day_limit_is_422);

async fn delete_with_a_stale_if_match_is_412_and_keeps_the_entry(app: TestApp) {
    // Arrange
    let entry = app.given_entry("w-e", &days_ago(3), 60).await;
    let id = entry.id.to_string();
    let stale = etag_of(&entry);
    let patched = app
        .patch_entry(&admin(), &id, Some(&stale), json!({"minutes": 61}))
        .await;
    patched.assert_status(200);

    // Act
    let response = app.delete_entry(&admin(), &id, Some(&stale)).await;

    // Assert
    response.assert_problem(ProblemType::PreconditionFailed);
    app.get_entry(&admin(), &id).await.assert_status(200);
}
api_test!(delete_with_a_stale_if_match_is_412_and_keeps_the_entry);

async fn delete_with_the_current_etag_succeeds(app: TestApp) {
    // Arrange
    let entry = app.given_entry("w-e", &days_ago(3), 60).await;
    let id = entry.id.to_string();

    // Act
    let response = app
        .delete_entry(&admin(), &id, Some(&etag_of(&entry)))
        .await;

    // Assert
    response.assert_status(204);
    app.get_entry(&admin(), &id)
        .await
        .assert_problem(ProblemType::NotFound);
}
api_test!(delete_with_the_current_etag_succeeds);

async fn concurrent_patches_with_one_etag_let_exactly_one_win(app: TestApp) {
    // Arrange
    let entry = app.given_entry("w-e", &days_ago(3), 60).await;
    let id = entry.id.to_string();
    let etag = etag_of(&entry);

    // Act
    let tasks: Vec<_> = (0..5u32)
        .map(|i| {
            let (app, id, etag) = (app.clone(), id.clone(), etag.clone());
            tokio::spawn(async move {
                app.patch_entry(&admin(), &id, Some(&etag), json!({"minutes": 100 + i}))
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let response = task.await.expect("the request task");
        if response.status == 200 {
            winners.push(response.entry());
        } else {
            response.assert_problem(ProblemType::PreconditionFailed);
        }
    }

    // Assert
    assert_eq!(winners.len(), 1, "exactly one patch wins");
    let stored = app.get_entry(&admin(), &id).await.entry();
    assert_eq!(stored, winners[0]);
    assert_eq!(stored.version, entry.version + 1);
}
api_test!(concurrent_patches_with_one_etag_let_exactly_one_win);

async fn if_match_in_unusual_forms_is_never_a_5xx(app: TestApp) {
    // Arrange
    let entry = app.given_entry("w-e", &days_ago(3), 60).await;
    let id = entry.id.to_string();
    let weak = format!("W/{}", etag_of(&entry));
    let list = format!("\"nope\", {}", etag_of(&entry));
    let unquoted = format!("{}.{}", entry.id, entry.version);

    for value in [
        "*",
        weak.as_str(),
        list.as_str(),
        unquoted.as_str(),
        "garbage",
        "\"\"",
        "\"x.y.z\"",
    ] {
        // Act
        let response = app
            .patch_entry(
                &admin(),
                &id,
                Some(value),
                json!({"notes": format!("via {value}")}),
            )
            .await;

        // Assert
        assert!(
            matches!(response.status, 200 | 400 | 412 | 422),
            "If-Match {value}: {} {}",
            response.status,
            response.body
        );
        if value == weak {
            assert_eq!(
                response.status, 412,
                "a weak ETag never matches for a write (RFC 9110 strong comparison)"
            );
        }
        if value == "garbage" {
            assert_ne!(response.status, 200);
        }
    }
}
api_test!(if_match_in_unusual_forms_is_never_a_5xx);
