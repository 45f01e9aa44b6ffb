//! Batch upload: many entries upserted by (source, external id) in one transaction.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::value::RawValue;
use timesheet_domain::api::{ItemResult, ItemStatus, UploadResponse};
use timesheet_domain::{
    plan_batch, BatchItem, DayKey, ExternalId, ItemDecision, NewEntry, Principal, ProblemType,
    ProjectCode, Rejection, SourceName, WorkerRef,
};
use timesheet_store::{EntryWrite, WriteKind};

use super::{may_touch_worker, read_context};
use crate::error::ApiResult;
use crate::state::AppState;

/// Parses, plans and applies an upload; returns one result per item, in input order. Items that
/// report success are committed together; rejected items change nothing.
pub async fn upload(
    state: &AppState,
    principal: &Principal,
    source: &SourceName,
    raw_items: &[Box<RawValue>],
) -> ApiResult<UploadResponse> {
    let items: Vec<BatchItem> = raw_items
        .iter()
        .enumerate()
        .map(|(index, raw)| parse_item(principal, index, raw))
        .collect();

    let mut tx = state.store.begin(&principal.tenant).await?;
    let now = state.now();

    let workers = unique_workers(&items);
    let worker_ids = tx.upsert_workers(&workers, now).await?;
    let projects: Vec<ProjectCode> = parsed(&items)
        .map(|e| e.project.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    tx.upsert_projects(&projects, now).await?;
    let external_ids: Vec<ExternalId> = parsed(&items)
        .filter_map(|e| e.external_id.clone())
        .collect();
    let existing = tx.entries_by_external_id(source, &external_ids).await?;

    // Every worker-day the batch touches: where items go, and where their stored versions are.
    let mut days: HashSet<DayKey> = HashSet::new();
    for entry in parsed(&items) {
        if let Some(id) = entry
            .worker
            .as_ref()
            .and_then(|w| worker_ids.get(&w.external_id))
        {
            days.insert((*id, entry.date));
        }
    }
    days.extend(existing.values().map(|e| (e.worker, e.date)));
    let mut ctx = read_context(state, &mut tx, days).await?;
    ctx.existing = existing;
    ctx.workers = worker_ids;

    let external_ids_as_sent: Vec<Option<String>> =
        items.iter().map(|i| i.external_id.clone()).collect();
    let plan = plan_batch(items, &ctx);
    let writes: Vec<EntryWrite> = plan.decisions.iter().filter_map(to_write).collect();
    if !writes.is_empty() {
        tx.write_entries(source, &writes, principal.actor(), now)
            .await?;
    }
    tx.commit().await?;

    let results = plan
        .decisions
        .into_iter()
        .zip(external_ids_as_sent)
        .enumerate()
        .map(|(index, (decision, external_id))| to_result(index, external_id, decision))
        .collect();
    let response = UploadResponse::from_results(results);
    state.metrics.observe_upload(raw_items.len(), &response);
    Ok(response)
}

fn parse_item(principal: &Principal, index: usize, raw: &RawValue) -> BatchItem {
    let parsed = NewEntry::from_json(raw.get())
        .map_err(Rejection::from)
        .and_then(|entry| {
            if entry.external_id.is_none() {
                return Err(Rejection::new(
                    ProblemType::ValidationError,
                    "external_id: required in uploads",
                    Some("external_id"),
                ));
            }
            match &entry.worker {
                None => Err(Rejection::new(
                    ProblemType::ValidationError,
                    "worker: required in uploads",
                    Some("worker"),
                )),
                Some(worker) if !may_touch_worker(principal, worker) => Err(Rejection::new(
                    ProblemType::Forbidden,
                    "people may upload only their own entries",
                    Some("worker/external_id"),
                )),
                Some(_) => Ok(entry),
            }
        });
    let external_id = match &parsed {
        Ok(entry) => entry.external_id.as_ref().map(ToString::to_string),
        Err(_) => peek_external_id(raw),
    };
    BatchItem {
        index,
        external_id,
        parsed,
    }
}

/// The external id of an item that did not parse, if it has a readable one, for the report.
fn peek_external_id(raw: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Peek {
        external_id: Option<serde_json::Value>,
    }
    match serde_json::from_str::<Peek>(raw.get()).ok()?.external_id? {
        serde_json::Value::String(s) => Some(s.chars().take(ExternalId::MAX_LEN).collect()),
        _ => None,
    }
}

fn parsed(items: &[BatchItem]) -> impl Iterator<Item = &NewEntry> {
    items.iter().filter_map(|i| i.parsed.as_ref().ok())
}

/// One row per worker. Items may name a worker more than once, some with a name or e-mail and
/// some without: the latest value given for each field wins, and a field no item gives stays as
/// stored.
fn unique_workers(items: &[BatchItem]) -> Vec<WorkerRef> {
    let mut by_id: HashMap<&ExternalId, WorkerRef> = HashMap::new();
    for worker in parsed(items).filter_map(|e| e.worker.as_ref()) {
        match by_id.get_mut(&worker.external_id) {
            None => {
                by_id.insert(&worker.external_id, worker.clone());
            }
            Some(merged) => {
                merged.kind = worker.kind;
                if worker.name.is_some() {
                    merged.name.clone_from(&worker.name);
                }
                if worker.email.is_some() {
                    merged.email.clone_from(&worker.email);
                }
            }
        }
    }
    by_id.into_values().collect()
}

fn to_write(decision: &ItemDecision) -> Option<EntryWrite> {
    match decision {
        ItemDecision::Create { id, worker, entry } => Some(EntryWrite {
            id: *id,
            worker: *worker,
            entry: entry.clone(),
            version: 1,
            kind: WriteKind::Insert,
        }),
        ItemDecision::Update {
            id,
            worker,
            entry,
            version,
            revived,
        } => Some(EntryWrite {
            id: *id,
            worker: *worker,
            entry: entry.clone(),
            version: *version,
            kind: if *revived {
                WriteKind::Revive
            } else {
                WriteKind::Update
            },
        }),
        ItemDecision::Unchanged { .. } | ItemDecision::Rejected(_) => None,
    }
}

fn to_result(index: usize, external_id: Option<String>, decision: ItemDecision) -> ItemResult {
    let (status, id, version, problem) = match decision {
        ItemDecision::Create { id, .. } => (ItemStatus::Created, Some(id), Some(1), None),
        ItemDecision::Update {
            id,
            version,
            revived,
            ..
        } => {
            let status = if revived {
                ItemStatus::Created
            } else {
                ItemStatus::Updated
            };
            (status, Some(id), Some(version), None)
        }
        ItemDecision::Unchanged { id, version } => {
            (ItemStatus::Unchanged, Some(id), Some(version), None)
        }
        ItemDecision::Rejected(r) => (ItemStatus::Rejected, None, None, Some(r.to_problem(index))),
    };
    ItemResult {
        index,
        external_id,
        status,
        id: id.map(|id| id.as_uuid()),
        version,
        problem,
    }
}
