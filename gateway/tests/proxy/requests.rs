//! Requests through the gateway: who gets through, with which identity, and what is refused.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::utils::raw_tls::RawTls;
use crate::utils::stack::{Stack, StackOptions, HOST_A, HOST_B, HOST_C};

async fn json(res: reqwest::Response) -> Value {
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_valid_token_reaches_the_upstream_with_its_principal_over_http1_and_http2() {
    let stack = Stack::start(StackOptions::default()).await;
    let token = stack.token_a("read:timesheets batch:upload");

    let h1 = stack.client_builder().http1_only().build().unwrap();
    let res = h1
        .get(stack.url(HOST_A, "/v1/timesheets/entries?week=2025-W01"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.version(), reqwest::Version::HTTP_11);
    assert_eq!(res.status(), 200);
    let body = json(res).await;
    assert_eq!(body["assertion_error"], Value::Null, "{body}");
    let p = &body["principal"];
    assert_eq!(p["tenant"], "exampleco");
    assert_eq!(p["sub"], "importer@clients");
    assert_eq!(p["client_id"], "importer");
    assert_eq!(p["kind"], "Machine");
    let scopes: Vec<&str> = p["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        scopes.contains(&"read:timesheets") && scopes.contains(&"batch:upload"),
        "{scopes:?}"
    );
    assert_eq!(
        body["path_and_query"],
        "/v1/timesheets/entries?week=2025-W01"
    );
    let headers = &body["headers"];
    let rid = headers["x-request-id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(rid).unwrap().get_version_num(), 7);
    assert!(headers["traceparent"].as_str().unwrap().starts_with("00-"));
    assert_eq!(headers["x-forwarded-proto"], "https");

    // HTTP/2 negotiated by ALPN.
    let res = stack
        .client()
        .get(stack.url(HOST_A, "/v1/timesheets/entries"))
        .bearer_auth(&token)
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.version(), reqwest::Version::HTTP_2);
    assert_eq!(res.status(), 200);
    let body = json(res).await;
    assert_eq!(body["principal"]["tenant"], "exampleco", "{body}");
    assert_eq!(
        body["headers"]["traceparent"],
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    );
}

#[tokio::test]
async fn refusals_carry_rfc6750_challenges_and_problem_bodies() {
    let stack = Stack::start(StackOptions::default()).await;
    let client = stack.client();
    let url = stack.url(HOST_A, "/v1/timesheets/entries");

    let res = client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"timesheets\""
    );
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    let res = client
        .get(&url)
        .bearer_auth("not.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer realm=\"timesheets\", error=\"invalid_token\""),
        "{challenge}"
    );

    let res = client
        .post(&url)
        .bearer_auth(stack.token_a("read:timesheets"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"create:timesheets\""),
        "{challenge}"
    );
    assert!(json(res).await["detail"]
        .as_str()
        .unwrap()
        .contains("create:timesheets"));

    // A token of tenant B at tenant A's hostname.
    let res = client
        .get(&url)
        .bearer_auth(stack.token_b())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    // ... and at its own hostname it passes.
    let res = client
        .get(stack.url(HOST_B, "/v1/timesheets/entries"))
        .bearer_auth(stack.token_b())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["principal"]["tenant"], "other");

    let upstream_hits = stack.upstream.as_ref().unwrap().hits();
    let res = client
        .get(stack.url(HOST_A, "/v1/admin/secrets"))
        .bearer_auth(stack.token_a("read:timesheets"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(
        stack.upstream.as_ref().unwrap().hits(),
        upstream_hits,
        "the upstream got nothing"
    );

    // Public route: no token needed.
    let res = client
        .get(stack.url(HOST_A, "/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["principal"], Value::Null);
}

#[tokio::test]
async fn client_sent_identity_headers_never_reach_the_upstream() {
    let stack = Stack::start(StackOptions::default()).await;
    let token = stack.token_a("read:timesheets");
    let res = stack
        .client()
        .get(stack.url(HOST_A, "/v1/timesheets/entries"))
        .bearer_auth(&token)
        .header("x-gateway-assertion", "forged.assertion.value")
        .header("x-user-id", "admin")
        .header("x-tenant-id", "other")
        .header("x-request-id", "client-chosen")
        .header("x-forwarded-for", "10.9.8.7")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = json(res).await;
    let headers = body["headers"].as_object().unwrap();
    assert!(!headers.contains_key("x-user-id"));
    assert!(!headers.contains_key("x-tenant-id"));
    assert_ne!(headers["x-request-id"], "client-chosen");
    assert_ne!(headers["x-gateway-assertion"], "forged.assertion.value");
    assert_ne!(headers["x-forwarded-for"], "10.9.8.7");
    assert_eq!(
        body["principal"]["tenant"], "exampleco",
        "the gateway's own assertion verified"
    );
    let assertion = headers["x-gateway-assertion"].as_str().unwrap().to_owned();

    // The access log has one JSON line for the request, without the token or the assertion.
    let rid = headers["x-request-id"].as_str().unwrap();
    let line = stack
        .gateway
        .log_line(rid)
        .await
        .expect("an access-log line");
    let log = stack.gateway.log_text();
    // The services' one log shape (service-telemetry): the event's fields at the top level.
    let entry: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(entry["target"], "access");
    assert_eq!(entry["path"], "/v1/timesheets/entries");
    assert_eq!(entry["tenant"], "exampleco");
    assert_eq!(entry["client_id"], "importer");
    assert_eq!(entry["status"], 200);
    assert!(!log.contains(&token[..40]));
    assert!(!log.contains(&assertion));

    // Two Authorization headers: refused before anything else.
    let res = stack
        .client_builder()
        .http1_only()
        .build()
        .unwrap()
        .get(stack.url(HOST_A, "/v1/timesheets/entries"))
        .header(
            "authorization",
            format!("Bearer {}", stack.token_a("read:timesheets")),
        )
        .header("authorization", "Bearer other")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn each_tenant_hostname_gets_its_own_certificate() {
    let stack = Stack::start(StackOptions::default()).await;
    for (cert_pem, host) in &stack.tenant_certs {
        let client = stack.client_builder().tls_info(true).build().unwrap();
        let res = client
            .get(stack.url(host, "/v1/openapi.json"))
            .send()
            .await
            .unwrap();
        let info = res.extensions().get::<reqwest::tls::TlsInfo>().unwrap();
        let peer = info.peer_certificate().unwrap();
        let expected = pem_to_der(cert_pem);
        assert_eq!(peer, expected.as_slice(), "{host} got another certificate");
    }
    // No tenant name: the default certificate (valid for 127.0.0.1).
    let res = stack
        .client()
        .get(format!(
            "https://127.0.0.1:{}/v1/openapi.json",
            stack.https.port()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

fn pem_to_der(pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

#[tokio::test]
async fn upstream_down_is_a_quick_502_slow_is_a_504_and_a_restart_recovers() {
    let mut stack = Stack::start(StackOptions::default()).await;
    let client = stack.client();
    let token = stack.token_a("read:timesheets");
    let base = stack.url(HOST_A, "");
    let get = |path: &'static str| {
        client
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
    };

    let started = Instant::now();
    let res = get("/slow").await.unwrap();
    assert_eq!(res.status(), 504);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );

    let upstream = stack.upstream.take().unwrap();
    let (addr, state) = upstream.stop().await;
    let started = Instant::now();
    let res = get("/v1/timesheets/entries").await.unwrap();
    assert_eq!(res.status(), 502);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(started.elapsed() < Duration::from_secs(3));

    // Same port again: traffic recovers without touching the gateway.
    let restarted = crate::utils::upstream::Upstream::restart_from(addr, state).await;
    stack.upstream = Some(restarted);
    let mut status = 0;
    for _ in 0..20 {
        status = get("/v1/timesheets/entries")
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_client_over_its_rate_limit_gets_429_with_retry_after() {
    let stack = Stack::start(StackOptions::default()).await;
    let client = stack.client();
    let token = stack.token_c("busy-client");
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..5 {
        let res = client
            .get(stack.url(HOST_C, "/v1/timesheets/entries"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if res.status() == 429 {
            retry_after = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
        }
        statuses.push(res.status().as_u16());
    }
    assert_eq!(&statuses[..2], &[200, 200], "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    // Another client of the same tenant has its own budget.
    let res = client
        .get(stack.url(HOST_C, "/v1/timesheets/entries"))
        .bearer_auth(stack.token_c("quiet-client"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let metrics = client
        .get(stack.admin_url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("gateway_rate_limited_total{tenant=\"limited\"}"),
        "{metrics}"
    );
}

/// Between requests an HTTP/1.1 connection waits outside the proxy's request state
/// (`keepalive::ParkIdle`), holding what it read of the next request. Whatever way that request
/// arrives (after a pause, split across TLS records, a few bytes first), it is served in full.
#[tokio::test]
async fn a_kept_alive_connection_is_served_after_idling_and_when_a_request_arrives_in_pieces() {
    let stack = Stack::start(StackOptions::default()).await;
    let token = stack.token_a("read:timesheets");
    let request = format!(
        "GET /v1/timesheets/entries?week=2025-W01 HTTP/1.1\r\nHost: {HOST_A}\r\n\
         Authorization: Bearer {token}\r\nX-Request-Id: forged\r\n\r\n"
    );
    let mut conn = RawTls::connect(&stack, HOST_A).await;
    let mut served = Vec::new();

    conn.send(request.as_bytes()).await;
    served.push(conn.response().await);

    // Idle for a while, then the next request all at once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    conn.send(request.as_bytes()).await;
    served.push(conn.response().await);

    // Three bytes, then the rest of the request line, then the headers.
    let (line_end, _) = request.split_once("\r\n").unwrap();
    for piece in [
        &request[..3],
        &request[3..line_end.len()],
        &request[line_end.len()..],
    ] {
        conn.send(piece.as_bytes()).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    served.push(conn.response().await);

    for (i, res) in served.iter().enumerate() {
        assert_eq!(res.status, 200, "request {i}: {}", res.head);
        let body: Value = serde_json::from_slice(&res.body).unwrap();
        assert_eq!(body["assertion_error"], Value::Null, "request {i}: {body}");
        assert_eq!(body["principal"]["tenant"], "exampleco", "request {i}");
        assert_eq!(
            body["path_and_query"], "/v1/timesheets/entries?week=2025-W01",
            "request {i}"
        );
        assert_ne!(body["headers"]["x-request-id"], "forged", "request {i}");
        assert_eq!(body["headers"]["authorization"], Value::Null, "request {i}");
    }
}

/// `[server] keepalive_timeout` bounds how long a connection may sit idle, including a
/// kept-alive one (Pingora alone would keep that one for ever).
#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_keepalive_timeout() {
    let stack = Stack::start(StackOptions {
        env: vec![("GATEWAY__SERVER__KEEPALIVE_TIMEOUT", "1s".to_owned())],
        ..StackOptions::default()
    })
    .await;
    let mut conn = RawTls::connect(&stack, HOST_A).await;
    let request = format!("GET /v1/openapi.json HTTP/1.1\r\nHost: {HOST_A}\r\n\r\n");
    conn.send(request.as_bytes()).await;
    assert_eq!(conn.response().await.status, 200);
    let idle_since = Instant::now();
    assert!(
        conn.closed_within(Duration::from_secs(5)).await,
        "still open 5 s after its last request"
    );
    assert!(
        idle_since.elapsed() >= Duration::from_millis(900),
        "closed after {:?}, before the keep-alive timeout",
        idle_since.elapsed()
    );
}
