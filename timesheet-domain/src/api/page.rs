use serde::{Deserialize, Serialize};

use super::EntryResponse;

/// One page of `GET /v1/timesheets/entries`. `next` is the path of the following page, or
/// null on the last one; it is also sent as a `Link: <…>; rel="next"` header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryPage {
    pub data: Vec<EntryResponse>,
    pub next: Option<String>,
}
