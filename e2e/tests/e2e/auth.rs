//! Who may call what: tokens from dev-idp through the TLS gateway, RFC 6750 answers.

use reqwest::Method;
use serde_json::json;

use crate::harness::{Db, TestStack, Who};

fn entry(external_id: &str, date: &str) -> serde_json::Value {
    json!({
        "external_id": external_id,
        "worker": {"external_id": "c-1", "kind": "contractor", "name": "Ana Silva"},
        "date": date, "project": "STOREZERO", "minutes": 60
    })
}

async fn tokens_from_dev_idp_open_exactly_the_routes_their_scopes_allow(db: Db) {
    // Arrange
    let stack = TestStack::start(db).await;
    let importer = stack.token(Who::Importer).await;
    let reader = stack.token(Who::Reader).await;
    let upload = json!({"source": "e2e-auth", "entries": [entry("a-1", "2026-11-23")]});

    // Act
    let no_token = stack
        .call(Method::GET, "/v1/timesheets/entries", None, None)
        .await;
    let garbage = stack.get("/v1/timesheets/entries", "not-a-jwt").await;
    let reader_uploads = stack
        .call(
            Method::POST,
            "/v1/timesheets/upload",
            Some(&reader),
            Some(&upload),
        )
        .await;
    let importer_uploads = stack
        .call(
            Method::POST,
            "/v1/timesheets/upload",
            Some(&importer),
            Some(&upload),
        )
        .await;
    let importer_reads = stack.get("/v1/timesheets/entries", &importer).await;
    let reader_reads = stack.entries(&reader, "e2e-auth").await;
    let unlisted = stack.get("/v1/not-a-route", &reader).await;

    // Assert
    assert_eq!(no_token.status, 401, "{}", no_token.text);
    let challenge = no_token.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Bearer realm="), "{challenge}");
    assert!(
        !challenge.contains("error="),
        "no error code without a token: {challenge}"
    );
    assert_eq!(garbage.status, 401);
    assert!(garbage
        .header("www-authenticate")
        .unwrap_or_default()
        .contains(r#"error="invalid_token""#));
    assert_eq!(reader_uploads.status, 403, "{}", reader_uploads.text);
    let challenge = reader_uploads
        .header("www-authenticate")
        .unwrap_or_default();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(challenge.contains("batch:upload"), "{challenge}");
    assert_eq!(
        reader_uploads.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(importer_uploads.status, 200, "{}", importer_uploads.text);
    assert_eq!(importer_uploads.body["created"], 1);
    assert_eq!(importer_reads.status, 403, "the importer may only upload");
    assert_eq!(reader_reads.len(), 1);
    assert_eq!(reader_reads[0]["external_id"], "a-1");
    assert_eq!(reader_reads[0]["minutes"], 60);
    assert_eq!(
        unlisted.status, 404,
        "routes not listed are denied: {}",
        unlisted.text
    );
    stack.finish().await;
}
e2e_test!(tokens_from_dev_idp_open_exactly_the_routes_their_scopes_allow);

async fn identity_headers_sent_by_a_client_never_reach_the_service(db: Db) {
    // Arrange
    let stack = TestStack::start(db).await;
    let reader = stack.token(Who::Reader).await;

    // Act: a forged assertion and tenant header next to a valid token.
    let response = stack
        .http
        .get(stack.gateway_url("/v1/timesheets/entries"))
        .bearer_auth(&reader)
        .header("x-gateway-assertion", "forged")
        .header("x-tenant-id", "other-tenant")
        .send()
        .await
        .unwrap();
    // ... and a request straight to the service without the gateway.
    let direct = stack
        .http
        .get(format!(
            "{}/v1/timesheets/entries",
            stack.env("TIMESHEET_SVC_URL")
        ))
        .header("x-gateway-assertion", "forged")
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(
        response.status(),
        200,
        "the gateway replaced the forged header"
    );
    assert_eq!(
        direct.status(),
        401,
        "the service refuses requests without a valid assertion"
    );
    stack.finish().await;
}
e2e_test!(identity_headers_sent_by_a_client_never_reach_the_service);
