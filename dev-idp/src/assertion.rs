//! `private_key_jwt` client authentication (RFC 7523 section 2.2, OpenID Connect Core 9), with
//! the limits Auth0 documents: `iss` = `sub` = the client id, `aud` = the issuer URL (with its
//! trailing slash) or the token endpoint, `exp` in the future but at most 5 minutes away, `iat`
//! and `nbf` with 10 seconds of skew, and a `jti` of at most 64 characters that is never
//! accepted twice.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// `client_assertion_type` for a JWT assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Auth0 accepts these for client assertions.
const ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::RS384, Algorithm::PS256];
const SKEW_SECS: i64 = 10;
const MAX_LIFETIME_SECS: i64 = 300;
const MAX_JTI_LEN: usize = 64;
const MAX_ASSERTION_LEN: usize = 8 * 1024;

/// Why an assertion was refused. `Display` is the `error_description` sent back; it names the
/// check that failed and never contains the assertion.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AssertionError {
    #[error("client_assertion is not a JWT")]
    Malformed,
    #[error("client_assertion is invalid: {0}")]
    Invalid(String),
    #[error("client_assertion must have a jti of at most {MAX_JTI_LEN} characters")]
    BadJti,
    #[error(
        "client_assertion expires too far in the future (at most {MAX_LIFETIME_SECS} seconds)"
    )]
    TooLong,
    #[error("client_assertion is issued in the future")]
    IssuedInFuture,
    #[error("client_assertion jti has already been used")]
    Replayed,
}

#[derive(Deserialize)]
struct Claims {
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    jti: Option<String>,
}

/// The `iss` of an assertion, read *without* verifying it: only to find which client's key to
/// verify it with, when the request does not name the client.
pub fn unverified_issuer(assertion: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Issuer {
        iss: String,
    }
    let payload = assertion.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Issuer>(&bytes).ok().map(|c| c.iss)
}

/// Verifies `assertion` for `client_id` with its public `key`, accepting any of `audiences`, and
/// remembers its `jti` so it cannot be used again.
pub fn verify(
    assertion: &str,
    key: &DecodingKey,
    client_id: &str,
    audiences: &[&str],
    replay: &ReplayCache,
    now: i64,
) -> Result<(), AssertionError> {
    if assertion.len() > MAX_ASSERTION_LEN || assertion.split('.').count() != 3 {
        return Err(AssertionError::Malformed);
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.algorithms = ALGORITHMS.to_vec();
    validation.leeway = SKEW_SECS.unsigned_abs();
    validation.validate_nbf = true;
    validation.set_audience(audiences);
    validation.set_issuer(&[client_id]);
    validation.sub = Some(client_id.to_owned());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let claims = jsonwebtoken::decode::<Claims>(assertion, key, &validation)
        .map_err(|err| AssertionError::Invalid(describe(&err)))?
        .claims;
    if claims.exp > now + MAX_LIFETIME_SECS + SKEW_SECS {
        return Err(AssertionError::TooLong);
    }
    if claims.iat.is_some_and(|iat| iat > now + SKEW_SECS) {
        return Err(AssertionError::IssuedInFuture);
    }
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
        .ok_or(AssertionError::BadJti)?;
    // Only a verified assertion reaches the cache, so nobody can burn another client's jti.
    if !replay.remember(client_id, &jti, claims.exp + SKEW_SECS, now) {
        return Err(AssertionError::Replayed);
    }
    Ok(())
}

fn describe(err: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match err.kind() {
        ErrorKind::InvalidSignature => "bad signature".to_owned(),
        ErrorKind::ExpiredSignature => "expired".to_owned(),
        ErrorKind::ImmatureSignature => "not valid yet (nbf)".to_owned(),
        ErrorKind::InvalidAudience => "aud must be the issuer or the token endpoint".to_owned(),
        ErrorKind::InvalidIssuer => "iss must be the client_id".to_owned(),
        ErrorKind::InvalidSubject => "sub must be the client_id".to_owned(),
        ErrorKind::InvalidAlgorithm => "alg must be RS256, RS384 or PS256".to_owned(),
        ErrorKind::MissingRequiredClaim(claim) => format!("missing claim {claim}"),
        _ => "not a valid signed JWT".to_owned(),
    }
}

/// The `jti`s of accepted assertions, per client, until they expire.
#[derive(Debug, Default)]
pub struct ReplayCache {
    seen: Mutex<HashMap<(String, String), i64>>,
}

impl ReplayCache {
    /// Records `jti` of `client_id` until `until`; false if it is already recorded. Expired
    /// entries are dropped on the way, so the cache holds at most the assertions of the last few
    /// minutes.
    pub fn remember(&self, client_id: &str, jti: &str, until: i64, now: i64) -> bool {
        // Inserting is a single step under the lock, so a poisoned lock still holds a valid map.
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, expiry| *expiry >= now);
        match seen.entry((client_id.to_owned(), jti.to_owned())) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(until);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jti_is_accepted_once_until_it_expires() {
        let cache = ReplayCache::default();
        assert!(cache.remember("c", "j1", 100, 50));
        assert!(!cache.remember("c", "j1", 100, 60));
        assert!(cache.remember("other", "j1", 100, 60));
        // Once expired, the entry is forgotten (the assertion itself would be refused by exp).
        assert!(cache.remember("c", "j1", 300, 101));
    }

    #[test]
    fn the_issuer_is_read_from_the_payload() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"iss":"client-1"}"#);
        assert_eq!(
            unverified_issuer(&format!("e30.{payload}.sig")).as_deref(),
            Some("client-1")
        );
        assert_eq!(unverified_issuer("garbage"), None);
    }
}
