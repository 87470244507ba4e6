//! Log lines carry the trace: every JSON line written inside a span with a
//! trace context gets `"trace_id"` and `"span_id"` (lowercase hex, as trace
//! backends show them), so a log search by trace id finds each step of a
//! booking, and a trace's span leads to its lines.
//!
//! `json-subscriber` (crates.io) does this too, but as a different JSON
//! formatter whose ids nest under `openTelemetry.traceId`; wrapping the
//! `tracing_subscriber` formatter we have keeps every line as it was and
//! only appends the two fields.
//!
//! The ids come from `tracing_opentelemetry::get_otel_context`, which needs
//! the dispatcher: inside an event the thread's default dispatcher may be
//! out of reach (tracing marks the thread as dispatching), so a small layer
//! keeps a weak handle to it from registration on ([`TraceIds::capture`]).
//! Without the OpenTelemetry layer it keeps none, and lines are formatted
//! as before, without a look-up.
use std::{
    fmt,
    sync::{Arc, OnceLock},
};

use opentelemetry::trace::TraceContextExt as _;
use tracing::{dispatcher::WeakDispatch, Dispatch, Event, Subscriber};
use tracing_subscriber::{
    fmt::{format::Writer, FmtContext, FormatEvent, FormatFields},
    registry::LookupSpan,
    Layer,
};

/// Where the dispatcher is kept for the formatter.
#[derive(Clone, Default)]
pub(super) struct TraceIds {
    dispatch: Arc<OnceLock<WeakDispatch>>,
}

impl TraceIds {
    /// Wraps an event formatter whose lines are JSON objects.
    pub(super) fn format<F>(&self, json: F) -> WithTraceIds<F> {
        WithTraceIds { inner: json, dispatch: self.dispatch.clone() }
    }

    /// The layer that hands the dispatcher over when it is registered, if
    /// `traced` (the subscriber has the OpenTelemetry layer): otherwise the
    /// formatter never looks for ids.
    pub(super) fn capture(&self, traced: bool) -> Capture {
        Capture { dispatch: self.dispatch.clone(), traced }
    }
}

pub(super) struct Capture {
    dispatch: Arc<OnceLock<WeakDispatch>>,
    traced: bool,
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        if self.traced {
            let _ = self.dispatch.set(subscriber.downgrade());
        }
    }
}

pub(super) struct WithTraceIds<F> {
    inner: F,
    dispatch: Arc<OnceLock<WeakDispatch>>,
}

impl<F> WithTraceIds<F> {
    /// The trace and span id of the span `event` was written in, when it
    /// has a valid trace context.
    fn ids<S, N>(&self, ctx: &FmtContext<'_, S, N>) -> Option<(String, String)>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
        N: for<'a> FormatFields<'a> + 'static,
    {
        let dispatch = self.dispatch.get()?.upgrade()?;
        let span = ctx.parent_span()?;
        let cx = tracing_opentelemetry::get_otel_context(&span.id(), &dispatch)?;
        let otel = cx.span();
        let sc = otel.span_context();
        sc.is_valid().then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
    }
}

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let Some((trace_id, span_id)) = self.ids(ctx) else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::with_capacity(256);
        self.inner.format_event(ctx, Writer::new(&mut line), event)?;
        match line.trim_end().strip_suffix('}') {
            Some(head) => writeln!(writer, "{head},\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\"}}"),
            // Not a JSON object: left as it is.
            None => writer.write_str(&line),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io;

    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use parking_lot::Mutex;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn lines(out: &Lines) -> Vec<serde_json::Value> {
        String::from_utf8(out.0.lock().clone()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// The lines logged outside any span and inside one whose parent is a
    /// remote context, with spans from `provider`.
    fn log_in_a_span(provider: &SdkTracerProvider) -> Vec<serde_json::Value> {
        opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
        let (out, ids) = (Lines::default(), TraceIds::default());
        let writer = out.clone();
        let fmt = tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(false)
            .with_writer(move || writer.clone())
            .map_event_format(|json| ids.format(json));
        let subscriber = tracing_subscriber::registry()
            .with(fmt)
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
            .with(ids.capture(true));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("outside");
            let span = tracing::info_span!("work");
            let parent = crate::telemetry::context_of("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
            span.set_parent(parent).unwrap();
            span.in_scope(|| tracing::info!(n = 1, "inside"));
        });
        lines(&out)
    }

    #[test]
    fn lines_in_a_traced_span_carry_its_ids_and_others_are_unchanged() {
        // Exported, and context only (`OTEL_TRACES_EXPORTER=none`: nothing recorded).
        let context_only = SdkTracerProvider::builder().with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOff).build();
        for provider in [SdkTracerProvider::builder().build(), context_only] {
            let lines = log_in_a_span(&provider);
            assert_eq!(lines.len(), 2, "{lines:?}");
            assert!(lines[0].get("trace_id").is_none(), "no span, no ids: {}", lines[0]);
            assert_eq!(lines[1]["fields"]["message"], "inside");
            assert_eq!(lines[1]["fields"]["n"], 1, "the line as it was: {}", lines[1]);
            assert_eq!(lines[1]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736", "the parent's trace: {}", lines[1]);
            let span_id = lines[1]["span_id"].as_str().unwrap();
            assert!(span_id.len() == 16 && span_id != "00f067aa0ba902b7", "the span's own id: {span_id}");
        }
    }

    #[test]
    fn without_the_opentelemetry_layer_lines_have_no_ids() {
        let (out, ids) = (Lines::default(), TraceIds::default());
        let writer = out.clone();
        let fmt = tracing_subscriber::fmt::layer().json().with_writer(move || writer.clone()).map_event_format(|json| ids.format(json));
        tracing::subscriber::with_default(tracing_subscriber::registry().with(fmt).with(ids.capture(false)), || {
            tracing::info_span!("work").in_scope(|| tracing::info!("inside"));
        });
        let lines = lines(&out);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].get("trace_id").is_none(), "{}", lines[0]);
    }
}
