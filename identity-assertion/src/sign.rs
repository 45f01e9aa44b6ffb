use jsonwebtoken::{Algorithm, EncodingKey, Header};
use timesheet_domain::Principal;

use crate::{AssertionClaims, KeyError, RequestBinding, ISSUER};

/// Signs assertions with the gateway's private key. Cheap to clone into each worker.
#[derive(Clone)]
pub struct AssertionSigner {
    key: EncodingKey,
    header: Header,
    audience: String,
    ttl_secs: i64,
}

impl std::fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("kid", &self.header.kid)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl AssertionSigner {
    /// `private_pem` is a PKCS#8 Ed25519 key; `kid` names it so that verifiers can hold the old
    /// and the new key during a rotation; `ttl_secs` bounds how long an assertion is accepted.
    pub fn from_pem(
        private_pem: &str,
        kid: Option<String>,
        audience: &str,
        ttl_secs: i64,
    ) -> Result<Self, KeyError> {
        let key =
            EncodingKey::from_ed_pem(private_pem.as_bytes()).map_err(|_| KeyError::Invalid {
                what: "the assertion signing key".into(),
                expected: "private (PKCS#8)",
            })?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = kid;
        Ok(Self {
            key,
            header,
            audience: audience.to_owned(),
            ttl_secs,
        })
    }

    /// The assertion for `principal` on the request `binding`, issued at `now` (Unix seconds).
    pub fn sign(
        &self,
        principal: &Principal,
        binding: &RequestBinding,
        now: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = AssertionClaims {
            iss: ISSUER.to_owned(),
            aud: self.audience.clone(),
            iat: now,
            // Never outlive the access token it was derived from.
            exp: (now + self.ttl_secs).min(principal.token_expires_at.max(now)),
            htm: binding.method.clone(),
            htu: binding.path_and_query.clone(),
            rid: binding.request_id.clone(),
            tenant: principal.tenant.clone(),
            sub: principal.subject.clone(),
            client_id: principal.client_id.clone(),
            kind: principal.kind,
            scope: principal.scopes,
            token_jti: principal.token_id.clone(),
            token_exp: principal.token_expires_at,
        };
        jsonwebtoken::encode(&self.header, &claims, &self.key)
    }
}
