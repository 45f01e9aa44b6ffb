//! The ledger: every write of the service, as a transaction of the store driven by the rules of
//! `timesheet-domain`. Routes parse and authorise; the ledger reads what the rules need, asks the
//! rules, writes what they decided, and commits — or rolls back by dropping the transaction. A
//! create hands its write back [`Uncommitted`], so that the route saves an idempotent request's
//! response in the same transaction before committing.

mod entry;
mod upload;
mod week;

pub use entry::{create_entry, delete_entry, patch_entry};
pub use upload::upload;
pub use week::{transition_week, WeekAction};

use std::collections::{HashMap, HashSet};

use timesheet_domain::{
    DayKey, Entry, ExternalId, PlanContext, Principal, ProblemType, WorkerKind, WorkerRef,
};
use timesheet_store::{StoreTx, WeekKey};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A write done in its transaction and not committed yet. What the caller writes through
/// [`Uncommitted::tx`] commits or rolls back with it; dropping it rolls everything back.
pub struct Uncommitted<T> {
    pub value: T,
    tx: Box<dyn StoreTx>,
}

impl<T> Uncommitted<T> {
    fn new(value: T, tx: Box<dyn StoreTx>) -> Self {
        Self { value, tx }
    }

    /// The write's transaction, to add to it.
    pub fn tx(&mut self) -> &mut dyn StoreTx {
        self.tx.as_mut()
    }

    /// Commits the write and returns its value.
    pub async fn commit(self) -> ApiResult<T> {
        self.tx.commit().await?;
        Ok(self.value)
    }
}

/// Whether `principal` may see or change `entry`: machines and approvers act for the whole
/// tenant, people only for themselves. A refusal is a 404, so nobody learns what exists.
pub fn may_touch(principal: &Principal, entry: &Entry) -> bool {
    principal.sees_whole_tenant() || entry.worker.external_id.as_ref() == principal.subject
}

/// The worker a person logs time as: the worker whose external id is their subject.
pub fn own_worker(principal: &Principal) -> ApiResult<WorkerRef> {
    let external_id = ExternalId::parse(&principal.subject).map_err(|_| {
        ApiError::with_detail(
            ProblemType::Forbidden,
            "this identity cannot own entries (its subject is not a valid worker id)",
        )
    })?;
    Ok(WorkerRef {
        external_id,
        kind: WorkerKind::Employee,
        name: None,
        email: None,
    })
}

/// Reads the day totals and approved weeks that the rules need for these worker-days, inside
/// the transaction, and returns the planning context.
async fn read_context(
    state: &AppState,
    tx: &mut Box<dyn StoreTx>,
    days: HashSet<DayKey>,
) -> ApiResult<PlanContext> {
    let weeks: HashSet<WeekKey> = days.iter().map(|(w, d)| (*w, d.iso_week())).collect();
    let days: Vec<DayKey> = days.into_iter().collect();
    let weeks: Vec<WeekKey> = weeks.into_iter().collect();
    Ok(PlanContext {
        existing: HashMap::new(),
        workers: HashMap::new(),
        day_totals: tx.day_totals(&days).await?,
        locked_weeks: tx.approved_weeks(&weeks).await?,
        window: state.window,
        today: Some(state.today()),
    })
}

/// Whether `principal` may write for `worker`: machines and approvers for anyone, people for
/// themselves.
pub fn may_touch_worker(principal: &Principal, worker: &WorkerRef) -> bool {
    principal.sees_whole_tenant() || worker.external_id.as_ref() == principal.subject
}
