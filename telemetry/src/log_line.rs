//! Trace ids in log lines: [`WithTraceIds`] wraps a `tracing-subscriber` event formatter and
//! adds `trace_id` and `span_id` (W3C hex) to every line written inside a traced span.
//!
//! The ids come from the OpenTelemetry context that the tracing-opentelemetry layer attaches
//! when a span is entered, so a line carries the ids of the span it was logged in, whichever
//! module logged it, with nothing to record by hand. Without tracing there is no such context
//! and lines are written exactly as the inner formatter writes them.

use std::fmt;

use opentelemetry::trace::{SpanId, TraceContextExt as _, TraceId};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// An event formatter that adds trace ids to the lines of `F`.
#[derive(Debug, Clone)]
pub(crate) struct WithTraceIds<F> {
    inner: F,
    json: bool,
}

impl<F> WithTraceIds<F> {
    /// For a JSON formatter: the ids become two more members of the line's object.
    pub(crate) fn json(inner: F) -> Self {
        Self { inner, json: true }
    }

    /// For a human-readable formatter: the ids lead the line.
    pub(crate) fn text(inner: F) -> Self {
        Self { inner, json: false }
    }
}

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some((trace_id, span_id)) = current_ids() else {
            return self.inner.format_event(ctx, writer, event);
        };
        if !self.json {
            write!(writer, "trace_id={trace_id} span_id={span_id} ")?;
            return self.inner.format_event(ctx, writer, event);
        }
        let mut line = String::with_capacity(256);
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        splice_ids(&line, trace_id, span_id, &mut writer)
    }
}

/// Writes the JSON object `line` with the ids added before its closing brace.
fn splice_ids(line: &str, trace_id: TraceId, span_id: SpanId, out: &mut Writer<'_>) -> fmt::Result {
    match line.rfind('}') {
        Some(end) => {
            out.write_str(&line[..end])?;
            write!(out, r#","trace_id":"{trace_id}","span_id":"{span_id}""#)?;
            out.write_str(&line[end..])
        }
        // Not an object: leave it alone rather than corrupt it.
        None => out.write_str(line),
    }
}

/// The trace and span id of the span entered on this thread, if it is traced.
fn current_ids() -> Option<(TraceId, SpanId)> {
    let cx = opentelemetry::Context::current();
    let span = cx.span();
    let span_context = span.span_context();
    span_context
        .is_valid()
        .then(|| (span_context.trace_id(), span_context.span_id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_go_inside_the_object_before_the_newline() {
        let mut out = String::new();
        let trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
        let span_id = SpanId::from_hex("00f067aa0ba902b7").unwrap();
        splice_ids(
            "{\"level\":\"INFO\",\"message\":\"}\"}\n",
            trace_id,
            span_id,
            &mut Writer::new(&mut out),
        )
        .unwrap();
        assert_eq!(
            out,
            "{\"level\":\"INFO\",\"message\":\"}\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\
             \"span_id\":\"00f067aa0ba902b7\"}\n"
        );
    }
}
