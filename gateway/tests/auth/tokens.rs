//! Valid tokens pass; forged and broken ones are refused with the right reason and the right
//! RFC 6750 challenge, through the whole `Authenticator` with keys from a live JWKS server.

use gateway::auth::{AuthError, Authenticator};
use gateway::respond;
use serde_json::{json, Value};
use timesheet_domain::{PrincipalKind, Scope};

use crate::utils::testkit::{
    encode_json, machine_claims, now, sign_hs256, tamper, with, TestKey, ISSUER,
};
use crate::utils::{
    authenticator, bearer, config, JwksServer, HOST_A, HOST_B, ISSUER_B, ISSUER_ORG,
};

struct Fixture {
    auth: Authenticator,
    rsa: TestKey,
    ec: TestKey,
    ed: TestKey,
    other_tenant: TestKey,
    org: TestKey,
    attacker: TestKey,
    attacker_server: JwksServer,
    _servers: Vec<JwksServer>,
}

async fn fixture() -> Fixture {
    let rsa = TestKey::rsa(0, "rsa-1");
    let ec = TestKey::ec_p256("ec-1");
    let ed = TestKey::ed25519("ed-1");
    let enc = TestKey::rsa(1, "enc-1");
    let other_tenant = TestKey::rsa(1, "other-1");
    let org = TestKey::rsa(1, "org-1");
    let attacker = TestKey::rsa(2, "attacker-1");
    let a = JwksServer::spawn(
        ISSUER,
        vec![
            rsa.jwk_with(json!({"use": "sig", "alg": "RS256"})),
            ec.jwk.clone(),
            ed.jwk.clone(),
            enc.jwk_with(json!({"use": "enc"})),
            json!({"kty": "oct", "kid": "oct-1", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"}),
        ],
    )
    .await;
    let b = JwksServer::spawn(ISSUER_B, vec![other_tenant.jwk.clone()]).await;
    let o = JwksServer::spawn(ISSUER_ORG, vec![org.jwk.clone()]).await;
    let attacker_server = JwksServer::spawn(ISSUER, vec![attacker.jwk.clone()]).await;
    let auth = authenticator(&config(&a, &b, &o, "")).await;
    Fixture {
        auth,
        rsa,
        ec,
        ed,
        other_tenant,
        org,
        attacker,
        attacker_server,
        _servers: vec![a, b, o],
    }
}

impl Fixture {
    async fn at(
        &self,
        host: &str,
        authorization: Option<&str>,
    ) -> Result<timesheet_domain::Principal, AuthError> {
        self.auth.authenticate(Some(host), authorization).await
    }

    async fn token(&self, token: &str) -> Result<timesheet_domain::Principal, AuthError> {
        self.at(HOST_A, Some(&bearer(token))).await
    }
}

#[tokio::test]
async fn valid_tokens_of_every_allowed_key_type_pass() {
    let f = fixture().await;
    for key in [&f.rsa, &f.ec, &f.ed] {
        let p = f.token(&key.sign(&machine_claims(now()))).await.unwrap();
        assert_eq!(p.tenant.as_ref(), "exampleco");
        assert_eq!(p.kind, PrincipalKind::Machine);
        assert!(p.has(Scope::BatchUpload));
    }
    let user = with(machine_claims(now()), "sub", json!("auth0|ana"));
    let user = with(user, "gty", Value::Null);
    let p = f.token(&f.rsa.sign(&user)).await.unwrap();
    assert_eq!(p.kind, PrincipalKind::User);
    assert_eq!(p.subject, "auth0|ana");
}

#[tokio::test]
async fn tenants_are_resolved_by_host_issuer_and_organization() {
    let f = fixture().await;
    let b_claims = with(machine_claims(now()), "iss", json!(ISSUER_B));
    let b_token = f.other_tenant.sign(&b_claims);
    let p = f.at(HOST_B, Some(&bearer(&b_token))).await.unwrap();
    assert_eq!(p.tenant.as_ref(), "other");
    // Tenant B's valid token at tenant A's host.
    assert_eq!(f.token(&b_token).await, Err(AuthError::WrongTenant));
    // Tenant A's valid token at tenant B's host, and at a host of no tenant.
    let a_token = f.rsa.sign(&machine_claims(now()));
    assert_eq!(
        f.at(HOST_B, Some(&bearer(&a_token))).await,
        Err(AuthError::WrongTenant)
    );
    assert_eq!(
        f.at("10.0.0.1", Some(&bearer(&a_token))).await,
        Err(AuthError::WrongTenant)
    );

    let org_claims = with(
        with(machine_claims(now()), "iss", json!(ISSUER_ORG)),
        "org_id",
        json!("org_a"),
    );
    let p = f
        .at("api.example.com", Some(&bearer(&f.org.sign(&org_claims))))
        .await
        .unwrap();
    assert_eq!(p.tenant.as_ref(), "orgco");
    let wrong_org = with(org_claims, "org_id", json!("org_b"));
    assert_eq!(
        f.at("api.example.com", Some(&bearer(&f.org.sign(&wrong_org))))
            .await,
        Err(AuthError::WrongOrganization)
    );
}

/// Each case: a name, the `Authorization` value, and the expected reason.
fn forged_cases(f: &Fixture) -> Vec<(&'static str, Option<String>, &'static str)> {
    let n = now();
    let claims = machine_claims(n);
    let good = f.rsa.sign(&claims);
    let parts: Vec<&str> = good.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    let header = |extra: Value| {
        let mut base = f.rsa.header();
        base.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        base
    };
    let flipped_sig = tamper(s);
    let escalated = with(
        claims.clone(),
        "scope",
        json!("approve:timesheets delete:timesheets"),
    );
    let b = |t: String| Some(bearer(&t));
    vec![
        (
            "alg none",
            b(format!(
                "{}.{p}.",
                encode_json(&json!({"alg": "none", "typ": "JWT", "kid": "rsa-1"}))
            )),
            "alg_not_allowed",
        ),
        (
            "alg none with a signature",
            b(format!(
                "{}.{p}.{s}",
                encode_json(&json!({"alg": "none", "kid": "rsa-1"}))
            )),
            "alg_not_allowed",
        ),
        (
            "hs256 with the rsa public key",
            b(sign_hs256(
                f.rsa.public_pem.as_bytes(),
                &json!({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}),
                &claims,
            )),
            "alg_not_allowed",
        ),
        (
            "rs384 outside the allow-list",
            b(TestKey::rsa(0, "rsa-1")
                .with_alg(jsonwebtoken::Algorithm::RS384)
                .sign(&claims)),
            "alg_not_allowed",
        ),
        (
            "es256 header on an rsa kid",
            b(f.ec.sign_with_header(&json!({"alg": "ES256", "kid": "rsa-1"}), &claims)),
            "key_mismatch",
        ),
        (
            "unknown kid",
            b(f.rsa
                .sign_with_header(&header(json!({"kid": "nope"})), &claims)),
            "unknown_kid",
        ),
        (
            "kid of an enc key",
            b(TestKey::rsa(1, "enc-1").sign(&claims)),
            "unknown_kid",
        ),
        (
            "kid of an oct key",
            b(f.rsa
                .sign_with_header(&header(json!({"kid": "oct-1"})), &claims)),
            "unknown_kid",
        ),
        (
            "no kid",
            b(f.rsa
                .sign_with_header(&json!({"alg": "RS256", "typ": "JWT"}), &claims)),
            "malformed",
        ),
        (
            "tampered payload",
            b(format!("{h}.{}.{s}", encode_json(&escalated))),
            "bad_signature",
        ),
        (
            "tampered signature",
            b(format!("{h}.{p}.{flipped_sig}")),
            "bad_signature",
        ),
        (
            "signature of another token",
            b(format!(
                "{h}.{p}.{}",
                f.rsa.sign(&escalated).rsplit('.').next().unwrap()
            )),
            "bad_signature",
        ),
        (
            "signed by another ec key",
            b(TestKey::ec_p256("ec-1").sign(&claims)),
            "bad_signature",
        ),
        (
            "expired",
            b(f.rsa.sign(&with(claims.clone(), "exp", json!(n - 60)))),
            "expired",
        ),
        (
            "nbf in the future",
            b(f.rsa.sign(&with(claims.clone(), "nbf", json!(n + 600)))),
            "not_yet_valid",
        ),
        (
            "iat in the future",
            b(f.rsa.sign(&with(claims.clone(), "iat", json!(n + 600)))),
            "issued_in_future",
        ),
        (
            "missing exp",
            b(f.rsa.sign(&with(claims.clone(), "exp", Value::Null))),
            "missing_claim",
        ),
        (
            "missing sub",
            b(f.rsa.sign(&with(claims.clone(), "sub", Value::Null))),
            "missing_claim",
        ),
        (
            "wrong iss",
            b(f.rsa
                .sign(&with(claims.clone(), "iss", json!("https://evil.example/")))),
            "wrong_issuer",
        ),
        (
            "iss without trailing slash",
            b(f.rsa.sign(&with(
                claims.clone(),
                "iss",
                json!(ISSUER.trim_end_matches('/')),
            ))),
            "wrong_issuer",
        ),
        (
            "wrong aud",
            b(f.rsa
                .sign(&with(claims.clone(), "aud", json!("https://other.api/")))),
            "wrong_audience",
        ),
        (
            "aud array without a match",
            b(f.rsa.sign(&with(claims.clone(), "aud", json!(["a", "b"])))),
            "wrong_audience",
        ),
        ("empty token", Some("Bearer ".to_owned()), "malformed"),
        ("non-base64", b("eyJ!!!.eyJ***.sig".to_owned()), "malformed"),
        (
            "two dots missing",
            b("eyJhbGciOiJSUzI1NiJ9".to_owned()),
            "malformed",
        ),
        ("one dot missing", b(format!("{h}.{p}")), "malformed"),
        (
            "20 KB token",
            b(format!("{h}.{}.{s}", "A".repeat(20 * 1024))),
            "too_large",
        ),
        (
            "jwe with five parts",
            b(format!(
                "{}.{}.{}.{}.{}",
                encode_json(&json!({"alg": "RSA-OAEP", "enc": "A256GCM"})),
                "a",
                "b",
                "c",
                "d"
            )),
            "malformed",
        ),
        (
            "payload not json",
            b(format!("{h}.{}.{s}", encode_json(&json!("just a string")))),
            "malformed",
        ),
        (
            "crit header",
            b(f.rsa
                .sign_with_header(&header(json!({"crit": ["exp"], "exp": 1})), &claims)),
            "crit_header",
        ),
        (
            "typ wrong",
            b(f.rsa
                .sign_with_header(&header(json!({"typ": "JWE"})), &claims)),
            "unsupported_typ",
        ),
        (
            "jku pointing elsewhere",
            b(f.attacker.sign_with_header(
                &json!({"alg": "RS256", "kid": "attacker-1", "jku": f.attacker_server.jwks_uri()}),
                &claims,
            )),
            "unknown_kid",
        ),
        (
            "jku with our kid",
            b(f.attacker.sign_with_header(
                &json!({"alg": "RS256", "kid": "rsa-1", "jku": f.attacker_server.jwks_uri()}),
                &claims,
            )),
            "bad_signature",
        ),
        (
            "x5u pointing elsewhere",
            b(f.attacker.sign_with_header(
                &json!({"alg": "RS256", "kid": "rsa-1", "x5u": f.attacker_server.jwks_uri()}),
                &claims,
            )),
            "bad_signature",
        ),
        (
            "embedded jwk of the attacker",
            b(f.attacker.sign_with_header(
                &json!({"alg": "RS256", "kid": "rsa-1", "jwk": f.attacker.jwk}),
                &claims,
            )),
            "bad_signature",
        ),
        (
            "token of tenant b at tenant a's host",
            b(f.other_tenant
                .sign(&with(claims.clone(), "iss", json!(ISSUER_B)))),
            "wrong_tenant",
        ),
        ("bearer missing", Some(good.clone()), "unsupported_scheme"),
        (
            "basic credentials",
            Some("Basic dXNlcjpwYXNz".to_owned()),
            "unsupported_scheme",
        ),
        (
            "two tokens",
            Some(format!("Bearer {good} {good}")),
            "malformed",
        ),
        ("no authorization header", None, "missing"),
    ]
}

#[tokio::test]
async fn forged_and_broken_tokens_are_refused_with_the_right_reason_and_challenge() {
    let f = fixture().await;
    let cases = forged_cases(&f);
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    for (name, authorization, reason) in cases {
        let err = f
            .at(HOST_A, authorization.as_deref())
            .await
            .expect_err(name);
        assert_eq!(err.reason(), reason, "{name}: {err}");

        let response = respond::unauthenticated("timesheets", &err);
        assert_eq!(response.status, 401, "{name}");
        let challenge = response.header("www-authenticate").unwrap();
        if matches!(reason, "missing" | "unsupported_scheme") {
            assert_eq!(challenge, "Bearer realm=\"timesheets\"", "{name}");
        } else {
            assert!(
                challenge.starts_with(
                    "Bearer realm=\"timesheets\", error=\"invalid_token\", error_description=\""
                ),
                "{name}: {challenge}"
            );
        }
        // Nothing of the token is echoed back.
        let body = String::from_utf8(response.body.clone()).unwrap();
        if let Some(a) = authorization.as_deref().filter(|a| a.len() > 30) {
            assert!(!body.contains(&a[a.len() - 20..]), "{name}");
            assert!(!challenge.contains(&a[a.len() - 20..]), "{name}");
        }
    }
    // The jku/x5u servers were never asked for anything.
    assert_eq!(f.attacker_server.jwks_hits(), 0);
}

#[tokio::test]
async fn lowercase_bearer_is_accepted() {
    let f = fixture().await;
    let token = f.rsa.sign(&machine_claims(now()));
    let p = f
        .at(HOST_A, Some(&format!("bearer {token}")))
        .await
        .unwrap();
    assert_eq!(p.subject, "importer@clients");
}

#[tokio::test]
async fn a_cached_token_is_not_verified_again() {
    let f = fixture().await;
    let token = f.rsa.sign(&machine_claims(now()));
    let first = f.token(&token).await.unwrap();
    let before = f.auth.stats();
    for _ in 0..50 {
        assert_eq!(f.token(&token).await.unwrap(), first);
    }
    let after = f.auth.stats();
    assert_eq!(
        after.verifications, before.verifications,
        "cache hits skip verification"
    );
    assert_eq!(after.cache_hits, before.cache_hits + 50);
    // The same token at another tenant's host is not served from the cache.
    assert_eq!(
        f.at(HOST_B, Some(&bearer(&token))).await,
        Err(AuthError::WrongTenant)
    );
}
