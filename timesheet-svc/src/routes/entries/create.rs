use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use timesheet_domain::api::{EntryInput, EntryResponse};
use timesheet_domain::{Entry, NewEntry, Principal, Problem, ProblemType, Scope};
use timesheet_store::{IdempotencyStart, StoredResponse};

use crate::error::{ApiError, ApiResult};
use crate::extract::{read_json_body, Caller, IdempotencyKey};
use crate::ledger::IdempotentSave;
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

/// The create flow shared with the compatibility routes: claim the key, create, save the
/// response in the create's transaction, or release the key if the create failed.
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
        let stored = crate::ledger::create_entry(state, principal, entry, None).await?;
        return Ok(entry_response(StatusCode::CREATED, &stored, true));
    };
    let hash = Sha256::new()
        .chain_update(path.as_bytes())
        .chain_update([0])
        .chain_update(body.as_bytes())
        .finalize();
    let start = state
        .store
        .idempotency_start(
            &principal.tenant,
            principal.actor(),
            &key,
            &hash,
            state.idempotency_stale,
        )
        .await?;
    match start {
        IdempotencyStart::Completed(saved) => Ok(replay(saved)),
        IdempotencyStart::InFlight => Err(ApiError::of(ProblemType::IdempotencyKeyInUse)),
        IdempotencyStart::Mismatch => Err(ApiError::with_detail(
            ProblemType::IdempotencyKeyReused,
            "this Idempotency-Key was used with a different request; use a new key",
        )),
        IdempotencyStart::Started => {
            let render = |entry: &Entry| render(entry);
            let save = IdempotentSave {
                key: &key,
                render: &render,
            };
            let result = match parse(body) {
                Ok(entry) => crate::ledger::create_entry(state, principal, entry, Some(save)).await,
                Err(err) => Err(err),
            };
            match result {
                Ok(stored) => Ok(entry_response(StatusCode::CREATED, &stored, true)),
                Err(err) => {
                    // Nothing was committed: free the key so that a corrected retry may run.
                    if let Err(release) = state
                        .store
                        .idempotency_release(&principal.tenant, principal.actor(), &key)
                        .await
                    {
                        tracing::warn!(error = %release, "could not release an idempotency key");
                    }
                    Err(err)
                }
            }
        }
    }
}

fn render(entry: &Entry) -> StoredResponse {
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

fn replay(saved: StoredResponse) -> Response {
    let status = StatusCode::from_u16(saved.status).unwrap_or(StatusCode::OK);
    let mut response = (status, saved.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        HeaderName::from_static("idempotent-replayed"),
        HeaderValue::from_static("true"),
    );
    for (name, value) in saved.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}
