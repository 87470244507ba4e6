#![allow(clippy::unwrap_used)]
use opentelemetry::trace::TracerProvider as _;
use tracing_subscriber::layer::SubscriberExt as _;

use super::*;

const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// A subscriber with the OpenTelemetry layer (nothing exported).
fn traced() -> impl tracing::Subscriber + Send + Sync {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let provider = SdkTracerProvider::builder().build();
    tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
}

#[test]
fn outbound_requests_carry_the_callers_trace() {
    tracing::subscriber::with_default(traced(), || {
        let mut incoming = HeaderMap::new();
        incoming.insert("traceparent", CALLER.parse().unwrap());
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

#[test]
fn a_saved_traceparent_becomes_the_parent_of_a_later_span() {
    tracing::subscriber::with_default(traced(), || {
        let span = tracing::info_span!("later");
        set_parent(&span, CALLER);
        let own = traceparent_of(&span);
        assert!(own.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && !own.contains("00f067aa0ba902b7"), "{own}");
        let root = tracing::info_span!("root");
        set_parent(&root, "");
        set_parent(&root, "not a traceparent");
        assert!(!traceparent_of(&root).contains("4bf92f3577b34da6a3ce929d0e0e4736"), "no parent: a trace of its own");
    });
    assert!(context_of("").is_none());
    assert!(context_of("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none(), "an invalid trace id");
    let link = span_context_of(CALLER).unwrap();
    assert_eq!(link.span_id().to_string(), "00f067aa0ba902b7");
    assert!(link.is_remote());
}

#[test]
fn a_client_span_is_the_callers_child_and_goes_in_the_request() {
    enable_for_tests();
    tracing::subscriber::with_default(traced(), || {
        let server = tracing::info_span!("rpc");
        set_parent(&server, CALLER);
        let client = server.in_scope(|| rpc_client_span("yeyak.test.v1.TestService", "Call"));
        let mut request = tonic::Request::new(());
        inject_traceparent_of(&client, &mut request);
        let sent = request.metadata().get("traceparent").unwrap().to_str().unwrap().to_owned();
        assert!(sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "{sent}");
        assert_ne!(sent, traceparent_of(&server), "the client span's own context, not the server span's");
    });
}
