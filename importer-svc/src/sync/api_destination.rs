//! The [`Destination`] of production: the Timesheets API through the gateway, by the shared
//! typed client (tokens, retries with backoff and `Retry-After`, one fresh token after a 401),
//! and `[api]`, the settings it is built from.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use service_config::rule::{http_url, within};
use timesheet_client::{ApiClient, AuthConfig, ClientError, RetryConfig};
use timesheet_domain::api::{EntryInput, UploadBatch, UploadResponse, MAX_BATCH_ITEMS};
use timesheet_domain::SourceName;
use url::Url;
use uuid::Uuid;

use super::destination::{Deleted, Destination, DestinationCounters, DestinationError};

/// More uploads in flight only queue at the service, which stores a tenant's uploads one at a
/// time.
pub const MAX_UPLOADS_IN_FLIGHT: usize = 8;

/// `[api]`: the gateway, and how entries travel to it.
#[derive(Debug, Clone, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// The gateway's base URL (`https://api.exampleco.com`); required to send.
    #[garde(inner(custom(http_url)))]
    pub base_url: Option<Url>,
    /// A PEM file of extra CA certificates to trust (the dev stack's own CA).
    #[garde(skip)]
    pub ca_cert: Option<PathBuf>,
    /// Entries per upload.
    #[garde(range(min = 1, max = MAX_BATCH_ITEMS))]
    pub batch_size: usize,
    /// Uploads on their way at once: the next batch travels while the API stores one.
    #[garde(range(min = 1, max = MAX_UPLOADS_IN_FLIGHT))]
    pub uploads_in_flight: usize,
    /// Per-request timeout.
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::from_millis(1), Duration::from_secs(3600))))]
    pub timeout: Duration,
    /// `[api.retry]`: attempts and backoff for connection errors, 429 and 5xx.
    #[garde(dive)]
    pub retry: RetryConfig,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            base_url: None,
            ca_cert: None,
            batch_size: 500,
            // Two hide the trip and the parsing of one batch behind the storing of the other;
            // the service stores a tenant's uploads one at a time, so more only queue there.
            uploads_in_flight: 2,
            timeout: Duration::from_secs(30),
            // A scheduled job can afford to wait out a rollout of the gateway or the service
            // (tens of seconds) rather than fail the run: more, slower attempts than the
            // client's interactive defaults.
            retry: RetryConfig {
                max_attempts: 8,
                base_delay: Duration::from_millis(500),
                ..RetryConfig::default()
            },
        }
    }
}

/// Why the API client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("api.base_url: is required to send entries")]
    NoBaseUrl,
    #[error(transparent)]
    Client(#[from] timesheet_client::ConfigError),
}

pub struct ApiDestination {
    client: ApiClient,
}

impl ApiDestination {
    pub fn new(client: ApiClient) -> Self {
        Self { client }
    }

    /// The destination `[api]` and `[auth]` describe. Fails without `api.base_url`, or when
    /// the client refuses its settings (no secret or key for the method, an unreadable key or
    /// CA file).
    pub fn from_config(api: &ApiConfig, auth: &AuthConfig) -> Result<Self, BuildError> {
        let base_url = api.base_url.clone().ok_or(BuildError::NoBaseUrl)?;
        let mut config = timesheet_client::Config::new(base_url, auth.clone());
        config.ca_cert = api.ca_cert.clone();
        config.timeout = api.timeout;
        config.retry = api.retry.clone();
        Ok(Self::new(ApiClient::new(&config)?))
    }
}

/// Retries are spent when an error gets here: what is left is whether the run should give up
/// for now (the API or the token endpoint is away) or stop because it was refused.
fn classify(err: ClientError) -> DestinationError {
    match err {
        ClientError::Token(token) if token.is_retryable() => {
            DestinationError::Auth(format!("the token endpoint is unavailable: {token}"))
        }
        ClientError::Token(token) => DestinationError::Auth(token.to_string()),
        err if err.is_retryable() => DestinationError::Unavailable(err.to_string()),
        ClientError::Status { status, problem } => DestinationError::Refused {
            status,
            detail: problem
                .map(|p| p.detail.unwrap_or(p.title))
                .unwrap_or_else(|| "no details".to_owned()),
        },
        ClientError::TooLarge { count, max } => DestinationError::Refused {
            status: 413,
            detail: format!("{count} entries in one upload; at most {max}"),
        },
        other => DestinationError::Refused {
            status: 0,
            detail: other.to_string(),
        },
    }
}

#[async_trait]
impl Destination for ApiDestination {
    async fn upload(
        &self,
        source: &SourceName,
        entries: &[EntryInput],
    ) -> Result<UploadResponse, DestinationError> {
        let batch = UploadBatch {
            source: source.clone(),
            entries: entries.to_vec(),
        };
        self.client.upload(&batch).await.map_err(classify)
    }

    async fn delete(&self, id: Uuid) -> Result<Deleted, DestinationError> {
        match self.client.delete_entry(id).await.map_err(classify)? {
            timesheet_client::Deleted::Now => Ok(Deleted::Now),
            timesheet_client::Deleted::AlreadyGone => Ok(Deleted::AlreadyGone),
        }
    }

    fn counters(&self) -> DestinationCounters {
        let stats = self.client.stats();
        DestinationCounters {
            retries: stats.retries + stats.token_retries,
            token_requests: stats.token_requests,
        }
    }
}
