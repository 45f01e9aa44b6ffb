//! Tenant isolation from the outside: the second tenant (an Auth0 Organization on the same
//! issuer, with every scope) sees and touches none of ExampleCo's data, at every endpoint.

use reqwest::Method;
use serde_json::json;

use crate::harness::{Db, TestStack, Who};

const WEEK: &str = "2026-W48";

async fn the_other_tenant_sees_and_touches_none_of_exampleco_data(db: Db) {
    // Arrange: ExampleCo has an entry and a submitted week.
    let stack = TestStack::start(db).await;
    let admin = stack.token(Who::Admin).await;
    let other = stack.token(Who::OtherTenant).await;
    let item = json!({
        "external_id": "shared-1",
        "worker": {"external_id": "c-9", "kind": "contractor", "name": "Ana Silva"},
        "date": "2026-11-23", "project": "STOREZERO", "minutes": 90
    });
    let upload = json!({"source": "tenancy", "entries": [item]});
    let created = stack
        .call(
            Method::POST,
            "/v1/timesheets/upload",
            Some(&admin),
            Some(&upload),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let id = created.body["results"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let entry_path = format!("/v1/timesheets/entries/{id}");
    let submitted = stack
        .call(
            Method::POST,
            &format!("/v1/timesheets/weeks/c-9/{WEEK}/submit"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    let etag = stack.get(&entry_path, &admin).await.header("etag").unwrap();

    // Act: the other tenant tries every endpoint.
    let list = stack.get("/v1/timesheets/entries", &other).await;
    let by_source = stack.entries(&other, "tenancy").await;
    let get = stack.get(&entry_path, &other).await;
    let patch = stack
        .http
        .patch(stack.gateway_url(&entry_path))
        .bearer_auth(&other)
        .header("if-match", &etag)
        .json(&json!({"minutes": 1}))
        .send()
        .await
        .unwrap();
    let delete = stack
        .call(Method::DELETE, &entry_path, Some(&other), None)
        .await;
    let approve = stack
        .call(
            Method::POST,
            &format!("/v1/timesheets/weeks/c-9/{WEEK}/approve"),
            Some(&other),
            None,
        )
        .await;
    let approvals = stack.get("/v1/approvals", &other).await;
    let compat_list = stack.get("/timesheets", &other).await;
    let compat_approvals = stack.get("/approvals", &other).await;
    let same_key = stack
        .call(
            Method::POST,
            "/v1/timesheets/upload",
            Some(&other),
            Some(&upload),
        )
        .await;

    // Assert: nothing of ExampleCo's is visible or changed.
    assert_eq!(list.status, 200);
    assert_eq!(list.body["data"], json!([]), "{}", list.text);
    assert!(by_source.is_empty(), "before its own upload: {by_source:?}");
    assert_eq!(get.status, 404, "{}", get.text);
    assert_eq!(patch.status(), 404);
    assert_eq!(delete.status, 404, "{}", delete.text);
    assert_eq!(approve.status, 404, "{}", approve.text);
    assert_eq!(approvals.status, 200);
    assert_eq!(approvals.body["data"], json!([]), "{}", approvals.text);
    assert_eq!(compat_list.status, 200);
    assert!(
        !compat_list.text.contains(&id) && !compat_list.text.contains("shared-1"),
        "{}",
        compat_list.text
    );
    assert!(
        !compat_approvals.text.contains("c-9"),
        "{}",
        compat_approvals.text
    );
    assert_eq!(same_key.status, 200);
    assert_eq!(
        same_key.body["created"], 1,
        "a separate entry in its own tenant: {}",
        same_key.text
    );
    assert_ne!(
        same_key.body["results"][0]["id"].as_str(),
        Some(id.as_str())
    );

    let mine = stack.get(&entry_path, &admin).await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.body["minutes"], 90);
    assert_eq!(mine.body["status"], "submitted");
    assert_eq!(mine.header("etag").unwrap(), etag, "untouched");
    let pending = stack.get("/v1/approvals", &admin).await;
    assert_eq!(
        pending.body["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        pending.text
    );
    let theirs = stack.entries(&other, "tenancy").await;
    assert_eq!(theirs.len(), 1);
    assert_ne!(theirs[0]["id"].as_str(), Some(id.as_str()));
    stack.finish().await;
}
e2e_test!(the_other_tenant_sees_and_touches_none_of_exampleco_data);
