//! Fault sequences on the API side: refused tokens, rate limits, unavailable upstreams, client
//! errors and an API that cannot be reached.

use std::time::{Duration, Instant};

use serde_json::json;
use timesheet_client::{ApiClient, ClientError, TokenError};
use timesheet_domain::{ExternalId, IsoWeek};
use wiremock::matchers::{bearer_token, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const APPROVALS: &str = "/v1/approvals";

fn problem(status: u16, slug: &str, title: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        json!({"type": format!("https://api.exampleco.com/problems/{slug}"), "title": title, "status": status})
            .to_string(),
        "application/problem+json",
    )
}

fn approvals_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"data": []}))
}

/// Mounts `first` for the first `times` calls of GET /v1/approvals, then 200.
async fn mount_then_ok(api: &MockServer, first: ResponseTemplate, times: u64) {
    Mock::given(method("GET"))
        .and(path(APPROVALS))
        .respond_with(first)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(api)
        .await;
    Mock::given(method("GET"))
        .and(path(APPROVALS))
        .respond_with(approvals_ok())
        .with_priority(2)
        .mount(api)
        .await;
}

async fn client(api: &MockServer, idp: &MockServer) -> ApiClient {
    ApiClient::new(&config(&api.uri(), idp)).unwrap()
}

#[tokio::test]
async fn a_401_renews_the_token_once_and_resends() {
    let idp = spawn_idp(DAY).await;
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(APPROVALS))
        .and(bearer_token("token-1"))
        .respond_with(
            problem(401, "unauthenticated", "Authentication is required")
                .insert_header("www-authenticate", r#"Bearer error="invalid_token""#),
        )
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path(APPROVALS))
        .and(bearer_token("token-2"))
        .respond_with(approvals_ok())
        .mount(&api)
        .await;
    let client = client(&api, &idp).await;

    client.approvals().await.unwrap();

    let stats = client.stats();
    assert_eq!(
        (stats.token_requests, stats.requests, stats.retries),
        (2, 2, 0)
    );
    // The next call uses the renewed token without asking again.
    client.approvals().await.unwrap();
    assert_eq!(client.stats().token_requests, 2);
}

#[tokio::test]
async fn a_second_401_is_the_answer_after_exactly_one_new_token() {
    let idp = spawn_idp(DAY).await;
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(APPROVALS))
        .respond_with(problem(
            401,
            "unauthenticated",
            "Authentication is required",
        ))
        .mount(&api)
        .await;
    let client = client(&api, &idp).await;

    let err = client.approvals().await.unwrap_err();

    assert_eq!(err.status(), Some(401));
    let stats = client.stats();
    assert_eq!((stats.token_requests, stats.requests), (2, 2));
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let idp = spawn_idp(DAY).await;
    let api = MockServer::start().await;
    mount_then_ok(
        &api,
        problem(429, "rate-limited", "Too many requests").insert_header("retry-after", "1"),
        1,
    )
    .await;
    let client = client(&api, &idp).await;
    let started = Instant::now();

    client.approvals().await.unwrap();

    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    assert_eq!((client.stats().requests, client.stats().retries), (2, 1));
}

#[tokio::test]
async fn two_503s_then_success_is_a_success_after_two_retries() {
    let idp = spawn_idp(DAY).await;
    let api = MockServer::start().await;
    mount_then_ok(
        &api,
        problem(
            503,
            "service-unavailable",
            "The service is temporarily unavailable",
        ),
        2,
    )
    .await;
    let client = client(&api, &idp).await;

    client.approvals().await.unwrap();

    assert_eq!((client.stats().requests, client.stats().retries), (3, 2));
    assert_eq!(client.stats().token_requests, 1);
}

#[tokio::test]
async fn client_errors_are_never_retried_and_keep_their_problem() {
    for (status, slug, title) in [
        (
            400,
            "malformed-request",
            "The request body is not well-formed",
        ),
        (403, "forbidden", "Not allowed"),
        (422, "validation-error", "The request has invalid fields"),
    ] {
        let idp = spawn_idp(DAY).await;
        let api = MockServer::start().await;
        mount_then_ok(&api, problem(status, slug, title), 1).await;
        let client = client(&api, &idp).await;

        let err = client.approvals().await.unwrap_err();

        assert_eq!(err.status(), Some(status));
        assert_eq!(err.problem().map(|p| p.title.as_str()), Some(title));
        assert!(!err.is_retryable());
        assert_eq!(
            (client.stats().requests, client.stats().retries),
            (1, 0),
            "{status}"
        );
    }
}

#[tokio::test]
async fn retries_stop_after_max_attempts_with_the_last_status() {
    let idp = spawn_idp(DAY).await;
    let api = MockServer::start().await;
    mount_then_ok(
        &api,
        problem(502, "bad-gateway", "The upstream service is unreachable"),
        100,
    )
    .await;
    let client = client(&api, &idp).await;

    let err = client.approvals().await.unwrap_err();

    assert_eq!(err.status(), Some(502));
    assert!(err.is_retryable());
    let attempts = u64::from(fast_retry().max_attempts);
    assert_eq!(
        (client.stats().requests, client.stats().retries),
        (attempts, attempts - 1)
    );
}

#[tokio::test]
async fn a_week_submit_is_not_repeated_after_an_ambiguous_503() {
    let idp = spawn_idp(DAY).await;
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/timesheets/weeks/c-77/2026-W48/submit"))
        .respond_with(problem(
            503,
            "service-unavailable",
            "The service is temporarily unavailable",
        ))
        .mount(&api)
        .await;
    let client = client(&api, &idp).await;

    let err = client
        .submit_week(
            &ExternalId::parse("c-77").unwrap(),
            IsoWeek::parse("2026-W48").unwrap(),
        )
        .await
        .unwrap_err();

    assert_eq!(err.status(), Some(503));
    assert_eq!(client.stats().requests, 1);
}

#[tokio::test]
async fn a_timeout_is_retried_for_an_idempotent_request() {
    let idp = spawn_idp(DAY).await;
    let api = MockServer::start().await;
    mount_then_ok(
        &api,
        approvals_ok().set_delay(Duration::from_millis(1_500)),
        1,
    )
    .await;
    let mut config = config(&api.uri(), &idp);
    config.timeout = Duration::from_millis(300);
    let client = ApiClient::new(&config).unwrap();

    client.approvals().await.unwrap();

    assert_eq!((client.stats().requests, client.stats().retries), (2, 1));
}

#[tokio::test]
async fn an_unreachable_api_is_retried_then_a_transport_error() {
    let idp = spawn_idp(DAY).await;
    let base = format!("http://127.0.0.1:{}", closed_port());
    let client = ApiClient::new(&config(&base, &idp)).unwrap();

    let err = client.approvals().await.unwrap_err();

    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
    assert!(err.is_retryable());
    let attempts = u64::from(fast_retry().max_attempts);
    assert_eq!(
        (client.stats().requests, client.stats().retries),
        (attempts, attempts - 1)
    );
}

#[tokio::test]
async fn a_refused_client_is_a_token_error_and_the_api_is_never_called() {
    let idp = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(
                json!({"error": "access_denied", "error_description": "Unauthorized"}),
            ),
        )
        .mount(&idp)
        .await;
    let api = MockServer::start().await;
    let client = client(&api, &idp).await;

    let err = client.approvals().await.unwrap_err();

    assert!(
        matches!(&err, ClientError::Token(TokenError::Refused { error, .. }) if error == "access_denied"),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(api.received_requests().await.unwrap().is_empty());
    assert_eq!(client.stats().token_requests, 1);
}
