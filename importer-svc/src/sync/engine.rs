//! Carrying out a plan: uploads in batches, each acknowledged batch remembered in one state
//! transaction, then deletions.
//!
//! Crash safety comes from the order of things: the API upserts by (source, external id), and
//! the state is written only after the API acknowledged. A run killed between an upload and its
//! state write leaves the state behind the API; the next run re-sends those records, the API
//! answers "unchanged" with the same ids, and the state catches up. No duplicate, no loss.

use timesheet_domain::api::{EntryInput, ItemResult, ItemStatus, UploadResponse};
use timesheet_domain::SourceName;

use futures_util::stream::{FuturesOrdered, StreamExt as _};
use tracing::Instrument as _;

use crate::progress::Progress;
use crate::report::{Counts, RejectionReport};
use crate::shutdown::StopSignal;
use crate::state::{EntryStatus, EntryWrite, KnownEntry, StateStore};
use crate::sync::destination::{Deleted, Destination};
use crate::sync::plan::{Plan, PlannedDelete, PlannedUpload};
use crate::sync::SyncError;
use crate::telemetry;

/// What the engine works with for one run.
pub(crate) struct Engine<'a> {
    pub source: &'a SourceName,
    pub destination: &'a dyn Destination,
    pub state: &'a dyn StateStore,
    pub batch_size: usize,
    /// Uploads on their way at once (at least 1).
    pub in_flight: usize,
    pub stop: &'a StopSignal,
    pub progress: &'a Progress,
}

/// What carrying out (part of) a plan did: the API's answers and the deletions, counted, and how
/// it ended. The counts hold when it failed part-way too: a failed run reports what it sent
/// before failing.
pub(crate) struct Sent {
    pub counts: Counts,
    pub result: Result<(), SyncError>,
}

impl Sent {
    fn failed(counts: Counts, err: SyncError) -> Self {
        Self {
            counts,
            result: Err(err),
        }
    }
}

impl Engine<'_> {
    /// Sends the plan's uploads, then its deletions. Stops with [`SyncError::Interrupted`]
    /// when a stop is asked for: no new upload or deletion starts, the uploads on their way are
    /// answered and remembered.
    pub async fn execute(&self, plan: &Plan) -> Sent {
        let mut sent = self.upload(&plan.uploads).await;
        if sent.result.is_ok() {
            let deleted = self.delete(plan).await;
            sent.counts.add(deleted.counts);
            sent.result = deleted.result;
        }
        sent
    }

    /// Up to `in_flight` uploads are on their way at once, and their answers are taken in the
    /// order sent: while the API works on one batch the next is already travelling, and the state
    /// of an acknowledged batch is saved while the next answer is awaited. An upload in flight
    /// when the run fails or is killed was not remembered, so the next run sends it again and
    /// the API answers "unchanged": crash safety does not depend on the depth.
    async fn upload(&self, uploads: &[PlannedUpload]) -> Sent {
        let mut counts = Counts::default();
        self.progress.set_message("uploading");
        if let Err(err) = self.check_stop() {
            return Sent::failed(counts, err);
        }
        // A queue of futures rather than a stream combinator over `chunks`: a closure over
        // borrowed batches inside `buffered` makes this future not provably `Send`
        // (rust-lang/rust#102211), and the daemon spawns it.
        let mut batches = uploads.chunks(self.batch_size.max(1));
        let mut answers = FuturesOrdered::new();
        for batch in batches.by_ref().take(self.in_flight.max(1)) {
            answers.push_back(self.send(batch));
        }
        let mut acknowledged: Vec<EntryWrite> = Vec::new();
        loop {
            let save = self.save(std::mem::take(&mut acknowledged));
            let (answer, saved) = tokio::join!(answers.next(), save);
            if let Err(err) = saved {
                return Sent::failed(counts, err);
            }
            let Some(answer) = answer else { break };
            match self.take_answer(answer) {
                Ok((rows, batch)) => {
                    acknowledged = rows;
                    counts.add(batch);
                }
                Err(err) => return Sent::failed(counts, err),
            }
            // After a stop, the uploads already on their way are answered and remembered (the
            // loop's last turn saves the last of them); no new one starts.
            if !self.stop.is_stopped() {
                if let Some(batch) = batches.next() {
                    answers.push_back(self.send(batch));
                }
            }
        }
        Sent {
            counts,
            result: self.check_stop(),
        }
    }

    /// The plan's deletions, one at a time, each forgotten by the state once the API answered;
    /// then the entries only the state knew.
    async fn delete(&self, plan: &Plan) -> Sent {
        let mut counts = Counts::default();
        self.progress.set_message("deleting");
        for delete in &plan.deletes {
            match self.delete_one(delete).await {
                Ok(Deleted::Now) => counts.deleted += 1,
                // Someone deleted it in the API already: the goal is reached, count nothing.
                Ok(Deleted::AlreadyGone) => {}
                Err(err) => return Sent::failed(counts, err),
            }
        }
        let result = if plan.forget.is_empty() {
            Ok(())
        } else {
            self.state
                .forget_entries(self.source, &plan.forget)
                .await
                .map_err(SyncError::from)
        };
        Sent { counts, result }
    }

    async fn delete_one(&self, delete: &PlannedDelete) -> Result<Deleted, SyncError> {
        self.check_stop()?;
        let deleted = self.destination.delete(delete.entry_id).await?;
        self.state
            .forget_entries(self.source, std::slice::from_ref(&delete.external_id))
            .await?;
        self.progress.advance(1);
        Ok(deleted)
    }

    /// One batch's upload, in its own span.
    async fn send<'b>(&self, batch: &'b [PlannedUpload]) -> Answer<'b> {
        let span = telemetry::batch_span(batch.len());
        let entries: Vec<EntryInput> = batch.iter().map(|u| u.record.entry.clone()).collect();
        let response = self
            .destination
            .upload(self.source, &entries)
            .instrument(span.clone())
            .await
            .map_err(SyncError::from);
        Answer {
            batch,
            span,
            response,
        }
    }

    /// The state rows that remember an answer's results, and the results counted. A batch
    /// whose answer cannot be matched to what was sent counts nothing: none of it is
    /// remembered, and the next run sends it again.
    fn take_answer(&self, answer: Answer<'_>) -> Result<(Vec<EntryWrite>, Counts), SyncError> {
        let Answer {
            batch,
            span,
            response,
        } = answer;
        let taken = response
            .and_then(|response| results_in_input_order(response, batch.len()))
            .and_then(|results| {
                let mut counts = Counts::default();
                let mut rows = Vec::with_capacity(batch.len());
                for (planned, result) in batch.iter().zip(results) {
                    let (row, counted) = remember(planned, result)?;
                    rows.push(row);
                    counts.add(counted);
                }
                Ok((rows, counts))
            });
        match &taken {
            Ok((_, counts)) => {
                telemetry::record_batch(&span, counts);
                self.progress.advance(batch.len());
            }
            Err(_) => telemetry::record_failure(&span),
        }
        taken
    }

    async fn save(&self, rows: Vec<EntryWrite>) -> Result<(), SyncError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.state.save_entries(self.source, &rows).await?;
        Ok(())
    }

    fn check_stop(&self) -> Result<(), SyncError> {
        if self.stop.is_stopped() {
            return Err(SyncError::Interrupted);
        }
        Ok(())
    }
}

/// An upload's outcome, with the batch it answers.
struct Answer<'b> {
    batch: &'b [PlannedUpload],
    span: tracing::Span,
    response: Result<UploadResponse, SyncError>,
}

/// The state row that remembers one item's result, and the result counted.
fn remember(
    planned: &PlannedUpload,
    result: ItemResult,
) -> Result<(EntryWrite, Counts), SyncError> {
    let record = &planned.record;
    let mut counts = Counts::default();
    let status = match result.status {
        ItemStatus::Created => {
            counts.created = 1;
            EntryStatus::Imported
        }
        ItemStatus::Updated => {
            counts.updated = 1;
            EntryStatus::Imported
        }
        ItemStatus::Unchanged => {
            counts.unchanged = 1;
            EntryStatus::Imported
        }
        ItemStatus::Rejected => {
            let problem = result.problem.as_ref();
            counts.reject(RejectionReport {
                location: record.location.clone(),
                external_id: Some(record.external_id.to_string()),
                field: problem
                    .and_then(|p| p.errors.first())
                    .and_then(|e| field_from_pointer(&e.pointer)),
                message: problem
                    .map(|p| p.detail.clone().unwrap_or_else(|| p.title.clone()))
                    .unwrap_or_else(|| "rejected by the API".to_owned()),
            });
            EntryStatus::Rejected
        }
    };
    let entry_id = match (status, result.id) {
        (_, Some(id)) => Some(id),
        // A rejected edit leaves the entry the API already holds.
        (EntryStatus::Rejected, None) => planned.entry_id,
        (EntryStatus::Imported, None) => {
            return Err(SyncError::Protocol(format!(
                "no entry id for accepted item {}",
                record.external_id
            )))
        }
    };
    let row = EntryWrite {
        external_id: record.external_id.clone(),
        known: KnownEntry {
            entry_id,
            digest: planned.digest.clone(),
            work_date: record.entry.date,
            status,
        },
    };
    Ok((row, counts))
}

/// The response's results ordered by their `index`, one per item sent.
fn results_in_input_order(
    response: UploadResponse,
    sent: usize,
) -> Result<Vec<ItemResult>, SyncError> {
    if response.results.len() != sent {
        return Err(SyncError::Protocol(format!(
            "{} results for {sent} entries",
            response.results.len()
        )));
    }
    let mut slots: Vec<Option<ItemResult>> = vec![None; sent];
    for result in response.results {
        let index = result.index;
        match slots.get_mut(index) {
            Some(slot @ None) => *slot = Some(result),
            _ => {
                return Err(SyncError::Protocol(format!(
                    "result index {index} is out of range or repeated"
                )))
            }
        }
    }
    // Every slot is filled: as many distinct in-range indexes as items.
    Ok(slots.into_iter().flatten().collect())
}

/// `/entries/3/worker/email` → `worker/email`: the field within the item.
fn field_from_pointer(pointer: &str) -> Option<String> {
    let parts: Vec<&str> = pointer.split('/').filter(|p| !p.is_empty()).collect();
    let field = match parts.as_slice() {
        ["entries", index, rest @ ..] if index.chars().all(|c| c.is_ascii_digit()) => rest,
        all => all,
    };
    (!field.is_empty()).then(|| field.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(index: usize) -> ItemResult {
        ItemResult {
            index,
            external_id: None,
            status: ItemStatus::Created,
            id: None,
            version: None,
            problem: None,
        }
    }

    #[test]
    fn results_are_put_back_in_input_order() {
        let response = UploadResponse::from_results(vec![result(1), result(0), result(2)]);
        let ordered = results_in_input_order(response, 3).unwrap();
        let indexes: Vec<_> = ordered.iter().map(|r| r.index).collect();
        assert_eq!(indexes, vec![0, 1, 2]);
    }

    #[test]
    fn missing_or_repeated_results_are_a_protocol_error() {
        let short = UploadResponse::from_results(vec![result(0)]);
        assert!(results_in_input_order(short, 2).is_err());
        let repeated = UploadResponse::from_results(vec![result(0), result(0)]);
        assert!(results_in_input_order(repeated, 2).is_err());
    }

    #[test]
    fn pointers_become_fields_within_the_item() {
        assert_eq!(
            field_from_pointer("/entries/3/minutes").as_deref(),
            Some("minutes")
        );
        assert_eq!(
            field_from_pointer("/entries/0/worker/email").as_deref(),
            Some("worker/email")
        );
        assert_eq!(field_from_pointer("/entries/3"), None);
        assert_eq!(field_from_pointer("/date").as_deref(), Some("date"));
    }
}
