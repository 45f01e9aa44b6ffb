//! Client authentication at the token endpoint: each method succeeding, and each way it fails.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{
    error_of, foreign_private_pem, now, sign_assertion, sign_with, spawn_idp, AUDIENCE, JWT_BEARER,
};

#[tokio::test]
async fn client_secret_post_gets_a_token() {
    let idp = spawn_idp().await;

    let body = idp.post_client_token(&[]).await;

    let claims = idp
        .verify(body["access_token"].as_str().unwrap(), AUDIENCE)
        .await
        .unwrap();
    assert_eq!(claims.sub, "post-client@clients");
}

#[tokio::test]
async fn client_secret_basic_gets_a_token() {
    let idp = spawn_idp().await;

    let response = idp
        .http
        .post(idp.url("/oauth/token"))
        .basic_auth("basic-client", Some("basic-secret"))
        .form(&[("grant_type", "client_credentials"), ("audience", AUDIENCE)])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    let claims = idp
        .verify(body["access_token"].as_str().unwrap(), AUDIENCE)
        .await
        .unwrap();
    assert_eq!(claims.azp, "basic-client");
}

#[tokio::test]
async fn private_key_jwt_gets_a_token_with_the_issuer_as_audience() {
    let idp = spawn_idp().await;
    let assertion = sign_assertion(&idp.assertion_claims());

    let response = idp
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "jwt-client"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &assertion),
            ("audience", AUDIENCE),
        ])
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "batch:upload");
}

#[tokio::test]
async fn private_key_jwt_accepts_the_token_endpoint_as_audience_without_client_id() {
    let idp = spawn_idp().await;
    let mut claims = idp.assertion_claims();
    claims["aud"] = json!([format!("{}oauth/token", idp.issuer)]);

    let response = idp.token_with_assertion(&sign_assertion(&claims)).await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_secret_and_an_unknown_client_get_the_same_invalid_client() {
    let idp = spawn_idp().await;

    let wrong = idp
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "post-client"),
            ("client_secret", "not-the-secret"),
            ("audience", AUDIENCE),
        ])
        .await;
    let unknown = idp
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "nobody"),
            ("client_secret", "post-secret"),
            ("audience", AUDIENCE),
        ])
        .await;

    let expected = (
        StatusCode::UNAUTHORIZED,
        "invalid_client".to_owned(),
        "Client authentication failed".to_owned(),
    );
    assert_eq!(error_of(wrong).await, expected);
    assert_eq!(error_of(unknown).await, expected);
}

#[tokio::test]
async fn a_wrong_basic_secret_is_answered_with_a_basic_challenge() {
    let idp = spawn_idp().await;

    let response = idp
        .http
        .post(idp.url("/oauth/token"))
        .basic_auth("basic-client", Some("nope"))
        .form(&[("grant_type", "client_credentials"), ("audience", AUDIENCE)])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Basic "), "{challenge}");
    assert_eq!(error_of(response).await.1, "invalid_client");
}

#[tokio::test]
async fn a_client_may_only_use_its_configured_method() {
    let idp = spawn_idp().await;

    // post-client is configured for client_secret_post; the right secret by Basic is refused.
    let by_basic = idp
        .http
        .post(idp.url("/oauth/token"))
        .basic_auth("post-client", Some("post-secret"))
        .form(&[("grant_type", "client_credentials"), ("audience", AUDIENCE)])
        .send()
        .await
        .unwrap();
    // basic-client is configured for client_secret_basic; the right secret in the body is refused.
    let by_post = idp
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "basic-client"),
            ("client_secret", "basic-secret"),
            ("audience", AUDIENCE),
        ])
        .await;

    let (status, error, description) = error_of(by_basic).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    assert!(
        description.contains("client_secret_basic is not allowed"),
        "{description}"
    );
    let (status, error, description) = error_of(by_post).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    assert!(
        description.contains("client_secret_post is not allowed"),
        "{description}"
    );
}

#[tokio::test]
async fn no_credentials_at_all_is_invalid_client() {
    let idp = spawn_idp().await;

    let response = idp
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "post-client"),
            ("audience", AUDIENCE),
        ])
        .await;

    assert_eq!(
        error_of(response).await,
        (
            StatusCode::UNAUTHORIZED,
            "invalid_client".to_owned(),
            "Client authentication is required".to_owned()
        )
    );
}

#[tokio::test]
async fn two_authentication_methods_at_once_are_invalid_request() {
    let idp = spawn_idp().await;
    let assertion = sign_assertion(&idp.assertion_claims());

    let response = idp
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "jwt-client"),
            ("client_secret", "anything"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &assertion),
            ("audience", AUDIENCE),
        ])
        .await;

    let (status, error, _) = error_of(response).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}

#[tokio::test]
async fn a_wrong_client_assertion_type_is_invalid_request() {
    let idp = spawn_idp().await;
    let assertion = sign_assertion(&idp.assertion_claims());

    let response = idp
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:example:saml"),
            ("client_assertion", &assertion),
            ("audience", AUDIENCE),
        ])
        .await;

    let (status, error, description) = error_of(response).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert!(description.contains(JWT_BEARER), "{description}");
}

/// Each broken assertion is refused with 401 invalid_client and a description naming the check.
#[tokio::test]
async fn broken_assertions_are_refused_naming_the_check() {
    let idp = spawn_idp().await;
    let now = now();
    let claims = || idp.assertion_claims();
    let with = |key: &str, value: serde_json::Value| {
        let mut c = claims();
        c[key] = value;
        c
    };
    let cases = [
        (
            "a foreign key",
            sign_with(&foreign_private_pem(), &claims()),
            "bad signature",
        ),
        (
            "expired",
            sign_assertion(&with("exp", json!(now - 60))),
            "expired",
        ),
        (
            "too long",
            sign_assertion(&with("exp", json!(now + 3600))),
            "too far in the future",
        ),
        (
            "wrong aud",
            sign_assertion(&with("aud", json!("https://elsewhere/"))),
            "aud must be",
        ),
        (
            "iss of another client",
            sign_assertion(&with("iss", json!("post-client"))),
            "iss must be",
        ),
        (
            "sub of another client",
            sign_assertion(&with("sub", json!("post-client"))),
            "sub must be",
        ),
        ("no jti", sign_assertion(&with("jti", json!(""))), "jti"),
        (
            "future iat",
            sign_assertion(&with("iat", json!(now + 120))),
            "issued in the future",
        ),
    ];

    for (case, assertion, expected) in cases {
        let response = idp
            .token_form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "jwt-client"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &assertion),
                ("audience", AUDIENCE),
            ])
            .await;
        let (status, error, description) = error_of(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}");
        assert_eq!(error, "invalid_client", "{case}");
        assert!(description.contains(expected), "{case}: {description}");
    }
}

#[tokio::test]
async fn a_replayed_assertion_is_refused() {
    let idp = spawn_idp().await;
    let assertion = sign_assertion(&idp.assertion_claims());
    assert_eq!(
        idp.token_with_assertion(&assertion).await.status(),
        StatusCode::OK
    );

    let replay = idp.token_with_assertion(&assertion).await;

    let (status, error, description) = error_of(replay).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    assert!(description.contains("already been used"), "{description}");
}
