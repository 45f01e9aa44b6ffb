use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::{Problem, SourceName};

/// The most items one upload may carry; more is a 413, so that one request cannot hold a
/// transaction (and the service's memory) for long.
pub const MAX_BATCH_ITEMS: usize = 1000;

/// `POST /v1/timesheets/upload`. Items stay raw JSON here so that each is parsed on its own and
/// one bad item is rejected alone instead of failing the whole upload.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "contractor-tracker"))]
    pub source: SourceName,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<super::EntryInput>))]
    pub entries: Vec<Box<RawValue>>,
}

/// The same upload as a client builds and sends it: typed entries, so a client cannot send what
/// the service would reject as malformed. [`UploadRequest`] is the service's side of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadBatch {
    pub source: SourceName,
    pub entries: Vec<super::EntryInput>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Created,
    Updated,
    Unchanged,
    Rejected,
}

/// What happened to one item, at its index in the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemResult {
    pub index: usize,
    #[serde(default)]
    pub external_id: Option<String>,
    pub status: ItemStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<uuid::Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

/// The upload's answer: counts, and one result per item in input order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadResponse {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: usize,
    pub results: Vec<ItemResult>,
}

impl UploadResponse {
    /// Builds the response from per-item results, counting each status.
    pub fn from_results(results: Vec<ItemResult>) -> Self {
        let mut response = Self::default();
        for r in &results {
            match r.status {
                ItemStatus::Created => response.created += 1,
                ItemStatus::Updated => response.updated += 1,
                ItemStatus::Unchanged => response.unchanged += 1,
                ItemStatus::Rejected => response.rejected += 1,
            }
        }
        response.results = results;
        response
    }
}
