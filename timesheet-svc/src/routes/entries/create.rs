use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use timesheet_domain::api::{EntryInput, EntryResponse};
use timesheet_domain::{Entry, NewEntry, Principal, Problem, Scope};
use timesheet_store::StoredResponse;

use crate::error::ApiResult;
use crate::extract::{read_json_body, Caller, IdempotencyKey};
use crate::idempotency::{self, NextAction};
use crate::ledger;
use crate::routes::entry_response;
use crate::state::AppState;

/// Creates one entry. With `Idempotency-Key`, a retry of the same request replays the first
/// response (`Idempotent-Replayed: true`); the same key with another body is 422, and while the
/// first request is still running, 409.
#[utoipa::path(
    post, path = "/v1/timesheets/entries", tag = "entries",
    request_body = EntryInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses(
        (status = 201, description = "Created", body = EntryResponse),
        (status = 409, description = "Key in flight, week locked, or external_id taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid entry, day over 24 h, or key reused", body = Problem, content_type = "application/problem+json"),
    ),
    security(("gateway" = ["create:timesheets"]))
)]
pub async fn create_entry(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    request: Request,
) -> ApiResult<Response> {
    let principal = caller.require(Scope::CreateTimesheets)?.clone();
    let path = request.uri().path().to_owned();
    let text = read_json_body(request, &state).await?;
    create_with_idempotency(&state, &principal, key, &path, &text, |text| {
        let input: EntryInput = crate::extract::parse_json_text(text)?;
        Ok(NewEntry::try_from(input)?)
    })
    .await
}

/// The create flow shared with the compatibility routes. With a key: claim it, then create,
/// render and save the response in the create's transaction; a create that fails frees the key.
pub(crate) async fn create_with_idempotency(
    state: &AppState,
    principal: &Principal,
    key: IdempotencyKey,
    path: &str,
    body: &str,
    parse: impl FnOnce(&str) -> ApiResult<NewEntry>,
) -> ApiResult<Response> {
    let Some(key) = key.0 else {
        let entry = parse(body)?;
        let stored = ledger::create_entry(state, principal, entry)
            .await?
            .commit()
            .await?;
        return Ok(entry_response(StatusCode::CREATED, &stored, true));
    };
    match idempotency::try_processing(state, principal, &key, path, body).await? {
        NextAction::ReturnSavedResponse(saved) => Ok(idempotency::to_response(saved, true)),
        NextAction::StartProcessing => {
            let outcome = create_and_save(state, principal, &key, body, parse).await;
            if outcome.is_err() {
                // Nothing was committed: free the key so that a corrected retry may run.
                idempotency::release(state, principal, &key).await;
            }
            outcome
        }
    }
}

async fn create_and_save(
    state: &AppState,
    principal: &Principal,
    key: &str,
    body: &str,
    parse: impl FnOnce(&str) -> ApiResult<NewEntry>,
) -> ApiResult<Response> {
    let entry = parse(body)?;
    let mut created = ledger::create_entry(state, principal, entry).await?;
    let response = created_response(&created.value);
    idempotency::save_response(created.tx(), state, principal, key, &response).await?;
    created.commit().await?;
    Ok(idempotency::to_response(response, false))
}

/// The 201 of a create, as saved for replays and as sent the first time.
fn created_response(entry: &Entry) -> StoredResponse {
    StoredResponse {
        status: StatusCode::CREATED.as_u16(),
        headers: vec![
            ("etag".to_owned(), entry.etag()),
            (
                "location".to_owned(),
                format!("/v1/timesheets/entries/{}", entry.id),
            ),
        ],
        body: serde_json::to_vec(&EntryResponse::from(entry)).unwrap_or_default(),
    }
}
