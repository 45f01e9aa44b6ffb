//! The reloadable part of the gateway: configuration, JWKS cache and authenticator, behind an
//! `ArcSwap` so a SIGHUP swaps them in one atomic store while requests in flight finish with the
//! snapshot they started with.
//!
//! A reload is refused (the old runtime keeps serving) when the file is invalid or when a tenant's
//! keys cannot be fetched: swapping in an authenticator without keys would turn a config change
//! into an outage. Listener, TLS, upstream and assertion-key settings are read at start only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use timesheet_domain::TenantId;

use crate::auth::jwks::JwksBuildError;
use crate::auth::{Authenticator, FetchError, JwksCache};
use crate::config::Config;

/// One consistent configuration and the objects built from it.
#[derive(Debug)]
pub struct Runtime {
    pub config: Config,
    pub auth: Arc<Authenticator>,
}

impl Runtime {
    /// Builds the authenticator for `config` and primes its keys; returns the tenants whose
    /// keys could not be fetched alongside.
    pub async fn build(
        config: Config,
    ) -> Result<(Self, Vec<(TenantId, FetchError)>), JwksBuildError> {
        let jwks = Arc::new(JwksCache::new(&config.jwks, &config.tenant)?);
        let failures = jwks.prime().await;
        let auth = Arc::new(Authenticator::new(
            &config.tenant,
            &config.token_cache,
            jwks,
        ));
        Ok((Self { config, auth }, failures))
    }

    /// Builds without fetching keys (tests of paths that never reach a key).
    pub fn unprimed(config: Config) -> Result<Self, JwksBuildError> {
        let jwks = Arc::new(JwksCache::new(&config.jwks, &config.tenant)?);
        let auth = Arc::new(Authenticator::new(
            &config.tenant,
            &config.token_cache,
            jwks,
        ));
        Ok(Self { config, auth })
    }
}

/// Why a reload was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("{0}")]
    Config(#[from] service_config::ConfigError),
    #[error("building the JWKS client: {0}")]
    Jwks(#[from] JwksBuildError),
    #[error("keys of tenant {tenant} could not be fetched: {source}")]
    Keys {
        tenant: TenantId,
        #[source]
        source: FetchError,
    },
}

/// The current runtime and the file it is reloaded from.
#[derive(Debug)]
pub struct SharedRuntime {
    current: ArcSwap<Runtime>,
    path: PathBuf,
}

impl SharedRuntime {
    pub fn new(runtime: Runtime, path: &Path) -> Self {
        Self {
            current: ArcSwap::from_pointee(runtime),
            path: path.to_owned(),
        }
    }

    /// The runtime to serve one request with.
    pub fn load(&self) -> Arc<Runtime> {
        self.current.load_full()
    }

    /// Re-reads the file; swaps in the new runtime only if it is valid and primed.
    pub async fn reload(&self) -> Result<(), ReloadError> {
        let config = Config::load(&self.path)?;
        let (runtime, failures) = Runtime::build(config).await?;
        if let Some((tenant, source)) = failures.into_iter().next() {
            return Err(ReloadError::Keys { tenant, source });
        }
        self.current.store(Arc::new(runtime));
        Ok(())
    }
}
