//! The run report: what one run read, sent, skipped, deleted and rejected. It is logged as one
//! structured line, printed as JSON with `--json`, stored with the run for `status`, and feeds
//! the daemon's metrics.

use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::source::RowRejection;

/// At most this many rejections are listed in a report; the count is always exact.
pub const MAX_LISTED_REJECTIONS: usize = 100;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Everything read was imported (or was already).
    Success,
    /// The run completed, but some rows were rejected (by the source's validation or the API).
    Partial,
    /// The run stopped on an error; the checkpoint did not move.
    Failed,
    /// A shutdown signal stopped the run between two batches; the checkpoint did not move.
    Interrupted,
}

impl RunOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Partial => "partial",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }
}

/// One row that did not become an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectionReport {
    /// `file.csv:17`, or the external id for rejections by the API.
    pub location: String,
    pub external_id: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

impl From<&RowRejection> for RejectionReport {
    fn from(r: &RowRejection) -> Self {
        Self {
            location: r.location.clone(),
            external_id: r.external_id.as_ref().map(ToString::to_string),
            field: r.field.clone(),
            message: r.message.clone(),
        }
    }
}

/// What a dry run would have done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Planned {
    pub new: usize,
    pub changed: usize,
    pub to_delete: usize,
}

/// What a run, or one step of it, counted. Each step returns its own counts and the run adds
/// them up ([`Counts::add`]) into its report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Rows the source returned: records plus rows it rejected.
    pub read: usize,
    /// The API's answers to what this run sent.
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Records not sent because they had not changed since the API accepted them.
    pub skipped: usize,
    pub deleted: usize,
    /// Rows rejected in this run, by the source's validation or by the API.
    pub rejected: usize,
    /// Records not sent because the API rejected this very content in an earlier run (they
    /// are reported there, not again, and do not make this run partial).
    pub still_rejected: usize,
    /// The first [`MAX_LISTED_REJECTIONS`] rejections.
    pub rejections: Vec<RejectionReport>,
}

impl Counts {
    /// Counts a rejection, listing it while there is room.
    pub fn reject(&mut self, rejection: RejectionReport) {
        self.rejected += 1;
        if self.rejections.len() < MAX_LISTED_REJECTIONS {
            self.rejections.push(rejection);
        }
    }

    /// Adds `other`'s counts to these; its rejections are listed after these while there is
    /// room.
    pub fn add(&mut self, other: Counts) {
        self.read += other.read;
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.skipped += other.skipped;
        self.deleted += other.deleted;
        self.still_rejected += other.still_rejected;
        self.rejected += other.rejected;
        let room = MAX_LISTED_REJECTIONS.saturating_sub(self.rejections.len());
        self.rejections
            .extend(other.rejections.into_iter().take(room));
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: Uuid,
    pub source: String,
    pub dry_run: bool,
    pub outcome: RunOutcome,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// Wall time of the run, in seconds.
    pub duration_secs: f64,
    #[serde(flatten)]
    pub counts: Counts,
    pub retries: u64,
    pub tokens_requested: u64,
    /// Dry runs only: what a real run would send and delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned: Option<Planned>,
    /// The checkpoint this run reached (saved only when it completed).
    #[serde(with = "time::serde::rfc3339::option")]
    pub watermark: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunReport {
    pub fn new(source: &str, dry_run: bool, started_at: OffsetDateTime) -> Self {
        Self {
            run_id: Uuid::now_v7(),
            source: source.to_owned(),
            dry_run,
            outcome: RunOutcome::Success,
            started_at,
            duration_secs: 0.0,
            counts: Counts::default(),
            retries: 0,
            tokens_requested: 0,
            planned: None,
            watermark: None,
            error: None,
        }
    }

    /// Sets the outcome from what was counted, for a run that completed.
    pub fn complete(&mut self, elapsed: Duration) {
        self.duration_secs = elapsed.as_secs_f64();
        self.outcome = if self.counts.rejected > 0 {
            RunOutcome::Partial
        } else {
            RunOutcome::Success
        };
    }

    /// Marks the run as stopped by `error`.
    pub fn fail(&mut self, outcome: RunOutcome, error: &dyn std::fmt::Display, elapsed: Duration) {
        self.duration_secs = elapsed.as_secs_f64();
        self.outcome = outcome;
        self.error = Some(error.to_string());
    }

    /// The report as JSON (for `--json` and the state's run record).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The summary line: one event, every count a field.
    pub fn log(&self) {
        let rejected_listed = self
            .counts
            .rejections
            .iter()
            .take(5)
            .map(|r| format!("{}: {}", r.location, r.message))
            .collect::<Vec<_>>()
            .join("; ");
        let message = if self.dry_run {
            "dry run finished"
        } else {
            "run finished"
        };
        macro_rules! summary {
            ($level:ident, $r:ident) => {
                tracing::$level!(
                    run_id = %$r.run_id,
                    source = %$r.source,
                    dry_run = $r.dry_run,
                    outcome = $r.outcome.as_str(),
                    read = $r.counts.read,
                    created = $r.counts.created,
                    updated = $r.counts.updated,
                    unchanged = $r.counts.unchanged,
                    skipped = $r.counts.skipped,
                    deleted = $r.counts.deleted,
                    rejected = $r.counts.rejected,
                    still_rejected = $r.counts.still_rejected,
                    retries = $r.retries,
                    tokens_requested = $r.tokens_requested,
                    duration_secs = $r.duration_secs,
                    planned_new = $r.planned.map(|p| p.new),
                    planned_changed = $r.planned.map(|p| p.changed),
                    planned_deletes = $r.planned.map(|p| p.to_delete),
                    first_rejections = rejected_listed.as_str(),
                    error = $r.error.as_deref(),
                    "{message}"
                )
            };
        }
        let report = self;
        match self.outcome {
            RunOutcome::Success | RunOutcome::Interrupted => summary!(info, report),
            RunOutcome::Partial => summary!(warn, report),
            RunOutcome::Failed => summary!(error, report),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_are_counted_exactly_and_listed_up_to_the_cap() {
        let rejection = |i: usize| RejectionReport {
            location: format!("a.csv:{i}"),
            external_id: None,
            field: None,
            message: "bad".into(),
        };
        let mut first = Counts::default();
        let mut second = Counts::default();
        for i in 0..MAX_LISTED_REJECTIONS - 1 {
            first.reject(rejection(i));
        }
        for i in 0..6 {
            second.reject(rejection(i));
        }
        let mut report = RunReport::new("s", false, OffsetDateTime::now_utc());
        report.counts.add(first);
        report.counts.add(second);
        report.complete(Duration::from_millis(5));
        assert_eq!(report.counts.rejected, MAX_LISTED_REJECTIONS + 5);
        assert_eq!(report.counts.rejections.len(), MAX_LISTED_REJECTIONS);
        assert_eq!(report.outcome, RunOutcome::Partial);
        let json = report.to_json();
        assert_eq!(json["outcome"], "partial");
        assert_eq!(json["rejected"], MAX_LISTED_REJECTIONS + 5);
    }
}
