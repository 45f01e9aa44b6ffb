//! Access tokens with Auth0's claim layout, and the token response.
//!
//! Machine tokens (client credentials): `iss`, `sub` = `<client_id>@clients`, `aud` (a string),
//! `iat`, `exp`, `azp` = the client id, `gty` = `client-credentials`, `scope`, `jti`, plus
//! `org_id` for a client of an Organization and `permissions` when the API has RBAC on.
//! User tokens (minted on request for tests): the same without `gty`, with the given `sub` and
//! always a `permissions` array.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::keys::{KeyError, SigningKey};

/// The claims of every access token this issuer signs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub azp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gty: Option<String>,
    pub scope: String,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

/// The success body of the token endpoint (and of `POST /admin/tokens`). `Debug` hides the token.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub scope: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// What a token is about; the issuer adds `iss`, times and `jti`.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub sub: String,
    pub azp: &'a str,
    pub audience: &'a str,
    pub scopes: &'a [String],
    pub org_id: Option<&'a str>,
    /// Machine tokens carry `gty`; user tokens do not.
    pub is_machine: bool,
    pub with_permissions: bool,
    pub lifetime_secs: u64,
}

/// 128 random bits, base64url: unique and unguessable.
fn new_jti() -> Result<String, KeyError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| KeyError::Generate)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Signs a token for `subject` with `key`, issued by `issuer` at `now` (Unix seconds).
pub fn mint(
    key: &SigningKey,
    issuer: &str,
    subject: &Subject<'_>,
    now: i64,
) -> Result<TokenResponse, KeyError> {
    let scope = subject.scopes.join(" ");
    let claims = AccessClaims {
        iss: issuer.to_owned(),
        sub: subject.sub.clone(),
        aud: subject.audience.to_owned(),
        iat: now,
        exp: now.saturating_add(i64::try_from(subject.lifetime_secs).unwrap_or(i64::MAX)),
        azp: subject.azp.to_owned(),
        gty: subject.is_machine.then(|| "client-credentials".to_owned()),
        scope: scope.clone(),
        jti: new_jti()?,
        org_id: subject.org_id.map(str::to_owned),
        permissions: subject.with_permissions.then(|| subject.scopes.to_vec()),
    };
    Ok(TokenResponse {
        access_token: key.sign(&claims)?,
        token_type: "Bearer".to_owned(),
        expires_in: subject.lifetime_secs,
        scope,
    })
}
