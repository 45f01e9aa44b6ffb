//! Test keys and tokens, shared by the unit tests (`#[cfg(test)]`) and `tests/` (included by
//! path): RSA-2048, EC P-256/P-384 and Ed25519 keys made with aws-lc-rs, their public JWKs, and a
//! signer that writes any header the test wants, so broken and forged tokens are easy to make.
//!
//! What it is not: part of the gateway. It is compiled only into tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING,
    ECDSA_P384_SHA384_FIXED_SIGNING,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};

pub const ISSUER: &str = "https://exampleco.eu.auth0.com/";
pub const AUDIENCE: &str = "https://api.exampleco.com/timesheets";

/// A signing key and the public JWK a JWKS server publishes for it.
#[derive(Clone)]
pub struct TestKey {
    pub kid: String,
    pub alg: Algorithm,
    encoding: EncodingKey,
    /// The public key as a JWK (no `alg`/`use` unless a test adds them).
    pub jwk: Value,
    /// The public key as SPKI PEM: what an attacker would use as an HMAC secret.
    pub public_pem: String,
}

struct RsaMaterial {
    pkcs8_pem: String,
    public_pem: String,
    n: Vec<u8>,
    e: Vec<u8>,
}

/// RSA key generation is the slow part of the tests: a few keys per test binary, made once.
fn rsa_material(slot: usize) -> &'static RsaMaterial {
    static KEYS: OnceLock<Vec<RsaMaterial>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        (0..3)
            .map(|_| {
                let pair =
                    aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
                let pkcs8: Pkcs8V1Der<'static> = pair.as_der().unwrap();
                let spki: PublicKeyX509Der<'static> = pair.public_key().as_der().unwrap();
                RsaMaterial {
                    pkcs8_pem: pem("PRIVATE KEY", pkcs8.as_ref()),
                    public_pem: pem("PUBLIC KEY", spki.as_ref()),
                    n: pair
                        .public_key()
                        .modulus()
                        .big_endian_without_leading_zero()
                        .to_vec(),
                    e: pair
                        .public_key()
                        .exponent()
                        .big_endian_without_leading_zero()
                        .to_vec(),
                }
            })
            .collect()
    });
    &keys[slot % keys.len()]
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl TestKey {
    /// RSA-2048 (one of three shared key pairs, by `slot`), signing RS256.
    pub fn rsa(slot: usize, kid: &str) -> Self {
        let m = rsa_material(slot);
        Self {
            kid: kid.to_owned(),
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_pem(m.pkcs8_pem.as_bytes()).unwrap(),
            jwk: json!({"kty": "RSA", "kid": kid, "n": b64(&m.n), "e": b64(&m.e)}),
            public_pem: m.public_pem.clone(),
        }
    }

    pub fn ec_p256(kid: &str) -> Self {
        Self::ec(
            kid,
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            "P-256",
            Algorithm::ES256,
        )
    }

    pub fn ec_p384(kid: &str) -> Self {
        Self::ec(
            kid,
            &ECDSA_P384_SHA384_FIXED_SIGNING,
            "P-384",
            Algorithm::ES384,
        )
    }

    fn ec(
        kid: &str,
        signing: &'static aws_lc_rs::signature::EcdsaSigningAlgorithm,
        crv: &str,
        alg: Algorithm,
    ) -> Self {
        let pair = EcdsaKeyPair::generate(signing).unwrap();
        let pkcs8 = pair.to_pkcs8v1().unwrap();
        let point = pair.public_key().as_ref().to_vec();
        let len = (point.len() - 1) / 2;
        let spki: PublicKeyX509Der<'static> = pair.public_key().as_der().unwrap();
        Self {
            kid: kid.to_owned(),
            alg,
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({
                "kty": "EC", "kid": kid, "crv": crv,
                "x": b64(&point[1..=len]), "y": b64(&point[len + 1..]),
            }),
            public_pem: pem("PUBLIC KEY", spki.as_ref()),
        }
    }

    pub fn ed25519(kid: &str) -> Self {
        let pair = Ed25519KeyPair::generate().unwrap();
        let pkcs8 = pair.to_pkcs8().unwrap();
        let public = pair.public_key().as_ref().to_vec();
        Self {
            kid: kid.to_owned(),
            alg: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk: json!({"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(&public)}),
            public_pem: String::new(),
        }
    }

    /// The same key signing with another algorithm of its family (RS384, PS256, …).
    pub fn with_alg(mut self, alg: Algorithm) -> Self {
        self.alg = alg;
        self
    }

    /// The JWK with extra members (`use`, `alg`, …) merged in.
    pub fn jwk_with(&self, extra: Value) -> Value {
        let mut jwk = self.jwk.clone();
        if let (Some(obj), Value::Object(more)) = (jwk.as_object_mut(), extra) {
            obj.extend(more);
        }
        jwk
    }

    /// The standard header: `{"alg", "typ": "JWT", "kid"}`.
    pub fn header(&self) -> Value {
        json!({"alg": format!("{:?}", self.alg), "typ": "JWT", "kid": self.kid})
    }

    /// A token with the standard header.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(&self.header(), claims)
    }

    /// A token with exactly `header` (any members), signed with this key and its `alg`.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", encode_json(header), encode_json(claims));
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &self.encoding, self.alg)
            .expect("signing a test token");
        format!("{input}.{signature}")
    }
}

/// base64url(JSON) without padding, as a JWS segment.
pub fn encode_json(value: &Value) -> String {
    b64(value.to_string().as_bytes())
}

/// An HS256 token whose secret is `secret`: the "public key as HMAC secret" forgery.
pub fn sign_hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", encode_json(header), encode_json(claims));
    let signature = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &EncodingKey::from_secret(secret),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{input}.{signature}")
}

/// `{"keys": [...]}`.
pub fn jwks(keys: &[Value]) -> Value {
    json!({ "keys": keys })
}

pub fn now() -> i64 {
    timesheet_domain::unix_now()
}

/// Claims of a valid machine token of [`ISSUER`] for [`AUDIENCE`], issued now, valid an hour.
pub fn machine_claims(now: i64) -> Value {
    json!({
        "iss": ISSUER,
        "sub": "importer@clients",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 3600,
        "azp": "importer",
        "gty": "client-credentials",
        "scope": "batch:upload read:timesheets",
        "jti": "tok-1",
    })
}

/// `claims` with `key` set to `value` (`Value::Null` removes it).
pub fn with(mut claims: Value, key: &str, value: Value) -> Value {
    if let Some(obj) = claims.as_object_mut() {
        if value.is_null() {
            obj.remove(key);
        } else {
            obj.insert(key.to_owned(), value);
        }
    }
    claims
}

/// `segment` with its middle character changed (still base64url). The middle, because the last
/// character of a segment carries padding bits that a strict decoder refuses when changed.
pub fn tamper(segment: &str) -> String {
    let mut chars: Vec<char> = segment.chars().collect();
    let mid = chars.len() / 2;
    chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}
