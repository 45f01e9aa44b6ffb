//! The batch planner: given an upload's parsed items and what is stored now, decide item by item
//! (in input order) what happens. Pure: the store reads the context, the planner decides, the
//! store writes the plan, all in one transaction. Every business rule of an upload lives here.

use std::collections::{HashMap, HashSet};

use time::Date;

use crate::{
    DateWindow, EntryId, EntryStatus, ExternalId, IsoWeek, Minutes, NewEntry, Notes, Problem,
    ProblemType, ProjectCode, WorkDate, WorkerId, MAX_MINUTES_PER_DAY,
};

/// A worker's day, the unit of the 24-hour rule.
pub type DayKey = (WorkerId, WorkDate);

/// Why one item was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub kind: ProblemType,
    pub detail: String,
    /// The item's field at fault, as a path inside the item (`minutes`, `worker/kind`).
    pub field: Option<String>,
}

impl Rejection {
    pub fn new(kind: ProblemType, detail: impl Into<String>, field: Option<&str>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            field: field.map(str::to_owned),
        }
    }

    /// The problem to show for the item at `index` of the upload.
    pub fn to_problem(&self, index: usize) -> Problem {
        self.problem_at(&format!("/entries/{index}"))
    }

    /// The problem, with the field's pointer under `prefix` (`""` for a request's own body).
    pub fn problem_at(&self, prefix: &str) -> Problem {
        let mut problem = Problem::new(self.kind).with_detail(self.detail.clone());
        if let Some(field) = &self.field {
            let pointer = if field.is_empty() {
                prefix.to_owned()
            } else {
                format!("{prefix}/{field}")
            };
            problem.errors.push(crate::FieldError {
                pointer,
                detail: self.detail.clone(),
            });
        }
        problem
    }
}

impl From<crate::ValidationError> for Rejection {
    /// A validation error always points somewhere: at its field, or (empty field) at the item
    /// itself, e.g. when the item is not a JSON object at all.
    fn from(err: crate::ValidationError) -> Self {
        let detail = err.to_string();
        Self {
            kind: ProblemType::ValidationError,
            detail,
            field: Some(err.field),
        }
    }
}

/// One upload item after parsing. A parsed item always has a worker and an external id.
#[derive(Debug, Clone)]
pub struct BatchItem {
    pub index: usize,
    /// The external id as sent, for the report, even when the item did not parse.
    pub external_id: Option<String>,
    pub parsed: Result<NewEntry, Rejection>,
}

/// What is stored for an item's (source, external id), tombstones included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingEntry {
    pub id: EntryId,
    pub worker: WorkerId,
    pub date: WorkDate,
    pub project: ProjectCode,
    pub minutes: Minutes,
    pub notes: Notes,
    pub billable: bool,
    pub status: EntryStatus,
    pub version: i64,
    pub deleted: bool,
}

impl From<&crate::Entry> for ExistingEntry {
    fn from(e: &crate::Entry) -> Self {
        Self {
            id: e.id,
            worker: e.worker.id,
            date: e.date,
            project: e.project.clone(),
            minutes: e.minutes,
            notes: e.notes.clone(),
            billable: e.billable,
            status: e.status,
            version: e.version,
            deleted: e.deleted_at.is_some(),
        }
    }
}

/// What the store read before planning.
#[derive(Debug, Clone, Default)]
pub struct PlanContext {
    /// Stored entries of this source, by external id.
    pub existing: HashMap<ExternalId, ExistingEntry>,
    /// Worker ids by the external id the upload names them with (after the worker upsert).
    pub workers: HashMap<ExternalId, WorkerId>,
    /// Minutes of live entries per worker and day, for every day the batch touches.
    pub day_totals: HashMap<DayKey, u32>,
    /// Weeks that are approved, for the workers the batch touches.
    pub locked_weeks: HashSet<(WorkerId, IsoWeek)>,
    pub window: DateWindow,
    pub today: Option<Date>,
}

/// The decision for one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemDecision {
    Create {
        id: EntryId,
        worker: WorkerId,
        entry: NewEntry,
    },
    /// A change to a stored entry; `revived` when the stored one was a tombstone (reported as
    /// created, since for the client it reappears).
    Update {
        id: EntryId,
        worker: WorkerId,
        entry: NewEntry,
        version: i64,
        revived: bool,
    },
    Unchanged {
        id: EntryId,
        version: i64,
    },
    Rejected(Rejection),
}

/// Decisions in input order.
#[derive(Debug, Clone, Default)]
pub struct BatchPlan {
    pub decisions: Vec<ItemDecision>,
}

impl BatchPlan {
    /// Whether the plan writes anything at all.
    pub fn has_writes(&self) -> bool {
        self.decisions
            .iter()
            .any(|d| matches!(d, ItemDecision::Create { .. } | ItemDecision::Update { .. }))
    }
}

/// Decides every item of an upload, in input order, against `ctx`.
///
/// Rules, in the order they are checked:
/// 1. items that did not parse are rejected with their validation problem;
/// 2. an external id seen earlier in the batch is rejected (`duplicate-in-batch`);
/// 3. then [`check_change`]: date window, unchanged content, approved weeks, the 24-hour day
///    (counting stored entries and the batch's earlier items);
/// 4. otherwise the item creates, updates or revives its entry.
pub fn plan_batch(items: Vec<BatchItem>, ctx: &PlanContext) -> BatchPlan {
    let mut totals = ctx.day_totals.clone();
    let mut seen: HashSet<ExternalId> = HashSet::with_capacity(items.len());
    let decisions = items
        .into_iter()
        .map(|item| decide(item, ctx, &mut totals, &mut seen))
        .collect();
    BatchPlan { decisions }
}

fn decide(
    item: BatchItem,
    ctx: &PlanContext,
    totals: &mut HashMap<DayKey, u32>,
    seen: &mut HashSet<ExternalId>,
) -> ItemDecision {
    let entry = match item.parsed {
        Ok(entry) => entry,
        Err(rejection) => return ItemDecision::Rejected(rejection),
    };
    let Some(worker_ref) = &entry.worker else {
        return ItemDecision::Rejected(Rejection::new(
            ProblemType::ValidationError,
            "worker is required",
            Some("worker"),
        ));
    };
    if let Some(external_id) = &entry.external_id {
        if !seen.insert(external_id.clone()) {
            return ItemDecision::Rejected(Rejection::new(
                ProblemType::DuplicateInBatch,
                format!(
                    "external_id {:?} appears earlier in this batch",
                    external_id.as_ref()
                ),
                Some("external_id"),
            ));
        }
    }
    let Some(&worker) = ctx.workers.get(&worker_ref.external_id) else {
        return ItemDecision::Rejected(Rejection::new(
            ProblemType::ValidationError,
            format!(
                "worker {:?} could not be resolved",
                worker_ref.external_id.as_ref()
            ),
            Some("worker/external_id"),
        ));
    };
    let existing = entry.external_id.as_ref().and_then(|x| ctx.existing.get(x));
    match check_change(existing, worker, &entry, ctx, totals) {
        Ok(Change::Unchanged) => match existing {
            Some(old) => ItemDecision::Unchanged {
                id: old.id,
                version: old.version,
            },
            None => ItemDecision::Rejected(Rejection::new(
                ProblemType::Internal,
                "unchanged without a stored entry",
                None,
            )),
        },
        Ok(Change::Write) => match existing {
            None => ItemDecision::Create {
                id: EntryId::generate(),
                worker,
                entry,
            },
            Some(old) => ItemDecision::Update {
                id: old.id,
                worker,
                entry,
                version: old.version + 1,
                revived: old.deleted,
            },
        },
        Err(rejection) => ItemDecision::Rejected(rejection),
    }
}

/// What a change to one entry amounts to, once the rules allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The stored entry already holds this content: nothing to write.
    Unchanged,
    Write,
}

/// The rules for putting `entry` (for `worker`) where `existing` is stored now (or nothing is):
/// date window, approved-week lock on the old and the new week, no-op detection, and the 24-hour
/// day limit against `totals`, which is updated when the change is allowed. Used for each item
/// of an upload and for single creates and patches, so all writes obey the same rules.
pub fn check_change(
    existing: Option<&ExistingEntry>,
    worker: WorkerId,
    entry: &NewEntry,
    ctx: &PlanContext,
    totals: &mut HashMap<DayKey, u32>,
) -> Result<Change, Rejection> {
    if let Some(today) = ctx.today {
        if let Err(err) = ctx.window.check(entry.date, today) {
            return Err(Rejection::from(err.within("date")));
        }
    }
    let live = existing.filter(|old| !old.deleted);
    if let Some(old) = live {
        if same_content(old, worker, entry) {
            return Ok(Change::Unchanged);
        }
        if old.status.is_locked() {
            return Err(Rejection::new(
                ProblemType::WeekLocked,
                format!("the entry is in the approved week {}", old.date.iso_week()),
                None,
            ));
        }
    }
    let target_week = entry.date.iso_week();
    if ctx.locked_weeks.contains(&(worker, target_week)) {
        return Err(Rejection::new(
            ProblemType::WeekLocked,
            format!("the week {target_week} is approved for this worker"),
            Some("date"),
        ));
    }
    // The 24-hour rule: take the stored entry off its old day, then see if the new one fits.
    let released = live.map(|old| ((old.worker, old.date), old.minutes.get()));
    let key = (worker, entry.date);
    let current = totals.get(&key).copied().unwrap_or(0);
    let freed_here = match released {
        Some((old_key, m)) if old_key == key => m,
        _ => 0,
    };
    let after = current.saturating_sub(freed_here) + entry.minutes.get();
    if after > MAX_MINUTES_PER_DAY {
        return Err(Rejection::new(
            ProblemType::DayLimitExceeded,
            format!(
                "the worker would have {after} min on {} (at most {MAX_MINUTES_PER_DAY})",
                entry.date
            ),
            Some("minutes"),
        ));
    }
    if let Some((old_key, m)) = released {
        if let Some(t) = totals.get_mut(&old_key) {
            *t = t.saturating_sub(m);
        }
    }
    *totals.entry(key).or_insert(0) += entry.minutes.get();
    Ok(Change::Write)
}

fn same_content(old: &ExistingEntry, worker: WorkerId, new: &NewEntry) -> bool {
    old.worker == worker
        && old.date == new.date
        && old.project == new.project
        && old.minutes == new.minutes
        && old.notes == new.notes
        && old.billable == new.billable
}

#[cfg(test)]
mod tests;
