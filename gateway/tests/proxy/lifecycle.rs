//! The gateway as a process: TLS versions, the admin listener, SIGHUP reload, SIGTERM.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::utils::raw_tls::RawTls;
use crate::utils::stack::{GatewayProcess, Stack, StackOptions, HOST_A};

#[tokio::test]
async fn tls_1_1_is_refused_and_tls_1_2_accepted() {
    let stack = Stack::start(StackOptions::default()).await;
    let connect = format!("127.0.0.1:{}", stack.https.port());
    let run = |version: &str| {
        Command::new("openssl")
            .args([
                "s_client",
                version,
                "-connect",
                &connect,
                "-servername",
                HOST_A,
            ])
            .stdin(std::process::Stdio::null())
            .output()
    };
    match run("-tls1_1") {
        Ok(out) => {
            assert!(!out.status.success(), "TLS 1.1 handshake succeeded");
            let ok12 = run("-tls1_2").unwrap();
            assert!(
                ok12.status.success(),
                "TLS 1.2 refused: {}",
                String::from_utf8_lossy(&ok12.stderr)
            );
        }
        // No openssl binary: this one assertion cannot be made; the rest of the test still runs.
        Err(err) => eprintln!("openssl not available ({err}); TLS 1.1 refusal not checked"),
    }
    // TLS 1.2 with the test client, whatever openssl says.
    let res = stack
        .client_builder()
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap()
        .get(stack.url(HOST_A, "/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn admin_listener_serves_health_readiness_and_metrics() {
    let stack = Stack::start(StackOptions::default()).await;
    let client = stack.client();
    assert_eq!(
        client
            .get(stack.admin_url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let mut ready = 0;
    for _ in 0..40 {
        ready = client
            .get(stack.admin_url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if ready == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ready, 200);

    let token = stack.token_a("read:timesheets");
    for _ in 0..3 {
        let res = client
            .get(stack.url(HOST_A, "/v1/timesheets/entries"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let res = client
        .get(stack.url(HOST_A, "/v1/timesheets/entries"))
        .bearer_auth("a.b.c")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        client
            .get(stack.url(HOST_A, "/nope"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let text = client
        .get(stack.admin_url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "gateway_requests_total{route=\"/v1/timesheets/entries\",status=\"200\",tenant=\"exampleco\"} 3",
        "gateway_requests_total{route=\"/v1/timesheets/entries\",status=\"401\",tenant=\"none\"} 1",
        "gateway_requests_total{route=\"none\",status=\"404\",tenant=\"none\"} 1",
        "gateway_token_cache_hits_total 2",
        "gateway_upstream_duration_seconds_count 3",
        "gateway_jwks_fetches_total{outcome=\"ok\",tenant=\"exampleco\"} 1",
        "gateway_jwks_key_age_seconds{tenant=\"exampleco\"}",
    ] {
        assert!(text.contains(expected), "missing {expected}:\n{text}");
    }
    assert!(
        text.contains("gateway_auth_failures_total{reason="),
        "{text}"
    );
    assert!(!text.contains("/nope"), "raw paths never become labels");

    // Upstream gone: not ready.
    let mut stack = stack;
    stack.upstream.take().unwrap().stop().await;
    let mut ready = 200;
    for _ in 0..40 {
        ready = client
            .get(stack.admin_url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if ready == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ready, 503);
}

#[tokio::test]
async fn sighup_keeps_the_old_config_when_broken_and_applies_a_valid_one() {
    // Two workers: the reloaded configuration must reach both.
    let stack = Stack::start(StackOptions::two_workers()).await;
    let client = stack.client();
    let token = stack.token_a("read:timesheets create:timesheets");
    let status = |path: &'static str| {
        let req = client.get(stack.url(HOST_A, path)).bearer_auth(&token);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status("/v1/approvals").await, 404);
    let original = std::fs::read_to_string(&stack.config_path).unwrap();

    stack.rewrite_config(|text| {
        text.replacen(
            "scopes = [\"read:timesheets\"]",
            "scopes = [\"read:everything\"]",
            1,
        )
    });
    stack.gateway.signal("HUP");
    wait_for_log(&stack, "configuration reload refused").await;
    assert!(
        stack.gateway.log_text().contains("route[1].scopes[0]"),
        "the error names the key:\n{}",
        stack.gateway.log_text()
    );
    assert_eq!(
        status("/v1/timesheets/entries").await,
        200,
        "the old config still serves"
    );

    std::fs::write(
        &stack.config_path,
        format!("{original}\n[[route]]\nmethod = \"GET\"\npath = \"/v1/approvals\"\nscopes = [\"read:timesheets\"]\n"),
    )
    .unwrap();
    stack.gateway.signal("HUP");
    wait_for_log(&stack, "configuration reloaded").await;
    assert_eq!(status("/v1/approvals").await, 200);
    assert_eq!(status("/v1/timesheets/entries").await, 200);
    // New connections land on either worker's socket: every one sees the new route.
    for _ in 0..8 {
        assert_eq!(
            status_on_a_fresh_connection(&stack, "/v1/approvals", Some(&token)).await,
            200
        );
    }
}

/// The status of `GET path` (with `token`, if any) over a new connection that is not kept.
async fn status_on_a_fresh_connection(stack: &Stack, path: &str, token: Option<&str>) -> u16 {
    let client = stack
        .client_builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut req = client.get(stack.url(HOST_A, path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap().status().as_u16()
}

/// Sockets listening on 127.0.0.1:`port`, from /proc/net/tcp (`0100007F:<port hex>`, state 0A).
fn listening_sockets(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let local = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(1) == Some(&local.as_str()) && fields.get(3) == Some(&"0A")
        })
        .count()
}

#[tokio::test]
async fn each_worker_accepts_on_its_own_socket_and_a_second_gateway_on_the_address_is_refused() {
    let stack = Stack::start(StackOptions::two_workers()).await;
    let port = stack.https.port();
    // The workers bind one after the other: wait for the second.
    let deadline = Instant::now() + Duration::from_secs(10);
    while listening_sockets(port) < 2 {
        assert!(Instant::now() < deadline, "one listening socket, not two");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(listening_sockets(port), 2);

    // The kernel spreads new connections over both sockets: a worker that did not accept would
    // leave about half of them hanging (all 32 on one socket: odds of 2^-31).
    let token = stack.token_a("read:timesheets");
    let upstream_before = stack.upstream.as_ref().unwrap().hits();
    for _ in 0..32 {
        assert_eq!(
            status_on_a_fresh_connection(&stack, "/v1/timesheets/entries", Some(&token)).await,
            200
        );
    }
    assert_eq!(
        stack.upstream.as_ref().unwrap().hits() - upstream_before,
        32
    );

    // A second gateway on the same address (reuse-port would let it share the sockets and take
    // connections silently) refuses to start, naming the key.
    let mut second = GatewayProcess::spawn(&stack.config_path, stack.dir.path().join("second.log"));
    let status = second.wait_exit(Duration::from_secs(20)).await;
    assert_eq!(status.code(), Some(64), "{}", second.log_text());
    let expected = format!("[server] listen = {}: ", stack.https);
    assert!(
        second.log_text().contains(&expected),
        "{}",
        second.log_text()
    );
    assert_eq!(listening_sockets(port), 2);
    assert_eq!(
        status_on_a_fresh_connection(&stack, "/v1/openapi.json", None).await,
        200,
        "the first gateway still serves"
    );
}

async fn wait_for_log(stack: &Stack, needle: &str) {
    // Generous: on a loaded two-core machine a reload (with its JWKS fetch) can take seconds.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !stack.gateway.log_text().contains(needle) {
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in the log:\n{}",
            stack.gateway.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully_with_exit_code_0() {
    let mut stack = Stack::start(StackOptions {
        // Longer than the test's own waits, so that what happens inside it is the gateway's doing
        // and not the process ending.
        env: vec![("GATEWAY__SERVER__GRACE_PERIOD", "6s".to_owned())],
        ..StackOptions::two_workers()
    })
    .await;
    let res = stack
        .client()
        .get(stack.url(HOST_A, "/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut idle = RawTls::connect(&stack, HOST_A).await;
    idle.send(format!("GET /v1/openapi.json HTTP/1.1\r\nHost: {HOST_A}\r\n\r\n").as_bytes())
        .await;
    assert_eq!(idle.response().await.status, 200);

    stack.gateway.signal("TERM");
    // An idle kept-alive connection is closed when shutdown begins, not at the process's end.
    assert!(
        idle.closed_within(Duration::from_secs(3)).await,
        "the idle connection stayed open during the grace period"
    );
    assert!(
        stack.gateway.child.try_wait().unwrap().is_none(),
        "the gateway exited before its grace period ended"
    );
    let status = stack.gateway.wait_exit(Duration::from_secs(15)).await;
    assert_eq!(status.code(), Some(0), "{}", stack.gateway.log_text());
}
