use super::*;
use crate::fixtures::{self, principal, NOW};
use crate::{generate_keypair, AssertionSigner, AUDIENCE_TIMESHEET_SVC};

fn binding() -> RequestBinding {
    fixtures::binding("/v1/timesheets/upload")
}

struct Fixture {
    signer: AssertionSigner,
    verifier: AssertionVerifier,
}

fn fixture() -> Fixture {
    let pair = generate_keypair().unwrap();
    Fixture {
        signer: AssertionSigner::from_pem(
            &pair.private_pem,
            Some("k1".into()),
            AUDIENCE_TIMESHEET_SVC,
            60,
        )
        .unwrap(),
        verifier: AssertionVerifier::new(
            &[VerifierKey {
                kid: Some("k1".into()),
                public_pem: pair.public_pem,
            }],
            AUDIENCE_TIMESHEET_SVC,
            5,
        )
        .unwrap(),
    }
}

#[test]
fn a_signed_assertion_verifies_to_the_same_principal() {
    let f = fixture();
    let token = f.signer.sign(&principal(), &binding(), NOW).unwrap();
    assert_eq!(
        f.verifier.verify(&token, &binding(), NOW + 10),
        Ok(principal())
    );
}

#[test]
fn an_assertion_for_another_request_is_refused() {
    let f = fixture();
    let token = f.signer.sign(&principal(), &binding(), NOW).unwrap();
    for other in [
        RequestBinding {
            method: "DELETE".into(),
            ..binding()
        },
        RequestBinding {
            path_and_query: "/v1/timesheets/entries".into(),
            ..binding()
        },
        RequestBinding {
            request_id: "req-2".into(),
            ..binding()
        },
    ] {
        assert_eq!(
            f.verifier.verify(&token, &other, NOW),
            Err(AssertionError::WrongRequest)
        );
    }
}

#[test]
fn a_reusable_assertion_serves_any_request_id_but_only_its_method_and_path() {
    let f = fixture();
    let b = binding();
    let signed = f
        .signer
        .sign_reusable(&principal(), &b.method, &b.path_and_query, NOW)
        .unwrap();
    assert_eq!((signed.issued_at, signed.expires_at), (NOW, NOW + 60));
    for request_id in ["req-1", "req-2", ""] {
        let binding = RequestBinding {
            request_id: request_id.into(),
            ..binding()
        };
        assert_eq!(
            f.verifier.verify(&signed.token, &binding, NOW + 30),
            Ok(principal()),
            "request id {request_id:?}"
        );
    }
    for other in [
        RequestBinding {
            method: "DELETE".into(),
            ..binding()
        },
        RequestBinding {
            path_and_query: "/v1/timesheets/upload?dry_run=true".into(),
            ..binding()
        },
    ] {
        assert_eq!(
            f.verifier.verify(&signed.token, &other, NOW),
            Err(AssertionError::WrongRequest)
        );
    }
    assert_eq!(
        f.verifier.verify(&signed.token, &binding(), NOW + 60 + 6),
        Err(AssertionError::Expired)
    );
}

#[test]
fn expired_and_future_assertions_are_refused() {
    let f = fixture();
    let token = f.signer.sign(&principal(), &binding(), NOW).unwrap();
    assert_eq!(
        f.verifier.verify(&token, &binding(), NOW + 66),
        Err(AssertionError::Expired)
    );
    assert_eq!(
        f.verifier.verify(&token, &binding(), NOW - 60),
        Err(AssertionError::NotYetValid)
    );
}

#[test]
fn assertions_never_outlive_the_access_token() {
    let f = fixture();
    let mut p = principal();
    p.token_expires_at = NOW + 10;
    let token = f.signer.sign(&p, &binding(), NOW).unwrap();
    assert_eq!(
        f.verifier.verify(&token, &binding(), NOW + 16),
        Err(AssertionError::Expired)
    );
}

#[test]
fn a_key_the_verifier_does_not_trust_is_refused() {
    let f = fixture();
    let stranger = generate_keypair().unwrap();
    let forged = AssertionSigner::from_pem(
        &stranger.private_pem,
        Some("k1".into()),
        AUDIENCE_TIMESHEET_SVC,
        60,
    )
    .unwrap()
    .sign(&principal(), &binding(), NOW)
    .unwrap();
    assert_eq!(
        f.verifier.verify(&forged, &binding(), NOW),
        Err(AssertionError::Signature)
    );
    let unknown_kid = AssertionSigner::from_pem(
        &stranger.private_pem,
        Some("k9".into()),
        AUDIENCE_TIMESHEET_SVC,
        60,
    )
    .unwrap()
    .sign(&principal(), &binding(), NOW)
    .unwrap();
    assert_eq!(
        f.verifier.verify(&unknown_kid, &binding(), NOW),
        Err(AssertionError::UnknownKey)
    );
}

#[test]
fn tampered_claims_break_the_signature() {
    use base64::Engine;
    let f = fixture();
    let token = f.signer.sign(&principal(), &binding(), NOW).unwrap();
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = String::from_utf8(b64.decode(&parts[1]).unwrap()).unwrap();
    parts[1] = b64.encode(payload.replace("exampleco", "othertenant"));
    let tampered = parts.join(".");
    assert_eq!(
        f.verifier.verify(&tampered, &binding(), NOW),
        Err(AssertionError::Signature)
    );
}

#[test]
fn other_audiences_algorithms_and_garbage_are_refused() {
    let f = fixture();
    let pair = generate_keypair().unwrap();
    let wrong_aud = AssertionSigner::from_pem(&pair.private_pem, None, "another-svc", 60).unwrap();
    let verifier = AssertionVerifier::new(
        &[VerifierKey {
            kid: None,
            public_pem: pair.public_pem,
        }],
        AUDIENCE_TIMESHEET_SVC,
        5,
    )
    .unwrap();
    let token = wrong_aud.sign(&principal(), &binding(), NOW).unwrap();
    assert_eq!(
        verifier.verify(&token, &binding(), NOW),
        Err(AssertionError::Audience)
    );

    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &serde_json::json!({"iss": ISSUER, "aud": AUDIENCE_TIMESHEET_SVC, "exp": NOW + 60}),
        &jsonwebtoken::EncodingKey::from_secret(b"guess"),
    )
    .unwrap();
    assert_eq!(
        f.verifier.verify(&hs, &binding(), NOW),
        Err(AssertionError::Algorithm)
    );
    for garbage in ["", "a.b", "not a token", "e30.e30.", &"x".repeat(9000)] {
        assert_eq!(
            f.verifier.verify(garbage, &binding(), NOW),
            Err(AssertionError::Malformed),
            "{garbage:.20}"
        );
    }
}

#[test]
fn no_keys_is_a_configuration_error() {
    assert!(AssertionVerifier::new(&[], AUDIENCE_TIMESHEET_SVC, 5).is_err());
}

#[test]
fn keys_written_by_openssl_in_pkcs8_v1_sign_too() {
    // The example key pair of RFC 8410 §10, in the PKCS#8 v1 form `openssl genpkey` writes.
    let private = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
    let public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
    let signer = AssertionSigner::from_pem(private, None, AUDIENCE_TIMESHEET_SVC, 60).unwrap();
    let verifier = AssertionVerifier::new(
        &[VerifierKey {
            kid: None,
            public_pem: public.into(),
        }],
        AUDIENCE_TIMESHEET_SVC,
        5,
    )
    .unwrap();
    let token = signer.sign(&principal(), &binding(), NOW).unwrap();
    assert_eq!(verifier.verify(&token, &binding(), NOW), Ok(principal()));
}

#[test]
fn a_public_key_is_not_a_signing_key() {
    let pair = generate_keypair().unwrap();
    assert!(AssertionSigner::from_pem(&pair.public_pem, None, AUDIENCE_TIMESHEET_SVC, 60).is_err());
    assert!(AssertionSigner::from_pem("not pem", None, AUDIENCE_TIMESHEET_SVC, 60).is_err());
}

#[test]
fn an_unnamed_key_verifies_assertions_whatever_their_kid() {
    // A service configured with bare public key files trusts them for any kid the gateway uses.
    let pair = generate_keypair().unwrap();
    let verifier = AssertionVerifier::new(
        &[VerifierKey {
            kid: None,
            public_pem: pair.public_pem,
        }],
        AUDIENCE_TIMESHEET_SVC,
        5,
    )
    .unwrap();
    let named = AssertionSigner::from_pem(
        &pair.private_pem,
        Some("gw-1".into()),
        AUDIENCE_TIMESHEET_SVC,
        60,
    )
    .unwrap()
    .sign(&principal(), &binding(), NOW)
    .unwrap();
    let stranger = generate_keypair().unwrap();
    let forged = AssertionSigner::from_pem(
        &stranger.private_pem,
        Some("gw-1".into()),
        AUDIENCE_TIMESHEET_SVC,
        60,
    )
    .unwrap()
    .sign(&principal(), &binding(), NOW)
    .unwrap();

    assert_eq!(
        verifier.verify(&named, &binding(), NOW).unwrap(),
        principal()
    );
    assert_eq!(
        verifier.verify(&forged, &binding(), NOW),
        Err(AssertionError::Signature)
    );
}
