//! Signing-key rotation at the identity provider while requests flow through the gateway.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use crate::harness::{Db, TestStack, Who};

fn kid(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

async fn admin_post(stack: &TestStack, path: &str) {
    let response = stack
        .http
        .post(format!("{}{path}", stack.env("ISSUER")))
        .bearer_auth(stack.env("IDP_ADMIN_TOKEN"))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
}

async fn key_rotation_during_traffic_fails_no_request(db: Db) {
    // Arrange: a reader keeps calling with a token signed by the first key.
    let stack = Arc::new(TestStack::start(db).await);
    let old = stack.token(Who::Reader).await;
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let traffic = {
        let (stack, stop, ok, failed, token) = (
            stack.clone(),
            stop.clone(),
            ok.clone(),
            failed.clone(),
            old.clone(),
        );
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let reply = stack.get("/v1/timesheets/entries?limit=1", &token).await;
                let counter = if reply.status == 200 { &ok } else { &failed };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    // Act: rotate, call with a token of the new key, then retire the old key.
    admin_post(&stack, "admin/keys/rotate").await;
    let new = stack.token(Who::Reader).await;
    let with_new_key = stack.get("/v1/timesheets/entries?limit=1", &new).await;
    let with_old_key = stack.get("/v1/timesheets/entries?limit=1", &old).await;
    admin_post(&stack, "admin/keys/retire").await;
    let after_retire = stack.token(Who::Reader).await;
    let with_newest = stack
        .get("/v1/timesheets/entries?limit=1", &after_retire)
        .await;
    stop.store(true, Ordering::Relaxed);
    traffic.await.unwrap();

    // Assert
    assert_ne!(
        kid(&old),
        kid(&new),
        "tokens after the rotation carry the new key id"
    );
    assert_eq!(kid(&new), kid(&after_retire));
    assert_eq!(
        with_new_key.status, 200,
        "an unknown kid makes the gateway refetch: {}",
        with_new_key.text
    );
    assert_eq!(
        with_old_key.status, 200,
        "the old key is still published: {}",
        with_old_key.text
    );
    assert_eq!(with_newest.status, 200);
    assert!(ok.load(Ordering::Relaxed) > 0, "traffic flowed");
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "no request failed during the rotation"
    );
    let jwks: Value = stack
        .http
        .get(format!("{}.well-known/jwks.json", stack.env("ISSUER")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert_eq!(
        kids,
        vec![kid(&new).as_str()],
        "only the new key is published after retire"
    );
    match Arc::try_unwrap(stack) {
        Ok(stack) => stack.finish().await,
        Err(_) => panic!("the traffic task still holds the stack"),
    }
}
e2e_test!(key_rotation_during_traffic_fails_no_request);
