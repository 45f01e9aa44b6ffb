//! What a successful token request returns: Auth0's response body and claims, verified against
//! the published JWKS as a relying party would.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{now, spawn_idp, AUDIENCE, OTHER_AUDIENCE};

#[tokio::test]
async fn a_machine_token_carries_auth0s_claims_and_verifies_against_the_jwks() {
    let idp = spawn_idp().await;

    let response = idp
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "post-client"),
            ("client_secret", "post-secret"),
            ("audience", AUDIENCE),
        ])
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    assert_eq!(
        body["scope"],
        "read:timesheets create:timesheets batch:upload"
    );
    let token = body["access_token"].as_str().unwrap();

    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let kid = header.kid.unwrap();
    assert_eq!(idp.jwks().await["keys"][0]["kid"], kid.as_str());

    let claims = idp.verify(token, AUDIENCE).await.unwrap();
    assert_eq!(claims.iss, idp.issuer);
    assert!(claims.iss.ends_with('/'));
    assert_eq!(claims.sub, "post-client@clients");
    assert_eq!(claims.aud, AUDIENCE);
    assert_eq!(claims.azp, "post-client");
    assert_eq!(claims.gty.as_deref(), Some("client-credentials"));
    assert_eq!(
        claims.scope,
        "read:timesheets create:timesheets batch:upload"
    );
    assert_eq!(
        claims.permissions,
        Some(vec![
            "read:timesheets".to_owned(),
            "create:timesheets".to_owned(),
            "batch:upload".to_owned()
        ])
    );
    assert_eq!(claims.exp - claims.iat, 600);
    assert!(claims.iat.abs_diff(now()) < 5);
    assert!(claims.org_id.is_none());
    assert!(!claims.jti.is_empty());
}

#[tokio::test]
async fn the_aud_claim_is_a_string() {
    let idp = spawn_idp().await;
    let body = idp.post_client_token(&[]).await;
    let token = body["access_token"].as_str().unwrap();

    let payload = token.split('.').nth(1).unwrap();
    let raw: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();

    assert_eq!(raw["aud"], json!(AUDIENCE));
}

#[tokio::test]
async fn json_and_form_bodies_give_the_same_token() {
    let idp = spawn_idp().await;

    let from_form = idp.post_client_token(&[("scope", "batch:upload")]).await;
    let from_json: Value = idp
        .token_json(&json!({
            "grant_type": "client_credentials",
            "client_id": "post-client",
            "client_secret": "post-secret",
            "audience": AUDIENCE,
            "scope": "batch:upload",
        }))
        .await
        .json()
        .await
        .unwrap();

    for body in [&from_form, &from_json] {
        let claims = idp
            .verify(body["access_token"].as_str().unwrap(), AUDIENCE)
            .await
            .unwrap();
        assert_eq!(claims.sub, "post-client@clients");
        assert_eq!(claims.scope, "batch:upload");
    }
    assert_ne!(from_form["access_token"], from_json["access_token"]);
}

#[tokio::test]
async fn the_scope_parameter_narrows_the_granted_scopes() {
    let idp = spawn_idp().await;

    let body = idp
        .post_client_token(&[("scope", "batch:upload read:timesheets")])
        .await;

    // The grant's order, whatever order the request used.
    assert_eq!(body["scope"], "read:timesheets batch:upload");
    let claims = idp
        .verify(body["access_token"].as_str().unwrap(), AUDIENCE)
        .await
        .unwrap();
    assert_eq!(claims.scope, "read:timesheets batch:upload");
    assert_eq!(
        claims.permissions.unwrap(),
        vec!["read:timesheets".to_owned(), "batch:upload".to_owned()]
    );
}

#[tokio::test]
async fn a_client_of_an_organization_gets_its_org_id() {
    let idp = spawn_idp().await;

    let response = idp
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "org-client"),
            ("client_secret", "org-secret"),
            ("audience", AUDIENCE),
            ("organization", "org_other"),
        ])
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let claims = idp
        .verify(body["access_token"].as_str().unwrap(), AUDIENCE)
        .await
        .unwrap();
    assert_eq!(claims.org_id.as_deref(), Some("org_other"));
    assert_eq!(claims.sub, "org-client@clients");
}

#[tokio::test]
async fn an_api_without_rbac_gets_no_permissions_claim() {
    let idp = spawn_idp().await;

    let response = idp
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "post-client"),
            ("client_secret", "post-secret"),
            ("audience", OTHER_AUDIENCE),
        ])
        .await;

    let body: Value = response.json().await.unwrap();
    let claims = idp
        .verify(body["access_token"].as_str().unwrap(), OTHER_AUDIENCE)
        .await
        .unwrap();
    assert_eq!(claims.aud, OTHER_AUDIENCE);
    assert_eq!(claims.scope, "read:other");
    assert!(claims.permissions.is_none());
}

#[tokio::test]
async fn every_token_has_its_own_jti() {
    let idp = spawn_idp().await;

    let first = idp.post_client_token(&[]).await;
    let second = idp.post_client_token(&[]).await;

    let mut jtis = Vec::new();
    for body in [first, second] {
        let token = body["access_token"].as_str().unwrap();
        jtis.push(idp.verify(token, AUDIENCE).await.unwrap().jti);
    }
    assert_ne!(jtis[0], jtis[1]);
}
