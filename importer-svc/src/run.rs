//! One run, start to end: lock, read, plan, send, delete, checkpoint, report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use service_config::rule::within_opt;
use time::OffsetDateTime;
use tracing::{Instrument as _, Span};

use crate::metrics::Metrics;
use crate::progress::Progress;
use crate::report::{Counts, Planned, RunOutcome, RunReport};
use crate::shutdown::StopSignal;
use crate::source::{Source, SourceRead};
use crate::state::{LockError, LockHolder, RunLock, RunRecord, StateStore};
use crate::sync::destination::Destination;
use crate::sync::engine::Engine;
use crate::sync::plan::{check_deletions, plan, Change, Plan};
use crate::sync::SyncError;

/// How often a run waiting for the lock (`run.lock_timeout`) tries again.
const LOCK_RETRY: Duration = Duration::from_millis(250);

/// Whether the run may change anything.
#[derive(Clone)]
pub enum Mode {
    /// Read, validate, plan and report; no API call, no state change.
    DryRun,
    Live(Arc<dyn Destination>),
}

/// `[run]`.
#[derive(Debug, Clone, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Wait this long for another run's lock instead of giving up at once.
    #[serde(with = "humantime_serde")]
    #[garde(custom(within_opt(Duration::ZERO, MAX_LOCK_TIMEOUT)))]
    pub lock_timeout: Option<Duration>,
    /// Refuse a run that would delete more than this fraction of the imported entries; 1.0
    /// turns the check off.
    #[garde(range(min = 0.0, max = 1.0))]
    pub max_delete_fraction: f64,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            lock_timeout: None,
            max_delete_fraction: 0.5,
        }
    }
}

/// A run that waits longer than a day for another is stuck behind it.
const MAX_LOCK_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Tunables of a run (from the configuration).
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Entries per upload, 1..=1000.
    pub batch_size: usize,
    /// Uploads on their way at once, 1..=8.
    pub uploads_in_flight: usize,
    /// The deletion safety valve: a run that would delete more than this fraction of the
    /// entries it imported fails instead. 1.0 disables the valve.
    pub max_delete_fraction: f64,
    /// How long to wait for another run's lock; `None`: give up at once.
    pub lock_timeout: Option<Duration>,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            batch_size: 500,
            uploads_in_flight: 2,
            max_delete_fraction: 0.5,
            lock_timeout: None,
        }
    }
}

/// Everything a run needs.
#[derive(Clone)]
pub struct Deps {
    pub source: Arc<dyn Source>,
    pub state: Arc<dyn StateStore>,
    pub mode: Mode,
    pub settings: RunSettings,
    /// Asks the run to stop between two batches.
    pub stop: StopSignal,
    /// The daemon's metrics; `None` for one-shot runs.
    pub metrics: Option<Arc<Metrics>>,
    /// Draw a progress bar (only ever at a terminal).
    pub progress: bool,
}

/// Runs once.
///
/// Returns the report of a completed run: outcome `success`, or `partial` when rows were
/// rejected. Fails with [`SyncError`] when the run could not complete; the checkpoint then did
/// not move, and the failure is logged, recorded in the state (outside dry runs) and counted.
/// A run refused because another holds the lock does nothing else at all.
pub async fn run_once(deps: &Deps) -> Result<RunReport, SyncError> {
    let span = crate::telemetry::run_span(
        deps.source.name().as_ref(),
        matches!(deps.mode, Mode::DryRun),
    );
    let result = run_in_span(deps, &span).instrument(span.clone()).await;
    if result.as_ref().is_err_and(SyncError::is_locked) {
        // Refused for the lock: no report, nothing done.
        crate::telemetry::record_lock_refused(&span);
    }
    result
}

/// [`run_once`] inside the run's `span`, which gets the report's outcome and counts.
async fn run_in_span(deps: &Deps, span: &Span) -> Result<RunReport, SyncError> {
    let started = Instant::now();
    let started_at = crate::state::truncate_to_micros(OffsetDateTime::now_utc());
    let lock = acquire_lock(deps).await?;
    let destination = match &deps.mode {
        Mode::DryRun => None,
        Mode::Live(destination) => Some(destination.as_ref()),
    };
    let counters_before = destination.map(|d| d.counters()).unwrap_or_default();
    let executed = execute(deps, destination).await;
    let mut report = RunReport::new(
        deps.source.name().as_ref(),
        destination.is_none(),
        started_at,
    );
    report.counts = executed.counts;
    report.planned = executed.planned;
    report.watermark = executed.watermark;
    let result = executed.result;

    let counters_after = destination.map(|d| d.counters()).unwrap_or_default();
    report.retries = counters_after
        .retries
        .saturating_sub(counters_before.retries);
    report.tokens_requested = counters_after
        .token_requests
        .saturating_sub(counters_before.token_requests);
    let result = finish(deps, &mut report, result, started.elapsed()).await;
    lock.release().await;
    report.log();
    crate::telemetry::record_run(span, &report);
    if let Some(metrics) = &deps.metrics {
        let watermark = deps
            .state
            .watermark(deps.source.name())
            .await
            .ok()
            .flatten();
        metrics.observe(&report, watermark);
    }
    result.map(|()| report)
}

async fn acquire_lock(deps: &Deps) -> Result<RunLock, SyncError> {
    let deadline = deps.settings.lock_timeout.map(|t| Instant::now() + t);
    loop {
        match deps.state.try_lock(&LockHolder::current()).await {
            Ok(lock) => return Ok(lock),
            Err(LockError::Held(holder)) => {
                let waiting = deadline.is_some_and(|d| Instant::now() + LOCK_RETRY < d);
                if !waiting || deps.stop.is_stopped() {
                    return Err(SyncError::Lock(LockError::Held(holder)));
                }
                tokio::time::sleep(LOCK_RETRY).await;
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// What steps 2 to 5 did.
struct Executed {
    /// Counted also when a step failed: a failed run reports what it read and sent.
    counts: Counts,
    /// Dry runs: what a real run would send and delete.
    planned: Option<Planned>,
    /// The checkpoint reached: the read's, once every record of it was acknowledged (or, in a
    /// dry run, planned); else the one the run started from.
    watermark: Option<OffsetDateTime>,
    result: Result<(), SyncError>,
}

impl Executed {
    /// A run stopped before it had planned anything.
    fn failed(counts: Counts, watermark: Option<OffsetDateTime>, err: SyncError) -> Self {
        Self {
            counts,
            planned: None,
            watermark,
            result: Err(err),
        }
    }
}

/// Steps 2 to 5: read, plan, send, delete. Each step returns what it counted, added up here.
async fn execute(deps: &Deps, destination: Option<&dyn Destination>) -> Executed {
    let source = deps.source.name();
    let since = match deps.state.watermark(source).await {
        Ok(since) => since,
        Err(err) => return Executed::failed(Counts::default(), None, err.into()),
    };
    let read = match deps.source.read(since).await {
        Ok(read) => read,
        Err(err) => return Executed::failed(Counts::default(), since, err.into()),
    };
    let mut counts = read_counts(&read);
    let known = match deps.state.known_entries(source).await {
        Ok(known) => known,
        Err(err) => return Executed::failed(counts, since, err.into()),
    };
    let plan = plan(read.records, &read.rejections, &read.coverage, &known);
    counts.add(plan_counts(&plan));
    let planned = destination.is_none().then(|| Planned {
        new: plan.count(Change::New),
        changed: plan.count(Change::Changed),
        to_delete: plan.deletes.len(),
    });
    let result = match (
        check_deletions(&plan, deps.settings.max_delete_fraction),
        destination,
    ) {
        (Err(err), _) => Err(err.into()),
        (Ok(()), None) => Ok(()),
        (Ok(()), Some(destination)) => {
            let progress = Progress::new(plan.uploads.len() + plan.deletes.len(), deps.progress);
            let engine = Engine {
                source,
                destination,
                state: deps.state.as_ref(),
                batch_size: deps.settings.batch_size,
                in_flight: deps.settings.uploads_in_flight,
                stop: &deps.stop,
                progress: &progress,
            };
            let sent = engine.execute(&plan).await;
            progress.finish();
            counts.add(sent.counts);
            sent.result
        }
    };
    // Only a read whose every record was acknowledged moves the checkpoint.
    let watermark = match result {
        Ok(()) => read.watermark.or(since),
        Err(_) => since,
    };
    Executed {
        counts,
        planned,
        watermark,
        result,
    }
}

/// What a read counted: its rows, and those the source rejected.
fn read_counts(read: &SourceRead) -> Counts {
    let mut counts = Counts {
        read: read.records.len() + read.rejections.len(),
        ..Counts::default()
    };
    for rejection in &read.rejections {
        counts.reject(rejection.into());
    }
    counts
}

/// What planning counted: records not sent, and repeated ids rejected.
fn plan_counts(plan: &Plan) -> Counts {
    let mut counts = Counts {
        skipped: plan.skipped,
        still_rejected: plan.still_rejected,
        ..Counts::default()
    };
    for duplicate in &plan.duplicates {
        counts.reject(duplicate.into());
    }
    counts
}

/// Step 6: sets the outcome and records the run (outside dry runs). A completed run moves the
/// checkpoint in the same transaction that records it.
async fn finish(
    deps: &Deps,
    report: &mut RunReport,
    result: Result<(), SyncError>,
    elapsed: Duration,
) -> Result<(), SyncError> {
    let live = matches!(deps.mode, Mode::Live(_));
    let error = match result {
        Ok(()) => {
            report.complete(elapsed);
            if !live {
                return Ok(());
            }
            let record = run_record(report);
            let watermark = report.watermark;
            match deps.state.complete_run(&record, watermark).await {
                Ok(()) => return Ok(()),
                Err(err) => SyncError::State(err),
            }
        }
        Err(err) => err,
    };
    let outcome = if matches!(error, SyncError::Interrupted) {
        RunOutcome::Interrupted
    } else {
        RunOutcome::Failed
    };
    report.fail(outcome, &error, elapsed);
    if live {
        if let Err(err) = deps.state.record_run(&run_record(report)).await {
            tracing::warn!(error = %err, "could not record the failed run in the state");
        }
    }
    Err(error)
}

fn run_record(report: &RunReport) -> RunRecord {
    let finished_at = crate::state::truncate_to_micros(OffsetDateTime::now_utc());
    RunRecord {
        run_id: report.run_id,
        source: report.source.clone(),
        started_at: report.started_at,
        finished_at,
        outcome: report.outcome.as_str().to_owned(),
        summary: report.to_json(),
    }
}
