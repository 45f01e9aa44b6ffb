use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use timesheet_domain::Principal;

use crate::{AssertionClaims, KeyError, RequestBinding, ISSUER};

/// Why an assertion was refused. The service answers every one of them with the same 401 and
/// logs the variant; the caller learns nothing about which check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    #[error("no identity assertion")]
    Missing,
    #[error("identity assertion is malformed")]
    Malformed,
    #[error("identity assertion uses a disallowed algorithm")]
    Algorithm,
    #[error("identity assertion is signed by an unknown key")]
    UnknownKey,
    #[error("identity assertion signature is invalid")]
    Signature,
    #[error("identity assertion has expired")]
    Expired,
    #[error("identity assertion is for another issuer or audience")]
    Audience,
    #[error("identity assertion was issued in the future")]
    NotYetValid,
    #[error("identity assertion was made for another request")]
    WrongRequest,
}

/// A public key the verifier trusts, optionally named by `kid`.
#[derive(Debug, Clone)]
pub struct VerifierKey {
    pub kid: Option<String>,
    pub public_pem: String,
}

/// Verifies assertions against the gateway's public keys.
#[derive(Clone)]
pub struct AssertionVerifier {
    keys: Vec<(Option<String>, DecodingKey)>,
    validation: Validation,
    leeway_secs: i64,
}

impl std::fmt::Debug for AssertionVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<_> = self.keys.iter().map(|(kid, _)| kid).collect();
        f.debug_struct("AssertionVerifier")
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

impl AssertionVerifier {
    /// Trusts `keys` (SubjectPublicKeyInfo PEM, Ed25519) for assertions addressed to `audience`,
    /// allowing `leeway_secs` of clock skew.
    pub fn new(keys: &[VerifierKey], audience: &str, leeway_secs: u64) -> Result<Self, KeyError> {
        let keys = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                DecodingKey::from_ed_pem(k.public_pem.as_bytes())
                    .map(|key| (k.kid.clone(), key))
                    .map_err(|_| KeyError::Invalid {
                        what: format!("assertion public key #{}", i + 1),
                        expected: "public (SubjectPublicKeyInfo)",
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(KeyError::Invalid {
                what: "the list of assertion public keys (empty)".into(),
                expected: "public",
            });
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = leeway_secs;
        Ok(Self {
            keys,
            validation,
            leeway_secs: i64::try_from(leeway_secs).unwrap_or(i64::MAX),
        })
    }

    /// Checks `token` (the header's value) for the request `binding` at `now` (Unix seconds)
    /// and returns the principal it asserts.
    pub fn verify(
        &self,
        token: &str,
        binding: &RequestBinding,
        now: i64,
    ) -> Result<Principal, AssertionError> {
        // Assertions are a few hundred bytes; refuse anything absurd before parsing it.
        if token.is_empty() || token.len() > 8192 {
            return Err(AssertionError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| AssertionError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(AssertionError::Algorithm);
        }
        // A named key answers only to its kid; an unnamed one (a service configured with bare
        // public key files) is tried for any kid, after the named matches.
        let candidates: Vec<&DecodingKey> = match &header.kid {
            Some(kid) => {
                let named = self
                    .keys
                    .iter()
                    .filter(|(k, _)| k.as_deref() == Some(kid.as_str()));
                let unnamed = self.keys.iter().filter(|(k, _)| k.is_none());
                named.chain(unnamed).map(|(_, key)| key).collect()
            }
            None => self.keys.iter().map(|(_, key)| key).collect(),
        };
        if candidates.is_empty() {
            return Err(AssertionError::UnknownKey);
        }
        let mut last = AssertionError::Signature;
        for key in candidates {
            match jsonwebtoken::decode::<AssertionClaims>(token, key, &self.validation) {
                Ok(data) => return self.check_claims(data.claims, binding, now),
                Err(err) => {
                    last = map_error(err.kind());
                    if last != AssertionError::Signature {
                        // Not a key mismatch: another key will not help.
                        return Err(last);
                    }
                }
            }
        }
        Err(last)
    }

    fn check_claims(
        &self,
        claims: AssertionClaims,
        binding: &RequestBinding,
        now: i64,
    ) -> Result<Principal, AssertionError> {
        if claims.iat > now + self.leeway_secs {
            return Err(AssertionError::NotYetValid);
        }
        if claims.exp + self.leeway_secs < now {
            return Err(AssertionError::Expired);
        }
        if !claims.htm.eq_ignore_ascii_case(&binding.method)
            || claims.htu != binding.path_and_query
            || claims
                .rid
                .as_deref()
                .is_some_and(|rid| rid != binding.request_id)
        {
            return Err(AssertionError::WrongRequest);
        }
        Ok(claims.principal())
    }
}

fn map_error(kind: &ErrorKind) -> AssertionError {
    match kind {
        ErrorKind::InvalidSignature => AssertionError::Signature,
        ErrorKind::ExpiredSignature => AssertionError::Expired,
        ErrorKind::ImmatureSignature => AssertionError::NotYetValid,
        ErrorKind::InvalidAudience | ErrorKind::InvalidIssuer => AssertionError::Audience,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => AssertionError::Algorithm,
        _ => AssertionError::Malformed,
    }
}

#[cfg(test)]
mod tests;
