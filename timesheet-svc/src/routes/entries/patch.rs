use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use timesheet_domain::api::{EntryResponse, PatchEntryRequest};
use timesheet_domain::{EntryPatch, Problem, Scope};

use super::parse_entry_id;
use crate::error::ApiResult;
use crate::extract::{parse_json_text, read_json_body, Caller, IfMatch};
use crate::routes::entry_response;
use crate::state::AppState;

/// Changes some fields of an entry. `If-Match` with the entry's current ETag is required, so
/// that nobody overwrites a change they have not seen.
#[utoipa::path(
    patch, path = "/v1/timesheets/entries/{id}", tag = "entries",
    params(
        ("id" = uuid::Uuid, Path, description = "Entry id"),
        ("If-Match" = String, Header, description = "The ETag of the version being changed"),
    ),
    request_body = PatchEntryRequest,
    responses(
        (status = 200, description = "The changed entry", body = EntryResponse),
        (status = 404, description = "No such entry", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The week is approved", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("gateway" = ["update:timesheets"]))
)]
pub async fn patch_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    request: Request,
) -> ApiResult<Response> {
    let principal = caller.require(Scope::UpdateTimesheets)?;
    let id = parse_entry_id(&id)?;
    if_match.required()?;
    let text = read_json_body(request, &state).await?;
    let body: PatchEntryRequest = parse_json_text(&text)?;
    let patch = EntryPatch::try_from(body)?;
    let entry = crate::ledger::patch_entry(&state, principal, id, &if_match, &patch).await?;
    Ok(entry_response(StatusCode::OK, &entry, false))
}
