//! The verified-token cache: a token already verified is not verified again until it expires, so
//! the steady-state cost of authentication is one SHA-256 and one hash lookup.
//!
//! Keys are the SHA-256 of the request host and the token (the host takes part in tenant
//! resolution, so the same token at another host is verified afresh). The token itself is never
//! stored; with a 256-bit digest a collision is not a practical concern, so the map's own key
//! equality is the comparison. An entry is served until the token's own `exp`, and never longer
//! than `max_ttl` after its verification, so a key withdrawn from the JWKS stops being honoured
//! for cached tokens too. The cache is bounded by `max_entries`.
//!
//! quick_cache rather than moka: a read here is a shard's read lock and a probe. moka's reads
//! also queue an access record and run the cache's housekeeping every so often on the reading
//! thread, which showed in profiles of bench/gateway on every request, for each of the two
//! caches on the request path (this one and the assertion cache; figures in
//! docs/benchmarks.md). Expiry, which moka would otherwise do, is a comparison on read: an
//! expired entry is never served and is replaced on the next verification; until then it only
//! takes a slot, and the bound holds either way.
//!
//! What it does not hold: failures. Refused tokens are never cached.

use std::sync::Arc;
use std::time::Duration;

use quick_cache::sync::Cache;
use serde::Deserialize;
use service_config::rule::within;
use sha2::{Digest, Sha256};
use timesheet_domain::Principal;

use super::AuthError;
use crate::tenant::normalize_host;

/// `[token_cache]`: the verified-token cache.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
pub struct TokenCacheConfig {
    #[garde(range(min = 1))]
    pub max_entries: u64,
    /// Upper bound on how long a verified token is trusted without verifying it again, so a key
    /// removed from the JWKS stops being honoured within this time even for cached tokens.
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::from_secs(1), Duration::from_secs(86_400))))]
    pub max_ttl: Duration,
}

impl Default for TokenCacheConfig {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            max_ttl: Duration::from_secs(300),
        }
    }
}

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
    /// Unix seconds from which the entry is not served: the token's `exp`, or `max_ttl` after the
    /// verification, whichever comes first.
    valid_until: i64,
}

impl Entry {
    fn serves_at(&self, now: i64) -> bool {
        now < self.valid_until
    }
}

/// Verified principals by [`CacheKey`].
pub struct TokenCache {
    entries: Cache<CacheKey, Arc<Entry>>,
    max_ttl_secs: i64,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.entries.len())
            .field("max_ttl_secs", &self.max_ttl_secs)
            .finish()
    }
}

impl TokenCache {
    pub fn new(config: &TokenCacheConfig) -> Self {
        Self {
            entries: Cache::new(usize::try_from(config.max_entries).unwrap_or(usize::MAX)),
            max_ttl_secs: i64::try_from(config.max_ttl.as_secs()).unwrap_or(i64::MAX),
        }
    }

    /// The cached principal, if the token was verified before and has not expired at `now`.
    pub fn get(&self, key: &CacheKey, now: i64) -> Option<Principal> {
        let entry = self.entries.get(key)?;
        if entry.serves_at(now) {
            return Some(entry.principal.clone());
        }
        self.entries.remove(key);
        None
    }

    /// Returns the cached principal, or runs `verify` for the key and caches its success.
    /// Concurrent callers with the same key wait for the one verifying and take its result; after
    /// a failure (not cached) the next of them verifies in turn.
    pub async fn get_or_verify<F>(
        &self,
        key: CacheKey,
        now: i64,
        verify: F,
    ) -> Result<Principal, AuthError>
    where
        F: std::future::Future<Output = Result<Principal, AuthError>>,
    {
        let guard = match self.entries.get_value_or_guard_async(&key).await {
            Ok(entry) if entry.serves_at(now) => return Ok(entry.principal.clone()),
            Ok(_) => {
                // Expired: verify afresh (a token past its exp will fail) without single flight.
                self.entries.remove(&key);
                None
            }
            Err(guard) => Some(guard),
        };
        let principal = verify.await?;
        let valid_until = principal
            .token_expires_at
            .min(now.saturating_add(self.max_ttl_secs));
        let entry = Arc::new(Entry {
            principal,
            valid_until,
        });
        if !entry.serves_at(now) {
            return Err(AuthError::Expired);
        }
        if let Some(guard) = guard {
            // Err only if the entry was replaced meanwhile; either way callers are answered.
            let _ = guard.insert(Arc::clone(&entry));
        }
        Ok(entry.principal.clone())
    }

    /// Number of cached tokens, expired ones not yet replaced included.
    pub fn entry_count(&self) -> u64 {
        u64::try_from(self.entries.len()).unwrap_or(u64::MAX)
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
            .get_or_verify(key, 1_000, async { Ok(principal(1_200)) })
            .await
            .unwrap();
        let second = cache
            .get_or_verify(key, 1_001, async { Err(AuthError::BadSignature) })
            .await
            .unwrap();
        assert_eq!(first, second);
        // exp 1,200 comes before max_ttl (300 s after 1,000).
        assert_eq!(cache.get(&key, 1_199), Some(principal(1_200)));
        assert_eq!(cache.get(&key, 1_200), None, "expired at exp");
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
        assert!(cache.get(&key, 0).is_none());
    }

    #[tokio::test]
    async fn an_entry_is_not_served_past_max_ttl_even_when_the_token_lives_longer() {
        let cache = cache(); // max_ttl 300 s
        let key = CacheKey::new(None, "long-lived");
        cache
            .get_or_verify(key, 1_000, async { Ok(principal(1_000_000)) })
            .await
            .unwrap();
        assert!(cache.get(&key, 1_299).is_some());
        assert_eq!(cache.get(&key, 1_300), None, "served past max_ttl");
        let calls = std::sync::atomic::AtomicU32::new(0);
        cache
            .get_or_verify(key, 1_300, async {
                calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(principal(1_000_000))
            })
            .await
            .unwrap();
        assert_eq!(calls.into_inner(), 1, "verified afresh after max_ttl");
    }

    #[tokio::test]
    async fn concurrent_callers_with_one_key_share_one_verification() {
        let cache = Arc::new(cache());
        let key = CacheKey::new(None, "tok");
        let calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let callers: Vec<_> = (0..8)
            .map(|_| {
                let (cache, calls) = (Arc::clone(&cache), Arc::clone(&calls));
                tokio::spawn(async move {
                    cache
                        .get_or_verify(key, 1_000, async {
                            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok(principal(2_000))
                        })
                        .await
                })
            })
            .collect();
        for caller in callers {
            assert_eq!(caller.await.unwrap().unwrap(), principal(2_000));
        }
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_cache_stays_near_its_bound() {
        let cache = cache(); // max_entries 100
        for i in 0..1_000 {
            let key = CacheKey::new(None, &format!("tok-{i}"));
            cache
                .get_or_verify(key, 1_000, async { Ok(principal(2_000)) })
                .await
                .unwrap();
        }
        // quick_cache sizes its shards from the bound, so it may hold a little more.
        assert!(cache.entry_count() <= 128, "{}", cache.entry_count());
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
