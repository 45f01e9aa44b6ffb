use serde::{Deserialize, Serialize};
use timesheet_domain::{Principal, PrincipalKind, ScopeSet, TenantId};

/// What one request is: an assertion is valid only for the request it was made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestBinding {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query as the service receives them (`/v1/timesheets/entries?limit=5`).
    pub path_and_query: String,
    pub request_id: String,
}

/// The JWT claims of an assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssertionClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// Request binding: method, path and query, and, in an assertion made for one request
    /// only, its request id. Without `rid` the assertion serves every request with this method,
    /// path and query until it expires (see [`crate::AssertionSigner::sign_reusable`]).
    pub htm: String,
    pub htu: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    /// The principal.
    pub tenant: TenantId,
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    pub kind: PrincipalKind,
    pub scope: ScopeSet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_jti: Option<String>,
    pub token_exp: i64,
}

impl AssertionClaims {
    pub fn principal(&self) -> Principal {
        Principal {
            tenant: self.tenant.clone(),
            subject: self.sub.clone(),
            client_id: self.client_id.clone(),
            kind: self.kind,
            scopes: self.scope,
            token_id: self.token_jti.clone(),
            token_expires_at: self.token_exp,
        }
    }
}
