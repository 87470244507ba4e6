//! Structured JSON logs and OpenTelemetry traces. Trace context crosses gRPC
//! and HTTP calls and RabbitMQ messages as W3C `traceparent`, and waits in
//! the outbox and in notification's delivery rows for the work done later,
//! so a booking is one trace down to its SMS (`docs/tracing.md`).
//!
//! Read once at start-up, three ways to run:
//! - `OTEL_EXPORTER_OTLP_ENDPOINT` set: spans are exported over OTLP/gRPC
//!   (batched, `OTEL_BSP_*`; sampled by `OTEL_TRACES_SAMPLER`), and log
//!   lines written in a span carry its `trace_id` and `span_id`;
//! - `OTEL_TRACES_EXPORTER=none`: the same trace contexts, propagated and in
//!   the log lines, but nothing is recorded or exported (log correlation
//!   without a collector);
//! - neither: no trace context at all. A request then pays nothing for
//!   tracing beyond the server's one span: the messaging, client and SMS
//!   spans are not even created ([`enabled`]), and log lines carry no ids.
mod log_ids;

use std::{
    collections::HashMap,
    sync::atomic::{AtomicBool, Ordering},
};

use opentelemetry::{
    propagation::{Extractor, Injector},
    trace::{SpanContext, TraceContextExt as _, TracerProvider as _},
    Context,
};
use opentelemetry_sdk::{
    propagation::TraceContextPropagator,
    trace::{Sampler, SdkTracerProvider},
    Resource,
};
use tonic::codegen::http::HeaderMap;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::{layer::SubscriberExt as _, util::SubscriberInitExt as _, EnvFilter};

/// Whether this process's subscriber has the OpenTelemetry layer.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Flushes spans on drop.
#[derive(Default)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take() {
            let _ = p.shutdown();
        }
    }
}

/// Installs the global subscriber once per process; later calls are no-ops,
/// so tests that start several services in one process can all call it.
/// `service` is the `service.name` of every span this process exports.
pub fn init(service: &str) -> TelemetryGuard {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_env("YEYAK_LOG").unwrap_or_else(|_| EnvFilter::new("info,h2=warn,tower=warn,lapin=warn"));
    let provider = provider(service);
    let ids = log_ids::TraceIds::default();
    let fmt = tracing_subscriber::fmt::layer().json().with_current_span(false).with_target(true).map_event_format(|json| ids.format(json));
    let otel = provider.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("yeyak")));
    // Not an `Option` layer: those do not pass the registration on.
    let capture = ids.capture(provider.is_some());
    let installed = tracing_subscriber::registry().with(filter).with(fmt).with(otel).with(capture).try_init().is_ok();
    if installed {
        if let Some(p) = &provider {
            opentelemetry::global::set_tracer_provider(p.clone());
            ENABLED.store(true, Ordering::Relaxed);
        }
    }
    TelemetryGuard { provider: if installed { provider } else { None } }
}

/// The tracer provider the environment asks for (see the module docs).
fn provider(service: &str) -> Option<SdkTracerProvider> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let resource = Resource::builder().with_service_name(service.to_owned()).build();
    if var("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none")) {
        // Every span is dropped at birth, with valid ids all the same.
        return Some(SdkTracerProvider::builder().with_sampler(Sampler::AlwaysOff).with_resource(resource).build());
    }
    var("OTEL_EXPORTER_OTLP_ENDPOINT")?;
    let exporter = match opentelemetry_otlp::SpanExporter::builder().with_tonic().build() {
        Ok(exporter) => exporter,
        Err(e) => {
            // No subscriber yet: stderr is the only place this can go.
            eprintln!("OTLP span exporter unusable, traces are off: {e}");
            return None;
        }
    };
    Some(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
}

/// Whether spans carry trace contexts in this process (the OpenTelemetry
/// layer is installed: an OTLP endpoint or `OTEL_TRACES_EXPORTER=none`).
/// The spans made only for traces (bus, outbound calls, SMS) are
/// `Span::none()` when it is false, so they cost nothing.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Lets a unit test that installs its own OpenTelemetry subscriber get the
/// spans [`enabled`] guards.
#[cfg(test)]
pub(crate) fn enable_for_tests() {
    ENABLED.store(true, Ordering::Relaxed);
}

struct HeaderExtract<'a>(&'a HeaderMap);

impl Extractor for HeaderExtract<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Continues the caller's trace (incoming `traceparent` header) in `span`.
pub fn set_parent_from_headers(span: &tracing::Span, headers: &HeaderMap) {
    if headers.contains_key("traceparent") {
        let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtract(headers)));
        let _ = span.set_parent(cx);
    }
}

/// A lone `traceparent` value, as the outbox and the delivery rows keep it.
struct Traceparent<'a>(&'a str);

impl Extractor for Traceparent<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == "traceparent").then_some(self.0)
    }
    fn keys(&self) -> Vec<&str> {
        vec!["traceparent"]
    }
}

/// The (remote) context a W3C `traceparent` names; `None` for an empty or
/// malformed one.
pub fn context_of(traceparent: &str) -> Option<Context> {
    if traceparent.is_empty() {
        return None;
    }
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&Traceparent(traceparent)));
    cx.span().span_context().is_valid().then_some(cx)
}

/// The span context a `traceparent` names, for a link.
pub fn span_context_of(traceparent: &str) -> Option<SpanContext> {
    context_of(traceparent).map(|cx| cx.span().span_context().clone())
}

/// Makes the context `traceparent` names the parent of `span` (a fresh
/// span, before it is entered); nothing for an empty or malformed one.
pub fn set_parent(span: &Span, traceparent: &str) {
    if let Some(cx) = context_of(traceparent) {
        let _ = span.set_parent(cx);
    }
}

struct MapInject<'a>(&'a mut HashMap<String, String>);

impl Injector for MapInject<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

/// `span`'s W3C `traceparent`, empty when it has no trace context (tracing
/// off, or a disabled span).
pub fn traceparent_of(span: &Span) -> String {
    let cx = span.context();
    let mut map = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut MapInject(&mut map)));
    map.remove("traceparent").unwrap_or_default()
}

/// The current span's W3C `traceparent`, empty when tracing is off. Stored in
/// outbox rows and events so consumers continue the trace.
pub fn current_traceparent() -> String {
    traceparent_of(&Span::current())
}

/// Adds the current span's `traceparent` to an outbound gRPC request, so the
/// callee continues this trace (the server layer extracts it). Nothing is
/// added when tracing is off.
pub fn inject_traceparent<T>(request: &mut tonic::Request<T>) {
    inject_traceparent_of(&Span::current(), request);
}

/// Adds `span`'s `traceparent` (a client span's) to an outbound request.
pub fn inject_traceparent_of<T>(span: &Span, request: &mut tonic::Request<T>) {
    let traceparent = traceparent_of(span);
    if let (false, Ok(value)) = (traceparent.is_empty(), traceparent.parse()) {
        request.metadata_mut().insert("traceparent", value);
    }
}

/// Marks `span` as failed (its status, in the trace backend).
pub fn set_error(span: &Span, reason: impl Into<std::borrow::Cow<'static, str>>) {
    if !span.is_disabled() {
        span.set_status(opentelemetry::trace::Status::error(reason));
    }
}

/// A CLIENT span for one outbound call of `method` on `service` (the gRPC
/// name, `package.Service`), a child of the current span; send its context
/// with [`inject_traceparent_of`]. Disabled when tracing is off.
pub fn rpc_client_span(service: &str, method: &str) -> Span {
    if !enabled() {
        return Span::none();
    }
    tracing::info_span!(
        "rpc client",
        otel.name = %format_args!("{service}/{method}"),
        otel.kind = "client",
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
    )
}

#[cfg(test)]
#[path = "telemetry_tests.rs"]
mod tests;
