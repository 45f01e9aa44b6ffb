//! The week workflow and the approvals queue.

use axum::extract::{Path, Request, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use timesheet_domain::api::{ApprovalsResponse, WeekResponse};
use timesheet_domain::{ExternalId, IsoWeek, Problem, ProblemType, Scope, WeekStatus};
use timesheet_store::Week;

use crate::error::{ApiError, ApiResult};
use crate::extract::{parse_json_text, read_json_body, Caller};
use crate::ledger::{transition_week, WeekAction};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/timesheets/weeks/{worker}/{week}/submit",
            post(submit_week),
        )
        .route(
            "/v1/timesheets/weeks/{worker}/{week}/approve",
            post(approve_week),
        )
        .route(
            "/v1/timesheets/weeks/{worker}/{week}/reject",
            post(reject_week),
        )
        .route("/v1/approvals", get(list_approvals))
}

/// Hands in a worker's week for approval.
#[utoipa::path(
    post, path = "/v1/timesheets/weeks/{worker}/{week}/submit", tag = "weeks",
    params(("worker" = String, Path, description = "Worker external id"), ("week" = String, Path, description = "ISO week, e.g. 2026-W48")),
    responses(
        (status = 200, description = "Submitted", body = WeekResponse),
        (status = 404, description = "No such worker", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not in a state that can be submitted", body = Problem, content_type = "application/problem+json"),
    ),
    security(("gateway" = ["create:timesheets"]))
)]
pub async fn submit_week(
    State(state): State<AppState>,
    caller: Caller,
    Path((worker, week)): Path<(String, String)>,
) -> ApiResult<Json<WeekResponse>> {
    let principal = caller.require(Scope::CreateTimesheets)?;
    let (worker, week) = parse_path(&worker, &week)?;
    let saved = transition_week(&state, principal, &worker, week, WeekAction::Submit, None).await?;
    Ok(Json(week_response(&saved)))
}

/// Approves a submitted week; its entries are locked from then on.
#[utoipa::path(
    post, path = "/v1/timesheets/weeks/{worker}/{week}/approve", tag = "weeks",
    params(("worker" = String, Path), ("week" = String, Path)),
    responses(
        (status = 200, description = "Approved", body = WeekResponse),
        (status = 409, description = "Not submitted", body = Problem, content_type = "application/problem+json"),
    ),
    security(("gateway" = ["approve:timesheets"]))
)]
pub async fn approve_week(
    State(state): State<AppState>,
    caller: Caller,
    Path((worker, week)): Path<(String, String)>,
) -> ApiResult<Json<WeekResponse>> {
    let principal = caller.require(Scope::ApproveTimesheets)?;
    let (worker, week) = parse_path(&worker, &week)?;
    let saved =
        transition_week(&state, principal, &worker, week, WeekAction::Approve, None).await?;
    Ok(Json(week_response(&saved)))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// Why, for the worker; at most 1,000 characters.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Sends a submitted week back to the worker, with an optional reason.
#[utoipa::path(
    post, path = "/v1/timesheets/weeks/{worker}/{week}/reject", tag = "weeks",
    params(("worker" = String, Path), ("week" = String, Path)),
    request_body(content = Option<RejectRequest>),
    responses(
        (status = 200, description = "Rejected", body = WeekResponse),
        (status = 409, description = "Not submitted", body = Problem, content_type = "application/problem+json"),
    ),
    security(("gateway" = ["approve:timesheets"]))
)]
pub async fn reject_week(
    State(state): State<AppState>,
    caller: Caller,
    Path((worker, week)): Path<(String, String)>,
    request: Request,
) -> ApiResult<Json<WeekResponse>> {
    let principal = caller.require(Scope::ApproveTimesheets)?;
    let (worker, week) = parse_path(&worker, &week)?;
    let has_body = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .is_some_and(|v| v != "0")
        || request
            .headers()
            .contains_key(axum::http::header::TRANSFER_ENCODING);
    let body: RejectRequest = if has_body {
        parse_json_text(&read_json_body(request, &state).await?)?
    } else {
        RejectRequest::default()
    };
    if let Some(reason) = &body.reason {
        if reason.chars().count() > 1000 {
            return Err(timesheet_domain::ValidationError::new(
                "reason",
                "must be at most 1000 characters",
            )
            .into());
        }
    }
    let saved = transition_week(
        &state,
        principal,
        &worker,
        week,
        WeekAction::Reject,
        body.reason,
    )
    .await?;
    Ok(Json(week_response(&saved)))
}

/// Weeks waiting for a decision, oldest submission first.
#[utoipa::path(
    get, path = "/v1/approvals", tag = "weeks",
    responses((status = 200, description = "Submitted weeks", body = ApprovalsResponse)),
    security(("gateway" = ["approve:timesheets"]))
)]
pub async fn list_approvals(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<ApprovalsResponse>> {
    let principal = caller.require(Scope::ApproveTimesheets)?;
    let weeks = state
        .store
        .list_weeks(&principal.tenant, WeekStatus::Submitted, 1000)
        .await?;
    Ok(Json(ApprovalsResponse {
        data: weeks.iter().map(week_response).collect(),
    }))
}

fn parse_path(worker: &str, week: &str) -> ApiResult<(ExternalId, IsoWeek)> {
    let worker = ExternalId::parse(worker)
        .map_err(|_| ApiError::with_detail(ProblemType::NotFound, "no such worker"))?;
    let week = IsoWeek::parse(week).map_err(|e| ApiError::from(e.within("week")))?;
    Ok((worker, week))
}

pub(crate) fn week_response(week: &Week) -> WeekResponse {
    WeekResponse {
        worker: week.worker_external_id.to_string(),
        worker_id: week.worker.as_uuid(),
        week: week.week.to_string(),
        status: week.status,
        entries: week.entries,
        minutes: week.minutes,
        submitted_at: week.submitted_at,
        submitted_by: week.submitted_by.clone(),
        decided_at: week.decided_at,
        decided_by: week.decided_by.clone(),
        reason: week.reason.clone(),
    }
}
