//! How the client authenticates at the token endpoint, and what it asks for.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::json;
use timesheet_client::retry::RetryPolicy;
use timesheet_client::token::CLIENT_ASSERTION_TYPE;
use timesheet_client::{AuthMethod, TokenError, TokenManager};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

fn manager(auth: &timesheet_client::AuthConfig) -> TokenManager {
    TokenManager::new(auth, RetryPolicy::from(&fast_retry())).unwrap()
}

#[tokio::test]
async fn client_secret_post_sends_the_documented_form_fields() {
    let idp = spawn_idp(DAY).await;
    let tokens = manager(&auth_config(&idp));

    let token = tokens.token().await.unwrap();

    assert_eq!(token.expose_secret(), "token-1");
    let requests = received(&idp, TOKEN_PATH).await;
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        header(request, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(header(request, "authorization"), None);
    let form = form(request);
    let expected = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("audience", AUDIENCE),
    ];
    assert_eq!(form.len(), expected.len(), "{form:?}");
    for (name, value) in expected {
        assert_eq!(form.get(name).map(String::as_str), Some(value), "{name}");
    }
}

#[tokio::test]
async fn client_secret_basic_sends_the_credentials_only_in_the_authorization_header() {
    let idp = spawn_idp(DAY).await;
    let mut auth = auth_config(&idp);
    auth.method = Some(AuthMethod::ClientSecretBasic);
    auth.client_id = "importer:eu".into();
    auth.client_secret = Some("p@ss word".into());

    manager(&auth).token().await.unwrap();

    let request = &received(&idp, TOKEN_PATH).await[0];
    let value = header(request, "authorization").unwrap();
    let encoded = value.strip_prefix("Basic ").unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    // RFC 6749 §2.3.1: both parts form-urlencoded, then joined by ':'.
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        "importer%3Aeu:p%40ss+word"
    );
    let form = form(request);
    assert_eq!(form.len(), 2, "{form:?}");
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["audience"], AUDIENCE);
}

#[derive(Debug, Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    aud: String,
    jti: String,
    iat: u64,
    exp: u64,
}

/// Verifies a client assertion with the public key and returns its kid and claims.
fn verify_assertion(
    form: &std::collections::HashMap<String, String>,
    key: &TestKey,
    alg: Algorithm,
    audience: &str,
) -> (Option<String>, AssertionClaims) {
    assert_eq!(form["client_assertion_type"], CLIENT_ASSERTION_TYPE);
    assert!(!form.contains_key("client_secret"));
    let mut validation = Validation::new(alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[CLIENT_ID]);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let data = jsonwebtoken::decode::<AssertionClaims>(
        &form["client_assertion"],
        &key.public,
        &validation,
    )
    .unwrap();
    (data.header.kid, data.claims)
}

#[tokio::test]
async fn private_key_jwt_signs_an_rs256_assertion_for_the_token_urls_origin() {
    let idp = spawn_idp(DAY).await;
    let key = rsa_key();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("client.pem");
    std::fs::write(&key_file, &key.private_pem).unwrap();
    let mut auth = auth_config(&idp);
    auth.method = Some(AuthMethod::PrivateKeyJwt);
    auth.client_secret = None;
    auth.private_key_file = Some(key_file);
    auth.kid = Some("client-key-1".into());
    let tokens = manager(&auth);

    tokens.token().await.unwrap();

    let form = form(&received(&idp, TOKEN_PATH).await[0]);
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["audience"], AUDIENCE);
    let origin = format!("{}/", idp.uri());
    let (kid, claims) = verify_assertion(&form, &key, Algorithm::RS256, &origin);
    assert_eq!(kid.as_deref(), Some("client-key-1"));
    assert_eq!(
        (claims.iss.as_str(), claims.sub.as_str()),
        (CLIENT_ID, CLIENT_ID)
    );
    assert_eq!(claims.aud, origin);
    assert_eq!(claims.exp - claims.iat, 60);
    assert!(claims.jti.len() >= 16);
}

#[tokio::test]
async fn private_key_jwt_signs_es256_with_an_ec_key_and_a_fresh_jti_each_time() {
    let idp = spawn_idp(DAY).await;
    let key = ec_key();
    let mut auth = auth_config(&idp);
    auth.method = Some(AuthMethod::PrivateKeyJwt);
    auth.client_secret = None;
    auth.private_key = Some(key.private_pem.clone().into());
    auth.assertion_audience = Some("https://tenant.auth0.com/".into());
    let tokens = manager(&auth);

    let first = tokens.token().await.unwrap();
    tokens.invalidate(&first).await;
    tokens.token().await.unwrap();

    let requests = received(&idp, TOKEN_PATH).await;
    assert_eq!(requests.len(), 2);
    let (kid, a) = verify_assertion(
        &form(&requests[0]),
        &key,
        Algorithm::ES256,
        "https://tenant.auth0.com/",
    );
    let (_, b) = verify_assertion(
        &form(&requests[1]),
        &key,
        Algorithm::ES256,
        "https://tenant.auth0.com/",
    );
    assert_eq!(kid, None);
    assert_ne!(a.jti, b.jti);
}

#[tokio::test]
async fn resource_and_scope_are_sent_when_configured_instead_of_audience() {
    let idp = spawn_idp(DAY).await;
    let mut auth = auth_config(&idp);
    auth.audience = None;
    auth.resource = Some("https://api.exampleco.com/timesheets".into());
    auth.scope = Some("batch:upload read:timesheets".into());

    manager(&auth).token().await.unwrap();

    let form = form(&received(&idp, TOKEN_PATH).await[0]);
    assert!(!form.contains_key("audience"));
    assert_eq!(form["resource"], AUDIENCE);
    assert_eq!(form["scope"], "batch:upload read:timesheets");
}

#[tokio::test]
async fn oauth_refusals_keep_the_providers_words_and_are_not_retried() {
    for (status, error, description) in [
        (401, "access_denied", "Unauthorized"),
        (401, "invalid_client", "Client authentication failed"),
        (
            403,
            "unauthorized_client",
            "Grant type 'client_credentials' not allowed for the client.",
        ),
        (
            400,
            "invalid_request",
            "Missing required parameter: grant_type",
        ),
    ] {
        let idp = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_json(json!({"error": error, "error_description": description})),
            )
            .mount(&idp)
            .await;
        let tokens = manager(&auth_config(&idp));

        let err = tokens.token().await.unwrap_err();

        match &err {
            TokenError::Refused {
                status: s,
                error: e,
                description: d,
            } => {
                assert_eq!(
                    (*s, e.as_str(), d.as_deref()),
                    (status, error, Some(description))
                );
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(!err.is_retryable());
        assert!(!err.to_string().contains(CLIENT_SECRET));
        assert_eq!(tokens.stats().requests, 1, "{error} must not be retried");
    }
}

#[tokio::test]
async fn a_busy_token_endpoint_is_retried_after_its_retry_after() {
    let idp = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1").set_body_json(
            json!({"error": "too_many_requests", "error_description": "Global limit has been reached"}),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&idp)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&idp)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(SequentialTokens::new(DAY))
        .with_priority(3)
        .mount(&idp)
        .await;
    let tokens = manager(&auth_config(&idp));
    let started = std::time::Instant::now();

    let token = tokens.token().await.unwrap();

    assert_eq!(token.expose_secret(), "token-1");
    assert!(
        started.elapsed() >= secs(1),
        "Retry-After: 1 was not honoured"
    );
    assert_eq!(tokens.stats().requests, 3);
    assert_eq!(tokens.stats().retries, 2);
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_retried_then_reported() {
    let mut auth = auth_config(&MockServer::start().await);
    auth.token_url = format!("http://127.0.0.1:{}/oauth/token", closed_port())
        .parse()
        .unwrap();
    let tokens = manager(&auth);

    let err = tokens.token().await.unwrap_err();

    assert!(matches!(err, TokenError::Transport { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(
        tokens.stats().requests,
        u64::from(fast_retry().max_attempts)
    );
}
