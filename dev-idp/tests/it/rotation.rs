//! Signing key rotation in Auth0's two steps, and keys persisted across restarts.

use std::os::unix::fs::PermissionsExt as _;

use serde_json::Value;

use crate::harness::{spawn_idp, spawn_in, IdpOptions, AUDIENCE};

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn kid_of(body: &Value) -> String {
    jsonwebtoken::decode_header(body["access_token"].as_str().unwrap())
        .unwrap()
        .kid
        .unwrap()
}

#[tokio::test]
async fn rotation_then_retirement_moves_tokens_to_the_new_key() {
    let idp = spawn_idp().await;
    let old_token = idp.post_client_token(&[]).await;
    let old_kid = kid_of(&old_token);
    let old_access = old_token["access_token"].as_str().unwrap();

    // Rotate: the new key is published next to the old one and signs from now on.
    let rotated = idp.admin_post("/admin/keys/rotate", None).await;
    let new_kid = rotated["current"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid);
    assert_eq!(
        kids(&idp.jwks().await),
        vec![old_kid.clone(), new_kid.clone()]
    );
    let new_token = idp.post_client_token(&[]).await;
    assert_eq!(kid_of(&new_token), new_kid);
    idp.verify(new_token["access_token"].as_str().unwrap(), AUDIENCE)
        .await
        .unwrap();
    // A token of the old key still verifies while that key is published.
    idp.verify(old_access, AUDIENCE).await.unwrap();

    // Retire: only the current key stays published; old tokens no longer verify.
    let retired = idp.admin_post("/admin/keys/retire", None).await;
    assert_eq!(retired["retired"], serde_json::json!([old_kid]));
    assert_eq!(kids(&idp.jwks().await), vec![new_kid.clone()]);
    assert!(idp.verify(old_access, AUDIENCE).await.is_err());
    idp.verify(new_token["access_token"].as_str().unwrap(), AUDIENCE)
        .await
        .unwrap();
    assert!(!idp.keys_dir().join(format!("{old_kid}.pem")).exists());
}

#[tokio::test]
async fn keys_are_reused_across_a_restart_with_the_same_keys_dir() {
    let idp = spawn_idp().await;
    let token = idp.post_client_token(&[]).await;
    let rotated = idp.admin_post("/admin/keys/rotate", None).await;
    let jwks_before = kids(&idp.jwks().await);
    let old_issuer = idp.issuer.clone();
    let dir = idp.stop().await;

    let restarted = spawn_in(dir, IdpOptions::default()).await;

    assert_eq!(kids(&restarted.jwks().await), jwks_before);
    let keys = restarted.admin_get("/admin/keys").await;
    assert_eq!(keys["current"], rotated["current"]);
    // A token issued before the restart verifies against the restarted issuer's JWKS.
    restarted
        .verify_issued_by(
            token["access_token"].as_str().unwrap(),
            AUDIENCE,
            &old_issuer,
        )
        .await
        .unwrap();
    assert_eq!(
        kid_of(&restarted.post_client_token(&[]).await),
        rotated["current"].as_str().unwrap()
    );
}

#[tokio::test]
async fn a_new_keys_dir_gets_a_generated_key_stored_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();

    let idp = spawn_in(dir, IdpOptions::default()).await;

    let kid = kids(&idp.jwks().await).remove(0);
    for file in [format!("{kid}.pem"), "keys.json".to_owned()] {
        let mode = std::fs::metadata(idp.keys_dir().join(&file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(idp.keys_dir().join("keys.json")).unwrap())
            .unwrap();
    assert_eq!(state["current"], kid.as_str());
    assert_eq!(state["published"], serde_json::json!([kid]));
}
