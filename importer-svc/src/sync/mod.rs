//! The sync engine and what it talks to: planning a run against the local state (`plan`,
//! `digest`), carrying it out against the API (`engine`), and the API behind a trait
//! (`destination`, implemented over the shared HTTP client in `api_destination`).

pub mod api_destination;
pub mod destination;
pub mod digest;
pub(crate) mod engine;
pub mod plan;

use crate::source::SourceError;
use crate::state::{LockError, StateError};
use destination::DestinationError;
use plan::MassDeletion;

/// Why a run failed. Per-row rejections are not errors: they are report data.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Another run holds the lock (or the lock could not be taken).
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("reading the source: {0}")]
    Source(#[from] SourceError),
    /// The API is unavailable, refused a whole request, or no token could be had.
    #[error(transparent)]
    Destination(#[from] DestinationError),
    /// The API answered something the engine cannot match to what it sent.
    #[error("the API answered unexpectedly: {0}")]
    Protocol(String),
    #[error(transparent)]
    MassDeletion(#[from] MassDeletion),
    /// A shutdown signal stopped the run between two batches.
    #[error("stopped by a shutdown signal before the run finished")]
    Interrupted,
}

impl SyncError {
    /// Another run is in progress: this one did nothing at all.
    pub fn is_locked(&self) -> bool {
        matches!(self, Self::Lock(LockError::Held(_)))
    }
}
