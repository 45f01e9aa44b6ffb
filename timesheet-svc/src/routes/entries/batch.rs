use axum::extract::{Request, State};
use axum::Json;
use timesheet_domain::api::{UploadRequest, UploadResponse, MAX_BATCH_ITEMS};
use timesheet_domain::{Problem, ProblemType, Scope};

use crate::error::{ApiError, ApiResult};
use crate::extract::{read_json_body, Caller};
use crate::state::AppState;
use tracing::Instrument as _;

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
    // Applied in a task of its own, so that a client gone mid-upload (a killed importer) cannot
    // drop the store's write transaction half-way: sqlx's SQLite writer did not always come back
    // from that, and answered every later upload with a 500. An upload is idempotent, so
    // finishing one nobody waits for is harmless.
    let applied = tokio::spawn(
        {
            let state = state.clone();
            let principal = principal.clone();
            async move {
                let response =
                    crate::ledger::upload(&state, &principal, &upload.source, &upload.entries)
                        .await;
                response.map(|response| (response, upload))
            }
        }
        .in_current_span(),
    )
    .await;
    let (response, upload) = applied.map_err(|err| {
        tracing::error!(error = %err, "the upload task failed");
        ApiError::of(ProblemType::Internal)
    })??;
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
