//! Deciding what a run does, from what the source holds and what the state remembers. Pure: no
//! I/O, so every rule here is tested on its own.
//!
//! Rules:
//! - A record whose digest equals the remembered one is not sent: `skipped` when the API had
//!   accepted it, `still_rejected` when the API had rejected that very content (so a rejection
//!   is reported once, not re-sent every run; an edit of the row sends it again).
//! - Deletions follow the read's [`Coverage`]. An id still present in the read (as a record or
//!   as a rejected row) is never deleted. An entry the API holds (it has an `entry_id`, even if
//!   a later edit of it was rejected) is deleted in the API; one the API never accepted is only
//!   forgotten locally.

use std::collections::{HashMap, HashSet};

use timesheet_domain::ExternalId;
use uuid::Uuid;

use crate::source::{Coverage, RowRejection, SourceRecord};
use crate::state::{EntryStatus, KnownEntry};
use crate::sync::digest::entry_digest;

/// Why a record is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The state has never seen it.
    New,
    /// Its content differs from what was last sent.
    Changed,
}

#[derive(Debug, Clone)]
pub struct PlannedUpload {
    pub record: SourceRecord,
    pub digest: String,
    pub change: Change,
    /// The API id remembered for it, kept if the API now rejects the new content.
    pub entry_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedDelete {
    pub external_id: ExternalId,
    pub entry_id: Uuid,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub uploads: Vec<PlannedUpload>,
    /// Unchanged since the API accepted them.
    pub skipped: usize,
    /// Unchanged since the API rejected them.
    pub still_rejected: usize,
    pub deletes: Vec<PlannedDelete>,
    /// Gone from the source, never accepted by the API: only the state forgets them.
    pub forget: Vec<ExternalId>,
    /// Second and later records with an id already seen in this read.
    pub duplicates: Vec<RowRejection>,
    /// Entries the API holds for this source, as far as the state knows.
    pub known_in_api: usize,
}

impl Plan {
    pub fn count(&self, change: Change) -> usize {
        self.uploads.iter().filter(|u| u.change == change).count()
    }
}

/// Plans the run for `records` and `rejections` read under `coverage`, against `known`.
pub fn plan(
    records: Vec<SourceRecord>,
    rejections: &[RowRejection],
    coverage: &Coverage,
    known: &HashMap<ExternalId, KnownEntry>,
) -> Plan {
    let mut plan = Plan {
        known_in_api: known.values().filter(|k| k.entry_id.is_some()).count(),
        ..Plan::default()
    };
    let mut present: HashSet<ExternalId> = rejections
        .iter()
        .filter_map(|r| r.external_id.clone())
        .collect();
    let mut first_seen: HashMap<ExternalId, String> = HashMap::new();
    for record in records {
        if let Some(first) = first_seen.get(&record.external_id) {
            // The API would reject the second one anyway; saying so here names the row.
            plan.duplicates.push(RowRejection {
                location: record.location.clone(),
                external_id: Some(record.external_id.clone()),
                field: Some("external_id".to_owned()),
                message: format!("duplicate of {first}"),
            });
            continue;
        }
        first_seen.insert(record.external_id.clone(), record.location.clone());
        present.insert(record.external_id.clone());
        let digest = entry_digest(&record.entry);
        match known.get(&record.external_id) {
            Some(k) if k.digest == digest => match k.status {
                EntryStatus::Imported => plan.skipped += 1,
                EntryStatus::Rejected => plan.still_rejected += 1,
            },
            Some(k) => plan.uploads.push(PlannedUpload {
                entry_id: k.entry_id,
                record,
                digest,
                change: Change::Changed,
            }),
            None => plan.uploads.push(PlannedUpload {
                entry_id: None,
                record,
                digest,
                change: Change::New,
            }),
        }
    }
    for (external_id, k) in known {
        if present.contains(external_id) || !is_covered(coverage, external_id, k) {
            continue;
        }
        match k.entry_id {
            Some(entry_id) => plan.deletes.push(PlannedDelete {
                external_id: external_id.clone(),
                entry_id,
            }),
            None => plan.forget.push(external_id.clone()),
        }
    }
    // Hash order is arbitrary; a fixed order makes runs and their logs reproducible.
    plan.deletes
        .sort_by(|a, b| a.external_id.cmp(&b.external_id));
    plan.forget.sort();
    plan
}

/// Whether the read proves that `external_id`, absent from it, is gone from the source.
fn is_covered(coverage: &Coverage, external_id: &ExternalId, known: &KnownEntry) -> bool {
    match coverage {
        Coverage::Complete => true,
        Coverage::Window { from, to, listed } => {
            known.work_date >= *from && known.work_date <= *to && !listed.contains(external_id)
        }
        Coverage::Unknown => false,
    }
}

/// The plan would delete too much of what the API holds: more likely an empty or truncated
/// export than a real mass deletion.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "refusing to delete {to_delete} of {known} known entries (more than {percent}%): \
     is the source export empty or truncated? Raise run.max_delete_fraction to allow it"
)]
pub struct MassDeletion {
    pub to_delete: usize,
    pub known: usize,
    pub percent: u32,
}

/// Checks the plan's deletions against the safety valve (`max_fraction` of the known entries;
/// 1.0 disables it).
pub fn check_deletions(plan: &Plan, max_fraction: f64) -> Result<(), MassDeletion> {
    let to_delete = plan.deletes.len();
    if to_delete == 0 || max_fraction >= 1.0 {
        return Ok(());
    }
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let too_many = to_delete as f64 > max_fraction * plan.known_in_api as f64;
    if too_many {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0.0..1.0 * 100
        let percent = (max_fraction * 100.0).round() as u32;
        return Err(MassDeletion {
            to_delete,
            known: plan.known_in_api,
            percent,
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
