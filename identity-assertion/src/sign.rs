use std::sync::Arc;

use aws_lc_rs::signature::Ed25519KeyPair;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use timesheet_domain::Principal;

use crate::{AssertionClaims, KeyError, RequestBinding, ISSUER};

/// Why an assertion could not be signed.
#[derive(Debug, thiserror::Error)]
#[error("could not encode the assertion claims")]
pub struct SignError(#[from] serde_json::Error);

/// Signs assertions with the gateway's private key. Cheap to clone into each worker.
///
/// The gateway signs on its request path (every request, when its assertion cache is off), so
/// the key is parsed once here and the JWS is put together directly (header precomputed,
/// claims, Ed25519 signature): a general-purpose JWT encoder would parse the PKCS#8 key again on
/// every call.
#[derive(Clone)]
pub struct AssertionSigner {
    key: Arc<Ed25519KeyPair>,
    /// `base64url(header) + "."`, the same for every assertion of this key.
    header_prefix: Arc<str>,
    kid: Option<String>,
    audience: String,
    ttl_secs: i64,
}

impl std::fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("kid", &self.kid)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl AssertionSigner {
    /// `private_pem` is a PKCS#8 Ed25519 key (v1 as OpenSSL writes it, or v2); `kid` names it so
    /// that verifiers can hold the old and the new key during a rotation; `ttl_secs` bounds how
    /// long an assertion is accepted.
    pub fn from_pem(
        private_pem: &str,
        kid: Option<String>,
        audience: &str,
        ttl_secs: i64,
    ) -> Result<Self, KeyError> {
        let invalid = || KeyError::Invalid {
            what: "the assertion signing key".into(),
            expected: "private (PKCS#8)",
        };
        let der = pem::parse(private_pem).map_err(|_| invalid())?;
        if der.tag() != "PRIVATE KEY" {
            return Err(invalid());
        }
        let key =
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(der.contents()).map_err(|_| invalid())?;
        // jsonwebtoken's own header type, so the bytes are exactly what `jsonwebtoken::encode`
        // wrote before (field order `typ`, `alg`, `kid`): a `serde_json::Value` map would order
        // its keys by whatever serde_json features the build happens to unify.
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid.clone_from(&kid);
        let header = serde_json::to_vec(&header).map_err(|_| invalid())?;
        let header_prefix = format!("{}.", URL_SAFE_NO_PAD.encode(header));
        Ok(Self {
            key: Arc::new(key),
            header_prefix: header_prefix.into(),
            kid,
            audience: audience.to_owned(),
            ttl_secs,
        })
    }

    /// The assertion for `principal` on the request `binding` only (its request id included),
    /// issued at `now` (Unix seconds).
    pub fn sign(
        &self,
        principal: &Principal,
        binding: &RequestBinding,
        now: i64,
    ) -> Result<String, SignError> {
        let claims = self.claims(
            principal,
            &binding.method,
            &binding.path_and_query,
            Some(&binding.request_id),
            now,
        );
        self.encode(&claims)
    }

    /// An assertion for `principal` on every request with `method` and `path_and_query` until
    /// it expires: no request id. A verifier accepts it exactly where it accepts one made per
    /// request, except that the `x-request-id` it arrives with is not checked.
    ///
    /// What that gives up: nothing a verifier without a replay cache had. Whoever holds an
    /// assertion can already send it again with the same `x-request-id` until `exp`; either way
    /// it is good for this principal, method and path only. What it buys: the gateway signs
    /// once per principal and request line, not once per request.
    pub fn sign_reusable(
        &self,
        principal: &Principal,
        method: &str,
        path_and_query: &str,
        now: i64,
    ) -> Result<SignedAssertion, SignError> {
        let claims = self.claims(principal, method, path_and_query, None, now);
        Ok(SignedAssertion {
            token: self.encode(&claims)?,
            issued_at: claims.iat,
            expires_at: claims.exp,
        })
    }

    /// How long an assertion made now is accepted, at most.
    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    fn claims(
        &self,
        principal: &Principal,
        method: &str,
        path_and_query: &str,
        request_id: Option<&str>,
        now: i64,
    ) -> AssertionClaims {
        AssertionClaims {
            iss: ISSUER.to_owned(),
            aud: self.audience.clone(),
            iat: now,
            // Never outlive the access token it was derived from.
            exp: (now + self.ttl_secs).min(principal.token_expires_at.max(now)),
            htm: method.to_owned(),
            htu: path_and_query.to_owned(),
            rid: request_id.map(str::to_owned),
            tenant: principal.tenant.clone(),
            sub: principal.subject.clone(),
            client_id: principal.client_id.clone(),
            kind: principal.kind,
            scope: principal.scopes,
            token_jti: principal.token_id.clone(),
            token_exp: principal.token_expires_at,
        }
    }

    fn encode(&self, claims: &AssertionClaims) -> Result<String, SignError> {
        let claims = serde_json::to_vec(claims)?;
        let mut token = String::with_capacity(self.header_prefix.len() + claims.len() * 2 + 90);
        token.push_str(&self.header_prefix);
        URL_SAFE_NO_PAD.encode_string(&claims, &mut token);
        let signature = self.key.sign(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
        Ok(token)
    }
}

/// An assertion made by [`AssertionSigner::sign_reusable`], with its lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAssertion {
    pub token: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds; not accepted after this (plus the verifier's leeway).
    pub expires_at: i64,
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    use super::*;
    use crate::fixtures::{self, principal, NOW};
    use crate::{generate_keypair, AUDIENCE_TIMESHEET_SVC};

    fn binding() -> RequestBinding {
        fixtures::binding("/v1/timesheets/upload?dry_run=true")
    }

    /// What `jsonwebtoken::encode` makes of the same claims, header and key.
    fn reference(private_pem: &str, kid: Option<&str>, claims: &AssertionClaims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = kid.map(str::to_owned);
        let key = EncodingKey::from_ed_pem(private_pem.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }

    #[test]
    fn the_jws_is_byte_for_byte_what_jsonwebtoken_encodes() {
        // Ed25519 signatures are deterministic, so the whole token can be compared: the same
        // header and claims layout, the same signing input, the same signature.
        let pair = generate_keypair().unwrap();
        for kid in [Some("gw-2026-11"), None] {
            let signer = AssertionSigner::from_pem(
                &pair.private_pem,
                kid.map(str::to_owned),
                AUDIENCE_TIMESHEET_SVC,
                60,
            )
            .unwrap();
            let token = signer.sign(&principal(), &binding(), NOW).unwrap();
            let signed = token.rsplit_once('.').unwrap().0;
            let claims: AssertionClaims = serde_json::from_slice(
                &URL_SAFE_NO_PAD
                    .decode(signed.split_once('.').unwrap().1)
                    .unwrap(),
            )
            .unwrap();
            assert_eq!(
                token,
                reference(&pair.private_pem, kid, &claims),
                "kid {kid:?}"
            );
        }
    }

    #[test]
    fn the_header_names_the_algorithm_type_and_key() {
        let pair = generate_keypair().unwrap();
        let signer =
            AssertionSigner::from_pem(&pair.private_pem, Some("k1".into()), "aud", 60).unwrap();
        let token = signer.sign(&principal(), &binding(), NOW).unwrap();
        let header = URL_SAFE_NO_PAD
            .decode(token.split_once('.').unwrap().0)
            .unwrap();
        assert_eq!(header, br#"{"typ":"JWT","alg":"EdDSA","kid":"k1"}"#);
    }
}
