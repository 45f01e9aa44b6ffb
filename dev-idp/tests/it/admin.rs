//! The admin endpoints: the admin token, user tokens, counters and the fault switch.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{error_of, spawn_idp, spawn_idp_with, IdpOptions, ADMIN_TOKEN, AUDIENCE};

#[tokio::test]
async fn admin_endpoints_refuse_a_missing_or_wrong_admin_token() {
    let idp = spawn_idp().await;
    let endpoints = [
        (Method::GET, "/admin/keys"),
        (Method::POST, "/admin/keys/rotate"),
        (Method::POST, "/admin/keys/retire"),
        (Method::GET, "/admin/stats"),
        (Method::POST, "/admin/faults"),
    ];

    for (method, path) in endpoints {
        for token in [
            None,
            Some("wrong-token"),
            Some("test-admin-token-but-longer"),
        ] {
            let response = idp
                .admin(method.clone(), path, token, Some(json!({})))
                .await;
            let challenge = response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .to_owned();
            let (status, error, _) = error_of(response).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} {token:?}"
            );
            assert_eq!(error, "invalid_token");
            assert!(challenge.starts_with("Bearer"), "{challenge}");
        }
    }
    // Nothing was rotated by the refused calls.
    assert_eq!(idp.jwks().await["keys"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn admin_endpoints_are_404_without_an_admin_token_configured() {
    let idp = spawn_idp_with(IdpOptions {
        admin_token: false,
        allow_user_tokens: true,
    })
    .await;

    for path in ["/admin/keys/rotate", "/admin/tokens", "/admin/faults"] {
        let response = idp
            .admin(Method::POST, path, Some(ADMIN_TOKEN), Some(json!({})))
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

fn user_token_request() -> Value {
    json!({
        "sub": "auth0|ana",
        "audience": AUDIENCE,
        "scopes": ["read:timesheets", "create:timesheets"],
        "org_id": "org_acme",
        "expires_in": 120,
    })
}

#[tokio::test]
async fn user_tokens_are_404_unless_enabled_even_with_the_admin_token() {
    let idp = spawn_idp().await;

    let response = idp
        .admin(
            Method::POST,
            "/admin/tokens",
            Some(ADMIN_TOKEN),
            Some(user_token_request()),
        )
        .await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn user_tokens_carry_the_given_subject_and_permissions_when_enabled() {
    let idp = spawn_idp_with(IdpOptions {
        admin_token: true,
        allow_user_tokens: true,
    })
    .await;

    let body = idp
        .admin_post("/admin/tokens", Some(user_token_request()))
        .await;

    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 120);
    let claims = idp
        .verify(body["access_token"].as_str().unwrap(), AUDIENCE)
        .await
        .unwrap();
    assert_eq!(claims.sub, "auth0|ana");
    assert!(claims.gty.is_none());
    assert_eq!(claims.scope, "read:timesheets create:timesheets");
    assert_eq!(
        claims.permissions,
        Some(vec![
            "read:timesheets".to_owned(),
            "create:timesheets".to_owned()
        ])
    );
    assert_eq!(claims.org_id.as_deref(), Some("org_acme"));
    assert_eq!(claims.exp - claims.iat, 120);
}

#[tokio::test]
async fn a_user_token_needs_the_admin_token_and_known_scopes() {
    let idp = spawn_idp_with(IdpOptions {
        admin_token: true,
        allow_user_tokens: true,
    })
    .await;

    let without_admin = idp
        .admin(
            Method::POST,
            "/admin/tokens",
            None,
            Some(user_token_request()),
        )
        .await;
    let mut unknown_scope = user_token_request();
    unknown_scope["scopes"] = json!(["read:everything"]);
    let with_unknown_scope = idp
        .admin(
            Method::POST,
            "/admin/tokens",
            Some(ADMIN_TOKEN),
            Some(unknown_scope),
        )
        .await;

    assert_eq!(without_admin.status(), StatusCode::UNAUTHORIZED);
    let (status, error, description) = error_of(with_unknown_scope).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert!(description.contains("read:everything"), "{description}");
}

#[tokio::test]
async fn stats_count_the_tokens_issued_per_client() {
    let idp = spawn_idp().await;
    idp.post_client_token(&[]).await;
    idp.post_client_token(&[]).await;
    let org = idp
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "org-client"),
            ("client_secret", "org-secret"),
            ("audience", AUDIENCE),
        ])
        .await;
    assert_eq!(org.status(), StatusCode::OK);
    let refused = idp
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "org-client"),
        ])
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    let stats = idp.admin_get("/admin/stats").await;

    assert_eq!(
        stats,
        json!({
            "total": 3,
            "per_client": {"post-client": 2, "org-client": 1},
            "user_tokens": 0,
            "refused": 1,
        })
    );
}

#[tokio::test]
async fn the_fault_switch_makes_the_token_endpoint_503_until_switched_back() {
    let idp = spawn_idp().await;

    let state = idp
        .admin_post(
            "/admin/faults",
            Some(json!({"token_endpoint": "unavailable"})),
        )
        .await;
    assert_eq!(
        state,
        json!({"token_endpoint": "unavailable", "jwks": "ok"})
    );
    let down = idp
        .token_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "post-client"),
            ("client_secret", "post-secret"),
            ("audience", AUDIENCE),
        ])
        .await;
    assert_eq!(down.headers()["retry-after"], "1");
    let (status, error, _) = error_of(down).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
    );
    // The keys stay available: only the token endpoint was switched off.
    idp.jwks().await;

    idp.admin_post("/admin/faults", Some(json!({"token_endpoint": "ok"})))
        .await;

    idp.post_client_token(&[]).await;
}

#[tokio::test]
async fn the_fault_switch_can_take_the_keys_down() {
    let idp = spawn_idp().await;

    idp.admin_post("/admin/faults", Some(json!({"jwks": "unavailable"})))
        .await;

    for path in [
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
    ] {
        let response = idp.http.get(idp.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
    }
    idp.post_client_token(&[]).await;
}

#[tokio::test]
async fn an_unknown_fault_is_invalid_request() {
    let idp = spawn_idp().await;

    let response = idp
        .admin(
            Method::POST,
            "/admin/faults",
            Some(ADMIN_TOKEN),
            Some(json!({"database": "unavailable"})),
        )
        .await;

    let (status, error, _) = error_of(response).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}
