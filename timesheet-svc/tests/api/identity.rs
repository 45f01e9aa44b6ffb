//! The gateway assertion: no valid assertion for this very request, no access, and no data
//! touched; a valid one without the route's scope is a 403.

use identity_assertion::{AssertionSigner, RequestBinding, AUDIENCE_TIMESHEET_SVC};
use reqwest::Method;
use serde_json::{json, Value};
use time::OffsetDateTime;
use timesheet_domain::{Principal, ProblemType, Scope};

use crate::helpers::{admin, days_ago, entry_body, item, machine, TestApp, TENANT};

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// An assertion signed by a key the service does not trust.
fn forged(principal: &Principal, method: &str, path: &str, request_id: &str) -> String {
    let keys = identity_assertion::generate_keypair().expect("a key pair");
    let signer = AssertionSigner::from_pem(&keys.private_pem, None, AUDIENCE_TIMESHEET_SVC, 60)
        .expect("a signer");
    let binding = RequestBinding {
        method: method.to_owned(),
        path_and_query: path.to_owned(),
        request_id: request_id.to_owned(),
    };
    signer.sign(principal, &binding, now()).expect("signing")
}

/// The routes that need an assertion, with a body that would succeed with one.
fn protected_routes() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::GET, "/v1/timesheets/entries", None),
        (
            Method::POST,
            "/v1/timesheets/entries",
            Some(entry_body("w-anon", &days_ago(3), 60)),
        ),
        (
            Method::POST,
            "/v1/timesheets/upload",
            Some(json!({"source": "anon", "entries": [item("x-1", "w-anon", &days_ago(3), 60)]})),
        ),
        (Method::GET, "/v1/approvals", None),
        (Method::GET, "/timesheets", None),
    ]
}

async fn requests_without_an_assertion_get_401_unauthenticated(app: TestApp) {
    for (method, path, body) in protected_routes() {
        // Arrange
        let mut call = app.call(method, path, &admin()).anonymous();
        if let Some(body) = &body {
            call = call.json(body);
        }

        // Act
        let response = call.send().await;

        // Assert
        response.assert_problem(ProblemType::Unauthenticated);
    }
}
api_test!(requests_without_an_assertion_get_401_unauthenticated);

async fn forged_assertions_get_401_and_touch_no_data(app: TestApp) {
    // Arrange
    let path = "/v1/timesheets/upload";
    let rid = uuid::Uuid::now_v7().to_string();
    let assertion = forged(&admin(), "POST", path, &rid);
    let body = json!({"source": "forged", "entries": [item("f-1", "w-f", &days_ago(3), 60)]});

    // Act
    let response = app
        .call(Method::POST, path, &admin())
        .assertion(&assertion)
        .request_id_header(Some(&rid))
        .json(&body)
        .send()
        .await;

    // Assert
    response.assert_problem(ProblemType::Unauthenticated);
    assert!(
        app.all_entries_of_source("forged").await.is_empty(),
        "the forged upload wrote data"
    );
}
api_test!(forged_assertions_get_401_and_touch_no_data);

async fn expired_assertions_get_401_and_touch_no_data(app: TestApp) {
    // Arrange
    let path = "/v1/timesheets/entries";
    let rid = uuid::Uuid::now_v7().to_string();
    let assertion = app.sign(&admin(), "POST", path, &rid, now() - 3600);

    // Act
    let response = app
        .call(Method::POST, path, &admin())
        .assertion(&assertion)
        .request_id_header(Some(&rid))
        .json(&entry_body("w-expired", &days_ago(3), 60))
        .send()
        .await;

    // Assert
    response.assert_problem(ProblemType::Unauthenticated);
    assert!(
        app.all_entries("worker=w-expired").await.is_empty(),
        "the expired request wrote data"
    );
}
api_test!(expired_assertions_get_401_and_touch_no_data);

async fn garbage_in_the_assertion_header_gets_401(app: TestApp) {
    for garbage in ["not-a-jwt", "a.b.c", "", "Bearer x"] {
        // Act
        let response = app
            .call(Method::GET, "/v1/timesheets/entries", &admin())
            .assertion(garbage)
            .send()
            .await;

        // Assert
        response.assert_problem(ProblemType::Unauthenticated);
    }
}
api_test!(garbage_in_the_assertion_header_gets_401);

async fn assertions_for_another_audience_get_401(app: TestApp) {
    // Arrange: the trusted key, but addressed to another service.
    let path = "/v1/timesheets/entries";
    let rid = uuid::Uuid::now_v7().to_string();
    let binding = RequestBinding {
        method: "GET".into(),
        path_and_query: path.into(),
        request_id: rid.clone(),
    };
    let assertion = app.sign_for_audience("importer-svc", &admin(), &binding);

    // Act
    let response = app
        .call(Method::GET, path, &admin())
        .assertion(&assertion)
        .request_id_header(Some(&rid))
        .send()
        .await;

    // Assert
    response.assert_problem(ProblemType::Unauthenticated);
}
api_test!(assertions_for_another_audience_get_401);

async fn an_assertion_for_another_path_gets_401(app: TestApp) {
    // Arrange: minted for the list without a query, sent with one.
    let rid = uuid::Uuid::now_v7().to_string();
    let assertion = app.sign(&admin(), "GET", "/v1/timesheets/entries", &rid, now());

    // Act
    let response = app
        .call(Method::GET, "/v1/timesheets/entries?limit=5", &admin())
        .assertion(&assertion)
        .request_id_header(Some(&rid))
        .send()
        .await;

    // Assert
    response.assert_problem(ProblemType::Unauthenticated);
}
api_test!(an_assertion_for_another_path_gets_401);

async fn an_assertion_for_another_method_gets_401_and_touches_no_data(app: TestApp) {
    // Arrange: minted for a GET of the collection, replayed on a POST to it.
    let path = "/v1/timesheets/entries";
    let rid = uuid::Uuid::now_v7().to_string();
    let assertion = app.sign(&admin(), "GET", path, &rid, now());

    // Act
    let response = app
        .call(Method::POST, path, &admin())
        .assertion(&assertion)
        .request_id_header(Some(&rid))
        .json(&entry_body("w-method", &days_ago(3), 60))
        .send()
        .await;

    // Assert
    response.assert_problem(ProblemType::Unauthenticated);
    assert!(
        app.all_entries("worker=w-method").await.is_empty(),
        "the request wrote data"
    );
}
api_test!(an_assertion_for_another_method_gets_401_and_touches_no_data);

async fn an_assertion_for_another_request_id_gets_401(app: TestApp) {
    // Arrange: a valid assertion, but the x-request-id header names another request.
    let call = app
        .call(Method::GET, "/v1/timesheets/entries", &admin())
        .request_id_header(Some("some-other-request"));

    // Act
    let response = call.send().await;

    // Assert
    response.assert_problem(ProblemType::Unauthenticated);
}
api_test!(an_assertion_for_another_request_id_gets_401);

async fn an_assertion_without_its_request_id_header_gets_401(app: TestApp) {
    // Act
    let response = app
        .call(Method::GET, "/v1/timesheets/entries", &admin())
        .request_id_header(None)
        .send()
        .await;

    // Assert
    response.assert_problem(ProblemType::Unauthenticated);
}
api_test!(an_assertion_without_its_request_id_header_gets_401);

async fn a_valid_assertion_is_accepted(app: TestApp) {
    // Act
    let response = app
        .list_entries(&machine(TENANT, &[Scope::ReadTimesheets]), "")
        .await;

    // Assert
    response.assert_status(200);
    assert!(response.page().data.is_empty());
}
api_test!(a_valid_assertion_is_accepted);

async fn every_route_refuses_a_principal_without_its_scope_with_403(app: TestApp) {
    // Arrange
    let entry = app.given_entry("w-scope", &days_ago(10), 60).await;
    let id = entry.id.to_string();
    let etag = crate::helpers::etag_of(&entry);
    let week = crate::helpers::iso_week(&days_ago(10));
    let cases: Vec<(Method, String, Option<Value>, Scope)> = vec![
        (
            Method::POST,
            "/v1/timesheets/upload".into(),
            Some(json!({"source": "s", "entries": [item("s-1", "w-scope", &days_ago(11), 60)]})),
            Scope::BatchUpload,
        ),
        (
            Method::POST,
            "/v1/timesheets/entries".into(),
            Some(entry_body("w-scope", &days_ago(12), 60)),
            Scope::CreateTimesheets,
        ),
        (
            Method::GET,
            "/v1/timesheets/entries".into(),
            None,
            Scope::ReadTimesheets,
        ),
        (
            Method::GET,
            format!("/v1/timesheets/entries/{id}"),
            None,
            Scope::ReadTimesheets,
        ),
        (
            Method::PATCH,
            format!("/v1/timesheets/entries/{id}"),
            Some(json!({"minutes": 61})),
            Scope::UpdateTimesheets,
        ),
        (
            Method::DELETE,
            format!("/v1/timesheets/entries/{id}"),
            None,
            Scope::DeleteTimesheets,
        ),
        (
            Method::POST,
            format!("/v1/timesheets/weeks/w-scope/{week}/submit"),
            None,
            Scope::CreateTimesheets,
        ),
        (
            Method::POST,
            format!("/v1/timesheets/weeks/w-scope/{week}/approve"),
            None,
            Scope::ApproveTimesheets,
        ),
        (
            Method::POST,
            format!("/v1/timesheets/weeks/w-scope/{week}/reject"),
            None,
            Scope::ApproveTimesheets,
        ),
        (
            Method::GET,
            "/v1/approvals".into(),
            None,
            Scope::ApproveTimesheets,
        ),
        (
            Method::GET,
            "/timesheets".into(),
            None,
            Scope::ReadTimesheets,
        ),
        (
            Method::POST,
            "/timesheets".into(),
            Some(json!({"user_id": "w-scope", "date": days_ago(13), "project": "P", "hours": 1})),
            Scope::CreateTimesheets,
        ),
        (
            Method::POST,
            "/timesheets/upload".into(),
            Some(json!({"user_id": "w-scope", "date": days_ago(14), "project": "P", "hours": 1})),
            Scope::BatchUpload,
        ),
        (
            Method::GET,
            "/approvals".into(),
            None,
            Scope::ApproveTimesheets,
        ),
        (
            Method::PUT,
            format!("/approvals/{id}"),
            None,
            Scope::ApproveTimesheets,
        ),
    ];

    for (method, path, body, needed) in cases {
        // Arrange: every scope but the one the route needs.
        let scopes: Vec<Scope> = Scope::ALL.into_iter().filter(|s| *s != needed).collect();
        let principal = machine(TENANT, &scopes);
        let mut call = app.call(method, &path, &principal).if_match(&etag);
        if let Some(body) = &body {
            call = call.json(body);
        }

        // Act
        let response = call.send().await;

        // Assert
        response.assert_problem(ProblemType::Forbidden);
    }
    let after = app.get_entry(&admin(), &id).await;
    after.assert_status(200);
    assert_eq!(after.entry(), entry, "a refused request changed the entry");
    assert!(
        app.all_entries_of_source("s").await.is_empty(),
        "a refused upload wrote data"
    );
}
api_test!(every_route_refuses_a_principal_without_its_scope_with_403);

/// Unpadded base64url (RFC 4648 §5), enough to hand-craft a JWS.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            let index = usize::try_from((n >> (18 - 6 * i)) & 63).expect("six bits");
            out.push(char::from(ALPHABET[index]));
        }
    }
    out
}

async fn an_unsigned_assertion_gets_401(app: TestApp) {
    // Arrange: a well-formed claims set with `alg: none` and no signature.
    let path = "/v1/timesheets/entries";
    let rid = uuid::Uuid::now_v7().to_string();
    let principal = admin();
    let claims = json!({
        "iss": identity_assertion::ISSUER, "aud": AUDIENCE_TIMESHEET_SVC,
        "iat": now(), "exp": now() + 60,
        "htm": "GET", "htu": path, "rid": rid,
        "tenant": TENANT, "sub": principal.subject, "kind": "machine",
        "scope": "read:timesheets", "token_exp": now() + 3600
    });
    let header = base64url(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = base64url(claims.to_string().as_bytes());

    for assertion in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        // Act
        let response = app
            .call(Method::GET, path, &principal)
            .assertion(&assertion)
            .request_id_header(Some(&rid))
            .send()
            .await;

        // Assert
        response.assert_problem(ProblemType::Unauthenticated);
    }
}
api_test!(an_unsigned_assertion_gets_401);

async fn an_assertion_issued_in_the_future_gets_401(app: TestApp) {
    // Arrange: issued ten minutes from now, far past any clock-skew leeway.
    let path = "/v1/timesheets/entries";
    let rid = uuid::Uuid::now_v7().to_string();
    let assertion = app.sign(&admin(), "GET", path, &rid, now() + 600);

    // Act
    let response = app
        .call(Method::GET, path, &admin())
        .assertion(&assertion)
        .request_id_header(Some(&rid))
        .send()
        .await;

    // Assert
    response.assert_problem(ProblemType::Unauthenticated);
}
api_test!(an_assertion_issued_in_the_future_gets_401);

#[test]
fn base64url_matches_the_rfc_4648_test_vectors() {
    assert_eq!(base64url(b"f"), "Zg");
    assert_eq!(base64url(b"fo"), "Zm8");
    assert_eq!(base64url(b"foo"), "Zm9v");
    assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
}
