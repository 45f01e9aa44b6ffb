//! The JWKS cache: every tenant's signing keys, fetched (after OIDC discovery where configured)
//! before the listener takes traffic, refreshed in the background, and held in a moka cache.
//!
//! Failure behaviour, which is the point of this module:
//! - an unknown `kid` triggers at most one refetch per tenant per `min_refetch_interval`; callers
//!   that arrive meanwhile wait for that one fetch (a per-tenant tokio `Mutex` makes it single
//!   flight) and a `kid` still unknown after a fetch goes into a bounded negative cache, so a flood
//!   of forged `kid`s costs the identity provider at most one request per cooldown;
//! - when the provider is down or answers garbage (non-JSON, no usable keys, 5xx, timeout) the last
//!   good keys keep serving for up to `max_stale`; the failure is counted and logged;
//! - only RSA (≥ 2048 bits), EC P-256/P-384 and Ed25519 keys with `use` absent or `sig` and a
//!   `kid` are kept. Symmetric (`oct`) keys are never loaded.
//!
//! What it does not hold: token checks (`verify`) and the refresh schedule (the background
//! service calls [`JwksCache::refresh_all`] every `refresh_interval`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde::Deserialize;
use service_config::rule::{at_least, within};
use timesheet_domain::TenantId;
use tokio::sync::{Mutex, OnceCell};
use tokio::time::Instant;

use super::AuthError;
use crate::tenant::{TenantConfig, TenantRegistry};

mod document;
mod fetch;

pub use document::{parse_jwks, KeyFamily, NotJwks, VerifyKey};
use fetch::Fetcher;
pub use fetch::{FetchError, JwksBuildError};

/// `[jwks]`: how keys are fetched and how long they may be served.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
pub struct JwksConfig {
    /// How often the background service refreshes every tenant's keys.
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::from_secs(1), LONGEST)))]
    pub refresh_interval: Duration,
    /// Cooldown between refetches triggered by unknown `kid`s, per tenant.
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::from_secs(1), LONGEST)))]
    pub min_refetch_interval: Duration,
    /// How long the last good keys keep serving while the provider fails.
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::from_secs(1), LONGEST)))]
    #[garde(custom(at_least(self.refresh_interval, KEEP_BETWEEN_REFRESHES)))]
    pub max_stale: Duration,
    /// Upper bound on one discovery or JWKS fetch (connect + response); requests wait on it.
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::from_millis(1), Duration::from_secs(60))))]
    pub fetch_timeout: Duration,
    /// How long a `kid` that stayed unknown after a fetch is refused without asking again.
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::from_secs(1), LONGEST)))]
    pub negative_cache: Duration,
    /// Allow `http://` JWKS and discovery URLs on non-loopback hosts (a dev stack in containers).
    pub allow_http: bool,
}

/// The longest interval `[jwks]` takes.
const LONGEST: Duration = Duration::from_secs(30 * 86_400);
const KEEP_BETWEEN_REFRESHES: &str = "jwks.refresh_interval, or keys expire between refreshes";

impl Default for JwksConfig {
    fn default() -> Self {
        Self {
            refresh_interval: Duration::from_secs(300),
            min_refetch_interval: Duration::from_secs(30),
            max_stale: Duration::from_secs(86_400),
            fetch_timeout: Duration::from_secs(2),
            negative_cache: Duration::from_secs(300),
            allow_http: false,
        }
    }
}

/// The keys of one tenant at one point in time.
#[derive(Debug)]
struct KeySet {
    keys: HashMap<String, Arc<VerifyKey>>,
    fetched_at: Instant,
}

/// Per-tenant state: where keys come from, the refetch gate and counters.
#[derive(Debug)]
struct TenantKeys {
    id: TenantId,
    issuer: String,
    /// The tenant's `jwks_uri`: as configured, or resolved once from its `discovery` document.
    jwks_uri: OnceCell<String>,
    discovery: Option<String>,
    /// Serialises fetches of this tenant (single flight) and remembers the last `kid`-driven one.
    gate: Mutex<Gate>,
    /// `kid`s that stayed unknown after a fetch; bounded so forged kids cannot grow memory.
    negative: moka::future::Cache<String, ()>,
    counters: Counters,
}

#[derive(Debug, Default)]
struct Gate {
    last_kid_refetch: Option<Instant>,
    last_fetch_failed: bool,
}

#[derive(Debug, Default)]
struct Counters {
    fetches: AtomicU64,
    fetch_errors: AtomicU64,
    refetches: AtomicU64,
    refetches_suppressed: AtomicU64,
    negative_hits: AtomicU64,
}

/// A snapshot of one tenant's JWKS counters, for the metrics module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantJwksStats {
    pub tenant: TenantId,
    /// Fetches of any kind (prime, refresh, kid-driven), successful or not.
    pub fetches: u64,
    pub fetch_errors: u64,
    /// Fetches triggered by an unknown `kid`.
    pub refetches: u64,
    /// Unknown-`kid` refetches skipped because of the cooldown.
    pub refetches_suppressed: u64,
    /// Unknown `kid`s answered from the negative cache.
    pub negative_hits: u64,
    /// Age of the keys served now; `None` before the first successful fetch.
    pub key_age_secs: Option<u64>,
    /// Number of keys served now.
    pub keys: usize,
}

/// Every tenant's signing keys. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct JwksCache {
    fetcher: Fetcher,
    config: JwksConfig,
    tenants: HashMap<TenantId, TenantKeys>,
    /// Current key set per tenant. No TTL: staleness is judged against `max_stale` here, so the
    /// last good keys survive a failing provider instead of being evicted.
    keysets: moka::future::Cache<TenantId, Arc<KeySet>>,
}

impl JwksCache {
    /// Builds the cache for `tenants`; fetches nothing (call [`JwksCache::prime`]).
    pub fn new(config: &JwksConfig, tenants: &TenantRegistry) -> Result<Self, JwksBuildError> {
        let fetcher = Fetcher::new(config)?;
        let tenants = tenants
            .iter()
            .map(|t| (t.id.clone(), TenantKeys::new(t, config)))
            .collect();
        Ok(Self {
            fetcher,
            config: config.clone(),
            tenants,
            keysets: moka::future::Cache::builder().build(),
        })
    }

    /// Fetches every tenant's keys (resolving discovery first). Run before the listener takes
    /// traffic; returns the tenants that failed, which keep failing with `jwks_unavailable`
    /// until a later refresh succeeds.
    pub async fn prime(&self) -> Vec<(TenantId, FetchError)> {
        self.refresh_all().await
    }

    /// Refetches every tenant's keys, one tenant at a time. A failure keeps that tenant's last
    /// good keys (up to `max_stale`). Returns the failures.
    pub async fn refresh_all(&self) -> Vec<(TenantId, FetchError)> {
        let mut failures = Vec::new();
        for tenant in self.tenants.values() {
            let mut gate = tenant.gate.lock().await;
            if let Err(err) = self.fetch_and_store(tenant, &mut gate).await {
                failures.push((tenant.id.clone(), err));
            }
        }
        failures
    }

    /// How often the background service should call [`JwksCache::refresh_all`].
    pub fn refresh_interval(&self) -> std::time::Duration {
        self.config.refresh_interval
    }

    /// Whether every tenant has keys that may still be served (for `/readyz`).
    pub async fn is_ready(&self) -> bool {
        for id in self.tenants.keys() {
            if self.usable(id).await.is_none() {
                return false;
            }
        }
        true
    }

    /// The key `kid` of `tenant`.
    ///
    /// Fails with [`AuthError::UnknownKid`] when the tenant's keys (after at most one refetch per
    /// cooldown) have no such key, and [`AuthError::JwksUnavailable`] when the keys could not be
    /// fetched and none are cached, or the refetch for this `kid` failed. Waits at most about one
    /// `fetch_timeout` (plus the wait for a fetch already running).
    pub async fn key(&self, tenant: &TenantId, kid: &str) -> Result<Arc<VerifyKey>, AuthError> {
        let keys = self.tenants.get(tenant).ok_or(AuthError::WrongTenant)?;
        if let Some(set) = self.usable(tenant).await {
            if let Some(key) = set.keys.get(kid) {
                return Ok(Arc::clone(key));
            }
            if keys.negative.contains_key(kid) {
                keys.counters.negative_hits.fetch_add(1, Ordering::Relaxed);
                return Err(AuthError::UnknownKid);
            }
        }
        let mut gate = keys.gate.lock().await;
        // Whoever held the gate before us may just have fetched the key.
        let current = self.usable(tenant).await;
        if let Some(key) = current.as_ref().and_then(|set| set.keys.get(kid)) {
            return Ok(Arc::clone(key));
        }
        let cooling = gate
            .last_kid_refetch
            .is_some_and(|at| at.elapsed() < self.config.min_refetch_interval);
        if cooling {
            keys.counters
                .refetches_suppressed
                .fetch_add(1, Ordering::Relaxed);
            return Err(if current.is_none() || gate.last_fetch_failed {
                AuthError::JwksUnavailable
            } else {
                AuthError::UnknownKid
            });
        }
        gate.last_kid_refetch = Some(Instant::now());
        keys.counters.refetches.fetch_add(1, Ordering::Relaxed);
        let fetched = self.fetch_and_store(keys, &mut gate).await;
        drop(gate);
        match fetched {
            Ok(set) => match set.keys.get(kid) {
                Some(key) => Ok(Arc::clone(key)),
                None => {
                    keys.negative.insert(kid.to_owned(), ()).await;
                    Err(AuthError::UnknownKid)
                }
            },
            // We could not ask the provider about this kid: not the client's fault.
            Err(_) => Err(AuthError::JwksUnavailable),
        }
    }

    /// Counters and key ages of every tenant.
    pub async fn stats(&self) -> Vec<TenantJwksStats> {
        let mut out = Vec::with_capacity(self.tenants.len());
        for keys in self.tenants.values() {
            let set = self.keysets.get(&keys.id).await;
            let c = &keys.counters;
            out.push(TenantJwksStats {
                tenant: keys.id.clone(),
                fetches: c.fetches.load(Ordering::Relaxed),
                fetch_errors: c.fetch_errors.load(Ordering::Relaxed),
                refetches: c.refetches.load(Ordering::Relaxed),
                refetches_suppressed: c.refetches_suppressed.load(Ordering::Relaxed),
                negative_hits: c.negative_hits.load(Ordering::Relaxed),
                key_age_secs: set.as_ref().map(|s| s.fetched_at.elapsed().as_secs()),
                keys: set.as_ref().map_or(0, |s| s.keys.len()),
            });
        }
        out.sort_by(|a, b| a.tenant.as_ref().cmp(b.tenant.as_ref()));
        out
    }

    /// The tenant's keys if they are younger than `max_stale`.
    async fn usable(&self, tenant: &TenantId) -> Option<Arc<KeySet>> {
        self.keysets
            .get(tenant)
            .await
            .filter(|set| set.fetched_at.elapsed() <= self.config.max_stale)
    }

    /// Fetches and stores a tenant's keys; the caller holds the tenant's gate. Runs in a
    /// `jwks.fetch` span (a child of `jwt.verify` when a request's unknown `kid` caused it, a
    /// trace of its own for priming and background refreshes).
    #[tracing::instrument(
        name = "jwks.fetch",
        skip_all,
        fields(
            otel.kind = "client",
            tenant = %keys.id,
            error.type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        )
    )]
    async fn fetch_and_store(
        &self,
        keys: &TenantKeys,
        gate: &mut Gate,
    ) -> Result<Arc<KeySet>, FetchError> {
        keys.counters.fetches.fetch_add(1, Ordering::Relaxed);
        let result = self.fetch_keys(keys).await;
        gate.last_fetch_failed = result.is_err();
        match result {
            Ok(map) => {
                let set = Arc::new(KeySet {
                    keys: map,
                    fetched_at: Instant::now(),
                });
                self.keysets.insert(keys.id.clone(), Arc::clone(&set)).await;
                // A kid refused earlier may have been published since.
                for kid in set.keys.keys() {
                    keys.negative.invalidate(kid).await;
                }
                tracing::debug!(tenant = %keys.id, keys = set.keys.len(), "jwks fetched");
                Ok(set)
            }
            Err(err) => {
                keys.counters.fetch_errors.fetch_add(1, Ordering::Relaxed);
                let span = tracing::Span::current();
                span.record("error.type", err.kind());
                span.record("otel.status_code", "ERROR");
                let serving = self.usable(&keys.id).await.is_some();
                tracing::warn!(
                    tenant = %keys.id,
                    error = %err,
                    serving_last_good_keys = serving,
                    "jwks fetch failed"
                );
                Err(err)
            }
        }
    }

    async fn fetch_keys(
        &self,
        keys: &TenantKeys,
    ) -> Result<HashMap<String, Arc<VerifyKey>>, FetchError> {
        // A loaded configuration names one of the two (`TenantRegistry::check`).
        let discovery = keys.discovery.as_deref().unwrap_or_default();
        let url = keys
            .jwks_uri
            .get_or_try_init(|| self.fetcher.discover(discovery, &keys.issuer))
            .await?;
        self.fetcher.jwks(url).await
    }
}

impl TenantKeys {
    fn new(tenant: &TenantConfig, config: &JwksConfig) -> Self {
        Self {
            id: tenant.id.clone(),
            issuer: tenant.issuer.clone(),
            jwks_uri: OnceCell::new_with(tenant.jwks_uri.clone()),
            discovery: tenant.discovery.clone(),
            gate: Mutex::new(Gate::default()),
            negative: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(config.negative_cache)
                .build(),
            counters: Counters::default(),
        }
    }
}

/// Which algorithms a key of `family` can verify.
pub(crate) fn family_fits(family: KeyFamily, alg: Algorithm) -> bool {
    matches!(
        (family, alg),
        (
            KeyFamily::Rsa,
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 | Algorithm::PS256
        ) | (KeyFamily::EcP256, Algorithm::ES256)
            | (KeyFamily::EcP384, Algorithm::ES384)
            | (KeyFamily::Ed25519, Algorithm::EdDSA)
    )
}

// Behaviour against a live JWKS server is tested in `tests/auth/jwks_cache.rs`.
