//! `importer-svc daemon`: runs on a cron schedule until told to stop, serving metrics.
//!
//! Runs never overlap: the next tick is computed after a run ends, and ticks missed while it
//! ran are skipped rather than queued. Runs on other hosts are kept apart by the run lock; a
//! tick that finds it taken is skipped with a log line. A stop (SIGTERM/SIGINT) lets the batch
//! in flight finish, then the daemon exits cleanly.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use croner::Cron;
use tokio::net::TcpListener;

use crate::metrics::{router, Metrics};
use crate::run::{run_once, Deps};

/// A schedule that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("--schedule {expression:?}: {reason}")]
pub struct ScheduleError {
    pub expression: String,
    pub reason: String,
}

/// Parses a cron expression: 5 fields (minute precision), or 6 with seconds first, and the
/// usual aliases (`@hourly`). An expression that never fires is refused too.
pub fn parse_schedule(expression: &str) -> Result<Cron, ScheduleError> {
    let invalid = |reason: String| ScheduleError {
        expression: expression.to_owned(),
        reason,
    };
    let cron = Cron::from_str(expression).map_err(|err| invalid(err.to_string()))?;
    cron.find_next_occurrence(&chrono::Utc::now(), false)
        .map_err(|err| invalid(format!("it never fires ({err})")))?;
    Ok(cron)
}

/// How long until the schedule next fires; `None` when it never will again.
pub fn until_next(schedule: &Cron) -> Option<Duration> {
    let now = chrono::Utc::now();
    let next = schedule.find_next_occurrence(&now, false).ok()?;
    Some((next - now).to_std().unwrap_or(Duration::ZERO))
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("serving metrics: {0}")]
    Metrics(#[source] std::io::Error),
}

/// Runs `deps` on `schedule` until `deps.stop` fires, serving `metrics` on `listener`.
/// Failed runs are logged and counted, and the daemon carries on; it returns once stopped.
pub async fn run_daemon(
    deps: Deps,
    schedule: Cron,
    listener: TcpListener,
    metrics: Arc<Metrics>,
) -> Result<(), DaemonError> {
    let stop = deps.stop.clone();
    let server_stop = stop.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, router(metrics))
            .with_graceful_shutdown(async move { server_stop.stopped().await })
            .await
    });
    tracing::info!(schedule = %schedule.pattern, "daemon started");
    while !stop.is_stopped() {
        let Some(wait) = until_next(&schedule) else {
            tracing::warn!("the schedule will not fire again; stopping");
            break;
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stop.stopped() => break,
        }
        match run_once(&deps).await {
            Ok(_) => {}
            Err(err) if err.is_locked() => {
                tracing::warn!(error = %err, "skipping this tick");
            }
            // The run already logged its summary with the error; the next tick tries again.
            Err(_) => {}
        }
    }
    tracing::info!("daemon stopped");
    match server.await {
        Ok(served) => served.map_err(DaemonError::Metrics),
        Err(join) => Err(DaemonError::Metrics(std::io::Error::other(join))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_expressions_parse() {
        for expression in [
            "*/15 * * * *",
            "0 2 * * MON-FRI",
            "*/5 * * * * *",
            "@hourly",
        ] {
            assert!(parse_schedule(expression).is_ok(), "{expression}");
        }
    }

    #[test]
    fn invalid_expressions_are_refused_with_the_expression_named() {
        for expression in ["", "every minute", "61 * * * *", "* * * *", "0 0 30 2 *"] {
            let err = parse_schedule(expression).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with(&format!("--schedule {expression:?}: ")),
                "{err}"
            );
        }
    }

    #[test]
    fn the_next_tick_of_an_every_second_schedule_is_within_a_second() {
        let cron = parse_schedule("* * * * * *").unwrap();
        assert!(until_next(&cron).unwrap() <= Duration::from_secs(1));
    }
}
