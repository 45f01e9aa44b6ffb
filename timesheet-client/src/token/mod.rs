//! Access tokens by the OAuth 2.0 client-credentials grant, cached until shortly before they
//! expire.
//!
//! - [`TokenManager::token`] answers from memory while the token is fresh; otherwise exactly one
//!   caller asks the identity provider while the others wait for its answer (single flight).
//! - With `token_cache_file` set, the first call reads a token left by an earlier run
//!   (see `cache_file.rs` for its format) and every new token is written there.
//! - [`TokenManager::invalidate`] drops a token the API refused, so the next call gets a new one.
//!
//! Tokens are [`SecretString`]s: no `Debug`, log line or error message of this crate shows one.

mod cache_file;
mod request;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq as _;
use tokio::sync::Mutex;
use tracing::Instrument as _;

use crate::config::{AuthConfig, ConfigError};
use crate::retry::{self, RetryPolicy};
use cache_file::{CacheFile, CacheKey, StoredToken};
use request::{TokenEndpoint, TokenGrant};

pub use request::CLIENT_ASSERTION_TYPE;

/// Lifetime assumed when a token response has no `expires_in` (RFC 6749 makes it optional;
/// Auth0 always sends it): short, so that such a token is soon renewed.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// A bearer token and when it expires. Cheap to clone; `Debug` never shows the token.
#[derive(Clone)]
pub struct AccessToken {
    value: SecretString,
    expires_at: SystemTime,
}

impl AccessToken {
    /// The token itself, for an `Authorization: Bearer` header and nothing else.
    pub fn expose_secret(&self) -> &str {
        self.value.expose_secret()
    }

    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// Compares in constant time, so that timing does not reveal how much of a token matched.
    fn same_as(&self, other: &SecretString) -> bool {
        self.expose_secret()
            .as_bytes()
            .ct_eq(other.expose_secret().as_bytes())
            .into()
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no answer from the token endpoint {url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// An OAuth error response (`invalid_client`, `access_denied`, `unauthorized_client`, ...),
    /// with the provider's own words.
    #[error("the token endpoint refused the request ({status} {error}){}", .description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Refused {
        status: u16,
        error: String,
        description: Option<String>,
    },
    /// An error status without an OAuth error body.
    #[error("the token endpoint answered {status}")]
    Status { status: u16 },
    #[error("unreadable token response: {0}")]
    Decode(String),
    #[error("token type {0:?} is not supported; only Bearer")]
    UnsupportedTokenType(String),
    /// The client's own credentials could not be put into the request (a client assertion that
    /// cannot be signed).
    #[error("cannot build the client authentication: {0}")]
    ClientAuth(String),
}

impl TokenError {
    /// Whether asking again later may help: no answer, 429 or 5xx. A refusal of the client
    /// (`invalid_client`, `access_denied`) will not change by itself.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Refused { status, .. } | Self::Status { status } => {
                *status == 429 || (500..600).contains(status)
            }
            Self::Decode(_) | Self::UnsupportedTokenType(_) | Self::ClientAuth(_) => false,
        }
    }
}

/// Counters of the token manager.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenStats {
    /// HTTP requests sent to the token endpoint, retries included.
    pub requests: u64,
    /// Of those, the repeats after a failure.
    pub retries: u64,
}

/// Gets and caches access tokens; clones share one cache.
#[derive(Clone, Debug)]
pub struct TokenManager {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    endpoint: TokenEndpoint,
    retry: RetryPolicy,
    margin: Duration,
    cache_file: Option<CacheFile>,
    /// Held across the token request: that is the single flight.
    state: Mutex<State>,
    requests: AtomicU64,
    retries: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    current: Option<Cached>,
    file_read: bool,
}

#[derive(Debug)]
struct Cached {
    token: AccessToken,
    issued_at: SystemTime,
    refresh_at: SystemTime,
}

impl Cached {
    /// Fresh until `margin` before expiry, the margin being at most half the lifetime so that
    /// a short-lived token is still used for a while.
    fn new(
        value: SecretString,
        issued_at: SystemTime,
        lifetime: Duration,
        margin: Duration,
    ) -> Self {
        let margin = margin.min(lifetime / 2);
        Self {
            token: AccessToken {
                value,
                expires_at: issued_at + lifetime,
            },
            issued_at,
            refresh_at: issued_at + (lifetime - margin),
        }
    }

    fn is_fresh(&self, now: SystemTime) -> bool {
        now < self.refresh_at
    }
}

impl TokenManager {
    /// Checks `config` (a secret or key for the method, a usable private key) and builds the
    /// HTTP client of the token endpoint. Sends nothing yet.
    pub fn new(config: &AuthConfig, retry: RetryPolicy) -> Result<Self, ConfigError> {
        let endpoint = TokenEndpoint::from_config(config)?;
        let cache_file = config.token_cache_file.clone().map(|path| {
            let key = CacheKey {
                token_url: config.token_url.to_string(),
                client_id: config.client_id.clone(),
                audience: config.audience.clone(),
                resource: config.resource.clone(),
                scope: config.scope.clone(),
            };
            CacheFile::new(path, key)
        });
        Ok(Self {
            inner: Arc::new(Inner {
                endpoint,
                retry,
                margin: config.refresh_margin,
                cache_file,
                state: Mutex::new(State::default()),
                requests: AtomicU64::new(0),
                retries: AtomicU64::new(0),
            }),
        })
    }

    /// A fresh token: from memory, else (on first use) from the cache file, else from the token
    /// endpoint with retries. Concurrent callers share one request.
    pub async fn token(&self) -> Result<AccessToken, TokenError> {
        let inner = &*self.inner;
        let mut state = inner.state.lock().await;
        if let Some(cached) = &state.current {
            if cached.is_fresh(SystemTime::now()) {
                return Ok(cached.token.clone());
            }
        }
        if !state.file_read {
            state.file_read = true;
            if let Some(cached) = self.read_cache_file().await {
                let token = cached.token.clone();
                state.current = Some(cached);
                return Ok(token);
            }
        }
        let issued_at = SystemTime::now();
        // One span for the request and its retries: what the caller waited for.
        let span = crate::trace::token_span(inner.endpoint.url());
        let grant: Result<TokenGrant, TokenError> =
            retry::run(&inner.retry, &inner.retries, "token request", |_| {
                inner.requests.fetch_add(1, Ordering::Relaxed);
                inner.endpoint.request()
            })
            .instrument(span.clone())
            .await;
        let grant = grant.inspect_err(|err| {
            let kind = if err.is_retryable() {
                "unavailable"
            } else {
                "refused"
            };
            crate::trace::record_failure(&span, kind);
        })?;
        let lifetime = grant
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_LIFETIME);
        let cached = Cached::new(grant.access_token, issued_at, lifetime, inner.margin);
        tracing::info!(
            token_url = %inner.endpoint.url(),
            expires_in_secs = lifetime.as_secs(),
            "obtained an access token"
        );
        self.write_cache_file(&cached).await;
        let token = cached.token.clone();
        state.current = Some(cached);
        Ok(token)
    }

    /// Forgets `rejected` (a token the API answered 401 to) if it is still the current one, and
    /// deletes the cache file if it holds it. Returns whether it was current: when it was not,
    /// another caller has already replaced it and the next [`token`](Self::token) call returns
    /// the replacement without a new request.
    pub async fn invalidate(&self, rejected: &AccessToken) -> bool {
        let mut state = self.inner.state.lock().await;
        let current = state
            .current
            .as_ref()
            .is_some_and(|c| c.token.same_as(&rejected.value));
        if !current {
            return false;
        }
        state.current = None;
        state.file_read = true;
        if let Some(file) = self.inner.cache_file.clone() {
            let rejected = rejected.clone();
            let removed = tokio::task::spawn_blocking(move || match file.load() {
                Ok(Some(stored)) if rejected.same_as(&stored.access_token) => file.remove(),
                _ => Ok(()),
            })
            .await;
            if !matches!(removed, Ok(Ok(()))) {
                tracing::warn!("could not delete a rejected token from the token cache file");
            }
        }
        tracing::info!("dropped an access token the API rejected");
        true
    }

    pub fn stats(&self) -> TokenStats {
        TokenStats {
            requests: self.inner.requests.load(Ordering::Relaxed),
            retries: self.inner.retries.load(Ordering::Relaxed),
        }
    }

    async fn read_cache_file(&self) -> Option<Cached> {
        let file = self.inner.cache_file.clone()?;
        let path = file.path().display().to_string();
        let loaded = tokio::task::spawn_blocking(move || file.load()).await;
        let reason = match loaded {
            Ok(Ok(Some(stored))) => {
                let lifetime = stored
                    .expires_at
                    .duration_since(stored.issued_at)
                    .unwrap_or(Duration::ZERO);
                let cached = Cached::new(
                    stored.access_token,
                    stored.issued_at,
                    lifetime,
                    self.inner.margin,
                );
                if cached.is_fresh(SystemTime::now()) {
                    tracing::debug!(path, "reusing the access token of the token cache file");
                    return Some(cached);
                }
                "its token has expired or is about to".to_owned()
            }
            Ok(Ok(None)) => return None,
            Ok(Err(unusable)) => unusable.to_string(),
            Err(join) => join.to_string(),
        };
        tracing::warn!(
            path,
            reason,
            "ignoring the token cache file; it will be replaced"
        );
        None
    }

    async fn write_cache_file(&self, cached: &Cached) {
        let Some(file) = self.inner.cache_file.clone() else {
            return;
        };
        let stored = StoredToken {
            access_token: cached.token.value.clone(),
            issued_at: cached.issued_at,
            expires_at: cached.token.expires_at,
        };
        let path = file.path().display().to_string();
        match tokio::task::spawn_blocking(move || file.store(&stored)).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                tracing::warn!(path, error = %err, "could not write the token cache file");
            }
            Err(err) => {
                tracing::warn!(path, error = %err, "could not write the token cache file");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refresh_margin_is_at_most_half_the_lifetime() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let day = Cached::new(
            SecretString::from("t"),
            at,
            Duration::from_secs(86_400),
            Duration::from_secs(60),
        );
        assert_eq!(day.refresh_at, at + Duration::from_secs(86_340));
        let short = Cached::new(
            SecretString::from("t"),
            at,
            Duration::from_secs(30),
            Duration::from_secs(60),
        );
        assert_eq!(short.refresh_at, at + Duration::from_secs(15));
        assert!(short.is_fresh(at + Duration::from_secs(14)));
        assert!(!short.is_fresh(at + Duration::from_secs(15)));
    }

    #[test]
    fn access_tokens_never_show_in_debug_output() {
        let token = AccessToken {
            value: SecretString::from("eyJhbGciOi.secret.part"),
            expires_at: SystemTime::UNIX_EPOCH,
        };
        assert!(!format!("{token:?}").contains("secret"));
    }
}
