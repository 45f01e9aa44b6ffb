//! The [`Destination`] of production: the Timesheets API through the gateway, by the shared
//! typed client (tokens, retries with backoff and `Retry-After`, one fresh token after a 401).

use async_trait::async_trait;
use timesheet_client::{ApiClient, ClientError};
use timesheet_domain::api::{EntryInput, UploadBatch, UploadResponse};
use timesheet_domain::SourceName;
use uuid::Uuid;

use super::destination::{Deleted, Destination, DestinationCounters, DestinationError};

pub struct ApiDestination {
    client: ApiClient,
}

impl ApiDestination {
    pub fn new(client: ApiClient) -> Self {
        Self { client }
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
