//! Reusing tokens: in memory, across concurrent callers, and across runs through the cache file.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use timesheet_client::retry::RetryPolicy;
use timesheet_client::{AuthConfig, TokenManager};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::support::*;

fn manager(auth: &AuthConfig) -> TokenManager {
    TokenManager::new(auth, RetryPolicy::from(&fast_retry())).unwrap()
}

fn with_cache_file(idp: &MockServer, file: &Path) -> AuthConfig {
    let mut auth = auth_config(idp);
    auth.token_cache_file = Some(file.to_path_buf());
    auth
}

fn mode(file: &Path) -> u32 {
    std::fs::metadata(file).unwrap().permissions().mode() & 0o777
}

fn file_json(file: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_fresh_token_is_reused_until_the_refresh_margin() {
    // 2 s lifetime: the 60 s default margin is capped at half of it, so renewal comes at 1 s.
    let idp = spawn_idp(2).await;
    let tokens = manager(&auth_config(&idp));

    let first = tokens.token().await.unwrap();
    let again = tokens.token().await.unwrap();
    assert_eq!(again.expose_secret(), first.expose_secret());
    assert_eq!(tokens.stats().requests, 1);

    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let renewed = tokens.token().await.unwrap();

    assert_eq!(renewed.expose_secret(), "token-2");
    assert_eq!(tokens.stats().requests, 2);
}

#[tokio::test]
async fn a_smaller_configured_margin_keeps_the_token_longer() {
    let idp = spawn_idp(2).await;
    let mut auth = auth_config(&idp);
    auth.refresh_margin = Duration::ZERO;
    let tokens = manager(&auth);

    let first = tokens.token().await.unwrap();
    // Past the point where the default margin would have renewed it.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let again = tokens.token().await.unwrap();

    assert_eq!(again.expose_secret(), first.expose_secret());
    assert_eq!(tokens.stats().requests, 1);
    let left = first
        .expires_at()
        .duration_since(SystemTime::now())
        .unwrap();
    assert!(left <= secs(1), "{left:?}");
}

#[tokio::test]
async fn fifty_concurrent_callers_on_an_empty_cache_share_one_request() {
    let idp = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        // Slow enough that every caller arrives while the first request is in flight.
        .respond_with(SequentialTokensDelayed::new())
        .mount(&idp)
        .await;
    let tokens = Arc::new(manager(&auth_config(&idp)));

    let calls = (0..50).map(|_| {
        let tokens = Arc::clone(&tokens);
        tokio::spawn(async move { tokens.token().await.map(|t| t.expose_secret().to_owned()) })
    });
    let results: Vec<String> = futures_join(calls).await;

    assert_eq!(results.len(), 50);
    assert!(results.iter().all(|t| t == "token-1"), "{results:?}");
    assert_eq!(tokens.stats().requests, 1);
    assert_eq!(received(&idp, TOKEN_PATH).await.len(), 1);
}

async fn futures_join(
    handles: impl Iterator<Item = tokio::task::JoinHandle<Result<String, timesheet_client::TokenError>>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.unwrap().unwrap());
    }
    out
}

struct SequentialTokensDelayed(SequentialTokens);

impl SequentialTokensDelayed {
    fn new() -> Self {
        Self(SequentialTokens::new(DAY))
    }
}

impl wiremock::Respond for SequentialTokensDelayed {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        self.0
            .respond(request)
            .set_delay(std::time::Duration::from_millis(300))
    }
}

#[tokio::test]
async fn the_cache_file_is_private_and_a_second_run_reuses_its_token() {
    let idp = spawn_idp(DAY).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state/token.json");

    let first_run = manager(&with_cache_file(&idp, &file));
    let token = first_run.token().await.unwrap();
    assert_eq!(mode(&file), 0o600);

    let second_run = manager(&with_cache_file(&idp, &file));
    let reused = second_run.token().await.unwrap();

    assert_eq!(reused.expose_secret(), token.expose_secret());
    assert_eq!(second_run.stats().requests, 0);
    assert_eq!(received(&idp, TOKEN_PATH).await.len(), 1);
    // The directory holds the file and nothing else: no temporary file is left behind.
    assert_eq!(
        std::fs::read_dir(file.parent().unwrap()).unwrap().count(),
        1
    );
}

/// Writes a cache file by hand, in the documented format.
fn write_cache_file(idp: &MockServer, file: &Path, issued_at: u64, expires_at: u64) {
    let body = json!({
        "version": 1,
        "key": {
            "token_url": token_url(idp).to_string(),
            "client_id": CLIENT_ID,
            "audience": AUDIENCE,
            "resource": null,
            "scope": null,
        },
        "access_token": "token-from-file",
        "issued_at": issued_at,
        "expires_at": expires_at,
    });
    std::fs::write(file, serde_json::to_vec(&body).unwrap()).unwrap();
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[tokio::test]
async fn a_valid_hand_written_cache_file_is_used() {
    let idp = spawn_idp(DAY).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token.json");
    write_cache_file(&idp, &file, now_secs(), now_secs() + DAY);

    let tokens = manager(&with_cache_file(&idp, &file));

    assert_eq!(
        tokens.token().await.unwrap().expose_secret(),
        "token-from-file"
    );
    assert_eq!(tokens.stats().requests, 0);
}

/// Runs one manager over a cache file that must be ignored, and checks that it asked for a
/// token and replaced the file with a private one holding the new token.
async fn assert_ignored_and_replaced(idp: &MockServer, auth: &AuthConfig) {
    let file = auth.token_cache_file.clone().unwrap();
    let tokens = manager(auth);

    let token = tokens.token().await.unwrap();

    assert_eq!(token.expose_secret(), "token-1");
    assert_eq!(tokens.stats().requests, 1);
    assert_eq!(file_json(&file)["access_token"], "token-1");
    assert_eq!(mode(&file), 0o600);
    assert_eq!(received(idp, TOKEN_PATH).await.len(), 1);
}

#[tokio::test]
async fn an_expired_cache_file_is_ignored_and_replaced() {
    let idp = spawn_idp(DAY).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token.json");
    write_cache_file(&idp, &file, now_secs() - DAY - 10, now_secs() - 10);

    assert_ignored_and_replaced(&idp, &with_cache_file(&idp, &file)).await;
}

#[tokio::test]
async fn a_corrupt_cache_file_is_ignored_and_replaced() {
    let idp = spawn_idp(DAY).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token.json");
    std::fs::write(&file, b"{\"version\": 1, \"access_token\": \"trunc").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();

    assert_ignored_and_replaced(&idp, &with_cache_file(&idp, &file)).await;
}

#[tokio::test]
async fn a_world_readable_cache_file_is_ignored_and_replaced() {
    let idp = spawn_idp(DAY).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token.json");
    write_cache_file(&idp, &file, now_secs(), now_secs() + DAY);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();

    assert_ignored_and_replaced(&idp, &with_cache_file(&idp, &file)).await;
}

#[tokio::test]
async fn a_cache_file_for_another_audience_is_ignored_and_replaced() {
    let idp = spawn_idp(DAY).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token.json");
    write_cache_file(&idp, &file, now_secs(), now_secs() + DAY);
    let mut auth = with_cache_file(&idp, &file);
    auth.audience = Some("https://api.exampleco.com/other".into());

    assert_ignored_and_replaced(&idp, &auth).await;
}

#[tokio::test]
async fn invalidate_drops_the_current_token_and_its_cache_file_only_once() {
    let idp = spawn_idp(DAY).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token.json");
    let tokens = manager(&with_cache_file(&idp, &file));
    let rejected = tokens.token().await.unwrap();

    assert!(tokens.invalidate(&rejected).await);
    assert!(!file.exists());
    // A second caller holding the same rejected token must not drop the replacement.
    let renewed = tokens.token().await.unwrap();
    assert!(!tokens.invalidate(&rejected).await);

    assert_eq!(renewed.expose_secret(), "token-2");
    assert_eq!(tokens.token().await.unwrap().expose_secret(), "token-2");
    assert_eq!(file_json(&file)["access_token"], "token-2");
    assert_eq!(tokens.stats().requests, 2);
}
