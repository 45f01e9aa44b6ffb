//! Prometheus metrics of the daemon, in their own registry, served at `/metrics` (and a plain
//! `/healthz`) by [`router`]. Every run feeds them once, from its report.
//!
//! `importer_runs_total` counts completed (`success`, `partial`) and `failed` runs; a run
//! interrupted by a shutdown is not counted (a rollout is not a failure), though the entries it
//! did import are. `importer_last_success_timestamp_seconds` moves on every completed run,
//! partial ones included: rejected rows have their own counter and alert.
//! `importer_source_lag_seconds` appears once a watermark is known and is computed at scrape
//! time, so it keeps growing while runs fail.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts, Registry,
    TextEncoder,
};
use time::OffsetDateTime;

use crate::report::{RunOutcome, RunReport};

const NO_WATERMARK: i64 = i64::MIN;

pub struct Metrics {
    registry: Registry,
    runs: IntCounterVec,
    entries: IntCounterVec,
    last_success: Gauge,
    last_run: Gauge,
    source_lag: Gauge,
    lag_registered: AtomicBool,
    /// Unix seconds of the latest known watermark, or [`NO_WATERMARK`].
    watermark: AtomicI64,
    token_requests: IntCounter,
    api_retries: IntCounter,
    run_duration: Histogram,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let runs = IntCounterVec::new(
            Opts::new("importer_runs_total", "Runs by outcome"),
            &["outcome"],
        )?;
        let entries = IntCounterVec::new(
            Opts::new("importer_entries_total", "Entries by what happened to them"),
            &["outcome"],
        )?;
        let last_success = Gauge::new(
            "importer_last_success_timestamp_seconds",
            "When the last completed run finished (Unix time)",
        )?;
        let last_run = Gauge::new(
            "importer_last_run_timestamp_seconds",
            "When the last run finished, whatever its outcome (Unix time)",
        )?;
        let source_lag = Gauge::new(
            "importer_source_lag_seconds",
            "Now minus the source's checkpoint (watermark)",
        )?;
        let token_requests = IntCounter::new(
            "importer_token_requests_total",
            "Access tokens requested from the identity provider",
        )?;
        let api_retries = IntCounter::new(
            "importer_api_retries_total",
            "Requests to the API that were retried",
        )?;
        let run_duration = Histogram::with_opts(
            HistogramOpts::new("importer_run_duration_seconds", "Wall time of runs").buckets(vec![
                0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
            ]),
        )?;
        registry.register(Box::new(runs.clone()))?;
        registry.register(Box::new(entries.clone()))?;
        registry.register(Box::new(last_success.clone()))?;
        registry.register(Box::new(last_run.clone()))?;
        registry.register(Box::new(token_requests.clone()))?;
        registry.register(Box::new(api_retries.clone()))?;
        registry.register(Box::new(run_duration.clone()))?;
        // Every series exists from the start, so rates and alerts see zeros, not gaps.
        for outcome in ["success", "partial", "failed"] {
            runs.with_label_values(&[outcome]);
        }
        for outcome in ["created", "updated", "unchanged", "deleted", "rejected"] {
            entries.with_label_values(&[outcome]);
        }
        Ok(Self {
            registry,
            runs,
            entries,
            last_success,
            last_run,
            source_lag,
            lag_registered: AtomicBool::new(false),
            watermark: AtomicI64::new(NO_WATERMARK),
            token_requests,
            api_retries,
            run_duration,
        })
    }

    /// Records one finished run; `watermark` is the source's checkpoint after it.
    pub fn observe(&self, report: &RunReport, watermark: Option<OffsetDateTime>) {
        if report.dry_run {
            return;
        }
        #[allow(clippy::cast_precision_loss)] // seconds since 1970 fit easily
        let now = timesheet_domain::unix_now() as f64;
        match report.outcome {
            RunOutcome::Success | RunOutcome::Partial => {
                self.runs
                    .with_label_values(&[report.outcome.as_str()])
                    .inc();
                self.last_success.set(now);
            }
            RunOutcome::Failed => self.runs.with_label_values(&["failed"]).inc(),
            RunOutcome::Interrupted => {}
        }
        self.last_run.set(now);
        for (outcome, count) in [
            ("created", report.counts.created),
            ("updated", report.counts.updated),
            ("unchanged", report.counts.unchanged),
            ("deleted", report.counts.deleted),
            ("rejected", report.counts.rejected),
        ] {
            self.entries
                .with_label_values(&[outcome])
                .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
        }
        self.token_requests.inc_by(report.tokens_requested);
        self.api_retries.inc_by(report.retries);
        self.run_duration.observe(report.duration_secs);
        if let Some(watermark) = watermark {
            self.watermark
                .store(watermark.unix_timestamp(), Ordering::Relaxed);
            if !self.lag_registered.swap(true, Ordering::Relaxed) {
                if let Err(err) = self.registry.register(Box::new(self.source_lag.clone())) {
                    tracing::warn!(error = %err, "registering importer_source_lag_seconds");
                }
            }
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> Vec<u8> {
        let watermark = self.watermark.load(Ordering::Relaxed);
        if watermark != NO_WATERMARK {
            #[allow(clippy::cast_precision_loss)] // seconds since 1970 fit easily
            self.source_lag
                .set((timesheet_domain::unix_now() - watermark) as f64);
        }
        let mut out = Vec::new();
        // Encoding into a Vec fails only on invalid metric names, which are constants here.
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %err, "encoding metrics failed");
        }
        out
    }
}

/// `/metrics` and `/healthz`.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move {
                    (
                        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                        metrics.render(),
                    )
                        .into_response()
                }
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_shows_in_the_exposition_under_the_agreed_names() {
        let metrics = Metrics::new().unwrap();
        let mut report = RunReport::new("s", false, OffsetDateTime::now_utc());
        report.counts.created = 3;
        report.counts.deleted = 1;
        report.tokens_requested = 1;
        report.retries = 2;
        report.complete(std::time::Duration::from_millis(50));
        metrics.observe(
            &report,
            Some(OffsetDateTime::now_utc() - time::Duration::hours(1)),
        );

        let text = String::from_utf8(metrics.render()).unwrap();
        for line in [
            "importer_runs_total{outcome=\"success\"} 1",
            "importer_runs_total{outcome=\"failed\"} 0",
            "importer_entries_total{outcome=\"created\"} 3",
            "importer_entries_total{outcome=\"deleted\"} 1",
            "importer_token_requests_total 1",
            "importer_api_retries_total 2",
            "importer_run_duration_seconds_count 1",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        assert!(text.contains("importer_last_success_timestamp_seconds "));
        assert!(text.contains("importer_source_lag_seconds 3"), "{text}");
    }

    #[test]
    fn the_lag_is_absent_until_a_watermark_is_known() {
        let metrics = Metrics::new().unwrap();
        let text = String::from_utf8(metrics.render()).unwrap();
        assert!(!text.contains("importer_source_lag_seconds"));
    }
}
