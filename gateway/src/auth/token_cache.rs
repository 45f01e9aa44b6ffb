//! The verified-token cache: a token already verified is not verified again until it expires, so
//! the steady-state cost of authentication is one SHA-256 and one moka lookup.
//!
//! Keys are the SHA-256 of the request host and the token (the host takes part in tenant
//! resolution, so the same token at another host is verified afresh). The token itself is never
//! stored; with a 256-bit digest a collision is not a practical concern, so the map's own key
//! equality is the comparison. Entries expire at the token's own `exp`, capped at `max_ttl` so a
//! key withdrawn from the JWKS stops being honoured for cached tokens too, and the cache is bounded
//! by `max_entries` (moka evicts by TinyLFU).
//!
//! What it does not hold: failures. Refused tokens are never cached.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use sha2::{Digest, Sha256};
use timesheet_domain::Principal;

use super::AuthError;
use crate::config::TokenCacheConfig;
use crate::tenant::normalize_host;

/// SHA-256 of (host, token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    pub fn new(host: Option<&str>, token: &str) -> Self {
        let mut hasher = Sha256::new();
        if let Some(host) = host {
            hasher.update(normalize_host(host).as_bytes());
        }
        // The separator cannot occur in a host or a token, so (host, token) pairs never collide
        // by concatenation.
        hasher.update([0u8]);
        hasher.update(token.as_bytes());
        Self(hasher.finalize().into())
    }
}

#[derive(Debug)]
struct Entry {
    principal: Principal,
    ttl: Duration,
}

struct UntilExp;

impl Expiry<CacheKey, Arc<Entry>> for UntilExp {
    fn expire_after_create(
        &self,
        _key: &CacheKey,
        value: &Arc<Entry>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Verified principals by [`CacheKey`].
pub struct TokenCache {
    entries: moka::future::Cache<CacheKey, Arc<Entry>>,
    max_ttl: Duration,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.entries.entry_count())
            .field("max_ttl", &self.max_ttl)
            .finish()
    }
}

impl TokenCache {
    pub fn new(config: &TokenCacheConfig) -> Self {
        Self {
            entries: moka::future::Cache::builder()
                .max_capacity(config.max_entries)
                .expire_after(UntilExp)
                .build(),
            max_ttl: config.max_ttl,
        }
    }

    /// The cached principal, if the token was verified before and has not expired at `now`.
    pub async fn get(&self, key: &CacheKey, now: i64) -> Option<Principal> {
        let entry = self.entries.get(key).await?;
        // moka's expiry is housekeeping with its own clock; the token's own exp is the authority.
        if entry.principal.token_expires_at > now {
            return Some(entry.principal.clone());
        }
        self.entries.invalidate(key).await;
        None
    }

    /// Returns the cached principal, or runs `verify` once for all concurrent callers with the
    /// same key and caches its success. Failures are returned and not cached.
    pub async fn get_or_verify<F>(
        &self,
        key: CacheKey,
        now: i64,
        verify: F,
    ) -> Result<Principal, AuthError>
    where
        F: std::future::Future<Output = Result<Principal, AuthError>>,
    {
        let max_ttl = self.max_ttl;
        let entry = self
            .entries
            .try_get_with(key, async move {
                let principal = verify.await?;
                let left =
                    u64::try_from(principal.token_expires_at.saturating_sub(now)).unwrap_or(0);
                let ttl = Duration::from_secs(left).min(max_ttl);
                Ok::<_, AuthError>(Arc::new(Entry { principal, ttl }))
            })
            .await
            .map_err(|err: Arc<AuthError>| (*err).clone())?;
        // An entry that another caller inserted and that expired in between is not trusted.
        if entry.principal.token_expires_at <= now {
            self.entries.invalidate(&key).await;
            return Err(AuthError::Expired);
        }
        Ok(entry.principal.clone())
    }

    /// Number of cached tokens (approximate; moka counts lazily).
    pub fn entry_count(&self) -> u64 {
        self.entries.entry_count()
    }

    /// Drops every entry (after a configuration reload changes what tokens mean).
    pub fn clear(&self) {
        self.entries.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use timesheet_domain::{PrincipalKind, ScopeSet, TenantId};

    use super::*;

    fn principal(exp: i64) -> Principal {
        Principal {
            tenant: TenantId::parse("exampleco").unwrap(),
            subject: "svc@clients".to_owned(),
            client_id: None,
            kind: PrincipalKind::Machine,
            scopes: ScopeSet::from_scope_str("read:timesheets"),
            token_id: None,
            token_expires_at: exp,
        }
    }

    fn cache() -> TokenCache {
        TokenCache::new(&TokenCacheConfig {
            max_entries: 100,
            max_ttl: Duration::from_secs(300),
        })
    }

    #[tokio::test]
    async fn a_verified_token_is_served_from_the_cache_until_it_expires() {
        let cache = cache();
        let key = CacheKey::new(Some("api.example.com"), "tok");
        let first = cache
            .get_or_verify(key, 1_000, async { Ok(principal(2_000)) })
            .await
            .unwrap();
        let second = cache
            .get_or_verify(key, 1_001, async { Err(AuthError::BadSignature) })
            .await
            .unwrap();
        assert_eq!(first, second);
        assert_eq!(cache.get(&key, 1_999).await, Some(principal(2_000)));
        assert_eq!(cache.get(&key, 2_000).await, None, "expired at exp");
    }

    #[tokio::test]
    async fn failures_are_not_cached() {
        let cache = cache();
        let key = CacheKey::new(None, "tok");
        let err = cache
            .get_or_verify(key, 0, async { Err(AuthError::Expired) })
            .await
            .unwrap_err();
        assert_eq!(err, AuthError::Expired);
        assert!(cache.get(&key, 0).await.is_none());
    }

    #[test]
    fn keys_depend_on_host_and_token() {
        let a = CacheKey::new(Some("a.example.com"), "tok");
        assert_eq!(a, CacheKey::new(Some("A.example.com:443"), "tok"));
        assert_ne!(a, CacheKey::new(Some("b.example.com"), "tok"));
        assert_ne!(a, CacheKey::new(Some("a.example.com"), "tok2"));
        // No host and an empty host resolve tenants alike, so they may share entries.
        assert_eq!(CacheKey::new(None, "tok"), CacheKey::new(Some(""), "tok"));
    }
}
