//! `POST /v1/timesheets/upload`: per-item upserts keyed by (source, external_id).

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};
use timesheet_domain::api::ItemStatus;
use timesheet_domain::ProblemType;

use crate::helpers::{admin, assert_item_rejected, counts, days_ago, item, TestApp};

/// `n` valid items that never meet the day limit: item `i` is worker `w-(i % workers)` on the
/// day `i / workers + 1` days ago, 30 minutes.
fn items(prefix: &str, n: usize, workers: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let days = i64::try_from(i / workers + 1).expect("small");
            item(
                &format!("{prefix}-{i}"),
                &format!("w-{}", i % workers),
                &days_ago(days),
                30,
            )
        })
        .collect()
}

async fn batch_creates_valid_items_and_reports_them_in_input_order(app: TestApp) {
    // Arrange
    let entries = items("ct", 5, 5);

    // Act
    let response = app.upload(&admin(), "contractor-tracker", entries).await;

    // Assert
    response.assert_status(200);
    let upload = response.upload();
    assert_eq!(counts(&upload), (5, 0, 0, 0));
    for (i, result) in upload.results.iter().enumerate() {
        assert_eq!(result.index, i);
        assert_eq!(
            result.external_id.as_deref(),
            Some(format!("ct-{i}").as_str())
        );
        assert_eq!(result.status, ItemStatus::Created);
        assert!(result.id.is_some(), "a created item has an id: {result:?}");
    }
    let stored = app.all_entries_of_source("contractor-tracker").await;
    assert_eq!(stored.len(), 5);
    let first = stored
        .iter()
        .find(|e| e.external_id.as_deref() == Some("ct-0"))
        .expect("ct-0 is stored");
    assert_eq!(Some(first.id), upload.results[0].id);
    assert_eq!(first.minutes, 30);
    assert_eq!(first.project, "STOREZERO");
    assert_eq!(first.source, "contractor-tracker");
    assert_eq!(first.worker.external_id, "w-0");
    assert!(first.billable);
    assert_eq!(first.notes, "integration work");
}
api_test!(batch_creates_valid_items_and_reports_them_in_input_order);

async fn batch_accepts_hours_as_decimal_text(app: TestApp) {
    // Arrange
    let mut entry = item("h-1", "w-h", &days_ago(2), 1);
    entry.as_object_mut().expect("an object").remove("minutes");
    entry["hours"] = json!("7.5");

    // Act
    let upload = app.given_upload("hours", vec![entry]).await;

    // Assert
    assert_eq!(upload.created, 1, "{upload:?}");
    let stored = app.all_entries_of_source("hours").await;
    assert_eq!(
        stored.iter().map(|e| e.minutes).collect::<Vec<_>>(),
        vec![450]
    );
}
api_test!(batch_accepts_hours_as_decimal_text);

async fn batch_rejects_second_duplicate_external_id(app: TestApp) {
    // Arrange
    let entries = vec![
        item("dup-1", "w-1", &days_ago(3), 60),
        item("dup-1", "w-1", &days_ago(4), 90),
        item("dup-2", "w-1", &days_ago(5), 30),
    ];

    // Act
    let upload = app.given_upload("dups", entries).await;

    // Assert
    assert_eq!((upload.created, upload.rejected), (2, 1), "{upload:?}");
    assert_eq!(upload.results[0].status, ItemStatus::Created);
    let problem = assert_item_rejected(&upload.results[1], ProblemType::DuplicateInBatch);
    assert_eq!(
        problem.errors.first().map(|e| e.pointer.as_str()),
        Some("/entries/1/external_id")
    );
    assert_eq!(upload.results[2].status, ItemStatus::Created);
    let stored = app.all_entries_of_source("dups").await;
    let first = stored
        .iter()
        .find(|e| e.external_id.as_deref() == Some("dup-1"))
        .expect("dup-1 is stored");
    assert_eq!(first.minutes, 60, "the first occurrence wins");
    assert_eq!(stored.len(), 2);
}
api_test!(batch_rejects_second_duplicate_external_id);

async fn batch_sent_twice_reports_all_unchanged_and_writes_nothing(app: TestApp) {
    // Arrange
    let entries = items("same", 20, 4);
    app.given_upload("resend", entries.clone()).await;
    let before = app.all_entries_of_source("resend").await;

    // Act
    let upload = app.given_upload("resend", entries).await;

    // Assert
    assert_eq!(counts(&upload), (0, 0, 20, 0));
    assert!(
        upload
            .results
            .iter()
            .all(|r| r.status == ItemStatus::Unchanged),
        "{upload:?}"
    );
    let after = app.all_entries_of_source("resend").await;
    assert_eq!(
        after, before,
        "an unchanged batch changed stored entries (version or updated_at)"
    );
}
api_test!(batch_sent_twice_reports_all_unchanged_and_writes_nothing);

async fn batch_with_one_changed_item_reports_exactly_one_updated(app: TestApp) {
    // Arrange
    let mut entries = items("chg", 10, 5);
    app.given_upload("change", entries.clone()).await;
    let before: HashMap<String, _> = app
        .all_entries_of_source("change")
        .await
        .into_iter()
        .map(|e| (e.external_id.clone().unwrap_or_default(), e))
        .collect();
    entries[3]["minutes"] = json!(45);

    // Act
    let upload = app.given_upload("change", entries).await;

    // Assert
    assert_eq!(counts(&upload), (0, 1, 9, 0));
    assert_eq!(upload.results[3].status, ItemStatus::Updated);
    let old = &before["chg-3"];
    assert_eq!(upload.results[3].id, Some(old.id), "an update keeps the id");
    assert_eq!(upload.results[3].version, Some(old.version + 1));
    for entry in app.all_entries_of_source("change").await {
        let key = entry.external_id.clone().unwrap_or_default();
        if key == "chg-3" {
            assert_eq!(entry.minutes, 45);
            assert_eq!(entry.version, old.version + 1);
        } else {
            assert_eq!(entry, before[&key], "{key} changed");
        }
    }
}
api_test!(batch_with_one_changed_item_reports_exactly_one_updated);

async fn batch_over_1000_items_is_refused_with_413_and_writes_nothing(app: TestApp) {
    // Arrange
    let entries = items("big", 1001, 100);

    // Act
    let response = app.upload(&admin(), "big", entries).await;

    // Assert
    response.assert_problem(ProblemType::PayloadTooLarge);
    assert!(app.all_entries_of_source("big").await.is_empty());
}
api_test!(batch_over_1000_items_is_refused_with_413_and_writes_nothing);

async fn batch_of_exactly_1000_items_is_accepted(app: TestApp) {
    // Arrange
    let entries = items("max", 1000, 100);

    // Act
    let upload = app.given_upload("max", entries).await;

    // Assert
    assert_eq!((upload.created, upload.rejected), (1000, 0));
    assert_eq!(upload.results.len(), 1000);
    assert_eq!(app.all_entries_of_source("max").await.len(), 1000);
}
api_test!(batch_of_exactly_1000_items_is_accepted);

async fn batch_rejects_a_bad_item_alone_and_points_into_it(app: TestApp) {
    // Arrange
    let mut entries = items("bad", 3, 3);
    entries[1]["minutes"] = json!(0);

    // Act
    let upload = app.given_upload("bad", entries).await;

    // Assert
    assert_eq!((upload.created, upload.rejected), (2, 1), "{upload:?}");
    assert_eq!(upload.results[1].external_id.as_deref(), Some("bad-1"));
    let problem = assert_item_rejected(&upload.results[1], ProblemType::ValidationError);
    assert_eq!(
        problem.errors.first().map(|e| e.pointer.as_str()),
        Some("/entries/1/minutes")
    );
    let stored: HashSet<_> = app
        .all_entries_of_source("bad")
        .await
        .into_iter()
        .filter_map(|e| e.external_id)
        .collect();
    assert_eq!(
        stored,
        HashSet::from(["bad-0".to_owned(), "bad-2".to_owned()])
    );
}
api_test!(batch_rejects_a_bad_item_alone_and_points_into_it);

async fn batch_items_need_an_external_id_and_a_worker(app: TestApp) {
    // Arrange
    let mut entries = items("req", 3, 3);
    entries[1]
        .as_object_mut()
        .expect("an object")
        .remove("external_id");
    entries[2]
        .as_object_mut()
        .expect("an object")
        .remove("worker");

    // Act
    let upload = app.given_upload("required", entries).await;

    // Assert
    assert_eq!((upload.created, upload.rejected), (1, 2), "{upload:?}");
    let missing_id = assert_item_rejected(&upload.results[1], ProblemType::ValidationError);
    assert_eq!(
        missing_id.errors.first().map(|e| e.pointer.as_str()),
        Some("/entries/1/external_id")
    );
    let missing_worker = assert_item_rejected(&upload.results[2], ProblemType::ValidationError);
    assert_eq!(
        missing_worker.errors.first().map(|e| e.pointer.as_str()),
        Some("/entries/2/worker")
    );
    assert_eq!(app.all_entries_of_source("required").await.len(), 1);
}
api_test!(batch_items_need_an_external_id_and_a_worker);

async fn batch_rejects_items_with_invalid_fields_naming_each_field(app: TestApp) {
    // Arrange: one bad field per item, in the order of the expected pointers.
    let cases: Vec<(&str, Value)> = vec![
        ("minutes", json!(1441)),
        ("minutes", json!(-5)),
        ("minutes", json!("sixty")),
        ("notes", json!("n".repeat(2001))),
        ("external_id", json!("x".repeat(129))),
        ("date", json!("2026-02-30")),
        ("date", json!(days_ago(-400))),
        ("date", json!(days_ago(1000))),
        ("billable", json!("yes")),
        ("project", json!("has space")),
    ];
    let entries: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, (field, value))| {
            let mut entry = item(&format!("inv-{i}"), &format!("w-{i}"), &days_ago(2), 30);
            entry[*field] = value.clone();
            entry
        })
        .collect();

    // Act
    let upload = app.given_upload("invalid", entries).await;

    // Assert
    assert_eq!(upload.rejected, cases.len(), "{upload:?}");
    for (i, (field, _)) in cases.iter().enumerate() {
        let problem = assert_item_rejected(&upload.results[i], ProblemType::ValidationError);
        assert_eq!(
            problem.errors.first().map(|e| e.pointer.clone()),
            Some(format!("/entries/{i}/{field}")),
            "item {i}: {problem:?}"
        );
    }
    assert!(app.all_entries_of_source("invalid").await.is_empty());
}
api_test!(batch_rejects_items_with_invalid_fields_naming_each_field);

async fn batch_rejects_the_item_that_breaks_the_day_limit(app: TestApp) {
    // Arrange
    let date = days_ago(6);
    let entries = vec![
        item("day-1", "w-day", &date, 1000),
        item("day-2", "w-day", &date, 440),
        item("day-3", "w-day", &date, 1),
    ];

    // Act
    let upload = app.given_upload("day", entries).await;

    // Assert
    assert_eq!(upload.results[0].status, ItemStatus::Created);
    assert_eq!(
        upload.results[1].status,
        ItemStatus::Created,
        "exactly 1440 min is allowed"
    );
    let problem = assert_item_rejected(&upload.results[2], ProblemType::DayLimitExceeded);
    assert_eq!(
        problem.errors.first().map(|e| e.pointer.as_str()),
        Some("/entries/2/minutes")
    );
    let total: u32 = app
        .all_entries_of_source("day")
        .await
        .iter()
        .map(|e| e.minutes)
        .sum();
    assert_eq!(total, 1440);
}
api_test!(batch_rejects_the_item_that_breaks_the_day_limit);

async fn batch_rejects_an_invalid_source_with_422(app: TestApp) {
    // Act
    let response = app.upload(&admin(), "has space", items("src", 1, 1)).await;

    // Assert
    response.assert_invalid_field("/source");
}
api_test!(batch_rejects_an_invalid_source_with_422);

async fn concurrent_overlapping_uploads_leave_exactly_one_row_per_external_id(app: TestApp) {
    // Arrange: 8 batches of 30 items; batch k holds ext-(10k) .. ext-(10k+29), so every
    // external id but the first and last ten is in two or three batches at once.
    let all = items("ext", 100, 5);
    let batches: Vec<Vec<Value>> = (0..8).map(|k| all[k * 10..k * 10 + 30].to_vec()).collect();
    let distinct = 100;

    // Act
    let tasks: Vec<_> = batches
        .into_iter()
        .map(|batch| {
            let app = app.clone();
            tokio::spawn(async move { app.upload(&admin(), "concurrent", batch).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let response = task.await.expect("the upload task");
        response.assert_status(200);
        let upload = response.upload();
        assert_eq!(upload.rejected, 0, "{upload:?}");
        created += upload.created;
    }

    // Assert
    let stored = app.all_entries_of_source("concurrent").await;
    let mut per_external_id: HashMap<String, usize> = HashMap::new();
    for entry in &stored {
        *per_external_id
            .entry(entry.external_id.clone().unwrap_or_default())
            .or_default() += 1;
    }
    assert_eq!(
        per_external_id.len(),
        distinct,
        "external ids stored: {}",
        per_external_id.len()
    );
    assert!(
        per_external_id.values().all(|n| *n == 1),
        "duplicates: {per_external_id:?}"
    );
    assert_eq!(
        created, distinct,
        "each external id is reported created exactly once"
    );
}
api_test!(concurrent_overlapping_uploads_leave_exactly_one_row_per_external_id);

async fn batch_revives_a_deleted_entry_as_created(app: TestApp) {
    // Arrange
    let entry = item("rev-1", "w-rev", &days_ago(4), 60);
    let first = app.given_upload("revive", vec![entry.clone()]).await;
    let id = first.results[0].id.expect("an id").to_string();
    app.delete_entry(&admin(), &id, None)
        .await
        .assert_status(204);

    // Act
    let upload = app.given_upload("revive", vec![entry]).await;

    // Assert
    assert_eq!(upload.results[0].status, ItemStatus::Created, "{upload:?}");
    let stored = app.all_entries_of_source("revive").await;
    assert_eq!(stored.len(), 1);
    assert!(stored[0].deleted_at.is_none());
}
api_test!(batch_revives_a_deleted_entry_as_created);

async fn batch_of_1000_items_with_the_longest_notes_is_accepted(app: TestApp) {
    // Arrange: the largest upload the contract allows (about 2.3 MB of JSON).
    let entries: Vec<Value> = items("long", 1000, 100)
        .into_iter()
        .map(|mut entry| {
            entry["notes"] = json!("n".repeat(2000));
            entry
        })
        .collect();

    // Act
    let response = app.upload(&admin(), "long", entries).await;

    // Assert
    response.assert_status(200);
    let upload = response.upload();
    assert_eq!((upload.created, upload.rejected), (1000, 0));
}
api_test!(batch_of_1000_items_with_the_longest_notes_is_accepted);

async fn an_empty_batch_is_a_200_with_zero_counts(app: TestApp) {
    // Act
    let upload = app.given_upload("empty", vec![]).await;

    // Assert
    assert_eq!(counts(&upload), (0, 0, 0, 0));
    assert!(upload.results.is_empty());
}
api_test!(an_empty_batch_is_a_200_with_zero_counts);

async fn batch_rejects_an_item_that_is_not_an_object_alone(app: TestApp) {
    // Arrange
    let entries = vec![
        json!("ct-1"),
        item("ok-1", "w-1", &days_ago(2), 30),
        json!(null),
        json!([1]),
    ];

    // Act
    let upload = app.given_upload("shapes", entries).await;

    // Assert
    assert_eq!((upload.created, upload.rejected), (1, 3), "{upload:?}");
    for i in [0, 2, 3] {
        let problem = assert_item_rejected(&upload.results[i], ProblemType::ValidationError);
        let pointer = problem
            .errors
            .first()
            .map(|e| e.pointer.clone())
            .unwrap_or_default();
        assert!(
            pointer.starts_with(&format!("/entries/{i}")),
            "item {i}: pointer {pointer:?} in {problem:?}"
        );
    }
    assert_eq!(upload.results[1].status, ItemStatus::Created);
}
api_test!(batch_rejects_an_item_that_is_not_an_object_alone);

async fn batch_naming_one_worker_with_different_details_keeps_the_last(app: TestApp) {
    // Arrange
    let mut first = item("wd-1", "w-same", &days_ago(2), 30);
    first["worker"] = json!({"external_id": "w-same", "kind": "contractor", "name": "Old Name"});
    let mut second = item("wd-2", "w-same", &days_ago(3), 30);
    second["worker"] = json!({"external_id": "w-same", "kind": "employee", "name": "New Name", "email": "new@example.org"});

    // Act
    let response = app.upload(&admin(), "details", vec![first, second]).await;

    // Assert
    response.assert_status(200);
    let upload = response.upload();
    assert_eq!(upload.created, 2, "{upload:?}");
    let stored = app.all_entries_of_source("details").await;
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].worker.id, stored[1].worker.id, "one worker");
    assert_eq!(
        stored[0].worker.name.as_deref(),
        Some("New Name"),
        "the latest mention wins"
    );
    assert_eq!(
        stored[0].worker.kind,
        timesheet_domain::WorkerKind::Employee
    );
}
api_test!(batch_naming_one_worker_with_different_details_keeps_the_last);

async fn concurrent_uploads_never_exceed_the_day_limit(app: TestApp) {
    // Arrange: six uploads of one 500-minute item each, same worker and day.
    let date = days_ago(9);

    // Act
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let app = app.clone();
            let batch = vec![item(&format!("busy-{i}"), "w-busy", &date, 500)];
            tokio::spawn(async move { app.upload(&admin(), "busy", batch).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let response = task.await.expect("the upload task");
        response.assert_status(200);
        let upload = response.upload();
        match upload.results[0].status {
            ItemStatus::Created => created += 1,
            _ => {
                assert_item_rejected(&upload.results[0], ProblemType::DayLimitExceeded);
            }
        }
    }

    // Assert
    assert_eq!(created, 2);
    let total: u32 = app
        .all_entries_of_source("busy")
        .await
        .iter()
        .map(|e| e.minutes)
        .sum();
    assert_eq!(total, 1000);
}
api_test!(concurrent_uploads_never_exceed_the_day_limit);
