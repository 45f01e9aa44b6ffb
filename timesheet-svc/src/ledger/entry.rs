//! Single-entry writes: create, patch, delete.

use std::collections::HashSet;

use timesheet_domain::{
    check_change, Change, Entry, EntryId, EntryPatch, ExistingEntry, NewEntry, Principal, Problem,
    ProblemType, Rejection, SourceName, WorkerRef,
};
use timesheet_store::{constraint, EntryWrite, StoreTx, WriteKind};

use super::{may_touch, may_touch_worker, own_worker, read_context, Uncommitted};
use crate::error::{ApiError, ApiResult, OnConstraint};
use crate::extract::IfMatch;
use crate::state::AppState;

/// Creates one entry for the caller (people: themselves; machines: the worker they name) and
/// returns it as stored, in its transaction: the caller commits, after writing what must commit
/// with it (an idempotent request's response).
pub async fn create_entry(
    state: &AppState,
    principal: &Principal,
    mut entry: NewEntry,
) -> ApiResult<Uncommitted<Entry>> {
    let worker = resolve_worker(principal, entry.worker.take())?;
    let source = SourceName::api();
    let mut tx = state.store.begin(&principal.tenant).await?;
    let now = state.now();
    let worker_ids = tx
        .upsert_workers(std::slice::from_ref(&worker), now)
        .await?;
    let worker_id = *worker_ids
        .get(&worker.external_id)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("upserted worker has no id")))?;
    tx.upsert_projects(std::slice::from_ref(&entry.project), now)
        .await?;
    let mut ctx = read_context(state, &mut tx, HashSet::from([(worker_id, entry.date)])).await?;
    let mut totals = std::mem::take(&mut ctx.day_totals);
    check_change(None, worker_id, &entry, &ctx, &mut totals).map_err(reject)?;
    let id = EntryId::generate();
    entry.worker = Some(worker);
    let write = EntryWrite {
        id,
        worker: worker_id,
        entry,
        version: 1,
        kind: WriteKind::Insert,
    };
    // The database keeps external ids unique; nothing is read first to check.
    let external_id = write.entry.external_id.clone();
    tx.write_entries(&source, &[write], principal.actor(), now)
        .await
        .on_constraint(constraint::TIME_ENTRY_SOURCE_EXTERNAL_ID_KEY, || {
            let external_id = external_id.as_ref().map_or("", AsRef::as_ref);
            Problem::new(ProblemType::Conflict).with_detail(format!(
                "an entry with external_id {external_id:?} exists (a deleted entry keeps its id)"
            ))
        })?;
    let stored = read_back(&mut tx, id).await?;
    Ok(Uncommitted::new(stored, tx))
}

/// Changes an entry the caller may touch, if `if_match` names its current version.
pub async fn patch_entry(
    state: &AppState,
    principal: &Principal,
    id: EntryId,
    if_match: &IfMatch,
    patch: &EntryPatch,
) -> ApiResult<Entry> {
    if_match.required()?;
    let mut tx = state.store.begin(&principal.tenant).await?;
    let current = visible_entry(&mut tx, principal, id).await?;
    if_match.check(&current.etag())?;
    let next = current.patched(patch);
    let new_entry = NewEntry {
        worker: Some(WorkerRef {
            external_id: current.worker.external_id.clone(),
            kind: current.worker.kind,
            name: None,
            email: None,
        }),
        date: next.date,
        project: next.project.clone(),
        minutes: next.minutes,
        notes: next.notes.clone(),
        billable: next.billable,
        external_id: current.external_id.clone(),
    };
    let worker = current.worker.id;
    let days = HashSet::from([(worker, current.date), (worker, next.date)]);
    let ctx = read_context(state, &mut tx, days).await?;
    let mut totals = ctx.day_totals.clone();
    let existing = ExistingEntry::from(&current);
    match check_change(Some(&existing), worker, &new_entry, &ctx, &mut totals).map_err(reject)? {
        Change::Unchanged => Ok(current),
        Change::Write => {
            let now = state.now();
            if patch.project.is_some() {
                tx.upsert_projects(std::slice::from_ref(&next.project), now)
                    .await?;
            }
            let write = EntryWrite {
                id,
                worker,
                entry: new_entry,
                version: current.version + 1,
                kind: WriteKind::Update,
            };
            tx.write_entries(&current.source, &[write], principal.actor(), now)
                .await?;
            let stored = read_back(&mut tx, id).await?;
            tx.commit().await?;
            Ok(stored)
        }
    }
}

/// Deletes an entry the caller may touch, leaving a tombstone for syncing clients.
pub async fn delete_entry(
    state: &AppState,
    principal: &Principal,
    id: EntryId,
    if_match: &IfMatch,
) -> ApiResult<()> {
    let mut tx = state.store.begin(&principal.tenant).await?;
    let current = visible_entry(&mut tx, principal, id).await?;
    if_match.check(&current.etag())?;
    if current.status.is_locked() {
        return Err(ApiError::with_detail(
            ProblemType::WeekLocked,
            format!(
                "the entry is in the approved week {}",
                current.date.iso_week()
            ),
        ));
    }
    tx.delete_entry(id, principal.actor(), state.now())
        .await?
        .ok_or_else(ApiError::not_found)?;
    tx.commit().await?;
    Ok(())
}

fn resolve_worker(principal: &Principal, named: Option<WorkerRef>) -> ApiResult<WorkerRef> {
    match named {
        Some(worker) if may_touch_worker(principal, &worker) => Ok(worker),
        Some(_) => Err(ApiError::with_detail(
            ProblemType::Forbidden,
            "people may log time only for themselves",
        )),
        None if principal.is_machine() => Err(ApiError::from(
            timesheet_domain::ValidationError::new("worker", "required for machine clients"),
        )),
        None => own_worker(principal),
    }
}

/// The live entry `id`, if the caller may see it; 404 otherwise (also for tombstones).
async fn visible_entry(
    tx: &mut Box<dyn StoreTx>,
    principal: &Principal,
    id: EntryId,
) -> ApiResult<Entry> {
    match tx.entry(id).await? {
        Some(entry) if !entry.is_deleted() && may_touch(principal, &entry) => Ok(entry),
        _ => Err(ApiError::not_found()),
    }
}

async fn read_back(tx: &mut Box<dyn StoreTx>, id: EntryId) -> ApiResult<Entry> {
    tx.entry(id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("entry {id} vanished after its write")))
}

fn reject(rejection: Rejection) -> ApiError {
    ApiError::problem(rejection.problem_at(""))
}
