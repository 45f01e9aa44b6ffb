//! The client side of the admin endpoints, for the `rotate` and `retire` subcommands (and any
//! test or script that prefers Rust to curl).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::routes::admin::KeysResponse;

#[derive(Debug, thiserror::Error)]
pub enum AdminClientError {
    #[error("{0} is not a base URL: {1}")]
    BadUrl(Url, url::ParseError),
    #[error("calling {url}: {source}")]
    Transport { url: Url, source: reqwest::Error },
    #[error("{url} answered {status}: {body}")]
    Status {
        url: Url,
        status: reqwest::StatusCode,
        body: String,
    },
}

/// Calls the admin endpoints of the issuer at `base` (its issuer URL or any URL of its root).
pub struct AdminClient {
    base: Url,
    token: SecretString,
    http: reqwest::Client,
}

impl AdminClient {
    /// Fails only if the HTTP client cannot be built (no TLS roots on this host).
    pub fn new(base: Url, token: SecretString) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            // Rotation generates an RSA key, which takes a moment in debug builds.
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self { base, token, http })
    }

    /// `POST /admin/keys/rotate`: a new signing key, published next to the old ones.
    pub async fn rotate(&self) -> Result<KeysResponse, AdminClientError> {
        self.post("admin/keys/rotate").await
    }

    /// `POST /admin/keys/retire`: every key but the signing one is unpublished.
    pub async fn retire(&self) -> Result<KeysResponse, AdminClientError> {
        self.post("admin/keys/retire").await
    }

    async fn post(&self, path: &str) -> Result<KeysResponse, AdminClientError> {
        let url = self
            .base
            .join(&format!("/{path}"))
            .map_err(|err| AdminClientError::BadUrl(self.base.clone(), err))?;
        let transport = |source| AdminClientError::Transport {
            url: url.clone(),
            source,
        };
        let response = self
            .http
            .post(url.clone())
            .bearer_auth(self.token.expose_secret())
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(AdminClientError::Status { url, status, body });
        }
        response.json().await.map_err(transport)
    }
}
