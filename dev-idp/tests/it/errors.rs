//! Every error of the token endpoint, with Auth0's status and body.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{error_of, spawn_idp, AUDIENCE, OTHER_AUDIENCE};

const POST_CLIENT: [(&str, &str); 2] = [
    ("client_id", "post-client"),
    ("client_secret", "post-secret"),
];

fn with_client<'a>(params: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = POST_CLIENT.to_vec();
    all.extend_from_slice(params);
    all
}

async fn assert_error(
    response: reqwest::Response,
    status: StatusCode,
    error: &str,
    description: &str,
) {
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    assert_eq!(
        error_of(response).await,
        (status, error.to_owned(), description.to_owned())
    );
}

#[tokio::test]
async fn a_missing_grant_type_is_invalid_request() {
    let idp = spawn_idp().await;

    let response = idp
        .token_form(&with_client(&[("audience", AUDIENCE)]))
        .await;

    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Missing required parameter: grant_type",
    )
    .await;
}

#[tokio::test]
async fn another_grant_type_is_unsupported_grant_type_with_auth0s_501() {
    let idp = spawn_idp().await;

    let response = idp
        .token_form(&with_client(&[
            ("grant_type", "password"),
            ("audience", AUDIENCE),
        ]))
        .await;

    assert_error(
        response,
        StatusCode::NOT_IMPLEMENTED,
        "unsupported_grant_type",
        "Unsupported grant type: password",
    )
    .await;
}

#[tokio::test]
async fn a_body_that_is_neither_form_nor_json_is_invalid_request() {
    let idp = spawn_idp().await;

    let response = idp
        .http
        .post(idp.url("/oauth/token"))
        .header("content-type", "text/plain")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();

    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Content-Type must be application/x-www-form-urlencoded or application/json",
    )
    .await;
}

#[tokio::test]
async fn malformed_json_is_invalid_request() {
    let idp = spawn_idp().await;

    let response = idp
        .http
        .post(idp.url("/oauth/token"))
        .header("content-type", "application/json")
        .body("{\"grant_type\": ")
        .send()
        .await
        .unwrap();

    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "The body must be a JSON object",
    )
    .await;
}

#[tokio::test]
async fn a_repeated_parameter_is_invalid_request() {
    let idp = spawn_idp().await;

    let response = idp
        .token_form(&with_client(&[
            ("grant_type", "client_credentials"),
            ("audience", AUDIENCE),
            ("audience", OTHER_AUDIENCE),
        ]))
        .await;

    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Parameter must not be repeated: audience",
    )
    .await;
}

#[tokio::test]
async fn a_missing_audience_is_access_denied_as_there_is_no_default_audience() {
    let idp = spawn_idp().await;

    let response = idp
        .token_form(&with_client(&[("grant_type", "client_credentials")]))
        .await;

    assert_error(
        response,
        StatusCode::FORBIDDEN,
        "access_denied",
        "No audience parameter was provided, and no default audience has been configured",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_audience_is_access_denied() {
    let idp = spawn_idp().await;

    let response = idp
        .token_form(&with_client(&[
            ("grant_type", "client_credentials"),
            ("audience", "https://api.test/unknown"),
        ]))
        .await;

    assert_error(
        response,
        StatusCode::FORBIDDEN,
        "access_denied",
        "Service not enabled within domain: https://api.test/unknown",
    )
    .await;
}

#[tokio::test]
async fn an_api_without_a_client_grant_is_access_denied() {
    let idp = spawn_idp().await;

    let response = idp
        .http
        .post(idp.url("/oauth/token"))
        .basic_auth("basic-client", Some("basic-secret"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("audience", OTHER_AUDIENCE),
        ])
        .send()
        .await
        .unwrap();

    assert_error(
        response,
        StatusCode::FORBIDDEN,
        "access_denied",
        "Client is not authorized to access \"https://api.test/other\". You need to create a \
         \"client-grant\" associated to this API.",
    )
    .await;
}

#[tokio::test]
async fn asking_for_a_scope_not_granted_is_access_denied_naming_it() {
    let idp = spawn_idp().await;

    let response = idp
        .token_json(&json!({
            "grant_type": "client_credentials",
            "client_id": "post-client",
            "client_secret": "post-secret",
            "audience": AUDIENCE,
            "scope": "read:timesheets approve:timesheets delete:timesheets",
        }))
        .await;

    assert_error(
        response,
        StatusCode::FORBIDDEN,
        "access_denied",
        "Client has not been granted scopes: approve:timesheets delete:timesheets",
    )
    .await;
}

#[tokio::test]
async fn a_client_without_the_client_credentials_grant_type_is_unauthorized_client() {
    let idp = spawn_idp().await;

    let response = idp
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "spa-client"),
            ("client_secret", "spa-secret"),
            ("audience", AUDIENCE),
        ])
        .await;

    assert_error(
        response,
        StatusCode::FORBIDDEN,
        "unauthorized_client",
        "Grant type 'client_credentials' not allowed for the client.",
    )
    .await;
}

#[tokio::test]
async fn another_organization_than_the_clients_is_access_denied() {
    let idp = spawn_idp().await;

    let response = idp
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "org-client"),
            ("client_secret", "org-secret"),
            ("audience", AUDIENCE),
            ("organization", "org_acme"),
        ])
        .await;

    assert_error(
        response,
        StatusCode::FORBIDDEN,
        "access_denied",
        "Client is not authorized to access organization: org_acme",
    )
    .await;
}
