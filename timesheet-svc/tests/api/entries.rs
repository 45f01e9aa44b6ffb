//! Single entries: create, read, list with filters, delete, and who may see what.

use reqwest::Method;
use serde_json::json;
use timesheet_domain::{ProblemType, Scope, WorkerKind};

use crate::helpers::{admin, days_ago, entry_body, etag_of, machine, user, TestApp, TENANT};

async fn create_entry_returns_201_with_location_and_etag(app: TestApp) {
    // Arrange
    let date = days_ago(3);

    // Act
    let response = app
        .create_entry(&admin(), entry_body("w-1", &date, 90))
        .await;

    // Assert
    response.assert_status(201);
    let entry = response.entry();
    let location = response.header("location").unwrap_or_default();
    assert!(
        location.ends_with(&format!("/v1/timesheets/entries/{}", entry.id)),
        "location {location:?}"
    );
    assert_eq!(response.header("etag"), Some(etag_of(&entry).as_str()));
    assert_eq!(entry.id.get_version_num(), 7, "entry ids are UUID v7");
    assert_eq!(entry.worker.external_id, "w-1");
    assert_eq!(entry.worker.kind, WorkerKind::Employee);
    assert_eq!(entry.worker.name.as_deref(), Some("Bo Berg"));
    assert_eq!(entry.date.to_string(), date);
    assert_eq!(
        (entry.minutes, entry.project.as_str(), entry.billable),
        (90, "STOREZERO", false)
    );
    assert_eq!(entry.source, "api");
    assert!(entry.deleted_at.is_none());
}
api_test!(create_entry_returns_201_with_location_and_etag);

async fn a_created_entry_can_be_read_back_with_its_etag(app: TestApp) {
    // Arrange
    let created = app.given_entry("w-1", &days_ago(3), 90).await;

    // Act
    let response = app
        .get_entry(
            &machine(TENANT, &[Scope::ReadTimesheets]),
            &created.id.to_string(),
        )
        .await;

    // Assert
    response.assert_status(200);
    assert_eq!(response.header("etag"), Some(etag_of(&created).as_str()));
    assert_eq!(response.entry(), created);
}
api_test!(a_created_entry_can_be_read_back_with_its_etag);

async fn create_entry_accepts_hours_instead_of_minutes(app: TestApp) {
    // Arrange
    let body = json!({"worker": {"external_id": "w-h", "kind": "contractor"},
                      "date": days_ago(2), "project": "P-1", "hours": "1.25"});

    // Act
    let response = app.create_entry(&admin(), body).await;

    // Assert
    response.assert_status(201);
    assert_eq!(response.entry().minutes, 75);
}
api_test!(create_entry_accepts_hours_instead_of_minutes);

async fn an_unknown_entry_id_is_404(app: TestApp) {
    // Act
    let response = app
        .get_entry(&admin(), &uuid::Uuid::now_v7().to_string())
        .await;

    // Assert
    response.assert_problem(ProblemType::NotFound);
}
api_test!(an_unknown_entry_id_is_404);

async fn a_malformed_entry_id_is_404_or_422_never_500(app: TestApp) {
    for id in [
        "not-a-uuid",
        "1",
        "%20",
        "00000000-0000-0000-0000-00000000000g",
    ] {
        // Act
        let get = app.get_entry(&admin(), id).await;
        let patch = app
            .patch_entry(&admin(), id, Some("\"x.1\""), json!({"minutes": 5}))
            .await;
        let delete = app.delete_entry(&admin(), id, None).await;

        // Assert
        for response in [get, patch, delete] {
            assert!(
                response.status == 404 || response.status == 422,
                "{} {} → {} {}",
                response.method,
                response.path,
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
}
api_test!(a_malformed_entry_id_is_404_or_422_never_500);

async fn a_machine_must_name_the_worker(app: TestApp) {
    // Arrange
    let mut body = entry_body("w-1", &days_ago(3), 60);
    body.as_object_mut().expect("an object").remove("worker");

    // Act
    let response = app.create_entry(&admin(), body).await;

    // Assert
    response.assert_invalid_field("/worker");
}
api_test!(a_machine_must_name_the_worker);

async fn create_entry_over_the_day_limit_is_422_day_limit_exceeded(app: TestApp) {
    // Arrange
    let date = days_ago(4);
    app.given_entry("w-day", &date, 1000).await;

    // Act
    let response = app
        .create_entry(&admin(), entry_body("w-day", &date, 441))
        .await;

    // Assert
    response.assert_problem(ProblemType::DayLimitExceeded);
    let rest = app
        .create_entry(&admin(), entry_body("w-day", &date, 440))
        .await;
    rest.assert_status(201);
    let other_day = app
        .create_entry(&admin(), entry_body("w-day", &days_ago(5), 1440))
        .await;
    other_day.assert_status(201);
}
api_test!(create_entry_over_the_day_limit_is_422_day_limit_exceeded);

async fn a_person_logs_time_for_themselves(app: TestApp) {
    // Arrange
    let alice = user(
        TENANT,
        "auth0|alice",
        &[Scope::CreateTimesheets, Scope::ReadTimesheets],
    );
    let body = json!({"date": days_ago(2), "project": "STOREZERO", "minutes": 120});

    // Act
    let response = app.create_entry(&alice, body).await;

    // Assert
    response.assert_status(201);
    let entry = response.entry();
    assert_eq!(entry.worker.external_id, "auth0|alice");
    assert_eq!(entry.created_by, "auth0|alice");
    app.get_entry(&alice, &entry.id.to_string())
        .await
        .assert_status(200);
}
api_test!(a_person_logs_time_for_themselves);

async fn a_person_naming_another_worker_without_approve_gets_403(app: TestApp) {
    // Arrange
    let alice = user(
        TENANT,
        "auth0|alice",
        &[Scope::CreateTimesheets, Scope::ReadTimesheets],
    );

    // Act
    let response = app
        .create_entry(&alice, entry_body("auth0|bob", &days_ago(2), 60))
        .await;

    // Assert
    response.assert_problem(ProblemType::Forbidden);
    assert!(app.all_entries("worker=auth0%7Cbob").await.is_empty());
}
api_test!(a_person_naming_another_worker_without_approve_gets_403);

async fn a_person_with_approve_may_log_for_another_worker(app: TestApp) {
    // Arrange
    let lead = user(
        TENANT,
        "auth0|lead",
        &[Scope::CreateTimesheets, Scope::ApproveTimesheets],
    );

    // Act
    let response = app
        .create_entry(&lead, entry_body("auth0|bob", &days_ago(2), 60))
        .await;

    // Assert
    response.assert_status(201);
    assert_eq!(response.entry().worker.external_id, "auth0|bob");
}
api_test!(a_person_with_approve_may_log_for_another_worker);

async fn a_person_sees_only_their_own_entries(app: TestApp) {
    // Arrange
    let alice = user(
        TENANT,
        "auth0|alice",
        &[Scope::CreateTimesheets, Scope::ReadTimesheets],
    );
    let bob = user(
        TENANT,
        "auth0|bob",
        &[Scope::CreateTimesheets, Scope::ReadTimesheets],
    );
    let body = json!({"date": days_ago(2), "project": "STOREZERO", "minutes": 60});
    let alices = app.create_entry(&alice, body.clone()).await.entry();
    let bobs = app.create_entry(&bob, body).await.entry();

    // Act
    let list = app.list_entries(&alice, "").await;
    let other = app.get_entry(&alice, &bobs.id.to_string()).await;
    let filtered = app.list_entries(&alice, "worker=auth0%7Cbob").await;

    // Assert
    list.assert_status(200);
    let ids: Vec<_> = list.page().data.into_iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![alices.id]);
    other.assert_problem(ProblemType::NotFound);
    assert!(
        filtered.status == 403 || (filtered.status == 200 && filtered.page().data.is_empty()),
        "filtering on another worker must not reveal entries: {} {}",
        filtered.status,
        filtered.body
    );
    let everyone = app.all_entries("").await;
    assert_eq!(everyone.len(), 2, "a machine sees the whole tenant");
}
api_test!(a_person_sees_only_their_own_entries);

async fn list_filters_by_worker_project_dates_source_and_external_id(app: TestApp) {
    // Arrange
    let a = app.given_entry("w-a", &days_ago(10), 60).await;
    let b = app.given_entry("w-b", &days_ago(5), 60).await;
    let mut other_project = entry_body("w-a", &days_ago(3), 60);
    other_project["project"] = json!("OTHER");
    let c = app.create_entry(&admin(), other_project).await.entry();
    let mut upload_item = crate::helpers::item("ext-9", "w-b", &days_ago(1), 30);
    upload_item["project"] = json!("OTHER");
    let d_id = app.given_upload("tracker", vec![upload_item]).await.results[0]
        .id
        .expect("an id");
    let ids = |list: Vec<timesheet_domain::api::EntryResponse>| {
        let mut ids: Vec<_> = list.into_iter().map(|e| e.id).collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<uuid::Uuid>| {
        v.sort();
        v
    };

    // Act
    let by_worker = app.all_entries("worker=w-a").await;
    let by_project = app.all_entries("project=OTHER").await;
    let by_range = app
        .all_entries(&format!("from={}&to={}", days_ago(6), days_ago(2)))
        .await;
    let by_source = app.all_entries("source=api").await;
    let by_external_id = app.all_entries("source=tracker&external_id=ext-9").await;
    let by_status = app.all_entries("status=open").await;

    // Assert
    assert_eq!(ids(by_worker), sorted(vec![a.id, c.id]));
    assert_eq!(ids(by_project), sorted(vec![c.id, d_id]));
    assert_eq!(ids(by_range), sorted(vec![b.id, c.id]));
    assert_eq!(ids(by_source), sorted(vec![a.id, b.id, c.id]));
    assert_eq!(ids(by_external_id), vec![d_id]);
    assert_eq!(ids(by_status).len(), 4);
}
api_test!(list_filters_by_worker_project_dates_source_and_external_id);

async fn a_deleted_entry_is_gone_from_get_and_list(app: TestApp) {
    // Arrange
    let entry = app.given_entry("w-del", &days_ago(3), 60).await;
    let id = entry.id.to_string();

    // Act
    let response = app
        .delete_entry(&machine(TENANT, &[Scope::DeleteTimesheets]), &id, None)
        .await;

    // Assert
    response.assert_status(204);
    assert!(response.body.is_empty(), "204 has no body");
    app.get_entry(&admin(), &id)
        .await
        .assert_problem(ProblemType::NotFound);
    assert!(app.all_entries("worker=w-del").await.is_empty());
    app.delete_entry(&admin(), &id, None)
        .await
        .assert_problem(ProblemType::NotFound);
    app.patch_entry(&admin(), &id, Some(&etag_of(&entry)), json!({"minutes": 5}))
        .await
        .assert_problem(ProblemType::NotFound);
}
api_test!(a_deleted_entry_is_gone_from_get_and_list);

async fn deleting_an_entry_frees_its_minutes_for_the_day(app: TestApp) {
    // Arrange
    let date = days_ago(8);
    let full = app.given_entry("w-free", &date, 1440).await;
    app.delete_entry(&admin(), &full.id.to_string(), None)
        .await
        .assert_status(204);

    // Act
    let response = app
        .create_entry(&admin(), entry_body("w-free", &date, 1440))
        .await;

    // Assert
    response.assert_status(201);
}
api_test!(deleting_an_entry_frees_its_minutes_for_the_day);

async fn unknown_methods_on_known_paths_are_not_served(app: TestApp) {
    // Act
    let response = app
        .request(
            Method::PUT,
            "/v1/timesheets/entries",
            &admin(),
            Some(json!({})),
        )
        .await;

    // Assert
    assert_eq!(response.status, 405, "{}", response.body);
}
api_test!(unknown_methods_on_known_paths_are_not_served);

async fn a_refused_create_changes_no_stored_data(app: TestApp) {
    // Arrange
    let date = days_ago(4);
    let entry = app.given_entry("w-side", &date, 1440).await;
    let mut body = entry_body("w-side", &date, 10);
    body["worker"] = json!({"external_id": "w-side", "kind": "contractor", "name": "Someone Else"});

    // Act
    let response = app.create_entry(&admin(), body).await;

    // Assert
    response.assert_problem(ProblemType::DayLimitExceeded);
    let stored = app.get_entry(&admin(), &entry.id.to_string()).await.entry();
    assert_eq!(
        stored.worker, entry.worker,
        "a refused request renamed the worker"
    );
}
api_test!(a_refused_create_changes_no_stored_data);

async fn a_person_cannot_change_another_workers_entry(app: TestApp) {
    // Arrange
    let bobs = app.given_entry("auth0|bob", &days_ago(3), 60).await;
    let id = bobs.id.to_string();
    let alice = user(
        TENANT,
        "auth0|alice",
        &Scope::ALL
            .into_iter()
            .filter(|s| *s != Scope::ApproveTimesheets)
            .collect::<Vec<_>>(),
    );

    // Act
    let patch = app
        .patch_entry(&alice, &id, Some(&etag_of(&bobs)), json!({"minutes": 1}))
        .await;
    let delete = app.delete_entry(&alice, &id, None).await;

    // Assert
    patch.assert_problem(ProblemType::NotFound);
    delete.assert_problem(ProblemType::NotFound);
    assert_eq!(app.get_entry(&admin(), &id).await.entry(), bobs);
}
api_test!(a_person_cannot_change_another_workers_entry);

async fn concurrent_creates_never_exceed_the_day_limit(app: TestApp) {
    // Arrange
    let date = days_ago(6);

    // Act
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let app = app.clone();
            let body = entry_body("w-busy", &date, 500);
            tokio::spawn(async move { app.create_entry(&admin(), body).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let response = task.await.expect("the request task");
        if response.status == 201 {
            created += 1;
        } else {
            response.assert_problem(ProblemType::DayLimitExceeded);
        }
    }

    // Assert
    assert_eq!(
        created, 2,
        "two 500-minute entries fit in a day, a third does not"
    );
    let total: u32 = app
        .all_entries("worker=w-busy")
        .await
        .iter()
        .map(|e| e.minutes)
        .sum();
    assert_eq!(total, 1000);
}
api_test!(concurrent_creates_never_exceed_the_day_limit);

async fn a_person_syncing_with_updated_since_sees_only_their_own_changes(app: TestApp) {
    // Arrange
    let scopes = [
        Scope::CreateTimesheets,
        Scope::ReadTimesheets,
        Scope::DeleteTimesheets,
    ];
    let alice = user(TENANT, "auth0|alice", &scopes);
    let bob = user(TENANT, "auth0|bob", &scopes);
    let body = json!({"date": days_ago(2), "project": "STOREZERO", "minutes": 60});
    let alices = app.create_entry(&alice, body.clone()).await.entry();
    let bobs = app.create_entry(&bob, body.clone()).await.entry();
    let bobs_deleted = app.create_entry(&bob, body).await.entry();
    app.delete_entry(&bob, &bobs_deleted.id.to_string(), None)
        .await
        .assert_status(204);

    // Act
    let synced = app
        .list_entries(&alice, "updated_since=2000-01-01T00%3A00%3A00Z")
        .await;
    let compat = app.request(Method::GET, "/timesheets", &alice, None).await;

    // Assert
    synced.assert_status(200);
    let ids: Vec<_> = synced.page().data.into_iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        vec![alices.id],
        "bob's entry {} or tombstone leaked",
        bobs.id
    );
    compat.assert_status(200);
    let compat: Vec<timesheet_domain::api::EntryResponse> =
        serde_json::from_str(&compat.body).expect("an array of entries");
    assert_eq!(
        compat.into_iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![alices.id]
    );
}
api_test!(a_person_syncing_with_updated_since_sees_only_their_own_changes);
