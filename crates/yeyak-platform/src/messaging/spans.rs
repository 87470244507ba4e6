//! The bus's spans, after OpenTelemetry's messaging conventions: a PRODUCER
//! span per message published, a child of the context its outbox row was
//! written in; a CONSUMER span per message handled on its own, a child of
//! the message's context; and one CONSUMER span per batch handled at once,
//! linked to every message's context (a batch has many parents, so none).
//!
//! Attributes: `messaging.system` = `rabbitmq`, `messaging.destination.name`
//! = the exchange (RabbitMQ's convention: every event goes through one topic
//! exchange), `messaging.rabbitmq.destination.routing_key`,
//! `messaging.destination.subscription.name` = the consumer's queue,
//! `messaging.operation.type` (`send`, `process`), `messaging.message.id` =
//! the event id (on a batch span, on each link). The names say what the
//! exchange cannot: `<routing key> publish`, `<queue> process`.
//!
//! None of them exists when tracing is off ([`telemetry::enabled`]).
use opentelemetry::KeyValue;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::{publisher::Outgoing, Delivery};
use crate::telemetry;

/// Which queue of which exchange a consumer's spans name.
#[derive(Clone, Debug)]
pub(super) struct Consuming {
    pub(super) exchange: String,
    /// The full (prefixed) queue name.
    pub(super) queue: String,
}

/// The PRODUCER span of publishing `event` to `exchange`: a child of the
/// context `event.traceparent` names, if any.
pub(super) fn publish(exchange: &str, event: &Outgoing) -> Span {
    if !telemetry::enabled() {
        return Span::none();
    }
    let span = tracing::info_span!(
        "publish",
        otel.name = %format_args!("{} publish", event.routing_key),
        otel.kind = "producer",
        messaging.system = "rabbitmq",
        messaging.operation.type = "send",
        messaging.operation.name = "publish",
        messaging.destination.name = exchange,
        messaging.rabbitmq.destination.routing_key = event.routing_key.as_str(),
        messaging.message.id = %event.event_id,
    );
    telemetry::set_parent(&span, &event.traceparent);
    span
}

/// The CONSUMER span of handling one message on its own: a child of the
/// context the message carried, if any.
pub(super) fn process(on: &Consuming, delivery: &Delivery) -> Span {
    if !telemetry::enabled() {
        return Span::none();
    }
    let span = tracing::info_span!(
        "process",
        otel.name = %format_args!("{} process", on.queue),
        otel.kind = "consumer",
        messaging.system = "rabbitmq",
        messaging.operation.type = "process",
        messaging.destination.name = on.exchange.as_str(),
        messaging.destination.subscription.name = on.queue.as_str(),
        messaging.rabbitmq.destination.routing_key = delivery.routing_key.as_str(),
        messaging.message.id = delivery.event_id.as_ref().map(tracing::field::display),
    );
    telemetry::set_parent(&span, delivery.traceparent.as_deref().unwrap_or_default());
    span
}

/// The CONSUMER span of handling `batch` at once: a root, linked to the
/// context of each message that carried one (the link names its event).
pub(super) fn process_batch(on: &Consuming, batch: &[Delivery]) -> Span {
    if !telemetry::enabled() {
        return Span::none();
    }
    let span = tracing::info_span!(
        "process batch",
        otel.name = %format_args!("{} process", on.queue),
        otel.kind = "consumer",
        messaging.system = "rabbitmq",
        messaging.operation.type = "process",
        messaging.destination.name = on.exchange.as_str(),
        messaging.destination.subscription.name = on.queue.as_str(),
        messaging.batch.message_count = batch.len(),
    );
    for delivery in batch {
        let Some(context) = delivery.traceparent.as_deref().and_then(telemetry::span_context_of) else { continue };
        let id = delivery.event_id.map(|id| KeyValue::new("messaging.message.id", id.to_string()));
        span.add_link_with_attributes(context, id.into_iter().collect());
    }
    span
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    const SENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const OTHER: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    fn delivery(traceparent: &str) -> Delivery {
        Delivery {
            routing_key: "test.happened.v1".into(),
            event_id: Some(uuid::Uuid::new_v4()),
            payload: Vec::new(),
            traceparent: Some(traceparent.into()),
        }
    }

    #[test]
    fn one_message_is_a_child_and_a_batch_links_every_message() {
        telemetry::enable_for_tests();
        opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
        let subscriber = tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        let on = Consuming { exchange: "events".into(), queue: "svc.work".into() };
        tracing::subscriber::with_default(subscriber, || {
            drop(process(&on, &delivery(SENT)).entered());
            drop(process_batch(&on, &[delivery(SENT), delivery(OTHER), delivery("")]).entered());
        });
        let spans = exporter.get_finished_spans().unwrap();
        let [one, batch] = spans.as_slice() else { panic!("{spans:?}") };
        assert_eq!((one.name.as_ref(), one.span_kind.clone()), ("svc.work process", opentelemetry::trace::SpanKind::Consumer));
        assert_eq!(one.parent_span_id.to_string(), "00f067aa0ba902b7");
        assert_eq!(one.span_context.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(batch.parent_span_id == opentelemetry::trace::SpanId::INVALID, "a batch has no parent");
        let linked: Vec<String> = batch.links.iter().map(|l| l.span_context.span_id().to_string()).collect();
        assert_eq!(linked, ["00f067aa0ba902b7", "b7ad6b7169203331"], "one link per message with a context");
        assert!(batch.links.iter().all(|l| l.attributes.iter().any(|a| a.key.as_str() == "messaging.message.id")));
    }
}
