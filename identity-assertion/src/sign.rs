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
/// The gateway signs once per request, so the key is parsed once here and the JWS is put
/// together directly (header precomputed, claims, Ed25519 signature): a general-purpose JWT
/// encoder would parse the PKCS#8 key again on every call.
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
        let mut header = serde_json::json!({"typ": "JWT", "alg": "EdDSA"});
        if let Some(kid) = &kid {
            header["kid"] = serde_json::Value::String(kid.clone());
        }
        let header_prefix = format!("{}.", URL_SAFE_NO_PAD.encode(header.to_string()));
        Ok(Self {
            key: Arc::new(key),
            header_prefix: header_prefix.into(),
            kid,
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
    ) -> Result<String, SignError> {
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
        let claims = serde_json::to_vec(&claims)?;
        let mut token = String::with_capacity(self.header_prefix.len() + claims.len() * 2 + 90);
        token.push_str(&self.header_prefix);
        URL_SAFE_NO_PAD.encode_string(&claims, &mut token);
        let signature = self.key.sign(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
        Ok(token)
    }
}
