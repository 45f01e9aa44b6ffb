//! One span per SQL statement, so a trace shows each round trip to the database under the
//! request that caused it: `db.query`, a client span carrying `db.system` (`postgresql` or
//! `sqlite`), `db.operation` (`SELECT`, `INSERT`, …, `BEGIN`, `COMMIT`) and
//! `db.collection.name` (the table written or mainly read). Never the statement's parameters:
//! they hold people's names and notes.
//!
//! Each backend wraps a statement's future with [`InSpan::in_span`]; a failed statement marks
//! its span as an error with the kind of failure.

use std::future::Future;

use tracing::field::Empty;
use tracing::{Instrument as _, Span};

/// `db.system` of the PostgreSQL backend.
pub(crate) const POSTGRES: &str = "postgresql";
/// `db.system` of the SQLite backend.
pub(crate) const SQLITE: &str = "sqlite";

/// The span of one statement; `table` may be empty (`BEGIN`, `SELECT 1`).
pub(crate) fn span(system: &'static str, operation: &'static str, table: &'static str) -> Span {
    let span = tracing::info_span!(
        "db.query",
        otel.kind = "client",
        db.system = system,
        db.operation = operation,
        db.collection.name = Empty,
        otel.status_code = Empty,
        error.type = Empty,
    );
    if !table.is_empty() {
        span.record("db.collection.name", table);
    }
    span
}

/// Runs a statement's future inside its span.
pub(crate) trait InSpan<T>: Future<Output = Result<T, sqlx::Error>> + Sized {
    /// The statement, entered into `span` while it runs; an error is recorded on the span.
    fn in_span(self, span: Span) -> impl Future<Output = Result<T, sqlx::Error>> + Send
    where
        Self: Send,
    {
        async move {
            let result = self.instrument(span.clone()).await;
            if let Err(err) = &result {
                span.record("otel.status_code", "ERROR");
                span.record("error.type", error_type(err));
            }
            result
        }
    }
}

impl<T, F: Future<Output = Result<T, sqlx::Error>>> InSpan<T> for F {}

/// A low-cardinality name for what went wrong (never the database's message, which may quote
/// values).
fn error_type(err: &sqlx::Error) -> &'static str {
    match err {
        sqlx::Error::Database(_) => "database",
        sqlx::Error::PoolTimedOut => "pool_timed_out",
        sqlx::Error::PoolClosed => "pool_closed",
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => "connection",
        sqlx::Error::RowNotFound => "row_not_found",
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => "decode",
        _ => "other",
    }
}
