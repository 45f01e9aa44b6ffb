use axum::extract::{Path, State};
use axum::http::StatusCode;
use timesheet_domain::{Problem, Scope};

use super::parse_entry_id;
use crate::error::ApiResult;
use crate::extract::{Caller, IfMatch};
use crate::state::AppState;

/// Deletes an entry. A tombstone stays, so that clients syncing with `updated_since` learn of
/// the deletion. `If-Match` is optional; when sent, it must be current.
#[utoipa::path(
    delete, path = "/v1/timesheets/entries/{id}", tag = "entries",
    params(
        ("id" = uuid::Uuid, Path, description = "Entry id"),
        ("If-Match" = Option<String>, Header, description = "The ETag of the version being deleted"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such entry", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The week is approved", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("gateway" = ["delete:timesheets"]))
)]
pub async fn delete_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> ApiResult<StatusCode> {
    let principal = caller.require(Scope::DeleteTimesheets)?;
    let id = parse_entry_id(&id)?;
    crate::ledger::delete_entry(&state, principal, id, &if_match).await?;
    Ok(StatusCode::NO_CONTENT)
}
