use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::WeekStatus;

/// A worker's week and where it stands in the approval workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeekResponse {
    /// The worker's external id, as in the week's path.
    pub worker: String,
    pub worker_id: uuid::Uuid,
    /// ISO week, e.g. `2026-W48`.
    pub week: String,
    pub status: WeekStatus,
    /// Entries in the week and their total, at the time of the last transition.
    pub entries: u32,
    pub minutes: u32,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub submitted_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub submitted_by: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub decided_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// `GET /v1/approvals`: the weeks waiting for a decision, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalsResponse {
    pub data: Vec<WeekResponse>,
}
