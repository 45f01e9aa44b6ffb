//! Where log lines go, and how they get there without costing the request path a write(2).
//!
//! [`LogWriter`] picks the stream: stdout for services (what container runtimes collect),
//! stderr for command-line tools whose stdout is their output (`importer-svc run --json`).
//! Either way lines are formatted on the calling thread and handed to a worker thread over a
//! bounded channel ([`non_blocking`]); the worker writes them. Formatting stays where the event
//! is (the fields borrow from the caller), the system call and any wait on a slow pipe do not.
//!
//! The policy when the worker falls behind by [`BUFFERED_LINES`] lines: the caller waits for
//! room (tracing-appender's `lossy(false)`). We prefer that to dropping lines: the access log is
//! what an operator reconstructs an incident from, and a counted drop would still leave the
//! gap. The bound only matters when stdout stays slower than the callers for that many lines in
//! a row, and then a write on the calling thread would block on every line anyway.

use std::io::{self, BufWriter};

use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};

/// Lines queued for the writer thread before a caller waits for room. Small on purpose: the
/// channel's slots are allocated up front (about 40 bytes each, so ~320 KiB), and each queued
/// line holds its bytes until written; a long queue buys nothing once the sink is slower than
/// the producers.
pub const BUFFERED_LINES: usize = 8_192;

/// The stream log lines are written to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogWriter {
    /// Services: what container runtimes and `make up` collect.
    #[default]
    Stdout,
    /// Command-line tools whose stdout is their output (`--json` reports).
    Stderr,
}

impl LogWriter {
    /// Whether lines written here reach a terminal (decides [`crate::LogFormat::Auto`]).
    pub fn is_terminal(self) -> bool {
        use std::io::IsTerminal as _;
        match self {
            LogWriter::Stdout => std::io::stdout().is_terminal(),
            LogWriter::Stderr => std::io::stderr().is_terminal(),
        }
    }
}

/// The writer thread for `writer` and the guard that flushes it when dropped (kept inside
/// [`crate::Guard`]).
pub(crate) fn non_blocking(writer: LogWriter) -> (NonBlocking, WorkerGuard) {
    // The worker writes every queued line, then flushes: behind a buffer, the lines that piled
    // up while it slept leave in one write(2) instead of one each, since a write(2) per line was
    // a large share of the gateway's CPU under bench/gateway's load (docs/benchmarks.md).
    // Nothing waits in the buffer once the queue is empty.
    match writer {
        LogWriter::Stdout => non_blocking_to(io::stdout()),
        LogWriter::Stderr => non_blocking_to(io::stderr()),
    }
}

/// Bytes the writer thread gathers before a write(2): a few hundred access lines.
const WRITE_BUFFER: usize = 64 * 1024;

/// The writer thread over any sink (tests give a buffer).
fn non_blocking_to<W: io::Write + Send + 'static>(sink: W) -> (NonBlocking, WorkerGuard) {
    let sink = BufWriter::with_capacity(WRITE_BUFFER, sink);
    NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(BUFFERED_LINES)
        .thread_name("log-writer")
        .finish(sink)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::CapturedLines;
    use crate::{build_subscriber, TelemetryConfig};

    #[test]
    fn a_line_reaches_the_stream_once_the_queue_is_empty_not_when_the_buffer_fills() {
        let sink = CapturedLines::default();
        let (lines, worker) = non_blocking_to(sink.clone());
        let (dispatch, guard) = build_subscriber(&TelemetryConfig::new("svc"), lines).unwrap();
        let _guard = guard.with_log_worker(worker);

        tracing::dispatcher::with_default(&dispatch, || tracing::info!("alone"));

        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while sink.count() == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(sink.count(), 1, "the line waited in the write buffer");
    }

    #[test]
    fn every_line_queued_behind_a_full_buffer_is_written_once_the_guard_drops() {
        // More lines than the channel holds: with `lossy(false)` the callers wait, none is lost.
        let sink = CapturedLines::default();
        let (lines, worker) = non_blocking_to(sink.clone());
        let (dispatch, guard) = build_subscriber(&TelemetryConfig::new("svc"), lines).unwrap();
        let guard = guard.with_log_worker(worker);
        let count = BUFFERED_LINES + 500;

        tracing::dispatcher::with_default(&dispatch, || {
            for i in 0..count {
                tracing::info!(i, "line");
            }
        });
        drop(dispatch);
        drop(guard);

        assert_eq!(sink.count(), count);
    }
}
