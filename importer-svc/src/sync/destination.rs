//! Where entries go: the Timesheets API, behind a trait so the engine is testable on its own.
//! The implementation over `timesheet_client::ApiClient` lives in `api_destination.rs`.

use async_trait::async_trait;
use timesheet_domain::api::{EntryInput, UploadResponse};
use timesheet_domain::SourceName;
use uuid::Uuid;

/// What happened to a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Now,
    /// The entry was already gone (404): the goal is reached all the same.
    AlreadyGone,
}

/// Counters the run report shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DestinationCounters {
    pub retries: u64,
    pub token_requests: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    /// Retries are exhausted (connection errors, 429, 5xx): the run fails and is re-run later.
    #[error("the API is unavailable: {0}")]
    Unavailable(String),
    /// The API refused the whole request (a 4xx other than 429): retrying will not help.
    #[error("the API refused the request ({status}): {detail}")]
    Refused { status: u16, detail: String },
    /// No access token could be obtained.
    #[error("no access token: {0}")]
    Auth(String),
}

#[async_trait]
pub trait Destination: Send + Sync {
    /// `POST /v1/timesheets/upload` with at most 1,000 entries; results in input order.
    async fn upload(
        &self,
        source: &SourceName,
        entries: &[EntryInput],
    ) -> Result<UploadResponse, DestinationError>;

    /// `DELETE /v1/timesheets/entries/{id}`.
    async fn delete(&self, id: Uuid) -> Result<Deleted, DestinationError>;

    fn counters(&self) -> DestinationCounters;
}
