//! The JWK Set document (RFC 7517) as the gateway reads it: which keys are kept, which skipped.
//!
//! Kept: `kty` RSA (n ≥ 2048 bits), EC (P-256, P-384) and OKP (Ed25519), with a `kid`, `use`
//! absent or `sig`, `key_ops` absent or containing `verify`, and `alg` absent or an asymmetric
//! algorithm that fits the key. Everything else is skipped one key at a time, so one odd key does
//! not hide the others. Symmetric (`oct`) keys are never kept.
//!
//! What it does not hold: fetching and caching (the parent module).

use std::collections::HashMap;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;

use super::family_fits;
use crate::trust::SUPPORTED_ALGORITHMS;

/// The kind of public key, which decides the algorithms it can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    Rsa,
    EcP256,
    EcP384,
    Ed25519,
}

/// One verification key from a tenant's JWKS.
#[derive(Clone)]
pub struct VerifyKey {
    kid: String,
    family: KeyFamily,
    /// The key's declared `alg`, if any: the key then verifies only that algorithm.
    alg: Option<Algorithm>,
    decoding: DecodingKey,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("family", &self.family)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl VerifyKey {
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn family(&self) -> KeyFamily {
        self.family
    }

    /// Whether this key may verify a token signed with `alg`: the family must fit, and a
    /// declared `alg` must be exactly `alg`.
    pub fn fits(&self, alg: Algorithm) -> bool {
        family_fits(self.family, alg) && self.alg.is_none_or(|own| own == alg)
    }

    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }
}

#[derive(Debug, Deserialize)]
struct RawJwks {
    keys: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct RawJwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// The document is not a JSON object with a `keys` array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a JWK set document")]
pub struct NotJwks;

/// Parses a JWKS document into usable keys by `kid`; an empty map when no key is usable.
pub fn parse_jwks(body: &[u8]) -> Result<HashMap<String, Arc<VerifyKey>>, NotJwks> {
    let doc: RawJwks = serde_json::from_slice(body).map_err(|_| NotJwks)?;
    let mut keys = HashMap::new();
    for value in doc.keys {
        match serde_json::from_value::<RawJwk>(value).map_err(|_| "not a JWK object") {
            Ok(raw) => match key_from(raw) {
                Ok(key) => {
                    if keys.contains_key(&key.kid) {
                        // Two keys with one kid: keep the first, the order the provider chose.
                        tracing::warn!(kid = %key.kid, "jwks: duplicate kid skipped");
                        continue;
                    }
                    keys.insert(key.kid.clone(), Arc::new(key));
                }
                Err(why) => tracing::debug!(reason = why, "jwks: key skipped"),
            },
            Err(why) => tracing::debug!(reason = why, "jwks: key skipped"),
        }
    }
    Ok(keys)
}

fn key_from(raw: RawJwk) -> Result<VerifyKey, &'static str> {
    let kid = raw.kid.filter(|k| !k.is_empty()).ok_or("no kid")?;
    if raw.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err("use is not sig");
    }
    if raw
        .key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|op| op == "verify"))
    {
        return Err("key_ops lacks verify");
    }
    let alg = match raw.alg.as_deref() {
        None => None,
        Some(name) => Some(
            SUPPORTED_ALGORITHMS
                .into_iter()
                .find(|a| format!("{a:?}") == name)
                .ok_or("alg not supported")?,
        ),
    };
    let (family, decoding) = match raw.kty.as_str() {
        "RSA" => {
            let n = raw.n.as_deref().ok_or("rsa key without n")?;
            let e = raw.e.as_deref().ok_or("rsa key without e")?;
            let modulus = b64(n)?;
            let significant = modulus.iter().skip_while(|b| **b == 0).count();
            if significant < 256 {
                return Err("rsa key shorter than 2048 bits");
            }
            let exponent = b64(e)?;
            if exponent.is_empty() || exponent.len() > 8 {
                return Err("rsa exponent out of range");
            }
            (
                KeyFamily::Rsa,
                DecodingKey::from_rsa_raw_components(&modulus, &exponent),
            )
        }
        "EC" => {
            let (family, len) = match raw.crv.as_deref() {
                Some("P-256") => (KeyFamily::EcP256, 32),
                Some("P-384") => (KeyFamily::EcP384, 48),
                _ => return Err("ec curve not supported"),
            };
            let x = raw.x.as_deref().ok_or("ec key without x")?;
            let y = raw.y.as_deref().ok_or("ec key without y")?;
            if b64(x)?.len() != len || b64(y)?.len() != len {
                return Err("ec coordinates of the wrong length");
            }
            let key = DecodingKey::from_ec_components(x, y).map_err(|_| "bad ec key")?;
            (family, key)
        }
        "OKP" => {
            if raw.crv.as_deref() != Some("Ed25519") {
                return Err("okp curve not supported");
            }
            let x = raw.x.as_deref().ok_or("okp key without x")?;
            if b64(x)?.len() != 32 {
                return Err("ed25519 key of the wrong length");
            }
            let key = DecodingKey::from_ed_components(x).map_err(|_| "bad ed25519 key")?;
            (KeyFamily::Ed25519, key)
        }
        _ => return Err("kty not supported"),
    };
    if alg.is_some_and(|a| !family_fits(family, a)) {
        return Err("alg does not fit the key type");
    }
    Ok(VerifyKey {
        kid,
        family,
        alg,
        decoding,
    })
}

fn b64(value: &str) -> Result<Vec<u8>, &'static str> {
    // Some providers pad; the value is ours to decode either way.
    URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map_err(|_| "not base64url")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsa_jwk(kid: &str, extra: Value) -> Value {
        let n = URL_SAFE_NO_PAD.encode([0xC5u8; 256]);
        let mut jwk = serde_json::json!({"kty": "RSA", "kid": kid, "n": n, "e": "AQAB"});
        if let (Some(obj), Value::Object(more)) = (jwk.as_object_mut(), extra) {
            obj.extend(more);
        }
        jwk
    }

    #[test]
    fn usable_keys_are_kept_and_others_skipped() {
        let small_n = URL_SAFE_NO_PAD.encode([0xC5u8; 128]);
        let doc = serde_json::json!({"keys": [
            rsa_jwk("good", serde_json::json!({"use": "sig", "alg": "RS256"})),
            rsa_jwk("enc", serde_json::json!({"use": "enc"})),
            rsa_jwk("ops", serde_json::json!({"key_ops": ["encrypt"]})),
            rsa_jwk("hs", serde_json::json!({"alg": "HS256"})),
            rsa_jwk("es-on-rsa", serde_json::json!({"alg": "ES256"})),
            {"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xC5u8; 256]), "e": "AQAB"},
            {"kty": "RSA", "kid": "small", "n": small_n, "e": "AQAB"},
            {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "p521", "crv": "P-521", "x": "AA", "y": "AA"},
            "not an object",
            rsa_jwk("good", serde_json::json!({})),
        ]});
        let keys = parse_jwks(doc.to_string().as_bytes()).unwrap();
        let mut kids: Vec<&str> = keys.keys().map(String::as_str).collect();
        kids.sort_unstable();
        assert_eq!(kids, ["good"]);
        let good = &keys["good"];
        assert!(good.fits(Algorithm::RS256));
        assert!(!good.fits(Algorithm::RS384), "declared alg pins the key");
        assert!(!good.fits(Algorithm::ES256));
    }

    #[test]
    fn documents_that_are_not_jwks_are_errors() {
        assert!(parse_jwks(b"<html>").is_err());
        assert!(parse_jwks(b"{\"nokeys\": []}").is_err());
        assert!(parse_jwks(b"{\"keys\": []}").unwrap().is_empty());
    }
}
