//! `importer-svc status`: the last runs and each source's checkpoint, as a table or JSON.

use std::fmt::Write;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::state::{Checkpoint, RunRecord, StateError, StateStore};

#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    /// Newest first.
    pub runs: Vec<RunRecord>,
    pub checkpoints: Vec<Checkpoint>,
}

impl StatusView {
    pub async fn load(state: &dyn StateStore, limit: u32) -> Result<Self, StateError> {
        Ok(Self {
            runs: state.recent_runs(limit).await?,
            checkpoints: state.checkpoints().await?,
        })
    }

    /// Two plain-text tables.
    pub fn render_table(&self) -> String {
        let mut out = String::new();
        if self.runs.is_empty() {
            out.push_str("No runs recorded yet.\n");
        } else {
            let _ = writeln!(
                out,
                "{:<20}  {:<11}  {:<20}  {:>8}  {:>6}  {:>7}  {:>7}  {:>9}  {:>7}  {:>7}  {:>8}",
                "STARTED (UTC)",
                "OUTCOME",
                "SOURCE",
                "DURATION",
                "READ",
                "CREATED",
                "UPDATED",
                "UNCHANGED",
                "SKIPPED",
                "DELETED",
                "REJECTED"
            );
            for run in &self.runs {
                let count = |key: &str| {
                    run.summary
                        .get(key)
                        .and_then(serde_json::Value::as_u64)
                        .unwrap_or_default()
                };
                let secs = run
                    .summary
                    .get("duration_secs")
                    .and_then(serde_json::Value::as_f64)
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{:<20}  {:<11}  {:<20}  {:>7.1}s  {:>6}  {:>7}  {:>7}  {:>9}  {:>7}  {:>7}  {:>8}",
                    short_time(run.started_at),
                    run.outcome,
                    run.source,
                    secs,
                    count("read"),
                    count("created"),
                    count("updated"),
                    count("unchanged"),
                    count("skipped"),
                    count("deleted"),
                    count("rejected"),
                );
                if let Some(error) = run.summary.get("error").and_then(|e| e.as_str()) {
                    let _ = writeln!(out, "    error: {error}");
                }
            }
        }
        out.push('\n');
        if self.checkpoints.is_empty() {
            out.push_str("No checkpoints yet.\n");
        } else {
            let _ = writeln!(
                out,
                "{:<20}  {:<25}  {:<20}  {:>8}",
                "SOURCE", "WATERMARK", "LAST COMPLETED (UTC)", "ENTRIES"
            );
            for checkpoint in &self.checkpoints {
                let watermark = checkpoint
                    .watermark
                    .and_then(|w| w.format(&Rfc3339).ok())
                    .unwrap_or_else(|| "-".to_owned());
                let _ = writeln!(
                    out,
                    "{:<20}  {:<25}  {:<20}  {:>8}",
                    checkpoint.source,
                    watermark,
                    short_time(checkpoint.updated_at),
                    checkpoint.entries
                );
            }
        }
        out
    }
}

/// `2026-11-23 08:15:02`: seconds are enough for a table.
fn short_time(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    at.format(&format).unwrap_or_else(|_| at.to_string())
}
