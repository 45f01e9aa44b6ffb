//! The week workflow: submit, approve, reject.

use timesheet_domain::{
    ExternalId, IsoWeek, Principal, ProblemType, Scope, WeekStatus, WeekTransitionError,
};
use timesheet_store::Week;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeekAction {
    Submit,
    Approve,
    Reject,
}

/// Moves `worker`'s `week` through the workflow and sets its entries' status to match.
///
/// People submit their own weeks; deciding needs approve:timesheets, and nobody decides their
/// own week (separation of duties). Machines act for the tenant.
pub async fn transition_week(
    state: &AppState,
    principal: &Principal,
    worker: &ExternalId,
    week: IsoWeek,
    action: WeekAction,
    reason: Option<String>,
) -> ApiResult<Week> {
    let own = worker.as_ref() == principal.subject;
    match action {
        WeekAction::Submit if !own && !principal.sees_whole_tenant() => {
            return Err(ApiError::not_found());
        }
        WeekAction::Approve | WeekAction::Reject if !principal.has(Scope::ApproveTimesheets) => {
            return Err(ApiError::with_detail(
                ProblemType::Forbidden,
                "this operation needs the scope approve:timesheets",
            ));
        }
        WeekAction::Approve | WeekAction::Reject if own && !principal.is_machine() => {
            return Err(ApiError::with_detail(
                ProblemType::Forbidden,
                "nobody may decide their own week",
            ));
        }
        _ => {}
    }
    let worker_id = state
        .store
        .worker_id(&principal.tenant, worker)
        .await?
        .ok_or_else(|| ApiError::with_detail(ProblemType::NotFound, "no such worker"))?;
    let mut tx = state.store.begin(&principal.tenant).await?;
    let now = state.now();
    let current = tx.week((worker_id, week)).await?;
    let status = current.as_ref().map_or(WeekStatus::Open, |w| w.status);
    let next = match action {
        WeekAction::Submit => status.submit(),
        WeekAction::Approve => status.approve(),
        WeekAction::Reject => status.reject(),
    }
    .map_err(|e: WeekTransitionError| {
        ApiError::with_detail(ProblemType::InvalidTransition, e.to_string())
    })?;
    let mut row = current.unwrap_or(Week {
        worker: worker_id,
        worker_external_id: worker.clone(),
        week,
        status,
        entries: 0,
        minutes: 0,
        submitted_at: None,
        submitted_by: None,
        decided_at: None,
        decided_by: None,
        reason: None,
    });
    row.status = next;
    match action {
        WeekAction::Submit => {
            row.submitted_at = Some(now);
            row.submitted_by = Some(principal.actor().to_owned());
            row.decided_at = None;
            row.decided_by = None;
            row.reason = None;
        }
        WeekAction::Approve | WeekAction::Reject => {
            row.decided_at = Some(now);
            row.decided_by = Some(principal.actor().to_owned());
            row.reason = reason;
        }
    }
    let saved = tx.save_week(&row, now).await?;
    tx.commit().await?;
    Ok(saved)
}
