use axum::extract::{Request, State};
use axum::Json;
use timesheet_domain::api::{UploadRequest, UploadResponse, MAX_BATCH_ITEMS};
use timesheet_domain::{Problem, ProblemType, Scope};

use crate::error::{ApiError, ApiResult};
use crate::extract::{read_json_body, Caller};
use crate::state::AppState;

/// Upserts up to 1,000 entries keyed by (source, external_id). Each item is reported in input
/// order as created, updated, unchanged or rejected (with its problem); the accepted ones are
/// committed together.
#[utoipa::path(
    post, path = "/v1/timesheets/upload", tag = "entries",
    request_body = UploadRequest,
    responses(
        (status = 200, description = "Per-item results", body = UploadResponse),
        (status = 413, description = "More than 1,000 items", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid envelope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("gateway" = ["batch:upload"]))
)]
pub async fn upload_entries(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> ApiResult<Json<UploadResponse>> {
    let principal = caller.require(Scope::BatchUpload)?;
    let text = read_json_body(request, &state).await?;
    let upload: UploadRequest = crate::extract::parse_json_text(&text)?;
    if upload.entries.len() > MAX_BATCH_ITEMS {
        return Err(ApiError::problem(
            Problem::new(ProblemType::PayloadTooLarge).with_detail(format!(
                "{} entries in one upload; at most {MAX_BATCH_ITEMS}",
                upload.entries.len()
            )),
        ));
    }
    // Runs in a task the client's connection cannot cancel (routes::detached).
    let response =
        crate::ledger::upload(&state, principal, &upload.source, &upload.entries).await?;
    tracing::info!(
        source = %upload.source,
        created = response.created,
        updated = response.updated,
        unchanged = response.unchanged,
        rejected = response.rejected,
        "upload applied"
    );
    Ok(Json(response))
}
