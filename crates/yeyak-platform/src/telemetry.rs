//! Structured JSON logs, and OpenTelemetry traces exported over OTLP only when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Trace context crosses gRPC calls and
//! RabbitMQ messages as W3C `traceparent`.
use opentelemetry::{
    propagation::{Extractor, Injector},
    trace::TracerProvider as _,
};
use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider, Resource};
use tonic::codegen::http::HeaderMap;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::{layer::SubscriberExt as _, util::SubscriberInitExt as _, EnvFilter};

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
pub fn init(service: &str) -> TelemetryGuard {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_env("YEYAK_LOG").unwrap_or_else(|_| EnvFilter::new("info,h2=warn,tower=warn,lapin=warn"));
    let fmt = tracing_subscriber::fmt::layer().json().with_current_span(false).with_target(true);
    let provider = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok().filter(|v| !v.is_empty()).and_then(|_| {
        let exporter = opentelemetry_otlp::SpanExporter::builder().with_tonic().build().ok()?;
        Some(
            SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(Resource::builder().with_service_name(service.to_owned()).build())
                .build(),
        )
    });
    let otel = provider.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("yeyak")));
    let installed = tracing_subscriber::registry().with(filter).with(fmt).with(otel).try_init().is_ok();
    if installed {
        if let Some(p) = &provider {
            opentelemetry::global::set_tracer_provider(p.clone());
        }
    }
    TelemetryGuard { provider: if installed { provider } else { None } }
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

struct MapInject<'a>(&'a mut std::collections::HashMap<String, String>);

impl Injector for MapInject<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

/// Adds the current span's `traceparent` to an outbound gRPC request, so the
/// callee continues this trace (the server layer extracts it). Nothing is
/// added when tracing is off.
pub fn inject_traceparent<T>(request: &mut tonic::Request<T>) {
    let traceparent = current_traceparent();
    if let Ok(value) = traceparent.parse() {
        if !traceparent.is_empty() {
            request.metadata_mut().insert("traceparent", value);
        }
    }
}

/// The current span's W3C `traceparent`, empty when tracing is off. Stored in
/// outbox rows and events so consumers continue the trace.
pub fn current_traceparent() -> String {
    let cx = tracing::Span::current().context();
    let mut map = std::collections::HashMap::new();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut MapInject(&mut map)));
    map.remove("traceparent").unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    #[test]
    fn outbound_requests_carry_the_callers_trace() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let mut incoming = HeaderMap::new();
            incoming.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
            let span = tracing::info_span!("rpc");
            set_parent_from_headers(&span, &incoming);
            let _entered = span.enter();
            let mut outbound = tonic::Request::new(());
            inject_traceparent(&mut outbound);
            let sent = outbound.metadata().get("traceparent").unwrap().to_str().unwrap().to_owned();
            assert!(sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "same trace: {sent}");
            assert!(!sent.contains("00f067aa0ba902b7"), "a child span of the caller's: {sent}");
        });
        let mut untraced = tonic::Request::new(());
        inject_traceparent(&mut untraced);
        assert!(untraced.metadata().get("traceparent").is_none(), "no trace, no header");
    }
}
