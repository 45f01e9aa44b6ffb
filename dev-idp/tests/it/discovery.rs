//! The JWKS and the OpenID configuration.

use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::spawn_idp;

#[tokio::test]
async fn the_jwks_lists_the_signing_key_as_an_rsa_signature_key_with_a_short_cache() {
    let idp = spawn_idp().await;

    let response = idp
        .http
        .get(idp.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let cache = response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cache.contains("max-age=15"), "{cache}");
    let jwks: Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["e"], "AQAB");
    assert!(key["n"].as_str().unwrap().len() > 300, "a 2048-bit modulus");
    assert!(key.get("d").is_none(), "no private member is published");
}

#[tokio::test]
async fn the_openid_configuration_describes_this_issuer() {
    let idp = spawn_idp().await;

    let response = idp
        .http
        .get(idp.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("cache-control"));
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["issuer"], idp.issuer.as_str());
    assert_eq!(doc["token_endpoint"], format!("{}oauth/token", idp.issuer));
    assert_eq!(doc["grant_types_supported"][0], "client_credentials");
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        serde_json::json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
    assert_eq!(doc["id_token_signing_alg_values_supported"][0], "RS256");
    assert!(doc["token_endpoint_auth_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .contains(&"RS256".into()));
    // The jwks_uri it names serves the keys.
    let jwks = idp
        .http
        .get(doc["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.status(), StatusCode::OK);
}

#[tokio::test]
async fn healthz_answers_ok() {
    let idp = spawn_idp().await;

    let response = idp.http.get(idp.url("/healthz")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}
