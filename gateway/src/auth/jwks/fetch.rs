//! Fetching discovery and JWKS documents over HTTP: one reqwest client with timeouts and no
//! redirects, a hard deadline around each exchange, and a cap on document size.
//!
//! What it does not hold: caching, retries and cooldowns (the parent module decides when to fetch).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::document::{parse_jwks, NotJwks, VerifyKey};
use super::JwksConfig;
use crate::trust::check_url;

/// Discovery and JWKS documents larger than this are refused (Auth0's JWKS is ~2 KiB).
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Why one fetch failed. Logged and counted; never shown to clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("fetching {url}: timed out")]
    Timeout { url: String },
    #[error("fetching {url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("fetching {url}: HTTP status {status}")]
    Status { url: String, status: u16 },
    #[error("fetching {url}: document larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge { url: String },
    #[error("fetching {url}: not a JSON document of the expected shape")]
    NotJson { url: String },
    #[error("fetching {url}: no usable signing keys")]
    NoUsableKeys { url: String },
    #[error("discovery at {url}: issuer {found:?} is not the configured issuer")]
    IssuerMismatch { url: String, found: String },
    #[error("discovery at {url}: jwks_uri refused: {reason}")]
    BadJwksUri { url: String, reason: String },
}

impl FetchError {
    /// A stable, low-cardinality name of the failure (span attributes; the URL stays out).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Timeout { .. } => "timeout",
            Self::Transport { .. } => "transport",
            Self::Status { .. } => "status",
            Self::TooLarge { .. } => "too_large",
            Self::NotJson { .. } => "not_json",
            Self::NoUsableKeys { .. } => "no_usable_keys",
            Self::IssuerMismatch { .. } => "issuer_mismatch",
            Self::BadJwksUri { .. } => "bad_jwks_uri",
        }
    }
}

/// Why the cache could not be built.
#[derive(Debug, thiserror::Error)]
#[error("building the JWKS http client: {0}")]
pub struct JwksBuildError(#[source] reqwest::Error);

#[derive(Debug)]
pub(super) struct Fetcher {
    http: reqwest::Client,
    timeout: Duration,
    allow_http: bool,
}

impl Fetcher {
    pub(super) fn new(config: &JwksConfig) -> Result<Self, JwksBuildError> {
        let http = reqwest::Client::builder()
            .timeout(config.fetch_timeout)
            .connect_timeout(config.fetch_timeout)
            // A JWKS URL is configuration; following redirects would let whoever controls a
            // redirect choose our keys.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("timesheets-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(JwksBuildError)?;
        Ok(Self {
            http,
            timeout: config.fetch_timeout,
            allow_http: config.allow_http,
        })
    }

    /// The usable keys at `url`; no usable key at all is an error, so the caller keeps the
    /// last good set.
    pub(super) async fn jwks(
        &self,
        url: &str,
    ) -> Result<HashMap<String, Arc<VerifyKey>>, FetchError> {
        let body = self.get(url).await?;
        let keys = parse_jwks(&body).map_err(|NotJwks| FetchError::NotJson {
            url: url.to_owned(),
        })?;
        if keys.is_empty() {
            return Err(FetchError::NoUsableKeys {
                url: url.to_owned(),
            });
        }
        Ok(keys)
    }

    /// Reads an OIDC discovery document and returns its `jwks_uri`. Its `issuer` must be the
    /// configured one, otherwise a misconfigured or hostile document could hand us another
    /// issuer's keys.
    pub(super) async fn discover(&self, url: &str, issuer: &str) -> Result<String, FetchError> {
        #[derive(serde::Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let body = self.get(url).await?;
        let doc: Discovery = serde_json::from_slice(&body).map_err(|_| FetchError::NotJson {
            url: url.to_owned(),
        })?;
        if doc.issuer != issuer {
            return Err(FetchError::IssuerMismatch {
                url: url.to_owned(),
                found: doc.issuer,
            });
        }
        check_url(&doc.jwks_uri, self.allow_http).map_err(|reason| FetchError::BadJwksUri {
            url: url.to_owned(),
            reason,
        })?;
        Ok(doc.jwks_uri)
    }

    /// GET with a deadline around the whole exchange (the client's own timeout covers each
    /// request, this one also a body that trickles) and a cap on the body size.
    async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                FetchError::Timeout {
                    url: url.to_owned(),
                }
            } else {
                FetchError::Transport {
                    url: url.to_owned(),
                    reason: e.without_url().to_string(),
                }
            }
        };
        let exchange = async {
            let mut response = self.http.get(url).send().await.map_err(transport)?;
            let status = response.status();
            if !status.is_success() {
                return Err(FetchError::Status {
                    url: url.to_owned(),
                    status: status.as_u16(),
                });
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(transport)? {
                if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                    return Err(FetchError::TooLarge {
                        url: url.to_owned(),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(FetchError::Timeout {
                    url: url.to_owned(),
                })
            })
    }
}
