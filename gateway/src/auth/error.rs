//! [`AuthError`]: every way authentication fails, with a stable reason code for metrics and a
//! description safe to send to the client.
//!
//! What it does not hold: the HTTP rendering (`respond` turns these into 401/503 responses).

use crate::tenant::ResolveError;

/// Why a request was not authenticated.
///
/// Neither `Display` nor [`AuthError::description`] ever includes the token or any claim value,
/// so both may be logged and sent to clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header, or an empty one.
    #[error("no access token")]
    Missing,
    /// An `Authorization` header with a scheme other than `Bearer`.
    #[error("authorization scheme is not bearer")]
    UnsupportedScheme,
    /// Not a well-formed JWS compact token; the text says which part (static, never input).
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// Longer than the gateway accepts; refused before any decoding.
    #[error("token too large")]
    TooLarge,
    /// `alg` is `none`, symmetric, unknown, or not in the tenant's allow-list.
    #[error("algorithm not allowed")]
    AlgNotAllowed,
    /// `typ` is present and not `JWT` or `at+jwt`.
    #[error("unsupported token type")]
    UnsupportedType,
    /// The header has a `crit` parameter; the gateway understands no extensions.
    #[error("critical header extension")]
    CriticalHeader,
    /// A required claim is absent (`exp`, `iss`, `aud`, `sub`).
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    #[error("bad signature")]
    BadSignature,
    /// The tenant's key set has no key with the token's `kid`, even after a refetch.
    #[error("unknown key id")]
    UnknownKid,
    /// The key named by `kid` cannot verify this `alg` (wrong type, curve or declared alg).
    #[error("key does not fit the algorithm")]
    KeyMismatch,
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future, beyond the leeway.
    #[error("token not yet valid")]
    NotYetValid,
    /// `iat` is in the future, beyond the leeway.
    #[error("token issued in the future")]
    IssuedInFuture,
    /// No tenant has this `iss`, or `iss` differs from the resolved tenant's.
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
    /// The token belongs to a tenant that is not served at this host.
    #[error("token of another tenant")]
    WrongTenant,
    /// The token's `org_id` is not the tenant's Auth0 Organization.
    #[error("wrong organization")]
    WrongOrganization,
    /// The tenant's keys could not be fetched and none are cached (or the cache is too stale).
    #[error("signing keys unavailable")]
    JwksUnavailable,
}

impl From<ResolveError> for AuthError {
    fn from(err: ResolveError) -> Self {
        match err {
            ResolveError::WrongIssuer => Self::WrongIssuer,
            ResolveError::WrongTenant => Self::WrongTenant,
            ResolveError::WrongOrganization => Self::WrongOrganization,
        }
    }
}

impl AuthError {
    /// Stable, low-cardinality label for `gateway_auth_failures_total{reason=…}`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::UnsupportedScheme => "unsupported_scheme",
            Self::Malformed(_) => "malformed",
            Self::TooLarge => "too_large",
            Self::AlgNotAllowed => "alg_not_allowed",
            Self::UnsupportedType => "unsupported_typ",
            Self::CriticalHeader => "crit_header",
            Self::MissingClaim(_) => "missing_claim",
            Self::BadSignature => "bad_signature",
            Self::UnknownKid => "unknown_kid",
            Self::KeyMismatch => "key_mismatch",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::WrongTenant => "wrong_tenant",
            Self::WrongOrganization => "wrong_organization",
            Self::JwksUnavailable => "jwks_unavailable",
        }
    }

    /// Text for `error_description` and the problem `detail`. Static, ASCII, no quotes or
    /// backslashes (RFC 6750 §3 restricts the characters), and never any part of the token.
    pub fn description(&self) -> &'static str {
        match self {
            Self::Missing => "an access token is required",
            Self::UnsupportedScheme => "use the Bearer authorization scheme",
            Self::Malformed(what) => what,
            Self::TooLarge => "the access token is too large",
            Self::AlgNotAllowed => "the token signing algorithm is not accepted",
            Self::UnsupportedType => "the token type is not JWT or at+jwt",
            Self::CriticalHeader => "the token uses critical header extensions",
            Self::MissingClaim("exp") => "the token has no exp claim",
            Self::MissingClaim("iss") => "the token has no iss claim",
            Self::MissingClaim("aud") => "the token has no aud claim",
            Self::MissingClaim("sub") => "the token has no sub claim",
            Self::MissingClaim(_) => "the token lacks a required claim",
            Self::BadSignature => "the token signature is invalid",
            Self::UnknownKid => "the token signing key is not known",
            Self::KeyMismatch => "the token signing key does not match its algorithm",
            Self::Expired => "the access token expired",
            Self::NotYetValid => "the access token is not valid yet",
            Self::IssuedInFuture => "the access token was issued in the future",
            Self::WrongIssuer => "the token issuer is not accepted",
            Self::WrongAudience => "the token is not meant for this API",
            Self::WrongTenant => "the token belongs to another tenant",
            Self::WrongOrganization => "the token belongs to another organization",
            Self::JwksUnavailable => "the signing keys cannot be checked right now",
        }
    }

    /// Whether the client sent no usable credentials at all: RFC 6750 §3.1 says the challenge
    /// then carries no error code.
    pub fn is_missing_credentials(&self) -> bool {
        matches!(self, Self::Missing | Self::UnsupportedScheme)
    }

    /// Whether the failure is ours (the identity provider is unreachable), not the client's:
    /// answered with 503 rather than 401.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::JwksUnavailable)
    }
}
