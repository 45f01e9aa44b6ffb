//! The global filter in front of the per-layer ones: it lets a span or event through when the
//! log line filter or the span export filter wants it, and turns everything else away first.
//!
//! Why it exists: tracing-subscriber's per-layer filters hand their verdict from `enabled` to
//! `on_event`/`on_new_span` through a thread-local. When a caller asks `enabled` and then sends
//! nothing — the `log` bridge does it for every `log_enabled!` check, and sqlx checks after
//! every query — a "no" from all per-layer filters stays behind, and the thread's next event or
//! span whose callsite is cached as always-on is silently dropped (tokio-rs/tracing#2519). In
//! this workspace that lost timesheet-svc's "listening" line whenever the filter enabled debug
//! for any target, and could lose spans from traces. A global layer that says no clears that
//! state before any per-layer filter has written it (`Layered::enabled`), and whatever it lets
//! through, some per-layer filter takes, which consumes the state.

use tracing::span;
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer};

/// Enabled when the log filter or (with tracing on) the span filter enables. Holds copies of
/// both, built from the same directives as the per-layer filters they mirror.
pub(crate) struct AnyFilter {
    log: EnvFilter,
    spans: Option<Targets>,
}

impl AnyFilter {
    pub(crate) fn new(log: EnvFilter, spans: Option<Targets>) -> Self {
        Self { log, spans }
    }
}

impl<S> Layer<S> for AnyFilter
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        let log = Filter::<S>::callsite_enabled(&self.log, meta);
        match &self.spans {
            None => log,
            Some(spans) => either(log, Filter::<S>::callsite_enabled(spans, meta)),
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        Filter::enabled(&self.log, meta, &ctx)
            || self
                .spans
                .as_ref()
                .is_some_and(|spans| Filter::enabled(spans, meta, &ctx))
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        let log = Filter::<S>::max_level_hint(&self.log);
        match &self.spans {
            None => log,
            Some(spans) => log
                .zip(Filter::<S>::max_level_hint(spans))
                .map(|(a, b)| a.max(b)),
        }
    }

    // The log filter may hold span-scoped directives (`[request{route=...}]=debug`): it must see
    // spans come and go, as it would as a layer of its own.
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        Filter::on_new_span(&self.log, attrs, id, ctx);
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        Filter::on_record(&self.log, id, values, ctx);
    }

    fn on_enter(&self, id: &span::Id, ctx: Context<'_, S>) {
        Filter::on_enter(&self.log, id, ctx);
    }

    fn on_exit(&self, id: &span::Id, ctx: Context<'_, S>) {
        Filter::on_exit(&self.log, id, ctx);
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        Filter::on_close(&self.log, id, ctx);
    }

    fn event_enabled(&self, _event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        true
    }
}

/// The interest of a callsite that either of two filters may want.
fn either(a: Interest, b: Interest) -> Interest {
    if a.is_always() || b.is_always() {
        Interest::always()
    } else if a.is_never() && b.is_never() {
        Interest::never()
    } else {
        Interest::sometimes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callsite_is_wanted_if_either_filter_wants_it() {
        let (always, sometimes, never) = (Interest::always, Interest::sometimes, Interest::never);
        assert!(either(always(), never()).is_always());
        assert!(either(never(), always()).is_always());
        assert!(either(sometimes(), never()).is_sometimes());
        assert!(either(never(), sometimes()).is_sometimes());
        assert!(either(never(), never()).is_never());
    }
}
