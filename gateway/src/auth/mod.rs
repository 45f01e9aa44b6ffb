//! Authentication: from an `Authorization` header to a verified [`Principal`].
//!
//! [`Authenticator::authenticate`] is what the proxy's `request_filter` calls. The steady state is
//! one hash and one cache lookup; on a miss it runs `verify::inspect` (structure, no I/O), resolves
//! the tenant, takes the key from the [`JwksCache`] (which may fetch, bounded by the fetch timeout)
//! and `verify::verify`s signature and claims.
//!
//! What it does not hold: route scopes (`policy`) and the HTTP form of failures (`respond`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use timesheet_domain::Principal;

use crate::tenant::TenantRegistry;

mod error;
pub mod jwks;
pub mod token_cache;
pub mod verify;

pub use error::AuthError;
pub use jwks::{FetchError, JwksCache, JwksConfig, TenantJwksStats};
pub use token_cache::{CacheKey, TokenCache, TokenCacheConfig};

/// Counters of the authenticator, for the metrics module.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthStats {
    /// Requests answered from the verified-token cache.
    pub cache_hits: u64,
    /// Full verifications run (cache misses that reached signature checking).
    pub verifications: u64,
}

/// Verifies bearer tokens for every configured tenant.
#[derive(Debug)]
pub struct Authenticator {
    tenants: TenantRegistry,
    jwks: Arc<JwksCache>,
    cache: TokenCache,
    cache_hits: AtomicU64,
    verifications: AtomicU64,
}

impl Authenticator {
    /// An authenticator over `tenants`, taking keys from `jwks` (built for the same tenants,
    /// and primed by the caller before traffic).
    pub fn new(
        tenants: &TenantRegistry,
        token_cache: &TokenCacheConfig,
        jwks: Arc<JwksCache>,
    ) -> Self {
        Self {
            tenants: tenants.clone(),
            jwks,
            cache: TokenCache::new(token_cache),
            cache_hits: AtomicU64::new(0),
            verifications: AtomicU64::new(0),
        }
    }

    pub fn jwks(&self) -> &Arc<JwksCache> {
        &self.jwks
    }

    /// Authenticates a request from its `Host` (or SNI) and `Authorization` header values.
    ///
    /// Returns the verified principal, or the [`AuthError`] to answer with (see `respond`). A
    /// request with several `Authorization` headers must be refused by the caller before this.
    pub async fn authenticate(
        &self,
        host: Option<&str>,
        authorization: Option<&str>,
    ) -> Result<Principal, AuthError> {
        self.authenticate_at(host, authorization, timesheet_domain::unix_now())
            .await
    }

    /// [`Authenticator::authenticate`] at a given Unix time (tests, replays).
    ///
    /// Runs in a `jwt.verify` span recording whether the verified-token cache answered, the
    /// tenant, and the failure reason (never the token).
    #[tracing::instrument(
        name = "jwt.verify",
        // `crate::telemetry::SPAN_TARGET`: made only when traces are exported.
        target = "gateway_span",
        skip_all,
        fields(
            auth.cache_hit = false,
            tenant = tracing::field::Empty,
            error.type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        )
    )]
    pub async fn authenticate_at(
        &self,
        host: Option<&str>,
        authorization: Option<&str>,
        now: i64,
    ) -> Result<Principal, AuthError> {
        let result = self.check(host, authorization, now).await;
        let span = tracing::Span::current();
        match &result {
            Ok(principal) => {
                span.record("tenant", principal.tenant.as_ref());
            }
            Err(err) => {
                span.record("error.type", err.reason());
                span.record("otel.status_code", "ERROR");
            }
        }
        result
    }

    async fn check(
        &self,
        host: Option<&str>,
        authorization: Option<&str>,
        now: i64,
    ) -> Result<Principal, AuthError> {
        let token = bearer_token(authorization)?;
        // Refuse oversized input before hashing it.
        if token.len() > verify::MAX_TOKEN_BYTES {
            return Err(AuthError::TooLarge);
        }
        let key = CacheKey::new(host, token);
        if let Some(principal) = self.cache.get(&key, now) {
            self.cache_hits.fetch_add(1, Ordering::Relaxed);
            tracing::Span::current().record("auth.cache_hit", true);
            return Ok(principal);
        }
        self.cache
            .get_or_verify(key, now, self.verify_token(host, token, now))
            .await
    }

    async fn verify_token(
        &self,
        host: Option<&str>,
        token: &str,
        now: i64,
    ) -> Result<Principal, AuthError> {
        let unverified = verify::inspect(token)?;
        let tenant =
            self.tenants
                .resolve(host, &unverified.issuer, unverified.org_id.as_deref())?;
        // Checked before the key lookup so a disallowed algorithm never causes a fetch.
        if !tenant.algorithms.contains(&unverified.alg) {
            return Err(AuthError::AlgNotAllowed);
        }
        // Auth0 always sets kid; without one we would have to try keys, which is how
        // algorithm-confusion bugs start.
        let kid = unverified
            .kid
            .as_deref()
            .ok_or(AuthError::Malformed("the token header has no kid"))?;
        let key = self.jwks.key(&tenant.id, kid).await?;
        self.verifications.fetch_add(1, Ordering::Relaxed);
        verify::verify(&unverified, tenant, &key, now)
    }

    pub fn stats(&self) -> AuthStats {
        AuthStats {
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            verifications: self.verifications.load(Ordering::Relaxed),
        }
    }
}

/// The token of a `Bearer` `Authorization` value (RFC 6750 §2.1; the scheme is
/// case-insensitive).
///
/// Absent or blank → [`AuthError::Missing`]; another scheme, or a bare token without a scheme →
/// [`AuthError::UnsupportedScheme`]; `Bearer` without a token, or with more than one →
/// [`AuthError::Malformed`].
pub fn bearer_token(authorization: Option<&str>) -> Result<&str, AuthError> {
    let value = authorization.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Err(AuthError::Missing);
    }
    let (scheme, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::UnsupportedScheme);
    }
    let token = rest.trim_matches([' ', '\t']);
    if token.is_empty() {
        return Err(AuthError::Malformed("the access token is empty"));
    }
    // A token is ~1 KB of base64url: memchr3 scans it with SIMD where `contains` with a char set
    // goes character by character, which showed in profiles of bench/gateway
    // (docs/benchmarks.md).
    if memchr::memchr3(b' ', b'\t', b',', token.as_bytes()).is_some() {
        return Err(AuthError::Malformed("more than one access token"));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_parsed_case_insensitively() {
        assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some("bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some("BEARER   abc  ")), Ok("abc"));
    }

    #[test]
    fn missing_and_foreign_credentials_carry_no_error_code() {
        assert_eq!(bearer_token(None), Err(AuthError::Missing));
        assert_eq!(bearer_token(Some("  ")), Err(AuthError::Missing));
        assert_eq!(
            bearer_token(Some("Basic dXNlcjpwdw==")),
            Err(AuthError::UnsupportedScheme)
        );
        assert_eq!(
            bearer_token(Some("eyJ.eyJ.sig")),
            Err(AuthError::UnsupportedScheme)
        );
        assert!(AuthError::UnsupportedScheme.is_missing_credentials());
    }

    #[test]
    fn empty_or_several_tokens_are_malformed() {
        assert_eq!(
            bearer_token(Some("Bearer")).map_err(|e| e.reason()),
            Err("malformed")
        );
        assert_eq!(
            bearer_token(Some("Bearer a b")).map_err(|e| e.reason()),
            Err("malformed")
        );
        assert_eq!(
            bearer_token(Some("Bearer a,b")).map_err(|e| e.reason()),
            Err("malformed")
        );
    }
}
