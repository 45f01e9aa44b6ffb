use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use timesheet_domain::api::EntryResponse;
use timesheet_domain::{Problem, Scope};

use super::parse_entry_id;
use crate::error::{ApiError, ApiResult};
use crate::extract::Caller;
use crate::ledger::may_touch;
use crate::routes::entry_response;
use crate::state::AppState;

/// One live entry, with its `ETag`. `If-None-Match` with the current tag answers 304.
#[utoipa::path(
    get, path = "/v1/timesheets/entries/{id}", tag = "entries",
    params(("id" = uuid::Uuid, Path, description = "Entry id")),
    responses(
        (status = 200, description = "The entry", body = EntryResponse, headers(("ETag" = String))),
        (status = 304, description = "Not modified"),
        (status = 404, description = "No such entry (or not yours)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("gateway" = ["read:timesheets"]))
)]
pub async fn get_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let principal = caller.require(Scope::ReadTimesheets)?;
    let id = parse_entry_id(&id)?;
    let entry = match state.store.get_entry(&principal.tenant, id).await? {
        Some(entry) if !entry.is_deleted() && may_touch(principal, &entry) => entry,
        _ => return Err(ApiError::not_found()),
    };
    let etag = entry.etag();
    let not_modified = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        });
    if not_modified {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Ok(entry_response(StatusCode::OK, &entry, false))
}
