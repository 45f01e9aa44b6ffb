//! The Auth0 sample's API surface, served over the same ledger so that clients written against
//! the sample keep working: `POST /timesheets/upload`, `POST /timesheets`, `GET /timesheets`,
//! `GET /approvals`, `PUT /approvals/{id}`.

use axum::extract::{Path, Request, State};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use timesheet_domain::api::{EntryResponse, Hours, WeekResponse};
use timesheet_domain::{
    ExternalId, Minutes, NewEntry, Notes, ProjectCode, Scope, ValidationError, WorkDate,
    WorkerKind, WorkerRef,
};

use super::entries::{create_with_idempotency, list_page, ListQuery};
use super::weeks::{list_approvals, week_response};
use crate::error::{ApiError, ApiResult};
use crate::extract::{read_json_body, Caller, IdempotencyKey, QueryPairs};
use crate::ledger::{may_touch, transition_week, WeekAction};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/timesheets/upload", post(upload_one))
        .route("/timesheets", post(create_one).get(list_all))
        .route("/approvals", get(list_approvals))
        .route("/approvals/{id}", put(approve_entry_week))
}

/// The sample's entry: `{user_id, date, project, hours}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SampleEntry {
    user_id: String,
    date: String,
    project: String,
    hours: Hours,
    #[serde(default)]
    notes: Option<String>,
}

impl SampleEntry {
    fn into_new_entry(self) -> Result<NewEntry, ValidationError> {
        // The sample sends dates as ISO date-times; the day is what counts.
        let day = self.date.get(..10).unwrap_or(&self.date);
        let hours_text = match &self.hours {
            Hours::Text(t) => t.clone(),
            Hours::Number(n) => n.to_string(),
        };
        Ok(NewEntry {
            worker: Some(WorkerRef {
                external_id: ExternalId::parse(&self.user_id).map_err(|e| e.within("user_id"))?,
                kind: WorkerKind::Contractor,
                name: None,
                email: None,
            }),
            date: WorkDate::parse(day).map_err(|e| e.within("date"))?,
            project: ProjectCode::parse(&self.project).map_err(|e| e.within("project"))?,
            minutes: Minutes::from_hours(&hours_text).map_err(|e| e.within("hours"))?,
            notes: Notes::parse(self.notes.as_deref().unwrap_or_default())
                .map_err(|e| e.within("notes"))?,
            billable: true,
            external_id: None,
        })
    }
}

async fn create_sample(
    state: &AppState,
    caller: &Caller,
    scope: Scope,
    key: IdempotencyKey,
    request: Request,
) -> ApiResult<Response> {
    let principal = caller.require(scope)?.clone();
    let path = request.uri().path().to_owned();
    let text = read_json_body(request, state).await?;
    create_with_idempotency(state, &principal, key, &path, &text, |text| {
        let sample: SampleEntry = crate::extract::parse_json_text(text)?;
        Ok(sample.into_new_entry()?)
    })
    .await
}

async fn upload_one(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    request: Request,
) -> ApiResult<Response> {
    create_sample(&state, &caller, Scope::BatchUpload, key, request).await
}

async fn create_one(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    request: Request,
) -> ApiResult<Response> {
    create_sample(&state, &caller, Scope::CreateTimesheets, key, request).await
}

/// All entries the caller may see, as a plain array (the sample has no pagination; this returns
/// the first 1,000 and the /v1 list is the way to page).
async fn list_all(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryPairs,
) -> ApiResult<Json<Vec<EntryResponse>>> {
    let principal = caller.require(Scope::ReadTimesheets)?;
    let mut parsed = ListQuery::parse(&query)?;
    parsed.page.limit = parsed.page.limit.max(1000);
    let page = list_page(&state, principal, &parsed).await?;
    Ok(Json(page.entries.iter().map(EntryResponse::from).collect()))
}

/// Approves the submitted week that holds entry `id`.
async fn approve_entry_week(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<WeekResponse>> {
    let principal = caller.require(Scope::ApproveTimesheets)?;
    let id = super::entries::parse_entry_id(&id)?;
    let entry = match state.store.get_entry(&principal.tenant, id).await? {
        Some(entry) if !entry.is_deleted() && may_touch(principal, &entry) => entry,
        _ => return Err(ApiError::not_found()),
    };
    let saved = transition_week(
        &state,
        principal,
        &entry.worker.external_id,
        entry.date.iso_week(),
        WeekAction::Approve,
        None,
    )
    .await?;
    Ok(Json(week_response(&saved)))
}
