use serde_json::json;
use timesheet_domain::TenantId;

use super::*;
use crate::auth::jwks::parse_jwks;
use crate::ratelimit::RateLimits;
use crate::testkit::{machine_claims, now, with, TestKey, AUDIENCE, ISSUER};

fn tenant(algorithms: &[Algorithm], org_id: Option<&str>) -> TenantConfig {
    TenantConfig {
        id: TenantId::parse("exampleco").unwrap(),
        issuer: ISSUER.to_owned(),
        audiences: vec![AUDIENCE.to_owned(), "urn:other".to_owned()],
        algorithms: algorithms.to_vec(),
        jwks_uri: Some("https://x/jwks.json".to_owned()),
        discovery: None,
        org_id: org_id.map(str::to_owned),
        hostnames: Vec::new(),
        rate_limit: RateLimits::default(),
        leeway: std::time::Duration::from_secs(30),
        cert_file: None,
        key_file: None,
    }
}

fn key_of(jwk: &Value) -> VerifyKey {
    let doc = json!({ "keys": [jwk] }).to_string();
    let keys = parse_jwks(doc.as_bytes()).unwrap();
    let key = keys.values().next().expect("the jwk is usable");
    (**key).clone()
}

/// Inspects and verifies `token` against `key` for an RS256/ES256/EdDSA tenant.
fn check(token: &str, key: &TestKey) -> Result<Principal, AuthError> {
    check_for(
        token,
        key,
        &tenant(
            &[Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA],
            None,
        ),
    )
}

fn check_for(token: &str, key: &TestKey, tenant: &TenantConfig) -> Result<Principal, AuthError> {
    let unverified = inspect(token)?;
    verify(&unverified, tenant, &key_of(&key.jwk), now())
}

#[test]
fn a_valid_machine_token_becomes_a_principal() {
    let key = TestKey::rsa(0, "k1");
    let p = check(&key.sign(&machine_claims(now())), &key).unwrap();
    assert_eq!(p.tenant.as_ref(), "exampleco");
    assert_eq!(p.subject, "importer@clients");
    assert_eq!(p.client_id.as_deref(), Some("importer"));
    assert_eq!(p.kind, PrincipalKind::Machine);
    assert!(p.has(Scope::BatchUpload) && p.has(Scope::ReadTimesheets));
    assert!(!p.has(Scope::ApproveTimesheets));
    assert_eq!(p.token_id.as_deref(), Some("tok-1"));
    assert!(p.token_expires_at > now());
}

#[test]
fn user_tokens_take_scopes_from_scp_and_permissions() {
    let key = TestKey::ec_p256("ec1");
    let claims = json!({
        "iss": ISSUER, "sub": "auth0|ana", "aud": ["urn:nope", AUDIENCE],
        "exp": now() + 60, "client_id": "spa",
        "scp": ["read:timesheets", "openid"], "permissions": ["approve:timesheets"],
    });
    let p = check(&key.sign(&claims), &key).unwrap();
    assert_eq!(p.kind, PrincipalKind::User);
    assert_eq!(p.client_id.as_deref(), Some("spa"));
    assert!(p.has(Scope::ReadTimesheets) && p.has(Scope::ApproveTimesheets));
    let claims = with(claims, "scp", json!("create:timesheets update:timesheets"));
    let p = check(&key.sign(&claims), &key).unwrap();
    assert!(p.has(Scope::CreateTimesheets) && p.has(Scope::UpdateTimesheets));
}

#[test]
fn ed25519_and_p384_tokens_verify_when_allowed() {
    let ed = TestKey::ed25519("ed1");
    assert!(check(&ed.sign(&machine_claims(now())), &ed).is_ok());
    let p384 = TestKey::ec_p384("p384");
    let t = tenant(&[Algorithm::ES384], None);
    assert!(check_for(&p384.sign(&machine_claims(now())), &p384, &t).is_ok());
    // The same token is refused by a tenant that allows only RS256.
    let t = tenant(&[Algorithm::RS256], None);
    assert_eq!(
        check_for(&p384.sign(&machine_claims(now())), &p384, &t),
        Err(AuthError::AlgNotAllowed)
    );
}

#[test]
fn structural_forgeries_are_refused_before_any_key_is_used() {
    let key = TestKey::rsa(0, "k1");
    let good = key.sign(&machine_claims(now()));
    let (h, rest) = good.split_once('.').unwrap();
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "malformed"),
        ("not-a-jwt".to_owned(), "malformed"),
        ("a.b".to_owned(), "malformed"),
        (format!("{good}.x.y"), "malformed"),
        (format!("{h}.{rest}").replace('.', "!."), "malformed"),
        ("e30.e30.".to_owned(), "malformed"),
        ("bm90IGpzb24.e30.c2ln".to_owned(), "malformed"),
        ("x".repeat(MAX_TOKEN_BYTES + 1), "too_large"),
    ];
    for (token, reason) in cases {
        assert_eq!(
            inspect(&token).map(|_| ()).map_err(|e| e.reason()),
            Err(reason),
            "{token:.40}"
        );
    }
}

#[test]
fn header_forgeries_get_their_own_reasons() {
    let key = TestKey::rsa(0, "k1");
    let claims = machine_claims(now());
    let cases = [
        (json!({"alg": "none", "kid": "k1"}), "alg_not_allowed"),
        (json!({"alg": "None", "kid": "k1"}), "alg_not_allowed"),
        (json!({"alg": "HS256", "kid": "k1"}), "alg_not_allowed"),
        (
            json!({"alg": "RS256", "kid": "k1", "typ": "JOSE+JSON"}),
            "unsupported_typ",
        ),
        (
            json!({"alg": "RS256", "kid": "k1", "crit": ["exp"]}),
            "crit_header",
        ),
        (
            json!({"alg": "RS256", "kid": "k1", "enc": "A256GCM"}),
            "malformed",
        ),
        (json!({"alg": 256, "kid": "k1"}), "malformed"),
        (json!({"kid": "k1"}), "malformed"),
    ];
    for (header, reason) in cases {
        let token = key.sign_with_header(&header, &claims);
        assert_eq!(
            inspect(&token).map(|_| ()).map_err(|e| e.reason()),
            Err(reason),
            "{header}"
        );
    }
    for typ in ["at+jwt", "jwt", "application/at+jwt"] {
        let token =
            key.sign_with_header(&json!({"alg": "RS256", "kid": "k1", "typ": typ}), &claims);
        assert!(check(&token, &key).is_ok(), "{typ}");
    }
}

#[test]
fn claims_are_checked_after_the_signature() {
    let key = TestKey::rsa(0, "k1");
    let n = now();
    let base = machine_claims(n);
    let cases = [
        (with(base.clone(), "exp", json!(n - 31)), "expired"),
        (with(base.clone(), "exp", Value::Null), "missing_claim"),
        (with(base.clone(), "exp", json!("tomorrow")), "malformed"),
        (with(base.clone(), "nbf", json!(n + 120)), "not_yet_valid"),
        (
            with(base.clone(), "iat", json!(n + 120)),
            "issued_in_future",
        ),
        (
            with(base.clone(), "aud", json!("https://other.api")),
            "wrong_audience",
        ),
        (with(base.clone(), "aud", json!([])), "wrong_audience"),
        (with(base.clone(), "aud", Value::Null), "missing_claim"),
        (
            with(base.clone(), "iss", json!("https://evil.example/")),
            "wrong_issuer",
        ),
        (with(base.clone(), "sub", Value::Null), "missing_claim"),
        (with(base.clone(), "scope", json!(42)), "malformed"),
    ];
    for (claims, reason) in cases {
        assert_eq!(
            check(&key.sign(&claims), &key).map_err(|e| e.reason()),
            Err(reason),
            "{claims}"
        );
    }
    // Inside the leeway, time claims pass.
    let lenient = with(with(base, "exp", json!(n - 5)), "nbf", json!(n + 20));
    assert!(check(&key.sign(&lenient), &key).is_ok());
}

#[test]
fn signatures_must_match_the_key() {
    let key = TestKey::rsa(0, "k1");
    let other = TestKey::rsa(1, "k1");
    let token = key.sign(&machine_claims(now()));
    // Signed by another key with the same kid.
    assert_eq!(
        check(&other.sign(&machine_claims(now())), &key),
        Err(AuthError::BadSignature)
    );
    // Tampered payload: claims changed, signature kept.
    let parts: Vec<&str> = token.split('.').collect();
    let forged_claims = with(machine_claims(now()), "scope", json!("approve:timesheets"));
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        crate::testkit::encode_json(&forged_claims),
        parts[2]
    );
    assert_eq!(check(&tampered, &key), Err(AuthError::BadSignature));
    // Tampered signature.
    let sig = crate::testkit::tamper(parts[2]);
    assert_eq!(
        check(&format!("{}.{}.{sig}", parts[0], parts[1]), &key),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn algorithm_confusion_is_refused() {
    let key = TestKey::rsa(0, "k1");
    let claims = machine_claims(now());
    // HS256 signed with the RSA public key as the HMAC secret.
    let hs = crate::testkit::sign_hs256(
        key.public_pem.as_bytes(),
        &json!({"alg": "HS256", "typ": "JWT", "kid": "k1"}),
        &claims,
    );
    assert_eq!(check(&hs, &key), Err(AuthError::AlgNotAllowed));
    // An RSA key cannot verify ES256, even when the tenant allows ES256.
    let es_header = json!({"alg": "ES256", "typ": "JWT", "kid": "k1"});
    let ec = TestKey::ec_p256("k1");
    assert_eq!(
        check(&ec.sign_with_header(&es_header, &claims), &key),
        Err(AuthError::KeyMismatch)
    );
    // A key that declares RS256 does not verify PS256, and RS384 is outside the allow-list.
    let ps = TestKey::rsa(0, "k1").with_alg(Algorithm::PS256);
    let pinned = TestKey::rsa(0, "k1");
    let pinned_key = key_of(&pinned.jwk_with(json!({"alg": "RS256"})));
    let t = tenant(&[Algorithm::RS256, Algorithm::PS256], None);
    let token = ps.sign(&claims);
    assert_eq!(
        verify(&inspect(&token).unwrap(), &t, &pinned_key, now()),
        Err(AuthError::KeyMismatch)
    );
    let rs384 = TestKey::rsa(0, "k1").with_alg(Algorithm::RS384);
    assert_eq!(
        check(&rs384.sign(&claims), &key),
        Err(AuthError::AlgNotAllowed)
    );
}

#[test]
fn embedded_keys_and_key_urls_are_ignored() {
    // The attacker signs with their own key and points at it every way JOSE allows; the token
    // is checked against the tenant's key only, and fails.
    let ours = TestKey::rsa(0, "k1");
    let attacker = TestKey::rsa(2, "k1");
    let header = json!({
        "alg": "RS256", "typ": "JWT", "kid": "k1",
        "jwk": attacker.jwk,
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
        "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],
    });
    let token = attacker.sign_with_header(&header, &machine_claims(now()));
    assert_eq!(check(&token, &ours), Err(AuthError::BadSignature));
}

#[test]
fn organizations_are_enforced_after_the_signature() {
    let key = TestKey::rsa(0, "k1");
    let t = tenant(&[Algorithm::RS256], Some("org_a"));
    let claims = with(machine_claims(now()), "org_id", json!("org_a"));
    assert!(check_for(&key.sign(&claims), &key, &t).is_ok());
    let claims = with(claims, "org_id", json!("org_b"));
    assert_eq!(
        check_for(&key.sign(&claims), &key, &t),
        Err(AuthError::WrongOrganization)
    );
}

#[test]
fn descriptions_never_echo_the_token() {
    let key = TestKey::rsa(0, "k1");
    let token = key.sign(&with(machine_claims(now()), "exp", json!(1)));
    let err = check(&token, &key).unwrap_err();
    assert!(!err.description().contains(&token[..20]));
    assert!(!err.to_string().contains(&token[..20]));
}
