//! The week workflow: submit, approve or reject, and the lock on approved weeks.

use reqwest::Method;
use serde_json::json;
use timesheet_domain::api::{ApprovalsResponse, ItemStatus};
use timesheet_domain::{ProblemType, WeekStatus};

use crate::helpers::{
    admin, assert_item_rejected, days_ago, entry_body, etag_of, fmt_date, iso_week, item,
    monday_weeks_ago, TestApp,
};

/// An upload item for `worker` with the same worker details as [`entry_body`] gives, so that
/// uploads do not rename the worker.
fn employee_item(external_id: &str, worker: &str, date: &str, minutes: u32) -> serde_json::Value {
    let mut entry = item(external_id, worker, date, minutes);
    entry["worker"] = json!({"external_id": worker, "kind": "employee", "name": "Bo Berg"});
    entry
}

/// The Monday three weeks ago and the Wednesday of that week.
fn the_week() -> (String, String, String) {
    let monday = monday_weeks_ago(3);
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let wednesday = time::Date::parse(&monday, format).expect("a date") + time::Duration::days(2);
    let week = iso_week(&monday);
    (monday, fmt_date(wednesday), week)
}

async fn submitting_a_week_marks_it_and_its_entries_submitted(app: TestApp) {
    // Arrange
    let (monday, wednesday, week) = the_week();
    let a = app.given_entry("w-wk", &monday, 60).await;
    app.given_entry("w-wk", &wednesday, 90).await;

    // Act
    let response = app
        .week_action(&admin(), "w-wk", &week, "submit", None)
        .await;

    // Assert
    response.assert_status(200);
    let submitted = response.week();
    assert_eq!(submitted.status, WeekStatus::Submitted);
    assert_eq!(
        (submitted.worker.as_str(), submitted.week.as_str()),
        ("w-wk", week.as_str())
    );
    assert_eq!((submitted.entries, submitted.minutes), (2, 150));
    assert!(submitted.submitted_at.is_some());
    assert_eq!(submitted.worker_id, a.worker.id);
    let entry = app.get_entry(&admin(), &a.id.to_string()).await.entry();
    assert_eq!(entry.status, WeekStatus::Submitted);
}
api_test!(submitting_a_week_marks_it_and_its_entries_submitted);

async fn approvals_lists_submitted_weeks_only(app: TestApp) {
    // Arrange
    let (monday, _, week) = the_week();
    app.given_entry("w-sub", &monday, 60).await;
    app.given_entry("w-open", &monday, 60).await;
    app.week_action(&admin(), "w-sub", &week, "submit", None)
        .await
        .assert_status(200);

    // Act
    let response = app.approvals(&admin()).await;

    // Assert
    response.assert_status(200);
    let approvals: ApprovalsResponse =
        serde_json::from_str(&response.body).expect("an approvals response");
    let weeks: Vec<_> = approvals
        .data
        .iter()
        .map(|w| (w.worker.as_str(), w.week.as_str(), w.status))
        .collect();
    assert_eq!(weeks, vec![("w-sub", week.as_str(), WeekStatus::Submitted)]);
}
api_test!(approvals_lists_submitted_weeks_only);

async fn approving_a_submitted_week_approves_its_entries(app: TestApp) {
    // Arrange
    let (monday, _, week) = the_week();
    let entry = app.given_entry("w-ok", &monday, 60).await;
    app.week_action(&admin(), "w-ok", &week, "submit", None)
        .await
        .assert_status(200);

    // Act
    let response = app
        .week_action(&admin(), "w-ok", &week, "approve", None)
        .await;

    // Assert
    response.assert_status(200);
    let approved = response.week();
    assert_eq!(approved.status, WeekStatus::Approved);
    assert!(approved.decided_at.is_some());
    assert_eq!(
        approved.decided_by.as_deref(),
        Some(admin().subject.as_str())
    );
    let stored = app.get_entry(&admin(), &entry.id.to_string()).await.entry();
    assert_eq!(stored.status, WeekStatus::Approved);
    let queue: ApprovalsResponse =
        serde_json::from_str(&app.approvals(&admin()).await.body).expect("approvals");
    assert!(queue.data.is_empty(), "an approved week left the queue");
}
api_test!(approving_a_submitted_week_approves_its_entries);

async fn approving_a_week_that_is_not_submitted_is_409_invalid_transition(app: TestApp) {
    // Arrange
    let (monday, _, week) = the_week();
    app.given_entry("w-open", &monday, 60).await;

    // Act
    let open = app
        .week_action(&admin(), "w-open", &week, "approve", None)
        .await;
    let reject_open = app
        .week_action(&admin(), "w-open", &week, "reject", None)
        .await;

    // Assert
    open.assert_problem(ProblemType::InvalidTransition);
    reject_open.assert_problem(ProblemType::InvalidTransition);
    app.week_action(&admin(), "w-open", &week, "submit", None)
        .await
        .assert_status(200);
    app.week_action(&admin(), "w-open", &week, "submit", None)
        .await
        .assert_problem(ProblemType::InvalidTransition);
    app.week_action(&admin(), "w-open", &week, "approve", None)
        .await
        .assert_status(200);
    app.week_action(&admin(), "w-open", &week, "approve", None)
        .await
        .assert_problem(ProblemType::InvalidTransition);
}
api_test!(approving_a_week_that_is_not_submitted_is_409_invalid_transition);

async fn rejecting_a_week_records_the_reason_and_allows_resubmission(app: TestApp) {
    // Arrange
    let (monday, _, week) = the_week();
    let entry = app.given_entry("w-rej", &monday, 60).await;
    app.week_action(&admin(), "w-rej", &week, "submit", None)
        .await
        .assert_status(200);

    // Act
    let response = app
        .week_action(
            &admin(),
            "w-rej",
            &week,
            "reject",
            Some(json!({"reason": "missing notes"})),
        )
        .await;

    // Assert
    response.assert_status(200);
    let rejected = response.week();
    assert_eq!(rejected.status, WeekStatus::Rejected);
    assert_eq!(rejected.reason.as_deref(), Some("missing notes"));
    let stored = app.get_entry(&admin(), &entry.id.to_string()).await.entry();
    assert_eq!(stored.status, WeekStatus::Rejected);
    let fix = app
        .patch_entry(
            &admin(),
            &entry.id.to_string(),
            Some(&etag_of(&stored)),
            json!({"notes": "fixed"}),
        )
        .await;
    fix.assert_status(200);
    app.week_action(&admin(), "w-rej", &week, "submit", None)
        .await
        .assert_status(200);
}
api_test!(rejecting_a_week_records_the_reason_and_allows_resubmission);

async fn a_reject_without_a_body_is_accepted(app: TestApp) {
    // Arrange
    let (monday, _, week) = the_week();
    app.given_entry("w-rej2", &monday, 60).await;
    app.week_action(&admin(), "w-rej2", &week, "submit", None)
        .await
        .assert_status(200);

    // Act
    let response = app
        .week_action(&admin(), "w-rej2", &week, "reject", None)
        .await;

    // Assert
    response.assert_status(200);
    assert_eq!(response.week().status, WeekStatus::Rejected);
}
api_test!(a_reject_without_a_body_is_accepted);

async fn every_change_to_an_approved_week_is_409_week_locked(app: TestApp) {
    // Arrange
    let (monday, wednesday, week) = the_week();
    let entry = app.given_entry("w-lock", &monday, 60).await;
    let upload = app
        .given_upload(
            "locked",
            vec![employee_item("l-1", "w-lock", &wednesday, 30)],
        )
        .await;
    assert_eq!(upload.created, 1);
    let elsewhere = app.given_entry("w-lock", &days_ago(1), 60).await;
    app.week_action(&admin(), "w-lock", &week, "submit", None)
        .await
        .assert_status(200);
    app.week_action(&admin(), "w-lock", &week, "approve", None)
        .await
        .assert_status(200);
    let approved = app.get_entry(&admin(), &entry.id.to_string()).await.entry();
    let id = approved.id.to_string();
    let etag = etag_of(&approved);

    // Act
    let patch = app
        .patch_entry(&admin(), &id, Some(&etag), json!({"minutes": 61}))
        .await;
    let delete = app.delete_entry(&admin(), &id, Some(&etag)).await;
    let create = app
        .create_entry(&admin(), entry_body("w-lock", &wednesday, 15))
        .await;
    let move_in = app
        .patch_entry(
            &admin(),
            &elsewhere.id.to_string(),
            Some(&etag_of(&elsewhere)),
            json!({"date": wednesday}),
        )
        .await;
    let reupload = app
        .given_upload(
            "locked",
            vec![
                employee_item("l-1", "w-lock", &wednesday, 45),
                employee_item("l-2", "w-lock", &monday, 15),
            ],
        )
        .await;

    // Assert
    patch.assert_problem(ProblemType::WeekLocked);
    delete.assert_problem(ProblemType::WeekLocked);
    create.assert_problem(ProblemType::WeekLocked);
    move_in.assert_problem(ProblemType::WeekLocked);
    assert_eq!(reupload.rejected, 2, "{reupload:?}");
    assert_item_rejected(&reupload.results[0], ProblemType::WeekLocked);
    assert_item_rejected(&reupload.results[1], ProblemType::WeekLocked);
    assert_eq!(
        app.get_entry(&admin(), &id).await.entry(),
        approved,
        "the approved entry is unchanged"
    );
    let stored = app.all_entries_of_source("locked").await;
    assert_eq!(
        stored.iter().map(|e| e.minutes).collect::<Vec<_>>(),
        vec![30]
    );
}
api_test!(every_change_to_an_approved_week_is_409_week_locked);

async fn an_approved_week_does_not_lock_other_weeks_or_other_workers(app: TestApp) {
    // Arrange
    let (monday, wednesday, week) = the_week();
    app.given_entry("w-a", &monday, 60).await;
    let other_worker = app.given_entry("w-b", &monday, 60).await;
    app.week_action(&admin(), "w-a", &week, "submit", None)
        .await
        .assert_status(200);
    app.week_action(&admin(), "w-a", &week, "approve", None)
        .await
        .assert_status(200);

    // Act
    let next_week = app
        .create_entry(&admin(), entry_body("w-a", &days_ago(1), 60))
        .await;
    let same_week_other_worker = app
        .create_entry(&admin(), entry_body("w-b", &wednesday, 60))
        .await;
    let patch_other_worker = app
        .patch_entry(
            &admin(),
            &other_worker.id.to_string(),
            Some(&etag_of(&other_worker)),
            json!({"minutes": 5}),
        )
        .await;

    // Assert
    next_week.assert_status(201);
    same_week_other_worker.assert_status(201);
    patch_other_worker.assert_status(200);
}
api_test!(an_approved_week_does_not_lock_other_weeks_or_other_workers);

async fn an_unchanged_reupload_into_an_approved_week_reports_unchanged(app: TestApp) {
    // Arrange
    let (monday, _, week) = the_week();
    let entries = vec![item("u-1", "w-u", &monday, 30)];
    app.given_upload("unchanged-locked", entries.clone()).await;
    app.week_action(&admin(), "w-u", &week, "submit", None)
        .await
        .assert_status(200);
    app.week_action(&admin(), "w-u", &week, "approve", None)
        .await
        .assert_status(200);

    // Act
    let upload = app.given_upload("unchanged-locked", entries).await;

    // Assert
    assert_eq!(
        upload.results[0].status,
        ItemStatus::Unchanged,
        "{upload:?}"
    );
}
api_test!(an_unchanged_reupload_into_an_approved_week_reports_unchanged);

async fn a_malformed_iso_week_is_refused_without_a_500(app: TestApp) {
    for week in ["2026-W60", "2026W48", "last-week"] {
        // Act
        let response = app
            .request(
                Method::POST,
                &format!("/v1/timesheets/weeks/w-x/{week}/submit"),
                &admin(),
                None,
            )
            .await;

        // Assert
        assert!(
            response.status == 404 || response.status == 422,
            "{week}: {} {}",
            response.status,
            response.body
        );
        let kind = if response.status == 404 {
            ProblemType::NotFound
        } else {
            ProblemType::ValidationError
        };
        response.assert_problem(kind);
    }
}
api_test!(a_malformed_iso_week_is_refused_without_a_500);

async fn weeks_of_a_worker_whose_id_needs_percent_encoding_can_be_submitted(app: TestApp) {
    // Arrange
    let (monday, _, week) = the_week();
    let worker = "harvest:77 ü/x|y";
    let entry = app.given_entry(worker, &monday, 60).await;

    // Act
    let response = app
        .week_action(&admin(), worker, &week, "submit", None)
        .await;

    // Assert
    response.assert_status(200);
    assert_eq!(response.week().worker, worker);
    let stored = app.get_entry(&admin(), &entry.id.to_string()).await.entry();
    assert_eq!(stored.status, WeekStatus::Submitted);
    let listed = app
        .all_entries(&format!("worker={}", crate::helpers::encode(worker)))
        .await;
    assert_eq!(listed.len(), 1);
}
api_test!(weeks_of_a_worker_whose_id_needs_percent_encoding_can_be_submitted);

async fn a_week_approved_while_its_entries_are_patched_stays_consistent(app: TestApp) {
    // Arrange: five entries in a submitted week.
    let (monday, _, week) = the_week();
    let mut entries = Vec::new();
    for _ in 0..5 {
        entries.push(app.given_entry("w-race", &monday, 60).await);
    }
    app.week_action(&admin(), "w-race", &week, "submit", None)
        .await
        .assert_status(200);
    let mut submitted = Vec::new();
    for entry in &entries {
        submitted.push(app.get_entry(&admin(), &entry.id.to_string()).await.entry());
    }

    // Act: patch every entry while the week is approved.
    let approve = {
        let (app, week) = (app.clone(), week.clone());
        tokio::spawn(async move {
            app.week_action(&admin(), "w-race", &week, "approve", None)
                .await
        })
    };
    let patches: Vec<_> = submitted
        .iter()
        .map(|entry| {
            let (app, id, etag) = (app.clone(), entry.id.to_string(), etag_of(entry));
            tokio::spawn(async move {
                app.patch_entry(&admin(), &id, Some(&etag), json!({"minutes": 90}))
                    .await
            })
        })
        .collect();
    let approved = approve.await.expect("the approve task");
    for patch in patches {
        let response = patch.await.expect("the patch task");
        match response.status {
            200 => assert_ne!(
                response.entry().status,
                WeekStatus::Approved,
                "a patch changed an approved entry"
            ),
            409 => {
                response.assert_problem(ProblemType::WeekLocked);
            }
            _ => {
                response.assert_problem(ProblemType::PreconditionFailed);
            }
        }
    }

    // Assert
    approved.assert_status(200);
    let approved = approved.week();
    let stored = app.all_entries("worker=w-race").await;
    assert!(stored.iter().all(|e| e.status == WeekStatus::Approved));
    let total: u32 = stored.iter().map(|e| e.minutes).sum();
    assert_eq!(
        total, approved.minutes,
        "what was approved is what is stored"
    );
}
api_test!(a_week_approved_while_its_entries_are_patched_stays_consistent);
