//! One test per endpoint: the request the client sends (path, headers, body) and how it reads
//! the answer, against a stand-in gateway that answers in the API's documented shapes.

use serde_json::{json, Value};
use timesheet_client::{ApiClient, ClientError, Deleted, ETag, IdempotencyKey, ListQuery};
use timesheet_domain::api::{EntryInput, PatchEntryRequest, UploadBatch};
use timesheet_domain::{ExternalId, IsoWeek, SourceName, WorkDate};
use uuid::Uuid;
use wiremock::matchers::{body_json, header as header_is, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

struct Harness {
    api: MockServer,
    idp: MockServer,
    client: ApiClient,
}

async fn harness() -> Harness {
    let idp = spawn_idp(DAY).await;
    let api = MockServer::start().await;
    let client = ApiClient::new(&config(&api.uri(), &idp)).unwrap();
    Harness { api, idp, client }
}

fn entry_json(id: Uuid, version: i64) -> Value {
    json!({
        "id": id,
        "worker": {"id": Uuid::nil(), "external_id": "c-77", "kind": "contractor", "name": "Ana Silva"},
        "date": "2026-11-23", "project": "STOREZERO", "minutes": 450, "notes": "integration work",
        "billable": true, "source": "contractor-tracker", "external_id": "ct-1842",
        "status": "open", "version": version,
        "created_at": "2026-11-23T18:00:00Z", "created_by": "importer@clients",
        "updated_at": "2026-11-23T18:00:00Z", "updated_by": "importer@clients"
    })
}

fn week_json(status: &str) -> Value {
    json!({"worker": "c/77", "worker_id": Uuid::nil(), "week": "2026-W48", "status": status,
           "entries": 5, "minutes": 2250})
}

fn entry_input(external_id: &str) -> EntryInput {
    serde_json::from_value(json!({
        "external_id": external_id,
        "worker": {"external_id": "c-77", "kind": "contractor", "name": "Ana Silva", "email": "ana@example.org"},
        "date": "2026-11-23", "project": "STOREZERO", "minutes": 450,
        "notes": "integration work", "billable": true
    }))
    .unwrap()
}

#[tokio::test]
async fn upload_posts_the_batch_with_bearer_token_and_user_agent() {
    let h = harness().await;
    let batch = UploadBatch {
        source: SourceName::parse("contractor-tracker").unwrap(),
        entries: vec![entry_input("ct-1842")],
    };
    let id = Uuid::now_v7();
    Mock::given(method("POST"))
        .and(path("/v1/timesheets/upload"))
        .and(body_json(&batch))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "created": 1, "updated": 0, "unchanged": 0, "rejected": 0,
            "results": [{"index": 0, "external_id": "ct-1842", "status": "created", "id": id, "version": 1}]
        })))
        .expect(1)
        .mount(&h.api)
        .await;

    let answer = h.client.upload(&batch).await.unwrap();

    assert_eq!(answer.created, 1);
    assert_eq!(answer.results[0].id, Some(id));
    let request = &received(&h.api, "/v1/timesheets/upload").await[0];
    assert_eq!(header(request, "authorization"), Some("Bearer token-1"));
    assert_eq!(
        header(request, "user-agent"),
        Some(timesheet_client::USER_AGENT)
    );
    assert_eq!(header(request, "content-type"), Some("application/json"));
    assert!(timesheet_client::USER_AGENT.starts_with("timesheet-client/"));
}

#[tokio::test]
async fn an_upload_of_more_than_1000_entries_is_refused_before_any_request() {
    let h = harness().await;
    let batch = UploadBatch {
        source: SourceName::parse("contractor-tracker").unwrap(),
        entries: (0..1001).map(|i| entry_input(&format!("ct-{i}"))).collect(),
    };

    let err = h.client.upload(&batch).await.unwrap_err();

    assert!(
        matches!(
            err,
            ClientError::TooLarge {
                count: 1001,
                max: 1000
            }
        ),
        "{err:?}"
    );
    assert!(h.api.received_requests().await.unwrap().is_empty());
    assert!(h.idp.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn create_entry_sends_the_idempotency_key_and_reads_the_created_entry() {
    let h = harness().await;
    let id = Uuid::now_v7();
    let key = IdempotencyKey::parse("create-ct-1842").unwrap();
    Mock::given(method("POST"))
        .and(path("/v1/timesheets/entries"))
        .and(header_is("idempotency-key", "create-ct-1842"))
        .respond_with(ResponseTemplate::new(201).set_body_json(entry_json(id, 1)))
        .expect(1)
        .mount(&h.api)
        .await;

    let entry = h
        .client
        .create_entry(&entry_input("ct-1842"), &key)
        .await
        .unwrap();

    assert_eq!((entry.id, entry.version, entry.minutes), (id, 1, 450));
}

#[tokio::test]
async fn list_sends_the_filters_and_list_all_follows_the_next_links() {
    let h = harness().await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    Mock::given(method("GET"))
        .and(path("/v1/timesheets/entries"))
        .and(query_param("source", "contractor-tracker"))
        .and(query_param("from", "2026-11-23"))
        .and(query_param("limit", "1"))
        .and(wiremock::matchers::query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [entry_json(a, 1)],
            "next": "/v1/timesheets/entries?source=contractor-tracker&from=2026-11-23&limit=1&cursor=c2"
        })))
        .mount(&h.api)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/timesheets/entries"))
        .and(query_param("cursor", "c2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [entry_json(b, 3)], "next": null})),
        )
        .mount(&h.api)
        .await;
    let query = ListQuery {
        source: Some(SourceName::parse("contractor-tracker").unwrap()),
        from: Some(WorkDate::parse("2026-11-23").unwrap()),
        limit: Some(1),
        ..ListQuery::default()
    };

    let all = h.client.list_all(&query).await.unwrap();

    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), [a, b]);
    let last = h.client.list_entries(&query).await.unwrap();
    let second = h.client.next_page(&last).await.unwrap().unwrap();
    assert_eq!(h.client.next_page(&second).await.unwrap(), None);
    assert_eq!(received(&h.idp, TOKEN_PATH).await.len(), 1);
}

#[tokio::test]
async fn a_next_link_to_another_origin_is_refused_and_no_token_leaves() {
    let h = harness().await;
    let elsewhere = MockServer::start().await;
    let page = timesheet_domain::api::EntryPage {
        data: Vec::new(),
        next: Some(format!(
            "{}/v1/timesheets/entries?cursor=x",
            elsewhere.uri()
        )),
    };

    let err = h.client.next_page(&page).await.unwrap_err();

    assert!(matches!(err, ClientError::Decode { .. }), "{err:?}");
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn get_returns_the_etag_and_patch_sends_it_as_if_match() {
    let h = harness().await;
    let id = Uuid::now_v7();
    let entry_path = format!("/v1/timesheets/entries/{id}");
    Mock::given(method("GET"))
        .and(path(entry_path.as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", format!("\"{id}.1\"").as_str())
                .set_body_json(entry_json(id, 1)),
        )
        .mount(&h.api)
        .await;
    Mock::given(method("PATCH"))
        .and(path(entry_path.as_str()))
        .and(header_is("if-match", format!("\"{id}.1\"").as_str()))
        .and(body_json(json!({"date": null, "project": null, "minutes": 480, "hours": null, "notes": null, "billable": null})))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", format!("\"{id}.2\"").as_str())
                .set_body_json(entry_json(id, 2)),
        )
        .expect(1)
        .mount(&h.api)
        .await;

    let (entry, etag) = h.client.get_entry(id).await.unwrap();
    assert_eq!(
        (entry.id, etag.as_str()),
        (id, format!("\"{id}.1\"").as_str())
    );
    let patch: PatchEntryRequest = serde_json::from_value(json!({"minutes": 480})).unwrap();
    let (patched, new_etag) = h.client.patch_entry(id, &etag, &patch).await.unwrap();

    assert_eq!(patched.version, 2);
    assert_eq!(new_etag, ETag::new(format!("\"{id}.2\"")));
}

#[tokio::test]
async fn a_stale_etag_is_a_412_carrying_the_problem() {
    let h = harness().await;
    let id = Uuid::now_v7();
    Mock::given(method("PATCH"))
        .and(path(format!("/v1/timesheets/entries/{id}").as_str()))
        .respond_with(
            ResponseTemplate::new(412).set_body_raw(
                json!({"type": "https://api.exampleco.com/problems/precondition-failed",
                       "title": "The entry has changed since it was read", "status": 412,
                       "detail": format!("the entry's current ETag is \"{id}.3\"")})
                .to_string(),
                "application/problem+json",
            ),
        )
        .expect(1)
        .mount(&h.api)
        .await;
    let patch: PatchEntryRequest = serde_json::from_value(json!({"billable": false})).unwrap();

    let err = h
        .client
        .patch_entry(id, &ETag::new(format!("\"{id}.1\"")), &patch)
        .await
        .unwrap_err();

    assert_eq!(err.status(), Some(412));
    let problem = err.problem().unwrap();
    assert!(problem.is(timesheet_domain::ProblemType::PreconditionFailed));
    assert!(problem.detail.as_deref().unwrap().contains(".3"));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn delete_is_now_on_204_and_already_gone_on_404() {
    let h = harness().await;
    let (live, gone) = (Uuid::now_v7(), Uuid::now_v7());
    Mock::given(method("DELETE"))
        .and(path(format!("/v1/timesheets/entries/{live}").as_str()))
        .respond_with(ResponseTemplate::new(204))
        .mount(&h.api)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v1/timesheets/entries/{gone}").as_str()))
        .respond_with(ResponseTemplate::new(404).set_body_raw(
            r#"{"type":"https://api.exampleco.com/problems/not-found","title":"Not found","status":404}"#,
            "application/problem+json",
        ))
        .mount(&h.api)
        .await;

    assert_eq!(h.client.delete_entry(live).await.unwrap(), Deleted::Now);
    assert_eq!(
        h.client.delete_entry(gone).await.unwrap(),
        Deleted::AlreadyGone
    );
}

#[tokio::test]
async fn week_transitions_and_approvals_use_their_paths() {
    let h = harness().await;
    // A worker id with a '/' stays one path segment.
    let base = "/v1/timesheets/weeks/c%2F77/2026-W48";
    for (action, status) in [("submit", "submitted"), ("approve", "approved")] {
        Mock::given(method("POST"))
            .and(path(format!("{base}/{action}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(week_json(status)))
            .expect(1)
            .mount(&h.api)
            .await;
    }
    Mock::given(method("POST"))
        .and(path(format!("{base}/reject").as_str()))
        .and(body_json(json!({"reason": "Tuesday is missing"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(week_json("rejected")))
        .expect(1)
        .mount(&h.api)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/approvals"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [week_json("submitted")]})),
        )
        .expect(1)
        .mount(&h.api)
        .await;
    let worker = ExternalId::parse("c/77").unwrap();
    let week = IsoWeek::parse("2026-W48").unwrap();

    let submitted = h.client.submit_week(&worker, week).await.unwrap();
    let approved = h.client.approve_week(&worker, week).await.unwrap();
    let rejected = h
        .client
        .reject_week(&worker, week, Some("Tuesday is missing"))
        .await
        .unwrap();
    let queue = h.client.approvals().await.unwrap();

    let statuses = [submitted.status, approved.status, rejected.status].map(|s| s.as_str());
    assert_eq!(statuses, ["submitted", "approved", "rejected"]);
    assert_eq!(queue.data.len(), 1);
}

#[tokio::test]
async fn an_answer_that_does_not_match_the_wire_type_is_a_decode_error() {
    let h = harness().await;
    Mock::given(method("GET"))
        .and(path("/v1/approvals"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": []})))
        .mount(&h.api)
        .await;

    let err = h.client.approvals().await.unwrap_err();

    assert!(matches!(err, ClientError::Decode { .. }), "{err:?}");
    assert!(!err.is_retryable());
}
