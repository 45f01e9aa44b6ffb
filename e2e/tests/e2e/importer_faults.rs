//! The importer's failure cases, against the real stack: the token endpoint down, a token that
//! expires mid-run, rate limiting, restarts of the gateway and the service mid-run, a SIGKILLed
//! importer, and two runs at once.

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use devstack::ComponentName;
use serde_json::json;

use crate::harness::{describe, Db, TestStack, Who};
use crate::importer::report;
use crate::inbox;

const SOURCE: &str = "contractor-tracker";

/// Uploads per run in the tests that only need the run to finish.
const BATCH: &str = "100";

/// Uploads per run in the tests that interrupt it ([`wait_mid_run`]): small, so that under the
/// test's rate limit the run lasts seconds. With uploads of 100 a run can finish between two of
/// `wait_mid_run`'s looks, and the test would lose its premise.
const SMALL_BATCH: &str = "25";

/// An importer run (`--json`), uploading `batch` entries at a time.
fn long_run(stack: &TestStack, batch: &str) -> tokio::process::Command {
    let mut command = stack.importer_command(&["run", "--json"]);
    command
        .env("IMPORTER__API__BATCH_SIZE", batch)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

async fn count(stack: &TestStack, token: &str) -> usize {
    stack.entries(token, SOURCE).await.len()
}

/// Waits until the API holds some but not all of `total` entries: the run is mid-way.
async fn wait_mid_run(stack: &TestStack, token: &str, total: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = count(stack, token).await;
        assert!(n < total, "the run finished before it could be interrupted");
        if n > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "the run never started uploading");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every external id exactly once, and all of them.
async fn assert_exact(stack: &TestStack, token: &str, total: usize) {
    let entries = stack.entries(token, SOURCE).await;
    let mut ids: Vec<&str> = entries
        .iter()
        .map(|e| e["external_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(entries.len(), total, "no loss");
    assert_eq!(ids.len(), total, "no duplicate");
}

async fn finish(child: tokio::process::Child) -> Output {
    tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the run ends")
        .expect("the run's output")
}

async fn token_endpoint_down_fails_the_run_with_a_clear_message(db: Db) {
    // Arrange
    let stack = TestStack::start(db).await;
    let faults = stack
        .http
        .post(format!("{}admin/faults", stack.env("ISSUER")))
        .bearer_auth(stack.env("IDP_ADMIN_TOKEN"))
        .json(&json!({"token_endpoint": "unavailable"}))
        .send()
        .await
        .unwrap();
    assert!(faults.status().is_success());

    // Act
    let output = stack.importer(&["run", "--json"]).await;

    // Assert
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("token"), "names the token endpoint: {text}");
    stack.finish().await;
}
e2e_test!(token_endpoint_down_fails_the_run_with_a_clear_message);

async fn a_token_expiring_mid_run_is_renewed_and_the_run_completes(db: Db) {
    // Arrange: tokens live 3 s; rate limits stretch the run well beyond that.
    let stack = TestStack::start_with(db, |spec| {
        spec.token_lifetime_secs = 3;
        spec.client_rate_limit = 4;
    })
    .await;
    inbox::write(&stack.inbox, &inbox::many("x", 2000), &[]);

    // Act
    let output = finish(long_run(&stack, BATCH).spawn().unwrap()).await;

    // Assert
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let r = report(&output);
    assert_eq!(r["created"], 2000, "{r}");
    assert!(r["tokens_requested"].as_u64().unwrap() >= 2, "renewed: {r}");
    let reader = stack.token(Who::Reader).await;
    assert_exact(&stack, &reader, 2000).await;
    stack.finish().await;
}
e2e_test!(a_token_expiring_mid_run_is_renewed_and_the_run_completes);

async fn rate_limited_uploads_wait_for_retry_after_and_complete(db: Db) {
    // Arrange: 2 requests per second for the importer's client.
    let stack = TestStack::start_with(db, |spec| spec.client_rate_limit = 2).await;
    inbox::write(&stack.inbox, &inbox::many("r", 1000), &[]);

    // Act
    let output = finish(long_run(&stack, BATCH).spawn().unwrap()).await;

    // Assert
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let r = report(&output);
    assert_eq!(r["created"], 1000, "{r}");
    assert!(r["retries"].as_u64().unwrap() > 0, "429s were retried: {r}");
    let reader = stack.token(Who::Reader).await;
    assert_exact(&stack, &reader, 1000).await;
    stack.finish().await;
}
e2e_test!(rate_limited_uploads_wait_for_retry_after_and_complete);

async fn restarts_of_the_gateway_and_the_service_mid_run_are_survived(db: Db) {
    // Arrange
    let mut stack = TestStack::start_with(db, |spec| spec.client_rate_limit = 20).await;
    let reader = stack.token(Who::Reader).await;
    inbox::write(&stack.inbox, &inbox::many("s", 3000), &[]);
    // Enough attempts that the jitter's luck cannot outrun two restarts.
    let run = long_run(&stack, SMALL_BATCH)
        .env("IMPORTER__API__RETRY__MAX_ATTEMPTS", "12")
        .spawn()
        .unwrap();

    // Act
    wait_mid_run(&stack, &reader, 3000).await;
    stack
        .stack
        .restart_component(ComponentName::Svc)
        .await
        .unwrap();
    stack
        .stack
        .restart_component(ComponentName::Gateway)
        .await
        .unwrap();
    let output = finish(run).await;

    // Assert
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_exact(&stack, &reader, 3000).await;
    stack.finish().await;
}
e2e_test!(restarts_of_the_gateway_and_the_service_mid_run_are_survived);

async fn an_importer_killed_mid_run_and_started_again_ends_exact(db: Db) {
    // Arrange
    let stack = TestStack::start_with(db, |spec| spec.client_rate_limit = 20).await;
    let reader = stack.token(Who::Reader).await;
    inbox::write(&stack.inbox, &inbox::many("k", 3000), &[]);
    let mut run = long_run(&stack, SMALL_BATCH).spawn().unwrap();

    // Act
    wait_mid_run(&stack, &reader, 3000).await;
    run.kill().await.unwrap(); // SIGKILL
    let again = finish(long_run(&stack, BATCH).spawn().unwrap()).await;

    // Assert
    assert_eq!(again.status.code(), Some(0), "{}", describe(&again));
    assert_exact(&stack, &reader, 3000).await;
    let third = stack.importer(&["run", "--json"]).await;
    assert_eq!(
        report(&third)["skipped"],
        3000,
        "all of it is recorded as sent"
    );
    stack.finish().await;
}
e2e_test!(an_importer_killed_mid_run_and_started_again_ends_exact);

async fn a_second_run_while_one_is_in_progress_exits_at_once(db: Db) {
    // Arrange
    let stack = TestStack::start_with(db, |spec| spec.client_rate_limit = 10).await;
    let reader = stack.token(Who::Reader).await;
    inbox::write(&stack.inbox, &inbox::many("l", 2000), &[]);
    let first = long_run(&stack, SMALL_BATCH).spawn().unwrap();
    wait_mid_run(&stack, &reader, 2000).await;

    // Act
    let started = Instant::now();
    let second = stack.importer(&["run", "--json"]).await;
    let waited = started.elapsed();
    let first = finish(first).await;

    // Assert
    assert_eq!(second.status.code(), Some(1), "{}", describe(&second));
    let text = String::from_utf8_lossy(&second.stderr).to_lowercase()
        + &String::from_utf8_lossy(&second.stdout).to_lowercase();
    assert!(text.contains("in progress"), "{text}");
    assert!(
        waited < Duration::from_secs(10),
        "it did not wait for the first run: {waited:?}"
    );
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    assert_exact(&stack, &reader, 2000).await;
    stack.finish().await;
}
e2e_test!(a_second_run_while_one_is_in_progress_exits_at_once);
